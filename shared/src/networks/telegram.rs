//! Telegram: posts to a channel through the Bot API (the bot must be an administrator there).
//! The bot token sits in the URL path, so no URL and no token ever reaches an error message.

use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use reqwest::multipart::{Form, Part};
use reqwest::{RequestBuilder, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Account, Outgoing, Publish, PublishContext, PublishError, Published, ReadBack, ReadMetrics,
    call_failed, create_failed,
};
use crate::domain::{Asset, Counters, MediaKind, MetricsReading, Network, Secret};
use crate::outbound::{CallError, JSON_ANSWER_LIMIT, OutboundClient, read_text};

const NETWORK: &str = "Telegram";
pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";
/// `sendMediaGroup` takes 2 to 10 items.
const MAX_ALBUM: usize = 10;

pub struct TelegramConnector {
    http: OutboundClient,
    api_base: String,
}

impl TelegramConnector {
    /// `api_base` is [`DEFAULT_API_BASE`] in production; tests point it at a fake.
    pub fn new(http: OutboundClient, api_base: impl Into<String>) -> Self {
        Self {
            http,
            api_base: api_base.into().trim_end_matches('/').to_owned(),
        }
    }
}

/// `{"ok": bool, "result"?: ..., "error_code"?, "description"?, "parameters"?}`
#[derive(Deserialize)]
struct Envelope {
    ok: bool,
    result: Option<Value>,
    error_code: Option<u16>,
    description: Option<String>,
    parameters: Option<ResponseParameters>,
}

#[derive(Deserialize, Default)]
struct ResponseParameters {
    retry_after: Option<i64>,
    migrate_to_chat_id: Option<i64>,
}

#[derive(Deserialize)]
struct Message {
    message_id: i64,
}

enum Payload {
    Json(Value),
    /// A multipart form carrying files of this many bytes in all.
    Form(Form, u64),
}

/// What a call is about, for wording its refusal (invalid media or invalid content) and for
/// whether a lost answer leaves its outcome unknown (only sending creates something).
struct About<'a> {
    chat: &'a str,
    subject: Subject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subject {
    Message,
    Media,
    /// Reading the channel's subscriber count: creates nothing.
    Subscribers,
}

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

#[async_trait]
impl ReadMetrics for TelegramConnector {
    /// Bots are not told how often a channel post was viewed (Telegram shows views only to its
    /// apps and to MTProto clients), so there is nothing to ask: no call is made.
    async fn post_metrics(
        &self,
        _account: &Account<'_>,
        _remote_id: &str,
    ) -> Result<MetricsReading, PublishError> {
        Ok(MetricsReading {
            counters: Counters::default(),
            raw: json!({
                "note": "Telegram's Bot API does not tell bots how many times a channel post was viewed, forwarded or reacted to; only the channel's subscriber count can be read"
            }),
        })
    }

