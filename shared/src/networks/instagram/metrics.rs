//! Instagram's figures: a media's insights and the account's followers.

use async_trait::async_trait;

use super::InstagramConnector;
use crate::domain::{Counters, MetricsReading};
use crate::networks::meta_graph;
use crate::networks::{Account, PublishError, ReadMetrics};

/// Media insights, lifetime totals that may lag up to 48 h. `total_interactions` is kept in `raw`
/// only: it sums the others.
const MEDIA_INSIGHTS: [&str; 7] = [
    "views",
    "reach",
    "likes",
    "comments",
    "shares",
    "saved",
    "total_interactions",
];

#[async_trait]
impl ReadMetrics for InstagramConnector {
    /// Instagram has no reposts: `shares` (sends to chats and stories) is the nearest and counts as
    /// reposts. It reports no quotes or link clicks.
    async fn post_metrics(
        &self,
        account: &Account<'_>,
        remote_id: &str,
    ) -> Result<MetricsReading, PublishError> {
        // Daily metric reads keep the token of an account that rarely posts from expiring.
        let token = self.token(account).await?;
        let insights = meta_graph::insights(
            self.graph(account),
            &token,
            remote_id,
            "insights",
            &MEDIA_INSIGHTS,
        )
        .await?;
        Ok(MetricsReading {
            counters: Counters {
                likes: insights.get("likes"),
                reposts: insights.get("shares"),
                replies: insights.get("comments"),
                views: insights.get("views"),
                reach: insights.get("reach"),
                saves: insights.get("saved"),
                ..Counters::default()
            },
            raw: insights.raw,
        })
    }

    async fn account_metrics(&self, account: &Account<'_>) -> Result<MetricsReading, PublishError> {
        let user = account.setting("ig_user_id")?;
        let token = self.token(account).await?;
        let profile = self
            .graph(account)
            .get(
                &[user],
                &token,
                &[("fields", "followers_count,media_count".to_owned())],
            )
            .await?;
        Ok(MetricsReading {
            counters: Counters {
                followers: meta_graph::count_at(&profile, "/followers_count"),
                ..Counters::default()
            },
            raw: profile,
        })
    }
}
