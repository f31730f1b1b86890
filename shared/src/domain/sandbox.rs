//! The sandbox network's rules: its channel settings (the audience's seed, the failure asked for
//! on the next publish), the failures it can give and what it keeps of a post. Its simulated
//! audience is `domain::sandbox_audience`. Pure: the connector (`networks::sandbox`) stores what
//! is published.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ids::ChannelId;

/// Channel setting: the seed of the simulated audience (a string or a number; default: the
/// channel's id).
pub const SEED: &str = "seed";
/// Channel setting: the typed error the next publish of the channel fails with, once.
pub const FAIL_NEXT_PUBLISH: &str = "fail_next_publish";

/// A failure a sandbox channel can be asked to give, named as a real network's failure is
/// recorded on a target (`PublishError::kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectedFailure {
    RateLimited,
    AuthExpired,
    InvalidContent,
    InvalidMedia,
    Duplicate,
    Transient,
    /// The post is made but the answer is lost: the publisher reads it back and finds it.
    UnknownOutcome,
}

impl InjectedFailure {
    pub const ALL: [Self; 7] = [
        Self::RateLimited,
        Self::AuthExpired,
        Self::InvalidContent,
        Self::InvalidMedia,
        Self::Duplicate,
        Self::Transient,
        Self::UnknownOutcome,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RateLimited => "rate_limited",
            Self::AuthExpired => "auth_expired",
            Self::InvalidContent => "invalid_content",
            Self::InvalidMedia => "invalid_media",
            Self::Duplicate => "duplicate",
            Self::Transient => "transient",
            Self::UnknownOutcome => "unknown_outcome",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == raw)
            .ok_or_else(|| {
                format!(
                    "{raw:?} is not a failure the sandbox can give: expected one of {}",
                    Self::ALL.map(Self::as_str).join(", ")
                )
            })
    }

    /// What the sandbox says, in the words a real network's refusal would be shown in.
    pub fn message(self) -> &'static str {
        match self {
            Self::RateLimited => {
                "sandbox: too many requests (a failure asked for with fail_next_publish)"
            }
            Self::AuthExpired => {
                "sandbox: the access token was revoked (a failure asked for with fail_next_publish)"
            }
            Self::InvalidContent => {
                "sandbox: the text was refused (a failure asked for with fail_next_publish)"
            }
            Self::InvalidMedia => {
                "sandbox: the media was refused (a failure asked for with fail_next_publish)"
            }
            Self::Duplicate => {
                "sandbox: the same text was just posted (a failure asked for with fail_next_publish)"
            }
            Self::Transient => {
                "sandbox: the server answered 503 (a failure asked for with fail_next_publish)"
            }
            Self::UnknownOutcome => {
                "sandbox: the connection was lost after the post was sent (a failure asked for with fail_next_publish)"
            }
        }
    }
}

/// A post on the sandbox, as the network keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxPost {
    /// The network's id of the post: the target's stable key, so a retry finds the post an
    /// earlier attempt made.
    pub remote_id: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thread: Vec<String>,
    /// The ids of the assets it carried.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<String>,
    pub published_at: Timestamp,
    /// The account's followers when it was published: the post's audience.
    pub followers: u64,
    /// For a reply from the inbox: the id of the comment it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
}

/// Why a sandbox setting is refused; `None` for a good value or a setting the sandbox does not
/// read (those follow the general rules).
pub fn check_setting(key: &str, value: &Value) -> Option<String> {
    match key {
        SEED => match value {
            Value::String(s) if !s.is_empty() && s.chars().count() <= 64 => None,
            Value::Number(_) => None,
            _ => Some("must be a number or a string of 1 to 64 characters".into()),
        },
        FAIL_NEXT_PUBLISH => match value.as_str() {
            Some(raw) => InjectedFailure::parse(raw).err(),
            None => Some(format!(
                "must be one of {}",
                InjectedFailure::ALL.map(InjectedFailure::as_str).join(", ")
            )),
        },
        _ => None,
    }
}

/// The seed of a channel's simulated audience: its `seed` setting, else its id.
pub fn seed_of(settings: &Map<String, Value>, channel: &ChannelId) -> String {
    match settings.get(SEED) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => channel.to_string(),
    }
}

/// The failure a channel with these settings is to give on its next publish, if one was asked
/// for.
pub fn injected_failure(settings: &Map<String, Value>) -> Option<InjectedFailure> {
    settings
        .get(FAIL_NEXT_PUBLISH)
        .and_then(Value::as_str)
        .and_then(|raw| InjectedFailure::parse(raw).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        assert_eq!(check_setting(SEED, &Value::from(42)), None);
        assert_eq!(check_setting(SEED, &Value::from("brand-a")), None);
        assert!(check_setting(SEED, &Value::from("")).is_some());
        assert_eq!(
            check_setting(FAIL_NEXT_PUBLISH, &Value::from("auth_expired")),
            None
        );
        let why = check_setting(FAIL_NEXT_PUBLISH, &Value::from("boom")).unwrap();
        assert!(why.contains("rate_limited"), "{why}");
        assert_eq!(check_setting("anything", &Value::from("x")), None);
    }
}
