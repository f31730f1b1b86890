//! The inbox benchmark, in two parts. Ingest: 50 Mastodon channels, each on a loopback fake of its
//! own, 200 mentions each (10,000), read by the real inbox worker (`poll`, the manual clock moved
//! past the cadence between polls) into the embedded store on a temp folder: throughput, peak
//! memory, store writes per interaction, requests to the fakes. Listings: 100,000 interactions
//! over 50 channels and 90 days written straight to the store, then p50 and p99 of a page of 50
//! of each indexed listing (all, open, channel, assignee and state), first pages and deep ones,
//! and of filtered listings that meet the examine limit. Prints markdown tables for
//! docs/benchmarks.md; exits non-zero when an interaction is lost, recorded twice, counted
//! wrong or listed where it does not belong (never on a timing).
//!
//! `cargo bench -p palinsesto-system-tests --bench inbox`
//!
//! Under `cargo test` the same binary runs 3 channels of 20 mentions and 2,000 interactions, with
//! the same checks.

use std::collections::{BTreeMap, HashSet};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use palinsesto::adapters::embedded::EmbeddedStore;
use palinsesto::clock::ManualClock;
use palinsesto::domain::inbox::{
    Author, Incoming, Interaction, InteractionKind, InteractionState, ReplyTarget, ResponseVia,
};
use palinsesto::domain::inbox_settings::InboxSettings;
use palinsesto::domain::{Actor, BrandId, ChannelId, Network, Role};
use palinsesto::local::{LocalOptions, LocalRuntime};
use palinsesto::services::brands::NewProfile;
use palinsesto::services::channels::NewChannel;
use palinsesto::services::{BrandService, ChannelService};
use palinsesto::store::inbox::{InteractionPage, Listing, PageRequest};
use palinsesto::store::{Item, ItemStore, Page, Query, Store, StoreError, Write};
use palinsesto_system_tests::bench::{
    full_run, mib, object, peak_memory_kib, percentile, status_kib, thousands,
};
use palinsesto_system_tests::fakes::mastodon::FakeMastodon;
use serde_json::Value;

struct Scale {
    channels: usize,
    mentions_per_channel: usize,
    listed: usize,
    warm_up: usize,
    runs: usize,
}

fn scale() -> Scale {
    if full_run() {
        Scale {
            channels: 50,
            mentions_per_channel: 200,
            listed: 100_000,
            warm_up: 20,
            runs: 200,
        }
    } else {
        Scale {
            channels: 3,
            mentions_per_channel: 20,
            listed: 2_000,
            warm_up: 2,
            runs: 20,
        }
    }
}

const NOW: &str = "2027-01-15T10:00:00Z";
const BRAND: &str = "bench";
const LISTED_BRAND: &str = "bench-listings";
/// Between polls: past the quiet cadence (15 minutes), so every stream is due each time.
const POLL_EVERY: SignedDuration = SignedDuration::from_mins(20);
/// More polls than this without every mention recorded means something is stuck.
const MAX_POLLS: usize = 30;
/// People on each fake who mention the brand.
const PEOPLE: usize = 5;
const LISTED_CHANNELS: usize = 50;
const LISTED_DAYS: i64 = 90;
const PAGE: usize = 50;
/// The page a "deep" read asks for (following the cursors from the first).
const DEEP_PAGE: usize = 20;
const TEAM: [&str; 5] = [
    "ada@caffe.example",
    "bruno@caffe.example",
    "carla@caffe.example",
    "dario@caffe.example",
    "elena@caffe.example",
];
const SEED: u64 = 0x1b0c_2027;

// ---- the store seam: what the worker asks of the store ----

/// Counts the worker's store calls around the runtime's embedded store, and what a write call
/// would cost on DynamoDB (one item alone is a PutItem; several are one TransactWriteItems,
/// which bills each item twice; a unit per KB started, measured on the JSON body and keys).
struct CountingStore {
    inner: Arc<EmbeddedStore>,
    write_calls: AtomicUsize,
    items_written: AtomicUsize,
    write_units: AtomicUsize,
    reads: AtomicUsize,
}

