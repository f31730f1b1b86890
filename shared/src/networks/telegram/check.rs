//! Checking a bot token when it is stored: the bot exists (`getMe`) and is an administrator of
//! the channel's chat (`getChatMember`), or it could not post there.

use async_trait::async_trait;
use serde_json::json;

use super::TelegramConnector;
use super::client::{About, Payload, Subject, chat_id, chat_value};
use crate::networks::{Account, CheckCredentials, PublishError};

#[async_trait]
impl CheckCredentials for TelegramConnector {
    async fn check(&self, account: &Account<'_>) -> Result<(), PublishError> {
        let token = account.credential("bot_token")?;
        let chat = chat_id(account)?;
        let about = About {
            chat: &chat,
            subject: Subject::Subscribers,
        };
        let me = self
            .call(token, "getMe", Payload::Json(json!({})), &about)
            .await?;
        let (Some(bot), username) = (me["id"].as_i64(), me["username"].as_str()) else {
            return Err(PublishError::Transient(
                "Telegram answered getMe without the bot's id".into(),
            ));
        };
        let bot_name = username.map_or_else(|| bot.to_string(), |u| format!("@{u}"));
        let member = self
            .call(
                token,
                "getChatMember",
                Payload::Json(json!({"chat_id": chat_value(&chat), "user_id": bot})),
                &about,
            )
            .await?;
        match member["status"].as_str() {
            Some("administrator" | "creator") => Ok(()),
            status => Err(PublishError::Misconfigured(format!(
                "the bot {bot_name} is {} of {chat}, not an administrator: add it as an administrator that may post messages",
                match status {
                    Some("member") => "only a member",
                    Some("left" | "kicked") => "not a member",
                    _ => "not an administrator",
                }
            ))),
        }
    }
}
