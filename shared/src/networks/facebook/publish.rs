//! Publishing on a Facebook Page: a text, photo, multi-photo or video post, follow-ups as
//! comments, and the read-back through the page's recent posts.

use async_trait::async_trait;

use super::{FacebookConnector, NETWORK};
use crate::domain::{Asset, MediaKind, Network, Secret};
use crate::networks::meta_graph::{self, Call, Params, RecentPosts};
use crate::networks::{Outgoing, Publish, PublishContext, PublishError, Published, ReadBack};

impl FacebookConnector {
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
                meta_graph::id_of(NETWORK, Call::POST, &answer, "id")
            }
            ([photo], []) => {
                let answer = self.photo(ctx, page_id, token, photo, Some(text)).await?;
                // A photo post answers with the photo's id and the page post's `post_id`.
                meta_graph::id_of(NETWORK, Call::MEDIA_POST, &answer, "post_id")
                    .or_else(|_| meta_graph::id_of(NETWORK, Call::MEDIA_POST, &answer, "id"))
            }
            (photos, []) => {
                let mut params: Params = vec![("message", text)];
                let mut attached = Vec::with_capacity(photos.len());
                for photo in photos {
                    let answer = self.photo(ctx, page_id, token, photo, None).await?;
                    attached.push(meta_graph::id_of(NETWORK, Call::MEDIA, &answer, "id")?);
                }
                let keys = attached_media_keys(attached.len());
                for (key, id) in keys.into_iter().zip(attached) {
                    params.push((key, serde_json::json!({ "media_fbid": id }).to_string()));
                }
                let answer = self
                    .graph
                    .post(Call::POST, &[page_id, "feed"], token, &params)
                    .await?;
                meta_graph::id_of(NETWORK, Call::POST, &answer, "id")
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
                meta_graph::id_of(NETWORK, Call::MEDIA_POST, &answer, "id")
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
        let notes = meta_graph::comment(&self.graph, token, &id, &post.thread).await;
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
        meta_graph::find_by_text(&self.graph, token, recent, post, post_url).await
    }
}
