//! The AWS path end to end on the emulator (moto): the real adapters (DynamoDB on a table made
//! from template.yaml, S3, one EventBridge bus whose rules deliver to SQS since moto cannot invoke
//! Lambda) and the real Lambda handlers, each handed the JSON AWS sends it: API Gateway HTTP API
//! requests through lambda_http's own adapter into the router, scheduled-rule events to the
//! publisher, metrics and reports handlers, the publish-target events EventBridge delivered, and
//! S3 ObjectCreated notifications to intake. One week of a brand's desk: a post scheduled,
//! published to a loopback Mastodon, an upload taken in and published, its likes rising, and the
//! Monday report written to the bucket and announced.

use std::sync::Arc;

use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    QueueConfiguration, S3KeyFilter,
};
use jiff::Timestamp;
use lambda_http::request::LambdaRequest;
use lambda_http::tower::{Service, ServiceExt};
use lambda_http::{Adapter, Context, LambdaEvent};
use palinsesto::adapters::s3;
use palinsesto::auth::{AuthConfig, KeySource, Verifier, mint_hs256};
use palinsesto::clock::ManualClock;
use palinsesto::domain::{BrandId, Role, Secret};
use palinsesto::http::{ApiSettings, router};
use palinsesto::lambda_env::{AwsDeployment, ResourceNames};
use palinsesto::media_inspection::fixtures;
use palinsesto::services::intake::IntakeOutcome;
use palinsesto::services::publishing::PublishingService;
use palinsesto::services::{MetricsService, ReportService};
use palinsesto::triggers::publisher::{PublisherOutcome, handle_publisher_event};
use palinsesto::triggers::schedules::{
    MetricsOutcome, ReportsOutcome, handle_metrics_event, handle_reports_event,
};
use palinsesto::triggers::uploads::{RecordResult, S3Intake, decode_key};
use palinsesto_system_tests::aws::{queue, receive, rule_to_queue, sdk_config, unique};
use palinsesto_system_tests::dynamodb::fresh_table;
use palinsesto_system_tests::fakes::mastodon::FakeMastodon;
use palinsesto_system_tests::lambda::{HttpApiRequest, s3_object_created, scheduled_event};
use palinsesto_system_tests::template;
use serde_json::{Map, Value, json};
use yaml_rust2::Yaml;

const ISSUER: &str = "https://id.palinsesto.test/";
const AUDIENCE: &str = "palinsesto-api";
const BRAND: &str = "acme";

/// A Wednesday in Rome (UTC+1 in March): the desk opens at 09:00 local.
const START: &str = "2027-03-10T08:00:00Z";
const FIRST_POST_AT: &str = "2027-03-10T09:00:00Z";
const PHOTO_POST_AT: &str = "2027-03-10T09:45:00Z";
/// Monday 08:00 in Rome: the weekly report of Monday 8 - Sunday 14 March is due.
const REPORT_DUE: &str = "2027-03-15T07:00:00Z";

// ---- the API function ----

/// The API function as `functions/api/src/main.rs` runs it: `lambda_http::run(router(..))` wraps
/// the router in lambda_http's `Adapter`, which the runtime hands each decoded event. Here the
/// adapter is called directly, with the event decoded from JSON text as the runtime decodes it,
/// and its answer encoded back to the JSON the runtime returns to API Gateway.
struct ApiFunction {
    router: axum::Router,
    secret: Secret,
}

/// The function's answer to API Gateway.
#[derive(Debug)]
struct ApiReply {
    status: u16,
    headers: Map<String, Value>,
    body: String,
}

