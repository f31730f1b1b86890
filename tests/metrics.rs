//! Metrics and reports on the local runner with a manual clock and a loopback Mastodon server:
//! the age-banded snapshot cadence, rate limits, the week's report in JSON, CSV and HTML showing
//! a post's likes rising, the KPI status and a competitor row, and the scheduled report written
//! to the bucket with its report.ready event.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use palinsesto::bucket::BlobError;
use palinsesto::domain::metrics::Subject;
use palinsesto::domain::{BrandId, ChannelId, PostId};
use palinsesto::networks::NetworkEndpoints;
use palinsesto::services::ReportService;
use palinsesto::services::metrics::MetricsTickReport;
use palinsesto_system_tests::bucket::{Access, HookedBucket};
use palinsesto_system_tests::desk::{Desk, target};
use palinsesto_system_tests::fakes::mastodon::FakeMastodon;
use serde_json::{Value, json};

/// A Wednesday in Rome (CET, UTC+1).
const PUBLISHED: &str = "2027-03-10T09:00:00Z";

struct World {
    desk: Desk,
    mastodon: FakeMastodon,
    channel: String,
    post: String,
    remote_id: String,
}

async fn published_post() -> World {
    published_post_at(PUBLISHED.parse().unwrap()).await
}

async fn published_post_at(published: Timestamp) -> World {
    let desk = Desk::start(NetworkEndpoints::default()).await;
    desk.app.clock.set(
        published
            .checked_sub(SignedDuration::from_hours(1))
            .unwrap(),
    );
    let mastodon = FakeMastodon::start().await;
    mastodon.set_followers(100);
    let channel = desk
        .channel("mastodon", mastodon.settings(), mastodon.credentials())
        .await;
    let post = desk
        .scheduled(
            "Spring menu 🌸 #coffee",
            &[&channel],
            &published.to_string(),
        )
        .await;
    desk.app.clock.set(published);
    let settled = desk.tick_and_settle(&post).await;
    let t = target(&settled, &channel);
    assert_eq!(t["state"], "published", "{t}");
    let remote_id = t["remote_id"].as_str().unwrap().to_owned();
    World {
        desk,
        mastodon,
        channel,
        post,
        remote_id,
    }
}

impl World {
    async fn tick(&self) -> MetricsTickReport {
        self.desk
            .app
            .runtime
            .metrics()
            .tick()
            .await
            .expect("the metrics tick runs")
    }

    fn at(&self, t: &str) {
        self.desk.set_time(t);
    }

    async fn next_post_snapshot(&self) -> Option<Timestamp> {
        let subject = Subject::Post {
            post_id: PostId::parse(&self.post).unwrap(),
            channel_id: ChannelId::parse(&self.channel).unwrap(),
        };
        self.desk
            .app
            .runtime
            .store()
            .get_tracker(&BrandId::parse("acme").unwrap(), &subject)
            .await
            .unwrap()
            .map(|t| t.next_at)
    }

    async fn series(&self) -> Vec<Value> {
        let r = self
            .desk
            .manager()
            .get(&format!(
                "/v1/metrics?post={}&from=2027-03-01T00:00:00Z&to=2027-07-01T00:00:00Z",
                self.post
            ))
            .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        let items = r.body["items"].as_array().unwrap().clone();
        // The network's raw answer stays in the store: the API gives the normalised counters.
        for item in &items {
            assert!(item.get("raw").is_none(), "{item}");
            assert!(item["counters"].is_object(), "{item}");
        }
        items
    }
}

