//! The community inbox on the local runner against the Mastodon and Bluesky fakes: what people
//! address to the brand appears once (a reply that dropped the brand's @mention found through
//! its post's thread), replies are sent exactly once (a lost answer read back before any retry),
//! a native reply counts as the first response, direct messages stay with editors and direct,
//! managers assign and change states, replies may wait for a manager's approval, and another
//! brand sees none of it.

use jiff::SignedDuration;
use palinsesto::clock::Clock;
use palinsesto::networks::NetworkEndpoints;
use palinsesto_system_tests::desk::{Desk, target};
use palinsesto_system_tests::fakes::bluesky::FakeBluesky;
use palinsesto_system_tests::fakes::mastodon::{FakeMastodon, TOKEN};
use serde_json::{Value, json};

/// A desk with a Mastodon channel and one published post: the channel and the post's status id.
async fn mastodon_desk() -> (Desk, FakeMastodon, String, String, String) {
    let desk = Desk::start(NetworkEndpoints::default()).await;
    let fake = FakeMastodon::start().await;
    let channel = desk
        .channel("mastodon", fake.settings(), fake.credentials())
        .await;
    let (post, remote) = publish(&desk, &channel, "Our new blend is out").await;
    (desk, fake, channel, post, remote)
}

async fn publish(desk: &Desk, channel: &str, text: &str) -> (String, String) {
    let at = (desk.app.clock.now() + SignedDuration::from_mins(1)).to_string();
    let post = desk.scheduled(text, &[channel], &at).await;
    desk.set_time(&at);
    let settled = desk.tick_and_settle(&post).await;
    let published = target(&settled, channel);
    assert_eq!(published["state"], "published", "{settled}");
    (post, published["remote_id"].as_str().unwrap().to_owned())
}

async fn inbox(desk: &Desk, role: &str, query: &str) -> Value {
    let r = desk
        .app
        .client("acme", role)
        .get(&format!("/v1/inbox{query}"))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    r.body
}

fn item<'a>(page: &'a Value, external_id: &str) -> &'a Value {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["external_id"] == external_id)
        .unwrap_or_else(|| panic!("{external_id} is not in {page}"))
}

/// Polls again once the streams are due.
async fn poll(desk: &Desk) -> palinsesto::services::inbox_worker::InboxTickReport {
    desk.advance(SignedDuration::from_mins(20));
    desk.app.runtime.inbox_worker().poll().await.unwrap()
}

