//! Instagram (professional accounts): photo, reel and carousel posts through media containers, a
//! first comment, token refresh, the read-back through the account's recent media, and media and
//! account metrics. Graph calls, containers and token refresh are Meta's shared `meta_graph`;
//! `publish` and `metrics` are the capabilities.

use std::time::Duration;

use crate::networks::Polling;
use crate::networks::meta_graph::{Containers, Graph};
use crate::outbound::OutboundClient;

mod metrics;
mod publish;

const NETWORK: &str = "Instagram";

pub struct InstagramConnector {
    containers: Containers,
}

impl InstagramConnector {
    pub fn new(http: OutboundClient, graph_base: impl Into<String>) -> Self {
        Self {
            containers: Containers {
                graph: Graph::new(http, graph_base, NETWORK),
                polling: Containers::default_polling(),
                create_edge: "media",
                publish_edge: "media_publish",
                status_field: "status_code",
                reason_field: "status",
            },
        }
    }

    /// How often and how long to wait for Instagram to process media.
    pub fn with_polling(mut self, interval: Duration, max_wait: Duration) -> Self {
        self.containers.polling = Polling { interval, max_wait };
        self
    }

    fn graph(&self) -> &Graph {
        &self.containers.graph
    }
}