impl CountingStore {
    fn new(inner: Arc<EmbeddedStore>) -> Self {
        Self {
            inner,
            write_calls: AtomicUsize::new(0),
            items_written: AtomicUsize::new(0),
            write_units: AtomicUsize::new(0),
            reads: AtomicUsize::new(0),
        }
    }
}

fn write_kib(write: &Write) -> usize {
    match write {
        Write::Put { item, .. } => {
            let body = serde_json::to_vec(&item.body).map_or(0, |b| b.len());
            (body + item.pk.len() + item.sk.len() + 64).div_ceil(1024)
        }
        Write::Delete { .. } => 1,
    }
}

#[async_trait]
impl ItemStore for CountingStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.get(pk, sk).await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.query(query).await
    }

    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let units: usize = writes.iter().map(write_kib).sum();
        let units = if writes.len() > 1 { 2 * units } else { units };
        self.write_calls.fetch_add(1, Ordering::Relaxed);
        self.items_written
            .fetch_add(writes.len(), Ordering::Relaxed);
        self.write_units.fetch_add(units, Ordering::Relaxed);
        self.inner.write(writes).await
    }
}

// ---- small things ----

/// splitmix64: deterministic data without a dependency for it.
struct Rng(u64);

impl Rng {
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
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn owner(brand: &BrandId) -> Actor {
    Actor {
        subject: "bench".into(),
        brand: brand.clone(),
        role: Role::Owner,
        route: None,
    }
}

// ---- part 1: ingest ----

struct Poll {
    polled: usize,
    recorded: usize,
    took: Duration,
}

struct Ingest {
    channels: usize,
    total: usize,
    polls: Vec<Poll>,
    /// Polls before the mentions after the first arrived.
    first_polls: usize,
    wall: Duration,
    write_calls: usize,
    items_written: usize,
    write_units: usize,
    reads: usize,
    commits: u64,
    http_requests: usize,
    notification_requests: usize,
    peak_kib: Option<u64>,
    resident_before_kib: Option<u64>,
}

async fn ingest(scale: &Scale, problems: &mut Vec<String>) -> Ingest {
    let mut fakes = Vec::new();
    // Every fake numbers its statuses from the same id, and the store takes a Mastodon status
    // id seen twice by one brand for the same interaction (its dedupe key is the brand, the
    // network and the id, not the instance): each fake first spends the ids the ones before it
    // use, so the channels' statuses are distinct, as real instances' snowflake ids nearly
    // always are.
    let ids_per_fake = PEOPLE + scale.mentions_per_channel;
    for c in 0..scale.channels {
        let fake = FakeMastodon::start().await;
        let long_ago: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        for _ in 0..c * ids_per_fake {
            fake.seed_status("an older status", long_ago);
        }
        for p in 0..PEOPLE {
            fake.add_person(&format!("fan{p}"), &format!("Fan {p}"), 40 + p as u64);
        }
        fakes.push(fake);
    }

    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Arc::new(ManualClock::new(NOW.parse().unwrap()));
    let runtime = LocalRuntime::open_with(
        dir.path(),
        LocalOptions {
            clock: clock.clone(),
            outbound: palinsesto::domain::OutboundPolicy::PRIVATE_ALLOWED,
            ..LocalOptions::default()
        },
    )
    .expect("the runtime opens");
    let brand = BrandId::parse(BRAND).unwrap();
    let owner = owner(&brand);
    BrandService::new(runtime.ports())
        .put(
            &owner,
            NewProfile {
                name: "Bench",
                time_zone: "Europe/Rome",
                ..Default::default()
            },
            None,
        )
        .await
        .expect("the brand is created");

    // The channels, connected as `PUT /v1/channels/{id}/credentials` does: the credentials and
    // the channel's inbox streams in one write.
    let channels = ChannelService::new(runtime.ports());
    let store = runtime.store();
    let mut channel_ids = Vec::new();
    for (i, fake) in fakes.iter().enumerate() {
        let channel = channels
            .create(
                &owner,
                NewChannel {
                    network: "mastodon".into(),
                    name: format!("Mastodon {i}"),
                    handle: format!("@bench{i}"),
                    settings: object(fake.settings()),
                    ..NewChannel::default()
                },
            )
            .await
            .expect("the channel is created");
        channels
            .put_credentials(&owner, &channel.id, object(fake.credentials()), None)
            .await
            .expect("the credentials are stored");
        let streams = store
            .channel_streams(&brand, &channel.id)
            .await
            .expect("the streams can be read");
        if streams.len() != 3 {
            problems.push(format!(
                "channel {i} has {} inbox streams after its credentials, not 3 (notifications, threads, own)",
                streams.len()
            ));
        }
        channel_ids.push(channel.id);
    }

    let counting = Arc::new(CountingStore::new(runtime.embedded.clone()));
    let worker = runtime
        .wiring()
        .with_store(runtime.store().with_items(counting.clone()))
        .inbox_worker(Arc::new(runtime.bucket.clone()));
    let commits_before = runtime.embedded.commits();
    let total = scale.channels * scale.mentions_per_channel;

    // A stream's first read takes the latest page only (the inbox starts when the channel is
    // connected), so one mention per channel is there for the first poll and the rest arrive
    // after it, as they would.
    for fake in &fakes {
        fake.mention_as("fan0", "hello, is the shop open on Sunday?");
    }
    let resident_before_kib = status_kib("VmRSS:");
    let mut polls = Vec::new();
    let mut recorded = 0usize;
    let started = Instant::now();
    let poll = async |polls: &mut Vec<Poll>, problems: &mut Vec<String>| {
        let at = Instant::now();
        let report = worker.poll().await.expect("the poll runs");
        if report.failed_polls > 0 {
            problems.push(format!("{} streams failed a poll", report.failed_polls));
        }
        polls.push(Poll {
            polled: report.polled,
            recorded: report.recorded,
            took: at.elapsed(),
        });
        clock.advance(POLL_EVERY);
        report.recorded
    };
    // A tick polls at most 50 due streams a shard, so the first polls go on until every stream
    // has been read once (and has its cursor) before the rest of the mentions arrive.
    loop {
        recorded += poll(&mut polls, problems).await;
        let mut unread = 0;
        for id in &channel_ids {
            let streams = store
                .channel_streams(&brand, id)
                .await
                .expect("the streams can be read");
            unread += streams.iter().filter(|s| s.last_polled.is_none()).count();
        }
        if unread == 0 || polls.len() >= MAX_POLLS {
            break;
        }
    }
    let first_polls = polls.len();
    let mut added = 0usize;
    for (c, fake) in fakes.iter().enumerate() {
        for m in 1..scale.mentions_per_channel {
            fake.mention_as(
                &format!("fan{}", (c + m) % PEOPLE),
                &format!(
                    "mention {m} on channel {c}: do you ship to Torino, and is the new blend decaf?"
                ),
            );
            added += 1;
        }
    }
    debug_assert_eq!(added + scale.channels, total);
    while recorded < total && polls.len() < MAX_POLLS {
        recorded += poll(&mut polls, problems).await;
    }
    let wall = started.elapsed();
    let write_calls = counting.write_calls.load(Ordering::Relaxed);
    let items_written = counting.items_written.load(Ordering::Relaxed);
    let write_units = counting.write_units.load(Ordering::Relaxed);
    let reads = counting.reads.load(Ordering::Relaxed);
    let commits = runtime.embedded.commits() - commits_before;
    let http_requests = fakes.iter().map(|f| f.server.faults.requests()).sum();
    let notification_requests = fakes.iter().map(FakeMastodon::notification_requests).sum();
    let peak_kib = peak_memory_kib();
    if recorded != total {
        problems.push(format!(
            "{recorded} interactions recorded in {} polls, not {total}",
            polls.len()
        ));
    }

    // Dedupe: two more rounds over every stream (a cursor lost would read pages again) record
    // nothing new.
    let mut again = 0;
    for _ in 0..2 {
        again += poll(&mut Vec::new(), problems).await;
    }
    if again != 0 {
        problems.push(format!("later polls recorded {again} interactions again"));
    }
    let counts = store.inbox_counts(&brand).await.expect("the counters read");
    let new = counts.get(&InteractionState::New).copied().unwrap_or(0);
    let others: u64 = counts.values().sum::<u64>() - new;
    if new != total as u64 || others != 0 {
        problems.push(format!(
            "the inbox counters say {counts:?}, not {total} new"
        ));
    }
    let (listed, more) = store
        .interactions_created(
            &brand,
            (
                Timestamp::UNIX_EPOCH,
                Timestamp::now() + SignedDuration::from_hours(1),
            ),
            total + 10,
        )
        .await
        .expect("the interactions read");
    let distinct: HashSet<&str> = listed.iter().map(|i| i.external_id.as_str()).collect();
    if more || listed.len() != total || distinct.len() != total {
        problems.push(format!(
            "the all listing holds {} interactions ({} distinct), not {total}",
            listed.len(),
            distinct.len()
        ));
    }
    runtime.shutdown();
    Ingest {
        channels: scale.channels,
        total,
        polls,
        first_polls,
        wall,
        write_calls,
        items_written,
        write_units,
        reads,
        commits,
        http_requests,
        notification_requests,
        peak_kib,
        resident_before_kib,
    }
}

// ---- part 2: listings ----

const TEXTS: [&str; 6] = [
    "Do you ship to Torino? The last order took a week.",
    "Love the new blend, is it available in beans as well as ground?",
    "The shop in via Roma was closed on Sunday morning, is that the new schedule?",
    "Thanks for the quick answer yesterday!",
    "My order arrived with a broken bag, what should I do?",
    "Any plans for a decaf version of the seasonal blend?",
];

/// One interaction of the listed brand, `k` of them: its age spread over 90 days, recent ones
/// mostly waiting, older ones mostly answered; a fifth assigned.
fn listed_interaction(k: usize, channel: ChannelId, now: Timestamp, rng: &mut Rng) -> Interaction {
    let age = SignedDuration::from_secs(rng.below((LISTED_DAYS * 86_400) as u64) as i64);
    let created_at = now - age;
    let kind = match rng.below(100) {
        0..60 => InteractionKind::Reply,
        60..97 => InteractionKind::Mention,
        97..99 => InteractionKind::DirectMessage,
        _ => InteractionKind::Quote,
    };
    let person = rng.below(5_000);
    let mut i = Interaction::received(
        Incoming {
            external_id: format!("{}", 900_000_000 + k),
            kind,
            permalink: Some(format!(
                "https://mastodon.example/@person{person}/{}",
                900_000_000 + k
            )),
            parent: (kind == InteractionKind::Reply).then(|| "800000001".into()),
            root: (kind == InteractionKind::Reply).then(|| "800000001".into()),
            author: Author {
                id: format!("{}", 700_000 + person),
                handle: format!("@person{person}@mastodon.example"),
                name: format!("Person {person}"),
                followers: Some(rng.below(2_000)),
            },
            text: TEXTS[k % TEXTS.len()].into(),
            raw: Value::Null,
            target: ReplyTarget {
                id: format!("{}", 900_000_000 + k),
                cid: None,
                root_id: None,
                root_cid: None,
                visibility: Some("public".into()),
                chat: None,
            },
            created_at,
        },
        channel,
        Network::Mastodon,
        None,
        created_at + SignedDuration::from_secs(60),
    );
    let roll = rng.below(100);
    i.state = if age < SignedDuration::from_hours(48) {
        match roll {
            0..40 => InteractionState::New,
            40..60 => InteractionState::Open,
            60..90 => InteractionState::Replied,
            _ => InteractionState::Resolved,
        }
    } else {
        match roll {
            0..70 => InteractionState::Replied,
            70..90 => InteractionState::Resolved,
            90..96 => InteractionState::Ignored,
            96..98 => InteractionState::Open,
            _ => InteractionState::New,
        }
    };
    if i.state == InteractionState::Replied {
        i.first_response_at = Some(created_at + SignedDuration::from_mins(20));
        i.first_response_via = Some(ResponseVia::Palinsesto);
    }
    if rng.below(5) == 0 {
        i.assignee = Some(TEAM[rng.below(TEAM.len() as u64) as usize].into());
    }
    i
}

/// What was written, to check the listings and counters against.
#[derive(Default)]
struct Written {
    states: BTreeMap<&'static str, u64>,
    open: usize,
    per_channel: BTreeMap<ChannelId, usize>,
    assigned: BTreeMap<(String, &'static str), usize>,
}

/// Writes `scale.listed` interactions, each channel's by one writer (a channel's counters are
/// one item: writers of one channel would meet on it), the channels at once.
async fn load_listings(
    store: &Store,
    brand: &BrandId,
    channels: &[ChannelId],
    total: usize,
    now: Timestamp,
) -> Written {
    let retention = InboxSettings::default().retention();
    let mut writers = tokio::task::JoinSet::new();
    for (c, channel) in channels.iter().enumerate() {
        let (store, brand, channel) = (store.clone(), brand.clone(), *channel);
        let count = total / channels.len() + usize::from(c < total % channels.len());
        writers.spawn(async move {
            let mut rng = Rng(SEED ^ (c as u64 + 1).wrapping_mul(0x9e37));
            let mut written = Written::default();
            for n in 0..count {
                let k = n * LISTED_CHANNELS + c;
                let i = listed_interaction(k, channel, now, &mut rng);
                let mut attempts = 0;
                loop {
                    match store
                        .record_interaction(&brand, &i, retention, vec![])
                        .await
                    {
                        Ok(Some(_)) => break,
                        Ok(None) => panic!("interaction {k} was taken for a duplicate"),
                        Err(StoreError::Conflict { .. }) if attempts < 5 => attempts += 1,
                        Err(e) => panic!("interaction {k} could not be recorded: {e}"),
                    }
                }
                *written.states.entry(i.state.as_str()).or_default() += 1;
                written.open += usize::from(i.state.is_open());
                *written.per_channel.entry(channel).or_default() += 1;
                if let Some(a) = &i.assignee {
                    *written
                        .assigned
                        .entry((a.clone(), i.state.as_str()))
                        .or_default() += 1;
                }
            }
            written
        });
    }
    let mut all = Written::default();
    while let Some(done) = writers.join_next().await {
        let w = done.expect("a writer finished");
        for (s, n) in w.states {
            *all.states.entry(s).or_default() += n;
        }
        all.open += w.open;
        all.per_channel.extend(w.per_channel);
        for (k, n) in w.assigned {
            *all.assigned.entry(k).or_default() += n;
        }
    }
    all
}

type Keep = Box<dyn Fn(&Interaction) -> bool>;

/// A listing read the way `GET /v1/inbox` reads it: the indexed listing, and what the service
/// keeps of it.
struct Case {
    name: String,
    listing: Listing,
    page: usize,
    /// What the API filter keeps (the listing's own members pass `member`).
    keep: Keep,
    /// Who belongs in the indexed listing.
    member: Keep,
}

struct Timed {
    name: String,
    page_reached: usize,
    items: usize,
    partial: bool,
    more: bool,
    p50: Duration,
    p99: Duration,
}

async fn read_page(
    store: &Store,
    brand: &BrandId,
    listing: &Listing,
    cursor: Option<&str>,
    keep: &dyn Fn(&Interaction) -> bool,
) -> InteractionPage {
    store
        .list_interactions(
            brand,
            listing,
            PageRequest {
                range: (None, None),
                oldest_first: false,
                cursor,
                limit: PAGE,
            },
            keep,
        )
        .await
        .expect("the listing reads")
}

async fn time_case(
    store: &Store,
    brand: &BrandId,
    case: &Case,
    scale: &Scale,
    problems: &mut Vec<String>,
) -> Timed {
    // Follow the cursors to the page asked for (or the last there is).
    let mut cursor: Option<String> = None;
    let mut page_reached = 1;
    while page_reached < case.page {
        let page = read_page(store, brand, &case.listing, cursor.as_deref(), &*case.keep).await;
        match page.next {
            Some(next) => {
                cursor = Some(next.into_string());
                page_reached += 1;
            }
            None => break,
        }
    }
    let mut runs = Vec::with_capacity(scale.runs);
    let mut last = None;
    for run in 0..scale.warm_up + scale.runs {
        let at = Instant::now();
        let page = read_page(store, brand, &case.listing, cursor.as_deref(), &*case.keep).await;
        let took = at.elapsed();
        if run >= scale.warm_up {
            runs.push(took);
        }
        last = Some(page);
    }
    runs.sort();
    let page = last.expect("at least one run");
    if let Some(bad) = page
        .items
        .iter()
        .find(|i| !(case.member)(i) || !(case.keep)(i))
    {
        problems.push(format!(
            "{}: {} ({:?}, {:?}, {:?}) does not belong there",
            case.name, bad.id, bad.state, bad.kind, bad.assignee
        ));
    }
    if page
        .items
        .windows(2)
        .any(|w| w[0].created_at < w[1].created_at)
    {
        problems.push(format!("{}: the page is not newest first", case.name));
    }
    if page.items.len() < PAGE && page.next.is_some() && !page.partial {
        problems.push(format!(
            "{}: {} items, more to read, and not marked partial",
            case.name,
            page.items.len()
        ));
    }
    Timed {
        name: case.name.clone(),
        page_reached,
        items: page.items.len(),
        partial: page.partial,
        more: page.next.is_some(),
        p50: percentile(&runs, 0.5),
        p99: percentile(&runs, 0.99),
    }
}

/// Every page of `listing` from the first: how many interactions, all distinct, and how long.
async fn walk(
    store: &Store,
    brand: &BrandId,
    listing: &Listing,
) -> (usize, usize, usize, Duration) {
    let mut seen = HashSet::new();
    let mut count = 0;
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    let at = Instant::now();
    loop {
        let page = read_page(store, brand, listing, cursor.as_deref(), &|_| true).await;
        pages += 1;
        count += page.items.len();
        seen.extend(page.items.iter().map(|i| i.id));
        match page.next {
            Some(next) => cursor = Some(next.into_string()),
            None => break,
        }
    }
    (count, seen.len(), pages, at.elapsed())
}

struct Listings {
    total: usize,
    load: Duration,
    timed: Vec<Timed>,
    walks: Vec<(String, usize, usize, Duration)>,
    open: usize,
    assigned_replied: usize,
}

async fn listings(scale: &Scale, problems: &mut Vec<String>) -> Listings {
    let dir = tempfile::tempdir().expect("a temp dir");
    let now: Timestamp = NOW.parse().unwrap();
    let runtime = LocalRuntime::open_with(
        dir.path(),
        LocalOptions {
            clock: Arc::new(ManualClock::new(now)),
            ..LocalOptions::default()
        },
    )
    .expect("the runtime opens");
    let store = runtime.store();
    let brand = BrandId::parse(LISTED_BRAND).unwrap();
    let channels: Vec<ChannelId> = (0..LISTED_CHANNELS).map(|_| ChannelId::new()).collect();
    let at = Instant::now();
    let written = load_listings(&store, &brand, &channels, scale.listed, now).await;
    let load = at.elapsed();
    eprintln!(
        "wrote {} interactions in {:.1} s",
        thousands(scale.listed),
        load.as_secs_f64()
    );

    // The counters kept on write agree with what was written.
    let counts = store.inbox_counts(&brand).await.expect("the counters read");
    let counted: BTreeMap<&str, u64> = counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(s, n)| (s.as_str(), *n))
        .collect();
    if counted != written.states {
        problems.push(format!(
            "the counters say {counted:?}, the writers wrote {:?}",
            written.states
        ));
    }

