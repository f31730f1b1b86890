//! KPI targets the strategist sets: a metric, for one channel or all of them, a target value and
//! the report period it is measured over.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{ChannelId, DomainError, KpiId, Validation};

/// The length of a report period, in the brand's local days.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    #[default]
    Week,
    Fortnight,
}

impl PeriodKind {
    pub fn days(self) -> i64 {
        match self {
            Self::Week => 7,
            Self::Fortnight => 14,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Week => "week",
            Self::Fortnight => "fortnight",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "week" => Ok(Self::Week),
            "fortnight" => Ok(Self::Fortnight),
            other => Err(format!("{other:?} is not a period: use week or fortnight")),
        }
    }
}

/// What a KPI measures over a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KpiMetric {
    /// Engagement as a percentage of views (or of followers where views are not counted).
    EngagementRate,
    /// Followers gained in the period (negative when lost).
    FollowerGrowth,
    /// Views/impressions in the period.
    Impressions,
    /// Likes, reposts, replies, quotes and saves in the period.
    Engagement,
    /// Unique accounts reached in the period.
    Reach,
    /// Posts published in the period.
    PostsPublished,
    /// The median first response to interactions received in the period, in business minutes.
    FirstResponseMedianMinutes,
    /// Interactions answered, as a percentage of those needing an answer.
    ResponseRate,
}

/// Which side of the target meets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KpiDirection {
    /// Met when the figure is the target or more.
    AtLeast,
    /// Met when the figure is the target or less.
    AtMost,
}

impl KpiDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AtLeast => "at_least",
            Self::AtMost => "at_most",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "at_least" => Ok(Self::AtLeast),
            "at_most" => Ok(Self::AtMost),
            other => Err(format!(
                "{other:?} is not a direction: use at_least or at_most"
            )),
        }
    }

    /// Whether `actual` meets `target`.
    pub fn met(self, actual: f64, target: f64) -> bool {
        match self {
            Self::AtLeast => actual >= target,
            Self::AtMost => actual <= target,
        }
    }

    /// The sign a report puts before the target: "≥" or "≤".
    pub fn symbol(self) -> &'static str {
        match self {
            Self::AtLeast => "\u{2265}",
            Self::AtMost => "\u{2264}",
        }
    }
}

impl KpiMetric {
    pub const ALL: [KpiMetric; 8] = [
        Self::EngagementRate,
        Self::FollowerGrowth,
        Self::Impressions,
        Self::Engagement,
        Self::Reach,
        Self::PostsPublished,
        Self::FirstResponseMedianMinutes,
        Self::ResponseRate,
    ];

    /// The direction a target of this metric has unless the strategist says otherwise: a
    /// response time is met at most at its target, every other figure at least.
    pub fn usual_direction(self) -> KpiDirection {
        match self {
            Self::FirstResponseMedianMinutes => KpiDirection::AtMost,
            _ => KpiDirection::AtLeast,
        }
    }

