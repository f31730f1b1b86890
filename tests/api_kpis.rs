//! Black-box tests of KPI targets and watched competitors: the real router on a random port, on
//! the embedded store.

use palinsesto_system_tests::app::{NOW, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A well-formed id that names nothing.
const NOBODY: &str = "01J00000000000000000000000";

async fn kpi(app: &TestApp, brand: &str, body: Value) -> Value {
    let r = app.client(brand, "manager").post("/v1/kpis", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

async fn competitor(app: &TestApp, brand: &str, body: Value) -> Value {
    let r = app
        .client(brand, "manager")
        .post("/v1/competitors", body)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

// ---- KPI targets ----

#[tokio::test]
async fn kpi_targets_are_set_read_changed_and_deleted_with_etags() {
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", false).await;
    let ch = app.channel("acme").await;
    let manager = app.client("acme", "manager");

    let r = manager
        .post(
            "/v1/kpis",
            json!({"metric": "engagement_rate", "target": 3.5, "period": "week"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.etag(), "\"1\"");
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        r.headers.get("location").unwrap().to_str().unwrap(),
        format!("/v1/kpis/{id}")
    );
    assert_eq!(r.body["metric"], "engagement_rate");
    assert_eq!(r.body["label"], "Engagement rate (%)");
    assert_eq!(r.body["channel_id"], Value::Null);
    assert_eq!(r.body["target"], 3.5);
    assert_eq!(r.body["period"], "week");
    assert_eq!(r.body["created_at"], NOW);

    let per_channel = kpi(
        &app,
        "acme",
        json!({"metric": "posts_published", "channel_id": ch, "target": 10, "period": "fortnight"}),
    )
    .await;
    assert_eq!(per_channel["channel_id"], ch.as_str());

    // Any role reads them.
    let viewer = app.client("acme", "viewer");
    let list = viewer.get("/v1/kpis").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
    let r = viewer.get(&format!("/v1/kpis/{id}")).await;
    assert_eq!((r.status, r.etag()), (StatusCode::OK, "\"1\"".to_owned()));
    assert_eq!(r.body["target"], 3.5);

    // A change with the ETag read; the same ETag again is stale and changes nothing.
    let r = manager
        .patch(
            &format!("/v1/kpis/{id}"),
            json!({"target": 4.25, "period": "fortnight", "channel_id": ch}),
            Some("\"1\""),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.etag(), "\"2\"");
    assert_eq!(
        (&r.body["target"], &r.body["period"], &r.body["channel_id"]),
        (&json!(4.25), &json!("fortnight"), &json!(ch))
    );
    manager
        .patch(
            &format!("/v1/kpis/{id}"),
            json!({"target": 9}),
            Some("\"1\""),
        )
        .await
        .problem(412);
    assert_eq!(
        viewer.get(&format!("/v1/kpis/{id}")).await.body["target"],
        4.25
    );

    // Without If-Match it applies to whatever is current; null is back to all channels.
    let r = manager
        .patch(
            &format!("/v1/kpis/{id}"),
            json!({"metric": "impressions", "target": 5000, "channel_id": null}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.etag(), "\"3\"");
    assert_eq!(
        (&r.body["metric"], &r.body["channel_id"], &r.body["period"]),
        (&json!("impressions"), &Value::Null, &json!("fortnight"))
    );

    manager
        .delete(&format!("/v1/kpis/{id}"), Some("\"2\""))
        .await
        .problem(412);
    let r = manager
        .delete(&format!("/v1/kpis/{id}"), Some("\"3\""))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    viewer.get(&format!("/v1/kpis/{id}")).await.problem(404);
    manager
        .delete(&format!("/v1/kpis/{id}"), None)
        .await
        .problem(404);
    let list = viewer.get("/v1/kpis").await;
    assert_eq!(list.body["items"], json!([per_channel]));
}

#[tokio::test]
async fn community_targets_have_a_direction() {
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", false).await;
    let manager = app.client("acme", "manager");
    let minutes = kpi(
        &app,
        "acme",
        json!({"metric": "first_response_median_minutes", "target": 60, "period": "week"}),
    )
    .await;
    assert_eq!(minutes["direction"], "at_most", "{minutes}");
    assert_eq!(minutes["label"], "Median first response (business minutes)");
    let rate = kpi(
        &app,
        "acme",
        json!({"metric": "response_rate", "target": 90, "period": "week"}),
    )
    .await;
    assert_eq!(rate["direction"], "at_least");
    // a strategist may cap a figure instead: at most 20 posts a week
    let capped = kpi(
        &app,
        "acme",
        json!({"metric": "posts_published", "target": 20, "period": "week", "direction": "at_most"}),
    )
    .await;
    assert_eq!(capped["direction"], "at_most");
    let path = format!("/v1/kpis/{}", capped["id"].as_str().unwrap());
    let r = manager.patch(&path, json!({"direction": null}), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["direction"], "at_least",
        "back to the metric's usual one"
    );

    let r = manager
        .post(
            "/v1/kpis",
            json!({"metric": "response_rate", "target": 120, "period": "week", "direction": "above"}),
        )
        .await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["direction", "target"], "{}", r.body);
}

#[tokio::test]
async fn kpi_input_errors_name_the_field() {
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", false).await;
    app.brand("rival", "Europe/Rome", false).await;
    let rivals_channel = app.channel("rival").await;
    let manager = app.client("acme", "manager");

    let r = manager
        .post(
            "/v1/kpis",
            json!({"metric": "engagement_rate", "target": 150, "period": "week"}),
        )
        .await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "target");
    assert!(
        r.body["detail"].as_str().unwrap().contains("percentage"),
        "{}",
        r.body
    );

    for unknown in [NOBODY, rivals_channel.as_str(), "main"] {
        let r = manager
            .post(
                "/v1/kpis",
                json!({"metric": "reach", "channel_id": unknown, "target": 100, "period": "week"}),
            )
            .await;
        r.problem(422);
        assert_eq!(r.error_fields(), ["channel_id"], "{}", r.body);
    }

    // Every problem at once.
    let r = manager
        .post(
            "/v1/kpis",
            json!({"metric": "clicks", "channel_id": NOBODY, "target": 1, "period": "month"}),
        )
        .await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["metric", "period", "channel_id"]);
    let r = manager
        .post(
            "/v1/kpis",
            json!({"metric": "posts_published", "target": 2.5, "period": "week"}),
        )
        .await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["target"]);

    // Malformed JSON is a 400 naming the field, as everywhere in the API.
    let r = manager
        .post(
            "/v1/kpis",
            json!({"metric": "reach", "target": 1, "period": "week", "colour": "red"}),
        )
        .await;
    assert_eq!(r.problem(400)["errors"][0]["field"], "colour");
    let r = manager
        .post(
            "/v1/kpis",
            json!({"metric": "reach", "target": "lots", "period": "week"}),
        )
        .await;
    assert_eq!(r.problem(400)["errors"][0]["field"], "target");
    let r = manager
        .post("/v1/kpis", json!({"metric": "reach", "target": 1}))
        .await;
    r.problem(400);

    // A change of metric checks the target already set against the new metric.
    let id = kpi(
        &app,
        "acme",
        json!({"metric": "impressions", "target": 5000, "period": "week"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = manager
        .patch(
            &format!("/v1/kpis/{id}"),
            json!({"metric": "engagement_rate"}),
            None,
        )
        .await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["target"]);
    let r = manager
        .patch(
            &format!("/v1/kpis/{id}"),
            json!({"channel_id": NOBODY}),
            None,
        )
        .await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["channel_id"]);
    let r = manager
        .patch(&format!("/v1/kpis/{id}"), json!({"owner": "me"}), None)
        .await;
    assert_eq!(r.problem(400)["errors"][0]["field"], "owner");
    let r = manager.get(&format!("/v1/kpis/{id}")).await;
    assert_eq!(
        (r.etag(), &r.body["metric"]),
        ("\"1\"".to_owned(), &json!("impressions"))
    );
}

#[tokio::test]
async fn a_brand_has_a_bounded_number_of_kpi_targets() {
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", false).await;
    let manager = app.client("acme", "manager");
    for n in 0..palinsesto::domain::kpi::MAX_KPIS_PER_BRAND {
        kpi(
            &app,
            "acme",
            json!({"metric": "reach", "target": n, "period": "week"}),
        )
        .await;
    }
    let r = manager
        .post(
            "/v1/kpis",
            json!({"metric": "reach", "target": 1, "period": "week"}),
        )
        .await;
    assert!(
        r.problem(409)["detail"]
            .as_str()
            .unwrap()
            .contains("at most 200 KPI targets"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn only_managers_and_owners_change_targets_and_competitors() {
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", false).await;
    let id = kpi(
        &app,
        "acme",
        json!({"metric": "reach", "target": 100, "period": "week"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let watched = competitor(
        &app,
        "acme",
        json!({"network": "bluesky", "handle": "rival.bsky.social"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    for role in ["viewer", "editor"] {
        let caller = app.client("acme", role);
        assert_eq!(caller.get("/v1/kpis").await.status, StatusCode::OK);
        assert_eq!(
            caller.get(&format!("/v1/kpis/{id}")).await.status,
            StatusCode::OK
        );
        assert_eq!(caller.get("/v1/competitors").await.status, StatusCode::OK);
        assert_eq!(
            caller
                .get(&format!("/v1/competitors/{watched}"))
                .await
                .status,
            StatusCode::OK
        );
        let r = caller
            .post(
                "/v1/kpis",
                json!({"metric": "reach", "target": 1, "period": "week"}),
            )
            .await;
        assert!(
            r.problem(403)["detail"]
                .as_str()
                .unwrap()
                .contains("manager role"),
            "{}",
            r.body
        );
        caller
            .patch(&format!("/v1/kpis/{id}"), json!({"target": 1}), None)
            .await
            .problem(403);
        caller
            .delete(&format!("/v1/kpis/{id}"), None)
            .await
            .problem(403);
        caller
            .post(
                "/v1/competitors",
                json!({"network": "bluesky", "handle": "other.bsky.social"}),
            )
            .await
            .problem(403);
        caller
            .delete(&format!("/v1/competitors/{watched}"), None)
            .await
            .problem(403);
    }
    let owner = app.client("acme", "owner");
    let r = owner
        .patch(&format!("/v1/kpis/{id}"), json!({"target": 150}), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app.anonymous().get("/v1/kpis").await.problem(401);
}

#[tokio::test]
async fn another_brands_targets_and_competitors_do_not_exist() {
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", false).await;
    app.brand("rival", "Europe/Rome", false).await;
    let id = kpi(
        &app,
        "acme",
        json!({"metric": "reach", "target": 100, "period": "week"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let watched = competitor(
        &app,
        "acme",
        json!({"network": "mastodon", "handle": "@rival@social.example"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let rival = app.client("rival", "owner");
    rival.get(&format!("/v1/kpis/{id}")).await.problem(404);
    rival
        .patch(&format!("/v1/kpis/{id}"), json!({"target": 1}), None)
        .await
        .problem(404);
    rival
        .delete(&format!("/v1/kpis/{id}"), None)
        .await
        .problem(404);
    assert_eq!(rival.get("/v1/kpis").await.body["items"], json!([]));
    rival
        .get(&format!("/v1/competitors/{watched}"))
        .await
        .problem(404);
    rival
        .delete(&format!("/v1/competitors/{watched}"), None)
        .await
        .problem(404);
    assert_eq!(rival.get("/v1/competitors").await.body["items"], json!([]));
    // Ids that are not ids are not found either.
    rival.get("/v1/kpis/nope").await.problem(404);
    rival.get("/v1/competitors/nope").await.problem(404);

    let acme = app.client("acme", "viewer");
    assert_eq!(
        acme.get(&format!("/v1/kpis/{id}")).await.body["target"],
        100.0
    );
    assert_eq!(
        acme.get(&format!("/v1/competitors/{watched}")).await.status,
        StatusCode::OK
    );
}

// ---- competitors ----

#[tokio::test]
async fn competitors_on_bluesky_and_mastodon_are_watched_from_the_next_metrics_run() {
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", false).await;
    let manager = app.client("acme", "manager");

    let r = manager
        .post(
            "/v1/competitors",
            json!({"network": "bluesky", "handle": "@rival.bsky.social"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.etag(), "\"1\"");
    let sky = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        r.headers.get("location").unwrap().to_str().unwrap(),
        format!("/v1/competitors/{sky}")
    );
    assert_eq!(
        (
            &r.body["network"],
            &r.body["handle"],
            &r.body["name"],
            &r.body["server"]
        ),
        (
            &json!("bluesky"),
            &json!("rival.bsky.social"),
            &json!("rival.bsky.social"),
            &Value::Null
        )
    );
    assert_eq!(r.body["created_at"], NOW);
    assert_eq!(r.body["next_snapshot_at"], NOW);
    assert_eq!(r.body["last_error"], Value::Null);

    let masto = competitor(
        &app,
        "acme",
        json!({"network": "mastodon", "handle": "rival", "server": "https://social.example/", "name": "Rival Roasters"}),
    )
    .await;
    assert_eq!(
        (&masto["handle"], &masto["name"], &masto["server"]),
        (
            &json!("rival"),
            &json!("Rival Roasters"),
            &json!("https://social.example")
        )
    );

    // Networks without a public API are refused in plain words; unknown ones too.
    let r = manager
        .post(
            "/v1/competitors",
            json!({"network": "x", "handle": "rival"}),
        )
        .await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["network"]);
    assert!(
        r.body["detail"].as_str().unwrap().contains("public API"),
        "{}",
        r.body
    );
    let r = manager
        .post(
            "/v1/competitors",
            json!({"network": "myspace", "handle": "rival"}),
        )
        .await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "network");
    let r = manager
        .post(
            "/v1/competitors",
            json!({"network": "mastodon", "handle": "rival"}),
        )
        .await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "handle");
    let r = manager
        .post(
            "/v1/competitors",
            json!({"network": "bluesky", "handle": "a.bsky.social", "followers": 3}),
        )
        .await;
    assert_eq!(r.problem(400)["errors"][0]["field"], "followers");

    // The same account again, however it is spelled, is a conflict.
    for again in [
        json!({"network": "bluesky", "handle": "Rival.bsky.social"}),
        json!({"network": "mastodon", "handle": "@rival@social.example"}),
    ] {
        let r = manager.post("/v1/competitors", again).await;
        assert!(
            r.problem(409)["detail"]
                .as_str()
                .unwrap()
                .contains("already watched"),
            "{}",
            r.body
        );
    }
    // The same name on another network is another account.
    competitor(
        &app,
        "acme",
        json!({"network": "mastodon", "handle": "rival.bsky.social@bsky.example"}),
    )
    .await;

    let viewer = app.client("acme", "viewer");
    let list = viewer.get("/v1/competitors").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 3);
    assert!(
        list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["next_snapshot_at"] == NOW),
        "{}",
        list.body
    );
    let r = viewer.get(&format!("/v1/competitors/{sky}")).await;
    assert_eq!((r.status, r.etag()), (StatusCode::OK, "\"1\"".to_owned()));
    assert_eq!(r.body["handle"], "rival.bsky.social");

    manager
        .delete(&format!("/v1/competitors/{sky}"), Some("\"7\""))
        .await
        .problem(412);
    let r = manager
        .delete(&format!("/v1/competitors/{sky}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    viewer
        .get(&format!("/v1/competitors/{sky}"))
        .await
        .problem(404);
    assert_eq!(
        viewer.get("/v1/competitors").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Once no longer watched it can be watched again.
    competitor(
        &app,
        "acme",
        json!({"network": "bluesky", "handle": "rival.bsky.social"}),
    )
    .await;
}
