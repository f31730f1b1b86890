//! The social networks behind one port. Each network is one module (reqwest, one shared client);
//! the publishing service talks only to [`Connector`]. Every API base URL is configurable so tests
//! point connectors at loopback fakes.

pub mod bluesky;
pub mod facebook;
pub mod instagram;
pub mod linkedin;
pub mod mastodon;
pub mod meta;
pub mod oauth;
pub mod public;
pub mod telegram;
pub mod threads;
pub mod x;

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use jiff::Timestamp;

use crate::domain::preflight::Rules;
use crate::domain::{Asset, Channel, Credentials, MetricsReading, Network, Secret};
use crate::outbound::{CallError, OutboundClient, Refusal};

/// The brand's account on a network: its channel (settings such as the instance URL) and the
/// credentials to act as it. Made only by [`Account::new`], which refuses credentials given for
/// another server than the channel's current one.
pub struct Account<'a> {
    pub channel: &'a Channel,
    credentials: &'a Credentials,
    /// Where refreshed credentials (new access tokens, sessions) are saved.
    pub credentials_sink: &'a dyn CredentialsSink,
}

impl<'a> Account<'a> {
    pub fn new(
        channel: &'a Channel,
        credentials: &'a Credentials,
        credentials_sink: &'a dyn CredentialsSink,
    ) -> Result<Self, PublishError> {
        credentials
            .check_binding(channel)
            .map_err(PublishError::EndpointChanged)?;
        Ok(Self {
            channel,
            credentials,
            credentials_sink,
        })
    }

    pub fn credentials(&self) -> &'a Credentials {
        self.credentials
    }

    /// Starts renewing the channel's access: takes its renewal lease (one worker at a time,
    /// across every function) and returns the credentials as stored now, which another worker
    /// may have renewed meanwhile. End it with [`Account::finish_renewal`] on every path.
    pub async fn begin_renewal(&self) -> Result<Renewal, PublishError> {
        let renewal = self
            .credentials_sink
            .begin_renewal(self.credentials)
            .await?;
        if let Err(why) = renewal.credentials.check_binding(self.channel) {
            self.credentials_sink
                .finish_renewal(renewal, Vec::new())
                .await?;
            return Err(PublishError::EndpointChanged(why));
        }
        Ok(renewal)
    }

    /// Saves what the renewal got (nothing, when it failed or another worker had renewed) and
    /// releases the lease.
    pub async fn finish_renewal(
        &self,
        renewal: Renewal,
        changes: Vec<(String, Secret)>,
    ) -> Result<(), PublishError> {
        self.credentials_sink.finish_renewal(renewal, changes).await
    }
}

/// A renewal of a channel's access in progress: the credentials as stored when it began, and
/// what the sink needs to save under its lease.
pub struct Renewal {
    pub credentials: Credentials,
    lease: Option<RenewalLease>,
}

/// Who holds a channel's renewal lease, and the credentials' version read under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalLease {
    pub holder: String,
    pub version: u64,
}

impl Renewal {
    /// A renewal under a lease taken in the store.
    pub fn leased(credentials: Credentials, lease: RenewalLease) -> Self {
        Self {
            credentials,
            lease: Some(lease),
        }
    }

    /// A renewal where nothing else can race (one process, no store: tests, preflight).
    pub fn unleased(credentials: Credentials) -> Self {
        Self {
            credentials,
            lease: None,
        }
    }

    pub fn lease(&self) -> Option<&RenewalLease> {
        self.lease.as_ref()
    }
}

impl Account<'_> {
    /// A credential the channel must have, or a plain-words error naming it.
    pub fn credential(&self, key: &str) -> Result<&Secret, PublishError> {
        self.credential_in(self.credentials, key)
    }

    /// A credential `credentials` (those of this channel, as read under a renewal) must have.
    pub fn credential_in<'c>(
        &self,
        credentials: &'c Credentials,
        key: &str,
    ) -> Result<&'c Secret, PublishError> {
        credentials.get(key).filter(|s| !s.is_empty()).ok_or_else(|| {
            PublishError::AuthExpired(format!(
                "the channel has no \"{key}\" credential: connect it again with PUT /v1/channels/{}/credentials",
                self.channel.id
            ))
        })
    }

    /// A string setting of the channel, or a plain-words error naming it.
    pub fn setting(&self, key: &str) -> Result<&str, PublishError> {
        self.channel
            .settings
            .get(key)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                PublishError::Misconfigured(format!(
                    "the channel's settings.{key} is missing; set it with PATCH /v1/channels/{}",
                    self.channel.id
                ))
            })
    }
}

