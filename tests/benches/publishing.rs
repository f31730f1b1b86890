//! The publishing benchmark: 10,000 targets due at the same instant over 100 channels on three
//! loopback fake networks (Mastodon, Bluesky, Telegram) that answer every request 50 ms late, run
//! by the local publisher (the real tick, the real in-process queue with its caps, the embedded
//! store on a temp folder). Prints a markdown table for docs/benchmarks.md and exits non-zero on a
//! duplicate, a lost post, or when the run overshoots its time limit.
//!
//! `cargo bench -p palinsesto-system-tests --bench publishing`
//! (optional: `BENCH_PER_NETWORK` / `BENCH_PER_ACCOUNT` override the caps, to compare settings).

use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jiff::Timestamp;
use palinsesto::adapters::embedded::EmbeddedStore;
use palinsesto::adapters::local_queue::{Caps, local_queue};
use palinsesto::clock::ManualClock;
use palinsesto::domain::post::Context;
use palinsesto::domain::{
    Actor, BrandId, ChannelId, Network, Post, PostDraft, PostInput, Role, TargetState,
};
use palinsesto::domain_events::{self, DomainEvent, EventBus, EventError};
use palinsesto::local::{LocalOptions, LocalRuntime};
use palinsesto::networks::NetworkEndpoints;
use palinsesto::services::channels::NewChannel;
use palinsesto::services::{BrandService, ChannelService};
use palinsesto::store::{Item, ItemStore, Page, Query, StoreError, Write};
use palinsesto_system_tests::bench::{full_run, object, peak_memory_kib, thousands};
use palinsesto_system_tests::fakes::FakeServer;
use palinsesto_system_tests::fakes::bluesky::FakeBluesky;
use palinsesto_system_tests::fakes::mastodon::FakeMastodon;
use palinsesto_system_tests::fakes::telegram::{self, FakeTelegram};
use serde_json::Value;

fn channels_total() -> usize {
    if full_run() { 100 } else { 6 }
}

fn posts_per_channel() -> usize {
    if full_run() { 100 } else { 5 }
}

fn targets_total() -> usize {
    channels_total() * posts_per_channel()
}
const LATENCY: Duration = Duration::from_millis(50);
/// From the first tick to the last target published; far above any plausible result, so hitting
/// it means something is stuck, and the run fails saying so.
const TIME_LIMIT: Duration = Duration::from_secs(300);
/// Posts written to the store at once while setting up (the store commits them in groups).
const SETUP_CONCURRENCY: usize = 256;
const CREATED_AT: &str = "2027-01-15T10:00:00Z";
const DUE_AT: &str = "2027-01-15T11:00:00Z";
const BRAND: &str = "bench";

/// Mastodon and Bluesky accounts each live on a server of their own (so each has its own rate
/// window, as separate accounts do); Telegram is one Bot API for every channel.
const NETWORKS: [Network; 3] = [Network::Mastodon, Network::Bluesky, Network::Telegram];

struct Fakes {
    mastodon: Vec<FakeMastodon>,
    bluesky: Vec<FakeBluesky>,
    telegram: FakeTelegram,
}

impl Fakes {
    fn servers(&self, network: Network) -> Vec<&FakeServer> {
        match network {
            Network::Mastodon => self.mastodon.iter().map(|f| &f.server).collect(),
            Network::Bluesky => self.bluesky.iter().map(|f| &f.server).collect(),
            _ => vec![&self.telegram.server],
        }
    }

    fn requests(&self, network: Network) -> usize {
        self.servers(network)
            .iter()
            .map(|s| s.faults.requests())
            .sum()
    }

    /// How many times each text was posted, over every fake.
    fn posted_texts(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        let texts = self
            .mastodon
            .iter()
            .flat_map(|f| f.statuses().into_iter().map(|s| s.text))
            .chain(
                self.bluesky
                    .iter()
                    .flat_map(|f| f.records().into_iter().map(|r| r.text().to_owned())),
            )
            .chain(self.telegram.messages().into_iter().filter_map(|m| m.text));
        for text in texts {
            *counts.entry(text).or_insert(0) += 1;
        }
        counts
    }
}

