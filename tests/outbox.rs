//! Events at least once: an event is written with the change that causes it, so a local runner
//! that dies after the write and before relaying it delivers it when it starts again, once, with
//! the same id.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use palinsesto::domain::{Actor, BrandId, Role};
use palinsesto::local::{LocalOptions, LocalRuntime};
use palinsesto::services::BrandService;
use palinsesto::services::brands::NewProfile;
use palinsesto::services::webhooks::{NewWebhook, WebhookService};
use serde_json::Value;

fn options() -> LocalOptions {
    LocalOptions {
        outbound: palinsesto::domain::OutboundPolicy::PRIVATE_ALLOWED,
        ..LocalOptions::default()
    }
}

fn owner() -> Actor {
    Actor {
        subject: "owner@acme".into(),
        brand: BrandId::parse("acme").unwrap(),
        role: Role::Owner,
        route: None,
    }
}

/// A receiver that records the event ids it was sent.
async fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: Bytes| {
            let seen = seen.clone();
            async move {
                let event: Value = serde_json::from_slice(&body).unwrap();
                seen.lock()
                    .unwrap()
                    .push(event["id"].as_str().unwrap().to_owned());
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

#[tokio::test]
async fn an_event_written_before_a_crash_is_delivered_once_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (url, got) = receiver().await;

    // given a runner that writes an event (a webhook ping) and dies before any relay ran
    let event_id = {
        let runtime = LocalRuntime::open_with(dir.path(), options()).unwrap();
        BrandService::new(runtime.ports())
            .put(
                &owner(),
                NewProfile {
                    name: "Acme",
                    time_zone: "Europe/Rome",
                    ..NewProfile::default()
                },
                None,
            )
            .await
            .unwrap();
        let webhooks = WebhookService::new(runtime.ports());
        let created = webhooks
            .create(
                &owner(),
                NewWebhook {
                    url: url.clone(),
                    events: vec!["post.failed".into()],
                    description: None,
                },
            )
            .await
            .unwrap();
        let event = webhooks.ping(&owner(), &created.webhook.id).await.unwrap();
        runtime.shutdown();
        event.id
    };
    assert!(
        got.lock().unwrap().is_empty(),
        "nothing was relayed before the crash"
    );

    // when it starts again with its relay
    let runtime = LocalRuntime::open_with(dir.path(), options()).unwrap();
    let mut bus = runtime.bus.subscribe();
    let relay = runtime.start_relay();

    // then the event reaches the bus and the webhook, once, with the id it was written with
    let on_bus = tokio::time::timeout(Duration::from_secs(10), bus.recv())
        .await
        .expect("the event is relayed after the restart")
        .unwrap();
    assert_eq!(on_bus.id, event_id);
    for _ in 0..500 {
        if !got.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(*got.lock().unwrap(), std::slice::from_ref(&event_id));
    assert!(bus.try_recv().is_err(), "relayed once");
    relay.stop().await;
    runtime.shutdown();
    drop(runtime);

    // and a third start relays nothing again
    let runtime = LocalRuntime::open_with(dir.path(), options()).unwrap();
    let relay = runtime.relay(Duration::from_secs(3600));
    assert_eq!(relay.relay_pending().await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(got.lock().unwrap().len(), 1);
}
