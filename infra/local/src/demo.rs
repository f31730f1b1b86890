//! `palinsesto serve --demo`: a brand, `demo-sandbox`, with a month of history on the sandbox
//! network, made through the services themselves on a simulated clock: posts written by an
//! editor, approved and scheduled by a manager, published by the publishing tick, measured by the
//! metrics tick, reported by the reports tick, exactly as a live desk would over the month. Then
//! the next two weeks' schedule, posts waiting for review and a few drafts. The server starts
//! on the real clock afterwards and carries on from there.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan, Zoned};
use palinsesto::bucket::Bucket;
use palinsesto::clock::ManualClock;
use palinsesto::domain::post::PostInput;
use palinsesto::domain::{Actor, AssetId, BrandId, ChannelId, PeriodKind, Post, Role};
use palinsesto::fanout::{DispatchError, Dispatcher, PublishJob};
use palinsesto::http::AppState;
use palinsesto::local::{LocalOptions, LocalRuntime};
use palinsesto::media_inspection::Limits;
use palinsesto::services::brands::NewProfile;
use palinsesto::services::channels::NewChannel;
use palinsesto::services::competitors::NewCompetitor;
use palinsesto::services::intake::IntakeOutcome;
use palinsesto::services::kpis::NewKpi;
use palinsesto::services::posts::Action;
use palinsesto::services::publishing::JobReport;
use palinsesto::store::{Item, ItemStore, Page, Query, Store, StoreError, Write, keys};
use serde_json::{Map, Value, json};
use tracing::instrument::WithSubscriber;

/// The demo's brand, apart from the `demo` brand a first `serve` makes.
pub const DEMO_SANDBOX_BRAND: &str = "demo-sandbox";
const ZONE: &str = "Europe/Rome";
/// How far back the history goes.
const HISTORY_DAYS: i64 = 30;
/// How far ahead posts are scheduled.
const SCHEDULE_DAYS: i64 = 14;
/// The simulated clock's step: the publishing tick's late window is 15 minutes, so no post is
/// ever missed.
const STEP_MINUTES: i64 = 15;

/// The channels: name, handle, audience seed.
const CHANNELS: [(&str, &str, &str); 3] = [
    ("Demo Coffee", "@democoffee", "demo-coffee"),
    ("Demo Coffee Pro", "@democoffee-pro", "demo-coffee-pro"),
    (
        "Demo Coffee Community",
        "@democoffee-community",
        "demo-coffee-community",
    ),
];

/// The copy the editor writes, in turn.
const COPY: [&str; 16] = [
    "Our autumn menu is here: chestnut latte, pumpkin cold brew and a hazelnut croissant. #coffee",
    "Meet Giulia, our head roaster. She tastes 40 cups before breakfast. ☕",
    "Three ways to brew at home without a machine: a thread 🧵",
    "Rainy Monday? The first espresso is on us until 10:00 in every shop.",
    "Behind the scenes: how a green bean becomes your morning cup.",
    "New single origin from Huila, Colombia: red fruit, cocoa, a long sweet finish.",
    "Latte art class this Saturday, 5 seats left. Link in bio.",
    "What's your order? Tell us in one emoji 👇",
    "We switched to 100% compostable cups in every shop. Here is what changed.",
    "Friday playlist for the shop, picked by our baristas 🎶",
    "How fine should you grind for a moka pot? Our guide, step by step.",
    "Thank you for 10,000 reviews! A free pastry with every coffee this weekend.",
    "From farm to cup: we visited our growers in Minas Gerais.",
    "Cold brew season never ends. Our recipe for 1 litre at home.",
    "Our new shop opens in Bologna on Saturday: come and say ciao.",
    "Decaf done right: Swiss water process, all of the taste, none of the buzz.",
];

/// What the demo made, for the lines `serve` prints.
pub struct Seeded {
    pub published: usize,
    pub scheduled: usize,
    pub in_review: usize,
    pub drafts: usize,
    pub assets: usize,
    pub reports_written: usize,
    pub first_day: Date,
    pub last_day: Date,
    pub seconds: f64,
}

