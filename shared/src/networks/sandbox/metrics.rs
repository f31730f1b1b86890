//! The sandbox's figures: the simulated audience of each kept post and of the account.

use async_trait::async_trait;
use serde_json::json;

use super::{SandboxConnector, unavailable};
use crate::domain::MetricsReading;
use crate::domain::sandbox_audience;
use crate::networks::{Account, PublishError, ReadMetrics};

#[async_trait]
impl ReadMetrics for SandboxConnector {
    async fn post_metrics(
        &self,
        account: &Account<'_>,
        remote_id: &str,
    ) -> Result<MetricsReading, PublishError> {
        let post = self
            .store
            .get_sandbox_post(account.brand, &account.channel.id, remote_id)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| {
                PublishError::InvalidContent(format!(
                    "sandbox: the channel has no post {remote_id}"
                ))
            })?;
        let seed = super::seed(account);
        let age = self.clock.now().duration_since(post.published_at);
        Ok(MetricsReading {
            counters: sandbox_audience::post_counters(&seed, remote_id, age, post.followers),
            raw: json!({"simulated": true, "seed": seed, "age_seconds": age.as_secs()}),
        })
    }

    async fn account_metrics(&self, account: &Account<'_>) -> Result<MetricsReading, PublishError> {
        let followers = self.followers_now(account);
        Ok(MetricsReading {
            counters: crate::domain::Counters {
                followers: Some(followers),
                ..Default::default()
            },
            raw: json!({"simulated": true, "seed": super::seed(account)}),
        })
    }
}
