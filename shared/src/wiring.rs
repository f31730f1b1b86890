//! The composition root: the one place where the services are built from their adapters. The
//! Lambda functions (`lambda_env`, on DynamoDB, S3 and EventBridge), the local runner (`local`, on
//! the embedded store, a folder and in-process queues) and the tests on the AWS emulator all call
//! it, so the wiring that runs in production is the wiring the tests run.

use std::sync::Arc;

use crate::auth::Verifier;
use crate::bucket::{Bucket, BucketMedia};
use crate::clock::Clock;
use crate::domain::Network;
use crate::domain_events::EventBus;
use crate::fanout::Dispatcher;
use crate::http::AppState;
use crate::media_inspection::Limits;
use crate::networks::connect::OAuthApps;
use crate::networks::public::{BLUESKY_PUBLIC_APPVIEW, PublicReader};
use crate::networks::sandbox::SandboxConnector;
use crate::networks::{NetworkConnectors, NetworkEndpoints, Polling, standard_connectors};
use crate::outbound::OutboundClient;
use crate::sealing::Keyring;
use crate::services::connection_worker::ConnectionWorker;
use crate::services::connections::{ConnectSettings, ConnectionService};
use crate::services::hooks::{HookService, HookSettings};
use crate::services::inbox_worker::InboxWorker;
use crate::services::publishing::PublishingService;
use crate::services::relay::RelayService;
use crate::services::{IntakeService, MetricsService, Ports, ReportService};
use crate::store::Store;

/// How the system reaches the networks: one guarded client, the API bases of the networks whose
/// address is not in a channel's settings, how long to wait for media processing, and the public
/// Bluesky AppView competitors are read from.
#[derive(Clone)]
pub struct NetworkAccess {
    pub http: OutboundClient,
    pub endpoints: NetworkEndpoints,
    pub polling: Polling,
    pub bluesky_appview: String,
    /// Whether channels may be on the sandbox network (the local runner, a staging stack with
    /// `AllowSandbox=true`); refused otherwise.
    pub sandbox: bool,
    /// The deployment's OAuth apps (client ids and secrets): connection flows and renewals.
    pub apps: OAuthApps,
}

impl NetworkAccess {
    /// The production defaults with `http`, each base overridable from the environment
    /// (`NetworkEndpoints::from_env`, `BLUESKY_APPVIEW_BASE`); the sandbox only with
    /// `ALLOW_SANDBOX=true`.
    pub fn from_env(http: OutboundClient) -> Self {
        Self {
            http,
            endpoints: NetworkEndpoints::from_env(),
            polling: Polling::default(),
            bluesky_appview: bluesky_appview_from_env(),
            sandbox: std::env::var("ALLOW_SANDBOX").is_ok_and(|v| v.trim() == "true"),
            apps: OAuthApps::from_env(),
        }
    }
}

/// The public Bluesky AppView competitors are read from: `BLUESKY_APPVIEW_BASE`, or Bluesky's own.
pub fn bluesky_appview_from_env() -> String {
    std::env::var("BLUESKY_APPVIEW_BASE")
        .ok()
        .map(|v| v.trim().trim_end_matches('/').to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| BLUESKY_PUBLIC_APPVIEW.to_owned())
}

/// The ports every service shares, and the services built on them.
#[derive(Clone)]
pub struct Wiring {
    ports: Ports,
    public: Arc<PublicReader>,
    /// The guarded client webhook deliveries go through.
    http: OutboundClient,
    apps: OAuthApps,
    /// The inbound webhooks' settings (their public address, Meta's verify token).
    hooks: HookSettings,
}

