//! Direct messages on Facebook Pages (Messenger) and Instagram, which share Meta's Conversations
//! API and Send API (engagement.md, "Facebook Pages and Instagram"; Meta's "Conversations API":
//! `GET /{node}/conversations?platform=messenger|instagram`, messages with `id`, `message`,
//! `from`, `created_time`). A person's message is a direct message whose reply target names the
//! person's page-scoped id (PSID or IGSID) as its chat; the brand's own messages are native
//! replies to the person's latest before them. The 24-hour window is the domain's reply rule.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::client::{Call, Graph, id_of};
use super::listing::{MAX_PAGES, Watermark, text, time_of};
use crate::domain::Secret;
use crate::domain::inbox::{Author, Incoming, InteractionKind, NativeReply, ReplyTarget};
use crate::networks::{InboxRead, Outgoing, PublishError, Published, ReadBack};

/// Conversations asked for a page, and the latest messages of each.
const CONVERSATIONS: usize = 25;
const MESSAGES: usize = 25;

/// One account's messages: where they are read and sent, and how people are named.
pub struct Messaging<'a> {
    pub graph: &'a Graph,
    pub token: &'a Secret,
    /// The node whose conversations these are: the Facebook page, or the Instagram account (the
    /// page it is linked to, through Facebook Login).
    pub node: &'a str,
    /// `messenger` or `instagram`.
    pub platform: &'static str,
    /// The brand's own id in messages' `from` (the page id, the Instagram account id).
    pub brand: &'a str,
}

