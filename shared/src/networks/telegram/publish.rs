//! Publishing on a Telegram channel: a message, one photo, GIF or video with its caption, or an
//! album, and follow-ups as a chain of replies. Bots cannot read a channel back.

use async_trait::async_trait;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use super::TelegramConnector;
use super::client::{
    About, Message, Payload, Subject, chat_id, chat_value, message_id, unreadable,
};
use crate::domain::{Asset, MediaKind, Network, Secret};
use crate::networks::{Outgoing, Publish, PublishContext, PublishError, Published, ReadBack};

/// `sendMediaGroup` takes 2 to 10 items.
const MAX_ALBUM: usize = 10;

#[async_trait]
impl Publish for TelegramConnector {
    fn network(&self) -> Network {
        Network::Telegram
    }

    async fn publish(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<Published, PublishError> {
        let token = ctx.account.credential("bot_token")?;
        let chat = chat_id(&ctx.account)?;
        let first = match post.media.as_slice() {
            [] => {
                if post.text.trim().is_empty() {
                    return Err(PublishError::InvalidContent(
                        "the post has no text and no media: there is nothing to send to Telegram"
                            .into(),
                    ));
                }
                let body = json!({"chat_id": chat_value(&chat), "text": post.text});
                self.send_message(token, &chat, body).await?
            }
            [asset] => self.send_one(ctx, token, &chat, asset, &post.text).await?,
            assets => {
                self.send_album(ctx, token, &chat, assets, &post.text)
                    .await?
            }
        };
        let mut published = Published::new(first.to_string(), public_link(&chat, first));
        published.notes = self.send_thread(token, &chat, post, first).await;
        Ok(published)
    }

    async fn find_published(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<ReadBack, PublishError> {
        let chat = chat_id(&ctx.account).unwrap_or_else(|_| "the channel".to_owned());
        let preview: String = post.text.chars().take(60).collect();
        let ellipsis = if post.text.chars().count() > 60 {
            "..."
        } else {
            ""
        };
        Ok(ReadBack::CannotTell(format!(
            "Telegram bots cannot look up what was posted: check the channel {chat} for a message sent since {} beginning \"{preview}{ellipsis}\"; if it is there, mark the post as published, otherwise publish it again",
            post.first_attempt_at
                .round(jiff::Unit::Second)
                .unwrap_or(post.first_attempt_at)
        )))
    }
}

impl TelegramConnector {
    async fn send_message(
        &self,
        token: &Secret,
        chat: &str,
        body: Value,
    ) -> Result<i64, PublishError> {
        let about = About {
            chat,
            subject: Subject::Message,
        };
        let result = self
            .call(token, "sendMessage", Payload::Json(body), &about)
            .await?;
        message_id(result)
    }

    /// One photo, GIF or video with the text as its caption.
    async fn send_one(
        &self,
        ctx: &PublishContext<'_>,
        token: &Secret,
        chat: &str,
        asset: &Asset,
        caption: &str,
    ) -> Result<i64, PublishError> {
        let (method, field) = match asset.kind {
            MediaKind::Image => ("sendPhoto", "photo"),
            // sendPhoto would flatten a GIF to a still image.
            MediaKind::Gif => ("sendAnimation", "animation"),
            MediaKind::Video => ("sendVideo", "video"),
        };
        let mut form = Form::new()
            .text("chat_id", chat.to_owned())
            .part(field, file_part(ctx, asset).await?);
        if !caption.is_empty() {
            form = form.text("caption", caption.to_owned());
        }
        if asset.kind == MediaKind::Video {
            form = form.text("supports_streaming", "true");
            if let Some(ms) = asset.duration_ms {
                form = form.text("duration", (ms.div_ceil(1000)).to_string());
            }
            if let (Some(w), Some(h)) = (asset.width, asset.height) {
                form = form
                    .text("width", w.to_string())
                    .text("height", h.to_string());
            }
        }
        let about = About {
            chat,
            subject: Subject::Media,
        };
        let result = self
            .call(token, method, Payload::Form(form, asset.size), &about)
            .await?;
        message_id(result)
    }

    /// 2 to 10 photos and videos as one album, the caption on the first item. Returns the first
    /// message's id: that is where the album's link points.
    async fn send_album(
        &self,
        ctx: &PublishContext<'_>,
        token: &Secret,
        chat: &str,
        assets: &[Asset],
        caption: &str,
    ) -> Result<i64, PublishError> {
        if assets.len() > MAX_ALBUM {
            return Err(PublishError::InvalidMedia(format!(
                "Telegram takes at most {MAX_ALBUM} photos and videos in one post; this one has {}",
                assets.len()
            )));
        }
        let mut items = Vec::with_capacity(assets.len());
        let mut form = Form::new().text("chat_id", chat.to_owned());
        for (i, asset) in assets.iter().enumerate() {
            let kind = match asset.kind {
                MediaKind::Image => "photo",
                MediaKind::Video => "video",
                MediaKind::Gif => {
                    return Err(PublishError::InvalidMedia(format!(
                        "Telegram cannot put a GIF in an album (asset {}): post it on its own",
                        asset.id
                    )));
                }
            };
            let name = format!("file{i}");
            let mut item = json!({"type": kind, "media": format!("attach://{name}")});
            if i == 0 && !caption.is_empty() {
                item["caption"] = json!(caption);
            }
            items.push(item);
            form = form.part(name, file_part(ctx, asset).await?);
        }
        form = form.text("media", Value::Array(items).to_string());
        let about = About {
            chat,
            subject: Subject::Media,
        };
        let result = self
            .call(
                token,
                "sendMediaGroup",
                Payload::Form(form, assets.iter().map(|a| a.size).sum()),
                &about,
            )
            .await?;
        let messages: Vec<Message> = serde_json::from_value(result).map_err(|_| unreadable())?;
        messages
            .first()
            .map(|m| m.message_id)
            .ok_or_else(unreadable)
    }

    /// The follow-ups as a chain of replies. Telegram has no idempotency key, so a failed reply is
    /// never retried here; it ends the chain and becomes a note, the post itself is published.
    async fn send_thread(
        &self,
        token: &Secret,
        chat: &str,
        post: &Outgoing,
        first: i64,
    ) -> Vec<String> {
        let total = post.thread.len();
        let mut parent = first;
        for (i, text) in post.thread.iter().enumerate() {
            let body = json!({
                "chat_id": chat_value(chat),
                "text": text,
                "reply_parameters": {"message_id": parent},
            });
            match self.send_message(token, chat, body).await {
                Ok(id) => parent = id,
                Err(e) => {
                    let mut notes = vec![match e {
                        PublishError::UnknownOutcome(_) => format!(
                            "Telegram did not confirm follow-up {} of {total}; check the channel before sending it again",
                            i + 1
                        ),
                        e => format!("follow-up {} of {total} was not sent: {e}", i + 1),
                    }];
                    if i + 1 < total {
                        notes.push(format!(
                            "follow-ups {} to {total} were not sent, so that the thread stays in order",
                            i + 2
                        ));
                    }
                    return notes;
                }
            }
        }
        Vec::new()
    }
}

/// Only a public channel (`@name`) has links anyone can open.
fn public_link(chat: &str, message_id: i64) -> Option<String> {
    let name = chat.strip_prefix('@')?;
    Some(format!("https://t.me/{name}/{message_id}"))
}

async fn file_part(ctx: &PublishContext<'_>, asset: &Asset) -> Result<Part, PublishError> {
    let bytes = ctx.media.read(asset, 0..asset.size).await?;
    let length = bytes.len() as u64;
    Part::stream_with_length(reqwest::Body::from(bytes), length)
        .file_name(file_name(asset))
        .mime_str(&asset.content_type)
        .map_err(|_| {
            PublishError::InvalidMedia(format!(
                "asset {} has the content type {:?}, which is not a valid media type",
                asset.id, asset.content_type
            ))
        })
}

/// Telegram guesses how to show a file partly from its name's extension.
fn file_name(asset: &Asset) -> String {
    let subtype = asset
        .content_type
        .split(';')
        .next()
        .and_then(|t| t.split('/').nth(1))
        .unwrap_or("bin")
        .trim();
    let extension = match subtype {
        "jpeg" => "jpg",
        "quicktime" => "mov",
        other => other,
    };
    format!("{}.{extension}", asset.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_channels_have_links() {
        assert_eq!(
            public_link("@acme_news", 42).as_deref(),
            Some("https://t.me/acme_news/42")
        );
        assert_eq!(public_link("-1001234567890", 42), None);
    }
}
