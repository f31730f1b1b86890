//! Reading Meta's list edges for the inbox from a stream's cursor: the cursor is a watermark (the
//! newest time seen and the ids seen at that second), so a read brings only what is new whatever
//! the edge's own paging, and the same item read twice is one item.

use jiff::Timestamp;
use serde_json::Value;

use super::client::{Graph, GraphFailure};
use super::publish::graph_time;
use crate::domain::Secret;

/// Items asked for a page.
pub const PAGE: usize = 50;
/// At most this many pages a read; a longer backlog is read by the next polls.
pub const MAX_PAGES: usize = 5;

/// Where a stream's last read ended: the newest item's time (whole seconds, as Graph gives
/// them) and the ids already seen at that second. Stored as `{unix seconds}|{id},{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Watermark {
    at: Option<i64>,
    ids: Vec<String>,
}

impl Watermark {
    /// The watermark a stream's cursor holds; `None` (or a cursor of another shape): nothing read
    /// yet.
    pub fn parse(cursor: Option<&str>) -> Self {
        let Some((at, ids)) = cursor.and_then(|c| c.split_once('|')) else {
            return Self::default();
        };
        match at.parse() {
            Ok(at) => Self {
                at: Some(at),
                ids: ids
                    .split(',')
                    .filter(|i| !i.is_empty())
                    .map(str::to_owned)
                    .collect(),
            },
            Err(_) => Self::default(),
        }
    }

    /// Nothing was read yet: the first read takes the latest page only.
    pub fn is_first(&self) -> bool {
        self.at.is_none()
    }

    /// The watermark's time, for edges that take `since` (unix seconds).
    pub fn since(&self) -> Option<i64> {
        self.at
    }

    /// Whether the item `id` made at `at` comes after the watermark.
    pub fn is_new(&self, at: Timestamp, id: &str) -> bool {
        match self.at {
            None => true,
            Some(seen) => {
                let at = at.as_second();
                at > seen || (at == seen && !self.ids.iter().any(|i| i == id))
            }
        }
    }

    /// Moves the watermark past the item `id` made at `at`.
    pub fn advance(&mut self, at: Timestamp, id: &str) {
        let at = at.as_second();
        match self.at {
            Some(seen) if at < seen => {}
            Some(seen) if at == seen => {
                if !self.ids.iter().any(|i| i == id) {
                    self.ids.push(id.to_owned());
                }
            }
            _ => {
                self.at = Some(at);
                self.ids = vec![id.to_owned()];
            }
        }
    }

    /// The stream's cursor, once anything was read.
    pub fn cursor(&self) -> Option<String> {
        self.at.map(|at| format!("{at}|{}", self.ids.join(",")))
    }
}

/// A time in a Meta answer: Graph's `2024-05-01T10:00:00+0000`, or unix seconds or
/// milliseconds (webhooks), as a number or a string.
pub fn time_of(value: &Value) -> Option<Timestamp> {
    let unix = |n: i64| {
        // Milliseconds from 1973 on are larger than any time in seconds before year 5000.
        if n > 100_000_000_000 {
            Timestamp::from_millisecond(n).ok()
        } else {
            Timestamp::from_second(n).ok()
        }
    };
    match value {
        Value::String(raw) => raw
            .parse::<i64>()
            .ok()
            .and_then(unix)
            .or_else(|| graph_time(raw)),
        Value::Number(n) => n.as_i64().and_then(unix),
        _ => None,
    }
}

/// The text at `key` of a Graph object.
pub fn text<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get(key).and_then(Value::as_str)
}

/// As [`pages`], for `edge` under one of the brand's posts (`[post, edge]`): a post deleted
/// meanwhile (Graph error 100/33) has nothing under it any more, so its read is empty and the
/// other posts are still read.
pub async fn pages_under(
    graph: &Graph,
    token: &Secret,
    post: &str,
    edge: &str,
    query: Vec<(&'static str, String)>,
    seen: &Watermark,
    time_field: &str,
) -> Result<Vec<Value>, crate::networks::PublishError> {
    match pages(graph, token, &[post, edge], query, seen, time_field).await {
        Ok(items) => Ok(items),
        Err(f) if f.is(100, 33) => Ok(Vec::new()),
        Err(f) => Err(f.error),
    }
}

/// Reads `path` (a list edge answering newest first) until a page holds an item the watermark
/// has seen, or there is no next page; the first read takes one page. Returns every item of the
/// pages read: the caller keeps the new ones (nested replies may be new under an old comment).
pub async fn pages(
    graph: &Graph,
    token: &Secret,
    path: &[&str],
    mut query: Vec<(&'static str, String)>,
    seen: &Watermark,
    time_field: &str,
) -> Result<Vec<Value>, GraphFailure> {
    let mut items = Vec::new();
    query.push(("limit", PAGE.to_string()));
    for _ in 0..MAX_PAGES {
        let page = graph.get(path, token, &query).await?;
        let mut reached_seen = false;
        for item in page
            .get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let at = item.get(time_field).and_then(time_of);
            let id = text(item, "id").unwrap_or_default();
            if at.is_some_and(|at| !seen.is_new(at, id)) {
                reached_seen = true;
            }
            items.push(item.clone());
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
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_watermark_keeps_items_of_its_own_second_apart_by_id() {
        let mut w = Watermark::parse(None);
        assert!(w.is_first() && w.is_new(at("2027-01-01T10:00:00Z"), "a"));
        w.advance(at("2027-01-01T10:00:00Z"), "a");
        w.advance(at("2027-01-01T09:00:00Z"), "old");
        let w = Watermark::parse(w.cursor().as_deref());
        assert_eq!(w.cursor().as_deref(), Some("1798797600|a"));
        assert!(!w.is_new(at("2027-01-01T10:00:00Z"), "a"));
        assert!(
            w.is_new(at("2027-01-01T10:00:00Z"), "b"),
            "same second, other id"
        );
        assert!(!w.is_new(at("2027-01-01T09:59:59Z"), "c"));
        assert!(Watermark::parse(Some("not a watermark")).is_first());
    }

    #[test]
    fn times_come_as_graph_text_or_unix_seconds_or_milliseconds() {
        let t = at("2027-01-01T10:00:00Z");
        assert_eq!(time_of(&Value::from("2027-01-01T10:00:00+0000")), Some(t));
        assert_eq!(time_of(&Value::from(1_798_797_600)), Some(t));
        assert_eq!(time_of(&Value::from(1_798_797_600_000_i64)), Some(t));
        assert_eq!(time_of(&Value::from("1798797600")), Some(t));
    }
}
