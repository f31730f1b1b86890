//! The Bluesky connector against its loopback fake PDS: facets, media, threads, sessions, errors,
//! and exactly-once publishing through the deterministic record key.

use std::time::Duration;

use axum::http::Method;
use jiff::Timestamp;
use palinsesto::domain::{MediaKind, Network};
use palinsesto::networks::bluesky::BlueskyConnector;
use palinsesto::networks::{Publish, PublishError, ReadBack, ReadMetrics};
use palinsesto_system_tests::accounts::{TestAccount, impatient_http, outbound, outgoing};
use palinsesto_system_tests::fakes::Fault;
use palinsesto_system_tests::fakes::bluesky::{
    APP_PASSWORD, DID, FakeBluesky, IDENTIFIER, PostCounts,
};
use serde_json::{Value, json};

const CREATE_RECORD: &str = "/xrpc/com.atproto.repo.createRecord";
const UPLOAD_BLOB: &str = "/xrpc/com.atproto.repo.uploadBlob";

async fn given_a_bluesky_channel() -> (FakeBluesky, TestAccount) {
    let fake = FakeBluesky::start().await;
    let account = TestAccount::new(Network::Bluesky, fake.settings(), fake.credentials()).await;
    (fake, account)
}

fn connector() -> BlueskyConnector {
    BlueskyConnector::new(outbound())
}

fn rkey_of(uri: &str) -> &str {
    uri.rsplit('/').next().unwrap()
}

/// The facet covering exactly `needle` in `text`, checked by its UTF-8 byte range.
fn facet_over<'a>(record: &'a Value, text: &str, needle: &str) -> &'a Value {
    let start = text.find(needle).unwrap();
    record["facets"]
        .as_array()
        .expect("the record has facets")
        .iter()
        .find(|f| {
            f["index"]["byteStart"] == json!(start)
                && f["index"]["byteEnd"] == json!(start + needle.len())
        })
        .unwrap_or_else(|| panic!("no facet over {needle:?} in {:#}", record["facets"]))
}

#[tokio::test]
async fn link_hashtag_and_mention_get_facets_at_utf8_byte_offsets() {
    // given a text with non-ASCII characters before its link, hashtag and mention
    let (fake, account) = given_a_bluesky_channel().await;
    fake.add_handle("amica.test", "did:plc:amicaamicaamicaamica2345");
    let text = "Caffè ☕ #autunno https://example.com con @amica.test!";

    // when it is published
    let published = connector()
        .publish(&account.context(), &outgoing(text))
        .await
        .unwrap();

    // then the record carries facets whose byte ranges cover exactly those words
    let record = fake.record(rkey_of(&published.remote_id)).unwrap().value;
    assert_eq!(record["text"], text);
    let tag = facet_over(&record, text, "#autunno");
    assert_eq!(tag["index"], json!({"byteStart": 11, "byteEnd": 19}));
    assert_eq!(
        tag["features"],
        json!([{"$type": "app.bsky.richtext.facet#tag", "tag": "autunno"}])
    );
    let link = facet_over(&record, text, "https://example.com");
    assert_eq!(link["index"], json!({"byteStart": 20, "byteEnd": 39}));
    assert_eq!(
        link["features"][0],
        json!({"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com"})
    );
    let mention = facet_over(&record, text, "@amica.test");
    assert_eq!(
        mention["features"][0],
        json!({"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:amicaamicaamicaamica2345"})
    );
    assert_eq!(record["facets"].as_array().unwrap().len(), 3);
    assert!(published.notes.is_empty(), "{:?}", published.notes);
}

#[tokio::test]
async fn a_mention_that_does_not_resolve_stays_plain_text_with_a_note() {
    // given a mention of a handle Bluesky does not know
    let (fake, account) = given_a_bluesky_channel().await;
    let text = "Grazie @nessuno.test #grazie";

    // when it is published
    let published = connector()
        .publish(&account.context(), &outgoing(text))
        .await
        .unwrap();

    // then the post is made, the mention is plain text, and the user is told
    let record = fake.record(rkey_of(&published.remote_id)).unwrap().value;
    let facets = record["facets"].as_array().unwrap();
    assert_eq!(facets.len(), 1, "only the hashtag: {facets:?}");
    assert_eq!(facets[0]["features"][0]["tag"], "grazie");
    assert_eq!(published.notes.len(), 1);
    assert!(
        published.notes[0].contains("@nessuno.test"),
        "{:?}",
        published.notes
    );
}

#[tokio::test]
async fn published_post_has_its_at_uri_and_a_bsky_app_link() {
    let (fake, account) = given_a_bluesky_channel().await;

    let published = connector()
        .publish(&account.context(), &outgoing("Buongiorno"))
        .await
        .unwrap();

    let record = &fake.records()[0];
    assert_eq!(published.remote_id, record.uri);
    assert!(
        record
            .uri
            .starts_with(&format!("at://{}/app.bsky.feed.post/", fake.did()))
    );
    assert_eq!(
        published.url.as_deref(),
        Some(
            format!(
                "https://bsky.app/profile/{}/post/{}",
                fake.did(),
                record.rkey
            )
            .as_str()
        )
    );
}

