//! Threads' figures: a post's insights and the account's followers.

use async_trait::async_trait;
use jiff::Timestamp;

use super::ThreadsConnector;
use crate::domain::{Counters, MetricsReading};
use crate::networks::meta_graph;
use crate::networks::{Account, PublishError, ReadMetrics};

/// Media insights (lifetime totals; nested replies' figures are not included).
const POST_INSIGHTS: [&str; 6] = ["views", "likes", "replies", "reposts", "quotes", "shares"];

#[async_trait]
impl ReadMetrics for ThreadsConnector {
    /// `reposts` alone counts as reposts: it is the public reshare other networks count there.
    /// `shares` (sends outside Threads) is a different act and stays in `raw`, not added in, so a
    /// Threads repost figure compares with a Bluesky or Mastodon one.
    async fn post_metrics(
        &self,
        account: &Account<'_>,
        remote_id: &str,
    ) -> Result<MetricsReading, PublishError> {
        // Daily metric reads keep the token of an account that rarely posts from expiring.
        let token =
            meta_graph::fresh_token(self.graph(), account, "th_refresh_token", Timestamp::now())
                .await?;
        let insights =
            meta_graph::insights(self.graph(), &token, remote_id, "insights", &POST_INSIGHTS)
                .await?;
        Ok(MetricsReading {
            counters: Counters {
                likes: insights.get("likes"),
                reposts: insights.get("reposts"),
                replies: insights.get("replies"),
                quotes: insights.get("quotes"),
                views: insights.get("views"),
                ..Counters::default()
            },
            raw: insights.raw,
        })
    }

    async fn account_metrics(&self, account: &Account<'_>) -> Result<MetricsReading, PublishError> {
        let user = account.setting("threads_user_id")?;
        let token =
            meta_graph::fresh_token(self.graph(), account, "th_refresh_token", Timestamp::now())
                .await?;
        let insights = meta_graph::insights(
            self.graph(),
            &token,
            user,
            "threads_insights",
            &["followers_count"],
        )
        .await?;
        Ok(MetricsReading {
            counters: Counters {
                followers: insights.get("followers_count"),
                ..Counters::default()
            },
            raw: insights.raw,
        })
    }
}
