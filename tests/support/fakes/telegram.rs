//! A fake Telegram Bot API: `/bot<token>/<method>` for sendMessage, sendPhoto, sendVideo,
//! sendAnimation and sendMediaGroup (JSON or multipart), channels the bot may or may not post in,
//! and the Bot API's `{"ok": false, "error_code", "description", "parameters"}` refusals.
//! `getChatMemberCount` reports each channel's subscribers, which a test can change.
//!
//! The bot's updates: the public channel has a linked discussion group ([`DISCUSSION_GROUP_ID`])
//! where each channel post is automatically forwarded; people comment there, answer, mention the
//! bot, or write to it privately, and each becomes a `message` update. `getUpdates` answers the
//! updates from `offset` on and forgets those before it (confirmed), and answers 409 while a
//! webhook is set (`setWebhook` records its url and `secret_token`, `deleteWebhook` clears it).
//! `deleteMessage` deletes the bot's own messages.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::mastodon::{FormPart, form_parts};
use super::{FakeServer, Faults};

/// The bot token the fake accepts.
pub const TOKEN: &str = "7000000001:AAH-test-token-that-must-stay-secret";
/// A public channel (it has a username, so its posts have t.me links).
pub const PUBLIC_CHANNEL: &str = "@palinsesto_test";
pub const PUBLIC_CHANNEL_ID: i64 = -1_001_000_000_001;
/// A private channel, known only by its numeric id.
pub const PRIVATE_CHANNEL: &str = "-1001000000002";
/// The public channel's discussion group (its `linked_chat_id`).
pub const DISCUSSION_GROUP_ID: i64 = -1_001_000_000_003;
/// The bot behind [`TOKEN`].
pub const BOT_ID: i64 = 7_000_000_001;
pub const BOT_USERNAME: &str = "palinsesto_bot";

const MAX_TEXT: usize = 4096;
const MAX_CAPTION: usize = 1024;
const MAX_PHOTO_BYTES: usize = 10_000_000;
const MAX_FILE_BYTES: usize = 50_000_000;

/// What the bot may do in a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotAccess {
    Admin,
    /// A member without the right to post: Telegram answers 400 "need administrator rights".
    Member,
    /// Removed from the channel: Telegram answers 403 "bot is not a member".
    Removed,
}

struct Chat {
    id: i64,
    username: Option<String>,
    title: String,
    access: BotAccess,
    members: u64,
    /// channel, supergroup or private
    kind: &'static str,
    /// A channel's discussion group.
    linked: Option<i64>,
}

/// A message as the fake stored it.
#[derive(Debug, Clone)]
pub struct FakeMessage {
    pub chat_id: i64,
    pub message_id: i64,
    /// text, photo, video or animation
    pub kind: String,
    /// The text of a text message, the caption of a media message.
    pub text: Option<String>,
    pub reply_to: Option<i64>,
    pub file_name: Option<String>,
    pub file_size: usize,
    pub media_group_id: Option<String>,
    /// The person who wrote it; `None` for the bot (or the channel).
    pub from: Option<i64>,
    /// Sent on behalf of the public channel (its admins answering in the group).
    pub as_channel: bool,
    /// The channel post it is the automatic forward of, in the discussion group.
    pub forward_of: Option<i64>,
    /// The comment thread it is in (the automatic forward's id in the group).
    pub thread: Option<i64>,
    pub date: i64,
}

struct Telegram {
    chats: Vec<Chat>,
    messages: Vec<FakeMessage>,
    next_message_id: i64,
    requests: HashMap<String, usize>,
    /// The next sending request is refused with 429 and this `retry_after`.
    flood_wait: Option<u64>,
    /// Unconfirmed updates, oldest first.
    updates: Vec<(i64, Value)>,
    next_update_id: i64,
    /// The webhook's url and secret token, while one is set.
    webhook: Option<(String, Option<String>)>,
    /// People by id: first name and username.
    people: HashMap<i64, (String, String)>,
}

