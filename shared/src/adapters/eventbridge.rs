//! EventBridge as both the fan-out ([`Dispatcher`]: one event per publish job, routed to the
//! publisher function by a rule) and the domain-event bus ([`EventBus`]), on one custom bus.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde_json::Value;

use crate::domain_events::{DomainEvent, EVENT_SOURCE, EventBus, EventError};
use crate::fanout::{DispatchError, Dispatcher, PUBLISH_TARGET_DETAIL_TYPE, PublishJob};

/// PutEvents takes at most this many entries per call.
const MAX_ENTRIES_PER_CALL: usize = 10;
/// PutEvents refuses a call whose entries total 256 KB or more (Source + DetailType + Detail +
/// 14 bytes for Time, UTF-8). Kept a little under, so an entry that fits alone always fits a call.
const MAX_BYTES_PER_CALL: usize = 256 * 1024 - 1024;
/// Sends of the entries EventBridge failed with a retryable code, the first included.
const ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The entry codes worth another try; the rest (malformed detail, access denied, ...) will not
/// change by retrying.
const RETRYABLE_CODES: &[&str] = &[
    "InternalFailure",
    "ThrottlingException",
    "InternalException",
];
/// The size the `Time` parameter counts for.
const TIME_BYTES: usize = 14;

#[derive(Debug, Clone)]
pub struct EventBridgeBus {
    client: Client,
    bus_name: String,
}

/// Why a PutEvents batch did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PutEventsError {
    #[error("{failed} of {total} events were not accepted by EventBridge: {reasons}")]
    Rejected {
        failed: usize,
        total: usize,
        reasons: String,
    },
    #[error(
        "the event {id} ({kind}) does not fit in an EventBridge entry (256 KB): {size} bytes, even with its text cut short"
    )]
    TooLarge {
        id: String,
        kind: String,
        size: usize,
    },
    #[error("the event could not be encoded: {0}")]
    Encoding(String),
}

/// One entry before it becomes an SDK request entry: what its size is counted from.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    detail_type: String,
    detail: String,
    time: Option<jiff::Timestamp>,
}

impl Entry {
    fn size(&self) -> usize {
        EVENT_SOURCE.len()
            + self.detail_type.len()
            + self.detail.len()
            + if self.time.is_some() { TIME_BYTES } else { 0 }
    }
}

/// An entry EventBridge did not accept, with its ErrorCode and ErrorMessage.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EntryFailure {
    code: String,
    message: String,
}

impl EntryFailure {
    fn retryable(&self) -> bool {
        RETRYABLE_CODES.contains(&self.code.as_str())
    }
}

impl EventBridgeBus {
    /// `client` is built once per process (in `main`) and shared by every invocation.
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }

    pub fn bus_name(&self) -> &str {
        &self.bus_name
    }

    async fn put(&self, entries: Vec<Entry>) -> Result<(), PutEventsError> {
        let total = entries.len();
        let mut rejected: Vec<EntryFailure> = Vec::new();
        // Batches go one after the other: a tick's page is at most 100 jobs, ten calls.
        // A batch the call itself failed for (after the SDK's own retries) does not stop the
        // others: one bad moment should delay as few jobs as possible.
        for batch in batches(entries) {
            rejected.extend(put_with_retries(batch, |b| self.send(b)).await);
        }
        if rejected.is_empty() {
            Ok(())
        } else {
            Err(PutEventsError::Rejected {
                failed: rejected.len(),
                total,
                reasons: summarise(&rejected),
            })
        }
    }

    /// One PutEvents call; the answer has one result per entry, in order.
    async fn send(&self, entries: Vec<Entry>) -> Result<Vec<Option<EntryFailure>>, String> {
        let request: Vec<PutEventsRequestEntry> = entries
            .iter()
            .map(|e| {
                PutEventsRequestEntry::builder()
                    .source(EVENT_SOURCE)
                    .detail_type(&e.detail_type)
                    .detail(&e.detail)
                    .event_bus_name(&self.bus_name)
                    .set_time(e.time.map(|t| DateTime::from_millis(t.as_millisecond())))
                    .build()
            })
            .collect();
        let output = self
            .client
            .put_events()
            .set_entries(Some(request))
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?;
        if output.failed_entry_count() == 0 {
            return Ok(vec![None; entries.len()]);
        }
        let results = output.entries();
        if results.len() != entries.len() {
            // Cannot tell which ones failed: treat the whole batch as failed, retryably.
            return Ok(vec![
                Some(EntryFailure {
                    code: "InternalFailure".into(),
                    message: format!(
                        "EventBridge answered {} results for {} entries",
                        results.len(),
                        entries.len()
                    ),
                });
                entries.len()
            ]);
        }
        Ok(results
            .iter()
            .map(|r| {
                r.error_code().map(|code| EntryFailure {
                    code: code.to_owned(),
                    message: r.error_message().unwrap_or_default().to_owned(),
                })
            })
            .collect())
    }
}

