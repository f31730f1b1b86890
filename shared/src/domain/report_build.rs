//! The report arithmetic, with no I/O: from the snapshots of each channel and competitor, the
//! posts and the KPI targets, the figures of [`Report`].
//!
//! Counters are cumulative, so a period's value is a difference: a subject's value at an instant
//! is its last snapshot taken at or before it. A post with no snapshot yet at that instant counts
//! from zero when it was published within the window read (its engagement is attributed to the
//! period of the snapshot that first showed it); an older post with no snapshot before the instant
//! counts from its first snapshot in the window (nothing is attributed to the gap). Over
//! consecutive periods the differences add up to the lifetime totals: nothing counted twice.
//!
//! The counters are whatever the networks answered, so no arithmetic on them may overflow: sums
//! stop at `u64::MAX` and follower growth at `i64`'s bounds.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;

use super::metrics::{COUNTER_NAMES, Counters, MAX_SNAPSHOT_GAP, Snapshot, Subject};
use super::report::{
    Change, ChannelFigures, CompetitorFigures, Day, Definition, Delta, Figures, FollowerSeries,
    KpiOutcome, KpiStatus, Period, RateBasis, Report, TopPost,
};
use super::{
    Brand, Channel, ChannelId, Competitor, CompetitorId, Kpi, KpiMetric, Network, Post, PostId,
    TargetState,
};

/// How many top posts a report lists.
pub const TOP_POSTS: usize = 5;
/// Characters of a post's text shown in a report.
pub const EXCERPT_CHARS: usize = 120;

/// What a report needs of one target that went out: a few words, never the whole post (a
/// brand's report reads only these, however many drafts and posts it has).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedTarget {
    pub post_id: PostId,
    pub channel_id: ChannelId,
    pub published_at: Timestamp,
    pub url: Option<String>,
    /// The post's text as a report shows it ([`excerpt`]).
    pub excerpt: String,
}

impl PublishedTarget {
    /// The targets of `post` that went out in `[from, to)`; none for a draft or a post that
    /// has not gone out.
    pub fn of(post: &Post, from: Timestamp, to: Timestamp) -> Vec<Self> {
        post.targets
            .iter()
            .filter_map(|t| match &t.state {
                TargetState::Published {
                    published_at, url, ..
                } if *published_at >= from && *published_at < to => Some(Self {
                    post_id: post.id,
                    channel_id: ChannelId::parse(&t.channel_id).ok()?,
                    published_at: *published_at,
                    url: url.clone(),
                    excerpt: excerpt(&post.text),
                }),
                _ => None,
            })
            .collect()
    }

    /// Every published target of `posts` (tests and benchmarks, which hold whole posts).
    pub fn all(posts: &[Post]) -> Vec<Self> {
        posts
            .iter()
            .flat_map(|p| Self::of(p, Timestamp::MIN, Timestamp::MAX))
            .collect()
    }
}

/// Everything a report is computed from. `snapshots` hold each channel's partition (account and
/// posts) and each competitor's, taken in [`window`]; `published` holds at least the targets that
/// went out in both periods.
pub struct ReportInput<'a> {
    pub brand: &'a Brand,
    pub period: Period,
    pub previous: Period,
    pub generated_at: Timestamp,
    pub channels: &'a [Channel],
    pub snapshots: &'a HashMap<ChannelId, Vec<Snapshot>>,
    pub published: &'a [PublishedTarget],
    pub kpis: &'a [Kpi],
    pub competitors: &'a [Competitor],
    pub competitor_snapshots: &'a HashMap<CompetitorId, Vec<Snapshot>>,
}

/// The snapshots a report needs: from [`MAX_SNAPSHOT_GAP`] before the previous period (so every
/// followed post has a value at its start) to the end of the period.
pub fn window(previous: &Period, period: &Period) -> (Timestamp, Timestamp) {
    let from = previous
        .start
        .checked_sub(MAX_SNAPSHOT_GAP)
        .unwrap_or(previous.start);
    (from, period.end)
}

/// The counters a network reports for posts, as documented (see docs/metrics.md). A counter a
/// connector reads beyond these counts as reported too.
pub fn post_counters_reported(network: Network) -> &'static [&'static str] {
    match network {
        Network::Mastodon => &["likes", "reposts", "replies", "quotes"],
        Network::Bluesky => &["likes", "reposts", "replies", "quotes", "saves"],
        Network::Linkedin => &["likes", "reposts", "replies", "views", "reach", "clicks"],
        Network::X => &["likes", "reposts", "replies", "quotes", "views", "saves"],
        Network::Facebook => &["likes", "reposts", "replies", "views", "clicks"],
        Network::Instagram => &["likes", "reposts", "replies", "views", "reach", "saves"],
        Network::Threads => &["likes", "reposts", "replies", "quotes", "views"],
        Network::Telegram => &[],
    }
}

/// The start of a post's text, for reports.
pub fn excerpt(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= EXCERPT_CHARS {
        text
    } else {
        let cut: String = text.chars().take(EXCERPT_CHARS - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

/// One subject's snapshots, in time order.
struct Series<'a> {
    snapshots: Vec<&'a Snapshot>,
    published_at: Option<Timestamp>,
}

impl<'a> Series<'a> {
    /// The counters at `at`; `None`: zero (a post not yet seen).
    fn at(&self, at: Timestamp, window_start: Timestamp) -> Option<&'a Counters> {
        let seen = self.snapshots.partition_point(|s| s.taken_at <= at);
        if seen > 0 {
            return Some(&self.snapshots[seen - 1].counters);
        }
        match self.published_at {
            Some(p) if p >= window_start => None,
            // Followed before the window: count from its first snapshot in the window.
            _ => self.snapshots.first().map(|s| &s.counters),
        }
    }
}

/// Per-counter differences `to - from`: not available where `to` lacks it; a counter that fell
/// counts as 0.
fn difference(from: Option<&Counters>, to: Option<&Counters>) -> Counters {
    let mut d = Counters::default();
    let Some(to) = to else {
        return d;
    };
    for name in COUNTER_NAMES {
        let value = to
            .get(name)
            .map(|t| t.saturating_sub(from.and_then(|f| f.get(name)).unwrap_or(0)));
        d.set(name, value);
    }
    d
}

/// Adds counters, each available when either side has it.
fn add(total: &mut Counters, more: &Counters) {
    for name in COUNTER_NAMES {
        total.set(name, opt_add(total.get(name), more.get(name)));
    }
}

/// The sum, available when either side is; it stops at `u64::MAX`.
fn opt_add(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
    }
}

