//! Metrics: the normalised counters a network reports for a post or an account, immutable
//! snapshots of them, and the age-banded cadence that decides when the next snapshot is due.
//!
//! A figure the network does not have is `None` ("not available"), never 0: Mastodon counts no
//! impressions, and a report must not claim it had none.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// The counters every network's figures are normalised into. All are cumulative (lifetime) totals
/// at the moment they were read; a period's value is the difference of two snapshots.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Counters {
    /// Likes, favourites, reactions.
    pub likes: Option<u64>,
    /// Reposts, reblogs, retweets, shares.
    pub reposts: Option<u64>,
    /// Replies, comments.
    pub replies: Option<u64>,
    pub quotes: Option<u64>,
    /// Views, impressions.
    pub views: Option<u64>,
    /// Unique accounts reached.
    pub reach: Option<u64>,
    /// Link clicks.
    pub clicks: Option<u64>,
    /// Saves, bookmarks.
    pub saves: Option<u64>,
    /// Followers, subscribers (account snapshots).
    pub followers: Option<u64>,
}

/// The names of the counters, in the order reports list them.
pub const COUNTER_NAMES: [&str; 9] = [
    "likes",
    "reposts",
    "replies",
    "quotes",
    "views",
    "reach",
    "clicks",
    "saves",
    "followers",
];

impl Counters {
    /// The counter called `name` (one of [`COUNTER_NAMES`]).
    pub fn get(&self, name: &str) -> Option<u64> {
        match name {
            "likes" => self.likes,
            "reposts" => self.reposts,
            "replies" => self.replies,
            "quotes" => self.quotes,
            "views" => self.views,
            "reach" => self.reach,
            "clicks" => self.clicks,
            "saves" => self.saves,
            "followers" => self.followers,
            _ => None,
        }
    }

    /// Interactions: likes, reposts, replies, quotes and saves that the network reports, or not
    /// available when it reports none of them. Clicks and views are not engagement here.
    pub fn engagement(&self) -> Option<u64> {
        [
            self.likes,
            self.reposts,
            self.replies,
            self.quotes,
            self.saves,
        ]
        .into_iter()
        .flatten()
        .reduce(|a, b| a + b)
    }

    /// True when no figure at all is available.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One reading from a network: the normalised counters and the network's own fields as it sent
/// them, kept so a figure we did not normalise is not lost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsReading {
    pub counters: Counters,
    #[serde(default)]
    pub raw: serde_json::Value,
}

/// A public post of a competitor, as its network shows it to anyone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublicPost {
    pub id: String,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub counters: Counters,
}

/// A competitor's public account: its counters (followers) and its recent public posts (not
/// replies, not reposts), newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PublicProfile {
    pub counters: Counters,
    /// The account's total number of posts, when the network tells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posts_count: Option<u64>,
    #[serde(default)]
    pub recent_posts: Vec<PublicPost>,
    #[serde(default)]
    pub raw: serde_json::Value,
}

/// How long snapshots are kept before the store may delete them (DynamoDB TTL): two years, so a
/// report can always compare with the same period a year earlier.
pub const SNAPSHOT_RETENTION: SignedDuration = SignedDuration::from_hours(2 * 366 * 24);

/// A published post is followed for this long after publishing, then no more snapshots are taken.
pub const POST_TRACKING: SignedDuration = SignedDuration::from_hours(90 * 24);

/// The longest gap between two snapshots of a followed post, however quiet it is. Reports look
/// back this far before a period's start to find each post's value at the start.
pub const MAX_SNAPSHOT_GAP: SignedDuration = SignedDuration::from_hours(7 * 24);

/// Accounts (the brand's channels and competitors) are snapshotted once a day.
pub const ACCOUNT_INTERVAL: SignedDuration = SignedDuration::from_hours(24);

/// The base interval between snapshots of a post of this age: hourly in its first day, every 6
/// hours until day 7, daily until day 30, weekly until day 90; `None` after that.
pub fn post_interval(age: SignedDuration) -> Option<SignedDuration> {
    const HOUR: i64 = 3600;
    let age = age.as_secs();
    if age < 24 * HOUR {
        Some(SignedDuration::from_hours(1))
    } else if age < 7 * 24 * HOUR {
        Some(SignedDuration::from_hours(6))
    } else if age < 30 * 24 * HOUR {
        Some(SignedDuration::from_hours(24))
    } else if age < POST_TRACKING.as_secs() {
        Some(MAX_SNAPSHOT_GAP)
    } else {
        None
    }
}

/// When the next snapshot of a post published at `published_at` is due, after one was taken at
/// `taken_at`. `unchanged` counts the consecutive snapshots whose counters equalled the one before:
/// each doubles the interval (a quiet post is read less often), never beyond [`MAX_SNAPSHOT_GAP`].
/// `None`: the post has been followed for [`POST_TRACKING`] and no more snapshots are taken.
pub fn next_post_snapshot(
    published_at: Timestamp,
    taken_at: Timestamp,
    unchanged: u32,
) -> Option<Timestamp> {
    let age = taken_at.duration_since(published_at);
    let base = post_interval(age)?;
    let slowed = base
        .checked_mul(1 << unchanged.min(4))
        .unwrap_or(MAX_SNAPSHOT_GAP)
        .min(MAX_SNAPSHOT_GAP)
        .max(base);
    let next = taken_at.checked_add(slowed).ok()?;
    (next.duration_since(published_at) <= POST_TRACKING).then_some(next)
}

/// The first snapshot of a post: one hour after it was published.
pub fn first_post_snapshot(published_at: Timestamp) -> Timestamp {
    published_at
        .checked_add(SignedDuration::from_hours(1))
        .unwrap_or(published_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_cadence_slows_with_age_and_stops_after_ninety_days() {
        let p = at("2027-01-01T00:00:00Z");
        let next = |taken: &str| next_post_snapshot(p, at(taken), 0);
        assert_eq!(next("2027-01-01T05:00:00Z"), Some(at("2027-01-01T06:00:00Z")));
        assert_eq!(next("2027-01-02T00:00:00Z"), Some(at("2027-01-02T06:00:00Z")));
        assert_eq!(next("2027-01-08T00:00:00Z"), Some(at("2027-01-09T00:00:00Z")));
        assert_eq!(next("2027-01-31T00:00:00Z"), Some(at("2027-02-07T00:00:00Z")));
        // Day 88: a week later would pass day 90.
        assert_eq!(next("2027-03-30T00:00:00Z"), None);
    }

    #[test]
    fn quiet_posts_are_read_less_often_but_at_least_weekly() {
        let p = at("2027-01-01T00:00:00Z");
        let taken = at("2027-01-01T03:00:00Z");
        assert_eq!(
            next_post_snapshot(p, taken, 1),
            Some(at("2027-01-01T05:00:00Z"))
        );
        assert_eq!(
            next_post_snapshot(p, taken, 3),
            Some(at("2027-01-01T11:00:00Z"))
        );
        let later = at("2027-02-01T00:00:00Z");
        assert_eq!(
            next_post_snapshot(p, later, 9),
            Some(at("2027-02-08T00:00:00Z"))
        );
    }

    #[test]
    fn engagement_adds_what_is_available_and_is_absent_when_nothing_is() {
        let c = Counters {
            likes: Some(3),
            replies: Some(2),
            views: Some(100),
            ..Counters::default()
        };
        assert_eq!(c.engagement(), Some(5));
        assert_eq!(Counters::default().engagement(), None);
    }
}
