//! Facebook Pages: text, photo, multi-photo and video posts on a page with its page token, follow-ups
//! as comments, the read-back through the page's recent posts, and post and page metrics; the
//! inbox's comments, mentions and Messenger messages, answers, moderation and webhook deliveries.
//! Graph calls are Meta's shared client (`meta_graph`); `publish`, `metrics`, `inbox`, `reply`,
//! `moderate` and `push` are the capabilities.

use crate::networks::meta_graph::Graph;
use crate::outbound::OutboundClient;

mod inbox;
mod metrics;
mod moderate;
pub mod oauth;
mod publish;
mod push;
mod reply;
mod subscribe;

pub(crate) const NETWORK: &str = "Facebook";

pub struct FacebookConnector {
    graph: Graph,
}

impl FacebookConnector {
    pub fn new(http: OutboundClient, graph_base: impl Into<String>) -> Self {
        Self {
            graph: Graph::new(http, graph_base, NETWORK),
        }
    }
}
