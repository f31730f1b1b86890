//! The AWS path of publishing against the emulator (moto): publish jobs and domain events through
//! EventBridge (rules deliver to SQS, since moto cannot invoke Lambda), the media library on S3,
//! and the publisher function's routing driving the real publishing service on DynamoDB, the
//! whole loop in miniature: tick -> EventBridge -> job -> publish to a loopback Mastodon.

use std::collections::HashSet;
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use jiff::{SignedDuration, Timestamp};
use palinsesto::adapters::eventbridge::EventBridgeBus;
use palinsesto::adapters::s3::{self, S3Bucket};
use palinsesto::bucket::BucketMedia;
use palinsesto::clock::{Clock, ManualClock};
use palinsesto::domain::channel::ChannelFields;
use palinsesto::domain::post::Context;
use palinsesto::domain::{
    Asset, AssetId, AssetStatus, Brand, BrandId, BrandProfile, Channel, ChannelId, ChannelStatus,
    Credentials, MediaKind, Network, Post, PostDraft, PostId, PostInput, PostStatus, TimeZoneName,
};
use palinsesto::domain_events::{self, DomainEvent, EventBus};
use palinsesto::fanout::{Dispatcher, PublishJob};
use palinsesto::lambda_env::{AwsDeployment, ResourceNames};
use palinsesto::networks::{MediaFiles, PublishError};
use palinsesto::services::publishing::PublishingService;
use palinsesto::store::Store;
use palinsesto::triggers::publisher::{PublisherOutcome, handle_publisher_event};
use palinsesto_system_tests::aws::{RoutedBus, receive, sdk_config, unique};
use palinsesto_system_tests::dynamodb::fresh_table;
use palinsesto_system_tests::fakes::mastodon::FakeMastodon;
use serde_json::{Value, json};

fn acme() -> BrandId {
    BrandId::parse("acme").unwrap()
}

fn job(i: usize) -> PublishJob {
    PublishJob {
        brand: acme(),
        post_id: PostId::new(),
        channel_id: ChannelId::new(),
        network: if i.is_multiple_of(2) {
            Network::Mastodon
        } else {
            Network::Bluesky
        },
        attempt_id: format!("attempt-{i}"),
    }
}

fn event(kind: &str, text: &str) -> DomainEvent {
    DomainEvent {
        id: ulid::Ulid::new().to_string(),
        kind: kind.into(),
        time: "2027-01-15T11:00:00Z".parse().unwrap(),
        brand: "acme".into(),
        data: json!({"post_id": PostId::new().to_string(), "text": text, "targets": []}),
    }
}

#[tokio::test]
async fn publish_jobs_reach_the_publisher_rule_each_exactly_once_across_batches() {
    let config = sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let routed = RoutedBus::create(&config).await;
    let bus = EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&config), &routed.name);

    // 25 jobs: three PutEvents calls (moto refuses more than 10 entries in one, as AWS does).
    let jobs: Vec<PublishJob> = (0..25).map(job).collect();
    bus.dispatch(jobs.clone()).await.unwrap();

    let delivered = receive(&sqs, &routed.jobs_queue, jobs.len()).await;
    assert_eq!(delivered.len(), jobs.len());
    for event in &delivered {
        assert_eq!(event["source"], "palinsesto");
        assert_eq!(event["detail-type"], "palinsesto.publish-target");
    }
    let received: Vec<PublishJob> = delivered
        .iter()
        .map(|e| serde_json::from_value(e["detail"].clone()).unwrap())
        .collect();
    let sent: HashSet<String> = jobs.iter().map(|j| j.attempt_id.clone()).collect();
    let got: HashSet<String> = received.iter().map(|j| j.attempt_id.clone()).collect();
    assert_eq!(got, sent, "every job once");
    for j in &received {
        assert!(jobs.contains(j), "{j:?} is exactly a job that was sent");
    }
    // Jobs are not post events.
    assert!(receive(&sqs, &routed.post_events_queue, 0).await.is_empty());
}

