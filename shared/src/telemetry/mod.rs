//! Logging set-up for the two ways the code runs: JSON lines for CloudWatch in Lambda, readable
//! lines in a terminal locally. `RUST_LOG` overrides the level in both. The operational metrics
//! ([`emf`]) go out in Lambda only.

pub mod emf;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// `RUST_LOG` as levels per target (`info`, `palinsesto=debug,aws_smithy_runtime=warn`); the
/// default is `info`. (Per-target levels only: the regex-based `EnvFilter` cost a quarter of a
/// megabyte in every Lambda binary.)
fn filter() -> Targets {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|raw| raw.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
}

/// For Lambda: JSON, no colours, no timestamp (CloudWatch adds one).
pub fn init_lambda() {
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .without_time()
                .with_ansi(false),
        )
        .with(filter())
        .init();
    // Locally the metrics would only be noise between the log lines.
    emf::enable();
}

/// For the local runner.
pub fn init_local() {
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_target(false))
        .with(filter())
        .init();
}

/// The local runner's lines at warnings and above only: for work that would otherwise log a
/// line per tick, such as the demo's simulated month (`serve --demo`).
pub fn local_warnings_only() -> tracing::Dispatch {
    tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_target(false))
            .with(Targets::new().with_default(tracing::Level::WARN)),
    )
}
