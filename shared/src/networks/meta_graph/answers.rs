//! What answering and moderating share on Meta's three networks: replies are text (none of the
//! three takes media in an answer through the API here), a lost answer is recognised by the
//! brand's text under the item since the first attempt (Meta has no idempotency key), and
//! deleting what is already gone is done.

use jiff::Timestamp;
use serde_json::Value;

use super::client::Graph;
use super::listing::{text, time_of};
use super::messaging::comparable;
use crate::domain::Secret;
use crate::networks::{Outgoing, PublishError, Published, ReadBack};

/// Answers carry text only.
pub fn text_only(network: &str, reply: &Outgoing) -> Result<(), PublishError> {
    if !reply.media.is_empty() {
        return Err(PublishError::InvalidContent(format!(
            "answers on {network} are sent as text only here: remove the media"
        )));
    }
    if reply.text.trim().is_empty() {
        return Err(PublishError::InvalidContent(format!(
            "the answer is empty: there is nothing to send on {network}"
        )));
    }
    Ok(())
}

/// How to recognise the brand's answer among items read back.
pub struct Recognise<'a> {
    pub text_field: &'static str,
    pub time_field: &'static str,
    pub permalink_field: Option<&'static str>,
    /// Whether an item is the brand's (and answers the right item).
    pub is_ours: &'a (dyn Fn(&Value) -> bool + Sync),
}

/// The earliest of `items` that is the brand's, has the reply's text and was made since its
/// first attempt (a minute of slack for the network's clock): the earlier attempt.
pub fn earliest(items: &[Value], reply: &Outgoing, how: &Recognise<'_>) -> ReadBack {
    let since = reply.first_attempt_at.as_second() - 60;
    let wanted = comparable(&reply.text);
    let found = items
        .iter()
        .filter(|item| (how.is_ours)(item))
        .filter(|item| comparable(text(item, how.text_field).unwrap_or_default()) == wanted)
        .filter_map(|item| {
            let at: Timestamp = item.get(how.time_field).and_then(time_of)?;
            let id = text(item, "id")?.to_owned();
            let url = how
                .permalink_field
                .and_then(|f| text(item, f))
                .map(str::to_owned);
            (at.as_second() >= since).then_some((at, id, url))
        })
        .min_by_key(|(at, _, _)| *at);
    match found {
        Some((_, id, url)) => ReadBack::Found(Published::new(id, url)),
        None => ReadBack::NotFound,
    }
}

/// The `data` of a list answer.
pub fn data(answer: &Value) -> Vec<Value> {
    answer
        .get("data")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Deletes the brand's reply `id`; one already gone (Graph's "object does not exist") is done.
pub async fn delete(graph: &Graph, token: &Secret, id: &str) -> Result<(), PublishError> {
    match graph.delete(&[id], token).await {
        Ok(_) => Ok(()),
        Err(f) if f.is(100, 33) => Ok(()),
        Err(f) => Err(f.error),
    }
}
