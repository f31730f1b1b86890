//! Operational metrics in CloudWatch's embedded metric format (EMF): one JSON line on stdout,
//! which Lambda's log pipeline turns into metrics of the `Palinsesto` namespace without an API
//! call. The alarms and the dashboard in template.yaml read them (docs/operations.md lists them).
//! Only the trigger layer calls these functions, never the domain or the services.
//!
//! Written by hand as one serde_json line, no EMF crate: the format is one small object, and the
//! crates bring a metrics facade and a background flusher that a short-lived invocation does not
//! need. Only the Lambda functions emit (`enable`, from `telemetry::init_lambda`); the local
//! runner's stdout stays for people.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "Palinsesto";

/// Targets that reached `published`.
pub const TARGETS_PUBLISHED: &str = "TargetsPublished";
/// Targets that ended `failed`, by `Reason` (the failure's kind: `auth_expired`, `rate_limited`,
/// `missed`, ...).
pub const TARGETS_FAILED: &str = "TargetsFailed";
/// Attempts whose outcome is unknown (the network may have taken the post; checked later).
pub const UNKNOWN_OUTCOMES: &str = "UnknownOutcomes";
/// Uploaded files intake refused, by `Reason` (the rejection code).
pub const ASSETS_REJECTED: &str = "AssetsRejected";
/// Due reports that could not be written in a tick.
pub const REPORTS_FAILED: &str = "ReportsFailed";
/// Events the relay took from the outbox.
pub const EVENTS_RELAYED: &str = "EventsRelayed";
/// Webhook delivery attempts that failed (each is retried until its last).
pub const WEBHOOK_DELIVERIES_FAILED: &str = "WebhookDeliveriesFailed";
/// Webhook deliveries given up after their last attempt.
pub const WEBHOOK_DELIVERIES_GIVEN_UP: &str = "WebhookDeliveriesGivenUp";

/// The dimension every metric has: the Lambda function's own name, so two stacks never mix.
pub const FUNCTION: &str = "Function";
/// The second dimension of the metrics counted by reason.
pub const REASON: &str = "Reason";

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns emission on (the Lambda functions only).
pub(super) fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// A target reached `published`.
pub fn target_published() {
    emit(None, &[(TARGETS_PUBLISHED, 1)]);
}

/// `count` targets ended `failed` for `reason` (the failure's kind).
pub fn targets_failed(reason: &str, count: usize) {
    emit(Some(reason), &[(TARGETS_FAILED, count as u64)]);
}

/// An attempt's outcome is unknown.
pub fn unknown_outcome() {
    emit(None, &[(UNKNOWN_OUTCOMES, 1)]);
}

/// Intake refused a file with the rejection code `code`.
pub fn asset_rejected(code: &str) {
    emit(Some(code), &[(ASSETS_REJECTED, 1)]);
}

/// A reports tick could not write `count` due reports (0 is emitted too, so the alarm sees data).
pub fn reports_failed(count: usize) {
    emit(None, &[(REPORTS_FAILED, count as u64)]);
}

/// `count` webhook delivery attempts failed: what a webhook delivery worker calls after each
/// batch (the alarm `WebhookDeliveriesFailingAlarm` reads it).
pub fn webhook_delivery_failed(count: usize) {
    emit(None, &[(WEBHOOK_DELIVERIES_FAILED, count as u64)]);
}

/// A relay batch or delivery tick: events relayed, delivery attempts failed, deliveries given up.
pub fn webhook_deliveries(relayed: usize, failed: usize, given_up: usize) {
    emit(
        None,
        &[
            (EVENTS_RELAYED, relayed as u64),
            (WEBHOOK_DELIVERIES_FAILED, failed as u64),
            (WEBHOOK_DELIVERIES_GIVEN_UP, given_up as u64),
        ],
    );
}

/// The EMF line for `metrics` (name, count), all of unit `Count`, with the `Function` dimension
/// and, with a `reason`, the `Function` + `Reason` set too: each metric is then published both per
/// function (what the alarms read) and per function and reason (what the dashboard breaks down).
pub fn line(function: &str, reason: Option<&str>, metrics: &[(&str, u64)], at_ms: i64) -> String {
    let mut dimensions = vec![json!([FUNCTION])];
    let mut record = Map::new();
    record.insert(FUNCTION.into(), json!(function));
    if let Some(reason) = reason {
        dimensions.push(json!([FUNCTION, REASON]));
        record.insert(REASON.into(), json!(reason));
    }
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|(name, _)| json!({"Name": name, "Unit": "Count"}))
        .collect();
    for (name, value) in metrics {
        record.insert((*name).into(), json!(value));
    }
    record.insert(
        "_aws".into(),
        json!({
            "Timestamp": at_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": dimensions,
                "Metrics": definitions,
            }],
        }),
    );
    Value::Object(record).to_string()
}