/// Seeds the demo brand in `data`, refusing when it already has data unless `reset`, in which
/// case everything it had is erased first. The store is closed again before this returns.
pub async fn seed(data: &Path, reset: bool) -> Result<Seeded, String> {
    let started = Instant::now();
    let end = quarter_hour(Timestamp::now());
    let start = end - SignedDuration::from_hours(24 * HISTORY_DAYS);
    let clock = Arc::new(ManualClock::new(start));
    let runtime = LocalRuntime::open_with(
        data,
        LocalOptions {
            clock: clock.clone(),
            ..LocalOptions::default()
        },
    )
    .map_err(|e| e.to_string())?;
    // A simulated month runs thousands of ticks: only what goes wrong is logged.
    let result = Demo::new(&runtime, clock, data)
        .run(start, end, reset)
        .with_subscriber(palinsesto::telemetry::local_warnings_only())
        .await
        .map(|mut seeded| {
            seeded.seconds = started.elapsed().as_secs_f64();
            seeded
        });
    runtime.shutdown();
    result
}

/// The store as the demo's ticks see it. Due work of every brand shares the due indexes, and the
/// simulated month must not take another brand's: a post of theirs due last week would be
/// published "on time" instead of being missed, a report written on the wrong clock. Index
/// queries (the due indexes are the ones spanning brands) answer only this brand's items.
struct OnlyOneBrand {
    inner: Arc<dyn ItemStore>,
    pk: String,
    prefix: String,
}

impl OnlyOneBrand {
    fn new(inner: Arc<dyn ItemStore>, brand: &BrandId) -> Self {
        let pk = keys::brand_pk(brand);
        Self {
            inner,
            prefix: format!("{pk}#"),
            pk,
        }
    }

    fn owns(&self, pk: &str) -> bool {
        pk == self.pk || pk.starts_with(&self.prefix)
    }
}

#[async_trait]
impl ItemStore for OnlyOneBrand {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        self.inner.get(pk, sk).await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        let mut page = self.inner.query(query).await?;
        if query.index.is_some() {
            page.items.retain(|item| self.owns(&item.pk));
        }
        Ok(page)
    }

    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.inner.write(writes).await
    }
}

/// A dispatcher that keeps the tick's jobs, so the demo runs each one at once, in order.
#[derive(Clone, Default)]
struct KeptJobs(Arc<Mutex<Vec<PublishJob>>>);

#[async_trait]
impl Dispatcher for KeptJobs {
    async fn dispatch(&self, jobs: Vec<PublishJob>) -> Result<(), DispatchError> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(jobs);
        Ok(())
    }
}

impl KeptJobs {
    fn take(&self) -> Vec<PublishJob> {
        std::mem::take(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

struct Demo<'a> {
    runtime: &'a LocalRuntime,
    clock: Arc<ManualClock>,
    data: &'a Path,
    state: AppState,
    brand: BrandId,
    zone: TimeZone,
    editor: Actor,
    manager: Actor,
    channels: Vec<ChannelId>,
    assets: Vec<AssetId>,
    written: usize,
}

fn actor(brand: &BrandId, subject: &str, role: Role) -> Actor {
    Actor {
        subject: subject.into(),
        brand: brand.clone(),
        role,
        route: None,
    }
}

fn failed(what: &str) -> impl Fn(palinsesto::services::ServiceError) -> String + '_ {
    move |e| format!("the demo could not {what}: {e}")
}

impl<'a> Demo<'a> {
    fn new(runtime: &'a LocalRuntime, clock: Arc<ManualClock>, data: &'a Path) -> Self {
        let brand = BrandId::parse(DEMO_SANDBOX_BRAND).expect("a valid brand id");
        Self {
            runtime,
            clock,
            data,
            state: runtime.app_state(),
            editor: actor(&brand, "editor@demo-sandbox", Role::Editor),
            manager: actor(&brand, "manager@demo-sandbox", Role::Manager),
            brand,
            zone: TimeZone::get(ZONE).expect("a known zone"),
            channels: Vec::new(),
            assets: Vec::new(),
            written: 0,
        }
    }

    async fn run(
        mut self,
        start: Timestamp,
        end: Timestamp,
        reset: bool,
    ) -> Result<Seeded, String> {
        self.make_room(reset).await?;
        self.set_up().await?;
        let published = self.live_the_month(start, end).await?;
        let (scheduled, in_review, drafts) = self.plan_ahead(end).await?;
        Ok(Seeded {
            published,
            scheduled,
            in_review,
            drafts,
            assets: self.assets.len(),
            reports_written: self.written,
            first_day: start.to_zoned(self.zone.clone()).date(),
            last_day: end.to_zoned(self.zone.clone()).date(),
            seconds: 0.0,
        })
    }