    let ada = TEAM[0].to_owned();
    let channel = channels[0];
    let any: fn() -> Keep = || Box::new(|_| true);
    let mut cases = Vec::new();
    for page in [1, DEEP_PAGE] {
        let deep = if page == 1 { "first page" } else { "deep page" };
        cases.push(Case {
            name: format!("all, {deep}"),
            listing: Listing::All,
            page,
            keep: any(),
            member: any(),
        });
        cases.push(Case {
            name: format!("open (new and open), {deep}"),
            listing: Listing::Open,
            page,
            keep: any(),
            member: Box::new(|i| i.state.is_open()),
        });
        cases.push(Case {
            name: format!("one channel, {deep}"),
            listing: Listing::Channel(channel),
            page,
            keep: any(),
            member: Box::new(move |i| i.channel == channel),
        });
        let a = ada.clone();
        cases.push(Case {
            name: format!("assignee + state=replied, {deep}"),
            listing: Listing::Assignee(ada.clone(), InteractionState::Replied),
            page,
            keep: any(),
            member: Box::new(move |i| {
                i.assignee.as_deref() == Some(a.as_str()) && i.state == InteractionState::Replied
            }),
        });
    }
    let a = ada.clone();
    cases.push(Case {
        name: "assignee + state=open, first page".into(),
        listing: Listing::Assignee(ada.clone(), InteractionState::Open),
        page: 1,
        keep: any(),
        member: Box::new(move |i| {
            i.assignee.as_deref() == Some(a.as_str()) && i.state == InteractionState::Open
        }),
    });
    // Filters the listings do not index: the service reads the all (or open) listing and keeps
    // what matches, at most 1,000 entries a page.
    cases.push(Case {
        name: "all, state=new (open listing, filtered)".into(),
        listing: Listing::Open,
        page: 1,
        keep: Box::new(|i| i.state == InteractionState::New),
        member: Box::new(|i| i.state.is_open()),
    });
    cases.push(Case {
        name: "all, kind=mention (filtered, ~37%)".into(),
        listing: Listing::All,
        page: 1,
        keep: Box::new(|i| i.kind == InteractionKind::Mention),
        member: any(),
    });
    cases.push(Case {
        name: "all, state=replied (filtered, ~65%)".into(),
        listing: Listing::All,
        page: 1,
        keep: Box::new(|i| i.state == InteractionState::Replied),
        member: any(),
    });
    cases.push(Case {
        name: "all, kind=direct_message (filtered, ~2%)".into(),
        listing: Listing::All,
        page: 1,
        keep: Box::new(|i| i.kind == InteractionKind::DirectMessage),
        member: any(),
    });
    cases.push(Case {
        name: "all, kind=quote (filtered, ~1%)".into(),
        listing: Listing::All,
        page: 1,
        keep: Box::new(|i| i.kind == InteractionKind::Quote),
        member: any(),
    });

