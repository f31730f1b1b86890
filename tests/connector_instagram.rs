//! The Instagram connector against its loopback fake: photos, reels and carousels through media
//! containers, refusals, the misleading rate limit on publish, lost answers, token refresh, media
//! and account metrics.

use std::time::Duration;

use palinsesto::domain::{Asset, AssetId, MediaKind, Network};
use palinsesto::networks::instagram::InstagramConnector;
use palinsesto::networks::{Publish, PublishError, ReadBack, ReadMetrics};
use palinsesto::outbound::OutboundClient;
use palinsesto_system_tests::accounts::{TestAccount, impatient_http, outbound, outgoing};
use palinsesto_system_tests::fakes::Fault;
use palinsesto_system_tests::fakes::facebook::graph;
use palinsesto_system_tests::fakes::instagram::FakeInstagram;

/// A refresh a day ago: no refresh is due, so most tests see only the publishing calls.
fn refreshed_yesterday() -> Option<i64> {
    Some(jiff::Timestamp::now().as_second() - 86_400)
}

async fn given_an_account() -> (FakeInstagram, TestAccount) {
    let fake = FakeInstagram::start().await;
    let account = TestAccount::new(
        Network::Instagram,
        fake.settings(),
        fake.credentials(refreshed_yesterday()),
    )
    .await;
    (fake, account)
}

fn connector_with(fake: &FakeInstagram, http: OutboundClient) -> InstagramConnector {
    InstagramConnector::new(http, fake.base())
        .with_polling(Duration::from_millis(10), Duration::from_secs(5))
}

fn connector(fake: &FakeInstagram) -> InstagramConnector {
    connector_with(fake, outbound())
}

fn jpeg(account: &TestAccount, alt: Option<&str>) -> Asset {
    account.media.add(
        MediaKind::Image,
        "image/jpeg",
        vec![0xFF, 0xD8, 0xFF, 7],
        alt,
    )
}

fn mp4(account: &TestAccount) -> Asset {
    account
        .media
        .add(MediaKind::Video, "video/mp4", vec![0, 0, 0, 24, 1], None)
}

/// An asset the media library does not serve: Instagram's fetch of it fails.
fn unreachable(account: &TestAccount) -> Asset {
    let mut asset = jpeg(account, None);
    asset.id = AssetId::new();
    asset
}

fn photo_post(account: &TestAccount, caption: &str) -> palinsesto::networks::Outgoing {
    let mut post = outgoing(caption);
    post.media = vec![jpeg(account, Some("A bowl of ramen"))];
    post
}

#[tokio::test]
async fn a_photo_is_fetched_processed_and_published_with_its_caption() {
    let (fake, account) = given_an_account().await;
    fake.set_processing_polls(3);

    let published = connector(&fake)
        .publish(
            &account.context(),
            &photo_post(&account, "Ramen night #tokyo"),
        )
        .await
        .unwrap();

    assert_eq!(
        account.media.fetches(),
        1,
        "Instagram fetched the photo itself"
    );
    let containers = fake.containers();
    assert_eq!(containers.len(), 1);
    assert_eq!(containers[0].media_type, "IMAGE");
    assert_eq!(containers[0].alt_text.as_deref(), Some("A bowl of ramen"));
    assert_eq!(
        containers[0].status, "PUBLISHED",
        "published only once processed"
    );
    let posts = fake.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].text, "Ramen night #tokyo");
    assert_eq!(published.remote_id, posts[0].id);
    assert_eq!(published.url.as_deref(), Some(posts[0].permalink.as_str()));
}

#[tokio::test]
async fn a_single_video_is_published_as_a_reel() {
    let (fake, account) = given_an_account().await;
    let mut post = outgoing("Kitchen in motion");
    post.media = vec![mp4(&account)];

    connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    assert_eq!(fake.containers()[0].media_type, "REELS");
    assert_eq!(fake.posts()[0].media_type, "REELS");
}

