//! `template.yaml` against the code: every function crate is deployed with a trigger and its
//! environment, and the table the code's key design needs is the one the template creates.
//! Then what an operator relies on: every function logs with a retention, is watched by alarms
//! that can reach a person, parks failed asynchronous invocations in a watched queue, and holds
//! only the rights it needs (credentials readable by the publisher and metrics only, reports
//! written under `reports/` only, publish jobs put by the publisher only).

use std::collections::BTreeSet;

use palinsesto::domain::BrandId;
use palinsesto::domain_events::EVENT_SOURCE;
use palinsesto::fanout::PUBLISH_TARGET_DETAIL_TYPE;
use palinsesto::store::Index;
use palinsesto::store::keys::{self, table};
use palinsesto::telemetry::emf;
use palinsesto_system_tests::template::{
    AlarmSpec, FunctionSpec, Statement, alarms, condition_mentions, dashboards, functions,
    glob_match, log_retention_days, output_values, parameters, resource_types, subscriptions,
    table_spec,
};

fn function_crates() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions");
    let mut crates: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    crates.sort();
    crates
}

#[test]
fn every_function_crate_is_deployed_with_a_trigger_and_its_environment() {
    let deployed = functions();
    for name in function_crates() {
        let f = deployed
            .iter()
            .find(|f| f.binary == name)
            .unwrap_or_else(|| panic!("functions/{name} is not deployed by template.yaml (no function with Binary: {name})"));
        assert_eq!(f.build_method, "rust-cargolambda", "{}", f.logical_id);
        assert_eq!(f.runtime, "provided.al2023", "{}", f.logical_id);
        assert_eq!(f.architectures, ["arm64"], "{}", f.logical_id);
        assert!(
            !f.triggers.is_empty(),
            "{} has no trigger (Events)",
            f.logical_id
        );
        assert!(
            f.environment.iter().any(|v| v == "TABLE_NAME"),
            "{} lacks TABLE_NAME",
            f.logical_id
        );
    }
    // And nothing is deployed that is not built from this repository.
    for f in &deployed {
        assert!(
            function_crates().contains(&f.binary),
            "{} deploys {}, which is not a crate under functions/",
            f.logical_id,
            f.binary
        );
    }
}

#[test]
fn the_template_table_is_the_one_the_key_design_needs() {
    let spec = table_spec();
    assert_eq!(
        (spec.hash_key.as_str(), spec.range_key.as_str()),
        (table::PK, table::SK)
    );
    assert_eq!(spec.ttl_attribute.as_deref(), Some(table::TTL));
    assert_eq!(spec.indexes.len(), Index::ALL.len(), "{:?}", spec.indexes);
    for index in Index::ALL {
        let (name, pk, sk) = table::index(index);
        let declared = spec
            .indexes
            .iter()
            .find(|i| i.0 == name)
            .unwrap_or_else(|| panic!("index {name} is missing from template.yaml"));
        assert_eq!(
            (declared.1.as_str(), declared.2.as_str()),
            (pk, sk),
            "{name}"
        );
        // The store decodes whole items from index queries.
        assert_eq!(declared.3, "ALL", "{name} must project ALL attributes");
    }
    for (attribute, kind) in &spec.attributes {
        assert_eq!(kind, "S", "{attribute}: every key attribute is a string");
    }
}

fn resource_type(logical_id: &str) -> Option<String> {
    resource_types()
        .into_iter()
        .find(|(id, _)| id == logical_id)
        .map(|(_, kind)| kind)
}

fn deployed(binary: &str) -> FunctionSpec {
    functions()
        .into_iter()
        .find(|f| f.binary == binary)
        .unwrap_or_else(|| panic!("template.yaml deploys no function with Binary: {binary}"))
}

/// Lambda invokes these triggers' events asynchronously: failures are retried by Lambda and then
/// dropped unless the function has an on-failure destination.
const ASYNC_TRIGGERS: &[&str] = &[
    "Schedule",
    "ScheduleV2",
    "EventBridgeRule",
    "CloudWatchEvent",
    "S3",
    "SNS",
];
/// The caller waits for these and sees the failure itself.
const SYNC_TRIGGERS: &[&str] = &["HttpApi", "Api"];
/// Event source mappings: Lambda polls them and parks what fails on the mapping's own
/// destination.
const STREAM_TRIGGERS: &[&str] = &["DynamoDB", "Kinesis"];