    async fn account_metrics(&self, account: &Account<'_>) -> Result<MetricsReading, PublishError> {
        let token = account.credential("bot_token")?;
        let chat = chat_id(account)?;
        let about = About {
            chat: &chat,
            subject: Subject::Subscribers,
        };
        let body = json!({"chat_id": chat_value(&chat)});
        let result = self
            .call(token, "getChatMemberCount", Payload::Json(body), &about)
            .await?;
        let members = result.as_u64().ok_or_else(|| {
            PublishError::Transient(format!(
                "Telegram answered the subscriber count of {chat} with something other than a number"
            ))
        })?;
        Ok(MetricsReading {
            counters: Counters {
                followers: Some(members),
                ..Counters::default()
            },
            raw: json!({ "getChatMemberCount": members }),
        })
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

    /// Calls a Bot API method that sends a message. Every error is scrubbed of the token.
    async fn call(
        &self,
        token: &Secret,
        method: &str,
        payload: Payload,
        about: &About<'_>,
    ) -> Result<Value, PublishError> {
        let url = format!("{}/bot{}/{method}", self.api_base, token.expose());
        let request = match payload {
            Payload::Json(body) => self.http.post(url).json(&body),
            Payload::Form(form, bytes) => {
                let request = self.http.post(url).multipart(form);
                match upload_timeout(bytes) {
                    Some(timeout) => request.timeout(timeout),
                    None => request,
                }
            }
        };
        self.exchange(request, about)
            .await
            .map_err(|e| redacted(e, token.expose()))
    }

    async fn exchange(
        &self,
        request: RequestBuilder,
        about: &About<'_>,
    ) -> Result<Value, PublishError> {
        let reads = about.subject == Subject::Subscribers;
        // `without_url`: reqwest's errors carry the URL, and the URL carries the token.
        let transport = |e: CallError| {
            if reads {
                call_failed(NETWORK, &e.without_url())
            } else {
                create_failed(NETWORK, &e.without_url())
            }
        };
        let garbled = || {
            if reads {
                PublishError::Transient("Telegram's answer could not be read".into())
            } else {
                unreadable()
            }
        };
        let response = self.http.send(request).await.map_err(transport)?;
        let status = response.status();
        let body = read_text(response, JSON_ANSWER_LIMIT)
            .await
            .map_err(transport)?;
        match serde_json::from_str::<Envelope>(&body) {
            Ok(Envelope {
                ok: true,
                result: Some(result),
                ..
            }) => Ok(result),
            Ok(Envelope { ok: true, .. }) => Err(garbled()),
            Ok(envelope) => Err(refused(
                envelope.error_code.unwrap_or(status.as_u16()),
                envelope
                    .description
                    .unwrap_or_else(|| format!("HTTP {status}")),
                envelope.parameters.unwrap_or_default(),
                about,
            )),
            Err(_) if status.is_success() => Err(garbled()),
            Err(_) => Err(refused(
                status.as_u16(),
                reason(status),
                ResponseParameters::default(),
                about,
            )),
        }
    }
}

/// The message was sent (2xx) but its id cannot be read: only the channel can tell.
fn unreadable() -> PublishError {
    PublishError::UnknownOutcome(
        "Telegram accepted the message but its answer could not be read; check the channel before publishing again"
            .into(),
    )
}

fn reason(status: StatusCode) -> String {
    format!(
        "HTTP {} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
    .trim_end()
    .to_owned()
}

fn message_id(result: Value) -> Result<i64, PublishError> {
    serde_json::from_value::<Message>(result)
        .map(|m| m.message_id)
        .map_err(|_| unreadable())
}

/// Maps a Bot API refusal to a typed error quoting Telegram's description.
fn refused(
    code: u16,
    description: String,
    parameters: ResponseParameters,
    about: &About<'_>,
) -> PublishError {
    let chat = about.chat;
    let reads = about.subject == Subject::Subscribers;
    let lower = description.to_lowercase();
    let not_allowed = || {
        let act = if reads { "read" } else { "post in" };
        PublishError::AuthExpired(format!(
            "Telegram does not let the bot {act} {chat} ({description}): add the bot to the channel as an administrator allowed to post messages, then try again"
        ))
    };
    match code {
        429 => {
            let retry_at = parameters.retry_after.and_then(|secs| {
                Timestamp::now()
                    .checked_add(SignedDuration::from_secs(secs))
                    .ok()
            });
            let when = parameters
                .retry_after
                .map_or_else(|| "later".to_owned(), |s| format!("in {s} s"));
            PublishError::RateLimited {
                retry_at,
                message: format!(
                    "Telegram is limiting how fast the bot can post ({description}); it will be tried again {when}"
                ),
            }
        }
        401 => PublishError::AuthExpired(format!(
            "Telegram refused the bot token ({description}): get the token from @BotFather and connect the channel again"
        )),
        // The Bot API answers 404 to a token it cannot even parse.
        404 => PublishError::AuthExpired(format!(
            "Telegram does not recognise the bot token ({description}): get the token from @BotFather and connect the channel again"
        )),
        403 => not_allowed(),
        400 if lower.contains("administrator rights") || lower.contains("not enough rights") => {
            not_allowed()
        }
        400 if parameters.migrate_to_chat_id.is_some() => PublishError::Misconfigured(format!(
            "the Telegram chat {chat} has moved to the id {}: set the channel's settings.chat_id to it",
            parameters.migrate_to_chat_id.unwrap_or_default()
        )),
        400 if lower.contains("chat not found") => PublishError::Misconfigured(format!(
            "Telegram cannot find the chat {chat} ({description}): check the channel's settings.chat_id and that the bot was added to the channel"
        )),
        400 if reads => PublishError::Misconfigured(format!(
            "Telegram refused to count the subscribers of {chat} ({description}): check the channel's settings.chat_id"
        )),
        400 if about.subject == Subject::Media && is_about_media(&lower) => {
            PublishError::InvalidMedia(format!("Telegram refused the media: {description}"))
        }
        400 => PublishError::InvalidContent(format!("Telegram refused the message: {description}")),
        413 => PublishError::InvalidMedia(format!(
            "the file is larger than Telegram accepts from bots ({description})"
        )),
        // A gateway that gave up waiting may have passed the message on: not a plain retry.
        504 if !reads => PublishError::UnknownOutcome(format!(
            "Telegram's gateway timed out ({description}); the message may or may not have been sent"
        )),
        500.. => PublishError::Transient(format!(
            "Telegram had a server error ({description}); it will be tried again"
        )),
        _ if reads => PublishError::Transient(format!(
            "Telegram answered error {code} when asked for the subscriber count: {description}"
        )),
        _ => PublishError::InvalidContent(format!(
            "Telegram refused the message (error {code}): {description}"
        )),
    }
}

fn is_about_media(description: &str) -> bool {
    [
        "photo",
        "video",
        "animation",
        "image",
        "file",
        "media",
        "dimensions",
        "web page content",
    ]
    .iter()
    .any(|w| description.contains(w))
}

/// Replaces the token wherever it might have slipped into a message.
fn redacted(e: PublishError, token: &str) -> PublishError {
    let scrub = |m: String| m.replace(token, "[redacted]");
    match e {
        PublishError::RateLimited { retry_at, message } => PublishError::RateLimited {
            retry_at,
            message: scrub(message),
        },
        PublishError::AuthExpired(m) => PublishError::AuthExpired(scrub(m)),
        PublishError::Duplicate(m) => PublishError::Duplicate(scrub(m)),
        PublishError::InvalidMedia(m) => PublishError::InvalidMedia(scrub(m)),
        PublishError::InvalidContent(m) => PublishError::InvalidContent(scrub(m)),
        PublishError::Misconfigured(m) => PublishError::Misconfigured(scrub(m)),
        PublishError::EndpointChanged(m) => PublishError::EndpointChanged(scrub(m)),
        PublishError::Transient(m) => PublishError::Transient(scrub(m)),
        PublishError::UnknownOutcome(m) => PublishError::UnknownOutcome(scrub(m)),
    }
}

/// `@channelname` or a numeric id; settings may hold the id as a JSON number.
fn chat_id(account: &Account<'_>) -> Result<String, PublishError> {
    match account.channel.settings.get("chat_id") {
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => account.setting("chat_id").map(|s| s.trim().to_owned()),
    }
}

fn chat_value(chat: &str) -> Value {
    chat.parse::<i64>()
        .map_or_else(|_| json!(chat), Value::from)
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

/// The shared client's timeout suits small requests; a 50 MB video at a modest uplink needs longer.
fn upload_timeout(bytes: u64) -> Option<Duration> {
    const SMALL: u64 = 8 * 1_048_576;
    const BYTES_PER_SECOND: u64 = 512 * 1024;
    (bytes > SMALL).then(|| Duration::from_secs(60 + bytes / BYTES_PER_SECOND))
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

    #[test]
    fn a_token_never_survives_in_a_message() {
        let e = redacted(
            PublishError::Transient("failed: http://x/bot123:abc/sendMessage".into()),
            "123:abc",
        );
        assert!(!e.to_string().contains("123:abc"));
    }
}
