//! Asset intake on Lambda: builds the clients once, then hands each S3 ObjectCreated notification
//! to the library's intake.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use palinsesto::lambda_env::{intake_service, startup_error};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    palinsesto::telemetry::init_lambda();
    let intake = intake_service().await.map_err(startup_error)?;
    let intake = &intake;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        intake.handle(&event.payload).await.map_err(Error::from)
    }))
    .await
}
