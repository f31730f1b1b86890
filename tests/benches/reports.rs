//! The reports benchmark: one brand with a year of metrics on the embedded store (5 channels on
//! five networks, 2,000 published posts snapshotted on the real age-banded cadence, daily account
//! snapshots, 2 competitors read daily with their recent posts, a few KPI targets), then how long
//! `ReportService::build` takes for the week and the fortnight at the end of the year, how much it
//! read, and the DynamoDB requests the same report maps to, recorded at the `ItemStore` seam.
//! The loading runs in this process and the measuring in a child of it on the same data folder,
//! so the peak RSS reported is that of a process that opens the store and builds reports.
//! Prints markdown tables for docs/benchmarks.md; exits non-zero when a report is wrong or its
//! reads are not bounded partition-key queries (never on a timing).
//!
//! `cargo bench -p palinsesto-system-tests --bench reports`
//!
//! Under `cargo test` the same binary runs six weeks of 60 posts and makes the same checks.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jiff::civil::{Date, Weekday};
use jiff::{SignedDuration, Timestamp};
use palinsesto::adapters::embedded::EmbeddedStore;
use palinsesto::clock::ManualClock;
use palinsesto::domain::metrics::{Snapshot, Subject, Tracker};
use palinsesto::domain::post::Context;
use palinsesto::domain::report::{Period, Report};
use palinsesto::domain::report_build::{ReportInput, build_report, post_counters_reported, window};
use palinsesto::domain::{
    Actor, Brand, BrandId, Channel, ChannelId, CompetitorId, Counters, MetricsReading, Network,
    PeriodKind, Post, PostDraft, PostInput, PublicPost, PublicProfile, Role, TargetState,
};
use palinsesto::local::LocalRuntime;
use palinsesto::services::brands::NewProfile;
use palinsesto::services::channels::NewChannel;
use palinsesto::services::competitors::NewCompetitor;
use palinsesto::services::kpis::NewKpi;
use palinsesto::services::reports::{ReadStats, ReportService};
use palinsesto::services::{BrandService, ChannelService, CompetitorService, KpiService};
use palinsesto::store::keys::{self, table};
use palinsesto::store::{Index, Item, ItemStore, KeyRange, Page, Query, Store, StoreError, Write};
use palinsesto_system_tests::bench::{full_run, mib, object, percentile, status_kib, thousands};
use serde_json::{Value, json};

struct Scale {
    days: i64,
    posts: usize,
    warm_up: usize,
    runs: usize,
}

fn scale() -> Scale {
    if full_run() {
        Scale {
            days: 365,
            posts: 2_000,
            warm_up: 3,
            runs: 30,
        }
    } else {
        // Long enough for a fortnight, the one before it and the week of look-back.
        Scale {
            days: 42,
            posts: 60,
            warm_up: 0,
            runs: 1,
        }
    }
}

const BRAND: &str = "bench";
const ZONE: &str = "Europe/Rome";
/// A Friday; the data runs from here for `Scale::days` days, and "now" is its end.
const START: &str = "2027-01-01T00:00:00Z";
const SEED: u64 = 0x5eed_2027;
/// Snapshots per `append_snapshots` call (one atomic write each).
const SNAPSHOT_BATCH: usize = 100;
/// Calls in flight while loading, so group commit puts several in one fsync.
const LOADERS: usize = 8;
/// Recent public posts in each competitor snapshot.
const COMPETITOR_RECENT_POSTS: usize = 40;
/// Mirrors `PUBLISH_SLACK` in `services::reports` (private there): posts are read from this long
/// before the previous period, for the step-by-step timing below.
const PUBLISH_SLACK: SignedDuration = SignedDuration::from_hours(48);
/// Items per page of a snapshot partition read, as `store::metrics` pages them.
const SNAPSHOT_PAGE: usize = 1_000;
/// DynamoDB returns at most 1 MB per Query request; and bills reads in 4 KB units.
const DYNAMO_PAGE_BYTES: usize = 1 << 20;
const RCU_BYTES: usize = 4 << 10;

/// The brand's channels: one per network, each with the settings its network requires, the
/// followers it starts the year with, and the median lifetime engagement and views of a post.
struct ChannelPlan {
    network: Network,
    name: &'static str,
    handle: &'static str,
    settings: fn() -> Value,
    followers: u64,
    engagement: f64,
    views: f64,
}

const CHANNELS: [ChannelPlan; 5] = [
    ChannelPlan {
        network: Network::Mastodon,
        name: "Mastodon",
        handle: "@caffe@mastodon.example",
        settings: || json!({ "instance_url": "https://mastodon.example" }),
        followers: 4_200,
        engagement: 24.0,
        views: 0.0,
    },
    ChannelPlan {
        network: Network::Bluesky,
        name: "Bluesky",
        handle: "@caffe.bsky.social",
        settings: || json!({}),
        followers: 2_600,
        engagement: 38.0,
        views: 0.0,
    },
    ChannelPlan {
        network: Network::X,
        name: "X",
        handle: "@caffe",
        settings: || json!({}),
        followers: 18_000,
        engagement: 30.0,
        views: 4_000.0,
    },
    ChannelPlan {
        network: Network::Instagram,
        name: "Instagram",
        handle: "@caffe.milano",
        settings: || json!({ "ig_user_id": "17841400000000042" }),
        followers: 42_000,
        engagement: 120.0,
        views: 6_000.0,
    },
    ChannelPlan {
        network: Network::Linkedin,
        name: "LinkedIn",
        handle: "Caffè Milano",
        settings: || json!({ "author": "urn:li:organization:1000042" }),
        followers: 9_000,
        engagement: 45.0,
        views: 2_500.0,
    },
];

// ---- deterministic pseudo-random numbers (no dependency for it) ----

struct Rng(u64);

impl Rng {
    /// splitmix64.
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal draw (Box-Muller).
    fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// A log-normal draw with this median.
    fn around(&mut self, median: f64, spread: f64) -> f64 {
        median * (spread * self.normal()).exp()
    }
}

fn plus(at: Timestamp, seconds: i64) -> Timestamp {
    at.checked_add(SignedDuration::from_secs(seconds))
        .expect("in range")
}

// ---- what the networks would have answered ----

/// A published target's lifetime totals and how fast they arrive: most within hours, a small
/// tail over weeks (a late like or share now and then), so counters stop changing after a few
/// days and the cadence slows down, as with real posts.
struct PostGrowth {
    published_at: Timestamp,
    totals: Vec<(&'static str, f64)>,
    /// Seconds.
    fast: f64,
    views_fast: f64,
}

const TAIL_SHARE: f64 = 0.05;
const TAIL_SECONDS: f64 = 15.0 * 86_400.0;

impl PostGrowth {
    fn new(plan: &ChannelPlan, published_at: Timestamp, rng: &mut Rng) -> Self {
        let engagement = rng.around(plan.engagement, 0.9);
        let views = rng.around(plan.views.max(1.0), 0.8);
        let mut totals = Vec::new();
        for name in post_counters_reported(plan.network) {
            let total = match *name {
                "likes" => engagement * 0.72,
                "reposts" => engagement * 0.10,
                "replies" => engagement * 0.08,
                "quotes" => engagement * 0.04,
                "saves" => engagement * 0.06,
                "views" => views,
                "reach" => views * 0.62,
                _ => views * 0.015,
            };
            totals.push((*name, total));
        }
        Self {
            published_at,
            totals,
            fast: rng.around(4.0 * 3600.0, 0.5),
            views_fast: rng.around(10.0 * 3600.0, 0.5),
        }
    }

