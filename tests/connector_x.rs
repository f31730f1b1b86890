//! The X connector against its loopback fake: publishing, media, threads, token refresh, error
//! mapping and the read-back after an unknown outcome.

use std::time::Duration;

use axum::http::Method;
use jiff::Timestamp;
use palinsesto::domain::{MediaKind, Network};
use palinsesto::networks::x::XConnector;
use palinsesto::networks::{Publish, PublishError, ReadBack, ReadMetrics};
use palinsesto::outbound::OutboundClient;
use palinsesto_system_tests::accounts::{TestAccount, impatient_http, outbound, outgoing};
use palinsesto_system_tests::fakes::Fault;
use palinsesto_system_tests::fakes::x::{self as fake, FakeX};
use serde_json::{Value, json};

fn connector(x: &FakeX) -> XConnector {
    connector_with(outbound(), x)
}

fn connector_with(http: OutboundClient, x: &FakeX) -> XConnector {
    XConnector::new(http, x.base()).with_polling(Duration::from_millis(5), Duration::from_secs(5))
}

async fn account(credentials: Value) -> TestAccount {
    TestAccount::new(Network::X, json!({}), credentials).await
}

fn bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

#[tokio::test]
async fn a_text_post_is_published_with_its_url() {
    // Given
    let x = FakeX::start().await;
    let account = account(x.credentials()).await;

    // When
    let published = connector(&x)
        .publish(&account.context(), &outgoing("Hello from Palinsesto"))
        .await
        .unwrap();

    // Then
    let tweets = x.tweets();
    assert_eq!(tweets.len(), 1);
    assert_eq!(tweets[0].text, "Hello from Palinsesto");
    assert_eq!(published.remote_id, tweets[0].id);
    assert_eq!(
        published.url.as_deref(),
        Some(format!("https://x.com/i/web/status/{}", tweets[0].id).as_str())
    );
    assert!(published.notes.is_empty());
}

#[tokio::test]
async fn an_image_is_uploaded_in_segments_with_its_alt_text() {
    // Given a 10,000-byte image and 4,096-byte segments
    let x = FakeX::start().await;
    let account = account(x.credentials()).await;
    let image = bytes(10_000);
    let asset = account.media.add(
        MediaKind::Image,
        "image/png",
        image.clone(),
        Some("A red bicycle against a wall"),
    );
    let mut post = outgoing("New colours are in");
    post.media = vec![asset];

    // When
    let published = connector(&x)
        .with_chunk_size(4_096)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    // Then
    let media = x.media();
    assert_eq!(media.len(), 1);
    assert_eq!(media[0].category, "tweet_image");
    assert_eq!(media[0].media_type, "image/png");
    assert_eq!(media[0].segments, 3);
    assert_eq!(media[0].bytes, image);
    assert_eq!(
        media[0].alt_text.as_deref(),
        Some("A red bicycle against a wall")
    );
    let tweet = x.tweet(&published.remote_id).unwrap();
    assert_eq!(tweet.media_ids, vec![media[0].id.clone()]);
}

#[tokio::test]
async fn a_video_is_posted_only_after_x_has_processed_it() {
    // Given X needs three more status checks before the video is ready
    let x = FakeX::start().await;
    x.set_processing(3, None);
    let account = account(x.credentials()).await;
    let asset = account
        .media
        .add(MediaKind::Video, "video/mp4", bytes(50_000), None);
    let mut post = outgoing("Watch the launch");
    post.media = vec![asset];

    // When
    let published = connector(&x)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    // Then
    assert!(x.status_polls() >= 4, "polled {} times", x.status_polls());
    let media = x.media();
    assert_eq!(media[0].category, "tweet_video");
    assert_eq!(media[0].state, "succeeded");
    assert_eq!(
        x.tweet(&published.remote_id).unwrap().media_ids,
        vec![media[0].id.clone()]
    );
}

#[tokio::test]
async fn a_video_x_cannot_process_is_invalid_media_and_nothing_is_posted() {
    // Given
    let x = FakeX::start().await;
    x.set_processing(1, Some("Unsupported video codec"));
    let account = account(x.credentials()).await;
    let asset = account
        .media
        .add(MediaKind::Video, "video/mp4", bytes(1_000), None);
    let mut post = outgoing("Watch this");
    post.media = vec![asset];

    // When
    let err = connector(&x)
        .publish(&account.context(), &post)
        .await
        .unwrap_err();

    // Then
    assert!(
        matches!(&err, PublishError::InvalidMedia(m) if m.contains("Unsupported video codec")),
        "{err:?}"
    );
    assert!(x.tweets().is_empty());
}