#[async_trait]
impl Dispatcher for EventBridgeBus {
    async fn dispatch(&self, jobs: Vec<PublishJob>) -> Result<(), DispatchError> {
        let entries = jobs
            .iter()
            .map(|job| {
                Ok(Entry {
                    detail_type: PUBLISH_TARGET_DETAIL_TYPE.to_owned(),
                    detail: serde_json::to_string(job)
                        .map_err(|e| PutEventsError::Encoding(e.to_string()))?,
                    time: None,
                })
            })
            .collect::<Result<Vec<_>, PutEventsError>>()
            .map_err(|e| DispatchError(e.to_string()))?;
        self.put(entries)
            .await
            .map_err(|e| DispatchError(e.to_string()))
    }
}

#[async_trait]
impl EventBus for EventBridgeBus {
    async fn emit(&self, events: Vec<DomainEvent>) -> Result<(), EventError> {
        let entries = events
            .iter()
            .map(|event| {
                Ok(Entry {
                    detail_type: event.kind.clone(),
                    detail: fitting_detail(event)?,
                    time: Some(event.time),
                })
            })
            .collect::<Result<Vec<_>, PutEventsError>>()
            .map_err(|e| EventError(e.to_string()))?;
        self.put(entries)
            .await
            .map_err(|e| EventError(e.to_string()))
    }
}