    fn counters_at(&self, at: Timestamp) -> Counters {
        let age = at.duration_since(self.published_at).as_secs_f64().max(0.0);
        let mut c = Counters::default();
        for (name, total) in &self.totals {
            let fast = if matches!(*name, "views" | "reach" | "clicks") {
                self.views_fast
            } else {
                self.fast
            };
            let value = total * (1.0 - TAIL_SHARE) * (1.0 - (-age / fast).exp())
                + total * TAIL_SHARE * (1.0 - (-age / TAIL_SECONDS).exp());
            let value = Some(value.floor() as u64);
            match *name {
                "likes" => c.likes = value,
                "reposts" => c.reposts = value,
                "replies" => c.replies = value,
                "quotes" => c.quotes = value,
                "saves" => c.saves = value,
                "views" => c.views = value,
                "reach" => c.reach = value,
                _ => c.clicks = value,
            }
        }
        c
    }
}

fn n(v: Option<u64>) -> u64 {
    v.unwrap_or(0)
}

/// The Mastodon account object, as statuses and verify_credentials carry it.
fn mastodon_account(followers: u64, statuses: u64) -> Value {
    json!({
        "id": "109382771635271834",
        "username": "caffe",
        "acct": "caffe",
        "display_name": "Caffè Milano",
        "locked": false,
        "bot": false,
        "discoverable": true,
        "indexable": true,
        "group": false,
        "created_at": "2022-11-20T00:00:00.000Z",
        "note": "<p>Specialty coffee roasted in Milan since 1987. Orders and questions: <a href=\"https://caffe.example/contact\" rel=\"nofollow noopener noreferrer\" target=\"_blank\"><span class=\"invisible\">https://</span><span class=\"\">caffe.example/contact</span></a></p>",
        "url": "https://mastodon.example/@caffe",
        "uri": "https://mastodon.example/users/caffe",
        "avatar": "https://files.mastodon.example/accounts/avatars/109/382/771/635/271/834/original/3f2a6c1d9e8b7a41.png",
        "avatar_static": "https://files.mastodon.example/accounts/avatars/109/382/771/635/271/834/original/3f2a6c1d9e8b7a41.png",
        "header": "https://files.mastodon.example/accounts/headers/109/382/771/635/271/834/original/9b1e04c7d2f3a5e6.jpg",
        "header_static": "https://files.mastodon.example/accounts/headers/109/382/771/635/271/834/original/9b1e04c7d2f3a5e6.jpg",
        "followers_count": followers,
        "following_count": 212,
        "statuses_count": statuses,
        "last_status_at": "2027-12-30",
        "hide_collections": false,
        "noindex": false,
        "emojis": [],
        "roles": [],
        "fields": [
            { "name": "Website", "value": "<a href=\"https://caffe.example\" rel=\"nofollow noopener noreferrer me\" target=\"_blank\">caffe.example</a>", "verified_at": "2023-01-04T10:12:00.000+00:00" },
            { "name": "Shop", "value": "Via Roma 1, Milano", "verified_at": null }
        ]
    })
}

/// The network's answer for a post, as the connector keeps it in `raw` (sizes as the real APIs
/// answer: a whole Mastodon status with its account, a Bluesky post view, an X tweet with its
/// metrics, a Graph insights answer, LinkedIn share statistics).
fn post_raw(network: Network, remote_id: &str, text: &str, at: Timestamp, c: &Counters) -> Value {
    match network {
        Network::Mastodon => json!({
            "id": remote_id,
            "created_at": at.to_string(),
            "in_reply_to_id": null,
            "in_reply_to_account_id": null,
            "sensitive": false,
            "spoiler_text": "",
            "visibility": "public",
            "language": "it",
            "uri": format!("https://mastodon.example/users/caffe/statuses/{remote_id}"),
            "url": format!("https://mastodon.example/@caffe/{remote_id}"),
            "replies_count": n(c.replies),
            "reblogs_count": n(c.reposts),
            "favourites_count": n(c.likes),
            "quotes_count": n(c.quotes),
            "edited_at": null,
            "favourited": false,
            "reblogged": false,
            "muted": false,
            "bookmarked": false,
            "pinned": false
        })
        .as_object()
        .cloned()
        .map(|mut status| {
            status.extend(object(mastodon_status_rest(remote_id, text)));
            Value::Object(status)
        })
        .expect("an object"),
        _ => other_post_raw(network, remote_id, text, at, c),
    }
}

/// The second half of a Mastodon status (one `json!` of it all is too deep for the macro).
fn mastodon_status_rest(remote_id: &str, text: &str) -> Value {
    json!({
            "content": format!("<p>{text} <a href=\"https://mastodon.example/tags/coffee\" class=\"mention hashtag\" rel=\"tag\">#<span>coffee</span></a></p>"),
            "filtered": [],
            "reblog": null,
            "application": { "name": "Palinsesto", "website": null },
            "account": mastodon_account(4_200, 1_830),
            "media_attachments": [{
                "id": format!("{remote_id}1"),
                "type": "image",
                "url": format!("https://files.mastodon.example/media_attachments/files/{remote_id}/original/a1b2c3d4.jpg"),
                "preview_url": format!("https://files.mastodon.example/media_attachments/files/{remote_id}/small/a1b2c3d4.jpg"),
                "remote_url": null,
                "preview_remote_url": null,
                "text_url": null,
                "meta": {
                    "original": { "width": 1600, "height": 1200, "size": "1600x1200", "aspect": 1.3333333333333333 },
                    "small": { "width": 640, "height": 480, "size": "640x480", "aspect": 1.3333333333333333 }
                },
                "description": "A cup of espresso on the counter, morning light.",
                "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH"
            }],
            "mentions": [],
            "tags": [{ "name": "coffee", "url": "https://mastodon.example/tags/coffee" }],
            "emojis": [],
            "card": null,
            "poll": null
    })
}

fn other_post_raw(
    network: Network,
    remote_id: &str,
    text: &str,
    at: Timestamp,
    c: &Counters,
) -> Value {
    match network {
        Network::Bluesky => json!({
            "uri": format!("at://did:plc:caffe7x2kq4hf3mz/app.bsky.feed.post/{remote_id}"),
            "cid": "bafyreia7q3mfl2v3gdjz5x6k4n2kz7d2y6o4w3x5c7v2b4n6m8q0r1s2t3",
            "author": {
                "did": "did:plc:caffe7x2kq4hf3mz",
                "handle": "caffe.bsky.social",
                "displayName": "Caffè Milano",
                "avatar": "https://cdn.bsky.app/img/avatar/plain/did:plc:caffe7x2kq4hf3mz/bafkreih2x3c4v5b6n7m8@jpeg",
                "associated": { "chat": { "allowIncoming": "following" } },
                "labels": [],
                "createdAt": "2023-05-02T09:00:00.000Z"
            },
            "record": {
                "$type": "app.bsky.feed.post",
                "createdAt": at.to_string(),
                "langs": ["it"],
                "text": text,
                "facets": [{
                    "index": { "byteStart": 0, "byteEnd": 7 },
                    "features": [{ "$type": "app.bsky.richtext.facet#tag", "tag": "coffee" }]
                }]
            },
            "embed": {
                "$type": "app.bsky.embed.images#view",
                "images": [{
                    "thumb": "https://cdn.bsky.app/img/feed_thumbnail/plain/did:plc:caffe7x2kq4hf3mz/bafkreib5c6d7e8f9@jpeg",
                    "fullsize": "https://cdn.bsky.app/img/feed_fullsize/plain/did:plc:caffe7x2kq4hf3mz/bafkreib5c6d7e8f9@jpeg",
                    "alt": "A cup of espresso on the counter, morning light.",
                    "aspectRatio": { "width": 1600, "height": 1200 }
                }]
            },
            "replyCount": n(c.replies),
            "repostCount": n(c.reposts),
            "likeCount": n(c.likes),
            "quoteCount": n(c.quotes),
            "bookmarkCount": n(c.saves),
            "indexedAt": at.to_string(),
            "viewer": { "threadMuted": false, "embeddingDisabled": false },
            "labels": []
        }),
        Network::X => json!({
            "id": remote_id,
            "text": text,
            "created_at": at.to_string(),
            "edit_history_tweet_ids": [remote_id],
            "public_metrics": {
                "retweet_count": n(c.reposts),
                "reply_count": n(c.replies),
                "like_count": n(c.likes),
                "quote_count": n(c.quotes),
                "bookmark_count": n(c.saves),
                "impression_count": n(c.views)
            },
            "non_public_metrics": {
                "impression_count": n(c.views),
                "user_profile_clicks": n(c.views) / 200
            }
        }),
        Network::Instagram => {
            let metric = |name: &str, title: &str, description: &str, value: u64| {
                json!({
                    "name": name,
                    "period": "lifetime",
                    "values": [{ "value": value }],
                    "title": title,
                    "description": description,
                    "id": format!("{remote_id}/insights/{name}/lifetime")
                })
            };
            json!({ "data": [
                metric("likes", "Likes", "The number of likes on your post.", n(c.likes)),
                metric("comments", "Comments", "The number of comments on your post.", n(c.replies)),
                metric("shares", "Shares", "The number of shares of your post.", n(c.reposts)),
                metric("saved", "Saves", "The number of saves of your post.", n(c.saves)),
                metric("views", "Views", "The number of times your post was played or displayed.", n(c.views)),
                metric("reach", "Accounts reached", "The number of unique accounts that have seen your post at least once.", n(c.reach))
            ]})
        }
        _ => json!({
            "paging": { "start": 0, "count": 10, "links": [] },
            "elements": [{
                "totalShareStatistics": {
                    "uniqueImpressionsCount": n(c.reach),
                    "shareCount": n(c.reposts),
                    "engagement": 0.0312,
                    "clickCount": n(c.clicks),
                    "likeCount": n(c.likes),
                    "impressionCount": n(c.views),
                    "commentCount": n(c.replies)
                },
                "ugcPost": format!("urn:li:ugcPost:{remote_id}"),
                "organizationalEntity": "urn:li:organization:1000042"
            }]
        }),
    }
}

/// The network's answer for the channel's account.
fn account_raw(network: Network, followers: u64, posts: u64) -> Value {
    match network {
        Network::Mastodon => {
            let mut me = mastodon_account(followers, posts);
            me["source"] = json!({
                "privacy": "public",
                "sensitive": false,
                "language": "it",
                "note": "Specialty coffee roasted in Milan since 1987.",
                "fields": [],
                "follow_requests_count": 0,
                "hide_collections": false,
                "discoverable": true,
                "indexable": true
            });
            me["role"] = json!({ "id": "-99", "name": "", "permissions": "0", "color": "", "highlighted": false });
            me
        }
        Network::Bluesky => json!({
            "did": "did:plc:caffe7x2kq4hf3mz",
            "handle": "caffe.bsky.social",
            "displayName": "Caffè Milano",
            "description": "Specialty coffee roasted in Milan since 1987.",
            "avatar": "https://cdn.bsky.app/img/avatar/plain/did:plc:caffe7x2kq4hf3mz/bafkreih2x3c4v5b6n7m8@jpeg",
            "banner": "https://cdn.bsky.app/img/banner/plain/did:plc:caffe7x2kq4hf3mz/bafkreic9d8e7f6g5h4@jpeg",
            "followersCount": followers,
            "followsCount": 180,
            "postsCount": posts,
            "associated": { "lists": 0, "feedgens": 0, "starterPacks": 0, "labeler": false },
            "indexedAt": "2023-05-02T09:00:00.000Z",
            "createdAt": "2023-05-02T09:00:00.000Z",
            "labels": []
        }),
        Network::X => json!({
            "id": "1400000000000000042",
            "name": "Caffè Milano",
            "username": "caffe",
            "public_metrics": { "followers_count": followers, "following_count": 310, "tweet_count": posts, "listed_count": 41, "like_count": 2_200 }
        }),
        Network::Instagram => json!({
            "followers_count": followers,
            "media_count": posts,
            "id": "17841400000000042"
        }),
        _ => json!({
            "firstDegreeSize": followers,
            "organization": "urn:li:organization:1000042"
        }),
    }
}

/// One watched competitor: its network, followers at the start, and its public posts of the year.
struct CompetitorPlan {
    network: Network,
    handle: &'static str,
    followers: u64,
}

const COMPETITORS: [CompetitorPlan; 2] = [
    CompetitorPlan {
        network: Network::Mastodon,
        handle: "torrefazione@mastodon.example",
        followers: 6_100,
    },
    CompetitorPlan {
        network: Network::Bluesky,
        handle: "torrefazione.bsky.social",
        followers: 3_900,
    },
];

fn competitor_raw(network: Network, handle: &str, followers: u64, posts: u64) -> Value {
    match network {
        Network::Mastodon => {
            let mut account = mastodon_account(followers, posts);
            account["username"] = json!("torrefazione");
            account["acct"] = json!(handle);
            account
        }
        _ => {
            let mut profile = account_raw(Network::Bluesky, followers, posts);
            profile["handle"] = json!(handle);
            profile
        }
    }
}

// ---- loading the year ----

struct Loaded {
    snapshots: Counts,
    posts: usize,
    elapsed: Duration,
}

/// The brand as the measuring process finds it in the store.
struct StoredBrand {
    brand: Brand,
    channels: Vec<Channel>,
    /// Channel and competitor ids with the names the plan table shows for them.
    labels: HashMap<String, String>,
}

impl StoredBrand {
    async fn open(store: &Store) -> Self {
        let brand = store
            .get_brand(&BrandId::parse(BRAND).unwrap())
            .await
            .unwrap()
            .expect("the brand was loaded");
        let channels = store.list_channels(&brand.id).await.unwrap();
        let mut labels: HashMap<String, String> = channels
            .iter()
            .map(|c| (c.id.to_string(), c.network.as_str().to_owned()))
            .collect();
        for c in store.list_competitors(&brand.id).await.unwrap() {
            labels.insert(
                c.id.to_string(),
                format!("competitor {}", c.network.as_str()),
            );
        }
        Self {
            brand,
            channels,
            labels,
        }
    }
}

#[derive(Default, Clone, Copy)]
struct Counts {
    posts: usize,
    accounts: usize,
    competitors: usize,
}

impl Counts {
    fn total(&self) -> usize {
        self.posts + self.accounts + self.competitors
    }
}

/// Writes snapshots in batches of [`SNAPSHOT_BATCH`], [`LOADERS`] calls at a time.
struct Loader {
    store: Store,
    brand: BrandId,
    batch: Vec<Snapshot>,
    writing: tokio::task::JoinSet<()>,
}

impl Loader {
    async fn push(&mut self, snapshot: Snapshot) {
        self.batch.push(snapshot);
        if self.batch.len() == SNAPSHOT_BATCH {
            self.flush().await;
        }
    }