    let mut timed = Vec::new();
    for case in &cases {
        timed.push(time_case(&store, &brand, case, scale, problems).await);
    }
    for t in &timed {
        if t.name.contains("~2%") && !t.partial && t.more {
            problems.push(format!("{}: a short page not marked partial", t.name));
        }
    }

    // Whole listings, page by page: each interaction once, as many as were written.
    let mut walks = Vec::new();
    let expected_replied = written
        .assigned
        .get(&(ada.clone(), "replied"))
        .copied()
        .unwrap_or(0);
    for (name, listing, expected) in [
        ("all", Listing::All, scale.listed),
        ("open", Listing::Open, written.open),
        (
            "one channel",
            Listing::Channel(channel),
            written.per_channel.get(&channel).copied().unwrap_or(0),
        ),
        (
            "assignee + state=replied",
            Listing::Assignee(ada.clone(), InteractionState::Replied),
            expected_replied,
        ),
    ] {
        let (count, distinct, pages, took) = walk(&store, &brand, &listing).await;
        if count != expected || distinct != expected {
            problems.push(format!(
                "the {name} listing holds {count} entries ({distinct} distinct), not {expected}"
            ));
        }
        walks.push((name.to_owned(), count, pages, took));
    }
    runtime.shutdown();
    Listings {
        total: scale.listed,
        load,
        timed,
        walks,
        open: written.open,
        assigned_replied: expected_replied,
    }
}

// ---- the report ----

fn print_ingest(r: &Ingest) {
    let per = |n: usize| n as f64 / r.total as f64;
    println!();
    println!(
        "Ingest: {} Mastodon channels (a fake each), {} mentions each, {} interactions.",
        r.channels,
        r.total / r.channels,
        thousands(r.total)
    );
    println!();
    println!("| poll | mentions waiting on the fakes | streams polled | recorded | time |");
    println!("|---|---|---|---|---|");
    for (n, p) in r.polls.iter().enumerate() {
        println!(
            "| {} | {} | {} | {} | {:.2} s |",
            n + 1,
            if n < r.first_polls {
                "1 a channel"
            } else {
                "the rest"
            },
            p.polled,
            thousands(p.recorded),
            p.took.as_secs_f64()
        );
    }
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!("| wall time of the polls | {:.2} s |", r.wall.as_secs_f64());
    println!(
        "| throughput | {:.0} interactions/s |",
        r.total as f64 / r.wall.as_secs_f64()
    );
    println!(
        "| peak memory (VmHWM of the bench process, fakes included) | {} |",
        mib(r.peak_kib)
    );
    println!(
        "| resident memory before the first poll (fakes and their statuses loaded) | {} |",
        mib(r.resident_before_kib)
    );
    println!(
        "| store write calls per interaction | {:.3} ({} calls) |",
        per(r.write_calls),
        thousands(r.write_calls)
    );
    println!(
        "| items written per interaction | {:.2} ({} items) |",
        per(r.items_written),
        thousands(r.items_written)
    );
    println!(
        "| DynamoDB write units per interaction (estimate: transactions bill twice, 1 KB units) | {:.1} |",
        per(r.write_units)
    );
    println!(
        "| store reads (get, query) per interaction | {:.2} ({} reads) |",
        per(r.reads),
        thousands(r.reads)
    );
    println!(
        "| embedded commits (one fsync each) per interaction | {:.3} ({} commits) |",
        per(usize::try_from(r.commits).unwrap_or(usize::MAX)),
        thousands(usize::try_from(r.commits).unwrap_or(usize::MAX))
    );
    println!(
        "| HTTP requests to the fakes | {} ({} of them notification pages, {:.1} interactions a page) |",
        thousands(r.http_requests),
        thousands(r.notification_requests),
        r.total as f64 / r.notification_requests.max(1) as f64
    );
}

fn print_listings(r: &Listings) {
    println!();
    println!(
        "Listings: {} interactions over {LISTED_CHANNELS} channels and {LISTED_DAYS} days ({} new or open; the assignee has {} replied), written in {:.1} s (not measured); pages of {PAGE}, newest first.",
        thousands(r.total),
        thousands(r.open),
        thousands(r.assigned_replied),
        r.load.as_secs_f64()
    );
    println!();
    println!("| listing | page | items | partial | more | p50 | p99 |");
    println!("|---|---|---|---|---|---|---|");
    for t in &r.timed {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            t.name,
            t.page_reached,
            t.items,
            if t.partial { "yes" } else { "no" },
            if t.more { "yes" } else { "no" },
            ms(t.p50),
            ms(t.p99)
        );
    }
    println!();
    println!("| whole listing, page by page | interactions | pages | time |");
    println!("|---|---|---|---|");
    for (name, count, pages, took) in &r.walks {
        println!(
            "| {name} | {} | {} | {:.2} s |",
            thousands(*count),
            thousands(*pages),
            took.as_secs_f64()
        );
    }
    println!();
}

#[tokio::main]
async fn main() -> ExitCode {
    let scale = scale();
    let mut problems = Vec::new();
    let ingested = ingest(&scale, &mut problems).await;
    print_ingest(&ingested);
    let listed = listings(&scale, &mut problems).await;
    print_listings(&listed);
    println!(
        "Peak memory at the end (listings included): {}",
        mib(peak_memory_kib())
    );
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("inbox benchmark FAILED: {}", problems.join("; "));
        ExitCode::FAILURE
    }
}
