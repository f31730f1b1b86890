//! The inbox worker: polls each channel's streams when they are due (busy channels often, quiet
//! ones less) and records what people address to the brand, once each; recognises the brand's
//! native replies as responses; and sends the replies people write in Palinsesto, exactly once
//! (a claim with a lease, the reply's own key at the network, a read-back before any retry).

use std::collections::HashMap;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::channels::mark_needs_reconnect;
use super::inbox::check_reply_rules;
use super::preflight::Preflight;
use super::store_credentials::StoreCredentials;
use super::{Ports, ServiceError};
use crate::domain::inbox::{
    BUSY_WINDOW, InboxStream, Incoming, Interaction, MAX_REPLY_ATTEMPTS, NativeReply, PollCadence,
    REPLY_LEASE, ReplyState, ResponseVia, StreamKind,
};
use crate::domain::inbox_rules::{self, InboxRule, RuleFacts};
use crate::domain::inbox_settings::InboxSettings;
use crate::domain::inbox_stats::{deadline, needs_answer};
use crate::domain::people::{Person, suppression_keys};
use crate::domain::post::TargetState;
use crate::domain::{
    BrandId, Channel, ChannelId, ChannelStatus, Credentials, InteractionId, PostId, ReconnectReason,
};
use crate::domain_events::DomainEvent;
use crate::networks::{Account, MediaFiles, Outgoing, PublishContext, PublishError, ReadBack};
use crate::store::inbox::SlaWatch;
use crate::store::outbox::outbox_write;
use crate::store::{Store, StoreError, Write};
use jiff::tz::TimeZone;

/// How many streams one tick polls per shard.
const STREAMS_PER_TICK: usize = 50;
/// How many replies one tick sends.
const REPLIES_PER_TICK: usize = 50;
/// How many response targets one tick checks.
const SLA_PER_TICK: usize = 200;
/// How many times a write that met a concurrent one is tried.
const WRITE_ATTEMPTS: usize = 5;

/// What a tick did, for its log line.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct InboxTickReport {
    pub polled: usize,
    pub recorded: usize,
    pub native_responses: usize,
    pub replies_sent: usize,
    pub replies_failed: usize,
    /// Moderation requests done on the network, and refused or failed for good.
    pub moderated: usize,
    pub moderation_failed: usize,
    pub failed_polls: usize,
    /// Items dropped because their author's data was erased.
    pub suppressed: usize,
    /// Interactions that passed the brand's response target unanswered.
    pub late: usize,
}

#[derive(Clone)]
pub struct InboxWorker {
    pub(super) ports: Ports,
    preflight: Preflight,
    media: Arc<dyn MediaFiles>,
    cadence: PollCadence,
}

/// An interaction, its channel and what acts as the channel's account.
pub(super) struct OnChannel {
    pub interaction: Interaction,
    pub channel: Channel,
    pub credentials: Credentials,
    pub sink: StoreCredentials,
}

/// The brand's recent posts on a channel: their network ids, and the post each is.
pub struct RecentPosts {
    by_remote: HashMap<String, PostId>,
}

impl InboxWorker {
    pub fn new(ports: Ports, media: Arc<dyn MediaFiles>) -> Self {
        Self {
            preflight: Preflight::new(ports.store.clone(), ports.connectors.clone()),
            ports,
            media,
            cadence: PollCadence::DEPLOYED,
        }
    }

    /// The same worker polling at `cadence` (the local runner's `--inbox-every`).
    pub fn with_cadence(mut self, cadence: PollCadence) -> Self {
        self.cadence = cadence;
        self
    }

    pub(super) fn store(&self) -> &Store {
        &self.ports.store
    }

    /// The worker's ports, for its other halves (`services::inbox_push`).
    pub(crate) fn ports(&self) -> &Ports {
        &self.ports
    }