    async fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        while self.writing.len() >= LOADERS {
            self.writing.join_next().await.unwrap().unwrap();
        }
        let batch = std::mem::take(&mut self.batch);
        let (store, brand) = (self.store.clone(), self.brand.clone());
        self.writing.spawn(async move {
            store
                .append_snapshots(&brand, &batch)
                .await
                .expect("the snapshots are stored");
        });
    }

    async fn finish(mut self) {
        self.flush().await;
        while let Some(done) = self.writing.join_next().await {
            done.unwrap();
        }
    }
}

/// Follows a subject from `tracker` until `now` the way the metrics tick does (`Tracker::record`
/// decides each next time from the counters it read), a few seconds late each time as a tick is.
async fn follow(
    mut tracker: Tracker,
    now: Timestamp,
    rng: &mut Rng,
    loader: &mut Loader,
    mut read: impl FnMut(Timestamp) -> (MetricsReading, Option<PublicProfile>),
) -> usize {
    let mut taken = 0;
    loop {
        let at = plus(tracker.next_at, rng.below(60) as i64);
        if at > now {
            return taken;
        }
        let (reading, profile) = read(at);
        let (snapshot, next) = tracker.record(at, reading, profile);
        loader.push(snapshot).await;
        taken += 1;
        match next {
            Some(next) => tracker = next,
            None => return taken,
        }
    }
}

