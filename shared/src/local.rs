//! The local runtime: the whole system as one process on the embedded store, with a signing secret
//! kept beside the data so `palinsesto token` mints tokens the running server accepts, and another
//! one for the bucket's presigned URLs (a key signs one kind of thing only).

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::SignedDuration;

use crate::adapters::embedded::EmbeddedStore;
use crate::adapters::folder_bucket::FolderBucket;
use crate::adapters::local_bus::LocalBus;
use crate::adapters::local_keyring::LocalKeyring;
use crate::adapters::local_queue::{Caps, LocalQueue, local_queue};
use crate::adapters::local_relay::{LocalRelay, RunningRelay};
use crate::auth::{AuthConfig, KeySource, Verifier, mint_hs256};
use crate::clock::{Clock, SystemClock};
use crate::domain::OutboundPolicy;
use crate::domain::{Actor, BrandId, Role, Secret};
use crate::http::{ApiSettings, AppState};
use crate::media_inspection::Limits;
use crate::networks::connect::OAuthApps;
use crate::networks::{NetworkEndpoints, Polling};
use crate::outbound::{OutboundClient, SystemLookup, Timeouts};
use crate::sealing::Keyring;
use crate::services::brands::NewProfile;
use crate::services::connections::ConnectSettings;
use crate::services::hooks::HookSettings;
use crate::services::publishing::PublishingService;
use crate::services::relay::RelayService;
use crate::services::{
    BrandService, IntakeService, MetricsService, Ports, ReportService, ServiceError,
};
use crate::store::Store;
use crate::wiring::{NetworkAccess, Wiring, bluesky_appview_from_env};

pub const ISSUER: &str = "palinsesto-local";
pub const AUDIENCE: &str = "palinsesto";
pub const DEMO_BRAND: &str = "demo";
const STORE_FILE: &str = "palinsesto.redb";
/// The key of the API's tokens (HS256). Named as before there were two keys, so existing data
/// folders keep their tokens.
const SECRET_FILE: &str = "signing-secret";
/// The key of the local bucket's presigned URLs (HMAC), made on first use.
const BUCKET_SECRET_FILE: &str = "bucket-signing-secret";

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("the data folder {path} could not be used: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the embedded store could not be opened: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Outbound(#[from] crate::outbound::BuildError),
    #[error("the data folder's key could not be used: {0}")]
    Keyring(#[from] crate::sealing::SealError),
    #[error("{path} could not be read: {why}")]
    Invalid { path: PathBuf, why: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LocalError + '_ {
    move |source| LocalError::Io {
        path: path.to_owned(),
        source,
    }
}

/// How the local runtime talks to the outside world; tests point it at fakes and a manual clock.
#[derive(Clone)]
pub struct LocalOptions {
    pub clock: Arc<dyn Clock>,
    pub endpoints: NetworkEndpoints,
    pub polling: Polling,
    pub caps: Caps,
    /// Whether channels and competitors may point at private networks (`serve
    /// --allow-private-networks`, `PALINSESTO_ALLOW_PRIVATE_NETWORKS=1`).
    pub outbound: OutboundPolicy,
    /// How long a call to a network may take.
    pub timeouts: Timeouts,
    /// Where the local runner serves the bucket (`/local-bucket/...`): to networks that fetch
    /// media by URL, and to uploaders through presigned URLs.
    pub public_base: Option<String>,
    /// The public Bluesky AppView competitors are read from (`BLUESKY_APPVIEW_BASE`).
    pub bluesky_appview: String,
    /// Where the browser lands after connecting a channel (the brand's frontend); without one,
    /// the runner's own `/oauth/done` page says the outcome.
    pub frontend_url: Option<String>,
    /// Whether channels may be on the sandbox network (always, for a person trying Palinsesto;
    /// tests turn it off to see what a production stack does).
    pub sandbox: bool,
    /// The OAuth apps channels connect through: `PALINSESTO_OAUTH_{APP}_CLIENT_ID` and
    /// `..._CLIENT_SECRET`, over those of the data folder's `oauth-apps.json`.
    pub apps: OAuthApps,
    /// The inbound webhooks (`/hooks/...`): Meta's verify token (`META_VERIFY_TOKEN`), X's
    /// webhook id, LinkedIn's application id; their address is `public_base`.
    pub hooks: HookSettings,
}

impl Default for LocalOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            endpoints: NetworkEndpoints::from_env(),
            polling: Polling::default(),
            caps: Caps::default(),
            outbound: OutboundPolicy::from_env(),
            timeouts: Timeouts::default(),
            public_base: None,
            bluesky_appview: bluesky_appview_from_env(),
            sandbox: true,
            frontend_url: None,
            apps: OAuthApps::from_env(),
            hooks: HookSettings::from_env(),
        }
    }
}

