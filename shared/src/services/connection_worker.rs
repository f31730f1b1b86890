//! The connection worker: the one place, besides the connectors acting for publishing and
//! metrics, that opens a connection's tokens. It runs the tasks the API leaves on the due index
//! (`domain::connection::ConnectionWork`):
//!
//! - a disconnect: revoke the tokens at the network where it allows (with the app they were
//!   granted to: the channel's own, the deployment's, or Palinsesto's app on the Mastodon
//!   instance), then forget them, unless new credentials were stored since;
//! - a watch: renew a renewable access a week before it runs out (Instagram's and Threads'
//!   long-lived tokens), or, for one that cannot be renewed (LinkedIn without a refresh token,
//!   or its refresh token's end), tell the brand a week before (`channel.expiring`) and mark the
//!   channel once it has run out.

use std::sync::Arc;

use serde::Serialize;

use super::channels::mark_needs_reconnect;
use super::hooks::HookSettings;
use super::store_credentials::StoreCredentials;
use super::subscriptions::Subscriptions;
use super::{Ports, ServiceError};
use crate::domain::channel::ReconnectReason;
use crate::domain::connection::{ConnectionTask, ConnectionWork, MAX_REVOKE_ATTEMPTS, WORK_RETRY};
use crate::domain::{BrandId, Channel, Network};
use crate::domain_events::DomainEvent;
use crate::networks::connect::{AppCredentials, OAuthApps, Revocation, renewal_client};
use crate::networks::{Account, PublishError};
use crate::store::outbox::outbox_write;
use crate::store::{Store, StoreError};

/// How many tasks one tick takes on.
const TICK_LIMIT: usize = 100;

/// What a tick did, for its log line.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionTickReport {
    pub revoked: usize,
    /// Disconnects whose network offers no revocation: the tokens were forgotten.
    pub forgotten: usize,
    pub renewed: usize,
    pub warned: usize,
    pub expired: usize,
    /// Tasks put off to try again.
    pub retried: usize,
    /// Channels subscribed to their network's webhook.
    pub subscribed: usize,
}

#[derive(Clone)]
pub struct ConnectionWorker {
    ports: Ports,
    apps: OAuthApps,
    /// Webhook subscriptions made when channels connect and undone when they disconnect.
    subscriptions: Subscriptions,
}

impl ConnectionWorker {
    pub fn new(ports: Ports, apps: OAuthApps) -> Self {
        let subscriptions = Subscriptions::new(ports.clone(), Arc::new(HookSettings::default()));
        Self {
            ports,
            apps,
            subscriptions,
        }
    }

    /// The same worker subscribing channels to this deployment's webhooks (`settings`).
    pub fn with_hooks(mut self, settings: HookSettings) -> Self {
        self.subscriptions = Subscriptions::new(self.ports.clone(), Arc::new(settings));
        self
    }

    fn store(&self) -> &Store {
        &self.ports.store
    }

    /// Runs every task due now.
    pub async fn tick(&self) -> Result<ConnectionTickReport, ServiceError> {
        let now = self.ports.clock.now();
        let mut report = ConnectionTickReport::default();
        for (brand, work) in self.store().due_connection_work(now, TICK_LIMIT).await? {
            let outcome = match &work.task {
                ConnectionTask::Disconnect { .. } => {
                    self.disconnect(&brand, &work, &mut report).await
                }
                ConnectionTask::Watch { .. } => self.watch(&brand, &work, &mut report).await,
            };
            if let Err(e) = outcome {
                // One channel's trouble does not stop the others; the task stays due.
                tracing::warn!(brand = %brand, channel = %work.channel, error = %e, "a connection task failed; it will be tried again");
                report.retried += 1;
            }
        }
        let subscribed = self.subscriptions.make_due().await?;
        report.subscribed = subscribed.subscribed;
        report.retried += subscribed.retried;
        if report != ConnectionTickReport::default() {
            tracing::info!(?report, "connection tasks done");
        }
        Ok(report)
    }

    async fn retry_later(&self, brand: &BrandId, work: &ConnectionWork) -> Result<(), StoreError> {
        let mut later = work.clone();
        later.attempts += 1;
        later.due = self.ports.clock.now() + WORK_RETRY;
        self.store().put_connection_work(brand, &later).await
    }