    /// The brand's inbox settings and zone (the defaults before it has a profile).
    async fn settings(&self, brand: &BrandId) -> Result<(InboxSettings, TimeZone), ServiceError> {
        Ok(match self.store().get_brand(brand).await? {
            Some(b) => (b.inbox.clone(), b.time_zone.zone()),
            None => (InboxSettings::default(), TimeZone::UTC),
        })
    }

    /// How long the brand keeps interactions and replies.
    pub(super) async fn retention(&self, brand: &BrandId) -> Result<SignedDuration, ServiceError> {
        Ok(self.settings(brand).await?.0.retention())
    }

    /// Polls the streams that are due, then sends the replies that are due.
    pub async fn tick(&self) -> Result<InboxTickReport, ServiceError> {
        let mut report = self.poll().await?;
        let pushed = self.take_pushed().await?;
        report.recorded += pushed.recorded;
        report.suppressed += pushed.suppressed;
        report.late = self.check_response_targets().await?;
        let sent = self.send_replies().await?;
        report.replies_sent = sent.replies_sent;
        report.replies_failed = sent.replies_failed;
        let moderated = self.moderate_due().await?;
        report.moderated = moderated.moderated;
        report.moderation_failed = moderated.moderation_failed;
        if report != InboxTickReport::default() {
            tracing::info!(?report, "inbox tick");
        }
        Ok(report)
    }

    /// Polls every stream due now.
    pub async fn poll(&self) -> Result<InboxTickReport, ServiceError> {
        let now = self.ports.clock.now();
        let mut report = InboxTickReport::default();
        for shard in 0..crate::store::inbox::STREAM_SHARDS {
            for (brand, stream) in self
                .store()
                .due_streams(shard, now, STREAMS_PER_TICK)
                .await?
            {
                report.polled += 1;
                if let Err(e) = self.poll_stream(&brand, stream, &mut report).await {
                    report.failed_polls += 1;
                    tracing::warn!(brand = %brand, error = %e, "an inbox stream could not be polled; it is tried again later");
                }
            }
        }
        Ok(report)
    }

    async fn poll_stream(
        &self,
        brand: &BrandId,
        mut stream: InboxStream,
        report: &mut InboxTickReport,
    ) -> Result<(), ServiceError> {
        let store = self.store();
        let now = self.ports.clock.now();
        let channel = match store.get_channel(brand, &stream.channel).await? {
            Some(c) => c,
            None => return Ok(store.delete_stream(brand, &stream).await?),
        };
        let Ok(reader) = self.ports.connectors.inbox_reader(channel.network) else {
            return Ok(store.delete_stream(brand, &stream).await?);
        };
        let version = stream.version;
        let credentials = store.get_credentials(brand, &channel.id).await?;
        let (Some(credentials), ChannelStatus::Active) = (credentials, channel.status) else {
            // Not connected, or waiting for a reconnect: looked at again later, quietly.
            stream.next_poll = now + SignedDuration::from_hours(1);
            return Ok(store.put_stream(brand, &stream, Some(version)).await?);
        };
        let recent = self.recent_posts(brand, &channel, now).await?;
        let recent_ids: Vec<String> = recent.by_remote.keys().cloned().collect();
        let sink = StoreCredentials {
            store: store.clone(),
            brand: brand.clone(),
            channel: channel.id,
            network: channel.network,
        };
        let read = match Account::new(brand, &channel, &credentials, &sink) {
            Ok(account) => {
                reader
                    .read(&account, stream.kind, stream.cursor.as_deref(), &recent_ids)
                    .await
            }
            Err(e) => Err(e),
        };
        let read = match read {
            Ok(read) => read,
            Err(e) => {
                if let PublishError::AuthExpired(why) | PublishError::EndpointChanged(why) = &e {
                    mark_needs_reconnect(
                        &self.ports,
                        brand,
                        &channel.id,
                        ReconnectReason::AuthExpired,
                        why,
                    )
                    .await?;
                }
                stream.failures += 1;
                let wait = match &e {
                    PublishError::RateLimited {
                        retry_at: Some(at), ..
                    } => Some(*at),
                    _ => None,
                };
                stream.next_poll =
                    wait.unwrap_or_else(|| self.cadence.next(now, false, stream.failures));
                store.put_stream(brand, &stream, Some(version)).await?;
                return Err(ServiceError::BadRequest(e.to_string()));
            }
        };
        let found = self
            .take_in(brand, &channel, &recent, read.found, read.native)
            .await?;
        report.recorded += found.recorded;
        report.native_responses += found.native_responses;
        report.suppressed += found.suppressed;
        if read.cursor.is_some() {
            stream.cursor = read.cursor;
        }
        stream.failures = 0;
        stream.last_polled = Some(now);
        stream.next_poll = self.cadence.next(now, !recent.by_remote.is_empty(), 0);
        match store.put_stream(brand, &stream, Some(version)).await {
            // The stream was reset meanwhile (the channel reconnected): its new state wins.
            Err(StoreError::Conflict { .. }) => Ok(()),
            other => Ok(other?),
        }
    }

