//! The media library end to end: uploads through presigned URLs and the local bucket routes, files
//! dropped into the bucket folder, intake (good files, bad files, duplicates, retries), and the
//! `/v1/assets` API, on the booted local runtime.

use std::path::PathBuf;
use std::sync::Arc;

use jiff::SignedDuration;
use palinsesto::bucket::Bucket;
use palinsesto::domain_events::{ASSET_READY, ASSET_REJECTED, DomainEvent};
use palinsesto::media_inspection::Limits;
use palinsesto::media_inspection::fixtures;
use palinsesto::services::IntakeService;
use palinsesto::services::intake::IntakeOutcome;
use palinsesto_system_tests::app::{Reply, TestApp};
use palinsesto_system_tests::bucket::{Access, HookedBucket};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

// ---- files, made here ----

/// Deterministic noise (xorshift), so files are the same on every run and do not compress.
fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---- the library under test ----

struct Library {
    app: TestApp,
    intake: IntakeService,
    events: broadcast::Receiver<DomainEvent>,
    http: reqwest::Client,
}

impl Library {
    /// A booted app with the brand `acme` set up.
    async fn open() -> Self {
        let app = TestApp::spawn().await;
        app.brand("acme", "Europe/Rome", false).await;
        let intake = app.runtime.intake(Limits::default());
        let events = app.runtime.bus.subscribe();
        Self {
            app,
            intake,
            events,
            http: palinsesto_system_tests::http_client(),
        }
    }

    fn bucket_file(&self, key: &str) -> PathBuf {
        self.app.runtime.bucket.root().join(key)
    }

    fn exists(&self, key: &str) -> bool {
        self.bucket_file(key).is_file()
    }