/// Saves refreshed credentials. `changes` replace the stored values of those keys only; an empty
/// value is ignored, so a network answering without a new refresh token never erases the old one.
#[async_trait]
pub trait CredentialsSink: Send + Sync {
    /// Saves values that need no renewal lease (a Bluesky session after a first login).
    async fn update(&self, changes: Vec<(String, Secret)>) -> Result<(), PublishError>;

    /// Takes the channel's renewal lease and reads the credentials as stored now. A sink with
    /// no store behind it has nothing to race and hands back `current`.
    async fn begin_renewal(&self, current: &Credentials) -> Result<Renewal, PublishError> {
        Ok(Renewal::unleased(current.clone()))
    }

    /// Saves `changes` on condition that the credentials are still those read when the renewal
    /// began, then releases the lease.
    async fn finish_renewal(
        &self,
        _renewal: Renewal,
        changes: Vec<(String, Secret)>,
    ) -> Result<(), PublishError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.update(changes).await
    }
}

/// Reads the bytes of the media library for uploads.
#[async_trait]
pub trait MediaFiles: Send + Sync {
    /// Bytes `range` of the asset (the whole asset is `0..asset.size`); chunked uploads read parts.
    async fn read(&self, asset: &Asset, range: Range<u64>) -> Result<Bytes, PublishError>;
    /// A short-lived URL a network can fetch the asset from (Meta's media-by-URL publishing).
    async fn fetch_url(&self, asset: &Asset) -> Result<String, PublishError>;
}

/// What one target publishes.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Stable for the target across attempts (`{post id}-{channel id}`): Mastodon's idempotency
    /// key, the basis of a Bluesky record key, the marker a read-back looks for.
    pub key: String,
    pub text: String,
    /// Follow-ups: replies forming a thread where the network has threads, or a first comment.
    pub thread: Vec<String>,
    pub media: Vec<Asset>,
    /// No earlier attempt of this target can have posted before this instant (read-back window).
    pub first_attempt_at: Timestamp,
}

/// Everything a connector may use for one call.
pub struct PublishContext<'a> {
    pub account: Account<'a>,
    pub media: &'a dyn MediaFiles,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub remote_id: String,
    pub url: Option<String>,
    /// Things that went wrong after the post itself was made (a thread reply, a first comment),
    /// in plain words. The post counts as published; these are shown with it.
    pub notes: Vec<String>,
}

impl Published {
    pub fn new(remote_id: impl Into<String>, url: Option<String>) -> Self {
        Self {
            remote_id: remote_id.into(),
            url,
            notes: Vec::new(),
        }
    }
}

/// The answer of a read-back after an unknown outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadBack {
    /// The earlier attempt did post: this is it.
    Found(Published),
    /// The account has no such post: publishing now cannot duplicate it.
    NotFound,
    /// The network offers no way to tell (e.g. Telegram bots cannot read a channel's history).
    CannotTell(String),
}

/// Why a network call failed, typed so the publisher knows whether and when to retry, and worded
/// so the user knows what happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    #[error("{message}")]
    RateLimited {
        retry_at: Option<Timestamp>,
        message: String,
    },
    /// The network refused the credentials (expired, revoked, missing scope): reconnect the channel.
    #[error("{0}")]
    AuthExpired(String),
    #[error("{0}")]
    Duplicate(String),
    #[error("{0}")]
    InvalidMedia(String),
    #[error("{0}")]
    InvalidContent(String),
    /// The channel's settings are wrong or incomplete for this network.
    #[error("{0}")]
    Misconfigured(String),
    /// The credentials were given for another server than the channel's current one: they are
    /// not sent, and the channel must be connected again.
    #[error("{0}")]
    EndpointChanged(String),
    /// Failed before anything could have been created (connection refused, 5xx): safe to retry.
    #[error("{0}")]
    Transient(String),
    /// The request may have reached the network but its answer was lost: read back before retrying.
    #[error("{0}")]
    UnknownOutcome(String),
}

impl PublishError {
    /// A stable machine-readable kind, stored on a failed target.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "rate_limited",
            Self::AuthExpired(_) => "auth_expired",
            Self::Duplicate(_) => "duplicate",
            Self::InvalidMedia(_) => "invalid_media",
            Self::InvalidContent(_) => "invalid_content",
            Self::Misconfigured(_) => "misconfigured",
            Self::EndpointChanged(_) => "endpoint_changed",
            Self::Transient(_) => "transient",
            Self::UnknownOutcome(_) => "unknown_outcome",
        }
    }

    pub fn retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Transient(_) | Self::UnknownOutcome(_)
        )
    }
}

