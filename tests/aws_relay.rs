//! The relay function on the AWS emulator: an event written to the outbox through DynamoDB is
//! read from the table's stream (GetRecords, as the event source mapping would), and reaches
//! the bus once, with the id it was written with; records the filter would not pass, or that
//! are not events, are skipped or fail the batch by name.

use std::sync::Arc;

use jiff::Timestamp;
use palinsesto::clock::ManualClock;
use palinsesto::domain::BrandId;
use palinsesto::domain_events::DomainEvent;
use palinsesto::lambda_env::{AwsDeployment, ResourceNames};
use palinsesto::store::outbox::outbox_write;
use palinsesto::store::{Condition, Item, Write};
use palinsesto::triggers::relay::{RelayError, handle_relay_event};
use palinsesto_system_tests::aws::{queue, receive, rule_to_queue, sdk_config, unique};
use palinsesto_system_tests::dynamodb::fresh_table;
use palinsesto_system_tests::stream::StreamReader;
use serde_json::json;

struct Relay {
    deployment: AwsDeployment,
    table: String,
    sqs: aws_sdk_sqs::Client,
    /// Every acme event the bus carries.
    acme_events: String,
    config: aws_config::SdkConfig,
}

async fn relay() -> Relay {
    let config = sdk_config().await;
    let events = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let bus = unique("palinsesto-bus");
    events.create_event_bus().name(&bus).send().await.unwrap();
    let (acme_events, arn) = queue(&sqs, "acme-events").await;
    // A brand's rule, as docs/events.md says every rule must be: on its own brand.
    rule_to_queue(
        &events,
        &bus,
        r#"{"source": ["palinsesto"], "detail": {"brand": ["acme"]}}"#,
        &arn,
    )
    .await;
    let table = fresh_table().await;
    let deployment = AwsDeployment::on(
        &config,
        ResourceNames {
            table: table.clone(),
            bucket: None,
            bus: Some(bus),
            key: Some(palinsesto_system_tests::aws::kms_key(&config).await),
        },
        Arc::new(ManualClock::new("2027-01-15T10:00:00Z".parse().unwrap())),
        palinsesto_system_tests::accounts::loopback_networks(),
    );
    Relay {
        deployment,
        table,
        sqs,
        acme_events,
        config,
    }
}

fn brand(name: &str) -> BrandId {
    BrandId::parse(name).unwrap()
}

#[tokio::test]
async fn an_outbox_event_reaches_the_bus_through_the_stream_once_with_its_id() {
    // given the relay wired as the Lambda wires it, and the table's stream from its start
    let r = relay().await;
    let mut stream = StreamReader::open(&r.config, &r.table).await;
    let service = r.deployment.relay_service().unwrap();
    let time: Timestamp = "2027-01-15T10:00:00Z".parse().unwrap();

    // when an event is written with another item in one transaction, and another brand's too
    let event = DomainEvent::webhook_ping(&brand("acme"), "01JD8Y3K7Q6C9X2P4M5N8R1T0V", time);
    let theirs = DomainEvent::webhook_ping(&brand("other"), "01JD8Y3K7Q6C9X2P4M5N8R1T0W", time);
    let store = r.deployment.wiring().ports().store;
    let other_item = Item {
        pk: "B#acme".into(),
        sk: "X#not-an-event".into(),
        version: 1,
        indexes: vec![],
        expires_at: None,
        body: json!({"x": 1}),
    };
    store
        .items()
        .write(vec![
            outbox_write(&event).unwrap(),
            Write::Put {
                item: other_item,
                condition: Condition::Absent,
            },
        ])
        .await
        .unwrap();
    store
        .items()
        .write(vec![outbox_write(&theirs).unwrap()])
        .await
        .unwrap();

    // then the stream holds all three, the filter passes the two events, the relay puts them
    let records = stream.records().await;
    assert_eq!(records.len(), 3, "{records:?}");
    let batch = stream.lambda_event(&records);
    assert_eq!(batch["Records"].as_array().unwrap().len(), 2);
    let outcome = handle_relay_event(&service, batch.clone()).await.unwrap();
    assert_eq!(outcome.events, 2);

    // and the brand's rule gets its own event, with the id it was written with, and not the
    // other brand's
    let got = receive(&r.sqs, &r.acme_events, 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["detail-type"], "webhook.ping");
    assert_eq!(got[0]["source"], "palinsesto");
    assert_eq!(got[0]["detail"]["id"], event.id.as_str());
    assert_eq!(got[0]["detail"]["brand"], "acme");

    // when Lambda retries the same batch (a failure after the put), the same id arrives again:
    // consumers de-duplicate on it
    handle_relay_event(&service, batch).await.unwrap();
    let again = receive(&r.sqs, &r.acme_events, 1).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["detail"]["id"], event.id.as_str());

    // and nothing new in the stream relays nothing
    assert_eq!(stream.relay(&service).await.events, 0);
}

#[tokio::test]
async fn a_record_that_is_not_an_outbox_event_is_skipped_or_fails_the_batch_by_name() {
    let r = relay().await;
    let service = r.deployment.relay_service().unwrap();
    let record = |name: &str, pk: &str, image: serde_json::Value| {
        json!({
            "eventID": "e-1", "eventName": name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {"ApproximateCreationDateTime": 1768471200, "Keys": {"pk": {"S": pk}, "sk": {"S": "1"}},
                         "NewImage": image, "SequenceNumber": "1", "SizeBytes": 10, "StreamViewType": "NEW_IMAGE"}
        })
    };
    // a change that is not an insert, and an item of another partition: skipped
    let skipped = json!({"Records": [
        record("MODIFY", "OUT#acme", json!({"pk": {"S": "OUT#acme"}})),
        record("INSERT", "B#acme", json!({"pk": {"S": "B#acme"}, "body": {"M": {}}})),
    ]});
    assert_eq!(
        handle_relay_event(&service, skipped).await.unwrap().events,
        0
    );
    // an outbox insert whose image is not an event: the batch fails, naming the record
    let broken = json!({"Records": [record("INSERT", "OUT#acme", json!({"pk": {"S": "OUT#acme"}, "body": {"M": {"x": {"N": "1"}}}}))]});
    match handle_relay_event(&service, broken).await {
        Err(RelayError::BadRecord { event_id, .. }) => assert_eq!(event_id, "e-1"),
        other => panic!("expected a bad record, got {other:?}"),
    }
    assert!(receive(&r.sqs, &r.acme_events, 0).await.is_empty());
}
