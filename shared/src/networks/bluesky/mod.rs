//! Bluesky (AT Protocol): app-password sessions kept per channel, blobs uploaded right before the
//! post, and a record key derived from the target so that a post whose answer was lost is read back.
//! `session` logs in, refreshes and reuses sessions; `xrpc` sends calls and words refusals;
//! `facets` finds links, mentions and hashtags; `record_key` derives the keys; `publish`,
//! `metrics`, `inbox`, `reply` and `moderate` are the capabilities; `public` reads competitors'
//! public accounts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::domain::channel::BLUESKY_DEFAULT_SERVICE;
use crate::networks::Account;
use crate::outbound::OutboundClient;

mod check;
mod facets;
mod inbox;
mod metrics;
mod moderate;
pub(super) mod public;
mod publish;
mod record_key;
mod reply;
mod session;
mod xrpc;

pub use record_key::record_key;
use session::Session;

const NETWORK: &str = "Bluesky";
const POST_COLLECTION: &str = "app.bsky.feed.post";

pub struct BlueskyConnector {
    http: OutboundClient,
    /// One slot per channel and login. The async lock makes concurrent publishes of one channel
    /// share a single login or refresh instead of racing (refreshing rotates the refresh JWT).
    sessions: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Session>>>>>,
}

impl BlueskyConnector {
    pub fn new(http: OutboundClient) -> Self {
        Self {
            http,
            sessions: Mutex::new(HashMap::new()),
        }
    }
}

fn service_url(account: &Account<'_>) -> String {
    account
        .channel
        .settings
        .get("service_url")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(BLUESKY_DEFAULT_SERVICE)
        .trim_end_matches('/')
        .to_owned()
}
