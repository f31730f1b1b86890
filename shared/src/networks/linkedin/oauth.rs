//! Connecting LinkedIn (engagement.md, "LinkedIn"): a member (OpenID Connect `userinfo`, posting
//! as `urn:li:person:{id}`) or the organization pages the member administers
//! (`organizationAcls`, posting as `urn:li:organization:{id}`), each login through its own app
//! where the deployment has two (the Community Management API must be alone on its app). Access
//! tokens last about 60 days; refresh tokens (approved apps only) about a year, after which the
//! channel must be connected again. Revocation at `/oauth/v2/revoke`.

use async_trait::async_trait;
use serde_json::Value;

use super::{DEFAULT_VERSION, NETWORK};
use crate::networks::connect::{
    self, AppCredentials, Authorize, ConnectAccount, Exchange, FoundAccount, Revocation, call_json,
    credential, url_with_query,
};
use crate::networks::{Account, PublishError};
use crate::outbound::OutboundClient;

/// The login of organization pages; a member is the default.
pub const ORGANIZATION_LOGIN: &str = "organization";

/// At most this many organizations are offered for one login.
const MAX_ORGANIZATIONS: usize = 50;

pub struct LinkedinOAuth {
    http: OutboundClient,
    /// `https://www.linkedin.com`: authorization, tokens, revocation.
    web_base: String,
    /// `https://api.linkedin.com`
    api_base: String,
}

impl LinkedinOAuth {
    pub fn new(http: OutboundClient, web_base: &str, api_base: &str) -> Self {
        Self {
            http,
            web_base: web_base.trim_end_matches('/').to_owned(),
            api_base: api_base.trim_end_matches('/').to_owned(),
        }
    }

    fn rest(&self, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.api_base))
            .bearer_auth(token)
            .header("Linkedin-Version", DEFAULT_VERSION)
            .header("X-Restli-Protocol-Version", "2.0.0")
    }

    async fn member(&self, token: &str) -> Result<(String, String, Option<String>), PublishError> {
        let me = call_json(
            NETWORK,
            "reading the member",
            &self.http,
            self.http
                .get(format!("{}/v2/userinfo", self.api_base))
                .bearer_auth(token),
        )
        .await?;
        let id = connect::field(&me, "/sub", NETWORK)?.to_owned();
        let name = me
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .unwrap_or(&id)
            .to_owned();
        let picture = me.get("picture").and_then(Value::as_str).map(str::to_owned);
        Ok((id, name, picture))
    }

    /// The organizations the member administers: `(id, name, vanity name)`.
    async fn organizations(
        &self,
        token: &str,
    ) -> Result<Vec<(String, String, Option<String>)>, PublishError> {
        let acls = call_json(
            NETWORK,
            "listing the pages the member administers",
            &self.http,
            self.rest(
                "/rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED&count=50",
                token,
            ),
        )
        .await?;
        let mut found = Vec::new();
        for acl in acls
            .get("elements")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .take(MAX_ORGANIZATIONS)
        {
            let Some(id) = acl
                .get("organization")
                .and_then(Value::as_str)
                .and_then(|urn| urn.strip_prefix("urn:li:organization:"))
            else {
                continue;
            };
            let path = format!("/rest/organizations/{}", urlencoding::encode(id));
            let org = call_json(
                NETWORK,
                "reading a page",
                &self.http,
                self.rest(&path, token),
            )
            .await?;
            let text = |k: &str| org.get(k).and_then(Value::as_str).map(str::to_owned);
            found.push((
                id.to_owned(),
                text("localizedName").unwrap_or_else(|| id.to_owned()),
                text("vanityName"),
            ));
        }
        Ok(found)
    }
}

#[async_trait]
impl ConnectAccount for LinkedinOAuth {
    async fn uses_pkce(&self, _instance: Option<&str>) -> bool {
        // LinkedIn offers PKCE to native apps only; a web app authenticates with its secret.
        false
    }

    fn authorize_url(&self, request: &Authorize<'_>) -> Result<String, PublishError> {
        let scope = request.scopes.join(" ");
        url_with_query(
            &format!("{}/oauth/v2/authorization", self.web_base),
            &[
                ("response_type", "code"),
                ("client_id", request.client_id),
                ("redirect_uri", request.redirect_uri),
                ("state", request.state),
                ("scope", &scope),
            ],
        )
    }

    async fn exchange(&self, request: &Exchange<'_>) -> Result<Vec<FoundAccount>, PublishError> {
        let token = call_json(
            NETWORK,
            "the authorization code",
            &self.http,
            self.http
                .post(format!("{}/oauth/v2/accessToken", self.web_base))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", request.code),
                    ("redirect_uri", request.redirect_uri),
                    ("client_id", request.client_id),
                    ("client_secret", request.client_secret.expose()),
                ]),
        )
        .await?;
        let access = connect::field(&token, "/access_token", NETWORK)?.to_owned();
        let access_expiry = connect::expiry(&token, "expires_in", request.now);
        let refresh = token
            .get("refresh_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        let refresh_expiry = connect::expiry(&token, "refresh_token_expires_in", request.now);
        let scopes = connect::granted_scopes(&token, request.scopes);
        let mut credentials = vec![credential("access_token", access.clone())];
        if let Some(at) = access_expiry {
            credentials.push(connect::expiry_credential(at));
        }
        // A refresh token renews the access token as it is used, until the refresh token's own
        // end; without one, the connection ends with the access token.
        let expires_at = match &refresh {
            Some(_) => refresh_expiry,
            None => access_expiry,
        };
        if let Some(refresh) = refresh {
            credentials.push(credential("refresh_token", refresh));
        }
        let login = request.login.unwrap_or("member");
        let account =
            |id: String, handle: String, name: String, avatar, author: String| FoundAccount {
                id,
                handle,
                name,
                avatar,
                scopes: scopes.clone(),
                credentials: credentials.clone(),
                settings: vec![
                    ("author".to_owned(), Value::from(author)),
                    ("login".to_owned(), Value::from(login)),
                ],
                expires_at,
                renewable: false,
                owner: None,
            };
        if login == ORGANIZATION_LOGIN {
            let organizations = self.organizations(&access).await?;
            if organizations.is_empty() {
                return Err(PublishError::Misconfigured(
                    "the member administers no LinkedIn page (an ADMINISTRATOR role is needed to post as a page)".into(),
                ));
            }
            return Ok(organizations
                .into_iter()
                .map(|(id, name, vanity)| {
                    let urn = format!("urn:li:organization:{id}");
                    account(
                        urn.clone(),
                        vanity.unwrap_or_else(|| name.clone()),
                        name,
                        None,
                        urn,
                    )
                })
                .collect());
        }
        let (id, name, picture) = self.member(&access).await?;
        let urn = format!("urn:li:person:{id}");
        Ok(vec![account(urn.clone(), name.clone(), name, picture, urn)])
    }

    async fn revoke(
        &self,
        app: &AppCredentials,
        account: &Account<'_>,
    ) -> Result<Revocation, PublishError> {
        let token = account.credential("access_token")?;
        call_json(
            NETWORK,
            "revoking the token",
            &self.http,
            self.http
                .post(format!("{}/oauth/v2/revoke", self.web_base))
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
