//! What a network call can fail with, typed for the publisher's retry decisions and worded for
//! people, and the helpers every connector uses to turn transport failures and answers into it.

use jiff::Timestamp;

use crate::outbound::{CallError, Refusal};

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

/// The start of an unexpected answer body, for error messages.
pub fn snippet(body: &str, status: reqwest::StatusCode) -> String {
    let body = body.trim();
    if body.is_empty() {
        format!("HTTP {status}")
    } else {
        body.chars().take(200).collect()
    }
}