async fn send(desk: &Desk) -> palinsesto::services::inbox_worker::InboxTickReport {
    desk.app
        .runtime
        .inbox_worker()
        .send_replies()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_reply_to_the_brand_appears_once_and_is_answered_exactly_once() {
    let (mut desk, fake, channel, post, remote) = mastodon_desk().await;
    fake.add_person("ada", "Ada", 120);
    fake.add_person("bob", "Bob", 7);
    let ada = fake.reply_as("ada", &remote, "Love it!", true, "public");
    // a reply that dropped the brand's @mention: no notification, found in the post's thread
    let bob = fake.reply_as("bob", &remote, "where can I buy it?", false, "public");

    let report = poll(&desk).await;
    assert_eq!(report.recorded, 2, "{report:?}");
    let again = poll(&desk).await;
    assert_eq!(
        again.recorded, 0,
        "seen again, still one record each: {again:?}"
    );

    let page = inbox(&desk, "viewer", "").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2, "{page}");
    let from_ada = item(&page, &ada);
    assert_eq!(from_ada["kind"], "reply");
    assert_eq!(from_ada["state"], "new");
    assert_eq!(
        from_ada["post_id"],
        post.as_str(),
        "the brand post it answers"
    );
    assert_eq!(from_ada["author"]["handle"], "@ada@127.0.0.1");
    assert_eq!(from_ada["author"]["followers"], 120);
    assert!(
        from_ada.get("raw").is_none(),
        "the network's answer is never shown"
    );
    let from_bob = item(&page, &bob);
    assert_eq!(from_bob["text"], "where can I buy it?");
    let counts = desk.manager().get("/v1/inbox/counts").await;
    assert_eq!(counts.body["new"], 2, "{}", counts.body);
    let events = desk.events().await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == "interaction.received")
            .count(),
        2
    );
    assert!(
        events
            .iter()
            .all(|e| !e.data.to_string().contains("Love it")),
        "events carry ids, never the text"
    );

    // a viewer may not answer; another brand finds nothing
    let id = from_ada["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/inbox/{id}/reply");
    let viewer = desk.app.client("acme", "viewer");
    viewer
        .post(&path, json!({"text": "Thanks!"}))
        .await
        .problem(403);
    desk.app.brand("rival", "Europe/Rome", false).await;
    let rival = desk.app.client("rival", "manager");
    rival
        .post(&path, json!({"text": "Thanks!"}))
        .await
        .problem(404);
    rival.get(&format!("/v1/inbox/{id}")).await.problem(404);
    assert_eq!(
        rival.get("/v1/inbox").await.body["items"],
        json!([]),
        "another brand's inbox is empty"
    );

    // an editor answers: accepted at once, sent by the worker, once
    let editor = desk.app.client("acme", "editor");
    let r = editor.post(&path, json!({"text": "Thank you, Ada!"})).await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    assert_eq!(r.body["state"], "pending");
    assert_eq!(send(&desk).await.replies_sent, 1);
    assert_eq!(send(&desk).await.replies_sent, 0);
    let sent = fake.replies_to(&ada);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].text, "Thank you, Ada!");
    assert_eq!(sent[0].visibility, "public");
    let shown = editor.get(&format!("/v1/inbox/{id}")).await;
    assert_eq!(shown.body["state"], "replied", "{}", shown.body);
    assert_eq!(shown.body["first_response_via"], "palinsesto");
    assert!(shown.body["first_response_minutes"].is_i64());
    assert_eq!(shown.body["replies"][0]["state"], "sent");
    let audit = desk.manager().get("/v1/audit?action=inbox.replied").await;
    assert_eq!(audit.body["items"][0]["actor"], "editor@acme");

    // the answer to Bob is lost on the way: read back before any retry, still one reply
    let bob_id = from_bob["id"].as_str().unwrap().to_owned();
    let already = fake.status_requests();
    fake.lose_answer_to_status_request(already + 1);
    let r = editor
        .post(
            &format!("/v1/inbox/{bob_id}/reply"),
            json!({"text": "At our shop"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    let first = send(&desk).await;
    assert_eq!(first.replies_sent, 0, "{first:?}");
    let shown = editor.get(&format!("/v1/inbox/{bob_id}")).await;
    assert_eq!(
        shown.body["replies"][0]["state"], "unknown",
        "{}",
        shown.body
    );
    desk.advance(SignedDuration::from_mins(2));
    assert_eq!(send(&desk).await.replies_sent, 1);
    assert_eq!(fake.replies_to(&bob).len(), 1, "exactly once");

    // the brand answers natively (its own app): that is the first response
    fake.add_person("cleo", "Cleo", 3);
    let cleo = fake.mention_as("cleo", "is the shop open on Sunday?");
    assert_eq!(poll(&desk).await.recorded, 1);
    let native = reqwest::Client::builder()
        .use_preconfigured_tls(palinsesto::outbound::tls_config(&[]).unwrap())
        .build()
        .unwrap()
        .post(format!("{}/api/v1/statuses", fake.base()))
        .bearer_auth(TOKEN)
        .json(&json!({"status": "@cleo yes, 10 to 13", "in_reply_to_id": cleo}))
        .send()
        .await
        .unwrap();
    assert!(native.status().is_success());
    let report = poll(&desk).await;
    assert_eq!(report.native_responses, 1, "{report:?}");
    let page = inbox(&desk, "viewer", "").await;
    let from_cleo = item(&page, &cleo);
    assert_eq!(from_cleo["kind"], "mention");
    assert_eq!(from_cleo["state"], "replied");
    assert_eq!(from_cleo["first_response_via"], "native");

    // managers assign and resolve, on the version they read; editors may not
    let cleo_id = from_cleo["id"].as_str().unwrap();
    let m = desk.manager();
    let read = m.get(&format!("/v1/inbox/{cleo_id}")).await;
    let patch =
        json!({"assignee": "ada@acme", "state": "resolved", "tags": ["Shop"], "priority": "high"});
    editor
        .patch(
            &format!("/v1/inbox/{cleo_id}"),
            patch.clone(),
            Some(&read.etag()),
        )
        .await
        .problem(403);
    let r = m
        .patch(
            &format!("/v1/inbox/{cleo_id}"),
            patch.clone(),
            Some(&read.etag()),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["tags"], json!(["shop"]));
    m.patch(&format!("/v1/inbox/{cleo_id}"), patch, Some(&read.etag()))
        .await
        .problem(412);
    let mine = inbox(&desk, "viewer", "?assignee=ada@acme&state=resolved").await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1, "{mine}");
    let open = inbox(&desk, "viewer", "?state=open").await;
    assert_eq!(open["items"], json!([]), "{open}");
    let by_channel = inbox(&desk, "viewer", &format!("?channel={channel}&order=oldest")).await;
    assert_eq!(by_channel["items"].as_array().unwrap().len(), 3);
    assert_eq!(
        by_channel["items"][0]["external_id"],
        ada.as_str(),
        "oldest first"
    );

    // notes, for the team only
    let r = editor
        .post(
            &format!("/v1/inbox/{cleo_id}/notes"),
            json!({"text": "regular customer"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let notes = m.get(&format!("/v1/inbox/{cleo_id}/notes")).await;
    assert_eq!(notes.body["items"][0]["text"], "regular customer");

    // the period's figures
    let from = (desk.app.clock.now() - SignedDuration::from_hours(24 * 60)).to_string();
    let to = (desk.app.clock.now() + SignedDuration::from_hours(1)).to_string();
    let stats = m.get(&format!("/v1/inbox/stats?from={from}&to={to}")).await;
    assert_eq!(stats.status.as_u16(), 200, "{}", stats.body);
    assert_eq!(stats.body["interactions"], 3, "{}", stats.body);
    assert_eq!(stats.body["answered"], 3);
    assert_eq!(stats.body["response_rate"], 1.0);
    assert_eq!(stats.body["by_network"]["mastodon"]["answered"], 3);

    // the weekly report has the community section, in every format. (The fake dates what people
    // write by its own clock: the week asked for is the one that holds Ada's reply.)
    let written: jiff::Timestamp = from_ada["created_at"].as_str().unwrap().parse().unwrap();
    let ending = (written + SignedDuration::from_hours(24))
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let path = format!("/v1/reports?period=week&ending={ending}");
    let report = viewer.get(&path).await;
    assert_eq!(report.status.as_u16(), 200, "{}", report.body);
    let community = &report.body["community"];
    assert_eq!(
        community["total"]["current"]["interactions"], 3,
        "{community}"
    );
    assert_eq!(community["total"]["current"]["answered"], 3);
    assert_eq!(community["total"]["current"]["response_rate"], 1.0);
    assert_eq!(community["channels"][0]["channel_id"], channel.as_str());
    let received: u64 = community["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["received"].as_u64().unwrap())
        .sum();
    assert_eq!(received, 3);
    let csv = viewer.get(&format!("{path}&format=csv")).await;
    assert!(
        csv.text().contains("community,All channels,all,3,"),
        "{}",
        csv.text()
    );
    let html = viewer.get(&format!("{path}&format=html")).await;
    assert!(html.text().contains("<h2 id=\"community\">Community</h2>"));
    let rival_report = rival.get(&path).await;
    assert_eq!(
        rival_report.body["community"]["total"]["current"]["interactions"], 0,
        "another brand's report counts none of it"
    );
}

#[tokio::test]
async fn reply_faults_end_with_each_reply_on_the_network_exactly_once() {
    let (desk, fake, _channel, _post, remote) = mastodon_desk().await;
    let people = ["ada", "bob", "cleo", "dan"];
    let mut statuses = Vec::new();
    for person in people {
        fake.add_person(person, person, 1);
        statuses.push(fake.reply_as(person, &remote, "hello", true, "public"));
    }
    assert_eq!(poll(&desk).await.recorded, 4);
    let page = inbox(&desk, "editor", "?order=oldest").await;
    let editor = desk.app.client("acme", "editor");
    let mut ids = Vec::new();
    for status in &statuses {
        let id = item(&page, status)["id"].as_str().unwrap().to_owned();
        let r = editor
            .post(
                &format!("/v1/inbox/{id}/reply"),
                json!({"text": format!("thanks {status}")}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 202, "{}", r.body);
        ids.push(id);
    }

    // the first send is rate limited until the network's reset, the second is taken and its
    // answer lost with the connection; two workers run at once
    let reset = (desk.app.clock.now() + SignedDuration::from_mins(7))
        .round(jiff::Unit::Second)
        .unwrap();
    fake.faults().inject(
        reqwest::Method::POST,
        "/api/v1/statuses",
        1,
        palinsesto_system_tests::fakes::Fault::status_with_headers(
            429,
            &[
                ("X-RateLimit-Limit", "300"),
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset", &reset.to_string()),
            ],
            r#"{"error":"Too many requests"}"#,
        ),
    );
    fake.faults().inject(
        reqwest::Method::POST,
        "/api/v1/statuses",
        1,
        palinsesto_system_tests::fakes::Fault::DropAfterReceive,
    );
    let (a, b) = tokio::join!(send(&desk), send(&desk));
    let states = || async {
        let mut states = Vec::new();
        for id in &ids {
            let shown = editor.get(&format!("/v1/inbox/{id}")).await;
            states.push(shown.body["replies"][0].clone());
        }
        states
    };
    let now = states().await;
    assert_eq!(a.replies_sent + b.replies_sent, 2, "{a:?} {b:?} {now:#?}");
    let waiting: Vec<&Value> = now.iter().filter(|r| r["state"] == "pending").collect();
    assert_eq!(waiting.len(), 1, "{now:?}");
    assert_eq!(
        waiting[0]["next_attempt_at"],
        reset.to_string(),
        "waits for the reset"
    );
    assert_eq!(
        now.iter().filter(|r| r["state"] == "unknown").count(),
        1,
        "{now:?}"
    );

    // a minute later the lost answer is read back; at the reset the waiting one goes out;
    // workers running at once again send nothing twice
    desk.advance(SignedDuration::from_mins(1));
    let (a, b) = tokio::join!(send(&desk), send(&desk));
    assert_eq!(a.replies_sent + b.replies_sent, 1, "{a:?} {b:?}");
    desk.app.clock.set(reset);
    let (a, b) = tokio::join!(send(&desk), send(&desk));
    assert_eq!(a.replies_sent + b.replies_sent, 1, "{a:?} {b:?}");
    desk.advance(SignedDuration::from_mins(10));
    let (a, b) = tokio::join!(send(&desk), send(&desk));
    assert_eq!(a.replies_sent + b.replies_sent, 0);
    for (status, reply) in statuses.iter().zip(states().await) {
        assert_eq!(reply["state"], "sent", "{reply}");
        assert_eq!(fake.replies_to(status).len(), 1, "exactly once: {status}");
    }
}

#[tokio::test]
async fn a_reply_asked_for_twice_is_one_reply_and_a_refused_one_can_be_sent_again() {
    let (desk, fake, _channel, _post, remote) = mastodon_desk().await;
    fake.add_person("ada", "Ada", 1);
    let ada = fake.reply_as("ada", &remote, "hello", true, "public");
    assert_eq!(poll(&desk).await.recorded, 1);
    let page = inbox(&desk, "editor", "").await;
    let id = item(&page, &ada)["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/inbox/{id}/reply");
    let editor = desk.app.client("acme", "editor");

    // a double click: two requests at once, one reply
    let body = json!({"text": "Thanks Ada"});
    let (a, b) = tokio::join!(
        editor.post(&path, body.clone()),
        editor.post(&path, body.clone())
    );
    assert_eq!(
        (a.status.as_u16(), b.status.as_u16()),
        (202, 202),
        "{} {}",
        a.body,
        b.body
    );
    assert_eq!(a.body["id"], b.body["id"], "the same reply");
    // a retry after a lost answer, later: still the same one
    desk.advance(SignedDuration::from_secs(30));
    let again = editor.post(&path, body.clone()).await;
    assert_eq!(again.body["id"], a.body["id"]);

    // the network refuses it: the same words may be sent again at once, as a new reply
    fake.faults().inject(
        reqwest::Method::POST,
        "/api/v1/statuses",
        1,
        palinsesto_system_tests::fakes::Fault::status(
            422,
            r#"{"error":"Validation failed: Text character limit of 500 exceeded"}"#,
        ),
    );
    assert_eq!(send(&desk).await.replies_failed, 1);
    let shown = editor.get(&format!("/v1/inbox/{id}")).await;
    assert_eq!(
        shown.body["replies"][0]["state"], "failed",
        "{}",
        shown.body
    );
    let retry = editor.post(&path, body).await;
    assert_eq!(retry.status.as_u16(), 202, "{}", retry.body);
    assert_ne!(retry.body["id"], a.body["id"], "a new reply");
    assert_eq!(send(&desk).await.replies_sent, 1);
    assert_eq!(
        fake.replies_to(&ada).len(),
        1,
        "exactly once on the network"
    );
    let audit = desk.manager().get("/v1/audit?action=inbox.replied").await;
    assert_eq!(
        audit.body["items"].as_array().unwrap().len(),
        2,
        "one entry per reply made"
    );
}

#[tokio::test]
async fn direct_messages_stay_with_editors_and_are_answered_directly() {
    let (desk, fake, _channel, _post, _remote) = mastodon_desk().await;
    fake.add_person("dora", "Dora", 1);
    let dm = fake.direct_as("dora", "my order never arrived");
    assert_eq!(poll(&desk).await.recorded, 1);
    assert_eq!(inbox(&desk, "viewer", "").await["items"], json!([]));
    let page = inbox(&desk, "editor", "").await;
    let from_dora = item(&page, &dm);
    assert_eq!(from_dora["kind"], "direct_message");
    assert_eq!(from_dora["visibility"], "direct");
    let id = from_dora["id"].as_str().unwrap();
    desk.app
        .client("acme", "viewer")
        .get(&format!("/v1/inbox/{id}"))
        .await
        .problem(404);
    let r = desk
        .app
        .client("acme", "editor")
        .post(
            &format!("/v1/inbox/{id}/reply"),
            json!({"text": "Sorry! Sending it again."}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    assert_eq!(send(&desk).await.replies_sent, 1);
    let sent = fake.replies_to(&dm);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].visibility, "direct",
        "an answer to a direct message stays direct"
    );
}

#[tokio::test]
async fn replies_wait_for_a_managers_approval_when_the_brand_asks_for_it() {
    let (desk, fake, _channel, _post, remote) = mastodon_desk().await;
    let m = desk.manager();
    let brand = m.get("/v1/brand").await;
    let owner = desk.app.client("acme", "owner");
    let r = owner
        .patch(
            "/v1/brand",
            json!({"inbox": {"replies_need_approval": true, "response_target_minutes": 30}}),
            Some(&brand.etag()),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["inbox"]["replies_need_approval"], true);
    let bad = owner
        .patch(
            "/v1/brand",
            json!({"inbox": {"response_target_minutes": 0, "business_hours": {"weekly": {"mon": [["18:00", "09:00"]]}}}}),
            Some(&r.etag()),
        )
        .await;
    assert_eq!(
        bad.error_fields(),
        [
            "inbox.business_hours.weekly.mon.0",
            "inbox.response_target_minutes"
        ],
        "{}",
        bad.body
    );

    fake.add_person("eve", "Eve", 1);
    let eve = fake.reply_as("eve", &remote, "nice", true, "public");
    assert_eq!(poll(&desk).await.recorded, 1);
    let page = inbox(&desk, "editor", "").await;
    let id = item(&page, &eve)["id"].as_str().unwrap().to_owned();
    let r = desk
        .app
        .client("acme", "editor")
        .post(
            &format!("/v1/inbox/{id}/reply"),
            json!({"text": "Thanks Eve"}),
        )
        .await;
    assert_eq!(r.body["state"], "awaiting_approval", "{}", r.body);
    let reply = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(send(&desk).await.replies_sent, 0, "nothing before approval");
    let approve = format!("/v1/inbox/{id}/replies/{reply}/approve");
    desk.app
        .client("acme", "editor")
        .post(&approve, json!({}))
        .await
        .problem(403);
    // another brand's manager can neither approve it nor see it in its figures
    desk.app.brand("rival", "Europe/Rome", false).await;
    let rival = desk.app.client("rival", "manager");
    rival.post(&approve, json!({})).await.problem(404);
    let from = (desk.app.clock.now() - SignedDuration::from_hours(24 * 60)).to_string();
    let to = (desk.app.clock.now() + SignedDuration::from_hours(1)).to_string();
    let theirs = rival
        .get(&format!("/v1/inbox/stats?from={from}&to={to}"))
        .await;
    assert_eq!(theirs.status.as_u16(), 200, "{}", theirs.body);
    assert_eq!(theirs.body["interactions"], 0, "{}", theirs.body);
    let ours = m.get(&format!("/v1/inbox/stats?from={from}&to={to}")).await;
    assert_eq!(ours.body["interactions"], 1, "{}", ours.body);
    let r = m.post(&approve, json!({})).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(send(&desk).await.replies_sent, 1);
    assert_eq!(fake.replies_to(&eve).len(), 1);
    m.post(&approve, json!({})).await.problem(409);
}

#[tokio::test]
async fn bluesky_replies_and_quotes_arrive_once_and_answers_are_threaded() {
    let desk = Desk::start(NetworkEndpoints::default()).await;
    let pds = FakeBluesky::start().await;
    let channel = desk
        .channel("bluesky", pds.settings(), pds.credentials())
        .await;
    let (_post, uri) = publish(&desk, &channel, "Hello from the brand").await;
    pds.add_person("ada.test", "Ada", 10);
    let (reply_uri, _) = pds.reply_as("ada.test", &uri, "So good");
    let (quote_uri, _) = pds.quote_as("ada.test", &uri, "Look at this");
    let report = poll(&desk).await;
    assert_eq!(report.recorded, 2, "{report:?}");
    assert_eq!(poll(&desk).await.recorded, 0, "once each");
    let page = inbox(&desk, "viewer", "").await;
    assert_eq!(item(&page, &reply_uri)["kind"], "reply");
    assert_eq!(item(&page, &quote_uri)["kind"], "quote");
    let id = item(&page, &reply_uri)["id"].as_str().unwrap().to_owned();
    let r = desk
        .app
        .client("acme", "editor")
        .post(
            &format!("/v1/inbox/{id}/reply"),
            json!({"text": "Thank you!"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    assert_eq!(send(&desk).await.replies_sent, 1);
    let sent = pds.replies_to(&reply_uri);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].value["reply"]["root"]["uri"],
        uri.as_str(),
        "threaded under the brand's post"
    );
    assert_eq!(sent[0].value["text"], "Thank you!");
    let shown = desk.manager().get(&format!("/v1/inbox/{id}")).await;
    assert_eq!(shown.body["state"], "replied");
}

/// The brand's response target: an interaction still waiting at its deadline is announced once
/// (`interaction.sla_breached`); saved replies fill in the person; managers change many at once;
/// another brand reaches none of it.
#[tokio::test]
async fn late_interactions_are_announced_saved_replies_fill_in_the_person_and_bulk_changes_apply() {
    let (mut desk, fake, _channel, _post, remote) = mastodon_desk().await;
    let owner = desk.app.client("acme", "owner");
    let brand = owner.get("/v1/brand").await;
    let r = owner
        .patch(
            "/v1/brand",
            json!({"inbox": {"response_target_minutes": 30}}),
            Some(&brand.etag()),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    fake.add_person("fay", "Fay", 1);
    fake.add_person("gil", "Gil", 1);
    let fay = fake.reply_as("fay", &remote, "hello?", true, "public");
    let gil = fake.reply_as("gil", &remote, "anyone?", true, "public");
    assert_eq!(poll(&desk).await.recorded, 2);
    desk.events().await;

    // past the target, both are late: announced once
    desk.advance(SignedDuration::from_hours(2));
    let worker = desk.app.runtime.inbox_worker();
    // interactions are made "now" on the fake's clock; the target counts from then
    let late = worker.check_response_targets().await.unwrap();
    assert_eq!(late, 2);
    assert_eq!(worker.check_response_targets().await.unwrap(), 0, "once");
    let events = desk.events().await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == "interaction.sla_breached")
            .count(),
        2,
        "{events:?}"
    );

    // a saved reply, filled in for Fay
    let editor = desk.app.client("acme", "editor");
    let bad = editor
        .post(
            "/v1/saved-replies",
            json!({"title": "Thanks", "text": "Hi {first_name}"}),
        )
        .await;
    assert_eq!(bad.error_fields(), ["text"], "{}", bad.body);
    let saved = editor
        .post(
            "/v1/saved-replies",
            json!({"title": "Thanks", "text": "Thanks {name}, we are on it"}),
        )
        .await;
    assert_eq!(saved.status.as_u16(), 201, "{}", saved.body);
    let saved_id = saved.body["id"].as_str().unwrap().to_owned();
    let page = inbox(&desk, "editor", "").await;
    let fay_id = item(&page, &fay)["id"].as_str().unwrap().to_owned();
    let gil_id = item(&page, &gil)["id"].as_str().unwrap().to_owned();
    let r = editor
        .post(
            &format!("/v1/inbox/{fay_id}/reply"),
            json!({"saved_reply": saved_id}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    assert_eq!(r.body["text"], "Thanks Fay, we are on it");
    assert_eq!(send(&desk).await.replies_sent, 1);

    // another brand reaches none of it
    desk.app.brand("rival", "Europe/Rome", false).await;
    let rival = desk.app.client("rival", "manager");
    assert_eq!(
        rival.get("/v1/saved-replies").await.body["items"],
        json!([])
    );
    rival
        .patch(
            &format!("/v1/saved-replies/{saved_id}"),
            json!({"title": "x"}),
            Some("\"1\""),
        )
        .await
        .problem(404);
    rival
        .patch(
            &format!("/v1/inbox/{gil_id}"),
            json!({"state": "resolved"}),
            Some("\"1\""),
        )
        .await
        .problem(404);
    rival
        .get(&format!("/v1/inbox/{gil_id}/notes"))
        .await
        .problem(404);
    rival
        .post(&format!("/v1/inbox/{gil_id}/notes"), json!({"text": "x"}))
        .await
        .problem(404);
    let bulk = rival
        .post(
            "/v1/inbox/bulk",
            json!({"ids": [gil_id], "state": "ignored"}),
        )
        .await;
    assert_eq!(bulk.status.as_u16(), 200, "{}", bulk.body);
    assert!(bulk.body["items"][0]["interaction"].is_null());
    assert_eq!(
        rival.get("/v1/inbox/counts").await.body["new"],
        0,
        "another brand's counts are its own"
    );

    // managers change many at once; editors may not
    let m = desk.manager();
    editor
        .post(
            "/v1/inbox/bulk",
            json!({"ids": [gil_id], "state": "ignored"}),
        )
        .await
        .problem(403);
    let r = m
        .post(
            "/v1/inbox/bulk",
            json!({"ids": [gil_id, fay_id], "assignee": "ada@acme", "state": "resolved"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["items"][0]["interaction"]["state"], "resolved");
    assert_eq!(r.body["items"][1]["interaction"]["assignee"], "ada@acme");
    let counts = m.get("/v1/inbox/counts").await;
    assert_eq!(counts.body["resolved"], 2, "{}", counts.body);
    assert_eq!(counts.body["new"], 0);

    // deleting a saved reply needs the version read
    let path = format!("/v1/saved-replies/{saved_id}");
    editor.delete(&path, None).await.problem(428);
    let r = editor.delete(&path, Some(&saved.etag())).await;
    assert_eq!(r.status.as_u16(), 204);
}
