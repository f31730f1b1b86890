//! Channels: the brand's accounts on each network, and their write-only credentials.

use serde_json::{Map, Value};

use crate::domain::audit::{AuditEntry, action};
use crate::domain::channel::ChannelFields;
use crate::domain::queue::QueueSlot;
use crate::domain::{
    Actor, BrandId, Channel, ChannelId, ChannelStatus, Credentials, Network, Permission,
    ReconnectReason, Validation,
};
use crate::domain_events::DomainEvent;
use crate::networks::telegram::subscribe::WEBHOOK_SETTING;
use crate::networks::{Account, CredentialsSink, PublishError};
use crate::store::StoreError;
use crate::store::audit::audit_write;
use crate::store::outbox::outbox_write;

use super::{Ports, ServiceError, check_version, with_retries};
use crate::store::MAX_CHANNELS_PER_BRAND;

#[derive(Debug, Default, Clone)]
pub struct NewChannel {
    pub network: String,
    pub name: String,
    pub handle: String,
    pub settings: Map<String, Value>,
    pub status: Option<String>,
    pub queue: Vec<QueueSlot>,
}

/// A partial change; `None` keeps the current value.
#[derive(Debug, Default, Clone)]
pub struct ChannelChanges {
    pub name: Option<String>,
    pub handle: Option<String>,
    pub settings: Option<Map<String, Value>>,
    pub status: Option<String>,
    pub queue: Option<Vec<QueueSlot>>,
}

#[derive(Clone)]
pub struct ChannelService {
    ports: Ports,
}

impl ChannelService {
    /// What Palinsesto does on each network this deployment serves (`GET /v1/networks`).
    pub fn networks(&self) -> Vec<crate::domain::coverage::Coverage> {
        self.ports.coverage()
    }

    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    pub async fn list(&self, actor: &Actor) -> Result<Vec<Channel>, ServiceError> {
        actor.require(Permission::Read)?;
        Ok(self.ports.store.list_channels(&actor.brand).await?)
    }

    pub async fn get(&self, actor: &Actor, id: &ChannelId) -> Result<Channel, ServiceError> {
        actor.require(Permission::Read)?;
        self.load(actor, id).await
    }

    pub async fn create(&self, actor: &Actor, new: NewChannel) -> Result<Channel, ServiceError> {
        actor.require(Permission::ManageChannels)?;
        let mut v = Validation::new();
        let network = v.check("network", Network::parse(&new.network));
        let status = match new.status.as_deref() {
            None => Some(ChannelStatus::Active),
            Some(raw) => v.check("status", parse_settable_status(raw)),
        };
        v.finish()?;
        let network = network.expect("checked");
        self.ports.require_network("network", network)?;
        let fields = ChannelFields::parse(
            network,
            &new.name,
            &new.handle,
            new.settings,
            status.expect("checked"),
            self.ports.outbound,
        )?
        .with_queue(slot_pairs(&new.queue))?;
        if self.ports.store.list_channels(&actor.brand).await?.len() >= MAX_CHANNELS_PER_BRAND {
            return Err(ServiceError::BadRequest(format!(
                "a brand can have at most {MAX_CHANNELS_PER_BRAND} channels"
            )));
        }
        let now = self.ports.clock.now();
        let channel = Channel::create(network, fields, now);
        let audit = audit(actor, action::CHANNEL_CREATED, &channel, now)?;
        Ok(self
            .ports
            .store
            .create_channel(&actor.brand, &channel, vec![audit])
            .await?)
    }

