//! The Lambda functions' adapters: DynamoDB, S3 and EventBridge, named by the function's
//! environment, built once per process and handed to the composition root ([`crate::wiring`]).
//! Every function's `main.rs` calls one of the `*_service` functions and hands the result to the
//! runtime; the tests on the AWS emulator build [`AwsDeployment::on`] and call the same methods.

use std::sync::Arc;

use crate::adapters::dynamodb::DynamoStore;
use crate::adapters::eventbridge::EventBridgeBus;
use crate::adapters::kms::KmsKeyring;
use crate::adapters::s3::{self, S3Bucket};
use crate::auth::{AuthConfig, Verifier};
use crate::clock::{Clock, SystemClock};
use crate::domain::OutboundPolicy;
use crate::http::AppState;
use crate::media_inspection::Limits;
use crate::outbound::OutboundClient;
use crate::sealing::{Keyring, Unconfigured};
use crate::services::connection_worker::ConnectionWorker;
use crate::services::connections::ConnectSettings;
use crate::services::hooks::{HookService, HookSettings};
use crate::services::inbox_worker::InboxWorker;
use crate::services::publishing::PublishingService;
use crate::services::relay::RelayService;
use crate::services::{MetricsService, ReportService};
use crate::store::Store;
use crate::triggers::uploads::S3Intake;
use crate::wiring::{NetworkAccess, Wiring};

/// Why a function could not start, with its errorType (`Config.Missing`, `Config.Invalid`).
pub use crate::triggers::failure::StartupError;

/// A setting that could not be read.
pub fn startup_error(e: impl std::fmt::Display) -> StartupError {
    StartupError::Invalid(e.to_string())
}

/// The names of a stack's resources a function uses: the table always, the bucket and the bus
/// where its role allows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceNames {
    /// `TABLE_NAME`
    pub table: String,
    /// `BUCKET_NAME`
    pub bucket: Option<String>,
    /// `EVENT_BUS_NAME`: one bus carries both the publish jobs and the domain events.
    pub bus: Option<String>,
    /// `SECRETS_KEY_ID`: the KMS key that seals credentials and webhook secrets. Without it
    /// nothing can be sealed or opened (the functions that need none run without it).
    pub key: Option<String>,
}

impl ResourceNames {
    pub fn from_env() -> Result<Self, StartupError> {
        Ok(Self {
            table: optional("TABLE_NAME").ok_or_else(|| missing("TABLE_NAME"))?,
            bucket: optional("BUCKET_NAME"),
            bus: optional("EVENT_BUS_NAME"),
            key: optional("SECRETS_KEY_ID"),
        })
    }
}

/// An environment variable that is set and not blank.
fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn missing(name: &str) -> StartupError {
    StartupError::Missing(format!("the environment variable {name} is not set"))
}

/// One function's view of the deployment: the wiring on DynamoDB, and the bucket and the bus
/// named in its environment.
pub struct AwsDeployment {
    wiring: Wiring,
    names: ResourceNames,
    s3: aws_sdk_s3::Client,
    eventbridge: aws_sdk_eventbridge::Client,
}

impl AwsDeployment {
    /// From the function's environment: the resource names, the standard AWS SDK configuration,
    /// the guarded client (private networks only with `PALINSESTO_ALLOW_PRIVATE_NETWORKS=1`) and
    /// the networks' API bases.
    pub async fn from_env() -> Result<Self, StartupError> {
        let names = ResourceNames::from_env()?;
        let http = OutboundClient::new(OutboundPolicy::from_env())
            .map_err(|e| StartupError::Invalid(e.to_string()))?;
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let mut networks = NetworkAccess::from_env(http);
        if let Some(path) = optional("OAUTH_PARAMETERS_PATH") {
            let client = aws_sdk_ssm::Client::new(&config);
            let stored = crate::adapters::ssm::oauth_apps(&client, &path)
                .await
                .map_err(StartupError::Invalid)?;
            networks.apps = networks.apps.overridden_by(stored);
        }
        let mut deployment = Self::on(&config, names, Arc::new(SystemClock), networks);
        deployment.wiring = deployment
            .wiring
            .clone()
            .with_hooks(HookSettings::from_env());
        Ok(deployment)
    }

    /// On `config`'s endpoints (AWS, or the emulator in tests).
    pub fn on(
        config: &aws_config::SdkConfig,
        names: ResourceNames,
        clock: Arc<dyn Clock>,
        networks: NetworkAccess,
    ) -> Self {
        let keyring: Arc<dyn Keyring> = match &names.key {
            Some(key) => Arc::new(KmsKeyring::new(aws_sdk_kms::Client::new(config), key)),
            None => Arc::new(Unconfigured),
        };
        let store = Store::new(
            Arc::new(DynamoStore::new(
                aws_sdk_dynamodb::Client::new(config),
                names.table.clone(),
            )),
            keyring.clone(),
        );
        Self {
            wiring: Wiring::new(store, clock, keyring, networks),
            names,
            s3: s3::client(config),
            eventbridge: aws_sdk_eventbridge::Client::new(config),
        }
    }

    pub fn wiring(&self) -> &Wiring {
        &self.wiring
    }

    fn bucket(&self) -> Result<S3Bucket, StartupError> {
        let name = self
            .names
            .bucket
            .clone()
            .ok_or_else(|| missing("BUCKET_NAME"))?;
        Ok(S3Bucket::new(self.s3.clone(), name))
    }

