//! The inbox worker's half of inbound webhooks: each delivery the hook function verified and
//! queued (`store::hooks`) is taken in for every (brand, channel) its account resolves to when
//! it runs, through the same `take_in` as a poll, so a comment the webhook and the poller both
//! bring is one record (network + external id, written on condition of absence). Items a
//! delivery names only by id are read here, with the account's token, which the hook function
//! cannot open.

use jiff::SignedDuration;

use super::ServiceError;
use super::inbox_worker::{InboxTickReport, InboxWorker};
use super::store_credentials::StoreCredentials;
use crate::domain::ChannelStatus;
use crate::domain::inbox::{Incoming, NativeReply};
use crate::networks::{Account, PublishError};
use crate::store::StoreError;
use crate::store::hooks::{AccountChannel, QUEUE_SHARDS, QueuedDelivery};

/// How many queued deliveries one tick takes per shard.
const DELIVERIES_PER_TICK: usize = 100;
/// How many times a delivery that could not be taken in is tried before it is dropped (the
/// channel's poll still reads what it said).
const MAX_DELIVERY_ATTEMPTS: u32 = 5;

impl InboxWorker {
    /// Takes in every queued webhook delivery that is due.
    pub async fn take_pushed(&self) -> Result<InboxTickReport, ServiceError> {
        let store = &self.ports().store;
        let now = self.ports().clock.now();
        let mut report = InboxTickReport::default();
        for shard in 0..QUEUE_SHARDS {
            for delivery in store
                .due_deliveries_in(shard, now, DELIVERIES_PER_TICK)
                .await?
            {
                match self.take_delivery(&delivery, &mut report).await {
                    Ok(()) => store.delivery_done(&delivery).await?,
                    Err(e) if delivery.attempts + 1 >= MAX_DELIVERY_ATTEMPTS => {
                        tracing::warn!(network = delivery.network.as_str(), error = %e, "a webhook delivery could not be taken in and is dropped; the channel's poll reads it");
                        store.delivery_done(&delivery).await?;
                    }
                    Err(e) => {
                        tracing::warn!(network = delivery.network.as_str(), error = %e, "a webhook delivery could not be taken in; it is tried again later");
                        report.failed_polls += 1;
                        let mut later = delivery.clone();
                        later.next_attempt_at =
                            now + SignedDuration::from_mins(2 * i64::from(delivery.attempts + 1));
                        match store.delivery_later(&later).await {
                            // Another worker took it meanwhile.
                            Err(StoreError::Conflict { .. }) => {}
                            other => other?,
                        }
                    }
                }
            }
        }
        Ok(report)
    }

    /// One delivery, for each channel its account is connected to.
    async fn take_delivery(
        &self,
        delivery: &QueuedDelivery,
        report: &mut InboxTickReport,
    ) -> Result<(), ServiceError> {
        let store = &self.ports().store;
        let now = self.ports().clock.now();
        let pairs = match &delivery.channel {
            Some(pair) => vec![pair.clone()],
            None => {
                store
                    .account_channels(delivery.network, &delivery.account)
                    .await?
            }
        };
        for AccountChannel { brand, channel } in pairs {
            let Some(channel) = store.get_channel(&brand, &channel).await? else {
                continue;
            };
            if channel.network != delivery.network {
                continue;
            }
            let recent = self.recent_posts(&brand, &channel, now).await?;
            let found: Vec<Incoming> = delivery.found.iter().cloned().map(Into::into).collect();
            let native: Vec<NativeReply> =
                delivery.native.iter().cloned().map(Into::into).collect();
            let taken = self
                .take_in(&brand, &channel, &recent, found, native)
                .await?;
            report.recorded += taken.recorded;
            report.native_responses += taken.native_responses;
            report.suppressed += taken.suppressed;
            if delivery.to_fetch.is_empty() {
                continue;
            }
            // Items named only by id are read with the channel's token, while it is usable.
            let credentials = store.get_credentials(&brand, &channel.id).await?;
            let (Some(credentials), ChannelStatus::Active) = (credentials, channel.status) else {
                continue;
            };
            let reader = self
                .ports()
                .connectors
                .inbox_reader(channel.network)
                .map_err(|e| ServiceError::BadRequest(e.0))?;
            let sink = StoreCredentials {
                store: store.clone(),
                brand: brand.clone(),
                channel: channel.id,
                network: channel.network,
            };
            let read = match Account::new(&brand, &channel, &credentials, &sink) {
                Ok(account) => reader.fetch(&account, &delivery.to_fetch).await,
                Err(e) => Err(e),
            };
            let read = match read {
                Ok(read) => read,
                // A refused token is the poll's to report (it marks the channel): nothing more
                // can be read for this delivery.
                Err(PublishError::AuthExpired(_)) => continue,
                Err(e) => return Err(ServiceError::BadRequest(e.to_string())),
            };
            let taken = self
                .take_in(&brand, &channel, &recent, read.found, read.native)
                .await?;
            report.recorded += taken.recorded;
            report.native_responses += taken.native_responses;
            report.suppressed += taken.suppressed;
        }
        Ok(())
    }
}
