//! What the publisher function is invoked with, routed to the publishing service: the schedule's
//! tick (every minute) and one publish-target event per claimed target (from the tick's fan-out).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain_events::EVENT_SOURCE;
use crate::fanout::{PUBLISH_TARGET_DETAIL_TYPE, PublishJob};
use crate::services::ServiceError;
use crate::services::publishing::{JobReport, PublishingService, TickReport};
use crate::telemetry::emf;

/// The detail-type of an EventBridge scheduled rule's event (source `aws.events`), also used for
/// EventBridge Scheduler (source `aws.scheduler`) when its input is set to the same shape.
pub const SCHEDULED_EVENT: &str = "Scheduled Event";
/// A tick should end well inside the 5-minute claim lease; past this it logs a warning.
const SLOW_TICK: Duration = Duration::from_secs(60);

/// The work the publisher function does: the publishing service in production, a recording fake
/// in the routing tests.
#[async_trait]
pub trait PublisherWork: Send + Sync {
    async fn tick(&self) -> Result<TickReport, ServiceError>;
    async fn publish_target(&self, job: &PublishJob) -> Result<JobReport, ServiceError>;
}

#[async_trait]
impl PublisherWork for PublishingService {
    async fn tick(&self) -> Result<TickReport, ServiceError> {
        PublishingService::tick(self).await
    }

    async fn publish_target(&self, job: &PublishJob) -> Result<JobReport, ServiceError> {
        PublishingService::publish_target(self, job).await
    }
}

/// The fields of an EventBridge event the routing needs (the rest is ignored).
#[derive(Debug, Deserialize)]
pub(crate) struct EventBridgeEvent {
    pub(crate) source: String,
    #[serde(rename = "detail-type")]
    pub(crate) detail_type: String,
    #[serde(default)]
    pub(crate) detail: Value,
}

/// What an invocation did: the function's answer, and its log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "handled", rename_all = "snake_case")]
pub enum PublisherOutcome {
    Tick {
        posts_examined: usize,
        jobs_dispatched: usize,
        missed: usize,
        errors: usize,
    },
    PublishTarget {
        post_id: String,
        channel_id: String,
        /// `recorded` (with the target's new state) or `skipped` (with why).
        result: &'static str,
        detail: &'static str,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum PublisherError {
    #[error("the publisher was invoked with something that is not an EventBridge event ({0})")]
    NotAnEvent(String),
    #[error(
        "the publisher handles schedule ticks and {PUBLISH_TARGET_DETAIL_TYPE} events, not source {event_source:?} detail-type {detail_type:?}"
    )]
    Unrecognised {
        event_source: String,
        detail_type: String,
    },
    #[error("a {PUBLISH_TARGET_DETAIL_TYPE} event's detail is not a publish job: {0}")]
    BadJob(String),
    /// The store or another port failed: the invocation is retried by Lambda, which is harmless
    /// (ticks are idempotent, only the claim holder records an outcome).
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// Routes one invocation of the publisher function: a schedule tick claims and fans out the due
/// targets; a publish-target event publishes one target under its claim.
pub async fn handle_publisher_event(
    work: &dyn PublisherWork,
    event: Value,
) -> Result<PublisherOutcome, PublisherError> {
    let event = EventBridgeEvent::deserialize(&event)
        .map_err(|e| PublisherError::NotAnEvent(describe(&event, &e)))?;
    match (event.source.as_str(), event.detail_type.as_str()) {
        ("aws.events" | "aws.scheduler", SCHEDULED_EVENT) => {
            let started = Instant::now();
            let report = work.tick().await?;
            let elapsed = started.elapsed();
            if report.missed > 0 {
                emf::targets_failed(crate::domain::post::MISSED, report.missed);
            }
            tracing::info!(
                posts = report.posts_examined,
                jobs = report.jobs_dispatched,
                missed = report.missed,
                errors = report.errors,
                elapsed_ms = elapsed.as_millis() as u64,
                "schedule tick done"
            );
            if elapsed > SLOW_TICK {
                tracing::warn!(
                    elapsed_ms = elapsed.as_millis() as u64,
                    "the schedule tick was slow: it must end well inside the 5-minute claim lease"
                );
            }
            Ok(PublisherOutcome::Tick {
                posts_examined: report.posts_examined,
                jobs_dispatched: report.jobs_dispatched,
                missed: report.missed,
                errors: report.errors,
            })
        }
        (EVENT_SOURCE, PUBLISH_TARGET_DETAIL_TYPE) => {
            let job = PublishJob::deserialize(&event.detail)
                .map_err(|e| PublisherError::BadJob(e.to_string()))?;
            let report = work.publish_target(&job).await?;
            count_outcome(&report);
            let (result, detail) = match report {
                JobReport::Recorded { state, .. } => ("recorded", state),
                JobReport::Skipped(why) => ("skipped", why),
            };
            tracing::info!(
                brand = %job.brand,
                post = %job.post_id,
                channel = %job.channel_id,
                network = job.network.as_str(),
                result,
                detail,
                "publish job done"
            );
            Ok(PublisherOutcome::PublishTarget {
                post_id: job.post_id.to_string(),
                channel_id: job.channel_id.to_string(),
                result,
                detail,
            })
        }
        _ => Err(PublisherError::Unrecognised {
            event_source: event.source,
            detail_type: event.detail_type,
        }),
    }
}