    pub async fn patch(
        &self,
        actor: &Actor,
        id: &ChannelId,
        changes: ChannelChanges,
        expected: Option<u64>,
    ) -> Result<Channel, ServiceError> {
        actor.require(Permission::ManageChannels)?;
        let status = changes
            .status
            .as_deref()
            .map(parse_settable_status)
            .transpose()
            .map_err(|m| crate::domain::DomainError::invalid("status", m))?;
        with_retries(expected, "channel", || async {
            let mut channel = self.load(actor, id).await?;
            check_version(expected, channel.version, "channel")?;
            let current = channel.fields();
            // Whether a Telegram channel's updates come by webhook is the worker's to say.
            let mut settings = changes.settings.clone().unwrap_or(current.settings.clone());
            match current.settings.get(WEBHOOK_SETTING) {
                Some(flag) => settings.insert(WEBHOOK_SETTING.into(), flag.clone()),
                None => settings.remove(WEBHOOK_SETTING),
            };
            let fields = ChannelFields::parse(
                channel.network,
                changes.name.as_deref().unwrap_or(&current.name),
                changes.handle.as_deref().unwrap_or(&current.handle),
                settings,
                status.unwrap_or(current.status),
                self.ports.outbound,
            )?
            .with_queue(slot_pairs(changes.queue.as_ref().unwrap_or(&current.queue)))?;
            let version = channel.version;
            let store = &self.ports.store;
            let now = self.ports.clock.now();
            let status_before = channel.status;
            if channel.update(fields, now) {
                // Credentials are bound to the server they were given for: moving the channel
                // to another server deletes them in the same write.
                let audit = audit(actor, action::CHANNEL_ENDPOINT_CHANGED, &channel, now)?;
                Ok(store
                    .put_channel_without_credentials(&actor.brand, &channel, version, vec![audit])
                    .await?)
            } else {
                // Enabling or disabling a channel decides whether it publishes: recorded.
                let also = if channel.status != status_before {
                    vec![audit(actor, action::CHANNEL_UPDATED, &channel, now)?]
                } else {
                    vec![]
                };
                Ok(store
                    .put_channel_with(&actor.brand, &channel, version, also)
                    .await?)
            }
        })
        .await
    }

    pub async fn delete(
        &self,
        actor: &Actor,
        id: &ChannelId,
        expected: Option<u64>,
    ) -> Result<(), ServiceError> {
        actor.require(Permission::ManageChannels)?;
        with_retries(expected, "channel", || async {
            let channel = self.load(actor, id).await?;
            check_version(expected, channel.version, "channel")?;
            let audit = audit(
                actor,
                action::CHANNEL_DELETED,
                &channel,
                self.ports.clock.now(),
            )?;
            // Deliveries for it are no longer taken in (the network's side stays: the
            // credentials that could undo it go with the channel).
            let mut also = vec![
                audit,
                crate::store::Store::subscription_done(&actor.brand, id),
            ];
            also.extend(
                super::subscriptions::lookups_done(&self.ports.store, &actor.brand, id).await?,
            );
            Ok(self
                .ports
                .store
                .delete_channel_with(&actor.brand, id, channel.version, also)
                .await?)
        })
        .await
    }

    /// Stores new credentials (write-only) and reconnects a channel that needed it.
    pub async fn put_credentials(
        &self,
        actor: &Actor,
        id: &ChannelId,
        raw: Map<String, Value>,
        expected: Option<u64>,
    ) -> Result<Channel, ServiceError> {
        actor.require(Permission::ManageChannels)?;
        let checked = self.checked(actor, id, &raw, expected).await?;
        with_retries(expected, "channel", || async {
            let mut channel = self.load(actor, id).await?;
            check_version(expected, channel.version, "channel")?;
            self.connectable(&channel)?;
            let credentials = Credentials::parse(channel.network, &raw)?
                .bind_to(&channel)?
                .with_saved(channel.network, checked.clone());
            let version = channel.version;
            let now = self.ports.clock.now();
            channel.credentials_stored(now);
            // Typed credentials may be another account's: what a connection found no longer holds.
            channel.account = None;
            // Which values were given, never the values.
            let audit = audit(actor, action::CHANNEL_CREDENTIALS_REPLACED, &channel, now)?;
            let mut also = vec![audit];
            also.extend(self.ports.inbox_stream_writes(&actor.brand, &channel)?);
            // New credentials may be another bot or account: polled until the connection
            // worker has subscribed them to the network's webhook again.
            super::subscriptions::set_webhook_flag(&mut channel, false);
            also.extend(
                super::subscriptions::wanted_write(&self.ports, &actor.brand, &channel).await?,
            );
            Ok(self
                .ports
                .store
                .put_credentials_with(&actor.brand, &channel, version, &credentials, also)
                .await?)
        })
        .await
    }