fn emit(reason: Option<&str>, metrics: &[(&str, u64)]) {
    #[cfg(any(test, feature = "test-fixtures"))]
    let captured = capture::keep(reason, metrics);
    #[cfg(not(any(test, feature = "test-fixtures")))]
    let captured = false;
    if captured || !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let function =
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "unnamed".to_owned());
    let now = jiff::Timestamp::now().as_millisecond();
    println!("{}", line(&function, reason, metrics, now));
}

/// What a test's thread emitted, instead of stdout.
#[cfg(any(test, feature = "test-fixtures"))]
pub mod capture {
    use std::cell::RefCell;

    /// One metric as emitted: its name, its reason (if any) and its value.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Emitted {
        pub name: String,
        pub reason: Option<String>,
        pub value: u64,
    }

    thread_local! {
        static KEPT: RefCell<Option<Vec<Emitted>>> = const { RefCell::new(None) };
    }

    /// From now until the guard drops, what this thread emits is kept (a `#[tokio::test]` runs
    /// on one thread, so the handlers it awaits emit here).
    pub fn start() -> Capture {
        KEPT.with(|k| *k.borrow_mut() = Some(Vec::new()));
        Capture(())
    }

    pub struct Capture(());

    impl Capture {
        /// Everything emitted since the last call.
        pub fn take(&self) -> Vec<Emitted> {
            KEPT.with(|k| {
                k.borrow_mut()
                    .as_mut()
                    .map(std::mem::take)
                    .unwrap_or_default()
            })
        }
    }

    impl Drop for Capture {
        fn drop(&mut self) {
            KEPT.with(|k| *k.borrow_mut() = None);
        }
    }

    pub(super) fn keep(reason: Option<&str>, metrics: &[(&str, u64)]) -> bool {
        KEPT.with(|k| match k.borrow_mut().as_mut() {
            Some(kept) => {
                kept.extend(metrics.iter().map(|(name, value)| Emitted {
                    name: (*name).to_owned(),
                    reason: reason.map(str::to_owned),
                    value: *value,
                }));
                true
            }
            None => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_the_embedded_metric_format() {
        let line = line(
            "stack-PublisherFunction-1",
            Some("auth_expired"),
            &[(TARGETS_FAILED, 1)],
            1_768_471_200_000,
        );
        assert!(!line.contains('\n'), "one line: {line}");
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["Function"], "stack-PublisherFunction-1");
        assert_eq!(v["Reason"], "auth_expired");
        assert_eq!(v[TARGETS_FAILED], 1);
        assert_eq!(v["_aws"]["Timestamp"], 1_768_471_200_000i64);
        let spec = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(spec["Namespace"], "Palinsesto");
        assert_eq!(
            spec["Dimensions"],
            json!([["Function"], ["Function", "Reason"]])
        );
        assert_eq!(
            spec["Metrics"],
            json!([{"Name": "TargetsFailed", "Unit": "Count"}])
        );
        // Every dimension named has its value as a member, every metric its number.
        for set in spec["Dimensions"].as_array().unwrap() {
            for name in set.as_array().unwrap() {
                assert!(v[name.as_str().unwrap()].is_string(), "{name}");
            }
        }
    }

    #[test]
    fn without_a_reason_one_dimension_set_and_every_metric_valued() {
        let v: Value = serde_json::from_str(&line(
            "relay",
            None,
            &[(EVENTS_RELAYED, 3), (WEBHOOK_DELIVERIES_FAILED, 2)],
            0,
        ))
        .unwrap();
        let spec = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(spec["Dimensions"], json!([["Function"]]));
        assert!(v.get("Reason").is_none());
        assert_eq!(
            spec["Metrics"],
            json!([
                {"Name": "EventsRelayed", "Unit": "Count"},
                {"Name": "WebhookDeliveriesFailed", "Unit": "Count"}
            ])
        );
        assert_eq!(
            (&v["EventsRelayed"], &v["WebhookDeliveriesFailed"]),
            (&json!(3), &json!(2))
        );
    }

    #[test]
    fn a_test_thread_keeps_what_it_emits() {
        let kept = capture::start();
        targets_failed("rate_limited", 2);
        webhook_delivery_failed(1);
        assert_eq!(
            kept.take(),
            vec![
                capture::Emitted {
                    name: TARGETS_FAILED.into(),
                    reason: Some("rate_limited".into()),
                    value: 2
                },
                capture::Emitted {
                    name: WEBHOOK_DELIVERIES_FAILED.into(),
                    reason: None,
                    value: 1
                },
            ]
        );
        assert!(kept.take().is_empty());
    }
}
