//! The people behind the community inbox, and what the team does with what they say, on the
//! local runner against the network fakes: a person record made on a first interaction and kept
//! up to date, managers' tags and notes, linking a person's handle on another network (a record
//! for it merged in), the export of everything held on a person, erasure that sticks (later
//! content from them is dropped when it arrives), the brand's inbox rules, moderation done by
//! the worker, the networks' reply rules (Messenger's 24 hours, one private reply per comment),
//! and another brand reaching none of it.

use jiff::SignedDuration;
use palinsesto::clock::Clock;
use palinsesto::networks::NetworkEndpoints;
use palinsesto::services::inbox_worker::InboxTickReport;
use palinsesto_system_tests::app::{Client, Reply};
use palinsesto_system_tests::desk::{Desk, target};
use palinsesto_system_tests::fakes::bluesky::FakeBluesky;
use palinsesto_system_tests::fakes::facebook::FakeFacebook;
use palinsesto_system_tests::fakes::mastodon::FakeMastodon;
use palinsesto_system_tests::fakes::meta_inbox::Person;
use reqwest::Method;
use serde_json::{Value, json};

/// Publishes `text` on `channel` now; the post's id on the network.
async fn publish(desk: &Desk, channel: &str, text: &str) -> String {
    let at = (desk.app.clock.now() + SignedDuration::from_mins(1)).to_string();
    let post = desk.scheduled(text, &[channel], &at).await;
    desk.set_time(&at);
    let settled = desk.tick_and_settle(&post).await;
    let published = target(&settled, channel);
    assert_eq!(published["state"], "published", "{settled}");
    published["remote_id"].as_str().unwrap().to_owned()
}

/// A desk with a Mastodon channel and one published post: the fake and the post's status id.
async fn mastodon_desk() -> (Desk, FakeMastodon, String) {
    let desk = Desk::start(NetworkEndpoints::default()).await;
    let fake = FakeMastodon::start().await;
    let channel = desk
        .channel("mastodon", fake.settings(), fake.credentials())
        .await;
    let remote = publish(&desk, &channel, "Our new blend is out").await;
    (desk, fake, remote)
}

/// A desk with a Facebook page (the fake's clock fixed at the desk's) and one published post.
async fn facebook_desk() -> (Desk, FakeFacebook, String) {
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
    (desk, fake, post)
}

/// Polls again once the streams are due.
async fn poll(desk: &Desk) -> InboxTickReport {
    desk.advance(SignedDuration::from_mins(20));
    let report = desk.app.runtime.inbox_worker().poll().await.unwrap();
    assert_eq!(report.failed_polls, 0, "{report:?}");
    report
}

async fn send(desk: &Desk) -> InboxTickReport {
    desk.app
        .runtime
        .inbox_worker()
        .send_replies()
        .await
        .unwrap()
}

/// The brand's inbox as a manager (direct messages included).
async fn inbox(desk: &Desk) -> Value {
    let r = desk.manager().get("/v1/inbox").await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    r.body
}

/// The interaction recorded for `external_id`.
async fn interaction(desk: &Desk, external_id: &str) -> Value {
    let page = inbox(desk).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["external_id"] == external_id)
        .unwrap_or_else(|| panic!("{external_id} is not in {page}"))
        .clone()
}

async fn person(client: &Client, id: &str) -> Reply {
    let r = client.get(&format!("/v1/people/{id}")).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    r
}