/// The queue of a destination written `!GetAtt <queue>.Arn`, which must be an SQS queue of the
/// template with an alarm that goes off on its first message.
fn watched_queue(function: &str, target: &str, alarms: &[AlarmSpec]) -> String {
    let queue = target
        .strip_suffix(".Arn")
        .unwrap_or_else(|| {
            panic!(
                "{function}: the on-failure destination must be !GetAtt <queue>.Arn, not {target}"
            )
        })
        .to_owned();
    assert_eq!(
        resource_type(&queue).as_deref(),
        Some("AWS::SQS::Queue"),
        "{function}: {queue} is not a queue of the template"
    );
    assert!(
        alarms.iter().any(|a| a.namespace == "AWS/SQS"
            && a.metric == "ApproximateNumberOfMessagesVisible"
            && a.dimension("QueueName") == Some(&format!("{queue}.QueueName"))
            && a.fires_on_any()),
        "no alarm goes off when {queue} (failures of {function}) has a message"
    );
    queue
}

#[test]
fn every_lambda_function_is_held_to_the_operating_checks() {
    // The checks below read AWS::Serverless::Function resources; a function declared another
    // way would escape them (its logs, alarms and failure queue unchecked).
    let checked: Vec<String> = functions().into_iter().map(|f| f.logical_id).collect();
    for (id, kind) in resource_types() {
        if kind == "AWS::Lambda::Function" || kind == "AWS::Serverless::Function" {
            assert!(
                checked.contains(&id),
                "{id} ({kind}): declare it as an AWS::Serverless::Function built from functions/, so its log group, alarms and failure queue are checked"
            );
        }
    }
}

#[test]
fn every_event_source_mapping_parks_failures_in_a_watched_queue() {
    let alarms = alarms();
    let functions = functions();
    // The relay's stream is read, so an empty list below is not the reader missing them.
    assert!(
        functions.iter().any(|f| !f.stream_failures.is_empty()),
        "no event source mapping found"
    );
    for f in functions {
        for (trigger, destination) in &f.stream_failures {
            let target = destination.as_deref().unwrap_or_else(|| {
                panic!(
                    "{}: its {trigger} event source has no DestinationConfig.OnFailure: a batch that keeps failing would be dropped unseen",
                    f.logical_id
                )
            });
            watched_queue(&f.logical_id, target, &alarms);
        }
    }
}

#[test]
fn every_function_logs_to_its_own_group_with_a_retention() {
    let mut groups = BTreeSet::new();
    for f in functions() {
        let group = f
            .log_group
            .clone()
            .unwrap_or_else(|| panic!("{} has no LoggingConfig.LogGroup", f.logical_id));
        let days = log_retention_days(&group).unwrap_or_else(|| {
            panic!(
                "{}'s log group {group} is not a log group with RetentionInDays (a number or a parameter with a default)",
                f.logical_id
            )
        });
        assert!(days > 0, "{group}: retention {days}");
        assert!(
            groups.insert(group.clone()),
            "{group} is shared by two functions"
        );
    }
}

#[test]
fn every_asynchronously_invoked_function_parks_failures_in_a_watched_queue() {
    let alarms = alarms();
    for f in functions() {
        for trigger in &f.triggers {
            assert!(
                ASYNC_TRIGGERS.contains(&trigger.as_str())
                    || SYNC_TRIGGERS.contains(&trigger.as_str())
                    || STREAM_TRIGGERS.contains(&trigger.as_str()),
                "{}: classify the trigger type {trigger} as synchronous or asynchronous in this test",
                f.logical_id
            );
        }
        if !f
            .triggers
            .iter()
            .any(|t| ASYNC_TRIGGERS.contains(&t.as_str()))
        {
            // Only synchronous callers (the HTTP API): they get the failure, and the Errors
            // alarm below tells the operator.
            continue;
        }
        assert!(
            f.max_retry_attempts.is_some(),
            "{}: set EventInvokeConfig.MaximumRetryAttempts deliberately",
            f.logical_id
        );
        let destination = f.on_failure.clone().unwrap_or_else(|| {
            panic!(
                "{} is invoked asynchronously ({:?}) but has no EventInvokeConfig.DestinationConfig.OnFailure",
                f.logical_id, f.triggers
            )
        });
        assert_eq!(destination.kind, "SQS", "{}", f.logical_id);
        watched_queue(&f.logical_id, &destination.target, &alarms);
    }
}

