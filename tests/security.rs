//! Outbound safety, end to end: the guarded client refuses every non-public destination (IP
//! literals in every spelling, names that resolve inside, redirects), answers are read with a
//! size cap and a timeout, credentials only ever go to the server they were given for, and the
//! credentials a person may set are the network's own keys. Every fake here listens on loopback,
//! so "refused" is checked by what the fake did NOT receive.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use palinsesto::domain::{BrandId, ChannelId, OutboundPolicy};
use palinsesto::networks::NetworkEndpoints;
use palinsesto::outbound::{
    CallError, JSON_ANSWER_LIMIT, NameLookup, OutboundClient, SystemLookup, Timeouts, read_body,
};
use palinsesto_system_tests::desk::{Desk, target};
use palinsesto_system_tests::fakes::FakeServer;
use palinsesto_system_tests::fakes::mastodon::FakeMastodon;
use serde_json::json;

const AT: &str = "2027-01-15T11:00:00Z";

/// Names resolved from a table: how a test makes a public-looking name lead to loopback.
struct TableLookup(HashMap<String, Vec<IpAddr>>);

impl NameLookup for TableLookup {
    fn lookup(
        &self,
        name: String,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        let found = self.0.get(&name).cloned().unwrap_or_default();
        Box::pin(async move { Ok(found) })
    }
}

fn client(policy: OutboundPolicy) -> OutboundClient {
    OutboundClient::new(policy).expect("the client builds")
}

/// A loopback server that answers everything with 200 and counts what it received.
async fn target_server() -> FakeServer {
    FakeServer::start(Router::new().fallback(|| async { "{\"ok\":true}" })).await
}

fn port_of(server: &FakeServer) -> u16 {
    server.base.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn every_spelling_of_an_inside_address_is_refused_before_a_request_reaches_it() {
    let server = target_server().await;
    let port = port_of(&server);
    let public_only = client(OutboundPolicy::PUBLIC_ONLY);
    for url in [
        format!("https://127.0.0.1:{port}/"),
        format!("http://127.0.0.1:{port}/"),
        format!("https://localhost:{port}/"),
        format!("https://[::1]:{port}/"),
        format!("https://2130706433:{port}/"),
        format!("https://0x7f000001:{port}/"),
        format!("https://[::ffff:127.0.0.1]:{port}/"),
        format!("https://[64:ff9b::7f00:1]:{port}/"),
        "https://169.254.169.254/latest/meta-data/".to_owned(),
        "https://10.0.0.1/".to_owned(),
    ] {
        let err = public_only
            .send(public_only.get(&url))
            .await
            .expect_err(&url);
        assert!(matches!(err, CallError::Refused(_)), "{url}: {err:?}");
    }
    assert_eq!(server.faults.requests(), 0);
}

#[tokio::test]
async fn an_ip_literal_sent_around_the_url_check_is_caught_at_the_connection() {
    // `send` checks the URL first; this request skips it (reqwest's own send), so what stops it
    // is the check of the address the connection reached.
    let server = target_server().await;
    let port = port_of(&server);
    let public_only = client(OutboundPolicy::PUBLIC_ONLY);
    for url in [
        format!("http://127.0.0.1:{port}/"),
        format!("http://2130706433:{port}/"),
        format!("http://0177.0.0.1:{port}/"),
    ] {
        let err = public_only.get(&url).send().await.expect_err(&url);
        let err = CallError::from(err);
        let CallError::Refused(refusal) = err else {
            panic!("{url}: {err:?}");
        };
        assert!(refusal.0.contains("loopback"), "{refusal}");
    }
    assert_eq!(server.faults.requests(), 0, "no request reached the server");
}

#[tokio::test]
async fn a_name_that_resolves_inside_is_refused_and_never_dialled() {
    let server = target_server().await;
    let port = port_of(&server);
    let lookup = TableLookup(HashMap::from([
        (
            "rebind.example".to_owned(),
            vec!["127.0.0.1".parse().unwrap()],
        ),
        (
            "metadata.example".to_owned(),
            vec!["169.254.169.254".parse().unwrap()],
        ),
    ]));
    let guarded = OutboundClient::with(
        OutboundPolicy::PUBLIC_ONLY,
        Timeouts::default(),
        Arc::new(lookup),
    )
    .unwrap();
    for url in [
        format!("https://rebind.example:{port}/"),
        "https://metadata.example/".to_owned(),
    ] {
        let err = guarded.send(guarded.get(&url)).await.expect_err(&url);
        let CallError::Refused(refusal) = err else {
            panic!("{url}: {err:?}");
        };
        assert!(refusal.0.contains("resolves to"), "{refusal}");
    }
    assert_eq!(server.faults.requests(), 0);
}

#[tokio::test]
async fn redirects_are_checked_at_every_hop() {
    // Private networks are allowed here (the first hop is a loopback fake), but link-local
    // addresses (cloud metadata) never are, and neither are endless chains.
    let server = FakeServer::start(
        Router::new()
            .route(
                "/to-metadata",
                get(|| async {
                    Redirect::temporary("http://169.254.169.254/latest/meta-data/iam")
                }),
            )
            .route(
                "/to-decimal",
                get(|| async { Redirect::temporary("http://2852039166/latest/") }),
            )
            .route("/loop", get(|| async { Redirect::temporary("/loop") })),
    )
    .await;
    let guarded = client(OutboundPolicy::PRIVATE_ALLOWED);
    for (path, says) in [
        ("/to-metadata", "link-local"),
        ("/to-decimal", "link-local"),
        ("/loop", "redirects"),
    ] {
        let url = format!("{}{path}", server.base);
        let err = guarded.send(guarded.get(&url)).await.expect_err(path);
        let CallError::Refused(refusal) = err else {
            panic!("{path}: {err:?}");
        };
        assert!(refusal.0.contains(says), "{path}: {refusal}");
    }
}

#[tokio::test]
async fn oversized_answers_are_refused_without_being_held_in_memory() {
    let server = FakeServer::start(
        Router::new()
            .route(
                "/declared",
                get(|| async { "x".repeat(JSON_ANSWER_LIMIT + 1) }),
            )
            .route(
                "/endless",
                get(|| async {
                    // Chunked, no length: 1 GiB if the reader kept going.
                    let chunks = futures_chunks(16 * 1024, 64 * 1024);
                    Response::new(Body::from_stream(chunks))
                }),
            )
            .route("/fits", get(|| async { "x".repeat(1024) })),
    )
    .await;
    let guarded = client(OutboundPolicy::PRIVATE_ALLOWED);
    for path in ["/declared", "/endless"] {
        let response = guarded
            .send(guarded.get(format!("{}{path}", server.base)))
            .await
            .unwrap();
        let err = read_body(response, JSON_ANSWER_LIMIT).await.unwrap_err();
        assert!(
            matches!(err, CallError::TooLarge { limit } if limit == JSON_ANSWER_LIMIT),
            "{path}: {err:?}"
        );
    }
    let response = guarded
        .send(guarded.get(format!("{}/fits", server.base)))
        .await
        .unwrap();
    assert_eq!(
        read_body(response, JSON_ANSWER_LIMIT).await.unwrap().len(),
        1024
    );
}

fn futures_chunks(
    count: usize,
    size: usize,
) -> impl futures_core::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    let chunk = bytes::Bytes::from(vec![b'x'; size]);
    tokio_stream_iter((0..count).map(move |_| Ok(chunk.clone())))
}