/// `end - start`, kept within `i64` (two `u64`s can be further apart than an `i64` holds).
fn growth(start: Option<u64>, end: Option<u64>) -> Option<i64> {
    Some(clamp_i64(i128::from(end?) - i128::from(start?)))
}

fn clamp_i64(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

/// A channel's snapshots, split by subject.
struct ChannelData<'a> {
    channel: &'a Channel,
    account: Series<'a>,
    posts: BTreeMap<PostId, Series<'a>>,
    /// Counters reported for this channel's posts.
    reported: Vec<&'static str>,
}

impl<'a> ChannelData<'a> {
    fn new(channel: &'a Channel, snapshots: &'a [Snapshot]) -> Self {
        let mut account = Series {
            snapshots: Vec::new(),
            published_at: None,
        };
        let mut posts: BTreeMap<PostId, Series<'a>> = BTreeMap::new();
        let mut reported: Vec<&'static str> = post_counters_reported(channel.network).to_vec();
        for s in snapshots {
            match s.subject {
                Subject::Channel { .. } => account.snapshots.push(s),
                Subject::Post { post_id, .. } => {
                    for name in COUNTER_NAMES {
                        if name != "followers"
                            && s.counters.get(name).is_some()
                            && !reported.contains(&name)
                        {
                            reported.push(name);
                        }
                    }
                    posts
                        .entry(post_id)
                        .or_insert_with(|| Series {
                            snapshots: Vec::new(),
                            published_at: s.published_at,
                        })
                        .snapshots
                        .push(s);
                }
                Subject::Competitor { .. } => {}
            }
        }
        for series in posts.values_mut() {
            series.snapshots.sort_by_key(|s| s.taken_at);
        }
        account.snapshots.sort_by_key(|s| s.taken_at);
        Self {
            channel,
            account,
            posts,
            reported,
        }
    }

    /// The counters this channel's posts gained in `[from, to)`, summed: each reported counter is
    /// available (0 when nothing moved), each other one is not.
    fn gained(&self, from: Timestamp, to: Timestamp, window_start: Timestamp) -> Counters {
        let mut total = Counters::default();
        for name in &self.reported {
            total.set(name, Some(0));
        }
        for series in self.posts.values() {
            let d = difference(series.at(from, window_start), series.at(to, window_start));
            add(&mut total, &d);
        }
        total
    }

    fn followers_at(&self, at: Timestamp) -> Option<u64> {
        let seen = self.account.snapshots.partition_point(|s| s.taken_at <= at);
        seen.checked_sub(1)
            .and_then(|i| self.account.snapshots[i].counters.followers)
    }
}

fn published_in(
    published: &[PublishedTarget],
    channel: &ChannelId,
    from: Timestamp,
    to: Timestamp,
) -> u64 {
    published
        .iter()
        .filter(|t| t.channel_id == *channel && t.published_at >= from && t.published_at < to)
        .count() as u64
}

fn figures(
    data: &ChannelData<'_>,
    published: &[PublishedTarget],
    period: &Period,
    window_start: Timestamp,
) -> Figures {
    let gained = data.gained(period.start, period.end, window_start);
    let followers_start = data.followers_at(period.start);
    let followers_end = data.followers_at(period.end);
    let mut f = Figures {
        posts_published: published_in(published, &data.channel.id, period.start, period.end),
        views: gained.views,
        reach: gained.reach,
        likes: gained.likes,
        reposts: gained.reposts,
        replies: gained.replies,
        quotes: gained.quotes,
        clicks: gained.clicks,
        saves: gained.saves,
        engagement: gained.engagement(),
        engagement_rate: None,
        engagement_rate_basis: None,
        followers_start,
        followers_end,
        follower_growth: growth(followers_start, followers_end),
    };
    let by_views = f.views.is_some();
    set_rate(&mut f, by_views);
    f
}

/// The engagement rate: per view where views are counted (`by_views`), else per follower at the
/// end of the period; not available when the denominator is 0 or unknown.
fn set_rate(f: &mut Figures, by_views: bool) {
    let (basis, denominator) = if by_views {
        (RateBasis::Views, f.views)
    } else {
        (RateBasis::Followers, f.followers_end)
    };
    f.engagement_rate_basis = Some(basis);
    f.engagement_rate = match (f.engagement, denominator) {
        (Some(e), Some(d)) if d > 0 => Some(round2(e as f64 * 100.0 / d as f64)),
        _ => None,
    };
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn total(rows: &[&Figures]) -> Figures {
    let mut t = Figures::default();
    for f in rows {
        t.posts_published = t.posts_published.saturating_add(f.posts_published);
        t.views = opt_add(t.views, f.views);
        t.reach = opt_add(t.reach, f.reach);
        t.likes = opt_add(t.likes, f.likes);
        t.reposts = opt_add(t.reposts, f.reposts);
        t.replies = opt_add(t.replies, f.replies);
        t.quotes = opt_add(t.quotes, f.quotes);
        t.clicks = opt_add(t.clicks, f.clicks);
        t.saves = opt_add(t.saves, f.saves);
        t.engagement = opt_add(t.engagement, f.engagement);
        t.followers_start = opt_add(t.followers_start, f.followers_start);
        t.followers_end = opt_add(t.followers_end, f.followers_end);
        t.follower_growth = match (t.follower_growth, f.follower_growth) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
        };
    }
    // Per view only when every channel with engagement counts views; otherwise views would
    // leave out some channels' engagement, so per follower.
    let by_views = rows
        .iter()
        .filter(|f| f.engagement.is_some())
        .all(|f| f.views.is_some())
        && t.views.is_some();
    set_rate(&mut t, by_views);
    t
}

