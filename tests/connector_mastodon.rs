//! The Mastodon connector against its loopback fake: publishing exactly once (idempotency key,
//! read-back), media processing, threads, rules from the instance, and every refusal in plain words.

use std::time::Duration;

use axum::http::Method;
use jiff::{SignedDuration, Timestamp};
use palinsesto::domain::preflight::TextCounting;
use palinsesto::domain::{MediaKind, Network};
use palinsesto::networks::mastodon::MastodonConnector;
use palinsesto::networks::{Outgoing, Publish, PublishError, ReadBack, ReadMetrics};
use palinsesto::outbound::OutboundClient;
use palinsesto_system_tests::accounts::{TestAccount, impatient_http, outbound, outgoing};
use palinsesto_system_tests::fakes::Fault;
use palinsesto_system_tests::fakes::mastodon::{FakeMastodon, InstanceConfig};
use serde_json::json;

const STATUSES: &str = "/api/v1/statuses";

async fn given_an_account() -> (FakeMastodon, TestAccount) {
    given_an_instance(InstanceConfig::default()).await
}

async fn given_an_instance(config: InstanceConfig) -> (FakeMastodon, TestAccount) {
    let fake = FakeMastodon::start_with(config).await;
    let account = TestAccount::new(Network::Mastodon, fake.settings(), fake.credentials()).await;
    (fake, account)
}

fn connector() -> MastodonConnector {
    connector_with(outbound())
}

fn connector_with(http: OutboundClient) -> MastodonConnector {
    MastodonConnector::new(http).with_polling(Duration::from_millis(10), Duration::from_secs(5))
}

fn jpeg() -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.resize(2048, 7);
    bytes
}

fn with_thread(text: &str, thread: &[&str]) -> Outgoing {
    Outgoing {
        thread: thread.iter().map(|t| (*t).to_owned()).collect(),
        ..outgoing(text)
    }
}

#[tokio::test]
async fn publishes_a_text_post_once_with_its_idempotency_key() {
    let (fake, account) = given_an_account().await;
    let post = outgoing("Buongiorno da Palinsesto");

    let published = connector()
        .publish(&account.context(), &post)
        .await
        .unwrap();

    let statuses = fake.statuses();
    assert_eq!(statuses.len(), 1);
    let status = &statuses[0];
    assert_eq!(published.remote_id, status.id);
    assert_eq!(
        published.url,
        Some(format!("{}/@palinsesto/{}", fake.base(), status.id))
    );
    assert_eq!(status.text, "Buongiorno da Palinsesto");
    assert_eq!(status.visibility, "public");
    assert_eq!(status.idempotency_key.as_deref(), Some(post.key.as_str()));
    assert!(published.notes.is_empty());
}

#[tokio::test]
async fn publishes_an_image_with_its_alt_text() {
    let (fake, account) = given_an_account().await;
    let image = account.media.add(
        MediaKind::Image,
        "image/jpeg",
        jpeg(),
        Some("A cappuccino on a marble counter"),
    );
    let post = Outgoing {
        media: vec![image],
        ..outgoing("Colazione")
    };

    let published = connector()
        .publish(&account.context(), &post)
        .await
        .unwrap();

    let media = fake.media();
    assert_eq!(media.len(), 1);
    assert_eq!(media[0].content_type, "image/jpeg");
    assert_eq!(media[0].size, 2048);
    assert_eq!(
        media[0].description.as_deref(),
        Some("A cappuccino on a marble counter")
    );
    assert_eq!(media[0].polls, 0, "an image is ready at once: no polling");
    let status = &fake.statuses()[0];
    assert_eq!(status.id, published.remote_id);
    assert_eq!(status.media_ids, vec![media[0].id.clone()]);
}

#[tokio::test]
async fn waits_for_a_video_to_finish_processing_before_posting() {
    let (fake, account) = given_an_account().await;
    fake.set_processing_polls(3);
    let video = account
        .media
        .add(MediaKind::Video, "video/mp4", vec![0; 4096], None);
    let post = Outgoing {
        media: vec![video],
        ..outgoing("Il nostro nuovo spot")
    };

    connector()
        .publish(&account.context(), &post)
        .await
        .unwrap();

    let media = fake.media();
    assert_eq!(media[0].polls, 4, "three 206 answers, then 200");
    assert!(media[0].is_ready());
    assert_eq!(fake.statuses()[0].media_ids, vec![media[0].id.clone()]);
}

