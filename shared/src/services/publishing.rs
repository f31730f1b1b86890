//! Publishing: the schedule tick finds due targets through the sparse due index, claims them
//! with a conditional write and fans out one job per target; a worker publishes one target per
//! job and records the outcome under its claim. Concurrent ticks, repeated deliveries and dead
//! workers all end with each target published once: only the attempt holding a target's claim
//! may record, an expired claim is taken over with a read-back first, and an unknown outcome is
//! read back on the network before anything is retried.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::task::JoinSet;

use super::channels::mark_needs_reconnect;
use super::preflight::Preflight;
use super::store_credentials::StoreCredentials;
use super::{Ports, ServiceError};
use crate::domain::metrics::Tracker;
use crate::domain::post::Failure;
use crate::domain::publishing::{
    ATTEMPT_TIME_LIMIT, Claim, Outcome, PublishPolicy, lost_lease_failure,
};
use crate::domain::{Brand, BrandId, ChannelId, Post, PostId, ReconnectReason, TargetState};
use crate::domain_events::DomainEvent;
use crate::fanout::{Dispatcher, PublishJob};
use crate::networks::{Account, MediaFiles, Outgoing, PublishContext, PublishError, ReadBack};
use crate::store::keys::DUE_SHARDS;
use crate::store::outbox::outbox_write;
use crate::store::{Store, StoreError, Write};

/// Due posts read per query of one shard.
const DUE_PAGE: usize = 100;
/// How often an outcome is re-applied when other targets of the same post were recorded
/// concurrently (each attempt re-reads the post, so this only bounds pathological contention).
const RECORD_RETRIES: usize = 20;

/// An attempt starts only with at least this much of its lease left: more than a publish can
/// take (the network client's timeouts and media polling), less than the 5-minute lease.
const MIN_LEASE_LEFT: jiff::SignedDuration = jiff::SignedDuration::from_secs(150);
// An attempt that starts is cancelled before its lease could run out.
const _: () = assert!(MIN_LEASE_LEFT.as_secs() > ATTEMPT_TIME_LIMIT.as_secs());

/// What one tick did, for its log line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    pub posts_examined: usize,
    pub jobs_dispatched: usize,
    pub missed: usize,
    pub errors: usize,
}

/// What one job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobReport {
    /// The outcome was recorded; the target is now in `state` (`published`, `failed`, ...), and
    /// `failure` is the failure's kind when it ended failed.
    Recorded {
        state: &'static str,
        failure: Option<String>,
    },
    /// The job no longer held its claim (a repeated delivery, or a claim taken over): nothing done.
    Skipped(&'static str),
}

/// What the network part of a job ([`PublishingService::attempt_target`]) left to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempted {
    /// The outcome to record under the job's claim.
    Outcome(Outcome),
    /// Nothing was attempted, for one of the reasons of [`JobReport::Skipped`].
    Skipped(&'static str),
}

#[derive(Clone)]
pub struct PublishingService {
    ports: Ports,
    preflight: Preflight,
    media: Arc<dyn MediaFiles>,
    dispatcher: Arc<dyn Dispatcher>,
    /// How long one attempt may talk to the network ([`ATTEMPT_TIME_LIMIT`]; tests shorten it).
    attempt_limit: std::time::Duration,
}

impl PublishingService {
    pub fn new(ports: Ports, media: Arc<dyn MediaFiles>, dispatcher: Arc<dyn Dispatcher>) -> Self {
        let preflight = Preflight::new(ports.store.clone(), ports.connectors.clone());
        Self {
            ports,
            preflight,
            media,
            dispatcher,
            attempt_limit: ATTEMPT_TIME_LIMIT.unsigned_abs(),
        }
    }

    /// The same service with another time limit per attempt (tests: seconds, not minutes).
    pub fn with_attempt_limit(mut self, limit: std::time::Duration) -> Self {
        self.attempt_limit = limit;
        self
    }

    fn store(&self) -> &Store {
        &self.ports.store
    }

