//! A whole desk for publishing tests: the API and the local publisher on one runtime with a manual
//! clock, connectors pointed at loopback fakes, and helpers to drive ticks and wait for jobs.

use std::time::Duration;

use jiff::SignedDuration;
use palinsesto::domain::{BrandId, PostId};
use palinsesto::domain_events::DomainEvent;
use palinsesto::http::ApiSettings;
use palinsesto::local::LocalPublisher;
use palinsesto::networks::connect::OAuthApps;
use palinsesto::networks::{NetworkEndpoints, Polling};
use palinsesto::services::publishing::TickReport;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::app::{Client, TestApp};

pub struct Desk {
    pub app: TestApp,
    pub publisher: LocalPublisher,
    events: broadcast::Receiver<DomainEvent>,
}

impl Desk {
    /// A desk whose non-self-hosted networks live at `endpoints`, with a brand "acme" that needs
    /// no approval.
    pub async fn start(endpoints: NetworkEndpoints) -> Self {
        Self::start_connecting(endpoints, OAuthApps::default()).await
    }

    /// A desk that connects channels through the deployment's OAuth `apps`.
    pub async fn start_connecting(endpoints: NetworkEndpoints, apps: OAuthApps) -> Self {
        Self::start_adjusted(endpoints, apps, |options| options).await
    }

    /// [`Desk::start_connecting`] with the runtime's options adjusted further (the inbound
    /// webhooks' settings).
    pub async fn start_adjusted(
        endpoints: NetworkEndpoints,
        apps: OAuthApps,
        adjust: impl FnOnce(palinsesto::local::LocalOptions) -> palinsesto::local::LocalOptions,
    ) -> Self {
        let app = TestApp::spawn_full(ApiSettings::default(), |options| {
            adjust(palinsesto::local::LocalOptions {
                endpoints,
                apps,
                polling: Polling {
                    interval: Duration::from_millis(5),
                    max_wait: Duration::from_secs(5),
                },
                timeouts: crate::accounts::impatient_timeouts(),
                ..options
            })
        })
        .await;
        app.brand("acme", "Europe/Rome", false).await;
        let publisher = app.runtime.start_publisher();
        let events = app.runtime.bus.subscribe();
        Self {
            app,
            publisher,
            events,
        }
    }

    pub fn manager(&self) -> Client {
        self.app.client("acme", "manager")
    }

    /// Creates a channel with these settings and credentials; returns its id.
    pub async fn channel(&self, network: &str, settings: Value, credentials: Value) -> String {
        let m = self.manager();
        let r = m
            .post("/v1/channels", json!({"network": network, "name": network, "handle": "@acme", "settings": settings}))
            .await;
        assert_eq!(r.status.as_u16(), 201, "{}", r.body);
        let id = r.body["id"].as_str().unwrap().to_owned();
        let r = m
            .put(&format!("/v1/channels/{id}/credentials"), credentials)
            .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        id
    }

    /// Creates and schedules a post to `channels` at `publish_at`; returns its id.
    pub async fn scheduled(&self, text: &str, channels: &[&str], publish_at: &str) -> String {
        let m = self.manager();
        let r = m
            .post(
                "/v1/posts",
                json!({"text": text, "channels": channels, "publish_at": publish_at}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 201, "{}", r.body);
        let id = r.body["id"].as_str().unwrap().to_owned();
        let r = m
            .action(&format!("/v1/posts/{id}/schedule"), Some(&r.etag()))
            .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        id
    }

    pub fn set_time(&self, at: &str) {
        self.app.clock.set(at.parse().unwrap());
    }

    pub fn advance(&self, by: SignedDuration) {
        self.app.clock.advance(by);
    }

    pub async fn tick(&self) -> TickReport {
        self.publisher.service.tick().await.expect("the tick runs")
    }

    /// Ticks, then waits until no target of the post is being published by a queued job.
    pub async fn tick_and_settle(&self, post: &str) -> Value {
        self.tick().await;
        self.settle(post).await
    }

    /// Waits (up to 10 s) until no target of the post is claimed by a running attempt.
    pub async fn settle(&self, post: &str) -> Value {
        let brand = BrandId::parse("acme").unwrap();
        let id = PostId::parse(post).unwrap();
        for _ in 0..1000 {
            let p = self
                .app
                .runtime
                .store()
                .get_post(&brand, &id)
                .await
                .unwrap()
                .unwrap();
            if !p
                .targets
                .iter()
                .any(|t| matches!(t.state, palinsesto::domain::TargetState::Publishing { .. }))
            {
                return self.post(post).await;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "post {post} still has targets being published after 10 s: {}",
            self.post(post).await
        );
    }

    pub async fn post(&self, id: &str) -> Value {
        let r = self.manager().get(&format!("/v1/posts/{id}")).await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        r.body
    }

    /// The events emitted so far (and not yet taken).
    pub async fn events(&mut self) -> Vec<DomainEvent> {
        self.app.relayed().await;
        let mut out = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            out.push(e);
        }
        out
    }
}

/// The state of the post's target on `channel`.
pub fn target<'a>(post: &'a Value, channel: &str) -> &'a Value {
    post["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["channel_id"] == channel)
        .expect("a target on that channel")
}
