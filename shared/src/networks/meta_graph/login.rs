//! Meta's two OAuth logins (engagement.md, "Facebook Pages and Instagram", "Threads"):
//!
//! - Facebook Login for Pages: the dialog on www.facebook.com, the code exchanged at
//!   `/{version}/oauth/access_token` for a short-lived user token, made long-lived with
//!   `grant_type=fb_exchange_token`; the pages (and their Instagram accounts) from `/me/accounts`,
//!   whose page tokens do not expire when derived from a long-lived user token; the permissions
//!   granted from `/me/permissions`.
//! - Instagram Login and Threads: authorize on the network's web host, the code exchanged with a
//!   form `POST /oauth/access_token`, the short-lived token made long-lived (60 days) with
//!   `{network}_exchange_token` at the Graph host's root; no revocation.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::client::unversioned;
use crate::networks::PublishError;
use crate::networks::connect::{self, Authorize, Exchange, call_json, url_with_query};
use crate::outbound::OutboundClient;

/// Long-lived Instagram and Threads tokens last 60 days from their last refresh.
pub const LONG_LIVED: SignedDuration = SignedDuration::from_hours(60 * 24);

/// The authorize URL of either login; Meta joins scopes with commas.
pub fn authorize_url(dialog: &str, request: &Authorize<'_>) -> Result<String, PublishError> {
    let scope = request.scopes.join(",");
    url_with_query(
        dialog,
        &[
            ("client_id", request.client_id),
            ("redirect_uri", request.redirect_uri),
            ("response_type", "code"),
            ("scope", &scope),
            ("state", request.state),
        ],
    )
}

/// A page the person manages, as `/me/accounts` lists it.
#[derive(Debug, Clone)]
pub struct Page {
    pub id: String,
    pub name: String,
    pub token: String,
    pub picture: Option<String>,
    /// The Instagram professional account linked to the page.
    pub instagram: Option<InstagramAccount>,
}

#[derive(Debug, Clone)]
pub struct InstagramAccount {
    pub id: String,
    pub username: String,
    pub name: String,
    pub picture: Option<String>,
}

/// What a Facebook Login gives: the pages, the permissions granted, and the person's
/// app-scoped id (which the deauthorize and data-deletion callbacks name).
pub struct FacebookGrant {
    pub pages: Vec<Page>,
    pub scopes: Vec<String>,
    pub user_id: String,
}

/// Facebook Login for Pages.
#[derive(Clone)]
pub struct FacebookLogin {
    http: OutboundClient,
    /// `https://www.facebook.com/v21.0`
    web_base: String,
    /// `https://graph.facebook.com/v21.0`
    graph_base: String,
    network: &'static str,
}

impl FacebookLogin {
    pub fn new(
        http: OutboundClient,
        web_base: &str,
        graph_base: &str,
        network: &'static str,
    ) -> Self {
        Self {
            http,
            web_base: web_base.trim_end_matches('/').to_owned(),
            graph_base: graph_base.trim_end_matches('/').to_owned(),
            network,
        }
    }

    pub fn authorize_url(&self, request: &Authorize<'_>) -> Result<String, PublishError> {
        authorize_url(&format!("{}/dialog/oauth", self.web_base), request)
    }

    /// Exchanges the code, makes the user token long-lived, and lists the pages.
    pub async fn exchange(&self, request: &Exchange<'_>) -> Result<FacebookGrant, PublishError> {
        let token_url = format!("{}/oauth/access_token", self.graph_base);
        let short = call_json(
            self.network,
            "the authorization code",
            &self.http,
            self.http.get(&token_url).query(&[
                ("client_id", request.client_id),
                ("client_secret", request.client_secret.expose()),
                ("redirect_uri", request.redirect_uri),
                ("code", request.code),
            ]),
        )
        .await?;
        let short = connect::field(&short, "/access_token", self.network)?;
        let long = call_json(
            self.network,
            "a long-lived token",
            &self.http,
            self.http.get(&token_url).query(&[
                ("grant_type", "fb_exchange_token"),
                ("client_id", request.client_id),
                ("client_secret", request.client_secret.expose()),
                ("fb_exchange_token", short),
            ]),
        )
        .await?;
        let user_token = connect::field(&long, "/access_token", self.network)?.to_owned();
        let scopes = self.granted(&user_token).await?;
        let me = call_json(
            self.network,
            "reading the person",
            &self.http,
            self.http
                .get(format!("{}/me", self.graph_base))
                .query(&[("fields", "id")])
                .bearer_auth(&user_token),
        )
        .await?;
        let user_id = connect::id_field(&me, "/id", self.network)?;
        let pages = self.pages(&user_token).await?;
        Ok(FacebookGrant {
            pages,
            scopes,
            user_id,
        })
    }