#[tokio::test]
async fn a_video_still_processing_after_the_longest_wait_is_transient_and_posts_nothing() {
    let (fake, account) = given_an_account().await;
    fake.set_processing_polls(10_000);
    let video = account
        .media
        .add(MediaKind::Video, "video/mp4", vec![0; 4096], None);
    let post = Outgoing {
        media: vec![video],
        ..outgoing("Troppo lungo")
    };
    let impatient = MastodonConnector::new(outbound())
        .with_polling(Duration::from_millis(10), Duration::from_millis(100));

    let err = impatient
        .publish(&account.context(), &post)
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::Transient(_)), "{err:?}");
    assert!(err.to_string().contains("still processing"), "{err}");
    assert!(fake.statuses().is_empty());
}

#[tokio::test]
async fn a_video_mastodon_cannot_process_is_invalid_media() {
    let (fake, account) = given_an_account().await;
    fake.fail_processing();
    let video = account
        .media
        .add(MediaKind::Video, "video/mp4", vec![0; 4096], None);
    let post = Outgoing {
        media: vec![video],
        ..outgoing("Video rotto")
    };

    let err = connector()
        .publish(&account.context(), &post)
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::InvalidMedia(_)), "{err:?}");
    assert!(err.to_string().contains("Error processing"), "{err}");
    assert!(fake.statuses().is_empty());
}

#[tokio::test]
async fn publishes_a_thread_as_chained_replies_each_with_its_own_key() {
    let (fake, account) = given_an_account().await;
    let post = with_thread("1/3 Il menu d'autunno", &["2/3 Zucca", "3/3 Castagne"]);

    let published = connector()
        .publish(&account.context(), &post)
        .await
        .unwrap();

    assert_eq!(fake.statuses().len(), 3);
    let second = fake.replies_to(&published.remote_id);
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].text, "2/3 Zucca");
    let third = fake.replies_to(&second[0].id);
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].text, "3/3 Castagne");
    let keys: std::collections::HashSet<_> = fake
        .statuses()
        .into_iter()
        .map(|s| s.idempotency_key.expect("every status carries a key"))
        .collect();
    assert_eq!(keys.len(), 3, "each reply has its own idempotency key");
    assert!(published.notes.is_empty());
}

#[tokio::test]
async fn a_reply_whose_answer_was_lost_is_asked_again_with_its_key_and_not_duplicated() {
    let (fake, account) = given_an_account().await;
    fake.lose_answer_to_status_request(2);
    let post = with_thread("Il post", &["La risposta"]);

    let published = connector()
        .publish(&account.context(), &post)
        .await
        .unwrap();

    assert_eq!(fake.status_requests(), 3, "the reply was sent twice");
    assert_eq!(
        fake.count_statuses_with_text("La risposta"),
        1,
        "but made once"
    );
    assert_eq!(fake.replies_to(&published.remote_id).len(), 1);
    assert!(published.notes.is_empty(), "{:?}", published.notes);
}

#[tokio::test]
async fn a_reply_mastodon_refuses_becomes_a_note_and_ends_the_thread() {
    let (fake, account) = given_an_account().await;
    let too_long = "x".repeat(600);
    let post = with_thread("Apertura", &["Seconda", &too_long, "Quarta"]);

    let published = connector()
        .publish(&account.context(), &post)
        .await
        .unwrap();

    assert_eq!(fake.statuses().len(), 2, "the post and the first reply");
    assert_eq!(fake.count_statuses_with_text("Quarta"), 0);
    let notes = published.notes.join(" | ");
    assert!(notes.contains("follow-up 2 of 3"), "{notes}");
    assert!(
        notes.contains("Text character limit of 500 exceeded"),
        "{notes}"
    );
    assert!(
        notes.contains("follow-ups 3 to 3 were not posted"),
        "{notes}"
    );
}