fn delta(current: Option<f64>, previous: Option<f64>) -> Delta {
    match (current, previous) {
        (Some(c), Some(p)) => Delta {
            absolute: Some(round2(c - p)),
            percent: (p != 0.0).then(|| round2((c - p) * 100.0 / p.abs())),
        },
        _ => Delta::default(),
    }
}

fn change(current: &Figures, previous: &Figures) -> Change {
    let f = |v: Option<u64>| v.map(|v| v as f64);
    Change {
        posts_published: delta(
            Some(current.posts_published as f64),
            Some(previous.posts_published as f64),
        ),
        views: delta(f(current.views), f(previous.views)),
        engagement: delta(f(current.engagement), f(previous.engagement)),
        engagement_rate: delta(current.engagement_rate, previous.engagement_rate),
        follower_growth: delta(
            current.follower_growth.map(|g| g as f64),
            previous.follower_growth.map(|g| g as f64),
        ),
    }
}

fn actual(metric: KpiMetric, f: &Figures) -> Option<f64> {
    match metric {
        KpiMetric::EngagementRate => f.engagement_rate,
        KpiMetric::FollowerGrowth => f.follower_growth.map(|g| g as f64),
        KpiMetric::Impressions => f.views.map(|v| v as f64),
        KpiMetric::Engagement => f.engagement.map(|v| v as f64),
        KpiMetric::Reach => f.reach.map(|v| v as f64),
        KpiMetric::PostsPublished => Some(f.posts_published as f64),
    }
}

fn kpi_status(kpi: &Kpi, rows: &[ChannelFigures], total: &ChannelFigures) -> KpiStatus {
    let row = match &kpi.channel {
        None => Some(total),
        Some(id) => {
            let id = id.to_string();
            rows.iter().find(|r| r.channel_id.as_deref() == Some(&id))
        }
    };
    let scope = match (&kpi.channel, row) {
        (None, _) => "All channels".to_owned(),
        (Some(_), Some(r)) => r.name.clone(),
        (Some(id), None) => format!("deleted channel {id}"),
    };
    let actual = row.and_then(|r| actual(kpi.metric, &r.current));
    let difference = actual.map(|a| round2(a - kpi.target));
    KpiStatus {
        kpi_id: kpi.id.to_string(),
        metric: kpi.metric,
        channel_id: kpi.channel.map(|c| c.to_string()),
        scope,
        target: kpi.target,
        actual,
        outcome: match actual {
            None => KpiOutcome::NotAvailable,
            Some(a) if a >= kpi.target => KpiOutcome::Met,
            Some(_) => KpiOutcome::Missed,
        },
        difference,
        difference_percent: difference
            .filter(|_| kpi.target != 0.0)
            .map(|d| round2(d * 100.0 / kpi.target.abs())),
    }
}

fn competitor_figures(
    competitor: &Competitor,
    snapshots: &[Snapshot],
    period: &Period,
) -> CompetitorFigures {
    let mut sorted: Vec<&Snapshot> = snapshots.iter().collect();
    sorted.sort_by_key(|s| s.taken_at);
    let last_at = |at: Timestamp| {
        let seen = sorted.partition_point(|s| s.taken_at <= at);
        seen.checked_sub(1).map(|i| sorted[i])
    };
    let start = last_at(period.start);
    let end = last_at(period.end);
    let followers_end = end.and_then(|s| s.counters.followers);
    let in_period: Vec<_> = end
        .map(|s| {
            s.recent_posts
                .iter()
                .filter(|p| p.created_at >= period.start && p.created_at < period.end)
                .collect()
        })
        .unwrap_or_default();
    let posts_published = end.map(|_| in_period.len() as u64);
    let engagement = end.map(|_| {
        in_period
            .iter()
            .filter_map(|p| p.counters.engagement())
            .fold(0, u64::saturating_add)
    });
    CompetitorFigures {
        competitor_id: competitor.id.to_string(),
        name: competitor.name.clone(),
        handle: competitor.handle.clone(),
        network: competitor.network,
        followers_end,
        follower_growth: growth(start.and_then(|s| s.counters.followers), followers_end),
        posts_published,
        engagement,
        engagement_per_post: match (engagement, posts_published) {
            (Some(e), Some(n)) if n > 0 => Some(round2(e as f64 / n as f64)),
            _ => None,
        },
    }
}