#[tokio::test]
async fn photos_are_uploaded_and_embedded_with_alt_text_and_aspect_ratio() {
    // given two photos, one described and one not
    let (fake, account) = given_a_bluesky_channel().await;
    let described = account.media.add(
        MediaKind::Image,
        "image/jpeg",
        vec![1; 50_000],
        Some("Una tazza di caffè"),
    );
    let undescribed = account
        .media
        .add(MediaKind::Image, "image/png", vec![2; 30_000], None);
    let mut post = outgoing("Colazione");
    post.media = vec![described, undescribed];

    // when the post is published
    let published = connector()
        .publish(&account.context(), &post)
        .await
        .unwrap();

    // then both were uploaded and embedded in order, alt always present, aspect ratio from the asset
    assert_eq!(fake.uploads(), 2);
    let record = fake.record(rkey_of(&published.remote_id)).unwrap().value;
    let embed = &record["embed"];
    assert_eq!(embed["$type"], "app.bsky.embed.images");
    let images = embed["images"].as_array().unwrap();
    assert_eq!(images.len(), 2);
    assert_eq!(images[0]["alt"], "Una tazza di caffè");
    assert_eq!(images[1]["alt"], "");
    assert_eq!(
        images[0]["aspectRatio"],
        json!({"width": 1200, "height": 800})
    );
    assert_eq!(images[0]["image"]["$type"], "blob");
    assert_eq!(images[0]["image"]["mimeType"], "image/jpeg");
    assert_eq!(images[0]["image"]["size"], 50_000);
    assert_eq!(images[1]["image"]["mimeType"], "image/png");
}

#[tokio::test]
async fn a_video_is_uploaded_and_embedded() {
    let (fake, account) = given_a_bluesky_channel().await;
    let video = account.media.add(
        MediaKind::Video,
        "video/mp4",
        vec![3; 120_000],
        Some("Il bar"),
    );
    let mut post = outgoing("Guarda");
    post.media = vec![video];

    let published = connector()
        .publish(&account.context(), &post)
        .await
        .unwrap();

    let record = fake.record(rkey_of(&published.remote_id)).unwrap().value;
    assert_eq!(record["embed"]["$type"], "app.bsky.embed.video");
    assert_eq!(record["embed"]["video"]["mimeType"], "video/mp4");
    assert_eq!(record["embed"]["alt"], "Il bar");
    assert_eq!(
        record["embed"]["aspectRatio"],
        json!({"width": 1200, "height": 800})
    );
}

#[tokio::test]
async fn a_photo_over_one_megabyte_is_invalid_media_and_nothing_is_uploaded() {
    // given a 1.2 MB photo
    let (fake, account) = given_a_bluesky_channel().await;
    let big = account
        .media
        .add(MediaKind::Image, "image/jpeg", vec![0; 1_200_000], None);
    let mut post = outgoing("Troppo grande");
    post.media = vec![big];

    // when it is published
    let err = connector()
        .publish(&account.context(), &post)
        .await
        .unwrap_err();

    // then it is refused in plain words before any upload
    assert!(matches!(err, PublishError::InvalidMedia(_)), "{err:?}");
    assert!(err.to_string().contains("1000000 bytes"), "{err}");
    assert!(!err.retryable());
    assert_eq!(fake.uploads(), 0);
    assert!(fake.records().is_empty());
}

#[tokio::test]
async fn a_file_bluesky_refuses_as_too_large_is_invalid_media() {
    // given a PDS that refuses the upload as too large
    let (fake, account) = given_a_bluesky_channel().await;
    fake.server.faults.inject(
        Method::POST,
        UPLOAD_BLOB,
        1,
        Fault::status(
            413,
            r#"{"error":"PayloadTooLarge","message":"request entity too large"}"#,
        ),
    );
    let video = account
        .media
        .add(MediaKind::Video, "video/mp4", vec![3; 10_000], None);
    let mut post = outgoing("Video");
    post.media = vec![video];

    // when the post is published
    let err = connector()
        .publish(&account.context(), &post)
        .await
        .unwrap_err();

    // then the user learns that the file was too large
    assert!(matches!(err, PublishError::InvalidMedia(_)), "{err:?}");
    assert!(err.to_string().contains("too large"), "{err}");
    assert!(fake.records().is_empty());
}

#[tokio::test]
async fn a_text_over_300_graphemes_is_invalid_content_quoting_bluesky() {
    let (fake, account) = given_a_bluesky_channel().await;
    let text = "è".repeat(301);

    let err = connector()
        .publish(&account.context(), &outgoing(&text))
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::InvalidContent(_)), "{err:?}");
    assert!(err.to_string().contains("300 graphemes"), "{err}");
    assert!(fake.records().is_empty());
}