#[tokio::test]
async fn a_refused_access_token_is_auth_expired() {
    let fake = FakeMastodon::start().await;
    let account = TestAccount::new(
        Network::Mastodon,
        fake.settings(),
        json!({"access_token": "revoked"}),
    )
    .await;

    let err = connector()
        .publish(&account.context(), &outgoing("Ciao"))
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::AuthExpired(_)), "{err:?}");
    assert!(!err.retryable());
    let message = err.to_string();
    assert!(message.contains("The access token is invalid"), "{message}");
    assert!(message.contains("reconnect the channel"), "{message}");
    assert!(fake.statuses().is_empty());
}

#[tokio::test]
async fn an_empty_post_is_invalid_content_in_mastodons_words() {
    let (fake, account) = given_an_account().await;

    let err = connector()
        .publish(&account.context(), &outgoing(""))
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::InvalidContent(_)), "{err:?}");
    assert!(err.to_string().contains("Text can't be blank"), "{err}");
    assert!(fake.statuses().is_empty());
}

#[tokio::test]
async fn an_unsupported_file_type_is_invalid_media() {
    let (fake, account) = given_an_account().await;
    let tiff = account
        .media
        .add(MediaKind::Image, "image/tiff", vec![1; 512], None);
    let post = Outgoing {
        media: vec![tiff],
        ..outgoing("Foto dal telefono")
    };

    let err = connector()
        .publish(&account.context(), &post)
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::InvalidMedia(_)), "{err:?}");
    assert!(
        err.to_string().contains("File content type is invalid"),
        "{err}"
    );
    assert!(fake.statuses().is_empty());
}

#[tokio::test]
async fn a_spent_rate_limit_waits_until_mastodons_reset() {
    let (fake, account) = given_an_account().await;
    fake.exhaust_rate_limit();

    let err = connector()
        .publish(&account.context(), &outgoing("Troppo presto"))
        .await
        .unwrap_err();

    let PublishError::RateLimited { retry_at, message } = &err else {
        panic!("expected RateLimited, got {err:?}");
    };
    let retry_at = retry_at.expect("the reset time from X-RateLimit-Reset");
    let off = retry_at.duration_since(fake.rate_limit_reset()).abs();
    assert!(off < SignedDuration::from_millis(1), "off by {off:?}");
    assert!(message.contains("Too many requests"), "{message}");
    assert!(err.retryable());
    assert!(fake.statuses().is_empty());
}

#[tokio::test]
async fn a_rate_limit_reset_in_unix_seconds_is_understood_too() {
    let (fake, account) = given_an_account().await;
    let reset = Timestamp::now().as_second() + 120;
    fake.faults().inject(
        Method::POST,
        STATUSES,
        1,
        Fault::status_with_headers(
            429,
            &[
                ("X-RateLimit-Limit", "300"),
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset", &reset.to_string()),
            ],
            r#"{"error":"Too many requests"}"#,
        ),
    );

    let err = connector()
        .publish(&account.context(), &outgoing("Ancora presto"))
        .await
        .unwrap_err();

    let PublishError::RateLimited { retry_at, .. } = err else {
        panic!("expected RateLimited, got {err:?}");
    };
    assert_eq!(retry_at, Some(Timestamp::from_second(reset).unwrap()));
    assert!(fake.statuses().is_empty());
}

#[tokio::test]
async fn a_server_error_is_transient_and_posts_nothing() {
    let (fake, account) = given_an_account().await;
    fake.faults().inject(
        Method::POST,
        STATUSES,
        1,
        Fault::status(
            500,
            r#"{"error":"We're sorry, but something went wrong on our end."}"#,
        ),
    );

    let err = connector()
        .publish(&account.context(), &outgoing("Errore"))
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::Transient(_)), "{err:?}");
    assert!(err.to_string().contains("something went wrong"), "{err}");
    assert!(fake.statuses().is_empty());
}

#[tokio::test]
async fn a_dropped_media_upload_is_transient_not_unknown() {
    let (fake, account) = given_an_account().await;
    fake.faults()
        .inject(Method::POST, "/api/v2/media", 1, Fault::DropAfterReceive);
    let image = account
        .media
        .add(MediaKind::Image, "image/jpeg", jpeg(), None);
    let post = Outgoing {
        media: vec![image],
        ..outgoing("Upload perso")
    };

    let err = connector()
        .publish(&account.context(), &post)
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::Transient(_)), "{err:?}");
    assert!(fake.statuses().is_empty());
}

