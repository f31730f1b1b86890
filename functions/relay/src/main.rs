//! The relay function on Lambda: builds the clients once, then relays each batch of the table's
//! stream (new outbox items) to the bus and the brands' webhooks, and on its schedule retries the
//! webhook deliveries that are due.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use palinsesto::lambda_env::relay_service;
use palinsesto::triggers::failure::{self, fail_every_invocation};
use palinsesto::triggers::relay::handle_relay_event;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    palinsesto::telemetry::init_lambda();
    let service = match relay_service().await {
        Ok(service) => service,
        Err(e) => return fail_every_invocation(e).await,
    };
    let service = &service;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle_relay_event(service, event.payload)
            .await
            .map_err(failure::reported)
    }))
    .await
}
