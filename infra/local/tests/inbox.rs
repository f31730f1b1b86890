//! The inbox's "done when", on the `palinsesto` binary itself with private networks allowed:
//! a reply someone writes on a loopback Mastodon server to a post the brand published appears
//! in `GET /v1/inbox` within a poll, once; the brand's answer appears on that server exactly
//! once, even when the runner is killed (SIGKILL) after the server took the answer and before
//! the runner wrote down the outcome; the interaction shows its first response time; the weekly
//! report has the community section. The same on the Bluesky fake.

mod support;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use palinsesto_system_tests::fakes::Fault;
use palinsesto_system_tests::fakes::bluesky::FakeBluesky;
use palinsesto_system_tests::fakes::mastodon::FakeMastodon;
use reqwest::Method;
use serde_json::{Value, json};
use support::{free_port, serve_with, token_for};

/// Polls every second, sends replies every second; fakes are on loopback.
fn serve(data: &Path, port: u16) -> Child {
    serve_with(
        data,
        port,
        &[
            "--allow-private-networks",
            "--tick",
            "1",
            "--inbox-every",
            "1",
        ],
    )
    .0
}

struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    fn new(base: &str, token: &str) -> Self {
        Self {
            base: base.to_owned(),
            token: token.to_owned(),
            // A new client each time: pooled connections die with a killed server.
            http: palinsesto::outbound::plain_client(Duration::from_secs(30)).unwrap(),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        etag: Option<&str>,
    ) -> (u16, Value, String) {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            r = r.json(&body);
        }
        if let Some(tag) = etag {
            r = r.header("if-match", tag);
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        let etag = r
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
            etag,
        )
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body, _) = self.call(Method::GET, path, None, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Waits (up to 30 s) until `done` accepts `GET path`, and returns that answer.
    async fn until(&self, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let body = self.get(path).await;
            if done(&body) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "GET {path} never got there: {body}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// A channel with its credentials; returns its id.
    async fn channel(&self, network: &str, settings: Value, credentials: Value) -> String {
        let (status, body, _) = self
            .call(
                Method::POST,
                "/v1/channels",
                Some(json!({"network": network, "name": network, "handle": "@shop", "settings": settings})),
                None,
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();
        let (status, body, _) = self
            .call(
                Method::PUT,
                &format!("/v1/channels/{id}/credentials"),
                Some(credentials),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        id
    }

    /// Publishes a post now on `channel`; returns its id on the network.
    async fn publish(&self, channel: &str, text: &str) -> String {
        let (status, post, etag) = self
            .call(
                Method::POST,
                "/v1/posts",
                Some(json!({"text": text, "channels": [channel]})),
                None,
            )
            .await;
        assert_eq!(status, 201, "{post}");
        let id = post["id"].as_str().unwrap().to_owned();
        let (status, body, _) = self
            .call(
                Method::POST,
                &format!("/v1/posts/{id}/publish-now"),
                None,
                Some(&etag),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let post = self
            .until(&format!("/v1/posts/{id}"), |p| p["status"] == "published")
            .await;
        post["targets"][0]["remote_id"].as_str().unwrap().to_owned()
    }

    /// Waits for the inbox to hold `n` interactions, and checks it still holds `n` after a few
    /// more polls.
    async fn inbox_of(&self, n: usize) -> Value {
        let count = |page: &Value| page["items"].as_array().map_or(0, Vec::len);
        self.until("/v1/inbox", |page| count(page) >= n).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let page = self.get("/v1/inbox").await;
        assert_eq!(count(&page), n, "seen again, still once: {page}");
        page
    }

    /// The brand's weekly report ending today (in its zone).
    async fn weekly_report(&self) -> Value {
        let brand = self.get("/v1/brand").await;
        let zone = jiff::tz::TimeZone::get(brand["time_zone"].as_str().unwrap()).unwrap();
        let today = jiff::Timestamp::now().to_zoned(zone).date();
        self.get(&format!("/v1/reports?period=week&ending={today}"))
            .await
    }
}

/// A fresh data folder (kept while the guard lives), a free port and the server's address.
fn fresh() -> (tempfile::TempDir, PathBuf, u16, String) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("var");
    let port = free_port();
    (dir, data, port, format!("http://127.0.0.1:{port}"))
}

async fn brand(data: &Path, base: &str) -> Api {
    let api = Api::new(base, &token_for(data, "shop"));
    let (status, body, _) = api
        .call(
            Method::PUT,
            "/v1/brand",
            Some(json!({"name": "Shop", "time_zone": "Europe/Rome", "approval_required": false})),
            None,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    api
}

#[tokio::test]
async fn a_mastodon_reply_is_answered_exactly_once_across_a_killed_runner() {
    let (_dir, data, port, base) = fresh();
    let fake = FakeMastodon::start().await;
    fake.add_person("ada", "Ada", 120);

    let mut server = serve(&data, port);
    let api = brand(&data, &base).await;
    let channel = api
        .channel("mastodon", fake.settings(), fake.credentials())
        .await;
    let remote = api.publish(&channel, "Our new blend is out").await;

    // someone answers the brand's post on the server: in the inbox within a poll, once
    let ada = fake.reply_as("ada", &remote, "Love it!", true, "public");
    let page = api.inbox_of(1).await;
    let interaction = &page["items"][0];
    assert_eq!(interaction["external_id"], ada.as_str());
    let id = interaction["id"].as_str().unwrap().to_owned();

    // the brand answers; the server takes the answer and holds its response back, and the
    // runner is killed before it learns (and writes down) the outcome
    fake.faults().inject(
        Method::POST,
        "/api/v1/statuses",
        1,
        Fault::AnswerLate(Duration::from_secs(60)),
    );
    let (status, reply, _) = api
        .call(
            Method::POST,
            &format!("/v1/inbox/{id}/reply"),
            Some(json!({"text": "Thank you, Ada!"})),
            None,
        )
        .await;
    assert_eq!(status, 202, "{reply}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while fake.replies_to(&ada).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the reply never reached the server"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let shown = api.get(&format!("/v1/inbox/{id}")).await;
    assert_eq!(shown["replies"][0]["state"], "sending", "{shown}");
    server.kill().unwrap();
    server.wait().unwrap();

    // started again on the same folder: the reply is read back, not sent again
    let mut server = serve(&data, port);
    let api = Api::new(&base, &api.token);
    let shown = api
        .until(&format!("/v1/inbox/{id}"), |i| {
            i["replies"][0]["state"] == "sent"
        })
        .await;
    assert_eq!(fake.replies_to(&ada).len(), 1, "exactly once");
    assert_eq!(fake.replies_to(&ada)[0].text, "Thank you, Ada!");
    assert_eq!(shown["state"], "replied", "{shown}");
    assert!(shown["first_response_minutes"].is_i64(), "{shown}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        fake.replies_to(&ada).len(),
        1,
        "still once after more ticks"
    );

    // the weekly report has the community section
    let report = api.weekly_report().await;
    let total = &report["community"]["total"]["current"];
    assert_eq!(
        (total["interactions"].as_u64(), total["answered"].as_u64()),
        (Some(1), Some(1)),
        "{}",
        report["community"]
    );
    server.kill().unwrap();
    server.wait().unwrap();
}

#[tokio::test]
async fn a_bluesky_reply_arrives_once_and_is_answered_once_in_its_thread() {
    let (_dir, data, port, base) = fresh();
    let pds = FakeBluesky::start().await;
    pds.add_person("ada.test", "Ada", 10);

    let mut server = serve(&data, port);
    let api = brand(&data, &base).await;
    let channel = api
        .channel("bluesky", pds.settings(), pds.credentials())
        .await;
    let uri = api.publish(&channel, "Hello from the shop").await;
    let (reply_uri, _) = pds.reply_as("ada.test", &uri, "So good");
    let page = api.inbox_of(1).await;
    assert_eq!(page["items"][0]["external_id"], reply_uri.as_str());
    let id = page["items"][0]["id"].as_str().unwrap().to_owned();
    let (status, body, _) = api
        .call(
            Method::POST,
            &format!("/v1/inbox/{id}/reply"),
            Some(json!({"text": "Thanks Ada"})),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let shown = api
        .until(&format!("/v1/inbox/{id}"), |i| i["state"] == "replied")
        .await;
    assert!(shown["first_response_minutes"].is_i64(), "{shown}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let replies = pds.replies_to(&reply_uri);
    assert_eq!(replies.len(), 1, "exactly once");
    assert_eq!(replies[0].value["reply"]["root"]["uri"], uri.as_str());
    let report = api.weekly_report().await;
    assert_eq!(report["community"]["total"]["current"]["answered"], 1);
    server.kill().unwrap();
    server.wait().unwrap();
}
