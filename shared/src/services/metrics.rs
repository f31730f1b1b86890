//! Metric snapshots: the schedule's tick reads the networks for every subject whose snapshot is
//! due and appends what they said; the API serves the time series.
//!
//! A tick reads the due trackers of every shard, groups them by account (one channel, or one
//! competitor), and reads the accounts concurrently but each account's subjects one after
//! another, so no account sees more than one request at a time from us. A rate limit postpones
//! the rest of that account's subjects to the network's reset time without calling it again.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::channels::mark_needs_reconnect;
use super::store_credentials::StoreCredentials;
use super::{Ports, ServiceError};
use crate::domain::metrics::{Snapshot, Subject, Tracker};
use crate::domain::{Actor, BrandId, ChannelId, CompetitorId, Permission, PostId, TargetState};
use crate::networks::public::PublicAccounts;
use crate::networks::{Account, PublishError};
use crate::store::StoreError;
use crate::store::keys::DUE_SHARDS;

/// Trackers read per shard per tick: a tick's work is bounded (the rest waits for the next tick).
pub const DEFAULT_BATCH: usize = 250;
/// Accounts read at the same time.
const CONCURRENT_ACCOUNTS: usize = 8;
/// The time series a request gets when it names no range: the last 30 days.
pub const DEFAULT_SERIES_DAYS: i64 = 30;
/// The longest time series one request may ask for.
pub const MAX_SERIES_DAYS: i64 = 400;

/// What one tick did, for its log line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MetricsTickReport {
    pub due: usize,
    pub snapshots: usize,
    pub failed: usize,
    /// Subjects no longer followed (post older than 90 days, channel deleted, given up).
    pub stopped: usize,
    /// Already recorded by a concurrent tick.
    pub skipped: usize,
}

impl MetricsTickReport {
    fn add(&mut self, other: Self) {
        self.due += other.due;
        self.snapshots += other.snapshots;
        self.failed += other.failed;
        self.stopped += other.stopped;
        self.skipped += other.skipped;
    }
}

/// The account a group of trackers reads.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum AccountKey {
    Channel(BrandId, ChannelId),
    Competitor(BrandId, CompetitorId),
}

#[derive(Clone)]
pub struct MetricsService {
    ports: Ports,
    /// Reads competitors' public accounts (ticks only; the API just reads the store).
    public: Option<Arc<dyn PublicAccounts>>,
    batch: usize,
}

impl MetricsService {
    pub fn new(ports: Ports) -> Self {
        Self {
            ports,
            public: None,
            batch: DEFAULT_BATCH,
        }
    }