#[test]
fn every_function_has_errors_and_throttles_alarms_that_reach_a_person() {
    let alarms = alarms();
    for f in functions() {
        for metric in ["Errors", "Throttles"] {
            assert!(
                alarms.iter().any(|a| a.namespace == "AWS/Lambda"
                    && a.metric == metric
                    && a.dimension("FunctionName") == Some(f.logical_id.as_str())
                    && a.fires_on_any()),
                "{} has no alarm on its {metric}",
                f.logical_id
            );
        }
    }
    // The API answers its own failures as 5xx without failing the invocation.
    assert!(
        alarms.iter().any(|a| a.namespace == "AWS/ApiGateway"
            && a.metric == "5xx"
            && a.dimension("ApiId") == Some("HttpApi")
            && a.fires_on_any()),
        "no alarm on the HTTP API's 5xx answers"
    );

    // Every alarm notifies the one topic; its e-mail subscription exists only when an address
    // was given.
    let topics: BTreeSet<String> = alarms
        .iter()
        .flat_map(|a| {
            assert!(
                !a.alarm_actions.is_empty(),
                "{} notifies nobody",
                a.logical_id
            );
            a.alarm_actions.clone()
        })
        .collect();
    assert_eq!(topics.len(), 1, "alarms notify {topics:?}");
    let topic = topics.into_iter().next().unwrap();
    assert_eq!(
        resource_type(&topic).as_deref(),
        Some("AWS::SNS::Topic"),
        "{topic}"
    );
    assert!(
        parameters()
            .iter()
            .any(|(name, default)| name == "AlarmEmail" && default.as_deref() == Some("")),
        "the AlarmEmail parameter must exist and default to empty (no subscription)"
    );
    let subscriptions = subscriptions();
    let email = subscriptions
        .iter()
        .find(|(t, protocol, _, _)| *t == topic && protocol == "email")
        .expect("an e-mail subscription to the alarm topic");
    assert_eq!(email.2, "AlarmEmail");
    let condition = email
        .3
        .as_deref()
        .expect("the e-mail subscription must have a Condition (none without an address)");
    assert!(
        condition_mentions(condition)
            .iter()
            .any(|m| m == "AlarmEmail"),
        "the condition {condition} must test AlarmEmail"
    );
}

/// The functions' own metrics (telemetry::emf) with an alarm, and the function that emits each.
const ALARMED_METRICS: &[(&str, &str)] = &[
    (emf::TARGETS_FAILED, "publisher"),
    (emf::UNKNOWN_OUTCOMES, "publisher"),
    (emf::ASSETS_REJECTED, "asset-intake"),
    (emf::REPORTS_FAILED, "reports"),
    (emf::WEBHOOK_DELIVERIES_FAILED, "relay"),
];

#[test]
fn the_functions_own_metrics_have_alarms() {
    let alarms = alarms();
    for (metric, binary) in ALARMED_METRICS {
        let function = deployed(binary).logical_id;
        let alarm = alarms
            .iter()
            .find(|a| {
                a.namespace == emf::NAMESPACE
                    && a.metric == *metric
                    && a.dimension(emf::FUNCTION) == Some(function.as_str())
            })
            .unwrap_or_else(|| panic!("no alarm on {}/{metric} of {function}", emf::NAMESPACE));
        // The dimensions are exactly the ones the lines carry, or the alarm reads nothing.
        assert_eq!(alarm.dimensions.len(), 1, "{}", alarm.logical_id);
        assert!(
            alarm.threshold >= 0.0 && alarm.comparison.starts_with("GreaterThan"),
            "{}",
            alarm.logical_id
        );
    }
    // Unknown outcomes and failed reports are never routine: the first one is worth a look.
    for metric in [emf::UNKNOWN_OUTCOMES, emf::REPORTS_FAILED] {
        assert!(
            alarms
                .iter()
                .any(|a| a.namespace == emf::NAMESPACE && a.metric == metric && a.fires_on_any()),
            "{metric}"
        );
    }
}

/// A dashboard's body with each `${Resource}` of its `!Sub` replaced by the resource's logical
/// id, as JSON.
fn dashboard_json(body: &str) -> serde_json::Value {
    let mut text = String::new();
    let mut rest = body;
    while let Some(start) = rest.find("${") {
        text.push_str(&rest[..start]);
        let end = start + rest[start..].find('}').expect("a closed ${...}");
        text.push_str(&rest[start + 2..end]);
        rest = &rest[end + 1..];
    }
    text.push_str(rest);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the dashboard body is not JSON: {e}"))
}

