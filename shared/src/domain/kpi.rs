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
}

impl KpiMetric {
    pub const ALL: [KpiMetric; 6] = [
        Self::EngagementRate,
        Self::FollowerGrowth,
        Self::Impressions,
        Self::Engagement,
        Self::Reach,
        Self::PostsPublished,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EngagementRate => "engagement_rate",
            Self::FollowerGrowth => "follower_growth",
            Self::Impressions => "impressions",
            Self::Engagement => "engagement",
            Self::Reach => "reach",
            Self::PostsPublished => "posts_published",
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
    } else if metric == KpiMetric::EngagementRate && !(0.0..=100.0).contains(&target) {
        v.add("target", "an engagement rate is a percentage from 0 to 100");
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
            period,
            version: 0,
            created_at: now,
            updated_at: now,
        })
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
    }
}
