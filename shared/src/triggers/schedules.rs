//! What the metrics, reports and connections functions are invoked with: their EventBridge schedule's event,
//! and nothing else.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::publisher::{EventBridgeEvent, SCHEDULED_EVENT, describe};
use crate::services::ServiceError;
use crate::services::connection_worker::{ConnectionTickReport, ConnectionWorker};
use crate::services::inbox_worker::{InboxTickReport, InboxWorker};
use crate::services::metrics::{MetricsService, MetricsTickReport};
use crate::services::reports::{ReportService, ReportsTickReport};

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "the {function} function was invoked with something that is not an EventBridge event ({detail})"
    )]
    NotAnEvent {
        function: &'static str,
        detail: String,
    },
    #[error(
        "the {function} function handles its schedule's events only, not source {event_source:?} detail-type {detail_type:?}"
    )]
    Unrecognised {
        function: &'static str,
        event_source: String,
        detail_type: String,
    },
    /// The store failed: the invocation is retried by Lambda, which is harmless (a snapshot or
    /// report already recorded is not recorded again).
    #[error(transparent)]
    Service(#[from] ServiceError),
}

fn expect_schedule(function: &'static str, event: &Value) -> Result<(), ScheduleError> {
    let parsed = EventBridgeEvent::deserialize(event).map_err(|e| ScheduleError::NotAnEvent {
        function,
        detail: describe(event, &e),
    })?;
    match (parsed.source.as_str(), parsed.detail_type.as_str()) {
        ("aws.events" | "aws.scheduler", SCHEDULED_EVENT) => Ok(()),
        _ => Err(ScheduleError::Unrecognised {
            function,
            event_source: parsed.source,
            detail_type: parsed.detail_type,
        }),
    }
}

/// The metrics function's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MetricsOutcome {
    pub due: usize,
    pub snapshots: usize,
    pub failed: usize,
    pub stopped: usize,
}

impl From<MetricsTickReport> for MetricsOutcome {
    fn from(r: MetricsTickReport) -> Self {
        Self {
            due: r.due,
            snapshots: r.snapshots,
            failed: r.failed,
            stopped: r.stopped,
        }
    }
}

pub async fn handle_metrics_event(
    service: &MetricsService,
    event: Value,
) -> Result<MetricsOutcome, ScheduleError> {
    expect_schedule("metrics", &event)?;
    Ok(service.tick().await?.into())
}

/// The connections function: the tasks due (revocations, renewals, expiry notices).
pub async fn handle_connections_event(
    worker: &ConnectionWorker,
    event: Value,
) -> Result<ConnectionTickReport, ScheduleError> {
    expect_schedule("connections", &event)?;
    Ok(worker.tick().await?)
}

/// The inbox function: the streams due polled, then the replies due sent.
pub async fn handle_inbox_event(
    worker: &InboxWorker,
    event: Value,
) -> Result<InboxTickReport, ScheduleError> {
    expect_schedule("inbox", &event)?;
    Ok(worker.tick().await?)
}

/// The reports function's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReportsOutcome {
    pub written: usize,
    pub failed: usize,
}

impl From<ReportsTickReport> for ReportsOutcome {
    fn from(r: ReportsTickReport) -> Self {
        Self {
            written: r.written,
            failed: r.failed,
        }
    }
}

pub async fn handle_reports_event(
    service: &ReportService,
    event: Value,
) -> Result<ReportsOutcome, ScheduleError> {
    expect_schedule("reports", &event)?;
    let report = service.tick().await?;
    crate::telemetry::emf::reports_failed(report.failed);
    Ok(report.into())
}
