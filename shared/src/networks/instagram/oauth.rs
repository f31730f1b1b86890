//! Connecting an Instagram professional account, through Instagram Login (graph.instagram.com:
//! a short-lived token made long-lived, refreshed ahead of its 60 days) or Facebook Login
//! (graph.facebook.com: the account linked to a Facebook page the person manages, acting with
//! the page's token). The channel records which (`settings.login`); the connector's Graph host
//! follows from it.

use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::Value;

use super::NETWORK;
use crate::networks::connect::{
    AppCredentials, Authorize, ConnectAccount, Exchange, FoundAccount, Revocation, credential,
};
use crate::networks::meta_graph::Graph;
use crate::networks::meta_graph::login::{FacebookLogin, LongLivedLogin};
use crate::networks::meta_graph::long_lived::{self, MeShape};
use crate::networks::{Account, PublishError};
use crate::outbound::OutboundClient;

/// The login through Facebook; Instagram Login is the default.
pub const FACEBOOK_LOGIN: &str = "facebook";

/// Where each login's pages are.
pub struct InstagramLogins<'a> {
    /// `https://www.instagram.com`
    pub instagram_web: &'a str,
    /// `https://api.instagram.com`
    pub instagram_login_api: &'a str,
    /// `https://graph.instagram.com/v21.0`
    pub instagram_graph: &'a str,
    /// `https://www.facebook.com/v21.0`
    pub facebook_web: &'a str,
    /// `https://graph.facebook.com/v21.0`
    pub facebook_graph: &'a str,
}

pub struct InstagramOAuth {
    instagram: LongLivedLogin,
    facebook: FacebookLogin,
    graph: Graph,
}

impl InstagramOAuth {
    pub fn new(http: OutboundClient, at: &InstagramLogins<'_>) -> Self {
        Self {
            instagram: LongLivedLogin::new(
                http.clone(),
                format!("{}/oauth/authorize", at.instagram_web.trim_end_matches('/')),
                format!(
                    "{}/oauth/access_token",
                    at.instagram_login_api.trim_end_matches('/')
                ),
                at.instagram_graph,
                "ig_exchange_token",
                NETWORK,
            ),
            facebook: FacebookLogin::new(http.clone(), at.facebook_web, at.facebook_graph, NETWORK),
            graph: Graph::new(http, at.instagram_graph, NETWORK),
        }
    }
}

fn through_facebook(login: Option<&str>) -> bool {
    login == Some(FACEBOOK_LOGIN)
}

#[async_trait]
impl ConnectAccount for InstagramOAuth {
    async fn uses_pkce(&self, _instance: Option<&str>) -> bool {
        false
    }

    fn authorize_url(&self, request: &Authorize<'_>) -> Result<String, PublishError> {
        if through_facebook(request.login) {
            self.facebook.authorize_url(request)
        } else {
            self.instagram.authorize_url(request)
        }
    }

    async fn exchange(&self, request: &Exchange<'_>) -> Result<Vec<FoundAccount>, PublishError> {
        let login = |name: &str| ("login".to_owned(), Value::from(name));
        if !through_facebook(request.login) {
            let long = self.instagram.exchange(request).await?;
            let me = self
                .instagram
                .me(&long.token, "user_id,username,name,profile_picture_url")
                .await?;
            return Ok(vec![long_lived::found_account(
                long,
                &me,
                &MeShape {
                    id: "user_id",
                    picture: "profile_picture_url",
                    setting: "ig_user_id",
                },
                vec![login("instagram")],
                request.scopes,
                request.now,
            )]);
        }
        let grant = self.facebook.exchange(request).await?;
        let found: Vec<FoundAccount> = grant
            .pages
            .into_iter()
            .filter_map(|page| {
                let ig = page.instagram?;
                Some(FoundAccount {
                    handle: format!("@{}", ig.username),
                    name: if ig.name.is_empty() {
                        ig.username.clone()
                    } else {
                        ig.name
                    },
                    avatar: ig.picture,
                    scopes: grant.scopes.clone(),
                    credentials: vec![credential("access_token", page.token)],
                    // The page's conversations hold the account's direct messages
                    // (Messenger API for Instagram: `/{page-id}/conversations?platform=instagram`).
                    settings: vec![
                        ("ig_user_id".to_owned(), Value::from(ig.id.clone())),
                        ("page_id".to_owned(), Value::from(page.id.clone())),
                        login(FACEBOOK_LOGIN),
                    ],
                    id: ig.id,
                    expires_at: None,
                    renewable: false,
                    owner: Some(grant.user_id.clone()),
                })
            })
            .collect();
        if found.is_empty() {
            return Err(PublishError::Misconfigured(
                "none of the Facebook pages the person manages has an Instagram professional account linked to it (link it in the page's settings, or connect with Instagram Login)".into(),
            ));
        }
        Ok(found)
    }

    async fn revoke(
        &self,
        _app: &AppCredentials,
        _account: &Account<'_>,
    ) -> Result<Revocation, PublishError> {
        Ok(long_lived::not_revocable(NETWORK))
    }

    async fn renew(
        &self,
        account: &Account<'_>,
        now: Timestamp,
    ) -> Result<Option<Timestamp>, PublishError> {
        if through_facebook(account.channel.login()) {
            // A page token derived from a long-lived user token does not expire.
            return Ok(None);
        }
        long_lived::renew(&self.graph, account, "ig_refresh_token", now).await
    }
}
