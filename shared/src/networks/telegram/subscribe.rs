//! A Telegram channel's webhook (Bot API `setWebhook` / `deleteWebhook`,
//! https://core.telegram.org/bots/api#setwebhook): one URL per bot, with a `secret_token` that
//! Telegram sends back in `X-Telegram-Bot-Api-Secret-Token`. A bot takes its updates from a
//! webhook or from `getUpdates`, never both (`getUpdates` answers 409 while a webhook is set), so
//! while the webhook is set the channel carries [`WEBHOOK_SETTING`] and its reader asks for no
//! updates.

use async_trait::async_trait;
use serde_json::json;

use super::TelegramConnector;
use super::client::{About, Payload, Subject, chat_id};
use crate::domain::Channel;
use crate::networks::{Account, Callback, PublishError, Subscribe, Subscription};

/// The channel setting that says its updates come by webhook (set by the connection worker).
pub const WEBHOOK_SETTING: &str = "inbox_updates";
pub const WEBHOOK_SET: &str = "webhook";

/// Whether the channel's updates come by webhook, so that nothing may call `getUpdates`.
pub fn webhook_is_set(channel: &Channel) -> bool {
    channel
        .settings
        .get(WEBHOOK_SETTING)
        .and_then(|v| v.as_str())
        == Some(WEBHOOK_SET)
}

/// The updates the inbox reads (the reader's own list when it polls).
const ALLOWED_UPDATES: [&str; 4] = [
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
];

#[async_trait]
impl Subscribe for TelegramConnector {
    async fn subscribe(
        &self,
        account: &Account<'_>,
        callback: &Callback<'_>,
    ) -> Result<Subscription, PublishError> {
        let token = account.credential("bot_token")?;
        let chat = chat_id(account)?;
        let secret = callback.secret.ok_or_else(|| {
            PublishError::Misconfigured("a Telegram webhook needs its secret token".into())
        })?;
        self.call(
            token,
            "setWebhook",
            Payload::Json(json!({
                "url": callback.url,
                "secret_token": secret,
                "allowed_updates": ALLOWED_UPDATES,
            })),
            &About {
                chat: &chat,
                subject: Subject::Updates,
            },
        )
        .await?;
        // Deliveries are found by the channel's hook, not by an account.
        Ok(Subscription::default())
    }

    async fn unsubscribe(
        &self,
        account: &Account<'_>,
        _subscription: &Subscription,
        _callback: &Callback<'_>,
    ) -> Result<(), PublishError> {
        let token = account.credential("bot_token")?;
        let chat = chat_id(account)?;
        self.call(
            token,
            "deleteWebhook",
            Payload::Json(json!({ "drop_pending_updates": false })),
            &About {
                chat: &chat,
                subject: Subject::Updates,
            },
        )
        .await?;
        Ok(())
    }
}
