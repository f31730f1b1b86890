//! The inbox's "done when" for the other six networks, on one `palinsesto` binary pointed at
//! their fakes (tests/inbox.rs has Mastodon and Bluesky). On Facebook, Instagram, Threads,
//! LinkedIn and X what a person writes reaches the inbox once by polling, on Telegram once by
//! verified deliveries to the channel's own hook (its webhook is set once the binary has a public
//! address, and Telegram then keeps no updates for `getUpdates`); each is answered once through
//! the API, the network seeing exactly one answer. On Facebook also: a signed delivery to
//! `/hooks/meta` brings a comment the poll cannot see, and a replayed one meets the poll's record;
//! a hidden comment is hidden on the page and `hidden` in the inbox; an erased person stays erased
//! (their old comment delivered again and their new one are dropped, another person's arrive).
//!
//! The binary is configured as documented: the network API bases from the environment
//! (`FACEBOOK_GRAPH_BASE`, ...), the Meta app whose secret signs the deliveries from the data
//! folder's `oauth-apps.json`, `META_VERIFY_TOKEN`, and `PUBLIC_BASE_URL` (without a public
//! address no webhook subscription is made, so no delivery would find its channel).

mod support;

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use palinsesto_system_tests::fakes::Faults;
use palinsesto_system_tests::fakes::facebook::FakeFacebook;
use palinsesto_system_tests::fakes::instagram::FakeInstagram;
use palinsesto_system_tests::fakes::linkedin::FakeLinkedin;
use palinsesto_system_tests::fakes::meta_inbox::{Delivery, Person};
use palinsesto_system_tests::fakes::telegram::{DISCUSSION_GROUP_ID, FakeTelegram, PUBLIC_CHANNEL};
use palinsesto_system_tests::fakes::threads::FakeThreads;
use palinsesto_system_tests::fakes::x::FakeX;
use reqwest::Method;
use serde_json::{Value, json};
use support::{free_port, serve_with_env, token_for};

const META_SECRET: &str = "meta-app-secret";
const VERIFY_TOKEN: &str = "the-verify-token";
/// How long anything the binary does in the background may take to show.
const PATIENCE: Duration = Duration::from_secs(60);

/// The six fakes, each on its own loopback port.
struct Fakes {
    facebook: FakeFacebook,
    instagram: FakeInstagram,
    threads: FakeThreads,
    linkedin: FakeLinkedin,
    x: FakeX,
    telegram: FakeTelegram,
}

impl Fakes {
    async fn start() -> Self {
        Self {
            facebook: FakeFacebook::start().await,
            instagram: FakeInstagram::start().await,
            threads: FakeThreads::start().await,
            linkedin: FakeLinkedin::start().await,
            x: FakeX::start().await,
            telegram: FakeTelegram::start().await,
        }
    }
}

/// The running binary, stopped when the test ends, also when it fails.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `palinsesto serve` on `data`, polling and sending every second, its networks the fakes, with
/// the Meta app (from `oauth-apps.json`), verify token and public address the webhooks need.
fn serve(data: &Path, port: u16, fakes: &Fakes) -> Running {
    std::fs::create_dir_all(data).unwrap();
    let apps = json!({"facebook": {"client_id": "fb-app", "client_secret": META_SECRET}});
    std::fs::write(data.join("oauth-apps.json"), apps.to_string()).unwrap();
    let public = format!("http://127.0.0.1:{port}");
    let (facebook, instagram, threads) = (
        fakes.facebook.base(),
        fakes.instagram.base(),
        fakes.threads.base(),
    );
    let (child, _) = serve_with_env(
        data,
        port,
        &[
            "--allow-private-networks",
            "--tick",
            "1",
            "--inbox-every",
            "1",
        ],
        &[
            ("FACEBOOK_GRAPH_BASE", &facebook),
            ("INSTAGRAM_GRAPH_BASE", &instagram),
            ("THREADS_API_BASE", &threads),
            ("LINKEDIN_API_BASE", fakes.linkedin.base()),
            ("X_API_BASE", fakes.x.base()),
            ("TELEGRAM_API_BASE", fakes.telegram.base()),
            ("META_VERIFY_TOKEN", VERIFY_TOKEN),
            ("PUBLIC_BASE_URL", &public),
        ],
    );
    Running(child)
}

