//! What Meta's fakes share for the inbox: the people who write to the brand, direct messages in
//! the documented shapes of the Conversations API (`GET /{node}/conversations?platform=..`, with
//! `user_id` for one person) and the Send API (`POST /{node}/messages` with `recipient: {id}` or,
//! for a private reply, `recipient: {comment_id}`; errors: no such person, outside the 24-hour
//! window, a comment already answered privately), and webhook deliveries with their
//! `X-Hub-Signature-256` ("sha256=" + hex HMAC-SHA256 of the raw body keyed by the app secret).

use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use sha2::Sha256;

use super::facebook::graph::{self, Params};

/// Someone who writes to the brand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Their page-scoped (PSID) or Instagram-scoped (IGSID) id, or their Threads user id.
    pub id: String,
    pub name: String,
    pub username: String,
}

impl Person {
    /// A person whose username is their name in lower case (`Ada Byron` is `ada_byron`).
    pub fn new(id: &str, name: &str) -> Self {
        Self {
            id: id.to_owned(),
            name: name.to_owned(),
            username: name.to_lowercase().replace(' ', "_"),
        }
    }
}

/// How a network names people in its answers: Messenger by `name`, Instagram by `username`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    Name,
    Username,
}

impl Naming {
    pub fn of(self, id: &str, name: &str, username: &str) -> Value {
        match self {
            Naming::Name => json!({ "id": id, "name": name }),
            Naming::Username => json!({ "id": id, "username": username }),
        }
    }
}

/// One direct message, from the person or from the brand.
#[derive(Debug, Clone, PartialEq)]
pub struct Dm {
    /// The message id (`m_...`), the `mid` of its webhook.
    pub id: String,
    pub person: Person,
    pub from_brand: bool,
    pub text: String,
    pub created: Timestamp,
    /// The comment a private reply answers.
    pub private_reply_to: Option<String>,
    /// The Send API's `messaging_type` the brand gave.
    pub messaging_type: Option<String>,
}

/// The brand's messages with people, and how its network names and checks them.
#[derive(Debug)]
pub struct Messages {
    pub brand_id: String,
    pub brand_name: String,
    pub naming: Naming,
    /// Messenger requires `messaging_type` on a message to a person.
    pub requires_messaging_type: bool,
    pub all: Vec<Dm>,
    next: u64,
}

impl Default for Messages {
    fn default() -> Self {
        Self::new("", "", Naming::Username)
    }
}

impl Messages {
    pub fn new(brand_id: &str, brand_name: &str, naming: Naming) -> Self {
        Self {
            brand_id: brand_id.to_owned(),
            brand_name: brand_name.to_owned(),
            naming,
            requires_messaging_type: naming == Naming::Name,
            all: Vec::new(),
            next: 0,
        }
    }

    fn next_id(&mut self) -> String {
        self.next += 1;
        format!(
            "m_{}{:06}",
            ulid::Ulid::new().to_string().to_lowercase(),
            self.next
        )
    }

    /// A message from `person` to the brand; its id.
    pub fn receive(&mut self, person: &Person, text: &str, at: Timestamp) -> String {
        let id = self.next_id();
        self.all.push(Dm {
            id: id.clone(),
            person: person.clone(),
            from_brand: false,
            text: text.to_owned(),
            created: at,
            private_reply_to: None,
            messaging_type: None,
        });
        id
    }

    pub fn get(&self, id: &str) -> Option<Dm> {
        self.all.iter().find(|m| m.id == id).cloned()
    }

    /// The brand's messages to `person`, oldest first.
    pub fn sent_to(&self, person: &str) -> Vec<Dm> {
        self.all
            .iter()
            .filter(|m| m.from_brand && m.person.id == person)
            .cloned()
            .collect()
    }

    /// The brand's private replies to the comment `comment`.
    pub fn private_replies_to(&self, comment: &str) -> Vec<Dm> {
        self.all
            .iter()
            .filter(|m| m.private_reply_to.as_deref() == Some(comment))
            .cloned()
            .collect()
    }

    fn json(&self, m: &Dm) -> Value {
        let person = self
            .naming
            .of(&m.person.id, &m.person.name, &m.person.username);
        let brand = self
            .naming
            .of(&self.brand_id, &self.brand_name, &self.brand_name);
        let (from, to) = if m.from_brand {
            (brand, person)
        } else {
            (person, brand)
        };
        json!({
            "id": m.id,
            "message": m.text,
            "from": from,
            "to": { "data": [to] },
            "created_time": graph::time(m.created),
        })
    }