#[tokio::test]
async fn several_items_become_one_carousel() {
    let (fake, account) = given_an_account().await;
    fake.set_processing_polls(2);
    let mut post = outgoing("Three courses");
    post.media = vec![jpeg(&account, None), mp4(&account), jpeg(&account, None)];

    let published = connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    let containers = fake.containers();
    let items: Vec<_> = containers.iter().filter(|c| c.carousel_item).collect();
    assert_eq!(items.len(), 3);
    assert_eq!(items[1].media_type, "VIDEO");
    let posts = fake.posts();
    assert_eq!(posts.len(), 1, "one post, not one per item");
    assert_eq!(posts[0].media_type, "CAROUSEL");
    assert_eq!(posts[0].media_urls.len(), 3);
    assert_eq!(posts[0].text, "Three courses");
    assert_eq!(published.remote_id, posts[0].id);
}

#[tokio::test]
async fn a_post_without_media_is_refused_before_any_call() {
    let fake = FakeInstagram::start().await;
    // No refresh on record either: even the refresh must not happen.
    let account =
        TestAccount::new(Network::Instagram, fake.settings(), fake.credentials(None)).await;

    let err = connector(&fake)
        .publish(&account.context(), &outgoing("Just words"))
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::InvalidContent(_)), "{err:?}");
    assert!(
        err.to_string().contains("at least one photo or video"),
        "{err}"
    );
    assert!(fake.containers().is_empty() && fake.refreshes().is_empty());
}

#[tokio::test]
async fn media_instagram_cannot_fetch_fails_the_container_with_its_reason() {
    let (fake, account) = given_an_account().await;
    let mut post = outgoing("Missing photo");
    post.media = vec![unreachable(&account)];

    let err = connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::InvalidMedia(_)), "{err:?}");
    assert!(
        err.to_string().contains("Media download has failed"),
        "{err}"
    );
    assert_eq!(fake.fetched().len(), 1);
    assert!(fake.posts().is_empty());
}

#[tokio::test]
async fn media_still_processing_at_the_deadline_is_transient() {
    let (fake, account) = given_an_account().await;
    fake.set_processing_polls(1_000);
    let c = InstagramConnector::new(outbound(), fake.base())
        .with_polling(Duration::from_millis(10), Duration::from_millis(100));

    let err = c
        .publish(&account.context(), &photo_post(&account, "Slow"))
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::Transient(_)), "{err:?}");
    assert!(fake.posts().is_empty());
}

#[tokio::test]
async fn an_expired_token_asks_for_a_reconnect() {
    let (fake, account) = given_an_account().await;
    fake.expire_token();

    let err = connector(&fake)
        .publish(&account.context(), &photo_post(&account, "Hello"))
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::AuthExpired(_)), "{err:?}");
    assert!(err.to_string().contains("code 190"), "{err}");
}

#[tokio::test]
async fn an_app_rate_limit_on_creating_media_says_when_access_comes_back() {
    let (fake, account) = given_an_account().await;
    fake.server.faults.inject(
        axum::http::Method::POST,
        &fake.path("media"),
        1,
        graph::app_rate_limited(30),
    );
    let before = jiff::Timestamp::now();

    let err = connector(&fake)
        .publish(&account.context(), &photo_post(&account, "Hello"))
        .await
        .unwrap_err();

    let PublishError::RateLimited { retry_at, .. } = &err else {
        panic!("expected a rate limit, got {err:?}");
    };
    let wait = retry_at
        .expect("X-App-Usage gives the time")
        .duration_since(before);
    assert!((1800..1830).contains(&wait.as_secs()), "{wait:?}");
}

#[tokio::test]
async fn a_server_error_on_publish_is_transient_and_posts_nothing() {
    let (fake, account) = given_an_account().await;
    fake.on_publish(
        1,
        Fault::status(
            500,
            &graph::error_body(2, None, "Service temporarily unavailable"),
        ),
    );

    let err = connector(&fake)
        .publish(&account.context(), &photo_post(&account, "Hello"))
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::Transient(_)), "{err:?}");
    assert!(fake.posts().is_empty());
}