    /// Records what a read or a webhook found on `channel`: each interaction once, the brand's
    /// native replies as responses. Used by polls and by pushed deliveries alike.
    pub async fn take_in(
        &self,
        brand: &BrandId,
        channel: &Channel,
        recent: &RecentPosts,
        found: Vec<Incoming>,
        native: Vec<NativeReply>,
    ) -> Result<InboxTickReport, ServiceError> {
        let mut report = InboxTickReport::default();
        let now = self.ports.clock.now();
        let (settings, zone) = self.settings(brand).await?;
        let retention = settings.retention();
        let store = self.store();
        // Read once for the whole batch: the brand's rules, the handles of its competitors,
        // and its suppression key (none before its first erasure: nothing to drop).
        let rules = store.inbox_rules(brand).await?.rules;
        let competitors: Vec<String> = if rules.is_empty() {
            Vec::new()
        } else {
            store
                .list_competitors(brand)
                .await?
                .into_iter()
                .map(|c| c.handle)
                .collect()
        };
        let suppression = store.suppression_key(brand, false).await?;
        for incoming in found {
            let answers = [incoming.parent.as_ref(), incoming.root.as_ref()]
                .into_iter()
                .flatten()
                .find_map(|id| {
                    recent
                        .by_remote
                        .get(id)
                        .map(|post| (id.clone(), Some(*post)))
                });
            if store
                .has_interaction(brand, channel.network, &incoming.external_id)
                .await?
            {
                continue;
            }
            if let Some(key) = &suppression
                && store
                    .suppressed(
                        brand,
                        &suppression_keys(key, channel.network, &incoming.author),
                    )
                    .await?
            {
                report.suppressed += 1;
                continue;
            }
            let interaction =
                Interaction::received(incoming, channel.id, channel.network, answers, now);
            // The response target is watched from the moment the interaction was made.
            let watch = needs_answer(&interaction)
                .then(|| {
                    deadline(
                        &settings.business_hours,
                        &zone,
                        interaction.created_at,
                        settings.response_target_minutes,
                    )
                })
                .flatten()
                .map(|deadline| SlaWatch {
                    interaction: interaction.id,
                    deadline,
                });
            let watch = watch
                .map(|w| Store::sla_watch_write(brand, &w))
                .transpose()?;
            if self
                .record(brand, interaction, retention, watch, &rules, &competitors)
                .await?
            {
                report.recorded += 1;
            }
        }
        for native in native {
            if self
                .respond(
                    brand,
                    channel,
                    &native.parent,
                    (native.created_at, ResponseVia::Native),
                    retention,
                )
                .await?
            {
                report.native_responses += 1;
            }
        }
        Ok(report)
    }

