//! The sandbox network: Palinsesto's own, simulated. Publishing keeps the post in the store
//! (no network call), read-back finds it there, and figures come from the simulated audience of
//! `domain::sandbox_audience`, so a sandbox channel goes through the same claims, preflight, outcomes,
//! events, snapshots and reports as a real one. Its simulated audience also comments, and the
//! brand's answers are kept like its posts: the inbox works on it end to end.

mod inbox;
mod metrics;
mod publish;

use std::sync::Arc;

use jiff::SignedDuration;

use super::{Account, PublishError};
use crate::clock::Clock;
use crate::domain::{sandbox, sandbox_audience};
use crate::store::{Store, StoreError};

/// The sandbox's connector: the store it keeps posts in and the clock its audience grows by.
pub struct SandboxConnector {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl SandboxConnector {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// How long the channel's account has existed.
    fn account_age(&self, account: &Account<'_>) -> SignedDuration {
        self.clock.now().duration_since(account.channel.created_at)
    }

    fn followers_now(&self, account: &Account<'_>) -> u64 {
        sandbox_audience::followers(&seed(account), self.account_age(account))
    }
}

/// The seed of the account's simulated audience.
fn seed(account: &Account<'_>) -> String {
    sandbox::seed_of(&account.channel.settings, &account.channel.id)
}

/// The store failed under the sandbox: like a network that did not answer, safe to retry.
fn unavailable(e: StoreError) -> PublishError {
    PublishError::Transient(format!("sandbox: the store did not answer: {e}"))
}
