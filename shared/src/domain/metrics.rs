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

    /// Sets the counter called `name`; a name not in [`COUNTER_NAMES`] changes nothing.
    pub fn set(&mut self, name: &str, value: Option<u64>) {
        let slot = match name {
            "likes" => &mut self.likes,
            "reposts" => &mut self.reposts,
            "replies" => &mut self.replies,
            "quotes" => &mut self.quotes,
            "views" => &mut self.views,
            "reach" => &mut self.reach,
            "clicks" => &mut self.clicks,
            "saves" => &mut self.saves,
            "followers" => &mut self.followers,
            _ => return,
        };
        *slot = value;
    }

    /// Interactions: likes, reposts, replies, quotes and saves that the network reports, or not
    /// available when it reports none of them. Clicks and views are not engagement here. The
    /// counters come from the network, so the sum stops at `u64::MAX` rather than overflow.
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
        .reduce(u64::saturating_add)
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
        assert_eq!(
            next("2027-01-01T05:00:00Z"),
            Some(at("2027-01-01T06:00:00Z"))
        );
        assert_eq!(
            next("2027-01-02T00:00:00Z"),
            Some(at("2027-01-02T06:00:00Z"))
        );
        assert_eq!(
            next("2027-01-08T00:00:00Z"),
            Some(at("2027-01-09T00:00:00Z"))
        );
        assert_eq!(
            next("2027-01-31T00:00:00Z"),
            Some(at("2027-02-07T00:00:00Z"))
        );
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

    #[test]
    fn a_trackers_own_counts_stop_at_their_maximum() {
        let taken = at("2027-01-01T00:00:00Z");
        let subject = Subject::Channel {
            channel_id: crate::domain::ChannelId::new(),
        };
        let counters = Counters {
            followers: Some(u64::MAX),
            ..Counters::default()
        };
        let tracker = Tracker {
            last: Some(counters.clone()),
            unchanged: u32::MAX,
            failures: u32::MAX,
            ..Tracker::for_account(subject, crate::domain::Network::Mastodon, taken)
        };
        let reading = MetricsReading {
            counters,
            raw: serde_json::Value::Null,
        };
        let (_, next) = tracker.record(taken, reading, None);
        assert_eq!(next.unwrap().unchanged, u32::MAX);
        let failed = tracker.failed(taken, "timed out".into(), None).unwrap();
        assert_eq!(failed.failures, u32::MAX);
    }

    mod saturation {
        use proptest::prelude::*;

        use super::*;

        /// A network's counter: at or near the top of `u64`, anywhere, or not reported.
        fn counter() -> impl Strategy<Value = Option<u64>> {
            proptest::option::of(prop_oneof![
                Just(u64::MAX),
                (u64::MAX - 1_000_000)..=u64::MAX,
                any::<u64>(),
            ])
        }

        proptest! {
            #[test]
            fn engagement_saturates_instead_of_wrapping(
                values in proptest::array::uniform9(counter()),
            ) {
                let mut c = Counters::default();
                for (name, value) in COUNTER_NAMES.into_iter().zip(values) {
                    c.set(name, value);
                }
                let interactions = [c.likes, c.reposts, c.replies, c.quotes, c.saves];
                let sum: u128 = interactions.iter().flatten().map(|&v| u128::from(v)).sum();
                let expected = interactions
                    .iter()
                    .any(Option::is_some)
                    .then(|| u64::try_from(sum).unwrap_or(u64::MAX));
                prop_assert_eq!(c.engagement(), expected);
            }
        }
    }
}

/// What a snapshot is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Subject {
    /// One published target: a post on one channel.
    Post {
        post_id: super::PostId,
        channel_id: super::ChannelId,
    },
    /// One of the brand's channels (its account's followers).
    Channel { channel_id: super::ChannelId },
    /// A watched competitor's public account.
    Competitor { competitor_id: super::CompetitorId },
}

impl Subject {
    /// A stable key, unique within a brand: `P#{post}#{channel}`, `A#{channel}`, `C#{competitor}`.
    pub fn key(&self) -> String {
        match self {
            Self::Post {
                post_id,
                channel_id,
            } => format!("P#{post_id}#{channel_id}"),
            Self::Channel { channel_id } => format!("A#{channel_id}"),
            Self::Competitor { competitor_id } => format!("C#{competitor_id}"),
        }
    }
}

/// The network's own answer, kept as JSON text. Reports never read it and it is most of a
/// snapshot's size, so stored as one string it is not parsed into a tree every time a report
/// reads the snapshot (the reports benchmark: about a third of a weekly report's time).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawJson(String);

impl RawJson {
    pub fn from_value(value: &serde_json::Value) -> Self {
        Self(value.to_string())
    }

    /// The answer as JSON (a string, should the text not be JSON).
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).unwrap_or_else(|_| serde_json::Value::String(self.0.clone()))
    }
}

