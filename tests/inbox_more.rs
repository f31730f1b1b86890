//! The community inbox on the local runner against the LinkedIn, X and Telegram fakes: what
//! people say arrives once by polling (a second poll adds nothing), is answered once through the
//! API and the worker, and the network sees exactly one answer.

use jiff::SignedDuration;
use palinsesto::clock::Clock;
use palinsesto::networks::NetworkEndpoints;
use palinsesto_system_tests::desk::{Desk, target};
use palinsesto_system_tests::fakes::linkedin::FakeLinkedin;
use palinsesto_system_tests::fakes::telegram::{DISCUSSION_GROUP_ID, FakeTelegram, PUBLIC_CHANNEL};
use palinsesto_system_tests::fakes::x::FakeX;
use serde_json::{Value, json};

async fn publish(desk: &Desk, channel: &str, text: &str) -> String {
    let at = (desk.app.clock.now() + SignedDuration::from_mins(1)).to_string();
    let post = desk.scheduled(text, &[channel], &at).await;
    desk.set_time(&at);
    let settled = desk.tick_and_settle(&post).await;
    let published = target(&settled, channel);
    assert_eq!(published["state"], "published", "{settled}");
    published["remote_id"].as_str().unwrap().to_owned()
}

/// Polls once the streams are due; the number of interactions recorded.
async fn poll(desk: &Desk) -> usize {
    desk.advance(SignedDuration::from_mins(20));
    let report = desk.app.runtime.inbox_worker().poll().await.unwrap();
    assert_eq!(report.failed_polls, 0, "{report:?}");
    report.recorded
}

/// The interaction recorded for `external_id`, as the inbox lists it.
async fn interaction(desk: &Desk, external_id: &str) -> Value {
    let r = desk.manager().get("/v1/inbox").await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["external_id"] == external_id)
        .unwrap_or_else(|| panic!("{external_id} is not in {}", r.body))
        .clone()
}

/// Answers the interaction through the API, then lets the worker send; it must send once.
async fn answer(desk: &Desk, item: &Value, text: &str) {
    let id = item["id"].as_str().unwrap();
    let r = desk
        .app
        .client("acme", "editor")
        .post(&format!("/v1/inbox/{id}/reply"), json!({ "text": text }))
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    let worker = desk.app.runtime.inbox_worker();
    assert_eq!(worker.send_replies().await.unwrap().replies_sent, 1);
    assert_eq!(worker.send_replies().await.unwrap().replies_sent, 0);
    let shown = desk.manager().get(&format!("/v1/inbox/{id}")).await;
    assert_eq!(shown.body["state"], "replied", "{}", shown.body);
}

#[tokio::test]
async fn a_linkedin_comment_arrives_once_and_is_answered_once_by_the_page() {
    let fake = FakeLinkedin::start().await;
    let desk = Desk::start(NetworkEndpoints {
        linkedin: fake.base().to_owned(),
        ..NetworkEndpoints::default()
    })
    .await;
    let channel = desk
        .channel("linkedin", fake.settings(), fake.credentials())
        .await;
    let post = publish(&desk, &channel, "Our spring collection").await;
    let comment = fake.comment_as("urn:li:person:ada1", &post, None, "Is it on sale in Milan?");
    let id = comment
        .trim_end_matches(')')
        .rsplit(',')
        .next()
        .unwrap()
        .to_owned();

    assert_eq!(poll(&desk).await, 1);
    assert_eq!(poll(&desk).await, 0, "seen again, still one record");
    let item = interaction(&desk, &id).await;
    assert_eq!(item["kind"], "comment");
    assert!(item["post_id"].is_string(), "the post it answers: {item}");

    answer(&desk, &item, "Yes, in via Torino").await;
    let replies = fake.page_replies_to(&comment);
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].text, "Yes, in via Torino");
}

#[tokio::test]
async fn an_x_mention_arrives_once_and_is_answered_once() {
    let fake = FakeX::start().await;
    let desk = Desk::start(NetworkEndpoints {
        x: fake.base().to_owned(),
        ..NetworkEndpoints::default()
    })
    .await;
    let channel = desk
        .channel("x", json!({"read_inbox": true}), fake.credentials())
        .await;
    let post = publish(&desk, &channel, "Our new blend is out").await;
    fake.add_user("11", "ada", "Ada", 120);
    fake.add_user("12", "bob", "Bob", 7);
    let mention = fake.post_as("11", "@acme is the shop open on Sunday?", None, None);
    // a reply naming the brand: in the mentions and in the post's conversation, one record
    let reply = fake.post_as("12", "@acme where can I buy it?", Some(&post), None);

    assert_eq!(poll(&desk).await, 2);
    assert_eq!(poll(&desk).await, 0, "seen again, still one record each");
    let item = interaction(&desk, &mention).await;
    assert_eq!(item["kind"], "mention");
    assert_eq!(item["author"]["handle"], "@ada");
    assert_eq!(interaction(&desk, &reply).await["kind"], "reply");

    answer(&desk, &item, "Yes, 10 to 13").await;
    let replies = fake.replies_to(&mention);
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].text, "Yes, 10 to 13");
}

#[tokio::test]
async fn an_x_channel_without_read_inbox_reads_nothing() {
    let fake = FakeX::start().await;
    let desk = Desk::start(NetworkEndpoints {
        x: fake.base().to_owned(),
        ..NetworkEndpoints::default()
    })
    .await;
    desk.channel("x", json!({}), fake.credentials()).await;
    fake.add_user("11", "ada", "Ada", 120);
    fake.post_as("11", "@acme hello?", None, None);
    let before = fake.server.faults.requests();
    assert_eq!(poll(&desk).await, 0);
    assert_eq!(fake.server.faults.requests(), before, "no billed read");
}

#[tokio::test]
async fn a_telegram_comment_arrives_once_and_is_answered_once_by_the_bot() {
    let fake = FakeTelegram::start().await;
    let desk = Desk::start(NetworkEndpoints {
        telegram: fake.base().to_owned(),
        ..NetworkEndpoints::default()
    })
    .await;
    let channel = desk
        .channel(
            "telegram",
            FakeTelegram::settings(PUBLIC_CHANNEL),
            FakeTelegram::credentials(),
        )
        .await;
    let post: i64 = publish(&desk, &channel, "Il menu di primavera")
        .await
        .parse()
        .unwrap();
    fake.add_person(4_200_001, "Ada", "ada");
    let comment = fake.comment(4_200_001, post, "Ci sono piatti vegani?");

    assert_eq!(poll(&desk).await, 1);
    assert_eq!(poll(&desk).await, 0, "confirmed updates do not come back");
    let item = interaction(&desk, &comment).await;
    assert_eq!(item["kind"], "comment");
    assert_eq!(item["author"]["handle"], "@ada");

    answer(&desk, &item, "Sì, tre").await;
    let comment_id: i64 = comment.split(':').nth(1).unwrap().parse().unwrap();
    let replies = fake.bot_replies_to(DISCUSSION_GROUP_ID, comment_id);
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].text.as_deref(), Some("Sì, tre"));
}
