//! The LinkedIn connector against its loopback fake: little-text escaping, images and videos,
//! first comments, token refresh for partner apps, error mapping, the read-back, and post and page
//! statistics.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::Method;
use palinsesto::domain::{MediaKind, Network};
use palinsesto::networks::linkedin::LinkedinConnector;
use palinsesto::networks::{Publish, PublishError, ReadBack, ReadMetrics};
use palinsesto::outbound::OutboundClient;
use palinsesto_system_tests::accounts::{TestAccount, impatient_http, outbound, outgoing};
use palinsesto_system_tests::fakes::Fault;
use palinsesto_system_tests::fakes::linkedin::{self as fake, FakeLinkedin, FakePostStats};
use serde_json::{Value, json};

fn connector(li: &FakeLinkedin) -> LinkedinConnector {
    connector_with(outbound(), li)
}

fn connector_with(http: OutboundClient, li: &FakeLinkedin) -> LinkedinConnector {
    LinkedinConnector::new(http, li.base())
        .with_oauth_base(li.base())
        .with_polling(Duration::from_millis(5), Duration::from_secs(5))
}

async fn account(li: &FakeLinkedin, credentials: Value) -> TestAccount {
    TestAccount::new(Network::Linkedin, li.settings(), credentials).await
}

fn bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

#[tokio::test]
async fn commentary_arrives_escaped_and_is_shown_whole() {
    // Given a text full of little-text reserved characters
    let li = FakeLinkedin::start().await;
    let account = account(&li, li.credentials()).await;
    let text = "Launch (beta) #news @acme";

    // When
    let published = connector(&li)
        .publish(&account.context(), &outgoing(text))
        .await
        .unwrap();

    // Then LinkedIn received the escaped form and would show the whole text
    let post = li.post(&published.remote_id).unwrap();
    assert_eq!(post.commentary, r"Launch \(beta\) \#news \@acme");
    assert_eq!(post.shown_text(), text);
    assert_eq!(post.author, fake::AUTHOR);
    assert!(published.remote_id.starts_with("urn:li:share:"));
    assert_eq!(
        published.url.as_deref(),
        Some(
            format!(
                "https://www.linkedin.com/feed/update/{}/",
                published.remote_id
            )
            .as_str()
        )
    );
    assert_eq!(post.body["visibility"], "PUBLIC");
    assert_eq!(post.body["lifecycleState"], "PUBLISHED");
    assert_eq!(post.body["distribution"]["feedDistribution"], "MAIN_FEED");
    assert_eq!(post.body["isReshareDisabledByAuthor"], false);
    assert!(post.content.is_none());
}

#[tokio::test]
async fn an_image_is_uploaded_and_posted_with_its_alt_text() {
    // Given
    let li = FakeLinkedin::start().await;
    let account = account(&li, li.credentials()).await;
    let image = bytes(5_000);
    let asset = account.media.add(
        MediaKind::Image,
        "image/jpeg",
        image.clone(),
        Some("Our team on stage"),
    );
    let mut post = outgoing("Thank you all");
    post.media = vec![asset];

    // When
    let published = connector(&li)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    // Then
    let images = li.images();
    assert_eq!(images.len(), 1);
    assert_eq!(images[0].owner, fake::AUTHOR);
    assert_eq!(images[0].bytes.as_deref(), Some(image.as_slice()));
    let content = li.post(&published.remote_id).unwrap().content.unwrap();
    assert_eq!(
        content,
        json!({"media": {"id": images[0].urn, "altText": "Our team on stage"}})
    );
}

#[tokio::test]
async fn several_images_make_a_multi_image_post() {
    // Given three images, one without alt text
    let li = FakeLinkedin::start().await;
    let account = account(&li, li.credentials()).await;
    let assets = vec![
        account
            .media
            .add(MediaKind::Image, "image/jpeg", bytes(100), Some("First")),
        account
            .media
            .add(MediaKind::Image, "image/png", bytes(200), None),
        account
            .media
            .add(MediaKind::Image, "image/jpeg", bytes(300), Some("Third")),
    ];
    let mut post = outgoing("A gallery");
    post.media = assets;

    // When
    let published = connector(&li)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    // Then
    let images = li.images();
    assert_eq!(images.len(), 3);
    let content = li.post(&published.remote_id).unwrap().content.unwrap();
    assert_eq!(
        content,
        json!({"multiImage": {"images": [
            {"id": images[0].urn, "altText": "First"},
            {"id": images[1].urn},
            {"id": images[2].urn, "altText": "Third"},
        ]}})
    );
}