/// Builds the report. Top posts carry the excerpt of targets found in `input.published`; the caller
/// fills in the others (older posts) with [`excerpt`].
pub fn build_report(input: &ReportInput<'_>) -> Report {
    let (window_start, _) = window(&input.previous, &input.period);
    let zone = &input.brand.time_zone;
    let empty = Vec::new();
    let data: Vec<ChannelData<'_>> = input
        .channels
        .iter()
        .map(|c| ChannelData::new(c, input.snapshots.get(&c.id).unwrap_or(&empty)))
        .collect();

    let channels: Vec<ChannelFigures> = data
        .iter()
        .map(|d| {
            let current = figures(d, input.published, &input.period, window_start);
            let previous = figures(d, input.published, &input.previous, window_start);
            ChannelFigures {
                channel_id: Some(d.channel.id.to_string()),
                name: d.channel.name.clone(),
                network: Some(d.channel.network),
                change: change(&current, &previous),
                current,
                previous,
            }
        })
        .collect();
    let current_total = total(&channels.iter().map(|c| &c.current).collect::<Vec<_>>());
    let previous_total = total(&channels.iter().map(|c| &c.previous).collect::<Vec<_>>());
    let total_row = ChannelFigures {
        channel_id: None,
        name: "All channels".into(),
        network: None,
        change: change(&current_total, &previous_total),
        current: current_total,
        previous: previous_total,
    };

    let kpis = input
        .kpis
        .iter()
        .filter(|k| k.period == input.period.kind)
        .map(|k| kpi_status(k, &channels, &total_row))
        .collect();

    let targets: HashMap<(PostId, ChannelId), &PublishedTarget> = input
        .published
        .iter()
        .map(|t| ((t.post_id, t.channel_id), t))
        .collect();
    let mut top: Vec<TopPost> = Vec::new();
    for d in &data {
        for (post_id, series) in &d.posts {
            let gained = difference(
                series.at(input.period.start, window_start),
                series.at(input.period.end, window_start),
            );
            let engagement = gained.engagement();
            if engagement.unwrap_or(0) == 0 {
                continue;
            }
            let published = targets.get(&(*post_id, d.channel.id));
            top.push(TopPost {
                post_id: post_id.to_string(),
                channel_id: d.channel.id.to_string(),
                channel_name: d.channel.name.clone(),
                network: d.channel.network,
                excerpt: published.map(|t| t.excerpt.clone()).unwrap_or_default(),
                published_at: series.published_at.unwrap_or(input.period.start),
                url: published.and_then(|t| t.url.clone()),
                engagement,
                views: gained.views,
            });
        }
    }
    top.sort_by(|a, b| {
        b.engagement
            .cmp(&a.engagement)
            .then(b.views.cmp(&a.views))
            .then(a.post_id.cmp(&b.post_id))
    });
    top.truncate(TOP_POSTS);

    let competitors = input
        .competitors
        .iter()
        .map(|c| {
            competitor_figures(
                c,
                input
                    .competitor_snapshots
                    .get(&c.id)
                    .map(Vec::as_slice)
                    .unwrap_or(&[]),
                &input.period,
            )
        })
        .collect();

    let mut days = Vec::new();
    let mut followers: Vec<FollowerSeries> = data
        .iter()
        .map(|d| FollowerSeries {
            channel_id: d.channel.id.to_string(),
            name: d.channel.name.clone(),
            network: d.channel.network,
            followers: Vec::new(),
        })
        .collect();
    for date in input.period.days() {
        let Ok((from, to)) = zone.day_bounds(date, date) else {
            continue;
        };
        let mut engagement = None;
        let mut views = None;
        let mut posts_published: u64 = 0;
        for (d, series) in data.iter().zip(followers.iter_mut()) {
            let gained = d.gained(from, to, window_start);
            engagement = opt_add(engagement, gained.engagement());
            views = opt_add(views, gained.views);
            posts_published = posts_published.saturating_add(published_in(
                input.published,
                &d.channel.id,
                from,
                to,
            ));
            series.followers.push(d.followers_at(to));
        }
        days.push(Day {
            date,
            posts_published,
            engagement,
            views,
        });
    }

    Report {
        brand_id: input.brand.id.to_string(),
        brand_name: input.brand.name.clone(),
        time_zone: zone.as_str().to_owned(),
        period: input.period,
        previous_period: input.previous,
        generated_at: input.generated_at,
        total: total_row,
        channels,
        kpis,
        top_posts: top,
        competitors,
        days,
        followers,
        definitions: definitions(),
    }
}

/// How each figure is computed, printed with every report.
pub fn definitions() -> Vec<Definition> {
    [
        ("Period", "Whole days in the brand's time zone, Monday to Sunday for a week (a fortnight is two weeks); a day across a daylight-saving change lasts 23 or 25 hours."),
        ("Counters", "Networks report lifetime totals. A post's figure for a period is its total at the end of the period minus its total at the start, each read from the last snapshot taken at or before that instant. A post without a snapshot yet counts from zero, so its first figures fall in the period of its first snapshot; a counter that fell (an unlike) counts as 0."),
        ("Posts published", "Targets (a post on one channel) published within the period."),
        ("Views", "Views or impressions gained by the channel's posts within the period; n/a where the network does not count them (Mastodon, Bluesky, Telegram)."),
        ("Engagement", "Likes + reposts/shares + replies/comments + quotes + saves gained within the period, as far as the network reports each. Clicks and views are not engagement."),
        ("Engagement rate", "Engagement ÷ views × 100 where the network counts views; otherwise engagement ÷ followers at the end of the period × 100. The total uses views only when every channel with engagement counts them."),
        ("Followers", "The account's followers in the last daily snapshot at or before the start and the end of the period; growth is end minus start."),
        ("Change", "This period's figure minus the previous period's, and that difference as a percentage of the previous figure (absent when it was 0)."),
        ("KPI targets", "Met when the period's figure is at least the target; the difference is figure minus target. n/a when the figure cannot be computed."),
        ("Top posts", "The posts with the most engagement gained within the period, on any channel, published in it or before."),
        ("Competitors", "Read from the networks' public APIs once a day: followers at the end of the period and growth over it; their public posts (not replies or reposts) created in the period, and the engagement those posts had when last read."),
        ("n/a", "Not available: the network does not report the figure, or there was no snapshot to compute it from. Never the same as 0."),
    ]
    .into_iter()
    .map(|(figure, how)| Definition {
        figure: figure.into(),
        how: how.into(),
    })
    .collect()
}

#[cfg(test)]
mod tests {
    //! A hand-computed week across the spring DST change in Rome (Monday 22 to Sunday 28 March
    //! 2027; Sunday lasts 23 hours). Every expected figure is worked out in the comments.

