//! S3 ObjectCreated notifications for the asset-intake function: each record's key decoded the
//! way S3 encodes it, then handed to [`IntakeService::ingest`], one record's failure never costing the others.

use std::fmt;

use serde::Deserialize;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

use crate::services::ServiceError;
use crate::services::intake::{INCOMING, IntakeOutcome, IntakeService};
use crate::telemetry::emf;

/// The part of an S3 event record intake reads. The documented shape has more (time, identity,
/// request ids); requiring those would let one odd record fail the decoding of the whole batch.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    event_name: String,
    s3: Entity,
}

#[derive(Debug, Deserialize)]
struct Entity {
    bucket: BucketName,
    object: ObjectKey,
}

#[derive(Debug, Deserialize)]
struct BucketName {
    name: String,
}

#[derive(Debug, Deserialize)]
struct ObjectKey {
    key: String,
}

/// What became of one record of a notification.
// One per record, and a notification carries one or a few: boxing the outcome would only make
// matching on it clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum RecordResult {
    /// Handed to intake: the file became an asset, was refused, was a duplicate, or was gone.
    Taken(IntakeOutcome),
    /// Not for intake (another event, prefix or bucket).
    Ignored(String),
    /// Worth retrying: the event as a whole is reported failed so Lambda delivers it again.
    Failed(String),
}

/// One record: the object key as decoded (or as sent, when it could not be decoded).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordReport {
    pub key: String,
    pub result: RecordResult,
}

/// Every record of one notification, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IntakeSummary {
    pub records: Vec<RecordReport>,
}

impl IntakeSummary {
    pub fn failed(&self) -> impl Iterator<Item = &RecordReport> {
        self.records
            .iter()
            .filter(|r| matches!(r.result, RecordResult::Failed(_)))
    }

    fn count(&self, wanted: fn(&RecordResult) -> bool) -> usize {
        self.records.iter().filter(|r| wanted(&r.result)).count()
    }
}

/// The invocation's answer: counts and one line per record (read in logs and by `cargo lambda invoke`).
impl Serialize for IntakeSummary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Lines<'a>(&'a [RecordReport]);
        impl Serialize for Lines<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
                for record in self.0 {
                    let (result, detail) = match &record.result {
                        RecordResult::Taken(outcome) => ("taken", outcome.to_string()),
                        RecordResult::Ignored(why) => ("ignored", why.clone()),
                        RecordResult::Failed(why) => ("failed", why.clone()),
                    };
                    seq.serialize_element(&serde_json::json!({
                        "key": record.key, "result": result, "detail": detail,
                    }))?;
                }
                seq.end()
            }
        }
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry(
            "taken",
            &self.count(|r| matches!(r, RecordResult::Taken(_))),
        )?;
        map.serialize_entry(
            "ignored",
            &self.count(|r| matches!(r, RecordResult::Ignored(_))),
        )?;
        map.serialize_entry(
            "failed",
            &self.count(|r| matches!(r, RecordResult::Failed(_))),
        )?;
        map.serialize_entry("records", &Lines(&self.records))?;
        map.end()
    }
}

/// Some records failed; the others were done. Returned as the invocation's error so Lambda
/// retries the whole event: safe, since ingestion is idempotent (a record already done finds
/// its object gone or its asset recorded, and ends the same way).
#[derive(Debug)]
pub struct IntakeEventError {
    pub summary: IntakeSummary,
    /// Why the first failed record failed: the invocation's errorType (`triggers::failure`).
    pub cause: RecordFailure,
}

/// Why a record failed.
#[derive(Debug)]
pub enum RecordFailure {
    /// The record (or the notification) is not of the documented shape.
    Malformed,
    /// Intake failed (the store, the bucket...).
    Service(ServiceError),
}

impl fmt::Display for IntakeEventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed: Vec<String> = self
            .summary
            .failed()
            .map(|r| match &r.result {
                RecordResult::Failed(why) => format!("{}: {why}", r.key),
                _ => r.key.clone(),
            })
            .collect();
        write!(
            f,
            "{} of {} records failed and will be retried: {}",
            failed.len(),
            self.summary.records.len(),
            failed.join("; ")
        )
    }
}

impl std::error::Error for IntakeEventError {}

/// Intake driven by the bucket's notifications.
#[derive(Clone)]
pub struct S3Intake {
    service: IntakeService,
    bucket: String,
}

impl S3Intake {
    /// `bucket` is the name of the bucket `service` reads: a record from any other bucket is
    /// ignored rather than looked up in the wrong one.
    pub fn new(service: IntakeService, bucket: impl Into<String>) -> Self {
        Self {
            service,
            bucket: bucket.into(),
        }
    }

    pub fn service(&self) -> &IntakeService {
        &self.service
    }

