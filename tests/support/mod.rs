//! Shared set-up for the black-box tests: fresh stores on both adapters, a booted API server.

pub mod accounts;
pub mod app;
pub mod aws;
pub mod bench;
pub mod browser;
pub mod bucket;
pub mod desk;
pub mod dynamodb;
pub mod embedded;
pub mod fakes;
pub mod lambda;
pub mod stream;
pub mod template;

/// A plain HTTP client for the tests' own calls (the API on loopback, presigned URLs), on the
/// same TLS setup as the library's clients: one crypto provider, aws-lc-rs, in tests too.
pub fn http_client() -> reqwest::Client {
    palinsesto::outbound::plain_client(std::time::Duration::from_secs(300))
        .expect("the client builds")
}
