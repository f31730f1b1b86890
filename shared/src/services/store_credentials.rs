//! The credentials sink backed by the store: where a connector saves what it refreshed (new
//! access tokens, sessions), and the renewal lease that lets one worker at a time renew a
//! channel's access. Used by every service that acts on a channel's account.

use async_trait::async_trait;
use jiff::SignedDuration;

use crate::domain::{BrandId, ChannelId, Credentials, Network, Secret};
use crate::networks::{CredentialsSink, PublishError, Renewal, RenewalLease};
use crate::store::{Store, StoreError};

/// Saves a connector's refreshed credentials to the store (publishing and metrics alike).
pub(crate) struct StoreCredentials {
    pub(crate) store: Store,
    pub(crate) brand: BrandId,
    pub(crate) channel: ChannelId,
    /// Only keys of this network's credential table are saved.
    pub(crate) network: Network,
}

/// How long a worker may hold a channel's renewal lease: longer than a token renewal takes (the
/// client's timeouts), short enough that a crashed holder does not lock the channel out for long.
const RENEWAL_LEASE: SignedDuration = SignedDuration::from_secs(30);
/// How long a worker waits for another's renewal before it gives up for now (retried later).
const RENEWAL_WAIT: std::time::Duration = std::time::Duration::from_secs(35);
// A renewal's network part ends well before its lease could run out.
const _: () =
    assert!(RENEWAL_LEASE.as_secs() as u64 > crate::networks::RENEWAL_CALL_TIMEOUT.as_secs() + 5);

impl StoreCredentials {
    /// The changes a connector may save: keys of the network's table, non-empty values.
    fn savable(&self, changes: Vec<(String, Secret)>) -> Vec<(String, String)> {
        let network = self.network;
        changes
            .into_iter()
            .filter(|(key, _)| {
                let savable = Credentials::may_save(network, key);
                if !savable {
                    tracing::error!(network = network.as_str(), key = %key, "a connector tried to save a credential key outside its network's table; ignored");
                }
                savable
            })
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k, v.expose().to_owned()))
            .collect()
    }
}

fn not_saved(e: StoreError) -> PublishError {
    PublishError::Transient(format!("refreshed credentials could not be saved: {e}"))
}

#[async_trait]
impl CredentialsSink for StoreCredentials {
    async fn update(&self, changes: Vec<(String, Secret)>) -> Result<(), PublishError> {
        let changes = self.savable(changes);
        match self
            .store
            .refresh_credentials(&self.brand, &self.channel, &changes)
            .await
        {
            Ok(()) => Ok(()),
            // Someone reconnected the channel meanwhile: their credentials win.
            Err(StoreError::Conflict { .. }) => Ok(()),
            Err(e) => Err(not_saved(e)),
        }
    }

    async fn begin_renewal(&self, _current: &Credentials) -> Result<Renewal, PublishError> {
        let holder = ulid::Ulid::new().to_string();
        let deadline = tokio::time::Instant::now() + RENEWAL_WAIT;
        // Leases are about real time across processes, whatever clock the services run on.
        loop {
            let now = jiff::Timestamp::now();
            let until = now.checked_add(RENEWAL_LEASE).unwrap_or(now);
            let taken = self
                .store
                .take_renewal_lease(&self.brand, &self.channel, &holder, now, until)
                .await
                .map_err(not_saved)?;
            if taken {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(PublishError::Transient(
                    "another worker is renewing this channel's access and has not finished; it will be tried again"
                        .into(),
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let stored = self
            .store
            .credentials_with_version(&self.brand, &self.channel)
            .await;
        let (credentials, version) = match stored {
            Ok(Some(found)) => found,
            other => {
                let _ = self
                    .store
                    .release_renewal_lease(&self.brand, &self.channel, &holder)
                    .await;
                return Err(match other {
                    Err(e) => not_saved(e),
                    _ => PublishError::AuthExpired(
                        "the channel's credentials were removed: connect it again".into(),
                    ),
                });
            }
        };
        Ok(Renewal::leased(
            credentials,
            RenewalLease { holder, version },
        ))
    }

    async fn finish_renewal(
        &self,
        renewal: Renewal,
        changes: Vec<(String, Secret)>,
    ) -> Result<(), PublishError> {
        let Some(lease) = renewal.lease() else {
            return self.update(changes).await;
        };
        let changes = self.savable(changes);
        let saved = if changes.is_empty() {
            Ok(())
        } else {
            self.store
                .save_renewed_credentials(
                    &self.brand,
                    &self.channel,
                    &renewal.credentials,
                    lease.version,
                    &changes,
                )
                .await
        };
        if let Err(e) = self
            .store
            .release_renewal_lease(&self.brand, &self.channel, &lease.holder)
            .await
        {
            tracing::warn!(channel = %self.channel, error = %e, "the renewal lease could not be released; it runs out by itself");
        }
        match saved {
            // Reconnected since the renewal began: the new credentials win.
            Ok(()) | Err(StoreError::Conflict { .. }) => Ok(()),
            Err(e) => Err(not_saved(e)),
        }
    }
}