    use serde_json::json;

    use super::*;
    use crate::domain::channel::ChannelFields;
    use crate::domain::metrics::PublicPost;
    use crate::domain::{BrandProfile, ChannelStatus, CompetitorFields, PeriodKind};

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn counters(likes: u64, reposts: u64, replies: u64, quotes: u64) -> Counters {
        Counters {
            likes: Some(likes),
            reposts: Some(reposts),
            replies: Some(replies),
            quotes: Some(quotes),
            ..Counters::default()
        }
    }

    fn snap(subject: Subject, network: Network, taken: &str, c: Counters) -> Snapshot {
        Snapshot {
            subject,
            network,
            taken_at: at(taken),
            published_at: None,
            counters: c,
            posts_count: None,
            recent_posts: vec![],
            raw: Default::default(),
        }
    }

    fn followers(channel: &Channel, taken: &str, n: u64) -> Snapshot {
        snap(
            Subject::Channel {
                channel_id: channel.id,
            },
            channel.network,
            taken,
            Counters {
                followers: Some(n),
                ..Counters::default()
            },
        )
    }

    fn post_snap(
        post: &Post,
        channel: &Channel,
        published: &str,
        taken: &str,
        c: Counters,
    ) -> Snapshot {
        Snapshot {
            published_at: Some(at(published)),
            ..snap(
                Subject::Post {
                    post_id: post.id,
                    channel_id: channel.id,
                },
                channel.network,
                taken,
                c,
            )
        }
    }

    fn channel(network: Network, name: &str, settings: serde_json::Value) -> Channel {
        let fields = ChannelFields::parse(
            network,
            name,
            "@brand",
            settings.as_object().unwrap().clone(),
            ChannelStatus::Active,
            crate::domain::OutboundPolicy::PUBLIC_ONLY,
        )
        .unwrap();
        Channel::create(network, fields, at("2027-01-01T00:00:00Z"))
    }

    fn published_post(text: &str, channel: &Channel, published: &str) -> Post {
        serde_json::from_value(json!({
            "id": PostId::new(),
            "text": text,
            "variants": {},
            "media": [],
            "targets": [{
                "channel_id": channel.id.to_string(),
                "state": "published",
                "remote_id": "r1",
                "url": format!("https://example.test/{text}"),
                "published_at": published,
            }],
            "labels": [],
            "campaign": null,
            "publish_at": published,
            "time_zone": "Europe/Rome",
            "workflow": "scheduled",
            "review_note": null,
            "version": 1,
            "created_by": "t",
            "created_at": "2027-01-01T00:00:00Z",
            "updated_by": "t",
            "updated_at": "2027-01-01T00:00:00Z",
        }))
        .unwrap()
    }