#[tokio::test]
async fn a_video_is_uploaded_in_parts_and_posted_once_available() {
    // Given 1,000-byte parts and three PROCESSING answers before AVAILABLE
    let li = FakeLinkedin::start().await;
    li.set_video_part_size(1_000);
    li.set_processing(3, None);
    let account = account(&li, li.credentials()).await;
    let video = bytes(2_500);
    let asset = account
        .media
        .add(MediaKind::Video, "video/mp4", video.clone(), None);
    let mut post = outgoing("Behind the scenes");
    post.media = vec![asset];

    // When
    let published = connector(&li)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    // Then
    let videos = li.videos();
    assert_eq!(videos.len(), 1);
    assert_eq!(videos[0].parts.len(), 3);
    assert_eq!(videos[0].bytes(), video);
    assert_eq!(videos[0].status, "AVAILABLE");
    assert!(li.status_polls() >= 4, "polled {} times", li.status_polls());
    let content = li.post(&published.remote_id).unwrap().content.unwrap();
    assert_eq!(content, json!({"media": {"id": videos[0].urn}}));
}

#[tokio::test]
async fn a_video_linkedin_cannot_process_is_invalid_media() {
    // Given
    let li = FakeLinkedin::start().await;
    li.set_processing(1, Some("Video format is not supported"));
    let account = account(&li, li.credentials()).await;
    let asset = account
        .media
        .add(MediaKind::Video, "video/mp4", bytes(500), None);
    let mut post = outgoing("Broken video");
    post.media = vec![asset];

    // When
    let err = connector(&li)
        .publish(&account.context(), &post)
        .await
        .unwrap_err();

    // Then
    assert!(
        matches!(&err, PublishError::InvalidMedia(m) if m.contains("Video format is not supported")),
        "{err:?}"
    );
    assert!(li.posts().is_empty());
}

#[tokio::test]
async fn follow_ups_become_comments_under_the_post() {
    // Given
    let li = FakeLinkedin::start().await;
    let account = account(&li, li.credentials()).await;
    let mut post = outgoing("Read the full story");
    post.thread = vec!["Link: https://example.com/story (free)".into()];

    // When
    let published = connector(&li)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    // Then
    let comments = li.comments();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].post, published.remote_id);
    assert_eq!(comments[0].actor, fake::AUTHOR);
    assert_eq!(comments[0].text, "Link: https://example.com/story (free)");
    assert!(published.notes.is_empty());
}

