//! The reports function on Lambda: builds the clients once, then writes every report that is due
//! for each schedule event (hourly; each brand's is due Monday 08:00 in its zone).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use palinsesto::lambda_env::{reports_service, startup_error};
use palinsesto::triggers::schedules::handle_reports_event;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    palinsesto::telemetry::init_lambda();
    let service = reports_service().await.map_err(startup_error)?;
    let service = &service;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle_reports_event(service, event.payload)
            .await
            .map_err(Error::from)
    }))
    .await
}