    fn bus(&self) -> Result<Arc<EventBridgeBus>, StartupError> {
        let name = self
            .names
            .bus
            .clone()
            .ok_or_else(|| missing("EVENT_BUS_NAME"))?;
        Ok(Arc::new(EventBridgeBus::new(
            self.eventbridge.clone(),
            name,
        )))
    }

    /// The publisher function: jobs on the bus, media from the bucket.
    pub fn publishing_service(&self) -> Result<PublishingService, StartupError> {
        Ok(self
            .wiring
            .publishing(Arc::new(self.bucket()?), self.bus()?))
    }

    /// The relay function: events from the table's stream to the bus and the brands' webhooks.
    pub fn relay_service(&self) -> Result<RelayService, StartupError> {
        Ok(self.wiring.relay(self.bus()?))
    }

    /// The API function: callers verified by `verifier`, the media library in the bucket,
    /// connection flows through this deployment's address and the frontend's (`PUBLIC_BASE_URL`,
    /// `FRONTEND_URL`).
    pub fn api_state(&self, verifier: Verifier) -> Result<AppState, StartupError> {
        let url = |name: &str| optional(name).map(|v| v.trim().trim_end_matches('/').to_owned());
        let connect = ConnectSettings {
            public_base: url("PUBLIC_BASE_URL"),
            frontend_url: url("FRONTEND_URL"),
        };
        let api = crate::http::ApiSettings::from_env().map_err(StartupError::Invalid)?;
        connect
            .check_frontend(&api.cors_origins)
            .map_err(StartupError::Invalid)?;
        Ok(self.wiring.api(verifier, Arc::new(self.bucket()?), connect))
    }

    /// The asset-intake function: notifications from the bucket.
    pub fn intake_service(&self) -> Result<S3Intake, StartupError> {
        let bucket = self.bucket()?;
        let name = bucket.bucket().to_owned();
        let service = self.wiring.intake(Arc::new(bucket), Limits::default());
        Ok(S3Intake::new(service, name))
    }

    /// The metrics function: the table and the networks only.
    pub fn metrics_service(&self) -> MetricsService {
        self.wiring.metrics()
    }

    /// The inbox function: streams polled and replies sent; reply media from the bucket.
    pub fn inbox_worker(&self) -> Result<InboxWorker, StartupError> {
        Ok(self.wiring.inbox_worker(Arc::new(self.bucket()?)))
    }

    /// The connections function: revocations and renewals through the networks.
    pub fn connection_worker(&self) -> ConnectionWorker {
        self.wiring.connection_worker()
    }

    /// The hook function: deliveries verified, parsed and queued (no bucket, no key).
    pub fn hook_service(&self) -> HookService {
        self.wiring.hooks()
    }

    /// The reports function: reports written to the bucket.
    pub fn reports_service(&self) -> Result<ReportService, StartupError> {
        Ok(self.wiring.reports(Arc::new(self.bucket()?)))
    }
}

/// The publisher function's service (`TABLE_NAME`, `EVENT_BUS_NAME`, `BUCKET_NAME`).
pub async fn publishing_service() -> Result<PublishingService, StartupError> {
    AwsDeployment::from_env().await?.publishing_service()
}

/// The API function's state (`TABLE_NAME`, `BUCKET_NAME`, the `JWT_*` variables).
pub async fn api_state() -> Result<AppState, StartupError> {
    let auth = AuthConfig::from_env().map_err(|e| StartupError::Invalid(e.to_string()))?;
    let http = crate::outbound::plain_client(std::time::Duration::from_secs(10))
        .map_err(|e| StartupError::Invalid(e.to_string()))?;
    AwsDeployment::from_env()
        .await?
        .api_state(Verifier::new(auth, http))
}

/// The relay function's service (`TABLE_NAME`, `EVENT_BUS_NAME`).
pub async fn relay_service() -> Result<RelayService, StartupError> {
    AwsDeployment::from_env().await?.relay_service()
}

/// The asset-intake function's service (`TABLE_NAME`, `BUCKET_NAME`).
pub async fn intake_service() -> Result<S3Intake, StartupError> {
    AwsDeployment::from_env().await?.intake_service()
}

/// The metrics function's service (`TABLE_NAME`; `BLUESKY_APPVIEW_BASE` optional).
pub async fn metrics_service() -> Result<MetricsService, StartupError> {
    Ok(AwsDeployment::from_env().await?.metrics_service())
}

/// The inbox function's worker (`TABLE_NAME`, `BUCKET_NAME`).
pub async fn inbox_worker() -> Result<InboxWorker, StartupError> {
    AwsDeployment::from_env().await?.inbox_worker()
}

/// The connections function's worker (`TABLE_NAME`, `OAUTH_PARAMETERS_PATH`).
pub async fn connection_worker() -> Result<ConnectionWorker, StartupError> {
    Ok(AwsDeployment::from_env().await?.connection_worker())
}

/// The hook function's service (`TABLE_NAME`, `OAUTH_PARAMETERS_PATH` for the apps' secrets,
/// `META_VERIFY_TOKEN`).
pub async fn hook_service() -> Result<HookService, StartupError> {
    Ok(AwsDeployment::from_env().await?.hook_service())
}

/// The reports function's service (`TABLE_NAME`, `BUCKET_NAME`).
pub async fn reports_service() -> Result<ReportService, StartupError> {
    AwsDeployment::from_env().await?.reports_service()
}
