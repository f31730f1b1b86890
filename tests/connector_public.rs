//! Competitors read through the networks' public APIs, against the loopback fakes: a Mastodon
//! account through its server, a Bluesky actor through the AppView; their followers and recent
//! posts (no replies, no reposts), and every refusal in plain words.

use axum::http::Method;
use jiff::Timestamp;
use palinsesto::domain::{Competitor, CompetitorFields, Network};
use palinsesto::networks::PublishError;
use palinsesto::networks::public::{PublicAccounts, PublicReader};
use palinsesto_system_tests::accounts::outbound;
use palinsesto_system_tests::fakes::Fault;
use palinsesto_system_tests::fakes::bluesky::{FakeBluesky, PostCounts};
use palinsesto_system_tests::fakes::mastodon::FakeMastodon;
use serde_json::json;

fn competitor(network: Network, handle: &str, server: Option<&str>) -> Competitor {
    let fields = CompetitorFields::parse(network, handle, Some("Rival"), server).unwrap();
    Competitor::new(fields, Timestamp::now())
}

/// A reader whose default AppView is the fake Bluesky.
fn reader_for(bluesky: &FakeBluesky) -> PublicReader {
    PublicReader::new(outbound()).with_bluesky_appview(bluesky.base())
}

/// A reader whose default AppView is nowhere: competitors must name their own server.
fn reader() -> PublicReader {
    PublicReader::new(outbound()).with_bluesky_appview("http://127.0.0.1:9")
}

// Mastodon

#[tokio::test]
async fn a_mastodon_competitor_is_read_with_its_recent_posts_newest_first() {
    // given a public account with three posts, a reply to itself and a boost
    let fake = FakeMastodon::start().await;
    let seeded = fake.seed_public_account("rival", 870, &["uno", "due", "tre"]);
    fake.add_public_reply("rival", "tre, continua");
    fake.add_public_reblog("rival");
    fake.set_status_counts(&seeded.status_ids[2], 11, 3, 2);
    let rival = competitor(Network::Mastodon, "rival@social.example", Some(fake.base()));

    // when it is read
    let profile = reader().profile(&rival).await.unwrap();

    // then its followers and post count come from its account
    assert_eq!(profile.counters.followers, Some(870));
    assert_eq!(profile.counters.likes, None);
    assert_eq!(profile.posts_count, Some(5));
    assert_eq!(profile.raw["username"], json!("rival"));
    // and its own posts only, newest first, with their counters and links
    let ids: Vec<&str> = profile.recent_posts.iter().map(|p| p.id.as_str()).collect();
    let expected: Vec<&str> = seeded.status_ids.iter().rev().map(String::as_str).collect();
    assert_eq!(ids, expected, "no reply, no boost");
    let newest = &profile.recent_posts[0];
    assert_eq!(newest.counters.likes, Some(11));
    assert_eq!(newest.counters.reposts, Some(3));
    assert_eq!(newest.counters.replies, Some(2));
    assert_eq!(
        newest.counters.quotes, None,
        "a 4.3 server counts no quotes"
    );
    assert_eq!(newest.counters.views, None);
    assert_eq!(
        newest.url.as_deref(),
        Some(format!("{}/@rival/{}", fake.base(), seeded.status_ids[2]).as_str())
    );
    assert!(profile.recent_posts[0].created_at > profile.recent_posts[1].created_at);
}

#[tokio::test]
async fn a_mastodon_competitors_figures_change_between_readings() {
    let fake = FakeMastodon::start().await;
    let seeded = fake.seed_public_account("rival", 100, &["post"]);
    let rival = competitor(Network::Mastodon, "rival", Some(fake.base()));
    let reader = reader();

    let before = reader.profile(&rival).await.unwrap();
    fake.set_public_followers("rival", 130);
    fake.set_status_counts(&seeded.status_ids[0], 4, 0, 1);
    let after = reader.profile(&rival).await.unwrap();

    assert_eq!(before.counters.followers, Some(100));
    assert_eq!(before.recent_posts[0].counters.likes, Some(0));
    assert_eq!(after.counters.followers, Some(130));
    assert_eq!(after.recent_posts[0].counters.likes, Some(4));
}

#[tokio::test]
async fn an_unknown_mastodon_account_is_named_in_plain_words() {
    let fake = FakeMastodon::start().await;
    let ghost = competitor(Network::Mastodon, "ghost@social.example", Some(fake.base()));

    let err = reader().profile(&ghost).await.unwrap_err();

    assert!(matches!(err, PublishError::Misconfigured(_)), "{err:?}");
    assert!(!err.retryable());
    let message = err.to_string();
    assert!(
        message.contains("no such public account ghost@social.example on Mastodon"),
        "{message}"
    );
    assert!(message.contains("Record not found"), "{message}");
}

#[tokio::test]
async fn a_mastodon_server_that_rate_limits_says_when_to_read_again() {
    let fake = FakeMastodon::start().await;
    fake.seed_public_account("rival", 1, &["post"]);
    fake.exhaust_rate_limit();
    let rival = competitor(Network::Mastodon, "rival", Some(fake.base()));

    let err = reader().profile(&rival).await.unwrap_err();

    let PublishError::RateLimited { retry_at, .. } = &err else {
        panic!("expected RateLimited, got {err:?}");
    };
    let off = retry_at
        .expect("the reset from X-RateLimit-Reset")
        .duration_since(fake.rate_limit_reset())
        .abs();
    assert!(off < jiff::SignedDuration::from_millis(1), "off by {off:?}");
}