/// Waits (up to a minute) until `done` holds; `what` says what never happened.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "{what} never happened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the binary read the edge `part` of `faults`' network at least `n` more times:
/// that many polls after this call.
async fn polls(faults: &Faults, method: Method, part: &str, n: usize) {
    let before = faults.requests_to(&method, part);
    eventually(&format!("{n} more reads of {part}"), || {
        faults.requests_to(&method, part) >= before + n
    })
    .await;
}

struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value, String) {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            r = r.json(&body);
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        let etag = r
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
            etag,
        )
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body, _) = self.call(Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Waits (up to a minute) until `done` accepts `GET path`, and returns that answer.
    async fn until(&self, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let body = self.get(path).await;
            if done(&body) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "GET {path} never got there: {body}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// A channel with its settings and credentials; its id.
    async fn channel(&self, network: &str, settings: Value, credentials: Value) -> String {
        let (status, body, _) = self
            .call(
                Method::POST,
                "/v1/channels",
                Some(json!({"network": network, "name": network, "handle": "@acme", "settings": settings})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();
        let (status, body, _) = self
            .call(
                Method::PUT,
                &format!("/v1/channels/{id}/credentials"),
                Some(credentials),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        id
    }

    /// Publishes `text` on `channel` now; the post's id on the network.
    async fn publish(&self, channel: &str, text: &str) -> String {
        let (status, post, etag) = self
            .call(
                Method::POST,
                "/v1/posts",
                Some(json!({"text": text, "channels": [channel]})),
            )
            .await;
        assert_eq!(status, 201, "{post}");
        let id = post["id"].as_str().unwrap().to_owned();
        let r = self
            .http
            .post(format!("{}/v1/posts/{id}/publish-now", self.base))
            .bearer_auth(&self.token)
            .header("if-match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
        let post = self
            .until(&format!("/v1/posts/{id}"), |p| {
                p["status"] == "published" || p["status"] == "failed"
            })
            .await;
        assert_eq!(post["status"], "published", "{post}");
        post["targets"][0]["remote_id"].as_str().unwrap().to_owned()
    }

    /// The channel's interactions with `external_id`.
    async fn records_of(&self, channel: &str, external_id: &str) -> Vec<Value> {
        let page = self
            .get(&format!("/v1/inbox?channel={channel}&limit=100"))
            .await;
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["external_id"] == external_id)
            .cloned()
            .collect()
    }

    /// Waits until `external_id` is in the channel's inbox; the interaction.
    async fn arrived(&self, channel: &str, external_id: &str) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(found) = self.records_of(channel, external_id).await.pop() {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "{external_id} never reached the inbox"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Checks `external_id` is in the channel's inbox exactly once; the interaction.
    async fn once(&self, channel: &str, external_id: &str) -> Value {
        let mut found = self.records_of(channel, external_id).await;
        assert_eq!(found.len(), 1, "{external_id} once: {found:?}");
        found.pop().unwrap()
    }

    /// Asks for `text` as the answer to the interaction `item` and waits until it is sent.
    async fn answer(&self, item: &Value, text: &str) {
        let id = item["id"].as_str().unwrap();
        let (status, body, _) = self
            .call(
                Method::POST,
                &format!("/v1/inbox/{id}/reply"),
                Some(json!({ "text": text })),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        let shown = self
            .until(&format!("/v1/inbox/{id}"), |i| {
                i["replies"][0]["state"] == "sent" || i["replies"][0]["state"] == "failed"
            })
            .await;
        assert_eq!(shown["replies"][0]["state"], "sent", "{shown}");
        assert_eq!(shown["state"], "replied", "{shown}");
    }
}

/// Delivers `hook` to the binary's `/hooks/meta` as Meta does; its status.
async fn deliver(api: &Api, hook: &Delivery) -> u16 {
    api.http
        .post(format!("{}/hooks/meta", api.base))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", &hook.signature)
        .body(hook.body.clone())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A comment written on the fake page `ago` before now (`ZERO`: now). The page's clock stays at
/// now afterwards.
fn comment_at(
    fb: &FakeFacebook,
    ago: SignedDuration,
    person: &Person,
    on: &str,
    text: &str,
) -> String {
    fb.set_now(Timestamp::now() - ago);
    let id = fb.comment_as(person, on, text);
    fb.set_now(Timestamp::now());
    id
}

/// Facebook: polling and webhooks meeting in one record, an answer, a hide, an erasure.
async fn facebook(api: &Api, fb: &FakeFacebook) {
    let channel = api
        .channel("facebook", fb.settings(), fb.credentials())
        .await;
    // the connection worker subscribes the page to the app's webhooks
    eventually("the page's webhook subscription", || {
        !fb.subscribed_apps().is_empty()
    })
    .await;
    let post = api.publish(&channel, "Our spring menu").await;
    let comments = format!("/{post}/comments");
    let faults = &fb.server.faults;
    let (ada, bob, cleo) = (
        Person::new("7001", "Ada"),
        Person::new("7002", "Bob"),
        Person::new("7003", "Cleo"),
    );

    // Ada's comment arrives by polling, once; its webhook replayed meets the same record
    let from_ada = comment_at(fb, SignedDuration::ZERO, &ada, &post, "Vegan options?");
    let item = api.arrived(&channel, &from_ada).await;
    assert_eq!(item["kind"], "comment", "{item}");
    assert_eq!(
        deliver(api, &fb.comment_webhook(&from_ada, META_SECRET)).await,
        200
    );
    // Bob's, written before the poll's watermark, only a webhook brings; Meta sends again
    // until it is taken (the first may come before the page's subscription is written down)
    let from_bob = comment_at(
        fb,
        SignedDuration::from_mins(10),
        &bob,
        &post,
        "Spam spam spam",
    );
    let bob_hook = fb.comment_webhook(&from_bob, META_SECRET);
    let deadline = Instant::now() + PATIENCE;
    while api.records_of(&channel, &from_bob).await.is_empty() {
        assert!(Instant::now() < deadline, "the webhook was never taken in");
        assert_eq!(deliver(api, &bob_hook).await, 200);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    polls(faults, Method::GET, &comments, 2).await;
    let item = api.once(&channel, &from_ada).await;
    api.once(&channel, &from_bob).await;

    // the brand answers Ada once
    api.answer(&item, "Yes, three of them").await;
    polls(faults, Method::GET, &comments, 2).await;
    let replies = fb.page_replies_to(&from_ada);
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].message, "Yes, three of them");

    // a manager hides Bob's comment: hidden on the page, `hidden` in the inbox
    let bob_item = api.once(&channel, &from_bob).await;
    let bob_id = bob_item["id"].as_str().unwrap();
    let (status, body, _) = api
        .call(
            Method::POST,
            &format!("/v1/inbox/{bob_id}/moderation"),
            Some(json!({"action": "hide"})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    eventually("the hide on the page", || {
        fb.comment(&from_bob).is_some_and(|c| c.hidden)
    })
    .await;
    let shown = api
        .until(&format!("/v1/inbox/{bob_id}"), |i| i["state"] == "hidden")
        .await;
    assert_eq!(shown["moderations"][0]["state"], "done", "{shown}");

    // Ada is erased; her answered comment comes again, and she writes anew: neither is kept,
    // while Cleo's new comments (one polled, one that only a webhook brings) are
    let person = item["person_id"].as_str().unwrap();
    let (status, body, _) = api
        .call(Method::DELETE, &format!("/v1/people/{person}"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(api.records_of(&channel, &from_ada).await.is_empty());
    assert_eq!(
        deliver(api, &fb.comment_webhook(&from_ada, META_SECRET)).await,
        200
    );
    let again = comment_at(fb, SignedDuration::ZERO, &ada, &post, "Hello again");
    assert_eq!(
        deliver(api, &fb.comment_webhook(&again, META_SECRET)).await,
        200
    );
    let polled = comment_at(fb, SignedDuration::ZERO, &cleo, &post, "Lovely");
    let pushed = comment_at(fb, SignedDuration::from_mins(5), &cleo, &post, "And cheap");
    // queued after Ada's deliveries, so taken in with them or after them
    assert_eq!(
        deliver(api, &fb.comment_webhook(&pushed, META_SECRET)).await,
        200
    );
    api.arrived(&channel, &polled).await;
    api.arrived(&channel, &pushed).await;
    polls(faults, Method::GET, &comments, 2).await;
    api.once(&channel, &polled).await;
    api.once(&channel, &pushed).await;
    for gone in [&from_ada, &again] {
        assert!(
            api.records_of(&channel, gone).await.is_empty(),
            "{gone} came back"
        );
    }
    let (status, _, _) = api
        .call(Method::GET, &format!("/v1/people/{person}"), None)
        .await;
    assert_eq!(status, 404, "no record of Ada");
}

/// Instagram: a post needs a photo, which text-only publishing cannot make, so the account's
/// direct messages (which need no post) stand for its inbox, as in tests/inbox_meta.rs. Written
/// before the channel connects: with no recent post the channel is quiet, read once at first and
/// then every 15 minutes.
async fn instagram(api: &Api, ig: &FakeInstagram) {
    let mid = ig.message_from(&Person::new("9001", "Ada"), "Is it in stock?");
    let channel = api
        .channel("instagram", ig.settings(), ig.credentials(None))
        .await;
    let item = api.arrived(&channel, &mid).await;
    assert_eq!(item["kind"], "direct_message", "{item}");
    api.answer(&item, "Yes, every size").await;
    api.once(&channel, &mid).await;
    let sent = ig.messages_to("9001");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].text, "Yes, every size");
}

async fn threads(api: &Api, th: &FakeThreads) {
    let channel = api
        .channel("threads", th.settings(), th.credentials(None))
        .await;
    let post = api.publish(&channel, "Ask me anything").await;
    let reply = th.reply_as(&Person::new("3001", "Ada"), &post, "What's next?");
    let conversation = format!("/{post}/conversation");
    let item = api.arrived(&channel, &reply).await;
    assert_eq!(item["kind"], "reply", "{item}");
    polls(&th.server.faults, Method::GET, &conversation, 2).await;
    api.once(&channel, &reply).await;
    api.answer(&item, "A new season").await;
    polls(&th.server.faults, Method::GET, &conversation, 2).await;
    let made = th.account_replies_to(&reply);
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(made[0].text, "A new season");
}

async fn linkedin(api: &Api, li: &FakeLinkedin) {
    let channel = api
        .channel("linkedin", li.settings(), li.credentials())
        .await;
    let post = api.publish(&channel, "Our spring collection").await;
    let comment = li.comment_as("urn:li:person:ada1", &post, None, "Is it on sale in Milan?");
    // the inbox knows a comment by its own id, the URN's last part
    let id = comment
        .trim_end_matches(')')
        .rsplit(',')
        .next()
        .unwrap()
        .to_owned();
    let item = api.arrived(&channel, &id).await;
    assert_eq!(item["kind"], "comment", "{item}");
    polls(&li.server.faults, Method::GET, "/socialActions/", 2).await;
    api.once(&channel, &id).await;
    api.answer(&item, "Yes, in via Torino").await;
    polls(&li.server.faults, Method::GET, "/socialActions/", 2).await;
    let replies = li.page_replies_to(&comment);
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].text, "Yes, in via Torino");
}

async fn x(api: &Api, x: &FakeX) {
    let channel = api
        .channel("x", json!({"read_inbox": true}), x.credentials())
        .await;
    let post = api.publish(&channel, "Our new blend is out").await;
    x.add_user("11", "ada", "Ada", 120);
    x.add_user("12", "bob", "Bob", 7);
    let mention = x.post_as("11", "@acme is the shop open on Sunday?", None, None);
    // a reply naming the brand: in the mentions and in the post's conversation, one record
    let reply = x.post_as("12", "@acme where can I buy it?", Some(&post), None);
    let item = api.arrived(&channel, &mention).await;
    assert_eq!(item["kind"], "mention", "{item}");
    assert_eq!(api.arrived(&channel, &reply).await["kind"], "reply");
    polls(&x.server.faults, Method::GET, "/mentions", 2).await;
    api.once(&channel, &mention).await;
    api.once(&channel, &reply).await;
    api.answer(&item, "Yes, 10 to 13").await;
    polls(&x.server.faults, Method::GET, "/mentions", 2).await;
    let replies = x.replies_to(&mention);
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].text, "Yes, 10 to 13");
}

/// Delivers the fake's webhook update for the message `key` to the hook the bot was given, with
/// its secret token; the status.
async fn deliver_update(api: &Api, tg: &FakeTelegram, key: &str) -> u16 {
    let (url, _) = tg.webhook().expect("the bot's webhook is set");
    let (body, secret) = tg.webhook_delivery(key);
    let (name, value) = secret.expect("the webhook has a secret token");
    api.http
        .post(url)
        .header("content-type", "application/json")
        .header(name, value)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Telegram: with a public address the connection worker sets the bot's webhook (the channel's
/// own `/hooks/telegram/{hook id}` and secret token), and Telegram then gives no updates to
/// `getUpdates`: comments come by verified deliveries, replayed ones meeting the same record.
async fn telegram(api: &Api, tg: &FakeTelegram) {
    let channel = api
        .channel(
            "telegram",
            FakeTelegram::settings(PUBLIC_CHANNEL),
            FakeTelegram::credentials(),
        )
        .await;
    eventually("the bot's webhook", || tg.webhook().is_some()).await;
    let (url, _) = tg.webhook().unwrap();
    assert!(
        url.starts_with(&format!("{}/hooks/telegram/", api.base)),
        "{url}"
    );
    let post: i64 = api
        .publish(&channel, "Il menu di primavera")
        .await
        .parse()
        .unwrap();
    tg.add_person(4_200_001, "Ada", "ada");
    tg.add_person(4_200_002, "Bruno", "bruno");
    let comment = tg.comment(4_200_001, post, "Ci sono piatti vegani?");
    assert_eq!(deliver_update(api, tg, &comment).await, 200);
    let item = api.arrived(&channel, &comment).await;
    assert_eq!(item["kind"], "comment", "{item}");
    // delivered again; a later delivery taken in shows the replay was taken in too
    assert_eq!(deliver_update(api, tg, &comment).await, 200);
    let later = tg.comment(4_200_002, post, "Anche senza glutine?");
    assert_eq!(deliver_update(api, tg, &later).await, 200);
    api.arrived(&channel, &later).await;
    api.once(&channel, &comment).await;
    api.answer(&item, "Sì, tre").await;
    let comment_id: i64 = comment.split(':').nth(1).unwrap().parse().unwrap();
    let replies = tg.bot_replies_to(DISCUSSION_GROUP_ID, comment_id);
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].text.as_deref(), Some("Sì, tre"));
    // the bot's own answer comes as an update too: still one answer, and no new interaction
    let answer = format!("{DISCUSSION_GROUP_ID}:{}", replies[0].message_id);
    assert_eq!(deliver_update(api, tg, &answer).await, 200);
    let last = tg.comment(4_200_002, post, "Grazie!");
    assert_eq!(deliver_update(api, tg, &last).await, 200);
    api.arrived(&channel, &last).await;
    assert!(api.records_of(&channel, &answer).await.is_empty());
    assert_eq!(tg.bot_replies_to(DISCUSSION_GROUP_ID, comment_id).len(), 1);
    api.once(&channel, &comment).await;
}

#[tokio::test]
async fn each_network_s_comment_arrives_once_and_is_answered_once_on_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("var");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let fakes = Fakes::start().await;
    let _server = serve(&data, port, &fakes);
    let api = Api {
        base: base.clone(),
        token: token_for(&data, "acme"),
        http: palinsesto::outbound::plain_client(Duration::from_secs(30)).unwrap(),
    };
    let (status, body, _) = api
        .call(
            Method::PUT,
            "/v1/brand",
            Some(json!({"name": "Acme", "time_zone": "Europe/Rome", "approval_required": false})),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // Meta's subscribe handshake holds with the configured verify token
    let challenge = api
        .http
        .get(format!(
            "{base}/hooks/meta?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(challenge.status().as_u16(), 200);
    assert_eq!(challenge.text().await.unwrap(), "1158201444");

    facebook(&api, &fakes.facebook).await;
    instagram(&api, &fakes.instagram).await;
    threads(&api, &fakes.threads).await;
    linkedin(&api, &fakes.linkedin).await;
    x(&api, &fakes.x).await;
    telegram(&api, &fakes.telegram).await;
}
