//! The sandbox network on the local runner: it publishes through the same tick, claims and
//! outcomes as a real network, its simulated figures go through the metrics snapshots, its
//! injected failures are the typed errors a real network gives, and reports keep its figures
//! apart from real channels'.

use jiff::SignedDuration;
use palinsesto::clock::Clock;
use palinsesto::domain::{BrandId, ChannelId};
use palinsesto::http::ApiSettings;
use palinsesto::networks::NetworkEndpoints;
use palinsesto_system_tests::app::TestApp;
use palinsesto_system_tests::desk::{Desk, target};
use palinsesto_system_tests::fakes::mastodon::FakeMastodon;
use serde_json::{Value, json};

const START: &str = "2027-03-01T08:00:00Z";

async fn desk() -> Desk {
    let desk = Desk::start(NetworkEndpoints::default()).await;
    desk.set_time(START);
    desk
}

async fn sandbox_channel(desk: &Desk, settings: Value) -> String {
    desk.channel("sandbox", settings, json!({"access_token": "anything"}))
        .await
}

/// Schedules a post for now plus a minute, moves there and lets the tick publish it.
async fn publish(desk: &Desk, text: &str, channels: &[&str]) -> (String, Value) {
    let at = desk.app.clock.now() + SignedDuration::from_mins(1);
    let post = desk.scheduled(text, channels, &at.to_string()).await;
    desk.app.clock.set(at);
    let settled = desk.tick_and_settle(&post).await;
    (post, settled)
}

async fn sandbox_posts(desk: &Desk, channel: &str, post: &str) -> usize {
    let brand = BrandId::parse("acme").unwrap();
    let channel = ChannelId::parse(channel).unwrap();
    let key = format!("{post}-{channel}");
    usize::from(
        desk.app
            .runtime
            .store()
            .get_sandbox_post(&brand, &channel, &key)
            .await
            .unwrap()
            .is_some(),
    )
}

#[tokio::test]
async fn a_sandbox_post_is_published_once_through_the_tick_and_its_audience_grows() {
    let desk = desk().await;
    let channel = sandbox_channel(&desk, json!({"seed": "acme-demo"})).await;

    // when a post is due on the sandbox
    let (post, settled) = publish(&desk, "Hello from the sandbox", &[&channel]).await;

    // then it is published by the normal tick, once, and kept in the store
    let t = target(&settled, &channel);
    assert_eq!(t["state"], "published", "{t}");
    assert_eq!(t["remote_id"], format!("{post}-{channel}"));
    assert_eq!(sandbox_posts(&desk, &channel, &post).await, 1);
    assert_eq!(
        desk.tick().await.jobs_dispatched,
        0,
        "nothing is published twice"
    );

    // and its simulated figures grow through the metrics snapshots: fast, then flattening
    let metrics = desk.app.runtime.metrics();
    let mut views = Vec::new();
    for hours in [1, 6, 24, 72] {
        let start: jiff::Timestamp = START.parse().unwrap();
        desk.app
            .clock
            .set(start + SignedDuration::from_secs(60 + hours * 3600));
        metrics.tick().await.expect("the metrics tick runs");
        let r = desk
            .manager()
            .get(&format!(
                "/v1/metrics?post={post}&from=2027-03-01T00:00:00Z&to=2027-04-01T00:00:00Z"
            ))
            .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        let last = r.body["items"].as_array().unwrap().last().cloned().unwrap();
        views.push(last["counters"]["views"].as_u64().unwrap());
    }
    assert!(
        views.windows(2).all(|w| w[0] <= w[1]) && views[0] > 0,
        "{views:?}"
    );
    assert!(views[2] - views[1] > views[3] - views[2], "{views:?}");
    let r = desk
        .manager()
        .get(&format!(
            "/v1/metrics?channel={channel}&from=2027-03-01T00:00:00Z&to=2027-04-01T00:00:00Z"
        ))
        .await;
    let followers = &r.body["items"].as_array().unwrap()[0]["counters"]["followers"];
    assert!(followers.as_u64().unwrap() >= 800, "{}", r.body);
}

/// The sandbox's connectors offer what its coverage entry says (the registry test covers the
/// real networks, which every deployment has).
#[tokio::test]
async fn the_sandbox_offers_what_its_coverage_entry_says() {
    use palinsesto::domain::Network;
    use palinsesto::domain::coverage::{self, Capability};
    let desk = desk().await;
    let offered = desk
        .app
        .runtime
        .ports()
        .connectors
        .of(Network::Sandbox)
        .expect("the local runner serves the sandbox")
        .capabilities();
    let listed: Vec<Capability> = coverage::of(Network::Sandbox).capabilities();
    assert_eq!(offered, listed);
    assert!(listed.contains(&Capability::Inbox) && listed.contains(&Capability::Reply));
}

