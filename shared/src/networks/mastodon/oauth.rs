//! Connecting a Mastodon account by OAuth (engagement.md, "Mastodon", OAuth): an app registered
//! once per instance (`POST /api/v1/apps`), PKCE S256 where the server says it supports it
//! (`/.well-known/oauth-authorization-server`, Mastodon 4.3+), the authorize URL, the code
//! exchange (`POST /oauth/token`) and the account the token acts as
//! (`GET /api/v1/accounts/verify_credentials`), revocation (`POST /oauth/revoke`). Tokens do
//! not expire.
//!
//! Every call goes through the guarded client: the instance is a URL a manager typed.

use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::Value;
use url::Url;

use crate::domain::Network;
use crate::domain::connection::OAuthApp;
use crate::domain::coverage;
use crate::networks::connect::{
    self, AppCredentials, Authorize, ConnectAccount, Exchange, FoundAccount, Revocation, call_json,
    credential, url_with_query,
};
use crate::networks::{Account, PublishError};
use crate::outbound::OutboundClient;

const NETWORK: &str = "Mastodon";
const CLIENT_NAME: &str = "Palinsesto";

/// What the brand's features use, from the coverage table; nothing else is asked for.
fn scopes() -> Vec<String> {
    coverage::of(Network::Mastodon)
        .all_scopes(None)
        .into_iter()
        .map(str::to_owned)
        .collect()
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
        let scopes = scopes();
        let request = self.http.post(format!("{instance}/api/v1/apps")).form(&[
            ("client_name", CLIENT_NAME),
            ("redirect_uris", redirect_uri),
            ("scopes", &scopes.join(" ")),
            ("website", website),
        ]);
        let app = call_json(NETWORK, "registering the app", &self.http, request).await?;
        Ok(OAuthApp {
            client_id: connect::field(&app, "/client_id", NETWORK)?.to_owned(),
            client_secret: connect::field(&app, "/client_secret", NETWORK)?.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            scopes,
            registered_at: now,
        })
    }

    fn instance(instance: Option<&str>) -> Result<&str, PublishError> {
        instance.ok_or_else(|| PublishError::Misconfigured("the channel names no server".into()))
    }
}

#[async_trait]
impl ConnectAccount for MastodonOAuth {
    /// Whether the server supports PKCE S256: only servers that publish their authorization
    /// server metadata and list it do (Mastodon 4.3+); older ones go without.
    async fn uses_pkce(&self, instance: Option<&str>) -> bool {
        let Some(instance) = instance else {
            return false;
        };
        let request = self
            .http
            .get(format!("{instance}/.well-known/oauth-authorization-server"));
        match call_json(NETWORK, "reading its OAuth metadata", &self.http, request).await {
            Ok(metadata) => metadata
                .get("code_challenge_methods_supported")
                .and_then(Value::as_array)
                .is_some_and(|methods| methods.iter().any(|m| m == "S256")),
            Err(_) => false,
        }
    }

    fn authorize_url(&self, request: &Authorize<'_>) -> Result<String, PublishError> {
        let instance = Self::instance(request.instance)?;
        let scope = request.scopes.join(" ");
        let mut query = vec![
            ("response_type", "code"),
            ("client_id", request.client_id),
            ("redirect_uri", request.redirect_uri),
            ("scope", scope.as_str()),
            ("state", request.state),
        ];
        if let Some(challenge) = request.pkce_challenge {
            query.push(("code_challenge", challenge));
            query.push(("code_challenge_method", "S256"));
        }
        url_with_query(&format!("{instance}/oauth/authorize"), &query)
    }

    /// Exchanges the code for a token (which does not expire), and reads the account it acts as.
    async fn exchange(&self, request: &Exchange<'_>) -> Result<Vec<FoundAccount>, PublishError> {
        let instance = Self::instance(request.instance)?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", request.code),
            ("client_id", request.client_id),
            ("client_secret", request.client_secret.expose()),
            ("redirect_uri", request.redirect_uri),
        ];
        if let Some(verifier) = request.pkce_verifier {
            form.push(("code_verifier", verifier));
        }
        let request_token = self
            .http
            .post(format!("{instance}/oauth/token"))
            .form(&form);
        let token = call_json(NETWORK, "exchanging the code", &self.http, request_token).await?;
        let access = connect::field(&token, "/access_token", NETWORK)?.to_owned();
        let scopes = connect::granted_scopes(&token, request.scopes);
        let me = call_json(
            NETWORK,
            "reading the account",
            &self.http,
            self.http
                .get(format!("{instance}/api/v1/accounts/verify_credentials"))
                .bearer_auth(&access),
        )
        .await?;
        let acct = connect::field(&me, "/acct", NETWORK)?.to_owned();
        let host = Url::parse(instance)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        Ok(vec![FoundAccount {
            id: connect::id_field(&me, "/id", NETWORK)?,
            handle: format!("@{acct}@{host}"),
            name: me
                .get("display_name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .unwrap_or(&acct)
                .to_owned(),
            avatar: me.get("avatar").and_then(Value::as_str).map(str::to_owned),
            scopes,
            credentials: vec![credential("access_token", access)],
            settings: Vec::new(),
            expires_at: None,
            renewable: false,
            owner: None,
        }])
    }

    /// `POST /oauth/revoke` with the app the token was granted to.
    async fn revoke(
        &self,
        app: &AppCredentials,
        account: &Account<'_>,
    ) -> Result<Revocation, PublishError> {
        let instance = account
            .channel
            .endpoint()
            .map_err(PublishError::Misconfigured)?
            .ok_or_else(|| PublishError::Misconfigured("the channel names no server".into()))?;
        let token = account.credential("access_token")?;
        call_json(
            NETWORK,
            "revoking the token",
            &self.http,
            self.http
                .post(format!("{}/oauth/revoke", instance.as_str()))
                .form(&[
                    ("client_id", app.client_id.as_str()),
                    ("client_secret", app.client_secret.expose()),
                    ("token", token.expose()),
                ]),
        )
        .await?;
        Ok(Revocation::Revoked)
    }
}
