//! Publishing end to end on the local runner: posts scheduled through the API go out at their time
//! to loopback Mastodon and Bluesky servers, exactly once, whatever goes wrong on the way (429,
//! 5xx, timeouts, connections dropped after the server received the request, a worker dying
//! mid-publish, concurrent ticks, repeated deliveries), and every target ends published or failed
//! with a reason.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use palinsesto::media_inspection::Limits;
use palinsesto::services::intake::IntakeOutcome;

use async_trait::async_trait;
use jiff::SignedDuration;
use palinsesto::domain_events;
use palinsesto::fanout::{DispatchError, Dispatcher, PublishJob};
use palinsesto::networks::NetworkEndpoints;
use palinsesto::services::publishing::{JobReport, PublishingService};
use palinsesto_system_tests::desk::{Desk, target};
use palinsesto_system_tests::fakes::Fault;
use palinsesto_system_tests::fakes::bluesky::FakeBluesky;
use palinsesto_system_tests::fakes::mastodon::FakeMastodon;
use reqwest::Method;
use serde_json::json;

const AT: &str = "2027-01-15T11:00:00Z";
const STATUSES: &str = "/api/v1/statuses";
const CREATE_RECORD: &str = "/xrpc/com.atproto.repo.createRecord";

struct World {
    desk: Desk,
    mastodon: FakeMastodon,
    bluesky: FakeBluesky,
    m: String,
    b: String,
}

async fn world() -> World {
    let desk = Desk::start(NetworkEndpoints::default()).await;
    let mastodon = FakeMastodon::start().await;
    let bluesky = FakeBluesky::start().await;
    let m = desk
        .channel("mastodon", mastodon.settings(), mastodon.credentials())
        .await;
    let b = desk
        .channel("bluesky", bluesky.settings(), bluesky.credentials())
        .await;
    World {
        desk,
        mastodon,
        bluesky,
        m,
        b,
    }
}

#[tokio::test]
async fn a_scheduled_post_goes_out_at_its_time_exactly_once_with_results_in_the_api() {
    let mut w = world().await;
    let id = w
        .desk
        .scheduled("Autumn menu ☕ #coffee", &[&w.m, &w.b], AT)
        .await;

    // Before its time nothing happens.
    let report = w.desk.tick().await;
    assert_eq!(report.jobs_dispatched, 0);
    assert_eq!(w.desk.post(&id).await["status"], "scheduled");

    w.desk.set_time(AT);
    let post = w.desk.tick_and_settle(&id).await;
    assert_eq!(post["status"], "published", "{post}");
    for ch in [&w.m, &w.b] {
        let t = target(&post, ch);
        assert_eq!(t["state"], "published", "{t}");
        assert!(t["remote_id"].as_str().is_some_and(|r| !r.is_empty()));
        assert!(
            t["url"].as_str().is_some_and(|u| u.starts_with("http")),
            "{t}"
        );
    }
    assert_eq!(
        w.mastodon
            .count_statuses_with_text("Autumn menu ☕ #coffee"),
        1
    );
    assert_eq!(
        w.bluesky.count_records_with_text("Autumn menu ☕ #coffee"),
        1
    );

    // Later ticks find nothing due.
    w.desk.advance(SignedDuration::from_mins(10));
    assert_eq!(w.desk.tick().await.jobs_dispatched, 0);
    assert_eq!(w.mastodon.statuses().len(), 1);
    assert_eq!(w.bluesky.records().len(), 1);

    let events = w.desk.events().await;
    let published: Vec<_> = events
        .iter()
        .filter(|e| e.kind == domain_events::POST_PUBLISHED)
        .collect();
    assert_eq!(published.len(), 1, "{events:?}");
    assert_eq!(published[0].data["post_id"], id);
    assert_eq!(published[0].brand, "acme");
    // The shape docs/events.md documents.
    let data = &published[0].data;
    for key in [
        "post_id",
        "path",
        "status",
        "publish_at",
        "labels",
        "targets",
    ] {
        assert!(data.get(key).is_some(), "{key} missing from {data}");
    }
    // No text: events carry ids and paths only.
    assert!(data.get("text").is_none(), "{data}");
    for t in data["targets"].as_array().unwrap() {
        assert_eq!(t["state"], "published");
        assert!(
            t["remote_id"].is_string() && t["published_at"].is_string(),
            "{t}"
        );
    }
}

