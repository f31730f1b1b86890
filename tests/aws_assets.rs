//! The AWS path of asset intake against the emulator (moto): a presigned PUT really used over
//! HTTP, S3 notifications in AWS's own JSON handed to the intake function's handler, the library
//! on S3 and DynamoDB, and asset.ready / asset.rejected delivered through EventBridge to SQS.

use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use palinsesto::adapters::s3::{self, S3Bucket};
use palinsesto::auth::{AuthConfig, KeySource, Verifier};
use palinsesto::bucket::Bucket;
use palinsesto::clock::SystemClock;
use palinsesto::domain::{
    Actor, Asset, AssetStatus, Brand, BrandId, BrandProfile, MediaKind, Network, Role,
};
use palinsesto::domain_events::{ASSET_READY, ASSET_REJECTED};
use palinsesto::lambda_env::{AwsDeployment, ResourceNames};
use palinsesto::media_inspection::fixtures;
use palinsesto::services::AssetService;
use palinsesto::services::intake::IntakeOutcome;
use palinsesto::store::{AssetFilter, Store};
use palinsesto::triggers::uploads::{RecordResult, S3Intake};
use palinsesto_system_tests::aws::{queue, receive, rule_to_queue, sdk_config, unique};
use palinsesto_system_tests::dynamodb::fresh_table;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

// ---- files, made here ----

/// Deterministic noise (xorshift), so files are the same on every run and do not compress.
fn pdf() -> Vec<u8> {
    let mut pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n".to_vec();
    pdf.extend(fixtures::noise(2_000, 12));
    pdf
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---- S3 notifications as AWS sends them ----

/// A key as S3 writes it into a notification: form-encoded, `+` for a space, UTF-8 bytes
/// percent-escaped, `/` and the unreserved characters as they are.
fn s3_encoded(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// One record of a notification, in the documented shape (event message structure 2.1).
fn record(event_name: &str, bucket: &str, encoded_key: &str, size: usize) -> Value {
    json!({
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
                "key": encoded_key,
                "size": size,
                "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                "sequencer": "0055AED6DCD90281E5"
            }
        }
    })
}

fn notification(records: Vec<Value>) -> Value {
    json!({ "Records": records })
}

// ---- the library on the emulator ----

fn acme() -> BrandId {
    BrandId::parse("acme").unwrap()
}

/// The intake function as `lambda_env::intake_service` builds it, and the API's asset service as
/// `lambda_env::api_state` gives it the bucket, on one emulated bucket, table and bus.
struct Library {
    intake: S3Intake,
    assets: AssetService,
    bucket: S3Bucket,
    s3: aws_sdk_s3::Client,
    store: Store,
    sqs: aws_sdk_sqs::Client,
    /// Receives the bus's asset.* events (a brand's own rule, as docs/events.md describes).
    asset_events: String,
    /// The relay function on the table's stream: events reach the bus through it.
    relay: palinsesto::services::relay::RelayService,
    stream: tokio::sync::Mutex<palinsesto_system_tests::stream::StreamReader>,
    http: reqwest::Client,
}

