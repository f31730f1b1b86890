//! Builds the production adapters from a Lambda function's environment, once per process.
//! Every function's `main.rs` calls one of these and then hands a service to the runtime.

use std::sync::Arc;

use crate::adapters::dynamodb::DynamoStore;
use crate::auth::{AuthConfig, Verifier};
use crate::clock::SystemClock;
use crate::http::AppState;
use crate::services::Ports;
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

/// The store and the clock, from `TABLE_NAME` and the standard AWS SDK environment.
pub async fn ports() -> Result<Ports, StartupError> {
    let table = required("TABLE_NAME")?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store = Store::new(Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        table,
    )));
    Ok(Ports {
        store,
        clock: Arc::new(SystemClock),
        connectors: crate::networks::standard_connectors(
            crate::networks::network_client(),
            &crate::networks::NetworkEndpoints::from_env(),
            crate::networks::Polling::default(),
        ),
    })
}

/// Everything the API function needs: the ports and the token verifier (`JWT_*` variables).
pub async fn api_state() -> Result<AppState, StartupError> {
    let auth = AuthConfig::from_env().map_err(|e| StartupError(e.to_string()))?;
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| StartupError(format!("the HTTP client could not be built: {e}")))?;
    Ok(AppState::new(
        ports().await?,
        Arc::new(Verifier::new(auth, http)),
    ))
}
