//! Connecting a Threads account: authorize on threads.net, the code exchanged for a short-lived
//! token, made long-lived (60 days, `th_exchange_token`) and refreshed ahead of its expiry
//! (`th_refresh_token`).

use async_trait::async_trait;
use jiff::Timestamp;

use super::NETWORK;
use crate::networks::connect::{
    AppCredentials, Authorize, ConnectAccount, Exchange, FoundAccount, Revocation,
};
use crate::networks::meta_graph::login::LongLivedLogin;
use crate::networks::meta_graph::long_lived;
use crate::networks::meta_graph::long_lived::MeShape;
use crate::networks::meta_graph::{Graph, unversioned};
use crate::networks::{Account, PublishError};
use crate::outbound::OutboundClient;

pub struct ThreadsOAuth {
    login: LongLivedLogin,
    graph: Graph,
}

impl ThreadsOAuth {
    /// `web_base`: `https://threads.net`; `api_base`: `https://graph.threads.net/v1.0`.
    pub fn new(http: OutboundClient, web_base: &str, api_base: &str) -> Self {
        let host = unversioned(api_base.trim_end_matches('/'));
        Self {
            login: LongLivedLogin::new(
                http.clone(),
                format!("{}/oauth/authorize", web_base.trim_end_matches('/')),
                format!("{host}/oauth/access_token"),
                api_base,
                "th_exchange_token",
                NETWORK,
            ),
            graph: Graph::new(http, api_base, NETWORK),
        }
    }
}

#[async_trait]
impl ConnectAccount for ThreadsOAuth {
    async fn uses_pkce(&self, _instance: Option<&str>) -> bool {
        false
    }

    fn authorize_url(&self, request: &Authorize<'_>) -> Result<String, PublishError> {
        self.login.authorize_url(request)
    }

    async fn exchange(&self, request: &Exchange<'_>) -> Result<Vec<FoundAccount>, PublishError> {
        let long = self.login.exchange(request).await?;
        let me = self
            .login
            .me(&long.token, "id,username,name,threads_profile_picture_url")
            .await?;
        Ok(vec![long_lived::found_account(
            long,
            &me,
            &MeShape {
                id: "id",
                picture: "threads_profile_picture_url",
                setting: "threads_user_id",
            },
            Vec::new(),
            request.scopes,
            request.now,
        )])
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
        long_lived::renew(&self.graph, account, "th_refresh_token", now).await
    }
}