    /// The schedule tick: claims every due target of every brand and dispatches one job each.
    pub async fn tick(&self) -> Result<TickReport, ServiceError> {
        let now = self.ports.clock.now();
        let mut report = TickReport::default();
        let mut brands: HashMap<BrandId, Option<Brand>> = HashMap::new();
        for shard in 0..DUE_SHARDS {
            // Claimed posts leave the "due now" range, so re-reading from the start makes progress;
            // a post that stays due (a persistent error) is examined once per tick.
            let mut seen: HashSet<PostId> = HashSet::new();
            loop {
                let due = self.store().due_posts(shard, now, DUE_PAGE).await?;
                let fresh: Vec<(BrandId, Post)> =
                    due.into_iter().filter(|(_, p)| seen.insert(p.id)).collect();
                if fresh.is_empty() {
                    break;
                }
                // The claims of different posts are independent: made together, the store
                // commits them in a few groups instead of one durable write after another, which
                // made the tick the bottleneck of a busy instant (the publishing benchmark).
                let mut claiming = JoinSet::new();
                for (i, (brand_id, post)) in fresh.into_iter().enumerate() {
                    report.posts_examined += 1;
                    if !brands.contains_key(&brand_id) {
                        let brand = self.store().get_brand(&brand_id).await?;
                        brands.insert(brand_id.clone(), brand);
                    }
                    let policy = brands[&brand_id]
                        .as_ref()
                        .map(Brand::policy)
                        .unwrap_or_default();
                    let service = self.clone();
                    claiming.spawn(async move {
                        let claimed = service.claim(&brand_id, post, &policy).await;
                        (i, brand_id, claimed)
                    });
                }
                let mut claimed = Vec::with_capacity(claiming.len());
                while let Some(joined) = claiming.join_next().await {
                    match joined {
                        Ok(done) => claimed.push(done),
                        Err(e) => {
                            report.errors += 1;
                            tracing::error!(error = %e, "claiming due targets stopped unexpectedly; the next tick looks again");
                        }
                    }
                }
                // Jobs go out in due order, whatever order the claims finished in.
                claimed.sort_unstable_by_key(|(i, _, _)| *i);
                let mut jobs = Vec::new();
                for (_, brand_id, result) in claimed {
                    match result {
                        Ok((claimed, missed)) => {
                            report.missed += missed;
                            jobs.extend(claimed);
                        }
                        Err(e) => {
                            report.errors += 1;
                            tracing::error!(brand = %brand_id, error = %e, "claiming due targets failed");
                        }
                    }
                }
                report.jobs_dispatched += jobs.len();
                self.dispatch(jobs).await;
            }
        }
        if report.posts_examined > 0 {
            tracing::info!(
                posts = report.posts_examined,
                jobs = report.jobs_dispatched,
                missed = report.missed,
                errors = report.errors,
                "publishing tick"
            );
        }
        Ok(report)
    }

    /// Claims and dispatches the due targets of one post now (publish-now does not wait for a tick).
    pub async fn claim_and_dispatch(
        &self,
        brand: &BrandId,
        post: Post,
    ) -> Result<usize, ServiceError> {
        let policy = self
            .store()
            .get_brand(brand)
            .await?
            .map(|b| b.policy())
            .unwrap_or_default();
        let (jobs, _) = self.claim(brand, post, &policy).await?;
        let count = jobs.len();
        self.dispatch(jobs).await;
        Ok(count)
    }

    async fn dispatch(&self, jobs: Vec<PublishJob>) {
        if jobs.is_empty() {
            return;
        }
        // If dispatching fails the claims simply expire and the next tick takes them over with a
        // read-back first: a delay, never a loss or a duplicate.
        if let Err(e) = self.dispatcher.dispatch(jobs).await {
            tracing::error!(error = %e, "dispatching publish jobs failed; their claims will expire and be retried");
        }
    }

