//! Instagram (professional accounts): photo, reel and carousel posts through media containers, a
//! first comment, token refresh, the read-back through the account's recent media, and media and
//! account metrics.

use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

use super::meta::{self, Container, Containers, Graph, Params, RecentPosts};
use super::{
    Account, Outgoing, Polling, Publish, PublishContext, PublishError, Published, ReadBack,
    ReadMetrics,
};
use crate::domain::{Asset, Counters, MediaKind, MetricsReading, Network};
use crate::outbound::OutboundClient;

const NETWORK: &str = "Instagram";

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

pub struct InstagramConnector {
    containers: Containers,
}

impl InstagramConnector {
    pub fn new(http: OutboundClient, graph_base: impl Into<String>) -> Self {
        Self {
            containers: Containers {
                graph: Graph::new(http, graph_base, NETWORK),
                polling: Containers::default_polling(),
                create_edge: "media",
                publish_edge: "media_publish",
                status_field: "status_code",
                reason_field: "status",
            },
        }
    }

    /// How often and how long to wait for Instagram to process media.
    pub fn with_polling(mut self, interval: Duration, max_wait: Duration) -> Self {
        self.containers.polling = Polling { interval, max_wait };
        self
    }

    fn graph(&self) -> &Graph {
        &self.containers.graph
    }

    async fn container(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<Container, PublishError> {
        match post.media.as_slice() {
            [] => Err(PublishError::InvalidContent(
                "an Instagram post needs at least one photo or video; this one has none".into(),
            )),
            [asset] => {
                let mut params = media_params(ctx, asset, false).await?;
                params.push(("caption", post.text.clone()));
                Ok(Container::Single(params))
            }
            assets => {
                let mut items = Vec::with_capacity(assets.len());
                for asset in assets {
                    items.push(media_params(ctx, asset, true).await?);
                }
                Ok(Container::Carousel {
                    items,
                    carousel: vec![
                        ("media_type", "CAROUSEL".to_owned()),
                        ("caption", post.text.clone()),
                    ],
                })
            }
        }
    }
}

/// One photo or video as a container: alone, a video is a reel; in a carousel it is a VIDEO item.
async fn media_params(
    ctx: &PublishContext<'_>,
    asset: &Asset,
    carousel_item: bool,
) -> Result<Params, PublishError> {
    let url = ctx.media.fetch_url(asset).await?;
    let mut params: Params = match asset.kind {
        MediaKind::Image => {
            let mut p = vec![("image_url", url)];
            if let Some(alt) = asset.alt_text.as_deref().filter(|a| !a.trim().is_empty()) {
                p.push(("alt_text", alt.to_owned()));
            }
            p
        }
        MediaKind::Video if carousel_item => {
            vec![("media_type", "VIDEO".to_owned()), ("video_url", url)]
        }
        MediaKind::Video => vec![("media_type", "REELS".to_owned()), ("video_url", url)],
        MediaKind::Gif => {
            return Err(PublishError::InvalidMedia(
                "Instagram does not take GIFs: convert it to a video or a photo".into(),
            ));
        }
    };
    if carousel_item {
        params.push(("is_carousel_item", "true".to_owned()));
    }
    Ok(params)
}

#[async_trait]
impl Publish for InstagramConnector {
    fn network(&self) -> Network {
        Network::Instagram
    }

    async fn publish(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<Published, PublishError> {
        let user = ctx.account.setting("ig_user_id")?;
        // Before any call: a post without media is refused here, not by Instagram.
        let container = self.container(ctx, post).await?;
        let token = meta::fresh_token(
            self.graph(),
            &ctx.account,
            "ig_refresh_token",
            Timestamp::now(),
        )
        .await?;
        let container_id = self.containers.prepare(user, &token, container).await?;
        let id = match self.containers.publish(user, &token, &container_id).await {
            Ok(id) => id,
            // networks.md: this app-level limit has been answered for posts that were in fact
            // published, so it is read back rather than retried later as a plain rate limit.
            Err(f) if f.is(4, 2_207_051) => {
                return Err(PublishError::UnknownOutcome(format!(
                    "Instagram answered with a rate limit (code 4, subcode 2207051), which it also does for posts it did publish; the post will be checked before any retry: {}",
                    f.error
                )));
            }
            Err(f) => return Err(f.error),
        };
        let notes = meta::comment(self.graph(), &token, &id, &post.thread).await;
        let url = meta::permalink(self.graph(), &token, &id).await;
        Ok(Published {
            remote_id: id,
            url,
            notes,
        })
    }

    async fn find_published(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<ReadBack, PublishError> {
        let user = ctx.account.setting("ig_user_id")?;
        let token = ctx.account.credential("access_token")?;
        let recent = RecentPosts {
            node: user,
            edge: "media",
            text_field: "caption",
            time_field: "timestamp",
            permalink_field: Some("permalink"),
        };
        meta::find_by_text(self.graph(), token, recent, post, |_| None).await
    }
}

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
        let token =
            meta::fresh_token(self.graph(), account, "ig_refresh_token", Timestamp::now()).await?;
        let insights =
            meta::insights(self.graph(), &token, remote_id, "insights", &MEDIA_INSIGHTS).await?;
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
        let token =
            meta::fresh_token(self.graph(), account, "ig_refresh_token", Timestamp::now()).await?;
        let profile = self
            .graph()
            .get(
                &[user],
                &token,
                &[("fields", "followers_count,media_count".to_owned())],
            )
            .await?;
        Ok(MetricsReading {
            counters: Counters {
                followers: meta::count_at(&profile, "/followers_count"),
                ..Counters::default()
            },
            raw: profile,
        })
    }
}
