//! Subscriptions to the networks' webhooks follow connections. When a channel connects, the API
//! leaves a wish (`store::hooks::ChannelSubscription`, on the due index, in the same write as
//! the credentials); the connection worker, which can open credentials, asks the network to push
//! (`networks::Subscribe`) and writes the lookup items that let the hook function find the
//! channel. When it disconnects, the API drops the lookups at once (nothing more is taken in)
//! and the worker undoes the subscription at the network before it revokes the tokens, unless
//! another brand's channel still uses the same account. A subscription that fails leaves the
//! channel polled, as every channel is: the failure is kept on the subscription and logged.
//!
//! A Telegram channel uses either its webhook or `getUpdates`, never both (Telegram answers
//! `getUpdates` 409 while a webhook is set): while its webhook is set, the channel's setting
//! `inbox_updates` is `webhook` and its reader asks for no updates
//! (`networks::telegram::subscribe::WEBHOOK_SETTING`).

use std::sync::Arc;

use jiff::SignedDuration;
use serde_json::Value;

use super::store_credentials::StoreCredentials;
use super::{Ports, ServiceError};
use crate::domain::{BrandId, Channel, Network};
use crate::networks::telegram::subscribe::{WEBHOOK_SET, WEBHOOK_SETTING};
use crate::networks::{Account, Callback, PublishError};
use crate::services::hooks::HookSettings;
use crate::store::hooks::{
    AccountChannel, ChannelSubscription, SubscriptionState, TelegramHook, secret_hash,
};
use crate::store::{Store, StoreError, Write};

/// How many subscriptions one tick makes.
const PER_TICK: usize = 50;
/// How many times a subscription is tried before the channel is left to its poll.
const MAX_ATTEMPTS: u32 = 3;
const RETRY: SignedDuration = SignedDuration::from_mins(10);

/// What a tick did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SubscriptionReport {
    pub subscribed: usize,
    pub failed: usize,
    pub retried: usize,
}

#[derive(Clone)]
pub struct Subscriptions {
    ports: Ports,
    settings: Arc<HookSettings>,
}

