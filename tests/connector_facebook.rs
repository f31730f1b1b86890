//! The Facebook connector against its loopback fake: every kind of post, every documented refusal,
//! lost answers read back, post and page metrics.

use std::time::Duration;

use axum::http::Method;
use palinsesto::domain::{MediaKind, Network};
use palinsesto::networks::facebook::FacebookConnector;
use palinsesto::networks::{Publish, PublishError, ReadBack, ReadMetrics};
use palinsesto_system_tests::accounts::{TestAccount, impatient_http, outbound, outgoing};
use palinsesto_system_tests::fakes::Fault;
use palinsesto_system_tests::fakes::facebook::{FakeFacebook, FbPostStats, graph};

async fn given_a_page() -> (FakeFacebook, TestAccount) {
    let fake = FakeFacebook::start().await;
    let account = TestAccount::new(Network::Facebook, fake.settings(), fake.credentials()).await;
    (fake, account)
}

fn connector(fake: &FakeFacebook) -> FacebookConnector {
    FacebookConnector::new(outbound(), fake.base())
}

fn jpeg(account: &TestAccount, alt: Option<&str>) -> palinsesto::domain::Asset {
    account.media.add(
        MediaKind::Image,
        "image/jpeg",
        vec![0xFF, 0xD8, 0xFF, 1, 2, 3],
        alt,
    )
}

#[tokio::test]
async fn a_text_post_goes_to_the_page_feed() {
    let (fake, account) = given_a_page().await;
    let post = outgoing("Spring menu is out");

    let published = connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    let posts = fake.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].message, "Spring menu is out");
    assert_eq!(published.remote_id, posts[0].id);
    assert_eq!(
        published.url.as_deref(),
        Some(format!("https://www.facebook.com/{}", posts[0].id).as_str())
    );
    assert!(published.notes.is_empty());
}

#[tokio::test]
async fn one_photo_is_fetched_by_url_and_posted_with_its_caption_and_alt_text() {
    let (fake, account) = given_a_page().await;
    let mut post = outgoing("Our new terrace");
    post.media = vec![jpeg(&account, Some("A terrace at sunset"))];

    let published = connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    assert_eq!(
        account.media.fetches(),
        1,
        "Facebook fetched the photo itself"
    );
    let posts = fake.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].photos.len(), 1);
    assert_eq!(
        published.remote_id, posts[0].id,
        "the page post, not the photo"
    );
    let photos = fake.photos();
    assert_eq!(photos[0].alt_text.as_deref(), Some("A terrace at sunset"));
    assert!(photos[0].published);
}

#[tokio::test]
async fn several_photos_are_uploaded_unpublished_then_attached_to_one_post() {
    let (fake, account) = given_a_page().await;
    let mut post = outgoing("Three dishes");
    post.media = vec![
        jpeg(&account, None),
        jpeg(&account, None),
        jpeg(&account, None),
    ];

    let published = connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    let posts = fake.posts();
    assert_eq!(posts.len(), 1, "one post, not one per photo");
    assert_eq!(posts[0].photos.len(), 3);
    assert_eq!(published.remote_id, posts[0].id);
    assert_eq!(fake.photos().len(), 3);
    assert!(fake.photos().iter().all(|p| p.published));
    assert_eq!(account.media.fetches(), 3);
}

#[tokio::test]
async fn a_video_is_posted_from_its_url_with_the_text_as_description() {
    let (fake, account) = given_a_page().await;
    let mut post = outgoing("Behind the scenes");
    post.media = vec![
        account
            .media
            .add(MediaKind::Video, "video/mp4", vec![0, 0, 0, 24], None),
    ];

    let published = connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    let posts = fake.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].message, "Behind the scenes");
    assert_eq!(
        posts[0].video.as_deref(),
        Some(published.remote_id.as_str())
    );
    assert_eq!(account.media.fetches(), 1);
}