type Shared = Arc<Mutex<Telegram>>;

pub struct FakeTelegram {
    pub server: FakeServer,
    state: Shared,
}

impl FakeTelegram {
    pub async fn start() -> Self {
        let state: Shared = Arc::new(Mutex::new(Telegram {
            chats: vec![
                Chat {
                    id: PUBLIC_CHANNEL_ID,
                    username: Some(PUBLIC_CHANNEL.trim_start_matches('@').to_owned()),
                    title: "Palinsesto test".into(),
                    access: BotAccess::Admin,
                    members: 250,
                    kind: "channel",
                    linked: Some(DISCUSSION_GROUP_ID),
                },
                Chat {
                    id: PRIVATE_CHANNEL.parse().unwrap(),
                    username: None,
                    title: "Palinsesto private".into(),
                    access: BotAccess::Admin,
                    members: 40,
                    kind: "channel",
                    linked: None,
                },
                Chat {
                    id: DISCUSSION_GROUP_ID,
                    username: None,
                    title: "Palinsesto test chat".into(),
                    access: BotAccess::Admin,
                    members: 120,
                    kind: "supergroup",
                    linked: None,
                },
            ],
            messages: Vec::new(),
            next_message_id: 100,
            requests: HashMap::new(),
            flood_wait: None,
            updates: Vec::new(),
            next_update_id: 500_000,
            webhook: None,
            people: HashMap::new(),
        }));
        let router = Router::new()
            .route("/{bot}/{method}", post(dispatch).get(dispatch))
            .with_state(state.clone());
        let server = FakeServer::start(router).await;
        Self { server, state }
    }

    /// The Bot API base (the connector's `api_base`).
    pub fn base(&self) -> &str {
        &self.server.base
    }

    pub fn faults(&self) -> &Faults {
        &self.server.faults
    }

    /// The path prefix of a method, for injecting faults: `/bot<token>/<method>`.
    pub fn path(method: &str) -> String {
        format!("/bot{TOKEN}/{method}")
    }

    pub fn settings(chat: &str) -> Value {
        json!({"chat_id": chat})
    }

    pub fn credentials() -> Value {
        json!({"bot_token": TOKEN})
    }

    /// Every message, in the order they were sent (not the automatic forwards of channel posts
    /// to the discussion group: see [`FakeTelegram::forward_of`]).
    pub fn messages(&self) -> Vec<FakeMessage> {
        let t = self.state.lock().unwrap();
        t.messages
            .iter()
            .filter(|m| m.forward_of.is_none())
            .cloned()
            .collect()
    }

    /// Messages whose text (or caption) is exactly `text`.
    pub fn count_messages_with_text(&self, text: &str) -> usize {
        self.messages()
            .iter()
            .filter(|m| m.text.as_deref() == Some(text))
            .count()
    }

    /// Requests received for a method, whatever their answer.
    pub fn requests(&self, method: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .requests
            .get(method)
            .copied()
            .unwrap_or(0)
    }

    pub fn set_bot_access(&self, chat: &str, access: BotAccess) {
        let mut t = self.state.lock().unwrap();
        if let Some(i) = t.find_chat(chat) {
            t.chats[i].access = access;
        }
    }

    /// The channel's subscriber count, as `getChatMemberCount` reports it (the public channel
    /// starts with 250, the private one with 40).
    pub fn set_subscribers(&self, chat: &str, members: u64) {
        let mut t = self.state.lock().unwrap();
        if let Some(i) = t.find_chat(chat) {
            t.chats[i].members = members;
        }
    }

    /// The next message the bot sends is refused with Telegram's flood-control 429.
    pub fn flood_wait(&self, retry_after: u64) {
        self.state.lock().unwrap().flood_wait = Some(retry_after);
    }