impl Library {
    async fn open() -> Self {
        let config = sdk_config().await;
        let s3 = s3::client(&config);
        let name = unique("media");
        s3.create_bucket().bucket(&name).send().await.unwrap();
        let bucket = S3Bucket::new(s3.clone(), &name);

        let events = aws_sdk_eventbridge::Client::new(&config);
        let sqs = aws_sdk_sqs::Client::new(&config);
        let bus_name = unique("palinsesto-bus");
        events
            .create_event_bus()
            .name(&bus_name)
            .send()
            .await
            .unwrap();
        let (asset_events, arn) = queue(&sqs, "asset-events").await;
        rule_to_queue(
            &events,
            &bus_name,
            r#"{"source": ["palinsesto"], "detail-type": [{"prefix": "asset."}]}"#,
            &arn,
        )
        .await;

        let table = fresh_table().await;
        let stream = palinsesto_system_tests::stream::StreamReader::open(&config, &table).await;
        let deployment = AwsDeployment::on(
            &config,
            ResourceNames {
                table,
                bucket: Some(name.clone()),
                bus: Some(bus_name),
                key: Some(palinsesto_system_tests::aws::kms_key(&config).await),
            },
            Arc::new(SystemClock),
            palinsesto_system_tests::accounts::loopback_networks(),
        );
        let store = deployment.wiring().ports().store;
        let brand = Brand::create(
            acme(),
            BrandProfile::parse("Acme Coffee", "Europe/Rome", false).unwrap(),
            jiff::Timestamp::now(),
        );
        store.put_brand(&brand, None).await.unwrap();
        let verifier = Verifier::new(
            AuthConfig {
                issuer: "https://id.palinsesto.test/".into(),
                audience: "palinsesto-api".into(),
                key: KeySource::Hs256(palinsesto::domain::Secret::new(
                    "aws-assets-test-secret-of-at-least-32-bytes",
                )),
                brand_claim: AuthConfig::DEFAULT_BRAND_CLAIM.into(),
                role_claim: AuthConfig::DEFAULT_ROLE_CLAIM.into(),
            },
            palinsesto_system_tests::http_client(),
        );
        Self {
            intake: deployment.intake_service().unwrap(),
            assets: deployment.api_state(verifier).unwrap().assets,
            bucket,
            s3,
            store,
            sqs,
            asset_events,
            relay: deployment.relay_service().unwrap(),
            stream: tokio::sync::Mutex::new(stream),
            http: palinsesto_system_tests::http_client(),
        }
    }

    fn name(&self) -> &str {
        self.bucket.bucket()
    }

    /// A file put into the bucket directly, as any S3 tool does.
    async fn drop_file(&self, key: &str, bytes: &[u8]) {
        self.s3
            .put_object()
            .bucket(self.name())
            .key(key)
            .body(ByteStream::from(bytes.to_vec()))
            .send()
            .await
            .unwrap();
    }

    /// The notification S3 sends for an object just created at `key`.
    fn created(&self, key: &str, size: usize) -> Value {
        notification(vec![record(
            "ObjectCreated:Put",
            self.name(),
            &s3_encoded(key),
            size,
        )])
    }

    async fn object(&self, key: &str) -> Option<Vec<u8>> {
        let info = self.bucket.head(key).await.unwrap()?;
        Some(self.bucket.read(key, 0..info.size).await.unwrap().to_vec())
    }

    async fn keys(&self, prefix: &str) -> Vec<String> {
        self.bucket.list(prefix, 100).await.unwrap()
    }

    async fn library(&self) -> Vec<Asset> {
        self.store
            .list_assets(&acme(), &AssetFilter::default(), None, 100)
            .await
            .unwrap()
            .assets
    }

    /// The asset events on the queue (each the whole EventBridge event), once the relay has read
    /// the stream.
    async fn events(&self, at_least: usize) -> Vec<Value> {
        self.stream.lock().await.relay(&self.relay).await;
        receive(&self.sqs, &self.asset_events, at_least).await
    }

    /// Hands `event` to the handler and returns the one outcome it must report.
    async fn only_outcome(&self, event: &Value) -> IntakeOutcome {
        let summary = self.intake.handle(event).await.expect("no record failed");
        assert_eq!(summary.records.len(), 1, "{summary:?}");
        match &summary.records[0].result {
            RecordResult::Taken(outcome) => outcome.clone(),
            other => panic!("the record was not taken in: {other:?}"),
        }
    }
}

fn editor() -> Actor {
    Actor {
        subject: "user-giulia".into(),
        brand: acme(),
        role: Role::Editor,
        route: None,
    }
}