#[tokio::test]
async fn a_connection_dropped_after_the_status_was_made_is_unknown_and_a_retry_posts_nothing_new() {
    let (fake, account) = given_an_account().await;
    fake.faults()
        .inject(Method::POST, STATUSES, 1, Fault::DropAfterReceive);
    let post = outgoing("Una volta sola");
    let connector = connector();

    let err = connector
        .publish(&account.context(), &post)
        .await
        .unwrap_err();
    assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");
    assert_eq!(
        fake.count_statuses_with_text("Una volta sola"),
        1,
        "the fake made it"
    );
    let made = fake.statuses()[0].clone();

    let found = connector
        .find_published(&account.context(), &post)
        .await
        .unwrap();
    let ReadBack::Found(found) = found else {
        panic!("expected Found, got {found:?}");
    };
    assert_eq!(found.remote_id, made.id);

    let retried = connector.publish(&account.context(), &post).await.unwrap();
    assert_eq!(
        retried.remote_id, made.id,
        "the same key answers the same status"
    );
    assert_eq!(fake.count_statuses_with_text("Una volta sola"), 1);
    assert_eq!(fake.status_requests(), 2);
}

#[tokio::test]
async fn a_late_answer_is_unknown_and_the_read_back_finds_the_post() {
    let (fake, account) = given_an_account().await;
    fake.faults().inject(
        Method::POST,
        STATUSES,
        1,
        Fault::AnswerLate(Duration::from_secs(3)),
    );
    let post = outgoing("Risposta in ritardo");
    let connector = connector_with(impatient_http());

    let err = connector
        .publish(&account.context(), &post)
        .await
        .unwrap_err();
    assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");
    assert_eq!(fake.statuses().len(), 1, "the fake made the status");

    let found = connector
        .find_published(&account.context(), &post)
        .await
        .unwrap();
    let made = &fake.statuses()[0];
    assert_eq!(
        found,
        ReadBack::Found(palinsesto::networks::Published::new(
            made.id.clone(),
            Some(format!("{}/@palinsesto/{}", fake.base(), made.id)),
        ))
    );
}

#[tokio::test]
async fn the_read_back_recognises_text_mastodon_rendered_as_html() {
    let (fake, account) = given_an_account().await;
    fake.faults()
        .inject(Method::POST, STATUSES, 1, Fault::DropAfterReceive);
    let text = "Caffè & cornetto <3 at \"Bar Roma\"\n\nMenu: https://example.com/menu?x=1&y=2\nit's #colazione";
    let post = outgoing(text);
    let connector = connector();

    let err = connector
        .publish(&account.context(), &post)
        .await
        .unwrap_err();
    assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");

    let found = connector
        .find_published(&account.context(), &post)
        .await
        .unwrap();
    assert!(
        matches!(&found, ReadBack::Found(p) if p.remote_id == fake.statuses()[0].id),
        "{found:?}"
    );
}

#[tokio::test]
async fn a_post_never_made_is_not_found_even_if_the_same_text_was_posted_long_ago() {
    let (fake, account) = given_an_account().await;
    let long_ago = Timestamp::now() - SignedDuration::from_hours(2);
    fake.seed_status("Offerta del giorno", long_ago);
    fake.seed_status("Something else entirely", Timestamp::now());
    let post = outgoing("Offerta del giorno");

    let found = connector()
        .find_published(&account.context(), &post)
        .await
        .unwrap();

    assert_eq!(found, ReadBack::NotFound);
}

#[tokio::test]
async fn a_found_post_whose_thread_was_never_posted_says_so() {
    let (fake, account) = given_an_account().await;
    fake.faults()
        .inject(Method::POST, STATUSES, 1, Fault::DropAfterReceive);
    let post = with_thread("Prima parte", &["Seconda parte"]);
    let connector = connector();

    let err = connector
        .publish(&account.context(), &post)
        .await
        .unwrap_err();
    assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");

    let ReadBack::Found(found) = connector
        .find_published(&account.context(), &post)
        .await
        .unwrap()
    else {
        panic!("the post was made");
    };
    assert_eq!(found.notes.len(), 1);
    assert!(
        found.notes[0].contains("follow-ups 1 to 1"),
        "{:?}",
        found.notes
    );
}