#[tokio::test]
async fn a_thread_is_posted_as_replies_to_the_root_and_each_parent() {
    // given a post with two follow-ups
    let (fake, account) = given_a_bluesky_channel().await;
    let mut post = outgoing("1/3 Il caffè");
    post.thread = vec!["2/3 La moka".into(), "3/3 Il bar".into()];

    // when it is published
    let published = connector()
        .publish(&account.context(), &post)
        .await
        .unwrap();

    // then three records form a chain, each under its own record key
    let records = fake.records();
    assert_eq!(records.len(), 3);
    let (root, second, third) = (&records[0], &records[1], &records[2]);
    assert_eq!(published.remote_id, root.uri);
    assert!(published.notes.is_empty(), "{:?}", published.notes);
    assert!(root.value.get("reply").is_none());
    assert_eq!(second.text(), "2/3 La moka");
    assert_eq!(
        second.value["reply"],
        json!({"root": {"uri": root.uri, "cid": root.cid}, "parent": {"uri": root.uri, "cid": root.cid}})
    );
    assert_eq!(
        third.value["reply"],
        json!({"root": {"uri": root.uri, "cid": root.cid}, "parent": {"uri": second.uri, "cid": second.cid}})
    );
    let keys: std::collections::HashSet<_> = records.iter().map(|r| &r.rkey).collect();
    assert_eq!(keys.len(), 3);
}

#[tokio::test]
async fn a_failed_follow_up_becomes_a_note_and_the_post_counts_as_published() {
    // given a thread whose first follow-up Bluesky refuses
    let (fake, account) = given_a_bluesky_channel().await;
    let mut post = outgoing("Il post");
    post.thread = vec!["x".repeat(301), "ultimo".into()];

    // when it is published
    let published = connector()
        .publish(&account.context(), &post)
        .await
        .unwrap();

    // then the post is there and the note says which follow-ups are missing and why
    assert_eq!(fake.records().len(), 1);
    assert_eq!(published.remote_id, fake.records()[0].uri);
    assert_eq!(published.notes.len(), 1, "{:?}", published.notes);
    let note = &published.notes[0];
    assert!(note.contains("follow-ups 1 to 2 were not posted"), "{note}");
    assert!(note.contains("300 graphemes"), "{note}");
}

#[tokio::test]
async fn the_session_is_reused_across_publishes_and_stored_with_the_channel() {
    // given one connector (one process)
    let (fake, account) = given_a_bluesky_channel().await;
    let bluesky = connector();

    // when it publishes twice
    bluesky
        .publish(&account.context(), &outgoing("uno"))
        .await
        .unwrap();
    bluesky
        .publish(&account.context(), &outgoing("due"))
        .await
        .unwrap();

    // then it logged in once and saved the session through the sink
    assert_eq!(fake.session_creations(), 1);
    let updates = account.sink.updates();
    assert_eq!(updates.len(), 1, "{updates:?}");
    let saved: Vec<&str> = updates[0].iter().map(|(k, _)| k.as_str()).collect();
    for key in ["access_jwt", "refresh_jwt", "did"] {
        assert!(saved.contains(&key), "{saved:?}");
    }
    assert!(updates[0].iter().all(|(_, v)| !v.is_empty()));
    assert!(updates[0].contains(&("did".to_owned(), fake.did().to_owned())));
}

#[tokio::test]
async fn a_stored_session_is_used_by_the_next_process_without_logging_in() {
    // given a session an earlier process stored with the channel's credentials
    let (fake, first) = given_a_bluesky_channel().await;
    connector()
        .publish(&first.context(), &outgoing("primo processo"))
        .await
        .unwrap();
    let mut credentials = json!({"identifier": IDENTIFIER, "app_password": APP_PASSWORD});
    for (key, value) in &first.sink.updates()[0] {
        credentials[key] = json!(value);
    }
    let next = TestAccount::new(Network::Bluesky, fake.settings(), credentials).await;

    // when a new process (a new connector) publishes
    connector()
        .publish(&next.context(), &outgoing("secondo processo"))
        .await
        .unwrap();

    // then it did not log in again
    assert_eq!(fake.session_creations(), 1);
    assert_eq!(fake.records().len(), 2);
}

#[tokio::test]
async fn an_expired_access_jwt_is_refreshed_without_logging_in_again() {
    // given a session whose access JWT has expired
    let (fake, account) = given_a_bluesky_channel().await;
    let bluesky = connector();
    bluesky
        .publish(&account.context(), &outgoing("prima"))
        .await
        .unwrap();
    fake.expire_access_tokens();

    // when the connector publishes again
    bluesky
        .publish(&account.context(), &outgoing("dopo"))
        .await
        .unwrap();

    // then it refreshed the session (once), did not log in, and saved the new tokens
    assert_eq!(fake.session_refreshes(), 1);
    assert_eq!(fake.session_creations(), 1);
    assert_eq!(fake.count_records_with_text("dopo"), 1);
    let updates = account.sink.updates();
    assert_eq!(updates.len(), 2, "{updates:?}");
    let access = |u: &Vec<(String, String)>| {
        u.iter()
            .find(|(k, _)| k == "access_jwt")
            .map(|(_, v)| v.clone())
    };
    assert_ne!(access(&updates[0]), access(&updates[1]));
    assert!(
        updates[1]
            .iter()
            .any(|(k, v)| k == "refresh_jwt" && !v.is_empty())
    );
}