    /// Claims the due targets of `post` with a conditional write. Returns the jobs and how many
    /// targets were marked missed.
    async fn claim(
        &self,
        brand: &BrandId,
        mut post: Post,
        policy: &PublishPolicy,
    ) -> Result<(Vec<PublishJob>, usize), ServiceError> {
        for _ in 0..RECORD_RETRIES {
            let now = self.ports.clock.now();
            let was_settled = post.is_settled();
            let before = post.clone();
            let claims = post.claim_due(now, policy, || ulid::Ulid::new().to_string());
            if post == before {
                return Ok((Vec::new(), 0));
            }
            let missed = count_missed(&post) - count_missed(&before);
            let also = settled_event(brand, was_settled, &post, now)?;
            match self
                .store()
                .put_post_with(brand, &post, post.version, also)
                .await
            {
                Ok(saved) => {
                    let jobs = self.jobs(brand, &saved, claims).await?;
                    return Ok((jobs, missed));
                }
                // Another tick or a worker changed the post: look again at what is due now.
                Err(StoreError::Conflict { .. }) => {
                    match self.store().get_post(brand, &post.id).await? {
                        Some(fresh) => post = fresh,
                        None => return Ok((Vec::new(), 0)),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Stale("post"))
    }

    async fn jobs(
        &self,
        brand: &BrandId,
        post: &Post,
        claims: Vec<Claim>,
    ) -> Result<Vec<PublishJob>, ServiceError> {
        let mut jobs = Vec::with_capacity(claims.len());
        for claim in claims {
            // The network only steers the local queue's caps; a deleted channel fails in the worker.
            let network = match self.store().get_channel(brand, &claim.channel_id).await? {
                Some(channel) => channel.network,
                None => crate::domain::Network::Mastodon,
            };
            jobs.push(PublishJob {
                brand: brand.clone(),
                post_id: post.id,
                channel_id: claim.channel_id,
                network,
                attempt_id: claim.attempt_id,
            });
        }
        Ok(jobs)
    }

    /// Publishes one target under the job's claim, and records what happened.
    pub async fn publish_target(&self, job: &PublishJob) -> Result<JobReport, ServiceError> {
        let attempted = self.attempt_target(job).await?;
        self.record_attempt(job, attempted).await
    }

    /// The part of a job that talks to the network: checks the claim, then reads back or
    /// publishes; [`Self::record_attempt`] records the result. The local queue holds a job's
    /// network and account slots for this part only, so no slot sits idle while the outcome
    /// waits for its durable store write.
    pub async fn attempt_target(&self, job: &PublishJob) -> Result<Attempted, ServiceError> {
        let Some(post) = self.store().get_post(&job.brand, &job.post_id).await? else {
            return Ok(Attempted::Skipped("the post was deleted"));
        };
        let Some(target) = post.targets.iter().find(|t| t.channel_id == job.channel_id) else {
            return Ok(Attempted::Skipped(
                "the post no longer goes to this channel",
            ));
        };
        let (verify_first, lease_until, check_only) = match &target.state {
            TargetState::Publishing {
                attempt_id,
                verify_first,
                lease_until,
                lost_leases,
                check_only,
                ..
            } if *attempt_id == job.attempt_id => (
                *verify_first,
                *lease_until,
                check_only.then_some(*lost_leases),
            ),
            _ => {
                return Ok(Attempted::Skipped(
                    "this attempt no longer holds the target",
                ));
            }
        };
        if self
            .ports
            .clock
            .now()
            .checked_add(MIN_LEASE_LEFT)
            .is_ok_and(|t| t >= lease_until)
        {
            // Too late to act: the attempt might outlive its claim and race the attempt that takes
            // it over. The next tick takes the target over, with a read-back first.
            return Ok(Attempted::Skipped(
                "too little of the attempt's lease is left",
            ));
        }
        let first_attempt_at = target.first_attempt_at.unwrap_or(lease_until);
        let limit = self.attempt_limit;
        let attempt = self.attempt(job, &post, verify_first, check_only, first_attempt_at);
        let outcome = match tokio::time::timeout(limit, attempt).await {
            Ok(outcome) => outcome?,
            // Cancelled wherever it was: a request may have reached the network, so the next
            // attempt reads back first (and the unknown outcomes are counted, so this ends).
            Err(_) => Outcome::Unknown {
                message: format!(
                    "publishing did not finish within the publisher's {} s limit (a large video's upload and processing can take longer)",
                    limit.as_secs()
                ),
            },
        };
        Ok(Attempted::Outcome(outcome))
    }

    /// Records what [`Self::attempt_target`] left to record, under the job's claim.
    pub async fn record_attempt(
        &self,
        job: &PublishJob,
        attempted: Attempted,
    ) -> Result<JobReport, ServiceError> {
        match attempted {
            Attempted::Outcome(outcome) => self.record(job, outcome).await,
            Attempted::Skipped(why) => Ok(JobReport::Skipped(why)),
        }
    }

    /// Everything an attempt does before recording: checks, read-back, publish.
    async fn attempt(
        &self,
        job: &PublishJob,
        post: &Post,
        verify_first: bool,
        check_only: Option<u32>,
        first_attempt_at: jiff::Timestamp,
    ) -> Result<Outcome, ServiceError> {
        let store = self.store();
        let Some(channel) = store.get_channel(&job.brand, &job.channel_id).await? else {
            return Ok(failed(
                "channel_deleted",
                false,
                "the channel was deleted before the post went out",
            ));
        };
        let connector = match self.ports.connectors.publisher(channel.network) {
            Ok(connector) => connector,
            Err(unsupported) => return Ok(failed("misconfigured", false, &unsupported.0)),
        };
        let Some(credentials) = store.get_credentials(&job.brand, &job.channel_id).await? else {
            return Ok(failed(
                "auth_expired",
                false,
                &format!(
                    "the channel \"{}\" has no credentials: connect it first",
                    channel.name
                ),
            ));
        };
        // Before anything is sent: the server must be one we connect to, and the credentials
        // must have been given for it.
        if let Err((reason, why)) = channel.check_usable(&credentials, self.ports.outbound) {
            self.needs_reconnect(&job.brand, &job.channel_id, reason, &why)
                .await?;
            return Ok(failed(reason.as_str(), false, &why));
        }
        let content = self
            .preflight
            .content(&job.brand, post, &job.channel_id)
            .await?;
        let rules = self
            .preflight
            .rules(&job.brand, &channel, Some(&credentials))
            .await;
        let problems = Preflight::problems(&channel, &rules, &content);
        if !problems.is_empty() {
            return Ok(failed("invalid_content", false, &problems.join("; ")));
        }
        let sink = StoreCredentials {
            store: store.clone(),
            brand: job.brand.clone(),
            channel: job.channel_id,
            network: channel.network,
        };
        let account = match Account::new(&job.brand, &channel, &credentials, &sink) {
            Ok(account) => account,
            Err(e) => return Ok(failed(e.kind(), e.retryable(), &e.to_string())),
        };
        let ctx = PublishContext {
            account,
            media: self.media.as_ref(),
        };
        let outgoing = Outgoing {
            key: format!("{}-{}", job.post_id, job.channel_id),
            text: content.text,
            thread: content.thread,
            media: content.media,
            first_attempt_at,
        };
        if verify_first || check_only.is_some() {
            match connector.find_published(&ctx, &outgoing).await {
                Ok(ReadBack::Found(p)) => {
                    return Ok(Outcome::Published {
                        remote_id: p.remote_id,
                        url: p.url,
                        notes: p.notes,
                    });
                }
                Ok(ReadBack::NotFound) => {
                    if let Some(lost) = check_only {
                        return Ok(Outcome::Failed {
                            failure: lost_lease_failure(lost, true),
                            retry_at: None,
                        });
                    }
                }
                Ok(ReadBack::CannotTell(why)) => {
                    return Ok(failed(
                        "unknown_outcome",
                        false,
                        &format!(
                            "an earlier attempt may have posted this, and it cannot be checked: {why}. It was not posted again, to avoid a duplicate"
                        ),
                    ));
                }
                Err(e) => {
                    return Ok(Outcome::Unknown {
                        message: format!(
                            "an earlier attempt may have posted this and the check failed: {e}"
                        ),
                    });
                }
            }
        }
        let result = connector.publish(&ctx, &outgoing).await;
        if let Err(PublishError::AuthExpired(reason)) = &result {
            self.needs_reconnect(
                &job.brand,
                &job.channel_id,
                ReconnectReason::AuthExpired,
                reason,
            )
            .await?;
        }
        Ok(match result {
            Ok(p) => Outcome::Published {
                remote_id: p.remote_id,
                url: p.url,
                notes: p.notes,
            },
            Err(PublishError::UnknownOutcome(message)) => Outcome::Unknown { message },
            Err(e) => {
                let retry_at = match &e {
                    PublishError::RateLimited { retry_at, .. } => *retry_at,
                    _ => None,
                };
                Outcome::Failed {
                    failure: Failure {
                        kind: e.kind().into(),
                        retryable: e.retryable(),
                        message: e.to_string(),
                    },
                    retry_at,
                }
            }
        })
    }

    /// Records the outcome under the job's claim, re-reading the post when other targets were
    /// recorded at the same time; emits the post's event when this made it settle.
    async fn record(&self, job: &PublishJob, outcome: Outcome) -> Result<JobReport, ServiceError> {
        for _ in 0..RECORD_RETRIES {
            let Some(mut post) = self.store().get_post(&job.brand, &job.post_id).await? else {
                return Ok(JobReport::Skipped("the post was deleted"));
            };
            let now = self.ports.clock.now();
            let was_settled = post.is_settled();
            if post
                .record(&job.channel_id, &job.attempt_id, outcome.clone(), now)
                .is_err()
            {
                return Ok(JobReport::Skipped(
                    "this attempt no longer holds the target",
                ));
            }
            let mut also = self.follow_if_published(job, &post, &outcome)?;
            also.extend(settled_event(&job.brand, was_settled, &post, now)?);
            match self
                .store()
                .put_post_with(&job.brand, &post, post.version, also)
                .await
            {
                Ok(saved) => {
                    if matches!(outcome, Outcome::Published { .. }) {
                        self.poll_inbox_soon(&job.brand, &job.channel_id).await;
                    }
                    let target = saved
                        .targets
                        .iter()
                        .find(|t| t.channel_id == job.channel_id);
                    let state = target.map_or("unknown", |t| state_name(&t.state));
                    let failure = target.and_then(|t| match &t.state {
                        TargetState::Failed { failure, .. } => Some(failure.kind.clone()),
                        _ => None,
                    });
                    return Ok(JobReport::Recorded { state, failure });
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Stale("post"))
    }

    /// When this outcome publishes the target, the write that starts following its metrics.
    fn follow_if_published(
        &self,
        job: &PublishJob,
        post: &Post,
        outcome: &Outcome,
    ) -> Result<Vec<Write>, ServiceError> {
        if !matches!(outcome, Outcome::Published { .. }) {
            return Ok(Vec::new());
        }
        let target = post.targets.iter().find(|t| t.channel_id == job.channel_id);
        let Some(TargetState::Published {
            remote_id,
            published_at,
            ..
        }) = target.map(|t| &t.state)
        else {
            return Ok(Vec::new());
        };
        let tracker = Tracker::for_post(
            job.post_id,
            job.channel_id,
            job.network,
            remote_id.clone(),
            *published_at,
        );
        Ok(vec![self.store().tracker_write(&job.brand, &tracker)?])
    }

    /// A channel that was quiet is busy once it publishes: its inbox streams, which a quiet
    /// channel's last poll put up to 15 minutes away, become due now, so the first answers to
    /// the post are read at the busy cadence. Best effort: the publication is recorded already,
    /// and a stream the worker moved meanwhile keeps its new time.
    async fn poll_inbox_soon(&self, brand: &BrandId, channel: &ChannelId) {
        let now = self.ports.clock.now();
        let streams = match self.store().channel_streams(brand, channel).await {
            Ok(streams) => streams,
            Err(e) => {
                tracing::warn!(brand = %brand, channel = %channel, error = %e, "the channel's inbox streams could not be read; they keep their next poll");
                return;
            }
        };
        for mut stream in streams.into_iter().filter(|s| s.next_poll > now) {
            let version = stream.version;
            stream.next_poll = now;
            match self.store().put_stream(brand, &stream, Some(version)).await {
                Ok(()) | Err(StoreError::Conflict { .. }) => {}
                Err(e) => {
                    tracing::warn!(brand = %brand, channel = %channel, error = %e, "an inbox stream could not be brought forward; it keeps its next poll");
                }
            }
        }
    }

    /// Marks the channel as needing a reconnect and tells the brand, once.
    async fn needs_reconnect(
        &self,
        brand: &BrandId,
        id: &ChannelId,
        reason: ReconnectReason,
        message: &str,
    ) -> Result<(), ServiceError> {
        mark_needs_reconnect(&self.ports, brand, id, reason, message).await?;
        Ok(())
    }
}

/// The post's event, for the same write as the change that settled it: every target reached an
/// end state in this change, so the event is written exactly once.
fn settled_event(
    brand: &BrandId,
    was_settled: bool,
    post: &Post,
    now: jiff::Timestamp,
) -> Result<Vec<Write>, ServiceError> {
    if was_settled || !post.is_settled() {
        return Ok(Vec::new());
    }
    Ok(vec![outbox_write(&DomainEvent::post_settled(
        brand, post, now,
    ))?])
}

fn failed(kind: &str, retryable: bool, message: &str) -> Outcome {
    Outcome::Failed {
        failure: Failure {
            kind: kind.into(),
            retryable,
            message: message.into(),
        },
        retry_at: None,
    }
}

fn count_missed(post: &Post) -> usize {
    post.targets
        .iter()
        .filter(|t| matches!(&t.state, TargetState::Failed { failure, .. } if failure.kind == crate::domain::post::MISSED))
        .count()
}

fn state_name(state: &TargetState) -> &'static str {
    match state {
        TargetState::Pending { .. } => "pending",
        TargetState::Publishing { .. } => "publishing",
        TargetState::Published { .. } => "published",
        TargetState::Failed { .. } => "failed",
        TargetState::Unknown { .. } => "unknown",
    }
}

/// The publishing service runs the jobs a queue hands it (the local runner's in-process queue).
#[async_trait::async_trait]
impl crate::fanout::JobRunner for PublishingService {
    type Attempt = Result<Attempted, ServiceError>;

    async fn attempt(&self, job: &PublishJob) -> Self::Attempt {
        self.attempt_target(job).await
    }

    async fn record(&self, job: &PublishJob, attempt: Self::Attempt) -> Result<(), String> {
        let report = match attempt {
            Ok(attempted) => self.record_attempt(job, attempted).await,
            Err(e) => Err(e),
        }
        .map_err(|e| e.to_string())?;
        tracing::debug!(post = %job.post_id, channel = %job.channel_id, ?report, "publish job done");
        Ok(())
    }
}
