//! EventBridge, SQS and S3 on the emulator for the tests: one SDK configuration pointed at it, a
//! bus whose rules deliver to SQS queues (moto cannot invoke Lambda), and reading those queues.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;

use super::dynamodb::ENDPOINT_VARIABLE;

/// The SDK configuration for the emulator. One per test: a client's connections belong to the
/// runtime of the test that made them.
pub async fn sdk_config() -> SdkConfig {
    let endpoint = std::env::var(ENDPOINT_VARIABLE).unwrap_or_else(|_| {
        panic!(
            "{ENDPOINT_VARIABLE} is not set: run the tests with infra/test/all.sh, which starts the AWS emulator"
        )
    });
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        // Fixed dummy credentials, so a developer's real ones can never reach a test.
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test",
            "test",
            None,
            None,
            "palinsesto-tests",
        ))
        .load()
        .await
}

/// A new customer managed KMS key on the emulator (symmetric, for envelope encryption); returns
/// its ARN, as the stack passes it in `SECRETS_KEY_ID`.
pub async fn kms_key(config: &SdkConfig) -> String {
    aws_sdk_kms::Client::new(config)
        .create_key()
        .description("palinsesto test secrets key")
        .send()
        .await
        .expect("creating a KMS key")
        .key_metadata()
        .expect("the key's metadata")
        .arn()
        .expect("the key's ARN")
        .to_owned()
}

/// A name no other test uses (tests run in parallel on one emulator).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// A custom bus with two rules, each delivering to its own queue: the publisher's rule
/// (publish-target jobs) and a brand's rule on post events (`post.*`).
pub struct RoutedBus {
    pub name: String,
    pub jobs_queue: String,
    pub post_events_queue: String,
}

impl RoutedBus {
    pub async fn create(config: &SdkConfig) -> Self {
        let events = aws_sdk_eventbridge::Client::new(config);
        let sqs = aws_sdk_sqs::Client::new(config);
        let name = unique("palinsesto-bus");
        events
            .create_event_bus()
            .name(&name)
            .send()
            .await
            .expect("creating the bus");
        let (jobs_queue, jobs_arn) = queue(&sqs, "jobs").await;
        let (post_events_queue, post_events_arn) = queue(&sqs, "post-events").await;
        // The same pattern as the publisher's rule in template.yaml.
        rule_to_queue(
            &events,
            &name,
            r#"{"source": ["palinsesto"], "detail-type": ["palinsesto.publish-target"]}"#,
            &jobs_arn,
        )
        .await;
        rule_to_queue(
            &events,
            &name,
            r#"{"source": ["palinsesto"], "detail-type": [{"prefix": "post."}]}"#,
            &post_events_arn,
        )
        .await;
        Self {
            name,
            jobs_queue,
            post_events_queue,
        }
    }
}

/// A new queue's URL and ARN.
pub async fn queue(sqs: &aws_sdk_sqs::Client, prefix: &str) -> (String, String) {
    let url = sqs
        .create_queue()
        .queue_name(unique(prefix))
        .send()
        .await
        .expect("creating a queue")
        .queue_url()
        .expect("a queue URL")
        .to_owned();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("reading the queue's ARN")
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .expect("the queue's ARN")
        .clone();
    (url, arn)
}

/// A rule on `bus` matching `pattern`, delivering to the queue `queue_arn`.
pub async fn rule_to_queue(
    events: &aws_sdk_eventbridge::Client,
    bus: &str,
    pattern: &str,
    queue_arn: &str,
) {
    let rule = unique("rule");
    events
        .put_rule()
        .name(&rule)
        .event_bus_name(bus)
        .event_pattern(pattern)
        .send()
        .await
        .expect("creating a rule");
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(queue_arn)
                .build()
                .expect("a target"),
        )
        .send()
        .await
        .expect("adding the queue as the rule's target");
}

/// Every message on the queue, as the JSON EventBridge delivered (the whole event), each deleted
/// once read. Waits up to 10 s for `at_least` messages, then a second more for any extra.
pub async fn receive(sqs: &aws_sdk_sqs::Client, queue_url: &str, at_least: usize) -> Vec<Value> {
    let mut bodies = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut extra_wait_done = false;
    loop {
        let reached = bodies.len() >= at_least;
        if reached && extra_wait_done {
            return bodies;
        }
        if !reached && tokio::time::Instant::now() >= deadline {
            return bodies;
        }
        let answer = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receiving messages");
        let messages = answer.messages();
        if reached && messages.is_empty() {
            extra_wait_done = true;
        }
        for message in messages {
            let body = message.body().expect("a message body");
            bodies.push(serde_json::from_str(body).expect("a JSON event"));
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().expect("a receipt handle"))
                .send()
                .await
                .expect("deleting a message");
        }
    }
}