#[test]
fn the_dashboard_shows_the_metrics_and_every_function() {
    let dashboards = dashboards();
    assert_eq!(dashboards.len(), 1, "one operations dashboard");
    let body = dashboard_json(&dashboards[0].1);
    let widgets = body["widgets"].as_array().expect("widgets");
    // Each metric row as [namespace, name, dimension, value, ...] ("." repeats the row above),
    // and each expression's text.
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut expressions: Vec<String> = Vec::new();
    for widget in widgets {
        let properties = &widget["properties"];
        assert!(properties["region"].is_string(), "{}", properties["title"]);
        let mut previous: Vec<String> = Vec::new();
        for row in properties["metrics"].as_array().into_iter().flatten() {
            let items = row.as_array().expect("a metric row is a list");
            if let Some(e) = items.first().and_then(|i| i["expression"].as_str()) {
                expressions.push(e.to_owned());
                continue;
            }
            let row: Vec<String> = items
                .iter()
                .filter_map(|i| i.as_str())
                .enumerate()
                .map(|(n, i)| {
                    if i == "." {
                        previous.get(n).cloned().unwrap_or_default()
                    } else {
                        i.to_owned()
                    }
                })
                .collect();
            previous = row.clone();
            rows.push(row);
        }
    }
    let has_row = |namespace: &str, metric: &str, dimension: &str, value: &str| {
        rows.iter().any(|r| {
            r.len() >= 4
                && r[0] == namespace
                && r[1] == metric
                && r[2..]
                    .windows(2)
                    .any(|d| d[0] == dimension && d[1] == value)
        })
    };
    for f in functions() {
        for metric in ["Errors", "Throttles"] {
            assert!(
                has_row("AWS/Lambda", metric, "FunctionName", &f.logical_id),
                "the dashboard does not show {}'s {metric}",
                f.logical_id
            );
        }
    }
    for (metric, binary) in [
        (emf::TARGETS_PUBLISHED, "publisher"),
        (emf::TARGETS_FAILED, "publisher"),
        (emf::UNKNOWN_OUTCOMES, "publisher"),
        (emf::REPORTS_FAILED, "reports"),
        (emf::EVENTS_RELAYED, "relay"),
        (emf::WEBHOOK_DELIVERIES_FAILED, "relay"),
        (emf::WEBHOOK_DELIVERIES_GIVEN_UP, "relay"),
    ] {
        let function = deployed(binary).logical_id;
        assert!(
            has_row(emf::NAMESPACE, metric, emf::FUNCTION, &function),
            "the dashboard does not show {metric} of {function}"
        );
    }
    // The metrics counted by reason are broken down by it.
    for (metric, binary) in [
        (emf::TARGETS_FAILED, "publisher"),
        (emf::ASSETS_REJECTED, "asset-intake"),
    ] {
        let function = deployed(binary).logical_id;
        let search = format!(
            "{{{},{},{}}} MetricName=\"{metric}\" {}=\"{function}\"",
            emf::NAMESPACE,
            emf::FUNCTION,
            emf::REASON,
            emf::FUNCTION
        );
        assert!(
            expressions.iter().any(|e| e.contains(&search)),
            "no widget shows {metric} by reason ({search}) in {expressions:?}"
        );
    }
}

#[test]
fn the_ticks_run_on_their_schedules() {
    for (binary, schedule) in [
        ("publisher", "rate(1 minute)"),
        ("metrics", "rate(15 minutes)"),
        ("connections", "rate(5 minutes)"),
        ("inbox", "rate(1 minute)"),
        ("reports", "rate(1 hour)"),
    ] {
        let f = deployed(binary);
        assert_eq!(f.schedules, [schedule], "{}", f.logical_id);
    }
    let reports = deployed("reports");
    for variable in ["TABLE_NAME", "BUCKET_NAME"] {
        assert!(
            reports.environment.iter().any(|v| v == variable),
            "reports lacks {variable}"
        );
    }
    // Its event goes to the outbox with the schedule's write; the relay puts it on the bus.
    assert!(!reports.environment.iter().any(|v| v == "EVENT_BUS_NAME"));
    let relay = deployed("relay");
    assert_eq!(relay.schedules, ["rate(1 minute)"], "{}", relay.logical_id);
    assert!(relay.environment.iter().any(|v| v == "EVENT_BUS_NAME"));
}