    fn drop_file(&self, key: &str, bytes: &[u8]) {
        let path = self.bucket_file(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    /// Asks for an upload URL as an editor of `acme`.
    async fn reserve(&self, filename: &str, content_type: &str, size: usize) -> Reply {
        self.app
            .client("acme", "editor")
            .post(
                "/v1/assets/uploads",
                json!({"filename": filename, "content_type": content_type, "size": size}),
            )
            .await
    }

    /// Sends `body` as the upload, with the headers the reservation bound (reqwest sets the
    /// Content-Length from the body).
    async fn put(&self, upload: &Value, url: &str, body: Vec<u8>) -> reqwest::Response {
        let mut request = self.http.put(url).body(body);
        for (name, value) in upload["headers"].as_object().unwrap() {
            if !name.eq_ignore_ascii_case("content-length") {
                request = request.header(name, value.as_str().unwrap());
            }
        }
        request.send().await.expect("the local bucket answers")
    }

    /// Reserves, uploads through the presigned URL, and returns the asset id and incoming key.
    async fn upload(&self, filename: &str, content_type: &str, bytes: &[u8]) -> (String, String) {
        let r = self.reserve(filename, content_type, bytes.len()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let url = r.body["url"].as_str().unwrap().to_owned();
        let put = self.put(&r.body, &url, bytes.to_vec()).await;
        assert_eq!(
            put.status(),
            StatusCode::OK,
            "{}",
            put.text().await.unwrap()
        );
        let id = r.body["asset_id"].as_str().unwrap().to_owned();
        (id.clone(), format!("incoming/acme/{id}/{filename}"))
    }

    async fn ingest(&self, key: &str) -> IntakeOutcome {
        self.intake.ingest(key).await.expect("intake runs")
    }

    async fn get(&self, id: &str) -> Reply {
        self.app
            .client("acme", "viewer")
            .get(&format!("/v1/assets/{id}"))
            .await
    }

    /// Every event emitted so far.
    async fn drain_events(&mut self) -> Vec<DomainEvent> {
        self.app.relayed().await;
        std::iter::from_fn(|| self.events.try_recv().ok()).collect()
    }

    async fn list(&self, query: &str) -> Reply {
        self.app
            .client("acme", "viewer")
            .get(&format!("/v1/assets{query}"))
            .await
    }
}

fn ready(outcome: IntakeOutcome) -> palinsesto::domain::Asset {
    match outcome {
        IntakeOutcome::Ready(asset) => asset,
        other => panic!("expected a ready asset, got {other:?}"),
    }
}

// ---- uploads ----

#[tokio::test]
async fn an_uploaded_photo_becomes_a_ready_asset_with_its_metadata_and_thumbnail() {
    // given a photo uploaded through the presigned URL
    let mut library = Library::open().await;
    let photo = fixtures::noise_jpeg(640, 480, 1);
    let (id, key) = library
        .upload("Autumn menu.jpg", "image/jpeg", &photo)
        .await;
    assert!(library.exists(&key));

    // when intake takes it in
    let asset = ready(library.ingest(&key).await);

    // then it is a ready asset with the file's real metadata
    assert_eq!(asset.id.to_string(), id);
    let r = library.get(&id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.etag(), "\"1\"");
    let a = &r.body;
    assert_eq!(a["status"], "ready");
    assert_eq!(a["type"], "image");
    assert_eq!(a["content_type"], "image/jpeg");
    assert_eq!(a["size"], photo.len());
    assert_eq!(a["sha256"], sha256_hex(&photo));
    assert_eq!(
        (a["width"].as_u64(), a["height"].as_u64()),
        (Some(640), Some(480))
    );
    assert_eq!(a["filename"], "Autumn menu.jpg");
    assert_eq!(a["uploaded_by"], "editor@acme");
    assert_eq!(a["uploaded_at"], "2027-01-15T10:00:00Z");
    // and its file moved to the library, with a thumbnail beside it
    assert!(!library.exists(&key), "the incoming object is gone");
    assert!(library.exists(&format!("library/acme/{id}.jpg")));
    assert!(library.exists(&format!("thumbnails/acme/{id}.jpg")));
    // and the short-lived links serve the file and a JPEG thumbnail
    let download = library
        .http
        .get(a["download_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.bytes().await.unwrap().as_ref(), photo.as_slice());
    let thumbnail = library
        .http
        .get(a["thumbnail_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(thumbnail.status(), StatusCode::OK);
    let thumbnail = thumbnail.bytes().await.unwrap();
    assert!(thumbnail.starts_with(&[0xFF, 0xD8, 0xFF]) && thumbnail.len() < photo.len());
    // and asset.ready was emitted
    let events = library.drain_events().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, ASSET_READY);
    assert_eq!(events[0].data["asset_id"], id);
    assert_eq!(events[0].data["sha256"], sha256_hex(&photo));
}

#[tokio::test]
async fn uploads_are_asked_for_with_a_sane_name_type_and_size() {
    let library = Library::open().await;
    // a viewer may not upload
    let viewer = library.app.client("acme", "viewer");
    viewer
        .post(
            "/v1/assets/uploads",
            json!({"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}),
        )
        .await
        .problem(403);
    // each bad field is named
    let r = library.reserve("../a.jpg", "application/pdf", 0).await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["filename", "content_type", "size"]);
    let r = library
        .reserve("film.mp4", "video/mp4", 5 * 1024 * 1024 * 1024)
        .await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["size"]);
    // a brand without a profile cannot take files in
    let r = library
        .app
        .client("newcomer", "editor")
        .post(
            "/v1/assets/uploads",
            json!({"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}),
        )
        .await;
    r.problem(409);
    // and a good request gets a PUT bound to its type and length, for 15 minutes
    let r = library.reserve("Caffè latte.jpg", "Image/JPEG", 1234).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["method"], "PUT");
    assert_eq!(r.body["headers"]["Content-Type"], "image/jpeg");
    assert_eq!(r.body["headers"]["Content-Length"], "1234");
    assert!(
        r.body["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/local-bucket/incoming/acme/", library.app.base)),
        "{}",
        r.body["url"]
    );
}

#[tokio::test]
async fn a_tampered_or_expired_upload_url_is_refused() {
    // given an upload URL for a 1,000-byte JPEG
    let library = Library::open().await;
    let photo = fixtures::noise_jpeg(32, 32, 2);
    let r = library.reserve("a.jpg", "image/jpeg", photo.len()).await;
    let url = r.body["url"].as_str().unwrap().to_owned();
    let id = r.body["asset_id"].as_str().unwrap().to_owned();

    // when it is used with another length, another key, another type, or for a GET
    let longer = library
        .put(&r.body, &url, [photo.clone(), vec![0]].concat())
        .await;
    let other_key = library
        .put(&r.body, &url.replace("/a.jpg?", "/b.jpg?"), photo.clone())
        .await;
    let other_type = library
        .http
        .put(&url)
        .header("content-type", "image/png")
        .body(photo.clone())
        .send()
        .await
        .unwrap();
    let as_get = library.http.get(&url).send().await.unwrap();
    let forged = library
        .put(&r.body, &format!("{}0", url), photo.clone())
        .await;

    // then each is refused as not allowed, with a problem
    for refused in [longer, other_key, other_type, as_get, forged] {
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            refused.headers()["content-type"],
            "application/problem+json"
        );
    }
    // and an expired link, or one signed for outside incoming/, is refused too
    let bucket = &library.app.runtime.bucket;
    let key = format!("incoming/acme/{id}/a.jpg");
    let expired = bucket
        .presign_put(
            &key,
            "image/jpeg",
            photo.len() as u64,
            SignedDuration::from_secs(-60),
        )
        .await
        .unwrap();
    let late = library
        .put(
            &json!({"headers": {"Content-Type": "image/jpeg"}}),
            &expired.url,
            photo.clone(),
        )
        .await;
    assert_eq!(late.status(), StatusCode::FORBIDDEN);
    let library_key = bucket
        .presign_put(
            "library/acme/x.jpg",
            "image/jpeg",
            photo.len() as u64,
            SignedDuration::from_mins(5),
        )
        .await
        .unwrap();
    let outside = library
        .put(
            &json!({"headers": {"Content-Type": "image/jpeg"}}),
            &library_key.url,
            photo.clone(),
        )
        .await;
    assert_eq!(outside.status(), StatusCode::FORBIDDEN);
    // and nothing was stored
    assert!(
        library
            .app
            .runtime
            .bucket
            .list("", 10)
            .await
            .unwrap()
            .is_empty()
    );
    // while the untouched URL still works
    let ok = library.put(&r.body, &url, photo).await;
    assert_eq!(ok.status(), StatusCode::OK);
}

// ---- dropped files ----

#[tokio::test]
async fn files_dropped_into_the_folder_are_taken_in_once_their_size_settles() {
    // given two files dropped by hand, one with spaces and unicode in its path
    let mut library = Library::open().await;
    let latte = fixtures::noise_png(40, 30, 3);
    let plain = fixtures::noise_jpeg(50, 20, 4);
    library.drop_file("incoming/acme/Menu d'autunno/Caffè latte ☕.png", &latte);
    library.drop_file("incoming/acme/plain.jpg", &plain);

    // when the folder is scanned: the first scan only notes their sizes
    let first = library.intake.scan_incoming().await.unwrap();
    assert!(first.is_empty(), "{first:?}");
    // and the next one takes them in
    let second = library.intake.scan_incoming().await.unwrap();

    // then both are ready assets, with their names, uploaded by nobody in particular
    assert_eq!(second.len(), 2, "{second:?}");
    for (key, outcome) in second {
        assert!(
            matches!(outcome, Ok(IntakeOutcome::Ready(_))),
            "{key}: {outcome:?}"
        );
        assert!(!library.exists(&key));
    }
    let r = library.list("").await;
    let items = r.body["items"].as_array().unwrap();
    let names: Vec<&str> = items
        .iter()
        .map(|a| a["filename"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(
        names.contains(&"Caffè latte ☕.png") && names.contains(&"plain.jpg"),
        "{names:?}"
    );
    assert!(items.iter().all(|a| a["uploaded_by"].is_null()));
    let png_asset = items
        .iter()
        .find(|a| a["type"] == "image" && a["content_type"] == "image/png")
        .unwrap();
    assert_eq!(
        (png_asset["width"].as_u64(), png_asset["height"].as_u64()),
        (Some(40), Some(30))
    );
    assert_eq!(library.drain_events().await.len(), 2);
    // and a scan with nothing new does nothing
    assert!(library.intake.scan_incoming().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_photo_and_a_video_dropped_into_the_folder_become_ready_assets_with_their_metadata() {
    // given a photo taken sideways (EXIF orientation 6) and an mp4 whose index comes last
    let mut library = Library::open().await;
    let photo = fixtures::jpeg(640, 480, Some(6), false);
    let video = fixtures::mp4(true, 200_000);
    library.drop_file("incoming/acme/shoot/terrace.jpg", &photo);
    library.drop_file("incoming/acme/shoot/reel 01.mp4", &video);

    // when the folder is scanned until both settle
    library.intake.scan_incoming().await.unwrap();
    let taken = library.intake.scan_incoming().await.unwrap();
    assert_eq!(taken.len(), 2, "{taken:?}");

    // then both are ready, with what their bytes say
    let r = library.list("").await;
    let items = r.body["items"].as_array().unwrap();
    let by_name = |name: &str| {
        items
            .iter()
            .find(|a| a["filename"] == name)
            .unwrap_or_else(|| panic!("{name} in {items:?}"))
    };
    let p = by_name("terrace.jpg");
    assert_eq!(
        (
            p["status"].as_str(),
            p["type"].as_str(),
            p["content_type"].as_str()
        ),
        (Some("ready"), Some("image"), Some("image/jpeg"))
    );
    assert_eq!(
        (
            p["width"].as_u64(),
            p["height"].as_u64(),
            p["orientation"].as_u64()
        ),
        (Some(480), Some(640), Some(6)),
        "shown upright"
    );
    assert_eq!(p["sha256"], sha256_hex(&photo));
    assert_eq!(p["size"], photo.len() as u64);
    let v = by_name("reel 01.mp4");
    assert_eq!(
        (
            v["status"].as_str(),
            v["type"].as_str(),
            v["content_type"].as_str()
        ),
        (Some("ready"), Some("video"), Some("video/mp4"))
    );
    assert_eq!(
        (
            v["width"].as_u64(),
            v["height"].as_u64(),
            v["duration_ms"].as_u64()
        ),
        (Some(1920), Some(1080), Some(10_000))
    );
    assert_eq!(
        (v["container"].as_str(), v["video_codec"].as_str()),
        (Some("mp4"), Some("avc1"))
    );
    assert_eq!(v["sha256"], sha256_hex(&video));
    // and their files are in the library, where the links point
    for asset in [p, v] {
        let id = asset["id"].as_str().unwrap();
        let r = library.get(id).await;
        let url = r.body["download_url"].as_str().expect("a download link");
        let body = palinsesto_system_tests::http_client()
            .get(url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(sha256_hex(&body), asset["sha256"].as_str().unwrap());
    }
    assert_eq!(
        library
            .drain_events()
            .await
            .iter()
            .filter(|e| e.kind == "asset.ready")
            .count(),
        2
    );
}

#[tokio::test]
async fn a_file_for_no_known_brand_is_set_aside_not_lost() {
    // given files under a brand without a profile, and loose in incoming/
    let library = Library::open().await;
    library.drop_file("incoming/ghost/a.jpg", &fixtures::noise_jpeg(8, 8, 5));
    library.drop_file("incoming/loose.jpg", &fixtures::noise_jpeg(8, 8, 6));

    // when they are taken in
    let ghost = library.ingest("incoming/ghost/a.jpg").await;
    let loose = library.ingest("incoming/loose.jpg").await;

    // then they are moved aside for an operator, and no asset is recorded
    assert!(
        matches!(ghost, IntakeOutcome::Unclaimed { ref kept_at, .. } if kept_at == "quarantine/ghost/a.jpg"),
        "{ghost:?}"
    );
    assert!(
        matches!(loose, IntakeOutcome::Unclaimed { ref kept_at, .. } if kept_at == "quarantine/loose.jpg"),
        "{loose:?}"
    );
    assert!(library.exists("quarantine/ghost/a.jpg") && !library.exists("incoming/ghost/a.jpg"));
    // and keys outside incoming/ are none of intake's business
    assert!(matches!(
        library.ingest("library/acme/x.jpg").await,
        IntakeOutcome::Ignored(_)
    ));
    assert_eq!(library.list("").await.body["items"], json!([]));
}

// ---- idempotency ----

#[tokio::test]
async fn the_same_event_twice_or_a_retry_after_a_crash_makes_one_asset() {
    // given an uploaded photo
    let mut library = Library::open().await;
    let photo = fixtures::noise_jpeg(64, 64, 7);
    let (id, key) = library.upload("a.jpg", "image/jpeg", &photo).await;
    // and a first attempt that crashed after writing the library files but before recording
    library.drop_file(&format!("library/acme/{id}.jpg"), b"half a copy");
    library.drop_file(&format!("thumbnails/acme/{id}.jpg"), b"half a thumbnail");

    // when the event is delivered twice at the same time, then once more
    let (one, two) = tokio::join!(library.ingest(&key), library.ingest(&key));
    let three = library.ingest(&key).await;

    // then there is exactly one asset, with the upload's id and the right bytes
    for outcome in [&one, &two] {
        assert!(
            matches!(outcome, IntakeOutcome::Ready(a) if a.id.to_string() == id)
                || matches!(outcome, IntakeOutcome::Gone),
            "{outcome:?}"
        );
    }
    assert_eq!(three, IntakeOutcome::Gone);
    let items = library.list("").await.body["items"].clone();
    assert_eq!(items.as_array().unwrap().len(), 1, "{items}");
    assert_eq!(items[0]["id"], id);
    let stored = std::fs::read(library.bucket_file(&format!("library/acme/{id}.jpg"))).unwrap();
    assert_eq!(stored, photo);
    // and no orphan: the bucket holds the library file and the thumbnail, nothing else
    let mut keys = library.app.runtime.bucket.list("", 10).await.unwrap();
    keys.sort();
    assert_eq!(
        keys,
        [
            format!("library/acme/{id}.jpg"),
            format!("thumbnails/acme/{id}.jpg")
        ]
    );
    // and one event: it was written with the asset, which only one attempt could record
    let events = library.drain_events().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0].kind == ASSET_READY && events[0].data["asset_id"] == id);

    // when a crash left the incoming file behind after the asset was recorded, and it is retried
    library.drop_file(&key, &photo);
    let again = ready(library.ingest(&key).await);

    // then it finishes that same asset, and sends no second event (the outbox has the first)
    assert_eq!(again.id.to_string(), id);
    assert_eq!(again.version, 1);
    assert_eq!(
        library.list("").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(!library.exists(&key));
    assert_eq!(library.drain_events().await.len(), 0);
}

#[tokio::test]
async fn a_dropped_file_retried_keeps_its_asset_id() {
    // given a dropped file taken in
    let library = Library::open().await;
    let photo = fixtures::noise_jpeg(16, 16, 8);
    library.drop_file("incoming/acme/x.jpg", &photo);
    let first = ready(library.ingest("incoming/acme/x.jpg").await);
    // when the same file arrives again under the same key (a redelivery after a lost answer)
    library.drop_file("incoming/acme/x.jpg", &photo);
    let second = ready(library.ingest("incoming/acme/x.jpg").await);
    // then it is the same asset
    assert_eq!(first.id, second.id);
    assert_eq!(
        library.list("").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

// ---- duplicates ----

#[tokio::test]
async fn a_duplicate_upload_is_deduplicated_with_a_clear_answer() {
    // given a photo in the library
    let mut library = Library::open().await;
    let photo = fixtures::noise_jpeg(48, 48, 9);
    let (original, key) = library.upload("first.jpg", "image/jpeg", &photo).await;
    ready(library.ingest(&key).await);
    library.drain_events().await;

    // when the same bytes are uploaded again under another name, and dropped into the folder
    let (copy, copy_key) = library.upload("copy.jpg", "image/jpeg", &photo).await;
    let uploaded = library.ingest(&copy_key).await;
    library.drop_file("incoming/acme/again.jpg", &photo);
    let dropped = library.ingest("incoming/acme/again.jpg").await;

    // then both are answered "duplicate of" the original, and nothing new is recorded or kept
    for outcome in [uploaded, dropped] {
        match outcome {
            IntakeOutcome::Duplicate { of, .. } => assert_eq!(of.to_string(), original),
            other => panic!("expected a duplicate, got {other:?}"),
        }
    }
    assert_eq!(
        library.list("").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(!library.exists(&copy_key) && !library.exists("incoming/acme/again.jpg"));
    assert!(!library.exists(&format!("library/acme/{copy}.jpg")));
    assert!(library.drain_events().await.is_empty());
    // and the upload's id leads to the asset it duplicates
    let no_redirects = reqwest::Client::builder()
        .use_preconfigured_tls(palinsesto::outbound::tls_config(&[]).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirects
        .get(format!("{}/v1/assets/{copy}", library.app.base))
        .bearer_auth(library.app.token("acme", "viewer"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], format!("/v1/assets/{original}"));
    assert_eq!(library.get(&copy).await.body["id"], original);
}

// ---- bad files ----

#[tokio::test]
async fn each_bad_file_is_rejected_with_its_reason_and_kept_in_quarantine() {
    // given the bad corpus dropped into the folder
    let mut library = Library::open().await;
    let good_png = fixtures::noise_png(120, 120, 10);
    let good_jpeg = fixtures::noise_jpeg(120, 120, 11);
    let mut pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n".to_vec();
    pdf.extend(fixtures::noise(2_000, 12));
    let corpus: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        (
            "empty.jpg",
            Vec::new(),
            "empty",
            "the file is empty (0 bytes)",
        ),
        (
            "cut.png",
            good_png[..good_png.len() / 2].to_vec(),
            "truncated",
            "the PNG ends before",
        ),
        (
            "cut.jpg",
            good_jpeg[..good_jpeg.len() / 2].to_vec(),
            "truncated",
            "the JPEG ends before",
        ),
        (
            "bomb.png",
            fixtures::png_declaring(100_000, 100_000),
            "decompression_bomb",
            "the image declares 100,000 x 100,000 pixels (10 gigapixels); the limit is 100 megapixels",
        ),
        (
            "noise.jpg",
            fixtures::noise(4_096, 13),
            "unknown_type",
            "noise.jpg is not a photo or video",
        ),
        (
            "invoice.jpg",
            pdf,
            "type_mismatch",
            "invoice.jpg is really a PDF document",
        ),
    ];
    for (name, bytes, _, _) in &corpus {
        library.drop_file(&format!("incoming/acme/{name}"), bytes);
    }

    for (name, bytes, code, reason) in &corpus {
        // when each is taken in
        let key = format!("incoming/acme/{name}");
        let asset = match library.ingest(&key).await {
            IntakeOutcome::Rejected(asset) => asset,
            other => panic!("{name}: expected a rejection, got {other:?}"),
        };

        // then it is recorded as rejected with its reason
        let id = asset.id.to_string();
        let r = library.get(&id).await;
        assert_eq!(r.body["status"], "rejected", "{name}: {}", r.body);
        assert_eq!(r.body["rejection"]["code"], *code, "{name}: {}", r.body);
        let said = r.body["rejection"]["reason"].as_str().unwrap();
        assert!(said.starts_with(reason), "{name}: {said}");
        assert!(r.body["download_url"].is_null() && r.body["sha256"].is_null());
        assert_eq!(r.body["networks"], json!({}));
        // and kept, byte for byte, under quarantine/, and nowhere else
        let kept = format!("quarantine/acme/{id}/{name}");
        assert_eq!(
            std::fs::read(library.bucket_file(&kept)).unwrap(),
            *bytes,
            "{name}"
        );
        assert!(!library.exists(&key));
        // and asset.rejected was emitted with the reason and the asset's path, never the file's
        // name or where it is kept
        let events = library.drain_events().await;
        assert_eq!(events.len(), 1, "{name}: {events:?}");
        assert_eq!(events[0].kind, ASSET_REJECTED);
        assert_eq!(events[0].data["code"], *code);
        assert_eq!(events[0].data["path"], format!("/v1/assets/{id}"));
        let said = events[0].data.to_string();
        assert!(
            !said.contains(*name) && !said.contains("quarantine"),
            "{said}"
        );
    }
    // and nothing got into the library, and no asset is ready
    assert!(
        library
            .app
            .runtime
            .bucket
            .list("library/", 10)
            .await
            .unwrap()
            .is_empty()
    );
    let ready = library.list("?status=ready").await;
    assert_eq!(ready.body["items"], json!([]));
    let rejected = library.list("?status=rejected").await;
    assert_eq!(
        rejected.body["items"].as_array().unwrap().len(),
        corpus.len()
    );
}

#[tokio::test]
async fn a_file_over_the_size_limit_is_rejected_before_it_is_read() {
    // given intake limited to 10 KB, and a 20 KB photo
    let mut library = Library::open().await;
    let small = library.app.runtime.intake(Limits {
        max_bytes: 10_000,
        ..Limits::default()
    });
    let photo = fixtures::noise_jpeg(200, 200, 14);
    assert!(photo.len() > 10_000);
    library.drop_file("incoming/acme/big.jpg", &photo);

    // when it is taken in
    let outcome = small.ingest("incoming/acme/big.jpg").await.unwrap();

    // then it is rejected as too large, kept in quarantine
    let IntakeOutcome::Rejected(asset) = outcome else {
        panic!("expected a rejection, got {outcome:?}");
    };
    let rejection = asset.details.rejection.clone().unwrap();
    assert_eq!(rejection.code, "too_large");
    assert!(
        rejection.reason.ends_with("the limit is 10 KB"),
        "{}",
        rejection.reason
    );
    assert!(library.exists(&format!("quarantine/acme/{}/big.jpg", asset.id)));
    assert_eq!(library.drain_events().await[0].kind, ASSET_REJECTED);
}

/// The local bucket, except that reading an incoming file past its first chunk panics. Only a
/// decoder reads there (the sniffing reads the first chunk), so this stands in for a decoder bug:
/// the decoders themselves are kept free of the panics the intake corpus finds.
fn panics_while_decoded(bucket: palinsesto::adapters::folder_bucket::FolderBucket) -> HookedBucket {
    HookedBucket::new(bucket, |access| {
        if let Access::Read(key, range) = access
            && key.starts_with("incoming/")
            && range.start > 0
        {
            panic!("a decoder bug (test double): {key} read at {}", range.start);
        }
        Ok(())
    })
}

#[tokio::test]
async fn a_panic_while_decoding_rejects_that_file_and_intake_goes_on() {
    // given intake on a bucket whose reads panic once a decoder reads, and a PNG of 2+ chunks
    let mut library = Library::open().await;
    let runtime = &library.app.runtime;
    let chunk = 64 << 10;
    let intake = IntakeService::new(
        runtime.ports(),
        Arc::new(panics_while_decoded(runtime.bucket.clone())),
        Limits {
            read_chunk: chunk,
            ..Limits::default()
        },
    );
    let photo = fixtures::noise_png(300, 300, 15);
    assert!(photo.len() > 2 * chunk);
    library.drop_file("incoming/acme/bug.png", &photo);

    // when it is taken in (the panic message printed above the result is expected)
    let outcome = intake.ingest("incoming/acme/bug.png").await;

    // then it is rejected as damaged, with the reason, and kept in quarantine: no crash, and no
    // retry of a file that would panic again
    let Ok(IntakeOutcome::Rejected(asset)) = outcome else {
        panic!("expected a rejection, got {outcome:?}");
    };
    let rejection = asset.details.rejection.clone().unwrap();
    assert_eq!(rejection.code, "corrupt");
    assert_eq!(
        rejection.reason,
        "the PNG is damaged and cannot be read (the decoder failed on it)"
    );
    let r = library.get(&asset.id.to_string()).await;
    assert_eq!(r.body["status"], "rejected", "{}", r.body);
    assert!(library.exists(&format!("quarantine/acme/{}/bug.png", asset.id)));
    assert!(!library.exists("incoming/acme/bug.png"));
    let events = library.drain_events().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, ASSET_REJECTED);

    // and the same intake takes the next file in (one chunk: no decoder read panics)
    let small = fixtures::noise_png(40, 40, 16);
    assert!(small.len() < chunk);
    library.drop_file("incoming/acme/fine.png", &small);
    ready(intake.ingest("incoming/acme/fine.png").await.unwrap());
}

// ---- the API ----

#[tokio::test]
async fn assets_are_listed_newest_first_filtered_and_paged() {
    // given five photos taken in a day apart, the last one rejected
    let library = Library::open().await;
    let mut ids = Vec::new();
    for i in 0..5u64 {
        let (name, bytes) = if i == 4 {
            ("broken.png".to_owned(), b"not a png".to_vec())
        } else {
            (format!("p{i}.jpg"), fixtures::noise_jpeg(16, 16, 20 + i))
        };
        let key = format!("incoming/acme/{name}");
        library.drop_file(&key, &bytes);
        let outcome = library.ingest(&key).await;
        ids.push(match outcome {
            IntakeOutcome::Ready(a) | IntakeOutcome::Rejected(a) => a.id.to_string(),
            other => panic!("{other:?}"),
        });
        library.app.clock.advance(SignedDuration::from_hours(24));
    }
    // and two of them tagged "menu"
    let editor = library.app.client("acme", "editor");
    for id in [&ids[0], &ids[2]] {
        let r = editor
            .patch(
                &format!("/v1/assets/{id}"),
                json!({"tags": ["menu", "autumn"]}),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let listed = |r: &Reply| -> Vec<String> {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();

    // then the whole list is newest first
    assert_eq!(listed(&library.list("").await), newest_first);
    // and filters narrow it
    assert_eq!(
        listed(&library.list("?tag=menu").await),
        [ids[2].clone(), ids[0].clone()]
    );
    assert_eq!(
        listed(&library.list("?type=video").await),
        Vec::<String>::new()
    );
    assert_eq!(
        listed(&library.list("?status=rejected").await),
        [ids[4].clone()]
    );
    assert_eq!(
        listed(
            &library
                .list("?from=2027-01-16T00:00:00Z&to=2027-01-18T00:00:00Z")
                .await
        ),
        [ids[2].clone(), ids[1].clone()]
    );
    // and pages of two, followed by cursor, give every asset once, in order
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("?limit=2&cursor={c}"),
            None => "?limit=2".to_owned(),
        };
        let r = library.list(&query).await;
        paged.extend(listed(&r));
        match r.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(paged, newest_first);
    // and bad parameters are named
    for (query, field) in [
        ("?type=pdf", "type"),
        ("?cursor=nonsense", "cursor"),
        ("?limit=0", "limit"),
        ("?from=yesterday", "from"),
    ] {
        let r = library.list(query).await;
        r.problem(422);
        assert_eq!(r.error_fields(), [field], "{query}");
    }
}

#[tokio::test]
async fn titles_tags_and_alt_text_are_edited_with_if_match() {
    // given a ready photo
    let library = Library::open().await;
    library.drop_file("incoming/acme/a.jpg", &fixtures::noise_jpeg(32, 32, 30));
    let id = ready(library.ingest("incoming/acme/a.jpg").await)
        .id
        .to_string();
    let editor = library.app.client("acme", "editor");
    let path = format!("/v1/assets/{id}");

    // when an editor describes it with the current ETag
    let r = editor
        .patch(
            &path,
            json!({"title": " Autumn menu ", "tags": ["menu", "menu", "food"], "alt_text": "A latte on a table"}),
            Some("\"1\""),
        )
        .await;

    // then it is saved, trimmed, under a new version
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.etag(), "\"2\"");
    assert_eq!(r.body["title"], "Autumn menu");
    assert_eq!(r.body["tags"], json!(["menu", "food"]));
    assert_eq!(r.body["alt_text"], "A latte on a table");
    // and a stale ETag is refused without changing anything
    let stale = editor
        .patch(&path, json!({"title": "Other"}), Some("\"1\""))
        .await;
    stale.problem(412);
    assert_eq!(library.get(&id).await.body["title"], "Autumn menu");
    // and null clears, leaving out keeps
    let r = editor.patch(&path, json!({"title": null}), None).await;
    assert!(r.body["title"].is_null());
    assert_eq!(r.body["tags"], json!(["menu", "food"]));
    // and bad values are named
    let r = editor
        .patch(&path, json!({"tags": [""], "title": "x".repeat(201)}), None)
        .await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["title", "tags.0"]);
    // and a viewer may not edit
    library
        .app
        .client("acme", "viewer")
        .patch(&path, json!({"title": "x"}), None)
        .await
        .problem(403);
    // and an alt text too long for Bluesky says so
    let r = editor
        .patch(&path, json!({"alt_text": "a".repeat(2_001)}), None)
        .await;
    assert_eq!(
        r.body["networks"]["bluesky"]["ok"], false,
        "{}",
        r.body["networks"]
    );
    assert_eq!(r.body["networks"]["mastodon"]["ok"], false);
    assert_eq!(r.body["networks"]["linkedin"]["ok"], true);
}

#[tokio::test]
async fn deleting_an_asset_removes_its_files_and_frees_its_checksum() {
    // given a ready photo
    let library = Library::open().await;
    let photo = fixtures::noise_jpeg(32, 32, 31);
    library.drop_file("incoming/acme/a.jpg", &photo);
    let id = ready(library.ingest("incoming/acme/a.jpg").await)
        .id
        .to_string();
    let path = format!("/v1/assets/{id}");

    // when an editor tries, then a manager deletes it with a stale and then the current ETag
    library
        .app
        .client("acme", "editor")
        .delete(&path, None)
        .await
        .problem(403);
    let manager = library.app.client("acme", "manager");
    manager.delete(&path, Some("\"7\"")).await.problem(412);
    assert!(library.exists(&format!("library/acme/{id}.jpg")));
    let r = manager.delete(&path, Some("\"1\"")).await;

    // then it is gone, with its file and thumbnail
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    library.get(&id).await.problem(404);
    assert!(!library.exists(&format!("library/acme/{id}.jpg")));
    assert!(!library.exists(&format!("thumbnails/acme/{id}.jpg")));
    // and the same file can be added again, as a new asset
    library.drop_file("incoming/acme/a.jpg", &photo);
    let again = ready(library.ingest("incoming/acme/a.jpg").await);
    assert_ne!(again.id.to_string(), id);
}

#[tokio::test]
async fn another_brands_assets_do_not_exist() {
    // given an asset of acme, and a rival brand
    let library = Library::open().await;
    library.app.brand("rival", "Europe/Rome", false).await;
    library.drop_file("incoming/acme/a.jpg", &fixtures::noise_jpeg(16, 16, 40));
    let id = ready(library.ingest("incoming/acme/a.jpg").await)
        .id
        .to_string();
    let path = format!("/v1/assets/{id}");

    // when the rival reads, edits or deletes it, then it does not exist for them
    let rival = library.app.client("rival", "owner");
    rival.get(&path).await.problem(404);
    rival
        .patch(&path, json!({"title": "mine"}), None)
        .await
        .problem(404);
    rival.delete(&path, None).await.problem(404);
    assert_eq!(rival.get("/v1/assets").await.body["items"], json!([]));
    // and acme still has it, untouched
    assert_eq!(library.get(&id).await.body["version"], 1);
}

#[tokio::test]
async fn each_network_says_whether_it_can_take_the_asset_and_why_not() {
    // given a JPEG of about 1.2 MB
    let library = Library::open().await;
    let photo = fixtures::noise_jpeg(900, 900, 50);
    assert!(
        (1_000_000..5_000_000).contains(&photo.len()),
        "{} bytes",
        photo.len()
    );
    library.drop_file("incoming/acme/big.jpg", &photo);

    // when it is taken in
    let id = ready(library.ingest("incoming/acme/big.jpg").await)
        .id
        .to_string();

    // then Bluesky cannot take it, and says why; X and Instagram can
    let networks = library.get(&id).await.body["networks"].clone();
    assert_eq!(networks["bluesky"]["ok"], false, "{networks}");
    let why = networks["bluesky"]["problems"][0].as_str().unwrap();
    assert!(why.contains("Bluesky") && why.contains("1 MB"), "{why}");
    assert_eq!(networks["x"], json!({"ok": true, "problems": []}));
    assert_eq!(networks["instagram"]["ok"], true, "{networks}");
    // every network, the sandbox included (the local runner allows it)
    assert_eq!(networks.as_object().unwrap().len(), 9);
    assert_eq!(networks["sandbox"]["ok"], true, "{networks}");
}

// ---- the local runner's bucket: keys, half-written uploads, the drop folder ----

/// Every file under the folder of `key` (part files included), for checking what an upload left.
fn files_beside(library: &Library, key: &str) -> Vec<String> {
    let dir = library.bucket_file(key).parent().unwrap().to_owned();
    std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_bucket_signs_with_its_own_key_never_the_tokens_key() {
    let library = Library::open().await;
    let runtime = &library.app.runtime;
    let photo = fixtures::noise_jpeg(16, 16, 40);
    let reserved = library.reserve("a.jpg", "image/jpeg", photo.len()).await;
    let key = format!(
        "incoming/acme/{}/a.jpg",
        reserved.body["asset_id"].as_str().unwrap()
    );

    // An upload URL signed with the key the API's tokens are signed with is refused.
    let with_token_key = palinsesto::adapters::folder_bucket::FolderBucket::new(
        runtime.bucket.root(),
        Some(library.app.base.clone()),
        runtime.secret.clone(),
    )
    .presign_put(
        &key,
        "image/jpeg",
        photo.len() as u64,
        SignedDuration::from_mins(5),
    )
    .await
    .unwrap();
    let forged = library
        .put(
            &json!({"headers": {"Content-Type": "image/jpeg"}}),
            &with_token_key.url,
            photo.clone(),
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(!library.exists(&key));

    // And a token signed with the bucket's key is not a token.
    let bucket_key = std::fs::read_to_string(runtime.data.join("bucket-signing-secret"))
        .expect("the bucket's key is kept beside the data");
    assert_ne!(bucket_key.trim(), runtime.secret.expose());
    let token = palinsesto::auth::mint_hs256(
        &palinsesto::domain::Secret::new(bucket_key.trim()),
        palinsesto::local::ISSUER,
        palinsesto::local::AUDIENCE,
        "owner@acme",
        &palinsesto::domain::BrandId::parse("acme").unwrap(),
        palinsesto::domain::Role::Owner,
        SignedDuration::from_hours(1),
        jiff::Timestamp::now(),
    );
    let r = library
        .http
        .get(format!("{}/v1/brand", library.app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // While the real URL and a real token work.
    let url = reserved.body["url"].as_str().unwrap();
    assert_eq!(
        library.put(&reserved.body, url, photo).await.status(),
        StatusCode::OK
    );
    assert!(library.exists(&key));
    assert_eq!(library.list("").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_data_folder_from_before_keeps_its_tokens_and_gets_a_bucket_key() {
    // A data folder as the runner made it when one key signed everything.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("signing-secret"), "an-existing-key\n").unwrap();
    let runtime = palinsesto::local::LocalRuntime::open_with(
        dir.path(),
        palinsesto::local::LocalOptions {
            public_base: Some("http://127.0.0.1:9".into()),
            ..palinsesto::local::LocalOptions::default()
        },
    )
    .unwrap();
    // Tokens minted with the key it had still pass.
    assert_eq!(runtime.secret.expose(), "an-existing-key");
    let token = palinsesto::local::mint_token(
        dir.path(),
        &palinsesto::domain::BrandId::parse("demo").unwrap(),
        palinsesto::domain::Role::Owner,
        "someone",
        SignedDuration::from_hours(1),
    )
    .unwrap();
    assert!(runtime.verifier().verify(&token).await.is_ok());
    // The bucket got a key of its own, kept for next time.
    let bucket_key = std::fs::read_to_string(dir.path().join("bucket-signing-secret")).unwrap();
    assert_eq!(bucket_key.trim().len(), 64, "{bucket_key:?}");
    assert_ne!(bucket_key.trim(), "an-existing-key");
    let url = runtime
        .bucket
        .presign_get("library/demo/x.jpg", SignedDuration::from_mins(5))
        .await
        .unwrap();
    let signature = url.split("signature=").nth(1).unwrap();
    let expires: i64 = url
        .split("expires=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let grant = palinsesto::adapters::folder_bucket::Grant {
        method: "GET",
        key: "library/demo/x.jpg",
        expires,
        content_type: "",
        length: None,
    };
    let now = jiff::Timestamp::now();
    assert!(runtime.bucket.verify(&grant, signature, now));
    let with_token_key = palinsesto::adapters::folder_bucket::FolderBucket::new(
        "/nowhere",
        None,
        palinsesto::domain::Secret::new("an-existing-key"),
    );
    assert!(!with_token_key.verify(&grant, signature, now));
    // And no temporary file was left beside them.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("secret"))
        .collect();
    names.sort();
    assert_eq!(names, ["bucket-signing-secret", "signing-secret"]);
    runtime.shutdown();
}

#[tokio::test]
async fn an_upload_cut_short_leaves_no_file_behind() {
    use tokio::io::AsyncWriteExt;

    let library = Library::open().await;
    let photo = fixtures::noise_jpeg(256, 256, 41);
    assert!(photo.len() > 20_000, "{}", photo.len());
    let r = library.reserve("cut.jpg", "image/jpeg", photo.len()).await;
    let url = r.body["url"].as_str().unwrap().to_owned();
    let key = format!(
        "incoming/acme/{}/cut.jpg",
        r.body["asset_id"].as_str().unwrap()
    );

    // A client that declares the whole length, sends half, and goes away.
    let target = reqwest::Url::parse(&url).unwrap();
    let mut stream =
        tokio::net::TcpStream::connect((target.host_str().unwrap(), target.port().unwrap()))
            .await
            .unwrap();
    let head = format!(
        "PUT {}?{} HTTP/1.1\r\nhost: {}\r\ncontent-type: image/jpeg\r\ncontent-length: {}\r\n\r\n",
        target.path(),
        target.query().unwrap(),
        target.host_str().unwrap(),
        photo.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&photo[..photo.len() / 2]).await.unwrap();
    stream.flush().await.unwrap();
    // Long enough for the server to have started writing the part file.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    drop(stream);

    // A client whose body fails half-way (reqwest then drops the connection).
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![
        Ok(photo[..photo.len() / 3].to_vec()),
        Err(std::io::Error::other("the disk went away")),
    ];
    let failing = library
        .http
        .put(&url)
        .header("content-type", "image/jpeg")
        .header("content-length", photo.len())
        .body(reqwest::Body::wrap_stream(futures_stream(chunks)))
        .send()
        .await;
    assert!(failing.is_err(), "{failing:?}");

    // A request dropped while its body is still coming (the server stopping, a timeout): the
    // handler never gets to clean up itself.
    let target = reqwest::Url::parse(&url).unwrap();
    let request =
        axum::http::Request::put(format!("{}?{}", target.path(), target.query().unwrap()))
            .header("content-type", "image/jpeg")
            .header("content-length", photo.len())
            .body(axum::body::Body::from_stream(StalledBody(Some(
                photo[..photo.len() / 4].to_vec(),
            ))))
            .unwrap();
    let router = library
        .app
        .runtime
        .router(library.app.runtime.app_state(), &Default::default());
    // (tower's ServiceExt, as lambda_http re-exports it)
    let dropped = tokio::time::timeout(
        std::time::Duration::from_millis(500),
        lambda_http::tower::ServiceExt::oneshot(router, request),
    )
    .await;
    assert!(
        dropped.is_err(),
        "the upload was still waiting for its body"
    );

    // Nothing is left in the bucket: no object, no part file.
    let mut left = files_beside(&library, &key);
    for _ in 0..50 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        left = files_beside(&library, &key);
    }
    assert!(left.is_empty(), "left behind: {left:?}");

    // And the link still works for a whole upload.
    assert_eq!(
        library.put(&r.body, &url, photo).await.status(),
        StatusCode::OK
    );
    assert_eq!(files_beside(&library, &key), ["cut.jpg"]);
}

/// A body that sends one chunk, then never another.
struct StalledBody(Option<Vec<u8>>);

impl futures_core::Stream for StalledBody {
    type Item = Result<Vec<u8>, std::io::Error>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        match self.0.take() {
            Some(chunk) => std::task::Poll::Ready(Some(Ok(chunk))),
            None => std::task::Poll::Pending,
        }
    }
}

/// A stream of body chunks, some of which may be errors.
fn futures_stream(
    chunks: Vec<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    struct Chunks(std::vec::IntoIter<Result<Vec<u8>, std::io::Error>>);
    impl futures_core::Stream for Chunks {
        type Item = Result<Vec<u8>, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.next())
        }
    }
    Chunks(chunks.into_iter())
}

/// Makes a named pipe at `path` (with mkfifo, as a person would).
fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
}

#[tokio::test]
async fn an_unreadable_entry_in_the_drop_folder_does_not_hold_up_the_others() {
    // The tests run as root, and root reads a file whatever its mode, so a mode-000 file would
    // prove nothing. These fail for root too: a named pipe (opening it for reading waits until
    // something writes to it, forever), and a link to itself (every lookup fails with ELOOP).
    let mut library = Library::open().await;
    let photo = fixtures::noise_jpeg(24, 24, 42);
    library.drop_file("incoming/acme/good.jpg", &photo);
    mkfifo(&library.bucket_file("incoming/acme/pipe.jpg"));
    std::os::unix::fs::symlink("loop.jpg", library.bucket_file("incoming/acme/loop.jpg")).unwrap();

    // when the folder is scanned until the good file settles
    let first = library.intake.scan_incoming().await.expect("the scan runs");
    let second = library.intake.scan_incoming().await.expect("the scan runs");

    // then the good file is taken in
    let ready: Vec<_> = second
        .iter()
        .filter(|(_, o)| matches!(o, Ok(IntakeOutcome::Ready(_))))
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(ready, ["incoming/acme/good.jpg"], "{second:?}");
    assert_eq!(library.drain_events().await.len(), 1);
    // and the others are reported once each, with the reason, and left where they are
    let reported: Vec<(&str, String)> = first
        .iter()
        .filter_map(|(k, o)| match o {
            Ok(IntakeOutcome::Ignored(why)) => Some((k.as_str(), why.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(reported.len(), 2, "{first:?}");
    assert!(
        reported
            .iter()
            .any(|(k, why)| *k == "incoming/acme/pipe.jpg" && why.contains("not a regular file")),
        "{reported:?}"
    );
    assert!(
        reported
            .iter()
            .any(|(k, why)| *k == "incoming/acme/loop.jpg" && why.contains("symbolic link")),
        "{reported:?}"
    );
    assert!(
        !second
            .iter()
            .any(|(k, _)| k.ends_with("pipe.jpg") || k.ends_with("loop.jpg")),
        "reported once, not on every scan: {second:?}"
    );
    assert!(library.intake.scan_incoming().await.unwrap().is_empty());
    assert!(
        std::fs::symlink_metadata(library.bucket_file("incoming/acme/pipe.jpg")).is_ok()
            && std::fs::symlink_metadata(library.bucket_file("incoming/acme/loop.jpg")).is_ok()
    );
    assert_eq!(
        library.list("").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn links_in_the_drop_folder_are_never_followed() {
    // given, outside the bucket, a photo and a folder with another photo
    let mut library = Library::open().await;
    let outside = tempfile::tempdir().unwrap();
    let secret_photo = fixtures::noise_jpeg(20, 20, 43);
    std::fs::write(outside.path().join("private.jpg"), &secret_photo).unwrap();
    std::fs::create_dir(outside.path().join("album")).unwrap();
    std::fs::write(
        outside.path().join("album/holiday.jpg"),
        fixtures::noise_jpeg(20, 20, 44),
    )
    .unwrap();
    // and links to them, and to /etc/passwd, dropped into the folder
    let drop_dir = library.bucket_file("incoming/acme");
    std::fs::create_dir_all(&drop_dir).unwrap();
    let link = |target: &std::path::Path, name: &str| {
        std::os::unix::fs::symlink(target, drop_dir.join(name)).unwrap()
    };
    link(std::path::Path::new("/etc/passwd"), "passwd");
    link(&outside.path().join("private.jpg"), "private.jpg");
    link(&outside.path().join("album"), "album");

    // when the folder is scanned, again and again
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        outcomes.extend(library.intake.scan_incoming().await.expect("the scan runs"));
    }

    // then nothing is taken in, each file link is reported once as a link, the folder link is
    // not walked into
    assert_eq!(library.list("").await.body["items"], json!([]));
    assert!(library.drain_events().await.is_empty());
    let mut reported: Vec<&str> = outcomes
        .iter()
        .map(|(key, outcome)| {
            assert!(
                matches!(outcome, Ok(IntakeOutcome::Ignored(why)) if why.contains("symbolic link")),
                "{key}: {outcome:?}"
            );
            key.as_str()
        })
        .collect();
    reported.sort();
    assert_eq!(
        reported,
        [
            "incoming/acme/album",
            "incoming/acme/passwd",
            "incoming/acme/private.jpg"
        ]
    );
    // and nothing was copied or moved: the links are where they were, the files behind them too
    let quarantine = library
        .app
        .runtime
        .bucket
        .list("quarantine/", 10)
        .await
        .unwrap();
    assert!(quarantine.is_empty(), "{quarantine:?}");
    for name in ["passwd", "private.jpg", "album"] {
        assert!(
            std::fs::symlink_metadata(drop_dir.join(name))
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
    assert_eq!(
        std::fs::read(outside.path().join("private.jpg")).unwrap(),
        secret_photo
    );

    // A link put into the library is not served through a download URL either.
    let library_dir = library.bucket_file("library/acme");
    std::fs::create_dir_all(&library_dir).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", library_dir.join("leak.jpg")).unwrap();
    let url = library
        .app
        .runtime
        .bucket
        .presign_get("library/acme/leak.jpg", SignedDuration::from_mins(5))
        .await
        .unwrap();
    let r = library.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(!r.text().await.unwrap().contains("root:"));
    // nor read by the bucket's own reads
    let bucket = &library.app.runtime.bucket;
    assert!(bucket.read("library/acme/leak.jpg", 0..100).await.is_err());
    assert!(
        bucket
            .copy("library/acme/leak.jpg", "library/acme/copy.jpg")
            .await
            .is_err()
    );
    assert!(!library.bucket_file("library/acme/copy.jpg").exists());
    // nor written through: a key under a linked folder does not lead out of the bucket
    let through = bucket
        .put(
            "incoming/acme/album/new.jpg",
            bytes::Bytes::from_static(b"x"),
            "image/jpeg",
        )
        .await;
    assert!(through.is_err(), "{through:?}");
    assert!(!outside.path().join("album/new.jpg").exists());
    assert!(
        bucket
            .delete("incoming/acme/album/holiday.jpg")
            .await
            .is_err()
    );
    assert!(outside.path().join("album/holiday.jpg").exists());
}

#[tokio::test]
async fn part_files_a_killed_run_left_are_removed_when_the_runner_starts() {
    // given a bucket folder with part files left by a run that was killed mid-write
    let dir = tempfile::tempdir().unwrap();
    let bucket = dir.path().join("bucket");
    std::fs::create_dir_all(bucket.join("incoming/demo/01J00000000000000000000000")).unwrap();
    std::fs::create_dir_all(bucket.join("library/demo")).unwrap();
    let stale = [
        "incoming/demo/01J00000000000000000000000/a.jpg.part-01J00000000000000000000001",
        "library/demo/b.jpg.part-01J00000000000000000000002",
    ];
    for key in stale {
        std::fs::write(bucket.join(key), b"half").unwrap();
    }
    std::fs::write(bucket.join("library/demo/c.jpg"), b"whole").unwrap();

    // when the runner opens it
    let runtime =
        palinsesto::local::LocalRuntime::open_with(dir.path(), Default::default()).unwrap();

    // then the part files are gone and the rest is untouched
    for key in stale {
        assert!(!bucket.join(key).exists(), "{key}");
    }
    assert_eq!(
        std::fs::read(bucket.join("library/demo/c.jpg")).unwrap(),
        b"whole"
    );
    runtime.shutdown();
}
