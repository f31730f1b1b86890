//! Mastodon's figures: a status's counters and the account's followers.

use async_trait::async_trait;
use serde_json::Value;

use super::MastodonConnector;
use super::client::{Call, decode, instance_url, refused, status_not_found};
use crate::domain::{Counters, MetricsReading};
use crate::networks::{Account, PublishError, ReadMetrics};

#[async_trait]
impl ReadMetrics for MastodonConnector {
    async fn post_metrics(
        &self,
        account: &Account<'_>,
        remote_id: &str,
    ) -> Result<MetricsReading, PublishError> {
        let base = instance_url(account)?;
        let token = account.credential("access_token")?;
        let request = self
            .http
            .get(format!(
                "{base}/api/v1/statuses/{}",
                urlencoding::encode(remote_id)
            ))
            .bearer_auth(token.expose());
        let (status, headers, body) = self.exchange(Call::Read, request).await?;
        if let Some(said) = status_not_found(status, &body) {
            return Err(PublishError::InvalidContent(format!(
                "the Mastodon post {remote_id} was deleted or is no longer visible to this account ({said}); its figures cannot be read any more"
            )));
        }
        if !status.is_success() {
            return Err(refused(Call::Read, status, &headers, &body));
        }
        let status: Value = decode(Call::Read, &body)?;
        Ok(MetricsReading {
            counters: status_counters(&status),
            raw: status,
        })
    }

    async fn account_metrics(&self, account: &Account<'_>) -> Result<MetricsReading, PublishError> {
        let base = instance_url(account)?;
        let token = account.credential("access_token")?;
        let me: Value = self
            .read(
                token,
                self.http
                    .get(format!("{base}/api/v1/accounts/verify_credentials")),
            )
            .await?;
        Ok(MetricsReading {
            counters: account_counters(&me),
            raw: me,
        })
    }
}

/// A status's figures. Mastodon counts no views, reach, clicks or saves; `quotes_count` exists
/// only on servers from version 4.5, so on older ones quotes are not available either.
pub(super) fn status_counters(status: &Value) -> Counters {
    Counters {
        likes: count(status, "favourites_count"),
        reposts: count(status, "reblogs_count"),
        replies: count(status, "replies_count"),
        quotes: count(status, "quotes_count"),
        ..Counters::default()
    }
}

pub(super) fn account_counters(account: &Value) -> Counters {
    Counters {
        followers: count(account, "followers_count"),
        ..Counters::default()
    }
}

/// A counter as sent; missing or not a count is "not available", never 0.
fn count(object: &Value, key: &str) -> Option<u64> {
    object.get(key)?.as_u64()
}
