//! A hand-built report for tests and previews: a coffee roaster's week on Mastodon, Bluesky and
//! Instagram, with KPIs met, missed and not available, competitors, some figures not available
//! (Mastodon and Bluesky count no views, a missed snapshot) and a post excerpt with markup in it.

use jiff::Timestamp;
use jiff::civil::date;

use crate::domain::business_hours::{median, percentile, share_within};
use crate::domain::inbox_stats::ResponseFigures;
use crate::domain::report::{
    Change, ChannelFigures, Community, CommunityDay, CommunityRow, CompetitorFigures, Day,
    Definition, Delta, Figures, FollowerSeries, KeyMember, KpiOutcome, KpiStatus, Period,
    RateBasis, Report, TopPost,
};
use crate::domain::{ChannelId, KpiMetric, Network, PeriodKind};

fn at(instant: &str) -> Timestamp {
    instant.parse().expect("a valid instant in the sample")
}

fn channel_id(raw: &str) -> ChannelId {
    ChannelId::parse(raw).expect("a valid channel id in the sample")
}

fn delta(current: Option<f64>, previous: Option<f64>) -> Delta {
    let (Some(current), Some(previous)) = (current, previous) else {
        return Delta::default();
    };
    Delta {
        absolute: Some(current - previous),
        percent: (previous != 0.0).then(|| (current - previous) / previous.abs() * 100.0),
    }
}

fn change(current: &Figures, previous: &Figures) -> Change {
    let count = |f: &Figures, get: fn(&Figures) -> Option<u64>| get(f).map(|v| v as f64);
    Change {
        posts_published: delta(
            Some(current.posts_published as f64),
            Some(previous.posts_published as f64),
        ),
        views: delta(count(current, |f| f.views), count(previous, |f| f.views)),
        engagement: delta(
            count(current, |f| f.engagement),
            count(previous, |f| f.engagement),
        ),
        engagement_rate: delta(current.engagement_rate, previous.engagement_rate),
        follower_growth: delta(
            current.follower_growth.map(|g| g as f64),
            previous.follower_growth.map(|g| g as f64),
        ),
    }
}

fn channel(
    id: Option<&str>,
    name: &str,
    network: Option<Network>,
    current: Figures,
    previous: Figures,
) -> ChannelFigures {
    ChannelFigures {
        channel_id: id.map(channel_id),
        name: name.to_owned(),
        network,
        change: change(&current, &previous),
        current,
        previous,
    }
}

/// Figures of a network that counts no views, so the engagement rate is of followers.
fn without_views(
    posts: u64,
    likes: u64,
    reposts: u64,
    replies: u64,
    quotes: Option<u64>,
    followers_start: Option<u64>,
    followers_end: u64,
) -> Figures {
    let engagement = likes + reposts + replies + quotes.unwrap_or(0);
    Figures {
        posts_published: posts,
        likes: Some(likes),
        reposts: Some(reposts),
        replies: Some(replies),
        quotes,
        engagement: Some(engagement),
        engagement_rate: Some(engagement as f64 / followers_end as f64 * 100.0),
        engagement_rate_basis: Some(RateBasis::Followers),
        followers_start,
        followers_end: Some(followers_end),
        follower_growth: followers_start.map(|s| followers_end as i64 - s as i64),
        ..Figures::default()
    }
}

fn instagram(posts: u64, views: u64, reach: u64, likes: u64, replies: u64, saves: u64) -> Figures {
    let engagement = likes + replies + saves;
    Figures {
        posts_published: posts,
        views: Some(views),
        reach: Some(reach),
        likes: Some(likes),
        replies: Some(replies),
        saves: Some(saves),
        clicks: Some(saves / 3),
        engagement: Some(engagement),
        engagement_rate: Some(engagement as f64 / views as f64 * 100.0),
        engagement_rate_basis: Some(RateBasis::Views),
        ..Figures::default()
    }
}

fn kpi(
    metric: KpiMetric,
    channel: Option<(&str, &str)>,
    target: f64,
    actual: Option<f64>,
) -> KpiStatus {
    let difference = actual.map(|a| a - target);
    let direction = metric.usual_direction();
    KpiStatus {
        kpi_id: format!("kpi-{}", metric.as_str()),
        metric,
        channel_id: channel.map(|(id, _)| channel_id(id)),
        scope: channel.map_or("All channels", |(_, name)| name).to_owned(),
        target,
        direction,
        actual,
        outcome: match actual {
            None => KpiOutcome::NotAvailable,
            Some(a) if direction.met(a, target) => KpiOutcome::Met,
            Some(_) => KpiOutcome::Missed,
        },
        difference,
        difference_percent: difference
            .filter(|_| target != 0.0)
            .map(|d| d / target * 100.0),
    }
}