/// The data folder's OAuth apps: `oauth-apps.json`, `{"x": {"client_id": "..", "client_secret":
/// ".."}, ...}` (names as in `OAuthApps::NAMES`); none when there is no such file.
fn oauth_apps_file(data: &Path) -> Result<OAuthApps, LocalError> {
    let path = data.join(OAUTH_APPS_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(OAuthApps::default()),
        Err(e) => return Err(io(&path)(e)),
    };
    let apps: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> =
        serde_json::from_str(&text).map_err(|e| LocalError::Invalid {
            path: path.clone(),
            why: format!(
                "expected {{\"x\": {{\"client_id\": \"..\", \"client_secret\": \"..\"}}}}: {e}"
            ),
        })?;
    let pairs: Vec<(String, &str)> = apps
        .iter()
        .flat_map(|(name, parts)| {
            parts
                .iter()
                .map(move |(part, value)| (format!("{name}/{part}"), value.as_str()))
        })
        .collect();
    Ok(OAuthApps::from_pairs(
        pairs.iter().map(|(k, v)| (k.as_str(), *v)),
    ))
}

/// The data folder's OAuth apps file.
pub const OAUTH_APPS_FILE: &str = "oauth-apps.json";

/// How often the local relay retries the webhook deliveries that are due.
pub const RELAY_TICK: std::time::Duration = std::time::Duration::from_secs(15);

pub struct LocalRuntime {
    pub data: PathBuf,
    pub embedded: Arc<EmbeddedStore>,
    pub secret: Secret,
    pub clock: Arc<dyn Clock>,
    pub bus: LocalBus,
    pub bucket: FolderBucket,
    caps: Caps,
    wiring: Wiring,
    /// Connection flows' pages: this runner's address and the frontend's.
    connect: ConnectSettings,
}

/// The running local publisher: the service (for ticks) and its in-process queue.
pub struct LocalPublisher {
    pub service: PublishingService,
    queue: LocalQueue,
    runner: tokio::task::JoinHandle<()>,
}

impl LocalPublisher {
    /// Stops taking jobs and waits for those in flight (each holds a claim; none is lost if this
    /// is cut short, the claims just expire and are taken over after a restart).
    pub async fn stop(self) {
        self.queue.close();
        drop(self.service);
        let _ = self.runner.await;
    }
}

impl LocalRuntime {
    /// Opens (creating on first use) the data folder: the store file and the signing secret.
    pub fn open(data: &Path) -> Result<Self, LocalError> {
        Self::open_with(data, LocalOptions::default())
    }

    pub fn open_with_clock(data: &Path, clock: Arc<dyn Clock>) -> Result<Self, LocalError> {
        Self::open_with(
            data,
            LocalOptions {
                clock,
                ..LocalOptions::default()
            },
        )
    }

    pub fn open_with(data: &Path, options: LocalOptions) -> Result<Self, LocalError> {
        fs::create_dir_all(data).map_err(io(data))?;
        let secret = signing_secret(data)?;
        // Never the tokens' key: a token must not pass for a bucket signature, nor the reverse.
        let bucket_secret = secret_file(data, BUCKET_SECRET_FILE)?;
        let embedded = Arc::new(EmbeddedStore::open(&data.join(STORE_FILE))?);
        let bucket_root = data.join("bucket");
        let hooks = HookSettings {
            public_base: options.public_base.clone(),
            ..options.hooks.clone()
        };
        let connect = ConnectSettings {
            public_base: options.public_base.clone(),
            frontend_url: options.frontend_url.clone(),
        };
        let bucket = FolderBucket::new(bucket_root.clone(), options.public_base, bucket_secret);
        fs::create_dir_all(&bucket_root).map_err(io(&bucket_root))?;
        // The store's lock keeps a second process off this folder, so no write is under way.
        let stale = bucket.remove_part_files();
        if stale > 0 {
            tracing::info!(
                stale,
                "removed the half-written files a stopped run left in the bucket"
            );
        }
        let http =
            OutboundClient::with(options.outbound, options.timeouts, Arc::new(SystemLookup))?;
        // Secrets at rest are sealed under the data folder's own key (`keyring.key`).
        let keyring: Arc<dyn Keyring> = Arc::new(LocalKeyring::open(data)?);
        let wiring = Wiring::new(
            Store::new(embedded.clone(), keyring.clone()),
            options.clock.clone(),
            keyring,
            NetworkAccess {
                http,
                endpoints: options.endpoints,
                polling: options.polling,
                bluesky_appview: options.bluesky_appview,
                sandbox: options.sandbox,
                apps: oauth_apps_file(data)?.overridden_by(options.apps),
            },
        )
        .with_hooks(hooks);
        Ok(Self {
            data: data.to_owned(),
            embedded,
            secret,
            clock: options.clock,
            bus: LocalBus::default(),
            bucket,
            caps: options.caps,
            wiring,
            connect,
        })
    }