const TEXTS: [&str; 6] = [
    "Il blend d'autunno è arrivato: note di nocciola e cacao, tostatura media. Lo trovate in negozio e online da oggi.",
    "Behind the counter: how our baristas dial in the grinder every morning before the first espresso of the day.",
    "Nuovo orario per le feste: apriamo alle 7:30 anche la domenica. Vi aspettiamo per la colazione!",
    "Single origin of the month: a washed Ethiopian with bergamot and jasmine. Small batch, only 200 bags.",
    "Tre modi per preparare il cold brew a casa, passo per passo, con quello che avete già in cucina.",
    "Thank you for 10 years of Saturday tastings. This week: a side-by-side of natural and honey processes.",
];

async fn load(runtime: &LocalRuntime, clock: &ManualClock, scale: &Scale) -> Loaded {
    let started = Instant::now();
    let start: Timestamp = START.parse().unwrap();
    let now = plus(start, scale.days * 86_400);
    let mut rng = Rng(SEED);
    let brand_id = BrandId::parse(BRAND).unwrap();
    let owner = Actor {
        subject: "bench".into(),
        brand: brand_id.clone(),
        role: Role::Owner,
        route: None,
    };
    clock.set(start);
    let ports = runtime.ports();
    let (brand, _) = BrandService::new(ports.clone())
        .put(
            &owner,
            NewProfile {
                name: "Caffè Milano",
                time_zone: ZONE,
                ..NewProfile::default()
            },
            None,
        )
        .await
        .expect("the brand is created");

    // Channels through the service: each starts its account tracker as in production.
    let mut channels = Vec::new();
    for plan in &CHANNELS {
        let channel = ChannelService::new(ports.clone())
            .create(
                &owner,
                NewChannel {
                    network: plan.network.as_str().into(),
                    name: plan.name.into(),
                    handle: plan.handle.into(),
                    settings: object((plan.settings)()),
                    ..NewChannel::default()
                },
            )
            .await
            .expect("the channel is created");
        channels.push(channel);
    }
    let mut competitors = Vec::new();
    for plan in &COMPETITORS {
        let watched = CompetitorService::new(ports.clone())
            .create(
                &owner,
                NewCompetitor {
                    network: plan.network.as_str().into(),
                    handle: plan.handle.into(),
                    ..NewCompetitor::default()
                },
            )
            .await
            .expect("the competitor is watched");
        competitors.push(watched.competitor.id);
    }
    let kpis = KpiService::new(ports.clone());
    let kpi = |metric: &str, channel: Option<&Channel>, target: f64, period: &str| NewKpi {
        metric: metric.into(),
        channel_id: channel.map(|c| c.id.to_string()),
        target,
        period: period.into(),
        direction: None,
    };
    for new in [
        kpi("engagement_rate", None, 1.5, "week"),
        kpi("posts_published", None, 35.0, "week"),
        kpi("follower_growth", Some(&channels[0]), 20.0, "week"),
        kpi("impressions", Some(&channels[3]), 150_000.0, "fortnight"),
        kpi("engagement", None, 4_000.0, "fortnight"),
    ] {
        kpis.create(&owner, new).await.expect("the KPI is created");
    }

    // The posts: spread evenly over the days, at a random time of the working day (07:00 to
    // 20:59 UTC, 08:00 to 22:59 in Rome), one target each, already published.
    let store = runtime.store();
    let mut writing = tokio::task::JoinSet::new();
    let mut planned = Vec::with_capacity(scale.posts);
    for i in 0..scale.posts {
        let day = i as i64 * scale.days / scale.posts as i64;
        let publish_at = plus(
            start,
            day * 86_400 + (7 + rng.below(14) as i64) * 3600 + rng.below(60) as i64 * 60,
        );
        let c = rng.below(CHANNELS.len() as u64) as usize;
        let channel = &channels[c];
        let text = format!("{} ({})", TEXTS[i % TEXTS.len()], i + 1);
        let draft = PostDraft::parse(PostInput {
            text: text.clone(),
            channels: vec![channel.id.to_string()],
            publish_at: Some(publish_at.to_string()),
            labels: vec!["bench".into()],
            ..PostInput::default()
        })
        .expect("a valid draft");
        let ctx = Context {
            actor: "bench",
            now: plus(publish_at, -86_400),
            approval_required: false,
        };
        let mut post = Post::create(draft, brand.time_zone.clone(), &ctx);
        post.schedule(None, &ctx)
            .expect("the post can be scheduled");
        let published_at = plus(publish_at, rng.below(30) as i64);
        let remote_id = format!("{}", 113_000_000_000_000_000u64 + rng.below(1 << 40));
        for target in &mut post.targets {
            target.first_attempt_at = Some(publish_at);
            target.state = TargetState::Published {
                remote_id: remote_id.clone(),
                url: Some(format!(
                    "https://{}.example/p/{remote_id}",
                    channel.network.as_str()
                )),
                published_at,
                notes: Vec::new(),
            };
        }
        while writing.len() >= 64 {
            writing.join_next().await.unwrap().unwrap();
        }
        let (store_, brand_) = (store.clone(), brand_id.clone());
        let saved = post.clone();
        writing.spawn(async move {
            store_
                .put_post(&brand_, &saved, None)
                .await
                .expect("the post is stored");
        });
        planned.push((post.id, c, remote_id, text, published_at));
    }
    while let Some(done) = writing.join_next().await {
        done.unwrap();
    }

    let mut loader = Loader {
        store: store.clone(),
        brand: brand_id.clone(),
        batch: Vec::with_capacity(SNAPSHOT_BATCH),
        writing: tokio::task::JoinSet::new(),
    };
    let mut counts = Counts::default();

    // Each target on the age-banded cadence, from an hour after publishing until day 90 or now.
    for (post_id, c, remote_id, text, published_at) in &planned {
        let plan = &CHANNELS[*c];
        let growth = PostGrowth::new(plan, *published_at, &mut rng);
        let tracker = Tracker::for_post(
            *post_id,
            channels[*c].id,
            plan.network,
            remote_id.clone(),
            *published_at,
        );
        let mut tick_rng = Rng(rng.next());
        counts.posts += follow(tracker, now, &mut tick_rng, &mut loader, |at| {
            let counters = growth.counters_at(at);
            let raw = post_raw(plan.network, remote_id, text, *published_at, &counters);
            (MetricsReading { counters, raw }, None)
        })
        .await;
    }

    // Each channel's account once a day, followers growing with some noise.
    for (channel, plan) in channels.iter().zip(&CHANNELS) {
        let tracker = Tracker::for_account(
            Subject::Channel {
                channel_id: channel.id,
            },
            plan.network,
            channel.created_at,
        );
        let mut followers = plan.followers as f64;
        let mut tick_rng = Rng(rng.next());
        let mut noise = Rng(rng.next());
        let mut day = 0u64;
        counts.accounts += follow(tracker, now, &mut tick_rng, &mut loader, |_| {
            followers += plan.followers as f64 * 0.0008 * (1.0 + noise.normal());
            day += 1;
            let followers = followers.max(0.0) as u64;
            let counters = Counters {
                followers: Some(followers),
                ..Counters::default()
            };
            let raw = account_raw(plan.network, followers, 1_500 + day);
            (MetricsReading { counters, raw }, None)
        })
        .await;
    }

    // Competitors once a day: followers, and their latest public posts with the counters seen.
    for (id, plan) in competitors.iter().zip(&COMPETITORS) {
        let mut posts = Vec::new();
        let mut at = plus(start, -40 * 86_400);
        while at < now {
            at = plus(at, rng.around(16.0 * 3600.0, 0.4) as i64);
            let growth = PostGrowth::new(&CHANNELS[0], at, &mut rng);
            posts.push((
                format!("{}", 112_000_000_000_000_000u64 + rng.below(1 << 40)),
                growth,
            ));
        }
        let tracker = Tracker::for_account(
            Subject::Competitor { competitor_id: *id },
            plan.network,
            start,
        );
        let mut followers = plan.followers as f64;
        let mut tick_rng = Rng(rng.next());
        let mut noise = Rng(rng.next());
        counts.competitors += follow(tracker, now, &mut tick_rng, &mut loader, |taken| {
            followers += plan.followers as f64 * 0.0006 * (1.0 + noise.normal());
            let followers = followers.max(0.0) as u64;
            let seen = posts.partition_point(|(_, g)| g.published_at <= taken);
            let recent_posts = posts[seen.saturating_sub(COMPETITOR_RECENT_POSTS)..seen]
                .iter()
                .rev()
                .map(|(id, g)| PublicPost {
                    id: id.clone(),
                    created_at: g.published_at,
                    url: Some(format!("https://{}.example/p/{id}", plan.network.as_str())),
                    counters: g.counters_at(taken),
                })
                .collect();
            let counters = Counters {
                followers: Some(followers),
                ..Counters::default()
            };
            let raw = competitor_raw(plan.network, plan.handle, followers, 900 + seen as u64);
            let profile = PublicProfile {
                counters: counters.clone(),
                posts_count: Some(900 + seen as u64),
                recent_posts,
                raw: raw.clone(),
            };
            (MetricsReading { counters, raw }, Some(profile))
        })
        .await;
    }
    loader.finish().await;
    clock.set(now);
    Loaded {
        snapshots: counts,
        posts: planned.len(),
        elapsed: started.elapsed(),
    }
}