    /// `GET /{node}/conversations`: one conversation per person, the latest updated first, each
    /// with its latest messages (newest first); `user_id` keeps one person's.
    pub fn conversations(&self, params: &Params, base_url: &str) -> Response {
        let mut people: Vec<&Person> = Vec::new();
        for m in &self.all {
            if !people.iter().any(|p| p.id == m.person.id) {
                people.push(&m.person);
            }
        }
        let items = people
            .into_iter()
            .filter(|p| params.get("user_id").is_none_or(|u| u == p.id))
            .map(|p| {
                let mut mine: Vec<&Dm> = self.all.iter().filter(|m| m.person.id == p.id).collect();
                mine.sort_by_key(|m| std::cmp::Reverse(m.created));
                let updated = mine.first().map(|m| m.created).unwrap_or_default();
                let messages: Vec<Value> = mine.iter().take(25).map(|m| self.json(m)).collect();
                let conversation = json!({
                    "id": format!("t_{}", p.id),
                    "updated_time": graph::time(updated),
                    "participants": { "data": [
                        self.naming.of(&p.id, &p.name, &p.username),
                        self.naming.of(&self.brand_id, &self.brand_name, &self.brand_name),
                    ]},
                    "messages": { "data": messages },
                });
                (updated, conversation)
            })
            .collect();
        let mut params = params.clone();
        // The conversations list pages by cursor only.
        params.0.remove("since");
        graph::ok(graph::page(items, &params, base_url))
    }

    /// `POST /{node}/messages`: a message to a person who wrote within the last 24 hours, or a
    /// private reply to the author of a comment (`author_of`), once per comment.
    pub fn send(
        &mut self,
        params: &Params,
        now: Timestamp,
        author_of: impl Fn(&str) -> Option<Person>,
    ) -> Response {
        let parse = |key: &str| {
            params
                .get(key)
                .and_then(|raw| serde_json::from_str::<Value>(raw).ok())
        };
        let (Some(recipient), Some(message)) = (parse("recipient"), parse("message")) else {
            return graph::error(
                400,
                100,
                None,
                "(#100) The parameters recipient and message are required",
            );
        };
        let Some(text) = message
            .get("text")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return graph::error(400, 100, None, "(#100) The message has no text");
        };
        let (person, private_reply_to) = if let Some(comment) =
            recipient.get("comment_id").and_then(Value::as_str)
        {
            let Some(person) = author_of(comment) else {
                return graph::no_such_object(comment);
            };
            if !self.private_replies_to(comment).is_empty() {
                return graph::error(400, 10900, None, "Activity already replied to");
            }
            (person, Some(comment.to_owned()))
        } else if let Some(id) = recipient.get("id").and_then(Value::as_str) {
            if self.requires_messaging_type && params.get("messaging_type").is_none() {
                return graph::error(
                    400,
                    100,
                    None,
                    "(#100) param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}",
                );
            }
            let last = self
                .all
                .iter()
                .filter(|m| !m.from_brand && m.person.id == id)
                .max_by_key(|m| m.created);
            let Some(last) = last else {
                return graph::error(400, 100, Some(2_018_001), "(#100) No matching user found");
            };
            if now.duration_since(last.created) > SignedDuration::from_hours(24) {
                return graph::error(
                    400,
                    10,
                    Some(2_018_278),
                    "(#10) This message is sent outside of allowed window.",
                );
            }
            (last.person.clone(), None)
        } else {
            return graph::error(400, 100, None, "(#100) The recipient names nobody");
        };
        let id = self.next_id();
        self.all.push(Dm {
            id: id.clone(),
            person: person.clone(),
            from_brand: true,
            text,
            created: now,
            private_reply_to,
            messaging_type: params.get("messaging_type").map(str::to_owned),
        });
        graph::ok(json!({ "recipient_id": person.id, "message_id": id }))
    }

    /// A `messaging` webhook entry for the message `m` to the account `account`.
    pub fn webhook_entry(&self, account: &str, m: &Dm) -> Value {
        let millis = m.created.as_millisecond();
        json!({
            "id": account,
            "time": millis,
            "messaging": [{
                "sender": { "id": m.person.id },
                "recipient": { "id": account },
                "timestamp": millis,
                "message": { "mid": m.id, "text": m.text },
            }],
        })
    }
}

/// A webhook delivery as Meta sends it: the raw body and its `X-Hub-Signature-256` header.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub body: Vec<u8>,
    pub signature: String,
}

/// `sha256=` + the hex HMAC-SHA256 of `body` keyed by `app_secret`.
pub fn signature(app_secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).expect("any key length");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// The delivery of `body`, signed with `app_secret`.
pub fn delivery(app_secret: &str, body: &Value) -> Delivery {
    let body = serde_json::to_vec(body).expect("JSON");
    Delivery {
        signature: signature(app_secret, &body),
        body,
    }
}

/// `{"object": .., "entry": [..]}`.
pub fn envelope(object: &str, entries: Vec<Value>) -> Value {
    json!({ "object": object, "entry": entries })
}

/// Graph's `{"success": true}`.
pub fn success() -> Response {
    axum::Json(json!({ "success": true })).into_response()
}