#[tokio::test]
async fn the_rate_limit_instagram_answers_for_published_posts_is_an_unknown_outcome() {
    let (fake, account) = given_an_account().await;
    fake.rate_limit_after_publish(1);
    let post = photo_post(&account, "Published after all");
    let c = connector(&fake);

    let err = c.publish(&account.context(), &post).await.unwrap_err();

    assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");
    assert_eq!(fake.count_with_text("Published after all"), 1);
    let ReadBack::Found(found) = c.find_published(&account.context(), &post).await.unwrap() else {
        panic!("the read-back should find the post");
    };
    assert_eq!(found.remote_id, fake.posts()[0].id);
    assert_eq!(
        found.url.as_deref(),
        Some(fake.posts()[0].permalink.as_str())
    );
}

#[tokio::test]
async fn a_dropped_publish_answer_is_read_back_to_the_same_post() {
    let (fake, account) = given_an_account().await;
    fake.on_publish(1, Fault::DropAfterReceive);
    let post = photo_post(&account, "Dropped");
    let c = connector(&fake);

    let err = c.publish(&account.context(), &post).await.unwrap_err();

    assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");
    let ReadBack::Found(found) = c.find_published(&account.context(), &post).await.unwrap() else {
        panic!("the read-back should find the post");
    };
    assert_eq!(found.remote_id, fake.posts()[0].id);
    assert_eq!(fake.count_with_text("Dropped"), 1);
}

#[tokio::test]
async fn a_late_publish_answer_is_read_back_to_the_same_post() {
    let (fake, account) = given_an_account().await;
    fake.on_publish(1, Fault::AnswerLate(Duration::from_secs(3)));
    let mut post = photo_post(&account, "Late");
    post.thread = vec!["first comment".into()];
    let c = connector_with(&fake, impatient_http());

    let err = c.publish(&account.context(), &post).await.unwrap_err();

    assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");
    let ReadBack::Found(found) = c.find_published(&account.context(), &post).await.unwrap() else {
        panic!("the read-back should find the post");
    };
    assert_eq!(found.remote_id, fake.posts()[0].id);
    assert_eq!(found.notes.len(), 1, "the comment it never got is said");
}

#[tokio::test]
async fn a_post_never_made_is_not_found() {
    let (fake, account) = given_an_account().await;
    let c = connector(&fake);
    c.publish(&account.context(), &photo_post(&account, "Another one"))
        .await
        .unwrap();

    let answer = c
        .find_published(&account.context(), &photo_post(&account, "Never sent"))
        .await
        .unwrap();

    assert_eq!(answer, ReadBack::NotFound);
}

#[tokio::test]
async fn a_post_without_a_caption_cannot_be_told_apart() {
    let (fake, account) = given_an_account().await;

    let answer = connector(&fake)
        .find_published(&account.context(), &photo_post(&account, ""))
        .await
        .unwrap();

    assert!(matches!(answer, ReadBack::CannotTell(_)), "{answer:?}");
}

#[tokio::test]
async fn the_follow_up_becomes_the_first_comment() {
    let (fake, account) = given_an_account().await;
    let mut post = photo_post(&account, "See comments");
    post.thread = vec!["#ramen #tokyo".into()];

    let published = connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    let comments = fake.comments();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].media_id, published.remote_id);
    assert_eq!(comments[0].message, "#ramen #tokyo");
}

#[tokio::test]
async fn a_refused_first_comment_is_a_note() {
    let (fake, account) = given_an_account().await;
    fake.refuse_comments();
    let mut post = photo_post(&account, "See comments");
    post.thread = vec!["#ramen".into()];

    let published = connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    assert_eq!(fake.posts().len(), 1);
    assert_eq!(published.notes.len(), 1, "{:?}", published.notes);
}

#[tokio::test]
async fn an_old_token_is_refreshed_and_stored_before_publishing() {
    let fake = FakeInstagram::start().await;
    let ten_days_ago = jiff::Timestamp::now().as_second() - 10 * 86_400;
    let account = TestAccount::new(
        Network::Instagram,
        fake.settings(),
        fake.credentials(Some(ten_days_ago)),
    )
    .await;

    connector(&fake)
        .publish(&account.context(), &photo_post(&account, "Fresh token"))
        .await
        .unwrap();

    assert_eq!(fake.refreshes(), vec!["ig_refresh_token".to_owned()]);
    let updates = account.sink.updates();
    assert_eq!(updates.len(), 1);
    let new_token = &fake.valid_tokens()[1];
    assert!(updates[0].contains(&("access_token".to_owned(), new_token.clone())));
    let refreshed_at: i64 = updates[0]
        .iter()
        .find(|(k, _)| k == "access_token_refreshed_at")
        .map(|(_, v)| v.parse().unwrap())
        .expect("the refresh time is stored");
    assert!((jiff::Timestamp::now().as_second() - refreshed_at).abs() < 60);
}