// ---- the recorded query plan ----

#[derive(Debug, Clone)]
enum Call {
    Get {
        pk: String,
        sk: String,
        bytes: usize,
    },
    Query {
        index: Option<Index>,
        partition: String,
        range: KeyRange,
        items: usize,
        /// DynamoDB item sizes of what came back, and of the bodies alone.
        bytes: usize,
        body_bytes: usize,
        /// Of `body_bytes`: the networks' `raw` answers inside snapshot bodies.
        raw_bytes: usize,
    },
    Write {
        writes: usize,
    },
}

/// Delegates to the embedded store and notes every call a report makes, with the sizes of what
/// came back, to print as the DynamoDB requests they map to.
struct Recording {
    inner: Arc<EmbeddedStore>,
    calls: Mutex<Vec<Call>>,
}

fn json_len(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(0, |v| v.len())
}

/// Roughly what DynamoDB counts for the item: attribute names and values, the body (a map) as
/// its compact JSON.
fn item_bytes(item: &Item) -> usize {
    let number = |v: u64| v.to_string().len() / 2 + 2;
    let mut bytes = table::PK.len() + item.pk.len() + table::SK.len() + item.sk.len();
    bytes += table::VERSION.len() + number(item.version);
    bytes += table::BODY.len() + json_len(&item.body);
    if let Some(ttl) = item.expires_at {
        bytes += table::TTL.len() + number(ttl.unsigned_abs());
    }
    for (index, key) in &item.indexes {
        let (_, pk, sk) = table::index(*index);
        bytes += pk.len() + key.pk.len() + sk.len() + key.sk.len();
    }
    bytes
}

#[async_trait]
impl ItemStore for Recording {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let item = self.inner.get(pk, sk).await?;
        self.calls.lock().unwrap().push(Call::Get {
            pk: pk.to_owned(),
            sk: sk.to_owned(),
            bytes: item.as_ref().map_or(0, item_bytes),
        });
        Ok(item)
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        let page = self.inner.query(query).await?;
        let (index, partition) = match &query.index {
            Some((index, partition)) => (Some(*index), partition.clone()),
            None => (None, query.pk.clone()),
        };
        self.calls.lock().unwrap().push(Call::Query {
            index,
            partition,
            range: query.range.clone(),
            items: page.items.len(),
            bytes: page.items.iter().map(item_bytes).sum(),
            body_bytes: page.items.iter().map(|i| json_len(&i.body)).sum(),
            raw_bytes: page
                .items
                .iter()
                .filter_map(|i| i.body.get("raw"))
                .map(json_len)
                .sum(),
        });
        Ok(page)
    }

    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.calls.lock().unwrap().push(Call::Write {
            writes: writes.len(),
        });
        self.inner.write(writes).await
    }
}

/// One logical read of the report: a GetItem, or the pages of one key-range Query.
struct PlanRow {
    request: &'static str,
    index: Option<Index>,
    partition: String,
    range: String,
    /// DynamoDB requests: one per page, more where a page passes 1 MB.
    requests: usize,
    items: usize,
    bytes: usize,
    raw_bytes: usize,
    /// Read capacity: eventually consistent, and as the adapter issues it (the table strongly
    /// consistent, indexes eventually).
    rcu_eventual: f64,
    rcu_issued: f64,
}

fn rcu(bytes: usize, consistent: bool) -> f64 {
    let units = bytes.div_ceil(RCU_BYTES).max(1) as f64;
    if consistent { units } else { units / 2.0 }
}

fn plan(calls: &[Call]) -> Result<Vec<PlanRow>, String> {
    let mut rows: Vec<PlanRow> = Vec::new();
    for call in calls {
        match call {
            Call::Get { pk, sk, bytes } => rows.push(PlanRow {
                request: "GetItem",
                index: None,
                partition: pk.clone(),
                range: format!("sk = {sk}"),
                requests: 1,
                items: usize::from(*bytes > 0),
                bytes: *bytes,
                raw_bytes: 0,
                rcu_eventual: rcu(*bytes, false),
                // The adapter's GetItem is strongly consistent.
                rcu_issued: rcu(*bytes, true),
            }),
            Call::Query {
                index,
                partition,
                range,
                items,
                bytes,
                raw_bytes,
                ..
            } => {
                let range_text = match range {
                    KeyRange::Prefix(p) => format!("begins_with({p})"),
                    KeyRange::Between(lo, hi) => format!("BETWEEN {lo} AND {hi}"),
                };
                let requests = bytes.div_ceil(DYNAMO_PAGE_BYTES).max(1);
                // Each 1 MB request rounds up to 4 KB on its own; close enough to count the page.
                let eventual = rcu(*bytes, false).max(requests as f64 * 0.5);
                let issued = if index.is_some() {
                    eventual
                } else {
                    rcu(*bytes, true).max(requests as f64)
                };
                // Pages of one query continue it, even when the report's concurrent reads of
                // other partitions came in between.
                let same = rows.iter_mut().find(|r| {
                    r.request == "Query"
                        && r.index == *index
                        && r.partition == *partition
                        && r.range == range_text
                });
                match same {
                    Some(row) => {
                        row.requests += requests;
                        row.items += items;
                        row.bytes += bytes;
                        row.raw_bytes += raw_bytes;
                        row.rcu_eventual += eventual;
                        row.rcu_issued += issued;
                    }
                    None => rows.push(PlanRow {
                        request: "Query",
                        index: *index,
                        partition: partition.clone(),
                        range: range_text,
                        requests,
                        items: *items,
                        bytes: *bytes,
                        raw_bytes: *raw_bytes,
                        rcu_eventual: eventual,
                        rcu_issued: issued,
                    }),
                }
            }
            Call::Write { writes } => {
                return Err(format!("a report wrote to the store ({writes} writes)"));
            }
        }
    }
    Ok(rows)
}

