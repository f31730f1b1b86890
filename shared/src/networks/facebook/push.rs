//! Facebook Page webhook deliveries (Meta's "Webhooks for Pages"; engagement.md): `feed` changes
//! whose `item` is a `comment` being added (the page's own are native replies), `mention`
//! changes (the page tagged in a post or a comment), and Messenger `messaging` events. Each is
//! rebuilt in the shape a poll reads, so that one item is one record whichever came first.

use serde_json::{Value, json};

use super::inbox::{mention, take_comment};
use super::{FacebookConnector, NETWORK};
use crate::networks::meta_graph::listing::text;
use crate::networks::meta_graph::webhook::{self, Entry};
use crate::networks::{ParsePush, Pushed};

impl ParsePush for FacebookConnector {
    fn parse(&self, body: &[u8]) -> Result<Vec<Pushed>, String> {
        let entries = webhook::entries(body, "page", NETWORK)?;
        Ok(webhook::by_account(
            entries.iter().map(|e| (e.id.clone(), pushed(e))),
        ))
    }
}

fn pushed(entry: &Entry) -> Pushed {
    let mut out = Pushed::default();
    let time = entry.time.map(|t| t.as_second());
    for change in &entry.changes {
        let v = &change.value;
        let added = text(v, "verb") == Some("add");
        match (change.field.as_str(), text(v, "item")) {
            ("feed", Some("comment")) if added => {
                let (Some(id), Some(post)) = (text(v, "comment_id"), text(v, "post_id")) else {
                    continue;
                };
                let mut item = json!({
                    "id": id,
                    "message": text(v, "message").unwrap_or_default(),
                    "from": v.get("from").cloned().unwrap_or(Value::Null),
                    "created_time": v.get("created_time").cloned().or(time.map(Value::from)),
                    "webhook": v,
                });
                if let Some(parent) = text(v, "parent_id") {
                    item["parent"] = json!({ "id": parent });
                }
                if let Some(link) = v.pointer("/post/permalink_url") {
                    item["permalink_url"] = link.clone();
                }
                take_comment(&item, post, &entry.id, &mut out.found, &mut out.native);
            }
            ("mention", Some(what @ ("post" | "comment"))) if added => {
                let key = if what == "post" {
                    "post_id"
                } else {
                    "comment_id"
                };
                let Some(id) = text(v, key) else {
                    continue;
                };
                let item = json!({
                    "id": id,
                    "message": text(v, "message").unwrap_or_default(),
                    "from": { "id": v.get("sender_id"), "name": v.get("sender_name") },
                    "created_time": v.get("created_time").cloned().or(time.map(Value::from)),
                    "webhook": v,
                });
                out.found.extend(mention(&item));
            }
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
