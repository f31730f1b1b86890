//! Boots the real router on the embedded store on a random loopback port, with a manual clock.

use std::sync::Arc;

use jiff::Timestamp;
use palinsesto::clock::ManualClock;
use palinsesto::domain::{BrandId, Role};
use palinsesto::http::ApiSettings;
use palinsesto::local::{LocalOptions, LocalRuntime};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

/// "Now" for every API test, unless a test moves the clock.
pub const NOW: &str = "2027-01-15T10:00:00Z";

pub struct TestApp {
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub runtime: Arc<LocalRuntime>,
    /// Events go out as in the local runner: from the outbox, through the relay.
    _relay: palinsesto::adapters::local_relay::RunningRelay,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(ApiSettings::default()).await
    }

    pub async fn spawn_with(settings: ApiSettings) -> Self {
        Self::spawn_full(settings, |options| options).await
    }

    /// Boots with the local runtime's options adjusted (network endpoints, polling, caps).
    pub async fn spawn_full(
        settings: ApiSettings,
        adjust: impl FnOnce(LocalOptions) -> LocalOptions,
    ) -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let clock = Arc::new(ManualClock::new(NOW.parse().unwrap()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let base = format!("http://{}", listener.local_addr().unwrap());
        // Presigned bucket URLs point at this server's /local-bucket routes, as in the local runner.
        // The fake networks listen on loopback.
        let options = adjust(LocalOptions {
            clock: clock.clone(),
            public_base: Some(base.clone()),
            outbound: palinsesto::domain::OutboundPolicy::PRIVATE_ALLOWED,
            ..LocalOptions::default()
        });
        let runtime =
            Arc::new(LocalRuntime::open_with(dir.path(), options).expect("the runtime opens"));
        let app = runtime.router(runtime.app_state(), &settings);
        tokio::spawn(async move { axum::serve(listener, app).await });
        let relay = runtime.start_relay();
        Self {
            base,
            clock,
            runtime,
            _relay: relay,
            http: crate::http_client(),
            _dir: dir,
        }
    }

    /// Waits until the relay has handed every event written so far to the bus (and the
    /// webhooks), as a subscriber of the local runner would see them.
    pub async fn relayed(&self) {
        let store = &self.runtime.embedded;
        for _ in 0..2000 {
            let head = store.stream_head("relay").expect("the stream reads");
            if store
                .stream_checkpoint("relay")
                .expect("the checkpoint reads")
                >= head
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!("the relay did not catch up with the outbox within 10 s");
    }

    pub fn token(&self, brand: &str, role: &str) -> String {
        palinsesto::auth::mint_hs256(
            &self.runtime.secret,
            palinsesto::local::ISSUER,
            palinsesto::local::AUDIENCE,
            &format!("{role}@{brand}"),
            &BrandId::parse(brand).unwrap(),
            Role::parse(role).unwrap(),
            jiff::SignedDuration::from_hours(1),
            Timestamp::now(),
        )
    }

    /// A caller acting for `brand` with `role`.
    pub fn client(&self, brand: &str, role: &str) -> Client {
        Client {
            base: self.base.clone(),
            http: self.http.clone(),
            token: Some(self.token(brand, role)),
        }
    }

    pub fn anonymous(&self) -> Client {
        Client {
            base: self.base.clone(),
            http: self.http.clone(),
            token: None,
        }
    }

    /// Creates the brand's profile as its owner.
    pub async fn brand(&self, brand: &str, time_zone: &str, approval_required: bool) {
        let r = self
            .client(brand, "owner")
            .put("/v1/brand", json!({"name": format!("Brand {brand}"), "time_zone": time_zone, "approval_required": approval_required}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }

    /// Creates a Mastodon channel for the brand as its manager; returns its id.
    pub async fn channel(&self, brand: &str) -> String {
        let r = self
            .client(brand, "manager")
            .post(
                "/v1/channels",
                json!({"network": "mastodon", "name": "Main", "handle": "@acme", "settings": {"instance_url": "https://mastodon.example"}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }
}

#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
}

/// A response with its body already read.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn etag(&self) -> String {
        self.headers
            .get("etag")
            .expect("an ETag")
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// A body that is not JSON (CSV, HTML), as text.
    pub fn text(&self) -> String {
        match &self.body {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    /// Asserts an RFC 9457 problem with this status, and returns it.
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.content_type(), "application/problem+json");
        assert_eq!(self.body["status"], status);
        assert!(
            self.body["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("https://")),
            "{}",
            self.body
        );
        assert!(
            self.body["title"].is_string() && self.body["detail"].is_string(),
            "{}",
            self.body
        );
        &self.body
    }

    /// The field names of a problem's per-field errors.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Client {
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            r = r.bearer_auth(t);
        }
        r
    }

    pub async fn send(&self, r: RequestBuilder) -> Reply {
        read(r.send().await.expect("the server answers")).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(self.request(Method::POST, path).json(&body))
            .await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(self.request(Method::PUT, path).json(&body)).await
    }

    pub async fn patch(&self, path: &str, body: Value, if_match: Option<&str>) -> Reply {
        let mut r = self.request(Method::PATCH, path).json(&body);
        if let Some(tag) = if_match {
            r = r.header("if-match", tag);
        }
        self.send(r).await
    }

    pub async fn action(&self, path: &str, if_match: Option<&str>) -> Reply {
        let mut r = self.request(Method::POST, path);
        if let Some(tag) = if_match {
            r = r.header("if-match", tag);
        }
        self.send(r).await
    }

    pub async fn delete(&self, path: &str, if_match: Option<&str>) -> Reply {
        let mut r = self.request(Method::DELETE, path);
        if let Some(tag) = if_match {
            r = r.header("if-match", tag);
        }
        self.send(r).await
    }
}

async fn read(r: Response) -> Reply {
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap_or_default();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Reply {
        status,
        headers,
        body,
    }
}