    /// A person who can write in the discussion group and to the bot (their private chat).
    pub fn add_person(&self, id: i64, first_name: &str, username: &str) {
        let mut t = self.state.lock().unwrap();
        t.people
            .insert(id, (first_name.to_owned(), username.to_owned()));
        if t.find_chat(&id.to_string()).is_none() {
            t.chats.push(Chat {
                id,
                username: Some(username.to_owned()),
                title: first_name.to_owned(),
                access: BotAccess::Admin,
                members: 2,
                kind: "private",
                linked: None,
            });
        }
    }

    /// The automatic forward of the public channel's post `post` in the discussion group.
    pub fn forward_of(&self, post: i64) -> Option<i64> {
        let t = self.state.lock().unwrap();
        t.messages
            .iter()
            .find(|m| m.forward_of == Some(post))
            .map(|m| m.message_id)
    }

    /// `person` comments on the public channel's post `post`; returns `{chat}:{message}`.
    pub fn comment(&self, person: i64, post: i64, text: &str) -> String {
        let forward = self
            .forward_of(post)
            .expect("the post was forwarded to the group");
        self.write(
            person,
            DISCUSSION_GROUP_ID,
            Some(forward),
            Some(forward),
            text,
            false,
        )
    }

    /// `person` answers `message` in the discussion group (a comment, or the bot's answer).
    pub fn reply_in_group(&self, person: i64, message: i64, text: &str) -> String {
        let thread = {
            let t = self.state.lock().unwrap();
            t.messages
                .iter()
                .find(|m| m.chat_id == DISCUSSION_GROUP_ID && m.message_id == message)
                .and_then(|m| m.thread)
        };
        self.write(
            person,
            DISCUSSION_GROUP_ID,
            Some(message),
            thread,
            text,
            false,
        )
    }

    /// `person` writes in the discussion group, not answering anything (`text` may name the bot).
    pub fn say_in_group(&self, person: i64, text: &str) -> String {
        self.write(person, DISCUSSION_GROUP_ID, None, None, text, false)
    }

    /// `person` writes to the bot in private.
    pub fn direct_message(&self, person: i64, text: &str) -> String {
        self.write(person, person, None, None, text, false)
    }

    /// The channel's admins answer `message` in the discussion group, as the channel.
    pub fn channel_answers(&self, message: i64, text: &str) -> String {
        self.write(0, DISCUSSION_GROUP_ID, Some(message), None, text, true)
    }

    fn write(
        &self,
        person: i64,
        chat: i64,
        reply_to: Option<i64>,
        thread: Option<i64>,
        text: &str,
        as_channel: bool,
    ) -> String {
        let mut t = self.state.lock().unwrap();
        t.next_message_id += 1;
        let message = FakeMessage {
            chat_id: chat,
            message_id: t.next_message_id,
            kind: "text".into(),
            text: Some(text.to_owned()),
            reply_to,
            file_name: None,
            file_size: 0,
            media_group_id: None,
            from: (!as_channel).then_some(person),
            as_channel,
            forward_of: None,
            thread,
            date: jiff::Timestamp::now().as_second(),
        };
        let key = format!("{chat}:{}", message.message_id);
        t.messages.push(message.clone());
        t.next_update_id += 1;
        let update = json!({"update_id": t.next_update_id, "message": t.full_json(&message, true)});
        let id = t.next_update_id;
        t.updates.push((id, update));
        key
    }

    /// The bot's messages answering `message` in `chat` (each should be there once).
    pub fn bot_replies_to(&self, chat: i64, message: i64) -> Vec<FakeMessage> {
        self.messages()
            .into_iter()
            .filter(|m| {
                m.chat_id == chat
                    && m.reply_to == Some(message)
                    && m.from.is_none()
                    && !m.as_channel
                    && m.forward_of.is_none()
            })
            .collect()
    }