#[tokio::test]
async fn a_presigned_upload_becomes_a_ready_asset_moved_to_the_library() {
    let library = Library::open().await;
    let photo = fixtures::noise_jpeg(640, 480, 1);

    // POST /v1/assets/uploads, as the route calls it.
    let grant = library
        .assets
        .reserve_upload(
            &editor(),
            "Caffè latte.jpg",
            "image/jpeg",
            photo.len() as u64,
        )
        .await
        .unwrap();
    let key = format!("incoming/acme/{}/Caffè latte.jpg", grant.asset_id);
    assert_eq!(grant.key, key);
    assert_eq!(grant.upload.method, "PUT");
    assert!(
        grant.upload.url.contains("X-Amz-Signature="),
        "a presigned URL: {}",
        grant.upload.url
    );

    // The frontend's PUT, with exactly the headers it was given.
    let mut put = library.http.put(&grant.upload.url).body(photo.clone());
    for (name, value) in &grant.upload.headers {
        put = put.header(name, value);
    }
    let answer = put.send().await.unwrap();
    assert!(answer.status().is_success(), "{:?}", answer.text().await);
    assert_eq!(library.object(&key).await.as_deref(), Some(&photo[..]));

    // S3's notification for it: the key form-encoded (spaces as +, è as %C3%A8).
    let event = library.created(&key, photo.len());
    assert!(
        event.to_string().contains("Caff%C3%A8+latte.jpg"),
        "{event}"
    );
    let IntakeOutcome::Ready(asset) = library.only_outcome(&event).await else {
        panic!("not ready");
    };
    assert_eq!(asset.id, grant.asset_id, "the upload's reserved id");
    assert_eq!(asset.status, AssetStatus::Ready);
    assert_eq!(asset.kind, MediaKind::Image);
    assert_eq!(asset.content_type, "image/jpeg");
    assert_eq!(asset.size, photo.len() as u64);
    assert_eq!((asset.width, asset.height), (Some(640), Some(480)));
    assert_eq!(
        asset.details.sha256.as_deref(),
        Some(sha256_hex(&photo).as_str())
    );
    assert_eq!(asset.details.filename, "Caffè latte.jpg");
    assert_eq!(asset.details.uploaded_by.as_deref(), Some("user-giulia"));
    // Its fit for each network this stack serves: the sandbox is not one (AllowSandbox is off)
    let fits: Vec<Network> = asset.details.networks.keys().copied().collect();
    assert_eq!(fits.len(), 8, "{fits:?}");
    assert!(!fits.contains(&Network::Sandbox));
    let library_key = format!("library/acme/{}.jpg", asset.id);
    assert_eq!(asset.object_key, library_key);

    // Moved: the library has the bytes, a JPEG thumbnail exists, incoming/ is empty.
    assert_eq!(
        library.object(&library_key).await.as_deref(),
        Some(&photo[..])
    );
    let thumbnail_key = format!("thumbnails/acme/{}.jpg", asset.id);
    assert_eq!(
        asset.details.thumbnail_key.as_deref(),
        Some(thumbnail_key.as_str())
    );
    let thumbnail = library.object(&thumbnail_key).await.expect("a thumbnail");
    assert!(
        thumbnail.starts_with(&[0xFF, 0xD8, 0xFF]),
        "a JPEG thumbnail"
    );
    assert!(library.keys("incoming/").await.is_empty());
    assert_eq!(library.library().await, vec![asset.clone()]);

    // asset.ready went through EventBridge.
    let events = library.events(1).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail-type"], ASSET_READY);
    let data = &events[0]["detail"]["data"];
    assert_eq!(data["asset_id"], asset.id.to_string());
    assert_eq!(data["sha256"], sha256_hex(&photo));
    assert_eq!(data["path"], format!("/v1/assets/{}", asset.id));
    // ids and paths only: not the file's name, nor who uploaded it
    assert!(
        data.get("filename").is_none() && data.get("uploaded_by").is_none(),
        "{data}"
    );

    // GET /v1/assets/{id}: download and thumbnail links that really serve the files.
    let links = library.assets.links(&asset).await.unwrap();
    let download = links.download_url.expect("a download link");
    let body = library.http.get(&download).send().await.unwrap();
    assert!(body.status().is_success());
    assert_eq!(body.bytes().await.unwrap().as_ref(), &photo[..]);
    let thumb = library
        .http
        .get(links.thumbnail_url.expect("a thumbnail link"))
        .send()
        .await
        .unwrap();
    assert_eq!(thumb.bytes().await.unwrap().as_ref(), &thumbnail[..]);
}

