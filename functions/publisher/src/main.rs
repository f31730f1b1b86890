//! The publisher on Lambda: builds the clients once, then routes each EventBridge event (the
//! schedule's tick, or one publish-target job) to the publishing service.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use palinsesto::lambda_env::publishing_service;
use palinsesto::triggers::failure::{self, fail_every_invocation};
use palinsesto::triggers::publisher::handle_publisher_event;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    palinsesto::telemetry::init_lambda();
    let service = match publishing_service().await {
        Ok(service) => service,
        Err(e) => return fail_every_invocation(e).await,
    };
    let service = &service;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle_publisher_event(service, event.payload)
            .await
            .map_err(failure::reported)
    }))
    .await
}
