//! Publishing on Threads: a text, image, video or carousel post through containers, follow-ups
//! as a chain of replies, and the read-back through the account's recent threads.

use async_trait::async_trait;
use jiff::Timestamp;

use super::{NETWORK, ThreadsConnector};
use crate::domain::{Asset, MediaKind, Network, Secret};
use crate::networks::meta_graph::{self, Container, Params, RecentPosts};
use crate::networks::{Outgoing, Publish, PublishContext, PublishError, Published, ReadBack};

impl ThreadsConnector {
    /// Prepares and publishes one post (or reply); returns its id. Answers in the inbox are
    /// made the same way.
    pub(super) async fn post(
        &self,
        user: &str,
        token: &Secret,
        container: Container,
    ) -> Result<String, PublishError> {
        let container_id = self.containers.prepare(user, token, container).await?;
        Ok(self.containers.publish(user, token, &container_id).await?)
    }

    /// Each follow-up replies to the one before, forming a thread. A failure ends the chain (the
    /// next reply would have nothing to reply to) and becomes a note.
    async fn replies(
        &self,
        user: &str,
        token: &Secret,
        first_id: &str,
        thread: &[String],
    ) -> Vec<String> {
        let mut previous = first_id.to_owned();
        for (i, text) in thread.iter().enumerate() {
            let reply = Container::Single(vec![
                ("media_type", "TEXT".to_owned()),
                ("text", text.clone()),
                ("reply_to_id", previous.clone()),
            ]);
            match self.post(user, token, reply).await {
                Ok(id) => previous = id,
                Err(e) => {
                    let mut notes = vec![meta_graph::follow_up_note(
                        NETWORK,
                        &format!("reply {}", i + 1),
                        &e,
                    )];
                    if i + 1 < thread.len() {
                        notes.push(format!(
                            "replies {} to {} were not posted because the thread broke off",
                            i + 2,
                            thread.len()
                        ));
                    }
                    return notes;
                }
            }
        }
        Vec::new()
    }
}

async fn container(ctx: &PublishContext<'_>, post: &Outgoing) -> Result<Container, PublishError> {
    let text = ("text", post.text.clone());
    match post.media.as_slice() {
        [] if post.text.trim().is_empty() => Err(PublishError::InvalidContent(
            "the post has neither text nor media: there is nothing to publish on Threads".into(),
        )),
        [] => Ok(Container::Single(vec![
            ("media_type", "TEXT".to_owned()),
            text,
        ])),
        [asset] => {
            let mut params = media_params(ctx, asset).await?;
            params.push(text);
            Ok(Container::Single(params))
        }
        assets => {
            let mut items = Vec::with_capacity(assets.len());
            for asset in assets {
                let mut params = media_params(ctx, asset).await?;
                params.push(("is_carousel_item", "true".to_owned()));
                items.push(params);
            }
            Ok(Container::Carousel {
                items,
                carousel: vec![("media_type", "CAROUSEL".to_owned()), text],
            })
        }
    }
}

async fn media_params(ctx: &PublishContext<'_>, asset: &Asset) -> Result<Params, PublishError> {
    let url = ctx.media.fetch_url(asset).await?;
    match asset.kind {
        MediaKind::Image => {
            let mut params = vec![("media_type", "IMAGE".to_owned()), ("image_url", url)];
            if let Some(alt) = asset.alt_text.as_deref().filter(|a| !a.trim().is_empty()) {
                params.push(("alt_text", alt.to_owned()));
            }
            Ok(params)
        }
        MediaKind::Video => Ok(vec![("media_type", "VIDEO".to_owned()), ("video_url", url)]),
        MediaKind::Gif => Err(PublishError::InvalidMedia(
            "Threads does not take GIF files: convert it to a video or a photo".into(),
        )),
    }
}

#[async_trait]
impl Publish for ThreadsConnector {
    fn network(&self) -> Network {
        Network::Threads
    }

    async fn publish(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<Published, PublishError> {
        let user = ctx.account.setting("threads_user_id")?;
        let container = container(ctx, post).await?;
        let token = meta_graph::fresh_token(
            self.graph(),
            &ctx.account,
            "th_refresh_token",
            Timestamp::now(),
        )
        .await?;
        let id = self.post(user, &token, container).await?;
        let notes = self.replies(user, &token, &id, &post.thread).await;
        let url = meta_graph::permalink(self.graph(), &token, &id).await;
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
        let user = ctx.account.setting("threads_user_id")?;
        let token = ctx.account.credential("access_token")?;
        let recent = RecentPosts {
            node: user,
            edge: "threads",
            text_field: "text",
            time_field: "timestamp",
            permalink_field: Some("permalink"),
        };
        meta_graph::find_by_text(self.graph(), token, recent, post, |_| None).await
    }
}
