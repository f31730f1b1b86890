//! Moderating on Telegram: a bot may delete its own answers (`deleteMessage`); it cannot hide
//! or like someone's message through the Bot API.

use async_trait::async_trait;
use serde_json::json;

use super::TelegramConnector;
use super::client::{About, Payload, Subject, chat_value};
use crate::domain::inbox::ReplyTarget;
use crate::domain::moderation::ModerationAction;
use crate::networks::{Account, Moderate, PublishError};

#[async_trait]
impl Moderate for TelegramConnector {
    fn actions(&self) -> &'static [ModerationAction] {
        &[ModerationAction::DeleteReply]
    }

    async fn moderate(
        &self,
        account: &Account<'_>,
        target: &ReplyTarget,
        action: ModerationAction,
    ) -> Result<(), PublishError> {
        if action != ModerationAction::DeleteReply {
            return Err(PublishError::InvalidContent(format!(
                "Telegram cannot {}",
                action.describe()
            )));
        }
        let token = account.credential("bot_token")?;
        // The brand's reply is named `{chat}:{message}` (as `reply` made it), else by the
        // target's chat.
        let (chat, message) = match target.id.split_once(':') {
            Some((chat, message)) => (chat, message),
            None => (super::reply::target_chat(target)?, target.id.as_str()),
        };
        let message: i64 = message.parse().map_err(|_| {
            PublishError::InvalidContent(format!("{} is not a Telegram message id", target.id))
        })?;
        let about = About {
            chat,
            subject: Subject::Delete,
        };
        let body = json!({"chat_id": chat_value(chat), "message_id": message});
        match self
            .call(token, "deleteMessage", Payload::Json(body), &about)
            .await
        {
            Ok(_) => Ok(()),
            // Deleted already (by hand, or by an earlier attempt whose answer was lost).
            Err(PublishError::InvalidContent(why))
                if why.contains("message to delete not found") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}