#[tokio::test]
async fn a_refused_refresh_falls_back_to_the_app_password() {
    // given an expired access JWT and a refresh JWT Bluesky no longer accepts
    let (fake, account) = given_a_bluesky_channel().await;
    let bluesky = connector();
    bluesky
        .publish(&account.context(), &outgoing("prima"))
        .await
        .unwrap();
    fake.expire_access_tokens();
    fake.revoke_refresh_tokens();

    // when the connector publishes again
    bluesky
        .publish(&account.context(), &outgoing("dopo"))
        .await
        .unwrap();

    // then it logged in again with the app password
    assert_eq!(fake.session_creations(), 2);
    assert_eq!(fake.count_records_with_text("dopo"), 1);
}

#[tokio::test]
async fn a_wrong_app_password_is_auth_expired() {
    let fake = FakeBluesky::start().await;
    let account = TestAccount::new(
        Network::Bluesky,
        fake.settings(),
        json!({"identifier": IDENTIFIER, "app_password": "sbagliata"}),
    )
    .await;

    let err = connector()
        .publish(&account.context(), &outgoing("ciao"))
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::AuthExpired(_)), "{err:?}");
    assert!(
        err.to_string().contains("refused the app password"),
        "{err}"
    );
    assert!(!err.retryable());
    assert!(fake.records().is_empty());
    assert!(account.sink.updates().is_empty());
}

#[tokio::test]
async fn rate_limited_create_gives_the_reset_time_from_ratelimit_reset() {
    // given Bluesky answers 429 with its rate-limit headers
    let (fake, account) = given_a_bluesky_channel().await;
    fake.server.faults.inject(
        Method::POST,
        CREATE_RECORD,
        1,
        Fault::status_with_headers(
            429,
            &[
                ("ratelimit-limit", "5000"),
                ("ratelimit-remaining", "0"),
                ("ratelimit-reset", "1900000000"),
                ("ratelimit-policy", "5000;w=3600"),
            ],
            r#"{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}"#,
        ),
    );

    // when a post is published
    let err = connector()
        .publish(&account.context(), &outgoing("presto"))
        .await
        .unwrap_err();

    // then the publisher knows when to retry
    let PublishError::RateLimited { retry_at, .. } = &err else {
        panic!("expected RateLimited, got {err:?}");
    };
    assert_eq!(
        *retry_at,
        Some(Timestamp::from_second(1_900_000_000).unwrap())
    );
    assert!(err.retryable());
    assert!(fake.records().is_empty());
}

#[tokio::test]
async fn a_server_error_on_create_is_transient() {
    let (fake, account) = given_a_bluesky_channel().await;
    fake.server.faults.inject(
        Method::POST,
        CREATE_RECORD,
        1,
        Fault::status(
            502,
            r#"{"error":"UpstreamFailure","message":"Upstream Failure"}"#,
        ),
    );
    fake.server.faults.inject(
        Method::POST,
        CREATE_RECORD,
        1,
        Fault::status(
            500,
            r#"{"error":"InternalServerError","message":"Internal Server Error"}"#,
        ),
    );
    let bluesky = connector();

    for _ in 0..2 {
        let err = bluesky
            .publish(&account.context(), &outgoing("dopo"))
            .await
            .unwrap_err();
        assert!(matches!(err, PublishError::Transient(_)), "{err:?}");
        assert!(err.retryable());
    }
    assert!(fake.records().is_empty());
}

#[tokio::test]
async fn a_connection_dropped_after_create_is_an_unknown_outcome_then_found_and_not_reposted() {
    // given Bluesky makes the post but the connection drops before its answer
    let (fake, account) = given_a_bluesky_channel().await;
    fake.server
        .faults
        .inject(Method::POST, CREATE_RECORD, 1, Fault::DropAfterReceive);
    let bluesky = connector();
    let post = outgoing("Forse");

    // when the post is published
    let err = bluesky
        .publish(&account.context(), &post)
        .await
        .unwrap_err();

    // then the outcome is unknown while the record exists
    assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");
    assert_eq!(fake.count_records_with_text("Forse"), 1);
    let made = fake.records()[0].clone();

    // and a read-back finds exactly that record
    let found = bluesky
        .find_published(&account.context(), &post)
        .await
        .unwrap();
    let ReadBack::Found(published) = found else {
        panic!("expected Found, got {found:?}");
    };
    assert_eq!(published.remote_id, made.uri);
    assert!(published.url.unwrap().ends_with(&made.rkey));

    // and publishing again makes no second post
    let again = bluesky.publish(&account.context(), &post).await.unwrap();
    assert_eq!(again.remote_id, made.uri);
    assert_eq!(fake.count_records_with_text("Forse"), 1);
}

