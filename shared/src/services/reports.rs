//! Reports: built on demand for the API, and written every week or fortnight (Monday 08:00 in
//! the brand's zone) to the bucket as `reports/{brand}/{period end}/report.{json,csv,html}`, with
//! a `report.ready` event naming the API path that serves it (never a link that opens it).
//!
//! A report reads: the brand, its channels, KPIs and competitors (one query each), each channel's
//! snapshot partition over the window (one range query per channel), each competitor's (one per
//! competitor), and the posts published in both periods (one query of the by-time index). No scan.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use tokio::task::JoinSet;

use super::{Ports, ServiceError};
use crate::bucket::Bucket;
use crate::domain::report::{KpiOutcome, Period, Report, ReportSchedule};
use crate::domain::report_build::{ReportInput, build_report, excerpt, window};
use crate::domain::{
    Actor, Brand, BrandId, ChannelId, CompetitorId, PeriodKind, Permission, PostId,
};
use crate::domain_events::{DomainEvent, ReportReady};
use crate::report_render::{Format, render};
use crate::store::outbox::outbox_write;

/// Posts can go out this long after their planned time (retries, the late window): the posts
/// read for a period start this much earlier, then are filtered by when they really went out.
const PUBLISH_SLACK: SignedDuration = SignedDuration::from_hours(48);
/// At most this many interactions (both periods together) go into a report's community section.
pub const MAX_REPORT_INTERACTIONS: usize = 2 * super::inbox::MAX_STATS_INTERACTIONS;
/// Reports written per tick.
pub const SCHEDULES_PER_TICK: usize = 100;

/// Whose snapshot partition a read is.
enum Subject {
    Channel(ChannelId),
    Competitor(CompetitorId),
}

/// How much a report read, for the benchmark and the log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReadStats {
    pub queries: usize,
    pub snapshots: usize,
    /// Published targets of both periods kept (a few words each, never whole posts).
    pub posts: usize,
    /// Interactions received in both periods.
    pub interactions: usize,
}

/// What one reports tick did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReportsTickReport {
    pub written: usize,
    pub failed: usize,
}

/// Where a written report is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenReport {
    pub keys: Vec<String>,
}

#[derive(Clone)]
pub struct ReportService {
    ports: Ports,
    /// Where scheduled reports are written (the reports function, the local runner); the API
    /// only builds reports.
    output: Option<Arc<dyn Bucket>>,
    /// Due schedules taken per tick ([`SCHEDULES_PER_TICK`]; tests take fewer).
    per_tick: usize,
}

impl ReportService {
    pub fn new(ports: Ports) -> Self {
        Self {
            ports,
            output: None,
            per_tick: SCHEDULES_PER_TICK,
        }
    }

    /// The same service taking at most `per_tick` due schedules per tick.
    pub fn with_per_tick(mut self, per_tick: usize) -> Self {
        self.per_tick = per_tick.max(1);
        self
    }

    pub fn with_output(mut self, bucket: Arc<dyn Bucket>) -> Self {
        self.output = Some(bucket);
        self
    }

    /// The report of the `kind` period ending on the local day `ending` (default: the last
    /// complete period, ending yesterday).
    pub async fn report(
        &self,
        actor: &Actor,
        kind: PeriodKind,
        ending: Option<Date>,
    ) -> Result<Report, ServiceError> {
        actor.require(Permission::Read)?;
        let brand = self.ports.brand(actor).await?;
        let now = self.ports.clock.now();
        let today = brand.time_zone.local_date(now);
        let ending = match ending {
            Some(d) => d,
            None => today
                .yesterday()
                .map_err(|e| ServiceError::BadRequest(e.to_string()))?,
        };
        if ending > today {
            return Err(ServiceError::BadRequest(format!(
                "`ending` {ending} is in the future (today is {today} in {})",
                brand.time_zone.as_str()
            )));
        }
        let period = Period::ending(kind, ending, &brand.time_zone)
            .map_err(|e| ServiceError::BadRequest(format!("`ending`: {e}")))?;
        Ok(self.build(&brand, period).await?.0)
    }