    /// Refuses to seed over a brand that has data, unless asked to erase it.
    async fn make_room(&self, reset: bool) -> Result<(), String> {
        let store = self.runtime.store();
        let error = |e: palinsesto::store::StoreError| format!("the store could not be read: {e}");
        let has_data = store.get_brand(&self.brand).await.map_err(error)?.is_some()
            || !store
                .list_channels(&self.brand)
                .await
                .map_err(error)?
                .is_empty();
        if has_data && !reset {
            return Err(format!(
                "the brand {DEMO_SANDBOX_BRAND} already has data in {}: run `serve --demo --reset` to erase it and make the demo again",
                self.data.display()
            ));
        }
        if has_data {
            let erased = store.erase_brand(&self.brand).await.map_err(error)?;
            for folder in ["incoming", "library", "thumbnails", "quarantine", "reports"] {
                let path = self
                    .runtime
                    .bucket
                    .root()
                    .join(folder)
                    .join(DEMO_SANDBOX_BRAND);
                match std::fs::remove_dir_all(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(format!("cannot remove {}: {e}", path.display())),
                }
            }
            println!("Erased the brand {DEMO_SANDBOX_BRAND} ({erased} items) to make it again.");
        }
        Ok(())
    }

    /// The brand, its channels on the sandbox, its KPI targets, a competitor and a few photos.
    async fn set_up(&mut self) -> Result<(), String> {
        let owner = actor(&self.brand, "owner@demo-sandbox", Role::Owner);
        self.state
            .brands
            .put(
                &owner,
                NewProfile {
                    name: "Demo Coffee (sandbox)",
                    time_zone: ZONE,
                    approval_required: true,
                    report_period: Some(PeriodKind::Week),
                    ..NewProfile::default()
                },
                None,
            )
            .await
            .map_err(failed("create the brand"))?;
        for (name, handle, seed) in CHANNELS {
            let channel = self
                .state
                .channels
                .create(
                    &self.manager,
                    NewChannel {
                        network: "sandbox".into(),
                        name: name.into(),
                        handle: handle.into(),
                        settings: object(json!({ "seed": seed })),
                        status: None,
                        queue: Vec::new(),
                    },
                )
                .await
                .map_err(failed("create a channel"))?;
            self.state
                .channels
                .put_credentials(
                    &self.manager,
                    &channel.id,
                    object(json!({"access_token": "sandbox"})),
                    None,
                )
                .await
                .map_err(failed("connect a channel"))?;
            self.channels.push(channel.id);
        }
        let targets = [
            ("engagement_rate", 0, 3.0),
            ("posts_published", 1, 4.0),
            ("follower_growth", 2, 40.0),
        ];
        for (metric, channel, target) in targets {
            self.state
                .kpis
                .create(
                    &self.manager,
                    NewKpi {
                        metric: metric.into(),
                        channel_id: Some(self.channels[channel].to_string()),
                        target,
                        period: "week".into(),
                        direction: None,
                    },
                )
                .await
                .map_err(failed("set a KPI target"))?;
        }
        self.state
            .competitors
            .create(
                &self.manager,
                NewCompetitor {
                    network: "sandbox".into(),
                    handle: "rival-roasters".into(),
                    name: Some("Rival Roasters".into()),
                    server: None,
                },
            )
            .await
            .map_err(failed("watch a competitor"))?;
        let intake = self.runtime.intake(Limits::default());
        let photos = [
            ("autumn-menu.png", [200, 120, 60]),
            ("roastery.png", [90, 60, 40]),
            ("latte-art.png", [230, 210, 180]),
        ];
        for (name, colour) in photos {
            let key = format!("incoming/{DEMO_SANDBOX_BRAND}/{name}");
            self.runtime
                .bucket
                .put(&key, photo(colour).into(), "image/png")
                .await
                .map_err(|e| format!("the demo could not upload a photo: {e}"))?;
            match intake.ingest(&key).await {
                Ok(IntakeOutcome::Ready(asset)) => self.assets.push(asset.id),
                Ok(other) => {
                    return Err(format!("the demo's photo {name} was not taken in: {other}"));
                }
                Err(e) => return Err(format!("the demo's photo {name} was not taken in: {e}")),
            }
        }
        Ok(())
    }

