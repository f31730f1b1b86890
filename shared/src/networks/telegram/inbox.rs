//! What people say to the brand's Telegram bot (engagement.md, "Telegram"), read from its
//! updates with `getUpdates` and an `offset` cursor, or parsed from its webhook (`push`): comments
//! (messages in the channel's discussion group answering the channel's post), replies under
//! them and to the bot, mentions of the bot in a group, and private chats with the bot. What the
//! channel itself says in its discussion group (or an anonymous group admin) answering a message
//! counts as the brand's native reply. A message is `{chat id}:{message id}` whichever way it came.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use super::TelegramConnector;
use super::client::{About, Payload, Subject, chat_id};
use crate::domain::Secret;
use crate::domain::inbox::{
    Author, Incoming, InteractionKind, NativeReply, ReplyTarget, StreamKind,
};
use crate::networks::{Account, InboxRead, PublishError, ReadInbox};

/// The most updates one `getUpdates` gives.
const UPDATES_LIMIT: usize = 100;

/// The bot and the channel it serves, as far as they are known: a poll knows both (`getMe`, the
/// channel's settings); a webhook body names neither.
#[derive(Debug, Clone, Default)]
pub(super) struct Listener {
    pub(super) bot_id: Option<i64>,
    pub(super) bot_username: Option<String>,
    /// The channel's `chat_id` setting: `@name` or its numeric id.
    pub(super) channel: Option<String>,
}

/// What one update says.
pub(super) enum Heard {
    Found(Box<Incoming>),
    Native(NativeReply),
}

#[derive(Deserialize)]
struct Me {
    id: i64,
    username: Option<String>,
}

#[async_trait]
impl ReadInbox for TelegramConnector {
    fn streams(&self) -> &'static [StreamKind] {
        &[StreamKind::Messages]
    }

    async fn read(
        &self,
        account: &Account<'_>,
        stream: StreamKind,
        cursor: Option<&str>,
        _recent_posts: &[String],
    ) -> Result<InboxRead, PublishError> {
        // While the channel's webhook is set its updates come there (getUpdates would be 409).
        if stream != StreamKind::Messages || super::subscribe::webhook_is_set(account.channel) {
            return Ok(InboxRead::default());
        }
        let token = account.credential("bot_token")?;
        let channel = chat_id(account)?;
        let listener = self.listener(token, &channel).await?;
        self.updates(token, &listener, cursor).await
    }
}

impl TelegramConnector {
    /// The bot behind the token (`getMe`): who a mention or a reply to the bot names.
    async fn listener(&self, token: &Secret, channel: &str) -> Result<Listener, PublishError> {
        let about = About {
            chat: channel,
            subject: Subject::Updates,
        };
        let me = self
            .call(token, "getMe", Payload::Json(json!({})), &about)
            .await?;
        let me: Me = serde_json::from_value(me).map_err(|_| {
            PublishError::Transient("Telegram answered getMe without the bot's id".into())
        })?;
        Ok(Listener {
            bot_id: Some(me.id),
            bot_username: me.username,
            channel: Some(channel.to_owned()),
        })
    }

    /// One batch of updates after `cursor` (the next `offset`). Asking with an offset confirms
    /// every update before it, which Telegram then forgets: so a read takes one batch, and the
    /// next one is asked for only once the worker has stored this one's cursor (after recording
    /// what it found). A longer backlog is read by the next polls.
    async fn updates(
        &self,
        token: &Secret,
        listener: &Listener,
        cursor: Option<&str>,
    ) -> Result<InboxRead, PublishError> {
        let channel = listener.channel.clone().unwrap_or_default();
        let about = About {
            chat: &channel,
            subject: Subject::Updates,
        };
        let mut body = json!({
            "limit": UPDATES_LIMIT,
            "timeout": 0,
            "allowed_updates": ["message"],
        });
        if let Some(offset) = cursor.and_then(|c| c.parse::<i64>().ok()) {
            body["offset"] = json!(offset);
        }
        let result = self
            .call(token, "getUpdates", Payload::Json(body), &about)
            .await?;
        let updates = result.as_array().cloned().unwrap_or_default();
        let mut read = InboxRead::default();
        let mut next: Option<i64> = None;
        for update in &updates {
            if let Some(id) = update.get("update_id").and_then(Value::as_i64) {
                next = next.max(Some(id + 1));
            }
            match hear(update, listener) {
                Some(Heard::Found(found)) => read.found.push(*found),
                Some(Heard::Native(native)) => read.native.push(native),
                None => {}
            }
        }
        read.cursor = next.map(|n| n.to_string());
        Ok(read)
    }
}

/// `{chat id}:{message id}`: a message's id on Telegram, unique only within its chat.
pub(super) fn message_key(chat: i64, message: i64) -> String {
    format!("{chat}:{message}")
}

fn int(value: &Value, pointer: &str) -> Option<i64> {
    value.pointer(pointer).and_then(Value::as_i64)
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    value.pointer(pointer)?.as_str().map(str::to_owned)
}