#[tokio::test]
async fn a_late_answer_on_create_is_an_unknown_outcome_then_found() {
    // given Bluesky makes the post but answers after the client gave up
    let (fake, account) = given_a_bluesky_channel().await;
    fake.server.faults.inject(
        Method::POST,
        CREATE_RECORD,
        1,
        Fault::AnswerLate(Duration::from_secs(4)),
    );
    let bluesky = BlueskyConnector::new(impatient_http());
    let post = outgoing("In ritardo");

    // when the post is published
    let err = bluesky
        .publish(&account.context(), &post)
        .await
        .unwrap_err();

    // then the outcome is unknown, the record exists, and the read-back finds it
    assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");
    assert_eq!(fake.count_records_with_text("In ritardo"), 1);
    let found = bluesky
        .find_published(&account.context(), &post)
        .await
        .unwrap();
    assert!(
        matches!(&found, ReadBack::Found(p) if p.remote_id == fake.records()[0].uri),
        "{found:?}"
    );
}

#[tokio::test]
async fn publishing_the_same_target_twice_makes_one_post() {
    // given a post already published
    let (fake, account) = given_a_bluesky_channel().await;
    let bluesky = connector();
    let mut post = outgoing("Una volta sola");
    post.thread = vec!["anche il seguito".into()];
    let first = bluesky.publish(&account.context(), &post).await.unwrap();

    // when the same target is published again (say, by a repeated tick)
    let second = bluesky.publish(&account.context(), &post).await.unwrap();

    // then the second attempt finds the first one's records instead of duplicating them
    assert_eq!(second.remote_id, first.remote_id);
    assert!(second.notes.is_empty(), "{:?}", second.notes);
    assert_eq!(fake.count_records_with_text("Una volta sola"), 1);
    assert_eq!(fake.count_records_with_text("anche il seguito"), 1);
}

#[tokio::test]
async fn find_published_for_a_post_never_made_is_not_found() {
    let (fake, account) = given_a_bluesky_channel().await;
    let bluesky = connector();
    bluesky
        .publish(&account.context(), &outgoing("un altro"))
        .await
        .unwrap();

    let found = bluesky
        .find_published(&account.context(), &outgoing("mai pubblicato"))
        .await
        .unwrap();

    assert_eq!(found, ReadBack::NotFound);
    assert_eq!(fake.records().len(), 1);
}

#[tokio::test]
async fn a_found_post_whose_thread_was_never_posted_says_so() {
    // given the root was made but its answer was lost, so the thread never followed
    let (fake, account) = given_a_bluesky_channel().await;
    fake.server
        .faults
        .inject(Method::POST, CREATE_RECORD, 1, Fault::DropAfterReceive);
    let bluesky = connector();
    let mut post = outgoing("Radice");
    post.thread = vec!["seguito".into()];
    let err = bluesky
        .publish(&account.context(), &post)
        .await
        .unwrap_err();
    assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");

    // when it is read back
    let found = bluesky
        .find_published(&account.context(), &post)
        .await
        .unwrap();

    // then it is found, with a note that the follow-up is missing
    let ReadBack::Found(published) = found else {
        panic!("expected Found, got {found:?}");
    };
    assert_eq!(published.notes.len(), 1, "{:?}", published.notes);
    assert!(published.notes[0].contains("follow-up 1 was not posted"));
    assert_eq!(fake.count_records_with_text("seguito"), 0);
}

// Metrics: a published post's counters through the account's PDS, and the account's followers.

const GET_POSTS: &str = "/xrpc/app.bsky.feed.getPosts";

#[tokio::test]
async fn a_posts_counters_are_read_and_follow_the_post_as_it_changes() {
    // given a published post that people liked, reposted, answered and quoted
    let (fake, account) = given_a_bluesky_channel().await;
    let bluesky = connector();
    let uri = bluesky
        .publish(&account.context(), &outgoing("Contate"))
        .await
        .unwrap()
        .remote_id;
    fake.set_post_counts(
        &uri,
        PostCounts {
            likes: 7,
            reposts: 2,
            replies: 1,
            quotes: 1,
            bookmarks: None,
        },
    );

    // when its metrics are read, then read again after more likes
    let first = bluesky
        .post_metrics(&account.account(), &uri)
        .await
        .unwrap();
    fake.set_likes(&uri, 19);
    let second = bluesky
        .post_metrics(&account.account(), &uri)
        .await
        .unwrap();

    // then each reading has its moment's counters
    assert_eq!(first.counters.likes, Some(7));
    assert_eq!(first.counters.reposts, Some(2));
    assert_eq!(first.counters.replies, Some(1));
    assert_eq!(first.counters.quotes, Some(1));
    assert_eq!(second.counters.likes, Some(19));
    // and Bluesky counts no views, and this AppView no bookmarks: not available, not zero
    assert_eq!(second.counters.views, None);
    assert_eq!(second.counters.clicks, None);
    assert_eq!(second.counters.saves, None);
    assert_eq!(second.raw["likeCount"], json!(19));
    assert_eq!(second.raw["uri"], json!(uri));
    // and the session that published was reused
    assert_eq!(fake.session_creations(), 1);
}

#[tokio::test]
async fn bookmarks_are_read_as_saves() {
    let (fake, account) = given_a_bluesky_channel().await;
    let bluesky = connector();
    let uri = bluesky
        .publish(&account.context(), &outgoing("Salvami"))
        .await
        .unwrap()
        .remote_id;
    fake.set_post_counts(
        &uri,
        PostCounts {
            bookmarks: Some(4),
            ..PostCounts::default()
        },
    );

    let reading = bluesky
        .post_metrics(&account.account(), &uri)
        .await
        .unwrap();

    assert_eq!(reading.counters.saves, Some(4));
    assert_eq!(reading.counters.likes, Some(0));
}