impl Serialize for RawJson {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Text as written; any other JSON (an object written before) is kept as its text.
        Ok(match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(text) => Self(text),
            other => Self(other.to_string()),
        })
    }
}

/// One immutable reading of a subject's counters, kept for [`SNAPSHOT_RETENTION`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub subject: Subject,
    pub network: super::Network,
    pub taken_at: Timestamp,
    /// Posts: when the post went out (reports use it to tell a young post from an old one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<Timestamp>,
    pub counters: Counters,
    /// Competitors: the account's total posts and its recent public posts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posts_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent_posts: Vec<PublicPost>,
    #[serde(default)]
    pub raw: RawJson,
}

/// The follow-up state of one subject: when its next snapshot is due and what the last one read.
/// There is one per published target, per channel and per competitor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tracker {
    pub subject: Subject,
    pub network: super::Network,
    /// Posts: the id the network gave the post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<Timestamp>,
    pub next_at: Timestamp,
    /// The counters of the last snapshot, to tell whether they are still changing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<Counters>,
    /// Consecutive snapshots equal to the one before.
    #[serde(default)]
    pub unchanged: u32,
    /// Consecutive failed readings, and the last failure in plain words.
    #[serde(default)]
    pub failures: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default)]
    pub version: u64,
}

/// After this many consecutive failed readings of a post, it is no longer followed (it was
/// deleted on the network, or the channel was disconnected for good).
pub const MAX_FAILURES: u32 = 8;

impl Tracker {
    pub fn for_post(
        post_id: super::PostId,
        channel_id: super::ChannelId,
        network: super::Network,
        remote_id: String,
        published_at: Timestamp,
    ) -> Self {
        Self {
            subject: Subject::Post {
                post_id,
                channel_id,
            },
            network,
            remote_id: Some(remote_id),
            published_at: Some(published_at),
            next_at: first_post_snapshot(published_at),
            last: None,
            unchanged: 0,
            failures: 0,
            last_error: None,
            version: 0,
        }
    }

    /// A channel or competitor account, first read at `first_at`.
    pub fn for_account(subject: Subject, network: super::Network, first_at: Timestamp) -> Self {
        Self {
            subject,
            network,
            remote_id: None,
            published_at: None,
            next_at: first_at,
            last: None,
            unchanged: 0,
            failures: 0,
            last_error: None,
            version: 0,
        }
    }

    /// Records a snapshot taken at `taken_at`: returns the snapshot, and the tracker's next state
    /// (`None`: the subject is no longer followed).
    pub fn record(
        &self,
        taken_at: Timestamp,
        reading: MetricsReading,
        profile: Option<PublicProfile>,
    ) -> (Snapshot, Option<Tracker>) {
        let unchanged = match &self.last {
            Some(last) if *last == reading.counters => self.unchanged.saturating_add(1),
            _ => 0,
        };
        let next_at = match (self.subject, self.published_at) {
            (Subject::Post { .. }, Some(published_at)) => {
                next_post_snapshot(published_at, taken_at, unchanged)
            }
            _ => taken_at.checked_add(ACCOUNT_INTERVAL).ok(),
        };
        let (posts_count, recent_posts) = profile
            .map(|p| (p.posts_count, p.recent_posts))
            .unwrap_or_default();
        let snapshot = Snapshot {
            subject: self.subject,
            network: self.network,
            taken_at,
            published_at: self.published_at,
            counters: reading.counters.clone(),
            posts_count,
            recent_posts,
            raw: RawJson::from_value(&reading.raw),
        };
        let next = next_at.map(|next_at| Tracker {
            next_at,
            last: Some(reading.counters),
            unchanged,
            failures: 0,
            last_error: None,
            ..self.clone()
        });
        (snapshot, next)
    }

    /// Records a failed reading: tries again at `retry_at` (a rate limit's reset) or after the
    /// subject's usual interval; a post that keeps failing is given up (`None`).
    pub fn failed(
        &self,
        now: Timestamp,
        error: String,
        retry_at: Option<Timestamp>,
    ) -> Option<Tracker> {
        let failures = self.failures.saturating_add(1);
        if matches!(self.subject, Subject::Post { .. }) && failures >= MAX_FAILURES {
            return None;
        }
        let interval = match (self.subject, self.published_at) {
            (Subject::Post { .. }, Some(p)) => {
                post_interval(now.duration_since(p)).unwrap_or(MAX_SNAPSHOT_GAP)
            }
            _ => ACCOUNT_INTERVAL,
        };
        let next_at = retry_at
            .filter(|r| *r > now)
            .or_else(|| now.checked_add(interval).ok())
            .unwrap_or(now);
        Some(Tracker {
            next_at,
            failures,
            last_error: Some(super::error::cap_reason(error)),
            ..self.clone()
        })
    }
}