    /// Builds the report of `period` and says how much it read.
    pub async fn build(
        &self,
        brand: &Brand,
        period: Period,
    ) -> Result<(Report, ReadStats), ServiceError> {
        let store = &self.ports.store;
        let zone = &brand.time_zone;
        let previous = period
            .previous(zone)
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        let (from, to) = window(&previous, &period);
        let mut stats = ReadStats::default();

        let channels = store.list_channels(&brand.id).await?;
        let kpis = store.list_kpis(&brand.id).await?;
        let competitors = store.list_competitors(&brand.id).await?;
        stats.queries += 3;

        // The partitions are independent: read at once, a DynamoDB report waits for the slowest
        // query instead of their sum.
        let mut reading = JoinSet::new();
        for channel in &channels {
            let (store, brand_id, id) = (store.clone(), brand.id.clone(), channel.id);
            reading.spawn(async move {
                let s = store.channel_snapshots(&brand_id, &id, from, to).await;
                (Subject::Channel(id), s)
            });
        }
        for competitor in &competitors {
            let (store, brand_id, id) = (store.clone(), brand.id.clone(), competitor.id);
            reading.spawn(async move {
                let s = store.competitor_snapshots(&brand_id, &id, from, to).await;
                (Subject::Competitor(id), s)
            });
        }
        let mut snapshots = HashMap::new();
        let mut competitor_snapshots = HashMap::new();
        while let Some(done) = reading.join_next().await {
            let (subject, read) = match done {
                Ok(done) => done,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => {
                    return Err(ServiceError::Store(crate::store::StoreError::Unavailable(
                        format!("a snapshot read was cancelled: {e}"),
                    )));
                }
            };
            let read = read?;
            stats.queries += 1;
            stats.snapshots += read.len();
            match subject {
                Subject::Channel(id) => snapshots.insert(id, read),
                Subject::Competitor(id) => competitor_snapshots.insert(id, read),
            };
        }
        let posts_from = previous
            .start
            .checked_sub(PUBLISH_SLACK)
            .unwrap_or(previous.start);
        let published = store
            .published_targets(
                &brand.id,
                (posts_from, period.end),
                (posts_from, period.end),
            )
            .await?;
        stats.queries += 1;
        stats.posts = published.len();
        let (interactions, interactions_partial) = store
            .interactions_created(
                &brand.id,
                (previous.start, period.end),
                MAX_REPORT_INTERACTIONS,
            )
            .await?;
        stats.queries += interactions
            .len()
            .div_ceil(crate::store::inbox::PERIOD_PAGE)
            .max(1);
        stats.interactions = interactions.len();

        let mut report = build_report(&ReportInput {
            brand,
            period,
            previous,
            generated_at: self.ports.clock.now(),
            channels: &channels,
            snapshots: &snapshots,
            published: &published,
            kpis: &kpis,
            competitors: &competitors,
            competitor_snapshots: &competitor_snapshots,
            interactions: &interactions,
            interactions_partial,
        });
        // Top posts published before the posts read: their text, one read each (at most five).
        let sandbox_top = report
            .sandbox
            .iter_mut()
            .flat_map(|s| s.top_posts.iter_mut());
        for top in report
            .top_posts
            .iter_mut()
            .chain(sandbox_top)
            .filter(|t| t.excerpt.is_empty())
        {
            if let Ok(id) = PostId::parse(&top.post_id)
                && let Some(post) = store.get_post(&brand.id, &id).await?
            {
                stats.queries += 1;
                top.excerpt = excerpt(&post.text);
            }
        }
        Ok((report, stats))
    }

    /// Writes the report in every format and returns the keys.
    pub async fn write(&self, report: &Report) -> Result<WrittenReport, ServiceError> {
        let bucket = self.output.as_ref().ok_or_else(|| {
            ServiceError::BadRequest("reports cannot be written: no bucket is configured".into())
        })?;
        let mut keys = Vec::new();
        for format in [Format::Json, Format::Csv, Format::Html] {
            let key = report_key(&report.brand_id, report.period.last_day, format);
            bucket
                .put(
                    &key,
                    bytes::Bytes::from(render(report, format)),
                    format.content_type(),
                )
                .await?;
            keys.push(key);
        }
        Ok(WrittenReport { keys })
    }