    /// Moves the clock through the month, a quarter of an hour at a time, running what a live
    /// desk runs: each morning the day's posts are written, approved and scheduled; the
    /// publishing, metrics and reports ticks run as they would. Returns the targets published.
    async fn live_the_month(&mut self, start: Timestamp, end: Timestamp) -> Result<usize, String> {
        let jobs = KeptJobs::default();
        let store = self.runtime.store();
        let scoped = self.runtime.wiring().with_store(Store::new(
            Arc::new(OnlyOneBrand::new(store.items().clone(), &self.brand)),
            store.keyring().clone(),
        ));
        let bucket = Arc::new(self.runtime.bucket.clone());
        let publishing = scoped.publishing(bucket.clone(), Arc::new(jobs.clone()));
        let metrics = scoped.metrics();
        let reports = scoped.reports(bucket);
        let mut published = 0;
        let mut written = 0;
        let mut at = start;
        while at <= end {
            self.clock.set(at);
            let local = at.to_zoned(self.zone.clone());
            if local.hour() == 7 && local.minute() == 0 {
                self.write_the_days_posts(&local).await?;
                if local.weekday() == Weekday::Monday {
                    println!(
                        "demo: week of {}: {published} posts published so far",
                        local.date()
                    );
                }
            }
            publishing
                .tick()
                .await
                .map_err(failed("run the publishing tick"))?;
            for job in jobs.take() {
                let report = publishing
                    .publish_target(&job)
                    .await
                    .map_err(failed("publish a post"))?;
                if matches!(
                    report,
                    JobReport::Recorded {
                        state: "published",
                        ..
                    }
                ) {
                    published += 1;
                }
            }
            metrics
                .tick()
                .await
                .map_err(failed("take metric snapshots"))?;
            if local.minute() == 0 {
                written += reports
                    .tick()
                    .await
                    .map_err(failed("write a report"))?
                    .written;
            }
            at += SignedDuration::from_mins(STEP_MINUTES);
        }
        self.written = written;
        Ok(published)
    }

    /// Monday to Saturday a morning post, Wednesday and Friday an evening one too.
    async fn write_the_days_posts(&self, morning: &Zoned) -> Result<(), String> {
        let day = morning.weekday();
        if day == Weekday::Sunday {
            return Ok(());
        }
        let n = morning.date().day_of_year() as usize;
        let mut times = vec![(9, 30)];
        if matches!(day, Weekday::Wednesday | Weekday::Friday) {
            times.push((17, 0));
        }
        for (i, (hour, minute)) in times.into_iter().enumerate() {
            let at = morning
                .with()
                .hour(hour)
                .minute(minute)
                .build()
                .map_err(|e| format!("the demo could not plan a post: {e}"))?;
            let text = COPY[(n * 2 + i) % COPY.len()];
            self.scheduled_post(text, n + i, &at.timestamp()).await?;
        }
        Ok(())
    }

    /// A post written by the editor, submitted, approved and scheduled by the manager.
    async fn scheduled_post(&self, text: &str, n: usize, at: &Timestamp) -> Result<(), String> {
        let post = self.reviewed_post(text, n, Some(at)).await?;
        let approved = self
            .state
            .posts
            .act(&self.manager, &post.id, Action::Approve, Some(post.version))
            .await
            .map_err(failed("approve a post"))?;
        self.state
            .posts
            .act(
                &self.manager,
                &post.id,
                Action::Schedule { publish_at: None },
                Some(approved.version),
            )
            .await
            .map_err(failed("schedule a post"))?;
        Ok(())
    }

    /// A post written by the editor and sent for review. Posts go to one, two or all three
    /// channels in turn; every third carries a photo.
    async fn reviewed_post(
        &self,
        text: &str,
        n: usize,
        at: Option<&Timestamp>,
    ) -> Result<Post, String> {
        let post = self.draft(text, n, at).await?;
        self.state
            .posts
            .act(&self.editor, &post.id, Action::Submit, Some(post.version))
            .await
            .map_err(failed("submit a post"))
    }

    async fn draft(&self, text: &str, n: usize, at: Option<&Timestamp>) -> Result<Post, String> {
        let channels = self.channels[..1 + n % self.channels.len()]
            .iter()
            .map(ToString::to_string)
            .collect();
        let media = if n.is_multiple_of(3) {
            vec![self.assets[n % self.assets.len()].to_string()]
        } else {
            Vec::new()
        };
        self.state
            .posts
            .create(
                &self.editor,
                PostInput {
                    text: text.into(),
                    channels,
                    media,
                    labels: vec!["demo".into()],
                    campaign: n.is_multiple_of(4).then(|| "Autumn".to_owned()),
                    publish_at: at.map(ToString::to_string),
                    ..PostInput::default()
                },
            )
            .await
            .map_err(failed("write a post"))
    }

