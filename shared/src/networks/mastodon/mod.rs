//! Mastodon (any Mastodon-API server): media uploads with server-side processing, statuses sent
//! with an `Idempotency-Key` so a repeated request never makes a second post, threads as replies.
//! `client` calls the server and words its refusals; `publish` posts, with `rules` for the
//! instance's limits and `read_back` after a lost answer; `metrics` reads the figures; `inbox`,
//! `reply` and `moderate` are the community inbox's; `public` reads competitors' public accounts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::preflight::Rules;
use crate::outbound::OutboundClient;

mod client;
mod inbox;
mod metrics;
mod moderate;
pub mod oauth;
pub(super) mod public;
mod publish;
mod read_back;
mod reply;
mod rules;

const NETWORK: &str = "Mastodon";

pub struct MastodonConnector {
    http: OutboundClient,
    poll_interval: Duration,
    max_wait: Duration,
    /// Rules per instance URL, with when they were read. Stale entries stay as a fallback for
    /// when the instance cannot be reached.
    rules: Mutex<HashMap<String, (Instant, Rules)>>,
}

impl MastodonConnector {
    pub fn new(http: OutboundClient) -> Self {
        Self {
            http,
            poll_interval: Duration::from_secs(2),
            max_wait: Duration::from_secs(10 * 60),
            rules: Mutex::default(),
        }
    }

    /// How often to ask whether an uploaded video is processed, and how long to wait at most.
    pub fn with_polling(mut self, interval: Duration, max_wait: Duration) -> Self {
        self.poll_interval = interval;
        self.max_wait = max_wait;
        self
    }
}
