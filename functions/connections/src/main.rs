//! The connections function on Lambda: builds the clients once (the OAuth apps from the
//! Parameter Store), then runs the connection worker for each schedule event (every 5 minutes).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use palinsesto::lambda_env::connection_worker;
use palinsesto::triggers::failure::{self, fail_every_invocation};
use palinsesto::triggers::schedules::handle_connections_event;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    palinsesto::telemetry::init_lambda();
    let worker = match connection_worker().await {
        Ok(worker) => worker,
        Err(e) => return fail_every_invocation(e).await,
    };
    let worker = &worker;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle_connections_event(worker, event.payload)
            .await
            .map_err(failure::reported)
    }))
    .await
}
