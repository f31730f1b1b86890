//! The relay function on Lambda: builds the clients once, then relays each batch of the table's
//! stream (new outbox items) to the bus and the brands' webhooks, and on its schedule retries the
//! webhook deliveries that are due.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use palinsesto::lambda_env::{relay_service, startup_error};
use palinsesto::triggers::relay::handle_relay_event;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    palinsesto::telemetry::init_lambda();
    let service = relay_service().await.map_err(startup_error)?;
    let service = &service;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle_relay_event(service, event.payload)
            .await
            .map_err(Error::from)
    }))
    .await
}
