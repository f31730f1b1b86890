//! Threads webhook deliveries (Meta's "Webhooks for Threads"): `{"app_id", "topic",
//! "target_id", "time", "values": {"field": "replies"|"mentions", "value": <a Threads media
//! object>}}`. A reply's value is read the way a conversation read gives it (same `id`, so one
//! record whichever came first); the account's own reply (its username is the root post's) is
//! a native reply. The account is the root post's owner for a reply; for a mention, the
//! delivery's `target_id` (unverified: Meta's table is terse about it).

use serde_json::Value;

use super::inbox::{incoming, take_reply};
use super::{NETWORK, ThreadsConnector};
use crate::domain::inbox::InteractionKind;
use crate::networks::meta_graph::listing::text;
use crate::networks::meta_graph::webhook;
use crate::networks::{ParsePush, Pushed};

impl ParsePush for ThreadsConnector {
    fn parse(&self, body: &[u8]) -> Result<Vec<Pushed>, String> {
        let body: Value = serde_json::from_slice(body)
            .map_err(|e| format!("the {NETWORK} webhook body is not JSON: {e}"))?;
        // One notification, or several in a list.
        let notifications = match &body {
            Value::Array(list) => list.clone(),
            Value::Object(_) => vec![body.clone()],
            _ => return Err(format!("the {NETWORK} webhook body is not an object")),
        };
        let mut out = Vec::new();
        for n in &notifications {
            let Some(values) = n.get("values") else {
                return Err(format!(
                    "a {NETWORK} webhook notification has no \"values\""
                ));
            };
            let values = match values {
                Value::Array(list) => list.clone(),
                one => vec![one.clone()],
            };
            let target = match n.get("target_id") {
                Some(Value::String(id)) => Some(id.clone()),
                Some(Value::Number(id)) => Some(id.to_string()),
                _ => None,
            };
            for change in &values {
                let Some(v) = change.get("value") else {
                    continue;
                };
                let mut pushed = Pushed::default();
                let account = match text(change, "field") {
                    Some("replies") => {
                        let mut item = v.clone();
                        let owner = v.pointer("/root_post/username").and_then(Value::as_str);
                        if owner.is_some() && owner == text(v, "username") {
                            item["is_reply_owned_by_me"] = Value::Bool(true);
                        }
                        take_reply(&item, None, &mut pushed.found, &mut pushed.native);
                        v.pointer("/root_post/owner_id")
                            .map(|o| match o {
                                Value::Number(n) => n.to_string(),
                                other => other.as_str().unwrap_or_default().to_owned(),
                            })
                            .filter(|o| !o.is_empty())
                            .or(target.clone())
                    }
                    Some("mentions") => {
                        pushed
                            .found
                            .extend(incoming(v, InteractionKind::Mention, None));
                        target.clone()
                    }
                    _ => continue,
                };
                let Some(account) = account else {
                    return Err(format!(
                        "a {NETWORK} webhook notification does not say which account it is for"
                    ));
                };
                out.push((account, pushed));
            }
        }
        Ok(webhook::by_account(out))
    }
}
