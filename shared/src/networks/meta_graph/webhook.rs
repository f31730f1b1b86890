//! The envelope of Meta's webhook deliveries for Pages and Instagram (Meta's "Webhooks" and
//! "Webhooks for Pages" docs): `{"object": "page"|"instagram", "entry": [{"id": <account id>,
//! "time", "changes": [{"field", "value"}], "messaging": [{sender, recipient, timestamp,
//! message: {mid, text, is_echo}}]}]}`. The signature (`X-Hub-Signature-256`) is checked before
//! any of this; parsing makes no call.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::listing::{text, time_of};
use super::messaging::direct_message;
use crate::domain::inbox::Incoming;
use crate::networks::Pushed;

/// One entry of a delivery: what happened to one account.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The account the entry is for (a page id, an Instagram account id).
    pub id: String,
    pub time: Option<Timestamp>,
    pub changes: Vec<Change>,
    pub messaging: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub field: String,
    pub value: Value,
}

/// The entries of a delivery for `object` (`page`, `instagram`); a body of another shape is an
/// error in plain words.
pub fn entries(body: &[u8], object: &str, network: &str) -> Result<Vec<Entry>, String> {
    let body: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the {network} webhook body is not JSON: {e}"))?;
    match body.get("object").and_then(Value::as_str) {
        Some(o) if o == object => {}
        Some(other) => {
            return Err(format!(
                "the {network} webhook is for \"{other}\", not \"{object}\""
            ));
        }
        None => return Err(format!("the {network} webhook body has no \"object\"")),
    }
    let Some(list) = body.get("entry").and_then(Value::as_array) else {
        return Err(format!("the {network} webhook body has no \"entry\" list"));
    };
    let mut out = Vec::with_capacity(list.len());
    for entry in list {
        let id = match entry.get("id") {
            Some(Value::String(id)) => id.clone(),
            Some(Value::Number(id)) => id.to_string(),
            _ => return Err(format!("a {network} webhook entry has no account id")),
        };
        let changes = entry
            .get("changes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| {
                Some(Change {
                    field: text(c, "field")?.to_owned(),
                    value: c.get("value")?.clone(),
                })
            })
            .collect();
        out.push(Entry {
            id,
            time: entry.get("time").and_then(time_of),
            changes,
            messaging: entry
                .get("messaging")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        });
    }
    Ok(out)
}

/// A messaging event as a direct message, in the shape a conversation read gives it (so that the
/// poll and the push record one item, under the message's `mid`). The brand's own messages
/// (`is_echo`) are skipped: the event does not say which message they answer, and the
/// `messages` stream's poll reads them as native replies. Deliveries, reads and reactions are
/// skipped too.
pub fn message_event(event: &Value, account: &str) -> Option<Incoming> {
    let message = event.get("message")?;
    let sender = event.pointer("/sender/id").and_then(Value::as_str)?;
    if sender == account || message.get("is_echo").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    let at = event.get("timestamp").and_then(time_of)?;
    let as_read = json!({
        "id": text(message, "mid")?,
        "message": text(message, "text").unwrap_or_default(),
        "from": { "id": sender },
        "created_time": at.as_second(),
        "webhook": event,
    });
    direct_message(&as_read, at)
}

/// Gathers what each entry said into one [`Pushed`] per account, in the order the accounts came.
pub fn by_account(items: impl IntoIterator<Item = (String, Pushed)>) -> Vec<Pushed> {
    let mut out: Vec<Pushed> = Vec::new();
    for (account, pushed) in items {
        match out.iter_mut().find(|p| p.account == account) {
            Some(p) => {
                p.found.extend(pushed.found);
                p.native.extend(pushed.native);
                p.to_fetch.extend(pushed.to_fetch);
            }
            None => out.push(Pushed { account, ..pushed }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_event_reads_like_the_conversation_and_echoes_are_skipped() {
        let body = br#"{"object":"page","entry":[{"id":"P1","time":1798797600000,"messaging":[
            {"sender":{"id":"U1"},"recipient":{"id":"P1"},"timestamp":1798797600000,"message":{"mid":"m_1","text":"hi"}},
            {"sender":{"id":"P1"},"recipient":{"id":"U1"},"timestamp":1798797601000,"message":{"mid":"m_2","text":"hello","is_echo":true}}]}]}"#;
        let entries = entries(body, "page", "Facebook").unwrap();
        assert_eq!(entries[0].id, "P1");
        let found: Vec<Incoming> = entries[0]
            .messaging
            .iter()
            .filter_map(|e| message_event(e, "P1"))
            .collect();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].external_id, "m_1");
        assert_eq!(found[0].target.chat.as_deref(), Some("U1"));
        let err = super::entries(br#"{"object":"user","entry":[]}"#, "page", "Facebook");
        assert!(err.unwrap_err().contains("not \"page\""));
    }
}
