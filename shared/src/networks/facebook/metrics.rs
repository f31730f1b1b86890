//! A Facebook Page's figures: a post's reactions, comments, shares and insights, a video's
//! reactions and comments, and the page's followers.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::FacebookConnector;
use crate::domain::{Counters, MetricsReading, Secret};
use crate::networks::meta_graph::{self, GraphFailure};
use crate::networks::{Account, PublishError, ReadMetrics};

/// The engagement counts of a post (or of a video, which has reactions and comments but no
/// `shares` field). `limit(0)` asks for the totals without the lists of who reacted.
const ENGAGEMENT_FIELDS: &str =
    "reactions.limit(0).summary(total_count),comments.limit(0).summary(total_count)";

/// Post insights: impressions and clicks, lifetime totals, updated about once a day.
const POST_INSIGHTS: [&str; 2] = ["post_impressions", "post_clicks"];

impl FacebookConnector {
    /// A page post's metrics. `shares` is left out of a post nobody has shared yet, so once Graph
    /// has answered for the post itself, no `shares` means 0 shares; a `shares` without a count is
    /// not available.
    async fn page_post_metrics(
        &self,
        token: &Secret,
        post_id: &str,
    ) -> Result<MetricsReading, PublishError> {
        let fields = format!("{ENGAGEMENT_FIELDS},shares");
        let post = self
            .graph
            .get(&[post_id], token, &[("fields", fields)])
            .await?;
        let reposts = match post.get("shares") {
            None => Some(0),
            Some(shares) => meta_graph::count_at(shares, "/count"),
        };
        let (insights, insights_raw) =
            match meta_graph::insights(&self.graph, token, post_id, "insights", &POST_INSIGHTS)
                .await
            {
                Ok(insights) => {
                    let raw = insights.raw.clone();
                    (Some(insights), raw)
                }
                // Meta renames and retires insights metrics; one it no longer knows must not cost the
                // reactions, comments and shares already read. Anything else (token, limits) is an error.
                Err(f) if refused_metric(&f) => (
                    None,
                    json!({ "error": f.error.to_string(), "metrics": POST_INSIGHTS }),
                ),
                Err(f) => return Err(f.error),
            };
        let insight = |name: &str| insights.as_ref().and_then(|i| i.get(name));
        Ok(MetricsReading {
            counters: Counters {
                likes: meta_graph::count_at(&post, "/reactions/summary/total_count"),
                replies: meta_graph::count_at(&post, "/comments/summary/total_count"),
                reposts,
                views: insight("post_impressions"),
                clicks: insight("post_clicks"),
                ..Counters::default()
            },
            raw: json!({ "post": post, "insights": insights_raw }),
        })
    }

    /// A video post is known by its video's id (what `/videos` answers). The video node has
    /// reactions and comments but neither shares nor the page-post insights, so those stay not
    /// available rather than guessed.
    async fn video_metrics(
        &self,
        token: &Secret,
        video_id: &str,
    ) -> Result<MetricsReading, PublishError> {
        let video = self
            .graph
            .get(
                &[video_id],
                token,
                &[("fields", ENGAGEMENT_FIELDS.to_owned())],
            )
            .await?;
        Ok(MetricsReading {
            counters: Counters {
                likes: meta_graph::count_at(&video, "/reactions/summary/total_count"),
                replies: meta_graph::count_at(&video, "/comments/summary/total_count"),
                ..Counters::default()
            },
            raw: json!({
                "video": video,
                "note": "a video post is read through its video, which reports no shares, impressions or clicks",
            }),
        })
    }
}

/// Graph's "invalid parameter" (code 100) on an insights read is an unknown or retired metric;
/// subcode 33 (no such object) is not.
fn refused_metric(f: &GraphFailure) -> bool {
    f.code == Some(100) && f.subcode != Some(33)
}

/// Page posts are named `{page id}_{n}`; the id of a video post is its video's bare id.
fn is_page_post(remote_id: &str) -> bool {
    remote_id.contains('_')
}

#[async_trait]
impl ReadMetrics for FacebookConnector {
    async fn post_metrics(
        &self,
        account: &Account<'_>,
        remote_id: &str,
    ) -> Result<MetricsReading, PublishError> {
        let token = account.credential("access_token")?;
        if is_page_post(remote_id) {
            self.page_post_metrics(token, remote_id).await
        } else {
            self.video_metrics(token, remote_id).await
        }
    }

    /// Followers are `followers_count`. `fan_count` (the page's likes) is kept in `raw` but never
    /// stands in for followers: the two differ, and a report must not mix them.
    async fn account_metrics(&self, account: &Account<'_>) -> Result<MetricsReading, PublishError> {
        let page_id = account.setting("page_id")?;
        let token = account.credential("access_token")?;
        let page: Value = self
            .graph
            .get(
                &[page_id],
                token,
                &[("fields", "followers_count,fan_count".to_owned())],
            )
            .await?;
        Ok(MetricsReading {
            counters: Counters {
                followers: meta_graph::count_at(&page, "/followers_count"),
                ..Counters::default()
            },
            raw: page,
        })
    }
}