#[tokio::test]
async fn snapshots_follow_the_age_bands_and_stop_after_ninety_days() {
    let w = published_post().await;
    // The channel's account is read at the first tick; the post only an hour after publishing.
    let first = w.tick().await;
    assert_eq!(first.snapshots, 1, "{first:?}");
    assert_eq!(
        w.next_post_snapshot().await.unwrap().to_string(),
        "2027-03-10T10:00:00Z"
    );

    w.at("2027-03-10T09:59:59Z");
    assert_eq!(w.tick().await.snapshots, 0, "nothing is due yet");
    w.at("2027-03-10T10:00:00Z");
    w.mastodon.set_status_counts(&w.remote_id, 1, 0, 0);
    assert_eq!(w.tick().await.snapshots, 1);
    assert_eq!(
        w.tick().await.snapshots,
        0,
        "a second tick takes nothing twice"
    );
    // Hourly in the first day.
    assert_eq!(
        w.next_post_snapshot().await.unwrap().to_string(),
        "2027-03-10T11:00:00Z"
    );

    // A quiet post is read less often: unchanged once -> 2 h, twice -> 4 h.
    w.at("2027-03-10T11:00:00Z");
    w.tick().await;
    assert_eq!(
        w.next_post_snapshot().await.unwrap().to_string(),
        "2027-03-10T13:00:00Z"
    );
    w.at("2027-03-10T13:00:00Z");
    w.tick().await;
    assert_eq!(
        w.next_post_snapshot().await.unwrap().to_string(),
        "2027-03-10T17:00:00Z"
    );
    // A change brings it back to the band's pace.
    w.at("2027-03-10T17:00:00Z");
    w.mastodon.set_status_counts(&w.remote_id, 4, 1, 0);
    w.tick().await;
    assert_eq!(
        w.next_post_snapshot().await.unwrap().to_string(),
        "2027-03-10T18:00:00Z"
    );

    // Day 2: every 6 hours. Day 8: daily. Day 31: weekly.
    for (i, (now, next)) in [
        ("2027-03-11T10:00:00Z", "2027-03-11T16:00:00Z"),
        ("2027-03-18T10:00:00Z", "2027-03-19T10:00:00Z"),
        ("2027-04-10T10:00:00Z", "2027-04-17T10:00:00Z"),
    ]
    .into_iter()
    .enumerate()
    {
        w.at(now);
        // Still changing, so the band's own pace shows.
        w.mastodon
            .set_status_counts(&w.remote_id, 10 * (i as u64 + 1), 1, 0);
        w.tick().await;
        assert_eq!(
            w.next_post_snapshot().await.unwrap().to_string(),
            next,
            "after a snapshot at {now}"
        );
    }

    // Past day 90 nothing more is taken and the post is no longer followed.
    w.at("2027-06-09T10:00:00Z");
    let last = w.tick().await;
    assert!(last.stopped >= 1, "{last:?}");
    assert_eq!(w.next_post_snapshot().await, None);
    w.at("2027-06-20T10:00:00Z");
    let before = w.series().await.len();
    w.tick().await;
    assert_eq!(w.series().await.len(), before);

    // The series is the history: immutable snapshots, oldest first, likes as Mastodon counted
    // them and views "not available" (null), never 0.
    let series = w.series().await;
    let likes: Vec<u64> = series
        .iter()
        .map(|s| s["counters"]["likes"].as_u64().unwrap())
        .collect();
    assert_eq!(&likes[..3], &[1, 1, 1]);
    assert!(likes.windows(2).all(|p| p[0] <= p[1]), "{likes:?}");
    assert!(series.iter().all(|s| s["counters"]["views"].is_null()));
    assert!(series.iter().all(|s| s["subject"] == "post"));
}

#[tokio::test]
async fn a_rate_limited_account_waits_for_the_reset_without_calling_again() {
    // The fake's rate-limit window is in real time: the post went out two hours ago.
    let now = jiff::Timestamp::from_second(Timestamp::now().as_second()).unwrap();
    let w = published_post_at(now.checked_sub(SignedDuration::from_hours(2)).unwrap()).await;
    w.tick().await;
    w.desk.app.clock.set(now);
    w.mastodon.exhaust_rate_limit();
    let reset = w.mastodon.rate_limit_reset();
    assert!(reset > now);
    let requests = w.mastodon.faults().requests();
    let report = w.tick().await;
    assert_eq!((report.snapshots, report.failed), (0, 1), "{report:?}");
    assert_eq!(w.mastodon.faults().requests(), requests + 1);
    let next = w.next_post_snapshot().await.unwrap();
    assert!(
        next.duration_since(reset).abs() < SignedDuration::from_secs(1),
        "the next reading waits for the reset ({next} vs {reset})"
    );
    // Before the reset nothing is asked.
    assert_eq!(w.tick().await.due, 0);
    assert_eq!(w.mastodon.faults().requests(), requests + 1);
}

