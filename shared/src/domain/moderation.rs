//! Moderating what people say under the brand's posts, where the network allows it: hiding and
//! unhiding a comment, liking it, deleting the brand's own reply. A manager asks; the inbox
//! worker (which alone may open credentials) takes the action on the network and records how it
//! went; every request is audited.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::error::DomainError;
use super::ids::{ChannelId, InteractionId, ReplyId};
use super::inbox::{Interaction, InteractionState};

/// What a manager can ask the network to do with an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModerationAction {
    /// Hide it from everyone but its author (Facebook `is_hidden`, Instagram `hide`, Threads
    /// `manage_reply`, X hidden replies, Bluesky's thread gate).
    Hide,
    Unhide,
    /// Like it as the brand.
    Like,
    /// Delete the brand's own reply to it (made from Palinsesto).
    DeleteReply,
}

impl ModerationAction {
    pub const ALL: [Self; 4] = [Self::Hide, Self::Unhide, Self::Like, Self::DeleteReply];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hide => "hide",
            Self::Unhide => "unhide",
            Self::Like => "like",
            Self::DeleteReply => "delete_reply",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == raw)
            .ok_or_else(|| {
                format!(
                    "unknown action {raw:?}: expected one of {}",
                    Self::ALL.map(Self::as_str).join(", ")
                )
            })
    }

    /// In plain words, as in "Mastodon cannot {this}".
    pub fn describe(self) -> &'static str {
        match self {
            Self::Hide => "hide a comment",
            Self::Unhide => "unhide a comment",
            Self::Like => "like a comment as the brand",
            Self::DeleteReply => "delete the brand's reply",
        }
    }

    /// The interaction's state once the action is done on the network (`None`: unchanged).
    /// Unhiding brings it back to open: someone looked at it.
    pub fn state_after(self, before: InteractionState) -> Option<InteractionState> {
        match (self, before) {
            (Self::Hide, _) => Some(InteractionState::Hidden),
            (Self::Unhide, InteractionState::Hidden) => Some(InteractionState::Open),
            _ => None,
        }
    }
}

/// Where a moderation request is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ModerationState {
    /// Waiting for the worker.
    Pending,
    Done {
        at: Timestamp,
    },
    /// The network refused it, or it failed for good; `message` says why in plain words.
    Failed {
        message: String,
    },
}

/// One manager's request to moderate an interaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Moderation {
    /// ULID: orders a brand's requests by time.
    pub id: String,
    pub interaction: InteractionId,
    pub channel: ChannelId,
    pub action: ModerationAction,
    /// The brand's reply to delete, for [`ModerationAction::DeleteReply`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<ReplyId>,
    pub state: ModerationState,
    pub attempts: u32,
    /// When the worker takes it (next), while it is pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<Timestamp>,
    pub requested_by: String,
    pub created_at: Timestamp,
    #[serde(default)]
    pub version: u64,
}

/// At most this many attempts at one request.
pub const MAX_MODERATION_ATTEMPTS: u32 = 5;

impl Moderation {
    pub fn new(
        interaction: &Interaction,
        action: ModerationAction,
        reply: Option<ReplyId>,
        requested_by: &str,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        match (action, reply) {
            (ModerationAction::DeleteReply, None) => {
                return Err(DomainError::invalid(
                    "reply_id",
                    "name the brand's reply to delete",
                ));
            }
            (ModerationAction::DeleteReply, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return Err(DomainError::invalid(
                    "reply_id",
                    "only delete_reply names a reply",
                ));
            }
        }
        Ok(Self {
            id: ulid::Ulid::new().to_string(),
            interaction: interaction.id,
            channel: interaction.channel,
            action,
            reply,
            state: ModerationState::Pending,
            attempts: 0,
            next_attempt_at: Some(now),
            requested_by: requested_by.to_owned(),
            created_at: now,
            version: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hiding_hides_and_unhiding_reopens_only_a_hidden_interaction() {
        use InteractionState::*;
        assert_eq!(ModerationAction::Hide.state_after(Replied), Some(Hidden));
        assert_eq!(ModerationAction::Unhide.state_after(Hidden), Some(Open));
        assert_eq!(ModerationAction::Unhide.state_after(Replied), None);
        assert_eq!(ModerationAction::Like.state_after(New), None);
        assert!(ModerationAction::parse("hide").is_ok());
        let err = ModerationAction::parse("ban").unwrap_err();
        assert!(err.contains("hide, unhide, like, delete_reply"), "{err}");
    }
}