    /// Whether the figure is a percentage (shown with two decimals and a % sign).
    pub fn is_percentage(self) -> bool {
        matches!(self, Self::EngagementRate | Self::ResponseRate)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EngagementRate => "engagement_rate",
            Self::FollowerGrowth => "follower_growth",
            Self::Impressions => "impressions",
            Self::Engagement => "engagement",
            Self::Reach => "reach",
            Self::PostsPublished => "posts_published",
            Self::FirstResponseMedianMinutes => "first_response_median_minutes",
            Self::ResponseRate => "response_rate",
        }
    }

    /// The words a report uses for it.
    pub fn label(self) -> &'static str {
        match self {
            Self::EngagementRate => "Engagement rate (%)",
            Self::FollowerGrowth => "Follower growth",
            Self::Impressions => "Impressions",
            Self::Engagement => "Engagement",
            Self::Reach => "Reach",
            Self::PostsPublished => "Posts published",
            Self::FirstResponseMedianMinutes => "Median first response (business minutes)",
            Self::ResponseRate => "Response rate (%)",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kpi {
    pub id: KpiId,
    pub metric: KpiMetric,
    /// One channel, or `None` for all channels together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<ChannelId>,
    pub target: f64,
    /// `None`: the metric's usual direction ([`KpiMetric::usual_direction`]); targets set
    /// before directions existed read so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<KpiDirection>,
    pub period: PeriodKind,
    pub version: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The most KPI targets a brand can have.
pub const MAX_KPIS_PER_BRAND: usize = 200;

/// Checks a target value for its metric.
pub fn check_target(metric: KpiMetric, target: f64) -> Result<f64, DomainError> {
    let mut v = Validation::new();
    if !target.is_finite() {
        v.add("target", "must be a number");
    } else if metric.is_percentage() && !(0.0..=100.0).contains(&target) {
        v.add("target", "a rate is a percentage from 0 to 100");
    } else if metric != KpiMetric::FollowerGrowth && target < 0.0 {
        v.add("target", "must not be negative");
    } else if matches!(metric, KpiMetric::PostsPublished) && target.fract() != 0.0 {
        v.add("target", "a number of posts is a whole number");
    }
    v.finish()?;
    Ok(target)
}

impl Kpi {
    pub fn new(
        metric: KpiMetric,
        channel: Option<ChannelId>,
        target: f64,
        period: PeriodKind,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        Ok(Self {
            id: KpiId::new(),
            metric,
            channel,
            target: check_target(metric, target)?,
            direction: None,
            period,
            version: 0,
            created_at: now,
            updated_at: now,
        })
    }
}

impl Kpi {
    /// Which side of the target meets it.
    pub fn direction(&self) -> KpiDirection {
        self.direction
            .unwrap_or_else(|| self.metric.usual_direction())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_checked_against_their_metric() {
        let now = Timestamp::UNIX_EPOCH;
        let new = |m, t| Kpi::new(m, None, t, PeriodKind::Week, now);
        assert!(new(KpiMetric::EngagementRate, 3.5).is_ok());
        assert!(new(KpiMetric::EngagementRate, 130.0).is_err());
        assert!(new(KpiMetric::FollowerGrowth, -10.0).is_ok());
        assert!(new(KpiMetric::Impressions, -1.0).is_err());
        assert!(new(KpiMetric::PostsPublished, 2.5).is_err());
        assert!(new(KpiMetric::Engagement, f64::NAN).is_err());
        assert!(new(KpiMetric::ResponseRate, 101.0).is_err());
        assert!(new(KpiMetric::FirstResponseMedianMinutes, -5.0).is_err());
    }

    #[test]
    fn response_times_are_met_at_most_and_everything_else_at_least() {
        let now = Timestamp::UNIX_EPOCH;
        let minutes = Kpi::new(
            KpiMetric::FirstResponseMedianMinutes,
            None,
            60.0,
            PeriodKind::Week,
            now,
        )
        .unwrap();
        assert_eq!(minutes.direction(), KpiDirection::AtMost);
        assert!(minutes.direction().met(60.0, 60.0) && !minutes.direction().met(61.0, 60.0));
        let rate = Kpi::new(KpiMetric::ResponseRate, None, 90.0, PeriodKind::Week, now).unwrap();
        assert_eq!(rate.direction(), KpiDirection::AtLeast);
        assert!(rate.direction().met(90.0, 90.0) && !rate.direction().met(89.9, 90.0));
        // A stored target from before directions existed reads with its metric's.
        let old: Kpi = serde_json::from_value(serde_json::json!({
            "id": minutes.id, "metric": "first_response_median_minutes", "target": 30.0,
            "period": "week", "version": 0, "created_at": now, "updated_at": now
        }))
        .unwrap();
        assert_eq!(old.direction(), KpiDirection::AtMost);
    }
}