#[tokio::test]
async fn the_simulated_audience_comments_and_answers_are_kept_once() {
    let desk = desk().await;
    let channel = sandbox_channel(&desk, json!({"seed": "acme-demo"})).await;
    let (post, _) = publish(&desk, "Our spring collection", &[&channel]).await;
    let worker = desk.app.runtime.inbox_worker();

    // a day later the audience has commented, and a second poll finds nothing new
    desk.advance(SignedDuration::from_hours(24));
    let first = worker.poll().await.unwrap();
    assert!(first.recorded >= 1, "{first:?}");
    desk.advance(SignedDuration::from_mins(20));
    assert_eq!(worker.poll().await.unwrap().recorded, 0, "once each");
    let editor = desk.app.client("acme", "editor");
    let page = editor.get("/v1/inbox?order=oldest").await;
    let items = page.body["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), first.recorded, "{}", page.body);
    let comment = &items[0];
    assert_eq!(comment["kind"], "reply");
    assert_eq!(
        comment["post_id"],
        post.as_str(),
        "the brand post it answers"
    );
    assert!(
        comment["author"]["handle"]
            .as_str()
            .unwrap()
            .ends_with("@sandbox.palinsesto.invalid")
    );

    // the answer is kept like a post, once, even when the sandbox loses its answer
    let m = desk.manager();
    let read = m.get(&format!("/v1/channels/{channel}")).await;
    let r = m
        .patch(
            &format!("/v1/channels/{channel}"),
            json!({"settings": {"seed": "acme-demo", "fail_next_publish": "unknown_outcome"}}),
            Some(&read.etag()),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    let id = comment["id"].as_str().unwrap();
    let r = editor
        .post(
            &format!("/v1/inbox/{id}/reply"),
            json!({"text": "Thank you!"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    assert_eq!(worker.send_replies().await.unwrap().replies_sent, 0);
    desk.advance(SignedDuration::from_mins(2));
    assert_eq!(worker.send_replies().await.unwrap().replies_sent, 1);
    let shown = editor.get(&format!("/v1/inbox/{id}")).await;
    assert_eq!(shown.body["state"], "replied", "{}", shown.body);
    assert_eq!(shown.body["replies"][0]["state"], "sent");
    assert_eq!(
        shown.body["replies"][0]["attempts"], 2,
        "read back, not sent again"
    );

    // the report keeps the simulated community apart from the brand's own
    let report = desk
        .app
        .client("acme", "viewer")
        .get(&format!(
            "/v1/reports?period=week&ending={}",
            desk.app
                .clock
                .now()
                .to_zoned(jiff::tz::TimeZone::get("Europe/Rome").unwrap())
                .date()
        ))
        .await;
    assert_eq!(report.status.as_u16(), 200, "{}", report.body);
    assert_eq!(
        report.body["community"]["total"]["current"]["interactions"],
        0
    );
    assert_eq!(
        report.body["sandbox"]["community"]["total"]["current"]["interactions"],
        first.recorded
    );
}

#[tokio::test]
async fn the_same_seed_gives_the_same_figures() {
    // Two brands' channels with one seed, read at the same age, show the same followers.
    let desk = desk().await;
    let a = sandbox_channel(&desk, json!({"seed": 7})).await;
    let b = sandbox_channel(&desk, json!({"seed": 7})).await;
    let other = sandbox_channel(&desk, json!({"seed": 8})).await;
    desk.app
        .runtime
        .metrics()
        .tick()
        .await
        .expect("the metrics tick runs");
    let followers = |id: String| {
        let m = desk.manager();
        async move {
            let r = m
                .get(&format!(
                    "/v1/metrics?channel={id}&from=2027-03-01T00:00:00Z&to=2027-04-01T00:00:00Z"
                ))
                .await;
            r.body["items"][0]["counters"]["followers"]
                .as_u64()
                .unwrap()
        }
    };
    let (fa, fb, fo) = (
        followers(a).await,
        followers(b).await,
        followers(other).await,
    );
    assert_eq!(fa, fb);
    assert_ne!(fa, fo);
}

#[tokio::test]
async fn injected_failures_surface_as_the_typed_errors_real_networks_give() {
    let desk = desk().await;

    // a content refusal: the target fails at once with the kind a real network's refusal has,
    // and the setting is used up
    let channel = sandbox_channel(&desk, json!({"fail_next_publish": "invalid_content"})).await;
    let (_, settled) = publish(&desk, "Refused once", &[&channel]).await;
    let t = target(&settled, &channel);
    assert_eq!(t["state"], "failed", "{t}");
    assert_eq!(t["failure"]["kind"], "invalid_content", "{t}");
    assert!(
        t["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("fail_next_publish"),
        "{t}"
    );
    let r = desk.manager().get(&format!("/v1/channels/{channel}")).await;
    assert!(
        r.body["settings"].get("fail_next_publish").is_none(),
        "{}",
        r.body
    );
    let (_, settled) = publish(&desk, "Then fine", &[&channel]).await;
    assert_eq!(target(&settled, &channel)["state"], "published");

    // refused credentials: the channel needs a reconnect, as with a revoked token
    let revoked = sandbox_channel(&desk, json!({"fail_next_publish": "auth_expired"})).await;
    let (_, settled) = publish(&desk, "Token revoked", &[&revoked]).await;
    assert_eq!(
        target(&settled, &revoked)["failure"]["kind"],
        "auth_expired"
    );
    let r = desk.manager().get(&format!("/v1/channels/{revoked}")).await;
    assert_eq!(r.body["status"], "needs_reconnect", "{}", r.body);
    assert_eq!(r.body["reconnect_reason"], "auth_expired", "{}", r.body);

    // a lost answer: the post was made, the publisher reads it back and never posts twice
    let lost = sandbox_channel(&desk, json!({"fail_next_publish": "unknown_outcome"})).await;
    let (post, settled) = publish(&desk, "Answer lost", &[&lost]).await;
    assert_eq!(target(&settled, &lost)["state"], "unknown", "{settled}");
    desk.advance(SignedDuration::from_mins(2));
    let settled = desk.tick_and_settle(&post).await;
    assert_eq!(target(&settled, &lost)["state"], "published", "{settled}");
    assert_eq!(sandbox_posts(&desk, &lost, &post).await, 1);

    // a rate limit: retried later, then published
    let limited = sandbox_channel(&desk, json!({"fail_next_publish": "rate_limited"})).await;
    let (post, settled) = publish(&desk, "Slow down", &[&limited]).await;
    assert_eq!(target(&settled, &limited)["state"], "pending", "{settled}");
    desk.advance(SignedDuration::from_mins(2));
    let settled = desk.tick_and_settle(&post).await;
    assert_eq!(
        target(&settled, &limited)["state"],
        "published",
        "{settled}"
    );

    // an unknown failure name is refused when saved
    let r = desk
        .manager()
        .post(
            "/v1/channels",
            json!({"network": "sandbox", "name": "S", "handle": "@s", "settings": {"fail_next_publish": "boom"}}),
        )
        .await;
    assert_eq!(
        r.error_fields(),
        ["settings.fail_next_publish"],
        "{}",
        r.body
    );
}

#[tokio::test]
async fn sandbox_figures_are_never_in_a_real_channels_report_or_an_all_channel_total() {
    let mut desk = desk().await;
    let m = desk.manager();
    let mastodon = FakeMastodon::start().await;
    mastodon.set_followers(100);
    let real = desk
        .channel("mastodon", mastodon.settings(), mastodon.credentials())
        .await;
    let sandbox = sandbox_channel(&desk, json!({"seed": "s"})).await;
    for body in [
        json!({"metric": "posts_published", "target": 1, "period": "week"}),
        json!({"metric": "posts_published", "target": 1, "period": "week", "channel_id": sandbox}),
    ] {
        let r = m.post("/v1/kpis", body).await;
        assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    }
    for (network, handle) in [("sandbox", "rival"), ("bluesky", "rival.bsky.social")] {
        let r = m
            .post(
                "/v1/competitors",
                json!({"network": network, "handle": handle}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    }

    // a post on each, published on Monday 1 March, and a week of snapshots
    let (post, settled) = publish(&desk, "On both", &[&real, &sandbox]).await;
    assert_eq!(target(&settled, &real)["state"], "published");
    assert_eq!(target(&settled, &sandbox)["state"], "published");
    let remote = target(&settled, &real)["remote_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let metrics = desk.app.runtime.metrics();
    for day in 1..=7 {
        desk.set_time(&format!("2027-03-0{day}T20:00:00Z"));
        mastodon.set_status_counts(&remote, day, 0, 0);
        metrics.tick().await.expect("the metrics tick runs");
    }

    let r = m.get("/v1/reports?period=week&ending=2027-03-07").await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    let report = &r.body;

    // the brand's own section: the real channel only, its totals, its targets
    let channels: Vec<&Value> = report["channels"].as_array().unwrap().iter().collect();
    assert_eq!(channels.len(), 1, "{report}");
    assert_eq!(channels[0]["channel_id"], real);
    assert_eq!(report["total"]["current"]["posts_published"], 1);
    assert_eq!(
        report["total"]["current"]["views"], channels[0]["current"]["views"],
        "{report}"
    );
    let kpis = report["kpis"].as_array().unwrap();
    assert_eq!(kpis.len(), 1, "{report}");
    assert!(kpis[0]["channel_id"].is_null());
    let rivals = report["competitors"].as_array().unwrap();
    assert!(rivals.iter().all(|c| c["network"] != "sandbox"), "{report}");
    assert!(
        report["top_posts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["channel_id"] == real),
        "{report}"
    );

    // and the sandbox apart, with figures
    let simulated = &report["sandbox"];
    assert_eq!(
        simulated["channels"].as_array().unwrap().len(),
        1,
        "{report}"
    );
    assert_eq!(simulated["channels"][0]["channel_id"], sandbox);
    assert_eq!(
        simulated["total"]["name"],
        "All sandbox channels (simulated)"
    );
    assert_eq!(simulated["total"]["current"]["posts_published"], 1);
    assert!(simulated["total"]["current"]["views"].as_u64().unwrap() > 0);
    assert_eq!(simulated["kpis"][0]["channel_id"], sandbox);
    assert_eq!(simulated["kpis"][0]["outcome"], "met");
    assert_eq!(simulated["competitors"][0]["network"], "sandbox");
    assert!(
        simulated["competitors"][0]["followers_end"]
            .as_u64()
            .unwrap()
            > 0,
        "{report}"
    );
    assert_eq!(simulated["top_posts"][0]["post_id"], post);

    // in every format
    let html = m
        .get("/v1/reports?period=week&ending=2027-03-07&format=html")
        .await;
    let page = html.text();
    assert!(page.contains("Sandbox (simulated)"), "{page}");
    assert!(page.contains("id=\"sandbox-channels\""));
    assert!(page.contains("id=\"channels\""), "the real channels first");
    let csv = m
        .get("/v1/reports?period=week&ending=2027-03-07&format=csv")
        .await;
    assert!(
        csv.text().contains("\r\nsandbox channels,"),
        "{}",
        csv.text()
    );

    // and the scheduled report's event counts the sandbox's targets apart
    desk.events().await;
    desk.set_time("2027-03-08T07:00:00Z");
    let written = desk.app.runtime.reports().tick().await.unwrap().written;
    assert_eq!(written, 1);
    let events = desk.events().await;
    let ready = events
        .iter()
        .find(|e| e.kind == "report.ready")
        .expect("report.ready");
    assert_eq!(ready.data["kpis_met"], 1, "{}", ready.data);
    assert_eq!(ready.data["sandbox_kpis_met"], 1, "{}", ready.data);
    assert_eq!(ready.data["sandbox_kpis_missed"], 0, "{}", ready.data);
}

#[tokio::test]
async fn a_deployment_without_the_sandbox_refuses_its_channels() {
    let app = TestApp::spawn_full(ApiSettings::default(), |options| {
        palinsesto::local::LocalOptions {
            sandbox: false,
            ..options
        }
    })
    .await;
    app.brand("acme", "Europe/Rome", false).await;
    let r = app
        .client("acme", "manager")
        .post(
            "/v1/channels",
            json!({"network": "sandbox", "name": "S", "handle": "@s"}),
        )
        .await;
    assert_eq!(r.error_fields(), ["network"], "{}", r.body);
    assert!(r.body.to_string().contains("AllowSandbox"), "{}", r.body);
    let r = app
        .client("acme", "manager")
        .post(
            "/v1/competitors",
            json!({"network": "sandbox", "handle": "rival"}),
        )
        .await;
    assert_eq!(r.error_fields(), ["network"], "{}", r.body);
    // and the coverage table does not offer it
    let r = app.client("acme", "viewer").get("/v1/networks").await;
    assert!(
        r.body["networks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["network"] != "sandbox"),
        "{}",
        r.body
    );
}