impl ApiReply {
    fn from_lambda(answer: &Value) -> Self {
        // Every answer of this API is text (JSON, problem+json, CSV, HTML): base64 would mean
        // lambda_http took it for binary.
        assert_eq!(
            answer["isBase64Encoded"], false,
            "a text answer goes back as text: {answer}"
        );
        Self {
            status: answer["statusCode"]
                .as_u64()
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or_else(|| panic!("no statusCode in {answer}")),
            headers: answer["headers"].as_object().cloned().unwrap_or_default(),
            body: answer["body"].as_str().unwrap_or_default().to_owned(),
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {}", self.body))
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// Asserts the status and returns the JSON body.
    fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        self.json()
    }
}

impl ApiFunction {
    async fn invoke(&self, event: &Value) -> ApiReply {
        let payload = serde_json::to_vec(event).unwrap();
        let request: LambdaRequest = serde_json::from_slice(&payload)
            .unwrap_or_else(|e| panic!("lambda_http does not take the event ({e}): {event:#}"));
        let mut adapter: Adapter<'_, axum::response::Response, axum::Router> =
            Adapter::from(self.router.clone());
        let response = adapter
            .ready()
            .await
            .unwrap_or_else(|never| match never {})
            .call(LambdaEvent::new(request, Context::default()))
            .await
            .unwrap_or_else(|never| match never {});
        ApiReply::from_lambda(&serde_json::to_value(&response).unwrap())
    }

    /// A request from someone with `role` at the brand: their token, and the claims API
    /// Gateway's JWT authorizer read from it.
    async fn send(&self, role: &str, request: HttpApiRequest) -> ApiReply {
        let brand = BrandId::parse(BRAND).unwrap();
        // Tokens are checked against the real time, whatever the desk's clock says.
        let now = Timestamp::now();
        let subject = format!("{role}@{BRAND}");
        let token = mint_hs256(
            &self.secret,
            ISSUER,
            AUDIENCE,
            &subject,
            &brand,
            Role::parse(role).unwrap(),
            jiff::SignedDuration::from_hours(1),
            now,
        );
        let claims = json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": subject, "brand": BRAND, "role": role,
            "iat": now.as_second(), "exp": now.as_second() + 3600,
        });
        self.invoke(&request.bearer(&token, &claims).event()).await
    }

    async fn get(&self, path: &str) -> ApiReply {
        self.send("manager", HttpApiRequest::new("GET", path)).await
    }

    async fn post(&self, path: &str, body: Value) -> ApiReply {
        self.send("manager", HttpApiRequest::new("POST", path).json(&body))
            .await
    }

    /// A POST without a body (a workflow action), as the desk sends it: with the ETag last read.
    async fn post_action(&self, path: &str, if_match: &str) -> ApiReply {
        self.send(
            "manager",
            HttpApiRequest::new("POST", path).header("if-match", if_match),
        )
        .await
    }
}

// ---- the deployment on the emulator ----

/// What `template.yaml` deploys, on the emulator, with each function's handler built as its
/// `lambda_env` builder builds it (but on a manual clock, and with Mastodon on loopback).
struct Deployment {
    api: ApiFunction,
    publisher: PublishingService,
    intake: S3Intake,
    metrics: MetricsService,
    reports: ReportService,
    clock: Arc<ManualClock>,
    bucket: String,
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    /// The publisher's rule on the bus (publish-target events).
    jobs: String,
    /// A brand's rules on the bus: post.*, asset.* and report.ready.
    post_events: String,
    asset_events: String,
    report_events: String,
    /// The bucket's notifications of objects created under incoming/.
    uploads: String,
    mastodon: FakeMastodon,
    http: reqwest::Client,
    /// The relay function, invoked with what the table's stream holds (moto cannot run the
    /// event source mapping): the brand's events reach the bus through it.
    relay: palinsesto::services::relay::RelayService,
    stream: tokio::sync::Mutex<palinsesto_system_tests::stream::StreamReader>,
}