/// What must hold of every read of a report: a partition-key query (the brand's own partitions)
/// with a sort-key condition, never the due index, and a number of queries bounded by the
/// brand's channels and competitors, not by its data.
fn check_plan(
    calls: &[Call],
    rows: &[PlanRow],
    channels: usize,
    competitors: usize,
) -> Vec<String> {
    let mut problems = Vec::new();
    let brand_pk = format!("B#{BRAND}");
    for call in calls {
        if let Call::Query {
            index,
            partition,
            range,
            ..
        } = call
        {
            if partition != &brand_pk && !partition.starts_with(&format!("{brand_pk}#")) {
                problems.push(format!(
                    "a query outside the brand's partitions: {partition:?}"
                ));
            }
            if *index == Some(Index::Due) {
                problems.push("a report read the due index (shared by every brand)".into());
            }
            let ranged = match range {
                KeyRange::Prefix(p) => !p.is_empty(),
                KeyRange::Between(lo, hi) => !lo.is_empty() && lo <= hi,
            };
            if !ranged {
                problems.push(format!(
                    "a query of {partition} without a sort-key range: {range:?}"
                ));
            }
        }
    }
    // The brand, channels, KPIs, competitors, the posts of both periods: 5 reads; one range per
    // channel and per competitor; the interactions of both periods (one page here: the bench
    // has none); at most TOP_POSTS point reads of older top posts.
    let queries = rows.iter().filter(|r| r.request == "Query").count();
    let gets = rows.iter().filter(|r| r.request == "GetItem").count();
    let bound = channels + competitors + 5;
    if queries > bound {
        problems.push(format!(
            "{queries} key-range queries, more than channels + competitors + 5 = {bound}"
        ));
    }
    if gets > 1 + palinsesto::domain::report_build::TOP_POSTS {
        problems.push(format!(
            "{gets} point reads, more than the brand and the top posts"
        ));
    }
    problems
}

fn short(text: &str, labels: &HashMap<String, String>) -> String {
    let mut text = text.to_owned();
    for (id, label) in labels {
        text = text.replace(id, &format!("{{{label}}}"));
    }
    text
}

// ---- measuring ----

struct Timings {
    kind: PeriodKind,
    period: Period,
    runs: Vec<Duration>,
    stats: ReadStats,
    report: Report,
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    percentile(&runs, 0.5)
}

fn kb(bytes: usize) -> String {
    format!("{:.0}", bytes as f64 / 1024.0)
}

fn folder_bytes(path: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => folder_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// The last Sunday before `now`'s local day: a report's week runs Monday to Sunday.
fn last_sunday(brand: &Brand, now: Timestamp) -> Date {
    let mut day = brand.time_zone.local_date(now).yesterday().unwrap();
    while day.weekday() != Weekday::Sunday {
        day = day.yesterday().unwrap();
    }
    day
}

/// The report's figures that the data must give, whatever the timings.
fn check_report(
    report: &Report,
    stats: &ReadStats,
    kind: PeriodKind,
    posts_loaded: usize,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut expect = |ok: bool, what: String| {
        if !ok {
            problems.push(what);
        }
    };
    let kind_name = kind.as_str();
    expect(
        report.channels.len() == CHANNELS.len(),
        format!(
            "{kind_name}: {} channel rows, not {}",
            report.channels.len(),
            CHANNELS.len()
        ),
    );
    expect(
        report.competitors.len() == COMPETITORS.len(),
        format!("{kind_name}: {} competitor rows", report.competitors.len()),
    );
    expect(
        report.days.len() as i64 == kind.days(),
        format!("{kind_name}: {} days", report.days.len()),
    );
    for row in &report.channels {
        expect(
            row.current.followers_end.is_some() && row.current.follower_growth.is_some(),
            format!("{kind_name}: {} has no followers", row.name),
        );
        expect(
            row.current.engagement.is_some_and(|e| e > 0),
            format!("{kind_name}: {} has no engagement", row.name),
        );
        let counts_views = matches!(
            row.network,
            Some(Network::X | Network::Instagram | Network::Linkedin)
        );
        expect(
            row.current.views.is_some() == counts_views,
            format!("{kind_name}: {} views {:?}", row.name, row.current.views),
        );
    }
    expect(
        report.total.current.posts_published > 0,
        format!("{kind_name}: no posts published in the period"),
    );
    expect(
        !report.top_posts.is_empty() && report.top_posts.iter().all(|t| !t.excerpt.is_empty()),
        format!("{kind_name}: top posts missing or without text"),
    );
    for c in &report.competitors {
        expect(
            c.followers_end.is_some() && c.posts_published.is_some_and(|n| n > 0),
            format!("{kind_name}: competitor {} has no figures", c.name),
        );
    }
    expect(
        report.kpis.iter().all(|k| k.actual.is_some()) && !report.kpis.is_empty(),
        format!("{kind_name}: KPI without a figure: {:?}", report.kpis),
    );
    expect(
        stats.snapshots > 0 && stats.posts > 0 && stats.posts <= posts_loaded,
        format!("{kind_name}: read {stats:?}"),
    );
    problems
}

/// The report's reads and arithmetic one at a time, for the week, to see what the time goes to:
/// the store queries (redb and JSON to `Item`), the bodies decoded into snapshots, freeing them,
/// the posts, and `build_report`; then the same bodies decoded in other ways, to see what the
/// networks' `raw` answers cost.
struct Steps {
    queries: Duration,
    decoded: Duration,
    freed: Duration,
    posts: Duration,
    arithmetic: Duration,
    snapshots: usize,
    body_bytes: usize,
    lean_bytes: usize,
    /// Body bytes to snapshots and freed again: through `Value` as the store does, and straight;
    /// then both again from bodies without `raw`.
    via_value: Duration,
    direct: Duration,
    via_value_lean: Duration,
    direct_lean: Duration,
}

/// Median time to decode every body with `decode` and free the results.
fn time_decoding<T>(bodies: &[Vec<u8>], runs: usize, decode: impl Fn(&[u8]) -> T) -> Duration {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let decoded: Vec<T> = bodies.iter().map(|b| decode(b)).collect();
        drop(std::hint::black_box(decoded));
        times.push(started.elapsed());
    }
    median(times)
}