    /// The schedule's tick: writes every report that is due and moves each schedule on.
    pub async fn tick(&self) -> Result<ReportsTickReport, ServiceError> {
        let now = self.ports.clock.now();
        let mut result = ReportsTickReport::default();
        for (brand_id, schedule) in self
            .ports
            .store
            .due_report_schedules(now, self.per_tick)
            .await?
        {
            match self.run_schedule(&brand_id, &schedule, now).await {
                Ok(()) => result.written += 1,
                Err(e) => {
                    result.failed += 1;
                    let retry = schedule.failed(now, e.to_string());
                    tracing::error!(brand = %brand_id, error = %e, failures = retry.failures, retry_at = ?retry.retry_at, "the report could not be written; it is tried again later");
                    // Recorded with a back-off, so the brands behind it in the queue go first.
                    match self
                        .ports
                        .store
                        .put_report_schedule(&brand_id, &retry, Some(schedule.version), vec![])
                        .await
                    {
                        Ok(()) | Err(crate::store::StoreError::Conflict { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        if result.written + result.failed > 0 {
            tracing::info!(
                written = result.written,
                failed = result.failed,
                "reports tick"
            );
        }
        Ok(result)
    }

    async fn run_schedule(
        &self,
        brand_id: &BrandId,
        schedule: &ReportSchedule,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let Some(brand) = self.ports.store.get_brand(brand_id).await? else {
            return Ok(());
        };
        let zone = &brand.time_zone;
        let run = schedule.caught_up(zone, now);
        let period = run
            .due_period(zone)
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        let (report, stats) = self.build(&brand, period).await?;
        let written = self.write(&report).await?;
        let count =
            |report: &Report, outcome| report.kpis.iter().filter(|k| k.outcome == outcome).count();
        let sandbox = |outcome| report.sandbox.as_deref().map_or(0, |s| count(s, outcome));
        let ready = ReportReady {
            period: report.period.kind,
            first_day: report.period.first_day.to_string(),
            last_day: report.period.last_day.to_string(),
            kpis_met: count(&report, KpiOutcome::Met),
            kpis_missed: count(&report, KpiOutcome::Missed),
            sandbox_kpis_met: sandbox(KpiOutcome::Met),
            sandbox_kpis_missed: sandbox(KpiOutcome::Missed),
        };
        let event = DomainEvent::report_ready(brand_id, ready, now);
        // Written first, then the schedule moves on with the event in the same write: a crash in
        // between rewrites the same keys, and the event exists exactly when the schedule moved.
        match self
            .ports
            .store
            .put_report_schedule(
                brand_id,
                &schedule.advanced(zone, now),
                Some(schedule.version),
                vec![outbox_write(&event)?],
            )
            .await
        {
            Ok(()) => {}
            // Another tick wrote it too and moved the schedule, with its own event.
            Err(crate::store::StoreError::Conflict { .. }) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(
            brand = %brand_id,
            period_end = %report.period.last_day,
            queries = stats.queries,
            snapshots = stats.snapshots,
            keys = written.keys.len(),
            "report written"
        );
        Ok(())
    }
}

/// Starts the brand's report schedule, or restarts it when its period or zone changed.
pub(crate) async fn ensure_schedule(ports: &Ports, brand: &Brand) -> Result<(), ServiceError> {
    let store = &ports.store;
    let wanted = ReportSchedule::starting(brand.report_period, &brand.time_zone, ports.clock.now());
    match store.get_report_schedule(&brand.id).await? {
        Some(current)
            if current.period == brand.report_period
                && brand.time_zone.local(current.next_at).hour()
                    == crate::domain::report::REPORT_HOUR => {}
        Some(current) => {
            store
                .put_report_schedule(&brand.id, &wanted, Some(current.version), vec![])
                .await?
        }
        None => {
            store
                .put_report_schedule(&brand.id, &wanted, None, vec![])
                .await?
        }
    }
    Ok(())
}

/// `reports/{brand}/{period end}/report.{ext}`.
pub fn report_key(brand: &str, period_end: Date, format: Format) -> String {
    format!("reports/{brand}/{period_end}/report.{}", format.extension())
}
