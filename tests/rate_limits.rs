//! Per-brand rate limits, black-box: the real router on the embedded store with a manual clock.
//! Writes take a token from the brand's bucket (a burst, then a refill a minute); upload URLs
//! also take a slot (freed by intake, or when the URL expires) and their bytes from the day's
//! allowance. Over a limit: 429 problem+json with `Retry-After`. One brand's limit is never
//! another's, and reads are never limited.

use jiff::SignedDuration;
use palinsesto::domain::rate_limit::RateLimits;
use palinsesto::http::ApiSettings;
use palinsesto::media_inspection::{Limits, fixtures};
use palinsesto::services::intake::IntakeOutcome;
use palinsesto_system_tests::app::{Client, Reply, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn settings(limits: RateLimits) -> ApiSettings {
    ApiSettings {
        rate_limits: limits,
        ..ApiSettings::default()
    }
}

fn writes(burst: u32, per_minute: u32) -> RateLimits {
    RateLimits {
        write_burst: burst,
        writes_per_minute: per_minute,
        ..RateLimits::default()
    }
}

async fn draft(client: &Client, text: &str) -> Reply {
    client.post("/v1/posts", json!({ "text": text })).await
}

fn retry_after(r: &Reply) -> u64 {
    r.headers
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in whole seconds")
}

/// Asserts a 429 rate-limit problem and returns its detail and `Retry-After`.
fn limited(r: &Reply) -> (String, u64) {
    let problem = r.problem(429);
    assert_eq!(
        problem["type"], "https://palinsesto.dev/problems/rate-limited",
        "{problem}"
    );
    (
        problem["detail"].as_str().unwrap().to_owned(),
        retry_after(r),
    )
}

async fn post_count(client: &Client) -> usize {
    let r = client.get("/v1/posts?limit=200").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_brand_over_its_write_limit_gets_429_with_retry_after_and_no_other_brand_notices() {
    // Given two brands with a bucket of 5 writes refilled at 60 a minute, each set up with one
    // write (PUT /v1/brand)
    let app = TestApp::spawn_with(ApiSettings {
        cors_origins: vec!["https://desk.acme.example".into()],
        ..settings(writes(5, 60))
    })
    .await;
    app.brand("acme", "Europe/Rome", false).await;
    app.brand("rival", "Europe/Rome", false).await;
    let acme = app.client("acme", "editor");

    // When acme spends the rest of its burst
    let mut last = String::new();
    for i in 0..4 {
        let r = draft(&acme, &format!("draft {i}")).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        last = r.body["id"].as_str().unwrap().to_owned();
    }

    // Then its next write is a 429 that says which limit, and when the next write is possible
    let r = acme
        .send(
            acme.request(Method::POST, "/v1/posts")
                .header("origin", "https://desk.acme.example")
                .json(&json!({"text": "one too many"})),
        )
        .await;
    let (detail, wait) = limited(&r);
    assert_eq!(wait, 1, "60 a minute is one a second");
    assert!(
        detail.contains("up to 5 at once, then 60 a minute"),
        "{detail}"
    );
    assert!(
        detail.contains("in 1 second (at 2027-01-15T10:00:01Z)"),
        "{detail}"
    );
    assert!(detail.contains("reading is not limited"), "{detail}");
    // (a browser may read Retry-After)
    let exposed = r
        .headers
        .get("access-control-expose-headers")
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
        .unwrap_or_default();
    assert!(exposed.contains("retry-after"), "{exposed}");
    // Every write method is limited, the workflow's actions too
    let manager = app.client("acme", "manager");
    limited(
        &manager
            .patch("/v1/brand", json!({"name": "Acme"}), None)
            .await,
    );
    limited(&manager.put("/v1/brand", json!({"name": "Acme"})).await);
    limited(&manager.delete(&format!("/v1/posts/{last}"), None).await);
    limited(&acme.action(&format!("/v1/posts/{last}/submit"), None).await);
    limited(
        &acme
            .post(
                "/v1/assets/uploads",
                json!({"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}),
            )
            .await,
    );
    // and nothing was written
    assert_eq!(post_count(&acme).await, 4);
    // Reads are not limited
    for _ in 0..20 {
        assert_eq!(acme.get("/v1/brand").await.status, StatusCode::OK);
    }
    // A request without a valid token is a 401, not a 429: it belongs to no brand
    let anonymous = app.anonymous();
    anonymous
        .post("/v1/posts", json!({"text": "who?"}))
        .await
        .problem(401);

    // And the other brand writes its whole burst: acme's bucket is not its bucket
    let rival = app.client("rival", "editor");
    for i in 0..4 {
        let r = draft(&rival, &format!("rival {i}")).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    limited(&draft(&rival, "rival, one too many").await);
    assert_eq!(post_count(&rival).await, 4);
}

#[tokio::test]
async fn the_bucket_refills_with_the_clock_and_never_above_its_burst() {
    // Given a brand that spent its bucket of 3 (refilled at 30 a minute: one every 2 s)
    let app = TestApp::spawn_with(settings(writes(3, 30))).await;
    app.brand("acme", "Europe/Rome", false).await;
    let acme = app.client("acme", "editor");
    for i in 0..2 {
        assert_eq!(
            draft(&acme, &format!("{i}")).await.status,
            StatusCode::CREATED
        );
    }
    let (_, wait) = limited(&draft(&acme, "too soon").await);
    assert_eq!(wait, 2);

    // One second later it still waits, one more
    app.clock.advance(SignedDuration::from_secs(1));
    let (detail, wait) = limited(&draft(&acme, "still too soon").await);
    assert_eq!(wait, 1);
    assert!(detail.contains("(at 2027-01-15T10:00:02Z)"), "{detail}");

    // When the second is over there is one token, and one only
    app.clock.advance(SignedDuration::from_secs(1));
    assert_eq!(draft(&acme, "refilled").await.status, StatusCode::CREATED);
    limited(&draft(&acme, "greedy").await);

    // And an hour later the bucket holds its burst of 3, not 1,800
    app.clock.advance(SignedDuration::from_hours(1));
    for i in 0..3 {
        assert_eq!(
            draft(&acme, &format!("after an hour {i}")).await.status,
            StatusCode::CREATED
        );
    }
    limited(&draft(&acme, "a fourth").await);
    assert_eq!(post_count(&acme).await, 6);
}

#[tokio::test]
async fn racing_writes_never_share_the_last_token() {
    // Given a brand with 3 tokens left and a clock that does not move
    let app = TestApp::spawn_with(settings(writes(4, 60))).await;
    app.brand("acme", "Europe/Rome", false).await;
    let acme = app.client("acme", "editor");

    // When 10 drafts are sent at once
    let mut race = tokio::task::JoinSet::new();
    for i in 0..10 {
        let acme = acme.clone();
        race.spawn(async move { draft(&acme, &format!("racer {i}")).await });
    }
    let replies = race.join_all().await;

    // Then exactly 3 are written and 7 are told to wait
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 3, "{replies:?}");
    for r in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        limited(r);
    }
    assert_eq!(post_count(&acme).await, 3);
}

// ---- upload URLs ----

fn uploads(outstanding: u32, bytes_per_day: u64) -> RateLimits {
    RateLimits {
        outstanding_uploads: outstanding,
        upload_bytes_per_day: bytes_per_day,
        ..RateLimits::default()
    }
}

async fn reserve(app: &TestApp, brand: &str, filename: &str, size: usize) -> Reply {
    app.client(brand, "editor")
        .post(
            "/v1/assets/uploads",
            json!({"filename": filename, "content_type": "image/jpeg", "size": size}),
        )
        .await
}

/// Sends the file through the upload URL, then runs intake on it.
async fn upload_and_take_in(app: &TestApp, grant: &Reply, filename: &str, bytes: Vec<u8>) {
    let mut request = palinsesto_system_tests::http_client()
        .put(grant.body["url"].as_str().unwrap())
        .body(bytes);
    for (name, value) in grant.body["headers"].as_object().unwrap() {
        if !name.eq_ignore_ascii_case("content-length") {
            request = request.header(name, value.as_str().unwrap());
        }
    }
    let put = request.send().await.expect("the local bucket answers");
    assert_eq!(put.status(), StatusCode::OK);
    let key = format!(
        "incoming/acme/{}/{filename}",
        grant.body["asset_id"].as_str().unwrap()
    );
    let outcome = app.runtime.intake(Limits::default()).ingest(&key).await;
    assert!(
        matches!(outcome, Ok(IntakeOutcome::Ready(_))),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn upload_urls_are_limited_by_slots_that_intake_or_expiry_frees() {
    // Given a brand that may have 2 upload URLs waiting for their files
    let app = TestApp::spawn_with(settings(uploads(2, 1 << 30))).await;
    app.brand("acme", "Europe/Rome", false).await;
    app.brand("rival", "Europe/Rome", false).await;
    let photo = fixtures::noise_jpeg(64, 48, 7);
    let first = reserve(&app, "acme", "first.jpg", photo.len()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let second = reserve(&app, "acme", "second.jpg", 100).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);

    // When it asks for a third
    let (detail, wait) = limited(&reserve(&app, "acme", "third.jpg", 100).await);

    // Then it is told that two wait, and that the first URL expires in 15 minutes
    assert_eq!(wait, 15 * 60);
    assert!(detail.contains("2 upload URLs"), "{detail}");
    assert!(detail.contains("at most 2 at once"), "{detail}");
    assert!(detail.contains("(at 2027-01-15T10:15:00Z)"), "{detail}");
    // while another brand's slots are its own
    for name in ["a.jpg", "b.jpg"] {
        assert_eq!(
            reserve(&app, "rival", name, 100).await.status,
            StatusCode::CREATED
        );
    }

    // When the first file is uploaded and taken in, its slot is free again
    upload_and_take_in(&app, &first, "first.jpg", photo).await;
    let third = reserve(&app, "acme", "third.jpg", 100).await;
    assert_eq!(third.status, StatusCode::CREATED, "{}", third.body);
    limited(&reserve(&app, "acme", "fourth.jpg", 100).await);

    // And when the URLs expire unused, theirs are free too
    app.clock.advance(SignedDuration::from_mins(15));
    for name in ["fourth.jpg", "fifth.jpg"] {
        let r = reserve(&app, "acme", name, 100).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    limited(&reserve(&app, "acme", "sixth.jpg", 100).await);
}

#[tokio::test]
async fn upload_bytes_are_limited_per_utc_day() {
    // Given a brand that may ask for upload URLs for 3,000 bytes a day
    let app = TestApp::spawn_with(settings(uploads(50, 3_000))).await;
    app.brand("acme", "Europe/Rome", false).await;
    app.brand("rival", "Europe/Rome", false).await;
    assert_eq!(
        reserve(&app, "acme", "a.jpg", 2_000).await.status,
        StatusCode::CREATED
    );

    // When a URL would take it past that
    let (detail, wait) = limited(&reserve(&app, "acme", "b.jpg", 1_001).await);

    // Then it is told what is used and that the allowance resets at midnight UTC (14 h away)
    assert_eq!(wait, 14 * 3600);
    assert!(
        detail.contains("already cover 2000 bytes of the 3000 bytes a day"),
        "{detail}"
    );
    assert!(
        detail.contains("resets at midnight UTC, in 50400 seconds (at 2027-01-16T00:00:00Z)"),
        "{detail}"
    );
    // What fits still fits, to the byte; a file larger than a whole day's allowance is invalid
    assert_eq!(
        reserve(&app, "acme", "c.jpg", 1_000).await.status,
        StatusCode::CREATED
    );
    let r = reserve(&app, "acme", "huge.jpg", 3_001).await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["size"]);
    // Another brand's day is its own
    assert_eq!(
        reserve(&app, "rival", "a.jpg", 3_000).await.status,
        StatusCode::CREATED
    );

    // And at midnight UTC the allowance is whole again
    app.clock.set("2027-01-16T00:00:00Z".parse().unwrap());
    assert_eq!(
        reserve(&app, "acme", "d.jpg", 3_000).await.status,
        StatusCode::CREATED
    );
    limited(&reserve(&app, "acme", "e.jpg", 1).await);
}

// ---- the contract ----

#[tokio::test]
async fn every_write_operation_documents_its_429_and_reads_do_not() {
    let app = TestApp::spawn().await;
    let doc = app.anonymous().get("/v1/openapi.json").await.body;
    let mut writes = 0;
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let documented = &operation["responses"]["429"];
            let write = matches!(method.as_str(), "post" | "put" | "patch" | "delete");
            // Meta's callbacks carry no brand token: no brand's writes to count them against.
            if !write || !path.starts_with("/v1/") {
                assert!(
                    documented.is_null(),
                    "{method} {path} is a read or has no brand: never limited"
                );
                continue;
            }
            writes += 1;
            assert!(
                documented["headers"]["Retry-After"].is_object(),
                "{method} {path} lacks its 429 with Retry-After: {operation}"
            );
            assert_eq!(
                documented["content"]["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/Problem",
                "{method} {path}"
            );
        }
    }
    assert!(writes > 20, "only {writes} write operations documented");
}
