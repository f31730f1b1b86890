//! A report: what happened on each channel over one week or fortnight of the brand's local days,
//! against the previous period and the KPI targets, with competitors beside the brand. These are
//! the figures only; `crate::report_render` renders them as JSON, CSV and HTML.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::inbox_stats::ResponseFigures;
use super::{ChannelId, KpiDirection, KpiMetric, Network, PeriodKind, TimeZoneName};

/// One report period: whole local days `first_day..=last_day`, and the UTC instants where it
/// begins and ends (`[start, end)`). Across a DST change a week lasts 167 or 169 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Period {
    pub kind: PeriodKind,
    #[schema(value_type = String, format = Date)]
    pub first_day: Date,
    #[schema(value_type = String, format = Date)]
    pub last_day: Date,
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
}

impl Period {
    /// The period of `kind` whose last local day is `ending`.
    pub fn ending(kind: PeriodKind, ending: Date, zone: &TimeZoneName) -> Result<Self, String> {
        let first_day = ending
            .checked_sub(jiff::Span::new().days(kind.days() - 1))
            .map_err(|e| e.to_string())?;
        let (start, end) = zone.day_bounds(first_day, ending)?;
        Ok(Self {
            kind,
            first_day,
            last_day: ending,
            start,
            end,
        })
    }

    /// The period of the same kind just before this one.
    pub fn previous(&self, zone: &TimeZoneName) -> Result<Self, String> {
        let ending = self.first_day.yesterday().map_err(|e| e.to_string())?;
        Self::ending(self.kind, ending, zone)
    }

    /// The local days of the period, in order.
    pub fn days(&self) -> Vec<Date> {
        let mut days = Vec::new();
        let mut day = self.first_day;
        while day <= self.last_day {
            days.push(day);
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        days
    }
}

/// What a figure's engagement rate is a share of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RateBasis {
    /// Engagement ÷ views (impressions).
    Views,
    /// Engagement ÷ followers at the end of the period, where the network counts no views.
    Followers,
}

/// The figures of one channel (or all channels together) over one period. `None`: not available
/// (the network does not report it, or there were no snapshots to compute it from).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Figures {
    pub posts_published: u64,
    pub views: Option<u64>,
    pub reach: Option<u64>,
    pub likes: Option<u64>,
    pub reposts: Option<u64>,
    pub replies: Option<u64>,
    pub quotes: Option<u64>,
    pub clicks: Option<u64>,
    pub saves: Option<u64>,
    /// Likes + reposts + replies + quotes + saves.
    pub engagement: Option<u64>,
    /// Percent.
    pub engagement_rate: Option<f64>,
    pub engagement_rate_basis: Option<RateBasis>,
    pub followers_start: Option<u64>,
    pub followers_end: Option<u64>,
    pub follower_growth: Option<i64>,
}

/// A figure against the previous period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Delta {
    /// Current minus previous (percentage points for a rate).
    pub absolute: Option<f64>,
    /// The change as a percentage of the previous value (absent when the previous was 0).
    pub percent: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Change {
    pub posts_published: Delta,
    pub views: Delta,
    pub engagement: Delta,
    pub engagement_rate: Delta,
    pub follower_growth: Delta,
}

