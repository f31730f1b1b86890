//! The publisher on Lambda: builds the clients once, then routes each EventBridge event (the
//! schedule's tick, or one publish-target job) to the publishing service.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use palinsesto::lambda_env::{publishing_service, startup_error};
use palinsesto::triggers::publisher::handle_publisher_event;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    palinsesto::telemetry::init_lambda();
    let service = publishing_service().await.map_err(startup_error)?;
    let service = &service;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle_publisher_event(service, event.payload)
            .await
            .map_err(Error::from)
    }))
    .await
}