async fn steps(runtime: &LocalRuntime, stored: &StoredBrand, period: Period, runs: usize) -> Steps {
    let brand = &stored.brand;
    let zone = &brand.time_zone;
    let previous = period.previous(zone).unwrap();
    let (from, to) = window(&previous, &period);
    let store = runtime.store();
    let items = runtime.embedded.clone();
    let competitors = store.list_competitors(&brand.id).await.unwrap();
    let kpis = store.list_kpis(&brand.id).await.unwrap();
    let mut partitions: Vec<String> = stored
        .channels
        .iter()
        .map(|c| keys::channel_snapshots_pk(&brand.id, &c.id))
        .collect();
    partitions.extend(
        competitors
            .iter()
            .map(|c| keys::competitor_snapshots_pk(&brand.id, &c.id)),
    );
    let (lo, hi) = keys::time_range_inclusive(from, to);
    let mut queries = Vec::new();
    let mut decoded = Vec::new();
    let mut freed = Vec::new();
    let mut posts_read = Vec::new();
    let mut arithmetic = Vec::new();
    let mut read: Vec<Item> = Vec::new();
    for _ in 0..runs {
        read.clear();
        let started = Instant::now();
        for pk in &partitions {
            let mut query = Query {
                pk: pk.clone(),
                index: None,
                range: KeyRange::Between(lo.clone(), hi.clone()),
                after: None,
                limit: SNAPSHOT_PAGE,
                descending: false,
            };
            loop {
                let page = items.query(&query).await.unwrap();
                read.extend(page.items);
                match page.next {
                    Some(next) => query.after = Some(next),
                    None => break,
                }
            }
        }
        queries.push(started.elapsed());

        let started = Instant::now();
        let mut by_channel: HashMap<ChannelId, Vec<Snapshot>> = HashMap::new();
        for channel in &stored.channels {
            let s = store
                .channel_snapshots(&brand.id, &channel.id, from, to)
                .await
                .unwrap();
            by_channel.insert(channel.id, s);
        }
        let mut by_competitor: HashMap<CompetitorId, Vec<Snapshot>> = HashMap::new();
        for c in &competitors {
            let s = store
                .competitor_snapshots(&brand.id, &c.id, from, to)
                .await
                .unwrap();
            by_competitor.insert(c.id, s);
        }
        decoded.push(started.elapsed());

        let started = Instant::now();
        let posts_from = previous.start.checked_sub(PUBLISH_SLACK).unwrap();
        let published = store
            .published_targets(
                &brand.id,
                (posts_from, period.end),
                (posts_from, period.end),
            )
            .await
            .unwrap();
        posts_read.push(started.elapsed());

        let started = Instant::now();
        let report = build_report(&ReportInput {
            brand,
            period,
            previous,
            generated_at: period.end,
            channels: &stored.channels,
            snapshots: &by_channel,
            published: &published,
            kpis: &kpis,
            competitors: &competitors,
            competitor_snapshots: &by_competitor,
            interactions: &[],
            interactions_partial: false,
        });
        std::hint::black_box(&report);
        arithmetic.push(started.elapsed());

        let started = Instant::now();
        drop(by_channel);
        drop(by_competitor);
        freed.push(started.elapsed());
    }

    let bodies: Vec<Vec<u8>> = read
        .iter()
        .map(|i| serde_json::to_vec(&i.body).unwrap())
        .collect();
    let lean: Vec<Vec<u8>> = read
        .iter()
        .map(|i| {
            let mut body = i.body.clone();
            if let Some(map) = body.as_object_mut() {
                map.remove("raw");
            }
            serde_json::to_vec(&body).unwrap()
        })
        .collect();
    let via_value = |b: &[u8]| {
        let value: Value = serde_json::from_slice(b).unwrap();
        serde_json::from_value::<Snapshot>(value).unwrap()
    };
    Steps {
        queries: median(queries),
        decoded: median(decoded),
        freed: median(freed),
        posts: median(posts_read),
        arithmetic: median(arithmetic),
        snapshots: read.len(),
        body_bytes: bodies.iter().map(Vec::len).sum(),
        lean_bytes: lean.iter().map(Vec::len).sum(),
        via_value: time_decoding(&bodies, runs, via_value),
        direct: time_decoding(&bodies, runs, |b| {
            serde_json::from_slice::<Snapshot>(b).unwrap()
        }),
        via_value_lean: time_decoding(&lean, runs, via_value),
        direct_lean: time_decoding(&lean, runs, |b| {
            serde_json::from_slice::<Snapshot>(b).unwrap()
        }),
    }
}

fn fail(problems: &[String]) -> ExitCode {
    eprintln!("reports benchmark FAILED: {}", problems.join("; "));
    ExitCode::FAILURE
}

/// The measuring half runs in a child process of this binary on the loaded data folder, so its
/// peak RSS is that of a process that opens the store and builds reports, not of the loading.
const CHILD_FLAG: &str = "--measure";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == CHILD_FLAG) {
        Some(i) => measure(std::path::Path::new(&args[i + 1])).await,
        None => load_then_measure().await,
    }
}

async fn load_then_measure() -> ExitCode {
    let scale = scale();
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Arc::new(ManualClock::new(START.parse().unwrap()));
    let runtime =
        LocalRuntime::open_with_clock(dir.path(), clock.clone()).expect("the runtime opens");
    let loaded = load(&runtime, &clock, &scale).await;
    let peak_loading = status_kib("VmHWM:");
    // Closes the store file, which only one process may hold open.
    runtime.shutdown();
    drop(runtime);
    let store_bytes = folder_bytes(dir.path());
    eprintln!(
        "loaded {} posts and {} snapshots in {:.1} s",
        thousands(loaded.posts),
        thousands(loaded.snapshots.total()),
        loaded.elapsed.as_secs_f64()
    );

    println!();
    println!(
        "Data: {} days from {START} ({ZONE}), {} channels, {} posts, {} competitors.",
        scale.days,
        CHANNELS.len(),
        thousands(loaded.posts),
        COMPETITORS.len()
    );
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| snapshot items generated | {} ({} of posts, {} of accounts, {} of competitors) |",
        thousands(loaded.snapshots.total()),
        thousands(loaded.snapshots.posts),
        thousands(loaded.snapshots.accounts),
        thousands(loaded.snapshots.competitors)
    );
    println!(
        "| snapshots per post (mean) | {:.1} |",
        loaded.snapshots.posts as f64 / loaded.posts.max(1) as f64
    );
    println!(
        "| generation and load time (not measured) | {:.1} s |",
        loaded.elapsed.as_secs_f64()
    );
    println!(
        "| store file | {:.0} MiB |",
        store_bytes as f64 / (1024.0 * 1024.0)
    );
    println!(
        "| peak RSS of the loading process | {} |",
        mib(peak_loading)
    );

    let mut child = std::process::Command::new(std::env::current_exe().expect("this binary"));
    child.arg(CHILD_FLAG).arg(dir.path());
    if full_run() {
        child.arg("--bench");
    }
    match child.status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => fail(&[format!("the measuring process ended with {status}")]),
        Err(e) => fail(&[format!("the measuring process did not start: {e}")]),
    }
}