/// One row of the report: a channel, or the total of all channels (`channel_id: None`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChannelFigures {
    #[schema(value_type = Option<String>)]
    pub channel_id: Option<ChannelId>,
    pub name: String,
    pub network: Option<Network>,
    pub current: Figures,
    pub previous: Figures,
    pub change: Change,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KpiOutcome {
    Met,
    Missed,
    /// The figure could not be computed (the network does not report it, or no snapshots).
    NotAvailable,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KpiStatus {
    pub kpi_id: String,
    pub metric: KpiMetric,
    /// `None`: all channels together.
    #[schema(value_type = Option<String>)]
    pub channel_id: Option<ChannelId>,
    /// The channel's name, or "All channels".
    pub scope: String,
    pub target: f64,
    /// Met at least at the target, or at most (a response time).
    pub direction: KpiDirection,
    pub actual: Option<f64>,
    pub outcome: KpiOutcome,
    /// Actual minus target (positive: above target).
    pub difference: Option<f64>,
    /// The difference as a percentage of the target (absent when the target is 0).
    pub difference_percent: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TopPost {
    pub post_id: String,
    #[schema(value_type = String)]
    pub channel_id: ChannelId,
    pub channel_name: String,
    pub network: Network,
    /// The start of the post's text.
    pub excerpt: String,
    #[schema(value_type = String, format = DateTime)]
    pub published_at: Timestamp,
    pub url: Option<String>,
    /// Engagement gained within the period.
    pub engagement: Option<u64>,
    pub views: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CompetitorFigures {
    pub competitor_id: String,
    pub name: String,
    pub handle: String,
    pub network: Network,
    pub followers_end: Option<u64>,
    pub follower_growth: Option<i64>,
    /// Public posts (not replies or reposts) created in the period.
    pub posts_published: Option<u64>,
    /// Engagement on those posts as last read.
    pub engagement: Option<u64>,
    pub engagement_per_post: Option<f64>,
}

/// One local day of the period, for the charts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Day {
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    pub posts_published: u64,
    /// Engagement gained that day, over all channels.
    pub engagement: Option<u64>,
    pub views: Option<u64>,
}

/// Followers of one channel at the end of each day of the period (aligned with `Report::days`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FollowerSeries {
    #[schema(value_type = String)]
    pub channel_id: ChannelId,
    pub name: String,
    pub network: Network,
    pub followers: Vec<Option<u64>>,
}

/// The community's figures of one channel (or all channels together, `channel_id: None`): the
/// interactions received in the period and how the brand answered them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CommunityRow {
    #[schema(value_type = Option<String>)]
    pub channel_id: Option<ChannelId>,
    pub name: String,
    pub network: Option<Network>,
    pub current: ResponseFigures,
    pub previous: ResponseFigures,
}

/// Interactions received on one local day of the period (aligned with `Report::days`), and how
/// many of them have been answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CommunityDay {
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    pub received: u64,
    pub answered: u64,
}

/// The community section: what people said to the brand in the period and how fast, and how
/// often, the brand answered, in business minutes against the brand's response target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Community {
    pub target_minutes: u32,
    /// All channels together.
    pub total: Option<CommunityRow>,
    pub channels: Vec<CommunityRow>,
    pub days: Vec<CommunityDay>,
    /// More interactions were received than a report reads: the figures cover the first ones.
    pub partial: bool,
    /// The most engaged people of the period (most interactions first).
    #[serde(default)]
    pub key_members: Vec<KeyMember>,
}

/// One of the period's most engaged people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeyMember {
    pub person_id: String,
    /// The name they last wrote under in the period.
    pub name: String,
    pub handle: String,
    pub network: Network,
    pub interactions: u64,
}

/// How a figure is computed, in plain words, printed with the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Definition {
    pub figure: String,
    pub how: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Report {
    pub brand_id: String,
    pub brand_name: String,
    pub time_zone: String,
    pub period: Period,
    pub previous_period: Period,
    #[schema(value_type = String, format = DateTime)]
    pub generated_at: Timestamp,
    /// All channels together.
    pub total: ChannelFigures,
    pub channels: Vec<ChannelFigures>,
    pub kpis: Vec<KpiStatus>,
    pub top_posts: Vec<TopPost>,
    pub competitors: Vec<CompetitorFigures>,
    pub days: Vec<Day>,
    pub followers: Vec<FollowerSeries>,
    /// What people said to the brand and how it answered.
    #[serde(default)]
    pub community: Community,
    pub definitions: Vec<Definition>,
    /// The brand's sandbox channels (simulated figures), reported apart: never in the totals,
    /// the all-channel KPI targets or the competitor comparison above. Absent without them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub sandbox: Option<Box<Report>>,
}