    #[test]
    fn a_dst_week_with_two_channels_kpis_and_a_competitor() {
        let brand = Brand::create(
            crate::domain::BrandId::parse("acme").unwrap(),
            BrandProfile::parse("Acme", "Europe/Rome", false).unwrap(),
            at("2027-01-01T00:00:00Z"),
        );
        let zone = &brand.time_zone;
        let period =
            Period::ending(PeriodKind::Week, jiff::civil::date(2027, 3, 28), zone).unwrap();
        let previous = period.previous(zone).unwrap();
        // Monday 00:00 CET = Sunday 23:00Z; the next Monday 00:00 CEST = Sunday 22:00Z.
        assert_eq!(period.start, at("2027-03-21T23:00:00Z"));
        assert_eq!(period.end, at("2027-03-28T22:00:00Z"));
        assert_eq!(previous.start, at("2027-03-14T23:00:00Z"));

        let m = channel(
            Network::Mastodon,
            "Mastodon",
            json!({"instance_url": "https://social.example"}),
        );
        let x = channel(Network::X, "X", json!({}));
        let p1 = published_post("first", &m, "2027-03-20T10:00:00Z");
        let p2 = published_post("late-sunday", &m, "2027-03-28T21:30:00Z");
        let p3 = published_post("third", &x, "2027-03-25T09:00:00Z");
        let xc = |l, r, re, q, views, saves| Counters {
            views: Some(views),
            saves: Some(saves),
            ..counters(l, r, re, q)
        };

        let mut snapshots = HashMap::new();
        snapshots.insert(
            m.id,
            vec![
                followers(&m, "2027-03-14T22:00:00Z", 1000),
                post_snap(
                    &p1,
                    &m,
                    "2027-03-20T10:00:00Z",
                    "2027-03-20T11:00:00Z",
                    counters(5, 1, 0, 0),
                ),
                post_snap(
                    &p1,
                    &m,
                    "2027-03-20T10:00:00Z",
                    "2027-03-21T20:00:00Z",
                    counters(10, 2, 1, 0),
                ),
                followers(&m, "2027-03-21T22:30:00Z", 1010),
                post_snap(
                    &p1,
                    &m,
                    "2027-03-20T10:00:00Z",
                    "2027-03-22T20:00:00Z",
                    counters(14, 2, 3, 1),
                ),
                followers(&m, "2027-03-28T21:30:00Z", 1040),
                post_snap(
                    &p1,
                    &m,
                    "2027-03-20T10:00:00Z",
                    "2027-03-28T21:59:00Z",
                    counters(20, 4, 3, 1),
                ),
                // After the end: must not count.
                post_snap(
                    &p2,
                    &m,
                    "2027-03-28T21:30:00Z",
                    "2027-03-28T22:30:00Z",
                    counters(3, 0, 0, 0),
                ),
                followers(&m, "2027-03-28T22:30:00Z", 1100),
            ],
        );
        snapshots.insert(
            x.id,
            vec![
                followers(&x, "2027-03-14T12:00:00Z", 500),
                followers(&x, "2027-03-21T12:00:00Z", 480),
                post_snap(
                    &p3,
                    &x,
                    "2027-03-25T09:00:00Z",
                    "2027-03-25T10:00:00Z",
                    xc(2, 0, 0, 0, 100, 0),
                ),
                post_snap(
                    &p3,
                    &x,
                    "2027-03-25T09:00:00Z",
                    "2027-03-27T10:00:00Z",
                    xc(8, 1, 1, 0, 400, 2),
                ),
                followers(&x, "2027-03-28T12:00:00Z", 470),
            ],
        );

        let now = at("2027-03-29T06:00:00Z");
        let kpi = |metric, channel: Option<ChannelId>, target, period| {
            Kpi::new(metric, channel, target, period, now).unwrap()
        };
        let kpis = vec![
            kpi(KpiMetric::EngagementRate, None, 1.5, PeriodKind::Week),
            kpi(KpiMetric::FollowerGrowth, Some(x.id), 0.0, PeriodKind::Week),
            kpi(KpiMetric::Impressions, Some(m.id), 100.0, PeriodKind::Week),
            kpi(KpiMetric::PostsPublished, None, 10.0, PeriodKind::Fortnight),
        ];

        let rival = Competitor::new(
            CompetitorFields::parse(Network::Bluesky, "rival.bsky.social", Some("Rival"), None)
                .unwrap(),
            now,
        );
        let public = |id: &str, created: &str, c: Counters| PublicPost {
            id: id.into(),
            created_at: at(created),
            url: None,
            counters: c,
        };
        let rival_subject = Subject::Competitor {
            competitor_id: rival.id,
        };
        let mut competitor_snapshots = HashMap::new();
        competitor_snapshots.insert(
            rival.id,
            vec![
                Snapshot {
                    counters: Counters {
                        followers: Some(300),
                        ..Counters::default()
                    },
                    ..snap(
                        rival_subject,
                        Network::Bluesky,
                        "2027-03-21T20:00:00Z",
                        Counters::default(),
                    )
                },
                Snapshot {
                    counters: Counters {
                        followers: Some(330),
                        ..Counters::default()
                    },
                    recent_posts: vec![
                        public("b", "2027-03-26T08:00:00Z", counters(3, 0, 1, 0)),
                        public("a", "2027-03-23T08:00:00Z", counters(5, 1, 0, 0)),
                        public("c", "2027-03-19T08:00:00Z", counters(50, 0, 0, 0)),
                    ],
                    ..snap(
                        rival_subject,
                        Network::Bluesky,
                        "2027-03-28T20:00:00Z",
                        Counters::default(),
                    )
                },
            ],
        );

        let channels = vec![m.clone(), x.clone()];
        let posts = vec![p1.clone(), p2.clone(), p3.clone()];
        let competitors = vec![rival.clone()];
        let report = build_report(&ReportInput {
            brand: &brand,
            period,
            previous,
            generated_at: now,
            channels: &channels,
            snapshots: &snapshots,
            published: &PublishedTarget::all(&posts),
            kpis: &kpis,
            competitors: &competitors,
            competitor_snapshots: &competitor_snapshots,
        });

        // Mastodon. P1: 10/2/1/0 at the start, 20/4/3/1 at the end: +10 +2 +2 +1 = 15.
        // P2 was published in the period but first read after its end: 0 for now.
        let mc = &report.channels[0].current;
        assert_eq!(mc.posts_published, 1);
        assert_eq!(
            (mc.likes, mc.reposts, mc.replies, mc.quotes),
            (Some(10), Some(2), Some(2), Some(1))
        );
        assert_eq!(mc.engagement, Some(15));
        assert_eq!(mc.views, None, "Mastodon counts no views: n/a, not 0");
        assert_eq!(
            (mc.followers_start, mc.followers_end, mc.follower_growth),
            (Some(1010), Some(1040), Some(30))
        );
        // 15 / 1040 followers = 1.44 %.
        assert_eq!(mc.engagement_rate, Some(1.44));
        assert_eq!(mc.engagement_rate_basis, Some(RateBasis::Followers));
        // Previous week: P1 counted from zero (published inside the window) to 10/2/1/0 = 13;
        // 13 / 1010 = 1.29 %.
        let mp = &report.channels[0].previous;
        assert_eq!(
            (mp.posts_published, mp.engagement, mp.engagement_rate),
            (1, Some(13), Some(1.29))
        );
        assert_eq!(mp.follower_growth, Some(10));
        let mchange = &report.channels[0].change;
        assert_eq!(mchange.engagement.absolute, Some(2.0));
        assert_eq!(mchange.engagement.percent, Some(15.38));
        assert_eq!(mchange.engagement_rate.absolute, Some(0.15));

        // X. P3 from zero to 8/1/1/0, 2 saves, 400 views: engagement 12, 12 / 400 = 3 %.
        let xcur = &report.channels[1].current;
        assert_eq!(
            (xcur.engagement, xcur.views, xcur.saves),
            (Some(12), Some(400), Some(2))
        );
        assert_eq!(xcur.engagement_rate, Some(3.0));
        assert_eq!(xcur.engagement_rate_basis, Some(RateBasis::Views));
        assert_eq!(xcur.follower_growth, Some(-10));
        // The previous week had no X posts: 0 views, so no rate (not 0 %).
        let xprev = &report.channels[1].previous;
        assert_eq!(
            (xprev.views, xprev.engagement, xprev.engagement_rate),
            (Some(0), Some(0), None)
        );

        // Total: 27 engagement; Mastodon counts no views, so per follower: 27 / 1510 = 1.79 %.
        let t = &report.total;
        assert_eq!(t.current.posts_published, 2);
        assert_eq!(t.current.engagement, Some(27));
        assert_eq!(t.current.engagement_rate, Some(1.79));
        assert_eq!(t.current.engagement_rate_basis, Some(RateBasis::Followers));
        assert_eq!(
            (t.current.follower_growth, t.previous.follower_growth),
            (Some(20), Some(-10))
        );
        assert_eq!(t.change.follower_growth.absolute, Some(30.0));
        assert_eq!(t.change.follower_growth.percent, Some(300.0));

        // KPIs: the fortnightly one is not in a weekly report.
        assert_eq!(report.kpis.len(), 3);
        let rate = &report.kpis[0];
        assert_eq!(
            (rate.outcome, rate.actual, rate.difference),
            (KpiOutcome::Met, Some(1.79), Some(0.29))
        );
        assert_eq!(rate.difference_percent, Some(19.33));
        let growth_kpi = &report.kpis[1];
        assert_eq!(
            (growth_kpi.outcome, growth_kpi.difference),
            (KpiOutcome::Missed, Some(-10.0))
        );
        assert_eq!(
            growth_kpi.difference_percent, None,
            "a target of 0 has no percentage"
        );
        assert_eq!(report.kpis[2].outcome, KpiOutcome::NotAvailable);
        assert_eq!(report.kpis[2].scope, "Mastodon");

        // Top posts: P1 (15) before P3 (12); P2 gained nothing yet.
        let top: Vec<_> = report
            .top_posts
            .iter()
            .map(|p| (p.excerpt.as_str(), p.engagement))
            .collect();
        assert_eq!(top, vec![("first", Some(15)), ("third", Some(12))]);

        // Days: Monday P1 13 -> 20 (+7); Thursday P3 0 -> 2; Saturday P3 2 -> 12 (+10);
        // Sunday (23 hours) P1 20 -> 28 (+8). They add up to the week's 27.
        let per_day: Vec<_> = report.days.iter().map(|d| d.engagement.unwrap()).collect();
        assert_eq!(per_day, vec![7, 0, 0, 2, 0, 10, 8]);
        assert_eq!(per_day.iter().sum::<u64>(), 27);
        assert_eq!(report.days[6].date, jiff::civil::date(2027, 3, 28));
        assert_eq!(report.days[6].posts_published, 1);
        assert_eq!(report.days[3].views, Some(100));
        let m_followers = &report.followers[0].followers;
        assert_eq!(
            m_followers,
            &vec![Some(1010); 6]
                .into_iter()
                .chain([Some(1040)])
                .collect::<Vec<_>>()
        );

        // The competitor: 300 -> 330; posts a and b in the week, 6 + 4 engagement.
        let r = &report.competitors[0];
        assert_eq!((r.followers_end, r.follower_growth), (Some(330), Some(30)));
        assert_eq!(
            (r.posts_published, r.engagement, r.engagement_per_post),
            (Some(2), Some(10), Some(5.0))
        );
    }