#[tokio::test]
async fn a_file_dropped_with_a_space_and_unicode_in_its_name_is_taken_in() {
    let library = Library::open().await;
    let picture = fixtures::noise_png(300, 200, 2);
    let key = "incoming/acme/Foto del caffè 1.png";
    library.drop_file(key, &picture).await;

    let event = library.created(key, picture.len());
    assert_eq!(
        event["Records"][0]["s3"]["object"]["key"],
        "incoming/acme/Foto+del+caff%C3%A8+1.png"
    );
    let IntakeOutcome::Ready(asset) = library.only_outcome(&event).await else {
        panic!("not ready");
    };
    assert_eq!(asset.content_type, "image/png");
    assert_eq!((asset.width, asset.height), (Some(300), Some(200)));
    assert_eq!(asset.details.filename, "Foto del caffè 1.png");
    assert_eq!(asset.details.source_key, key);
    assert_eq!(
        library
            .object(&format!("library/acme/{}.png", asset.id))
            .await
            .as_deref(),
        Some(&picture[..])
    );
    assert!(library.keys("incoming/").await.is_empty());
    assert_eq!(library.events(1).await.len(), 1);
}

#[tokio::test]
async fn the_same_event_delivered_twice_makes_one_asset() {
    let library = Library::open().await;
    let photo = fixtures::noise_jpeg(320, 240, 3);
    let key = "incoming/acme/summer/beach day.jpg";
    library.drop_file(key, &photo).await;
    let event = library.created(key, photo.len());

    let IntakeOutcome::Ready(asset) = library.only_outcome(&event).await else {
        panic!("not ready");
    };
    // Delivered again after the first delivery finished: the object is gone, nothing new.
    assert_eq!(library.only_outcome(&event).await, IntakeOutcome::Gone);
    assert_eq!(library.library().await, vec![asset]);
    let events = library.events(1).await;
    assert_eq!(events.len(), 1, "one asset.ready: {events:?}");

    // Two deliveries at once of another file: still one asset (both may report it and send
    // its event: at least once).
    let other = fixtures::noise_jpeg(320, 240, 4);
    let key = "incoming/acme/summer/pier.jpg";
    library.drop_file(key, &other).await;
    let event = library.created(key, other.len());
    let (a, b) = tokio::join!(library.intake.handle(&event), library.intake.handle(&event));
    let (a, b) = (a.unwrap(), b.unwrap());
    let ready: Vec<Asset> = [a, b]
        .iter()
        .filter_map(|s| match &s.records[0].result {
            RecordResult::Taken(IntakeOutcome::Ready(asset)) => Some(asset.clone()),
            RecordResult::Taken(IntakeOutcome::Gone) => None,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert!(!ready.is_empty());
    assert!(ready.iter().all(|a| a.id == ready[0].id), "one asset id");
    let assets = library.library().await;
    assert_eq!(assets.len(), 2, "{assets:?}");
    assert!(library.keys("incoming/").await.is_empty());
    // The losing delivery must not remove the winner's files as if they were a duplicate's.
    let stored = library.keys("library/").await;
    assert!(
        stored.contains(&ready[0].object_key),
        "{} is missing from {stored:?}",
        ready[0].object_key
    );
    for event in library.events(1).await {
        assert_eq!(event["detail"]["data"]["asset_id"], ready[0].id.to_string());
    }
}

#[tokio::test]
async fn a_pdf_named_jpg_is_rejected_and_kept_in_quarantine() {
    let library = Library::open().await;
    let bytes = pdf();
    let key = "incoming/acme/menu del giorno.jpg";
    library.drop_file(key, &bytes).await;

    let IntakeOutcome::Rejected(asset) = library
        .only_outcome(&library.created(key, bytes.len()))
        .await
    else {
        panic!("not rejected");
    };
    assert_eq!(asset.status, AssetStatus::Rejected);
    let rejection = asset.details.rejection.clone().expect("a reason");
    assert_eq!(rejection.code, "type_mismatch");
    assert!(
        rejection
            .reason
            .contains("menu del giorno.jpg is really a PDF document"),
        "{}",
        rejection.reason
    );
    let kept = format!("quarantine/acme/{}/menu del giorno.jpg", asset.id);
    assert_eq!(asset.object_key, kept);
    assert_eq!(library.object(&kept).await.as_deref(), Some(&bytes[..]));
    assert!(library.keys("incoming/").await.is_empty());
    assert!(library.keys("library/").await.is_empty());
    // A refused file is never handed out.
    assert!(
        library
            .assets
            .links(&asset)
            .await
            .unwrap()
            .download_url
            .is_none()
    );

    let events = library.events(1).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail-type"], ASSET_REJECTED);
    assert_eq!(events[0]["detail"]["data"]["code"], "type_mismatch");
    // the reason (it names the file) and the quarantine key are read through the API
    let data = events[0]["detail"]["data"].to_string();
    assert!(
        !data.contains("quarantine") && !data.contains("invoice"),
        "{data}"
    );
    assert!(rejection.reason.contains("PDF"), "{}", rejection.reason);
}

#[tokio::test]
async fn other_prefixes_other_events_and_other_buckets_are_ignored() {
    let library = Library::open().await;
    let photo = fixtures::noise_jpeg(64, 64, 5);
    library.drop_file("reports/acme/week 3.jpg", &photo).await;
    library
        .drop_file("incoming/acme/still here.jpg", &photo)
        .await;

    let event = notification(vec![
        record(
            "ObjectCreated:Put",
            library.name(),
            "reports/acme/week+3.jpg",
            photo.len(),
        ),
        // A removal (or any non-ObjectCreated event) under incoming/ is not an upload.
        record(
            "ObjectRemoved:Delete",
            library.name(),
            "incoming/acme/still+here.jpg",
            0,
        ),
        record(
            "ObjectCreated:Copy",
            "someone-elses-bucket",
            "incoming/acme/still+here.jpg",
            photo.len(),
        ),
    ]);
    let summary = library.intake.handle(&event).await.unwrap();
    assert_eq!(summary.records.len(), 3);
    for report in &summary.records {
        assert!(
            matches!(report.result, RecordResult::Ignored(_)),
            "{report:?}"
        );
    }
    assert_eq!(summary.records[0].key, "reports/acme/week 3.jpg");
    assert!(library.object("reports/acme/week 3.jpg").await.is_some());
    assert!(
        library
            .object("incoming/acme/still here.jpg")
            .await
            .is_some()
    );
    assert!(library.library().await.is_empty());
    assert!(library.events(0).await.is_empty());

    // The test event S3 sends when notifications are set up has no records.
    let test_event = json!({
        "Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2027-01-15T10:00:00.000Z",
        "Bucket": library.name(), "RequestId": "5582815E1AEA5ADF", "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"
    });
    assert!(
        library
            .intake
            .handle(&test_event)
            .await
            .unwrap()
            .records
            .is_empty()
    );
}

#[tokio::test]
async fn a_failing_record_fails_the_event_without_losing_the_others() {
    let library = Library::open().await;
    let first = fixtures::noise_jpeg(100, 100, 6);
    let second = fixtures::noise_png(50, 40, 7);
    library.drop_file("incoming/acme/one.jpg", &first).await;
    library.drop_file("incoming/acme/two.png", &second).await;

    let event = notification(vec![
        record(
            "ObjectCreated:Put",
            library.name(),
            "incoming/acme/one.jpg",
            first.len(),
        ),
        // Not a key S3 would send: no retry can take it in, so it is reported, never dropped.
        record(
            "ObjectCreated:Put",
            library.name(),
            "incoming/acme/bad%zz.jpg",
            10,
        ),
        json!({"eventName": "ObjectCreated:Put", "s3": {"object": {}}}),
        record(
            "ObjectCreated:Post",
            library.name(),
            "incoming/acme/two.png",
            second.len(),
        ),
    ]);
    let error = library.intake.handle(&event).await.unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with("2 of 4 records failed"), "{message}");
    assert!(message.contains("incoming/acme/bad%zz.jpg"), "{message}");
    let results: Vec<&RecordResult> = error.summary.records.iter().map(|r| &r.result).collect();
    assert!(matches!(
        results[0],
        RecordResult::Taken(IntakeOutcome::Ready(_))
    ));
    assert!(matches!(results[1], RecordResult::Failed(_)));
    assert!(matches!(results[2], RecordResult::Failed(_)));
    assert!(matches!(
        results[3],
        RecordResult::Taken(IntakeOutcome::Ready(_))
    ));
    assert_eq!(library.library().await.len(), 2);

    // Lambda's retry of the whole event: the files already in are gone, nothing is doubled.
    let retry = library.intake.handle(&event).await.unwrap_err();
    assert!(matches!(
        retry.summary.records[0].result,
        RecordResult::Taken(IntakeOutcome::Gone)
    ));
    assert_eq!(library.library().await.len(), 2);
    assert_eq!(library.events(2).await.len(), 2);
}