#[tokio::test]
async fn domain_events_reach_the_rules_on_their_type_whole() {
    let config = sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let routed = RoutedBus::create(&config).await;
    let bus = EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&config), &routed.name);

    let mut sent: Vec<DomainEvent> = (0..12)
        .map(|i| event(domain_events::POST_PUBLISHED, &format!("post {i} ☕")))
        .collect();
    sent.push(event(domain_events::POST_FAILED, "did not go"));
    let reconnect = event(domain_events::CHANNEL_NEEDS_RECONNECT, "");
    bus.emit([sent.clone(), vec![reconnect]].concat())
        .await
        .unwrap();

    let delivered = receive(&sqs, &routed.post_events_queue, sent.len()).await;
    assert_eq!(delivered.len(), sent.len(), "only the post.* events");
    for e in &delivered {
        let decoded: DomainEvent = serde_json::from_value(e["detail"].clone()).unwrap();
        assert_eq!(e["detail-type"], decoded.kind.as_str());
        let original = sent
            .iter()
            .find(|s| s.id == decoded.id)
            .expect("a sent event");
        assert_eq!(&decoded, original);
    }
    assert!(receive(&sqs, &routed.jobs_queue, 0).await.is_empty());
}

#[tokio::test]
async fn a_post_text_too_large_for_an_entry_is_cut_short_and_flagged() {
    let config = sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let routed = RoutedBus::create(&config).await;
    let bus = EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&config), &routed.name);

    // 64 KB of control characters: 6 bytes each in JSON, far over 256 KB.
    let huge = event(domain_events::POST_PUBLISHED, &"\u{7}".repeat(64 * 1024));
    let small = event(domain_events::POST_PUBLISHED, "small");
    bus.emit(vec![huge.clone(), small.clone()]).await.unwrap();

    let delivered = receive(&sqs, &routed.post_events_queue, 2).await;
    assert_eq!(delivered.len(), 2);
    let find = |id: &str| -> DomainEvent {
        let e = delivered.iter().find(|e| e["detail"]["id"] == id).unwrap();
        serde_json::from_value(e["detail"].clone()).unwrap()
    };
    let cut = find(&huge.id);
    assert_eq!(cut.data["text_truncated"], true);
    let text = cut.data["text"].as_str().unwrap();
    assert!(!text.is_empty() && text.len() < 64 * 1024, "{}", text.len());
    assert_eq!(cut.data["post_id"], huge.data["post_id"]);
    assert_eq!(find(&small.id), small);
}

#[tokio::test]
async fn a_bus_that_does_not_exist_is_an_error_saying_how_many_and_why() {
    let config = sdk_config().await;
    let bus = EventBridgeBus::new(
        aws_sdk_eventbridge::Client::new(&config),
        unique("no-such-bus"),
    );
    let e = bus.dispatch((0..12).map(job).collect()).await.unwrap_err();
    let message = e.to_string();
    assert!(message.contains("12 of 12"), "{message}");
    assert!(message.contains("RequestFailed"), "{message}");
    assert!(message.contains("ResourceNotFound"), "{message}");
}

// ---- S3 ----

fn asset(object_key: &str, size: u64) -> Asset {
    let now: Timestamp = "2027-01-15T10:00:00Z".parse().unwrap();
    Asset {
        id: AssetId::new(),
        kind: MediaKind::Video,
        content_type: "video/mp4".into(),
        size,
        width: None,
        height: None,
        duration_ms: None,
        alt_text: None,
        object_key: object_key.into(),
        status: AssetStatus::Ready,
        version: 1,
        created_at: now,
        updated_at: now,
        details: Default::default(),
    }
}

/// The media library on a bucket holding one object of `len` bytes (a pattern, so ranges are
/// checkable), read the way the publisher reads it.
async fn bucket_with_object(key: &str, len: usize) -> (BucketMedia, Vec<u8>) {
    let config = sdk_config().await;
    let client = s3::client(&config);
    let name = unique("palinsesto-media");
    client.create_bucket().bucket(&name).send().await.unwrap();
    let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    client
        .put_object()
        .bucket(&name)
        .key(key)
        .body(ByteStream::from(bytes.clone()))
        .send()
        .await
        .unwrap();
    (BucketMedia(Arc::new(S3Bucket::new(client, name))), bytes)
}

