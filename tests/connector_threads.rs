//! The Threads connector against its loopback fake: text, image, video and carousel posts, reply
//! chains, refusals, lost answers read back, token refresh, post and account metrics.

use std::time::Duration;

use palinsesto::domain::{Asset, AssetId, MediaKind, Network};
use palinsesto::networks::threads::ThreadsConnector;
use palinsesto::networks::{Outgoing, Publish, PublishError, ReadBack, ReadMetrics};
use palinsesto::outbound::OutboundClient;
use palinsesto_system_tests::accounts::{TestAccount, impatient_http, outbound, outgoing};
use palinsesto_system_tests::fakes::Fault;
use palinsesto_system_tests::fakes::facebook::graph;
use palinsesto_system_tests::fakes::threads::FakeThreads;

async fn given_an_account() -> (FakeThreads, TestAccount) {
    let fake = FakeThreads::start().await;
    let yesterday = jiff::Timestamp::now().as_second() - 86_400;
    let account = TestAccount::new(
        Network::Threads,
        fake.settings(),
        fake.credentials(Some(yesterday)),
    )
    .await;
    (fake, account)
}

fn connector_with(fake: &FakeThreads, http: OutboundClient) -> ThreadsConnector {
    ThreadsConnector::new(http, fake.base())
        .with_polling(Duration::from_millis(10), Duration::from_secs(5))
}

fn connector(fake: &FakeThreads) -> ThreadsConnector {
    connector_with(fake, outbound())
}

fn png(account: &TestAccount) -> Asset {
    account.media.add(
        MediaKind::Image,
        "image/png",
        vec![0x89, b'P', b'N', b'G'],
        Some("A chart"),
    )
}

fn mp4(account: &TestAccount) -> Asset {
    account
        .media
        .add(MediaKind::Video, "video/mp4", vec![0, 0, 0, 24], None)
}

fn thread(text: &str, replies: &[&str]) -> Outgoing {
    let mut post = outgoing(text);
    post.thread = replies.iter().map(|r| (*r).to_owned()).collect();
    post
}

#[tokio::test]
async fn a_text_post_is_a_text_container_published() {
    let (fake, account) = given_an_account().await;
    fake.set_processing_polls(2);

    let published = connector(&fake)
        .publish(&account.context(), &outgoing("Hello, Threads"))
        .await
        .unwrap();

    let containers = fake.containers();
    assert_eq!(containers.len(), 1);
    assert_eq!(containers[0].media_type, "TEXT");
    assert_eq!(containers[0].status, "PUBLISHED");
    let posts = fake.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].text, "Hello, Threads");
    assert_eq!(published.remote_id, posts[0].id);
    assert_eq!(published.url.as_deref(), Some(posts[0].permalink.as_str()));
}

#[tokio::test]
async fn an_image_and_a_video_are_fetched_by_url() {
    let (fake, account) = given_an_account().await;
    let c = connector(&fake);
    let mut image_post = outgoing("A chart");
    image_post.media = vec![png(&account)];
    let mut video_post = outgoing("A clip");
    video_post.media = vec![mp4(&account)];

    c.publish(&account.context(), &image_post).await.unwrap();
    c.publish(&account.context(), &video_post).await.unwrap();

    let types: Vec<_> = fake.posts().into_iter().map(|p| p.media_type).collect();
    assert_eq!(types, vec!["IMAGE", "VIDEO"]);
    assert_eq!(fake.containers()[0].alt_text.as_deref(), Some("A chart"));
    assert_eq!(account.media.fetches(), 2);
}

#[tokio::test]
async fn several_items_become_one_carousel() {
    let (fake, account) = given_an_account().await;
    let mut post = outgoing("Gallery");
    post.media = vec![png(&account), mp4(&account), png(&account)];

    let published = connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    let posts = fake.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].media_type, "CAROUSEL");
    assert_eq!(posts[0].media_urls.len(), 3);
    assert_eq!(published.remote_id, posts[0].id);
    assert_eq!(
        fake.containers().iter().filter(|c| c.carousel_item).count(),
        3
    );
}