/// When a brand's next report is written: Monday 08:00 in the brand's zone, every week or every
/// other week. Each run reports the period that ended the day before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportSchedule {
    pub period: PeriodKind,
    pub next_at: Timestamp,
    #[serde(default)]
    pub version: u64,
    /// After a failed run: when the same run is tried again. The due queue orders by it, so a
    /// brand whose report keeps failing waits behind the others instead of blocking them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<Timestamp>,
    /// Runs that failed in a row, and why the last one did.
    #[serde(default, skip_serializing_if = "super::post::is_zero")]
    pub failures: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// The wait before a failed report run is tried again: doubling from 15 minutes, at most a day.
fn report_retry_wait(failures: u32) -> jiff::SignedDuration {
    const FIRST_MINS: i64 = 15;
    const MAX_MINS: i64 = 24 * 60;
    let doublings = failures.saturating_sub(1).min(10);
    jiff::SignedDuration::from_mins((FIRST_MINS << doublings).min(MAX_MINS))
}

/// The local hour reports are written at.
pub const REPORT_HOUR: i8 = 8;

impl ReportSchedule {
    /// The first run after `now`: the next Monday 08:00 local.
    pub fn starting(period: PeriodKind, zone: &TimeZoneName, now: Timestamp) -> Self {
        Self {
            period,
            next_at: next_monday_morning(zone, now),
            version: 0,
            retry_at: None,
            failures: 0,
            last_error: None,
        }
    }

    /// When the schedule is next due: its retry after a failure, else its next run.
    pub fn due_at(&self) -> Timestamp {
        self.retry_at.unwrap_or(self.next_at)
    }

    /// The same run, tried again later after it failed with `error`.
    pub fn failed(&self, now: Timestamp, error: String) -> Self {
        let failures = self.failures.saturating_add(1);
        Self {
            retry_at: Some(
                now.checked_add(report_retry_wait(failures))
                    .unwrap_or(Timestamp::MAX),
            ),
            failures,
            last_error: Some(super::error::cap_reason(error)),
            ..self.clone()
        }
    }

    /// The period a run at `next_at` reports: the one whose last local day is the day before.
    pub fn due_period(&self, zone: &TimeZoneName) -> Result<Period, String> {
        let ending = zone
            .local_date(self.next_at)
            .yesterday()
            .map_err(|e| e.to_string())?;
        Period::ending(self.period, ending, zone)
    }

    /// The latest run on this schedule at or before `now`: a schedule that fell behind (the
    /// function was down for weeks) reports the last complete period, not the oldest missed one.
    pub fn caught_up(&self, zone: &TimeZoneName, now: Timestamp) -> Self {
        let mut current = self.clone();
        loop {
            let next = current.step(zone);
            match next {
                Some(t) if t <= now && t > current.next_at => current.next_at = t,
                _ => return current,
            }
        }
    }

    /// The run one period after this one, at 08:00 local.
    fn step(&self, zone: &TimeZoneName) -> Option<Timestamp> {
        zone.local_date(self.next_at)
            .checked_add(jiff::Span::new().days(self.period.days()))
            .ok()
            .and_then(|d| d.at(REPORT_HOUR, 0, 0, 0).to_zoned(zone.zone()).ok())
            .map(|z| z.timestamp())
    }

    /// The run after this one (one or two weeks later at 08:00 local), never before `now`.
    pub fn advanced(&self, zone: &TimeZoneName, now: Timestamp) -> Self {
        let mut current = Self {
            retry_at: None,
            failures: 0,
            last_error: None,
            ..self.clone()
        };
        loop {
            match current.step(zone) {
                Some(t) if t > current.next_at => current.next_at = t,
                _ => return current,
            }
            if current.next_at > now {
                return current;
            }
        }
    }
}