#[tokio::test]
async fn a_thread_is_posted_as_a_chain_of_replies() {
    // Given
    let x = FakeX::start().await;
    let account = account(x.credentials()).await;
    let mut post = outgoing("1/3 A story");
    post.thread = vec!["2/3 It goes on".into(), "3/3 The end".into()];

    // When
    let published = connector(&x)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    // Then
    let tweets = x.tweets();
    assert_eq!(tweets.len(), 3);
    assert_eq!(tweets[0].id, published.remote_id);
    assert_eq!(tweets[0].in_reply_to, None);
    assert_eq!(
        tweets[1].in_reply_to.as_deref(),
        Some(tweets[0].id.as_str())
    );
    assert_eq!(
        tweets[2].in_reply_to.as_deref(),
        Some(tweets[1].id.as_str())
    );
    assert!(published.notes.is_empty());
}

#[tokio::test]
async fn a_refused_reply_is_a_note_and_the_post_still_counts() {
    // Given a reply X refuses (a duplicate of an earlier post) in the middle of the thread
    let x = FakeX::start().await;
    x.add_tweet("Same as before", Timestamp::now());
    let account = account(x.credentials()).await;
    let mut post = outgoing("The main post");
    post.thread = vec!["Same as before".into(), "Never reached".into()];

    // When
    let published = connector(&x)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    // Then
    assert_eq!(x.count_with_text("The main post"), 1);
    assert_eq!(x.count_with_text("Never reached"), 0);
    assert_eq!(published.notes.len(), 1);
    assert!(
        published.notes[0].contains("follow-up 1 of 2 was not posted")
            && published.notes[0].contains("duplicate"),
        "{:?}",
        published.notes
    );
}

#[tokio::test]
async fn an_expired_token_is_refreshed_stored_and_the_post_is_made() {
    // Given the stored access token has expired
    let x = FakeX::start().await;
    x.expire_access_token();
    let account = account(x.credentials()).await;

    // When
    let published = connector(&x)
        .publish(&account.context(), &outgoing("After the refresh"))
        .await
        .unwrap();

    // Then
    assert_eq!(x.tokens_refreshed(), 1);
    assert_eq!(
        x.tweet(&published.remote_id).unwrap().text,
        "After the refresh"
    );
    let updates = account.sink.updates();
    assert_eq!(updates.len(), 1);
    let stored: std::collections::HashMap<_, _> = updates[0].iter().cloned().collect();
    assert_eq!(stored.get("access_token"), Some(&x.access_token()));
    assert_eq!(stored.get("refresh_token"), Some(&x.refresh_token()));
    let expires_at: i64 = stored["access_token_expires_at"].parse().unwrap();
    assert!(expires_at > Timestamp::now().as_second() + 7_000);
}

#[tokio::test]
async fn a_token_past_its_expiry_is_refreshed_before_use() {
    // Given the stored expiry has passed
    let x = FakeX::start().await;
    x.expire_access_token();
    let mut credentials = x.credentials();
    credentials["access_token_expires_at"] = json!((Timestamp::now().as_second() - 10).to_string());
    let account = account(credentials).await;

    // When
    connector(&x)
        .publish(&account.context(), &outgoing("Fresh token first"))
        .await
        .unwrap();

    // Then X never had to refuse the old token
    assert_eq!(x.unauthorized_answers(), 0);
    assert_eq!(x.tokens_refreshed(), 1);
}

#[tokio::test]
async fn a_refresh_without_a_new_refresh_token_never_erases_the_old_one() {
    // Given
    let x = FakeX::start().await;
    x.expire_access_token();
    x.omit_refresh_token();
    let account = account(x.credentials()).await;

    // When
    connector(&x)
        .publish(&account.context(), &outgoing("Keep the refresh token"))
        .await
        .unwrap();

    // Then
    let updates = account.sink.updates();
    assert_eq!(updates.len(), 1);
    assert!(
        updates[0]
            .iter()
            .all(|(k, v)| k != "refresh_token" && !v.is_empty()),
        "{:?}",
        updates[0]
    );
    assert_eq!(x.refresh_token(), fake::REFRESH_TOKEN);
}

#[tokio::test]
async fn a_refused_refresh_is_auth_expired() {
    // Given
    let x = FakeX::start().await;
    x.expire_access_token();
    x.refuse_refresh();
    let account = account(x.credentials()).await;

    // When
    let err = connector(&x)
        .publish(&account.context(), &outgoing("Never posted"))
        .await
        .unwrap_err();

    // Then
    assert!(
        matches!(&err, PublishError::AuthExpired(m) if m.contains("connect the channel again")),
        "{err:?}"
    );
    assert!(!err.retryable());
    assert!(x.tweets().is_empty());
    assert!(account.sink.updates().is_empty());
}

