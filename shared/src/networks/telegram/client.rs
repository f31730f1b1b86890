//! Calls to Telegram's Bot API: the request with the token in its path, the `{ok, result}`
//! envelope, refusals in plain words, and the token scrubbed from every error.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use reqwest::multipart::Form;
use reqwest::{RequestBuilder, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{NETWORK, TelegramConnector};
use crate::domain::Secret;
use crate::networks::{Account, PublishError, call_failed, create_failed};
use crate::outbound::{CallError, JSON_ANSWER_LIMIT, read_text};

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
pub(super) struct Message {
    pub(super) message_id: i64,
}

pub(super) enum Payload {
    Json(Value),
    /// A multipart form carrying files of this many bytes in all.
    Form(Form, u64),
}

/// What a call is about, for wording its refusal (invalid media or invalid content) and for
/// whether a lost answer leaves its outcome unknown (only sending creates something).
pub(super) struct About<'a> {
    pub(super) chat: &'a str,
    pub(super) subject: Subject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Subject {
    Message,
    Media,
    /// Reading the channel's subscriber count: creates nothing.
    Subscribers,
    /// Reading the bot's updates (`getUpdates`, `getMe`): creates nothing.
    Updates,
    /// The brand's answer in a discussion group or a private chat.
    Reply,
    /// Deleting one of the bot's messages: creates nothing, so a lost answer is a plain retry.
    Delete,
}

impl Subject {
    /// Whether the call creates nothing, so that a lost answer leaves nothing unknown.
    fn reads(self) -> bool {
        matches!(self, Self::Subscribers | Self::Updates | Self::Delete)
    }
}

impl TelegramConnector {
    /// Calls a Bot API method that sends a message. Every error is scrubbed of the token.
    pub(super) async fn call(
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
        let reads = about.subject.reads();
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
pub(super) fn unreadable() -> PublishError {
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

pub(super) fn message_id(result: Value) -> Result<i64, PublishError> {
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
    let reads = about.subject.reads();
    let lower = description.to_lowercase();
    if let Some(refusal) = inbox_refusal(code, &description, &lower, about) {
        return refusal;
    }
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
        400 if about.subject == Subject::Subscribers => PublishError::Misconfigured(format!(
            "Telegram refused to count the subscribers of {chat} ({description}): check the channel's settings.chat_id"
        )),
        400 if about.subject == Subject::Updates => PublishError::Misconfigured(format!(
            "Telegram refused to hand over the bot's updates ({description})"
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
            "Telegram answered error {code} when asked {}: {description}",
            match about.subject {
                Subject::Updates => "for the bot's updates",
                Subject::Delete => "to delete a message",
                _ => "for the subscriber count",
            }
        )),
        _ => PublishError::InvalidContent(format!(
            "Telegram refused the message (error {code}): {description}"
        )),
    }
}

/// The refusals particular to reading updates, answering in a group and deleting, in the words
/// of what the brand was doing; `None` for those worded as publishing's.
fn inbox_refusal(
    code: u16,
    description: &str,
    lower: &str,
    about: &About<'_>,
) -> Option<PublishError> {
    let chat = about.chat;
    match (about.subject, code) {
        // Telegram's Bot API, getUpdates: "will not work if an outgoing webhook is set up"; two
        // pollers of one bot are refused with 409 as well (checked 2026-12-06,
        // https://core.telegram.org/bots/api#getupdates).
        (Subject::Updates, 409) if lower.contains("webhook") => {
            Some(PublishError::Misconfigured(format!(
                "Telegram will not hand the bot's updates to polling while a webhook is set for it ({description}): a bot uses either its webhook or getUpdates, never both; remove the webhook or let it deliver the updates"
            )))
        }
        (Subject::Updates, 409) => Some(PublishError::Misconfigured(format!(
            "another program is reading this bot's updates ({description}): a bot must serve one integration only; give Palinsesto a bot of its own"
        ))),
        (Subject::Reply | Subject::Delete, 403) => Some(PublishError::AuthExpired(format!(
            "Telegram does not let the bot write in the chat {chat} ({description}): it must stay a member of the channel's discussion group (an administrator, to see every comment), and a person who blocked it can no longer be answered"
        ))),
        (Subject::Reply, 400) if lower.contains("message to be replied not found") => {
            Some(PublishError::InvalidContent(format!(
                "the message to answer is no longer in the chat {chat} ({description}): it was deleted"
            )))
        }
        (Subject::Delete, 400) if lower.contains("can't be deleted") => {
            Some(PublishError::InvalidContent(format!(
                "Telegram no longer lets the bot delete this message ({description}): a bot may delete its messages in groups only for 48 hours"
            )))
        }
        (Subject::Delete, 400) => Some(PublishError::InvalidContent(format!(
            "Telegram refused to delete the message in the chat {chat}: {description}"
        ))),
        _ => None,
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
pub(super) fn chat_id(account: &Account<'_>) -> Result<String, PublishError> {
    match account.channel.settings.get("chat_id") {
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => account.setting("chat_id").map(|s| s.trim().to_owned()),
    }
}

pub(super) fn chat_value(chat: &str) -> Value {
    chat.parse::<i64>()
        .map_or_else(|_| json!(chat), Value::from)
}

/// The shared client's timeout suits small requests; a 50 MB video at a modest uplink needs longer.
fn upload_timeout(bytes: u64) -> Option<Duration> {
    const SMALL: u64 = 8 * 1_048_576;
    const BYTES_PER_SECOND: u64 = 512 * 1024;
    (bytes > SMALL).then(|| Duration::from_secs(60 + bytes / BYTES_PER_SECOND))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_never_survives_in_a_message() {
        let e = redacted(
            PublishError::Transient("failed: http://x/bot123:abc/sendMessage".into()),
            "123:abc",
        );
        assert!(!e.to_string().contains("123:abc"));
    }
}