#[tokio::test]
async fn photos_and_a_video_together_are_refused_before_any_call() {
    let (fake, account) = given_a_page().await;
    let mut post = outgoing("Mixed");
    post.media = vec![
        jpeg(&account, None),
        account
            .media
            .add(MediaKind::Video, "video/mp4", vec![1], None),
    ];

    let err = connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap_err();

    assert_eq!(err.kind(), "invalid_content");
    assert!(fake.posts().is_empty() && fake.fetched().is_empty());
}

#[tokio::test]
async fn the_follow_up_becomes_the_first_comment() {
    let (fake, account) = given_a_page().await;
    let mut post = outgoing("Comment below");
    post.thread = vec!["Booking link: example.com/book".into()];

    let published = connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    let comments = fake.comments();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].post_id, published.remote_id);
    assert_eq!(comments[0].message, "Booking link: example.com/book");
    assert!(published.notes.is_empty());
}

#[tokio::test]
async fn a_refused_first_comment_is_a_note_on_a_published_post() {
    let (fake, account) = given_a_page().await;
    fake.refuse_comments();
    let mut post = outgoing("Comment below");
    post.thread = vec!["first!".into()];

    let published = connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    assert_eq!(fake.posts().len(), 1);
    assert_eq!(published.notes.len(), 1);
    assert!(
        published.notes[0].starts_with("the first comment was not posted"),
        "{}",
        published.notes[0]
    );
}

#[tokio::test]
async fn an_expired_page_token_asks_for_a_reconnect() {
    let (fake, account) = given_a_page().await;
    fake.expire_token();

    let err = connector(&fake)
        .publish(&account.context(), &outgoing("Hello"))
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::AuthExpired(_)), "{err:?}");
    assert!(
        err.to_string().contains("Connect the channel again"),
        "{err}"
    );
    assert!(!err.retryable());
}

#[tokio::test]
async fn a_page_rate_limit_says_when_access_comes_back() {
    let (fake, account) = given_a_page().await;
    fake.server.faults.inject(
        Method::POST,
        &fake.path("feed"),
        1,
        graph::business_rate_limited(32, &fake.page_id, 15),
    );
    let before = jiff::Timestamp::now();

    let err = connector(&fake)
        .publish(&account.context(), &outgoing("Hello"))
        .await
        .unwrap_err();

    let PublishError::RateLimited { retry_at, .. } = &err else {
        panic!("expected a rate limit, got {err:?}");
    };
    let retry_at = retry_at.expect("the usage header gives the time");
    let wait = retry_at.duration_since(before).as_secs();
    assert!((15 * 60..15 * 60 + 30).contains(&wait), "{wait} s");
    assert!(fake.posts().is_empty());
}

#[tokio::test]
async fn the_same_text_twice_is_refused_as_a_duplicate() {
    let (fake, account) = given_a_page().await;
    let c = connector(&fake);
    c.publish(&account.context(), &outgoing("Same words"))
        .await
        .unwrap();

    let err = c
        .publish(&account.context(), &outgoing("Same words"))
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::Duplicate(_)), "{err:?}");
    assert_eq!(fake.count_with_text("Same words"), 1);
}

#[tokio::test]
async fn a_server_error_is_transient_and_posts_nothing() {
    let (fake, account) = given_a_page().await;
    fake.server.faults.inject(
        Method::POST,
        &fake.path("feed"),
        1,
        Fault::status(500, "<html>Internal Server Error</html>"),
    );

    let err = connector(&fake)
        .publish(&account.context(), &outgoing("Hello"))
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::Transient(_)), "{err:?}");
    assert!(err.retryable());
    assert!(fake.posts().is_empty());
}

#[tokio::test]
async fn a_photo_facebook_cannot_fetch_is_invalid_media() {
    let (fake, account) = given_a_page().await;
    let mut missing = jpeg(&account, None);
    missing.id = palinsesto::domain::AssetId::new();
    let mut post = outgoing("Where is it");
    post.media = vec![missing];

    let err = connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::InvalidMedia(_)), "{err:?}");
    assert!(err.to_string().contains("324"), "{err}");
    assert_eq!(fake.fetched().len(), 1, "Facebook tried to fetch it");
}