#[tokio::test]
async fn a_recently_refreshed_token_is_left_alone() {
    let (fake, account) = given_an_account().await;

    connector(&fake)
        .publish(&account.context(), &photo_post(&account, "Same token"))
        .await
        .unwrap();

    assert!(fake.refreshes().is_empty());
    assert!(account.sink.updates().is_empty());
}

#[tokio::test]
async fn an_empty_refreshed_token_is_never_stored() {
    let fake = FakeInstagram::start().await;
    fake.answer_refresh_with_empty_token();
    let account =
        TestAccount::new(Network::Instagram, fake.settings(), fake.credentials(None)).await;

    connector(&fake)
        .publish(
            &account.context(),
            &photo_post(&account, "Keep the old token"),
        )
        .await
        .unwrap();

    assert_eq!(fake.refreshes().len(), 1);
    assert!(account.sink.updates().is_empty());
    assert_eq!(fake.posts().len(), 1, "published with the current token");
}

// Metrics

/// A published photo's media id.
async fn a_published_photo(fake: &FakeInstagram, account: &TestAccount) -> String {
    connector(fake)
        .publish(&account.context(), &photo_post(account, "Counting"))
        .await
        .unwrap()
        .remote_id
}

#[tokio::test]
async fn media_insights_become_counters_and_follow_the_post_as_it_grows() {
    // Given a photo with insights
    let (fake, account) = given_an_account().await;
    let id = a_published_photo(&fake, &account).await;
    fake.set_post_stats(
        &id,
        &[
            ("views", 900),
            ("reach", 610),
            ("likes", 48),
            ("comments", 6),
            ("shares", 4),
            ("saved", 11),
            ("total_interactions", 69),
        ],
    );
    let c = connector(&fake);

    // When read twice, with more likes and saves in between
    let first = c.post_metrics(&account.account(), &id).await.unwrap();
    fake.set_post_stats(&id, &[("likes", 52), ("saved", 13), ("views", 1_020)]);
    let second = c.post_metrics(&account.account(), &id).await.unwrap();

    // Then
    let counters = &first.counters;
    assert_eq!(counters.views, Some(900));
    assert_eq!(counters.reach, Some(610));
    assert_eq!(counters.likes, Some(48));
    assert_eq!(counters.replies, Some(6), "comments are replies");
    assert_eq!(counters.reposts, Some(4), "shares are reposts");
    assert_eq!(counters.saves, Some(11));
    assert_eq!(second.counters.likes, Some(52));
    assert_eq!(second.counters.saves, Some(13));
    assert_eq!(second.counters.views, Some(1_020));
    assert_eq!(second.counters.replies, Some(6));
    // And what Instagram does not count is not available, never 0
    assert_eq!(counters.quotes, None);
    assert_eq!(counters.clicks, None);
    assert_eq!(counters.followers, None);
    assert_eq!(first.raw["data"].as_array().map(Vec::len), Some(7));
}

#[tokio::test]
async fn an_empty_insights_set_is_not_available_rather_than_zero() {
    // Given Instagram's answer before insights are ready (up to 48 h): an empty data set
    let (fake, account) = given_an_account().await;
    let id = a_published_photo(&fake, &account).await;
    fake.set_insights_ready(false);

    // When
    let reading = connector(&fake)
        .post_metrics(&account.account(), &id)
        .await
        .unwrap();

    // Then
    assert!(reading.counters.is_empty(), "{:?}", reading.counters);
    assert_eq!(reading.counters.engagement(), None);
}