    /// Whether the message `{chat}:{message}` is still there.
    pub fn has_message(&self, chat: i64, message: i64) -> bool {
        self.messages()
            .iter()
            .any(|m| m.chat_id == chat && m.message_id == message)
    }

    /// The update that carried the message `key` (`{chat}:{message}`), as a webhook delivers it.
    pub fn update_of(&self, key: &str) -> Value {
        let t = self.state.lock().unwrap();
        let (chat, id) = key.split_once(':').expect("{chat}:{message}");
        let m = t
            .messages
            .iter()
            .find(|m| m.chat_id.to_string() == chat && m.message_id.to_string() == id)
            .expect("a message");
        json!({"update_id": 1, "message": t.full_json(m, true)})
    }

    /// The webhook set for the bot: its url and secret token.
    pub fn webhook(&self) -> Option<(String, Option<String>)> {
        self.state.lock().unwrap().webhook.clone()
    }

    /// The body and `X-Telegram-Bot-Api-Secret-Token` header a webhook delivery of `key` carries
    /// (the header only when the webhook was set with a secret token).
    pub fn webhook_delivery(&self, key: &str) -> (Vec<u8>, Option<(&'static str, String)>) {
        let body = serde_json::to_vec(&self.update_of(key)).unwrap();
        let header = self
            .webhook()
            .and_then(|(_, secret)| secret)
            .map(|secret| ("X-Telegram-Bot-Api-Secret-Token", secret));
        (body, header)
    }

    /// Updates Telegram still keeps for the bot (not yet confirmed).
    pub fn pending_updates(&self) -> usize {
        self.state.lock().unwrap().updates.len()
    }

    /// The next `sendMessage` is made, but its answer never arrives.
    pub fn lose_next_message_answer(&self) {
        self.server.faults.inject(
            axum::http::Method::POST,
            &Self::path("sendMessage"),
            1,
            super::Fault::DropAfterReceive,
        );
    }
}

impl Telegram {
    fn find_chat(&self, chat_id: &str) -> Option<usize> {
        self.chats.iter().position(|c| {
            c.id.to_string() == chat_id
                || c.username.as_deref().map(|u| format!("@{u}")).as_deref() == Some(chat_id)
        })
    }

    fn chat_json(&self, chat: usize) -> Value {
        let c = &self.chats[chat];
        let mut json = if c.kind == "private" {
            json!({"id": c.id, "type": "private", "first_name": c.title})
        } else {
            json!({"id": c.id, "type": c.kind, "title": c.title})
        };
        if let Some(username) = &c.username {
            json["username"] = json!(username);
        }
        json
    }

    fn chat_json_of(&self, id: i64) -> Value {
        self.find_chat(&id.to_string())
            .map_or_else(|| json!({"id": id}), |i| self.chat_json(i))
    }

    /// A message as an update shows it: who wrote it, and (one level deep) what it answers.
    fn full_json(&self, m: &FakeMessage, with_reply: bool) -> Value {
        let mut json = json!({
            "message_id": m.message_id,
            "date": m.date,
            "chat": self.chat_json_of(m.chat_id),
        });
        if let Some(text) = &m.text {
            json["text"] = json!(text);
            let entities: Vec<Value> = mention_entities(text);
            if !entities.is_empty() {
                json["entities"] = json!(entities);
            }
        }
        match (m.from, m.as_channel || m.forward_of.is_some()) {
            (_, true) => {
                json["sender_chat"] = self.chat_json_of(PUBLIC_CHANNEL_ID);
                json["from"] = json!({"id": 136_817_688, "is_bot": true, "first_name": "Channel", "username": "Channel_Bot"});
            }
            (Some(person), false) => {
                let (name, username) = self.people.get(&person).cloned().unwrap_or_default();
                json["from"] = json!({"id": person, "is_bot": false, "first_name": name, "username": username});
            }
            (None, false) => {
                json["from"] = json!({"id": BOT_ID, "is_bot": true, "first_name": "Palinsesto", "username": BOT_USERNAME});
            }
        }
        if let Some(post) = m.forward_of {
            json["is_automatic_forward"] = json!(true);
            json["forward_origin"] = json!({"type": "channel", "chat": self.chat_json_of(PUBLIC_CHANNEL_ID),
                "message_id": post, "date": m.date});
            json["forward_from_chat"] = self.chat_json_of(PUBLIC_CHANNEL_ID);
            json["forward_from_message_id"] = json!(post);
        }
        if let Some(thread) = m.thread {
            json["message_thread_id"] = json!(thread);
        }
        if with_reply
            && let Some(parent) = m.reply_to
            && let Some(p) = self
                .messages
                .iter()
                .find(|p| p.chat_id == m.chat_id && p.message_id == parent)
        {
            json["reply_to_message"] = self.full_json(p, false);
        }
        json
    }