/// Counts the publisher's store writes and how long they wait, around the runtime's embedded
/// store.
struct CountingStore {
    inner: Arc<EmbeddedStore>,
    write_calls: AtomicUsize,
    write_wait_micros: AtomicU64,
}

#[async_trait]
impl ItemStore for CountingStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        self.inner.get(pk, sk).await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.inner.query(query).await
    }

    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.write_calls.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let written = self.inner.write(writes).await;
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.write_wait_micros.fetch_add(micros, Ordering::Relaxed);
        written
    }
}

/// Counts settled posts by event kind and notes when the last one arrived.
struct Settled {
    started: Instant,
    kinds: Mutex<BTreeMap<String, usize>>,
    published: AtomicUsize,
    /// Microseconds from `started` to the latest `post.published`.
    last_published_micros: AtomicU64,
    changed: tokio::sync::Notify,
}

#[async_trait]
impl EventBus for Settled {
    async fn emit(&self, events: Vec<DomainEvent>) -> Result<(), EventError> {
        for event in events {
            if event.kind == domain_events::POST_PUBLISHED {
                let micros = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
                self.last_published_micros
                    .fetch_max(micros, Ordering::Relaxed);
                self.published.fetch_add(1, Ordering::Relaxed);
            }
            *self.kinds.lock().unwrap().entry(event.kind).or_insert(0) += 1;
        }
        self.changed.notify_one();
        Ok(())
    }
}

impl Settled {
    fn settled(&self) -> usize {
        self.kinds.lock().unwrap().values().sum()
    }
}

fn caps() -> Caps {
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
    };
    let default = Caps::default();
    Caps {
        per_network: env("BENCH_PER_NETWORK").unwrap_or(default.per_network),
        per_account: env("BENCH_PER_ACCOUNT").unwrap_or(default.per_account),
    }
}

/// CPU time (user and system) this process has used so far; /proc reports it in USER_HZ, which
/// Linux fixes at 100 per second.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may contain spaces: the fields that follow start after its ')'.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let user: u64 = fields.nth(11)?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((user + system) * 10))
}

fn fail(message: &str) -> ExitCode {
    eprintln!("publishing benchmark FAILED: {message}");
    ExitCode::FAILURE
}

