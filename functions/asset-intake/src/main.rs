//! Asset intake on Lambda: builds the clients once, then hands each S3 ObjectCreated notification
//! to the library's intake.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use palinsesto::lambda_env::intake_service;
use palinsesto::triggers::failure::{self, fail_every_invocation};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    palinsesto::telemetry::init_lambda();
    let intake = match intake_service().await {
        Ok(intake) => intake,
        Err(e) => return fail_every_invocation(e).await,
    };
    let intake = &intake;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        intake
            .handle(&event.payload)
            .await
            .map_err(failure::reported)
    }))
    .await
}