    fn message_json(&self, chat: usize, m: &FakeMessage) -> Value {
        let mut json = json!({
            "message_id": m.message_id,
            "date": jiff::Timestamp::now().as_second(),
            "chat": self.chat_json(chat),
            "sender_chat": self.chat_json(chat),
        });
        let file = json!({
            "file_id": format!("file-{}", m.message_id),
            "file_unique_id": format!("u{}", m.message_id),
            "file_size": m.file_size,
        });
        match m.kind.as_str() {
            "text" => json["text"] = json!(m.text),
            "photo" => json["photo"] = json!([file]),
            kind => json[kind] = file,
        }
        if m.kind != "text"
            && let Some(caption) = &m.text
        {
            json["caption"] = json!(caption);
        }
        if let Some(group) = &m.media_group_id {
            json["media_group_id"] = json!(group);
        }
        if let Some(parent) = m.reply_to {
            json["reply_to_message"] = json!({"message_id": parent, "chat": self.chat_json(chat)});
        }
        json
    }
}

/// A Bot API refusal: `{"ok": false, "error_code", "description", "parameters"?}`.
struct Refusal {
    code: u16,
    description: String,
    parameters: Option<Value>,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut body =
            json!({"ok": false, "error_code": self.code, "description": self.description});
        if let Some(parameters) = self.parameters {
            body["parameters"] = parameters;
        }
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::BAD_REQUEST);
        (status, Json(body)).into_response()
    }
}

fn refusal(code: u16, description: &str) -> Refusal {
    Refusal {
        code,
        description: description.to_owned(),
        parameters: None,
    }
}

fn ok(result: Value) -> Response {
    Json(json!({"ok": true, "result": result})).into_response()
}

/// A request's fields, from JSON or multipart: text values and uploaded files.
struct Fields {
    values: Map<String, Value>,
    files: Vec<FormPart>,
}

impl Fields {
    fn parse(headers: &HeaderMap, body: &[u8]) -> Self {
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if content_type.starts_with("multipart/form-data") {
            let parts = form_parts(content_type, body).unwrap_or_default();
            let (files, texts): (Vec<_>, Vec<_>) =
                parts.into_iter().partition(|p| p.file_name.is_some());
            let values = texts
                .into_iter()
                .map(|p| {
                    (
                        p.name,
                        Value::String(String::from_utf8_lossy(&p.data).into_owned()),
                    )
                })
                .collect();
            Self { values, files }
        } else {
            let values = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v.as_object().cloned())
                .unwrap_or_default();
            Self {
                values,
                files: Vec::new(),
            }
        }
    }

    fn text(&self, name: &str) -> Option<String> {
        match self.values.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// A JSON-valued field: an object in a JSON body, a JSON string in a multipart one.
    fn json(&self, name: &str) -> Option<Value> {
        match self.values.get(name)? {
            Value::String(s) => serde_json::from_str(s).ok(),
            other => Some(other.clone()),
        }
    }

    fn file(&self, name: &str) -> Option<&FormPart> {
        self.files.iter().find(|f| f.name == name)
    }
}