#[tokio::test]
async fn concurrent_ticks_claim_each_target_once() {
    let w = world().await;
    let ids = [
        w.desk.scheduled("one", &[&w.m, &w.b], AT).await,
        w.desk.scheduled("two", &[&w.m, &w.b], AT).await,
        w.desk.scheduled("three", &[&w.m], AT).await,
    ];
    w.desk.set_time(AT);
    let (a, b, c) = tokio::join!(w.desk.tick(), w.desk.tick(), w.desk.tick());
    assert_eq!(
        a.jobs_dispatched + b.jobs_dispatched + c.jobs_dispatched,
        5,
        "{a:?} {b:?} {c:?}"
    );
    for id in &ids {
        assert_eq!(w.desk.settle(id).await["status"], "published");
    }
    for text in ["one", "two", "three"] {
        assert_eq!(w.mastodon.count_statuses_with_text(text), 1, "{text}");
    }
    assert_eq!(
        w.bluesky.count_records_with_text("one") + w.bluesky.count_records_with_text("two"),
        2
    );
}

/// A dispatcher that keeps the jobs instead of running them, so a test can deliver them (twice,
/// late, or never: a worker that died).
#[derive(Default, Clone)]
struct KeptJobs(Arc<Mutex<Vec<PublishJob>>>);

#[async_trait]
impl Dispatcher for KeptJobs {
    async fn dispatch(&self, jobs: Vec<PublishJob>) -> Result<(), DispatchError> {
        self.0.lock().unwrap().extend(jobs);
        Ok(())
    }
}