#[tokio::test]
async fn a_dropped_answer_is_an_unknown_outcome_and_the_read_back_finds_the_post() {
    let (fake, account) = given_a_page().await;
    fake.server
        .faults
        .inject(Method::POST, &fake.path("feed"), 1, Fault::DropAfterReceive);
    let post = outgoing("Lost in transit");
    let c = connector(&fake);

    let err = c.publish(&account.context(), &post).await.unwrap_err();

    assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");
    assert_eq!(fake.count_with_text("Lost in transit"), 1, "it was made");
    let ReadBack::Found(found) = c.find_published(&account.context(), &post).await.unwrap() else {
        panic!("the read-back should find the post");
    };
    assert_eq!(found.remote_id, fake.posts()[0].id);
}

#[tokio::test]
async fn a_late_answer_is_an_unknown_outcome_and_the_read_back_finds_the_photo_post() {
    let (fake, account) = given_a_page().await;
    fake.server.faults.inject(
        Method::POST,
        &fake.path("photos"),
        1,
        Fault::AnswerLate(Duration::from_secs(3)),
    );
    let mut post = outgoing("Slow photo");
    post.media = vec![jpeg(&account, None)];
    let c = FacebookConnector::new(impatient_http(), fake.base());

    let err = c.publish(&account.context(), &post).await.unwrap_err();

    assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");
    let ReadBack::Found(found) = c.find_published(&account.context(), &post).await.unwrap() else {
        panic!("the read-back should find the post");
    };
    assert_eq!(found.remote_id, fake.posts()[0].id);
    assert_eq!(fake.count_with_text("Slow photo"), 1);
}

#[tokio::test]
async fn a_post_never_made_is_not_found() {
    let (fake, account) = given_a_page().await;
    let c = connector(&fake);
    c.publish(&account.context(), &outgoing("Something else"))
        .await
        .unwrap();

    let answer = c
        .find_published(&account.context(), &outgoing("Never sent"))
        .await
        .unwrap();

    assert_eq!(answer, ReadBack::NotFound);
}

#[tokio::test]
async fn the_read_back_ignores_posts_from_before_the_first_attempt() {
    let (fake, account) = given_a_page().await;
    fake.set_now(jiff::Timestamp::now() - jiff::SignedDuration::from_hours(2));
    let c = connector(&fake);
    c.publish(&account.context(), &outgoing("Weekly special"))
        .await
        .unwrap();

    let answer = c
        .find_published(&account.context(), &outgoing("Weekly special"))
        .await
        .unwrap();

    assert_eq!(
        answer,
        ReadBack::NotFound,
        "the old post is not this attempt's"
    );
}

#[tokio::test]
async fn the_read_back_pages_through_a_busy_page() {
    let (fake, account) = given_a_page().await;
    let post = outgoing("The one we look for");
    let c = connector(&fake);
    let target = c.publish(&account.context(), &post).await.unwrap();
    for i in 0..120 {
        c.publish(&account.context(), &outgoing(&format!("busy {i}")))
            .await
            .unwrap();
    }

    let answer = c.find_published(&account.context(), &post).await.unwrap();

    let ReadBack::Found(found) = answer else {
        panic!("the post is on the second page and should be found: {answer:?}");
    };
    assert_eq!(found.remote_id, target.remote_id);
}

// Metrics

async fn a_published_post(fake: &FakeFacebook, account: &TestAccount) -> String {
    connector(fake)
        .publish(&account.context(), &outgoing("Counting"))
        .await
        .unwrap()
        .remote_id
}

