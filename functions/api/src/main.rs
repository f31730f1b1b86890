//! The HTTP API on Lambda: builds the clients once, then serves the shared router through lambda_http.

use palinsesto::http::{ApiSettings, router};
use palinsesto::lambda_env::{api_state, startup_error};
use palinsesto::triggers::failure::fail_every_invocation;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    palinsesto::telemetry::init_lambda();
    let started = async {
        Ok((
            api_state().await?,
            ApiSettings::from_env().map_err(startup_error)?,
        ))
    };
    let (state, settings) = match started.await {
        Ok(started) => started,
        Err(e) => return fail_every_invocation(e).await,
    };
    lambda_http::run(router(state, &settings)).await
}