#[tokio::test]
async fn rules_come_from_the_instance_and_are_read_once() {
    let (fake, account) = given_an_instance(InstanceConfig {
        max_characters: 1000,
        max_media_attachments: 6,
        characters_reserved_per_url: 30,
        supported_mime_types: vec!["image/jpeg".into(), "image/png".into(), "video/mp4".into()],
        image_size_limit: 8_388_608,
        video_size_limit: 41_943_040,
        description_limit: 1_000,
    })
    .await;
    let connector = connector();

    let rules = connector.rules(&account.account()).await.unwrap();
    let again = connector.rules(&account.account()).await.unwrap();

    assert_eq!(rules.network, Network::Mastodon);
    assert_eq!(rules.max_text, 1000);
    assert_eq!(rules.counting, TextCounting::Mastodon { url_weight: 30 });
    assert_eq!(rules.max_images, 6);
    assert_eq!(rules.image_types, vec!["image/jpeg", "image/png"]);
    assert_eq!(rules.video_types, vec!["video/mp4"]);
    assert_eq!(rules.max_image_bytes, 8_388_608);
    assert_eq!(rules.max_video_bytes, 41_943_040);
    assert_eq!(rules.max_alt_text, Some(1_000));
    assert!(rules.check(&"a".repeat(900), &[], &[]).is_empty());
    assert_eq!(rules.check(&"a".repeat(1001), &[], &[]).len(), 1);
    assert_eq!(again, rules);
    assert_eq!(fake.instance_requests(), 1, "cached, not read per post");
}

// Metrics: counters of a published status and of the account.

#[tokio::test]
async fn a_posts_counters_are_read_and_follow_the_status_as_it_changes() {
    // given a published status with some favourites, boosts and replies
    let (fake, account) = given_an_account().await;
    let mastodon = connector();
    let published = mastodon
        .publish(&account.context(), &outgoing("Misura me"))
        .await
        .unwrap();
    fake.set_status_counts(&published.remote_id, 3, 1, 2);

    // when its metrics are read, and read again after more people liked it
    let first = mastodon
        .post_metrics(&account.account(), &published.remote_id)
        .await
        .unwrap();
    fake.set_status_counts(&published.remote_id, 10, 4, 2);
    let second = mastodon
        .post_metrics(&account.account(), &published.remote_id)
        .await
        .unwrap();

    // then each reading has the counters of its moment
    assert_eq!(first.counters.likes, Some(3));
    assert_eq!(first.counters.reposts, Some(1));
    assert_eq!(first.counters.replies, Some(2));
    assert_eq!(second.counters.likes, Some(10));
    assert_eq!(second.counters.reposts, Some(4));
    assert_eq!(second.counters.replies, Some(2));
    // and what Mastodon does not count is not available, not zero
    for missing in [
        second.counters.views,
        second.counters.reach,
        second.counters.clicks,
        second.counters.saves,
        second.counters.followers,
    ] {
        assert_eq!(missing, None, "{:?}", second.counters);
    }
    // and the status's own fields are kept as received
    assert_eq!(second.raw["favourites_count"], json!(10));
    assert_eq!(second.raw["id"], json!(published.remote_id));
}

#[tokio::test]
async fn quotes_are_not_available_on_servers_that_do_not_count_them() {
    let (fake, account) = given_an_account().await;
    let mastodon = connector();
    let id = mastodon
        .publish(&account.context(), &outgoing("Citami"))
        .await
        .unwrap()
        .remote_id;

    // a server before 4.5 sends no quotes_count
    let older = mastodon
        .post_metrics(&account.account(), &id)
        .await
        .unwrap();
    // a newer one does, even when nobody quoted the post yet
    fake.set_status_quotes(&id, Some(0));
    let newer = mastodon
        .post_metrics(&account.account(), &id)
        .await
        .unwrap();
    fake.set_status_quotes(&id, Some(5));
    let quoted = mastodon
        .post_metrics(&account.account(), &id)
        .await
        .unwrap();

    assert_eq!(older.counters.quotes, None);
    assert!(older.raw.get("quotes_count").is_none());
    assert_eq!(newer.counters.quotes, Some(0));
    assert_eq!(quoted.counters.quotes, Some(5));
}