#[tokio::test]
async fn followers_are_read_from_the_account_and_absent_when_unreported() {
    let (fake, account) = given_an_account().await;
    a_published_photo(&fake, &account).await;
    let c = connector(&fake);

    fake.set_followers(Some(5_310));
    let reported = c.account_metrics(&account.account()).await.unwrap();
    fake.set_followers(Some(5_355));
    let later = c.account_metrics(&account.account()).await.unwrap();
    fake.set_followers(None);
    let unreported = c.account_metrics(&account.account()).await.unwrap();

    assert_eq!(reported.counters.followers, Some(5_310));
    assert_eq!(reported.raw["media_count"], 1, "the answer is kept");
    assert_eq!(later.counters.followers, Some(5_355));
    assert_eq!(unreported.counters.followers, None);
}

#[tokio::test]
async fn a_rate_limited_insights_read_says_when_access_comes_back() {
    let (fake, account) = given_an_account().await;
    let id = a_published_photo(&fake, &account).await;
    fake.server.faults.inject(
        axum::http::Method::GET,
        &fake.node_path(&id, "insights"),
        1,
        graph::app_rate_limited(10),
    );
    let before = jiff::Timestamp::now();

    let err = connector(&fake)
        .post_metrics(&account.account(), &id)
        .await
        .unwrap_err();

    let PublishError::RateLimited { retry_at, .. } = &err else {
        panic!("expected a rate limit, got {err:?}");
    };
    let wait = retry_at
        .expect("the usage header gives the time")
        .duration_since(before);
    assert!((600..630).contains(&wait.as_secs()), "{wait:?}");
}

#[tokio::test]
async fn an_expired_token_on_a_metrics_read_asks_for_a_reconnect() {
    let (fake, account) = given_an_account().await;
    let id = a_published_photo(&fake, &account).await;
    fake.expire_token();
    let c = connector(&fake);

    let post = c.post_metrics(&account.account(), &id).await.unwrap_err();
    let followers = c.account_metrics(&account.account()).await.unwrap_err();

    assert!(matches!(post, PublishError::AuthExpired(_)), "{post:?}");
    assert!(
        matches!(followers, PublishError::AuthExpired(_)),
        "{followers:?}"
    );
}

#[tokio::test]
async fn a_metrics_read_keeps_a_week_old_token_alive() {
    // Given an account whose token was last refreshed eight days ago
    let fake = FakeInstagram::start().await;
    let eight_days_ago = jiff::Timestamp::now().as_second() - 8 * 86_400;
    let account = TestAccount::new(
        Network::Instagram,
        fake.settings(),
        fake.credentials(Some(eight_days_ago)),
    )
    .await;
    fake.set_followers(Some(10));

    // When only its followers are read
    let reading = connector(&fake)
        .account_metrics(&account.account())
        .await
        .unwrap();

    // Then the token was refreshed and stored on the way
    assert_eq!(reading.counters.followers, Some(10));
    assert_eq!(fake.refreshes(), vec!["ig_refresh_token".to_owned()]);
    let saved = account.sink.updates();
    assert_eq!(saved.len(), 1);
    assert!(saved[0].iter().any(|(k, _)| k == "access_token"));
}

// The inbox: comments and replies under the account's media, direct messages, mentions named by
// the webhook and fetched, answers exactly once, private replies, moderation.

mod inbox {
    use super::*;
    use axum::http::Method;
    use palinsesto::domain::inbox::{InteractionKind, StreamKind};
    use palinsesto::domain::moderation::ModerationAction;
    use palinsesto::networks::{Moderate, ParsePush, ReadInbox, ReplyTo};
    use palinsesto_system_tests::fakes::meta_inbox::Person;

    const SECRET: &str = "ig-app-secret";

    fn ada() -> Person {
        Person::new("9001", "Ada")
    }