#[test]
fn the_relay_reads_only_new_outbox_items_and_parks_what_fails() {
    let template = palinsesto_system_tests::template::load();
    let table = &template["Resources"]["Table"]["Properties"];
    assert_eq!(
        table["StreamSpecification"]["StreamViewType"].as_str(),
        Some("NEW_IMAGE"),
        "the relay reads the new image of outbox items"
    );
    let relay = &template["Resources"]["RelayFunction"]["Properties"];
    let stream = &relay["Events"]["Outbox"]["Properties"];
    assert_eq!(stream["Stream"].as_str(), Some("Table.StreamArn"));
    // The filter is the code's outbox prefix, on inserts only.
    let pattern: serde_json::Value = serde_json::from_str(
        stream["FilterCriteria"]["Filters"][0]["Pattern"]
            .as_str()
            .expect("a filter pattern"),
    )
    .expect("the pattern is JSON");
    assert_eq!(pattern["eventName"], serde_json::json!(["INSERT"]));
    assert_eq!(
        pattern["dynamodb"]["Keys"]["pk"]["S"][0]["prefix"],
        palinsesto::store::keys::OUTBOX_PREFIX
    );
    // A batch that keeps failing is split, retried a bounded number of times, then parked in a
    // watched queue; the stream moves on.
    assert_eq!(stream["BisectBatchOnFunctionError"].as_bool(), Some(true));
    assert!(
        stream["MaximumRetryAttempts"]
            .as_i64()
            .is_some_and(|n| n > 0)
    );
    assert_eq!(
        stream["DestinationConfig"]["OnFailure"]["Destination"].as_str(),
        Some("RelayFailures.Arn")
    );
    assert!(
        alarms().iter().any(|a| a
            .dimensions
            .iter()
            .any(|(_, v)| v.contains("RelayFailures"))),
        "RelayFailures needs an alarm"
    );
}

fn is_table(resource: &str) -> bool {
    matches!(resource, "Table.Arn" | "${Table.Arn}" | "*")
}

/// Whether a Deny statement keeps `action` off the credentials partition `credentials_pk`.
fn denies_on_credentials(s: &Statement, action: &str, credentials_pk: &str) -> bool {
    if s.allow || !s.covers_action(action) || !s.resources.iter().any(|r| is_table(r)) {
        return false;
    }
    if s.conditions.is_empty() {
        return true;
    }
    // A Scan or a PartiQL statement has no leading key for the condition to see.
    let keyed = !matches!(action, "dynamodb:Scan" | "dynamodb:PartiQLSelect");
    let patterns = s.condition("ForAnyValue:StringLike", "dynamodb:LeadingKeys");
    keyed && s.conditions.len() == 1 && patterns.iter().any(|p| glob_match(p, credentials_pk))
}

/// Whether a function's role can read a credentials item.
fn reads_credentials(f: &FunctionSpec) -> bool {
    let credentials_pk = keys::credentials_pk(&BrandId::parse("acme").unwrap());
    [
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "dynamodb:PartiQLSelect",
    ]
    .into_iter()
    .any(|action| {
        let allowed = f
            .statements
            .iter()
            .any(|s| s.allow && s.covers_action(action) && s.resources.iter().any(|r| is_table(r)));
        let denied = f
            .statements
            .iter()
            .any(|s| denies_on_credentials(s, action, &credentials_pk));
        allowed && !denied
    })
}

#[test]
fn only_the_functions_that_call_the_networks_can_read_channel_credentials() {
    let brand = BrandId::parse("acme").unwrap();
    let mut readers = BTreeSet::new();
    for f in functions() {
        assert!(
            f.opaque_policies.is_empty(),
            "{}: policies must be inline statements so this test can read them: {:?}",
            f.logical_id,
            f.opaque_policies
        );
        // A deny on credentials must not also deny the brand's own items.
        for s in f.statements.iter().filter(|s| !s.allow) {
            for pattern in s.condition("ForAnyValue:StringLike", "dynamodb:LeadingKeys") {
                for pk in [keys::brand_pk(&brand), keys::posts_by_time_pk(&brand)] {
                    assert!(
                        !glob_match(pattern, &pk),
                        "{} {}: {pattern} also denies {pk}",
                        f.logical_id,
                        s.sid
                    );
                }
            }
        }
        if reads_credentials(&f) {
            readers.insert(f.binary.clone());
        }
    }
    assert_eq!(
        readers,
        BTreeSet::from([
            "connections".to_owned(),
            "inbox".to_owned(),
            "metrics".to_owned(),
            "publisher".to_owned()
        ]),
        "the functions whose role can read {} (only these call the networks)",
        keys::credentials_pk(&brand)
    );
}

#[test]
fn the_reports_function_touches_only_reports_in_the_bucket() {
    let reports = deployed("reports");
    let s3: Vec<&Statement> = reports
        .statements
        .iter()
        .filter(|s| s.allow && s.actions.iter().any(|a| a.starts_with("s3:")))
        .collect();
    assert!(
        s3.iter().any(|s| s.covers_action("s3:PutObject")),
        "reports cannot write its files"
    );
    for s in s3 {
        for resource in &s.resources {
            assert!(
                resource.ends_with("/reports/*"),
                "reports statement {} reaches {resource}",
                s.sid
            );
        }
    }
}