impl Wiring {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        keyring: Arc<dyn Keyring>,
        networks: NetworkAccess,
    ) -> Self {
        let NetworkAccess {
            http,
            endpoints,
            polling,
            bluesky_appview,
            sandbox,
            apps,
        } = networks;
        let mut connectors = standard_connectors(http.clone(), &endpoints, polling, &apps);
        let mut public = PublicReader::new(http.clone()).with_bluesky_appview(bluesky_appview);
        if sandbox {
            public = public.with_sandbox(clock.clone());
            connectors = connectors.with(Network::Sandbox, {
                let sandbox = Arc::new(SandboxConnector::new(store.clone(), clock.clone()));
                NetworkConnectors::publishing_and_metrics::<SandboxConnector>(sandbox.clone())
                    .answering(sandbox)
            });
        }
        Self {
            ports: Ports {
                store,
                clock,
                outbound: http.policy(),
                connectors,
                keyring,
            },
            public: Arc::new(public),
            http,
            apps,
            hooks: HookSettings::default(),
        }
    }

    /// The same wiring with these inbound webhook settings.
    pub fn with_hooks(mut self, hooks: HookSettings) -> Self {
        self.hooks = hooks;
        self
    }

    /// The hook routes' service: verifies, parses and queues deliveries; opens no credentials.
    pub fn hooks(&self) -> HookService {
        HookService::new(
            self.ports.store.clone(),
            self.ports.clock.clone(),
            self.ports.connectors.clone(),
            self.apps.clone(),
            self.hooks.clone(),
        )
    }

    pub fn ports(&self) -> Ports {
        self.ports.clone()
    }

    /// The same wiring on another store (the benchmarks count writes through a wrapper).
    pub fn with_store(&self, store: Store) -> Self {
        let mut wiring = self.clone();
        wiring.ports.store = store;
        wiring
    }

    /// The publisher: media read from `media`, publish jobs handed to `jobs`. Its events go to
    /// the outbox with the writes that cause them; the relay sends them on.
    pub fn publishing(
        &self,
        media: Arc<dyn Bucket>,
        jobs: Arc<dyn Dispatcher>,
    ) -> PublishingService {
        PublishingService::new(self.ports(), Arc::new(BucketMedia(media)), jobs)
    }

    /// The inbox worker: streams polled, replies sent; reply media read from `media`.
    pub fn inbox_worker(&self, media: Arc<dyn Bucket>) -> InboxWorker {
        InboxWorker::new(self.ports(), Arc::new(BucketMedia(media)))
    }

    /// The connection worker: revocations on disconnect, renewals ahead of expiry.
    pub fn connection_worker(&self) -> ConnectionWorker {
        ConnectionWorker::new(self.ports(), self.apps.clone()).with_hooks(self.hooks.clone())
    }

    /// The relay: events read from the outbox go to `bus` and to the brands' webhooks.
    pub fn relay(&self, bus: Arc<dyn EventBus>) -> RelayService {
        RelayService::new(self.ports(), bus, self.http.clone())
    }

    /// The HTTP API: callers verified by `verifier`, the media library in `bucket`, connection
    /// flows through this deployment's pages (`connect`).
    pub fn api(
        &self,
        verifier: Verifier,
        bucket: Arc<dyn Bucket>,
        connect: ConnectSettings,
    ) -> AppState {
        let connections =
            ConnectionService::new(self.ports(), self.http.clone(), self.apps.clone(), connect);
        AppState::new(self.ports(), Arc::new(verifier), connections).with_bucket(bucket)
    }

    /// Asset intake on `bucket`.
    pub fn intake(&self, bucket: Arc<dyn Bucket>, limits: Limits) -> IntakeService {
        IntakeService::new(self.ports(), bucket, limits)
    }

    /// The metrics tick: the brand's channels through the connectors, competitors through the
    /// networks' public APIs.
    pub fn metrics(&self) -> MetricsService {
        MetricsService::new(self.ports()).with_public(self.public.clone())
    }

    /// Scheduled reports written to `bucket`.
    pub fn reports(&self, bucket: Arc<dyn Bucket>) -> ReportService {
        ReportService::new(self.ports()).with_output(bucket)
    }
}