#[tokio::test]
async fn a_failed_comment_is_a_note_and_the_post_still_counts() {
    // Given
    let li = FakeLinkedin::start().await;
    li.server.faults.inject(
        Method::POST,
        "/rest/socialActions/",
        1,
        Fault::status(500, r#"{"message":"Internal Server Error","status":500}"#),
    );
    let account = account(&li, li.credentials()).await;
    let mut post = outgoing("Post with a comment");
    post.thread = vec!["The comment".into()];

    // When
    let published = connector(&li)
        .publish(&account.context(), &post)
        .await
        .unwrap();

    // Then
    assert_eq!(li.posts().len(), 1);
    assert!(li.comments().is_empty());
    assert_eq!(published.notes.len(), 1);
    assert!(
        published.notes[0].contains("comment 1 of 1 was not posted"),
        "{:?}",
        published.notes
    );
}

#[tokio::test]
async fn the_fake_refuses_calls_without_linkedin_s_headers() {
    // Given
    let li = FakeLinkedin::start().await;
    let http = outbound();
    let url = format!("{}/rest/posts", li.base());

    // When
    let no_version = http
        .post(&url)
        .bearer_auth(fake::ACCESS_TOKEN)
        .header("X-Restli-Protocol-Version", "2.0.0")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let no_protocol = http
        .post(&url)
        .bearer_auth(fake::ACCESS_TOKEN)
        .header("Linkedin-Version", "202510")
        .json(&json!({}))
        .send()
        .await
        .unwrap();

    // Then
    assert_eq!(no_version.status(), 400);
    assert_eq!(no_protocol.status(), 400);
    assert!(li.posts().is_empty());
}

#[tokio::test]
async fn a_retired_api_version_is_misconfigured() {
    // Given
    let li = FakeLinkedin::start().await;
    let account = account(&li, li.credentials()).await;

    // When
    let err = connector(&li)
        .with_version("202301")
        .publish(&account.context(), &outgoing("Old version"))
        .await
        .unwrap_err();

    // Then
    assert!(
        matches!(&err, PublishError::Misconfigured(m) if m.contains("202301")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_expired_token_without_refresh_is_auth_expired() {
    // Given an ordinary app: no refresh token
    let li = FakeLinkedin::start().await;
    li.expire_access_token();
    let account = account(&li, li.credentials()).await;

    // When
    let err = connector(&li)
        .publish(&account.context(), &outgoing("Never posted"))
        .await
        .unwrap_err();

    // Then
    assert!(
        matches!(&err, PublishError::AuthExpired(m) if m.contains("Invalid access token")),
        "{err:?}"
    );
    assert_eq!(li.tokens_refreshed(), 0);
    assert!(li.posts().is_empty());
}

#[tokio::test]
async fn a_partner_token_is_refreshed_and_the_refresh_token_kept() {
    // Given a partner app whose refresh answer carries no refresh token
    let li = FakeLinkedin::start().await;
    li.expire_access_token();
    li.omit_refresh_token();
    let account = account(&li, li.partner_credentials()).await;

    // When
    let published = connector(&li)
        .publish(&account.context(), &outgoing("After the refresh"))
        .await
        .unwrap();

    // Then
    assert!(li.post(&published.remote_id).is_some());
    assert_eq!(li.tokens_refreshed(), 1);
    let updates = account.sink.updates();
    assert_eq!(updates.len(), 1);
    let stored: HashMap<_, _> = updates[0].iter().cloned().collect();
    assert_eq!(stored.get("access_token"), Some(&li.access_token()));
    assert!(!stored.contains_key("refresh_token"), "{stored:?}");
    assert!(updates[0].iter().all(|(_, v)| !v.is_empty()));
}

#[tokio::test]
async fn a_refused_partner_refresh_is_auth_expired() {
    // Given
    let li = FakeLinkedin::start().await;
    li.expire_access_token();
    li.refuse_refresh();
    let account = account(&li, li.partner_credentials()).await;

    // When
    let err = connector(&li)
        .publish(&account.context(), &outgoing("Never posted"))
        .await
        .unwrap_err();

    // Then
    assert_eq!(err.kind(), "auth_expired");
    assert!(account.sink.updates().is_empty());
    assert!(li.posts().is_empty());
}

#[tokio::test]
async fn the_same_commentary_twice_is_a_duplicate() {
    // Given
    let li = FakeLinkedin::start().await;
    let account = account(&li, li.credentials()).await;
    let connector = connector(&li);
    connector
        .publish(&account.context(), &outgoing("Only once (really)"))
        .await
        .unwrap();

    // When
    let err = connector
        .publish(&account.context(), &outgoing("Only once (really)"))
        .await
        .unwrap_err();

    // Then
    assert!(matches!(err, PublishError::Duplicate(_)), "{err:?}");
    assert_eq!(li.count_with_text("Only once (really)"), 1);
}

#[tokio::test]
async fn a_used_up_quota_is_rate_limited_without_a_time() {
    // Given LinkedIn's 429, which documents no rate-limit headers
    let li = FakeLinkedin::start().await;
    li.server.faults.inject(
        Method::POST,
        "/rest/posts",
        1,
        Fault::status(
            429,
            r#"{"message":"Resource level throttle APPLICATION DAY limit for calls to this resource is reached.","status":429}"#,
        ),
    );
    let account = account(&li, li.credentials()).await;

    // When
    let err = connector(&li)
        .publish(&account.context(), &outgoing("Too many today"))
        .await
        .unwrap_err();

    // Then
    assert!(
        matches!(&err, PublishError::RateLimited { retry_at: None, message } if message.contains("throttle")),
        "{err:?}"
    );
    assert!(li.posts().is_empty());
}

#[tokio::test]
async fn a_server_error_is_transient() {
    // Given
    let li = FakeLinkedin::start().await;
    li.server.faults.inject(
        Method::POST,
        "/rest/posts",
        1,
        Fault::status(500, r#"{"message":"Internal Server Error","status":500}"#),
    );
    let account = account(&li, li.credentials()).await;

    // When
    let err = connector(&li)
        .publish(&account.context(), &outgoing("Try later"))
        .await
        .unwrap_err();

    // Then
    assert!(matches!(err, PublishError::Transient(_)), "{err:?}");
    assert!(li.posts().is_empty());
}

#[tokio::test]
async fn a_refused_post_is_invalid_content_in_linkedin_s_words() {
    // Given commentary over 3,000 characters
    let li = FakeLinkedin::start().await;
    let account = account(&li, li.credentials()).await;

    // When
    let err = connector(&li)
        .publish(&account.context(), &outgoing(&"a".repeat(3_001)))
        .await
        .unwrap_err();

    // Then
    assert!(
        matches!(&err, PublishError::InvalidContent(m) if m.contains("length exceeds 3000")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_dropped_answer_is_an_unknown_outcome_and_the_read_back_finds_the_post() {
    // Given LinkedIn makes the post, then the connection drops before its answer
    let li = FakeLinkedin::start().await;
    li.server
        .faults
        .inject(Method::POST, "/rest/posts", 1, Fault::DropAfterReceive);
    let account = account(&li, li.credentials()).await;
    let connector = connector(&li);
    let post = outgoing("Big news [today] #launch");

    // When
    let err = connector
        .publish(&account.context(), &post)
        .await
        .unwrap_err();

    // Then
    assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");
    let made = li.posts()[0].urn.clone();
    match connector
        .find_published(&account.context(), &post)
        .await
        .unwrap()
    {
        ReadBack::Found(found) => {
            assert_eq!(found.remote_id, made);
            assert_eq!(
                found.url.as_deref(),
                Some(format!("https://www.linkedin.com/feed/update/{made}/").as_str())
            );
        }
        other => panic!("expected Found, got {other:?}"),
    }
}

#[tokio::test]
async fn a_late_answer_is_an_unknown_outcome_and_the_read_back_finds_the_post() {
    // Given
    let li = FakeLinkedin::start().await;
    li.server.faults.inject(
        Method::POST,
        "/rest/posts",
        1,
        Fault::AnswerLate(Duration::from_secs(3)),
    );
    let account = account(&li, li.credentials()).await;
    let connector = connector_with(impatient_http(), &li);
    let post = outgoing("Slow day at LinkedIn");

    // When
    let err = connector
        .publish(&account.context(), &post)
        .await
        .unwrap_err();

    // Then
    assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");
    assert_eq!(li.count_with_text("Slow day at LinkedIn"), 1);
    let made = li.posts()[0].urn.clone();
    assert!(
        matches!(connector.find_published(&account.context(), &post).await.unwrap(),
            ReadBack::Found(found) if found.remote_id == made)
    );
}

#[tokio::test]
async fn a_post_never_made_is_not_found() {
    // Given the account made other posts
    let li = FakeLinkedin::start().await;
    let account = account(&li, li.credentials()).await;
    let connector = connector(&li);
    connector
        .publish(&account.context(), &outgoing("Something else"))
        .await
        .unwrap();

    // When
    let read_back = connector
        .find_published(&account.context(), &outgoing("Never made (really)"))
        .await
        .unwrap();

    // Then
    assert_eq!(read_back, ReadBack::NotFound);
}

// Statistics

async fn a_published_post(li: &FakeLinkedin, account: &TestAccount) -> String {
    connector(li)
        .publish(&account.context(), &outgoing("Counting"))
        .await
        .unwrap()
        .remote_id
}

fn stats(likes: u64, impressions: u64) -> FakePostStats {
    FakePostStats {
        likes,
        comments: 3,
        shares: 2,
        impressions,
        unique_impressions: impressions / 2,
        clicks: 17,
    }
}

#[tokio::test]
async fn an_organization_post_s_statistics_become_counters_and_follow_the_post() {
    // Given a page post with statistics
    let li = FakeLinkedin::start().await;
    let account = account(&li, li.credentials()).await;
    let urn = a_published_post(&li, &account).await;
    li.set_post_stats(&urn, stats(40, 1_000));
    let c = connector(&li);

    // When read twice, the post gaining likes and impressions in between
    let first = c.post_metrics(&account.account(), &urn).await.unwrap();
    li.set_post_stats(&urn, stats(55, 1_800));
    let second = c.post_metrics(&account.account(), &urn).await.unwrap();

    // Then
    let counters = &first.counters;
    assert_eq!(counters.likes, Some(40));
    assert_eq!(counters.replies, Some(3), "comments are replies");
    assert_eq!(counters.reposts, Some(2), "shares are reposts");
    assert_eq!(counters.views, Some(1_000), "impressions are views");
    assert_eq!(counters.reach, Some(500), "unique impressions are reach");
    assert_eq!(counters.clicks, Some(17));
    assert_eq!(
        (second.counters.likes, second.counters.views),
        (Some(55), Some(1_800))
    );
    // And what LinkedIn does not count is not available, never 0
    assert_eq!(counters.quotes, None);
    assert_eq!(counters.saves, None);
    assert_eq!(counters.followers, None);
    // And LinkedIn's own answer is kept
    assert_eq!(first.raw["elements"][0]["share"], urn.as_str());
    assert!(first.raw["elements"][0]["totalShareStatistics"]["engagement"].is_number());
}

#[tokio::test]
async fn statistics_not_counted_yet_are_not_available_rather_than_zero() {
    // Given LinkedIn answering no element for the post
    let li = FakeLinkedin::start().await;
    let account = account(&li, li.credentials()).await;
    let urn = a_published_post(&li, &account).await;
    li.set_statistics_ready(false);

    // When
    let reading = connector(&li)
        .post_metrics(&account.account(), &urn)
        .await
        .unwrap();

    // Then
    assert!(reading.counters.is_empty(), "{:?}", reading.counters);
}

#[tokio::test]
async fn a_member_s_post_is_read_from_member_analytics() {
    // Given a member posting as themselves
    let li = FakeLinkedin::start().await;
    let account = TestAccount::new(Network::Linkedin, li.member_settings(), li.credentials()).await;
    let urn = a_published_post(&li, &account).await;
    li.set_post_stats(&urn, stats(9, 400));
    let c = connector(&li);

    // When read twice
    let first = c.post_metrics(&account.account(), &urn).await.unwrap();
    li.set_post_stats(&urn, stats(12, 650));
    let second = c.post_metrics(&account.account(), &urn).await.unwrap();

    // Then the member analytics figures are there, and clicks (not in that API) are not available
    let counters = &first.counters;
    assert_eq!(counters.likes, Some(9));
    assert_eq!(counters.replies, Some(3));
    assert_eq!(counters.reposts, Some(2));
    assert_eq!(counters.views, Some(400));
    assert_eq!(counters.reach, Some(200));
    assert_eq!(counters.clicks, None);
    assert_eq!(
        (second.counters.likes, second.counters.views),
        (Some(12), Some(650))
    );
    assert_eq!(first.raw["REACTION"]["elements"][0]["count"], 9);

    // And before LinkedIn has counted the post, nothing is claimed
    li.set_statistics_ready(false);
    let empty = c.post_metrics(&account.account(), &urn).await.unwrap();
    assert!(empty.counters.is_empty(), "{:?}", empty.counters);
}

#[tokio::test]
async fn a_page_s_followers_are_its_network_size_and_a_member_s_are_not_available() {
    // Given a page with followers, and a member
    let li = FakeLinkedin::start().await;
    li.set_followers(840);
    let page = account(&li, li.credentials()).await;
    let member = TestAccount::new(Network::Linkedin, li.member_settings(), li.credentials()).await;
    let c = connector(&li);

    // When
    let first = c.account_metrics(&page.account()).await.unwrap();
    li.set_followers(851);
    let second = c.account_metrics(&page.account()).await.unwrap();
    let of_member = c.account_metrics(&member.account()).await.unwrap();

    // Then
    assert_eq!(first.counters.followers, Some(840));
    assert_eq!(second.counters.followers, Some(851));
    assert_eq!(of_member.counters.followers, None, "not 0");
    assert!(of_member.raw["note"].is_string());
}

#[tokio::test]
async fn a_used_up_quota_on_statistics_is_rate_limited() {
    // Given
    let li = FakeLinkedin::start().await;
    let account = account(&li, li.credentials()).await;
    let urn = a_published_post(&li, &account).await;
    li.server.faults.inject(
        Method::GET,
        li.statistics_path(),
        1,
        Fault::status(
            429,
            r#"{"message":"Resource level throttle APPLICATION DAY limit for calls to this resource is reached.","status":429}"#,
        ),
    );

    // When
    let err = connector(&li)
        .post_metrics(&account.account(), &urn)
        .await
        .unwrap_err();

    // Then
    assert!(
        matches!(&err, PublishError::RateLimited { retry_at: None, message } if message.contains("throttle")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_expired_token_on_a_statistics_read_is_auth_expired() {
    // Given an ordinary app (no refresh) whose token has expired
    let li = FakeLinkedin::start().await;
    let account = account(&li, li.credentials()).await;
    let urn = a_published_post(&li, &account).await;
    li.expire_access_token();
    let c = connector(&li);

    // When
    let post = c.post_metrics(&account.account(), &urn).await.unwrap_err();
    let followers = c.account_metrics(&account.account()).await.unwrap_err();

    // Then
    assert!(matches!(post, PublishError::AuthExpired(_)), "{post:?}");
    assert!(
        matches!(followers, PublishError::AuthExpired(_)),
        "{followers:?}"
    );
}

#[tokio::test]
async fn a_refused_statistics_permission_names_what_is_missing() {
    // Given a page the token's member does not administer
    let li = FakeLinkedin::start().await;
    let account = TestAccount::new(
        Network::Linkedin,
        json!({ "author": "urn:li:organization:1" }),
        li.credentials(),
    )
    .await;

    // When
    let err = connector(&li)
        .post_metrics(&account.account(), "urn:li:share:1")
        .await
        .unwrap_err();

    // Then
    assert!(
        matches!(&err, PublishError::AuthExpired(m) if m.contains("rw_organization_admin")),
        "{err:?}"
    );
}

// The community inbox: comments under the page's posts, answers as the page, likes and
// deletions, and social action notifications.

mod inbox {
    use palinsesto::domain::inbox::{Incoming, InteractionKind, StreamKind};
    use palinsesto::domain::moderation::ModerationAction;
    use palinsesto::networks::{InboxRead, Moderate, ParsePush, ReadInbox, ReplyTo};

    use super::*;

    const ADA: &str = "urn:li:person:ada1";
    const BOB: &str = "urn:li:person:bob2";

    async fn given_a_post() -> (FakeLinkedin, TestAccount, String) {
        let li = FakeLinkedin::start().await;
        let account = account(&li, li.credentials()).await;
        let post = connector(&li)
            .publish(&account.context(), &outgoing("Our new blend is out"))
            .await
            .unwrap()
            .remote_id;
        (li, account, post)
    }

    async fn read(
        li: &FakeLinkedin,
        account: &TestAccount,
        cursor: Option<&str>,
        post: &str,
    ) -> InboxRead {
        connector(li)
            .read(
                &account.account(),
                StreamKind::Threads,
                cursor,
                &[post.to_owned()],
            )
            .await
            .unwrap()
    }

    fn found<'r>(read: &'r InboxRead, id: &str) -> &'r Incoming {
        read.found
            .iter()
            .find(|f| f.external_id == id)
            .unwrap_or_else(|| panic!("{id} not in {:?}", read.found))
    }

    fn id_of(urn: &str) -> String {
        urn.trim_end_matches(')')
            .rsplit(',')
            .next()
            .unwrap()
            .to_owned()
    }

    #[tokio::test]
    async fn comments_and_replies_under_the_pages_posts_are_read_once() {
        let (li, account, post) = given_a_post().await;
        let comment = li.comment_as(ADA, &post, None, "Lovely!");
        let reply = li.comment_as(BOB, &post, Some(&comment), "Agreed");
        let own = li.comment_as(fake::AUTHOR, &post, Some(&comment), "Thank you Ada!");

        let first = read(&li, &account, None, &post).await;
        assert_eq!(first.found.len(), 2, "{:?}", first.found);
        let c = found(&first, &id_of(&comment));
        assert_eq!(c.kind, InteractionKind::Comment);
        assert_eq!(c.author.id, ADA);
        assert_eq!(c.text, "Lovely!");
        assert_eq!(c.root.as_deref(), Some(post.as_str()));
        assert_eq!(c.parent.as_deref(), Some(post.as_str()));
        assert_eq!(c.target.id, comment);
        assert_eq!(c.target.chat.as_deref(), Some(comment.as_str()));
        assert_eq!(c.target.root_id.as_deref(), Some(post.as_str()));
        assert!(
            c.permalink
                .as_deref()
                .is_some_and(|p| p.starts_with(&format!(
                    "https://www.linkedin.com/feed/update/{post}/?commentUrn="
                ))),
            "{:?}",
            c.permalink
        );
        let r = found(&first, &id_of(&reply));
        assert_eq!(r.kind, InteractionKind::Reply);
        assert_eq!(r.parent, Some(id_of(&comment)));
        assert_eq!(
            r.target.chat.as_deref(),
            Some(comment.as_str()),
            "answered in its thread"
        );
        assert_eq!(first.native.len(), 1, "the page's own answer");
        assert_eq!(first.native[0].external_id, id_of(&own));
        assert_eq!(first.native[0].parent, id_of(&comment));

        let cursor = first.cursor.clone().expect("a cursor");
        let again = read(&li, &account, Some(&cursor), &post).await;
        assert!(
            again.found.is_empty() && again.native.is_empty(),
            "{:?}",
            again.found
        );
        let later = li.comment_as(BOB, &post, None, "When is it in shops?");
        let next = read(
            &li,
            &account,
            Some(again.cursor.as_deref().unwrap_or(&cursor)),
            &post,
        )
        .await;
        assert_eq!(next.found.len(), 1);
        assert_eq!(next.found[0].external_id, id_of(&later));

        // a member's channel has no inbox: nothing is read
        let member =
            TestAccount::new(Network::Linkedin, li.member_settings(), li.credentials()).await;
        let before = li.server.faults.requests();
        let none = connector(&li)
            .read(
                &member.account(),
                StreamKind::Threads,
                None,
                std::slice::from_ref(&post),
            )
            .await
            .unwrap();
        assert!(none.found.is_empty());
        assert_eq!(li.server.faults.requests(), before);

        // throttled: a plain, retryable refusal
        li.rate_limit_next_comments_read();
        let err = connector(&li)
            .read(
                &account.account(),
                StreamKind::Threads,
                Some(&cursor),
                std::slice::from_ref(&post),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, PublishError::RateLimited { .. }), "{err:?}");
        // an expired token: reconnect
        li.expire_access_token();
        let err = connector(&li)
            .read(
                &account.account(),
                StreamKind::Threads,
                Some(&cursor),
                &[post],
            )
            .await
            .unwrap_err();
        assert!(matches!(err, PublishError::AuthExpired(_)), "{err:?}");
    }

    #[tokio::test]
    async fn the_page_answers_once_and_a_lost_answer_is_found_in_the_thread() {
        let (li, account, post) = given_a_post().await;
        let comment = li.comment_as(ADA, &post, None, "Lovely!");
        let reply = li.comment_as(BOB, &post, Some(&comment), "Where?");
        let first = read(&li, &account, None, &post).await;
        let linkedin = connector(&li);

        let sent = linkedin
            .reply(
                &account.context(),
                &found(&first, &id_of(&comment)).target,
                &outgoing("Thank you!"),
            )
            .await
            .unwrap();
        let answers = li.page_replies_to(&comment);
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0].text, "Thank you!");
        assert_eq!(sent.remote_id, answers[0].urn);

        // answering Bob's reply goes into the same thread (one level deep); the answer is lost
        let target = found(&first, &id_of(&reply)).target.clone();
        let answer = outgoing("In our shop, Bob");
        li.lose_next_comment_answer();
        let err = linkedin
            .reply(&account.context(), &target, &answer)
            .await
            .unwrap_err();
        assert!(matches!(err, PublishError::UnknownOutcome(_)), "{err:?}");
        let ReadBack::Found(back) = linkedin
            .find_reply(&account.context(), &target, &answer)
            .await
            .unwrap()
        else {
            panic!("found in the thread")
        };
        let answers: Vec<_> = li
            .page_replies_to(&comment)
            .into_iter()
            .filter(|c| c.text == "In our shop, Bob")
            .collect();
        assert_eq!(answers.len(), 1, "exactly once");
        assert_eq!(back.remote_id, answers[0].urn);
        assert_eq!(
            linkedin
                .find_reply(&account.context(), &target, &outgoing("never sent"))
                .await
                .unwrap(),
            ReadBack::NotFound
        );
    }

    #[tokio::test]
    async fn comments_are_liked_and_the_pages_answers_deleted_but_never_hidden() {
        let (li, account, post) = given_a_post().await;
        let comment = li.comment_as(ADA, &post, None, "Lovely!");
        let first = read(&li, &account, None, &post).await;
        let linkedin = connector(&li);
        assert_eq!(
            linkedin.actions(),
            [ModerationAction::Like, ModerationAction::DeleteReply]
        );
        let target = found(&first, &id_of(&comment)).target.clone();
        for _ in 0..2 {
            linkedin
                .moderate(&account.account(), &target, ModerationAction::Like)
                .await
                .expect("liking twice is harmless");
        }
        assert_eq!(
            li.reactions(),
            vec![(fake::AUTHOR.to_owned(), comment.clone(), "LIKE".to_owned())]
        );
        let sent = linkedin
            .reply(&account.context(), &target, &outgoing("Thanks"))
            .await
            .unwrap();
        let mut mine = target.clone();
        mine.id = sent.remote_id;
        for _ in 0..2 {
            linkedin
                .moderate(&account.account(), &mine, ModerationAction::DeleteReply)
                .await
                .expect("deleting twice is harmless");
        }
        assert!(li.page_replies_to(&comment).is_empty());
        assert!(
            li.comments().iter().any(|c| c.urn == comment),
            "Ada's stays"
        );
    }

    #[tokio::test]
    async fn a_notification_names_the_comment_the_poll_reads() {
        let (li, account, post) = given_a_post().await;
        let comment = li.comment_as(ADA, &post, None, "Lovely!");
        let own = li.comment_as(fake::AUTHOR, &post, Some(&comment), "Thanks!");
        let polled = read(&li, &account, None, &post).await;
        let linkedin = connector(&li);
        let mut ids = Vec::new();
        for (urn, action) in [(&comment, "COMMENT"), (&own, "ADMIN_COMMENT")] {
            let body = li.notification_body(urn, action);
            let signature = fake::webhook_signature(fake::CLIENT_SECRET, &body);
            assert_eq!(signature.len(), 64, "hex HMAC-SHA256");
            let pushed = linkedin.parse(&body).unwrap();
            assert_eq!(pushed.len(), 1);
            assert_eq!(pushed[0].account, fake::AUTHOR);
            assert!(pushed[0].found.is_empty(), "named by URN only");
            ids.extend(pushed[0].to_fetch.clone());
        }
        let fetched = linkedin.fetch(&account.account(), &ids).await.unwrap();
        assert_eq!(fetched.found.len(), 1);
        let from_poll = found(&polled, &id_of(&comment));
        assert_eq!(fetched.found[0].external_id, from_poll.external_id);
        assert_eq!(fetched.found[0].kind, from_poll.kind);
        assert_eq!(fetched.found[0].target.id, from_poll.target.id);
        assert_eq!(fetched.native.len(), 1);
        assert_eq!(fetched.native[0].external_id, polled.native[0].external_id);
        assert!(linkedin.parse(b"{}").is_err());
        let challenge = fake::challenge_response(fake::CLIENT_SECRET, "890e4665");
        assert_eq!(challenge["challengeResponse"].as_str().unwrap().len(), 64);
    }
}

#[tokio::test]
async fn a_page_is_subscribed_to_the_deployments_webhook_as_its_administrator_and_unsubscribed() {
    use palinsesto::networks::{Callback, Subscribe};
    let li = FakeLinkedin::start().await;
    let account = account(&li, li.credentials()).await;
    let callback = Callback {
        url: "https://api.example.com/hooks/linkedin",
        secret: None,
        registration: Some("424242"),
    };
    let made = connector(&li)
        .subscribe(&account.account(), &callback)
        .await
        .unwrap();
    assert_eq!(made.account, fake::AUTHOR);
    let subscriptions = li.event_subscriptions();
    assert_eq!(subscriptions.len(), 1, "{subscriptions:?}");
    let (key, webhook) = subscriptions.iter().next().unwrap();
    assert_eq!(webhook, callback.url);
    // the member named by the page's administrator role, the page and the app
    assert!(key.contains(&format!("user:{}", fake::MEMBER)), "{key}");
    assert!(key.contains(&format!("entity:{}", fake::AUTHOR)), "{key}");
    assert!(
        key.contains("developerApplication:urn:li:developerApplication:424242"),
        "{key}"
    );
    connector(&li)
        .unsubscribe(&account.account(), &made, &callback)
        .await
        .unwrap();
    assert!(li.event_subscriptions().is_empty());
    // undoing it again is harmless
    connector(&li)
        .unsubscribe(&account.account(), &made, &callback)
        .await
        .unwrap();
    // a page the member no longer administers is refused in plain words
    li.set_organizations(Vec::new());
    let err = connector(&li)
        .subscribe(&account.account(), &callback)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no longer administers"), "{err}");
}
