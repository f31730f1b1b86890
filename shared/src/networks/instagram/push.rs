//! Instagram webhook deliveries (Meta's "Instagram Webhooks"; engagement.md): `comments` on the
//! account's media (rebuilt in the shape a poll reads, so one comment is one record; the
//! account's own are native replies), `mentions` (named only by id: the inbox worker reads them
//! with the account's token through [`ReadInbox::fetch`](crate::networks::ReadInbox::fetch)), and
//! direct-message `messaging` events.

use serde_json::{Value, json};

use super::inbox::{MENTIONED_COMMENT, MENTIONED_MEDIA, take_comment};
use super::{InstagramConnector, NETWORK};
use crate::networks::meta_graph::listing::text;
use crate::networks::meta_graph::webhook::{self, Entry};
use crate::networks::{ParsePush, Pushed};

impl ParsePush for InstagramConnector {
    fn parse(&self, body: &[u8]) -> Result<Vec<Pushed>, String> {
        let entries = webhook::entries(body, "instagram", NETWORK)?;
        Ok(webhook::by_account(
            entries.iter().map(|e| (e.id.clone(), pushed(e))),
        ))
    }
}

fn pushed(entry: &Entry) -> Pushed {
    let mut out = Pushed::default();
    for change in &entry.changes {
        let v = &change.value;
        match change.field.as_str() {
            "comments" => {
                let Some(media) = v.pointer("/media/id").and_then(Value::as_str) else {
                    continue;
                };
                // The value carries no time of its own: the entry's.
                let item = json!({
                    "id": v.get("id"),
                    "text": text(v, "text").unwrap_or_default(),
                    "from": v.get("from"),
                    "username": v.pointer("/from/username"),
                    "parent_id": v.get("parent_id"),
                    "timestamp": v.get("timestamp").cloned().or(entry.time.map(|t| Value::from(t.as_second()))),
                    "webhook": v,
                });
                take_comment(
                    &item,
                    media,
                    &entry.id,
                    None,
                    &mut out.found,
                    &mut out.native,
                );
            }
            "mentions" => match (text(v, "media_id"), text(v, "comment_id")) {
                (Some(media), Some(comment)) => out
                    .to_fetch
                    .push(format!("{MENTIONED_COMMENT}:{media}:{comment}")),
                (Some(media), None) => out.to_fetch.push(format!("{MENTIONED_MEDIA}:{media}")),
                _ => {}
            },
            _ => {}
        }
    }
    out.found.extend(
        entry
            .messaging
            .iter()
            .filter_map(|e| webhook::message_event(e, &entry.id)),
    );
    out
}