#[tokio::test]
async fn follow_ups_are_published_as_a_chain_of_replies() {
    let (fake, account) = given_an_account().await;

    let published = connector(&fake)
        .publish(
            &account.context(),
            &thread("1/3 A thread", &["2/3 more", "3/3 the end"]),
        )
        .await
        .unwrap();

    let replies = fake.replies();
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0].text, "2/3 more");
    assert_eq!(
        replies[0].reply_to.as_deref(),
        Some(published.remote_id.as_str())
    );
    assert_eq!(replies[1].reply_to.as_deref(), Some(replies[0].id.as_str()));
    assert!(published.notes.is_empty());
}

#[tokio::test]
async fn a_refused_reply_is_a_note_and_the_rest_of_the_thread_is_said_to_be_missing() {
    let (fake, account) = given_an_account().await;
    fake.refuse_replies();

    let published = connector(&fake)
        .publish(&account.context(), &thread("Main", &["two", "three"]))
        .await
        .unwrap();

    assert_eq!(fake.posts().len(), 1, "the post itself stands");
    assert_eq!(published.notes.len(), 2, "{:?}", published.notes);
    assert!(published.notes[0].starts_with("reply 1 was not posted"));
    assert!(published.notes[1].contains("replies 2 to 2"));
}

#[tokio::test]
async fn an_image_threads_cannot_fetch_fails_the_container_with_its_reason() {
    let (fake, account) = given_an_account().await;
    let mut missing = png(&account);
    missing.id = AssetId::new();
    let mut post = outgoing("Missing");
    post.media = vec![missing];

    let err = connector(&fake)
        .publish(&account.context(), &post)
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::InvalidMedia(_)), "{err:?}");
    assert!(
        err.to_string().contains("Media download has failed"),
        "{err}"
    );
    assert!(fake.posts().is_empty());
}

#[tokio::test]
async fn an_expired_token_asks_for_a_reconnect() {
    let (fake, account) = given_an_account().await;
    fake.expire_token();

    let err = connector(&fake)
        .publish(&account.context(), &outgoing("Hello"))
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::AuthExpired(_)), "{err:?}");
}

#[tokio::test]
async fn a_user_rate_limit_on_publish_says_when_access_comes_back() {
    let (fake, account) = given_an_account().await;
    fake.on_publish(1, graph::business_rate_limited(17, &fake.user_id, 5));
    let before = jiff::Timestamp::now();

    let err = connector(&fake)
        .publish(&account.context(), &outgoing("Hello"))
        .await
        .unwrap_err();

    let PublishError::RateLimited { retry_at, .. } = &err else {
        panic!("expected a rate limit, got {err:?}");
    };
    let wait = retry_at
        .expect("the usage header gives the time")
        .duration_since(before);
    assert!((300..330).contains(&wait.as_secs()), "{wait:?}");
    assert!(fake.posts().is_empty());
}