#[tokio::test]
async fn the_accounts_followers_are_read_from_its_credentials() {
    let (fake, account) = given_an_account().await;
    fake.set_followers(345);
    let mastodon = connector();

    let first = mastodon.account_metrics(&account.account()).await.unwrap();
    fake.set_followers(360);
    let second = mastodon.account_metrics(&account.account()).await.unwrap();

    assert_eq!(first.counters.followers, Some(345));
    assert_eq!(second.counters.followers, Some(360));
    assert_eq!(second.counters.likes, None);
    assert_eq!(second.raw["followers_count"], json!(360));
}

#[tokio::test]
async fn a_deleted_status_says_so_instead_of_blaming_the_settings() {
    let (fake, account) = given_an_account().await;
    let mastodon = connector();
    let id = mastodon
        .publish(&account.context(), &outgoing("Presto cancellato"))
        .await
        .unwrap()
        .remote_id;
    fake.delete_status(&id);

    let err = mastodon
        .post_metrics(&account.account(), &id)
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::InvalidContent(_)), "{err:?}");
    assert!(!err.retryable());
    let message = err.to_string();
    assert!(message.contains("deleted"), "{message}");
    assert!(message.contains(&id), "{message}");
    assert!(!message.contains("instance_url"), "{message}");
}

#[tokio::test]
async fn a_spent_rate_limit_on_a_metrics_read_waits_until_mastodons_reset() {
    let (fake, account) = given_an_account().await;
    let mastodon = connector();
    let id = mastodon
        .publish(&account.context(), &outgoing("Contami"))
        .await
        .unwrap()
        .remote_id;
    fake.exhaust_rate_limit();

    let post = mastodon
        .post_metrics(&account.account(), &id)
        .await
        .unwrap_err();
    let own = mastodon
        .account_metrics(&account.account())
        .await
        .unwrap_err();

    for err in [post, own] {
        let PublishError::RateLimited { retry_at, .. } = &err else {
            panic!("expected RateLimited, got {err:?}");
        };
        let retry_at = retry_at.expect("the reset time from X-RateLimit-Reset");
        let off = retry_at.duration_since(fake.rate_limit_reset()).abs();
        assert!(off < SignedDuration::from_millis(1), "off by {off:?}");
    }
}