/// Response figures from counts and business minutes (those answered), by the domain's own
/// statistics.
fn responses(interactions: usize, ignored: usize, times: &[i64], target: i64) -> ResponseFigures {
    let needing_answer = interactions - ignored;
    let answered = times.len();
    ResponseFigures {
        interactions,
        needing_answer,
        answered,
        response_rate: (needing_answer > 0).then(|| answered as f64 / needing_answer as f64),
        first_response_median_minutes: median(&mut times.to_vec()),
        first_response_p90_minutes: percentile(&mut times.to_vec(), 90),
        within_target: share_within(times, target),
    }
}

fn post(
    id: &str,
    (channel_id, channel_name, network): (&str, &str, Network),
    excerpt: &str,
    published_at: &str,
    url: Option<&str>,
    engagement: u64,
    views: Option<u64>,
) -> TopPost {
    TopPost {
        post_id: id.to_owned(),
        channel_id: self::channel_id(channel_id),
        channel_name: channel_name.to_owned(),
        network,
        excerpt: excerpt.to_owned(),
        published_at: at(published_at),
        url: url.map(str::to_owned),
        engagement: Some(engagement),
        views,
    }
}

/// The week of Monday 1 to Sunday 7 March 2027 in Europe/Rome.
pub fn sample_report() -> Report {
    let community = sample_community();
    const MASTODON: (&str, &str, Network) = (
        "01JNKQ00000000000000000001",
        "@acme@mastodon.social",
        Network::Mastodon,
    );
    const BLUESKY: (&str, &str, Network) = (
        "01JNKQ00000000000000000002",
        "@acme.coffee",
        Network::Bluesky,
    );
    const INSTAGRAM: (&str, &str, Network) = (
        "01JNKQ00000000000000000003",
        "@acmecoffee",
        Network::Instagram,
    );

    let mastodon = channel(
        Some(MASTODON.0),
        MASTODON.1,
        Some(MASTODON.2),
        without_views(6, 184, 52, 23, None, Some(2_101), 2_140),
        without_views(5, 151, 44, 19, None, Some(2_070), 2_101),
    );
    // No snapshot of the Bluesky account on the first day: its start and growth are not available.
    let bluesky = channel(
        Some(BLUESKY.0),
        BLUESKY.1,
        Some(BLUESKY.2),
        without_views(5, 312, 64, 41, Some(12), None, 3_480),
        without_views(6, 330, 70, 45, Some(10), Some(3_360), 3_420),
    );
    let mut instagram_current = instagram(4, 38_200, 21_400, 1_920, 143, 211);
    instagram_current.followers_start = Some(18_420);
    instagram_current.followers_end = Some(18_655);
    instagram_current.follower_growth = Some(235);
    let mut instagram_previous = instagram(4, 31_950, 18_700, 1_604, 121, 155);
    instagram_previous.followers_start = Some(18_210);
    instagram_previous.followers_end = Some(18_420);
    instagram_previous.follower_growth = Some(210);
    let instagram = channel(
        Some(INSTAGRAM.0),
        INSTAGRAM.1,
        Some(INSTAGRAM.2),
        instagram_current,
        instagram_previous,
    );

    let sum = |figures: &[&Figures]| -> Figures {
        let add = |get: fn(&Figures) -> Option<u64>| {
            figures.iter().filter_map(|f| get(f)).reduce(|a, b| a + b)
        };
        Figures {
            posts_published: figures.iter().map(|f| f.posts_published).sum(),
            views: add(|f| f.views),
            reach: add(|f| f.reach),
            likes: add(|f| f.likes),
            reposts: add(|f| f.reposts),
            replies: add(|f| f.replies),
            quotes: add(|f| f.quotes),
            clicks: add(|f| f.clicks),
            saves: add(|f| f.saves),
            engagement: add(|f| f.engagement),
            // Views are counted on one network only, so no rate is fair for all channels.
            engagement_rate: None,
            engagement_rate_basis: None,
            followers_start: None,
            followers_end: add(|f| f.followers_end),
            follower_growth: figures
                .iter()
                .filter_map(|f| f.follower_growth)
                .reduce(|a, b| a + b),
        }
    };
    let total = channel(
        None,
        "All channels",
        None,
        sum(&[&mastodon.current, &bluesky.current, &instagram.current]),
        sum(&[&mastodon.previous, &bluesky.previous, &instagram.previous]),
    );

    let days: Vec<Day> = [
        (1, 3, Some(512), Some(5_400)),
        (2, 2, Some(468), Some(6_100)),
        (3, 2, Some(395), Some(4_800)),
        (4, 3, None, None),
        (5, 1, Some(610), Some(7_900)),
        (6, 2, Some(530), Some(7_300)),
        (7, 2, Some(447), Some(6_700)),
    ]
    .into_iter()
    .map(|(day, posts, engagement, views)| Day {
        date: date(2027, 3, day),
        posts_published: posts,
        engagement,
        views,
    })
    .collect();

    let series =
        |(id, name, network): (&str, &str, Network), followers: [Option<u64>; 7]| FollowerSeries {
            channel_id: channel_id(id),
            name: name.to_owned(),
            network,
            followers: followers.to_vec(),
        };

    Report {
        brand_id: "brand-acme".into(),
        brand_name: "Acme Coffee Roasters".into(),
        time_zone: "Europe/Rome".into(),
        period: Period {
            kind: PeriodKind::Week,
            first_day: date(2027, 3, 1),
            last_day: date(2027, 3, 7),
            start: at("2027-02-28T23:00:00Z"),
            end: at("2027-03-07T23:00:00Z"),
        },
        previous_period: Period {
            kind: PeriodKind::Week,
            first_day: date(2027, 2, 22),
            last_day: date(2027, 2, 28),
            start: at("2027-02-21T23:00:00Z"),
            end: at("2027-02-28T23:00:00Z"),
        },
        generated_at: at("2027-03-08T07:00:00Z"),
        kpis: vec![
            kpi(
                KpiMetric::EngagementRate,
                Some((INSTAGRAM.0, INSTAGRAM.1)),
                5.0,
                instagram.current.engagement_rate,
            ),
            kpi(KpiMetric::FollowerGrowth, None, 300.0, Some(274.0)),
            kpi(
                KpiMetric::Impressions,
                Some((MASTODON.0, MASTODON.1)),
                5_000.0,
                None,
            ),
            kpi(KpiMetric::PostsPublished, None, 14.0, Some(15.0)),
            kpi(
                KpiMetric::Engagement,
                Some((BLUESKY.0, BLUESKY.1)),
                500.0,
                Some(429.0),
            ),
            kpi(
                KpiMetric::FirstResponseMedianMinutes,
                None,
                60.0,
                community
                    .total
                    .as_ref()
                    .and_then(|t| t.current.first_response_median_minutes),
            ),
            kpi(
                KpiMetric::ResponseRate,
                None,
                90.0,
                community
                    .total
                    .as_ref()
                    .and_then(|t| t.current.response_rate)
                    .map(|r| (r * 1000.0).round() / 10.0),
            ),
        ],
        community,
        total,
        channels: vec![mastodon, bluesky, instagram],
        top_posts: vec![
            post(
                "p1",
                INSTAGRAM,
                "Spring blend is here: notes of cherry, cocoa & a hint of orange. Caff\u{e8} della primavera!",
                "2027-03-01T08:30:00Z",
                Some("https://www.instagram.com/p/spring-blend/"),
                812,
                Some(14_300),
            ),
            post(
                "p2",
                INSTAGRAM,
                "Behind the roaster: meet Giulia, who has tasted every batch since 2019",
                "2027-03-05T16:00:00Z",
                Some("https://www.instagram.com/p/meet-giulia/"),
                604,
                Some(11_020),
            ),
            post(
                "p3",
                BLUESKY,
                "We asked 200 baristas \"what's the one tool you can't live without?\" \u{2014} a thread",
                "2027-03-02T11:15:00Z",
                Some("https://bsky.app/profile/acme.coffee/post/3kbaristas"),
                188,
                None,
            ),
            post(
                "p4",
                MASTODON,
                "<script>alert('decaf')</script> is not a coffee, but our new decaf is. \
                 Free tasting, any shop, this week",
                "2027-03-03T09:45:00Z",
                Some("https://mastodon.social/@acme/112233"),
                141,
                None,
            ),
            post(
                "p5",
                BLUESKY,
                "Cold brew, without the wait:\n1. coarse grind\n2. twelve hours\n3. enjoy",
                "2027-03-06T18:20:00Z",
                None,
                97,
                None,
            ),
        ],
        competitors: vec![
            CompetitorFigures {
                competitor_id: "cp-bean-there".into(),
                name: "Bean There".into(),
                handle: "@beanthere@mastodon.social".into(),
                network: Network::Mastodon,
                followers_end: Some(3_904),
                // Followed since Wednesday: no count at the start of the period.
                follower_growth: None,
                posts_published: Some(9),
                engagement: Some(301),
                engagement_per_post: Some(301.0 / 9.0),
            },
            CompetitorFigures {
                competitor_id: "cp-roastery-nord".into(),
                name: "Roastery Nord".into(),
                handle: "@roasterynord".into(),
                network: Network::Instagram,
                followers_end: Some(24_880),
                follower_growth: Some(410),
                posts_published: Some(6),
                engagement: Some(3_020),
                engagement_per_post: Some(3_020.0 / 6.0),
            },
        ],
        days,
        followers: vec![
            series(
                MASTODON,
                [
                    Some(2_105),
                    Some(2_110),
                    Some(2_118),
                    Some(2_121),
                    Some(2_127),
                    Some(2_133),
                    Some(2_140),
                ],
            ),
            series(
                BLUESKY,
                [
                    None,
                    None,
                    Some(3_441),
                    Some(3_452),
                    Some(3_460),
                    Some(3_471),
                    Some(3_480),
                ],
            ),
            series(
                INSTAGRAM,
                [
                    Some(18_450),
                    Some(18_489),
                    Some(18_520),
                    None,
                    Some(18_590),
                    Some(18_630),
                    Some(18_655),
                ],
            ),
        ],
        definitions: [
            (
                "Posts published",
                "Posts that went live on the channel during the period's local days.",
            ),
            (
                "Views",
                "Impressions the network counted during the period. Mastodon and Bluesky count \
                 none, so theirs are not available.",
            ),
            (
                "Engagement",
                "Likes + reposts + replies + quotes + saves gained during the period, on any post \
                 of the channel, from the difference of two snapshots.",
            ),
            (
                "Engagement rate",
                "Engagement \u{f7} views \u{d7} 100; where the network counts no views, \
                 engagement \u{f7} followers at the end of the period \u{d7} 100.",
            ),
            (
                "Follower growth",
                "Followers at the end of the period minus followers at its start, from the daily \
                 account snapshots.",
            ),
            (
                "Change",
                "This period minus the previous one of the same length; % is relative to the \
                 previous period, pp are percentage points.",
            ),
        ]
        .into_iter()
        .map(|(figure, how)| Definition {
            figure: figure.to_owned(),
            how: how.to_owned(),
        })
        .collect(),
        sandbox: None,
    }
}

