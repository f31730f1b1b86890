//! Palinsesto's library: every rule and every adapter. The Lambda functions and the local runner
//! are thin shells around the services defined here.

pub mod adapters;
pub mod auth;
pub mod bucket;
pub mod clock;
pub mod domain;
pub mod domain_events;
pub mod fanout;
pub mod http;
#[cfg(feature = "aws")]
pub mod lambda_env;
#[cfg(feature = "local")]
pub mod local;
pub mod media_inspection;
pub mod networks;
pub mod outbound;
pub mod report_render;
pub mod sealing;
pub mod services;
pub mod store;
pub mod telemetry;
pub mod triggers;
pub mod webhook_signature;
pub mod wiring;