fn next_monday_morning(zone: &TimeZoneName, now: Timestamp) -> Timestamp {
    let mut date = zone.local_date(now);
    for _ in 0..8 {
        if date.weekday() == jiff::civil::Weekday::Monday
            && let Ok(at) = date.at(REPORT_HOUR, 0, 0, 0).to_zoned(zone.zone())
            && at.timestamp() > now
        {
            return at.timestamp();
        }
        match date.tomorrow() {
            Ok(next) => date = next,
            Err(_) => break,
        }
    }
    now
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rome() -> TimeZoneName {
        TimeZoneName::parse("Europe/Rome").unwrap()
    }

    #[test]
    fn a_week_across_the_spring_change_lasts_167_hours() {
        let p = Period::ending(PeriodKind::Week, jiff::civil::date(2027, 3, 28), &rome()).unwrap();
        assert_eq!(p.first_day, jiff::civil::date(2027, 3, 22));
        assert_eq!(p.end.duration_since(p.start).as_hours(), 167);
        assert_eq!(p.start.to_string(), "2027-03-21T23:00:00Z");
        let prev = p.previous(&rome()).unwrap();
        assert_eq!(prev.end, p.start);
        assert_eq!(prev.end.duration_since(prev.start).as_hours(), 168);
    }

    #[test]
    fn reports_run_on_monday_mornings_local_and_cover_the_week_before() {
        // Thursday 2027-03-25 in Rome.
        let now: Timestamp = "2027-03-25T10:00:00Z".parse().unwrap();
        let s = ReportSchedule::starting(PeriodKind::Week, &rome(), now);
        // Monday 2027-03-29 08:00 CEST (after the change) = 06:00Z.
        assert_eq!(s.next_at.to_string(), "2027-03-29T06:00:00Z");
        let p = s.due_period(&rome()).unwrap();
        assert_eq!(p.last_day, jiff::civil::date(2027, 3, 28));
        let next = s.advanced(&rome(), s.next_at);
        assert_eq!(next.next_at.to_string(), "2027-04-05T06:00:00Z");
        let fortnightly = ReportSchedule {
            period: PeriodKind::Fortnight,
            ..s.clone()
        };
        assert_eq!(
            fortnightly.advanced(&rome(), s.next_at).next_at.to_string(),
            "2027-04-12T06:00:00Z"
        );
        // A schedule that fell far behind skips to the next run after now, not one per missed week.
        let late = s.advanced(&rome(), "2027-05-01T00:00:00Z".parse().unwrap());
        assert_eq!(late.next_at.to_string(), "2027-05-03T06:00:00Z");
        // ... and when it runs that late, it reports the last complete week.
        let caught_up = s.caught_up(&rome(), "2027-05-01T00:00:00Z".parse().unwrap());
        assert_eq!(caught_up.next_at.to_string(), "2027-04-26T06:00:00Z");
        assert_eq!(
            caught_up.due_period(&rome()).unwrap().last_day,
            jiff::civil::date(2027, 4, 25)
        );
    }

    #[test]
    fn a_failed_run_is_retried_later_with_a_growing_wait_then_cleared() {
        let now: Timestamp = "2027-03-29T06:00:00Z".parse().unwrap();
        let s = ReportSchedule::starting(
            PeriodKind::Week,
            &rome(),
            "2027-03-25T00:00:00Z".parse().unwrap(),
        );
        assert_eq!(s.due_at(), s.next_at);
        let once = s.failed(now, "the bucket is unavailable".into());
        assert_eq!(once.due_at().duration_since(now).as_mins(), 15);
        // The same run, so the same period.
        assert_eq!(once.next_at, s.next_at);
        assert_eq!(once.due_period(&rome()), s.due_period(&rome()));
        let waits: Vec<i64> =
            std::iter::successors(Some(once), |f| Some(f.failed(now, "again".into())))
                .take(9)
                .map(|f| f.due_at().duration_since(now).as_mins())
                .collect();
        assert_eq!(waits, [15, 30, 60, 120, 240, 480, 960, 1440, 1440]);
        let done = s.failed(now, "x".repeat(5000)).advanced(&rome(), now);
        assert_eq!(
            (done.retry_at, done.failures, done.last_error),
            (None, 0, None)
        );
    }
}