#[tokio::test]
async fn post_metrics_combine_engagement_and_insights_and_follow_the_post() {
    // Given a page post with reactions, comments, shares and insights
    let (fake, account) = given_a_page().await;
    let id = a_published_post(&fake, &account).await;
    fake.set_post_stats(
        &id,
        FbPostStats {
            reactions: 12,
            comments: 4,
            shares: 3,
            impressions: 800,
            clicks: 25,
        },
    );
    let c = connector(&fake);

    // When read twice, the post gaining reactions and impressions in between
    let first = c.post_metrics(&account.account(), &id).await.unwrap();
    fake.set_post_stats(
        &id,
        FbPostStats {
            reactions: 20,
            comments: 4,
            shares: 5,
            impressions: 1_400,
            clicks: 31,
        },
    );
    let second = c.post_metrics(&account.account(), &id).await.unwrap();

    // Then
    let counters = &first.counters;
    assert_eq!(counters.likes, Some(12), "all reactions count as likes");
    assert_eq!(counters.replies, Some(4));
    assert_eq!(counters.reposts, Some(3));
    assert_eq!(counters.views, Some(800));
    assert_eq!(counters.clicks, Some(25));
    assert_eq!(
        (
            second.counters.likes,
            second.counters.reposts,
            second.counters.views
        ),
        (Some(20), Some(5), Some(1_400))
    );
    // And what Facebook does not report is not available, never 0
    assert_eq!(counters.quotes, None);
    assert_eq!(counters.reach, None);
    assert_eq!(counters.saves, None);
    assert_eq!(counters.followers, None);
    // And both answers are kept as Facebook sent them
    assert_eq!(first.raw["post"]["shares"]["count"], 3);
    assert_eq!(first.raw["insights"]["data"][0]["name"], "post_impressions");
}

#[tokio::test]
async fn a_post_nobody_has_shared_has_zero_shares() {
    // Given a post Graph answers for without a `shares` field (it leaves it out at zero)
    let (fake, account) = given_a_page().await;
    let id = a_published_post(&fake, &account).await;
    fake.set_post_stats(
        &id,
        FbPostStats {
            reactions: 2,
            ..FbPostStats::default()
        },
    );

    // When
    let reading = connector(&fake)
        .post_metrics(&account.account(), &id)
        .await
        .unwrap();

    // Then
    assert!(reading.raw["post"].get("shares").is_none());
    assert_eq!(reading.counters.reposts, Some(0));
    assert_eq!(reading.counters.likes, Some(2));
}

#[tokio::test]
async fn empty_insights_leave_views_and_clicks_not_available() {
    // Given a small page: Graph answers its insights with an empty data set
    let (fake, account) = given_a_page().await;
    let id = a_published_post(&fake, &account).await;
    fake.set_post_stats(
        &id,
        FbPostStats {
            reactions: 7,
            comments: 1,
            impressions: 300,
            clicks: 9,
            ..FbPostStats::default()
        },
    );
    fake.set_insights_ready(false);

    // When
    let reading = connector(&fake)
        .post_metrics(&account.account(), &id)
        .await
        .unwrap();

    // Then the engagement is there, and the insights are not available rather than 0
    assert_eq!(reading.counters.views, None);
    assert_eq!(reading.counters.clicks, None);
    assert_eq!(reading.counters.likes, Some(7));
    assert_eq!(reading.counters.replies, Some(1));
}

#[tokio::test]
async fn a_retired_insights_metric_costs_only_the_insights() {
    // Given Graph no longer knowing post_impressions (Meta retires and renames metrics)
    let (fake, account) = given_a_page().await;
    let id = a_published_post(&fake, &account).await;
    fake.set_post_stats(
        &id,
        FbPostStats {
            reactions: 5,
            comments: 2,
            shares: 1,
            impressions: 300,
            clicks: 9,
        },
    );
    fake.retire_metric("post_impressions");

    // When
    let reading = connector(&fake)
        .post_metrics(&account.account(), &id)
        .await
        .unwrap();

    // Then
    let counters = &reading.counters;
    assert_eq!((counters.views, counters.clicks), (None, None));
    assert_eq!(
        (counters.likes, counters.replies, counters.reposts),
        (Some(5), Some(2), Some(1))
    );
    let why = reading.raw["insights"]["error"].as_str().unwrap();
    assert!(why.contains("post_impressions"), "{why}");
}