    #[tokio::test]
    async fn top_level_comments_replies_and_the_accounts_own_are_told_apart() {
        let (fake, account) = given_an_account().await;
        let c = connector(&fake);
        let media = fake.add_post("New collection");
        let comment = fake.comment_as(&ada(), &media, "Sizes?");
        let reply = fake.comment_as(&Person::new("9002", "Bob"), &comment, "+1");

        let first = c
            .read(
                &account.account(),
                StreamKind::Threads,
                None,
                std::slice::from_ref(&media),
            )
            .await
            .unwrap();
        assert_eq!(first.found.len(), 2, "{:?}", first.found);
        let top = first
            .found
            .iter()
            .find(|f| f.external_id == comment)
            .unwrap();
        assert_eq!(top.kind, InteractionKind::Comment);
        assert_eq!(top.author.handle, "@ada");
        assert_eq!(top.author.id, "9001");
        assert_eq!(top.parent.as_deref(), Some(media.as_str()));
        assert_eq!(
            top.permalink.as_deref(),
            Some(format!("https://www.instagram.com/p/{media}/").as_str()),
            "the media's link"
        );
        let under = first.found.iter().find(|f| f.external_id == reply).unwrap();
        assert_eq!(
            under.kind,
            InteractionKind::Reply,
            "the reply rule reads this"
        );
        assert_eq!(under.parent.as_deref(), Some(comment.as_str()));

        let sent = c
            .reply(&account.context(), &top.target, &outgoing("S to XL"))
            .await
            .unwrap();
        assert_eq!(fake.account_replies_to(&comment).len(), 1);
        let later = fake.comment_as(&ada(), &media, "Thanks");
        let second = c
            .read(
                &account.account(),
                StreamKind::Threads,
                first.cursor.as_deref(),
                std::slice::from_ref(&media),
            )
            .await
            .unwrap();
        let ids: Vec<&str> = second
            .found
            .iter()
            .map(|f| f.external_id.as_str())
            .collect();
        assert_eq!(ids, [later.as_str()]);
        assert_eq!(second.native.len(), 1);
        assert_eq!(second.native[0].external_id, sent.remote_id);
        assert_eq!(second.native[0].parent, comment);
    }

    #[tokio::test]
    async fn direct_messages_are_answered_once_even_after_a_lost_answer() {
        let (fake, account) = given_an_account().await;
        let c = connector(&fake);
        let mid = fake.message_from(&ada(), "Is it in stock?");
        let read = c
            .read(&account.account(), StreamKind::Messages, None, &[])
            .await
            .unwrap();
        let dm = &read.found[0];
        assert_eq!(dm.kind, InteractionKind::DirectMessage);
        assert_eq!(dm.external_id, mid);
        assert_eq!(dm.target.chat.as_deref(), Some("9001"), "the IGSID");
        assert_eq!(dm.author.handle, "@ada");

        let answer = outgoing("Yes, in every size");
        fake.lose_next_answer_on(&fake.user_id);
        assert!(
            c.reply(&account.context(), &dm.target, &answer)
                .await
                .is_err()
        );
        let ReadBack::Found(found) = c
            .find_reply(&account.context(), &dm.target, &answer)
            .await
            .unwrap()
        else {
            panic!("the message was sent")
        };
        let sent = fake.messages_to("9001");
        assert_eq!(sent.len(), 1, "exactly one");
        assert_eq!(found.remote_id, sent[0].id);
    }

    #[tokio::test]
    async fn a_lost_reply_to_a_comment_is_found_and_a_private_reply_goes_once() {
        let (fake, account) = given_an_account().await;
        let c = connector(&fake);
        let media = fake.add_post("Sale");
        let comment = fake.comment_as(&ada(), &media, "How much?");
        let read = c
            .read(&account.account(), StreamKind::Threads, None, &[media])
            .await
            .unwrap();
        let target = &read.found[0].target;
        let reply = outgoing("30% off");
        fake.lose_next_answer_on(&comment);
        let lost = c
            .reply(&account.context(), target, &reply)
            .await
            .unwrap_err();
        assert!(matches!(lost, PublishError::UnknownOutcome(_)), "{lost:?}");
        assert!(matches!(
            c.find_reply(&account.context(), target, &reply)
                .await
                .unwrap(),
            ReadBack::Found(_)
        ));
        assert_eq!(fake.account_replies_to(&comment).len(), 1);

        c.reply_privately(&account.context(), target, &outgoing("Code SALE30"))
            .await
            .unwrap();
        assert_eq!(fake.private_replies_to(&comment).len(), 1);
        assert_eq!(fake.private_replies_to(&comment)[0].person.id, "9001");
    }