#[tokio::test]
async fn ranges_of_an_asset_are_read_from_the_bucket() {
    let key = "library/acme/clip.mp4";
    let (bucket, bytes) = bucket_with_object(key, 300_000).await;
    let a = asset(key, bytes.len() as u64);
    for range in [0..16, 100_000..200_000, 299_990..300_000, 0..300_000] {
        let read = bucket.read(&a, range.clone()).await.unwrap();
        let expected = &bytes[range.start as usize..range.end as usize];
        assert_eq!(&read[..], expected, "{range:?}");
    }
    assert!(bucket.read(&a, 5..5).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_presigned_url_serves_the_asset_over_http() {
    let key = "library/acme/photo.jpg";
    let (bucket, bytes) = bucket_with_object(key, 50_000).await;
    let url = bucket
        .fetch_url(&asset(key, bytes.len() as u64))
        .await
        .unwrap();
    assert!(url.contains("X-Amz-Signature="), "{url}");
    assert!(
        url.contains("X-Amz-Expires=900"),
        "valid for 15 minutes: {url}"
    );
    let answer = palinsesto_system_tests::http_client()
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(&answer.bytes().await.unwrap()[..], &bytes[..]);
}

#[tokio::test]
async fn missing_or_short_files_are_invalid_media_in_plain_words() {
    let key = "library/acme/short.jpg";
    let (bucket, bytes) = bucket_with_object(key, 1_000).await;

    let missing = asset("library/acme/gone.jpg", 1_000);
    match bucket.read(&missing, 0..1_000).await {
        Err(PublishError::InvalidMedia(message)) => {
            assert!(message.contains("missing from the library"), "{message}");
            assert!(message.contains(&missing.id.to_string()), "{message}");
        }
        other => panic!("expected InvalidMedia, got {other:?}"),
    }

    // The library says 2 000 bytes; the bucket has 1 000.
    let short = asset(key, 2_000);
    for range in [0..2_000, 1_500..2_000] {
        match bucket.read(&short, range.clone()).await {
            Err(PublishError::InvalidMedia(message)) => {
                assert!(message.contains("shorter"), "{range:?}: {message}")
            }
            other => panic!("{range:?}: expected InvalidMedia, got {other:?}"),
        }
    }
    assert_eq!(
        bucket.read(&short, 0..1_000).await.unwrap().len(),
        bytes.len()
    );
}

// ---- the publisher function's loop ----

const AT: &str = "2027-01-15T11:00:00Z";

/// The event a scheduled rule delivers every minute, in the documented shape.
fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": AT,
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/palinsesto-tick"],
        "detail": {}
    })
}

struct Loop {
    service: PublishingService,
    store: Store,
    clock: Arc<ManualClock>,
    routed: RoutedBus,
    sqs: aws_sdk_sqs::Client,
    mastodon: FakeMastodon,
    /// The relay function on the table's stream: post events reach the bus through it.
    relay: palinsesto::services::relay::RelayService,
    stream: palinsesto_system_tests::stream::StreamReader,
}

/// The publisher as `lambda_env::publishing_service` builds it (the same function), on the emulator: DynamoDB, one
/// EventBridge bus for jobs and events, S3; Mastodon is a loopback fake.
async fn publisher_loop() -> Loop {
    publisher_loop_on(palinsesto_system_tests::accounts::loopback_networks()).await
}

async fn publisher_loop_on(networks: palinsesto::wiring::NetworkAccess) -> Loop {
    let config = sdk_config().await;
    let routed = RoutedBus::create(&config).await;
    let clock = Arc::new(ManualClock::new("2027-01-15T10:00:00Z".parse().unwrap()));
    let table = fresh_table().await;
    let stream = palinsesto_system_tests::stream::StreamReader::open(&config, &table).await;
    let deployment = AwsDeployment::on(
        &config,
        ResourceNames {
            table,
            bucket: Some(unique("unused")),
            bus: Some(routed.name.clone()),
            key: Some(palinsesto_system_tests::aws::kms_key(&config).await),
        },
        clock.clone(),
        networks,
    );
    let store = deployment.wiring().ports().store;
    Loop {
        service: deployment.publishing_service().unwrap(),
        store,
        clock,
        routed,
        sqs: aws_sdk_sqs::Client::new(&config),
        mastodon: FakeMastodon::start().await,
        relay: deployment.relay_service().unwrap(),
        stream,
    }
}

