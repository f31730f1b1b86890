//! A fake Telegram Bot API: `/bot<token>/<method>` for sendMessage, sendPhoto, sendVideo,
//! sendAnimation and sendMediaGroup (JSON or multipart), channels the bot may or may not post in,
//! and the Bot API's `{"ok": false, "error_code", "description", "parameters"}` refusals.
//! `getChatMemberCount` reports each channel's subscribers, which a test can change.

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
}

struct Telegram {
    chats: Vec<Chat>,
    messages: Vec<FakeMessage>,
    next_message_id: i64,
    requests: HashMap<String, usize>,
    /// The next sending request is refused with 429 and this `retry_after`.
    flood_wait: Option<u64>,
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
                },
                Chat {
                    id: PRIVATE_CHANNEL.parse().unwrap(),
                    username: None,
                    title: "Palinsesto private".into(),
                    access: BotAccess::Admin,
                    members: 40,
                },
            ],
            messages: Vec::new(),
            next_message_id: 100,
            requests: HashMap::new(),
            flood_wait: None,
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

    /// Every message, in the order they were sent.
    pub fn messages(&self) -> Vec<FakeMessage> {
        self.state.lock().unwrap().messages.clone()
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
        let mut json = json!({"id": c.id, "type": "channel", "title": c.title});
        if let Some(username) = &c.username {
            json["username"] = json!(username);
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
        };
        sent.push(t.message_json(chat, &message));
        t.messages.push(message);
    }
    if method == "sendMediaGroup" {
        ok(Value::Array(sent))
    } else {
        ok(sent.pop().unwrap_or(Value::Null))
    }
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
