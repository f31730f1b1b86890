//! Connecting an X account (engagement.md, "X"): OAuth 2.0 with PKCE (required), authorize on
//! x.com, the code exchanged at `/2/oauth2/token` (HTTP basic auth for the deployment's
//! confidential app), `offline.access` for a refresh token (single use: renewals save the new
//! one), the account from `/2/users/me`, revocation at `/2/oauth2/revoke`.

use async_trait::async_trait;
use serde_json::Value;

use super::NETWORK;
use crate::networks::connect::{
    self, AppCredentials, Authorize, ConnectAccount, Exchange, FoundAccount, Revocation, call_json,
    credential, url_with_query,
};
use crate::networks::{Account, PublishError};
use crate::outbound::OutboundClient;

pub struct XOAuth {
    http: OutboundClient,
    /// `https://x.com`
    web_base: String,
    /// `https://api.x.com`
    api_base: String,
}

impl XOAuth {
    pub fn new(http: OutboundClient, web_base: &str, api_base: &str) -> Self {
        Self {
            http,
            web_base: web_base.trim_end_matches('/').to_owned(),
            api_base: api_base.trim_end_matches('/').to_owned(),
        }
    }
}

#[async_trait]
impl ConnectAccount for XOAuth {
    async fn uses_pkce(&self, _instance: Option<&str>) -> bool {
        true
    }

    fn authorize_url(&self, request: &Authorize<'_>) -> Result<String, PublishError> {
        let challenge = request.pkce_challenge.ok_or_else(|| {
            PublishError::Misconfigured("X requires PKCE, and the flow has no challenge".into())
        })?;
        let scope = request.scopes.join(" ");
        url_with_query(
            &format!("{}/i/oauth2/authorize", self.web_base),
            &[
                ("response_type", "code"),
                ("client_id", request.client_id),
                ("redirect_uri", request.redirect_uri),
                ("scope", &scope),
                ("state", request.state),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ],
        )
    }

    async fn exchange(&self, request: &Exchange<'_>) -> Result<Vec<FoundAccount>, PublishError> {
        let verifier = request.pkce_verifier.unwrap_or_default();
        let token = call_json(
            NETWORK,
            "the authorization code",
            &self.http,
            self.http
                .post(format!("{}/2/oauth2/token", self.api_base))
                .basic_auth(request.client_id, Some(request.client_secret.expose()))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", request.code),
                    ("redirect_uri", request.redirect_uri),
                    ("code_verifier", verifier),
                    ("client_id", request.client_id),
                ]),
        )
        .await?;
        let access = connect::field(&token, "/access_token", NETWORK)?.to_owned();
        let refresh = token
            .get("refresh_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        let expires_at = connect::expiry(&token, "expires_in", request.now);
        let scopes = connect::granted_scopes(&token, request.scopes);
        let me = call_json(
            NETWORK,
            "reading the account",
            &self.http,
            self.http
                .get(format!("{}/2/users/me", self.api_base))
                .query(&[("user.fields", "profile_image_url")])
                .bearer_auth(&access),
        )
        .await?;
        let id = connect::id_field(&me, "/data/id", NETWORK)?;
        let username = connect::field(&me, "/data/username", NETWORK)?.to_owned();
        let mut credentials = vec![credential("access_token", access)];
        if let Some(at) = expires_at {
            credentials.push(connect::expiry_credential(at));
        }
        let renewable = refresh.is_some();
        if let Some(refresh) = refresh {
            credentials.push(credential("refresh_token", refresh));
        }
        Ok(vec![FoundAccount {
            name: me
                .pointer("/data/name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .unwrap_or(&username)
                .to_owned(),
            handle: format!("@{username}"),
            avatar: me
                .pointer("/data/profile_image_url")
                .and_then(Value::as_str)
                .map(str::to_owned),
            id,
            scopes,
            credentials,
            settings: Vec::new(),
            // With a refresh token the 2-hour access tokens are renewed as they are used;
            // without one the connection ends with the first token.
            expires_at: if renewable { None } else { expires_at },
            renewable,
            owner: None,
        }])
    }

    async fn revoke(
        &self,
        app: &AppCredentials,
        account: &Account<'_>,
    ) -> Result<Revocation, PublishError> {
        // Revoking the refresh token ends the grant; the access token is revoked too, as it
        // lives on for up to two hours otherwise.
        for (hint, key) in [
            ("refresh_token", "refresh_token"),
            ("access_token", "access_token"),
        ] {
            let Some(token) = account.credentials().get(key).filter(|t| !t.is_empty()) else {
                continue;
            };
            call_json(
                NETWORK,
                "revoking the token",
                &self.http,
                self.http
                    .post(format!("{}/2/oauth2/revoke", self.api_base))
                    .basic_auth(&app.client_id, Some(app.client_secret.expose()))
                    .form(&[
                        ("token", token.expose()),
                        ("token_type_hint", hint),
                        ("client_id", app.client_id.as_str()),
                    ]),
            )
            .await?;
        }
        Ok(Revocation::Revoked)
    }
}