/// A random id or secret: 32 bytes, hex (Telegram's `secret_token` allows `A-Z a-z 0-9 _ -`,
/// 1-256 characters).
fn random_token() -> String {
    rand::random::<[u8; 32]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The wish a newly connected channel leaves, when its network pushes here; `None` otherwise.
pub async fn wanted_write(
    ports: &Ports,
    brand: &BrandId,
    channel: &Channel,
) -> Result<Option<Write>, StoreError> {
    if ports.connectors.subscriber(channel.network).is_none() {
        return Ok(None);
    }
    let before = ports.store.get_subscription(brand, &channel.id).await?;
    let wanted =
        ChannelSubscription::wanted(channel.id, channel.network, before, ports.clock.now());
    Store::subscription_write(brand, &wanted).map(Some)
}

/// The writes that stop taking in the channel's deliveries at once (its lookups), keeping the
/// subscription for the worker to undo at the network.
pub async fn lookups_done(
    store: &Store,
    brand: &BrandId,
    channel: &crate::domain::ChannelId,
) -> Result<Vec<Write>, StoreError> {
    Ok(match store.get_subscription(brand, channel).await? {
        Some(s) => Store::subscription_lookups_done(brand, &s),
        None => Vec::new(),
    })
}

impl Subscriptions {
    pub fn new(ports: Ports, settings: Arc<HookSettings>) -> Self {
        Self { ports, settings }
    }

    fn store(&self) -> &Store {
        &self.ports.store
    }

    /// Makes every subscription that is due.
    pub async fn make_due(&self) -> Result<SubscriptionReport, ServiceError> {
        let now = self.ports.clock.now();
        let mut report = SubscriptionReport::default();
        for (brand, wish) in self.store().due_subscriptions(now, PER_TICK).await? {
            if let Err(e) = self.make(&brand, wish, &mut report).await {
                tracing::warn!(brand = %brand, error = %e, "a webhook subscription could not be made; it is tried again later");
                report.retried += 1;
            }
        }
        Ok(report)
    }

    fn callback_url(&self, network: Network, hook_id: &str) -> Option<String> {
        match network {
            Network::Telegram => self.settings.telegram_url(hook_id),
            other => self.settings.hook_url(other),
        }
    }

    fn registration(&self, network: Network) -> Option<&str> {
        match network {
            Network::X => self.settings.x_webhook_id.as_deref(),
            Network::Linkedin => self.settings.linkedin_application_id.as_deref(),
            _ => None,
        }
    }

    async fn make(
        &self,
        brand: &BrandId,
        wish: ChannelSubscription,
        report: &mut SubscriptionReport,
    ) -> Result<(), ServiceError> {
        let store = self.store();
        let forget = || async {
            store
                .items()
                .write(vec![Store::subscription_done(brand, &wish.channel)])
                .await
        };
        let Some(mut channel) = store.get_channel(brand, &wish.channel).await? else {
            return Ok(forget().await?);
        };
        let subscriber = self.ports.connectors.subscriber(channel.network).cloned();
        let credentials = store.get_credentials(brand, &channel.id).await?;
        let (Some(subscriber), Some(credentials), Some(_)) =
            (subscriber, credentials, channel.credentials_updated_at)
        else {
            return Ok(forget().await?);
        };
        let sink = StoreCredentials {
            store: store.clone(),
            brand: brand.clone(),
            channel: channel.id,
            network: channel.network,
        };
        let now = self.ports.clock.now();
        let hook_id = random_token();
        let secret = (channel.network == Network::Telegram).then(random_token);
        let mut after = wish.clone();
        after.previous = None;
        after.attempts += 1;
        let outcome = match self.callback_url(channel.network, &hook_id) {
            None => Err(PublishError::Misconfigured(
                "this deployment has no public address (PUBLIC_BASE_URL) for the networks to push to"
                    .into(),
            )),
            Some(url) => {
                let callback = Callback {
                    url: &url,
                    secret: secret.as_deref(),
                    registration: self.registration(channel.network),
                };
                match Account::new(brand, &channel, &credentials, &sink) {
                    Ok(account) => {
                        if let Some(previous) = &wish.previous {
                            self.undo_at_network(brand, previous, &account, &callback)
                                .await;
                        }
                        subscriber.subscribe(&account, &callback).await
                    }
                    Err(e) => Err(e),
                }
            }
        };
        let mut writes = wish
            .previous
            .as_deref()
            .map(|p| Store::subscription_lookups_done(brand, p))
            .unwrap_or_default();
        let pair = AccountChannel {
            brand: brand.clone(),
            channel: channel.id,
        };
        match outcome {
            Ok(made) => {
                if !made.account.is_empty() {
                    writes.push(Store::account_channel_write(
                        channel.network,
                        &made.account,
                        &pair,
                    )?);
                }
                if let Some(secret) = &secret {
                    let hash = secret_hash(&hook_id);
                    writes.push(Store::telegram_hook_write(
                        &hash,
                        &TelegramHook {
                            brand: brand.clone(),
                            channel: channel.id,
                            secret_hash: secret_hash(secret),
                        },
                    )?);
                    after.hook = Some(hash);
                }
                after.state = SubscriptionState::Subscribed;
                after.made = Some(made);
                after.due = None;
                report.subscribed += 1;
            }
            Err(e) if e.retryable() && after.attempts < MAX_ATTEMPTS => {
                tracing::warn!(brand = %brand, channel = %channel.id, network = channel.network.as_str(), error = %e, "the network did not take the webhook subscription; tried again in 10 minutes, polled meanwhile");
                after.due = Some(now + RETRY);
                report.retried += 1;
            }
            Err(e) => {
                tracing::warn!(brand = %brand, channel = %channel.id, network = channel.network.as_str(), error = %e, "the network refused the webhook subscription: the channel is polled");
                after.state = SubscriptionState::Failed { why: e.to_string() };
                after.due = None;
                report.failed += 1;
            }
        }
        let webhook_set = matches!(after.state, SubscriptionState::Subscribed)
            && channel.network == Network::Telegram;
        writes.push(Store::subscription_update(brand, &after)?);
        if channel.network == Network::Telegram {
            let version = channel.version;
            set_webhook_flag(&mut channel, webhook_set);
            store
                .put_channel_with(brand, &channel, version, writes)
                .await?;
        } else {
            store.items().write(writes).await?;
        }
        Ok(())
    }

    /// Undoes `subscription` at the network, unless another channel still uses its account (an
    /// agency's and its client's); failures are logged, never kept: the tokens are about to be
    /// revoked or replaced, and a stale subscription's deliveries are dropped as unknown.
    async fn undo_at_network(
        &self,
        brand: &BrandId,
        subscription: &ChannelSubscription,
        account: &Account<'_>,
        callback: &Callback<'_>,
    ) {
        let Some(made) = &subscription.made else {
            return;
        };
        let Some(subscriber) = self.ports.connectors.subscriber(subscription.network) else {
            return;
        };
        if !made.account.is_empty() {
            match self
                .store()
                .account_channels(subscription.network, &made.account)
                .await
            {
                Ok(pairs)
                    if pairs
                        .iter()
                        .any(|p| p.brand != *brand || p.channel != subscription.channel) =>
                {
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "the account's other channels could not be read; its subscription is left");
                    return;
                }
            }
        }
        if let Err(e) = subscriber.unsubscribe(account, made, callback).await {
            tracing::warn!(brand = %brand, channel = %subscription.channel, network = subscription.network.as_str(), error = %e, "the webhook subscription could not be undone at the network; its deliveries are dropped as unknown");
        }
    }

    /// At a disconnect, before the tokens are revoked: undoes the channel's subscription at the
    /// network and returns the writes that forget it (saved with the channel, whose Telegram
    /// flag is cleared here).
    pub async fn undo(
        &self,
        brand: &BrandId,
        channel: &mut Channel,
        account: &Account<'_>,
    ) -> Result<Vec<Write>, ServiceError> {
        let Some(subscription) = self.store().get_subscription(brand, &channel.id).await? else {
            return Ok(Vec::new());
        };
        let url = self.callback_url(channel.network, "").unwrap_or_default();
        let callback = Callback {
            url: &url,
            secret: None,
            registration: self.registration(channel.network),
        };
        // The lookups go in the same write; read the others before they do.
        let mut each = Some(&subscription);
        while let Some(s) = each {
            self.undo_at_network(brand, s, account, &callback).await;
            each = s.previous.as_deref();
        }
        set_webhook_flag(channel, false);
        let mut writes = Store::subscription_lookups_done(brand, &subscription);
        writes.push(Store::subscription_done(brand, &channel.id));
        Ok(writes)
    }
}

/// Sets or clears the Telegram flag that keeps the channel's reader off `getUpdates`.
pub fn set_webhook_flag(channel: &mut Channel, set: bool) {
    if set {
        channel
            .settings
            .insert(WEBHOOK_SETTING.into(), Value::String(WEBHOOK_SET.into()));
    } else {
        channel.settings.remove(WEBHOOK_SETTING);
    }
}
