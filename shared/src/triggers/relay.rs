//! What the relay function is invoked with: batches of the table's stream (its event source
//! mapping lets through only new outbox items) and its schedule's tick (webhook deliveries that
//! are due again).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::publisher::{EventBridgeEvent, SCHEDULED_EVENT, describe};
use crate::domain_events::DomainEvent;
use crate::services::ServiceError;
use crate::services::relay::{RelayReport, RelayService};
use crate::store::outbox::is_outbox_key;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(
        "the relay function was invoked with neither a stream batch nor an EventBridge event ({0})"
    )]
    NotAnEvent(String),
    #[error(
        "the relay function handles its schedule's events only, not source {event_source:?} detail-type {detail_type:?}"
    )]
    Unrecognised {
        event_source: String,
        detail_type: String,
    },
    /// A stream record whose new image is not an outbox event: the batch fails, Lambda bisects it
    /// and the record ends in the failure queue after its retries.
    #[error("stream record {event_id} cannot be read as an outbox event: {why}")]
    BadRecord { event_id: String, why: String },
    /// The bus or the store failed: the batch is read again (same event ids).
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// The relay function's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RelayOutcome {
    pub events: usize,
    pub delivered: usize,
    pub failed_attempts: usize,
    pub given_up: usize,
}

impl From<RelayReport> for RelayOutcome {
    fn from(r: RelayReport) -> Self {
        Self {
            events: r.events,
            delivered: r.delivered,
            failed_attempts: r.failed_attempts,
            given_up: r.given_up,
        }
    }
}

impl RelayOutcome {
    /// Its operational metrics (docs/operations.md).
    fn count(&self) {
        crate::telemetry::emf::webhook_deliveries(self.events, self.failed_attempts, self.given_up);
    }
}

/// A stream record's keys, as far as the relay reads them.
#[derive(Debug, Deserialize)]
struct RecordKey {
    pk: String,
}

/// The new image of an outbox item, as far as the relay reads it.
#[derive(Debug, Deserialize)]
struct OutboxImage {
    body: DomainEvent,
}

/// The outbox events of a stream batch, in stream order. Records that are not inserts of outbox
/// items (the filter should let none through) are skipped with a log line.
pub fn outbox_events(
    batch: aws_lambda_events::event::dynamodb::Event,
) -> Result<Vec<DomainEvent>, RelayError> {
    let mut events = Vec::with_capacity(batch.records.len());
    for record in batch.records {
        if record.event_name != "INSERT" {
            tracing::warn!(event_id = %record.event_id, event_name = %record.event_name, "a stream record that is not an insert reached the relay; skipped");
            continue;
        }
        let key: RecordKey =
            serde_dynamo::from_item(record.change.keys).map_err(|e| RelayError::BadRecord {
                event_id: record.event_id.clone(),
                why: format!("its keys: {e}"),
            })?;
        if !is_outbox_key(&key.pk) {
            tracing::warn!(event_id = %record.event_id, "a stream record of another item reached the relay; skipped");
            continue;
        }
        let image: OutboxImage = serde_dynamo::from_item(record.change.new_image).map_err(|e| {
            RelayError::BadRecord {
                event_id: record.event_id.clone(),
                why: e.to_string(),
            }
        })?;
        events.push(image.body);
    }
    Ok(events)
}

/// Routes one invocation of the relay function.
pub async fn handle_relay_event(
    service: &RelayService,
    event: Value,
) -> Result<RelayOutcome, RelayError> {
    if event.get("Records").is_some() {
        let batch: aws_lambda_events::event::dynamodb::Event =
            serde_json::from_value(event.clone())
                .map_err(|e| RelayError::NotAnEvent(describe(&event, &e)))?;
        let events = outbox_events(batch)?;
        let outcome = RelayOutcome::from(service.relay(events).await?);
        outcome.count();
        tracing::info!(
            events = outcome.events,
            delivered = outcome.delivered,
            failed_attempts = outcome.failed_attempts,
            "relayed"
        );
        return Ok(outcome);
    }
    let parsed = EventBridgeEvent::deserialize(&event)
        .map_err(|e| RelayError::NotAnEvent(describe(&event, &e)))?;
    match (parsed.source.as_str(), parsed.detail_type.as_str()) {
        ("aws.events" | "aws.scheduler", SCHEDULED_EVENT) => {
            let outcome = RelayOutcome::from(service.deliver_due().await?);
            outcome.count();
            Ok(outcome)
        }
        _ => Err(RelayError::Unrecognised {
            event_source: parsed.source,
            detail_type: parsed.detail_type,
        }),
    }
}
