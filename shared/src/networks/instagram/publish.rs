//! Publishing on Instagram: a photo, reel or carousel through media containers, a first
//! comment, and the read-back through the account's recent media.

use async_trait::async_trait;

use super::InstagramConnector;
use crate::domain::{Asset, MediaKind, Network};
use crate::networks::meta_graph::{self, Container, Params, RecentPosts};
use crate::networks::{Outgoing, Publish, PublishContext, PublishError, Published, ReadBack};

impl InstagramConnector {
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
        let token = self.token(&ctx.account).await?;
        let containers = self.containers_for(&ctx.account);
        let container_id = containers.prepare(user, &token, container).await?;
        let id = match containers.publish(user, &token, &container_id).await {
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
        let graph = self.graph(&ctx.account);
        let notes = meta_graph::comment(graph, &token, &id, &post.thread).await;
        let url = meta_graph::permalink(graph, &token, &id).await;
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
        meta_graph::find_by_text(self.graph(&ctx.account), token, recent, post, |_| None).await
    }
}