/// A stream over an iterator, without pulling in a stream crate for one test.
fn tokio_stream_iter<I: Iterator + Unpin>(iter: I) -> impl futures_core::Stream<Item = I::Item> {
    struct Iter<I>(I);
    impl<I: Iterator + Unpin> futures_core::Stream for Iter<I> {
        type Item = I::Item;
        fn poll_next(
            mut self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<I::Item>> {
            std::task::Poll::Ready(self.0.next())
        }
    }
    Iter(iter)
}

#[tokio::test]
async fn a_slow_answer_ends_at_the_timeout() {
    let server = FakeServer::start(Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late"
        }),
    ))
    .await;
    let guarded = OutboundClient::with(
        OutboundPolicy::PRIVATE_ALLOWED,
        Timeouts {
            total: Duration::from_millis(300),
            ..Timeouts::default()
        },
        Arc::new(SystemLookup),
    )
    .unwrap();
    let err = guarded
        .send(guarded.get(format!("{}/slow", server.base)))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::Http(e) if e.is_timeout()),
        "{err:?}"
    );
}

// ---- credentials bound to their server, through the API and the publisher ----

struct Moved {
    desk: Desk,
    /// Where the channel was connected.
    home: FakeMastodon,
    /// Where someone then pointed it.
    elsewhere: FakeMastodon,
    channel: String,
}

async fn connected_mastodon_channel() -> Moved {
    let desk = Desk::start(NetworkEndpoints::default()).await;
    let home = FakeMastodon::start().await;
    let elsewhere = FakeMastodon::start().await;
    let channel = desk
        .channel("mastodon", home.settings(), home.credentials())
        .await;
    Moved {
        desk,
        home,
        elsewhere,
        channel,
    }
}