#[tokio::test]
async fn the_weeks_report_shows_the_rise_the_kpi_status_and_a_competitor() {
    let mut w = published_post().await;
    let m = w.desk.manager();
    // The strategist's target: 3 interactions a week on all channels; and one on impressions,
    // which Mastodon does not count.
    let r = m
        .post(
            "/v1/kpis",
            json!({"metric": "engagement", "target": 3, "period": "week"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let r = m
        .post(
            "/v1/kpis",
            json!({"metric": "impressions", "channel_id": w.channel, "target": 1000, "period": "week"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    w.mastodon
        .seed_public_account("rival", 250, &["Our spring menu"]);
    let r = m
        .post(
            "/v1/competitors",
            json!({"network": "mastodon", "handle": "rival@rival.example", "name": "Rival Café", "server": w.mastodon.base()}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);

    // Two snapshots an hour apart: 1 like, then 5 likes and a reply.
    w.at("2027-03-10T10:00:00Z");
    w.mastodon.set_status_counts(&w.remote_id, 1, 0, 0);
    w.tick().await;
    w.at("2027-03-10T11:00:00Z");
    w.mastodon.set_status_counts(&w.remote_id, 5, 0, 1);
    let report = w.tick().await;
    assert_eq!(report.failed, 0, "{report:?}");
    let series = w.series().await;
    let likes: Vec<u64> = series
        .iter()
        .map(|s| s["counters"]["likes"].as_u64().unwrap())
        .collect();
    assert_eq!(likes, vec![1, 5], "the likes rise between two snapshots");

    // The week Monday 8 - Sunday 14 March, asked for on the Monday after.
    w.at("2027-03-15T07:30:00Z");
    let r = m.get("/v1/reports?period=week&ending=2027-03-14").await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    let json = &r.body;
    assert_eq!(json["period"]["first_day"], "2027-03-08");
    let channel = &json["channels"][0]["current"];
    assert_eq!(channel["posts_published"], 1);
    assert_eq!(channel["likes"], 5, "{channel}");
    assert_eq!(channel["replies"], 1);
    assert_eq!(channel["engagement"], 6);
    assert!(channel["views"].is_null(), "Mastodon counts no views");
    assert_eq!(channel["followers_end"], 100);
    assert_eq!(json["total"]["change"]["engagement"]["absolute"], 6.0);
    let kpis = json["kpis"].as_array().unwrap();
    assert_eq!(kpis[0]["metric"], "engagement");
    assert_eq!(kpis[0]["outcome"], "met");
    assert_eq!(kpis[0]["difference"], 3.0);
    assert_eq!(kpis[1]["outcome"], "not_available");
    let rival = &json["competitors"][0];
    assert_eq!(rival["name"], "Rival Café");
    assert_eq!(rival["followers_end"], 250);
    assert_eq!(rival["network"], "mastodon");
    assert_eq!(json["top_posts"][0]["excerpt"], "Spring menu 🌸 #coffee");

    let csv = m
        .send(
            m.request(reqwest::Method::GET, "/v1/reports?ending=2027-03-14")
                .header("accept", "text/csv"),
        )
        .await;
    assert_eq!(csv.status.as_u16(), 200);
    assert!(csv.content_type().starts_with("text/csv"));
    let text = csv.text();
    assert!(text.contains("Rival Café"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("Mastodon") || l.contains("mastodon"))
    );

    let html = m.get("/v1/reports?ending=2027-03-14&format=html").await;
    assert!(html.content_type().starts_with("text/html"));
    let page = html.text();
    assert!(page.contains("<svg"), "charts are inline SVG");
    assert!(page.contains("Rival Café") && page.contains("Spring menu"));
    // A page a browser renders says what it may load (nothing from elsewhere: its style is
    // inline) and that it may not be framed, and no answer may be sniffed as another type.
    let csp = html
        .headers
        .get("content-security-policy")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    for directive in [
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ] {
        assert!(directives.contains(&directive), "{directive:?} in {csp:?}");
    }
    assert!(
        !csp.contains("script-src") && !page.contains("<script"),
        "the report runs no script: {csp:?}"
    );
    for answer in [&html, &csv, &r] {
        assert_eq!(
            answer
                .headers
                .get("x-content-type-options")
                .map(|v| v.to_str().unwrap()),
            Some("nosniff"),
            "{}",
            answer.content_type()
        );
    }

    // Bad input: a clear problem.
    let bad = m.get("/v1/reports?period=month").await;
    assert_eq!(bad.status.as_u16(), 400);
    assert_eq!(bad.error_fields(), vec!["period"]);
    let future = m.get("/v1/reports?ending=2027-04-30").await;
    assert_eq!(future.status.as_u16(), 400, "{}", future.body);

    // The scheduled run on Monday 08:00 in Rome writes the three files and says so.
    w.at("2027-03-15T07:00:00Z");
    let written = w.desk.app.runtime.reports().tick().await.unwrap();
    assert_eq!(written.written, 1);
    let folder = w
        .desk
        .app
        .runtime
        .bucket
        .root()
        .join("reports/acme/2027-03-14");
    for ext in ["json", "csv", "html"] {
        let path = folder.join(format!("report.{ext}"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(bytes.len() > 200, "{} is too small", path.display());
    }
    let stored: Value =
        serde_json::from_slice(&std::fs::read(folder.join("report.json")).unwrap()).unwrap();
    assert_eq!(stored["channels"][0]["current"]["likes"], 5);
    let events = w.desk.events().await;
    let ready = events
        .iter()
        .find(|e| e.kind == "report.ready")
        .expect("report.ready is emitted");
    assert_eq!(ready.data["last_day"], "2027-03-14");
    // It names the API path that serves the report, never a link that opens it.
    assert_eq!(
        ready.data["path"],
        "/v1/reports?period=week&ending=2027-03-14"
    );
    assert!(ready.data.get("link").is_none(), "{}", ready.data);
    let served = w
        .desk
        .manager()
        .get(ready.data["path"].as_str().unwrap())
        .await;
    assert_eq!(served.status.as_u16(), 200, "{}", served.body);
    // The next run is a week later; running again now writes nothing.
    assert_eq!(
        w.desk.app.runtime.reports().tick().await.unwrap().written,
        0
    );
    w.at(&"2027-03-22T07:00:00Z"
        .parse::<Timestamp>()
        .unwrap()
        .checked_sub(SignedDuration::from_secs(1))
        .unwrap()
        .to_string());
    assert_eq!(
        w.desk.app.runtime.reports().tick().await.unwrap().written,
        0
    );
}

/// The bucket of the local runner, refusing to write `brand`'s reports.
fn refusing_reports_of(
    bucket: palinsesto::adapters::folder_bucket::FolderBucket,
    brand: &'static str,
) -> HookedBucket {
    HookedBucket::new(bucket, move |access| match access {
        Access::Put(key) if key.starts_with(&format!("reports/{brand}/")) => {
            Err(BlobError::Unavailable("the disk is full".into()))
        }
        _ => Ok(()),
    })
}

async fn acme_schedule(
    runtime: &palinsesto::local::LocalRuntime,
) -> palinsesto::domain::report::ReportSchedule {
    runtime
        .store()
        .get_report_schedule(&BrandId::parse("acme").unwrap())
        .await
        .unwrap()
        .expect("acme has a report schedule")
}

#[tokio::test]
async fn a_brand_whose_report_fails_waits_behind_the_others_with_a_back_off() {
    let w = published_post().await;
    // A second brand, due at the same time, behind acme in the queue (brand ids break the tie).
    w.desk.app.brand("beta", "Europe/Rome", false).await;
    let runtime = &w.desk.app.runtime;
    let service = ReportService::new(runtime.ports())
        .with_output(Arc::new(refusing_reports_of(
            runtime.bucket.clone(),
            "acme",
        )))
        .with_per_tick(1);
    w.at("2027-03-15T07:00:00Z");
    let first = service.tick().await.unwrap();
    assert_eq!((first.written, first.failed), (0, 1));
    // acme's failure is recorded and waits: beta's report goes out on the next tick.
    let second = service.tick().await.unwrap();
    assert_eq!((second.written, second.failed), (1, 0));
    assert!(
        runtime
            .bucket
            .root()
            .join("reports/beta/2027-03-14/report.html")
            .exists()
    );
    let acme = acme_schedule(runtime).await;
    assert_eq!(acme.failures, 1);
    assert!(
        acme.last_error
            .as_deref()
            .unwrap()
            .contains("the disk is full"),
        "{acme:?}"
    );
    assert_eq!(acme.retry_at.unwrap().to_string(), "2027-03-15T07:15:00Z");
    // Nothing is due until then; then acme is tried again (the same week), and waits longer.
    assert_eq!(service.tick().await.unwrap(), Default::default());
    w.at("2027-03-15T07:15:00Z");
    assert_eq!(service.tick().await.unwrap().failed, 1);
    let acme = acme_schedule(runtime).await;
    assert_eq!(acme.retry_at.unwrap().to_string(), "2027-03-15T07:45:00Z");
    // When the bucket works again, the report of that week is written and the schedule clears.
    w.at("2027-03-15T07:45:00Z");
    assert_eq!(runtime.reports().tick().await.unwrap().written, 1);
    assert!(
        runtime
            .bucket
            .root()
            .join("reports/acme/2027-03-14/report.html")
            .exists()
    );
    let acme = acme_schedule(runtime).await;
    assert_eq!((acme.failures, acme.retry_at), (0, None));
}

#[tokio::test]
async fn a_report_reads_what_went_out_not_the_drafts() {
    let w = published_post().await;
    // Drafts planned in the same week: the calendar shows them, the report has no use for them.
    let m = w.desk.manager();
    for i in 0..30 {
        let r = m
            .post(
                "/v1/posts",
                json!({"text": format!("draft {i}"), "channels": [w.channel], "publish_at": "2027-03-12T10:00:00Z"}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    }
    let runtime = &w.desk.app.runtime;
    let brand = runtime
        .store()
        .get_brand(&BrandId::parse("acme").unwrap())
        .await
        .unwrap()
        .unwrap();
    let period = palinsesto::domain::report::Period::ending(
        palinsesto::domain::PeriodKind::Week,
        jiff::civil::date(2027, 3, 14),
        &brand.time_zone,
    )
    .unwrap();
    let (report, stats) = runtime.reports().build(&brand, period).await.unwrap();
    assert_eq!(
        stats.posts, 1,
        "only the published target is kept: {stats:?}"
    );
    assert_eq!(report.channels[0].current.posts_published, 1);
}
