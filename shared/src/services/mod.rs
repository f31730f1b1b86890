//! The use cases, written once against the ports and called by the HTTP routes (in Lambda and in
//! the local runner) alike. A service loads, applies a domain rule, and saves with a version check.

pub mod assets;
pub mod audit;
pub mod brands;
pub mod calendar;
pub mod channels;
pub mod competitors;
pub mod connection_worker;
pub mod connections;
pub mod hooks;
pub mod inbox;
pub mod inbox_moderation;
pub mod inbox_push;
pub mod inbox_worker;
pub mod intake;
pub mod kpis;
pub mod metrics;
pub mod people;
pub mod posts;
pub mod preflight;
pub mod publishing;
pub mod rate_limits;
pub mod relay;
pub mod reports;
pub mod store_credentials;
pub mod subscriptions;
pub mod webhooks;

use std::sync::Arc;

use crate::clock::Clock;
use crate::domain::{Actor, Brand, DomainError, Validation};
use crate::store::{Store, StoreError};

pub use assets::AssetService;
pub use audit::AuditService;
pub use brands::BrandService;
pub use calendar::CalendarService;
pub use channels::ChannelService;
pub use competitors::CompetitorService;
pub use intake::IntakeService;
pub use kpis::KpiService;
pub use metrics::MetricsService;
pub use posts::PostService;
pub use rate_limits::RateLimiter;
pub use reports::ReportService;
pub use webhooks::WebhookService;

/// How many times an update without a caller-supplied version is retried when a concurrent
/// writer got there first. With a caller-supplied version a conflict is the caller's to resolve.
const RETRIES_WITHOUT_IF_MATCH: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Domain(#[from] DomainError),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller's version (If-Match) is not the stored one.
    #[error("the {0} was changed since you read it: reload it and try again")]
    Stale(&'static str),
    /// The action needs the caller's version (If-Match) and none was sent: it must apply only to
    /// what the caller saw.
    #[error(
        "this action needs the version of the {0} you last read: send the ETag you last read \
         as If-Match (for example If-Match: \"3\"), so it applies only to what you saw"
    )]
    VersionRequired(&'static str),
    #[error("{0}")]
    AlreadyExists(String),
    /// The brand has no profile yet, so nothing that needs its time zone or policy can run.
    #[error("the brand has no profile yet: an owner must create it with PUT /v1/brand first")]
    BrandNotSetUp,
    #[error("{0}")]
    BadRequest(String),
    /// A caller without a token whose own proof (a network's signature) did not hold: 401.
    #[error("{0}")]
    BadSignature(String),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Bucket(#[from] crate::bucket::BlobError),
    #[error(transparent)]
    Events(#[from] crate::domain_events::EventError),
    #[error(transparent)]
    Sealing(#[from] crate::sealing::SealError),
    /// A per-brand rate limit: 429 with `Retry-After`.
    #[error("{}", .0.detail)]
    RateLimited(crate::domain::rate_limit::Refusal),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// The ports every service needs.
#[derive(Clone)]
pub struct Ports {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub connectors: crate::networks::Connectors,
    /// Whether URLs people save may point at private networks (tests, local fakes).
    pub outbound: crate::domain::OutboundPolicy,
    /// Seals secrets at rest (credentials, webhook secrets); only the functions that need a
    /// secret's plaintext may open them (docs/security.md).
    pub keyring: Arc<dyn crate::sealing::Keyring>,
}

impl Ports {
    /// The writes that start the inbox streams of `channel`, on a network whose inbox is read
    /// here: put with the channel's new credentials, so a connected channel is polled.
    pub fn inbox_stream_writes(
        &self,
        brand: &crate::domain::BrandId,
        channel: &crate::domain::Channel,
    ) -> Result<Vec<crate::store::Write>, crate::store::StoreError> {
        let Ok(reader) = self.connectors.inbox_reader(channel.network) else {
            return Ok(Vec::new());
        };
        inbox_worker::new_streams(channel, reader.streams(), self.clock.now())
            .iter()
            .map(|stream| crate::store::Store::new_stream_write(brand, stream))
            .collect()
    }

    /// Whether this deployment serves `network` (the sandbox only where it is allowed).
    pub fn allows(&self, network: crate::domain::Network) -> bool {
        !network.is_simulated() || self.connectors.has(network)
    }

    /// Refuses, under `field`, a network this deployment does not serve.
    pub fn require_network(
        &self,
        field: &str,
        network: crate::domain::Network,
    ) -> Result<(), DomainError> {
        if self.allows(network) {
            return Ok(());
        }
        Err(DomainError::invalid(
            field,
            "the sandbox network is not allowed in this deployment (its operator can allow it with the stack parameter AllowSandbox=true, meant for staging)",
        ))
    }

    /// The networks this deployment serves.
    pub fn networks(&self) -> Vec<crate::domain::Network> {
        crate::domain::Network::ALL
            .into_iter()
            .filter(|n| self.allows(*n))
            .collect()
    }

    /// The coverage table of the networks this deployment serves.
    pub fn coverage(&self) -> Vec<crate::domain::coverage::Coverage> {
        self.networks()
            .into_iter()
            .map(crate::domain::coverage::of)
            .collect()
    }

    pub async fn brand(&self, actor: &Actor) -> Result<Brand, ServiceError> {
        self.store
            .get_brand(&actor.brand)
            .await?
            .ok_or(ServiceError::BrandNotSetUp)
    }
}

/// Items per page of a listing when the caller does not say.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// The most items a page of a listing may ask for.
pub const MAX_PAGE_SIZE: usize = 200;

/// The page size a listing asked for, or the default; an out-of-range one is recorded under
/// `limit`.
pub fn page_limit(validation: &mut Validation, limit: Option<usize>) -> usize {
    let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if limit == 0 || limit > MAX_PAGE_SIZE {
        validation.add("limit", format!("must be between 1 and {MAX_PAGE_SIZE}"));
    }
    limit
}

/// A listing's `from`/`to` (RFC 3339; `to` after `from`), each problem recorded under its field.
pub fn time_range(
    validation: &mut Validation,
    from: Option<&str>,
    to: Option<&str>,
) -> (Option<jiff::Timestamp>, Option<jiff::Timestamp>) {
    use crate::domain::time::parse_instant;
    let from = from.and_then(|t| validation.check("from", parse_instant(t)));
    let to = to.and_then(|t| validation.check("to", parse_instant(t)));
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        validation.add("to", "must be after from");
    }
    (from, to)
}

/// Checks the caller's expected version (If-Match) against what is stored.
pub fn check_version(
    expected: Option<u64>,
    stored: u64,
    what: &'static str,
) -> Result<(), ServiceError> {
    match expected {
        Some(v) if v != stored => Err(ServiceError::Stale(what)),
        _ => Ok(()),
    }
}

/// Runs a read-modify-write. A conflict with a caller-supplied version is reported as stale;
/// without one, the whole read-modify-write is retried a few times, since the caller asked for
/// the change against whatever is current.
pub async fn with_retries<T, F, Fut>(
    expected: Option<u64>,
    what: &'static str,
    mut attempt: F,
) -> Result<T, ServiceError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ServiceError>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(ServiceError::Store(StoreError::Conflict { .. })) => {
                tries += 1;
                if expected.is_some() || tries >= RETRIES_WITHOUT_IF_MATCH {
                    return Err(ServiceError::Stale(what));
                }
            }
            other => return other,
        }
    }
}