    /// Takes in every ObjectCreated record under `incoming/` of an S3 notification, in order.
    /// `Err` when any record failed (after all were tried), so the invocation is retried.
    pub async fn handle(&self, event: &Value) -> Result<IntakeSummary, IntakeEventError> {
        let mut summary = IntakeSummary::default();
        let mut first_failure = None;
        let records = match event.get("Records") {
            Some(Value::Array(records)) => records.as_slice(),
            // S3's s3:TestEvent (sent when notifications are configured) has no records.
            None => {
                let kind = event.get("Event").and_then(|e| e.as_str());
                tracing::info!(
                    event = kind.unwrap_or("unknown"),
                    "a notification without records: nothing to take in"
                );
                &[]
            }
            Some(other) => {
                first_failure = Some(RecordFailure::Malformed);
                summary.records.push(RecordReport {
                    key: String::new(),
                    result: RecordResult::Failed(format!(
                        "Records is not a list but {}",
                        json_kind(other)
                    )),
                });
                &[]
            }
        };
        for raw in records {
            let (report, failure) = self.record(raw).await;
            first_failure = first_failure.or(failure);
            match &report.result {
                RecordResult::Taken(outcome) => {
                    tracing::info!(key = %report.key, %outcome, "incoming object taken in");
                    if let IntakeOutcome::Rejected(asset) = outcome {
                        let code = asset.details.rejection.as_ref().map(|r| r.code.as_str());
                        emf::asset_rejected(code.unwrap_or("unknown"));
                    }
                }
                RecordResult::Ignored(why) => {
                    tracing::info!(key = %report.key, why, "record ignored");
                }
                RecordResult::Failed(why) => {
                    tracing::error!(key = %report.key, why, "record failed; the event will be retried");
                }
            }
            summary.records.push(report);
        }
        match first_failure {
            Some(cause) => Err(IntakeEventError { summary, cause }),
            None => Ok(summary),
        }
    }

    /// One record's report, and why it failed when it did.
    async fn record(&self, raw: &Value) -> (RecordReport, Option<RecordFailure>) {
        let failed = |key: String, why: String| {
            let report = RecordReport {
                key,
                result: RecordResult::Failed(why),
            };
            (report, Some(RecordFailure::Malformed))
        };
        let record = match Record::deserialize(raw) {
            Ok(record) => record,
            Err(e) => {
                let key = raw
                    .pointer("/s3/object/key")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                return failed(
                    key,
                    format!("not an S3 event record of the documented shape: {e}"),
                );
            }
        };
        let key = match decode_key(&record.s3.object.key) {
            Ok(key) => key,
            // S3 never sends such a key; failing keeps the event (Lambda's retries, then its
            // failure destination) for someone to look at, where ignoring would drop it.
            Err(why) => return failed(record.s3.object.key, why),
        };
        let ignored = |why: String| {
            let report = RecordReport {
                key: key.clone(),
                result: RecordResult::Ignored(why),
            };
            (report, None)
        };
        if !record.event_name.starts_with("ObjectCreated:") {
            return ignored(format!(
                "{} is not an ObjectCreated event",
                record.event_name
            ));
        }
        if record.s3.bucket.name != self.bucket {
            return ignored(format!(
                "the object is in bucket {}, this function takes in {}",
                record.s3.bucket.name, self.bucket
            ));
        }
        if !key.starts_with(INCOMING) {
            return ignored(format!("not under {INCOMING}"));
        }
        match self.service.ingest(&key).await {
            Ok(outcome) => (
                RecordReport {
                    key,
                    result: RecordResult::Taken(outcome),
                },
                None,
            ),
            Err(e) => (
                RecordReport {
                    key,
                    result: RecordResult::Failed(e.to_string()),
                },
                Some(RecordFailure::Service(e)),
            ),
        }
    }
}