impl KeptJobs {
    fn take(&self) -> Vec<PublishJob> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

fn service_keeping_jobs(desk: &Desk, kept: &KeptJobs) -> PublishingService {
    let runtime = &desk.app.runtime;
    runtime
        .wiring()
        .publishing(Arc::new(runtime.bucket.clone()), Arc::new(kept.clone()))
}

#[tokio::test]
async fn a_job_delivered_twice_publishes_once() {
    let w = world().await;
    let id = w.desk.scheduled("delivered twice", &[&w.m, &w.b], AT).await;
    w.desk.set_time(AT);
    let kept = KeptJobs::default();
    let service = service_keeping_jobs(&w.desk, &kept);
    service.tick().await.unwrap();
    let jobs = kept.take();
    assert_eq!(jobs.len(), 2);
    // Each job arrives twice, at the same time.
    let mut reports = Vec::new();
    for job in &jobs {
        let (r1, r2) = tokio::join!(service.publish_target(job), service.publish_target(job));
        reports.push((r1.unwrap(), r2.unwrap()));
    }
    // And once more, much later.
    for job in &jobs {
        assert!(matches!(
            service.publish_target(job).await.unwrap(),
            JobReport::Skipped(_)
        ));
    }
    assert_eq!(
        w.mastodon.count_statuses_with_text("delivered twice"),
        1,
        "{reports:?}"
    );
    assert_eq!(
        w.bluesky.count_records_with_text("delivered twice"),
        1,
        "{reports:?}"
    );
    assert_eq!(w.desk.post(&id).await["status"], "published");
}

#[tokio::test]
async fn a_worker_that_dies_before_publishing_is_taken_over_after_its_lease() {
    let w = world().await;
    let id = w.desk.scheduled("worker died", &[&w.m], AT).await;
    w.desk.set_time(AT);
    let kept = KeptJobs::default();
    service_keeping_jobs(&w.desk, &kept).tick().await.unwrap();
    assert_eq!(kept.take().len(), 1, "claimed, then the worker died");
    assert_eq!(w.desk.post(&id).await["status"], "publishing");
    // While the lease holds, nobody else touches it.
    w.desk.advance(SignedDuration::from_mins(4));
    assert_eq!(w.desk.tick().await.jobs_dispatched, 0);
    // After it, the target is taken over, checked on the network first, then published.
    w.desk.advance(SignedDuration::from_mins(1));
    let post = w.desk.tick_and_settle(&id).await;
    assert_eq!(post["status"], "published", "{post}");
    assert_eq!(w.mastodon.count_statuses_with_text("worker died"), 1);
}

#[tokio::test]
async fn workers_that_keep_dying_end_in_a_check_and_a_plain_failure_not_a_loop() {
    let w = world().await;
    let id = w.desk.scheduled("never recorded", &[&w.m], AT).await;
    w.desk.set_time(AT);
    let kept = KeptJobs::default();
    let dying = service_keeping_jobs(&w.desk, &kept);
    // Three workers in a row take the target and die before recording anything.
    for _ in 0..3 {
        assert_eq!(dying.tick().await.unwrap().jobs_dispatched, 1);
        assert_eq!(kept.take().len(), 1);
        w.desk.advance(SignedDuration::from_mins(5));
    }
    // The next attempt only looks for the post: it is not there, so the target fails.
    let post = w.desk.tick_and_settle(&id).await;
    let t = target(&post, &w.m);
    assert_eq!(t["state"], "failed", "{t}");
    assert_eq!(t["failure"]["kind"], "lost_lease", "{t}");
    assert!(
        t["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("not on the network"),
        "{t}"
    );
    assert_eq!(w.mastodon.count_statuses_with_text("never recorded"), 0);
    // Nothing is retaken afterwards.
    w.desk.advance(SignedDuration::from_hours(3));
    assert_eq!(w.desk.tick().await.jobs_dispatched, 0);
}

/// A small MP4 taken into acme's media library; its asset id.
async fn video_asset(desk: &Desk) -> String {
    let runtime = &desk.app.runtime;
    let key = "incoming/acme/clip.mp4";
    let path = runtime.bucket.root().join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        palinsesto::media_inspection::fixtures::mp4(false, 4096),
    )
    .unwrap();
    match runtime.intake(Limits::default()).ingest(key).await.unwrap() {
        IntakeOutcome::Ready(asset) => asset.id.to_string(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_attempt_that_outruns_its_time_limit_ends_as_unknown_and_is_checked() {
    // A video Mastodon never finishes processing: the attempt must end inside its limit (in
    // Lambda: before the function's timeout), not hang until its lease is lost.
    let w = world().await;
    let video = video_asset(&w.desk).await;
    w.mastodon.set_processing_polls(usize::MAX);
    let m = w.desk.manager();
    let r = m
        .post(
            "/v1/posts",
            json!({"text": "slow video", "channels": [w.m], "media": [video], "publish_at": AT}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let r = m
        .action(&format!("/v1/posts/{id}/schedule"), Some(&r.etag()))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    w.desk.set_time(AT);
    let kept = KeptJobs::default();
    let service =
        service_keeping_jobs(&w.desk, &kept).with_attempt_limit(Duration::from_millis(300));
    service.tick().await.unwrap();
    let job = kept.take().remove(0);
    let started = std::time::Instant::now();
    let report = service.publish_target(&job).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "{report:?}");
    let post = w.desk.post(&id).await;
    let t = target(&post, &w.m);
    assert_eq!(t["state"], "unknown", "{t}");
    assert!(
        t["message"].as_str().unwrap_or_default().contains("limit")
            || t.to_string().contains("limit"),
        "{t}"
    );
    assert_eq!(w.mastodon.count_statuses_with_text("slow video"), 0);
}

#[tokio::test]
async fn a_worker_that_dies_after_the_network_took_the_post_is_not_repeated() {
    let w = world().await;
    let id = w
        .desk
        .scheduled("died after posting", &[&w.m, &w.b], AT)
        .await;
    w.desk.set_time(AT);
    let kept = KeptJobs::default();
    let service = service_keeping_jobs(&w.desk, &kept);
    service.tick().await.unwrap();
    // The workers post, and the networks take it, but the answers are lost with the connection.
    w.mastodon
        .faults()
        .inject(Method::POST, STATUSES, 1, Fault::DropAfterReceive);
    w.bluesky
        .server
        .faults
        .inject(Method::POST, CREATE_RECORD, 1, Fault::DropAfterReceive);
    for job in kept.take() {
        service.publish_target(&job).await.unwrap();
    }
    assert_eq!(w.mastodon.count_statuses_with_text("died after posting"), 1);
    assert_eq!(w.bluesky.count_records_with_text("died after posting"), 1);
    let post = w.desk.post(&id).await;
    assert_eq!(target(&post, &w.m)["state"], "unknown", "{post}");
    assert_eq!(target(&post, &w.b)["state"], "unknown", "{post}");
    // Not retried at once; a minute later the targets are read back and found.
    assert_eq!(w.desk.tick().await.jobs_dispatched, 0);
    w.desk.advance(SignedDuration::from_mins(1));
    let post = w.desk.tick_and_settle(&id).await;
    assert_eq!(post["status"], "published", "{post}");
    assert_eq!(w.mastodon.count_statuses_with_text("died after posting"), 1);
    assert_eq!(w.bluesky.count_records_with_text("died after posting"), 1);
    assert_eq!(
        target(&post, &w.m)["remote_id"],
        w.mastodon.statuses()[0].id.as_str()
    );
}

#[tokio::test]
async fn a_timeout_after_the_network_received_the_request_does_not_duplicate() {
    let w = world().await;
    let id = w.desk.scheduled("slow answer", &[&w.m, &w.b], AT).await;
    w.mastodon.faults().inject(
        Method::POST,
        STATUSES,
        1,
        Fault::AnswerLate(std::time::Duration::from_secs(3)),
    );
    w.bluesky.server.faults.inject(
        Method::POST,
        CREATE_RECORD,
        1,
        Fault::AnswerLate(std::time::Duration::from_secs(3)),
    );
    w.desk.set_time(AT);
    let post = w.desk.tick_and_settle(&id).await;
    assert_eq!(target(&post, &w.m)["state"], "unknown", "{post}");
    w.desk.advance(SignedDuration::from_mins(1));
    let post = w.desk.tick_and_settle(&id).await;
    assert_eq!(post["status"], "published", "{post}");
    assert_eq!(w.mastodon.count_statuses_with_text("slow answer"), 1);
    assert_eq!(w.bluesky.count_records_with_text("slow answer"), 1);
}

#[tokio::test]
async fn rate_limits_wait_for_the_networks_reset_and_5xx_back_off() {
    let w = world().await;
    let id = w.desk.scheduled("busy networks", &[&w.m, &w.b], AT).await;
    let reset = "2027-01-15T11:07:00Z";
    w.mastodon.faults().inject(
        Method::POST,
        STATUSES,
        1,
        Fault::status_with_headers(
            429,
            &[
                ("X-RateLimit-Limit", "300"),
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset", reset),
            ],
            r#"{"error":"Too many requests"}"#,
        ),
    );
    w.bluesky.server.faults.inject(
        Method::POST,
        CREATE_RECORD,
        1,
        Fault::status(502, r#"{"error":"InternalServerError"}"#),
    );
    w.desk.set_time(AT);
    let post = w.desk.tick_and_settle(&id).await;
    let m = target(&post, &w.m);
    assert_eq!(
        (m["state"].as_str(), m["retry_at"].as_str()),
        (Some("pending"), Some(reset)),
        "{m}"
    );
    assert_eq!(m["last_error"]["kind"], "rate_limited");
    let b = target(&post, &w.b);
    assert_eq!(
        (b["state"].as_str(), b["retry_at"].as_str()),
        (Some("pending"), Some("2027-01-15T11:01:00Z")),
        "{b}"
    );
    assert_eq!(post["status"], "publishing");

    w.desk.advance(SignedDuration::from_mins(1));
    let post = w.desk.tick_and_settle(&id).await;
    assert_eq!(target(&post, &w.b)["state"], "published");
    assert_eq!(
        target(&post, &w.m)["state"],
        "pending",
        "still waiting for Mastodon's reset"
    );
    w.desk.set_time(reset);
    let post = w.desk.tick_and_settle(&id).await;
    assert_eq!(post["status"], "published", "{post}");
    assert_eq!(w.mastodon.count_statuses_with_text("busy networks"), 1);
    assert_eq!(w.bluesky.count_records_with_text("busy networks"), 1);
}

#[tokio::test]
async fn revoked_credentials_fail_the_target_and_ask_for_a_reconnect() {
    let mut w = world().await;
    let id = w.desk.scheduled("revoked", &[&w.m, &w.b], AT).await;
    w.mastodon.faults().inject(
        Method::POST,
        STATUSES,
        1,
        Fault::status(401, r#"{"error":"The access token is invalid"}"#),
    );
    w.desk.set_time(AT);
    let post = w.desk.tick_and_settle(&id).await;
    assert_eq!(post["status"], "partially_published", "{post}");
    let m = target(&post, &w.m);
    assert_eq!(
        (m["state"].as_str(), m["failure"]["kind"].as_str()),
        (Some("failed"), Some("auth_expired")),
        "{m}"
    );
    assert!(
        m["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("access token"),
        "{m}"
    );
    let channel = w.desk.manager().get(&format!("/v1/channels/{}", w.m)).await;
    assert_eq!(channel.body["status"], "needs_reconnect");
    let events = w.desk.events().await;
    assert!(
        events
            .iter()
            .any(|e| e.kind == domain_events::CHANNEL_NEEDS_RECONNECT
                && e.data["channel_id"] == w.m.as_str()),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.kind == domain_events::POST_PARTIALLY_PUBLISHED),
        "{events:?}"
    );
    // Reconnecting makes the channel active again.
    let r = w
        .desk
        .manager()
        .put(
            &format!("/v1/channels/{}/credentials", w.m),
            w.mastodon.credentials(),
        )
        .await;
    assert_eq!(r.body["status"], "active");
}

#[tokio::test]
async fn a_post_the_publisher_reaches_too_late_is_missed_not_published() {
    let mut w = world().await;
    let id = w.desk.scheduled("too late", &[&w.m], AT).await;
    w.desk.set_time("2027-01-15T11:20:00Z");
    let post = w.desk.tick_and_settle(&id).await;
    assert_eq!(post["status"], "missed", "{post}");
    assert!(
        target(&post, &w.m)["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("past the brand's 15-minute window")
    );
    assert_eq!(w.mastodon.statuses().len(), 0);
    assert!(
        w.desk
            .events()
            .await
            .iter()
            .any(|e| e.kind == domain_events::POST_MISSED)
    );

    // A brand that publishes late gets it out late instead.
    w.desk
        .app
        .client("acme", "owner")
        .patch("/v1/brand", json!({"publish_late": true}), None)
        .await;
    let id = w
        .desk
        .scheduled("late but wanted", &[&w.m], "2027-01-15T12:00:00Z")
        .await;
    w.desk.set_time("2027-01-15T13:00:00Z");
    assert_eq!(w.desk.tick_and_settle(&id).await["status"], "published");
}

#[tokio::test]
async fn preflight_refuses_to_schedule_what_a_network_would_reject() {
    let w = world().await;
    let m = w.desk.manager();
    let long = "a".repeat(301);
    let r = m
        .post(
            "/v1/posts",
            json!({"text": long, "channels": [w.m, w.b], "publish_at": AT}),
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let check = m.action(&format!("/v1/posts/{id}/preflight"), None).await;
    assert_eq!(check.body["ok"], false, "{}", check.body);
    let r = m
        .action(&format!("/v1/posts/{id}/schedule"), Some(&r.etag()))
        .await;
    let problem = r.problem(422);
    assert_eq!(problem["errors"].as_array().unwrap().len(), 1, "{problem}");
    assert_eq!(problem["errors"][0]["field"], format!("targets.{}", w.b));
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("300"),
        "{problem}"
    );
    assert_eq!(
        w.desk.post(&id).await["status"],
        "draft",
        "nothing was scheduled"
    );
}

#[tokio::test]
async fn publish_now_goes_out_without_waiting_for_a_time() {
    let w = world().await;
    let m = w.desk.manager();
    let r = m
        .post("/v1/posts", json!({"text": "right now", "channels": [w.m]}))
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let r = m
        .action(&format!("/v1/posts/{id}/publish-now"), Some(&r.etag()))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["publish_at"], palinsesto_system_tests::app::NOW);
    assert_eq!(w.desk.tick_and_settle(&id).await["status"], "published");
    assert_eq!(w.mastodon.count_statuses_with_text("right now"), 1);
}

#[tokio::test]
async fn queue_takes_the_next_free_slot_across_the_dst_change() {
    let w = world().await;
    let m = w.desk.manager();
    // Sunday 02:30 does not exist in Rome on 2027-03-28; Saturday 09:00 is taken by the first post.
    m.patch(
        &format!("/v1/channels/{}", w.m),
        json!({"queue": [{"day": "sat", "time": "09:00"}, {"day": "sun", "time": "02:30"}]}),
        None,
    )
    .await;
    w.desk.set_time("2027-03-26T12:00:00Z");
    let mut at = Vec::new();
    for text in ["first", "second", "third"] {
        let r = m
            .post("/v1/posts", json!({"text": text, "channels": [w.m]}))
            .await;
        let id = r.body["id"].as_str().unwrap().to_owned();
        let r = m
            .action(&format!("/v1/posts/{id}/queue"), Some(&r.etag()))
            .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        at.push(r.body["publish_at_local"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        at,
        [
            "2027-03-27T09:00:00+01:00[Europe/Rome]",
            "2027-03-28T03:30:00+02:00[Europe/Rome]",
            "2027-04-03T09:00:00+02:00[Europe/Rome]",
        ]
    );
}

#[tokio::test]
async fn a_publisher_and_a_metrics_worker_renew_an_x_token_once_between_them() {
    // X refresh tokens are single use: when two workers renew at once, the second one's refresh
    // token is already spent and X refuses it. The renewal lease makes the second wait, read the
    // first one's new token, and use it.
    let x = palinsesto_system_tests::fakes::x::FakeX::start().await;
    let desk = Desk::start(NetworkEndpoints {
        x: x.base().to_owned(),
        ..NetworkEndpoints::default()
    })
    .await;
    let mut credentials = x.credentials();
    // The access token ran out: both workers renew it before their first call.
    credentials["access_token_expires_at"] =
        json!((jiff::Timestamp::now().as_second() - 10).to_string());
    let channel = desk.channel("x", json!({}), credentials).await;
    let id = desk.scheduled("renewed once", &[&channel], AT).await;
    // The first renewal's answer comes late, so the other worker's renewal overlaps it.
    x.server.faults.inject(
        Method::POST,
        "/2/oauth2/token",
        1,
        Fault::AnswerLate(Duration::from_millis(700)),
    );
    desk.set_time(AT);
    let metrics = desk.app.runtime.metrics();
    let (post, read) = tokio::join!(desk.tick_and_settle(&id), metrics.tick());

    let t = target(&post, &channel);
    assert_eq!(t["state"], "published", "{t}");
    let read = read.unwrap();
    assert_eq!((read.snapshots, read.failed), (1, 0), "{read:?}");
    assert_eq!(
        x.tokens_refreshed(),
        1,
        "one renewal between the two workers"
    );
    let r = desk.manager().get(&format!("/v1/channels/{channel}")).await;
    assert_eq!(r.body["status"], "active", "{}", r.body);
    // The stored credentials carry the renewed pair, so the next worker needs no renewal.
    let stored = desk
        .app
        .runtime
        .store()
        .get_credentials(
            &palinsesto::domain::BrandId::parse("acme").unwrap(),
            &palinsesto::domain::ChannelId::parse(&channel).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.get("refresh_token").map(|s| s.expose().to_owned()),
        Some(x.refresh_token())
    );
}

#[tokio::test]
async fn the_publisher_function_counts_a_failed_target_by_its_reason() {
    use palinsesto::telemetry::emf::capture;
    use palinsesto::triggers::publisher::handle_publisher_event;

    let w = world().await;
    let id = w.desk.scheduled("counted", &[&w.m, &w.b], AT).await;
    w.mastodon.faults().inject(
        Method::POST,
        STATUSES,
        1,
        Fault::status(401, r#"{"error":"The access token is invalid"}"#),
    );
    w.desk.set_time(AT);
    let kept = KeptJobs::default();
    let service = service_keeping_jobs(&w.desk, &kept);
    service.tick().await.unwrap();
    let jobs = kept.take();
    assert_eq!(jobs.len(), 2);
    // Each job as EventBridge delivers it to the publisher function.
    let emitted = capture::start();
    for job in &jobs {
        let event = json!({
            "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": "palinsesto.publish-target", "source": "palinsesto",
            "account": "123456789012", "time": AT, "region": "eu-south-1", "resources": [],
            "detail": job,
        });
        handle_publisher_event(&service, event).await.unwrap();
    }
    let mut emitted = emitted.take();
    emitted.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(
        emitted,
        vec![
            capture::Emitted {
                name: "TargetsFailed".into(),
                reason: Some("auth_expired".into()),
                value: 1
            },
            capture::Emitted {
                name: "TargetsPublished".into(),
                reason: None,
                value: 1
            },
        ]
    );
    assert_eq!(w.desk.post(&id).await["status"], "partially_published");
}
