//! The HTTP API on Lambda: builds the clients once, then serves the shared router through lambda_http.

use palinsesto::http::{ApiSettings, router};
use palinsesto::lambda_env::{api_state, startup_error};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    palinsesto::telemetry::init_lambda();
    let state = api_state().await.map_err(startup_error)?;
    let settings = ApiSettings::from_env().map_err(startup_error)?;
    lambda_http::run(router(state, &settings)).await
}
