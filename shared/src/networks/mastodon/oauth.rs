//! Connecting a Mastodon account by OAuth (engagement.md, "Mastodon", OAuth): an app registered
//! once per instance (`POST /api/v1/apps`), PKCE S256 where the server says it supports it
//! (`/.well-known/oauth-authorization-server`, Mastodon 4.3+), the authorize URL, the code
//! exchange (`POST /oauth/token`) and the account the token acts as
//! (`GET /api/v1/accounts/verify_credentials`). Tokens do not expire.
//!
//! Every call goes through the guarded client: the instance is a URL a manager typed.

use jiff::Timestamp;
use serde::Deserialize;
use url::Url;

use crate::domain::Network;
use crate::domain::connection::OAuthApp;
use crate::domain::coverage;
use crate::networks::{PublishError, call_failed, snippet};
use crate::outbound::{JSON_ANSWER_LIMIT, OutboundClient, read_text};

const NETWORK: &str = "Mastodon";
const CLIENT_NAME: &str = "Palinsesto";

/// What the brand's features use, from the coverage table; nothing else is asked for.
fn scopes() -> Vec<String> {
    coverage::of(Network::Mastodon)
        .all_scopes()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// What a token exchange gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub access_token: String,
    pub scopes: Vec<String>,
}

/// The account a token acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenAccount {
    pub id: String,
    pub handle: String,
    pub name: String,
    pub avatar: Option<String>,
}

/// The Mastodon side of a connection flow.
#[derive(Clone)]
pub struct MastodonOAuth {
    http: OutboundClient,
}

impl MastodonOAuth {
    pub fn new(http: OutboundClient) -> Self {
        Self { http }
    }

    /// Registers Palinsesto as an app on `instance`, redirecting to `redirect_uri`.
    pub async fn register_app(
        &self,
        instance: &str,
        redirect_uri: &str,
        website: &str,
        now: Timestamp,
    ) -> Result<OAuthApp, PublishError> {
        #[derive(Deserialize)]
        struct App {
            client_id: String,
            client_secret: String,
        }
        let scopes = scopes();
        let request = self.http.post(format!("{instance}/api/v1/apps")).form(&[
            ("client_name", CLIENT_NAME),
            ("redirect_uris", redirect_uri),
            ("scopes", &scopes.join(" ")),
            ("website", website),
        ]);
        let app: App = self.json("registering the app", request).await?;
        Ok(OAuthApp {
            client_id: app.client_id,
            client_secret: app.client_secret,
            redirect_uri: redirect_uri.to_owned(),
            scopes,
            registered_at: now,
        })
    }

    /// Whether the server supports PKCE S256: only servers that publish their authorization
    /// server metadata and list it do (Mastodon 4.3+); older ones go without.
    pub async fn supports_pkce(&self, instance: &str) -> bool {
        #[derive(Deserialize)]
        struct Metadata {
            #[serde(default)]
            code_challenge_methods_supported: Vec<String>,
        }
        let request = self
            .http
            .get(format!("{instance}/.well-known/oauth-authorization-server"));
        match self
            .json::<Metadata>("reading its OAuth metadata", request)
            .await
        {
            Ok(m) => m
                .code_challenge_methods_supported
                .iter()
                .any(|m| m == "S256"),
            Err(_) => false,
        }
    }

    /// Where the browser goes to consent.
    pub fn authorize_url(
        &self,
        instance: &str,
        app: &OAuthApp,
        state: &str,
        pkce_challenge: Option<&str>,
    ) -> Result<String, PublishError> {
        let mut url = Url::parse(&format!("{instance}/oauth/authorize")).map_err(|e| {
            PublishError::Misconfigured(format!("the instance URL {instance} is not a URL: {e}"))
        })?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &app.client_id)
                .append_pair("redirect_uri", &app.redirect_uri)
                .append_pair("scope", &app.scopes.join(" "))
                .append_pair("state", state);
            if let Some(challenge) = pkce_challenge {
                query
                    .append_pair("code_challenge", challenge)
                    .append_pair("code_challenge_method", "S256");
            }
        }
        Ok(url.into())
    }

    /// Exchanges the code the browser brought back for a token.
    pub async fn exchange(
        &self,
        instance: &str,
        app: &OAuthApp,
        code: &str,
        pkce_verifier: Option<&str>,
    ) -> Result<Grant, PublishError> {
        #[derive(Deserialize)]
        struct Token {
            access_token: String,
            #[serde(default)]
            scope: Option<String>,
        }
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", app.client_id.as_str()),
            ("client_secret", app.client_secret.as_str()),
            ("redirect_uri", app.redirect_uri.as_str()),
        ];
        if let Some(verifier) = pkce_verifier {
            form.push(("code_verifier", verifier));
        }
        let request = self
            .http
            .post(format!("{instance}/oauth/token"))
            .form(&form);
        let token: Token = self.json("exchanging the code", request).await?;
        let scopes = match token.scope {
            Some(s) => s.split_whitespace().map(str::to_owned).collect(),
            None => app.scopes.clone(),
        };
        Ok(Grant {
            access_token: token.access_token,
            scopes,
        })
    }

    /// The account the token acts as.
    pub async fn account(&self, instance: &str, token: &str) -> Result<TokenAccount, PublishError> {
        #[derive(Deserialize)]
        struct Me {
            id: String,
            acct: String,
            #[serde(default)]
            display_name: String,
            #[serde(default)]
            avatar: Option<String>,
        }
        let request = self
            .http
            .get(format!("{instance}/api/v1/accounts/verify_credentials"))
            .bearer_auth(token);
        let me: Me = self.json("reading the account", request).await?;
        let host = Url::parse(instance)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        Ok(TokenAccount {
            handle: format!("@{}@{host}", me.acct),
            name: if me.display_name.is_empty() {
                me.acct.clone()
            } else {
                me.display_name
            },
            id: me.id,
            avatar: me.avatar,
        })
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        doing: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, PublishError> {
        let response = self
            .http
            .send(request)
            .await
            .map_err(|e| call_failed(NETWORK, &e))?;
        let status = response.status();
        let body = read_text(response, JSON_ANSWER_LIMIT)
            .await
            .map_err(|e| call_failed(NETWORK, &e))?;
        if !status.is_success() {
            let why = format!("Mastodon refused {doing}: {}", snippet(&body, status));
            return Err(if status.is_server_error() {
                PublishError::Transient(why)
            } else {
                // The code, the app or the token was refused: the person must start again.
                PublishError::AuthExpired(why)
            });
        }
        serde_json::from_str(&body).map_err(|e| {
            PublishError::Transient(format!(
                "Mastodon's answer to {doing} could not be read: {e}"
            ))
        })
    }
}