#[tokio::test]
async fn a_server_error_is_transient() {
    let (fake, account) = given_an_account().await;
    fake.on_publish(1, Fault::status(503, "upstream unavailable"));

    let err = connector(&fake)
        .publish(&account.context(), &outgoing("Hello"))
        .await
        .unwrap_err();

    assert!(matches!(err, PublishError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn a_dropped_publish_answer_is_read_back_to_the_same_post() {
    let (fake, account) = given_an_account().await;
    fake.on_publish(1, Fault::DropAfterReceive);
    let post = thread("Dropped", &["a reply"]);
    let c = connector(&fake);

    let err = c.publish(&account.context(), &post).await.unwrap_err();

    assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");
    assert_eq!(fake.count_with_text("Dropped"), 1);
    let ReadBack::Found(found) = c.find_published(&account.context(), &post).await.unwrap() else {
        panic!("the read-back should find the post");
    };
    assert_eq!(found.remote_id, fake.posts()[0].id);
    assert_eq!(found.notes.len(), 1, "the replies it never got are said");
}

#[tokio::test]
async fn a_late_publish_answer_is_read_back_to_the_same_post() {
    let (fake, account) = given_an_account().await;
    fake.on_publish(1, Fault::AnswerLate(Duration::from_secs(3)));
    let post = outgoing("Late");
    let c = connector_with(&fake, impatient_http());

    let err = c.publish(&account.context(), &post).await.unwrap_err();

    assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");
    let ReadBack::Found(found) = c.find_published(&account.context(), &post).await.unwrap() else {
        panic!("the read-back should find the post");
    };
    assert_eq!(found.remote_id, fake.posts()[0].id);
}

#[tokio::test]
async fn a_post_never_made_is_not_found_even_among_many() {
    let (fake, account) = given_an_account().await;
    let c = connector(&fake);
    for i in 0..3 {
        c.publish(&account.context(), &outgoing(&format!("post {i}")))
            .await
            .unwrap();
    }

    let answer = c
        .find_published(&account.context(), &outgoing("Never sent"))
        .await
        .unwrap();

    assert_eq!(answer, ReadBack::NotFound);
}

#[tokio::test]
async fn a_token_without_a_refresh_on_record_is_refreshed_and_stored() {
    let fake = FakeThreads::start().await;
    let account = TestAccount::new(Network::Threads, fake.settings(), fake.credentials(None)).await;

    connector(&fake)
        .publish(&account.context(), &outgoing("Fresh"))
        .await
        .unwrap();

    assert_eq!(fake.refreshes(), vec!["th_refresh_token".to_owned()]);
    let updates = account.sink.updates();
    assert_eq!(updates.len(), 1);
    let (key, token) = &updates[0][0];
    assert_eq!(key, "access_token");
    assert_eq!(token, &fake.valid_tokens()[1]);
    assert!(updates[0].iter().all(|(_, v)| !v.is_empty()));
}

#[tokio::test]
async fn an_empty_refreshed_token_is_never_stored() {
    let fake = FakeThreads::start().await;
    fake.answer_refresh_with_empty_token();
    let account = TestAccount::new(Network::Threads, fake.settings(), fake.credentials(None)).await;

    connector(&fake)
        .publish(&account.context(), &outgoing("Old token still works"))
        .await
        .unwrap();

    assert!(account.sink.updates().is_empty());
    assert_eq!(fake.posts().len(), 1);
}

// Metrics

/// A published text post's id, with these lifetime insights on the fake.
async fn a_post_with_stats(
    fake: &FakeThreads,
    account: &TestAccount,
    stats: &[(&str, u64)],
) -> String {
    let published = connector(fake)
        .publish(&account.context(), &outgoing("Counting"))
        .await
        .unwrap();
    fake.set_post_stats(&published.remote_id, stats);
    published.remote_id
}

#[tokio::test]
async fn post_metrics_are_read_from_insights_and_follow_the_post_as_it_grows() {
    // Given a post with some insights
    let (fake, account) = given_an_account().await;
    let id = a_post_with_stats(
        &fake,
        &account,
        &[
            ("views", 120),
            ("likes", 9),
            ("replies", 3),
            ("reposts", 2),
            ("quotes", 1),
            ("shares", 5),
        ],
    )
    .await;
    let c = connector(&fake);

    // When read twice, the post gaining likes and views in between
    let first = c.post_metrics(&account.account(), &id).await.unwrap();
    fake.set_post_stats(&id, &[("views", 300), ("likes", 15)]);
    let second = c.post_metrics(&account.account(), &id).await.unwrap();

    // Then each reading has the figures of its moment
    let counters = &first.counters;
    assert_eq!(counters.views, Some(120));
    assert_eq!(counters.likes, Some(9));
    assert_eq!(counters.replies, Some(3));
    assert_eq!(counters.quotes, Some(1));
    assert_eq!(
        counters.reposts,
        Some(2),
        "reposts only: the 5 shares are a different act"
    );
    assert_eq!(
        (second.counters.views, second.counters.likes),
        (Some(300), Some(15))
    );
    assert_eq!(second.counters.replies, Some(3));
    // And what Threads does not count is not available, never 0
    assert_eq!(counters.reach, None);
    assert_eq!(counters.clicks, None);
    assert_eq!(counters.saves, None);
    assert_eq!(counters.followers, None);
    // And Threads' own answer is kept, shares included
    let shares = first.raw["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "shares")
        .expect("shares kept in raw");
    assert_eq!(shares["values"][0]["value"], 5);
}

#[tokio::test]
async fn insights_not_ready_yet_are_not_available_rather_than_zero() {
    // Given Threads answering an empty data set
    let (fake, account) = given_an_account().await;
    let id = a_post_with_stats(&fake, &account, &[("likes", 4)]).await;
    fake.set_insights_ready(false);

    // When
    let reading = connector(&fake)
        .post_metrics(&account.account(), &id)
        .await
        .unwrap();

    // Then
    assert!(reading.counters.is_empty(), "{:?}", reading.counters);
    assert_eq!(reading.raw, serde_json::json!({ "data": [] }));
}

#[tokio::test]
async fn followers_come_from_the_user_insights_and_are_absent_when_unreported() {
    let (fake, account) = given_an_account().await;
    let c = connector(&fake);

    fake.set_followers(Some(1_234));
    let reported = c.account_metrics(&account.account()).await.unwrap();
    fake.set_followers(Some(1_240));
    let later = c.account_metrics(&account.account()).await.unwrap();
    fake.set_followers(None);
    let unreported = c.account_metrics(&account.account()).await.unwrap();

    assert_eq!(reported.counters.followers, Some(1_234));
    assert_eq!(later.counters.followers, Some(1_240));
    assert_eq!(
        reported.counters.likes, None,
        "an account reading is about followers only"
    );
    assert_eq!(unreported.counters.followers, None);
}

#[tokio::test]
async fn a_rate_limited_metrics_read_says_when_access_comes_back() {
    let (fake, account) = given_an_account().await;
    let id = a_post_with_stats(&fake, &account, &[("likes", 1)]).await;
    fake.server.faults.inject(
        axum::http::Method::GET,
        &fake.node_path(&id, "insights"),
        1,
        graph::business_rate_limited(17, &fake.user_id, 5),
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
    assert!((300..330).contains(&wait.as_secs()), "{wait:?}");
}

#[tokio::test]
async fn an_expired_token_on_a_metrics_read_asks_for_a_reconnect() {
    let (fake, account) = given_an_account().await;
    let id = a_post_with_stats(&fake, &account, &[("likes", 1)]).await;
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

// The inbox: replies under the account's posts and mentions, answers in two steps exactly once,
// moderation with manage_reply and deletion, webhook deliveries.

mod inbox {
    use super::*;
    use palinsesto::domain::inbox::{InteractionKind, StreamKind};
    use palinsesto::domain::moderation::ModerationAction;
    use palinsesto::networks::{Moderate, ParsePush, ReadInbox, ReplyTo};
    use palinsesto_system_tests::fakes::meta_inbox::Person;

    const SECRET: &str = "th-app-secret";

    fn ada() -> Person {
        Person::new("3001", "Ada")
    }

    #[tokio::test]
    async fn replies_and_mentions_are_read_once_and_the_accounts_own_are_native() {
        let (fake, account) = given_an_account().await;
        let c = connector(&fake);
        let post = fake.add_post("Ask me anything");
        let reply = fake.reply_as(&ada(), &post, "What's next?");
        let nested = fake.reply_as(&Person::new("3002", "Bob"), &reply, "same question");
        let mention = fake.mention_as(&ada(), "cc @test");

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
        let r = first.found.iter().find(|f| f.external_id == reply).unwrap();
        assert_eq!(r.kind, InteractionKind::Reply);
        assert_eq!(r.author.handle, "@ada");
        assert_eq!(r.parent.as_deref(), Some(post.as_str()));
        assert_eq!(r.root.as_deref(), Some(post.as_str()));
        assert!(
            r.permalink
                .as_deref()
                .unwrap()
                .contains("threads.net/@ada/post/")
        );
        let n = first
            .found
            .iter()
            .find(|f| f.external_id == nested)
            .unwrap();
        assert_eq!(n.parent.as_deref(), Some(reply.as_str()));

        let mentions = c
            .read(&account.account(), StreamKind::Notifications, None, &[])
            .await
            .unwrap();
        assert_eq!(mentions.found.len(), 1);
        assert_eq!(mentions.found[0].kind, InteractionKind::Mention);
        assert_eq!(mentions.found[0].external_id, mention);

        // the account answers (container, then publish): one reply, then native on the next read
        let sent = c
            .reply(&account.context(), &r.target, &outgoing("A new season"))
            .await
            .unwrap();
        assert_eq!(fake.account_replies_to(&reply).len(), 1);
        assert!(sent.url.is_some());
        let later = fake.reply_as(&ada(), &post, "Yay");
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
        assert_eq!(second.native.len(), 1);
        assert_eq!(second.native[0].external_id, sent.remote_id);
        assert_eq!(second.native[0].parent, reply);
    }

    #[tokio::test]
    async fn a_lost_publish_answer_is_found_by_the_read_back_and_not_repeated() {
        let (fake, account) = given_an_account().await;
        let c = connector(&fake);
        let post = fake.add_post("Hello");
        let reply = fake.reply_as(&ada(), &post, "Hi!");
        let read = c
            .read(&account.account(), StreamKind::Threads, None, &[post])
            .await
            .unwrap();
        let target = &read.found[0].target;
        let answer = outgoing("Welcome");
        assert_eq!(
            c.find_reply(&account.context(), target, &answer)
                .await
                .unwrap(),
            ReadBack::NotFound
        );
        fake.lose_next_publish_answer();
        let lost = c
            .reply(&account.context(), target, &answer)
            .await
            .unwrap_err();
        assert!(matches!(lost, PublishError::UnknownOutcome(_)), "{lost:?}");
        let ReadBack::Found(found) = c
            .find_reply(&account.context(), target, &answer)
            .await
            .unwrap()
        else {
            panic!("the reply was published")
        };
        let made = fake.account_replies_to(&reply);
        assert_eq!(made.len(), 1, "exactly one");
        assert_eq!(found.remote_id, made[0].id);
        // Threads has no private replies
        assert!(
            c.reply_privately(&account.context(), target, &answer)
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn hiding_unhiding_and_deleting_change_the_reply_and_liking_is_not_offered() {
        let (fake, account) = given_an_account().await;
        let c = connector(&fake);
        assert_eq!(
            c.actions(),
            [
                ModerationAction::Hide,
                ModerationAction::Unhide,
                ModerationAction::DeleteReply
            ]
        );
        let post = fake.add_post("Poll");
        let reply = fake.reply_as(&ada(), &post, "troll");
        let read = c
            .read(&account.account(), StreamKind::Threads, None, &[post])
            .await
            .unwrap();
        let target = read.found[0].target.clone();
        let a = account.account();
        c.moderate(&a, &target, ModerationAction::Hide)
            .await
            .unwrap();
        assert!(fake.media(&reply).unwrap().hidden);
        c.moderate(&a, &target, ModerationAction::Unhide)
            .await
            .unwrap();
        assert!(!fake.media(&reply).unwrap().hidden);
        let mine = c
            .reply(
                &account.context(),
                &target,
                &outgoing("Let's keep it civil"),
            )
            .await
            .unwrap();
        let mut own = target.clone();
        own.id = mine.remote_id.clone();
        c.moderate(&a, &own, ModerationAction::DeleteReply)
            .await
            .unwrap();
        assert!(fake.media(&mine.remote_id).unwrap().deleted);
        // someone else's reply cannot be deleted: Threads says so
        let err = c
            .moderate(&a, &target, ModerationAction::DeleteReply)
            .await
            .unwrap_err();
        assert!(matches!(err, PublishError::AuthExpired(_)), "{err:?}");
    }

    #[tokio::test]
    async fn webhooks_name_what_the_poll_reads() {
        let (fake, account) = given_an_account().await;
        let c = connector(&fake);
        let post = fake.add_post("Morning");
        let reply = fake.reply_as(&ada(), &post, "Good morning");
        let mention = fake.mention_as(&ada(), "hey @test");
        let polled = c
            .read(
                &account.account(),
                StreamKind::Threads,
                None,
                std::slice::from_ref(&post),
            )
            .await
            .unwrap();
        let pushed = c.parse(&fake.reply_webhook(&reply, SECRET).body).unwrap();
        assert_eq!(pushed.len(), 1);
        assert_eq!(pushed[0].account, fake.user_id);
        let from_hook = &pushed[0].found[0];
        assert_eq!(from_hook.external_id, polled.found[0].external_id);
        assert_eq!(from_hook.kind, InteractionKind::Reply);
        assert_eq!(from_hook.parent, polled.found[0].parent);
        assert_eq!(from_hook.created_at, polled.found[0].created_at);
        let mentioned = c
            .parse(&fake.mention_webhook(&mention, SECRET).body)
            .unwrap();
        assert_eq!(mentioned[0].found[0].external_id, mention);
        assert_eq!(mentioned[0].found[0].kind, InteractionKind::Mention);

        // the account's own reply comes back as native
        let mine = c
            .reply(
                &account.context(),
                &polled.found[0].target,
                &outgoing("Hi Ada"),
            )
            .await
            .unwrap();
        let own = c
            .parse(&fake.reply_webhook(&mine.remote_id, SECRET).body)
            .unwrap();
        assert!(own[0].found.is_empty());
        assert_eq!(own[0].native[0].parent, reply);
    }
}