#[tokio::test]
async fn a_revoked_token_on_a_metrics_read_is_auth_expired() {
    let fake = FakeMastodon::start().await;
    let account = TestAccount::new(
        Network::Mastodon,
        fake.settings(),
        json!({"access_token": "revoked"}),
    )
    .await;
    let id = fake.seed_status("Vecchio", Timestamp::now());

    let post = connector()
        .post_metrics(&account.account(), &id)
        .await
        .unwrap_err();
    let own = connector()
        .account_metrics(&account.account())
        .await
        .unwrap_err();

    for err in [post, own] {
        assert!(matches!(err, PublishError::AuthExpired(_)), "{err:?}");
        assert!(
            err.to_string().contains("The access token is invalid"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn a_server_error_on_a_metrics_read_is_transient() {
    let (fake, account) = given_an_account().await;
    let id = fake.seed_status("Qualcosa", Timestamp::now());
    fake.faults().inject(
        Method::GET,
        "/api/v1/statuses/",
        1,
        Fault::status(503, r#"{"error":"Service Unavailable"}"#),
    );

    let err = connector()
        .post_metrics(&account.account(), &id)
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::Transient(_)), "{err:?}");
    assert!(err.retryable());
}

/// Moderation: favouriting as the brand and deleting the brand's own reply; no hiding.
mod moderation {
    use palinsesto::domain::inbox::{Incoming, StreamKind};
    use palinsesto::domain::moderation::ModerationAction;
    use palinsesto::networks::{Moderate, ReadInbox, ReplyTo};

    use super::*;

    /// The brand's post, a person's reply to it that keeps the brand's @mention, and that reply
    /// as the inbox reads it.
    async fn given_a_reply_in_the_inbox() -> (FakeMastodon, TestAccount, Incoming) {
        let (fake, account) = given_an_account().await;
        let post = connector()
            .publish(&account.context(), &outgoing("Il nuovo menù d'autunno"))
            .await
            .unwrap();
        fake.add_person("ada", "Ada", 3);
        let reply = fake.reply_as("ada", &post.remote_id, "Che bello!", true, "public");
        let read = connector()
            .read(&account.account(), StreamKind::Notifications, None, &[])
            .await
            .unwrap();
        let found = read
            .found
            .into_iter()
            .find(|i| i.external_id == reply)
            .expect("the reply is read");
        (fake, account, found)
    }

    #[tokio::test]
    async fn mastodon_offers_favouriting_and_deleting_but_hiding_is_refused_without_a_call() {
        let (fake, account, reply) = given_a_reply_in_the_inbox().await;
        let mastodon = connector();
        assert_eq!(
            mastodon.actions(),
            [ModerationAction::Like, ModerationAction::DeleteReply]
        );
        let before = fake.faults().requests();

        for action in [ModerationAction::Hide, ModerationAction::Unhide] {
            let err = mastodon
                .moderate(&account.account(), &reply.target, action)
                .await
                .unwrap_err();
            assert!(matches!(err, PublishError::InvalidContent(_)), "{err:?}");
            assert!(!err.retryable());
            assert!(err.to_string().starts_with("Mastodon cannot"), "{err}");
        }

        assert_eq!(
            fake.faults().requests(),
            before,
            "nothing was asked of Mastodon"
        );
    }

    #[tokio::test]
    async fn a_reply_is_favourited_once_however_often_it_is_liked() {
        let (fake, account, reply) = given_a_reply_in_the_inbox().await;

        for _ in 0..2 {
            connector()
                .moderate(&account.account(), &reply.target, ModerationAction::Like)
                .await
                .unwrap();
        }

        assert_eq!(fake.favourited(), vec![reply.external_id.clone()]);
        assert_eq!(
            fake.faults()
                .requests_to(&Method::POST, &format!("{}/favourite", reply.external_id)),
            2
        );
    }

    #[tokio::test]
    async fn the_brands_reply_is_deleted_and_deleting_it_again_is_harmless() {
        let (fake, account, reply) = given_a_reply_in_the_inbox().await;
        let mastodon = connector();
        let sent = mastodon
            .reply(&account.context(), &reply.target, &outgoing("Grazie Ada!"))
            .await
            .unwrap();
        assert_eq!(fake.replies_to(&reply.external_id).len(), 1);
        let mine = palinsesto::domain::inbox::ReplyTarget {
            id: sent.remote_id.clone(),
            ..reply.target.clone()
        };

        for _ in 0..2 {
            mastodon
                .moderate(&account.account(), &mine, ModerationAction::DeleteReply)
                .await
                .unwrap();
        }

        assert!(fake.replies_to(&reply.external_id).is_empty());
        assert_eq!(fake.deleted(), vec![sent.remote_id]);
        assert_eq!(fake.favourited(), Vec::<String>::new());
    }

    #[tokio::test]
    async fn favouriting_a_deleted_post_is_refused_in_plain_words() {
        let (fake, account, reply) = given_a_reply_in_the_inbox().await;
        fake.delete_status(&reply.external_id);

        let err = connector()
            .moderate(&account.account(), &reply.target, ModerationAction::Like)
            .await
            .unwrap_err();

        assert!(matches!(err, PublishError::InvalidContent(_)), "{err:?}");
        assert!(err.to_string().contains("was deleted"), "{err}");
        assert!(err.to_string().contains("Record not found"), "{err}");
        assert!(fake.favourited().is_empty());
    }

    #[tokio::test]
    async fn a_token_without_the_write_permission_is_told_to_reconnect() {
        let (fake, account, reply) = given_a_reply_in_the_inbox().await;
        fake.faults().inject(
            Method::POST,
            "/api/v1/statuses/",
            1,
            Fault::status(
                403,
                r#"{"error":"This action is outside the authorized scopes"}"#,
            ),
        );

        let err = connector()
            .moderate(&account.account(), &reply.target, ModerationAction::Like)
            .await
            .unwrap_err();

        assert!(matches!(err, PublishError::AuthExpired(_)), "{err:?}");
        assert!(err.to_string().contains("write:favourites"), "{err}");
    }
}