async fn dispatch(
    State(state): State<Shared>,
    Path((bot, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut t = state.lock().unwrap();
    *t.requests.entry(method.clone()).or_default() += 1;
    let Some(token) = bot.strip_prefix("bot") else {
        return refusal(404, "Not Found").into_response();
    };
    if token != TOKEN {
        return refusal(401, "Unauthorized").into_response();
    }
    let fields = Fields::parse(&headers, &body);
    if method == "getMe" {
        return ok(json!({"id": 7_000_000_001_i64, "is_bot": true, "username": "palinsesto_bot"}));
    }
    if method == "getChatMemberCount" {
        return member_count(&t, &fields);
    }
    if method == "getChatMember" {
        return bot_membership(&t, &fields);
    }
    match method.as_str() {
        "getUpdates" => return get_updates(&mut t, &fields),
        "setWebhook" => {
            let Some(url) = fields.text("url") else {
                return refusal(
                    400,
                    "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
                )
                .into_response();
            };
            t.webhook = Some((url, fields.text("secret_token")));
            return Json(json!({"ok": true, "result": true, "description": "Webhook was set"}))
                .into_response();
        }
        "deleteWebhook" => {
            t.webhook = None;
            return Json(json!({"ok": true, "result": true, "description": "Webhook was deleted"}))
                .into_response();
        }
        "deleteMessage" => return delete_message(&mut t, &fields),
        _ => {}
    }
    if ![
        "sendMessage",
        "sendPhoto",
        "sendVideo",
        "sendAnimation",
        "sendMediaGroup",
    ]
    .contains(&method.as_str())
    {
        return refusal(404, "Not Found").into_response();
    }

    let Some(chat_id) = fields.text("chat_id") else {
        return refusal(400, "Bad Request: chat_id is empty").into_response();
    };
    let Some(chat) = t.find_chat(&chat_id) else {
        return refusal(400, "Bad Request: chat not found").into_response();
    };
    match t.chats[chat].access {
        BotAccess::Admin => {}
        BotAccess::Member => {
            return refusal(
                400,
                "Bad Request: need administrator rights in the channel chat",
            )
            .into_response();
        }
        BotAccess::Removed => {
            return refusal(403, "Forbidden: bot is not a member of the channel chat")
                .into_response();
        }
    }
    if let Some(retry_after) = t.flood_wait.take() {
        return Refusal {
            code: 429,
            description: format!("Too Many Requests: retry after {retry_after}"),
            parameters: Some(json!({"retry_after": retry_after})),
        }
        .into_response();
    }
    let reply_to = fields
        .json("reply_parameters")
        .and_then(|r| r["message_id"].as_i64())
        .or_else(|| fields.text("reply_to_message_id")?.parse().ok());
    let chat_numeric = t.chats[chat].id;
    if let Some(parent) = reply_to
        && !t
            .messages
            .iter()
            .any(|m| m.chat_id == chat_numeric && m.message_id == parent)
    {
        return refusal(400, "Bad Request: message to be replied not found").into_response();
    }

    let new = match method.as_str() {
        "sendMessage" => text_message(&fields),
        "sendPhoto" => single_media(&fields, "photo"),
        "sendVideo" => single_media(&fields, "video"),
        "sendAnimation" => single_media(&fields, "animation"),
        _ => album(&fields),
    };
    let new = match new {
        Ok(new) => new,
        Err(refused) => return refused.into_response(),
    };
    let group = (method == "sendMediaGroup").then(|| format!("g{}", t.next_message_id));
    let mut sent = Vec::new();
    for (kind, text, file) in new {
        t.next_message_id += 1;
        let message = FakeMessage {
            chat_id: chat_numeric,
            message_id: t.next_message_id,
            kind,
            text,
            reply_to,
            file_name: file.as_ref().and_then(|f| f.file_name.clone()),
            file_size: file.as_ref().map_or(0, |f| f.data.len()),
            media_group_id: group.clone(),
            from: None,
            as_channel: false,
            forward_of: None,
            thread: None,
            date: jiff::Timestamp::now().as_second(),
        };
        sent.push(t.message_json(chat, &message));
        // A channel post is forwarded to its discussion group, where people comment on it.
        if let Some(group) = t.chats[chat].linked {
            t.next_message_id += 1;
            let forward = FakeMessage {
                chat_id: group,
                message_id: t.next_message_id,
                forward_of: Some(message.message_id),
                reply_to: None,
                media_group_id: None,
                ..message.clone()
            };
            t.messages.push(forward);
        }
        t.messages.push(message);
    }
    if method == "sendMediaGroup" {
        ok(Value::Array(sent))
    } else {
        ok(sent.pop().unwrap_or(Value::Null))
    }
}

/// `getUpdates`: the updates from `offset` on; those before it are confirmed and forgotten.
/// While a webhook is set, 409 as Telegram answers.
fn get_updates(t: &mut Telegram, fields: &Fields) -> Response {
    if t.webhook.is_some() {
        return refusal(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
        )
        .into_response();
    }
    if let Some(offset) = fields.text("offset").and_then(|o| o.parse::<i64>().ok()) {
        t.updates.retain(|(id, _)| *id >= offset);
    }
    let limit: usize = fields
        .text("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100)
        .clamp(1, 100);
    let updates: Vec<Value> = t
        .updates
        .iter()
        .take(limit)
        .map(|(_, u)| u.clone())
        .collect();
    ok(Value::Array(updates))
}

/// `deleteMessage`: the bot's own messages (and the channel's) only.
fn delete_message(t: &mut Telegram, fields: &Fields) -> Response {
    let (Some(chat), Some(id)) = (
        fields.text("chat_id").and_then(|c| c.parse::<i64>().ok()),
        fields
            .text("message_id")
            .and_then(|m| m.parse::<i64>().ok()),
    ) else {
        return refusal(400, "Bad Request: message identifier is not specified").into_response();
    };
    let Some(i) = t
        .messages
        .iter()
        .position(|m| m.chat_id == chat && m.message_id == id)
    else {
        return refusal(400, "Bad Request: message to delete not found").into_response();
    };
    if t.messages[i].from.is_some() {
        return refusal(400, "Bad Request: message can't be deleted").into_response();
    }
    t.messages.remove(i);
    ok(json!(true))
}

/// `mention` entities for the `@names` of a text, offsets in UTF-16 code units.
fn mention_entities(text: &str) -> Vec<Value> {
    let mut entities = Vec::new();
    let mut offset = 0;
    for word in text.split(' ') {
        let name = word.trim_end_matches(|c: char| !(c.is_alphanumeric() || c == '_'));
        if name.starts_with('@') && name.len() > 1 {
            entities.push(
                json!({"type": "mention", "offset": offset, "length": name.encode_utf16().count()}),
            );
        }
        offset += word.encode_utf16().count() + 1;
    }
    entities
}

/// A channel's subscribers: any member bot may ask, a removed one is refused.
fn member_count(t: &Telegram, fields: &Fields) -> Response {
    let Some(chat_id) = fields.text("chat_id") else {
        return refusal(400, "Bad Request: chat_id is empty").into_response();
    };
    let Some(chat) = t.find_chat(&chat_id) else {
        return refusal(400, "Bad Request: chat not found").into_response();
    };
    match t.chats[chat].access {
        BotAccess::Removed => {
            refusal(403, "Forbidden: bot is not a member of the channel chat").into_response()
        }
        BotAccess::Admin | BotAccess::Member => ok(json!(t.chats[chat].members)),
    }
}

/// `getChatMember` for the bot itself: its status in the chat, as the Bot API words it.
fn bot_membership(t: &Telegram, fields: &Fields) -> Response {
    let Some(chat_id) = fields.text("chat_id") else {
        return refusal(400, "Bad Request: chat_id is empty").into_response();
    };
    let Some(chat) = t.find_chat(&chat_id) else {
        return refusal(400, "Bad Request: chat not found").into_response();
    };
    if fields.text("user_id").as_deref() != Some("7000000001") {
        return refusal(400, "Bad Request: user not found").into_response();
    }
    let status = match t.chats[chat].access {
        BotAccess::Admin => "administrator",
        BotAccess::Member => "member",
        BotAccess::Removed => "left",
    };
    ok(json!({
        "status": status,
        "user": {"id": 7_000_000_001_i64, "is_bot": true, "username": "palinsesto_bot"},
    }))
}

type NewMessage = (String, Option<String>, Option<FormPart>);

fn text_message(fields: &Fields) -> Result<Vec<NewMessage>, Refusal> {
    let text = fields.text("text").unwrap_or_default();
    if text.trim().is_empty() {
        return Err(refusal(400, "Bad Request: message text is empty"));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(refusal(400, "Bad Request: message is too long"));
    }
    Ok(vec![("text".into(), Some(text), None)])
}

fn caption(fields: &Fields) -> Result<Option<String>, Refusal> {
    let caption = fields.text("caption").filter(|c| !c.is_empty());
    if caption
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_CAPTION)
    {
        return Err(refusal(400, "Bad Request: message caption is too long"));
    }
    Ok(caption)
}

fn check_file(kind: &str, file: &FormPart) -> Result<(), Refusal> {
    let content_type = file.content_type.as_deref().unwrap_or("");
    let fits = match kind {
        "photo" => content_type.starts_with("image/"),
        "video" => content_type.starts_with("video/"),
        _ => content_type == "image/gif" || content_type.starts_with("video/"),
    };
    if !fits {
        return Err(refusal(400, "Bad Request: IMAGE_PROCESS_FAILED"));
    }
    let limit = if kind == "photo" {
        MAX_PHOTO_BYTES
    } else {
        MAX_FILE_BYTES
    };
    if file.data.len() > limit {
        return Err(refusal(413, "Request Entity Too Large"));
    }
    Ok(())
}

fn single_media(fields: &Fields, kind: &str) -> Result<Vec<NewMessage>, Refusal> {
    let Some(file) = fields.file(kind) else {
        return Err(refusal(
            400,
            &format!("Bad Request: there is no {kind} in the request"),
        ));
    };
    check_file(kind, file)?;
    let caption = caption(fields)?;
    Ok(vec![(kind.to_owned(), caption, Some(file.clone()))])
}

fn album(fields: &Fields) -> Result<Vec<NewMessage>, Refusal> {
    let Some(Value::Array(items)) = fields.json("media") else {
        return Err(refusal(400, "Bad Request: media is empty"));
    };
    if items.len() < 2 || items.len() > 10 {
        return Err(refusal(400, "Bad Request: media must include 2-10 items"));
    }
    let mut new = Vec::new();
    for item in &items {
        let kind = item["type"].as_str().unwrap_or("");
        if kind != "photo" && kind != "video" {
            return Err(refusal(400, "Bad Request: unsupported media type in album"));
        }
        let Some(file) = item["media"]
            .as_str()
            .and_then(|m| m.strip_prefix("attach://"))
            .and_then(|name| fields.file(name))
        else {
            return Err(refusal(
                400,
                "Bad Request: wrong file identifier/HTTP URL specified",
            ));
        };
        check_file(kind, file)?;
        let caption = item["caption"].as_str().map(str::to_owned);
        if caption
            .as_ref()
            .is_some_and(|c| c.chars().count() > MAX_CAPTION)
        {
            return Err(refusal(400, "Bad Request: message caption is too long"));
        }
        new.push((kind.to_owned(), caption, Some(file.clone())));
    }
    Ok(new)
}