impl Messaging<'_> {
    /// Messages newer than `cursor`: the conversations updated since, newest first.
    pub async fn read(&self, cursor: Option<&str>) -> Result<InboxRead, PublishError> {
        let seen = Watermark::parse(cursor);
        let mut newest = seen.clone();
        let mut read = InboxRead::default();
        let mut query = vec![
            ("platform", self.platform.to_owned()),
            ("fields", fields()),
            ("limit", CONVERSATIONS.to_string()),
        ];
        for _ in 0..MAX_PAGES {
            let page = self
                .graph
                .get(&[self.node, "conversations"], self.token, &query)
                .await?;
            let mut reached_seen = false;
            for conversation in page
                .get("data")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let updated = conversation.get("updated_time").and_then(time_of);
                if let (Some(updated), Some(since)) = (updated, seen.since())
                    && updated.as_second() < since
                {
                    reached_seen = true;
                    continue;
                }
                self.take(conversation, &seen, &mut newest, &mut read);
            }
            let after = page
                .pointer("/paging/cursors/after")
                .and_then(Value::as_str)
                .filter(|_| page.pointer("/paging/next").is_some());
            match after {
                Some(after) if !reached_seen && !seen.is_first() => {
                    query.retain(|(k, _)| *k != "after");
                    query.push(("after", after.to_owned()));
                }
                _ => break,
            }
        }
        read.cursor = newest.cursor();
        Ok(read)
    }

    /// The new messages of one conversation, oldest first, so that each of the brand's answers
    /// knows the person's message before it.
    fn take(
        &self,
        conversation: &Value,
        seen: &Watermark,
        newest: &mut Watermark,
        read: &mut InboxRead,
    ) {
        let mut messages: Vec<(Timestamp, &Value)> = conversation
            .pointer("/messages/data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| Some((m.get("created_time").and_then(time_of)?, m)))
            .collect();
        // The API lists newest first: reversed, then sorted by time, messages of one second
        // keep their order.
        messages.reverse();
        messages.sort_by_key(|(at, _)| *at);
        let mut latest_from_person: Option<String> = None;
        for (at, message) in messages {
            let Some(id) = text(message, "id") else {
                continue;
            };
            let from_brand =
                message.pointer("/from/id").and_then(Value::as_str) == Some(self.brand);
            if seen.is_new(at, id) {
                if from_brand {
                    if let Some(parent) = &latest_from_person {
                        read.native.push(NativeReply {
                            external_id: id.to_owned(),
                            parent: parent.clone(),
                            created_at: at,
                        });
                    }
                } else if let Some(found) = direct_message(message, at) {
                    read.found.push(found);
                }
                newest.advance(at, id);
            }
            if !from_brand {
                latest_from_person = Some(id.to_owned());
            }
        }
    }

    /// Sends `text` to the person `recipient` (their PSID or IGSID) as an answer to their message
    /// (Send API, `messaging_type=RESPONSE`, inside the standard messaging window).
    pub async fn send(&self, recipient: &str, text: &str) -> Result<Published, PublishError> {
        let mut params = vec![
            ("recipient", json!({ "id": recipient }).to_string()),
            ("message", json!({ "text": text }).to_string()),
        ];
        if self.platform == "messenger" {
            params.push(("messaging_type", "RESPONSE".to_owned()));
        }
        self.post_message(params).await
    }

    /// Answers the comment `comment_id` with a private message to its author (Meta's private
    /// replies: `recipient: {comment_id}`; once per comment, within 7 days, checked by the
    /// domain before this is called).
    pub async fn reply_privately(
        &self,
        comment_id: &str,
        text: &str,
    ) -> Result<Published, PublishError> {
        self.post_message(vec![
            ("recipient", json!({ "comment_id": comment_id }).to_string()),
            ("message", json!({ "text": text }).to_string()),
        ])
        .await
    }

    async fn post_message(
        &self,
        params: Vec<(&'static str, String)>,
    ) -> Result<Published, PublishError> {
        let answer = self
            .graph
            .post(Call::POST, &[self.node, "messages"], self.token, &params)
            .await?;
        let id = id_of(self.graph.network(), Call::POST, &answer, "message_id")?;
        Ok(Published::new(id, None))
    }

    /// After a lost answer: the brand's message with the reply's text in its conversation with
    /// `person`, sent since the reply's first attempt.
    pub async fn find_sent(
        &self,
        person: &str,
        reply: &Outgoing,
    ) -> Result<ReadBack, PublishError> {
        let query = [
            ("platform", self.platform.to_owned()),
            ("user_id", person.to_owned()),
            ("fields", fields()),
        ];
        let page = self
            .graph
            .get(&[self.node, "conversations"], self.token, &query)
            .await?;
        let since = reply.first_attempt_at.as_second() - 60;
        let wanted = comparable(&reply.text);
        let found = page
            .get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.pointer("/messages/data").and_then(Value::as_array))
            .flatten()
            .filter(|m| m.pointer("/from/id").and_then(Value::as_str) == Some(self.brand))
            .filter(|m| comparable(text(m, "message").unwrap_or_default()) == wanted)
            .filter_map(|m| {
                let at = m.get("created_time").and_then(time_of)?;
                let id = text(m, "id")?.to_owned();
                (at.as_second() >= since).then_some((at, id))
            })
            .min();
        Ok(match found {
            Some((_, id)) => ReadBack::Found(Published::new(id, None)),
            None => ReadBack::NotFound,
        })
    }
}

fn fields() -> String {
    format!("id,updated_time,messages.limit({MESSAGES}){{id,message,from,to,created_time}}")
}

/// Meta may trim a text or change its line endings: compare texts the way they read.
pub fn comparable(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A person's message (a conversation's, or a webhook's, rebuilt in the same shape) as a direct
/// message: Messenger names people by `name`, Instagram by `username`.
pub fn direct_message(message: &Value, at: Timestamp) -> Option<Incoming> {
    let id = text(message, "id")?.to_owned();
    let from = message.get("from")?;
    let person = text(from, "id")?.to_owned();
    let (handle, name) = match (text(from, "username"), text(from, "name")) {
        (Some(username), name) => (format!("@{username}"), name.unwrap_or(username).to_owned()),
        (None, Some(name)) => (name.to_owned(), name.to_owned()),
        (None, None) => (person.clone(), person.clone()),
    };
    Some(Incoming {
        kind: InteractionKind::DirectMessage,
        permalink: None,
        parent: None,
        root: None,
        author: Author {
            id: person.clone(),
            handle,
            name,
            followers: None,
        },
        text: text(message, "message").unwrap_or_default().to_owned(),
        raw: message.clone(),
        target: ReplyTarget {
            id: id.clone(),
            cid: None,
            root_id: None,
            root_cid: None,
            visibility: None,
            chat: Some(person),
        },
        created_at: at,
        external_id: id,
    })
}
