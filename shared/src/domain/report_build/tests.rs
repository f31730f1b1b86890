//! Unit tests for building a report from snapshots, figure by figure.
//!
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
    let period = Period::ending(PeriodKind::Week, jiff::civil::date(2027, 3, 28), zone).unwrap();
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
        interactions: &[],
        interactions_partial: false,
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
            interactions: &[],
            interactions_partial: false,
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
        for format in crate::report_render::Format::ALL {
            prop_assert!(!crate::report_render::render(&report, format).is_empty());
        }
        Ok(())
    }
}

/// The community section, worked out by hand over the same DST week in Rome (Sunday 28 March
/// 2027 lasts 23 hours), with Friday 26 a holiday. The desk opens Monday to Friday 09:00-18:00
/// and Sunday 00:00-12:00 (11 real hours that Sunday); the target is 60 business minutes.
#[test]
fn community_figures_in_business_minutes_across_a_dst_change_and_a_holiday() {
    use crate::domain::business_hours::BusinessHours;
    use crate::domain::inbox::{
        Author, Incoming, Interaction, InteractionKind, InteractionState, ReplyTarget, ResponseVia,
    };

    let mut brand = Brand::create(
        crate::domain::BrandId::parse("acme").unwrap(),
        BrandProfile::parse("Acme", "Europe/Rome", false).unwrap(),
        at("2027-01-01T00:00:00Z"),
    );
    let weekday = json!([["09:00", "18:00"]]);
    brand.inbox.business_hours = BusinessHours::parse(&json!({
        "weekly": {"mon": weekday, "tue": weekday, "wed": weekday, "thu": weekday,
                   "fri": weekday, "sun": [["00:00", "12:00"]]},
        "holidays": ["2027-03-26"]
    }))
    .unwrap();
    brand.inbox.response_target_minutes = 60;
    let zone = &brand.time_zone;
    let period = Period::ending(PeriodKind::Week, jiff::civil::date(2027, 3, 28), zone).unwrap();
    let previous = period.previous(zone).unwrap();
    let m = channel(
        Network::Mastodon,
        "Mastodon",
        json!({"instance_url": "https://social.example"}),
    );
    let b = channel(Network::Bluesky, "Bluesky", json!({}));

    let interaction =
        |channel: &Channel, kind: InteractionKind, created: &str, answered: Option<&str>| {
            let mut i = Interaction::received(
                Incoming {
                    external_id: created.into(),
                    kind,
                    permalink: None,
                    parent: None,
                    root: None,
                    author: Author {
                        id: "p".into(),
                        handle: "@p".into(),
                        name: "P".into(),
                        followers: None,
                    },
                    text: "hello".into(),
                    raw: serde_json::Value::Null,
                    target: ReplyTarget {
                        id: created.into(),
                        cid: None,
                        root_id: None,
                        root_cid: None,
                        visibility: None,
                        chat: None,
                    },
                    created_at: at(created),
                },
                channel.id,
                channel.network,
                None,
                at(created),
            );
            if let Some(a) = answered {
                i.responded(at(a), ResponseVia::Palinsesto);
            }
            i
        };
    let mut ignored = interaction(&m, InteractionKind::Mention, "2027-03-24T13:00:00Z", None);
    ignored.state = InteractionState::Ignored;
    let interactions = vec![
        // Previous week: Tuesday 16 March 11:00 CET, answered at 11:45: 45 minutes.
        interaction(
            &m,
            InteractionKind::Reply,
            "2027-03-16T10:00:00Z",
            Some("2027-03-16T10:45:00Z"),
        ),
        // C. Monday 22, 10:00 -> 10:20 CET: 20 minutes.
        interaction(
            &m,
            InteractionKind::Reply,
            "2027-03-22T09:00:00Z",
            Some("2027-03-22T09:20:00Z"),
        ),
        // D. Tuesday 23, 11:00 CET, not answered: it needs an answer.
        interaction(&m, InteractionKind::Reply, "2027-03-23T10:00:00Z", None),
        // E. Wednesday 24, a quote: it informs, it needs no answer.
        interaction(&m, InteractionKind::Quote, "2027-03-24T11:00:00Z", None),
        // F. Wednesday 24, ignored by the brand.
        ignored,
        // A. Thursday 25 at 17:30 CET, answered Monday 29 at 09:30 CEST: 30 minutes on
        // Thursday, none on the Friday holiday or on Saturday, 11 hours on the short Sunday
        // (00:00-12:00 with 02:00-03:00 skipped), 30 minutes on Monday: 30 + 660 + 30 = 720.
        interaction(
            &b,
            InteractionKind::Reply,
            "2027-03-25T16:30:00Z",
            Some("2027-03-29T07:30:00Z"),
        ),
        // B. Saturday 27 at 23:00 CET, answered Sunday 28 at 04:00 CEST: the desk opens at
        // midnight; 00:00 to 04:00 on the clock is 3 real hours: 180 minutes.
        interaction(
            &b,
            InteractionKind::Mention,
            "2027-03-27T22:00:00Z",
            Some("2027-03-28T02:00:00Z"),
        ),
    ];
    let kpi = |metric, target, direction| {
        let mut k = Kpi::new(
            metric,
            None,
            target,
            PeriodKind::Week,
            at("2027-01-01T00:00:00Z"),
        )
        .unwrap();
        k.direction = direction;
        k
    };
    let kpis = vec![
        kpi(KpiMetric::FirstResponseMedianMinutes, 200.0, None),
        kpi(KpiMetric::FirstResponseMedianMinutes, 100.0, None),
        kpi(KpiMetric::ResponseRate, 80.0, None),
        kpi(
            KpiMetric::ResponseRate,
            70.0,
            Some(crate::domain::KpiDirection::AtMost),
        ),
    ];
    let channels = vec![m.clone(), b.clone()];
    let report = build_report(&ReportInput {
        brand: &brand,
        period,
        previous,
        generated_at: at("2027-03-29T08:00:00Z"),
        channels: &channels,
        snapshots: &HashMap::new(),
        published: &[],
        kpis: &kpis,
        competitors: &[],
        competitor_snapshots: &HashMap::new(),
        interactions: &interactions,
        interactions_partial: false,
    });

    let community = &report.community;
    assert_eq!(community.target_minutes, 60);
    let total = community.total.as_ref().unwrap();
    // Six received; A, B, C and D need an answer; A, B and C have one.
    let now = &total.current;
    assert_eq!(
        (now.interactions, now.needing_answer, now.answered),
        (6, 4, 3)
    );
    assert_eq!(now.response_rate, Some(0.75));
    // [20, 180, 720]: the median is 180, the 90th percentile (rank ⌈0.9 × 3⌉ = 3) is 720, and
    // one of three within 60 minutes.
    assert_eq!(now.first_response_median_minutes, Some(180.0));
    assert_eq!(now.first_response_p90_minutes, Some(720.0));
    assert_eq!(now.within_target, Some(1.0 / 3.0));
    assert_eq!(
        (
            total.previous.interactions,
            total.previous.first_response_median_minutes
        ),
        (1, Some(45.0))
    );
    let bluesky = &community.channels[1];
    assert_eq!(bluesky.channel_id, Some(b.id));
    assert_eq!(
        (
            bluesky.current.answered,
            bluesky.current.first_response_median_minutes
        ),
        (2, Some(450.0))
    );
    let per_day: Vec<(u64, u64)> = community
        .days
        .iter()
        .map(|d| (d.received, d.answered))
        .collect();
    assert_eq!(
        per_day,
        [(1, 1), (1, 0), (2, 0), (1, 1), (0, 0), (1, 1), (0, 0)]
    );

    // A response time is met at most at its target; a rate at least, unless set otherwise.
    let outcomes: Vec<(f64, Option<f64>, KpiOutcome)> = report
        .kpis
        .iter()
        .map(|k| (k.target, k.actual, k.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            (200.0, Some(180.0), KpiOutcome::Met),
            (100.0, Some(180.0), KpiOutcome::Missed),
            (80.0, Some(75.0), KpiOutcome::Missed),
            (70.0, Some(75.0), KpiOutcome::Missed),
        ]
    );
    assert!(
        report
            .definitions
            .iter()
            .any(|d| d.figure == "KPI targets" && d.how.contains("at most"))
    );
}