#[tokio::test]
async fn the_accounts_followers_are_read_from_its_profile() {
    let (fake, account) = given_a_bluesky_channel().await;
    fake.set_followers(1200);
    let bluesky = connector();

    let first = bluesky.account_metrics(&account.account()).await.unwrap();
    fake.set_followers(1234);
    let second = bluesky.account_metrics(&account.account()).await.unwrap();

    assert_eq!(first.counters.followers, Some(1200));
    assert_eq!(second.counters.followers, Some(1234));
    assert_eq!(second.counters.likes, None);
    assert_eq!(second.raw["did"], json!(DID));
}

#[tokio::test]
async fn a_deleted_post_is_a_clear_error() {
    let (fake, account) = given_a_bluesky_channel().await;
    let bluesky = connector();
    let uri = bluesky
        .publish(&account.context(), &outgoing("Effimero"))
        .await
        .unwrap()
        .remote_id;
    fake.delete_post(&uri);

    let err = bluesky
        .post_metrics(&account.account(), &uri)
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::InvalidContent(_)), "{err:?}");
    assert!(!err.retryable());
    let message = err.to_string();
    assert!(message.contains("deleted or is not visible"), "{message}");
    assert!(message.contains(&uri), "{message}");
}

#[tokio::test]
async fn a_rate_limited_metrics_read_gives_the_reset_time() {
    let (fake, account) = given_a_bluesky_channel().await;
    let bluesky = connector();
    let uri = bluesky
        .publish(&account.context(), &outgoing("Troppe letture"))
        .await
        .unwrap()
        .remote_id;
    fake.server.faults.inject(
        Method::GET,
        GET_POSTS,
        1,
        Fault::status_with_headers(
            429,
            &[
                ("ratelimit-limit", "3000"),
                ("ratelimit-remaining", "0"),
                ("ratelimit-reset", "1900000300"),
            ],
            r#"{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}"#,
        ),
    );

    let err = bluesky
        .post_metrics(&account.account(), &uri)
        .await
        .unwrap_err();

    let PublishError::RateLimited { retry_at, message } = &err else {
        panic!("expected RateLimited, got {err:?}");
    };
    assert_eq!(
        *retry_at,
        Some(Timestamp::from_second(1_900_000_300).unwrap())
    );
    assert!(message.contains("read"), "{message}");
}

#[tokio::test]
async fn an_expired_session_is_renewed_for_a_metrics_read() {
    let (fake, account) = given_a_bluesky_channel().await;
    let bluesky = connector();
    let uri = bluesky
        .publish(&account.context(), &outgoing("Ancora qui"))
        .await
        .unwrap()
        .remote_id;
    fake.set_likes(&uri, 2);
    fake.expire_access_tokens();

    let reading = bluesky
        .post_metrics(&account.account(), &uri)
        .await
        .unwrap();

    assert_eq!(reading.counters.likes, Some(2));
    assert_eq!(fake.session_refreshes(), 1);
    assert_eq!(fake.session_creations(), 1);
}

#[tokio::test]
async fn a_session_bluesky_no_longer_accepts_is_auth_expired() {
    // given a stored session Bluesky refuses and an app password that was revoked
    let fake = FakeBluesky::start().await;
    let account = TestAccount::new(
        Network::Bluesky,
        fake.settings(),
        json!({
            "identifier": IDENTIFIER,
            "app_password": "revocata",
            "access_jwt": "stale-access",
            "refresh_jwt": "stale-refresh",
            "did": DID,
            "pds_url": fake.base(),
            "session_service": session_service(&fake),
        }),
    )
    .await;
    let uri = format!("at://{DID}/app.bsky.feed.post/3labc2222222a");

    let post = connector()
        .post_metrics(&account.account(), &uri)
        .await
        .unwrap_err();
    let own = connector()
        .account_metrics(&account.account())
        .await
        .unwrap_err();

    for err in [post, own] {
        assert!(matches!(err, PublishError::AuthExpired(_)), "{err:?}");
        assert!(!err.retryable());
    }
    assert_eq!(fake.session_creations(), 0);
}

/// How a stored session records the service that made it.
fn session_service(fake: &FakeBluesky) -> String {
    palinsesto::domain::Endpoint::of(fake.base())
        .unwrap()
        .as_str()
        .to_owned()
}