    /// The composition root on this runtime's store, clock and networks.
    pub fn wiring(&self) -> &Wiring {
        &self.wiring
    }

    /// Starts the publisher: its queue runs jobs in this process; call `service.tick()` to run
    /// the schedule tick.
    pub fn start_publisher(&self) -> LocalPublisher {
        let (queue, runner) = local_queue(self.caps);
        let service = self
            .wiring
            .publishing(Arc::new(self.bucket.clone()), Arc::new(queue.clone()));
        let runner = tokio::spawn(runner.run(service.clone()));
        LocalPublisher {
            service,
            queue,
            runner,
        }
    }

    pub fn store(&self) -> Store {
        self.wiring.ports().store
    }

    pub fn ports(&self) -> Ports {
        self.wiring.ports()
    }

    pub fn verifier(&self) -> Verifier {
        let config = AuthConfig {
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            key: KeySource::Hs256(self.secret.clone()),
            brand_claim: "brand".into(),
            role_claim: "role".into(),
        };
        // Never fetches (an HS256 key); fails only as `reqwest::Client::new()` would.
        let http = crate::outbound::plain_client(std::time::Duration::from_secs(10))
            .expect("the HTTP client builds: its TLS setup is fixed");
        Verifier::new(config, http)
    }

    pub fn app_state(&self) -> AppState {
        self.wiring.api(
            self.verifier(),
            Arc::new(self.bucket.clone()),
            self.connect.clone(),
        )
    }

    /// The API, the bucket's own presigned-URL routes and the inbound webhooks (`/hooks/...`),
    /// as the local runner serves them.
    pub fn router(&self, state: AppState, settings: &ApiSettings) -> axum::Router {
        crate::http::router(state, settings)
            .merge(crate::http::local_bucket::router(self.bucket.clone()))
            .merge(crate::http::hooks::hook_routes(self.wiring.hooks()))
    }

    /// Asset intake on the bucket folder.
    pub fn intake(&self, limits: Limits) -> IntakeService {
        self.wiring.intake(Arc::new(self.bucket.clone()), limits)
    }

    /// The relay: events from the store's outbox to the local bus (the log, and in-process
    /// subscribers) and to the brands' webhooks, retrying due deliveries every `tick`.
    pub fn relay(&self, tick: std::time::Duration) -> LocalRelay {
        LocalRelay::new(self.embedded.clone(), self.relay_service(), tick)
    }

    /// The relay service on the local bus (tests run its webhook tick themselves).
    pub fn relay_service(&self) -> RelayService {
        self.wiring.relay(Arc::new(self.bus.clone()))
    }

    /// Starts [`LocalRuntime::relay`] with the default tick ([`RELAY_TICK`]).
    pub fn start_relay(&self) -> RunningRelay {
        self.relay(RELAY_TICK).start()
    }

    /// Creates the demo brand on first run. Returns whether it was created.
    pub async fn ensure_demo_brand(&self) -> Result<bool, ServiceError> {
        let owner = Actor {
            subject: "palinsesto-local".into(),
            brand: BrandId::parse(DEMO_BRAND).expect("a valid id"),
            role: Role::Owner,
            route: None,
        };
        if self.store().get_brand(&owner.brand).await?.is_some() {
            return Ok(false);
        }
        BrandService::new(self.ports())
            .put(
                &owner,
                NewProfile {
                    name: "Demo Brand",
                    time_zone: "Europe/Rome",
                    approval_required: true,
                    ..NewProfile::default()
                },
                None,
            )
            .await?;
        Ok(true)
    }

    /// The metrics tick's service: the brand's channels through the connectors, competitors
    /// through the public APIs.
    pub fn metrics(&self) -> MetricsService {
        self.wiring.metrics()
    }