    /// The brand's posts published on `channel` in the last [`BUSY_WINDOW`].
    pub async fn recent_posts(
        &self,
        brand: &BrandId,
        channel: &Channel,
        now: Timestamp,
    ) -> Result<RecentPosts, ServiceError> {
        let since = now - BUSY_WINDOW;
        // Posts planned up to a week before they went out are looked at.
        let (posts, _) = self
            .store()
            .posts_between(brand, since - SignedDuration::from_hours(7 * 24), now, 500)
            .await?;
        let mut by_remote = HashMap::new();
        for post in posts {
            for target in post.targets.iter().filter(|t| t.channel_id == channel.id) {
                if let TargetState::Published {
                    remote_id,
                    published_at,
                    ..
                } = &target.state
                    && *published_at >= since
                {
                    by_remote.insert(remote_id.clone(), post.id);
                }
            }
        }
        Ok(RecentPosts { by_remote })
    }

    /// Records an interaction once, with its author's person record (made or brought up to
    /// date) and what the brand's rules do to it: `false` when the brand already has it.
    async fn record(
        &self,
        brand: &BrandId,
        received: Interaction,
        retention: SignedDuration,
        watch: Option<Write>,
        rules: &[InboxRule],
        competitors: &[String],
    ) -> Result<bool, ServiceError> {
        let store = self.store();
        for _ in 0..WRITE_ATTEMPTS {
            let mut interaction = received.clone();
            let a = &interaction.author;
            let (person, before) = match store
                .find_person(brand, interaction.network, &a.id, &a.handle)
                .await?
            {
                Some(mut p) => {
                    let version = p.version;
                    p.saw(&interaction);
                    (p, Some(version))
                }
                None => (Person::first(&interaction), None),
            };
            interaction.person = Some(person.id);
            let events = inbox_rules::apply(
                rules,
                &mut interaction,
                RuleFacts {
                    author_tags: &person.tags,
                    competitor_handles: competitors,
                },
            );
            let at = interaction.received_at;
            let mut writes = vec![outbox_write(&DomainEvent::interaction_received(
                brand,
                &interaction,
                at,
            ))?];
            for rule in &events {
                writes.push(outbox_write(&DomainEvent::interaction_rule_matched(
                    brand,
                    &interaction,
                    rule,
                    at,
                ))?);
            }
            writes.extend(watch.iter().cloned());
            writes.extend(Store::person_writes(brand, before, &person)?);
            match store
                .record_interaction(brand, &interaction, retention, writes)
                .await
            {
                Ok(recorded) => return Ok(recorded.is_some()),
                // The channel's counters or the person moved meanwhile: read them again.
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict { index: 0 }.into())
    }

    /// Marks the interaction the brand answered (`parent`, a network id) as responded at `at`.
    /// Returns whether it was an interaction waiting for its first response.
    async fn respond(
        &self,
        brand: &BrandId,
        channel: &Channel,
        parent: &str,
        (at, via): (Timestamp, ResponseVia),
        retention: SignedDuration,
    ) -> Result<bool, ServiceError> {
        for _ in 0..WRITE_ATTEMPTS {
            let Some(before) = self
                .store()
                .find_interaction(brand, channel.network, parent)
                .await?
            else {
                return Ok(false);
            };
            let mut after = before.clone();
            let first = after.first_response_at.is_none();
            if !after.responded(at, via) {
                return Ok(false);
            }
            let also = if first {
                vec![outbox_write(&DomainEvent::interaction_replied(
                    brand,
                    &after,
                    self.ports.clock.now(),
                ))?]
            } else {
                Vec::new()
            };
            match self
                .store()
                .update_interaction(brand, &before, &after, retention, also)
                .await
            {
                Ok(_) => return Ok(first),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(false)
    }

    /// Tells the brand of every interaction still waiting for its first response at its
    /// deadline (`interaction.sla_breached`, once); watches of answered ones are dropped.
    pub async fn check_response_targets(&self) -> Result<usize, ServiceError> {
        let now = self.ports.clock.now();
        let mut late = 0;
        for (brand, watch) in self.store().due_sla_watches(now, SLA_PER_TICK).await? {
            let done = Store::sla_watch_done(&brand, &watch.interaction);
            let interaction = self
                .store()
                .get_interaction(&brand, &watch.interaction)
                .await?;
            let mut writes = vec![done];
            if let Some(i) = interaction
                && i.state.is_open()
                && i.first_response_at.is_none()
            {
                writes.push(outbox_write(&DomainEvent::interaction_sla_breached(
                    &brand,
                    &i,
                    watch.deadline,
                    now,
                ))?);
                late += 1;
            }
            self.store().items().write(writes).await?;
        }
        Ok(late)
    }

    /// For a worker that is the only one on its store (the local runner, whose embedded store
    /// one process opens at a time), at its start: a reply left `sending` was cut off by this
    /// runner's own end, so nobody holds its lease. Each becomes `unknown`, due now: the next
    /// send reads the network back before any new attempt, instead of waiting out the lease.
    /// Returns how many were found.
    pub async fn recover_after_restart(&self) -> Result<usize, ServiceError> {
        let now = self.ports.clock.now();
        let store = self.store();
        let mut recovered = 0;
        let horizon = now + REPLY_LEASE;
        for (brand, reply) in store.due_replies(horizon, usize::MAX).await? {
            if !matches!(reply.state, ReplyState::Sending { .. }) {
                continue;
            }
            let mut cut = reply.clone();
            cut.state = ReplyState::Unknown {
                message: "the runner stopped while sending this reply; it is checked on the \
                          network before any new attempt"
                    .into(),
            };
            cut.next_attempt_at = Some(now);
            let retention = self.retention(&brand).await?;
            match store
                .update_reply(&brand, &cut, retention, Vec::new())
                .await
            {
                Ok(_) => recovered += 1,
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if recovered > 0 {
            tracing::info!(
                replies = recovered,
                "replies cut off by the last stop are checked on their networks first"
            );
        }
        Ok(recovered)
    }

    /// Sends every reply due now.
    pub async fn send_replies(&self) -> Result<InboxTickReport, ServiceError> {
        let now = self.ports.clock.now();
        let mut report = InboxTickReport::default();
        for (brand, reply) in self.store().due_replies(now, REPLIES_PER_TICK).await? {
            match self.send_reply(&brand, reply).await {
                Ok(Some(true)) => report.replies_sent += 1,
                Ok(Some(false)) => report.replies_failed += 1,
                Ok(None) => {}
                Err(e) => {
                    report.replies_failed += 1;
                    tracing::warn!(brand = %brand, error = %e, "a reply could not be sent; it is tried again later");
                }
            }
        }
        Ok(report)
    }

    /// Claims and sends one reply. `Some(true)`: sent (or found sent); `Some(false)`: failed
    /// for good; `None`: left for later (claimed by another worker, or to be retried).
    async fn send_reply(
        &self,
        brand: &BrandId,
        reply: crate::domain::inbox::OutgoingReply,
    ) -> Result<Option<bool>, ServiceError> {
        let store = self.store();
        let now = self.ports.clock.now();
        // A reply left `sending` past its lease, or `unknown`, may have been made: look first.
        let verify_first = match &reply.state {
            ReplyState::Pending => false,
            ReplyState::Unknown { .. } => true,
            ReplyState::Sending { until } if *until <= now => true,
            _ => return Ok(None),
        };
        let mut claimed = reply.clone();
        claimed.state = ReplyState::Sending {
            until: now + REPLY_LEASE,
        };
        claimed.attempts += 1;
        claimed.claim = Some(ulid::Ulid::new().to_string());
        claimed.first_attempt_at.get_or_insert(now);
        claimed.next_attempt_at = Some(now + REPLY_LEASE);
        let retention = self.retention(brand).await?;
        let claimed = match store
            .update_reply(brand, &claimed, retention, Vec::new())
            .await
        {
            Ok(saved) => saved,
            Err(StoreError::Conflict { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let outcome = self.attempt(brand, &claimed, verify_first).await;
        self.settle(brand, claimed, outcome, retention).await
    }

    /// What acting on an interaction's channel needs, read from the store; a part that is gone
    /// is the plain failure of the action.
    pub(super) async fn on_channel(
        &self,
        brand: &BrandId,
        interaction: &InteractionId,
        channel: &ChannelId,
    ) -> Result<OnChannel, PublishError> {
        let store = self.store();
        let failed = |e: StoreError| PublishError::Transient(e.to_string());
        let interaction = store
            .get_interaction(brand, interaction)
            .await
            .map_err(failed)?
            .ok_or_else(|| PublishError::InvalidContent("the interaction is gone".into()))?;
        let channel = store
            .get_channel(brand, channel)
            .await
            .map_err(failed)?
            .ok_or_else(|| PublishError::Misconfigured("the channel is gone".into()))?;
        let credentials = store
            .get_credentials(brand, &channel.id)
            .await
            .map_err(failed)?
            .ok_or_else(|| {
                PublishError::AuthExpired(format!(
                    "the channel \"{}\" is not connected",
                    channel.name
                ))
            })?;
        let sink = StoreCredentials {
            store: store.clone(),
            brand: brand.clone(),
            channel: channel.id,
            network: channel.network,
        };
        Ok(OnChannel {
            interaction,
            channel,
            credentials,
            sink,
        })
    }

    /// One attempt at the network, after a read-back when `verify_first`.
    async fn attempt(
        &self,
        brand: &BrandId,
        reply: &crate::domain::inbox::OutgoingReply,
        verify_first: bool,
    ) -> Result<crate::networks::Published, PublishError> {
        let store = self.store();
        let failed = |e: StoreError| PublishError::Transient(e.to_string());
        let OnChannel {
            interaction,
            channel,
            credentials,
            sink,
        } = self
            .on_channel(brand, &reply.interaction, &reply.channel)
            .await?;
        let replier = self
            .ports
            .connectors
            .replier(channel.network)
            .map_err(|e| PublishError::Misconfigured(e.0))?;
        let mut media = Vec::new();
        for id in &reply.media {
            media.push(
                store
                    .get_asset(brand, id)
                    .await
                    .map_err(failed)?
                    .ok_or_else(|| {
                        PublishError::InvalidMedia(format!("the asset {id} is not in the library"))
                    })?,
            );
        }
        // The network's reply rules again: a window may have closed while the reply waited.
        match check_reply_rules(
            &self.ports,
            brand,
            &interaction,
            reply.private,
            Some(reply.id),
            self.ports.clock.now(),
        )
        .await
        {
            Ok(()) => {}
            Err(ServiceError::Domain(e)) => {
                return Err(PublishError::InvalidContent(e.to_string()));
            }
            Err(e) => return Err(PublishError::Transient(e.to_string())),
        }
        // The network's rules, as for a post: a reply it would refuse is not sent.
        let mut rules = self
            .preflight
            .rules(brand, &channel, Some(&credentials))
            .await;
        // A network that wants media on a post (Instagram) answers comments and messages in
        // words.
        rules.media_required = false;
        let problems = rules.check(&reply.text, &[], &media);
        if !problems.is_empty() {
            return Err(PublishError::InvalidContent(problems.join("; ")));
        }
        let account = Account::new(brand, &channel, &credentials, &sink)?;
        let ctx = PublishContext {
            account,
            media: self.media.as_ref(),
        };
        let outgoing = Outgoing {
            key: reply.key(),
            text: reply.text.clone(),
            thread: Vec::new(),
            media,
            first_attempt_at: reply.first_attempt_at.unwrap_or_else(Timestamp::now),
        };
        if verify_first {
            // A private reply leaves nothing on the thread to read back.
            let read = if reply.private {
                ReadBack::CannotTell(format!(
                    "{} private replies cannot be read back",
                    channel.network.display_name()
                ))
            } else {
                replier
                    .find_reply(&ctx, &interaction.target, &outgoing)
                    .await?
            };
            match read {
                ReadBack::Found(found) => return Ok(found),
                ReadBack::NotFound => {}
                // Sending again could answer twice: a person looks instead.
                ReadBack::CannotTell(why) => {
                    return Err(PublishError::InvalidContent(format!(
                        "the earlier attempt may have been sent and {why}: look on {} before sending it again",
                        channel.network.display_name()
                    )));
                }
            }
        }
        if reply.private {
            replier
                .reply_privately(&ctx, &interaction.target, &outgoing)
                .await
        } else {
            replier.reply(&ctx, &interaction.target, &outgoing).await
        }
    }

    /// Saves what an attempt ended in; a sent reply answers its interaction in the same write.
    async fn settle(
        &self,
        brand: &BrandId,
        claimed: crate::domain::inbox::OutgoingReply,
        outcome: Result<crate::networks::Published, PublishError>,
        retention: SignedDuration,
    ) -> Result<Option<bool>, ServiceError> {
        let store = self.store();
        let now = self.ports.clock.now();
        let mut done = claimed.clone();
        let result = match outcome {
            Ok(published) => {
                done.state = ReplyState::Sent {
                    remote_id: published.remote_id,
                    url: published.url,
                    sent_at: now,
                };
                done.next_attempt_at = None;
                Some(true)
            }
            Err(PublishError::UnknownOutcome(message)) if done.attempts < MAX_REPLY_ATTEMPTS => {
                done.state = ReplyState::Unknown { message };
                done.next_attempt_at = Some(now + SignedDuration::from_mins(1));
                None
            }
            Err(e) if e.retryable() && done.attempts < MAX_REPLY_ATTEMPTS => {
                let wait = match &e {
                    PublishError::RateLimited {
                        retry_at: Some(at), ..
                    } => *at,
                    _ => now + SignedDuration::from_mins(i64::from(done.attempts) * 2),
                };
                done.state = ReplyState::Pending;
                done.next_attempt_at = Some(wait.max(now));
                None
            }
            Err(e) => {
                if let PublishError::AuthExpired(why) = &e {
                    mark_needs_reconnect(
                        &self.ports,
                        brand,
                        &claimed.channel,
                        ReconnectReason::AuthExpired,
                        why,
                    )
                    .await?;
                }
                done.state = ReplyState::Failed {
                    kind: e.kind().to_owned(),
                    message: e.to_string(),
                };
                done.next_attempt_at = None;
                Some(false)
            }
        };
        if !matches!(done.state, ReplyState::Sent { .. }) {
            let also = match done.state {
                ReplyState::Failed { .. } => vec![Store::release_reply_guard(brand, &done)],
                _ => Vec::new(),
            };
            store.update_reply(brand, &done, retention, also).await?;
            return Ok(result);
        }
        // The reply and its interaction's first response, in one write.
        for _ in 0..WRITE_ATTEMPTS {
            let before = store.get_interaction(brand, &claimed.interaction).await?;
            let Some(before) = before else {
                store
                    .update_reply(brand, &done, retention, Vec::new())
                    .await?;
                return Ok(result);
            };
            let mut after = before.clone();
            let first = after.first_response_at.is_none();
            after.responded(now, ResponseVia::Palinsesto);
            let mut also: Vec<Write> = vec![Store::reply_write(brand, &done, retention)?];
            if first {
                also.push(outbox_write(&DomainEvent::interaction_replied(
                    brand, &after, now,
                ))?);
            }
            match store
                .update_interaction(brand, &before, &after, retention, also)
                .await
            {
                Ok(_) => return Ok(result),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict { index: 0 }.into())
    }
}

/// The streams of a channel on a network with an inbox, new (due now).
pub fn new_streams(channel: &Channel, kinds: &[StreamKind], now: Timestamp) -> Vec<InboxStream> {
    kinds
        .iter()
        .map(|kind| InboxStream {
            channel: channel.id,
            kind: *kind,
            cursor: None,
            next_poll: now,
            last_polled: None,
            failures: 0,
            version: 0,
        })
        .collect()
}
