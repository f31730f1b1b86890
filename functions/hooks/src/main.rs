//! The inbound webhooks on Lambda: builds the clients once (the apps' secrets from the Parameter
//! Store), then serves the hook routes through lambda_http. Its role cannot open credentials.

use palinsesto::http::hooks::hooks_router;
use palinsesto::lambda_env::hook_service;
use palinsesto::triggers::failure::fail_every_invocation;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    palinsesto::telemetry::init_lambda();
    let service = match hook_service().await {
        Ok(service) => service,
        Err(e) => return fail_every_invocation(e).await,
    };
    lambda_http::run(hooks_router(service)).await
}