#[tokio::test]
async fn moving_a_channel_to_another_server_deletes_its_credentials() {
    let w = connected_mastodon_channel().await;
    let m = w.desk.manager();
    let path = format!("/v1/channels/{}", w.channel);

    // The same server, spelled differently, keeps the credentials.
    let same = format!("{}/", w.home.base());
    let r = m
        .patch(&path, json!({"settings": {"instance_url": same}}), None)
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["connected"], true, "{}", r.body);

    // Another server: the credentials go, in the same write, and the channel says why.
    let r = m
        .patch(
            &path,
            json!({"settings": {"instance_url": w.elsewhere.base()}}),
            None,
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["status"], "needs_reconnect", "{}", r.body);
    assert_eq!(r.body["reconnect_reason"], "endpoint_changed", "{}", r.body);
    assert_eq!(r.body["connected"], false, "{}", r.body);
    let stored = w
        .desk
        .app
        .runtime
        .store()
        .get_credentials(&BrandId::parse("acme").unwrap(), &channel_id(&w.channel))
        .await
        .unwrap();
    assert!(stored.is_none(), "the credentials were deleted");

    // Posts cannot be scheduled to it until it is connected again, and the new server never
    // hears of it.
    let r = m
        .post(
            "/v1/posts",
            json!({"text": "Hello", "channels": [w.channel], "publish_at": AT}),
        )
        .await;
    let post = r.body["id"].as_str().unwrap().to_owned();
    let r = m
        .action(&format!("/v1/posts/{post}/schedule"), Some(&r.etag()))
        .await;
    r.problem(422);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("waiting to be reconnected"),
        "{}",
        r.body
    );
    assert_eq!(w.elsewhere.faults().requests(), 0);

    // New credentials reconnect it, bound to the new server.
    let r = m
        .put(&format!("{path}/credentials"), w.elsewhere.credentials())
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["status"], "active");
    assert!(r.body.get("reconnect_reason").is_none() || r.body["reconnect_reason"].is_null());
}

fn channel_id(id: &str) -> ChannelId {
    ChannelId::parse(id).unwrap()
}

