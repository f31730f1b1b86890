//! The community inbox on the local runner against the Facebook, Instagram and Threads fakes:
//! what people say arrives once by polling (a second poll adds nothing), is answered once through
//! the API and the worker, and the network sees exactly one answer.

use jiff::SignedDuration;
use palinsesto::clock::Clock;
use palinsesto::networks::NetworkEndpoints;
use palinsesto_system_tests::desk::{Desk, target};
use palinsesto_system_tests::fakes::facebook::FakeFacebook;
use palinsesto_system_tests::fakes::instagram::FakeInstagram;
use palinsesto_system_tests::fakes::meta_inbox::Person;
use palinsesto_system_tests::fakes::threads::FakeThreads;
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
async fn a_facebook_comment_arrives_once_and_is_answered_once() {
    let fake = FakeFacebook::start().await;
    let desk = Desk::start(NetworkEndpoints {
        facebook: fake.base(),
        ..NetworkEndpoints::default()
    })
    .await;
    fake.set_now(desk.app.clock.now());
    let channel = desk
        .channel("facebook", fake.settings(), fake.credentials())
        .await;
    let post = publish(&desk, &channel, "Our spring menu").await;
    let comment = fake.comment_as(&Person::new("7001", "Ada"), &post, "Vegan options?");

    assert_eq!(poll(&desk).await, 1);
    assert_eq!(poll(&desk).await, 0, "seen again, still one record");
    let item = interaction(&desk, &comment).await;
    assert_eq!(item["kind"], "comment");
    assert_eq!(item["author"]["name"], "Ada");

    answer(&desk, &item, "Yes, three of them").await;
    let replies = fake.page_replies_to(&comment);
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].message, "Yes, three of them");
}

#[tokio::test]
async fn a_threads_reply_arrives_once_and_is_answered_once() {
    let fake = FakeThreads::start().await;
    let desk = Desk::start(NetworkEndpoints {
        threads: fake.base(),
        ..NetworkEndpoints::default()
    })
    .await;
    fake.set_now(desk.app.clock.now());
    let channel = desk
        .channel("threads", fake.settings(), fake.credentials(None))
        .await;
    let post = publish(&desk, &channel, "Ask me anything").await;
    let reply = fake.reply_as(&Person::new("3001", "Ada"), &post, "What's next?");

    assert_eq!(poll(&desk).await, 1);
    assert_eq!(poll(&desk).await, 0, "seen again, still one record");
    let item = interaction(&desk, &reply).await;
    assert_eq!(item["kind"], "reply");
    assert_eq!(item["author"]["handle"], "@ada");

    answer(&desk, &item, "A new season").await;
    let made = fake.account_replies_to(&reply);
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(made[0].text, "A new season");
}

/// An Instagram post needs a photo, which this desk's text-only scheduling cannot make: the
/// account's direct messages, which need no post, stand for its inbox here.
#[tokio::test]
async fn an_instagram_message_arrives_once_and_is_answered_once() {
    let fake = FakeInstagram::start().await;
    let desk = Desk::start(NetworkEndpoints {
        instagram: fake.base(),
        ..NetworkEndpoints::default()
    })
    .await;
    fake.set_now(desk.app.clock.now());
    desk.channel("instagram", fake.settings(), fake.credentials(None))
        .await;
    let mid = fake.message_from(&Person::new("9001", "Ada"), "Is it in stock?");

    assert_eq!(poll(&desk).await, 1);
    assert_eq!(poll(&desk).await, 0, "seen again, still one record");
    let item = interaction(&desk, &mid).await;
    assert_eq!(item["kind"], "direct_message");

    answer(&desk, &item, "Yes, every size").await;
    let sent = fake.messages_to("9001");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].text, "Yes, every size");
}