    /// The next two weeks' schedule, a few posts waiting for review and a few drafts.
    async fn plan_ahead(&self, now: Timestamp) -> Result<(usize, usize, usize), String> {
        let today = now.to_zoned(self.zone.clone());
        let mut scheduled = 0;
        for d in 1..=SCHEDULE_DAYS {
            let day = today
                .checked_add(d.days())
                .and_then(|z| z.with().hour(10).minute(0).second(0).build())
                .map_err(|e| format!("the demo could not plan a post: {e}"))?;
            if day.weekday() == Weekday::Sunday {
                continue;
            }
            let n = day.date().day_of_year() as usize;
            self.scheduled_post(COPY[n % COPY.len()], n, &day.timestamp())
                .await?;
            scheduled += 1;
        }
        let in_review = 3;
        for i in 0..in_review {
            let at = today
                .checked_add((i as i64 + 2).days())
                .and_then(|z| z.with().hour(18).minute(0).second(0).build())
                .map_err(|e| format!("the demo could not plan a post: {e}"))?;
            self.reviewed_post(COPY[(i * 5 + 3) % COPY.len()], i, Some(&at.timestamp()))
                .await?;
        }
        let drafts = 2;
        for i in 0..drafts {
            self.draft(COPY[(i * 7 + 1) % COPY.len()], i + 1, None)
                .await?;
        }
        Ok((scheduled, in_review, drafts))
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `at`, down to its quarter of an hour.
fn quarter_hour(at: Timestamp) -> Timestamp {
    let step = STEP_MINUTES * 60;
    Timestamp::from_second(at.as_second() - at.as_second().rem_euclid(step)).unwrap_or(at)
}

/// A 960×540 PNG: a vertical gradient from `colour` to a darker shade, so each photo differs.
fn photo(colour: [u8; 3]) -> Vec<u8> {
    const WIDTH: u32 = 960;
    const HEIGHT: u32 = 540;
    let mut pixels = Vec::with_capacity((WIDTH * HEIGHT * 3) as usize);
    for y in 0..HEIGHT {
        let shade = 1.0 - 0.5 * f64::from(y) / f64::from(HEIGHT);
        for x in 0..WIDTH {
            let glow = 0.9 + 0.1 * f64::from(x) / f64::from(WIDTH);
            for c in colour {
                pixels.push((f64::from(c) * shade * glow) as u8);
            }
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Writing into memory cannot fail for a well-formed header and the right number of bytes.
    if let Ok(mut writer) = encoder.write_header() {
        let _ = writer.write_image_data(&pixels);
        let _ = writer.finish();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use palinsesto::store::{Condition, Index, IndexKey, KeyRange};

    fn due(brand: &str, sk: &str) -> Write {
        Write::Put {
            item: Item {
                pk: format!("B#{brand}"),
                sk: sk.into(),
                version: 1,
                indexes: vec![(
                    Index::Due,
                    IndexKey {
                        pk: "DUE#0".into(),
                        sk: format!("2027-01-01T00:00:00Z#{brand}#{sk}"),
                    },
                )],
                expires_at: None,
                body: json!({}),
            },
            condition: Condition::Absent,
        }
    }

    /// Another brand's due work, even one whose id starts with the demo's, is out of the
    /// demo's sight; the demo brand's own is there.
    #[tokio::test]
    async fn the_demo_sees_only_its_own_brands_due_work() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = LocalRuntime::open(dir.path()).unwrap();
        let items = runtime.store().items().clone();
        items
            .write(vec![
                due(DEMO_SANDBOX_BRAND, "P#1"),
                due("demo", "P#2"),
                due("demo-sandbox-2", "P#3"),
            ])
            .await
            .unwrap();
        let query = Query {
            pk: String::new(),
            index: Some((Index::Due, "DUE#0".into())),
            range: KeyRange::Prefix(String::new()),
            after: None,
            limit: 10,
            descending: false,
        };
        assert_eq!(items.query(&query).await.unwrap().items.len(), 3);
        let scoped = OnlyOneBrand::new(items, &BrandId::parse(DEMO_SANDBOX_BRAND).unwrap());
        let seen: Vec<String> = scoped
            .query(&query)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|i| i.pk)
            .collect();
        assert_eq!(seen, ["B#demo-sandbox"]);
        runtime.shutdown();
    }
}