impl Moved {
    /// Changes the channel's server straight in the store, as a concurrent edit (or a URL saved
    /// before today's checks) would have left it, with its credentials still there.
    async fn point_channel_at(&self, url: &str) {
        let brand = BrandId::parse("acme").unwrap();
        let store = self.desk.app.runtime.store();
        let mut channel = store
            .get_channel(&brand, &channel_id(&self.channel))
            .await
            .unwrap()
            .unwrap();
        channel.settings.insert("instance_url".into(), json!(url));
        let version = channel.version;
        store
            .put_channel(&brand, &channel, Some(version))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn credentials_never_reach_a_server_they_were_not_given_for() {
    // The race the PATCH cannot close by itself: the channel's URL changes (here written
    // straight into the store, as a concurrent edit would land) while the credentials given for
    // the old server are still there.
    let mut w = connected_mastodon_channel().await;
    let id = w.desk.scheduled("Hello", &[&w.channel], AT).await;
    let elsewhere = w.elsewhere.base().to_owned();
    w.point_channel_at(&elsewhere).await;

    w.desk.set_time(AT);
    let post = w.desk.tick_and_settle(&id).await;
    let t = target(&post, &w.channel);
    assert_eq!(t["state"], "failed", "{t}");
    assert_eq!(t["failure"]["kind"], "endpoint_changed", "{t}");
    assert!(
        t["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("connect the channel again"),
        "{t}"
    );
    assert_eq!(w.elsewhere.faults().requests(), 0, "not even the rules");
    assert_eq!(w.home.status_requests(), 0);

    // The metrics tick holds back too.
    w.desk.app.runtime.metrics().tick().await.unwrap();
    assert_eq!(w.elsewhere.faults().requests(), 0);

    let r = w
        .desk
        .manager()
        .get(&format!("/v1/channels/{}", w.channel))
        .await;
    assert_eq!(r.body["status"], "needs_reconnect", "{}", r.body);
    assert_eq!(r.body["reconnect_reason"], "endpoint_changed");
    let reconnect: Vec<_> = w
        .desk
        .events()
        .await
        .into_iter()
        .filter(|e| e.kind == palinsesto::domain_events::CHANNEL_NEEDS_RECONNECT)
        .collect();
    assert_eq!(reconnect.len(), 1, "{reconnect:?}");
}

#[tokio::test]
async fn a_stored_url_that_fails_the_form_check_puts_its_channel_in_needs_reconnect() {
    // A URL saved before the check existed: plain http to a server we cannot call.
    let mut w = connected_mastodon_channel().await;
    let id = w.desk.scheduled("Hello", &[&w.channel], AT).await;
    w.point_channel_at("http://169.254.169.254/latest").await;

    w.desk.set_time(AT);
    let post = w.desk.tick_and_settle(&id).await;
    let t = target(&post, &w.channel);
    assert_eq!(t["failure"]["kind"], "endpoint_refused", "{t}");
    let r = w
        .desk
        .manager()
        .get(&format!("/v1/channels/{}", w.channel))
        .await;
    assert_eq!(r.body["reconnect_reason"], "endpoint_refused", "{}", r.body);
    assert_eq!(w.home.status_requests(), 0);
    assert!(!w.desk.events().await.is_empty());
}

#[tokio::test]
async fn people_may_set_only_their_networks_credential_keys() {
    let desk = Desk::start(NetworkEndpoints::default()).await;
    let pds = palinsesto_system_tests::fakes::bluesky::FakeBluesky::start().await;
    let m = desk.manager();
    let r = m
        .post(
            "/v1/channels",
            json!({"network": "bluesky", "name": "B", "handle": "acme.bsky.social", "settings": pds.settings()}),
        )
        .await;
    let path = format!(
        "/v1/channels/{}/credentials",
        r.body["id"].as_str().unwrap()
    );

    let r = m
        .put(
            &path,
            json!({"identifier": "acme.bsky.social", "app_password": "p", "pds_url": "https://evil.example"}),
        )
        .await;
    r.problem(422);
    assert_eq!(r.error_fields(), vec!["pds_url"], "{}", r.body);

    let r = m
        .put(
            &path,
            json!({"identifier": "acme.bsky.social", "app_password": "p", "instance_url": "https://x.example"}),
        )
        .await;
    r.problem(422);
    assert_eq!(r.error_fields(), vec!["instance_url"], "{}", r.body);

    // the network's own keys are taken (and checked with the PDS at once)
    let r = m.put(&path, pds.credentials()).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
}

#[tokio::test]
async fn server_urls_are_form_checked_when_saved() {
    // A deployment without private networks: the tests' default allows them.
    let app = palinsesto_system_tests::app::TestApp::spawn_full(Default::default(), |o| {
        palinsesto::local::LocalOptions {
            outbound: OutboundPolicy::PUBLIC_ONLY,
            ..o
        }
    })
    .await;
    app.brand("acme", "Europe/Rome", false).await;
    let m = app.client("acme", "manager");
    for url in [
        "http://mastodon.example",
        "https://127.0.0.1",
        "https://[::1]",
        "https://2130706433",
        "https://169.254.169.254",
        "https://localhost:3000",
        "https://me:secret@mastodon.example",
    ] {
        let r = m
            .post(
                "/v1/channels",
                json!({"network": "mastodon", "name": "M", "handle": "@acme", "settings": {"instance_url": url}}),
            )
            .await;
        r.problem(422);
        assert_eq!(
            r.error_fields(),
            vec!["settings.instance_url"],
            "{url}: {}",
            r.body
        );
    }
    let r = m
        .post(
            "/v1/competitors",
            json!({"network": "mastodon", "handle": "rival@127.0.0.1"}),
        )
        .await;
    r.problem(422);
    let r = m
        .post(
            "/v1/competitors",
            json!({"network": "bluesky", "handle": "rival.bsky.social", "server": "https://10.1.2.3"}),
        )
        .await;
    r.problem(422);
    assert_eq!(r.error_fields(), vec!["server"], "{}", r.body);
}

#[tokio::test]
async fn an_unreadable_error_body_is_not_an_excuse_to_read_without_limit() {
    // A network answering an error with an endless body: the connector still ends with a
    // plain-words failure, having read a bounded part of it.
    let server = FakeServer::start(Router::new().fallback(|| async {
        let mut response = Response::new(Body::from_stream(futures_chunks(16 * 1024, 64 * 1024)));
        *response.status_mut() = axum::http::StatusCode::BAD_REQUEST;
        response.into_response()
    }))
    .await;
    let x = palinsesto::networks::x::XConnector::new(
        palinsesto_system_tests::accounts::outbound(),
        server.base.clone(),
    );
    let account = palinsesto_system_tests::accounts::TestAccount::new(
        palinsesto::domain::Network::X,
        json!({}),
        json!({"access_token": "t"}),
    )
    .await;
    use palinsesto::networks::Publish;
    let err = x
        .publish(
            &account.context(),
            &palinsesto_system_tests::accounts::outgoing("hi"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "invalid_content", "{err}");
}
