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

use super::inbox::Interaction;
use super::metrics::{COUNTER_NAMES, Counters, MAX_SNAPSHOT_GAP, Snapshot, Subject};
use super::report::{
    Change, ChannelFigures, Community, CommunityRow, CompetitorFigures, Day, Definition, Delta,
    Figures, FollowerSeries, KpiOutcome, KpiStatus, Period, RateBasis, Report, TopPost,
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
                    channel_id: t.channel_id,
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
    /// The interactions received in both periods (at least), for the community section.
    pub interactions: &'a [Interaction],
    /// There were more interactions than were read.
    pub interactions_partial: bool,
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
        Network::Sandbox => &["likes", "reposts", "replies", "quotes", "views", "saves"],
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

fn actual(metric: KpiMetric, f: &Figures, community: Option<&CommunityRow>) -> Option<f64> {
    match metric {
        KpiMetric::EngagementRate => f.engagement_rate,
        KpiMetric::FollowerGrowth => f.follower_growth.map(|g| g as f64),
        KpiMetric::Impressions => f.views.map(|v| v as f64),
        KpiMetric::Engagement => f.engagement.map(|v| v as f64),
        KpiMetric::Reach => f.reach.map(|v| v as f64),
        KpiMetric::PostsPublished => Some(f.posts_published as f64),
        KpiMetric::FirstResponseMedianMinutes => {
            community.and_then(|c| c.current.first_response_median_minutes)
        }
        KpiMetric::ResponseRate => community
            .and_then(|c| c.current.response_rate)
            .map(|r| round2(r * 100.0)),
    }
}

fn kpi_status(
    kpi: &Kpi,
    rows: &[ChannelFigures],
    total: &ChannelFigures,
    community: &Community,
) -> KpiStatus {
    let row = match &kpi.channel {
        None => Some(total),
        Some(id) => rows.iter().find(|r| r.channel_id.as_ref() == Some(id)),
    };
    let scope = match (&kpi.channel, row) {
        (None, _) => "All channels".to_owned(),
        (Some(_), Some(r)) => r.name.clone(),
        (Some(id), None) => format!("deleted channel {id}"),
    };
    let community = community::row_of(community, kpi.channel.as_ref());
    let actual = row.and_then(|r| actual(kpi.metric, &r.current, community));
    let difference = actual.map(|a| round2(a - kpi.target));
    let direction = kpi.direction();
    KpiStatus {
        kpi_id: kpi.id.to_string(),
        metric: kpi.metric,
        channel_id: kpi.channel,
        scope,
        target: kpi.target,
        direction,
        actual,
        outcome: match actual {
            None => KpiOutcome::NotAvailable,
            Some(a) if direction.met(a, kpi.target) => KpiOutcome::Met,
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
///
/// Sandbox channels (simulated figures) are reported apart, in `report.sandbox`, with the KPI
/// targets of those channels and the competitors on the sandbox: they never enter the brand's
/// totals, its all-channel targets or its competitor comparison.
pub fn build_report(input: &ReportInput<'_>) -> Report {
    let (simulated, real): (Vec<Channel>, Vec<Channel>) = input
        .channels
        .iter()
        .cloned()
        .partition(|c| c.network.is_simulated());
    let (simulated_rivals, rivals): (Vec<Competitor>, Vec<Competitor>) = input
        .competitors
        .iter()
        .cloned()
        .partition(|c| c.network.is_simulated());
    let (simulated_kpis, kpis): (Vec<Kpi>, Vec<Kpi>) = input.kpis.iter().cloned().partition(|k| {
        k.channel
            .is_some_and(|id| simulated.iter().any(|c| c.id == id))
    });
    let mut report = build_section(&ReportInput {
        channels: &real,
        competitors: &rivals,
        kpis: &kpis,
        ..*input
    });
    if !simulated.is_empty() || !simulated_rivals.is_empty() {
        let mut sandbox = build_section(&ReportInput {
            channels: &simulated,
            competitors: &simulated_rivals,
            kpis: &simulated_kpis,
            ..*input
        });
        sandbox.total.name = SANDBOX_TOTAL.into();
        sandbox.definitions = Vec::new();
        report.sandbox = Some(Box::new(sandbox));
    }
    report
}

mod community;

/// The name of the sandbox section's total row.
pub const SANDBOX_TOTAL: &str = "All sandbox channels (simulated)";

/// One section of a report: the channels, competitors and KPI targets of `input`.
fn build_section(input: &ReportInput<'_>) -> Report {
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
                channel_id: Some(d.channel.id),
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

    let community = community::community(input, input.channels);
    let kpis = input
        .kpis
        .iter()
        .filter(|k| k.period == input.period.kind)
        .map(|k| kpi_status(k, &channels, &total_row, &community))
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
                channel_id: d.channel.id,
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
            channel_id: d.channel.id,
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
        community,
        definitions: definitions(),
        sandbox: None,
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
        ("KPI targets", "Each target has a direction. Met when the period's figure is at least the target (≥), or at most the target (≤) for a response time; the difference is figure minus target. n/a when the figure cannot be computed."),
        ("Interactions", "Replies, comments, mentions, quotes and direct messages people addressed to the brand, counted in the period they were received."),
        ("Response rate", "Interactions answered ÷ interactions needing an answer × 100: all but those the brand ignored and quotes (which share a post rather than address the brand). Answered means the brand replied, from Palinsesto or natively on the network, by the time the report was written."),
        ("First response", "The business minutes (the brand's weekly hours and holidays, in its time zone) from an interaction to the brand's first reply. Median and 90th percentile (nearest rank) over the interactions answered; within target is the share answered within the brand's response target."),
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
mod tests;
