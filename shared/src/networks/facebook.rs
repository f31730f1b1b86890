//! Facebook Pages: text, photo, multi-photo and video posts on a page with its page token, follow-ups
//! as comments, the read-back through the page's recent posts, and post and page metrics.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::meta::{self, Call, Graph, GraphFailure, Params, RecentPosts};
use super::{
    Account, Outgoing, Publish, PublishContext, PublishError, Published, ReadBack, ReadMetrics,
};
use crate::domain::{Asset, Counters, MediaKind, MetricsReading, Network, Secret};
use crate::outbound::OutboundClient;

const NETWORK: &str = "Facebook";

pub struct FacebookConnector {
    graph: Graph,
}

impl FacebookConnector {
    pub fn new(http: OutboundClient, graph_base: impl Into<String>) -> Self {
        Self {
            graph: Graph::new(http, graph_base, NETWORK),
        }
    }

    /// Facebook fetches a photo from its short-lived URL. With a caption it becomes a post; without
    /// one it is uploaded unpublished (`published=false`), off the page until a feed post attaches it.
    async fn photo(
        &self,
        ctx: &PublishContext<'_>,
        page_id: &str,
        token: &Secret,
        asset: &Asset,
        caption: Option<String>,
    ) -> Result<serde_json::Value, PublishError> {
        let mut params: Params = vec![("url", ctx.media.fetch_url(asset).await?)];
        if let Some(alt) = asset.alt_text.as_deref().filter(|a| !a.trim().is_empty()) {
            params.push(("alt_text_custom", alt.to_owned()));
        }
        let call = match caption {
            Some(caption) => {
                params.push(("caption", caption));
                Call::MEDIA_POST
            }
            None => {
                params.push(("published", "false".to_owned()));
                Call::MEDIA
            }
        };
        Ok(self
            .graph
            .post(call, &[page_id, "photos"], token, &params)
            .await?)
    }

    /// Makes the post itself and returns its id: the id of the page post, which is what the page's
    /// post list (and so the read-back) shows.
    async fn make_post(
        &self,
        ctx: &PublishContext<'_>,
        page_id: &str,
        token: &Secret,
        post: &Outgoing,
    ) -> Result<String, PublishError> {
        let (videos, photos): (Vec<&Asset>, Vec<&Asset>) =
            post.media.iter().partition(|a| a.kind == MediaKind::Video);
        let text = post.text.clone();
        match (photos.as_slice(), videos.as_slice()) {
            ([], []) if text.trim().is_empty() => Err(PublishError::InvalidContent(
                "the post has neither text nor media: there is nothing to publish on Facebook"
                    .into(),
            )),
            ([], []) => {
                let answer = self
                    .graph
                    .post(Call::POST, &[page_id, "feed"], token, &[("message", text)])
                    .await?;
                meta::id_of(NETWORK, Call::POST, &answer, "id")
            }
            ([photo], []) => {
                let answer = self.photo(ctx, page_id, token, photo, Some(text)).await?;
                // A photo post answers with the photo's id and the page post's `post_id`.
                meta::id_of(NETWORK, Call::MEDIA_POST, &answer, "post_id")
                    .or_else(|_| meta::id_of(NETWORK, Call::MEDIA_POST, &answer, "id"))
            }
            (photos, []) => {
                let mut params: Params = vec![("message", text)];
                let mut attached = Vec::with_capacity(photos.len());
                for photo in photos {
                    let answer = self.photo(ctx, page_id, token, photo, None).await?;
                    attached.push(meta::id_of(NETWORK, Call::MEDIA, &answer, "id")?);
                }
                let keys = attached_media_keys(attached.len());
                for (key, id) in keys.into_iter().zip(attached) {
                    params.push((key, serde_json::json!({ "media_fbid": id }).to_string()));
                }
                let answer = self
                    .graph
                    .post(Call::POST, &[page_id, "feed"], token, &params)
                    .await?;
                meta::id_of(NETWORK, Call::POST, &answer, "id")
            }
            ([], [video]) => {
                let params: Params = vec![
                    ("file_url", ctx.media.fetch_url(video).await?),
                    ("description", text),
                ];
                let answer = self
                    .graph
                    .post(Call::MEDIA_POST, &[page_id, "videos"], token, &params)
                    .await?;
                meta::id_of(NETWORK, Call::MEDIA_POST, &answer, "id")
            }
            _ => Err(PublishError::InvalidContent(
                "a Facebook post carries photos or one video, not both and not several videos"
                    .into(),
            )),
        }
    }
}

/// `attached_media[0]` .. `attached_media[9]`: form keys are static strings, and a page post takes
/// at most ten photos.
fn attached_media_keys(count: usize) -> Vec<&'static str> {
    const KEYS: [&str; 10] = [
        "attached_media[0]",
        "attached_media[1]",
        "attached_media[2]",
        "attached_media[3]",
        "attached_media[4]",
        "attached_media[5]",
        "attached_media[6]",
        "attached_media[7]",
        "attached_media[8]",
        "attached_media[9]",
    ];
    KEYS.iter().take(count).copied().collect()
}

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
            Some(shares) => meta::count_at(shares, "/count"),
        };
        let (insights, insights_raw) =
            match meta::insights(&self.graph, token, post_id, "insights", &POST_INSIGHTS).await {
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
                likes: meta::count_at(&post, "/reactions/summary/total_count"),
                replies: meta::count_at(&post, "/comments/summary/total_count"),
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
                likes: meta::count_at(&video, "/reactions/summary/total_count"),
                replies: meta::count_at(&video, "/comments/summary/total_count"),
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

fn post_url(id: &str) -> Option<String> {
    Some(format!("https://www.facebook.com/{id}"))
}

#[async_trait]
impl Publish for FacebookConnector {
    fn network(&self) -> Network {
        Network::Facebook
    }

    async fn publish(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<Published, PublishError> {
        let page_id = ctx.account.setting("page_id")?;
        let token = ctx.account.credential("access_token")?;
        // Checked here too because a feed post has only ten `attached_media` slots.
        if post.media.len() > 10 {
            return Err(PublishError::InvalidContent(format!(
                "a Facebook post takes at most 10 photos; this one has {}",
                post.media.len()
            )));
        }
        let id = self.make_post(ctx, page_id, token, post).await?;
        let notes = meta::comment(&self.graph, token, &id, &post.thread).await;
        Ok(Published {
            url: post_url(&id),
            remote_id: id,
            notes,
        })
    }

    async fn find_published(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<ReadBack, PublishError> {
        let page_id = ctx.account.setting("page_id")?;
        let token = ctx.account.credential("access_token")?;
        let recent = RecentPosts {
            node: page_id,
            edge: "posts",
            text_field: "message",
            time_field: "created_time",
            permalink_field: None,
        };
        meta::find_by_text(&self.graph, token, recent, post, post_url).await
    }
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
                followers: meta::count_at(&page, "/followers_count"),
                ..Counters::default()
            },
            raw: page,
        })
    }
}
