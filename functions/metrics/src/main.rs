//! The metrics function on Lambda: builds the clients once, then runs the metrics tick for each
//! schedule event (every 15 minutes).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use palinsesto::lambda_env::metrics_service;
use palinsesto::triggers::failure::{self, fail_every_invocation};
use palinsesto::triggers::schedules::handle_metrics_event;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    palinsesto::telemetry::init_lambda();
    let service = match metrics_service().await {
        Ok(service) => service,
        Err(e) => return fail_every_invocation(e).await,
    };
    let service = &service;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle_metrics_event(service, event.payload)
            .await
            .map_err(failure::reported)
    }))
    .await
}