    pub fn with_public(mut self, public: Arc<dyn PublicAccounts>) -> Self {
        self.public = Some(public);
        self
    }

    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// The schedule's tick: takes every due snapshot (up to the batch per shard).
    pub async fn tick(&self) -> Result<MetricsTickReport, ServiceError> {
        let now = self.ports.clock.now();
        let mut groups: BTreeMap<AccountKey, Vec<Tracker>> = BTreeMap::new();
        let mut report = MetricsTickReport::default();
        for shard in 0..DUE_SHARDS {
            for (brand, tracker) in self
                .ports
                .store
                .due_trackers(shard, now, self.batch)
                .await?
            {
                report.due += 1;
                let key = match tracker.subject {
                    Subject::Post { channel_id, .. } | Subject::Channel { channel_id } => {
                        AccountKey::Channel(brand, channel_id)
                    }
                    Subject::Competitor { competitor_id } => {
                        AccountKey::Competitor(brand, competitor_id)
                    }
                };
                groups.entry(key).or_default().push(tracker);
            }
        }
        let permits = Arc::new(Semaphore::new(CONCURRENT_ACCOUNTS));
        let mut reading = JoinSet::new();
        for (key, trackers) in groups {
            let (service, permits) = (self.clone(), permits.clone());
            reading.spawn(async move {
                let _permit = permits.acquire_owned().await;
                service.read_account(key, trackers).await
            });
        }
        let mut first_error = None;
        while let Some(done) = reading.join_next().await {
            match done {
                Ok(Ok(r)) => report.add(r),
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                // A reading that panicked is a bug: let it surface as one.
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => {}
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        if report.due > 0 {
            tracing::info!(
                due = report.due,
                snapshots = report.snapshots,
                failed = report.failed,
                stopped = report.stopped,
                skipped = report.skipped,
                "metrics tick"
            );
        }
        Ok(report)
    }

    async fn read_account(
        &self,
        key: AccountKey,
        trackers: Vec<Tracker>,
    ) -> Result<MetricsTickReport, ServiceError> {
        match key {
            AccountKey::Channel(brand, channel) => {
                self.read_channel(&brand, &channel, trackers).await
            }
            AccountKey::Competitor(brand, id) => {
                let mut report = MetricsTickReport::default();
                let store = &self.ports.store;
                for tracker in trackers {
                    let Some(competitor) = store.get_competitor(&brand, &id).await? else {
                        self.save(&brand, &tracker, None, None, &mut report).await?;
                        continue;
                    };
                    let now = self.ports.clock.now();
                    let profile = match &self.public {
                        Some(public) => public.profile(&competitor).await,
                        None => Err(PublishError::Misconfigured(
                            "competitors are not read here (no public API reader)".into(),
                        )),
                    };
                    match profile {
                        Ok(profile) => {
                            let reading = crate::domain::MetricsReading {
                                counters: profile.counters.clone(),
                                raw: profile.raw.clone(),
                            };
                            let (snapshot, next) = tracker.record(now, reading, Some(profile));
                            self.save(
                                &brand,
                                &tracker,
                                Some(&snapshot),
                                next.as_ref(),
                                &mut report,
                            )
                            .await?;
                        }
                        Err(e) => self.failed(&brand, &tracker, now, &e, &mut report).await?,
                    }
                }
                Ok(report)
            }
        }
    }

    async fn read_channel(
        &self,
        brand: &BrandId,
        channel_id: &ChannelId,
        trackers: Vec<Tracker>,
    ) -> Result<MetricsTickReport, ServiceError> {
        let mut report = MetricsTickReport::default();
        let store = &self.ports.store;
        let Some(channel) = store.get_channel(brand, channel_id).await? else {
            for tracker in &trackers {
                self.save(brand, tracker, None, None, &mut report).await?;
            }
            return Ok(report);
        };
        let connector = self
            .ports
            .connectors
            .metrics_reader(channel.network)
            .cloned();
        let credentials = store.get_credentials(brand, channel_id).await?;
        let sink = StoreCredentials {
            store: store.clone(),
            brand: brand.clone(),
            channel: *channel_id,
            network: channel.network,
        };
        // Once the account refuses us (rate limit, credentials), the rest wait without calling.
        let mut refusal: Option<PublishError> = None;
        // Nothing is sent to a server we do not connect to, nor with credentials given for
        // another server.
        if let Some(credentials) = &credentials
            && let Err((reason, why)) = channel.check_usable(credentials, self.ports.outbound)
        {
            mark_needs_reconnect(&self.ports, brand, channel_id, reason, &why).await?;
            refusal = Some(PublishError::EndpointChanged(why));
        }
        for tracker in trackers {
            let now = self.ports.clock.now();
            let (Ok(connector), Some(credentials)) = (&connector, &credentials) else {
                let why = if let Err(unsupported) = &connector {
                    unsupported.0.clone()
                } else {
                    format!(
                        "the channel \"{}\" has no credentials: connect it to read its metrics",
                        channel.name
                    )
                };
                self.failed(
                    brand,
                    &tracker,
                    now,
                    &PublishError::Misconfigured(why),
                    &mut report,
                )
                .await?;
                continue;
            };
            if let Some(e) = &refusal {
                self.failed(brand, &tracker, now, e, &mut report).await?;
                continue;
            }
            let account = match Account::new(brand, &channel, credentials, &sink) {
                Ok(account) => account,
                Err(e) => {
                    self.failed(brand, &tracker, now, &e, &mut report).await?;
                    refusal = Some(e);
                    continue;
                }
            };
            let reading = match (&tracker.subject, &tracker.remote_id) {
                (Subject::Post { .. }, Some(remote_id)) => {
                    connector.post_metrics(&account, remote_id).await
                }
                (Subject::Post { .. }, None) => Err(PublishError::Misconfigured(
                    "the post has no id on the network".into(),
                )),
                _ => connector.account_metrics(&account).await,
            };
            match reading {
                Ok(reading) => {
                    let (snapshot, next) = tracker.record(now, reading, None);
                    self.save(brand, &tracker, Some(&snapshot), next.as_ref(), &mut report)
                        .await?;
                }
                Err(e) => {
                    if matches!(
                        e,
                        PublishError::RateLimited { .. } | PublishError::AuthExpired(_)
                    ) {
                        refusal = Some(e.clone());
                    }
                    self.failed(brand, &tracker, now, &e, &mut report).await?;
                }
            }
        }
        Ok(report)
    }

    async fn failed(
        &self,
        brand: &BrandId,
        tracker: &Tracker,
        now: Timestamp,
        error: &PublishError,
        report: &mut MetricsTickReport,
    ) -> Result<(), ServiceError> {
        let retry_at = match error {
            PublishError::RateLimited { retry_at, .. } => *retry_at,
            _ => None,
        };
        tracing::warn!(
            brand = %brand,
            subject = %tracker.subject.key(),
            error = %error,
            "metrics could not be read"
        );
        report.failed += 1;
        let next = tracker.failed(now, error.to_string(), retry_at);
        self.save(brand, tracker, None, next.as_ref(), report).await
    }

    async fn save(
        &self,
        brand: &BrandId,
        tracker: &Tracker,
        snapshot: Option<&Snapshot>,
        next: Option<&Tracker>,
        report: &mut MetricsTickReport,
    ) -> Result<(), ServiceError> {
        match self
            .ports
            .store
            .record_snapshot(brand, tracker, snapshot, next)
            .await
        {
            Ok(()) => {
                if snapshot.is_some() {
                    report.snapshots += 1;
                }
                if next.is_none() {
                    report.stopped += 1;
                }
                Ok(())
            }
            Err(StoreError::Conflict { .. }) => {
                report.skipped += 1;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The snapshots of one post (on each of its published channels, or only `channel`), or of
    /// one channel's account, taken in `[from, to]`.
    pub async fn series(
        &self,
        actor: &Actor,
        of: SeriesOf,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<(Timestamp, Timestamp, Vec<Snapshot>), ServiceError> {
        actor.require(Permission::Read)?;
        let to = to.unwrap_or_else(|| self.ports.clock.now());
        let from = from.unwrap_or_else(|| {
            to.checked_sub(jiff::SignedDuration::from_hours(DEFAULT_SERIES_DAYS * 24))
                .unwrap_or(to)
        });
        if to < from {
            return Err(ServiceError::BadRequest(
                "`to` must not be before `from`".into(),
            ));
        }
        if to.duration_since(from).as_hours() > MAX_SERIES_DAYS * 24 {
            return Err(ServiceError::BadRequest(format!(
                "a time series covers at most {MAX_SERIES_DAYS} days: narrow `from`..`to`"
            )));
        }
        let store = &self.ports.store;
        let brand = &actor.brand;
        match of {
            SeriesOf::Channel(channel) => {
                if store.get_channel(brand, &channel).await?.is_none() {
                    return Err(ServiceError::NotFound("channel"));
                }
                Ok((
                    from,
                    to,
                    store.account_snapshots(brand, &channel, from, to).await?,
                ))
            }
            SeriesOf::Post(post_id, only) => {
                let post = store
                    .get_post(brand, &post_id)
                    .await?
                    .ok_or(ServiceError::NotFound("post"))?;
                let mut all = Vec::new();
                for target in &post.targets {
                    let channel = target.channel_id;
                    if only.is_some_and(|c| c != channel)
                        || !matches!(target.state, TargetState::Published { .. })
                    {
                        continue;
                    }
                    all.extend(
                        store
                            .post_snapshots(brand, &post_id, &channel, from, to)
                            .await?,
                    );
                }
                all.sort_by_key(|s| s.taken_at);
                Ok((from, to, all))
            }
        }
    }
}

/// Whose time series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesOf {
    /// A post, on all its channels or only on one.
    Post(PostId, Option<ChannelId>),
    /// A channel's account (followers).
    Channel(ChannelId),
}