/// What an update says to the brand, if anything: most group chatter is not for it.
pub(super) fn hear(update: &Value, listener: &Listener) -> Option<Heard> {
    let message = update.get("message")?;
    let chat = int(message, "/chat/id")?;
    let id = int(message, "/message_id")?;
    let chat_type = text(message, "/chat/type").unwrap_or_default();
    let reply = message.get("reply_to_message");
    let created_at = Timestamp::from_second(int(message, "/date")?).ok()?;
    if chat_type == "private" {
        if message.pointer("/from/is_bot").and_then(Value::as_bool) == Some(true) {
            return None;
        }
        return incoming(message, InteractionKind::DirectMessage, None, None);
    }
    if !matches!(chat_type.as_str(), "group" | "supergroup")
        || message.get("is_automatic_forward").and_then(Value::as_bool) == Some(true)
    {
        return None;
    }
    if speaks_for_brand(message, listener) {
        let parent = int(reply?, "/message_id")?;
        return Some(Heard::Native(NativeReply {
            external_id: message_key(chat, id),
            parent: message_key(chat, parent),
            created_at,
        }));
    }
    if message.get("sender_chat").is_none()
        && message.pointer("/from/is_bot").and_then(Value::as_bool) == Some(true)
    {
        return None;
    }
    if let Some(reply) = reply {
        let parent = int(reply, "/message_id")?;
        if reply.get("is_automatic_forward").and_then(Value::as_bool) == Some(true) {
            // A comment: it answers the channel's post, whose id in the channel is the one the
            // brand published under (forward_origin since Bot API 7.0, the older field before).
            let post = int(reply, "/forward_origin/message_id")
                .or_else(|| int(reply, "/forward_from_message_id"))
                .map(|p| p.to_string());
            return incoming(message, InteractionKind::Comment, post.clone(), post);
        }
        let to_bot = match listener.bot_id {
            Some(bot) => int(reply, "/from/id") == Some(bot),
            None => reply.pointer("/from/is_bot").and_then(Value::as_bool) == Some(true),
        };
        // A reply in a comment thread (its thread is a channel post's, not a forum topic's).
        let in_comments = message.get("message_thread_id").is_some()
            && message.get("is_topic_message").and_then(Value::as_bool) != Some(true);
        if to_bot || in_comments {
            return incoming(
                message,
                InteractionKind::Reply,
                Some(message_key(chat, parent)),
                None,
            );
        }
    }
    if mentions_bot(message, listener) {
        return incoming(message, InteractionKind::Mention, None, None);
    }
    None
}

/// Whether a group message is the brand's own: sent as the group itself (an anonymous
/// administrator) or as the channel (its admins answering from the channel). A webhook body
/// does not say which channel is the brand's: there, only a message sent as the channel whose
/// post it answers counts.
fn speaks_for_brand(message: &Value, listener: &Listener) -> bool {
    let Some(sender) = message.get("sender_chat") else {
        return false;
    };
    let sender_id = int(sender, "/id");
    if sender_id.is_some() && sender_id == int(message, "/chat/id") {
        return true;
    }
    match &listener.channel {
        Some(channel) => {
            sender_id.is_some_and(|id| id.to_string() == *channel)
                || text(sender, "/username").is_some_and(|u| {
                    channel
                        .strip_prefix('@')
                        .is_some_and(|c| c.eq_ignore_ascii_case(&u))
                })
        }
        None => message.get("reply_to_message").is_some_and(|reply| {
            reply.get("is_automatic_forward").and_then(Value::as_bool) == Some(true)
                && int(reply, "/sender_chat/id") == sender_id
        }),
    }
}

/// Whether the message names the bot: `@username`, or a mention of its account by name. A
/// webhook body does not say which bot received it: there, any bot's username (they end in
/// "bot") counts, since a group the bot sees rarely names another.
fn mentions_bot(message: &Value, listener: &Listener) -> bool {
    let body = text(message, "/text")
        .or_else(|| text(message, "/caption"))
        .unwrap_or_default();
    let entities = message
        .get("entities")
        .or_else(|| message.get("caption_entities"))
        .and_then(Value::as_array);
    entities
        .into_iter()
        .flatten()
        .any(|e| match e.get("type").and_then(Value::as_str) {
            Some("mention") => {
                let named = utf16_slice(&body, e).unwrap_or_default();
                let named = named.trim_start_matches('@');
                match &listener.bot_username {
                    Some(bot) => named.eq_ignore_ascii_case(bot),
                    None => named.to_ascii_lowercase().ends_with("bot"),
                }
            }
            Some("text_mention") => match listener.bot_id {
                Some(bot) => int(e, "/user/id") == Some(bot),
                None => e.pointer("/user/is_bot").and_then(Value::as_bool) == Some(true),
            },
            _ => false,
        })
}