async fn measure(dir: &std::path::Path) -> ExitCode {
    let scale = scale();
    let start: Timestamp = START.parse().unwrap();
    let now = plus(start, scale.days * 86_400);
    let clock = Arc::new(ManualClock::new(now));
    let runtime = LocalRuntime::open_with_clock(dir, clock.clone()).expect("the runtime opens");
    let stored = StoredBrand::open(&runtime.store()).await;
    let rss_open = status_kib("VmRSS:");
    let ending = last_sunday(&stored.brand, now);
    let reports = ReportService::new(runtime.ports());
    let mut peak_first_week = None;
    let mut problems = Vec::new();
    let mut timings = Vec::new();
    for kind in [PeriodKind::Week, PeriodKind::Fortnight] {
        let period = Period::ending(kind, ending, &stored.brand.time_zone).unwrap();
        for _ in 0..scale.warm_up {
            reports
                .build(&stored.brand, period)
                .await
                .expect("the report builds");
            if peak_first_week.is_none() {
                peak_first_week = status_kib("VmHWM:");
            }
        }
        let mut runs = Vec::with_capacity(scale.runs);
        let mut last = None;
        for _ in 0..scale.runs {
            let started = Instant::now();
            let built = reports
                .build(&stored.brand, period)
                .await
                .expect("the report builds");
            runs.push(started.elapsed());
            last = Some(built);
            if peak_first_week.is_none() {
                peak_first_week = status_kib("VmHWM:");
            }
        }
        let (report, stats) = last.expect("at least one run");
        problems.extend(check_report(&report, &stats, kind, scale.posts));
        runs.sort();
        timings.push(Timings {
            kind,
            period,
            runs,
            stats,
            report,
        });
    }
    let peak_builds = status_kib("VmHWM:");

    // The plan: one weekly report as the API builds it (the brand profile read first), through
    // the recording store.
    let recording = Arc::new(Recording {
        inner: runtime.embedded.clone(),
        calls: Mutex::default(),
    });
    let recorded = ReportService::new(
        runtime
            .wiring()
            .with_store(runtime.store().with_items(recording.clone()))
            .ports(),
    );
    let reader = Actor {
        subject: "bench".into(),
        brand: stored.brand.id.clone(),
        role: Role::Owner,
        route: None,
    };
    let week = recorded
        .report(&reader, PeriodKind::Week, Some(ending))
        .await
        .expect("the report builds");
    if week != timings[0].report {
        // The same data and the same clock: nothing may differ.
        problems.push("the recorded weekly report differs from the timed one".into());
    }
    let calls = recording.calls.lock().unwrap().clone();
    let rows = match plan(&calls) {
        Ok(rows) => rows,
        Err(e) => return fail(&[e]),
    };
    problems.extend(check_plan(&calls, &rows, CHANNELS.len(), COMPETITORS.len()));
    let snapshot_items: usize = rows
        .iter()
        .filter(|r| r.partition.contains("#M#"))
        .map(|r| r.items)
        .sum();
    if snapshot_items != timings[0].stats.snapshots {
        problems.push(format!(
            "the plan read {snapshot_items} snapshots, ReadStats says {}",
            timings[0].stats.snapshots
        ));
    }

    let week_steps = steps(&runtime, &stored, timings[0].period, scale.runs.min(10)).await;

    // ---- the tables (continuing the loading process's first one) ----
    println!(
        "| RSS of the measuring process after opening the store | {} |",
        mib(rss_open)
    );
    println!(
        "| its peak after the first weekly report | {} |",
        mib(peak_first_week)
    );
    println!(
        "| its peak after all {} builds | {} |",
        2 * (scale.warm_up + scale.runs),
        mib(peak_builds)
    );
    println!();
    println!(
        "| report | days read (window) | runs | min | median | p90 | queries | snapshots read | posts read |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for t in &timings {
        let previous = t.period.previous(&stored.brand.time_zone).unwrap();
        let (from, to) = window(&previous, &t.period);
        println!(
            "| {} {} to {} | {:.0} | {} | {} | {} | {} | {} | {} | {} |",
            t.kind.as_str(),
            t.period.first_day,
            t.period.last_day,
            to.duration_since(from).as_secs_f64() / 86_400.0,
            t.runs.len(),
            ms(t.runs[0]),
            ms(percentile(&t.runs, 0.5)),
            ms(percentile(&t.runs, 0.9)),
            t.stats.queries,
            thousands(t.stats.snapshots),
            t.stats.posts
        );
    }
    println!();
    println!("Where the weekly report's time goes (medians, each step timed alone):");
    println!();
    println!("| step | median |");
    println!("|---|---|");
    println!(
        "| store queries of the {} snapshot partitions (redb, JSON to `Item`), {} items | {} |",
        CHANNELS.len() + COMPETITORS.len(),
        thousands(week_steps.snapshots),
        ms(week_steps.queries)
    );
    println!(
        "| the same through `Store` (plus `Item` body to `Snapshot`) | {} |",
        ms(week_steps.decoded)
    );
    println!(
        "| published targets of both periods (`published_targets`) | {} |",
        ms(week_steps.posts)
    );
    println!(
        "| `build_report` (the arithmetic, no I/O) | {} |",
        ms(week_steps.arithmetic)
    );
    println!(
        "| freeing the snapshots afterwards | {} |",
        ms(week_steps.freed)
    );
    println!();
    println!(
        "The same {} snapshot bodies ({} KB of JSON; {} KB without `raw`) decoded from bytes and freed:",
        thousands(week_steps.snapshots),
        kb(week_steps.body_bytes),
        kb(week_steps.lean_bytes)
    );
    println!();
    println!("| decoding | median |");
    println!("|---|---|");
    println!(
        "| bytes to `Value` to `Snapshot` (what the store and `Store` do now) | {} |",
        ms(week_steps.via_value)
    );
    println!(
        "| bytes straight to `Snapshot` (`raw` still a `Value`) | {} |",
        ms(week_steps.direct)
    );
    println!(
        "| bytes to `Value` to `Snapshot`, bodies stored without `raw` | {} |",
        ms(week_steps.via_value_lean)
    );
    println!(
        "| bytes straight to `Snapshot`, bodies stored without `raw` | {} |",
        ms(week_steps.direct_lean)
    );
    println!();

    let total_bytes: usize = rows.iter().map(|r| r.bytes).sum();
    let raw_bytes: usize = rows.iter().map(|r| r.raw_bytes).sum();
    println!(
        "DynamoDB requests for the weekly report ({} to {}):",
        timings[0].period.first_day, timings[0].period.last_day
    );
    println!();
    println!(
        "| # | request | IndexName | key condition | partition key | sort key | requests | items | KB | RCU eventual | RCU as issued |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (i, r) in rows.iter().enumerate() {
        let (index_name, condition) = match (r.request, r.index) {
            ("GetItem", _) => ("", "pk, sk".to_owned()),
            (_, Some(index)) => {
                let (name, pk, sk) = table::index(index);
                let op = if r.range.starts_with("begins") {
                    format!("{pk} = :pk AND begins_with({sk}, :p)")
                } else {
                    format!("{pk} = :pk AND {sk} BETWEEN :a AND :b")
                };
                (name, op)
            }
            (_, None) => {
                let op = if r.range.starts_with("begins") {
                    "pk = :pk AND begins_with(sk, :p)".to_owned()
                } else {
                    "pk = :pk AND sk BETWEEN :a AND :b".to_owned()
                };
                ("", op)
            }
        };
        println!(
            "| {} | {} | {} | `{}` | `{}` | `{}` | {} | {} | {} | {} | {} |",
            i + 1,
            r.request,
            index_name,
            condition,
            short(&r.partition, &stored.labels),
            short(&r.range, &stored.labels),
            r.requests,
            thousands(r.items),
            kb(r.bytes),
            r.rcu_eventual,
            r.rcu_issued
        );
    }
    println!(
        "| | total | | | | | {} | {} | {} | {} | {} |",
        rows.iter().map(|r| r.requests).sum::<usize>(),
        thousands(rows.iter().map(|r| r.items).sum()),
        kb(total_bytes),
        rows.iter().map(|r| r.rcu_eventual).sum::<f64>(),
        rows.iter().map(|r| r.rcu_issued).sum::<f64>()
    );
    println!();
    let body_bytes: usize = calls
        .iter()
        .map(|c| match c {
            Call::Query { body_bytes, .. } => *body_bytes,
            _ => 0,
        })
        .sum();
    println!(
        "Item bodies read: {} KB, of which the networks' `raw` answers: {} KB ({:.0}%). Scans: 0; writes: 0.",
        kb(body_bytes),
        kb(raw_bytes),
        100.0 * raw_bytes as f64 / body_bytes.max(1) as f64
    );
    println!();

    runtime.shutdown();
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        fail(&problems)
    }
}