fn ids(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The audit entries of `action`.
async fn audited(desk: &Desk, action: &str) -> Vec<Value> {
    let r = desk
        .manager()
        .get(&format!("/v1/audit?action={action}"))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

async fn put_rules(client: &Client, rules: Value, if_match: Option<&str>) -> Reply {
    let mut r = client
        .request(Method::PUT, "/v1/inbox/rules")
        .json(&json!({ "rules": rules }));
    if let Some(tag) = if_match {
        r = r.header("if-match", tag);
    }
    client.send(r).await
}

#[tokio::test]
async fn a_person_is_recorded_on_first_contact_kept_up_to_date_tagged_and_listed() {
    let (desk, fake, remote) = mastodon_desk().await;
    fake.add_person("ada", "Ada", 120);
    fake.add_person("bob", "Bob", 7);
    let first = fake.reply_as("ada", &remote, "Love it!", true, "public");
    assert_eq!(poll(&desk).await.recorded, 1);

    let viewer = desk.app.client("acme", "viewer");
    let from_ada = interaction(&desk, &first).await;
    let ada = from_ada["person_id"]
        .as_str()
        .unwrap_or_else(|| panic!("the interaction names its person: {from_ada}"))
        .to_owned();
    let shown = person(&viewer, &ada).await;
    assert_eq!(shown.body["name"], "Ada");
    assert_eq!(shown.body["interactions"], 1);
    assert_eq!(shown.body["counts"], json!({"reply": 1}));
    assert_eq!(shown.body["handles"][0]["network"], "mastodon");
    assert_eq!(shown.body["handles"][0]["handle"], "@ada@127.0.0.1");
    assert_eq!(shown.body["handles"][0]["followers"], 120);
    assert_eq!(shown.body["first_seen"], from_ada["created_at"]);
    assert_eq!(shown.body["last_seen"], from_ada["created_at"]);
    assert_eq!(
        ids(&shown.body["recent"]),
        [from_ada["id"].as_str().unwrap()]
    );

    // the next one, a mention and a direct message: the same record, counted, last seen moves
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let second = fake.mention_as("ada", "open on Sunday?");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let dm = fake.direct_as("ada", "my order number is 1234");
    let bob_said = fake.reply_as("bob", &remote, "meh", true, "public");
    assert_eq!(poll(&desk).await.recorded, 3);
    let mention = interaction(&desk, &second).await;
    let direct = interaction(&desk, &dm).await;
    assert_eq!(mention["person_id"], ada.as_str());
    assert_eq!(direct["person_id"], ada.as_str());
    let bob = interaction(&desk, &bob_said).await["person_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(bob, ada, "another author, another person");
    let shown = person(&desk.manager(), &ada).await;
    assert_eq!(shown.body["interactions"], 3, "{}", shown.body);
    assert_eq!(
        shown.body["counts"],
        json!({"reply": 1, "mention": 1, "direct_message": 1})
    );
    assert_eq!(shown.body["first_seen"], from_ada["created_at"]);
    assert_eq!(shown.body["last_seen"], direct["created_at"]);
    assert_eq!(shown.body["handles"].as_array().unwrap().len(), 1);
    assert_eq!(shown.body["recent"].as_array().unwrap().len(), 3);
    // a viewer reads the person but not their direct messages
    let seen_by_viewer = person(&viewer, &ada).await;
    assert_eq!(seen_by_viewer.body["recent"].as_array().unwrap().len(), 2);
    assert!(
        !ids(&seen_by_viewer.body["recent"]).contains(&direct["id"].as_str().unwrap().to_owned()),
        "{}",
        seen_by_viewer.body
    );

    // managers tag and write notes on the version they read; others may not
    let path = format!("/v1/people/{ada}");
    let patch =
        json!({"tags": [" VIP ", "journalist", "vip"], "notes": "Writes for a food magazine"});
    viewer
        .patch(&path, patch.clone(), Some(&shown.etag()))
        .await
        .problem(403);
    desk.app
        .client("acme", "editor")
        .patch(&path, patch.clone(), Some(&shown.etag()))
        .await
        .problem(403);
    desk.manager()
        .patch(&path, patch.clone(), None)
        .await
        .problem(428);
    let bad = desk
        .manager()
        .patch(&path, json!({"tags": ["ok", " "]}), Some(&shown.etag()))
        .await;
    bad.problem(422);
    assert_eq!(bad.error_fields(), ["tags.1"], "{}", bad.body);
    let r = desk
        .manager()
        .patch(&path, patch.clone(), Some(&shown.etag()))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["tags"], json!(["vip", "journalist"]));
    assert_eq!(r.body["notes"], "Writes for a food magazine");
    assert_ne!(r.etag(), shown.etag());
    // the version read before that change is stale now
    let stale = desk
        .manager()
        .patch(&path, json!({"notes": "overwritten"}), Some(&shown.etag()))
        .await;
    stale.problem(412);
    assert_eq!(
        person(&viewer, &ada).await.body["notes"],
        "Writes for a food magazine",
        "nothing overwritten"
    );
    let audit = audited(&desk, "person.updated").await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["target"], format!("person/{ada}"));
    assert_eq!(audit[0]["actor"], "manager@acme");

    // listed, and by tag
    let all = viewer.get("/v1/people").await;
    assert_eq!(all.status.as_u16(), 200, "{}", all.body);
    let mut everyone = ids(&all.body["items"]);
    everyone.sort();
    let mut expected = vec![ada.clone(), bob.clone()];
    expected.sort();
    assert_eq!(everyone, expected);
    let vips = viewer.get("/v1/people?tag=VIP").await;
    assert_eq!(ids(&vips.body["items"]), [ada.as_str()], "{}", vips.body);
    let none = viewer.get("/v1/people?tag=detractor").await;
    assert_eq!(none.body["items"], json!([]));
    viewer.get("/v1/people/not-an-id").await.problem(404);
}

#[tokio::test]
async fn linking_a_handle_merges_the_record_the_brand_had_for_it() {
    let (desk, fake, remote) = mastodon_desk().await;
    let pds = FakeBluesky::start().await;
    desk.channel("bluesky", pds.settings(), pds.credentials())
        .await;
    fake.add_person("ada", "Ada", 120);
    pds.add_person("ada.test", "Ada on Bluesky", 10);
    let on_mastodon = fake.reply_as("ada", &remote, "Love it!", true, "public");
    let on_mastodon_too = fake.mention_as("ada", "and the shop?");
    let (on_bluesky, _) = pds.mention_as("ada.test", "is it vegan?");
    assert_eq!(poll(&desk).await.recorded, 3);
    let ada = interaction(&desk, &on_mastodon).await["person_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = interaction(&desk, &on_bluesky).await["person_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(ada, other, "not known to be the same person yet");
    let m = desk.manager();
    let before = person(&m, &other).await;
    assert_eq!(before.body["counts"], json!({"mention": 1}));
    let r = m
        .patch(
            &format!("/v1/people/{other}"),
            json!({"tags": ["ambassador"]}),
            Some(&before.etag()),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);

    // an editor may not link; a bad network is refused naming the field
    let path = format!("/v1/people/{ada}/handles");
    desk.app
        .client("acme", "editor")
        .post(&path, json!({"network": "bluesky", "handle": "@ada.test"}))
        .await
        .problem(403);
    let bad = m
        .post(&path, json!({"network": "myspace", "handle": "@ada"}))
        .await;
    assert_eq!(bad.error_fields(), ["network"], "{}", bad.body);

    let r = m
        .post(&path, json!({"network": "bluesky", "handle": "@Ada.test"}))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["id"], ada.as_str());
    assert_eq!(
        r.body["counts"],
        json!({"reply": 1, "mention": 2}),
        "counts summed: {}",
        r.body
    );
    assert_eq!(r.body["interactions"], 3);
    assert_eq!(r.body["tags"], json!(["ambassador"]), "tags taken over");
    let networks: Vec<&str> = r.body["handles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["network"].as_str().unwrap())
        .collect();
    assert_eq!(networks, ["mastodon", "bluesky"], "{}", r.body);
    // the same handle again is refused
    m.post(&path, json!({"network": "bluesky", "handle": "ada.test"}))
        .await
        .problem(409);

    // one record left, with all three interactions under it
    m.get(&format!("/v1/people/{other}")).await.problem(404);
    let people = m.get("/v1/people").await;
    assert_eq!(
        ids(&people.body["items"]),
        [ada.as_str()],
        "{}",
        people.body
    );
    let merged = person(&m, &ada).await;
    let mut recent: Vec<String> = merged.body["recent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["external_id"].as_str().unwrap().to_owned())
        .collect();
    recent.sort();
    let mut expected = vec![
        on_mastodon.clone(),
        on_mastodon_too.clone(),
        on_bluesky.clone(),
    ];
    expected.sort();
    assert_eq!(recent, expected);

    // Ada's next Bluesky post counts for the merged person
    let (again, _) = pds.mention_as("ada.test", "thanks!");
    assert_eq!(poll(&desk).await.recorded, 1);
    assert_eq!(interaction(&desk, &again).await["person_id"], ada.as_str());
    let after = person(&m, &ada).await;
    assert_eq!(after.body["counts"], json!({"reply": 1, "mention": 3}));
    assert_eq!(audited(&desk, "person.linked").await.len(), 1);
}

#[tokio::test]
async fn an_export_holds_the_person_and_all_they_said_and_is_audited() {
    let (desk, fake, remote) = mastodon_desk().await;
    fake.add_person("ada", "Ada", 120);
    let reply = fake.reply_as("ada", &remote, "Love it!", true, "public");
    let dm = fake.direct_as("ada", "my address is via Roma 1");
    assert_eq!(poll(&desk).await.recorded, 2);
    let ada = interaction(&desk, &reply).await["person_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dm_id = interaction(&desk, &dm).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let note = desk
        .manager()
        .post(
            &format!("/v1/inbox/{dm_id}/notes"),
            json!({"text": "sent the voucher by post"}),
        )
        .await;
    assert_eq!(note.status.as_u16(), 201, "{}", note.body);
    let path = format!("/v1/people/{ada}/export");
    for role in ["viewer", "editor"] {
        desk.app.client("acme", role).get(&path).await.problem(403);
    }
    assert!(audited(&desk, "person.exported").await.is_empty());
    let r = desk.manager().get(&path).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["person"]["id"], ada.as_str());
    assert_eq!(r.body["person"]["name"], "Ada");
    assert!(r.body["exported_at"].is_string(), "{}", r.body);
    let exported = r.body["interactions"].as_array().unwrap();
    assert_eq!(exported.len(), 2, "{}", r.body);
    let direct = exported
        .iter()
        .find(|i| i["external_id"] == dm.as_str())
        .expect("the direct message is exported");
    assert_eq!(direct["kind"], "direct_message");
    assert_eq!(
        direct["notes"][0]["text"], "sent the voucher by post",
        "the team's notes go with it: {direct}"
    );
    assert!(direct["replies"].is_array(), "{direct}");
    assert!(
        direct["text"]
            .as_str()
            .unwrap()
            .contains("my address is via Roma 1")
    );
    assert!(exported.iter().any(|i| i["external_id"] == reply.as_str()));
    let audit = audited(&desk, "person.exported").await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["target"], format!("person/{ada}"));
    assert_eq!(audit[0]["actor"], "manager@acme");
    assert_eq!(audit[0]["details"]["interactions"], 2);
    assert!(
        !audit[0].to_string().contains("via Roma"),
        "the audit log holds no content"
    );
}

/// Erasure is for good: the person's interactions go, and what they write later (the same
/// comment read again, a new one) is dropped when it arrives; others' still arrives.
#[tokio::test]
async fn an_erased_person_stays_erased_when_their_content_comes_again() {
    let (desk, fake, remote) = mastodon_desk().await;
    fake.add_person("ada", "Ada", 120);
    fake.add_person("bob", "Bob", 7);
    // without its @mention: read again from the post's thread on every poll
    let comment = fake.reply_as("ada", &remote, "where can I buy it?", false, "public");
    let dm = fake.direct_as("ada", "call me on 555 0100");
    let bob_said = fake.reply_as("bob", &remote, "nice", true, "public");
    assert_eq!(poll(&desk).await.recorded, 3);
    let m = desk.manager();
    let from_ada = interaction(&desk, &comment).await;
    let ada = from_ada["person_id"].as_str().unwrap().to_owned();
    let ada_ids = [
        from_ada["id"].as_str().unwrap().to_owned(),
        interaction(&desk, &dm).await["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    ];
    // the team wrote a note on it and answered it
    let note = m
        .post(
            &format!("/v1/inbox/{}/notes", ada_ids[0]),
            json!({"text": "Ada again"}),
        )
        .await;
    assert_eq!(note.status.as_u16(), 201, "{}", note.body);
    let r = desk
        .app
        .client("acme", "editor")
        .post(
            &format!("/v1/inbox/{}/reply", ada_ids[0]),
            json!({"text": "At our shop"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    assert_eq!(send(&desk).await.replies_sent, 1);
    let counts = m.get("/v1/inbox/counts").await;
    assert_eq!(counts.body["new"], 2, "{}", counts.body);
    assert_eq!(counts.body["replied"], 1, "{}", counts.body);

    let path = format!("/v1/people/{ada}");
    for role in ["viewer", "editor"] {
        desk.app
            .client("acme", role)
            .delete(&path, None)
            .await
            .problem(403);
    }
    let r = m.delete(&path, None).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["interactions_erased"], 2);

    m.get(&path).await.problem(404);
    m.get(&format!("{path}/export")).await.problem(404);
    for id in &ada_ids {
        m.get(&format!("/v1/inbox/{id}")).await.problem(404);
    }
    let page = inbox(&desk).await;
    assert_eq!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["external_id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        [bob_said.as_str()],
        "{page}"
    );
    let counts = m.get("/v1/inbox/counts").await;
    assert_eq!(counts.body["new"], 1, "{}", counts.body);
    assert_eq!(counts.body["replied"], 0, "{}", counts.body);
    assert_eq!(
        ids(&m.get("/v1/people").await.body["items"]).len(),
        1,
        "only Bob is left"
    );

    // the same comment is read again from the post's thread: dropped, not recorded again
    let report = poll(&desk).await;
    assert_eq!(report.recorded, 0, "{report:?}");
    assert!(report.suppressed >= 1, "{report:?}");

    // Ada writes anew: not recorded; Cleo's is
    fake.add_person("cleo", "Cleo", 3);
    let new_from_ada = fake.reply_as("ada", &remote, "hello again", true, "public");
    let cleo = fake.reply_as("cleo", &remote, "lovely", true, "public");
    let report = poll(&desk).await;
    assert_eq!(report.recorded, 1, "{report:?}");
    assert!(report.suppressed >= 2, "the old and the new: {report:?}");
    let again = poll(&desk).await;
    assert_eq!(again.recorded, 0, "{again:?}");
    let page = inbox(&desk).await;
    let seen: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["external_id"].as_str().unwrap())
        .collect();
    assert!(seen.contains(&cleo.as_str()), "{page}");
    for gone in [&comment, &dm, &new_from_ada] {
        assert!(!seen.contains(&gone.as_str()), "{gone} came back: {page}");
    }
    let people = m.get("/v1/people").await;
    assert_eq!(
        people.body["items"].as_array().unwrap().len(),
        2,
        "Bob and Cleo"
    );
    assert!(
        !people.body.to_string().contains("Ada"),
        "no record of Ada: {}",
        people.body
    );

    let audit = audited(&desk, "person.erased").await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["target"], format!("person/{ada}"));
    assert!(
        !audit[0].to_string().to_lowercase().contains("ada@"),
        "the audit entry names no handle: {}",
        audit[0]
    );
}

#[tokio::test]
async fn the_brands_rules_tag_assign_and_prioritise_what_arrives_in_order() {
    let (mut desk, fake, remote) = mastodon_desk().await;
    let m = desk.manager();
    let r = m
        .post(
            "/v1/competitors",
            json!({"network": "bluesky", "handle": "rivalroasters.bsky.social"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    fake.add_person("ada", "Ada", 120);
    fake.add_person("bob", "Bob", 7);
    fake.add_person("cleo", "Cleo", 3);
    // Ada is known, and a manager tagged her vip
    let hello = fake.reply_as("ada", &remote, "hello", true, "public");
    assert_eq!(poll(&desk).await.recorded, 1);
    let ada = interaction(&desk, &hello).await["person_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown = person(&m, &ada).await;
    let r = m
        .patch(
            &format!("/v1/people/{ada}"),
            json!({"tags": ["vip"]}),
            Some(&shown.etag()),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);

    // none before any were saved: version 0
    let none = desk
        .app
        .client("acme", "viewer")
        .get("/v1/inbox/rules")
        .await;
    assert_eq!(none.status.as_u16(), 200, "{}", none.body);
    assert_eq!(none.body, json!({"rules": [], "version": 0}));
    assert_eq!(none.etag(), "\"0\"");

    let rules = json!([
        {"name": "complaints",
         "when": [{"type": "keywords", "any": ["rimborso", "cafe"]}],
         "then": [{"type": "tag", "tag": "Complaint"}, {"type": "assign", "to": "care@acme"},
                  {"type": "priority", "priority": "high"}]},
        {"name": "questions",
         "when": [{"type": "question"}],
         "then": [{"type": "tag", "tag": "question"}, {"type": "assign", "to": "sales@acme"},
                  {"type": "priority", "priority": "low"}, {"type": "event"}]},
        {"name": "vips",
         "when": [{"type": "author_tag", "tag": "VIP"}],
         "then": [{"type": "priority", "priority": "urgent"}, {"type": "tag", "tag": "vip"}]},
        {"name": "rivals",
         "when": [{"type": "mentions_competitor"}],
         "then": [{"type": "tag", "tag": "competitor"}]}
    ]);
    // managers only, with If-Match, valid rules
    desk.app
        .client("acme", "editor")
        .send(
            desk.app
                .client("acme", "editor")
                .request(Method::PUT, "/v1/inbox/rules")
                .header("if-match", "\"0\"")
                .json(&json!({ "rules": rules })),
        )
        .await
        .problem(403);
    put_rules(&m, rules.clone(), None).await.problem(428);
    let bad = put_rules(
        &m,
        json!([
            {"name": " ", "when": [], "then": [{"type": "tag", "tag": ""}]},
            {"name": "ok", "when": [{"type": "keywords", "any": [" "]}], "then": [{"type": "event"}]}
        ]),
        Some("\"0\""),
    )
    .await;
    bad.problem(422);
    assert_eq!(
        bad.error_fields(),
        [
            "rules.0.name",
            "rules.0.when",
            "rules.0.then.0.tag",
            "rules.1.when.0.any"
        ],
        "{}",
        bad.body
    );
    let saved = put_rules(&m, rules.clone(), Some("\"0\"")).await;
    assert_eq!(saved.status.as_u16(), 200, "{}", saved.body);
    assert_eq!(saved.body["version"], 1);
    assert_eq!(saved.body["rules"][0]["then"][0]["tag"], "complaint");
    assert_eq!(saved.body["rules"][2]["when"][0]["tag"], "vip");
    assert_eq!(saved.etag(), "\"1\"");
    put_rules(&m, rules.clone(), Some("\"0\""))
        .await
        .problem(412);
    let read = m.get("/v1/inbox/rules").await;
    assert_eq!(read.body["rules"], saved.body["rules"]);
    let audit = audited(&desk, "inbox.rules_updated").await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    desk.events().await;

    // keyword folded for case and accents, a question, the author's tag: in order, the first
    // assignment wins, the highest priority stays
    let complaint = fake.reply_as(
        "ada",
        &remote,
        "Il CAFFÈ era freddo, il CAFÉ pure: posso avere un rimborso?",
        true,
        "public",
    );
    let rival = fake.mention_as("bob", "honestly @RivalRoasters.bsky.social is better");
    // "cafeteria" is not the word "cafe"; no question
    let plain = fake.reply_as("cleo", &remote, "Nice cafeteria.", true, "public");
    assert_eq!(poll(&desk).await.recorded, 3);

    let c = interaction(&desk, &complaint).await;
    assert_eq!(c["tags"], json!(["complaint", "question", "vip"]), "{c}");
    assert_eq!(c["assignee"], "care@acme");
    assert_eq!(c["priority"], "urgent");
    assert_eq!(
        c["rule_actions"],
        json!([
            "complaints: tag complaint",
            "complaints: assign care@acme",
            "complaints: priority high",
            "questions: tag question",
            "questions: event",
            "vips: priority urgent",
            "vips: tag vip"
        ]),
        "{c}"
    );
    let r = interaction(&desk, &rival).await;
    assert_eq!(r["tags"], json!(["competitor"]), "{r}");
    assert_eq!(r["rule_actions"], json!(["rivals: tag competitor"]));
    assert!(r["assignee"].is_null());
    assert_eq!(r["priority"], "normal");
    let p = interaction(&desk, &plain).await;
    assert_eq!(p["tags"], json!([]), "{p}");
    assert_eq!(p["rule_actions"], json!([]));
    assert_eq!(p["priority"], "normal");
    // rules do not reach back: the first interaction is as it was
    assert_eq!(interaction(&desk, &hello).await["rule_actions"], json!([]));

    let events = desk.events().await;
    let matched: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "interaction.rule_matched")
        .collect();
    assert_eq!(matched.len(), 1, "{events:?}");
    assert!(
        matched[0]
            .data
            .to_string()
            .contains(c["id"].as_str().unwrap()),
        "{:?}",
        matched[0]
    );
    assert!(
        !matched[0].data.to_string().contains("rimborso"),
        "ids only"
    );
}

#[tokio::test]
async fn a_hide_is_done_by_the_worker_unhide_reopens_and_mastodon_is_refused_by_name() {
    let (desk, fake, post) = facebook_desk().await;
    let comment = fake.comment_as(&Person::new("7001", "Ada"), &post, "Spam spam spam");
    assert_eq!(poll(&desk).await.recorded, 1);
    let item = interaction(&desk, &comment).await;
    let id = item["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/inbox/{id}/moderation");
    let m = desk.manager();

    desk.app
        .client("acme", "editor")
        .post(&path, json!({"action": "hide"}))
        .await
        .problem(403);
    let bad = m.post(&path, json!({"action": "ban"})).await;
    assert_eq!(bad.error_fields(), ["action"], "{}", bad.body);
    let bad = m
        .post(
            &path,
            json!({"action": "hide", "reply_id": "01J00000000000000000000000"}),
        )
        .await;
    assert_eq!(bad.error_fields(), ["reply_id"], "{}", bad.body);
    let bad = m.post(&path, json!({"action": "delete_reply"})).await;
    assert_eq!(bad.error_fields(), ["reply_id"], "{}", bad.body);

    let r = m.post(&path, json!({"action": "hide"})).await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    assert_eq!(r.body["state"], "pending");
    assert_eq!(r.body["action"], "hide");
    assert!(
        !fake.comment(&comment).unwrap().hidden,
        "not before the worker"
    );
    let shown = m.get(&format!("/v1/inbox/{id}")).await;
    assert_eq!(shown.body["moderations"][0]["state"], "pending");

    let worker = desk.app.runtime.inbox_worker();
    let report = worker.tick().await.unwrap();
    assert_eq!(report.moderated, 1, "{report:?}");
    assert_eq!(worker.tick().await.unwrap().moderated, 0, "once");
    assert!(fake.comment(&comment).unwrap().hidden);
    let shown = m.get(&format!("/v1/inbox/{id}")).await;
    assert_eq!(shown.body["state"], "hidden", "{}", shown.body);
    assert_eq!(shown.body["moderations"][0]["state"], "done");
    assert_eq!(shown.body["moderations"][0]["requested_by"], "manager@acme");
    let counts = m.get("/v1/inbox/counts").await;
    assert_eq!(counts.body["hidden"], 1, "{}", counts.body);
    assert_eq!(counts.body["new"], 0, "{}", counts.body);

    // unhiding reopens it; a like is done too
    let r = m.post(&path, json!({"action": "unhide"})).await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    let r = m.post(&path, json!({"action": "like"})).await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    assert_eq!(worker.tick().await.unwrap().moderated, 2);
    let on_facebook = fake.comment(&comment).unwrap();
    assert!(!on_facebook.hidden);
    assert!(on_facebook.liked);
    let shown = m.get(&format!("/v1/inbox/{id}")).await;
    assert_eq!(shown.body["state"], "open", "{}", shown.body);
    let states: Vec<&str> = shown.body["moderations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["done", "done", "done"], "{}", shown.body);

    let audit = audited(&desk, "inbox.moderated").await;
    assert_eq!(audit.len(), 3, "{audit:?}");
    let actions: Vec<&str> = audit
        .iter()
        .map(|a| a["details"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["like", "unhide", "hide"], "newest first");
    assert_eq!(audit[0]["details"]["network"], "facebook");
}

#[tokio::test]
async fn mastodon_moderation_is_refused_naming_mastodon() {
    let (desk, fake, remote) = mastodon_desk().await;
    fake.add_person("ada", "Ada", 1);
    let said = fake.reply_as("ada", &remote, "spam", true, "public");
    assert_eq!(poll(&desk).await.recorded, 1);
    let id = interaction(&desk, &said).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = desk
        .manager()
        .post(
            &format!("/v1/inbox/{id}/moderation"),
            json!({"action": "hide"}),
        )
        .await;
    let problem = r.problem(422);
    assert!(
        problem["type"].as_str().unwrap().ends_with("/network-rule"),
        "{problem}"
    );
    assert!(
        problem["detail"].as_str().unwrap().contains("Mastodon"),
        "{problem}"
    );
    assert!(audited(&desk, "inbox.moderated").await.is_empty());
    let shown = desk.manager().get(&format!("/v1/inbox/{id}")).await;
    assert_eq!(shown.body["moderations"], json!([]));
}

#[tokio::test]
async fn messenger_windows_and_private_replies_are_checked_before_a_reply_is_accepted() {
    let (desk, fake, post) = facebook_desk().await;
    let bea = Person::new("7002", "Bea");
    let mid = fake.message_from(&bea, "Do you deliver?");
    let comment = fake.comment_as(&Person::new("7001", "Ada"), &post, "Price?");
    assert_eq!(poll(&desk).await.recorded, 2);
    let editor = desk.app.client("acme", "editor");

    // within 24 hours of Bea's message: answered
    let message = interaction(&desk, &mid).await;
    assert_eq!(message["kind"], "direct_message");
    let reply_path = format!("/v1/inbox/{}/reply", message["id"].as_str().unwrap());
    let r = editor
        .post(&reply_path, json!({"text": "Yes, in town"}))
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    assert_eq!(send(&desk).await.replies_sent, 1);
    assert_eq!(fake.page_messages_to("7002").len(), 1);

    // a day and more later, Messenger's window is closed: refused in plain words
    desk.advance(SignedDuration::from_hours(25));
    let late = editor
        .post(&reply_path, json!({"text": "Also on Sundays"}))
        .await;
    let problem = late.problem(422);
    assert!(
        problem["type"].as_str().unwrap().ends_with("/network-rule"),
        "{problem}"
    );
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("Messenger") && detail.contains("24 hours"),
        "{detail}"
    );
    assert_eq!(send(&desk).await.replies_sent, 0);
    assert_eq!(fake.page_messages_to("7002").len(), 1, "nothing more sent");

    // one private reply per comment
    let item = interaction(&desk, &comment).await;
    let path = format!("/v1/inbox/{}/reply", item["id"].as_str().unwrap());
    let r = editor
        .post(
            &path,
            json!({"text": "Sent you the price list", "private": true}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    assert_eq!(r.body["private"], true);
    // asked for again (a retry after a lost answer): the same reply, not a refusal
    desk.advance(SignedDuration::from_secs(30));
    let again = editor
        .post(
            &path,
            json!({"text": "Sent you the price list", "private": true}),
        )
        .await;
    assert_eq!(again.status.as_u16(), 202, "{}", again.body);
    assert_eq!(again.body["id"], r.body["id"]);
    assert_eq!(send(&desk).await.replies_sent, 1);
    let sent = fake.private_replies_to(&comment);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].text, "Sent you the price list");
    assert!(
        fake.page_replies_to(&comment).is_empty(),
        "nothing public on the thread"
    );
    let second = editor
        .post(&path, json!({"text": "And the menu", "private": true}))
        .await;
    let problem = second.problem(422);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("one private reply per comment"),
        "{problem}"
    );
    // a public answer to the same comment is still possible
    let public = editor
        .post(&path, json!({"text": "Check your inbox"}))
        .await;
    assert_eq!(public.status.as_u16(), 202, "{}", public.body);
    assert_eq!(public.body["private"], false);
}

/// Every new route answers another brand's token with this brand's ids as if they did not
/// exist; the rules are the brand's own.
#[tokio::test]
async fn another_brand_reaches_no_person_moderation_or_rule() {
    let (desk, fake, remote) = mastodon_desk().await;
    fake.add_person("ada", "Ada", 1);
    let said = fake.reply_as("ada", &remote, "hello", true, "public");
    assert_eq!(poll(&desk).await.recorded, 1);
    let item = interaction(&desk, &said).await;
    let id = item["id"].as_str().unwrap().to_owned();
    let ada = item["person_id"].as_str().unwrap().to_owned();
    let m = desk.manager();
    let saved = put_rules(
        &m,
        json!([{"name": "all", "when": [{"type": "keywords", "any": ["hello"]}],
                "then": [{"type": "tag", "tag": "hi"}]}]),
        Some("\"0\""),
    )
    .await;
    assert_eq!(saved.status.as_u16(), 200, "{}", saved.body);
    let etag = person(&m, &ada).await.etag();

    desk.app.brand("rival", "Europe/Rome", false).await;
    for role in ["manager", "owner"] {
        let rival = desk.app.client("rival", role);
        let path = format!("/v1/people/{ada}");
        rival.get(&path).await.problem(404);
        rival
            .patch(&path, json!({"tags": ["x"]}), Some(&etag))
            .await
            .problem(404);
        rival
            .post(
                &format!("{path}/handles"),
                json!({"network": "bluesky", "handle": "x.test"}),
            )
            .await
            .problem(404);
        rival.get(&format!("{path}/export")).await.problem(404);
        rival.delete(&path, None).await.problem(404);
        rival
            .post(
                &format!("/v1/inbox/{id}/moderation"),
                json!({"action": "hide"}),
            )
            .await
            .problem(404);
        assert_eq!(rival.get("/v1/people").await.body["items"], json!([]));
        let rules = rival.get("/v1/inbox/rules").await;
        assert_eq!(
            rules.body,
            json!({"rules": [], "version": 0}),
            "{}",
            rules.body
        );
    }
    // a rival's rules are its own and leave this brand's alone
    let rival = desk.app.client("rival", "manager");
    let theirs = put_rules(
        &rival,
        json!([{"name": "theirs", "when": [{"type": "question"}], "then": [{"type": "event"}]}]),
        Some("\"0\""),
    )
    .await;
    assert_eq!(theirs.status.as_u16(), 200, "{}", theirs.body);
    assert_eq!(m.get("/v1/inbox/rules").await.body, saved.body);

    // all still there for the brand itself
    let shown = person(&m, &ada).await;
    assert_eq!(shown.body["tags"], json!([]));
    assert_eq!(shown.body["handles"].as_array().unwrap().len(), 1);
    assert_eq!(
        m.get(&format!("/v1/inbox/{id}")).await.body["moderations"],
        json!([])
    );
    assert!(audited(&desk, "person.exported").await.is_empty());
    assert!(audited(&desk, "person.erased").await.is_empty());
}
