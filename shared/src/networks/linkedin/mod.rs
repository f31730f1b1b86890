//! LinkedIn (versioned REST Posts API): posts for a member or an organization page, images and
//! videos through their upload flows, follow-ups as comments, a read-back by author, and post and
//! page statistics. `client` holds the calls (token renewal, LinkedIn's headers, refusals);
//! `media` the upload flows; `publish` and `metrics` the capabilities; `inbox` (comments under
//! an organization page's posts), `reply`, `moderate` and `push` (social action notifications)
//! the community inbox.

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

pub use publish::little_text;

pub(crate) const NETWORK: &str = "LinkedIn";

/// Every LinkedIn endpoint the connector calls, relative to the API base (or the OAuth base).
mod endpoint {
    pub const POSTS: &str = "/rest/posts";
    pub const IMAGES_INITIALIZE: &str = "/rest/images?action=initializeUpload";
    pub const VIDEOS_INITIALIZE: &str = "/rest/videos?action=initializeUpload";
    pub const VIDEOS_FINALIZE: &str = "/rest/videos?action=finalizeUpload";
    pub const ACCESS_TOKEN: &str = "/oauth/v2/accessToken";
    pub const SHARE_STATISTICS: &str = "/rest/organizationalEntityShareStatistics";
    pub const MEMBER_POST_ANALYTICS: &str = "/rest/memberCreatorPostAnalytics";

    pub fn network_size(urn: &str) -> String {
        format!("/rest/networkSizes/{}", urlencoding::encode(urn))
    }

    /// Rest.li 2.0 wants URNs in a path percent-encoded.
    pub fn video(urn: &str) -> String {
        format!("/rest/videos/{}", urlencoding::encode(urn))
    }

    pub fn comments(post_urn: &str) -> String {
        format!(
            "/rest/socialActions/{}/comments",
            urlencoding::encode(post_urn)
        )
    }

    /// One comment, by the entity it is on (`urn:li:activity:..`, a share, a comment) and its id.
    pub fn comment(entity: &str, comment_id: &str) -> String {
        format!(
            "/rest/socialActions/{}/comments/{}",
            urlencoding::encode(entity),
            urlencoding::encode(comment_id)
        )
    }

    pub const REACTIONS: &str = "/rest/reactions";
}

pub const DEFAULT_VERSION: &str = "202510";

pub struct LinkedinConnector {
    http: OutboundClient,
    api_base: String,
    oauth_base: String,
    linkedin_version: String,
    poll_interval: Duration,
    poll_max_wait: Duration,
    /// The deployment's apps, which renew the tokens of channels connected through them.
    apps: OAuthApps,
}

impl LinkedinConnector {
    /// `api_base` is `https://api.linkedin.com` in production.
    pub fn new(http: OutboundClient, api_base: impl Into<String>) -> Self {
        Self {
            http,
            api_base: api_base.into().trim_end_matches('/').to_owned(),
            oauth_base: "https://www.linkedin.com".into(),
            linkedin_version: DEFAULT_VERSION.into(),
            poll_interval: Duration::from_secs(3),
            poll_max_wait: Duration::from_secs(300),
            apps: OAuthApps::default(),
        }
    }

    /// The deployment's OAuth apps (a channel's own `client_id` takes precedence).
    pub fn with_apps(mut self, apps: OAuthApps) -> Self {
        self.apps = apps;
        self
    }

    /// The `Linkedin-Version` (YYYYMM) sent with every call; LinkedIn retires versions after a year.
    pub fn with_version(mut self, linkedin_version: impl Into<String>) -> Self {
        self.linkedin_version = linkedin_version.into();
        self
    }

    /// Where refresh tokens are redeemed: `https://www.linkedin.com` in production.
    pub fn with_oauth_base(mut self, oauth_base: impl Into<String>) -> Self {
        self.oauth_base = oauth_base.into().trim_end_matches('/').to_owned();
        self
    }

    /// Video processing polls: one every `interval`, giving up (transiently) after `max_wait`.
    pub fn with_polling(mut self, interval: Duration, max_wait: Duration) -> Self {
        self.poll_interval = interval;
        self.poll_max_wait = max_wait;
        self
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api_base)
    }
}