#[tokio::test]
async fn a_video_post_reads_its_reactions_and_comments_only() {
    // Given a video post, known by its video's id
    let (fake, account) = given_a_page().await;
    let mut post = outgoing("Watch this");
    post.media = vec![
        account
            .media
            .add(MediaKind::Video, "video/mp4", vec![0, 0, 0, 24], None),
    ];
    let video_id = connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap()
        .remote_id;
    fake.set_post_stats(
        &video_id,
        FbPostStats {
            reactions: 30,
            comments: 8,
            shares: 6,
            impressions: 2_000,
            clicks: 40,
        },
    );

    // When
    let reading = connector(&fake)
        .post_metrics(&account.account(), &video_id)
        .await
        .unwrap();

    // Then the video's engagement is read; what the video node does not report is not available
    let counters = &reading.counters;
    assert_eq!((counters.likes, counters.replies), (Some(30), Some(8)));
    assert_eq!(
        (counters.reposts, counters.views, counters.clicks),
        (None, None, None)
    );
}

#[tokio::test]
async fn page_followers_are_followers_count_never_the_page_likes() {
    let (fake, account) = given_a_page().await;
    let c = connector(&fake);

    fake.set_page_counts(Some(5_400), Some(5_100));
    let reported = c.account_metrics(&account.account()).await.unwrap();
    fake.set_page_counts(Some(5_460), Some(5_120));
    let later = c.account_metrics(&account.account()).await.unwrap();
    fake.set_page_counts(None, Some(5_100));
    let unreported = c.account_metrics(&account.account()).await.unwrap();

    assert_eq!(reported.counters.followers, Some(5_400));
    assert_eq!(reported.raw["fan_count"], 5_100, "kept in raw");
    assert_eq!(later.counters.followers, Some(5_460));
    assert_eq!(
        unreported.counters.followers, None,
        "fan_count does not stand in for followers"
    );
}

