//! Outgoing webhooks on the local runner: a brand receives signed deliveries of the events it
//! chose, a receiver that fails is retried with backoff and the log shows every attempt, a
//! replayed delivery is refused by its timestamp, and another brand's webhooks do not exist.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use jiff::{SignedDuration, Timestamp};
use palinsesto::media_inspection::Limits;
use palinsesto::webhook_signature::{SIGNATURE_HEADER, SignatureError, TOLERANCE, verify};
use palinsesto_system_tests::app::TestApp;
use serde_json::{Value, json};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn signature(&self) -> String {
        self.headers[SIGNATURE_HEADER].to_str().unwrap().to_owned()
    }
}

/// A loopback receiver that answers 503 to its first `failures` requests, then 200.
#[derive(Clone)]
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(failures: usize) -> Self {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let seen = got.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let seen = seen.clone();
                async move {
                    let mut seen = seen.lock().unwrap();
                    seen.push(Received { headers, body });
                    if seen.len() <= failures {
                        (StatusCode::SERVICE_UNAVAILABLE, "busy, try later")
                    } else {
                        (StatusCode::OK, "thanks")
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, got }
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..1000 {
            if self.got().len() >= count {
                return self.got();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "the receiver got {} requests, not {count}",
            self.got().len()
        );
    }
}

async fn app_with_brand() -> TestApp {
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", false).await;
    app
}

/// Creates a webhook as acme's manager; returns (id, secret).
async fn webhook(app: &TestApp, url: &str, events: Value) -> (String, String) {
    let r = app
        .client("acme", "manager")
        .post(
            "/v1/webhooks",
            json!({"url": url, "events": events, "description": "ops"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    (
        r.body["id"].as_str().unwrap().to_owned(),
        r.body["secret"].as_str().unwrap().to_owned(),
    )
}

async fn deliveries(app: &TestApp, id: &str) -> Vec<Value> {
    let r = app
        .client("acme", "manager")
        .get(&format!("/v1/webhooks/{id}/deliveries"))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

/// Drops a file that intake refuses (a PDF named .jpg): one asset.rejected event.
async fn reject_a_file(app: &TestApp) {
    let folder = app.runtime.bucket.root().join("incoming").join("acme");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("invoice.jpg"), b"%PDF-1.7\n%binary\n").unwrap();
    let intake = app.runtime.intake(Limits::default());
    // The first scan notes the size, the next takes the settled file in.
    intake.scan_incoming().await.unwrap();
    let taken = intake.scan_incoming().await.unwrap();
    assert_eq!(taken.len(), 1, "{taken:?}");
}

#[tokio::test]
async fn a_brand_receives_signed_deliveries_of_the_events_it_chose() {
    // given two webhooks, one for rejected assets and one for failed posts
    let app = app_with_brand().await;
    let assets = Receiver::start(0).await;
    let posts = Receiver::start(0).await;
    let (assets_hook, secret) = webhook(&app, &assets.url, json!(["asset.rejected"])).await;
    webhook(&app, &posts.url, json!(["post.failed"])).await;

    // when a file is rejected
    reject_a_file(&app).await;
    app.relayed().await;

    // then the first receives it, signed with its secret, and the second nothing
    let got = assets.wait_for(1).await;
    assert_eq!(got.len(), 1);
    let event = got[0].json();
    assert_eq!(event["type"], "asset.rejected");
    assert_eq!(event["brand"], "acme");
    assert_eq!(
        got[0].headers["palinsesto-event-id"],
        event["id"].as_str().unwrap()
    );
    assert_eq!(got[0].headers["palinsesto-event-type"], "asset.rejected");
    assert_eq!(
        got[0].headers["palinsesto-webhook-id"],
        assets_hook.as_str()
    );
    let now: Timestamp = palinsesto_system_tests::app::NOW.parse().unwrap();
    assert_eq!(
        verify(&secret, &got[0].signature(), &got[0].body, now, TOLERANCE),
        Ok(())
    );
    // no file name, no personal data in what left
    assert!(!String::from_utf8_lossy(&got[0].body).contains("invoice"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(posts.got().is_empty());

    // and the delivery log says it was delivered at the first attempt
    let log = deliveries(&app, &assets_hook).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["state"], "delivered");
    assert_eq!(log[0]["event_id"], event["id"]);
    assert_eq!(log[0]["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(log[0]["attempts"][0]["status"], 200);

    // and the secret is never shown again
    let r = app
        .client("acme", "manager")
        .get(&format!("/v1/webhooks/{assets_hook}"))
        .await;
    assert!(r.body.get("secret").is_none(), "{}", r.body);
    assert!(!r.body.to_string().contains(&secret));
}

#[tokio::test]
async fn a_failing_receiver_is_retried_with_backoff_and_every_attempt_is_logged() {
    // given a receiver that fails twice
    let app = app_with_brand().await;
    let receiver = Receiver::start(2).await;
    let (id, secret) = webhook(&app, &receiver.url, json!(["report.ready"])).await;

    // when a ping is asked for
    let r = app
        .client("acme", "manager")
        .action(&format!("/v1/webhooks/{id}/ping"), None)
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    let event_id = r.body["event_id"].as_str().unwrap().to_owned();

    // then the first attempt fails and the next waits a minute
    receiver.wait_for(1).await;
    let relay = app.runtime.relay_service();
    let log = deliveries(&app, &id).await;
    assert_eq!(log[0]["state"], "pending", "{log:?}");
    assert_eq!(log[0]["attempts"][0]["status"], 503);
    assert!(
        log[0]["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("503"),
        "{log:?}"
    );
    let first: Timestamp = log[0]["attempts"][0]["at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        log[0]["next_attempt_at"]
            .as_str()
            .unwrap()
            .parse::<Timestamp>()
            .unwrap(),
        first + SignedDuration::from_mins(1)
    );
    // nothing is due before then
    relay.deliver_due().await.unwrap();
    assert_eq!(receiver.got().len(), 1);

    // when a minute and then five more pass
    app.clock.advance(SignedDuration::from_mins(1));
    relay.deliver_due().await.unwrap();
    assert_eq!(receiver.wait_for(2).await.len(), 2);
    app.clock.advance(SignedDuration::from_mins(5));
    relay.deliver_due().await.unwrap();
    let got = receiver.wait_for(3).await;

    // then the third attempt is accepted, the log shows all three, and each was signed afresh
    // for the same event
    let log = deliveries(&app, &id).await;
    assert_eq!(log[0]["state"], "delivered", "{log:?}");
    let statuses: Vec<_> = log[0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [503, 503, 200]);
    assert!(log[0]["next_attempt_at"].is_null());
    for (i, received) in got.iter().enumerate() {
        assert_eq!(received.json()["id"], event_id.as_str());
        assert_eq!(received.json()["type"], "webhook.ping");
        let sent_at: Timestamp = log[0]["attempts"][i]["at"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            verify(
                &secret,
                &received.signature(),
                &received.body,
                sent_at,
                TOLERANCE
            ),
            Ok(())
        );
    }
    // and a later tick sends nothing more
    app.clock.advance(SignedDuration::from_hours(24));
    relay.deliver_due().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(receiver.got().len(), 3);
}

#[tokio::test]
async fn a_replayed_delivery_is_refused_by_its_timestamp() {
    // given a delivery a receiver accepted
    let app = app_with_brand().await;
    let receiver = Receiver::start(0).await;
    let (id, secret) = webhook(&app, &receiver.url, json!(["post.failed"])).await;
    app.client("acme", "manager")
        .action(&format!("/v1/webhooks/{id}/ping"), None)
        .await;
    let got = receiver.wait_for(1).await;
    let sent: Timestamp = palinsesto_system_tests::app::NOW.parse().unwrap();
    assert_eq!(
        verify(&secret, &got[0].signature(), &got[0].body, sent, TOLERANCE),
        Ok(())
    );

    // when someone replays it six minutes later, or changes a byte of it
    let later = sent + SignedDuration::from_mins(6);
    let replayed = verify(&secret, &got[0].signature(), &got[0].body, later, TOLERANCE);
    let mut changed = got[0].body.to_vec();
    changed[10] ^= 1;
    let tampered = verify(&secret, &got[0].signature(), &changed, sent, TOLERANCE);

    // then the receiver's check refuses both
    assert_eq!(replayed, Err(SignatureError::OutsideTolerance(360)));
    assert_eq!(tampered, Err(SignatureError::Mismatch));
}

#[tokio::test]
async fn webhooks_are_checked_when_saved_and_changed_with_if_match() {
    let app = app_with_brand().await;
    let m = app.client("acme", "manager");
    // refused: not a URL, a scheme other than http(s), no events, an unknown event
    for (body, field) in [
        (
            json!({"url": "not a url", "events": ["post.failed"]}),
            "url",
        ),
        (
            json!({"url": "ftp://hooks.example.com/x", "events": ["post.failed"]}),
            "url",
        ),
        (
            json!({"url": "https://hooks.example.com/x", "events": []}),
            "events",
        ),
        (
            json!({"url": "https://hooks.example.com/x", "events": ["post.exploded"]}),
            "events[0]",
        ),
        (
            json!({"url": "https://hooks.example.com/x", "events": ["webhook.ping"]}),
            "events[0]",
        ),
    ] {
        let r = m.post("/v1/webhooks", body.clone()).await;
        assert_eq!(r.status.as_u16(), 422, "{body}: {}", r.body);
        assert!(
            r.error_fields().contains(&field.to_owned()),
            "{body}: {}",
            r.body
        );
    }
    // a paused webhook: changed with If-Match, stale ETags refused
    let (id, _) = webhook(&app, "https://hooks.example.com/x", json!(["post.failed"])).await;
    let current = m.get(&format!("/v1/webhooks/{id}")).await;
    let r = m
        .patch(
            &format!("/v1/webhooks/{id}"),
            json!({"active": false}),
            Some(&current.etag()),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["active"], false);
    let r = m
        .patch(
            &format!("/v1/webhooks/{id}"),
            json!({"active": true}),
            Some(&current.etag()),
        )
        .await;
    assert_eq!(r.status.as_u16(), 412, "{}", r.body);
    let listed = m.get("/v1/webhooks").await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    let r = m.delete(&format!("/v1/webhooks/{id}"), None).await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    assert_eq!(
        m.get(&format!("/v1/webhooks/{id}")).await.status.as_u16(),
        404
    );
}

#[tokio::test]
async fn another_brands_webhooks_do_not_exist_and_editors_cannot_manage_them() {
    // given acme's webhook
    let app = app_with_brand().await;
    app.brand("other", "Europe/Rome", false).await;
    let receiver = Receiver::start(0).await;
    let (id, _) = webhook(&app, &receiver.url, json!(["post.failed"])).await;

    // when another brand's owner tries every route with its id
    let other = app.client("other", "owner");
    let path = format!("/v1/webhooks/{id}");
    let answers = [
        other.get(&path).await,
        other.patch(&path, json!({"active": false}), None).await,
        other.action(&format!("{path}/ping"), None).await,
        other.get(&format!("{path}/deliveries")).await,
        other.delete(&path, None).await,
    ];

    // then each is 404, and nothing was sent or changed
    for r in &answers {
        assert_eq!(r.status.as_u16(), 404, "{}", r.body);
    }
    assert!(
        other.get("/v1/webhooks").await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(receiver.got().is_empty());
    let mine = app.client("acme", "manager").get(&path).await;
    assert_eq!(mine.body["active"], true);

    // and below the manager role, webhooks are not for acme's own people either
    for role in ["viewer", "editor"] {
        let c = app.client("acme", role);
        assert_eq!(c.get("/v1/webhooks").await.status.as_u16(), 403, "{role}");
        let r = c
            .post(
                "/v1/webhooks",
                json!({"url": receiver.url, "events": ["post.failed"]}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 403, "{role}");
    }
}