    async fn disconnect(
        &self,
        brand: &BrandId,
        work: &ConnectionWork,
        report: &mut ConnectionTickReport,
    ) -> Result<(), ServiceError> {
        let store = self.store();
        let channel = match store.get_channel(brand, &work.channel).await? {
            // New credentials were stored since the disconnect: they are not these to revoke,
            // and the old ones were replaced (nothing is left to revoke).
            Some(c) if c.credentials_updated_at.is_none() => c,
            _ => return Ok(store.finish_connection_work(brand, work).await?),
        };
        let mut channel = channel;
        let mut forget = Vec::new();
        let credentials = store.get_credentials(brand, &work.channel).await?;
        if let Some(credentials) = credentials {
            let sink = StoreCredentials {
                store: store.clone(),
                brand: brand.clone(),
                channel: work.channel,
                network: channel.network,
            };
            // The webhook subscription is undone first, while the tokens still work.
            let unsubscribed = channel.clone();
            if let Ok(account) = Account::new(brand, &unsubscribed, &credentials, &sink) {
                forget = self
                    .subscriptions
                    .undo(brand, &mut channel, &account)
                    .await?;
            }
            let revoked = match Account::new(brand, &channel, &credentials, &sink) {
                Ok(account) => self.revoke(&channel, &account).await,
                Err(e) => Err(e),
            };
            match revoked {
                Ok(Revocation::Revoked) => report.revoked += 1,
                Ok(Revocation::NotOffered(why)) => {
                    tracing::info!(channel = %work.channel, network = channel.network.as_str(), why, "tokens forgotten without revocation");
                    report.forgotten += 1;
                }
                // A refused token is already of no use to anyone.
                Err(PublishError::AuthExpired(_)) => report.revoked += 1,
                Err(e) if work.attempts + 1 < MAX_REVOKE_ATTEMPTS => {
                    tracing::warn!(channel = %work.channel, error = %e, "revoking a disconnected channel's tokens failed; trying again later");
                    report.retried += 1;
                    return Ok(self.retry_later(brand, work).await?);
                }
                Err(e) => {
                    tracing::warn!(channel = %work.channel, error = %e, "revoking a disconnected channel's tokens kept failing; they are forgotten anyway");
                    report.forgotten += 1;
                }
            }
        }
        let done = Store::connection_work_done(brand, &work.channel, work.task.key());
        forget.push(done);
        match store
            .put_channel_without_credentials(brand, &channel, channel.version, forget)
            .await
        {
            // The channel changed meanwhile (reconnected, say): the next tick looks again.
            Err(StoreError::Conflict { .. }) => Ok(()),
            other => Ok(other.map(|_| ())?),
        }
    }

    /// Revokes with the app the tokens were granted to.
    async fn revoke(
        &self,
        channel: &Channel,
        account: &Account<'_>,
    ) -> Result<Revocation, PublishError> {
        let connector = match self.ports.connectors.connector(channel.network) {
            Ok(c) => c,
            // Typed credentials (Bluesky's app password, Telegram's bot token) have no OAuth
            // grant to revoke.
            Err(_) => {
                return Ok(Revocation::NotOffered(format!(
                    "{} credentials are not an OAuth grant: revoke them where they were made",
                    channel.network.display_name()
                )));
            }
        };
        let app = match self.app(channel, account).await? {
            Some(app) => app,
            None => {
                return Ok(Revocation::NotOffered(
                    "the app the tokens were granted to is not known here any more".into(),
                ));
            }
        };
        connector.revoke(&app, account).await
    }

    async fn app(
        &self,
        channel: &Channel,
        account: &Account<'_>,
    ) -> Result<Option<AppCredentials>, PublishError> {
        if channel.network == Network::Mastodon {
            let Some(instance) = channel.endpoint().ok().flatten() else {
                return Ok(None);
            };
            let app = self
                .store()
                .get_oauth_app(instance.as_str())
                .await
                .map_err(|e| PublishError::Transient(e.to_string()))?;
            return Ok(app.map(|app| AppCredentials {
                client_id: app.client_id,
                client_secret: crate::domain::Secret::new(app.client_secret),
            }));
        }
        Ok(renewal_client(
            account.credentials(),
            &self.apps,
            channel.network,
            channel.login(),
        )
        .and_then(|(client_id, secret)| {
            Some(AppCredentials {
                client_id,
                client_secret: secret?,
            })
        }))
    }

