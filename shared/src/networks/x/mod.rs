//! X (API v2): posts and threads for one OAuth 2.0 user, media through the chunked upload, and a
//! read-back of the account's recent posts after an unknown outcome (X has no idempotency key).
//! `client` holds the calls (token renewal, refusals); `media` the chunked upload; `publish` and
//! `metrics` the capabilities; `inbox` (opt-in: X bills each post read), `reply`, `moderate` and
//! `push` (Account Activity and X Activity API deliveries) the community inbox.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::networks::connect::OAuthApps;
use crate::outbound::OutboundClient;

mod client;
mod inbox;
mod media;
mod metrics;
mod moderate;
pub mod oauth;
mod publish;
mod push;
mod reply;
mod subscribe;

pub use publish::same_text;

pub(crate) const NETWORK: &str = "X";

/// Every X endpoint the connector calls, relative to the API base.
mod endpoint {
    pub const TOKEN: &str = "/2/oauth2/token";
    pub const MEDIA_INITIALIZE: &str = "/2/media/upload/initialize";
    /// STATUS is the one upload step still addressed with `?command=`.
    pub const MEDIA_STATUS: &str = "/2/media/upload";
    pub const MEDIA_METADATA: &str = "/2/media/metadata";
    pub const TWEETS: &str = "/2/tweets";
    pub const USERS_ME: &str = "/2/users/me";

    pub fn media_append(media_id: &str) -> String {
        format!("/2/media/upload/{}/append", urlencoding::encode(media_id))
    }

    pub fn media_finalize(media_id: &str) -> String {
        format!("/2/media/upload/{}/finalize", urlencoding::encode(media_id))
    }

    pub fn tweet(id: &str) -> String {
        format!("/2/tweets/{}", urlencoding::encode(id))
    }

    pub fn user_tweets(user_id: &str) -> String {
        format!("/2/users/{}/tweets", urlencoding::encode(user_id))
    }

    pub const SEARCH_RECENT: &str = "/2/tweets/search/recent";

    pub fn user_mentions(user_id: &str) -> String {
        format!("/2/users/{}/mentions", urlencoding::encode(user_id))
    }

    pub fn hidden(id: &str) -> String {
        format!("/2/tweets/{}/hidden", urlencoding::encode(id))
    }

    pub fn user_likes(user_id: &str) -> String {
        format!("/2/users/{}/likes", urlencoding::encode(user_id))
    }
}

/// X asks for segments of at most 5 MB.
const MAX_CHUNK: u64 = 5_000_000;
const DEFAULT_CHUNK: u64 = 4 * 1_048_576;

pub struct XConnector {
    http: OutboundClient,
    api_base: String,
    /// How long one of X's `check_after_secs` lasts (1 s; tests shrink it).
    poll_second: Duration,
    poll_max_wait: Duration,
    chunk_size: u64,
    /// The X user id behind each connected channel, so a read-back costs one call, not two.
    user_ids: Mutex<HashMap<String, String>>,
    /// The deployment's app, which renews the tokens of channels connected through it.
    apps: OAuthApps,
}

impl XConnector {
    /// `api_base` is `https://api.x.com` in production.
    pub fn new(http: OutboundClient, api_base: impl Into<String>) -> Self {
        Self {
            http,
            api_base: api_base.into().trim_end_matches('/').to_owned(),
            poll_second: Duration::from_secs(1),
            poll_max_wait: Duration::from_secs(300),
            chunk_size: DEFAULT_CHUNK,
            user_ids: Mutex::new(HashMap::new()),
            apps: OAuthApps::default(),
        }
    }

    /// The deployment's OAuth apps (a channel's own `client_id` takes precedence).
    pub fn with_apps(mut self, apps: OAuthApps) -> Self {
        self.apps = apps;
        self
    }

    /// Media processing polls: `interval` is how long one of X's `check_after_secs` lasts, and
    /// publishing gives up (transiently) after `max_wait`.
    pub fn with_polling(mut self, interval: Duration, max_wait: Duration) -> Self {
        self.poll_second = interval;
        self.poll_max_wait = max_wait;
        self
    }

    /// The size of each uploaded segment (at most 5 MB).
    pub fn with_chunk_size(mut self, bytes: u64) -> Self {
        self.chunk_size = bytes.clamp(1, MAX_CHUNK);
        self
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api_base)
    }
}
