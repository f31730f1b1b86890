//! The inbox function on Lambda: builds the clients once, then for each schedule event (every
//! minute) polls the inbox streams that are due and sends the replies that are due.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use palinsesto::lambda_env::inbox_worker;
use palinsesto::triggers::failure::{self, fail_every_invocation};
use palinsesto::triggers::schedules::handle_inbox_event;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    palinsesto::telemetry::init_lambda();
    let worker = match inbox_worker().await {
        Ok(worker) => worker,
        Err(e) => return fail_every_invocation(e).await,
    };
    let worker = &worker;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle_inbox_event(worker, event.payload)
            .await
            .map_err(failure::reported)
    }))
    .await
}