    mod saturation {
        //! Counters come from the networks' answers: whatever they say, the report's arithmetic
        //! must neither panic nor wrap. Sums stop at `u64::MAX`, differences at `i64`'s bounds.

        use proptest::prelude::*;

        use super::*;

        /// Counters at or near the top of `u64`, and some anywhere.
        fn counter() -> impl Strategy<Value = u64> {
            prop_oneof![
                Just(u64::MAX),
                (u64::MAX - 1_000_000)..=u64::MAX,
                (u64::MAX / 2 - 1_000)..=(u64::MAX / 2 + 1_000),
                any::<u64>(),
            ]
        }

        /// likes, reposts, replies, quotes, views, saves.
        fn post_counters() -> impl Strategy<Value = [u64; 6]> {
            proptest::array::uniform6(counter())
        }

        fn capped(sum: u128) -> u64 {
            u64::try_from(sum).unwrap_or(u64::MAX)
        }

        fn clamped(difference: i128) -> i64 {
            i64::try_from(difference).unwrap_or(if difference < 0 { i64::MIN } else { i64::MAX })
        }

        fn x_counters(c: [u64; 6]) -> Counters {
            Counters {
                likes: Some(c[0]),
                reposts: Some(c[1]),
                replies: Some(c[2]),
                quotes: Some(c[3]),
                views: Some(c[4]),
                saves: Some(c[5]),
                ..Counters::default()
            }
        }

        fn engagement_of(c: &[u64; 6]) -> u128 {
            [c[0], c[1], c[2], c[3], c[5]]
                .into_iter()
                .map(u128::from)
                .sum()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(128))]