/// The text an entity covers: Telegram counts its `offset` and `length` in UTF-16 code units.
fn utf16_slice(body: &str, entity: &Value) -> Option<String> {
    let offset = usize::try_from(int(entity, "/offset")?).ok()?;
    let length = usize::try_from(int(entity, "/length")?).ok()?;
    let units: Vec<u16> = body.encode_utf16().collect();
    let part = units.get(offset..offset.checked_add(length)?)?;
    String::from_utf16(part).ok()
}

/// A message from a person as an interaction of `kind`.
fn incoming(
    message: &Value,
    kind: InteractionKind,
    parent: Option<String>,
    root: Option<String>,
) -> Option<Heard> {
    let chat = int(message, "/chat/id")?;
    let id = int(message, "/message_id")?;
    let author = match message.get("sender_chat") {
        Some(sender) => Author {
            id: int(sender, "/id")?.to_string(),
            handle: text(sender, "/username").map_or_else(
                || int(sender, "/id").unwrap_or_default().to_string(),
                |u| format!("@{u}"),
            ),
            name: text(sender, "/title").unwrap_or_default(),
            followers: None,
        },
        None => {
            let from = message.get("from")?;
            let user_id = int(from, "/id")?.to_string();
            let name = [text(from, "/first_name"), text(from, "/last_name")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            Author {
                handle: text(from, "/username")
                    .map_or_else(|| user_id.clone(), |u| format!("@{u}")),
                name: if name.is_empty() {
                    user_id.clone()
                } else {
                    name
                },
                id: user_id,
                followers: None,
            }
        }
    };
    Some(Heard::Found(Box::new(Incoming {
        external_id: message_key(chat, id),
        kind,
        permalink: permalink(message, chat, id),
        parent,
        root,
        author,
        text: text(message, "/text")
            .or_else(|| text(message, "/caption"))
            .unwrap_or_default(),
        raw: message.clone(),
        target: ReplyTarget {
            id: id.to_string(),
            cid: None,
            root_id: None,
            root_cid: None,
            visibility: None,
            chat: Some(chat.to_string()),
        },
        created_at: Timestamp::from_second(int(message, "/date")?).ok()?,
    })))
}

/// A link to the message: public groups by name; a supergroup's for its members only (the
/// `t.me/c/` form drops the `-100` of its id); private chats have none.
fn permalink(message: &Value, chat: i64, id: i64) -> Option<String> {
    // A private chat's `username` is the person's, not a place anyone can open.
    if text(message, "/chat/type").as_deref() == Some("private") {
        return None;
    }
    if let Some(name) = text(message, "/chat/username") {
        return Some(format!("https://t.me/{name}/{id}"));
    }
    let internal = chat.to_string().strip_prefix("-100")?.to_owned();
    Some(format!("https://t.me/c/{internal}/{id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener() -> Listener {
        Listener {
            bot_id: Some(7),
            bot_username: Some("acme_bot".into()),
            channel: Some("@acme".into()),
        }
    }

    #[test]
    fn a_comment_answers_the_channel_post_it_was_forwarded_from() {
        let update = json!({"update_id": 1, "message": {
            "message_id": 55, "date": 1_800_000_000,
            "chat": {"id": -1001234, "type": "supergroup", "title": "Acme chat"},
            "from": {"id": 42, "is_bot": false, "first_name": "Ada", "username": "ada"},
            "message_thread_id": 50,
            "reply_to_message": {"message_id": 50, "date": 1_799_999_000, "is_automatic_forward": true,
                "chat": {"id": -1001234, "type": "supergroup"},
                "sender_chat": {"id": -1009, "type": "channel", "username": "acme"},
                "forward_origin": {"type": "channel", "chat": {"id": -1009, "type": "channel"}, "message_id": 12, "date": 1}},
            "text": "Lovely!"
        }});
        let Some(Heard::Found(found)) = hear(&update, &listener()) else {
            panic!("a comment")
        };
        assert_eq!(found.kind, InteractionKind::Comment);
        assert_eq!(found.external_id, "-1001234:55");
        assert_eq!(found.root.as_deref(), Some("12"));
        assert_eq!(found.target.chat.as_deref(), Some("-1001234"));
        assert_eq!(found.permalink.as_deref(), Some("https://t.me/c/1234/55"));
        assert_eq!(found.author.handle, "@ada");
    }

    #[test]
    fn mentions_count_only_for_this_bot_and_offsets_are_utf16() {
        let message = |text: &str, offset: usize| {
            json!({"update_id": 2, "message": {
                "message_id": 9, "date": 1_800_000_000,
                "chat": {"id": -5, "type": "group"},
                "from": {"id": 42, "is_bot": false, "first_name": "Ada"},
                "text": text,
                "entities": [{"type": "mention", "offset": offset, "length": 9}]
            }})
        };
        // "😀 " is 3 UTF-16 units
        let hit = hear(&message("😀 @acme_bot hi", 3), &listener());
        assert!(matches!(hit, Some(Heard::Found(f)) if f.kind == InteractionKind::Mention));
        assert!(hear(&message("😀 @other_bo hi", 3), &listener()).is_none());
    }
}
