//! Answering on Telegram: `sendMessage` in the interaction's chat with `reply_parameters` naming
//! its message (in a discussion group the answer appears as the bot). Telegram has no
//! idempotency key and bots cannot read a chat's history, so after a lost answer nothing can
//! tell whether the reply was made: a person must look.

use async_trait::async_trait;
use serde_json::json;

use super::TelegramConnector;
use super::client::{About, Payload, Subject, chat_value, message_id};
use super::inbox::message_key;
use crate::domain::inbox::ReplyTarget;
use crate::networks::{Outgoing, PublishContext, PublishError, Published, ReadBack, ReplyTo};

/// The chat an interaction lives in: a reply names it.
pub(super) fn target_chat(target: &ReplyTarget) -> Result<&str, PublishError> {
    target.chat.as_deref().ok_or_else(|| {
        PublishError::InvalidContent(
            "the Telegram message to answer does not say which chat it is in".into(),
        )
    })
}

#[async_trait]
impl ReplyTo for TelegramConnector {
    async fn reply(
        &self,
        ctx: &PublishContext<'_>,
        target: &ReplyTarget,
        reply: &Outgoing,
    ) -> Result<Published, PublishError> {
        if !reply.media.is_empty() {
            return Err(PublishError::InvalidMedia(
                "answers on Telegram are sent as text only here: remove the media".into(),
            ));
        }
        let token = ctx.account.credential("bot_token")?;
        let chat = target_chat(target)?;
        let parent: i64 = target.id.parse().map_err(|_| {
            PublishError::InvalidContent(format!("{} is not a Telegram message id", target.id))
        })?;
        let body = json!({
            "chat_id": chat_value(chat),
            "text": reply.text,
            "reply_parameters": {"message_id": parent},
        });
        let about = About {
            chat,
            subject: Subject::Reply,
        };
        let sent = message_id(
            self.call(token, "sendMessage", Payload::Json(body), &about)
                .await?,
        )?;
        Ok(Published::new(
            message_key(chat.parse().unwrap_or_default(), sent),
            None,
        ))
    }

    async fn find_reply(
        &self,
        _ctx: &PublishContext<'_>,
        target: &ReplyTarget,
        reply: &Outgoing,
    ) -> Result<ReadBack, PublishError> {
        let preview: String = reply.text.chars().take(60).collect();
        let chat = target.chat.as_deref().unwrap_or("the chat");
        Ok(ReadBack::CannotTell(format!(
            "Telegram bots cannot read a chat's history, so whether the answer was sent cannot be checked: look in {chat} for the bot's answer to message {} beginning \"{preview}\", sent since {}; if it is there, mark the reply as sent, otherwise send it again",
            target.id,
            reply
                .first_attempt_at
                .round(jiff::Unit::Second)
                .unwrap_or(reply.first_attempt_at)
        )))
    }
}