#[tokio::test]
async fn a_stored_session_is_used_only_for_the_service_that_made_it_and_a_pds_we_connect_to() {
    let fake = FakeBluesky::start().await;
    for (made_by, pds_url) in [
        // Made by another service (the channel's service URL changed since).
        ("https://bsky.social:443".to_owned(), fake.base().to_owned()),
        // Names a PDS inside the cloud's metadata range.
        (session_service(&fake), "http://169.254.169.254".to_owned()),
        // Written before sessions recorded their service.
        (String::new(), fake.base().to_owned()),
    ] {
        let mut credentials = json!({
            "identifier": IDENTIFIER,
            "app_password": fake.credentials()["app_password"],
            "access_jwt": "planted-access",
            "refresh_jwt": "planted-refresh",
            "did": DID,
            "pds_url": pds_url,
        });
        if !made_by.is_empty() {
            credentials["session_service"] = json!(made_by);
        }
        let account = TestAccount::new(Network::Bluesky, fake.settings(), credentials).await;
        let before = fake.session_creations();

        connector()
            .account_metrics(&account.account())
            .await
            .unwrap();

        // It logged in afresh instead of sending the planted session anywhere.
        assert_eq!(fake.session_creations(), before + 1, "{pds_url}");
        let saved = account.sink.updates().concat();
        assert!(
            saved
                .iter()
                .any(|(k, v)| k == "session_service" && *v == session_service(&fake)),
            "{saved:?}"
        );
    }
}

/// Moderation: likes as the brand, deleting the brand's replies, and hiding replies through the
/// thread gate of the brand's post that started the thread.
mod moderation {
    use palinsesto::domain::inbox::{Incoming, ReplyTarget, StreamKind};
    use palinsesto::domain::moderation::ModerationAction;
    use palinsesto::networks::{Moderate, ReadInbox, ReplyTo};

    use super::*;

    const PUT_RECORD: &str = "/xrpc/com.atproto.repo.putRecord";

    struct World {
        fake: FakeBluesky,
        account: TestAccount,
        /// The brand's post that starts the thread.
        root: String,
    }

    /// The brand's post, and people to reply to it.
    async fn world() -> World {
        let (fake, account) = given_a_bluesky_channel().await;
        let root = connector()
            .publish(&account.context(), &outgoing("Il nuovo menù d'autunno"))
            .await
            .unwrap()
            .remote_id;
        fake.add_person("ada.test", "Ada", 3);
        fake.add_person("bob.test", "Bob", 5);
        World {
            fake,
            account,
            root,
        }
    }

    impl World {
        /// What the inbox reads of `uri`.
        async fn read(&self, uri: &str) -> Incoming {
            connector()
                .read(
                    &self.account.account(),
                    StreamKind::Notifications,
                    None,
                    &[],
                )
                .await
                .unwrap()
                .found
                .into_iter()
                .find(|i| i.external_id == uri)
                .unwrap_or_else(|| panic!("{uri} is not in the inbox"))
        }

        /// A person's reply to the brand's post, as the inbox reads it.
        async fn reply(&self, person: &str, text: &str) -> ReplyTarget {
            let (uri, _) = self.fake.reply_as(person, &self.root, text);
            self.read(&uri).await.target
        }

        async fn moderate(
            &self,
            target: &ReplyTarget,
            action: ModerationAction,
        ) -> Result<(), PublishError> {
            connector()
                .moderate(&self.account.account(), target, action)
                .await
        }
    }

    #[tokio::test]
    async fn bluesky_offers_hiding_unhiding_liking_and_deleting() {
        assert_eq!(
            connector().actions(),
            [
                ModerationAction::Hide,
                ModerationAction::Unhide,
                ModerationAction::Like,
                ModerationAction::DeleteReply
            ]
        );
    }

    #[tokio::test]
    async fn a_reply_is_hidden_then_unhidden_through_the_root_posts_thread_gate() {
        let w = world().await;
        let ada = w.reply("ada.test", "Che bello!").await;
        assert_eq!(ada.root_id.as_deref(), Some(w.root.as_str()));

        for _ in 0..2 {
            w.moderate(&ada, ModerationAction::Hide).await.unwrap();
        }
        assert_eq!(w.fake.hidden_replies(&w.root), vec![ada.id.clone()]);
        let gate = w.fake.threadgate(&w.root).expect("a thread gate");
        assert_eq!(gate.rkey, rkey_of(&w.root), "the gate's key is the post's");
        assert_eq!(gate.value["post"], w.root.as_str());
        assert!(
            gate.value.get("allow").is_none(),
            "replies stay open to everyone: {}",
            gate.value
        );

        for _ in 0..2 {
            w.moderate(&ada, ModerationAction::Unhide).await.unwrap();
        }
        assert!(w.fake.hidden_replies(&w.root).is_empty());
    }

    #[tokio::test]
    async fn hiding_keeps_the_reply_rules_and_hidden_replies_the_brand_set_itself() {
        let w = world().await;
        let ada = w.reply("ada.test", "Primo!").await;
        let bob = w.reply("bob.test", "Secondo").await;
        let follower_rule = json!([{"$type": "app.bsky.feed.threadgate#followerRule"}]);
        w.fake.set_threadgate(
            &w.root,
            json!({"allow": follower_rule, "hiddenReplies": [ada.id]}),
        );

        w.moderate(&bob, ModerationAction::Hide).await.unwrap();

        assert_eq!(
            w.fake.hidden_replies(&w.root),
            vec![ada.id.clone(), bob.id.clone()]
        );
        let gate = w.fake.threadgate(&w.root).unwrap();
        assert_eq!(gate.value["allow"], follower_rule);
    }

