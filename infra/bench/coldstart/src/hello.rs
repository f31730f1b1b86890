//! The cold-start baseline: the hello-world function of the lambda_runtime examples, which echoes
//! its event. The functions are measured against it in the same run.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // As the functions log (JSON lines, no timestamp), so the baseline does the same set-up.
    tracing_subscriber::fmt()
        .json()
        .without_time()
        .with_ansi(false)
        .init();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(event.payload)
    }))
    .await
}