#[tokio::test]
async fn an_expired_token_without_a_refresh_token_is_auth_expired() {
    // Given
    let x = FakeX::start().await;
    x.expire_access_token();
    let account = account(json!({"access_token": fake::ACCESS_TOKEN})).await;

    // When
    let err = connector(&x)
        .publish(&account.context(), &outgoing("Never posted"))
        .await
        .unwrap_err();

    // Then
    assert_eq!(err.kind(), "auth_expired");
    assert_eq!(x.tokens_refreshed(), 0);
}

#[tokio::test]
async fn the_same_text_twice_is_a_duplicate() {
    // Given
    let x = FakeX::start().await;
    let account = account(x.credentials()).await;
    let connector = connector(&x);
    connector
        .publish(&account.context(), &outgoing("Only once"))
        .await
        .unwrap();

    // When
    let err = connector
        .publish(&account.context(), &outgoing("Only once"))
        .await
        .unwrap_err();

    // Then
    assert!(matches!(err, PublishError::Duplicate(_)), "{err:?}");
    assert_eq!(x.count_with_text("Only once"), 1);
}

#[tokio::test]
async fn a_used_up_rate_limit_says_when_it_resets() {
    // Given the account has no post creations left in this window
    let x = FakeX::start().await;
    x.limit_posts(0);
    let account = account(x.credentials()).await;

    // When
    let err = connector(&x)
        .publish(&account.context(), &outgoing("Too soon"))
        .await
        .unwrap_err();

    // Then retry_at comes from x-rate-limit-reset
    match err {
        PublishError::RateLimited { retry_at, .. } => assert_eq!(
            retry_at,
            Some(Timestamp::from_second(x.rate_limit_reset()).unwrap())
        ),
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(x.tweets().is_empty());
}

#[tokio::test]
async fn a_server_error_is_transient_and_nothing_is_posted() {
    // Given
    let x = FakeX::start().await;
    x.server.faults.inject(
        Method::POST,
        "/2/tweets",
        1,
        Fault::status(
            500,
            r#"{"title":"Internal Server Error","detail":"Internal Server Error","type":"about:blank","status":500}"#,
        ),
    );
    let account = account(x.credentials()).await;

    // When
    let err = connector(&x)
        .publish(&account.context(), &outgoing("Try later"))
        .await
        .unwrap_err();

    // Then
    assert!(matches!(err, PublishError::Transient(_)), "{err:?}");
    assert!(err.retryable());
    assert!(x.tweets().is_empty());
}

#[tokio::test]
async fn a_forbidden_action_is_auth_expired_with_x_s_words() {
    // Given
    let x = FakeX::start().await;
    x.server.faults.inject(
        Method::POST,
        "/2/tweets",
        1,
        Fault::status(
            403,
            r#"{"title":"Forbidden","detail":"You are not permitted to perform this action.","type":"about:blank","status":403}"#,
        ),
    );
    let account = account(x.credentials()).await;

    // When
    let err = connector(&x)
        .publish(&account.context(), &outgoing("Not allowed"))
        .await
        .unwrap_err();

    // Then
    assert!(
        matches!(&err, PublishError::AuthExpired(m) if m.contains("You are not permitted to perform this action.")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_text_x_refuses_is_invalid_content() {
    // Given a text over 280 characters
    let x = FakeX::start().await;
    let account = account(x.credentials()).await;

    // When
    let err = connector(&x)
        .publish(&account.context(), &outgoing(&"a".repeat(300)))
        .await
        .unwrap_err();

    // Then
    assert!(
        matches!(&err, PublishError::InvalidContent(m) if m.contains("too long")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_dropped_answer_is_an_unknown_outcome_and_the_read_back_finds_the_post() {
    // Given X makes the post, then the connection drops before its answer
    let x = FakeX::start().await;
    x.server
        .faults
        .inject(Method::POST, "/2/tweets", 1, Fault::DropAfterReceive);
    let account = account(x.credentials()).await;
    // X shows URLs as t.co links and escapes "&" in timelines.
    let post = outgoing("Launch & more: https://example.com/launch?utm=x");
    let connector = connector(&x);

    // When
    let err = connector
        .publish(&account.context(), &post)
        .await
        .unwrap_err();

    // Then
    assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");
    assert_eq!(x.count_with_text(&post.text), 1);
    let made = x.tweets()[0].id.clone();
    match connector
        .find_published(&account.context(), &post)
        .await
        .unwrap()
    {
        ReadBack::Found(found) => {
            assert_eq!(found.remote_id, made);
            assert_eq!(
                found.url.as_deref(),
                Some(format!("https://x.com/i/web/status/{made}").as_str())
            );
        }
        other => panic!("expected Found, got {other:?}"),
    }
}

#[tokio::test]
async fn a_late_answer_is_an_unknown_outcome_and_the_read_back_finds_the_post() {
    // Given X makes the post but answers after the client gave up
    let x = FakeX::start().await;
    x.server.faults.inject(
        Method::POST,
        "/2/tweets",
        1,
        Fault::AnswerLate(Duration::from_secs(3)),
    );
    let account = account(x.credentials()).await;
    let connector = connector_with(impatient_http(), &x);
    let image = account
        .media
        .add(MediaKind::Image, "image/jpeg", bytes(2_000), None);
    let mut post = outgoing("Slow network day");
    post.media = vec![image];

    // When
    let err = connector
        .publish(&account.context(), &post)
        .await
        .unwrap_err();

    // Then
    assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");
    let made = x.tweets()[0].id.clone();
    assert_eq!(
        connector
            .find_published(&account.context(), &post)
            .await
            .unwrap(),
        ReadBack::Found(palinsesto::networks::Published::new(
            made.clone(),
            Some(format!("https://x.com/i/web/status/{made}"))
        ))
    );
}

#[tokio::test]
async fn a_post_never_made_is_not_found() {
    // Given other posts in the window and an identical one from before it
    let x = FakeX::start().await;
    x.add_tweet("Something else", Timestamp::now());
    x.add_tweet(
        "Never made",
        Timestamp::now() - jiff::SignedDuration::from_hours(2),
    );
    let account = account(x.credentials()).await;
    let connector = connector(&x);
    let post = outgoing("Never made");

    // When
    let first = connector
        .find_published(&account.context(), &post)
        .await
        .unwrap();
    let second = connector
        .find_published(&account.context(), &post)
        .await
        .unwrap();

    // Then
    assert_eq!(first, ReadBack::NotFound);
    assert_eq!(second, ReadBack::NotFound);
    assert_eq!(x.users_me_calls(), 1, "the user id is looked up once");
}

#[tokio::test]
async fn the_read_back_of_a_thread_says_its_replies_were_not_posted() {
    // Given
    let x = FakeX::start().await;
    x.server
        .faults
        .inject(Method::POST, "/2/tweets", 1, Fault::DropAfterReceive);
    let account = account(x.credentials()).await;
    let mut post = outgoing("Thread start");
    post.thread = vec!["Thread reply".into()];
    let connector = connector(&x);

    // When
    let err = connector
        .publish(&account.context(), &post)
        .await
        .unwrap_err();
    let read_back = connector
        .find_published(&account.context(), &post)
        .await
        .unwrap();

    // Then
    assert_eq!(err.kind(), "unknown_outcome");
    assert_eq!(x.tweets().len(), 1);
    match read_back {
        ReadBack::Found(found) => assert!(
            found.notes.iter().any(|n| n.contains("follow-up")),
            "{:?}",
            found.notes
        ),
        other => panic!("expected Found, got {other:?}"),
    }
}

// Metrics: public metrics of a post (link clicks while X still gives them) and the followers.

fn metrics(likes: u64, impressions: u64) -> fake::PublicMetrics {
    fake::PublicMetrics {
        like_count: likes,
        retweet_count: 2,
        reply_count: 3,
        quote_count: 1,
        impression_count: impressions,
        bookmark_count: 4,
    }
}

#[tokio::test]
async fn a_recent_posts_metrics_include_link_clicks_in_one_call_and_follow_the_post() {
    // Given a post published today, with some engagement and link clicks
    let x = FakeX::start().await;
    let account = account(x.credentials()).await;
    let connector = connector(&x);
    let id = connector
        .publish(&account.context(), &outgoing("Read my link"))
        .await
        .unwrap()
        .remote_id;
    x.set_public_metrics(&id, metrics(5, 300));
    x.set_link_clicks(&id, 9);

    // When it is read, then read again after it got more likes and views
    let first = connector
        .post_metrics(&account.account(), &id)
        .await
        .unwrap();
    x.set_public_metrics(&id, metrics(8, 520));
    let second = connector
        .post_metrics(&account.account(), &id)
        .await
        .unwrap();

    // Then
    let c = &first.counters;
    assert_eq!(
        (c.likes, c.reposts, c.replies, c.quotes, c.views, c.saves),
        (Some(5), Some(2), Some(3), Some(1), Some(300), Some(4))
    );
    assert_eq!(c.clicks, Some(9));
    assert_eq!(second.counters.likes, Some(8));
    assert_eq!(second.counters.views, Some(520));
    // X reports no reach for posts: not available
    assert_eq!(second.counters.reach, None);
    assert_eq!(second.counters.followers, None);
    assert_eq!(second.raw["public_metrics"]["like_count"], json!(8));
    assert_eq!(
        second.raw["non_public_metrics"]["url_link_clicks"],
        json!(9)
    );
    assert_eq!(x.tweet_lookups(), (2, 2), "one lookup per reading");
}

#[tokio::test]
async fn a_post_over_30_days_old_is_read_without_asking_for_link_clicks() {
    // Given a post made 40 days ago
    let x = FakeX::start().await;
    let account = account(x.credentials()).await;
    let old = Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(40 * 24))
        .unwrap();
    let id = x.add_tweet("An old post", old);
    x.set_public_metrics(&id, metrics(50, 9000));

    // When
    let reading = connector(&x)
        .post_metrics(&account.account(), &id)
        .await
        .unwrap();

    // Then its public figures are read, and link clicks are not available
    assert_eq!(reading.counters.likes, Some(50));
    assert_eq!(reading.counters.views, Some(9000));
    assert_eq!(reading.counters.clicks, None);
    assert_eq!(x.tweet_lookups(), (1, 0));
}

#[tokio::test]
async fn refused_non_public_metrics_still_give_the_public_ones() {
    // Given an app that may not read non-public metrics
    let x = FakeX::start().await;
    x.refuse_non_public_metrics();
    let account = account(x.credentials()).await;
    let connector = connector(&x);
    let id = connector
        .publish(&account.context(), &outgoing("Public only"))
        .await
        .unwrap()
        .remote_id;
    x.set_public_metrics(&id, metrics(6, 100));

    // When
    let reading = connector
        .post_metrics(&account.account(), &id)
        .await
        .unwrap();

    // Then
    assert_eq!(reading.counters.likes, Some(6));
    assert_eq!(reading.counters.views, Some(100));
    assert_eq!(reading.counters.clicks, None);
    assert!(reading.raw.get("non_public_metrics").is_none());
    assert_eq!(x.tweet_lookups(), (2, 1));
}

#[tokio::test]
async fn a_deleted_post_is_a_clear_error() {
    // Given
    let x = FakeX::start().await;
    let account = account(x.credentials()).await;
    let connector = connector(&x);
    let id = connector
        .publish(&account.context(), &outgoing("Gone soon"))
        .await
        .unwrap()
        .remote_id;
    x.delete_tweet(&id);

    // When
    let err = connector
        .post_metrics(&account.account(), &id)
        .await
        .unwrap_err();

    // Then
    assert!(matches!(err, PublishError::InvalidContent(_)), "{err:?}");
    assert!(!err.retryable());
    let message = err.to_string();
    assert!(message.contains("deleted or is not visible"), "{message}");
    assert!(message.contains("Could not find tweet"), "{message}");
    assert_eq!(x.tweet_lookups(), (1, 1), "X's answer is not asked twice");
}

#[tokio::test]
async fn a_rate_limited_metrics_read_says_when_it_resets() {
    // Given
    let x = FakeX::start().await;
    let account = account(x.credentials()).await;
    let connector = connector(&x);
    let id = connector
        .publish(&account.context(), &outgoing("Count me later"))
        .await
        .unwrap()
        .remote_id;
    let reset = Timestamp::now().as_second() + 600;
    x.server.faults.inject(
        Method::GET,
        "/2/tweets/",
        1,
        Fault::status_with_headers(
            429,
            &[
                ("x-rate-limit-limit", "900"),
                ("x-rate-limit-remaining", "0"),
                ("x-rate-limit-reset", &reset.to_string()),
            ],
            r#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#,
        ),
    );

    // When
    let err = connector
        .post_metrics(&account.account(), &id)
        .await
        .unwrap_err();

    // Then
    match err {
        PublishError::RateLimited { retry_at, .. } => {
            assert_eq!(retry_at, Some(Timestamp::from_second(reset).unwrap()))
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn an_expired_token_is_refreshed_for_a_metrics_read() {
    // Given
    let x = FakeX::start().await;
    let id = x.add_tweet("Already there", Timestamp::now());
    x.set_public_metrics(&id, metrics(2, 40));
    x.expire_access_token();
    let account = account(x.credentials()).await;

    // When
    let reading = connector(&x)
        .post_metrics(&account.account(), &id)
        .await
        .unwrap();

    // Then
    assert_eq!(reading.counters.likes, Some(2));
    assert_eq!(x.tokens_refreshed(), 1);
    assert_eq!(account.sink.updates().len(), 1, "the new token is stored");
}

#[tokio::test]
async fn a_refused_token_on_a_metrics_read_is_auth_expired() {
    // Given
    let x = FakeX::start().await;
    let id = x.add_tweet("Hidden", Timestamp::now());
    x.expire_access_token();
    x.refuse_refresh();
    let account = account(x.credentials()).await;

    // When
    let post = connector(&x)
        .post_metrics(&account.account(), &id)
        .await
        .unwrap_err();
    let own = connector(&x)
        .account_metrics(&account.account())
        .await
        .unwrap_err();

    // Then
    for err in [post, own] {
        assert!(matches!(err, PublishError::AuthExpired(_)), "{err:?}");
        assert!(
            err.to_string().contains("connect the channel again"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn the_accounts_followers_are_read_from_its_public_metrics() {
    // Given
    let x = FakeX::start().await;
    x.set_followers(4321);
    let account = account(x.credentials()).await;
    let connector = connector(&x);

    // When
    let first = connector.account_metrics(&account.account()).await.unwrap();
    x.set_followers(4400);
    let second = connector.account_metrics(&account.account()).await.unwrap();

    // Then
    assert_eq!(first.counters.followers, Some(4321));
    assert_eq!(second.counters.followers, Some(4400));
    assert_eq!(second.counters.likes, None);
    assert_eq!(second.raw["public_metrics"]["followers_count"], json!(4400));
}

// The community inbox: mentions, conversations and the brand's own replies (opt-in, billed),
// answers under X's reply rule, moderation and webhook deliveries.

mod inbox {
    use palinsesto::domain::inbox::{Incoming, InteractionKind, StreamKind};
    use palinsesto::domain::moderation::ModerationAction;
    use palinsesto::networks::{InboxRead, Moderate, ParsePush, ReadInbox, ReplyTo};

    use super::*;

    async fn reading_account(x: &FakeX) -> TestAccount {
        TestAccount::new(Network::X, json!({"read_inbox": true}), x.credentials()).await
    }

    async fn read(
        x: &FakeX,
        account: &TestAccount,
        stream: StreamKind,
        cursor: Option<&str>,
        recent: &[String],
    ) -> InboxRead {
        connector(x)
            .read(&account.account(), stream, cursor, recent)
            .await
            .unwrap()
    }

    fn found<'r>(read: &'r InboxRead, id: &str) -> &'r Incoming {
        read.found
            .iter()
            .find(|f| f.external_id == id)
            .unwrap_or_else(|| panic!("{id} not in {:?}", read.found))
    }

    /// The brand's post, and people: ada mentions the brand, bob answers the post naming it,
    /// cleo answers without naming it, dan quotes the post naming it.
    struct World {
        x: FakeX,
        account: TestAccount,
        post: String,
        ada: String,
        bob: String,
        cleo: String,
        dan: String,
    }

    async fn world() -> World {
        let x = FakeX::start().await;
        let account = reading_account(&x).await;
        let post = connector(&x)
            .publish(&account.context(), &outgoing("Our new blend is out"))
            .await
            .unwrap()
            .remote_id;
        x.add_user("11", "ada", "Ada", 120);
        x.add_user("12", "bob", "Bob", 7);
        x.add_user("13", "cleo", "Cleo", 3);
        x.add_user("14", "dan", "Dan", 1);
        let ada = x.post_as("11", "@acme is the shop open?", None, None);
        let bob = x.post_as("12", "@acme where can I buy it?", Some(&post), None);
        let cleo = x.post_as("13", "looks great", Some(&post), None);
        let dan = x.post_as("14", "@acme finally!", None, Some(&post));
        World {
            x,
            account,
            post,
            ada,
            bob,
            cleo,
            dan,
        }
    }

    #[tokio::test]
    async fn nothing_is_read_without_read_inbox_since_x_bills_every_post_read() {
        let x = FakeX::start().await;
        x.add_user("11", "ada", "Ada", 1);
        x.post_as("11", "@acme hi", None, None);
        for settings in [json!({}), json!({"read_inbox": false})] {
            let account = TestAccount::new(Network::X, settings, x.credentials()).await;
            let before = x.server.faults.requests();
            for stream in [
                StreamKind::Notifications,
                StreamKind::Threads,
                StreamKind::Own,
            ] {
                let read = read(&x, &account, stream, None, &["1".into()]).await;
                assert!(read.found.is_empty() && read.native.is_empty() && read.cursor.is_none());
            }
            assert_eq!(x.server.faults.requests(), before, "no call at all");
        }
        assert_eq!(x.posts_read(), 0);
    }

    #[tokio::test]
    async fn mentions_quotes_and_replies_are_read_once_with_their_authors() {
        let w = world().await;
        let recent = vec![w.post.clone()];
        let mentions = read(&w.x, &w.account, StreamKind::Notifications, None, &recent).await;
        assert_eq!(mentions.found.len(), 3, "{:?}", mentions.found);
        let ada = found(&mentions, &w.ada);
        assert_eq!(ada.kind, InteractionKind::Mention);
        assert_eq!(ada.author.handle, "@ada");
        assert_eq!(ada.author.name, "Ada");
        assert_eq!(ada.author.followers, Some(120));
        assert_eq!(
            ada.permalink.as_deref(),
            Some(format!("https://x.com/ada/status/{}", w.ada).as_str())
        );
        assert_eq!(ada.target.id, w.ada);
        let bob = found(&mentions, &w.bob);
        assert_eq!(
            bob.kind,
            InteractionKind::Reply,
            "an answer to the brand's post"
        );
        assert_eq!(bob.parent.as_deref(), Some(w.post.as_str()));
        assert_eq!(bob.target.chat.as_deref(), Some(w.post.as_str()));
        assert_eq!(found(&mentions, &w.dan).kind, InteractionKind::Quote);
        assert!(mentions.found.iter().all(|f| f.external_id != w.cleo));

        // the conversation of the brand's post holds the reply that did not name it
        let threads = read(&w.x, &w.account, StreamKind::Threads, None, &recent).await;
        let cleo = found(&threads, &w.cleo);
        assert_eq!(cleo.kind, InteractionKind::Reply);
        assert_eq!(cleo.text, "looks great");
        assert_eq!(found(&threads, &w.bob).external_id, bob.external_id);

        // the next reads bring only what is new
        let cursor = mentions.cursor.clone().expect("a cursor");
        let again = read(
            &w.x,
            &w.account,
            StreamKind::Notifications,
            Some(&cursor),
            &recent,
        )
        .await;
        assert!(again.found.is_empty(), "{:?}", again.found);
        let eve = w.x.post_as("11", "@acme one more thing", None, None);
        let next = read(
            &w.x,
            &w.account,
            StreamKind::Notifications,
            Some(&cursor),
            &recent,
        )
        .await;
        assert_eq!(next.found.len(), 1);
        assert_eq!(next.found[0].external_id, eve);
        let t_cursor = threads.cursor.clone().expect("a cursor");
        let t_again = read(
            &w.x,
            &w.account,
            StreamKind::Threads,
            Some(&t_cursor),
            &recent,
        )
        .await;
        assert!(t_again.found.is_empty());

        // 429 with X's reset time
        let reset = Timestamp::now().as_second() + 600;
        w.x.rate_limit_next_read(&format!("/2/users/{}/mentions", fake::USER_ID), reset);
        let err = connector(&w.x)
            .read(
                &w.account.account(),
                StreamKind::Notifications,
                Some(&cursor),
                &recent,
            )
            .await
            .unwrap_err();
        let PublishError::RateLimited { retry_at, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!(retry_at.map(|t| t.as_second()), Some(reset));
    }

    #[tokio::test]
    async fn a_reply_is_made_once_a_lost_one_is_found_and_x_refusing_one_is_plain() {
        let w = world().await;
        let x = connector(&w.x);
        let mentions = read(&w.x, &w.account, StreamKind::Notifications, None, &[]).await;
        let sent = x
            .reply(
                &w.account.context(),
                &found(&mentions, &w.ada).target,
                &outgoing("Yes, 9 to 18"),
            )
            .await
            .unwrap();
        let replies = w.x.replies_to(&w.ada);
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0].id, sent.remote_id);

        // the brand's own answers come back as native replies
        let own = read(&w.x, &w.account, StreamKind::Own, None, &[]).await;
        assert!(
            own.native
                .iter()
                .any(|n| n.external_id == sent.remote_id && n.parent == w.ada),
            "{:?}",
            own.native
        );

        // the answer to Bob is lost: the read-back finds it, nobody sends it again
        let target = found(&mentions, &w.bob).target.clone();
        let reply = outgoing("At our shop in via Roma");
        w.x.lose_next_post_answer();
        let err = x
            .reply(&w.account.context(), &target, &reply)
            .await
            .unwrap_err();
        assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");
        let ReadBack::Found(found_back) = x
            .find_reply(&w.account.context(), &target, &reply)
            .await
            .unwrap()
        else {
            panic!("the lost reply is found")
        };
        let replies = w.x.replies_to(&w.bob);
        assert_eq!(replies.len(), 1, "exactly once");
        assert_eq!(found_back.remote_id, replies[0].id);
        assert_eq!(
            x.find_reply(
                &w.account.context(),
                &found(&mentions, &w.dan).target,
                &reply
            )
            .await
            .unwrap(),
            ReadBack::NotFound
        );

        // Cleo did not name the brand: X refuses, in plain words, for good
        let threads = read(
            &w.x,
            &w.account,
            StreamKind::Threads,
            None,
            std::slice::from_ref(&w.post),
        )
        .await;
        let err = x
            .reply(
                &w.account.context(),
                &found(&threads, &w.cleo).target,
                &outgoing("Thanks!"),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, PublishError::InvalidContent(_)), "{err:?}");
        assert!(!err.retryable());
        assert!(err.to_string().contains("mention or quote"), "{err}");
        assert!(w.x.replies_to(&w.cleo).is_empty());
    }

    #[tokio::test]
    async fn replies_are_hidden_and_unhidden_posts_liked_and_the_brands_replies_deleted() {
        let w = world().await;
        let x = connector(&w.x);
        assert_eq!(
            x.actions(),
            [
                ModerationAction::Hide,
                ModerationAction::Unhide,
                ModerationAction::Like,
                ModerationAction::DeleteReply
            ]
        );
        let threads = read(
            &w.x,
            &w.account,
            StreamKind::Threads,
            None,
            std::slice::from_ref(&w.post),
        )
        .await;
        let cleo = found(&threads, &w.cleo).target.clone();
        let account = w.account.account();
        for _ in 0..2 {
            x.moderate(&account, &cleo, ModerationAction::Hide)
                .await
                .unwrap();
        }
        assert_eq!(w.x.hidden(), vec![w.cleo.clone()]);
        x.moderate(&account, &cleo, ModerationAction::Unhide)
            .await
            .unwrap();
        assert!(w.x.hidden().is_empty());
        x.moderate(&account, &cleo, ModerationAction::Like)
            .await
            .unwrap();
        assert_eq!(w.x.likes(), vec![w.cleo.clone()]);

        let mentions = read(&w.x, &w.account, StreamKind::Notifications, None, &[]).await;
        let sent = x
            .reply(
                &w.account.context(),
                &found(&mentions, &w.ada).target,
                &outgoing("Yes!"),
            )
            .await
            .unwrap();
        let mut mine = found(&mentions, &w.ada).target.clone();
        mine.id = sent.remote_id.clone();
        for _ in 0..2 {
            x.moderate(&account, &mine, ModerationAction::DeleteReply)
                .await
                .unwrap();
        }
        assert!(w.x.replies_to(&w.ada).is_empty());
    }

    #[tokio::test]
    async fn webhook_deliveries_name_the_same_posts_as_the_reads() {
        let w = world().await;
        let recent = vec![w.post.clone()];
        let mentions = read(&w.x, &w.account, StreamKind::Notifications, None, &recent).await;
        let threads = read(&w.x, &w.account, StreamKind::Threads, None, &recent).await;
        let x = connector(&w.x);
        for id in [&w.ada, &w.bob, &w.dan] {
            let pushed = x.parse(&w.x.account_activity_body(id)).unwrap();
            assert_eq!(pushed.len(), 1);
            assert_eq!(pushed[0].account, fake::USER_ID);
            let polled = found(&mentions, id);
            let from_push = &pushed[0].found[0];
            assert_eq!(from_push.external_id, polled.external_id);
            assert_eq!(from_push.kind, polled.kind, "{id}");
            assert_eq!(from_push.author.handle, polled.author.handle);
        }
        let pushed = x
            .parse(&w.x.activity_event_body("post.reply.create", &w.cleo))
            .unwrap();
        assert_eq!(pushed[0].account, fake::USER_ID);
        assert_eq!(
            pushed[0].found[0].external_id,
            found(&threads, &w.cleo).external_id
        );
        assert_eq!(pushed[0].found[0].kind, InteractionKind::Reply);
        let pushed = x
            .parse(&w.x.activity_event_body("post.mention.create", &w.ada))
            .unwrap();
        assert_eq!(pushed[0].found[0].external_id, w.ada);
        assert!(x.parse(b"[]").is_err());

        // the signature and CRC a hook checks, as X documents them
        let body = w.x.account_activity_body(&w.ada);
        let signature = fake::webhook_signature("consumer-secret", &body);
        assert!(signature.starts_with("sha256=") && signature.len() == 7 + 44);
        let crc = fake::crc_response("consumer-secret", "challenge");
        assert!(
            crc["response_token"]
                .as_str()
                .unwrap()
                .starts_with("sha256=")
        );
    }
}

#[tokio::test]
async fn the_account_is_subscribed_to_the_deployments_webhook_per_event_and_unsubscribed() {
    use palinsesto::networks::{Callback, Subscribe};
    let x = FakeX::start().await;
    let account = account(x.credentials()).await;
    let callback = Callback {
        url: "https://api.example.com/hooks/x",
        secret: None,
        registration: Some("webhook-77"),
    };
    let made = connector(&x)
        .subscribe(&account.account(), &callback)
        .await
        .unwrap();
    assert_eq!(made.account, fake::USER_ID);
    let subscriptions = x.activity_subscriptions();
    let events: Vec<&str> = subscriptions.iter().map(|s| s.1.as_str()).collect();
    assert_eq!(
        events,
        [
            "post.mention.create",
            "post.reply.create",
            "post.quote.create"
        ]
    );
    assert!(
        subscriptions
            .iter()
            .all(|s| s.2 == fake::USER_ID && s.3 == "webhook-77"),
        "{subscriptions:?}"
    );
    assert_eq!(made.remote.len(), 3);
    connector(&x)
        .unsubscribe(&account.account(), &made, &callback)
        .await
        .unwrap();
    assert!(x.activity_subscriptions().is_empty());
    // without the deployment's webhook id nothing is made, in plain words
    let err = connector(&x)
        .subscribe(
            &account.account(),
            &Callback {
                registration: None,
                ..callback
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("X_WEBHOOK_ID"), "{err}");
    assert!(x.activity_subscriptions().is_empty());
}