            #[test]
            fn huge_counters_saturate_instead_of_wrapping(
                posts in proptest::collection::vec(
                    proptest::collection::vec(post_counters(), 1..=3),
                    2..=2,
                ),
                accounts in proptest::collection::vec((counter(), counter()), 2..=2),
                rival_posts in proptest::collection::vec(
                    (counter(), counter(), counter(), counter()),
                    1..=3,
                ),
                rival_followers in (counter(), counter()),
            ) {
                check(&posts, &accounts, &rival_posts, rival_followers)?;
            }
        }

        /// Two X channels whose posts have the counters `posts` and whose followers go from
        /// `accounts.0` to `accounts.1`, and a competitor with `rival_posts` (likes, reposts,
        /// replies, quotes): every figure is the exact sum or difference, capped.
        fn check(
            posts: &[Vec<[u64; 6]>],
            accounts: &[(u64, u64)],
            rival_posts: &[(u64, u64, u64, u64)],
            rival_followers: (u64, u64),
        ) -> Result<(), TestCaseError> {
            let brand = Brand::create(
                crate::domain::BrandId::parse("acme").unwrap(),
                BrandProfile::parse("Acme", "Europe/Rome", false).unwrap(),
                at("2027-01-01T00:00:00Z"),
            );
            let zone = &brand.time_zone;
            let period =
                Period::ending(PeriodKind::Week, jiff::civil::date(2027, 3, 28), zone).unwrap();
            let previous = period.previous(zone).unwrap();
            let channels: Vec<Channel> = (0..2)
                .map(|i| channel(Network::X, &format!("X {i}"), json!({})))
                .collect();
            // Every post goes out on Wednesday and is read once on Thursday: each channel
            // gains exactly its posts' counters, all on one day.
            let published = "2027-03-24T09:00:00Z";
            let mut all_posts = Vec::new();
            let mut snapshots = HashMap::new();
            for ((ch, counters), (start, end)) in channels.iter().zip(posts).zip(accounts) {
                let mut list = vec![
                    followers(ch, "2027-03-21T12:00:00Z", *start),
                    followers(ch, "2027-03-26T12:00:00Z", *end),
                ];
                for (i, c) in counters.iter().enumerate() {
                    let post = published_post(&format!("post-{i}"), ch, published);
                    list.push(post_snap(
                        &post,
                        ch,
                        published,
                        "2027-03-25T12:00:00Z",
                        x_counters(*c),
                    ));
                    all_posts.push(post);
                }
                snapshots.insert(ch.id, list);
            }

            let rival = Competitor::new(
                CompetitorFields::parse(Network::Bluesky, "rival.bsky.social", None, None).unwrap(),
                at("2027-01-01T00:00:00Z"),
            );
            let subject = Subject::Competitor {
                competitor_id: rival.id,
            };
            let rival_snapshot = |taken: &str, followers: u64, recent: Vec<PublicPost>| Snapshot {
                counters: Counters {
                    followers: Some(followers),
                    ..Counters::default()
                },
                recent_posts: recent,
                ..snap(subject, Network::Bluesky, taken, Counters::default())
            };
            let recent = rival_posts
                .iter()
                .enumerate()
                .map(|(i, (l, r, re, q))| PublicPost {
                    id: format!("p{i}"),
                    created_at: at("2027-03-23T08:00:00Z"),
                    url: None,
                    counters: counters(*l, *r, *re, *q),
                })
                .collect();
            let mut competitor_snapshots = HashMap::new();
            competitor_snapshots.insert(
                rival.id,
                vec![
                    rival_snapshot("2027-03-21T20:00:00Z", rival_followers.0, vec![]),
                    rival_snapshot("2027-03-28T20:00:00Z", rival_followers.1, recent),
                ],
            );

            let report = build_report(&ReportInput {
                brand: &brand,
                period,
                previous,
                generated_at: at("2027-03-29T06:00:00Z"),
                channels: &channels,
                snapshots: &snapshots,
                published: &PublishedTarget::all(&all_posts),
                kpis: &[],
                competitors: std::slice::from_ref(&rival),
                competitor_snapshots: &competitor_snapshots,
            });

            // Each channel: its posts' counters summed, capped at u64::MAX.
            let mut all_engagement = 0u128;
            let mut all_views = 0u128;
            let mut all_followers = 0u128;
            let mut all_growth = 0i128;
            for (row, (counters, (start, end))) in
                report.channels.iter().zip(posts.iter().zip(accounts))
            {
                let sum = |i: usize| capped(counters.iter().map(|c| u128::from(c[i])).sum());
                let f = &row.current;
                prop_assert_eq!(f.likes, Some(sum(0)));
                prop_assert_eq!(f.reposts, Some(sum(1)));
                prop_assert_eq!(f.replies, Some(sum(2)));
                prop_assert_eq!(f.quotes, Some(sum(3)));
                prop_assert_eq!(f.views, Some(sum(4)));
                prop_assert_eq!(f.saves, Some(sum(5)));
                let engagement: u128 = counters.iter().map(engagement_of).sum();
                prop_assert_eq!(f.engagement, Some(capped(engagement)));
                let growth = clamped(i128::from(*end) - i128::from(*start));
                prop_assert_eq!(f.follower_growth, Some(growth));
                prop_assert!(f.engagement_rate.is_none_or(f64::is_finite));
                all_engagement += engagement;
                all_views += counters.iter().map(|c| u128::from(c[4])).sum::<u128>();
                all_followers += u128::from(*end);
                all_growth += i128::from(growth);
            }

            // All channels: the same sums, capped; never a small number from a wrap.
            let t = &report.total.current;
            prop_assert_eq!(t.engagement, Some(capped(all_engagement)));
            prop_assert_eq!(t.views, Some(capped(all_views)));
            prop_assert_eq!(t.followers_end, Some(capped(all_followers)));
            prop_assert_eq!(t.follower_growth, Some(clamped(all_growth)));
            prop_assert!(t.engagement_rate.is_none_or(f64::is_finite));
            if all_engagement > u128::from(u64::MAX) {
                prop_assert_eq!(t.engagement, Some(u64::MAX));
            }

            // The days: everything was gained on Thursday.
            let thursday = &report.days[3];
            prop_assert_eq!(thursday.engagement, Some(capped(all_engagement)));
            prop_assert_eq!(thursday.views, Some(capped(all_views)));

            // The competitor: its posts' engagement summed, capped.
            let r = &report.competitors[0];
            let rival_engagement = rival_posts
                .iter()
                .map(|(l, r, re, q)| {
                    u128::from(capped([*l, *r, *re, *q].into_iter().map(u128::from).sum()))
                })
                .sum();
            prop_assert_eq!(r.engagement, Some(capped(rival_engagement)));
            prop_assert_eq!(
                r.follower_growth,
                Some(clamped(
                    i128::from(rival_followers.1) - i128::from(rival_followers.0)
                ))
            );
            prop_assert!(r.engagement_per_post.is_some_and(f64::is_finite));

            // And the report renders in every format.
            for format in crate::reports::Format::ALL {
                prop_assert!(!crate::reports::render(&report, format).is_empty());
            }
            Ok(())
        }
    }
}
