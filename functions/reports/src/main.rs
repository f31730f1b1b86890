//! The reports function on Lambda: builds the clients once, then writes every report that is due
//! for each schedule event (hourly; each brand's is due Monday 08:00 in its zone).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use palinsesto::lambda_env::reports_service;
use palinsesto::triggers::failure::{self, fail_every_invocation};
use palinsesto::triggers::schedules::handle_reports_event;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    palinsesto::telemetry::init_lambda();
    let service = match reports_service().await {
        Ok(service) => service,
        Err(e) => return fail_every_invocation(e).await,
    };
    let service = &service;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle_reports_event(service, event.payload)
            .await
            .map_err(failure::reported)
    }))
    .await
}