/// The operational metrics of one publish job's end (docs/operations.md). A target still
/// pending (a retry is due later) or a skipped job counts nothing yet.
fn count_outcome(report: &JobReport) {
    let JobReport::Recorded { state, failure } = report else {
        return;
    };
    match (*state, failure) {
        ("published", _) => emf::target_published(),
        ("unknown", _) => emf::unknown_outcome(),
        ("failed", failure) => emf::targets_failed(failure.as_deref().unwrap_or("unknown"), 1),
        _ => {}
    }
}

/// A short description of a payload that is not an event: the decoding error and its top-level
/// keys (never its values, which may be large or private).
pub(crate) fn describe(payload: &Value, error: &serde_json::Error) -> String {
    match payload.as_object() {
        Some(map) => format!(
            "{error}; its keys are [{}]",
            map.keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => format!("{error}; it is a JSON {}", kind_of(payload)),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;

    use super::*;
    use crate::domain::{BrandId, ChannelId, Network, PostId};

    /// Records what the routing asked for.
    #[derive(Default)]
    struct Recorded {
        ticks: Mutex<usize>,
        jobs: Mutex<Vec<PublishJob>>,
    }

    #[async_trait]
    impl PublisherWork for Recorded {
        async fn tick(&self) -> Result<TickReport, ServiceError> {
            *self.ticks.lock().unwrap() += 1;
            Ok(TickReport {
                posts_examined: 3,
                jobs_dispatched: 2,
                missed: 1,
                errors: 0,
            })
        }

        async fn publish_target(&self, job: &PublishJob) -> Result<JobReport, ServiceError> {
            self.jobs.lock().unwrap().push(job.clone());
            Ok(JobReport::Recorded {
                state: "published",
                failure: None,
            })
        }
    }

    fn job() -> PublishJob {
        PublishJob {
            brand: BrandId::parse("acme").unwrap(),
            post_id: PostId::new(),
            channel_id: ChannelId::new(),
            network: Network::Mastodon,
            attempt_id: "01JATTEMPT".into(),
        }
    }

    /// The event a scheduled rule delivers, as documented (and as in aws_lambda_events' fixture
    /// `example-eventbridge-schedule.json`).
    fn scheduled_event(source: &str) -> Value {
        json!({
            "version": "0",
            "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event",
            "source": source,
            "account": "123456789012",
            "time": "2015-10-08T16:53:06Z",
            "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule"],
            "detail": {}
        })
    }

    fn publish_target_event(detail: Value) -> Value {
        json!({
            "version": "0",
            "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": "palinsesto.publish-target",
            "source": "palinsesto",
            "account": "123456789012",
            "time": "2027-01-15T11:00:01Z",
            "region": "eu-south-1",
            "resources": [],
            "detail": detail
        })
    }

    #[tokio::test]
    async fn a_scheduled_event_ticks() {
        for source in ["aws.events", "aws.scheduler"] {
            let work = Recorded::default();
            let outcome = handle_publisher_event(&work, scheduled_event(source))
                .await
                .unwrap();
            assert_eq!(*work.ticks.lock().unwrap(), 1, "{source}");
            assert!(work.jobs.lock().unwrap().is_empty());
            assert_eq!(
                serde_json::to_value(outcome).unwrap(),
                json!({"handled": "tick", "posts_examined": 3, "jobs_dispatched": 2, "missed": 1, "errors": 0})
            );
        }
    }

    #[tokio::test]
    async fn a_publish_target_event_publishes_its_job() {
        let work = Recorded::default();
        let job = job();
        let event = publish_target_event(serde_json::to_value(&job).unwrap());
        let outcome = handle_publisher_event(&work, event).await.unwrap();
        assert_eq!(*work.jobs.lock().unwrap(), vec![job.clone()]);
        assert_eq!(*work.ticks.lock().unwrap(), 0);
        assert_eq!(
            outcome,
            PublisherOutcome::PublishTarget {
                post_id: job.post_id.to_string(),
                channel_id: job.channel_id.to_string(),
                result: "recorded",
                detail: "published",
            }
        );
    }

    /// Answers every job with the same report, and ticks with missed targets.
    struct Answering(JobReport);

    #[async_trait]
    impl PublisherWork for Answering {
        async fn tick(&self) -> Result<TickReport, ServiceError> {
            Ok(TickReport {
                missed: 2,
                ..TickReport::default()
            })
        }

        async fn publish_target(&self, _: &PublishJob) -> Result<JobReport, ServiceError> {
            Ok(self.0.clone())
        }
    }

    #[tokio::test]
    async fn each_end_of_a_target_is_counted_with_its_reason() {
        use crate::telemetry::emf::capture::{Emitted, start};
        let metric = |name: &str, reason: Option<&str>| Emitted {
            name: name.into(),
            reason: reason.map(Into::into),
            value: 1,
        };
        let recorded = |state, failure: Option<&str>| JobReport::Recorded {
            state,
            failure: failure.map(Into::into),
        };
        let cases = [
            (
                recorded("published", None),
                vec![metric("TargetsPublished", None)],
            ),
            (
                recorded("failed", Some("auth_expired")),
                vec![metric("TargetsFailed", Some("auth_expired"))],
            ),
            (
                recorded("unknown", None),
                vec![metric("UnknownOutcomes", None)],
            ),
            // A retry later, or a repeated delivery: nothing ended.
            (recorded("pending", None), vec![]),
            (JobReport::Skipped("not the claim holder"), vec![]),
        ];
        for (report, expected) in cases {
            let kept = start();
            let event = publish_target_event(serde_json::to_value(job()).unwrap());
            handle_publisher_event(&Answering(report.clone()), event)
                .await
                .unwrap();
            assert_eq!(kept.take(), expected, "{report:?}");
        }
        // A tick counts the targets it found missed.
        let kept = start();
        handle_publisher_event(
            &Answering(recorded("published", None)),
            scheduled_event("aws.events"),
        )
        .await
        .unwrap();
        assert_eq!(
            kept.take(),
            vec![Emitted {
                name: "TargetsFailed".into(),
                reason: Some("missed".into()),
                value: 2
            }]
        );
    }

    #[tokio::test]
    async fn anything_else_is_an_error_naming_what_arrived() {
        let work = Recorded::default();
        let mut other = scheduled_event("aws.s3");
        other["detail-type"] = json!("Object Created");
        let e = handle_publisher_event(&work, other).await.unwrap_err();
        assert!(matches!(e, PublisherError::Unrecognised { .. }));
        assert!(e.to_string().contains("\"aws.s3\""), "{e}");
        assert!(e.to_string().contains("\"Object Created\""), "{e}");

        // A palinsesto event of another kind (a domain event) is not a job.
        let mut published = publish_target_event(json!({}));
        published["detail-type"] = json!("post.published");
        assert!(matches!(
            handle_publisher_event(&work, published).await,
            Err(PublisherError::Unrecognised { .. })
        ));

        let e = handle_publisher_event(&work, json!({"Records": []}))
            .await
            .unwrap_err();
        assert!(matches!(e, PublisherError::NotAnEvent(_)));
        assert!(e.to_string().contains("[Records]"), "{e}");

        let e = handle_publisher_event(&work, publish_target_event(json!({"post_id": 1})))
            .await
            .unwrap_err();
        assert!(matches!(e, PublisherError::BadJob(_)), "{e}");

        assert_eq!(*work.ticks.lock().unwrap(), 0);
        assert!(work.jobs.lock().unwrap().is_empty());
    }
}