#[test]
fn report_files_expire_with_the_default_inbox_retention() {
    let template = palinsesto_system_tests::template::load();
    let rules = palinsesto_system_tests::template::resources(&template)
        .into_iter()
        .find(|(id, _)| id == "MediaBucket")
        .map(|(_, r)| r["Properties"]["LifecycleConfiguration"]["Rules"].clone())
        .expect("the media bucket has lifecycle rules");
    let reports = rules
        .as_vec()
        .into_iter()
        .flatten()
        .find(|r| r["Prefix"].as_str() == Some("reports/"))
        .expect("a lifecycle rule expires report files");
    assert_eq!(reports["Status"].as_str(), Some("Enabled"));
    assert_eq!(
        reports["ExpirationInDays"].as_str(),
        Some("ReportRetentionDays")
    );
    let default = parameters()
        .into_iter()
        .find(|(name, _)| name == "ReportRetentionDays")
        .and_then(|(_, d)| d)
        .expect("ReportRetentionDays has a default");
    let days = palinsesto::domain::inbox::DEFAULT_RETENTION.as_hours() / 24;
    assert_eq!(default, days.to_string());
}

#[test]
fn only_the_publisher_can_put_publish_jobs() {
    for f in functions() {
        for s in f
            .statements
            .iter()
            .filter(|s| s.allow && s.covers_action("events:PutEvents"))
        {
            assert_eq!(
                s.condition("StringEquals", "events:source"),
                [EVENT_SOURCE],
                "{} {}: PutEvents must be limited to source {EVENT_SOURCE}",
                f.logical_id,
                s.sid
            );
            if f.binary == "publisher" {
                continue;
            }
            let types = s.condition("StringLike", "events:detail-type");
            let excluded = s.condition("StringNotEquals", "events:detail-type");
            assert!(
                (!types.is_empty()
                    && types
                        .iter()
                        .all(|t| !glob_match(t, PUBLISH_TARGET_DETAIL_TYPE)))
                    || excluded.contains(&PUBLISH_TARGET_DETAIL_TYPE),
                "{} {}: only the publisher may put {PUBLISH_TARGET_DETAIL_TYPE} jobs (limit events:detail-type)",
                f.logical_id,
                s.sid
            );
        }
    }
}

#[test]
fn the_outputs_name_what_an_operator_needs() {
    let outputs = output_values();
    let shown = |value: &str| outputs.iter().any(|(_, v)| v == value);
    for resource in ["Table", "MediaBucket", "EventBus"] {
        assert!(shown(resource), "no output shows {resource}");
    }
    assert!(
        outputs
            .iter()
            .any(|(_, v)| v.contains("${HttpApi}.execute-api")),
        "no output shows the API's URL"
    );
    assert!(
        outputs
            .iter()
            .any(|(_, v)| v.contains("#dashboards:name=${OperationsDashboard}")),
        "no output links the operations dashboard"
    );
    for f in functions() {
        if let Some(d) = f.on_failure {
            let queue = d.target.trim_end_matches(".Arn");
            assert!(
                shown(queue),
                "no output shows the URL of {queue} ({}'s failures)",
                f.logical_id
            );
        }
    }
}

#[test]
fn a_publish_attempt_ends_inside_the_publisher_s_timeout_and_its_lease() {
    use palinsesto::domain::publishing::{ATTEMPT_TIME_LIMIT, PublishPolicy};
    let publisher = deployed("publisher");
    let timeout = publisher
        .timeout_seconds
        .expect("the publisher has a Timeout");
    let limit = ATTEMPT_TIME_LIMIT.as_secs();
    // Reading the post before and recording after the attempt take a few seconds at most.
    assert!(
        timeout >= limit + 20,
        "the publisher's Timeout ({timeout} s) must leave room after an attempt's {limit} s limit"
    );
    // A claim outlives the function: Lambda's own retries and queue time (at most 60 s each,
    // see EventInvokeConfig) come before the run.
    let lease = PublishPolicy::default().lease.as_secs();
    assert!(
        lease >= timeout + 120,
        "the 5-minute lease ({lease} s) must cover the function's Timeout ({timeout} s) and 120 s of retries and queueing"
    );
}