    /// The inbox worker: streams polled, replies sent (reply media from the bucket folder).
    pub fn inbox_worker(&self) -> crate::services::inbox_worker::InboxWorker {
        self.wiring.inbox_worker(Arc::new(self.bucket.clone()))
    }

    /// The connection worker: tokens revoked on disconnect, renewed ahead of expiry.
    pub fn connection_worker(&self) -> crate::services::connection_worker::ConnectionWorker {
        self.wiring.connection_worker()
    }

    /// Reports written to the bucket folder (`{data}/bucket/reports/...`).
    pub fn reports(&self) -> ReportService {
        self.wiring.reports(Arc::new(self.bucket.clone()))
    }

    /// Stops the store's writer after every queued write is durable.
    pub fn shutdown(&self) {
        self.embedded.shutdown();
    }
}

/// A token for `brand` with `role`, signed with the data folder's secret (creating it if needed).
pub fn mint_token(
    data: &Path,
    brand: &BrandId,
    role: Role,
    subject: &str,
    valid_for: SignedDuration,
) -> Result<String, LocalError> {
    fs::create_dir_all(data).map_err(io(data))?;
    let secret = signing_secret(data)?;
    Ok(mint_hs256(
        &secret,
        ISSUER,
        AUDIENCE,
        subject,
        brand,
        role,
        valid_for,
        jiff::Timestamp::now(),
    ))
}

/// Reads the tokens' signing secret, creating it on first use.
fn signing_secret(data: &Path) -> Result<Secret, LocalError> {
    secret_file(data, SECRET_FILE)
}

/// Reads the secret kept in `data/name`, creating a random one (readable by this user only) on
/// first use.
fn secret_file(data: &Path, name: &str) -> Result<Secret, LocalError> {
    let path = data.join(name);
    let read = |path: &Path| match fs::read_to_string(path) {
        Ok(s) if !s.trim().is_empty() => Ok(Some(Secret::new(s.trim()))),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    };
    if let Some(secret) = read(&path)? {
        return Ok(secret);
    }
    let hex: String = rand::random::<[u8; 32]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // Written whole under a name of its own first, so a crash never leaves half a secret behind
    // and two processes starting at once never write into the same file.
    let tmp = data.join(format!("{name}.tmp-{}", ulid::Ulid::new()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(hex.as_bytes())?;
        file.sync_all()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io(&tmp)(e));
    }
    // A link is made only where there is no file yet: if another process got there first, its
    // secret wins. An empty file (emptied by hand) is replaced.
    let placed = match fs::hard_link(&tmp, &path) {
        Ok(()) => Ok(Secret::new(hex)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match read(&path) {
            Ok(Some(theirs)) => Ok(theirs),
            Ok(None) => fs::rename(&tmp, &path)
                .map(|()| Secret::new(hex))
                .map_err(io(&path)),
            Err(e) => Err(e),
        },
        Err(e) => Err(io(&path)(e)),
    };
    let _ = fs::remove_file(&tmp);
    placed
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::LocalRuntime;

    #[tokio::test]
    async fn the_publisher_stops_although_its_runner_holds_a_sender() {
        let dir = std::env::temp_dir().join(format!("palinsesto-queue-{}", ulid::Ulid::new()));
        let runtime = LocalRuntime::open(&dir).expect("the runtime opens");
        let publisher = runtime.start_publisher();
        let stopped = tokio::time::timeout(Duration::from_secs(5), publisher.stop()).await;
        runtime.shutdown();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(stopped.is_ok(), "stopping the publisher hung");
    }

    #[test]
    fn the_data_folder_may_hold_the_oauth_apps() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            super::oauth_apps_file(dir.path()).unwrap().names().count(),
            0,
            "no file: no apps"
        );
        let path = dir.path().join(super::OAUTH_APPS_FILE);
        std::fs::write(
            &path,
            r#"{"x": {"client_id": "local-x", "client_secret": "s"}, "threads": {"client_id": "half"}}"#,
        )
        .unwrap();
        let apps = super::oauth_apps_file(dir.path()).unwrap();
        assert_eq!(apps.names().collect::<Vec<_>>(), ["x"]);
        assert_eq!(apps.get("x").unwrap().client_id, "local-x");
        std::fs::write(&path, "not json").unwrap();
        let refused = super::oauth_apps_file(dir.path()).unwrap_err().to_string();
        assert!(refused.contains("oauth-apps.json"), "{refused}");
    }
}