    /// Checks credentials with the network before they are stored, where it can tell at once
    /// (a Bluesky app password logs in; a Telegram bot exists and administers the chat); returns
    /// what the check learnt that is worth keeping with them (the Bluesky session).
    async fn checked(
        &self,
        actor: &Actor,
        id: &ChannelId,
        raw: &Map<String, Value>,
        expected: Option<u64>,
    ) -> Result<Vec<(String, crate::domain::Secret)>, ServiceError> {
        let channel = self.load(actor, id).await?;
        check_version(expected, channel.version, "channel")?;
        let Some(checker) = self.ports.connectors.checker(channel.network) else {
            return Ok(Vec::new());
        };
        self.connectable(&channel)?;
        let credentials = Credentials::parse(channel.network, raw)?.bind_to(&channel)?;
        let kept = Kept::default();
        let name = channel.network.display_name();
        let refused = |e: PublishError| -> ServiceError {
            if e.retryable() {
                crate::domain::DomainError::InvalidState(format!(
                    "{name} could not be reached to check the credentials ({e}); try again"
                ))
                .into()
            } else {
                crate::domain::DomainError::invalid(
                    "credentials",
                    format!("{name} did not accept them: {e}"),
                )
                .into()
            }
        };
        let account = Account::new(&actor.brand, &channel, &credentials, &kept).map_err(refused)?;
        checker.check(&account).await.map_err(refused)?;
        Ok(kept.0.into_inner().unwrap_or_else(|p| p.into_inner()))
    }

    /// Refuses to connect a channel whose server is one Palinsesto does not connect to.
    fn connectable(&self, channel: &Channel) -> Result<(), ServiceError> {
        match channel.endpoint_refusal(self.ports.outbound) {
            None => Ok(()),
            Some(why) => Err(crate::domain::DomainError::InvalidState(format!(
                "{why}; fix it with PATCH /v1/channels/{} before connecting the channel",
                channel.id
            ))
            .into()),
        }
    }

    async fn load(&self, actor: &Actor, id: &ChannelId) -> Result<Channel, ServiceError> {
        self.ports
            .store
            .get_channel(&actor.brand, id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))
    }
}

/// What a credentials check saved (a session), to be stored with the credentials.
#[derive(Default)]
struct Kept(std::sync::Mutex<Vec<(String, crate::domain::Secret)>>);

#[async_trait::async_trait]
impl CredentialsSink for Kept {
    async fn update(
        &self,
        changes: Vec<(String, crate::domain::Secret)>,
    ) -> Result<(), PublishError> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(changes);
        Ok(())
    }
}

/// Marks the channel as needing a reconnect for `reason`, unless it is not active (already
/// waiting, disabled, or gone), and tells the brand (`channel.needs_reconnect`, `message` in
/// plain words) in the same write. Returns the saved channel when this call changed it.
pub(crate) async fn mark_needs_reconnect(
    ports: &Ports,
    brand: &BrandId,
    id: &ChannelId,
    reason: ReconnectReason,
    message: &str,
) -> Result<Option<Channel>, ServiceError> {
    const ATTEMPTS: usize = 5;
    for _ in 0..ATTEMPTS {
        let Some(mut channel) = ports.store.get_channel(brand, id).await? else {
            return Ok(None);
        };
        if channel.status != ChannelStatus::Active {
            return Ok(None);
        }
        let version = channel.version;
        let now = ports.clock.now();
        channel.needs_reconnect(reason, now);
        // The brand hears of it in the same write, once: a channel already marked is left above.
        let event = DomainEvent::channel_needs_reconnect(brand, &channel, message, now);
        match ports
            .store
            .put_channel_with(brand, &channel, version, vec![outbox_write(&event)?])
            .await
        {
            Ok(saved) => return Ok(Some(saved)),
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
}

/// The audit entry of a change to `channel` (its network, status and server; never a secret).
fn audit(
    actor: &Actor,
    what: &str,
    channel: &Channel,
    at: jiff::Timestamp,
) -> Result<crate::store::Write, ServiceError> {
    let entry = AuditEntry::new(
        actor,
        what,
        format!("channel/{}", channel.id),
        at,
        serde_json::json!({
            "network": channel.network,
            "status": channel.status,
            "endpoint": channel.endpoint().ok().flatten().map(|e| e.as_str().to_owned()),
        }),
    );
    Ok(audit_write(&actor.brand, &entry)?)
}

fn slot_pairs(slots: &[QueueSlot]) -> Vec<(String, String)> {
    slots
        .iter()
        .map(|s| (s.day.clone(), s.time.clone()))
        .collect()
}

/// `needs_reconnect` is set by the publisher when a network refuses the credentials; people set
/// only `active` or `disabled` (storing new credentials is how a channel is reconnected).
fn parse_settable_status(raw: &str) -> Result<ChannelStatus, String> {
    match ChannelStatus::parse(raw)? {
        ChannelStatus::NeedsReconnect => {
            Err("needs_reconnect is set by the publisher; store new credentials to reconnect the channel".into())
        }
        status => Ok(status),
    }
}
