//! Instagram (professional accounts): photo, reel and carousel posts through media containers, a
//! first comment, token refresh, the read-back through the account's recent media, and media and
//! account metrics; the inbox's comments, mentions (by webhook) and direct messages, answers,
//! moderation and webhook deliveries. Graph calls, containers and token refresh are Meta's shared
//! `meta_graph`; `publish`, `metrics`, `inbox`, `reply`, `moderate` and `push` are the
//! capabilities.

use std::time::Duration;

use jiff::Timestamp;

use crate::domain::Secret;
use crate::networks::meta_graph::{self, Containers, Graph};
use crate::networks::{Account, Polling, PublishError};
use crate::outbound::OutboundClient;

mod inbox;
mod metrics;
mod moderate;
pub mod oauth;
mod publish;
mod push;
mod reply;
mod subscribe;

pub(crate) const NETWORK: &str = "Instagram";

pub struct InstagramConnector {
    /// Instagram Login's host, graph.instagram.com.
    containers: Containers,
    /// Facebook Login's host, graph.facebook.com, for channels connected through a page
    /// (`settings.login: "facebook"`).
    facebook: Containers,
}

impl InstagramConnector {
    pub fn new(http: OutboundClient, graph_base: impl Into<String>) -> Self {
        let graph_base = graph_base.into();
        Self {
            facebook: Self::containers(http.clone(), &graph_base),
            containers: Self::containers(http, &graph_base),
        }
    }

    fn containers(http: OutboundClient, base: &str) -> Containers {
        Containers {
            graph: Graph::new(http, base, NETWORK),
            polling: Containers::default_polling(),
            create_edge: "media",
            publish_edge: "media_publish",
            status_field: "status_code",
            reason_field: "status",
        }
    }

    /// Where channels connected through Facebook Login are served (`https://graph.facebook.com/v21.0`).
    pub fn with_facebook_login(mut self, graph_base: impl Into<String>) -> Self {
        let http = self.containers.graph.http().clone();
        self.facebook = Containers {
            polling: self.facebook.polling,
            ..Self::containers(http, &graph_base.into())
        };
        self
    }

    /// How often and how long to wait for Instagram to process media.
    pub fn with_polling(mut self, interval: Duration, max_wait: Duration) -> Self {
        self.containers.polling = Polling { interval, max_wait };
        self.facebook.polling = Polling { interval, max_wait };
        self
    }

    /// The containers of the host the channel's login uses.
    fn containers_for(&self, account: &Account<'_>) -> &Containers {
        if account.channel.login() == Some(oauth::FACEBOOK_LOGIN) {
            &self.facebook
        } else {
            &self.containers
        }
    }

    fn graph(&self, account: &Account<'_>) -> &Graph {
        &self.containers_for(account).graph
    }

    /// The token to call with: Instagram Login's long-lived token, refreshed when due; a Facebook
    /// page token does not expire.
    async fn token(&self, account: &Account<'_>) -> Result<Secret, PublishError> {
        if account.channel.login() == Some(oauth::FACEBOOK_LOGIN) {
            return account.credential("access_token").cloned();
        }
        meta_graph::fresh_token(
            self.graph(account),
            account,
            "ig_refresh_token",
            Timestamp::now(),
        )
        .await
    }
}
