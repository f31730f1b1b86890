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
use palinsesto_system_tests::template::{
    FunctionSpec, Statement, alarms, condition_mentions, functions, glob_match, log_retention_days,
    output_values, parameters, resource_types, subscriptions, table_spec,
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
/// destination (checked in `the_relay_reads_only_new_outbox_items_and_parks_what_fails`).
const STREAM_TRIGGERS: &[&str] = &["DynamoDB"];

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
        let queue = destination
            .target
            .strip_suffix(".Arn")
            .unwrap_or_else(|| {
                panic!(
                    "{}: the on-failure destination must be !GetAtt <queue>.Arn, not {}",
                    f.logical_id, destination.target
                )
            })
            .to_owned();
        assert_eq!(
            resource_type(&queue).as_deref(),
            Some("AWS::SQS::Queue"),
            "{}: {queue} is not a queue of the template",
            f.logical_id
        );
        assert!(
            alarms.iter().any(|a| a.namespace == "AWS/SQS"
                && a.metric == "ApproximateNumberOfMessagesVisible"
                && a.dimension("QueueName") == Some(&format!("{queue}.QueueName"))
                && a.fires_on_any()),
            "no alarm goes off when {queue} (failures of {}) has a message",
            f.logical_id
        );
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

#[test]
fn the_ticks_run_on_their_schedules() {
    for (binary, schedule) in [
        ("publisher", "rate(1 minute)"),
        ("metrics", "rate(15 minutes)"),
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
fn only_the_publisher_and_metrics_can_read_channel_credentials() {
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
        BTreeSet::from(["metrics".to_owned(), "publisher".to_owned()]),
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
    for binary in ["publisher", "metrics"] {
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
    for binary in ["api", "publisher", "metrics", "relay"] {
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
