//! Black-box tests of the HTTP API: the real router on a random port, on the embedded store.

use palinsesto::store::ItemStore;
use std::sync::{Arc, Mutex};

use palinsesto::http::ApiSettings;
use palinsesto_system_tests::app::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tracing_subscriber::fmt::format::FmtSpan;

async fn draft(app: &TestApp, brand: &str, body: Value) -> Value {
    let r = app.client(brand, "editor").post("/v1/posts", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

// ---- auth ----

#[tokio::test]
async fn requests_without_a_valid_token_are_refused_with_a_reason() {
    let app = TestApp::spawn().await;
    let r = app.anonymous().get("/v1/posts").await;
    assert_eq!(
        r.problem(401)["detail"],
        "send your token as Authorization: Bearer <token>"
    );
    assert_eq!(r.headers.get("www-authenticate").unwrap(), "Bearer");

    let forged = app
        .anonymous()
        .send(
            app.anonymous()
                .request(Method::GET, "/v1/posts")
                .bearer_auth("abc.def.ghi"),
        )
        .await;
    forged.problem(401);

    let other = TestApp::spawn().await;
    let foreign_token = other.token("acme", "owner");
    let r = app
        .anonymous()
        .send(
            app.anonymous()
                .request(Method::GET, "/v1/posts")
                .bearer_auth(foreign_token),
        )
        .await;
    assert!(
        r.problem(401)["detail"]
            .as_str()
            .unwrap()
            .contains("signature"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn each_role_may_do_only_its_part() {
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", true).await;
    let ch = app.channel("acme").await;

    // Viewers read only.
    let viewer = app.client("acme", "viewer");
    assert_eq!(viewer.get("/v1/posts").await.status, StatusCode::OK);
    let r = viewer.post("/v1/posts", json!({"text": "hi"})).await;
    assert_eq!(
        r.problem(403)["detail"],
        "your role (viewer) cannot write or submit drafts; it takes the editor role or higher"
    );

    // Editors write and submit, but neither approve nor manage channels.
    let post = draft(&app, "acme", json!({"text": "hi", "channels": [ch]})).await;
    let id = post["id"].as_str().unwrap();
    let editor = app.client("acme", "editor");
    let submitted = editor.action(&format!("/v1/posts/{id}/submit"), None).await;
    assert_eq!(submitted.status, StatusCode::OK);
    let read = submitted.etag();
    editor
        .action(&format!("/v1/posts/{id}/approve"), Some(&read))
        .await
        .problem(403);
    editor
        .post(
            "/v1/channels",
            json!({"network": "x", "name": "X", "handle": "@a"}),
        )
        .await
        .problem(403);

    // Managers approve and schedule; only owners change the brand.
    let manager = app.client("acme", "manager");
    assert_eq!(
        manager
            .action(&format!("/v1/posts/{id}/approve"), Some(&read))
            .await
            .status,
        StatusCode::OK
    );
    manager
        .patch("/v1/brand", json!({"name": "New"}), None)
        .await
        .problem(403);
    let owner = app.client("acme", "owner");
    assert_eq!(
        owner
            .patch("/v1/brand", json!({"name": "New"}), None)
            .await
            .status,
        StatusCode::OK
    );
}

// ---- brand ----

#[tokio::test]
async fn an_owner_sets_up_the_brand_profile_once_then_edits_it() {
    let app = TestApp::spawn().await;
    let owner = app.client("acme", "owner");
    owner.get("/v1/brand").await.problem(404);
    // Nothing that needs the brand's zone works before the profile exists.
    let r = app
        .client("acme", "editor")
        .post("/v1/posts", json!({"text": "hi"}))
        .await;
    assert_eq!(
        r.problem(409)["type"],
        "https://palinsesto.dev/problems/brand-not-set-up"
    );

    let r = owner
        .put(
            "/v1/brand",
            json!({"name": "Acme", "time_zone": "Mars/Base", "approval_required": true}),
        )
        .await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "time_zone");

    let r = owner
        .put(
            "/v1/brand",
            json!({"name": "Acme", "time_zone": "Europe/Rome", "approval_required": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(
        (r.body["id"].as_str(), r.body["time_zone"].as_str()),
        (Some("acme"), Some("Europe/Rome"))
    );
    assert_eq!(r.etag(), "\"1\"");

    let r = owner
        .put(
            "/v1/brand",
            json!({"name": "Acme Coffee", "time_zone": "Europe/Rome"}),
        )
        .await;
    assert_eq!(
        (
            r.status,
            r.body["name"].as_str(),
            r.body["approval_required"].as_bool()
        ),
        (StatusCode::OK, Some("Acme Coffee"), Some(false))
    );

    // A stale If-Match changes nothing.
    let r = owner
        .patch("/v1/brand", json!({"name": "Stale"}), Some("\"1\""))
        .await;
    r.problem(412);
    assert_eq!(owner.get("/v1/brand").await.body["name"], "Acme Coffee");
}

// ---- channels ----

#[tokio::test]
async fn channel_credentials_are_write_only() {
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", false).await;
    let manager = app.client("acme", "manager");
    let id = app.channel("acme").await;

    let r = manager
        .put(
            &format!("/v1/channels/{id}/credentials"),
            json!({"token": "x"}),
        )
        .await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "access_token");

    let r = manager
        .put(
            &format!("/v1/channels/{id}/credentials"),
            json!({"access_token": "sup3r-s3cret"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["connected"], true);
    for body in [
        r.body.to_string(),
        manager
            .get(&format!("/v1/channels/{id}"))
            .await
            .body
            .to_string(),
        manager.get("/v1/channels").await.body.to_string(),
    ] {
        assert!(
            !body.contains("sup3r-s3cret"),
            "a response leaked the credentials: {body}"
        );
    }
    // The publisher can read them back from the store.
    let stored = app
        .runtime
        .store()
        .get_credentials(
            &palinsesto::domain::BrandId::parse("acme").unwrap(),
            &id.parse().unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.get("access_token").unwrap().expose(), "sup3r-s3cret");
    // At rest they are sealed: whoever reads the store file sees no token, only a sealed blob
    // under the data folder's key.
    let raw = app
        .runtime
        .embedded
        .get("B#acme#CRED", &format!("CH#{id}"))
        .await
        .unwrap()
        .expect("the credentials item");
    let body = raw.body.to_string();
    assert!(!body.contains("sup3r-s3cret"), "{body}");
    assert_eq!(raw.body["key_ref"], "local", "{body}");
    assert!(
        raw.body["ciphertext"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    );
}

#[tokio::test]
async fn a_webhook_secret_is_sealed_at_rest() {
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", false).await;
    let r = app
        .client("acme", "manager")
        .post(
            "/v1/webhooks",
            json!({"url": "https://hooks.example.com/x", "events": ["post.failed"]}),
        )
        .await;
    let secret = r.body["secret"].as_str().unwrap();
    let id = r.body["id"].as_str().unwrap();
    let raw = app
        .runtime
        .embedded
        .get("B#acme", &format!("WH#{id}"))
        .await
        .unwrap()
        .expect("the webhook item");
    let body = raw.body.to_string();
    assert!(!body.contains(secret), "{body}");
    assert_eq!(raw.body["secret"]["key_ref"], "local", "{body}");
}

#[tokio::test]
async fn channels_are_validated_per_network_updated_and_deleted() {
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", false).await;
    let manager = app.client("acme", "manager");
    let r = manager
        .post(
            "/v1/channels",
            json!({"network": "myspace", "name": "A", "handle": "a"}),
        )
        .await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "network");
    let r = manager
        .post(
            "/v1/channels",
            json!({"network": "mastodon", "name": "A", "handle": "a"}),
        )
        .await;
    assert_eq!(
        r.problem(422)["errors"][0]["field"],
        "settings.instance_url"
    );

    let id = app.channel("acme").await;
    let r = manager
        .patch(
            &format!("/v1/channels/{id}"),
            json!({"status": "disabled"}),
            Some("\"1\""),
        )
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("disabled"))
    );
    manager
        .patch(
            &format!("/v1/channels/{id}"),
            json!({"status": "needs_reconnect"}),
            None,
        )
        .await
        .problem(422);
    manager
        .delete(&format!("/v1/channels/{id}"), Some("\"1\""))
        .await
        .problem(412);
    assert_eq!(
        manager
            .delete(&format!("/v1/channels/{id}"), Some("\"2\""))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    manager
        .get(&format!("/v1/channels/{id}"))
        .await
        .problem(404);
}

// ---- posts and the workflow ----

#[tokio::test]
async fn a_post_goes_from_draft_through_review_to_the_schedule() {
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", true).await;
    let ch = app.channel("acme").await;
    let post = draft(
        &app,
        "acme",
        json!({"text": "Autumn menu is here", "channels": [ch], "labels": ["menu", "autumn"], "campaign": "Autumn",
               "variants": {ch.clone(): {"text": "Autumn menu is here #coffee"}}, "publish_at": "2027-02-01T09:00:00+01:00"}),
    )
    .await;
    let id = post["id"].as_str().unwrap();
    assert_eq!(post["status"], "draft");
    assert_eq!(post["publish_at"], "2027-02-01T08:00:00Z");
    assert_eq!(
        post["publish_at_local"],
        "2027-02-01T09:00:00+01:00[Europe/Rome]"
    );
    assert_eq!(
        post["targets"],
        json!([{"channel_id": ch, "state": "pending"}])
    );
    assert_eq!(post["created_by"], "editor@acme");

    let manager = app.client("acme", "manager");
    // Approval is required: a draft cannot be scheduled.
    let r = manager
        .action(&format!("/v1/posts/{id}/schedule"), Some("\"1\""))
        .await;
    assert!(
        r.problem(409)["detail"]
            .as_str()
            .unwrap()
            .contains("requires approval")
    );

    let editor = app.client("acme", "editor");
    assert_eq!(
        editor
            .action(&format!("/v1/posts/{id}/submit"), Some("\"1\""))
            .await
            .body["status"],
        "in_review"
    );
    let r = manager
        .send(
            manager
                .request(Method::POST, &format!("/v1/posts/{id}/reject"))
                .json(&json!({"note": "Add a photo"})),
        )
        .await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["review_note"].as_str()),
        (Some("draft"), Some("Add a photo"))
    );
    let resubmitted = editor.action(&format!("/v1/posts/{id}/submit"), None).await;
    let approved = manager
        .action(
            &format!("/v1/posts/{id}/approve"),
            Some(&resubmitted.etag()),
        )
        .await;
    assert_eq!(approved.body["status"], "approved");

    // Scheduling in the past is refused with the field at fault; a future time is taken.
    let r = manager
        .send(
            manager
                .request(Method::POST, &format!("/v1/posts/{id}/schedule"))
                .header("if-match", approved.etag())
                .json(&json!({"publish_at": "2026-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "publish_at");
    let r = manager
        .send(
            manager
                .request(Method::POST, &format!("/v1/posts/{id}/schedule"))
                .header("if-match", approved.etag())
                .json(&json!({"publish_at": "2027-02-02T09:00:00+01:00"})),
        )
        .await;
    assert_eq!(
        (
            r.status,
            r.body["status"].as_str(),
            r.body["publish_at"].as_str()
        ),
        (
            StatusCode::OK,
            Some("scheduled"),
            Some("2027-02-02T08:00:00Z")
        )
    );

    // A scheduled post is neither edited nor deleted until it is unscheduled.
    editor
        .patch(&format!("/v1/posts/{id}"), json!({"text": "changed"}), None)
        .await
        .problem(409);
    manager
        .delete(&format!("/v1/posts/{id}"), None)
        .await
        .problem(409);
    assert_eq!(
        manager
            .action(&format!("/v1/posts/{id}/unschedule"), None)
            .await
            .body["status"],
        "approved"
    );
    // Editing approved copy withdraws the approval.
    assert_eq!(
        editor
            .patch(&format!("/v1/posts/{id}"), json!({"text": "changed"}), None)
            .await
            .body["status"],
        "draft"
    );

    let copy = manager
        .action(&format!("/v1/posts/{id}/duplicate"), None)
        .await;
    assert_eq!(
        (
            copy.status,
            copy.body["status"].as_str(),
            copy.body["publish_at"].is_null()
        ),
        (StatusCode::CREATED, Some("draft"), true)
    );
    assert_ne!(copy.body["id"], post["id"]);
    assert_eq!(
        manager
            .action(&format!("/v1/posts/{id}/cancel"), None)
            .await
            .body["status"],
        "cancelled"
    );
}

#[tokio::test]
async fn without_required_approval_a_manager_schedules_a_draft_directly() {
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", false).await;
    let ch = app.channel("acme").await;
    let post = draft(
        &app,
        "acme",
        json!({"text": "hi", "channels": [ch], "publish_at": "2027-02-01T09:00:00Z"}),
    )
    .await;
    let r = app
        .client("acme", "manager")
        .action(
            &format!("/v1/posts/{}/schedule", post["id"].as_str().unwrap()),
            Some(&format!("\"{}\"", post["version"])),
        )
        .await;
    assert_eq!(r.body["status"], "scheduled");
}

#[tokio::test]
async fn a_stale_if_match_is_refused_and_nothing_is_overwritten() {
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", false).await;
    let post = draft(&app, "acme", json!({"text": "v1"})).await;
    let id = post["id"].as_str().unwrap();
    let editor = app.client("acme", "editor");
    let first = editor
        .patch(
            &format!("/v1/posts/{id}"),
            json!({"text": "v2"}),
            Some("\"1\""),
        )
        .await;
    assert_eq!(
        (first.status, first.etag()),
        (StatusCode::OK, "\"2\"".to_owned())
    );
    // A second writer still holding version 1 loses, with a 412, and v2 stays.
    editor
        .patch(
            &format!("/v1/posts/{id}"),
            json!({"text": "v1 again"}),
            Some("\"1\""),
        )
        .await
        .problem(412);
    editor
        .action(&format!("/v1/posts/{id}/submit"), Some("\"1\""))
        .await
        .problem(412);
    let now = editor.get(&format!("/v1/posts/{id}")).await;
    assert_eq!(
        (
            now.body["text"].as_str(),
            now.body["status"].as_str(),
            now.etag()
        ),
        (Some("v2"), Some("draft"), "\"2\"".to_owned())
    );
    let r = editor
        .patch(&format!("/v1/posts/{id}"), json!({"text": "x"}), Some("3"))
        .await;
    assert!(
        r.problem(400)["detail"]
            .as_str()
            .unwrap()
            .contains("If-Match")
    );
}

/// Reads the post as `client` and returns its ETag.
async fn read_etag(client: &palinsesto_system_tests::app::Client, id: &str) -> String {
    let r = client.get(&format!("/v1/posts/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.etag()
}

#[tokio::test]
async fn approving_and_scheduling_need_the_etag_you_last_read() {
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", true).await;
    let ch = app.channel("acme").await;
    let post = draft(
        &app,
        "acme",
        json!({"text": "hi", "channels": [ch], "publish_at": "2027-02-01T09:00:00Z"}),
    )
    .await;
    let id = post["id"].as_str().unwrap();
    let editor = app.client("acme", "editor");
    let manager = app.client("acme", "manager");
    editor.action(&format!("/v1/posts/{id}/submit"), None).await;
    // Without If-Match (or with `*`, which names no version) each is a 428 saying what to send,
    // and nothing changes.
    for action in ["approve", "schedule", "queue", "publish-now"] {
        for if_match in [None, Some("*")] {
            let r = manager
                .action(&format!("/v1/posts/{id}/{action}"), if_match)
                .await;
            let detail = r.problem(428)["detail"].as_str().unwrap();
            assert!(
                detail.contains("If-Match") && detail.contains("the ETag you last read"),
                "{action}: {detail}"
            );
            assert_eq!(
                r.body["type"],
                "https://palinsesto.dev/problems/precondition-required"
            );
        }
    }
    let now = manager.get(&format!("/v1/posts/{id}")).await;
    assert_eq!(
        (now.body["status"].as_str(), now.etag()),
        (Some("in_review"), "\"2\"".to_owned())
    );
    // With it, they run.
    let approved = manager
        .action(&format!("/v1/posts/{id}/approve"), Some(&now.etag()))
        .await;
    assert_eq!(approved.body["status"], "approved", "{}", approved.body);
    let scheduled = manager
        .action(&format!("/v1/posts/{id}/schedule"), Some(&approved.etag()))
        .await;
    assert_eq!(scheduled.body["status"], "scheduled", "{}", scheduled.body);
}

#[tokio::test]
async fn an_approval_is_of_the_copy_the_reviewer_read() {
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", true).await;
    let ch = app.channel("acme").await;
    let post = draft(
        &app,
        "acme",
        json!({"text": "Autumn menu", "channels": [ch]}),
    )
    .await;
    let id = post["id"].as_str().unwrap();
    let editor = app.client("acme", "editor");
    let manager = app.client("acme", "manager");
    editor.action(&format!("/v1/posts/{id}/submit"), None).await;

    // The reviewer reads the post in review; meanwhile the editor changes its copy.
    let read = read_etag(&manager, id).await;
    let edited = editor
        .patch(
            &format!("/v1/posts/{id}"),
            json!({"text": "Autumn menu, now with prices"}),
            None,
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    // The edit sends it back to draft, under a new version.
    assert_eq!(edited.body["status"], "draft");
    assert_ne!(edited.etag(), read);
    // The approval sent with what the reviewer read fails, and changes nothing.
    manager
        .action(&format!("/v1/posts/{id}/approve"), Some(&read))
        .await
        .problem(412);
    // Sent with the new version it is refused too: a draft is not in review.
    let r = manager
        .action(&format!("/v1/posts/{id}/approve"), Some(&edited.etag()))
        .await;
    assert!(
        r.problem(409)["detail"]
            .as_str()
            .unwrap()
            .contains("a post that is draft cannot be approved"),
        "{}",
        r.body
    );
    let now = manager.get(&format!("/v1/posts/{id}")).await;
    assert_eq!(
        (now.body["status"].as_str(), now.body["text"].as_str()),
        (Some("draft"), Some("Autumn menu, now with prices"))
    );

    // Bookkeeping (labels) does not send it back, but the reviewer still approves only the
    // version they read.
    let resubmitted = editor
        .action(&format!("/v1/posts/{id}/submit"), Some(&now.etag()))
        .await;
    assert_eq!(resubmitted.body["status"], "in_review");
    let read = read_etag(&manager, id).await;
    let labelled = editor
        .patch(
            &format!("/v1/posts/{id}"),
            json!({"labels": ["menu"]}),
            None,
        )
        .await;
    assert_eq!(labelled.body["status"], "in_review", "{}", labelled.body);
    manager
        .action(&format!("/v1/posts/{id}/approve"), Some(&read))
        .await
        .problem(412);
    let read = read_etag(&manager, id).await;
    let approved = manager
        .action(&format!("/v1/posts/{id}/approve"), Some(&read))
        .await;
    assert_eq!(approved.body["status"], "approved", "{}", approved.body);
}

#[tokio::test]
async fn another_brands_resources_do_not_exist() {
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", false).await;
    app.brand("rival", "Europe/Rome", false).await;
    let post = draft(&app, "acme", json!({"text": "secret plan"})).await;
    let id = post["id"].as_str().unwrap();
    let ch = app.channel("acme").await;
    let rival = app.client("rival", "owner");
    rival.get(&format!("/v1/posts/{id}")).await.problem(404);
    rival
        .patch(&format!("/v1/posts/{id}"), json!({"text": "x"}), None)
        .await
        .problem(404);
    rival
        .delete(&format!("/v1/posts/{id}"), None)
        .await
        .problem(404);
    // Every workflow action, with the ETag acme's post really has: still no such post.
    for action in [
        "submit",
        "approve",
        "reject",
        "schedule",
        "unschedule",
        "cancel",
        "duplicate",
        "publish-now",
        "queue",
        "preflight",
    ] {
        let r = rival
            .action(&format!("/v1/posts/{id}/{action}"), Some("\"1\""))
            .await;
        assert_eq!(
            r.problem(404)["detail"],
            "there is no such post in this brand",
            "{action}"
        );
    }
    rival.get(&format!("/v1/channels/{ch}")).await.problem(404);
    // Nor can a post of rival's target acme's channel.
    let r = app
        .client("rival", "editor")
        .post("/v1/posts", json!({"text": "x", "channels": [ch]}))
        .await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "channels.0");
    assert_eq!(rival.get("/v1/posts").await.body["items"], json!([]));
    assert_eq!(
        app.client("acme", "viewer")
            .get(&format!("/v1/posts/{id}"))
            .await
            .body["text"],
        "secret plan"
    );
}

// ---- input errors ----

#[tokio::test]
async fn malformed_input_is_a_400_naming_the_field() {
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", false).await;
    let editor = app.client("acme", "editor");

    let r = editor
        .post("/v1/posts", json!({"text": "hi", "colour": "red"}))
        .await;
    assert_eq!(r.problem(400)["errors"][0]["field"], "colour");
    let r = editor.post("/v1/posts", json!({"text": 5})).await;
    assert_eq!(r.problem(400)["errors"][0]["field"], "text");
    let r = editor
        .post(
            "/v1/posts",
            json!({"text": "hi", "variants": {"01J00000000000000000000000": {"text": 1}}}),
        )
        .await;
    assert_eq!(
        r.problem(400)["errors"][0]["field"],
        "variants.01J00000000000000000000000.text"
    );
    let r = editor
        .send(
            editor
                .request(Method::POST, "/v1/posts")
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    r.problem(400);
    let r = editor
        .send(
            editor
                .request(Method::POST, "/v1/posts")
                .header("content-type", "text/plain")
                .body("hello"),
        )
        .await;
    r.problem(415);
    let r = editor.get("/v1/posts?limit=many").await;
    assert_eq!(r.problem(400)["errors"][0]["field"], "limit");
    let r = editor.get("/v1/posts?sort=asc").await;
    assert_eq!(r.problem(400)["errors"][0]["field"], "sort");
    let r = editor
        .post(
            "/v1/posts",
            json!({"text": " ", "labels": [""], "publish_at": "soon"}),
        )
        .await;
    let fields = r.error_fields();
    r.problem(422);
    assert_eq!(fields, ["text", "labels.0", "publish_at"]);
}

#[tokio::test]
async fn oversized_bodies_are_a_413_problem() {
    let app = TestApp::spawn_with(ApiSettings {
        max_body_bytes: 1024,
        ..ApiSettings::default()
    })
    .await;
    app.brand("acme", "Europe/Rome", false).await;
    let r = app
        .client("acme", "editor")
        .post("/v1/posts", json!({"text": "x".repeat(4096)}))
        .await;
    r.problem(413);
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems_too() {
    let app = TestApp::spawn().await;
    app.anonymous().get("/v1/nothing-here").await.problem(404);
    let r = app
        .anonymous()
        .send(app.anonymous().request(Method::PUT, "/healthz"))
        .await;
    r.problem(405);
    let r = app.anonymous().get("/healthz").await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
}

#[tokio::test]
async fn no_answer_may_be_sniffed_as_another_type() {
    let app = TestApp::spawn().await;
    let anon = app.anonymous();
    let answers = [
        anon.get("/healthz").await,
        anon.get("/v1/openapi.json").await,
        anon.get("/v1/nothing-here").await,
        anon.get("/v1/brand").await,
        anon.send(anon.request(Method::PUT, "/healthz")).await,
        app.client("acme", "viewer").get("/v1/posts").await,
    ];
    for r in answers {
        assert_eq!(
            r.headers
                .get("x-content-type-options")
                .map(|v| v.to_str().unwrap()),
            Some("nosniff"),
            "{} {}",
            r.status,
            r.body
        );
        // Only pages a browser renders carry a content security policy; JSON needs none.
        assert!(r.headers.get("content-security-policy").is_none());
    }
}

#[tokio::test]
async fn cors_lets_the_configured_frontend_in() {
    let app = TestApp::spawn_with(ApiSettings {
        cors_origins: vec!["https://desk.acme.example".into()],
        ..ApiSettings::default()
    })
    .await;
    let anon = app.anonymous();
    let preflight = anon
        .send(
            anon.request(Method::OPTIONS, "/v1/posts")
                .header("origin", "https://desk.acme.example")
                .header("access-control-request-method", "PATCH")
                .header("access-control-request-headers", "authorization,if-match"),
        )
        .await;
    assert_eq!(
        preflight
            .headers
            .get("access-control-allow-origin")
            .unwrap(),
        "https://desk.acme.example"
    );
    let other = anon
        .send(
            anon.request(Method::GET, "/healthz")
                .header("origin", "https://evil.example"),
        )
        .await;
    assert!(other.headers.get("access-control-allow-origin").is_none());
}

// ---- logs ----

/// What a subscriber writes, kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn request_logs_name_the_route_never_the_uri_or_its_query() {
    // Everything, at every level, with the request span's fields. The test runtime has one
    // thread, so the server's tasks log to this subscriber too.
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", false).await;
    // Tests on other threads register the same call sites; should one have raced this
    // subscriber's registration and been cached as uninteresting, this asks again.
    tracing::callsite::rebuild_interest_cache();
    let id = "01J00000000000000000000000";
    let r = app
        .client("acme", "viewer")
        .get(&format!("/v1/posts/{id}?token=s3cret-value"))
        .await;
    r.problem(404);
    let unmatched = app
        .anonymous()
        .get("/v1/no-such-thing/s3cret-path?code=s3cret-code")
        .await;
    unmatched.problem(404);

    let text = logs.text();
    let raw_path = format!("/v1/posts/{id}");
    for secret in ["s3cret-", "token=", "code=", raw_path.as_str()] {
        assert!(!text.contains(secret), "{secret:?} was logged: {text}");
    }
    assert!(
        text.contains("route=/v1/posts/{id}") && text.contains("method=GET"),
        "the span names the matched route and the method: {text}"
    );
    assert!(text.contains("route=unmatched"), "{text}");
}

// ---- listing ----

#[tokio::test]
async fn posts_page_through_with_cursors_and_filters() {
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", false).await;
    let ch = app.channel("acme").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let label = if i % 2 == 0 { "even" } else { "odd" };
        let p = draft(&app, "acme", json!({"text": format!("post {i}"), "labels": [label], "channels": if i < 2 { json!([ch]) } else { json!([]) }})).await;
        ids.push(p["id"].as_str().unwrap().to_owned());
    }
    let viewer = app.client("acme", "viewer");
    let mut seen = Vec::new();
    let mut path = "/v1/posts?limit=3".to_owned();
    loop {
        let r = viewer.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        seen.extend(
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_owned()),
        );
        match r.body["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/posts?limit=3&cursor={c}"),
            None => break,
        }
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);

    let r = viewer.get("/v1/posts?label=even&limit=2").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    let cursor = r.body["next_cursor"].as_str().unwrap();
    let rest = viewer
        .get(&format!("/v1/posts?label=even&limit=2&cursor={cursor}"))
        .await;
    let evens: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest.body["items"].as_array().unwrap())
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(evens, ["post 6", "post 4", "post 2", "post 0"]);

    let r = viewer.get(&format!("/v1/posts?channel={ch}")).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    let r = viewer.get("/v1/posts?status=draft&limit=200").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 7);
    assert_eq!(
        viewer.get("/v1/posts?status=scheduled").await.body["items"],
        json!([])
    );
    viewer.get("/v1/posts?status=bogus").await.problem(422);
    viewer.get("/v1/posts?cursor=Zm9yZ2Vk").await.problem(422);
    viewer.get("/v1/posts?limit=0").await.problem(422);
}

#[tokio::test]
async fn a_cursor_from_another_brand_reads_only_your_own_posts() {
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", false).await;
    app.brand("rival", "Europe/Rome", false).await;
    for i in 0..3 {
        draft(&app, "acme", json!({"text": format!("acme {i}")})).await;
    }
    let r = app.client("acme", "viewer").get("/v1/posts?limit=1").await;
    let cursor = r.body["next_cursor"].as_str().unwrap();
    let r = app
        .client("rival", "viewer")
        .get(&format!("/v1/posts?cursor={cursor}"))
        .await;
    assert_eq!(
        (r.status, r.body["items"].clone()),
        (StatusCode::OK, json!([]))
    );
}

// ---- calendar ----

#[tokio::test]
async fn the_calendar_groups_posts_by_local_day_across_the_dst_change() {
    let app = TestApp::spawn().await;
    app.brand("acme", "Europe/Rome", false).await;
    // Rome moves from +01:00 to +02:00 at 02:00 on 2027-03-28: that day lasts 23 hours.
    let times = [
        ("sat late", "2027-03-27T23:30:00+01:00"),
        ("sun just after midnight", "2027-03-28T00:30:00+01:00"),
        ("sun after the change", "2027-03-28T03:30:00+02:00"),
        ("sun late", "2027-03-28T23:30:00+02:00"),
        ("mon just after midnight", "2027-03-29T00:30:00+02:00"),
    ];
    for (text, at) in times {
        draft(&app, "acme", json!({"text": text, "publish_at": at})).await;
    }
    draft(&app, "acme", json!({"text": "no time yet"})).await;
    let r = app
        .client("acme", "viewer")
        .get("/v1/calendar?from=2027-03-27&to=2027-03-29")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["time_zone"], "Europe/Rome");
    let days: Vec<(String, Vec<String>)> = r.body["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap().to_owned(),
                d["posts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["text"].as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        days,
        [
            ("2027-03-27".to_owned(), vec!["sat late".to_owned()]),
            (
                "2027-03-28".to_owned(),
                vec![
                    "sun just after midnight".into(),
                    "sun after the change".into(),
                    "sun late".into()
                ]
            ),
            (
                "2027-03-29".to_owned(),
                vec!["mon just after midnight".to_owned()]
            ),
        ]
    );
    let r = app
        .client("acme", "viewer")
        .get("/v1/calendar?from=2027-03-29&to=2027-03-27")
        .await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "to");
    app.client("acme", "viewer")
        .get("/v1/calendar?from=2027-01-01&to=2027-12-31")
        .await
        .problem(422);
    app.client("acme", "viewer")
        .get("/v1/calendar?from=2027-03-27")
        .await
        .problem(400);
}

// ---- OpenAPI ----

#[tokio::test]
async fn the_openapi_document_covers_every_route() {
    let app = TestApp::spawn().await;
    let r = app.anonymous().get("/v1/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        r.body["openapi"]
    );
    let expected = [
        ("get", "/healthz"),
        ("get", "/v1/openapi.json"),
        ("get", "/v1/brand"),
        ("put", "/v1/brand"),
        ("patch", "/v1/brand"),
        ("get", "/v1/channels"),
        ("post", "/v1/channels"),
        ("get", "/v1/channels/{id}"),
        ("patch", "/v1/channels/{id}"),
        ("delete", "/v1/channels/{id}"),
        ("put", "/v1/channels/{id}/credentials"),
        ("get", "/v1/posts"),
        ("post", "/v1/posts"),
        ("get", "/v1/posts/{id}"),
        ("patch", "/v1/posts/{id}"),
        ("delete", "/v1/posts/{id}"),
        ("post", "/v1/posts/{id}/submit"),
        ("post", "/v1/posts/{id}/approve"),
        ("post", "/v1/posts/{id}/reject"),
        ("post", "/v1/posts/{id}/schedule"),
        ("post", "/v1/posts/{id}/unschedule"),
        ("post", "/v1/posts/{id}/cancel"),
        ("post", "/v1/posts/{id}/duplicate"),
        ("post", "/v1/posts/{id}/publish-now"),
        ("post", "/v1/posts/{id}/queue"),
        ("post", "/v1/posts/{id}/preflight"),
        ("get", "/v1/calendar"),
        ("get", "/v1/reports"),
        ("get", "/v1/metrics"),
        ("post", "/v1/assets/uploads"),
        ("get", "/v1/assets"),
        ("get", "/v1/assets/{id}"),
        ("patch", "/v1/assets/{id}"),
        ("delete", "/v1/assets/{id}"),
        ("get", "/v1/kpis"),
        ("post", "/v1/kpis"),
        ("get", "/v1/kpis/{id}"),
        ("patch", "/v1/kpis/{id}"),
        ("delete", "/v1/kpis/{id}"),
        ("get", "/v1/competitors"),
        ("post", "/v1/competitors"),
        ("get", "/v1/competitors/{id}"),
        ("delete", "/v1/competitors/{id}"),
        ("get", "/v1/networks"),
        ("get", "/v1/webhooks"),
        ("post", "/v1/webhooks"),
        ("get", "/v1/webhooks/{id}"),
        ("patch", "/v1/webhooks/{id}"),
        ("delete", "/v1/webhooks/{id}"),
        ("post", "/v1/webhooks/{id}/ping"),
        ("get", "/v1/webhooks/{id}/deliveries"),
        ("get", "/v1/audit"),
        ("post", "/v1/channels/{id}/connect"),
        ("get", "/v1/channels/{id}/connect/{connection}"),
        ("post", "/v1/channels/{id}/connect/confirm"),
        ("get", "/oauth/start/{token}"),
        ("get", "/oauth/callback/{network}"),
        ("get", "/oauth/done"),
        ("delete", "/v1/channels/{id}/connection"),
        ("post", "/oauth/meta/{app}/deauthorize"),
        ("post", "/oauth/meta/{app}/data-deletion"),
        ("get", "/oauth/meta/deletion/{code}"),
        ("get", "/v1/inbox"),
        ("get", "/v1/inbox/counts"),
        ("get", "/v1/inbox/stats"),
        ("get", "/v1/inbox/{id}"),
        ("patch", "/v1/inbox/{id}"),
        ("get", "/v1/inbox/{id}/notes"),
        ("post", "/v1/inbox/{id}/notes"),
        ("post", "/v1/inbox/{id}/reply"),
        ("post", "/v1/inbox/{id}/replies/{reply}/approve"),
        ("post", "/v1/inbox/bulk"),
        ("post", "/v1/inbox/{id}/moderation"),
        ("get", "/v1/inbox/rules"),
        ("put", "/v1/inbox/rules"),
        ("get", "/v1/people"),
        ("get", "/v1/people/{id}"),
        ("patch", "/v1/people/{id}"),
        ("delete", "/v1/people/{id}"),
        ("post", "/v1/people/{id}/handles"),
        ("get", "/v1/people/{id}/export"),
        ("get", "/v1/saved-replies"),
        ("post", "/v1/saved-replies"),
        ("patch", "/v1/saved-replies/{id}"),
        ("delete", "/v1/saved-replies/{id}"),
    ];
    let paths = r.body["paths"].as_object().unwrap();
    let documented: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.clone(), p.clone()))
        })
        .collect();
    for (method, path) in expected {
        assert!(
            documented.contains(&(method.to_owned(), path.to_owned())),
            "{method} {path} is not documented"
        );
    }
    assert_eq!(
        documented.len(),
        expected.len(),
        "the document has routes this test does not know: {documented:?}"
    );
    // And every documented operation is really served: the router never answers "no such endpoint".
    let client = app.anonymous();
    for (method, path) in &documented {
        let url = path.replace("{id}", "01J00000000000000000000000");
        let r = client
            .send(client.request(method.to_uppercase().parse().unwrap(), &url))
            .await;
        assert!(
            !(r.status == StatusCode::NOT_FOUND
                && r.body["detail"]
                    .as_str()
                    .unwrap_or("")
                    .contains("no such endpoint"))
                && r.status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} is documented but not routed: {} {}",
            r.status,
            r.body
        );
    }
}

#[test]
fn the_committed_openapi_document_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    let generated = palinsesto::http::openapi_document()
        .to_pretty_json()
        .unwrap()
        + "\n";
    if std::env::var_os("PALINSESTO_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is out of date: run PALINSESTO_UPDATE_OPENAPI=1 cargo test -p palinsesto-system-tests --test api"
    );
}

