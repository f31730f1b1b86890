//! Threads: text, image, video and carousel posts through containers, follow-ups as a chain of
//! replies, token refresh, the read-back through the account's recent threads, and post and
//! account metrics; the inbox's replies and mentions, answers, moderation and webhook
//! deliveries. Graph calls, containers and token refresh are Meta's shared `meta_graph`;
//! `publish`, `metrics`, `inbox`, `reply`, `moderate` and `push` are the capabilities.

use std::time::Duration;

use crate::networks::Polling;
use crate::networks::meta_graph::{Containers, Graph};
use crate::outbound::OutboundClient;

mod inbox;
mod metrics;
mod moderate;
pub mod oauth;
mod publish;
mod push;
mod reply;
mod subscribe;

pub(crate) const NETWORK: &str = "Threads";

pub struct ThreadsConnector {
    containers: Containers,
}

impl ThreadsConnector {
    pub fn new(http: OutboundClient, base: impl Into<String>) -> Self {
        Self {
            containers: Containers {
                graph: Graph::new(http, base, NETWORK),
                polling: Containers::default_polling(),
                create_edge: "threads",
                publish_edge: "threads_publish",
                status_field: "status",
                reason_field: "error_message",
            },
        }
    }

    /// How often and how long to wait for Threads to process containers.
    pub fn with_polling(mut self, interval: Duration, max_wait: Duration) -> Self {
        self.containers.polling = Polling { interval, max_wait };
        self
    }

    fn graph(&self) -> &Graph {
        &self.containers.graph
    }
}