#[tokio::main]
async fn main() -> ExitCode {
    let caps = caps();
    let created_at: Timestamp = CREATED_AT.parse().unwrap();
    let due_at: Timestamp = DUE_AT.parse().unwrap();

    // The fakes: every request to any of them is answered LATENCY late.
    let channels_per_network = channels_total() / NETWORKS.len();
    let mastodon_channels = channels_total() - channels_per_network * (NETWORKS.len() - 1);
    let mut mastodon = Vec::new();
    for _ in 0..mastodon_channels {
        mastodon.push(FakeMastodon::start().await);
    }
    let mut bluesky = Vec::new();
    for _ in 0..channels_per_network {
        bluesky.push(FakeBluesky::start().await);
    }
    let fakes = Fakes {
        mastodon,
        bluesky,
        telegram: FakeTelegram::start().await,
    };
    for network in NETWORKS {
        for server in fakes.servers(network) {
            server.faults.set_latency(LATENCY);
        }
    }

    // The runtime on a temp folder, with a manual clock.
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Arc::new(ManualClock::new(created_at));
    let runtime = LocalRuntime::open_with(
        dir.path(),
        LocalOptions {
            clock: clock.clone(),
            endpoints: NetworkEndpoints {
                telegram: fakes.telegram.base().to_owned(),
                ..NetworkEndpoints::default()
            },
            caps,
            outbound: palinsesto::domain::OutboundPolicy::PRIVATE_ALLOWED,
            ..LocalOptions::default()
        },
    )
    .expect("the runtime opens");
    let brand = BrandId::parse(BRAND).unwrap();
    let owner = Actor {
        subject: "bench".into(),
        brand: brand.clone(),
        role: Role::Owner,
        route: None,
    };
    let (profile, _) = BrandService::new(runtime.ports())
        .put(
            &owner,
            palinsesto::services::brands::NewProfile {
                name: "Bench",
                time_zone: "Europe/Rome",
                ..Default::default()
            },
            None,
        )
        .await
        .expect("the brand is created");

    // 100 channels with credentials, spread over the networks.
    let channels_service = ChannelService::new(runtime.ports());
    let mut channels: Vec<(ChannelId, Network)> = Vec::new();
    let mut accounts: Vec<(Network, Value, Value)> = Vec::new();
    for f in &fakes.mastodon {
        accounts.push((Network::Mastodon, f.settings(), f.credentials()));
    }
    for f in &fakes.bluesky {
        accounts.push((Network::Bluesky, f.settings(), f.credentials()));
    }
    for i in 0..channels_per_network {
        let chat = if i % 2 == 0 {
            telegram::PUBLIC_CHANNEL
        } else {
            telegram::PRIVATE_CHANNEL
        };
        accounts.push((
            Network::Telegram,
            FakeTelegram::settings(chat),
            FakeTelegram::credentials(),
        ));
    }
    for (i, (network, settings, credentials)) in accounts.into_iter().enumerate() {
        let channel = channels_service
            .create(
                &owner,
                NewChannel {
                    network: network.as_str().into(),
                    name: format!("{} {i}", network.as_str()),
                    handle: format!("@bench{i}"),
                    settings: object(settings),
                    ..NewChannel::default()
                },
            )
            .await
            .expect("the channel is created");
        channels_service
            .put_credentials(&owner, &channel.id, object(credentials), None)
            .await
            .expect("the credentials are stored");
        channels.push((channel.id, network));
    }
    assert_eq!(channels.len(), channels_total());

    // 10,000 scheduled posts, one target each, written straight to the store. Created round-robin
    // over the channels, as a desk fills a calendar, so the due index mixes the channels.
    let store = runtime.store();
    let ctx = Context {
        actor: "bench",
        now: created_at,
        approval_required: false,
    };
    let mut posts = Vec::with_capacity(targets_total());
    for round in 0..posts_per_channel() {
        for (c, (channel, _)) in channels.iter().enumerate() {
            let draft = PostDraft::parse(PostInput {
                text: format!("Bench post {round} on channel {c}"),
                channels: vec![channel.to_string()],
                publish_at: Some(DUE_AT.into()),
                ..PostInput::default()
            })
            .expect("a valid draft");
            let mut post = Post::create(draft, profile.time_zone.clone(), &ctx);
            post.schedule(None, &ctx)
                .expect("the post can be scheduled");
            posts.push(post);
        }
    }
    let post_ids: Vec<_> = posts.iter().map(|p| p.id).collect();
    let mut writing = tokio::task::JoinSet::new();
    let setup = Instant::now();
    for post in posts {
        while writing.len() >= SETUP_CONCURRENCY {
            writing.join_next().await.unwrap().unwrap();
        }
        let (store, brand) = (store.clone(), brand.clone());
        writing.spawn(async move {
            store
                .put_post(&brand, &post, None)
                .await
                .expect("the post is stored");
        });
    }
    while let Some(done) = writing.join_next().await {
        done.unwrap();
    }
    eprintln!(
        "set up {} channels and {} scheduled posts in {:.1} s",
        channels_total(),
        thousands(targets_total()),
        setup.elapsed().as_secs_f64()
    );

    // The publisher, wired as `LocalRuntime::start_publisher` wires it, except that its store
    // counts writes; the relay's event bus counts settled posts.
    let counting = Arc::new(CountingStore {
        inner: runtime.embedded.clone(),
        write_calls: AtomicUsize::new(0),
        write_wait_micros: AtomicU64::new(0),
    });
    let settled = Arc::new(Settled {
        started: Instant::now(),
        kinds: Mutex::default(),
        published: AtomicUsize::new(0),
        last_published_micros: AtomicU64::new(0),
        changed: tokio::sync::Notify::new(),
    });
    let (queue, runner) = local_queue(caps);
    let closer = queue.clone();
    let service = runtime
        .wiring()
        .with_store(runtime.store().with_items(counting.clone()))
        .publishing(Arc::new(runtime.bucket.clone()), Arc::new(queue));
    let runner = tokio::spawn(runner.run(service.clone()));
    // Settled posts are counted where a subscriber hears of them: after the outbox and the relay.
    let relay = palinsesto::adapters::local_relay::LocalRelay::new(
        runtime.embedded.clone(),
        runtime.wiring().relay(settled.clone()),
        Duration::from_secs(15),
    )
    .start();
    let commits_before = runtime.embedded.commits();

    // The due instant: tick until every target has settled (one tick claims them all; later
    // ticks find nothing new unless something is left pending).
    clock.set(due_at);
    let cpu_before = cpu_time();
    let started = Instant::now();
    // A watchdog outside the async runtime, so even a stuck runtime cannot keep the run going.
    std::thread::spawn(|| {
        std::thread::sleep(TIME_LIMIT + Duration::from_secs(10));
        eprintln!(
            "publishing benchmark FAILED: still running {} s after the first tick",
            TIME_LIMIT.as_secs() + 10
        );
        std::process::exit(2);
    });
    let progress = {
        let settled = settled.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                eprintln!(
                    "{:>5.1} s: {} posts settled",
                    started.elapsed().as_secs_f64(),
                    settled.settled()
                );
            }
        })
    };
    let start_offset = started.duration_since(settled.started);
    let deadline = started + TIME_LIMIT;
    let mut ticks = 0usize;
    let mut first_tick = None;
    let mut next_tick = Instant::now();
    while settled.settled() < targets_total() {
        let now = Instant::now();
        if now >= deadline {
            let kinds = settled.kinds.lock().unwrap().clone();
            return fail(&format!(
                "only {} of {} posts settled within the {} s limit ({ticks} ticks; events: {kinds:?})",
                settled.settled(),
                targets_total(),
                TIME_LIMIT.as_secs()
            ));
        }
        if now >= next_tick {
            let report = service.tick().await.expect("the tick runs");
            ticks += 1;
            first_tick.get_or_insert(started.elapsed());
            if report.posts_examined > 0 {
                eprintln!(
                    "{:>5.1} s: tick {ticks}: {report:?}",
                    started.elapsed().as_secs_f64()
                );
            }
            next_tick = Instant::now() + Duration::from_secs(1);
        }
        let wait = next_tick.saturating_duration_since(Instant::now());
        let _ = tokio::time::timeout(wait, settled.changed.notified()).await;
    }
    let wall = Duration::from_micros(settled.last_published_micros.load(Ordering::Relaxed))
        .saturating_sub(start_offset);
    let run_elapsed = started.elapsed();
    let cpu = cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    let write_calls = counting.write_calls.load(Ordering::Relaxed);
    let write_wait = Duration::from_micros(counting.write_wait_micros.load(Ordering::Relaxed));
    let commits = runtime.embedded.commits() - commits_before;
    progress.abort();
    closer.close();
    drop(service);
    runner.await.expect("the queue stops");
    relay.stop().await;

    // What the networks received, and what the store says.
    let posted = fakes.posted_texts();
    let total_posted: usize = posted.values().sum();
    let duplicated: Vec<(&String, &usize)> = posted.iter().filter(|(_, n)| **n != 1).collect();
    let mut unpublished = 0usize;
    let mut seen_posts = 0usize;
    for id in &post_ids {
        if let Some(post) = store
            .get_post(&brand, id)
            .await
            .expect("the post can be read")
        {
            seen_posts += 1;
            unpublished += post
                .targets
                .iter()
                .filter(|t| !matches!(t.state, TargetState::Published { .. }))
                .count();
        }
    }

    // The ideal bound from the caps: per network, its accounts work in parallel up to the
    // network's cap, each account through its own targets `per_account` at a time; a target
    // costs its requests times the latency, counted from what the fakes received.
    let mut rows = Vec::new();
    let mut bound = Duration::ZERO;
    for network in NETWORKS {
        let k = channels.iter().filter(|(_, n)| *n == network).count();
        let n = k * posts_per_channel();
        let requests = fakes.requests(network);
        let per_target = LATENCY.mul_f64(requests as f64 / n as f64);
        let lanes = (k * caps.per_account).min(caps.per_network).max(1);
        let rounds = n
            .div_ceil(lanes)
            .max(posts_per_channel().div_ceil(caps.per_account.max(1)));
        let network_bound = per_target.mul_f64(rounds as f64);
        bound = bound.max(network_bound);
        rows.push((network, k, n, requests, per_target, lanes, network_bound));
    }
    let ratio = wall.as_secs_f64() / bound.as_secs_f64();
    let peak = peak_memory_kib();

    println!();
    println!(
        "Caps {{ per_network: {}, per_account: {} }}, {} ms added to every request.",
        caps.per_network,
        caps.per_account,
        LATENCY.as_millis()
    );
    println!();
    println!(
        "| network | channels | targets | requests | requests/target | parallel lanes | ideal bound |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (network, k, n, requests, per_target, lanes, network_bound) in &rows {
        println!(
            "| {} | {k} | {} | {} | {:.3} | {lanes} | {:.2} s |",
            network.as_str(),
            thousands(*n),
            thousands(*requests),
            per_target.as_secs_f64() / LATENCY.as_secs_f64(),
            network_bound.as_secs_f64()
        );
    }
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| wall time, first tick to last target published | {:.2} s |",
        wall.as_secs_f64()
    );
    println!(
        "| ideal bound from the caps (slowest network) | {:.2} s |",
        bound.as_secs_f64()
    );
    println!("| ratio (aim <= 1.25) | {ratio:.3} |");
    println!(
        "| first tick (claims and dispatch of every target) | {:.2} s |",
        first_tick.unwrap_or_default().as_secs_f64()
    );
    println!(
        "| throughput | {:.0} targets/s |",
        targets_total() as f64 / wall.as_secs_f64()
    );
    match peak {
        Some(kib) => println!(
            "| peak memory (VmHWM of the bench process, fakes included) | {:.0} MiB |",
            kib as f64 / 1024.0
        ),
        None => println!("| peak memory | not available (no /proc/self/status) |"),
    }
    println!(
        "| store write calls per target | {:.3} ({} calls) |",
        write_calls as f64 / targets_total() as f64,
        thousands(write_calls)
    );
    println!(
        "| mean wait of a store write (group commit, durable) | {:.1} ms |",
        write_wait.as_secs_f64() * 1000.0 / write_calls.max(1) as f64
    );
    if let Some(cpu) = cpu {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        println!(
            "| CPU used during the run (user + system) | {:.1} s, {:.0}% of {cores} cores |",
            cpu.as_secs_f64(),
            100.0 * cpu.as_secs_f64() / (cores as f64 * run_elapsed.as_secs_f64())
        );
    }
    println!(
        "| store commits (one fsync each) | {} |",
        thousands(usize::try_from(commits).unwrap_or(usize::MAX))
    );
    println!("| ticks | {ticks} |");
    println!(
        "| posts on the networks | {} (distinct texts: {}) |",
        thousands(total_posted),
        thousands(posted.len())
    );
    println!("| duplicates | {} |", duplicated.len());
    println!();

    let mut problems = Vec::new();
    if !duplicated.is_empty() {
        let sample: Vec<_> = duplicated.iter().take(5).collect();
        problems.push(format!(
            "{} texts were not posted exactly once, e.g. {sample:?}",
            duplicated.len()
        ));
    }
    if total_posted != targets_total() || posted.len() != targets_total() {
        problems.push(format!(
            "the networks hold {total_posted} posts with {} distinct texts, not {}",
            posted.len(),
            targets_total()
        ));
    }
    if settled.published.load(Ordering::Relaxed) != targets_total() {
        let kinds = settled.kinds.lock().unwrap().clone();
        problems.push(format!("not every post was published: {kinds:?}"));
    }
    if seen_posts != targets_total() || unpublished != 0 {
        problems.push(format!(
            "the store lists {seen_posts} posts with {unpublished} targets not published"
        ));
    }
    runtime.shutdown();
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        fail(&problems.join("; "))
    }
}