#[tokio::test]
async fn a_mastodon_server_that_wants_a_login_cannot_be_watched() {
    let fake = FakeMastodon::start().await;
    fake.seed_public_account("rival", 1, &["post"]);
    fake.faults().inject(
        Method::GET,
        "/api/v1/accounts/lookup",
        1,
        Fault::status(
            401,
            r#"{"error":"This API requires an authenticated user"}"#,
        ),
    );
    let rival = competitor(Network::Mastodon, "rival", Some(fake.base()));

    let err = reader().profile(&rival).await.unwrap_err();

    assert!(matches!(err, PublishError::Misconfigured(_)), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("without signing in"), "{message}");
    assert!(
        message.contains("requires an authenticated user"),
        "{message}"
    );
}

// Bluesky

#[tokio::test]
async fn a_bluesky_competitor_is_read_through_the_appview_with_its_recent_posts() {
    // given a public actor with two posts, a reply and a repost of someone else's post
    let fake = FakeBluesky::start().await;
    let seeded = fake.seed_public_actor("rival.bsky.social", 5400, &["primo", "secondo"]);
    fake.add_public_reply("rival.bsky.social", "secondo, continua");
    let reposted = fake.add_public_repost("rival.bsky.social");
    fake.set_post_counts(
        &seeded.post_uris[1],
        PostCounts {
            likes: 30,
            reposts: 5,
            replies: 4,
            quotes: 2,
            bookmarks: Some(6),
        },
    );
    let rival = competitor(Network::Bluesky, "@rival.bsky.social", None);

    // when it is read through the (default) AppView
    let profile = reader_for(&fake).profile(&rival).await.unwrap();

    // then its followers and post count come from its profile
    assert_eq!(profile.counters.followers, Some(5400));
    assert_eq!(profile.posts_count, Some(3));
    assert_eq!(profile.raw["did"], json!(seeded.did));
    // and its own top-level posts only, newest first
    let ids: Vec<&str> = profile.recent_posts.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![seeded.post_uris[1].as_str(), seeded.post_uris[0].as_str()]
    );
    assert!(!ids.contains(&reposted.as_str()));
    let newest = &profile.recent_posts[0];
    let c = &newest.counters;
    assert_eq!(
        (c.likes, c.reposts, c.replies, c.quotes, c.saves),
        (Some(30), Some(5), Some(4), Some(2), Some(6))
    );
    assert_eq!(c.views, None, "Bluesky counts no views");
    let rkey = seeded.post_uris[1].rsplit('/').next().unwrap();
    assert_eq!(
        newest.url.as_deref(),
        Some(format!("https://bsky.app/profile/rival.bsky.social/post/{rkey}").as_str())
    );
    assert!(newest.created_at > profile.recent_posts[1].created_at);
}

#[tokio::test]
async fn a_bluesky_competitor_with_its_own_server_is_read_there() {
    let fake = FakeBluesky::start().await;
    let seeded = fake.seed_public_actor("rival.example.com", 12, &["ciao"]);
    fake.set_likes(&seeded.post_uris[0], 3);
    let rival = competitor(Network::Bluesky, "rival.example.com", Some(fake.base()));

    let before = reader().profile(&rival).await.unwrap();
    fake.set_public_followers("rival.example.com", 15);
    fake.set_likes(&seeded.post_uris[0], 8);
    let after = reader().profile(&rival).await.unwrap();

    assert_eq!(before.counters.followers, Some(12));
    assert_eq!(before.recent_posts[0].counters.likes, Some(3));
    assert_eq!(before.recent_posts[0].counters.saves, None);
    assert_eq!(after.counters.followers, Some(15));
    assert_eq!(after.recent_posts[0].counters.likes, Some(8));
}

#[tokio::test]
async fn an_unknown_bluesky_actor_is_named_in_plain_words() {
    let fake = FakeBluesky::start().await;
    let ghost = competitor(Network::Bluesky, "ghost.bsky.social", None);

    let err = reader_for(&fake).profile(&ghost).await.unwrap_err();

    assert!(matches!(err, PublishError::Misconfigured(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("no such public account ghost.bsky.social on Bluesky"),
        "{message}"
    );
    assert!(message.contains("Profile not found"), "{message}");
}

#[tokio::test]
async fn a_rate_limited_appview_says_when_to_read_again() {
    let fake = FakeBluesky::start().await;
    fake.seed_public_actor("rival.bsky.social", 1, &["post"]);
    fake.server.faults.inject(
        Method::GET,
        "/xrpc/app.bsky.feed.getAuthorFeed",
        1,
        Fault::status_with_headers(
            429,
            &[
                ("ratelimit-remaining", "0"),
                ("ratelimit-reset", "1900000900"),
            ],
            r#"{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}"#,
        ),
    );
    let rival = competitor(Network::Bluesky, "rival.bsky.social", None);

    let err = reader_for(&fake).profile(&rival).await.unwrap_err();

    let PublishError::RateLimited { retry_at, message } = &err else {
        panic!("expected RateLimited, got {err:?}");
    };
    assert_eq!(
        *retry_at,
        Some(Timestamp::from_second(1_900_000_900).unwrap())
    );
    assert!(message.contains("rival.bsky.social"), "{message}");
}

#[tokio::test]
async fn an_appview_server_error_is_transient() {
    let fake = FakeBluesky::start().await;
    fake.seed_public_actor("rival.bsky.social", 1, &["post"]);
    fake.server.faults.inject(
        Method::GET,
        "/xrpc/app.bsky.actor.getProfile",
        1,
        Fault::status(
            502,
            r#"{"error":"UpstreamFailure","message":"Upstream Failure"}"#,
        ),
    );
    let rival = competitor(Network::Bluesky, "rival.bsky.social", None);

    let err = reader_for(&fake).profile(&rival).await.unwrap_err();

    assert!(matches!(err, PublishError::Transient(_)), "{err:?}");
    assert!(err.retryable());
}