    #[tokio::test]
    async fn a_gate_changed_while_it_was_written_is_read_again_and_nothing_is_lost() {
        let w = world().await;
        let ada = w.reply("ada.test", "Uno").await;
        let bob = w.reply("bob.test", "Due").await;
        w.moderate(&ada, ModerationAction::Hide).await.unwrap();
        w.fake.server.faults.inject(
            Method::POST,
            PUT_RECORD,
            1,
            Fault::status(
                400,
                r#"{"error":"InvalidSwap","message":"Record was at bafyreisomethingelse"}"#,
            ),
        );

        w.moderate(&bob, ModerationAction::Hide).await.unwrap();

        assert_eq!(
            w.fake.hidden_replies(&w.root),
            vec![ada.id.clone(), bob.id.clone()]
        );
        assert_eq!(
            w.fake.server.faults.requests_to(&Method::POST, PUT_RECORD),
            2,
            "written again after reading the gate again"
        );
    }

    #[tokio::test]
    async fn a_thread_with_300_hidden_replies_hides_no_more() {
        let w = world().await;
        let ada = w.reply("ada.test", "Ancora uno").await;
        let others: Vec<String> = (0..300)
            .map(|i| format!("at://did:plc:someone/app.bsky.feed.post/3lhid{i:08}"))
            .collect();
        w.fake
            .set_threadgate(&w.root, json!({"hiddenReplies": others}));

        let err = w.moderate(&ada, ModerationAction::Hide).await.unwrap_err();

        assert!(matches!(err, PublishError::InvalidContent(_)), "{err:?}");
        assert!(err.to_string().contains("at most 300"), "{err}");
        assert_eq!(w.fake.hidden_replies(&w.root).len(), 300);
    }

    #[tokio::test]
    async fn replies_under_someone_elses_post_and_posts_outside_a_thread_are_not_hidden() {
        // given Bob's post mentioning the brand, the brand's answer in Bob's thread, and Ada's
        // reply to the brand's answer there (the thread's root is Bob's post)
        let w = world().await;
        let (mention, _) = w.fake.mention_as("bob.test", "che ne dite?");
        let bobs = w.read(&mention).await.target;
        let answer = connector()
            .reply(&w.account.context(), &bobs, &outgoing("Ottimo!"))
            .await
            .unwrap();
        let (ada_uri, _) = w.fake.reply_as("ada.test", &answer.remote_id, "Concordo");
        let ada = w.read(&ada_uri).await.target;
        assert_eq!(ada.root_id.as_deref(), Some(mention.as_str()));

        let under_bob = w.moderate(&ada, ModerationAction::Hide).await.unwrap_err();
        let not_a_reply = w.moderate(&bobs, ModerationAction::Hide).await.unwrap_err();

        assert!(
            matches!(under_bob, PublishError::InvalidContent(_)),
            "{under_bob:?}"
        );
        assert!(
            under_bob.to_string().contains("started by someone else"),
            "{under_bob}"
        );
        assert!(
            matches!(not_a_reply, PublishError::InvalidContent(_)),
            "{not_a_reply:?}"
        );
        assert!(
            not_a_reply.to_string().contains("only replies"),
            "{not_a_reply}"
        );
        assert_eq!(
            w.fake.server.faults.requests_to(&Method::POST, PUT_RECORD),
            0
        );
        assert!(w.fake.threadgate(&w.root).is_none());
    }

    #[tokio::test]
    async fn a_reply_is_liked_once_however_often_it_is_liked() {
        let w = world().await;
        let ada = w.reply("ada.test", "Buonissimo").await;

        for _ in 0..2 {
            w.moderate(&ada, ModerationAction::Like).await.unwrap();
        }

        let likes = w.fake.likes();
        assert_eq!(likes.len(), 1, "{likes:?}");
        assert_eq!(
            likes[0].value["subject"],
            json!({"uri": ada.id, "cid": ada.cid})
        );
        assert_eq!(likes[0].value["$type"], "app.bsky.feed.like");
    }

    #[tokio::test]
    async fn the_brands_reply_is_deleted_and_deleting_it_again_is_harmless() {
        let w = world().await;
        let ada = w.reply("ada.test", "Quando aprite?").await;
        let sent = connector()
            .reply(&w.account.context(), &ada, &outgoing("Domani alle 8!"))
            .await
            .unwrap();
        assert_eq!(w.fake.replies_to(&ada.id).len(), 1);
        let mine = ReplyTarget {
            id: sent.remote_id.clone(),
            ..ada.clone()
        };

        for _ in 0..2 {
            w.moderate(&mine, ModerationAction::DeleteReply)
                .await
                .unwrap();
        }

        assert!(w.fake.replies_to(&ada.id).is_empty());
        assert!(
            w.fake.record(rkey_of(&w.root)).is_some(),
            "the brand's post stays"
        );
        let someone_elses = w
            .moderate(&ada, ModerationAction::DeleteReply)
            .await
            .unwrap_err();
        assert!(
            matches!(someone_elses, PublishError::InvalidContent(_)),
            "{someone_elses:?}"
        );
    }
}
