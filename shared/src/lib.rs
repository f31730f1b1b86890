//! Palinsesto's library: every rule and every adapter. The Lambda functions and the local runner
//! are thin shells around the services defined here.

pub mod adapters;
pub mod clock;
pub mod domain;
pub mod store;