/// The event's JSON, small enough for one entry. A post's text may be up to 64 KB and JSON
/// escaping can multiply it, so when the whole event would not fit, `data.text` is cut (at a
/// character boundary) and `data.text_truncated: true` says so; subscribers wanting the full text
/// read the post through the API by `data.post_id`.
fn fitting_detail(event: &DomainEvent) -> Result<String, PutEventsError> {
    let encode = |e: &DomainEvent| {
        serde_json::to_string(e).map_err(|err| PutEventsError::Encoding(err.to_string()))
    };
    let budget =
        MAX_BYTES_PER_CALL.saturating_sub(EVENT_SOURCE.len() + event.kind.len() + TIME_BYTES);
    let detail = encode(event)?;
    if detail.len() <= budget {
        return Ok(detail);
    }
    let too_large = |size| PutEventsError::TooLarge {
        id: event.id.clone(),
        kind: event.kind.clone(),
        size,
    };
    let Some(text) = event.data.get("text").and_then(Value::as_str) else {
        return Err(too_large(detail.len()));
    };
    // Escaping makes the encoded size of a prefix hard to predict (a control character takes 6
    // bytes), so search for the longest prefix that fits.
    let with_prefix = |keep: usize| {
        let mut cut = event.clone();
        if let Some(data) = cut.data.as_object_mut() {
            data.insert("text".into(), Value::String(text[..keep].to_owned()));
            data.insert("text_truncated".into(), Value::Bool(true));
        }
        encode(&cut)
    };
    let floor_boundary = |mut i: usize| {
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let (mut fits, mut too_long) = (0, text.len());
    while too_long - fits > 1 {
        let mid = floor_boundary(fits + (too_long - fits) / 2);
        if mid == fits {
            break;
        }
        if with_prefix(mid)?.len() <= budget {
            fits = mid;
        } else {
            too_long = mid;
        }
    }
    let detail = with_prefix(fits)?;
    if detail.len() <= budget {
        Ok(detail)
    } else {
        Err(too_large(detail.len()))
    }
}

/// Groups entries into calls of at most 10 entries and under 256 KB, in order.
fn batches(entries: Vec<Entry>) -> Vec<Vec<Entry>> {
    let mut out: Vec<Vec<Entry>> = Vec::new();
    let mut bytes = 0;
    for entry in entries {
        let size = entry.size();
        match out.last_mut() {
            Some(batch)
                if batch.len() < MAX_ENTRIES_PER_CALL && bytes + size <= MAX_BYTES_PER_CALL =>
            {
                bytes += size;
                batch.push(entry);
            }
            _ => {
                bytes = size;
                out.push(vec![entry]);
            }
        }
    }
    out
}

/// Sends one batch, then again just the entries that failed with a retryable code, with a short
/// growing backoff. Returns why each entry that was finally not accepted failed. A failed call is
/// not sent again here: the SDK has already retried it.
async fn put_with_retries<F, Fut>(mut pending: Vec<Entry>, send: F) -> Vec<EntryFailure>
where
    F: Fn(Vec<Entry>) -> Fut,
    Fut: Future<Output = Result<Vec<Option<EntryFailure>>, String>>,
{
    let mut given_up: Vec<EntryFailure> = Vec::new();
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        // Entries are small (a job is ~200 bytes): cloning them keeps them for a retry.
        let results = match send(pending.clone()).await {
            Ok(results) => results,
            Err(message) => {
                let failure = EntryFailure {
                    code: "RequestFailed".into(),
                    message: format!("the PutEvents call failed: {message}"),
                };
                given_up.extend(std::iter::repeat_n(failure, pending.len()));
                break;
            }
        };
        let mut retry = Vec::new();
        let mut retried_for = Vec::new();
        for (entry, result) in pending.into_iter().zip(results) {
            match result {
                None => {}
                Some(failure) if failure.retryable() && attempt < ATTEMPTS => {
                    retry.push(entry);
                    retried_for.push(failure);
                }
                Some(failure) => given_up.push(failure),
            }
        }
        if retry.is_empty() {
            break;
        }
        tracing::warn!(
            failed = retry.len(),
            attempt,
            reasons = %summarise(&retried_for),
            "EventBridge did not accept some events; sending them again"
        );
        tokio::time::sleep(backoff + Duration::from_millis(rand::random_range(0..50))).await;
        backoff *= 2;
        pending = retry;
    }
    given_up
}