/// A template value as JSON (an event pattern).
fn yaml_to_json(yaml: &Yaml) -> Value {
    match yaml {
        Yaml::String(s) | Yaml::Real(s) => Value::String(s.clone()),
        Yaml::Integer(i) => json!(i),
        Yaml::Boolean(b) => json!(b),
        Yaml::Array(items) => Value::Array(items.iter().map(yaml_to_json).collect()),
        Yaml::Hash(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.as_str().unwrap_or_default().to_owned(), yaml_to_json(v)))
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// The event pattern of the publisher's PublishTarget rule, as the template declares it.
fn publisher_rule_pattern() -> String {
    let template = template::load();
    let pattern = &template["Resources"]["PublisherFunction"]["Properties"]["Events"]["PublishTarget"]
        ["Properties"]["Pattern"];
    let pattern = yaml_to_json(pattern);
    assert_eq!(
        pattern["detail-type"],
        json!(["palinsesto.publish-target"]),
        "the template's publisher rule: {pattern}"
    );
    pattern.to_string()
}

async fn deploy() -> Deployment {
    let config = sdk_config().await;
    let s3 = s3::client(&config);
    let events = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);

    // The media bucket, notifying intake of what is created under incoming/ as the template's
    // S3 event does; moto cannot invoke the function, so the notifications go to a queue.
    let bucket = unique("palinsesto-media");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let (uploads, uploads_arn) = queue(&sqs, "uploads").await;
    s3.put_bucket_notification_configuration()
        .bucket(&bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(
                    QueueConfiguration::builder()
                        .id("asset-intake")
                        .queue_arn(&uploads_arn)
                        .events(Event::from("s3:ObjectCreated:*"))
                        .filter(
                            NotificationConfigurationFilter::builder()
                                .key(
                                    S3KeyFilter::builder()
                                        .filter_rules(
                                            FilterRule::builder()
                                                .name(FilterRuleName::Prefix)
                                                .value("incoming/")
                                                .build(),
                                        )
                                        .build(),
                                )
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .expect("the bucket's notification to the uploads queue");

    // The bus, with the publisher's rule as the template declares it and a brand's own rules.
    let bus = unique("palinsesto-bus");
    events.create_event_bus().name(&bus).send().await.unwrap();
    let (jobs, arn) = queue(&sqs, "jobs").await;
    rule_to_queue(&events, &bus, &publisher_rule_pattern(), &arn).await;
    let mut brand_queues = Vec::new();
    for (name, detail_type) in [
        ("post-events", json!([{"prefix": "post."}])),
        ("asset-events", json!([{"prefix": "asset."}])),
        ("report-events", json!(["report.ready"])),
    ] {
        let (url, arn) = queue(&sqs, name).await;
        let pattern = json!({"source": ["palinsesto"], "detail-type": detail_type});
        rule_to_queue(&events, &bus, &pattern.to_string(), &arn).await;
        brand_queues.push(url);
    }
    let [post_events, asset_events, report_events] = <[String; 3]>::try_from(brand_queues).unwrap();

    // The deployment as every function builds it (`lambda_env`), on the emulator: the table
    // made from the template, the bucket and the bus above.
    let clock = Arc::new(ManualClock::new(START.parse().unwrap()));
    let table = fresh_table().await;
    let stream = palinsesto_system_tests::stream::StreamReader::open(&config, &table).await;
    let deployment = AwsDeployment::on(
        &config,
        ResourceNames {
            table,
            bucket: Some(bucket.clone()),
            bus: Some(bus),
            key: Some(palinsesto_system_tests::aws::kms_key(&config).await),
        },
        clock.clone(),
        palinsesto_system_tests::accounts::loopback_networks(),
    );

    // lambda_env::api_state, with an HS256 secret where the deployment has the provider's JWKS.
    let secret = Secret::new("aws-loop-test-secret-of-at-least-32-bytes");
    let auth = AuthConfig {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        key: KeySource::Hs256(secret.clone()),
        brand_claim: AuthConfig::DEFAULT_BRAND_CLAIM.into(),
        role_claim: AuthConfig::DEFAULT_ROLE_CLAIM.into(),
    };
    let state = deployment
        .api_state(Verifier::new(auth, palinsesto_system_tests::http_client()))
        .unwrap();
    let api = ApiFunction {
        router: router(state, &ApiSettings::default()),
        secret,
    };
    let publisher = deployment.publishing_service().unwrap();
    let intake = deployment.intake_service().unwrap();
    let metrics = deployment.metrics_service();
    let reports = deployment.reports_service().unwrap();

    Deployment {
        api,
        publisher,
        intake,
        metrics,
        reports,
        clock,
        bucket,
        s3,
        sqs,
        jobs,
        post_events,
        asset_events,
        report_events,
        uploads,
        mastodon: FakeMastodon::start().await,
        http: palinsesto_system_tests::http_client(),
        relay: deployment.relay_service().unwrap(),
        stream: tokio::sync::Mutex::new(stream),
    }
}

impl Deployment {
    /// The brand's events on `queue`, after the relay read the table's stream.
    async fn brand_events(&self, queue: &str, at_least: usize) -> Vec<Value> {
        self.stream.lock().await.relay(&self.relay).await;
        receive(&self.sqs, queue, at_least).await
    }

    fn at(&self, t: &str) -> Timestamp {
        let t: Timestamp = t.parse().unwrap();
        self.clock.set(t);
        t
    }

    /// The publishing rule's tick (rate(1 minute)), as EventBridge invokes the publisher.
    async fn publisher_tick(&self) -> PublisherOutcome {
        let event = scheduled_event("palinsesto-PublisherFunctionTick", self.now());
        handle_publisher_event(&self.publisher, event)
            .await
            .expect("the publisher takes its schedule's event")
    }

    /// Every publish-target event the publisher's rule delivered, each handed to the publisher as
    /// Lambda would hand it (the whole EventBridge event); returns the events and the outcomes.
    async fn deliver_jobs(&self, expected: usize) -> Vec<(Value, PublisherOutcome)> {
        let delivered = receive(&self.sqs, &self.jobs, expected).await;
        assert_eq!(delivered.len(), expected, "{delivered:#?}");
        let mut outcomes = Vec::new();
        for event in delivered {
            assert_eq!(event["source"], "palinsesto");
            assert_eq!(event["detail-type"], "palinsesto.publish-target");
            let outcome = handle_publisher_event(&self.publisher, event.clone())
                .await
                .expect("the publisher takes the job's event");
            outcomes.push((event, outcome));
        }
        outcomes
    }

    async fn metrics_tick(&self) -> MetricsOutcome {
        let event = scheduled_event("palinsesto-MetricsFunctionTick", self.now());
        handle_metrics_event(&self.metrics, event)
            .await
            .expect("the metrics function takes its schedule's event")
    }

    async fn reports_tick(&self) -> ReportsOutcome {
        let event = scheduled_event("palinsesto-ReportsFunctionTick", self.now());
        handle_reports_event(&self.reports, event)
            .await
            .expect("the reports function takes its schedule's event")
    }

    fn now(&self) -> Timestamp {
        use palinsesto::clock::Clock;
        self.clock.now()
    }

    /// An object of the bucket, with its content type, read straight from S3.
    async fn object(&self, key: &str) -> Option<(String, Vec<u8>)> {
        let got = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        let content_type = got.content_type().unwrap_or_default().to_owned();
        let bytes = got.body.collect().await.unwrap().into_bytes().to_vec();
        Some((content_type, bytes))
    }

    async fn post(&self, id: &str) -> Value {
        self.api.get(&format!("/v1/posts/{id}")).await.expect(200)
    }
}

fn only_target(post: &Value) -> &Value {
    let targets = post["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{post}");
    &targets[0]
}

#[tokio::test]
async fn a_week_on_aws_from_the_first_post_to_the_monday_report() {
    let d = deploy().await;
    let api = &d.api;

    // ---- API: the brand, its Mastodon channel, a post scheduled for 09:00 ----

    let anonymous = api
        .invoke(&HttpApiRequest::new("GET", "/v1/posts").event())
        .await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert_eq!(anonymous.header("content-type"), "application/problem+json");

    let brand = api
        .send(
            "owner",
            HttpApiRequest::new("PUT", "/v1/brand").json(
                &json!({"name": "Acme Coffee", "time_zone": "Europe/Rome", "approval_required": false}),
            ),
        )
        .await;
    assert_eq!(brand.status, 201, "{}", brand.body);
    assert!(
        brand.header("content-type").starts_with("application/json"),
        "{:?}",
        brand.headers
    );

    let channel = api
        .post(
            "/v1/channels",
            json!({"network": "mastodon", "name": "Acme on Mastodon", "handle": "@acme", "settings": d.mastodon.settings()}),
        )
        .await
        .expect(201);
    let channel = channel["id"].as_str().unwrap().to_owned();
    api.send(
        "manager",
        HttpApiRequest::new("PUT", &format!("/v1/channels/{channel}/credentials"))
            .json(&d.mastodon.credentials()),
    )
    .await
    .expect(200);

    let text = "Spring menu 🌸 #coffee";
    let created = api
        .post(
            "/v1/posts",
            json!({"text": text, "channels": [channel], "publish_at": FIRST_POST_AT}),
        )
        .await;
    let post = created.expect(201)["id"].as_str().unwrap().to_owned();
    let scheduled = api
        .post_action(
            &format!("/v1/posts/{post}/schedule"),
            created.header("etag"),
        )
        .await
        .expect(200);
    assert_eq!(scheduled["status"], "scheduled", "{scheduled}");

    // ---- Publisher: the tick fans out through EventBridge, the job event publishes ----

    d.at("2027-03-10T08:59:00Z");
    let early = d.publisher_tick().await;
    assert!(
        matches!(
            early,
            PublisherOutcome::Tick {
                jobs_dispatched: 0,
                ..
            }
        ),
        "{early:?}"
    );

    d.at(FIRST_POST_AT);
    let tick = d.publisher_tick().await;
    assert!(
        matches!(
            tick,
            PublisherOutcome::Tick {
                posts_examined: 1,
                jobs_dispatched: 1,
                errors: 0,
                ..
            }
        ),
        "{tick:?}"
    );
    assert!(
        d.mastodon.statuses().is_empty(),
        "the tick posts nothing itself"
    );
    let jobs = d.deliver_jobs(1).await;
    let (job_event, outcome) = &jobs[0];
    assert_eq!(
        *outcome,
        PublisherOutcome::PublishTarget {
            post_id: post.clone(),
            channel_id: channel.clone(),
            result: "recorded",
            detail: "published",
        }
    );
    assert_eq!(d.mastodon.count_statuses_with_text(text), 1);
    // EventBridge delivers at least once: the same event again posts nothing.
    let again = handle_publisher_event(&d.publisher, job_event.clone())
        .await
        .unwrap();
    assert!(
        matches!(
            again,
            PublisherOutcome::PublishTarget {
                result: "skipped",
                ..
            }
        ),
        "{again:?}"
    );
    assert_eq!(d.mastodon.statuses().len(), 1, "exactly one status");

    let published = d.post(&post).await;
    assert_eq!(published["status"], "published", "{published}");
    let target = only_target(&published);
    assert_eq!(target["state"], "published", "{target}");
    let remote_id = target["remote_id"].as_str().unwrap().to_owned();
    assert_eq!(d.mastodon.statuses()[0].id, remote_id);
    let post_events = d.brand_events(&d.post_events, 1).await;
    assert_eq!(post_events.len(), 1, "{post_events:#?}");
    assert_eq!(post_events[0]["detail-type"], "post.published");
    assert_eq!(post_events[0]["detail"]["data"]["post_id"], post.as_str());

    // ---- Intake: an upload through a presigned PUT, S3's notification to intake ----

    d.at("2027-03-10T09:20:00Z");
    let photo = fixtures::noise_jpeg(640, 480, 1);
    let filename = "Caffè latte.jpg";
    let grant = api
        .post(
            "/v1/assets/uploads",
            json!({"filename": filename, "content_type": "image/jpeg", "size": photo.len()}),
        )
        .await
        .expect(201);
    let asset = grant["asset_id"].as_str().unwrap().to_owned();
    let mut put = d
        .http
        .put(grant["url"].as_str().unwrap())
        .body(photo.clone());
    for (name, value) in grant["headers"].as_object().unwrap() {
        put = put.header(name, value.as_str().unwrap());
    }
    let uploaded = put.send().await.unwrap();
    assert!(
        uploaded.status().is_success(),
        "{:?}",
        uploaded.text().await
    );
    let key = format!("incoming/{BRAND}/{asset}/{filename}");

    // The notification in AWS's documented shape; the emulator's own, for the same object, is
    // a second delivery of it (S3 delivers at least once).
    let notification = s3_object_created(&d.bucket, &key, photo.len());
    assert!(
        notification.to_string().contains("Caff%C3%A8+latte.jpg"),
        "{notification}"
    );
    let summary = d
        .intake
        .handle(&notification)
        .await
        .expect("intake takes the notification");
    let [record] = summary.records.as_slice() else {
        panic!("one record: {summary:?}");
    };
    assert_eq!(record.key, key);
    let RecordResult::Taken(IntakeOutcome::Ready(ready)) = &record.result else {
        panic!("not taken in: {record:?}");
    };
    assert_eq!(ready.id.to_string(), asset);

    // Everything the bucket sent, handed to intake as Lambda would hand it: the s3:TestEvent
    // of setting the notification up (no records), and the object's ObjectCreated:Put.
    let mut created = 0;
    for sent in receive(&d.sqs, &d.uploads, 2).await {
        let summary = d
            .intake
            .handle(&sent)
            .await
            .unwrap_or_else(|e| panic!("{e}: {sent}"));
        let Some(records) = sent["Records"].as_array() else {
            assert_eq!(sent["Event"], "s3:TestEvent", "{sent}");
            assert!(summary.records.is_empty(), "{summary:?}");
            continue;
        };
        created += 1;
        assert_eq!(records.len(), 1, "{sent}");
        assert_eq!(records[0]["eventName"], "ObjectCreated:Put");
        let sent_key = records[0]["s3"]["object"]["key"].as_str().unwrap();
        assert_eq!(decode_key(sent_key).as_deref(), Ok(key.as_str()));
        assert!(
            matches!(
                summary.records[0].result,
                RecordResult::Taken(IntakeOutcome::Gone)
            ),
            "already taken in: {summary:?}"
        );
    }
    assert_eq!(created, 1, "one notification of the upload");

    let view = api.get(&format!("/v1/assets/{asset}")).await.expect(200);
    assert_eq!(view["status"], "ready", "{view}");
    assert_eq!(view["filename"], filename);
    assert_eq!(
        (view["width"].as_u64(), view["height"].as_u64()),
        (Some(640), Some(480))
    );
    let download = d
        .http
        .get(view["download_url"].as_str().expect("a download link"))
        .send()
        .await
        .unwrap();
    assert!(download.status().is_success());
    assert_eq!(download.bytes().await.unwrap().as_ref(), &photo[..]);
    let asset_events = d.brand_events(&d.asset_events, 1).await;
    assert_eq!(asset_events.len(), 1, "one asset.ready: {asset_events:#?}");
    assert_eq!(asset_events[0]["detail-type"], "asset.ready");
    assert_eq!(
        asset_events[0]["detail"]["data"]["asset_id"],
        asset.as_str()
    );

    // The photo goes out with a second post: the publisher reads it from the bucket.
    let created = api
        .post(
            "/v1/posts",
            json!({"text": "Latte art, made this morning ☕", "channels": [channel], "media": [asset], "publish_at": PHOTO_POST_AT}),
        )
        .await;
    let photo_post = created.expect(201)["id"].as_str().unwrap().to_owned();
    api.post_action(
        &format!("/v1/posts/{photo_post}/schedule"),
        created.header("etag"),
    )
    .await
    .expect(200);
    d.at(PHOTO_POST_AT);
    let tick = d.publisher_tick().await;
    assert!(
        matches!(
            tick,
            PublisherOutcome::Tick {
                jobs_dispatched: 1,
                ..
            }
        ),
        "{tick:?}"
    );
    let jobs = d.deliver_jobs(1).await;
    assert!(
        matches!(
            jobs[0].1,
            PublisherOutcome::PublishTarget {
                result: "recorded",
                detail: "published",
                ..
            }
        ),
        "{:?}",
        jobs[0].1
    );
    let statuses = d.mastodon.statuses();
    assert_eq!(statuses.len(), 2);
    assert_eq!(statuses[1].media_ids.len(), 1, "{:?}", statuses[1]);
    let media = d.mastodon.media();
    assert_eq!(media.len(), 1);
    assert_eq!(media[0].size, photo.len(), "the photo's bytes, from S3");
    assert_eq!(media[0].content_type, "image/jpeg");
    assert_eq!(d.post(&photo_post).await["status"], "published");

    // ---- KPI: 3 interactions a week ----

    api.post(
        "/v1/kpis",
        json!({"metric": "engagement", "target": 3, "period": "week"}),
    )
    .await
    .expect(201);

    // ---- Metrics: two snapshots an hour apart, the likes rising ----

    d.at("2027-03-10T10:00:00Z");
    d.mastodon.set_status_counts(&remote_id, 1, 0, 0);
    let first = d.metrics_tick().await;
    assert!(first.snapshots >= 1 && first.failed == 0, "{first:?}");
    d.at("2027-03-10T11:00:00Z");
    d.mastodon.set_status_counts(&remote_id, 5, 0, 1);
    let second = d.metrics_tick().await;
    assert!(second.snapshots >= 1 && second.failed == 0, "{second:?}");
    let series = api
        .send(
            "manager",
            HttpApiRequest::new("GET", "/v1/metrics")
                .query("post", &post)
                .query("from", "2027-03-01T00:00:00Z")
                .query("to", "2027-03-31T00:00:00+01:00"),
        )
        .await
        .expect(200);
    let items = series["items"].as_array().unwrap();
    let likes: Vec<u64> = items
        .iter()
        .map(|s| s["counters"]["likes"].as_u64().unwrap())
        .collect();
    assert_eq!(likes, vec![1, 5], "{series}");
    assert_eq!(items[1]["counters"]["replies"], 1);
    assert_eq!(items[0]["taken_at"], "2027-03-10T10:00:00Z");

    // ---- Reports: Monday 08:00 in Rome, the week's report written and announced ----

    d.at("2027-03-15T06:59:59Z");
    assert_eq!(
        d.reports_tick().await,
        ReportsOutcome {
            written: 0,
            failed: 0
        }
    );
    d.at(REPORT_DUE);
    assert_eq!(
        d.reports_tick().await,
        ReportsOutcome {
            written: 1,
            failed: 0
        }
    );
    let folder = format!("reports/{BRAND}/2027-03-14");
    let mut written = Vec::new();
    for (ext, content_type) in [
        ("json", "application/json"),
        ("csv", "text/csv"),
        ("html", "text/html"),
    ] {
        let key = format!("{folder}/report.{ext}");
        let (stored_type, bytes) = d
            .object(&key)
            .await
            .unwrap_or_else(|| panic!("{key} is not in the bucket"));
        assert!(
            stored_type.starts_with(content_type),
            "{key}: {stored_type}"
        );
        assert!(bytes.len() > 200, "{key} is too small");
        written.push(key);
    }
    let (_, json_bytes) = d.object(&written[0]).await.unwrap();
    let stored: Value = serde_json::from_slice(&json_bytes).unwrap();
    assert_eq!(stored["period"]["first_day"], "2027-03-08");
    let current = &stored["channels"][0]["current"];
    assert_eq!(current["posts_published"], 2, "{current}");
    assert_eq!(current["likes"], 5, "{current}");
    assert_eq!(current["replies"], 1, "{current}");
    assert_eq!(stored["kpis"][0]["outcome"], "met", "{}", stored["kpis"]);

    let ready = d.brand_events(&d.report_events, 1).await;
    assert_eq!(ready.len(), 1, "one report.ready: {ready:#?}");
    assert_eq!(ready[0]["source"], "palinsesto");
    assert_eq!(ready[0]["detail-type"], "report.ready");
    let data = &ready[0]["detail"]["data"];
    assert_eq!(data["last_day"], "2027-03-14");
    assert_eq!(data["kpis_met"], 1);
    // No link that opens it (anyone holding the event could): the API path that serves it, which
    // the requests below follow.
    assert_eq!(data["path"], "/v1/reports?period=week&ending=2027-03-14");
    assert!(
        data.get("link").is_none() && data.get("keys").is_none(),
        "{data}"
    );
    // The schedule moved on: the same hour again writes nothing.
    assert_eq!(
        d.reports_tick().await,
        ReportsOutcome {
            written: 0,
            failed: 0
        }
    );

    // The same week through the API, in JSON and as CSV.
    d.at("2027-03-15T07:30:00Z");
    let report = api
        .send(
            "manager",
            HttpApiRequest::new("GET", "/v1/reports")
                .query("period", "week")
                .query("ending", "2027-03-14"),
        )
        .await
        .expect(200);
    assert_eq!(report["channels"][0]["current"]["likes"], 5, "{report}");
    assert_eq!(report["kpis"][0]["outcome"], "met");
    let csv = api
        .send(
            "manager",
            HttpApiRequest::new("GET", "/v1/reports")
                .query("ending", "2027-03-14")
                .header("accept", "text/csv"),
        )
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(csv.header("content-type").starts_with("text/csv"));
    assert!(csv.body.lines().count() > 1, "{}", csv.body);
}