#[async_trait]
pub trait Connector: Send + Sync {
    fn network(&self) -> Network;

    /// The rules preflight checks a post against. Most networks' are fixed; Mastodon reads its
    /// instance's configuration.
    async fn rules(&self, _account: &Account<'_>) -> Result<Rules, PublishError> {
        Ok(Rules::for_network(self.network()))
    }

    /// Publishes the post (uploading its media the way the network requires), then its thread.
    async fn publish(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<Published, PublishError>;

    /// After an unknown outcome: finds the post an earlier attempt of `post` made, if any.
    async fn find_published(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<ReadBack, PublishError>;

    /// The lifetime counters of one of the account's published posts (`remote_id` as
    /// [`Published::remote_id`]). A figure the network does not report is `None`, never 0.
    async fn post_metrics(
        &self,
        account: &Account<'_>,
        remote_id: &str,
    ) -> Result<MetricsReading, PublishError>;

    /// The account's own counters (followers, subscribers).
    async fn account_metrics(&self, account: &Account<'_>) -> Result<MetricsReading, PublishError>;
}

/// One connector per network.
#[derive(Clone, Default)]
pub struct Connectors {
    by_network: HashMap<Network, Arc<dyn Connector>>,
}

impl Connectors {
    pub fn new(connectors: impl IntoIterator<Item = Arc<dyn Connector>>) -> Self {
        Self {
            by_network: connectors.into_iter().map(|c| (c.network(), c)).collect(),
        }
    }

    pub fn get(&self, network: Network) -> Option<&Arc<dyn Connector>> {
        self.by_network.get(&network)
    }
}

/// Transport failures of a call that CREATES something visible (a post, a reply): a request that
/// may have been sent but got no answer is an unknown outcome, never a plain retry.
pub fn create_failed(network: &str, e: &CallError) -> PublishError {
    let e = match e {
        CallError::Refused(refusal) => return refused(network, refusal),
        CallError::TooLarge { limit } => {
            return PublishError::UnknownOutcome(format!(
                "{network} answered with more than {limit} bytes, so the answer was not read; the post may or may not have been made, so it will be checked before any retry"
            ));
        }
        CallError::Http(e) => e,
    };
    if e.is_connect() {
        PublishError::Transient(format!("could not connect to {network}: {}", root_cause(e)))
    } else if e.is_builder() {
        PublishError::Misconfigured(format!(
            "the request to {network} could not be built: {}",
            root_cause(e)
        ))
    } else if e.is_timeout() {
        PublishError::UnknownOutcome(format!(
            "{network} did not answer in time; the post may or may not have been made, so it will be checked before any retry"
        ))
    } else {
        PublishError::UnknownOutcome(format!(
            "the connection to {network} broke before its answer arrived ({}); the post may or may not have been made, so it will be checked before any retry",
            root_cause(e)
        ))
    }
}

/// Transport failures of a call that creates nothing visible (reads, media uploads, status
/// polls): safe to retry.
pub fn call_failed(network: &str, e: &CallError) -> PublishError {
    let e = match e {
        CallError::Refused(refusal) => return refused(network, refusal),
        CallError::TooLarge { limit } => {
            return PublishError::Transient(format!(
                "{network} answered with more than {limit} bytes, so the answer was not read"
            ));
        }
        CallError::Http(e) => e,
    };
    if e.is_builder() {
        PublishError::Misconfigured(format!(
            "the request to {network} could not be built: {}",
            root_cause(e)
        ))
    } else if e.is_timeout() {
        PublishError::Transient(format!("{network} did not answer in time"))
    } else {
        PublishError::Transient(format!("the call to {network} failed: {}", root_cause(e)))
    }
}

/// Nothing was sent: the destination is off limits. Not retried: the channel's settings must
/// change first.
fn refused(network: &str, refusal: &Refusal) -> PublishError {
    PublishError::Misconfigured(format!(
        "Palinsesto did not connect to {network}: {refusal}"
    ))
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// How long the network part of a renewal may take: well inside the renewal lease (30 s), so a
/// lease never runs out while its holder is still renewing.
pub const RENEWAL_CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Runs the network part of a renewal within [`RENEWAL_CALL_TIMEOUT`].
pub async fn within_renewal_time<T>(
    network: &str,
    work: impl std::future::Future<Output = Result<T, PublishError>>,
) -> Result<T, PublishError> {
    tokio::time::timeout(RENEWAL_CALL_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| {
            Err(PublishError::Transient(format!(
                "{network} took more than {} s to renew the channel's access; it will be tried again",
                RENEWAL_CALL_TIMEOUT.as_secs()
            )))
        })
}

/// Parses a rate-limit reset header given in unix seconds.
pub fn reset_at_unix(value: Option<&reqwest::header::HeaderValue>) -> Option<Timestamp> {
    let secs: i64 = value?.to_str().ok()?.trim().parse().ok()?;
    Timestamp::from_second(secs).ok()
}

/// Parses a `Retry-After` header given in seconds, relative to `now`.
pub fn retry_after(
    value: Option<&reqwest::header::HeaderValue>,
    now: Timestamp,
) -> Option<Timestamp> {
    let secs: i64 = value?.to_str().ok()?.trim().parse().ok()?;
    now.checked_add(jiff::SignedDuration::from_secs(secs)).ok()
}

/// The API base URL of every network whose address is not in the channel's settings (Mastodon's
/// instance and Bluesky's PDS are). Tests and staging point these at loopback fakes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkEndpoints {
    pub x: String,
    pub linkedin: String,
    pub facebook: String,
    pub instagram: String,
    pub threads: String,
    pub telegram: String,
}

impl Default for NetworkEndpoints {
    fn default() -> Self {
        Self {
            x: "https://api.x.com".into(),
            linkedin: "https://api.linkedin.com".into(),
            facebook: "https://graph.facebook.com/v21.0".into(),
            instagram: "https://graph.instagram.com/v21.0".into(),
            threads: "https://graph.threads.net/v1.0".into(),
            telegram: "https://api.telegram.org".into(),
        }
    }
}

impl NetworkEndpoints {
    /// The defaults, each overridable by `X_API_BASE`, `LINKEDIN_API_BASE`, `FACEBOOK_GRAPH_BASE`,
    /// `INSTAGRAM_GRAPH_BASE`, `THREADS_API_BASE`, `TELEGRAM_API_BASE`.
    pub fn from_env() -> Self {
        let mut e = Self::default();
        for (var, field) in [
            ("X_API_BASE", &mut e.x),
            ("LINKEDIN_API_BASE", &mut e.linkedin),
            ("FACEBOOK_GRAPH_BASE", &mut e.facebook),
            ("INSTAGRAM_GRAPH_BASE", &mut e.instagram),
            ("THREADS_API_BASE", &mut e.threads),
            ("TELEGRAM_API_BASE", &mut e.telegram),
        ] {
            if let Ok(value) = std::env::var(var)
                && !value.trim().is_empty()
            {
                *field = value.trim().trim_end_matches('/').to_owned();
            }
        }
        e
    }
}

/// How connectors wait for networks that process media asynchronously.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Polling {
    pub interval: std::time::Duration,
    pub max_wait: std::time::Duration,
}

impl Default for Polling {
    fn default() -> Self {
        Self {
            interval: std::time::Duration::from_secs(2),
            max_wait: std::time::Duration::from_secs(120),
        }
    }
}

/// Every network's connector, sharing one guarded HTTP client.
pub fn standard_connectors(
    http: OutboundClient,
    endpoints: &NetworkEndpoints,
    polling: Polling,
) -> Connectors {
    let (i, w) = (polling.interval, polling.max_wait);
    Connectors::new([
        Arc::new(mastodon::MastodonConnector::new(http.clone()).with_polling(i, w))
            as Arc<dyn Connector>,
        Arc::new(bluesky::BlueskyConnector::new(http.clone())),
        Arc::new(
            linkedin::LinkedinConnector::new(http.clone(), endpoints.linkedin.clone())
                .with_polling(i, w),
        ),
        Arc::new(x::XConnector::new(http.clone(), endpoints.x.clone()).with_polling(i, w)),
        Arc::new(facebook::FacebookConnector::new(
            http.clone(),
            endpoints.facebook.clone(),
        )),
        Arc::new(
            instagram::InstagramConnector::new(http.clone(), endpoints.instagram.clone())
                .with_polling(i, w),
        ),
        Arc::new(
            threads::ThreadsConnector::new(http.clone(), endpoints.threads.clone())
                .with_polling(i, w),
        ),
        Arc::new(telegram::TelegramConnector::new(
            http,
            endpoints.telegram.clone(),
        )),
    ])
}

/// The start of an unexpected answer body, for error messages.
pub fn snippet(body: &str, status: reqwest::StatusCode) -> String {
    let body = body.trim();
    if body.is_empty() {
        format!("HTTP {status}")
    } else {
        body.chars().take(200).collect()
    }
}