/// "InternalFailure x2 (message); MalformedDetail x1 (message)", codes in first-seen order.
fn summarise(failures: &[EntryFailure]) -> String {
    let mut groups: Vec<(&str, usize, &str)> = Vec::new();
    for f in failures {
        match groups.iter_mut().find(|(code, _, _)| *code == f.code) {
            Some(group) => group.1 += 1,
            None => groups.push((&f.code, 1, &f.message)),
        }
    }
    groups
        .iter()
        .map(|(code, count, message)| {
            if message.is_empty() {
                format!("{code} x{count}")
            } else {
                format!("{code} x{count} ({message})")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;

    use super::*;

    fn entry(detail: &str) -> Entry {
        Entry {
            detail_type: PUBLISH_TARGET_DETAIL_TYPE.into(),
            detail: detail.into(),
            time: None,
        }
    }

    fn failure(code: &str) -> Option<EntryFailure> {
        Some(EntryFailure {
            code: code.into(),
            message: format!("{code} happened"),
        })
    }

    #[test]
    fn batches_hold_at_most_ten_entries_and_256_kb_in_order() {
        let entries: Vec<Entry> = (0..23).map(|i| entry(&format!("{{\"n\":{i}}}"))).collect();
        let sizes: Vec<usize> = batches(entries.clone()).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![10, 10, 3]);
        assert_eq!(batches(entries.clone()).concat(), entries);

        // Five 100 KB entries: two per call.
        let big = "x".repeat(100 * 1024);
        let sizes: Vec<usize> = batches(vec![entry(&big); 5]).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![2, 2, 1]);
        assert!(batches(Vec::new()).is_empty());
    }

    #[tokio::test]
    async fn only_the_failed_entries_are_sent_again() {
        let calls: Mutex<Vec<Vec<String>>> = Mutex::default();
        let send = |batch: Vec<Entry>| {
            let call = calls.lock().unwrap().len();
            calls
                .lock()
                .unwrap()
                .push(batch.iter().map(|e| e.detail.clone()).collect());
            async move {
                // First call: b is throttled, c is malformed; second call: b goes through.
                Ok(batch
                    .iter()
                    .map(|e| match (call, e.detail.as_str()) {
                        (0, "b") => failure("ThrottlingException"),
                        (_, "c") => failure("MalformedDetail"),
                        _ => None,
                    })
                    .collect())
            }
        };
        let given_up = put_with_retries(vec![entry("a"), entry("b"), entry("c")], send).await;
        assert_eq!(*calls.lock().unwrap(), vec![vec!["a", "b", "c"], vec!["b"]]);
        assert_eq!(given_up, vec![failure("MalformedDetail").unwrap()]);
    }

    #[tokio::test]
    async fn retries_are_bounded_and_the_error_says_how_many_and_why() {
        let calls = Mutex::new(0);
        let send = |batch: Vec<Entry>| {
            *calls.lock().unwrap() += 1;
            async move { Ok(batch.iter().map(|_| failure("InternalFailure")).collect()) }
        };
        let given_up = put_with_retries(vec![entry("a"), entry("b")], send).await;
        assert_eq!(*calls.lock().unwrap(), ATTEMPTS as usize);
        assert_eq!(given_up.len(), 2);
        assert_eq!(
            summarise(&given_up),
            "InternalFailure x2 (InternalFailure happened)"
        );

        // A failed call gives up on the whole batch at once (the SDK retried it already).
        let given_up = put_with_retries(vec![entry("a")], |_| async {
            Err("connection refused".into())
        })
        .await;
        assert_eq!(given_up.len(), 1);
        assert!(
            summarise(&given_up)
                .starts_with("RequestFailed x1 (the PutEvents call failed: connection refused")
        );
    }

    fn event_with_text(text: &str) -> DomainEvent {
        DomainEvent {
            id: "01JEVENT".into(),
            kind: crate::domain_events::POST_PUBLISHED.into(),
            time: "2027-01-15T11:00:00Z".parse().unwrap(),
            brand: "acme".into(),
            data: json!({"post_id": "01JPOST", "text": text, "targets": []}),
        }
    }

    #[test]
    fn an_event_is_sent_whole_when_it_fits() {
        let event = event_with_text("Autumn menu ☕");
        let detail = fitting_detail(&event).unwrap();
        assert_eq!(serde_json::from_str::<DomainEvent>(&detail).unwrap(), event);
    }

    #[test]
    fn a_text_too_large_for_an_entry_is_cut_and_flagged() {
        // 64 KB of text, mostly control characters that escape to 6 bytes each: about 314 KB of JSON.
        let text = "\u{1}".repeat(50_000) + &"é".repeat(7_000);
        let event = event_with_text(&text);
        let detail = fitting_detail(&event).unwrap();
        let size = EVENT_SOURCE.len() + event.kind.len() + TIME_BYTES + detail.len();
        assert!(size <= MAX_BYTES_PER_CALL, "{size}");
        let sent: DomainEvent = serde_json::from_str(&detail).unwrap();
        assert_eq!(sent.data["text_truncated"], true);
        let cut = sent.data["text"].as_str().unwrap();
        assert!(text.starts_with(cut) && cut.len() > 10_000, "{}", cut.len());
        assert_eq!(sent.data["post_id"], "01JPOST");
        assert_eq!(sent.id, event.id);
    }

    #[test]
    fn an_event_too_large_without_its_text_is_refused_by_name() {
        let mut event = event_with_text("short");
        event.data["targets"] = json!(["x".repeat(300 * 1024)]);
        let e = fitting_detail(&event).unwrap_err();
        assert!(matches!(e, PutEventsError::TooLarge { .. }), "{e}");
        assert!(e.to_string().contains("01JEVENT"), "{e}");
    }
}