    async fn watch(
        &self,
        brand: &BrandId,
        work: &ConnectionWork,
        report: &mut ConnectionTickReport,
    ) -> Result<(), ServiceError> {
        let ConnectionTask::Watch {
            expires_at,
            renewable,
            warned,
        } = work.task
        else {
            return Ok(());
        };
        let store = self.store();
        let Some(channel) = store.get_channel(brand, &work.channel).await? else {
            return Ok(store.finish_connection_work(brand, work).await?);
        };
        // The channel was connected again since, to an access with another expiry, or none.
        let current = channel.account.as_ref().and_then(|a| a.expires_at);
        if current != Some(expires_at) {
            match (current, &channel.account) {
                (Some(at), Some(a)) => {
                    store
                        .put_connection_work(
                            brand,
                            &ConnectionWork::watch(work.channel, at, a.renewable),
                        )
                        .await?
                }
                _ => store.finish_connection_work(brand, work).await?,
            }
            return Ok(());
        }
        let now = self.ports.clock.now();
        if renewable {
            return self.renew(brand, work, channel, report).await;
        }
        if now >= expires_at {
            mark_needs_reconnect(
                &self.ports,
                brand,
                &work.channel,
                ReconnectReason::AuthExpired,
                "the connection's access ran out and the network cannot renew it: connect the channel again",
            )
            .await?;
            report.expired += 1;
            return Ok(store.finish_connection_work(brand, work).await?);
        }
        if warned {
            // Due again at the expiry itself.
            let mut at_expiry = work.clone();
            at_expiry.due = expires_at;
            return Ok(store.put_connection_work(brand, &at_expiry).await?);
        }
        // The brand hears of it once, in the same write that records it was told.
        let event = DomainEvent::channel_expiring(brand, &channel, expires_at, now);
        let told = ConnectionWork {
            task: ConnectionTask::Watch {
                expires_at,
                renewable,
                warned: true,
            },
            due: expires_at,
            ..work.clone()
        };
        store
            .put_channel_with(
                brand,
                &channel,
                channel.version,
                vec![
                    Store::connection_work_write(brand, &told)?,
                    outbox_write(&event)?,
                ],
            )
            .await?;
        report.warned += 1;
        Ok(())
    }

    async fn renew(
        &self,
        brand: &BrandId,
        work: &ConnectionWork,
        mut channel: Channel,
        report: &mut ConnectionTickReport,
    ) -> Result<(), ServiceError> {
        let store = self.store();
        let Some(credentials) = store.get_credentials(brand, &work.channel).await? else {
            return Ok(store.finish_connection_work(brand, work).await?);
        };
        let Ok(connector) = self.ports.connectors.connector(channel.network) else {
            return Ok(store.finish_connection_work(brand, work).await?);
        };
        let sink = StoreCredentials {
            store: store.clone(),
            brand: brand.clone(),
            channel: work.channel,
            network: channel.network,
        };
        let renewed = match Account::new(brand, &channel, &credentials, &sink) {
            Ok(account) => connector.renew(&account, self.ports.clock.now()).await,
            Err(e) => Err(e),
        };
        match renewed {
            Ok(Some(at)) => {
                if let Some(account) = channel.account.as_mut() {
                    account.expires_at = Some(at);
                }
                let next = ConnectionWork::watch(work.channel, at, true);
                // A renewal that did not move the expiry far enough is tried again later,
                // not at once in a loop.
                let next = if next.due <= self.ports.clock.now() {
                    ConnectionWork {
                        due: self.ports.clock.now() + WORK_RETRY,
                        ..next
                    }
                } else {
                    next
                };
                match store
                    .put_channel_with(
                        brand,
                        &channel,
                        channel.version,
                        vec![Store::connection_work_write(brand, &next)?],
                    )
                    .await
                {
                    Err(StoreError::Conflict { .. }) => {}
                    other => {
                        other?;
                    }
                }
                report.renewed += 1;
                Ok(())
            }
            Ok(None) => Ok(store.finish_connection_work(brand, work).await?),
            Err(PublishError::AuthExpired(why)) => {
                mark_needs_reconnect(
                    &self.ports,
                    brand,
                    &work.channel,
                    ReconnectReason::AuthExpired,
                    &why,
                )
                .await?;
                report.expired += 1;
                Ok(store.finish_connection_work(brand, work).await?)
            }
            Err(e) => {
                tracing::warn!(channel = %work.channel, error = %e, "renewing a channel's access failed; trying again later");
                report.retried += 1;
                Ok(self.retry_later(brand, work).await?)
            }
        }
    }
}
