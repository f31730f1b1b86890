//! Builds the production adapters from a Lambda function's environment, once per process.
//! Every function's `main.rs` calls one of these and then hands a service to the runtime.

use std::sync::Arc;

use crate::adapters::dynamodb::DynamoStore;
use crate::adapters::eventbridge::EventBridgeBus;
use crate::adapters::s3::{self, S3Bucket};
use crate::auth::{AuthConfig, Verifier};
use crate::blobs::BucketMedia;
use crate::clock::SystemClock;
use crate::domain::OutboundPolicy;
use crate::http::AppState;
use crate::intake::Limits;
use crate::networks::public::PublicReader;
use crate::outbound::OutboundClient;
use crate::services::intake_events::S3Intake;
use crate::services::publishing::PublishingService;
use crate::services::{IntakeService, MetricsService, Ports, ReportService};
use crate::store::Store;

/// Why a function could not start: a missing or malformed environment variable, named.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(String);

pub fn startup_error(e: impl std::fmt::Display) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(StartupError(e.to_string()))
}

fn required(name: &str) -> Result<String, StartupError> {
    std::env::var(name)
        .map_err(|_| StartupError(format!("the environment variable {name} is not set")))
}

/// The guarded client for every network and competitor call; private networks only with
/// `PALINSESTO_ALLOW_PRIVATE_NETWORKS=1`. A client that cannot be built stops the function.
fn outbound_client() -> Result<OutboundClient, StartupError> {
    OutboundClient::new(OutboundPolicy::from_env()).map_err(|e| StartupError(e.to_string()))
}

/// The store, the clock and the networks, on `TABLE_NAME` and the standard AWS SDK environment.
fn ports_on(config: &aws_config::SdkConfig, table: String) -> Result<Ports, StartupError> {
    Ok(ports_with(config, table, outbound_client()?))
}

/// The ports, with `http` as the networks' one client.
fn ports_with(config: &aws_config::SdkConfig, table: String, http: OutboundClient) -> Ports {
    let store = Store::new(Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(config),
        table,
    )));
    Ports {
        store,
        clock: Arc::new(SystemClock),
        outbound: http.policy(),
        connectors: crate::networks::standard_connectors(
            http,
            &crate::networks::NetworkEndpoints::from_env(),
            crate::networks::Polling::default(),
        ),
    }
}

/// Everything the publisher function needs: the ports, the bus for jobs and domain events
/// (`EVENT_BUS_NAME`) and the media library's bucket (`BUCKET_NAME`). Network API bases come
/// from `NetworkEndpoints::from_env`.
pub async fn publishing_service() -> Result<PublishingService, StartupError> {
    let table = required("TABLE_NAME")?;
    let bus_name = required("EVENT_BUS_NAME")?;
    let bucket = required("BUCKET_NAME")?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    // One bus carries both the publish jobs and the domain events.
    let bus = Arc::new(EventBridgeBus::new(
        aws_sdk_eventbridge::Client::new(&config),
        bus_name,
    ));
    let media = Arc::new(BucketMedia(Arc::new(S3Bucket::new(
        s3::client(&config),
        bucket,
    ))));
    Ok(PublishingService::new(
        ports_on(&config, table)?,
        media,
        bus.clone(),
        bus,
    ))
}

/// Everything the API function needs: the ports, the token verifier (`JWT_*` variables) and the
/// media library's bucket (`BUCKET_NAME`) for upload, download and thumbnail URLs.
pub async fn api_state() -> Result<AppState, StartupError> {
    let auth = AuthConfig::from_env().map_err(|e| StartupError(e.to_string()))?;
    let table = required("TABLE_NAME")?;
    let bucket = required("BUCKET_NAME")?;
    let http = crate::outbound::plain_client(std::time::Duration::from_secs(10))
        .map_err(|e| StartupError(e.to_string()))?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    Ok(AppState::new(
        ports_on(&config, table)?,
        Arc::new(Verifier::new(auth, http)),
    )
    .with_bucket(Arc::new(S3Bucket::new(s3::client(&config), bucket))))
}

/// Everything the asset-intake function needs: the ports, the bucket the notifications come from
/// (`BUCKET_NAME`) and the bus for asset.ready / asset.rejected (`EVENT_BUS_NAME`).
pub async fn intake_service() -> Result<S3Intake, StartupError> {
    let table = required("TABLE_NAME")?;
    let bus_name = required("EVENT_BUS_NAME")?;
    let bucket = required("BUCKET_NAME")?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let service = IntakeService::new(
        ports_on(&config, table)?,
        Arc::new(S3Bucket::new(s3::client(&config), bucket.clone())),
        Arc::new(EventBridgeBus::new(
            aws_sdk_eventbridge::Client::new(&config),
            bus_name,
        )),
        Limits::default(),
    );
    Ok(S3Intake::new(service, bucket))
}

/// Everything the metrics function needs: the ports (the networks through the connectors) and
/// the public-API reader for competitors (`BLUESKY_APPVIEW_BASE` optional).
pub async fn metrics_service() -> Result<MetricsService, StartupError> {
    let table = required("TABLE_NAME")?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    // One client for the brand's networks and the competitors' public APIs.
    let http = outbound_client()?;
    Ok(
        MetricsService::new(ports_with(&config, table, http.clone()))
            .with_public(Arc::new(PublicReader::from_env(http))),
    )
}

/// Everything the reports function needs: the ports, the bucket reports are written to
/// (`BUCKET_NAME`) and the bus for report.ready (`EVENT_BUS_NAME`).
pub async fn reports_service() -> Result<ReportService, StartupError> {
    let table = required("TABLE_NAME")?;
    let bus_name = required("EVENT_BUS_NAME")?;
    let bucket = required("BUCKET_NAME")?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    Ok(ReportService::new(ports_on(&config, table)?).with_output(
        Arc::new(S3Bucket::new(s3::client(&config), bucket)),
        Arc::new(EventBridgeBus::new(
            aws_sdk_eventbridge::Client::new(&config),
            bus_name,
        )),
    ))
}