// ---- networks ----

#[tokio::test]
async fn the_coverage_table_is_served_to_every_role_and_is_the_same_for_every_brand() {
    let app = TestApp::spawn().await;
    app.anonymous().get("/v1/networks").await.problem(401);
    let acme = app.client("acme", "viewer").get("/v1/networks").await;
    assert_eq!(acme.status, StatusCode::OK, "{}", acme.body);
    let rival = app.client("rival", "owner").get("/v1/networks").await;
    assert_eq!(
        acme.body, rival.body,
        "nothing in the table depends on the brand"
    );

    let networks = acme.body["networks"].as_array().unwrap();
    let names: Vec<&str> = networks
        .iter()
        .map(|n| n["network"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "mastodon",
            "bluesky",
            "linkedin",
            "x",
            "facebook",
            "instagram",
            "threads",
            "telegram",
            "sandbox"
        ]
    );
    let get = |name: &str| networks.iter().find(|n| n["network"] == name).unwrap();
    let bluesky = get("bluesky");
    assert_eq!(
        bluesky["capabilities"],
        json!(["publish", "metrics", "inbox", "reply", "moderation"])
    );
    assert_eq!(bluesky["limits"]["max_text"], 300);
    assert_eq!(bluesky["limits"]["text_counted_as"], "graphemes");
    assert_eq!(bluesky["limits"]["max_image_bytes"], 1_000_000);
    assert_eq!(get("x")["limits"]["link_weight"], 23);
    // Instagram needs media; LinkedIn posts follow-ups as the first comment.
    assert_eq!(get("instagram")["publish"]["text"], false);
    assert_eq!(
        get("instagram")["limits"]["image_aspect"],
        json!(["4:5", "191:100"])
    );
    assert_eq!(get("linkedin")["publish"]["follow_ups"], "first_comment");
    // Telegram's bots read no post figures, only subscribers, and the table says why.
    let telegram = get("telegram");
    assert_eq!(telegram["metrics"]["post"], json!([]));
    assert_eq!(telegram["metrics"]["account"], json!(["followers"]));
    assert!(
        telegram["constraints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["about"] == "metrics" && c["text"].as_str().unwrap().contains("no view")),
        "{telegram}"
    );
    // What is not built yet is listed as unavailable, in plain words.
    let listening = telegram["unavailable"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["capability"] == "listening")
        .unwrap_or_else(|| panic!("{telegram}"));
    assert_eq!(
        listening["why"],
        "Palinsesto does not offer listening (searching what people say) on Telegram"
    );
    // Every constraint names its source and when it was recorded.
    for network in networks {
        for c in network["constraints"].as_array().unwrap() {
            assert!(c["source"].as_str().is_some_and(|s| !s.is_empty()), "{c}");
            assert!(c["recorded"].as_str().is_some_and(|s| s.len() == 10), "{c}");
        }
    }
}

#[test]
fn docs_api_shows_the_coverage_table_the_code_serves() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/api.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (start, end) = ("<!-- coverage:start -->\n", "<!-- coverage:end -->");
    let from = doc
        .find(start)
        .expect("docs/api.md has the coverage markers")
        + start.len();
    let to = doc.find(end).expect("docs/api.md has the coverage markers");
    let generated = palinsesto::http::routes::networks::markdown_table();
    if std::env::var_os("PALINSESTO_UPDATE_OPENAPI").is_some() {
        let updated = format!("{}{generated}{}", &doc[..from], &doc[to..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert!(
        doc[from..to] == generated,
        "docs/api.md's coverage table is out of date: run PALINSESTO_UPDATE_OPENAPI=1 cargo test -p palinsesto-system-tests --test api"
    );
}