/// Twelve interactions on Mastodon and nine on Bluesky, one of them ignored, against a 60-minute
/// target.
fn sample_community() -> Community {
    let mastodon = [4, 12, 25, 31, 48, 55, 70, 95, 140, 260];
    let bluesky = [9, 15, 22, 38, 41, 66, 180];
    let all: Vec<i64> = mastodon.iter().chain(&bluesky).copied().collect();
    let row = |id: Option<&str>, name: &str, network, current, previous| CommunityRow {
        channel_id: id.map(channel_id),
        name: name.to_owned(),
        network,
        current,
        previous,
    };
    let received = [5, 3, 4, 2, 4, 1, 2];
    let answered = [5, 3, 4, 2, 2, 1, 0];
    let member = |id: &str, name: &str, handle: &str, network, interactions| KeyMember {
        person_id: id.to_owned(),
        name: name.to_owned(),
        handle: handle.to_owned(),
        network,
        interactions,
    };
    Community {
        key_members: vec![
            member(
                "01JNKQ0000000000000000P001",
                "Ada Rossi",
                "ada@social.example",
                Network::Mastodon,
                4,
            ),
            member(
                "01JNKQ0000000000000000P002",
                "Bruno Conti",
                "bruno.bsky.social",
                Network::Bluesky,
                3,
            ),
            member(
                "01JNKQ0000000000000000P003",
                "Chiara Neri",
                "chiara@social.example",
                Network::Mastodon,
                2,
            ),
        ],
        target_minutes: 60,
        total: Some(row(
            None,
            "All channels",
            None,
            responses(21, 1, &all, 60),
            responses(17, 0, &[20, 35, 50, 62, 75, 90, 120, 300], 60),
        )),
        channels: vec![
            row(
                Some("01JNKQ00000000000000000001"),
                "@acme@mastodon.social",
                Some(Network::Mastodon),
                responses(12, 0, &mastodon, 60),
                responses(9, 0, &[20, 50, 62, 90, 300], 60),
            ),
            row(
                Some("01JNKQ00000000000000000002"),
                "@acme.coffee",
                Some(Network::Bluesky),
                responses(9, 1, &bluesky, 60),
                responses(8, 0, &[35, 75, 120], 60),
            ),
            row(
                Some("01JNKQ00000000000000000003"),
                "@acmecoffee",
                Some(Network::Instagram),
                ResponseFigures::default(),
                ResponseFigures::default(),
            ),
        ],
        days: (1..=7)
            .map(|d| CommunityDay {
                date: date(2027, 3, d),
                received: received[d as usize - 1],
                answered: answered[d as usize - 1],
            })
            .collect(),
        partial: false,
    }
}
