//! Telegram's figures: the channel's subscriber count. Bots are told nothing about a post's views.

use async_trait::async_trait;
use serde_json::json;

use super::TelegramConnector;
use super::client::{About, Payload, Subject, chat_id, chat_value};
use crate::domain::{Counters, MetricsReading};
use crate::networks::{Account, PublishError, ReadMetrics};

#[async_trait]
impl ReadMetrics for TelegramConnector {
    /// Bots are not told how often a channel post was viewed (Telegram shows views only to its
    /// apps and to MTProto clients), so there is nothing to ask: no call is made.
    async fn post_metrics(
        &self,
        _account: &Account<'_>,
        _remote_id: &str,
    ) -> Result<MetricsReading, PublishError> {
        Ok(MetricsReading {
            counters: Counters::default(),
            raw: json!({
                "note": "Telegram's Bot API does not tell bots how many times a channel post was viewed, forwarded or reacted to; only the channel's subscriber count can be read"
            }),
        })
    }

    async fn account_metrics(&self, account: &Account<'_>) -> Result<MetricsReading, PublishError> {
        let token = account.credential("bot_token")?;
        let chat = chat_id(account)?;
        let about = About {
            chat: &chat,
            subject: Subject::Subscribers,
        };
        let body = json!({"chat_id": chat_value(&chat)});
        let result = self
            .call(token, "getChatMemberCount", Payload::Json(body), &about)
            .await?;
        let members = result.as_u64().ok_or_else(|| {
            PublishError::Transient(format!(
                "Telegram answered the subscriber count of {chat} with something other than a number"
            ))
        })?;
        Ok(MetricsReading {
            counters: Counters {
                followers: Some(members),
                ..Counters::default()
            },
            raw: json!({ "getChatMemberCount": members }),
        })
    }
}