impl Loop {
    /// Brand "acme", a connected Mastodon channel, and a post scheduled for `AT` to it.
    async fn scheduled_post(&self, text: &str) -> PostId {
        let settings = self.mastodon.settings();
        let credentials = self.mastodon.credentials();
        self.scheduled_on(Network::Mastodon, settings, credentials, text)
            .await
            .0
    }

    /// Brand "acme", a channel on `network` connected with `credentials`, and a post scheduled
    /// for `AT` to it.
    async fn scheduled_on(
        &self,
        network: Network,
        settings: Value,
        credentials: Value,
        text: &str,
    ) -> (PostId, Channel) {
        let now = self.clock_now();
        let brand = Brand::create(
            acme(),
            BrandProfile::parse("Acme Coffee", "Europe/Rome", false).unwrap(),
            now,
        );
        self.store.put_brand(&brand, None).await.unwrap();

        let fields = ChannelFields::parse(
            network,
            "Acme",
            "@acme",
            settings.as_object().unwrap().clone(),
            ChannelStatus::Active,
            palinsesto::domain::OutboundPolicy::PRIVATE_ALLOWED,
        )
        .unwrap();
        let channel = self
            .store
            .put_channel(&acme(), &Channel::create(network, fields, now), None)
            .await
            .unwrap();
        let credentials = Credentials::parse(network, credentials.as_object().unwrap()).unwrap();
        let mut connected = channel.clone();
        connected.credentials_stored(now);
        self.store
            .put_credentials(&acme(), &connected, channel.version, &credentials)
            .await
            .unwrap();

        let draft = PostDraft::parse(PostInput {
            text: text.into(),
            channels: vec![channel.id.to_string()],
            ..PostInput::default()
        })
        .unwrap();
        let ctx = Context {
            actor: "alice",
            now,
            approval_required: false,
        };
        let mut post = Post::create(draft, TimeZoneName::parse("Europe/Rome").unwrap(), &ctx);
        post.schedule(Some(AT.parse().unwrap()), &ctx).unwrap();
        let id = self.store.put_post(&acme(), &post, None).await.unwrap().id;
        (id, channel)
    }

    fn clock_now(&self) -> Timestamp {
        self.clock.now()
    }

    async fn post_status(&self, id: &PostId) -> PostStatus {
        self.store
            .get_post(&acme(), id)
            .await
            .unwrap()
            .unwrap()
            .status()
    }
}

