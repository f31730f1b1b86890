//! Logging set-up for the two ways the code runs: JSON lines for CloudWatch in Lambda, readable
//! lines in a terminal locally. `RUST_LOG` overrides the level in both.

use tracing_subscriber::EnvFilter;

fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// For Lambda: JSON, no colours, no timestamp (CloudWatch adds one).
pub fn init_lambda() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter())
        .without_time()
        .with_ansi(false)
        .init();
}

/// For the local runner.
pub fn init_local() {
    tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_target(false)
        .init();
}