#[tokio::test]
async fn a_rate_limited_metrics_read_says_when_access_comes_back() {
    let (fake, account) = given_a_page().await;
    let id = a_published_post(&fake, &account).await;
    fake.server.faults.inject(
        Method::GET,
        &fake.object_path(&id),
        1,
        graph::business_rate_limited(32, &fake.page_id, 15),
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
        .duration_since(before)
        .as_secs();
    assert!((15 * 60..15 * 60 + 30).contains(&wait), "{wait} s");
}

#[tokio::test]
async fn an_expired_token_on_a_metrics_read_asks_for_a_reconnect() {
    let (fake, account) = given_a_page().await;
    let id = a_published_post(&fake, &account).await;
    fake.expire_token();
    let c = connector(&fake);

    let post = c.post_metrics(&account.account(), &id).await.unwrap_err();
    let page = c.account_metrics(&account.account()).await.unwrap_err();

    assert!(matches!(post, PublishError::AuthExpired(_)), "{post:?}");
    assert!(matches!(page, PublishError::AuthExpired(_)), "{page:?}");
}

// The inbox: comments, mentions and Messenger messages read from each stream's cursor, the
// page's answers exactly once, private replies, moderation and webhook deliveries.

mod inbox {
    use super::*;
    use palinsesto::domain::inbox::{InteractionKind, StreamKind};
    use palinsesto::domain::moderation::ModerationAction;
    use palinsesto::networks::{Moderate, ParsePush, ReadInbox, ReplyTo};
    use palinsesto_system_tests::fakes::meta_inbox::Person;

    const SECRET: &str = "fb-app-secret";

    async fn a_page_with_a_post() -> (FakeFacebook, TestAccount, String) {
        let (fake, account) = given_a_page().await;
        let post = connector(&fake)
            .publish(&account.context(), &outgoing("Our spring menu"))
            .await
            .unwrap()
            .remote_id;
        (fake, account, post)
    }

    fn ada() -> Person {
        Person::new("7001", "Ada Byron")
    }

    #[tokio::test]
    async fn comments_are_read_once_with_their_authors_and_the_pages_own_are_native() {
        let (fake, account, post) = a_page_with_a_post().await;
        let c = connector(&fake);
        let comment = fake.comment_as(&ada(), &post, "Is it vegan?");
        let reply = fake.comment_as(&Person::new("7002", "Bob"), &comment, "I hope so");

        let first = c
            .read(
                &account.account(),
                StreamKind::Threads,
                None,
                std::slice::from_ref(&post),
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
        assert_eq!(top.author.id, "7001");
        assert_eq!(top.author.name, "Ada Byron");
        assert_eq!(top.text, "Is it vegan?");
        assert_eq!(top.parent.as_deref(), Some(post.as_str()));
        assert_eq!(top.target.id, comment);
        assert_eq!(top.target.chat, None);
        assert_eq!(
            top.permalink.as_deref(),
            Some(format!("https://www.facebook.com/{comment}").as_str())
        );
        let under = first.found.iter().find(|f| f.external_id == reply).unwrap();
        assert_eq!(under.kind, InteractionKind::Reply);
        assert_eq!(under.parent.as_deref(), Some(comment.as_str()));

        // the second read brings only what is new; the page's own comment is a native reply
        let later = fake.comment_as(&ada(), &post, "Also: gluten free?");
        c.reply(&account.context(), &top.target, &outgoing("Yes, all of it"))
            .await
            .unwrap();
        let second = c
            .read(
                &account.account(),
                StreamKind::Threads,
                first.cursor.as_deref(),
                std::slice::from_ref(&post),
            )
            .await
            .unwrap();
        let ids: Vec<&str> = second
            .found
            .iter()
            .map(|f| f.external_id.as_str())
            .collect();
        assert_eq!(ids, [later.as_str()]);
        assert_eq!(second.native.len(), 1, "{:?}", second.native);
        assert_eq!(second.native[0].parent, comment);
        let third = c
            .read(
                &account.account(),
                StreamKind::Threads,
                second.cursor.as_deref(),
                std::slice::from_ref(&post),
            )
            .await
            .unwrap();
        assert!(third.found.is_empty() && third.native.is_empty());
    }

    #[tokio::test]
    async fn mentions_and_messages_are_read_with_the_person_to_answer() {
        let (fake, account) = given_a_page().await;
        let c = connector(&fake);
        let tag = fake.tag_page(&ada(), "Lunch at @TestPage");
        let mid = fake.message_from(&ada(), "Do you deliver?");

        let mentions = c
            .read(&account.account(), StreamKind::Notifications, None, &[])
            .await
            .unwrap();
        assert_eq!(mentions.found.len(), 1);
        assert_eq!(mentions.found[0].kind, InteractionKind::Mention);
        assert_eq!(mentions.found[0].external_id, tag);
        assert!(mentions.found[0].permalink.is_some());

        let messages = c
            .read(&account.account(), StreamKind::Messages, None, &[])
            .await
            .unwrap();
        assert_eq!(messages.found.len(), 1);
        let dm = &messages.found[0];
        assert_eq!(dm.kind, InteractionKind::DirectMessage);
        assert_eq!(dm.external_id, mid);
        assert_eq!(dm.target.chat.as_deref(), Some("7001"), "the PSID");
        assert_eq!(dm.author.name, "Ada Byron");

        // the answer goes by the Send API, once; the page's message is then a native reply
        let sent = c
            .reply(
                &account.context(),
                &dm.target,
                &outgoing("Yes, within 5 km"),
            )
            .await
            .unwrap();
        let to_ada = fake.page_messages_to("7001");
        assert_eq!(to_ada.len(), 1);
        assert_eq!(sent.remote_id, to_ada[0].id);
        assert_eq!(to_ada[0].messaging_type.as_deref(), Some("RESPONSE"));
        let again = c
            .read(
                &account.account(),
                StreamKind::Messages,
                messages.cursor.as_deref(),
                &[],
            )
            .await
            .unwrap();
        assert!(again.found.is_empty(), "{:?}", again.found);
        assert_eq!(again.native.len(), 1);
        assert_eq!(again.native[0].parent, mid);
    }

    #[tokio::test]
    async fn a_lost_answer_is_found_by_the_read_back_and_never_sent_twice() {
        let (fake, account, post) = a_page_with_a_post().await;
        let c = connector(&fake);
        let comment = fake.comment_as(&ada(), &post, "Open on Sunday?");
        let read = c
            .read(&account.account(), StreamKind::Threads, None, &[post])
            .await
            .unwrap();
        let target = &read.found[0].target;
        let reply = outgoing("Yes, 10 to 13");
        assert_eq!(
            c.find_reply(&account.context(), target, &reply)
                .await
                .unwrap(),
            ReadBack::NotFound
        );
        fake.lose_next_answer_on(&comment);
        let lost = c
            .reply(&account.context(), target, &reply)
            .await
            .unwrap_err();
        assert!(matches!(lost, PublishError::UnknownOutcome(_)), "{lost:?}");
        let ReadBack::Found(found) = c
            .find_reply(&account.context(), target, &reply)
            .await
            .unwrap()
        else {
            panic!("the reply was made")
        };
        let made = fake.page_replies_to(&comment);
        assert_eq!(made.len(), 1, "exactly one");
        assert_eq!(found.remote_id, made[0].id);

        // a lost Messenger answer is found among the page's messages to the person
        let mid = fake.message_from(&ada(), "and Monday?");
        let dms = c
            .read(&account.account(), StreamKind::Messages, None, &[])
            .await
            .unwrap();
        let dm = dms.found.iter().find(|f| f.external_id == mid).unwrap();
        fake.lose_next_answer_on(&fake.page_id);
        let answer = outgoing("Closed on Monday");
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
        assert_eq!(fake.page_messages_to("7001").len(), 1);
        assert_eq!(found.remote_id, fake.page_messages_to("7001")[0].id);
    }

    #[tokio::test]
    async fn a_private_reply_goes_to_the_comments_author_once() {
        let (fake, account, post) = a_page_with_a_post().await;
        let c = connector(&fake);
        let comment = fake.comment_as(&ada(), &post, "What's the price?");
        let read = c
            .read(&account.account(), StreamKind::Threads, None, &[post])
            .await
            .unwrap();
        let target = &read.found[0].target;
        c.reply_privately(&account.context(), target, &outgoing("12 euros, see DM"))
            .await
            .unwrap();
        let private = fake.private_replies_to(&comment);
        assert_eq!(private.len(), 1);
        assert_eq!(private[0].person.id, "7001");
        // Meta refuses a second one (the domain's rule stops it first)
        let again = c
            .reply_privately(&account.context(), target, &outgoing("again"))
            .await
            .unwrap_err();
        assert!(again.to_string().contains("already replied"), "{again}");
    }

    #[tokio::test]
    async fn each_moderation_action_changes_the_comment() {
        let (fake, account, post) = a_page_with_a_post().await;
        let c = connector(&fake);
        assert_eq!(
            c.actions(),
            [
                ModerationAction::Hide,
                ModerationAction::Unhide,
                ModerationAction::Like,
                ModerationAction::DeleteReply
            ]
        );
        let comment = fake.comment_as(&ada(), &post, "spam spam");
        let read = c
            .read(&account.account(), StreamKind::Threads, None, &[post])
            .await
            .unwrap();
        let target = read.found[0].target.clone();
        let a = account.account();
        c.moderate(&a, &target, ModerationAction::Hide)
            .await
            .unwrap();
        c.moderate(&a, &target, ModerationAction::Hide)
            .await
            .unwrap();
        assert!(fake.comment(&comment).unwrap().hidden);
        c.moderate(&a, &target, ModerationAction::Unhide)
            .await
            .unwrap();
        assert!(!fake.comment(&comment).unwrap().hidden);
        c.moderate(&a, &target, ModerationAction::Like)
            .await
            .unwrap();
        assert!(fake.comment(&comment).unwrap().liked);
        let mine = c
            .reply(&account.context(), &target, &outgoing("Please stop"))
            .await
            .unwrap();
        let mut theirs = target.clone();
        theirs.id = mine.remote_id.clone();
        c.moderate(&a, &theirs, ModerationAction::DeleteReply)
            .await
            .unwrap();
        assert!(fake.comment(&mine.remote_id).unwrap().deleted);
        // deleting what is gone is done
        c.moderate(&a, &theirs, ModerationAction::DeleteReply)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn documented_refusals_come_back_in_plain_words() {
        let (fake, account, post) = a_page_with_a_post().await;
        let c = connector(&fake);
        for code in [4, 17, 32, 613] {
            fake.server.faults.inject(
                Method::GET,
                &fake.object_path(&post),
                1,
                graph::business_rate_limited(code, &fake.page_id, 7),
            );
            let err = c
                .read(
                    &account.account(),
                    StreamKind::Threads,
                    None,
                    std::slice::from_ref(&post),
                )
                .await
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    PublishError::RateLimited {
                        retry_at: Some(_),
                        ..
                    }
                ),
                "{code}: {err:?}"
            );
        }
        fake.expire_token();
        let err = c
            .read(&account.account(), StreamKind::Messages, None, &[])
            .await
            .unwrap_err();
        assert!(matches!(err, PublishError::AuthExpired(_)), "{err:?}");
    }

    #[tokio::test]
    async fn a_webhook_names_the_same_items_as_the_poll() {
        let (fake, account, post) = a_page_with_a_post().await;
        let c = connector(&fake);
        let comment = fake.comment_as(&ada(), &post, "Love it");
        let tag = fake.tag_page(&ada(), "with @TestPage");
        let mid = fake.message_from(&ada(), "hello");
        let polled = c
            .read(
                &account.account(),
                StreamKind::Threads,
                None,
                std::slice::from_ref(&post),
            )
            .await
            .unwrap();

        let hook = fake.comment_webhook(&comment, SECRET);
        assert!(hook.signature.starts_with("sha256="));
        let pushed = c.parse(&hook.body).unwrap();
        assert_eq!(pushed.len(), 1);
        assert_eq!(pushed[0].account, fake.page_id);
        assert_eq!(pushed[0].found.len(), 1);
        let from_hook = &pushed[0].found[0];
        let from_poll = &polled.found[0];
        assert_eq!(from_hook.external_id, from_poll.external_id);
        assert_eq!(from_hook.kind, from_poll.kind);
        assert_eq!(from_hook.parent, from_poll.parent);
        assert_eq!(from_hook.author.id, from_poll.author.id);
        assert_eq!(from_hook.created_at, from_poll.created_at);

        let mention = c.parse(&fake.mention_webhook(&tag, SECRET).body).unwrap();
        assert_eq!(mention[0].found[0].external_id, tag);
        assert_eq!(mention[0].found[0].kind, InteractionKind::Mention);
        let message = c.parse(&fake.message_webhook(&mid, SECRET).body).unwrap();
        assert_eq!(message[0].found[0].external_id, mid);
        assert_eq!(message[0].found[0].target.chat.as_deref(), Some("7001"));

        // the page's own comment arrives as a native reply
        c.reply(&account.context(), &from_poll.target, &outgoing("Thanks!"))
            .await
            .unwrap();
        let own = fake.page_replies_to(&comment)[0].id.clone();
        let native = c.parse(&fake.comment_webhook(&own, SECRET).body).unwrap();
        assert!(native[0].found.is_empty());
        assert_eq!(native[0].native[0].parent, comment);

        let err = c
            .parse(br#"{"object":"instagram","entry":[]}"#)
            .unwrap_err();
        assert!(err.contains("not \"page\""), "{err}");
    }
}