#[tokio::test]
async fn a_tick_event_fans_out_through_eventbridge_and_the_job_event_publishes_once() {
    let mut l = publisher_loop().await;
    let id = l.scheduled_post("Autumn menu ☕ #coffee").await;

    // Before its time, a tick finds nothing.
    let outcome = handle_publisher_event(&l.service, scheduled_event())
        .await
        .unwrap();
    assert!(
        matches!(
            outcome,
            PublisherOutcome::Tick {
                jobs_dispatched: 0,
                ..
            }
        ),
        "{outcome:?}"
    );

    // At its time, the tick claims the target and puts one job on the bus.
    l.clock.set(AT.parse().unwrap());
    let outcome = handle_publisher_event(&l.service, scheduled_event())
        .await
        .unwrap();
    assert!(
        matches!(
            outcome,
            PublisherOutcome::Tick {
                posts_examined: 1,
                jobs_dispatched: 1,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(l.post_status(&id).await, PostStatus::Publishing);
    let jobs = receive(&l.sqs, &l.routed.jobs_queue, 1).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(
        l.mastodon.statuses().len(),
        0,
        "nothing is posted by the tick itself"
    );

    // The job event, as the rule delivered it, is what the publisher function is invoked with.
    l.clock.advance(SignedDuration::from_secs(2));
    let job_event = jobs[0].clone();
    let outcome = handle_publisher_event(&l.service, job_event.clone())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        PublisherOutcome::PublishTarget {
            post_id: id.to_string(),
            channel_id: job_event["detail"]["channel_id"]
                .as_str()
                .unwrap()
                .to_owned(),
            result: "recorded",
            detail: "published",
        }
    );
    assert_eq!(
        l.mastodon
            .count_statuses_with_text("Autumn menu ☕ #coffee"),
        1
    );
    assert_eq!(l.mastodon.statuses().len(), 1);
    assert_eq!(l.post_status(&id).await, PostStatus::Published);

    // The same job delivered again (EventBridge and Lambda deliver at least once) does nothing.
    let again = handle_publisher_event(&l.service, job_event).await.unwrap();
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
    assert_eq!(l.mastodon.statuses().len(), 1);

    // The brand's rule on post events got the post.published event, once, through the outbox,
    // the table's stream and the relay.
    let relayed = l.stream.relay(&l.relay).await;
    assert_eq!(relayed.events, 1, "{relayed:?}");
    let post_events = receive(&l.sqs, &l.routed.post_events_queue, 1).await;
    assert_eq!(post_events.len(), 1, "{post_events:?}");
    assert_eq!(post_events[0]["detail-type"], "post.published");
    let published: DomainEvent = serde_json::from_value(post_events[0]["detail"].clone()).unwrap();
    assert_eq!(published.data["post_id"], id.to_string());
    assert_eq!(published.brand, "acme");

    // Later ticks find nothing due and put no job on the bus.
    l.clock.advance(SignedDuration::from_mins(10));
    let outcome = handle_publisher_event(&l.service, scheduled_event())
        .await
        .unwrap();
    assert!(
        matches!(
            outcome,
            PublisherOutcome::Tick {
                jobs_dispatched: 0,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert!(receive(&l.sqs, &l.routed.jobs_queue, 0).await.is_empty());
}

#[tokio::test]
async fn an_event_the_publisher_does_not_handle_is_an_error_and_touches_nothing() {
    let l = publisher_loop().await;
    let id = l.scheduled_post("not yet").await;
    l.clock.set(AT.parse().unwrap());
    let mut s3_event = scheduled_event();
    s3_event["source"] = json!("aws.s3");
    s3_event["detail-type"] = json!("Object Created");
    let e = handle_publisher_event(&l.service, s3_event)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Object Created"), "{e}");
    assert_eq!(l.post_status(&id).await, PostStatus::Scheduled);
    assert!(receive(&l.sqs, &l.routed.jobs_queue, 0).await.is_empty());
}

/// A staging stack with `AllowSandbox=true`: the publisher publishes a sandbox target through
/// the same tick, bus and job, keeping the post in DynamoDB, with credentials sealed by KMS.
#[tokio::test]
async fn a_stack_that_allows_the_sandbox_publishes_to_it_through_the_publisher() {
    let l = publisher_loop_on(palinsesto::wiring::NetworkAccess {
        sandbox: true,
        ..palinsesto_system_tests::accounts::loopback_networks()
    })
    .await;
    let (id, channel) = l
        .scheduled_on(
            Network::Sandbox,
            json!({"seed": "staging"}),
            json!({"access_token": "anything"}),
            "Hello from staging",
        )
        .await;

    // the tick at its time puts one job on the bus, and the job publishes it on the sandbox
    l.clock.set(AT.parse().unwrap());
    handle_publisher_event(&l.service, scheduled_event())
        .await
        .unwrap();
    let jobs = receive(&l.sqs, &l.routed.jobs_queue, 1).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let outcome = handle_publisher_event(&l.service, jobs[0].clone())
        .await
        .unwrap();
    assert!(
        matches!(
            outcome,
            PublisherOutcome::PublishTarget {
                result: "recorded",
                detail: "published",
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(l.post_status(&id).await, PostStatus::Published);
    let kept = l
        .store
        .get_sandbox_post(&acme(), &channel.id, &format!("{id}-{}", channel.id))
        .await
        .unwrap()
        .expect("the post is kept in the table");
    assert_eq!(kept.text, "Hello from staging");
    assert!(l.mastodon.statuses().is_empty(), "no network was called");
}