/// A reservation cannot be deployed on an account whose concurrency limit leaves no room for it
/// (Lambda keeps 100 unreserved; new accounts have a limit of 10). So the publisher reserves
/// concurrency only when `PublisherReservedConcurrency` is given, and nothing else reserves any.
#[test]
fn the_publisher_reserves_concurrency_only_when_asked() {
    let parameter = "PublisherReservedConcurrency";
    let default = parameters()
        .into_iter()
        .find(|(name, _)| name == parameter)
        .unwrap_or_else(|| panic!("template.yaml has no {parameter} parameter"))
        .1;
    assert!(
        matches!(default.as_deref(), None | Some("") | Some("0")),
        "{parameter} must default to unset, not {default:?}"
    );
    let template = palinsesto_system_tests::template::load();
    for (logical_id, resource) in palinsesto_system_tests::template::resources(&template) {
        let reserved = &resource["Properties"]["ReservedConcurrentExecutions"];
        if reserved.is_badvalue() {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str();
        assert_eq!(
            binary,
            Some("publisher"),
            "{logical_id} reserves concurrency; only the publisher may, and only when asked"
        );
        // !If [condition, !Ref parameter, !Ref AWS::NoValue]: short tags read as plain values.
        let branches: Vec<&str> = reserved
            .as_vec()
            .unwrap_or_else(|| panic!("{logical_id}: ReservedConcurrentExecutions must be an !If"))
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        let [condition, given, otherwise] = branches[..] else {
            panic!(
                "{logical_id}: ReservedConcurrentExecutions must be !If [condition, !Ref {parameter}, !Ref AWS::NoValue], not {branches:?}"
            );
        };
        assert_eq!(
            (given, otherwise),
            (parameter, "AWS::NoValue"),
            "{logical_id}"
        );
        assert!(
            condition_mentions(condition).iter().any(|m| m == parameter),
            "the condition {condition} must test {parameter}"
        );
    }
    let publisher = deployed("publisher").logical_id;
    assert!(
        !template["Resources"][publisher.as_str()]["Properties"]["ReservedConcurrentExecutions"]
            .is_badvalue(),
        "the publisher must be able to reserve concurrency ({parameter})"
    );
}

/// In AWS the HTTP API answers CORS itself: a browser may read `Retry-After` on a 429 only if
/// the API exposes it, as the local router does.
#[test]
fn the_api_exposes_retry_after_to_browsers() {
    let template = palinsesto_system_tests::template::load();
    let exposed: Vec<String> = palinsesto_system_tests::template::resources(&template)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::HttpApi"))
        .flat_map(|(_, r)| {
            r["Properties"]["CorsConfiguration"]["ExposeHeaders"]
                .as_vec()
                .into_iter()
                .flatten()
                .filter_map(|h| h.as_str().map(str::to_ascii_lowercase))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        exposed.iter().any(|h| h == "retry-after"),
        "the HTTP API's CORS must expose retry-after: {exposed:?}"
    );
}

/// The purposes for which `f` may call `action` on the secrets key (empty: it may not at all).
fn kms_purposes(f: &FunctionSpec, action: &str) -> Vec<String> {
    f.statements
        .iter()
        .filter(|s| s.allow && s.covers_action(action))
        .flat_map(|s| {
            assert!(
                s.resources.iter().all(|r| r.contains("SecretsKey")),
                "{} {}: KMS use must name the secrets key, not {:?}",
                f.logical_id,
                s.sid,
                s.resources
            );
            let purposes = s.condition("StringEquals", "kms:EncryptionContext:purpose");
            assert!(
                !purposes.is_empty(),
                "{} {}: limit {action} to a purpose (kms:EncryptionContext:purpose)",
                f.logical_id,
                s.sid
            );
            purposes.into_iter().map(str::to_owned).collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn only_the_functions_that_need_a_secret_can_open_one() {
    // The API seals credentials and webhook secrets but cannot open either.
    let api = deployed("api");
    assert!(
        kms_purposes(&api, "kms:Decrypt").is_empty(),
        "the API role must not be able to call kms:Decrypt"
    );
    assert_eq!(
        kms_purposes(&api, "kms:GenerateDataKey"),
        [
            palinsesto::sealing::CREDENTIALS,
            palinsesto::sealing::WEBHOOK
        ]
    );
    // The functions that talk to networks open credentials (and seal renewed ones), nothing else.
    for binary in ["publisher", "metrics", "connections", "inbox"] {
        let f = deployed(binary);
        assert_eq!(
            kms_purposes(&f, "kms:Decrypt"),
            [palinsesto::sealing::CREDENTIALS],
            "{binary}"
        );
    }
    // The relay opens webhook secrets to sign deliveries, never credentials.
    assert_eq!(
        kms_purposes(&deployed("relay"), "kms:Decrypt"),
        [palinsesto::sealing::WEBHOOK]
    );
    // Intake and reports hold no secret.
    for binary in ["asset-intake", "reports"] {
        let f = deployed(binary);
        assert!(
            !f.statements
                .iter()
                .any(|s| s.allow && s.covers_action("kms:Decrypt")),
            "{binary}"
        );
    }
    // Every function that seals or opens is told which key.
    for binary in [
        "api",
        "publisher",
        "metrics",
        "connections",
        "inbox",
        "relay",
    ] {
        assert!(
            deployed(binary)
                .environment
                .iter()
                .any(|v| v == "SECRETS_KEY_ID"),
            "{binary} lacks SECRETS_KEY_ID"
        );
    }
    let template = palinsesto_system_tests::template::load();
    let key = &template["Resources"]["SecretsKey"]["Properties"];
    assert_eq!(key["EnableKeyRotation"].as_bool(), Some(true));
}

/// The sandbox network is for staging: a stack refuses it unless its operator allows it, and the
/// functions that read the switch get it.
#[test]
fn the_sandbox_is_refused_unless_the_stack_allows_it() {
    let default = parameters()
        .into_iter()
        .find(|(name, _)| name == "AllowSandbox")
        .expect("template.yaml has an AllowSandbox parameter")
        .1;
    assert_eq!(default.as_deref(), Some("false"));
    let template = palinsesto_system_tests::template::load();
    let variables = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(
        variables["ALLOW_SANDBOX"].as_str(),
        Some("AllowSandbox"),
        "every function reads ALLOW_SANDBOX from the parameter (!Ref AllowSandbox)"
    );
}

/// Only what a browser, a probe or a network opens without a token is outside the JWT
/// authorizer: the health check, the OpenAPI document, the connection flow's pages (GET only),
/// which check their one-time link, state and cookie themselves, Meta's callbacks and the
/// networks' webhooks, which check their signatures.
#[test]
fn only_the_health_check_the_document_the_connection_pages_meta_s_callbacks_and_the_webhooks_skip_the_authorizer()
 {
    let template = palinsesto_system_tests::template::load();
    let mut open = Vec::new();
    for (logical_id, resource) in palinsesto_system_tests::template::resources(&template) {
        let Some(events) = resource["Properties"]["Events"].as_hash() else {
            continue;
        };
        for (name, event) in events {
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let properties = &event["Properties"];
            if properties["Auth"]["Authorizer"].as_str() == Some("NONE") {
                open.push((
                    properties["Method"].as_str().unwrap_or("").to_owned(),
                    properties["Path"].as_str().unwrap_or("").to_owned(),
                ));
            } else {
                assert!(
                    properties["Auth"].is_badvalue(),
                    "{logical_id}.{name:?}: only the default (JWT) authorizer or NONE"
                );
            }
        }
    }
    open.sort();
    assert_eq!(
        open,
        [
            ("ANY".to_owned(), "/hooks/linkedin".to_owned()),
            ("ANY".to_owned(), "/hooks/meta".to_owned()),
            ("ANY".to_owned(), "/hooks/x".to_owned()),
            ("GET".to_owned(), "/healthz".to_owned()),
            ("GET".to_owned(), "/oauth/{proxy+}".to_owned()),
            ("GET".to_owned(), "/v1/openapi.json".to_owned()),
            ("POST".to_owned(), "/hooks/telegram/{hook}".to_owned()),
            ("POST".to_owned(), "/oauth/meta/{proxy+}".to_owned()),
        ]
    );
}

/// The deployment's OAuth apps are read from the Parameter Store under their own path, by the
/// functions that connect (the API) or call the networks with connected tokens, and by no other.
#[test]
fn only_the_functions_that_connect_or_renew_read_the_oauth_apps_and_only_under_their_path() {
    let mut readers = BTreeSet::new();
    for f in functions() {
        let reads: Vec<&Statement> = f
            .statements
            .iter()
            .filter(|s| s.allow && s.covers_action("ssm:GetParametersByPath"))
            .collect();
        for s in &reads {
            assert!(
                s.actions
                    .iter()
                    .all(|a| a.eq_ignore_ascii_case("ssm:GetParametersByPath")),
                "{}: {:?}",
                f.logical_id,
                s.actions
            );
            for resource in &s.resources {
                assert!(
                    resource.contains(":parameter${OAuthParametersPath}"),
                    "{} reads {resource}",
                    f.logical_id
                );
            }
        }
        if !reads.is_empty() {
            readers.insert(f.binary.clone());
        }
        // Told where exactly when allowed to read there: a function told the path without the
        // right would fail at every cold start.
        assert_eq!(
            f.environment.iter().any(|v| v == "OAUTH_PARAMETERS_PATH"),
            !reads.is_empty(),
            "{}: OAUTH_PARAMETERS_PATH and the right to read it go together",
            f.logical_id
        );
    }
    assert_eq!(
        readers,
        BTreeSet::from(["api", "connections", "hooks", "metrics", "publisher"].map(str::to_owned))
    );
}
