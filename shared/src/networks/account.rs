//! The brand's account on a network as a connector acts with it: the channel, its credentials
//! (refused when given for another server), and the renewal of expiring access under a lease.

use async_trait::async_trait;

use super::PublishError;
use crate::domain::{BrandId, Channel, Credentials, Secret};

/// The brand's account on a network: its channel (settings such as the instance URL) and the
/// credentials to act as it. Made only by [`Account::new`], which refuses credentials given for
/// another server than the channel's current one.
pub struct Account<'a> {
    /// The brand the channel belongs to (the sandbox keeps its posts under it).
    pub brand: &'a BrandId,
    pub channel: &'a Channel,
    credentials: &'a Credentials,
    /// Where refreshed credentials (new access tokens, sessions) are saved.
    pub credentials_sink: &'a dyn CredentialsSink,
}

impl<'a> Account<'a> {
    pub fn new(
        brand: &'a BrandId,
        channel: &'a Channel,
        credentials: &'a Credentials,
        credentials_sink: &'a dyn CredentialsSink,
    ) -> Result<Self, PublishError> {
        credentials
            .check_binding(channel)
            .map_err(PublishError::EndpointChanged)?;
        Ok(Self {
            brand,
            channel,
            credentials,
            credentials_sink,
        })
    }

    pub fn credentials(&self) -> &'a Credentials {
        self.credentials
    }

    /// Starts renewing the channel's access: takes its renewal lease (one worker at a time,
    /// across every function) and returns the credentials as stored now, which another worker
    /// may have renewed meanwhile. End it with [`Account::finish_renewal`] on every path.
    pub async fn begin_renewal(&self) -> Result<Renewal, PublishError> {
        let renewal = self
            .credentials_sink
            .begin_renewal(self.credentials)
            .await?;
        if let Err(why) = renewal.credentials.check_binding(self.channel) {
            self.credentials_sink
                .finish_renewal(renewal, Vec::new())
                .await?;
            return Err(PublishError::EndpointChanged(why));
        }
        Ok(renewal)
    }

    /// Saves what the renewal got (nothing, when it failed or another worker had renewed) and
    /// releases the lease.
    pub async fn finish_renewal(
        &self,
        renewal: Renewal,
        changes: Vec<(String, Secret)>,
    ) -> Result<(), PublishError> {
        self.credentials_sink.finish_renewal(renewal, changes).await
    }
}

/// A renewal of a channel's access in progress: the credentials as stored when it began, and
/// what the sink needs to save under its lease.
pub struct Renewal {
    pub credentials: Credentials,
    lease: Option<RenewalLease>,
}

/// Who holds a channel's renewal lease, and the credentials' version read under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalLease {
    pub holder: String,
    pub version: u64,
}

impl Renewal {
    /// A renewal under a lease taken in the store.
    pub fn leased(credentials: Credentials, lease: RenewalLease) -> Self {
        Self {
            credentials,
            lease: Some(lease),
        }
    }

    /// A renewal where nothing else can race (one process, no store: tests, preflight).
    pub fn unleased(credentials: Credentials) -> Self {
        Self {
            credentials,
            lease: None,
        }
    }

    pub fn lease(&self) -> Option<&RenewalLease> {
        self.lease.as_ref()
    }
}

impl Account<'_> {
    /// A credential the channel must have, or a plain-words error naming it.
    pub fn credential(&self, key: &str) -> Result<&Secret, PublishError> {
        self.credential_in(self.credentials, key)
    }

    /// A credential `credentials` (those of this channel, as read under a renewal) must have.
    pub fn credential_in<'c>(
        &self,
        credentials: &'c Credentials,
        key: &str,
    ) -> Result<&'c Secret, PublishError> {
        credentials.get(key).filter(|s| !s.is_empty()).ok_or_else(|| {
            PublishError::AuthExpired(format!(
                "the channel has no \"{key}\" credential: connect it again with PUT /v1/channels/{}/credentials",
                self.channel.id
            ))
        })
    }

    /// A string setting of the channel, or a plain-words error naming it.
    pub fn setting(&self, key: &str) -> Result<&str, PublishError> {
        self.channel
            .settings
            .get(key)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                PublishError::Misconfigured(format!(
                    "the channel's settings.{key} is missing; set it with PATCH /v1/channels/{}",
                    self.channel.id
                ))
            })
    }
}

/// Saves refreshed credentials. `changes` replace the stored values of those keys only; an empty
/// value is ignored, so a network answering without a new refresh token never erases the old one.
#[async_trait]
pub trait CredentialsSink: Send + Sync {
    /// Saves values that need no renewal lease (a Bluesky session after a first login).
    async fn update(&self, changes: Vec<(String, Secret)>) -> Result<(), PublishError>;

    /// Takes the channel's renewal lease and reads the credentials as stored now. A sink with
    /// no store behind it has nothing to race and hands back `current`.
    async fn begin_renewal(&self, current: &Credentials) -> Result<Renewal, PublishError> {
        Ok(Renewal::unleased(current.clone()))
    }

    /// Saves `changes` on condition that the credentials are still those read when the renewal
    /// began, then releases the lease.
    async fn finish_renewal(
        &self,
        _renewal: Renewal,
        changes: Vec<(String, Secret)>,
    ) -> Result<(), PublishError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.update(changes).await
    }
}

/// How long the network part of a renewal may take: well inside the renewal lease (30 s), so a
/// lease never runs out while its holder is still renewing.
pub const RENEWAL_CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Runs the network part of a renewal within [`RENEWAL_CALL_TIMEOUT`].
pub async fn within_renewal_time<T>(
    network: &str,
    work: impl std::future::Future<Output = Result<T, PublishError>>,
) -> Result<T, PublishError> {
    tokio::time::timeout(RENEWAL_CALL_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| {
            Err(PublishError::Transient(format!(
                "{network} took more than {} s to renew the channel's access; it will be tried again",
                RENEWAL_CALL_TIMEOUT.as_secs()
            )))
        })
}
