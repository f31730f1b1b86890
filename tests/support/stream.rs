//! The table's stream as the relay function's event source mapping reads it: moto cannot invoke
//! Lambda, so the tests read the stream themselves (DescribeTable, DescribeStream,
//! GetShardIterator, GetRecords), keep what the template's filter keeps (inserts under the outbox
//! prefix), and hand the batch to the relay's handler in the shape Lambda delivers it.

use aws_config::SdkConfig;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use palinsesto::services::relay::RelayService;
use palinsesto::triggers::relay::{RelayOutcome, handle_relay_event};
use serde_json::{Value, json};

pub struct StreamReader {
    streams: aws_sdk_dynamodbstreams::Client,
    arn: String,
    /// The next iterator of each shard.
    iterators: Vec<String>,
}

impl StreamReader {
    /// Reads `table`'s stream from its oldest record (the mapping's TRIM_HORIZON).
    pub async fn open(config: &SdkConfig, table: &str) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(config);
        let arn = dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .expect("describing the table")
            .table()
            .and_then(|t| t.latest_stream_arn())
            .expect("the table has a stream (template.yaml's StreamSpecification)")
            .to_owned();
        let streams = aws_sdk_dynamodbstreams::Client::new(config);
        let description = streams
            .describe_stream()
            .stream_arn(&arn)
            .send()
            .await
            .expect("describing the stream");
        let mut iterators = Vec::new();
        for shard in description
            .stream_description()
            .map(|d| d.shards())
            .unwrap_or_default()
        {
            let iterator = streams
                .get_shard_iterator()
                .stream_arn(&arn)
                .shard_id(shard.shard_id().expect("a shard id"))
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .expect("a shard iterator")
                .shard_iterator()
                .expect("an iterator")
                .to_owned();
            iterators.push(iterator);
        }
        Self {
            streams,
            arn,
            iterators,
        }
    }

    /// The records written since the last call, every kind (GetRecords on each shard).
    pub async fn records(&mut self) -> Vec<Record> {
        let mut records = Vec::new();
        for iterator in &mut self.iterators {
            let answer = self
                .streams
                .get_records()
                .shard_iterator(iterator.as_str())
                .send()
                .await
                .expect("reading the stream");
            records.extend(answer.records().iter().cloned());
            if let Some(next) = answer.next_shard_iterator() {
                *iterator = next.to_owned();
            }
        }
        records
    }

    /// The Lambda event for `records`, after the template's filter: what the relay function is
    /// invoked with.
    pub fn lambda_event(&self, records: &[Record]) -> Value {
        let prefix = outbox_filter_prefix();
        let kept: Vec<Value> = records
            .iter()
            .filter(|r| r.event_name().map(|n| n.as_str()) == Some("INSERT"))
            .filter(|r| {
                r.dynamodb()
                    .and_then(|d| d.keys())
                    .and_then(|k| k.get("pk"))
                    .and_then(|pk| pk.as_s().ok())
                    .is_some_and(|pk| pk.starts_with(&prefix))
            })
            .map(|r| self.lambda_record(r))
            .collect();
        json!({ "Records": kept })
    }

    /// One record as Lambda delivers it (DynamoDB JSON for the keys and the image).
    pub fn lambda_record(&self, record: &Record) -> Value {
        let change = record.dynamodb().expect("a stream record");
        let item = |map: Option<
            &std::collections::HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>,
        >| {
            let item: serde_dynamo::Item = map.cloned().unwrap_or_default().into();
            serde_json::to_value(item).expect("an item as JSON")
        };
        json!({
            "eventID": record.event_id(),
            "eventName": record.event_name().map(|n| n.as_str()),
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "eventSourceARN": self.arn,
            "dynamodb": {
                "ApproximateCreationDateTime": change.approximate_creation_date_time().map_or(0, |t| t.secs()),
                "Keys": item(change.keys()),
                "NewImage": item(change.new_image()),
                "SequenceNumber": change.sequence_number(),
                "SizeBytes": change.size_bytes().unwrap_or(0),
                "StreamViewType": "NEW_IMAGE",
            }
        })
    }

    /// Reads what is new and relays it as the function would be invoked with it.
    pub async fn relay(&mut self, service: &RelayService) -> RelayOutcome {
        let records = self.records().await;
        let event = self.lambda_event(&records);
        handle_relay_event(service, event)
            .await
            .expect("the relay handles the batch")
    }
}

/// The key prefix of the relay's filter in template.yaml.
pub fn outbox_filter_prefix() -> String {
    let template = super::template::load();
    let pattern = template["Resources"]["RelayFunction"]["Properties"]["Events"]["Outbox"]
        ["Properties"]["FilterCriteria"]["Filters"][0]["Pattern"]
        .as_str()
        .expect("the relay's filter pattern")
        .to_owned();
    let pattern: Value = serde_json::from_str(&pattern).expect("the pattern is JSON");
    pattern["dynamodb"]["Keys"]["pk"]["S"][0]["prefix"]
        .as_str()
        .expect("a key prefix")
        .to_owned()
}