/// An object key as S3 writes it into notifications: form-encoded, i.e. `+` for a space and
/// percent escapes of UTF-8 bytes (a literal `+` arrives as `%2B`). The `+` is read as a space
/// before any escape is decoded, so an escaped `%2B` stays a plus. Strict: a `%` without two hex
/// digits after it, or bytes that are not UTF-8, are errors (S3 escapes every `%` it sends).
pub fn decode_key(raw: &str) -> Result<String, String> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut rest = raw.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = tail
                    .get(..2)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(byte) => {
                        bytes.push(byte);
                        rest = &tail[2..];
                    }
                    None => return Err(format!("the key {raw:?} has a malformed percent escape")),
                }
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).map_err(|_| format!("the key {raw:?} does not decode to UTF-8"))
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ObjectCreated:Put notification exactly as S3 sends it to Lambda (the documented sample),
    /// with `key` as it appears on the wire.
    fn notification(event_name: &str, bucket: &str, key: &str) -> Value {
        serde_json::json!({
          "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": "2027-01-15T10:00:00.123Z",
            "eventName": event_name,
            "userIdentity": { "principalId": "AWS:AIDAINPONIXQXHT3IKHL2" },
            "requestParameters": { "sourceIPAddress": "203.0.113.7" },
            "responseElements": {
              "x-amz-request-id": "C3D13FE58DE4C810",
              "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"
            },
            "s3": {
              "s3SchemaVersion": "1.0",
              "configurationId": "asset-intake",
              "bucket": {
                "name": bucket,
                "ownerIdentity": { "principalId": "A3NL1KOZZKExample" },
                "arn": format!("arn:aws:s3:::{bucket}")
              },
              "object": {
                "key": key,
                "size": 1024,
                "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                "sequencer": "0055AED6DCD90281E5"
              }
            }
          }]
        })
    }

    #[test]
    fn keys_decode_as_s3_encodes_them() {
        assert_eq!(decode_key("Happy%20Face.jpg").unwrap(), "Happy Face.jpg");
        assert_eq!(
            decode_key("incoming/acme/Foto+del+caff%C3%A8+1.png").unwrap(),
            "incoming/acme/Foto del caffè 1.png"
        );
        // A literal plus is escaped; the plus read as a space comes first, so it survives.
        assert_eq!(decode_key("a%2Bb+c.jpg").unwrap(), "a+b c.jpg");
        assert_eq!(decode_key("100%25+sure.jpg").unwrap(), "100% sure.jpg");
        assert_eq!(decode_key("%E2%98%95%F0%9F%8E%89.gif").unwrap(), "☕🎉.gif");
        assert_eq!(
            decode_key("incoming/acme/01J/plain.jpg").unwrap(),
            "incoming/acme/01J/plain.jpg"
        );
        assert!(decode_key("bad%zz.jpg").is_err());
        assert!(decode_key("cut%C").is_err());
        assert!(decode_key("lone%").is_err());
        assert!(decode_key("latin1-%E8.jpg").is_err(), "not UTF-8");
    }

    #[test]
    fn the_crate_fixture_and_the_documented_sample_decode() {
        // aws_lambda_events' src/fixtures/example-s3-event.json, as is.
        let fixture = serde_json::json!({"Records": [{
            "eventVersion": "2.0", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "1970-01-01T00:00:00.123Z", "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "EXAMPLE"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810",
                "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "testConfigRule",
                "bucket": {"name": "sourcebucket", "ownerIdentity": {"principalId": "EXAMPLE"},
                    "arn": "arn:aws:s3:::mybucket"},
                "object": {"key": "Happy%20Face.jpg", "size": 1024, "versionId": "version",
                    "eTag": "d41d8cd98f00b204e9800998ecf8427e", "sequencer": "Happy Sequencer"}}
        }]});
        let record = Record::deserialize(&fixture["Records"][0]).unwrap();
        assert_eq!(record.event_name, "ObjectCreated:Put");
        assert_eq!(record.s3.bucket.name, "sourcebucket");
        assert_eq!(decode_key(&record.s3.object.key).unwrap(), "Happy Face.jpg");

        let sample = notification(
            "ObjectCreated:CompleteMultipartUpload",
            "media",
            "incoming/acme/Foto+del+caff%C3%A8.png",
        );
        let record = Record::deserialize(&sample["Records"][0]).unwrap();
        assert_eq!(
            decode_key(&record.s3.object.key).unwrap(),
            "incoming/acme/Foto del caffè.png"
        );
    }

    #[test]
    fn the_summary_reads_as_counts_and_one_line_per_record() {
        let summary = IntakeSummary {
            records: vec![
                RecordReport {
                    key: "incoming/acme/a.jpg".into(),
                    result: RecordResult::Taken(IntakeOutcome::Gone),
                },
                RecordReport {
                    key: "reports/acme/r.pdf".into(),
                    result: RecordResult::Ignored("not under incoming/".into()),
                },
                RecordReport {
                    key: "incoming/acme/b.jpg".into(),
                    result: RecordResult::Failed("the bucket is unavailable".into()),
                },
            ],
        };
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(
            (&json["taken"], &json["ignored"], &json["failed"]),
            (&1.into(), &1.into(), &1.into())
        );
        assert_eq!(json["records"][2]["result"], "failed");
        let error = IntakeEventError {
            summary,
            cause: RecordFailure::Service(ServiceError::Bucket(
                crate::bucket::BlobError::Unavailable("503".into()),
            )),
        }
        .to_string();
        assert!(
            error.starts_with("1 of 3 records failed") && error.contains("incoming/acme/b.jpg"),
            "{error}"
        );
    }
}