    #[tokio::test]
    async fn hiding_unhiding_and_deleting_change_the_comment_and_liking_is_not_offered() {
        let (fake, account) = given_an_account().await;
        let c = connector(&fake);
        assert!(!c.actions().contains(&ModerationAction::Like));
        let media = fake.add_post("Launch");
        let comment = fake.comment_as(&ada(), &media, "rude words");
        let read = c
            .read(&account.account(), StreamKind::Threads, None, &[media])
            .await
            .unwrap();
        let target = read.found[0].target.clone();
        let a = account.account();
        c.moderate(&a, &target, ModerationAction::Hide)
            .await
            .unwrap();
        assert!(fake.comment(&comment).unwrap().hidden);
        c.moderate(&a, &target, ModerationAction::Unhide)
            .await
            .unwrap();
        assert!(!fake.comment(&comment).unwrap().hidden);
        let mine = c
            .reply(&account.context(), &target, &outgoing("Please be kind"))
            .await
            .unwrap();
        let mut reply = target.clone();
        reply.id = mine.remote_id.clone();
        c.moderate(&a, &reply, ModerationAction::DeleteReply)
            .await
            .unwrap();
        assert!(fake.comment(&mine.remote_id).unwrap().deleted);
    }

    #[tokio::test]
    async fn a_rate_limit_and_an_expired_token_are_said_in_plain_words() {
        let (fake, account) = given_an_account().await;
        let c = connector(&fake);
        fake.server.faults.inject(
            Method::GET,
            &fake.path("conversations"),
            1,
            graph::business_rate_limited(32, &fake.user_id, 3),
        );
        let err = c
            .read(&account.account(), StreamKind::Messages, None, &[])
            .await
            .unwrap_err();
        assert!(matches!(err, PublishError::RateLimited { .. }), "{err:?}");
        fake.expire_token();
        let err = c
            .read(&account.account(), StreamKind::Messages, None, &[])
            .await
            .unwrap_err();
        assert!(matches!(err, PublishError::AuthExpired(_)), "{err:?}");
    }

    #[tokio::test]
    async fn webhooks_name_what_the_poll_reads_and_mentions_are_fetched_by_id() {
        let (fake, account) = given_an_account().await;
        let c = connector(&fake);
        let media = fake.add_post("Spring");
        let comment = fake.comment_as(&ada(), &media, "Gorgeous");
        let polled = c
            .read(
                &account.account(),
                StreamKind::Threads,
                None,
                std::slice::from_ref(&media),
            )
            .await
            .unwrap();
        let pushed = c
            .parse(&fake.comment_webhook(&comment, SECRET).body)
            .unwrap();
        assert_eq!(pushed[0].account, fake.user_id);
        let from_hook = &pushed[0].found[0];
        assert_eq!(from_hook.external_id, polled.found[0].external_id);
        assert_eq!(from_hook.kind, InteractionKind::Comment);
        assert_eq!(from_hook.parent, polled.found[0].parent);

        let mid = fake.message_from(&ada(), "hi");
        let message = c.parse(&fake.message_webhook(&mid, SECRET).body).unwrap();
        assert_eq!(message[0].found[0].external_id, mid);
        assert_eq!(message[0].found[0].target.chat.as_deref(), Some("9001"));

        // a mention comes as ids only, then is read with the account's token
        let mention = fake.mention_in_comment(&ada(), "17999000000000001", "love @test");
        let named = c
            .parse(&fake.mention_webhook(&mention, SECRET).body)
            .unwrap();
        assert!(named[0].found.is_empty());
        assert_eq!(named[0].to_fetch.len(), 1);
        let fetched = c
            .fetch(&account.account(), &named[0].to_fetch)
            .await
            .unwrap();
        assert_eq!(fetched.found.len(), 1);
        let m = &fetched.found[0];
        assert_eq!(m.kind, InteractionKind::Mention);
        assert_eq!(m.external_id, mention);
        assert_eq!(m.text, "love @test");
        assert_eq!(m.author.handle, "@ada");
        // and is answered through the account's mentions edge
        c.reply(&account.context(), &m.target, &outgoing("Thank you!"))
            .await
            .unwrap();
        assert_eq!(fake.account_replies_to(&mention).len(), 1);
    }
}