    async fn granted(&self, user_token: &str) -> Result<Vec<String>, PublishError> {
        let answer = call_json(
            self.network,
            "reading the permissions granted",
            &self.http,
            self.http
                .get(format!("{}/me/permissions", self.graph_base))
                .bearer_auth(user_token),
        )
        .await?;
        Ok(answer
            .get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|p| p.get("status").and_then(Value::as_str) == Some("granted"))
            .filter_map(|p| p.get("permission").and_then(Value::as_str))
            .map(str::to_owned)
            .collect())
    }

    /// The pages the person manages, following the paging (at most 10 pages of answers).
    async fn pages(&self, user_token: &str) -> Result<Vec<Page>, PublishError> {
        let mut pages = Vec::new();
        let mut url = format!("{}/me/accounts", self.graph_base);
        let mut query = vec![
            (
                "fields",
                "id,name,access_token,picture,instagram_business_account{id,username,name,profile_picture_url}",
            ),
            ("limit", "100"),
        ];
        for _ in 0..10 {
            let answer = call_json(
                self.network,
                "listing the pages",
                &self.http,
                self.http.get(&url).query(&query).bearer_auth(user_token),
            )
            .await?;
            for page in answer
                .get("data")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let (Ok(id), Some(token)) = (
                    connect::id_field(page, "/id", self.network),
                    page.get("access_token").and_then(Value::as_str),
                ) else {
                    continue;
                };
                let text = |p: &Value, k: &str| p.get(k).and_then(Value::as_str).map(str::to_owned);
                let instagram = page.get("instagram_business_account").and_then(|ig| {
                    Some(InstagramAccount {
                        id: connect::id_field(ig, "/id", self.network).ok()?,
                        username: text(ig, "username").unwrap_or_default(),
                        name: text(ig, "name").unwrap_or_default(),
                        picture: text(ig, "profile_picture_url"),
                    })
                });
                pages.push(Page {
                    name: text(page, "name").unwrap_or_else(|| id.clone()),
                    id,
                    token: token.to_owned(),
                    picture: page
                        .pointer("/picture/data/url")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    instagram,
                });
            }
            match answer.pointer("/paging/next").and_then(Value::as_str) {
                Some(next) => {
                    url = next.to_owned();
                    query.clear();
                }
                None => break,
            }
        }
        Ok(pages)
    }
}

/// Instagram Login and Threads: a short-lived token made long-lived.
#[derive(Clone)]
pub struct LongLivedLogin {
    http: OutboundClient,
    /// `https://www.instagram.com/oauth/authorize`, `https://threads.net/oauth/authorize`
    pub dialog: String,
    /// `https://api.instagram.com/oauth/access_token`, `https://graph.threads.net/oauth/access_token`
    pub token_url: String,
    /// `https://graph.instagram.com/v21.0`, `https://graph.threads.net/v1.0`
    pub graph_base: String,
    /// `ig_exchange_token`, `th_exchange_token`
    pub exchange_grant: &'static str,
    pub network: &'static str,
}

/// A long-lived token and the user it acts as.
pub struct LongLived {
    pub token: String,
    pub user_id: String,
    pub expires_at: Timestamp,
    /// What the exchange said was granted, when it says.
    pub scopes: Option<Vec<String>>,
}

impl LongLivedLogin {
    pub fn new(
        http: OutboundClient,
        dialog: String,
        token_url: String,
        graph_base: &str,
        exchange_grant: &'static str,
        network: &'static str,
    ) -> Self {
        Self {
            http,
            dialog,
            token_url,
            graph_base: graph_base.trim_end_matches('/').to_owned(),
            exchange_grant,
            network,
        }
    }

    pub fn authorize_url(&self, request: &Authorize<'_>) -> Result<String, PublishError> {
        authorize_url(&self.dialog, request)
    }

    pub async fn exchange(&self, request: &Exchange<'_>) -> Result<LongLived, PublishError> {
        let short = call_json(
            self.network,
            "the authorization code",
            &self.http,
            self.http.post(&self.token_url).form(&[
                ("client_id", request.client_id),
                ("client_secret", request.client_secret.expose()),
                ("grant_type", "authorization_code"),
                ("redirect_uri", request.redirect_uri),
                ("code", request.code),
            ]),
        )
        .await?;
        // Instagram Login answers `{"data": [{...}]}`, older answers and Threads a flat object.
        let short = short.pointer("/data/0").cloned().unwrap_or(short);
        let short_token = connect::field(&short, "/access_token", self.network)?;
        let user_id = connect::id_field(&short, "/user_id", self.network)?;
        let scopes = short
            .get("permissions")
            .and_then(Value::as_str)
            .map(connect::split_scopes);
        let long = call_json(
            self.network,
            "a long-lived token",
            &self.http,
            self.http
                .get(format!("{}/access_token", unversioned(&self.graph_base)))
                .query(&[
                    ("grant_type", self.exchange_grant),
                    ("client_secret", request.client_secret.expose()),
                    ("access_token", short_token),
                ]),
        )
        .await?;
        let token = connect::field(&long, "/access_token", self.network)?.to_owned();
        let expires_at = connect::expiry(&long, "expires_in", request.now)
            .unwrap_or_else(|| request.now + LONG_LIVED);
        Ok(LongLived {
            token,
            user_id,
            expires_at,
            scopes,
        })
    }

    /// `GET /me?fields=...` with the token.
    pub async fn me(&self, token: &str, fields: &str) -> Result<Value, PublishError> {
        call_json(
            self.network,
            "reading the account",
            &self.http,
            self.http
                .get(format!("{}/me", self.graph_base))
                .query(&[("fields", fields)])
                .bearer_auth(token),
        )
        .await
    }
}
