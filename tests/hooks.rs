//! Inbound webhooks on the local runner: each network's proof checked on the raw body before
//! anything is kept (Meta's signature and handshake, X's CRC, LinkedIn's challenge, Telegram's
//! per-channel hook and secret token), a delivery taken in by the inbox worker once (replays and
//! the poller meet in the inbox's dedupe), accounts nobody connected answered 200 and dropped,
//! one account on two brands' channels reaching both, bodies over 1 MiB refused with 413, and
//! subscriptions made when a channel connects and undone when it disconnects. Then the store's
//! hook items on both adapters, and the hook function's rights in the template.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::post;
use base64::Engine;
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use palinsesto::clock::Clock;
use palinsesto::domain::{BrandId, ChannelId, Network, Secret};
use palinsesto::networks::connect::OAuthApps;
use palinsesto::networks::{NetworkEndpoints, Pushed};
use palinsesto::services::hooks::HookSettings;
use palinsesto::store::hooks::{AccountChannel, QueuedDelivery, TelegramHook, secret_hash};
use palinsesto::store::{ItemStore, Store};
use palinsesto_system_tests::desk::{Desk, target};
use palinsesto_system_tests::fakes::facebook::FakeFacebook;
use palinsesto_system_tests::fakes::meta_inbox::{Person, signature};
use serde_json::{Value, json};
use sha2::Sha256;

const META_SECRET: &str = "meta-app-secret";
const VERIFY_TOKEN: &str = "the-verify-token";
const X_SECRET: &str = "x-consumer-secret";
const LINKEDIN_SECRET: &str = "linkedin-client-secret";

fn apps() -> OAuthApps {
    OAuthApps::from_pairs([
        ("facebook/client_id", "fb-app"),
        ("facebook/client_secret", META_SECRET),
        ("x_consumer/client_id", "x-key"),
        ("x_consumer/client_secret", X_SECRET),
        ("linkedin/client_id", "li-app"),
        ("linkedin/client_secret", LINKEDIN_SECRET),
    ])
}

async fn desk(endpoints: NetworkEndpoints) -> Desk {
    Desk::start_adjusted(endpoints, apps(), |options| {
        palinsesto::local::LocalOptions {
            hooks: HookSettings {
                meta_verify_token: Some(Secret::new(VERIFY_TOKEN)),
                ..HookSettings::default()
            },
            ..options
        }
    })
    .await
}

fn http() -> reqwest::Client {
    palinsesto_system_tests::http_client()
}

/// Posts `body` to `path` with `headers`; the status and the body.
async fn deliver(desk: &Desk, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> (u16, Value) {
    let mut request = http()
        .post(format!("{}{path}", desk.app.base))
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    if status >= 400 {
        assert_eq!(
            content_type.as_deref(),
            Some("application/problem+json"),
            "{status}: {text}"
        );
    }
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn get(desk: &Desk, path: &str) -> (u16, String) {
    let response = http()
        .get(format!("{}{path}", desk.app.base))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn inbox(desk: &Desk, brand: &str) -> Vec<Value> {
    let r = desk.app.client(brand, "manager").get("/v1/inbox").await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

/// A desk with a Facebook channel on the fake page, subscribed (the connection worker's tick),
/// and one published post: the fake, the channel and the post's id on the page.
async fn facebook_desk() -> (Desk, FakeFacebook, String, String) {
    let fake = FakeFacebook::start().await;
    let desk = desk(NetworkEndpoints {
        facebook: fake.base(),
        ..NetworkEndpoints::default()
    })
    .await;
    let channel = desk
        .channel("facebook", fake.settings(), fake.credentials())
        .await;
    let report = desk.app.runtime.connection_worker().tick().await.unwrap();
    assert_eq!(report.subscribed, 1, "{report:?}");
    assert_eq!(fake.subscribed_apps(), ["feed,mention,messages"]);
    let at = (desk.app.clock.now() + SignedDuration::from_mins(1)).to_string();
    let post = desk
        .scheduled("Our new blend is out", &[&channel], &at)
        .await;
    desk.set_time(&at);
    let settled = desk.tick_and_settle(&post).await;
    let published = target(&settled, &channel);
    assert_eq!(published["state"], "published", "{settled}");
    let remote = published["remote_id"].as_str().unwrap().to_owned();
    (desk, fake, channel, remote)
}

fn ada() -> Person {
    Person::new("9001", "Ada Byron")
}

async fn take_pushed(desk: &Desk) -> usize {
    desk.app
        .runtime
        .inbox_worker()
        .take_pushed()
        .await
        .unwrap()
        .recorded
}

#[tokio::test]
async fn meta_s_handshake_answers_the_challenge_only_with_the_deployment_s_token() {
    let desk = desk(NetworkEndpoints::default()).await;
    let (status, body) = get(
        &desk,
        &format!("/hooks/meta?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "1158201444"));
    let (status, body) = get(
        &desk,
        "/hooks/meta?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444",
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(!body.contains("1158201444"), "{body}");
}

#[tokio::test]
async fn a_signed_comment_is_recorded_once_by_the_worker_and_answered() {
    let (desk, fake, _channel, post) = facebook_desk().await;
    let comment = fake.comment_as(&ada(), &post, "Love it!");
    let hook = fake.comment_webhook(&comment, META_SECRET);

    let (status, body) = deliver(
        &desk,
        "/hooks/meta",
        &[("x-hub-signature-256", &hook.signature)],
        hook.body.clone(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Nothing is recorded by the route itself: the worker takes it in.
    assert!(inbox(&desk, "acme").await.is_empty());
    assert_eq!(take_pushed(&desk).await, 1);
    let items = inbox(&desk, "acme").await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["external_id"], comment.as_str());
    assert_eq!(items[0]["text"], "Love it!");
    // The queue is empty once taken in.
    assert_eq!(take_pushed(&desk).await, 0);

    // And the brand answers it through the worker.
    let id = items[0]["id"].as_str().unwrap();
    let r = desk
        .manager()
        .post(
            &format!("/v1/inbox/{id}/reply"),
            json!({"text": "Thank you, Ada!"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let sent = desk
        .app
        .runtime
        .inbox_worker()
        .send_replies()
        .await
        .unwrap();
    assert_eq!(sent.replies_sent, 1, "{sent:?}");
    assert_eq!(fake.page_replies_to(&comment).len(), 1);
}

#[tokio::test]
async fn a_bad_signature_is_refused_and_nothing_is_kept() {
    let (desk, fake, _channel, post) = facebook_desk().await;
    let comment = fake.comment_as(&ada(), &post, "Love it!");
    let hook = fake.comment_webhook(&comment, "someone-else's-secret");
    for headers in [
        vec![("x-hub-signature-256", hook.signature.as_str())],
        vec![("x-hub-signature-256", "sha256=nothex")],
        vec![],
    ] {
        let (status, body) = deliver(&desk, "/hooks/meta", &headers, hook.body.clone()).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["status"], 401);
    }
    assert_eq!(take_pushed(&desk).await, 0);
    assert!(inbox(&desk, "acme").await.is_empty());
}

#[tokio::test]
async fn a_replayed_delivery_and_the_poll_of_the_same_comment_make_one_record() {
    let (desk, fake, _channel, post) = facebook_desk().await;
    let comment = fake.comment_as(&ada(), &post, "Love it!");
    let hook = fake.comment_webhook(&comment, META_SECRET);
    for _ in 0..2 {
        let (status, body) = deliver(
            &desk,
            "/hooks/meta",
            &[("x-hub-signature-256", &hook.signature)],
            hook.body.clone(),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    // Both queued copies are taken in; the second finds the record there.
    assert_eq!(take_pushed(&desk).await, 1);
    // The poller reads the same comment under the post, and one no webhook brought.
    let polled_only = fake.comment_as(&ada(), &post, "And in blue?");
    desk.advance(SignedDuration::from_mins(20));
    let polled = desk.app.runtime.inbox_worker().poll().await.unwrap();
    assert_eq!(polled.failed_polls, 0, "{polled:?}");
    assert_eq!(polled.recorded, 1, "{polled:?}");
    let items = inbox(&desk, "acme").await;
    assert_eq!(items.len(), 2, "{items:?}");
    for id in [&comment, &polled_only] {
        assert_eq!(
            items
                .iter()
                .filter(|i| i["external_id"] == id.as_str())
                .count(),
            1
        );
    }
}

#[tokio::test]
async fn an_account_nobody_connected_is_answered_200_and_dropped() {
    let (desk, fake, _channel, post) = facebook_desk().await;
    let comment = fake.comment_as(&ada(), &post, "Love it!");
    let hook = fake.comment_webhook(&comment, META_SECRET);
    // The same delivery for another page, signed as Meta signs it.
    let body = String::from_utf8(hook.body)
        .unwrap()
        .replace(&fake.page_id, "555000000000009")
        .into_bytes();
    let signed = signature(META_SECRET, &body);
    let (status, answer) = deliver(
        &desk,
        "/hooks/meta",
        &[("x-hub-signature-256", &signed)],
        body,
    )
    .await;
    assert_eq!((status, answer), (200, Value::Null));
    assert_eq!(take_pushed(&desk).await, 0);
    assert!(inbox(&desk, "acme").await.is_empty());
}

#[tokio::test]
async fn one_page_on_two_brands_channels_reaches_both() {
    let (desk, fake, _channel, post) = facebook_desk().await;
    desk.app.brand("beta", "Europe/Rome", false).await;
    let beta = desk.app.client("beta", "manager");
    let r = beta
        .post("/v1/channels", json!({"network": "facebook", "name": "Agency", "handle": "@page", "settings": fake.settings()}))
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let r = beta
        .put(
            &format!("/v1/channels/{id}/credentials"),
            fake.credentials(),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    let report = desk.app.runtime.connection_worker().tick().await.unwrap();
    assert_eq!(report.subscribed, 1, "{report:?}");

    let comment = fake.comment_as(&ada(), &post, "Where can I buy it?");
    let hook = fake.comment_webhook(&comment, META_SECRET);
    let (status, _) = deliver(
        &desk,
        "/hooks/meta",
        &[("x-hub-signature-256", &hook.signature)],
        hook.body,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(take_pushed(&desk).await, 2);
    for brand in ["acme", "beta"] {
        let items = inbox(&desk, brand).await;
        assert_eq!(items.len(), 1, "{brand}: {items:?}");
        assert_eq!(items[0]["external_id"], comment.as_str());
    }
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_refused_with_413() {
    let desk = desk(NetworkEndpoints::default()).await;
    let big = vec![b' '; 1024 * 1024 + 1];
    let signed = signature(META_SECRET, &big);
    let (status, body) = deliver(
        &desk,
        "/hooks/meta",
        &[("x-hub-signature-256", &signed)],
        big,
    )
    .await;
    assert_eq!(status, 413, "{body}");
    // Just under the limit is read (and refused as not Meta's shape, after its signature holds).
    let json = format!(
        "{{\"object\":\"page\",\"entry\":[],\"pad\":\"{}\"}}",
        " ".repeat(1024 * 1000)
    );
    let signed = signature(META_SECRET, json.as_bytes());
    let (status, body) = deliver(
        &desk,
        "/hooks/meta",
        &[("x-hub-signature-256", &signed)],
        json.into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

fn hmac(key: &str, message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn x_s_crc_and_linkedin_s_challenge_are_answered_with_the_app_secrets() {
    let desk = desk(NetworkEndpoints::default()).await;
    let (status, body) = get(&desk, "/hooks/x?crc_token=challenge-123").await;
    assert_eq!(status, 200, "{body}");
    let expected = format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD.encode(hmac(X_SECRET, b"challenge-123"))
    );
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body, json!({"response_token": expected}));

    let code = "890e4665-4dfe-4ab1-b689-ed553bceeed0";
    let (status, body) = get(&desk, &format!("/hooks/linkedin?challengeCode={code}")).await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body,
        json!({"challengeCode": code, "challengeResponse": hex(&hmac(LINKEDIN_SECRET, code.as_bytes()))})
    );

    // Deliveries: X's base64 signature, LinkedIn's hex of "hmacsha256=" + body; an account
    // nobody connected is dropped either way, a wrong signature refused.
    let x_body = br#"{"for_user_id":"2244994945","tweet_create_events":[]}"#.to_vec();
    let x_signature = format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD.encode(hmac(X_SECRET, &x_body))
    );
    let (status, body) = deliver(
        &desk,
        "/hooks/x",
        &[("x-twitter-webhooks-signature", &x_signature)],
        x_body.clone(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = deliver(
        &desk,
        "/hooks/x",
        &[("x-twitter-webhooks-signature", "sha256=AAAA")],
        x_body,
    )
    .await;
    assert_eq!(status, 401);
    let li_body = br#"{"type":"ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS"}"#.to_vec();
    let mut prefixed = b"hmacsha256=".to_vec();
    prefixed.extend(&li_body);
    let li_signature = hex(&hmac(LINKEDIN_SECRET, &prefixed));
    let (status, _) = deliver(
        &desk,
        "/hooks/linkedin",
        &[("x-li-signature", &hex(&hmac("wrong", &prefixed)))],
        li_body.clone(),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = deliver(
        &desk,
        "/hooks/linkedin",
        &[("x-li-signature", &li_signature)],
        li_body,
    )
    .await;
    assert_ne!(status, 401, "the signature holds");
    assert_eq!(take_pushed(&desk).await, 0);
}

// ---- Telegram: a hook per channel ----

const BOT_TOKEN: &str = "7000000001:AAtestbottoken";
const CHAT: &str = "@acme_channel";

/// A small Bot API that records the webhook calls: getMe and getChatMember for the credentials
/// check, setWebhook, deleteWebhook, getUpdates.
#[derive(Default)]
struct Bot {
    calls: Vec<(String, Value)>,
}

async fn bot_api(
    State(bot): State<Arc<Mutex<Bot>>>,
    Path((token, method)): Path<(String, String)>,
    body: Bytes,
) -> axum::response::Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if token != format!("bot{BOT_TOKEN}") {
        return axum::Json(json!({"ok": false, "error_code": 401, "description": "Unauthorized"}))
            .into_response();
    }
    bot.lock().unwrap().calls.push((method.clone(), body));
    let result = match method.as_str() {
        "getMe" => json!({"id": 7_000_000_001_i64, "is_bot": true, "username": "acme_bot"}),
        "getChatMember" => json!({"status": "administrator"}),
        "setWebhook" | "deleteWebhook" => json!(true),
        "getUpdates" => json!([]),
        _ => {
            return axum::Json(json!({"ok": false, "error_code": 404, "description": "Not Found"}))
                .into_response();
        }
    };
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

async fn start_bot() -> (String, Arc<Mutex<Bot>>) {
    let bot = Arc::new(Mutex::new(Bot::default()));
    let router = Router::new()
        .route("/{token}/{method}", post(bot_api))
        .with_state(bot.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, bot)
}

fn calls(bot: &Arc<Mutex<Bot>>, method: &str) -> Vec<Value> {
    bot.lock()
        .unwrap()
        .calls
        .iter()
        .filter(|(m, _)| m == method)
        .map(|(_, b)| b.clone())
        .collect()
}

fn private_message(update: i64, text: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "update_id": update,
        "message": {
            "message_id": 40 + update,
            "date": 1_800_000_000,
            "chat": {"id": 4242, "type": "private", "first_name": "Ada"},
            "from": {"id": 4242, "is_bot": false, "first_name": "Ada", "username": "ada"},
            "text": text,
        }
    }))
    .unwrap()
}

#[tokio::test]
async fn a_telegram_channel_gets_its_own_hook_set_on_connect_and_removed_on_disconnect() {
    let (bot_base, bot) = start_bot().await;
    let desk = desk(NetworkEndpoints {
        telegram: bot_base,
        ..NetworkEndpoints::default()
    })
    .await;
    let channel = desk
        .channel(
            "telegram",
            json!({"chat_id": CHAT}),
            json!({"bot_token": BOT_TOKEN}),
        )
        .await;
    let report = desk.app.runtime.connection_worker().tick().await.unwrap();
    assert_eq!(report.subscribed, 1, "{report:?}");
    let set = calls(&bot, "setWebhook");
    assert_eq!(set.len(), 1, "{set:?}");
    let url = set[0]["url"].as_str().unwrap().to_owned();
    let secret = set[0]["secret_token"].as_str().unwrap().to_owned();
    let prefix = format!("{}/hooks/telegram/", desk.app.base);
    assert!(url.starts_with(&prefix), "{url}");
    assert!(secret.len() >= 32, "{secret}");
    let path = url.strip_prefix(&desk.app.base).unwrap().to_owned();
    let hook_id = path.strip_prefix("/hooks/telegram/").unwrap().to_owned();
    // Neither the hook id nor the secret is stored as it is.
    let r = desk.manager().get(&format!("/v1/channels/{channel}")).await;
    assert_eq!(r.body["settings"]["inbox_updates"], "webhook", "{}", r.body);
    assert!(!r.body.to_string().contains(&secret));
    let stored = desk.app.runtime.store();
    assert!(stored.telegram_hook(&hook_id).await.unwrap().is_none());
    assert!(
        stored
            .telegram_hook(&secret_hash(&hook_id))
            .await
            .unwrap()
            .is_some()
    );

    // The right secret: recorded once the worker takes it in.
    let (status, body) = deliver(
        &desk,
        &path,
        &[("x-telegram-bot-api-secret-token", &secret)],
        private_message(1, "hello"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // A wrong or missing secret: 401, nothing kept.
    for headers in [vec![("x-telegram-bot-api-secret-token", "guess")], vec![]] {
        let (status, body) = deliver(&desk, &path, &headers, private_message(2, "forged")).await;
        assert_eq!(status, 401, "{body}");
    }
    // A hook id nobody has: answered as a known one would be, nothing kept.
    let (status, _) = deliver(
        &desk,
        "/hooks/telegram/0123456789abcdef",
        &[("x-telegram-bot-api-secret-token", &secret)],
        private_message(3, "lost"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(take_pushed(&desk).await, 1);
    let items = inbox(&desk, "acme").await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["text"], "hello");

    // While the webhook is set, polling never asks for updates (Telegram would answer 409).
    desk.advance(SignedDuration::from_mins(30));
    desk.app.runtime.inbox_worker().poll().await.unwrap();
    assert!(calls(&bot, "getUpdates").is_empty());
    // A person editing the channel's settings cannot turn it off.
    let r = desk.manager().get(&format!("/v1/channels/{channel}")).await;
    let etag = r.etag();
    let r = desk
        .manager()
        .patch(
            &format!("/v1/channels/{channel}"),
            json!({"settings": {"chat_id": CHAT}}),
            Some(&etag),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["settings"]["inbox_updates"], "webhook", "{}", r.body);

    // Disconnecting: the hook stops at once, the webhook is deleted before the token is dropped.
    let r = desk.manager().get(&format!("/v1/channels/{channel}")).await;
    let r = desk
        .manager()
        .delete(
            &format!("/v1/channels/{channel}/connection"),
            Some(&r.etag()),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let (status, _) = deliver(
        &desk,
        &path,
        &[("x-telegram-bot-api-secret-token", &secret)],
        private_message(4, "after"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(take_pushed(&desk).await, 0);
    desk.app.runtime.connection_worker().tick().await.unwrap();
    assert_eq!(calls(&bot, "deleteWebhook").len(), 1);
    let r = desk.manager().get(&format!("/v1/channels/{channel}")).await;
    assert!(
        r.body["settings"].get("inbox_updates").is_none(),
        "{}",
        r.body
    );
    assert!(
        stored
            .get_subscription(
                &BrandId::parse("acme").unwrap(),
                &channel.parse::<ChannelId>().unwrap()
            )
            .await
            .unwrap()
            .is_none()
    );
}

// ---- the store's hook items, on both adapters ----

async fn hook_items_contract(items: Arc<dyn ItemStore>) {
    let store = Store::new(
        items,
        Arc::new(palinsesto::adapters::local_keyring::LocalKeyring::ephemeral()),
    );
    let acme = BrandId::parse("acme").unwrap();
    let beta = BrandId::parse("beta").unwrap();
    let (one, two) = (ChannelId::new(), ChannelId::new());
    // Lookups: one item per (brand, channel) under the account.
    let pairs = [
        AccountChannel {
            brand: acme.clone(),
            channel: one,
        },
        AccountChannel {
            brand: beta.clone(),
            channel: two,
        },
    ];
    let writes = pairs
        .iter()
        .map(|p| Store::account_channel_write(Network::Facebook, "104", p).unwrap())
        .collect();
    store.items().write(writes).await.unwrap();
    let mut found = store
        .account_channels(Network::Facebook, "104")
        .await
        .unwrap();
    found.sort_by_key(|p| p.brand.to_string());
    assert_eq!(found, pairs);
    assert!(
        store
            .account_channels(Network::Instagram, "104")
            .await
            .unwrap()
            .is_empty()
    );
    store
        .items()
        .write(vec![Store::account_channel_done(
            Network::Facebook,
            "104",
            &pairs[0],
        )])
        .await
        .unwrap();
    assert_eq!(
        store
            .account_channels(Network::Facebook, "104")
            .await
            .unwrap(),
        [pairs[1].clone()]
    );

    // Telegram hooks, by the hash of their id.
    let hook = TelegramHook {
        brand: acme.clone(),
        channel: one,
        secret_hash: secret_hash("s"),
    };
    store
        .items()
        .write(vec![
            Store::telegram_hook_write(&secret_hash("id"), &hook).unwrap(),
        ])
        .await
        .unwrap();
    assert_eq!(
        store.telegram_hook(&secret_hash("id")).await.unwrap(),
        Some(hook)
    );
    assert_eq!(
        store.telegram_hook(&secret_hash("other")).await.unwrap(),
        None
    );

    // The queue: due in time order per shard, put off with a version check, removed when done.
    let now: Timestamp = "2027-01-15T10:00:00Z".parse().unwrap();
    let pushed = |account: &str| Pushed {
        account: account.into(),
        to_fetch: vec!["17890".into()],
        ..Pushed::default()
    };
    let mut queued = Vec::new();
    for account in ["a", "b", "c"] {
        queued.extend(QueuedDelivery::split(
            Network::Instagram,
            pushed(account),
            None,
            now,
        ));
    }
    assert!(
        QueuedDelivery::split(Network::Instagram, Pushed::default(), None, now).is_empty(),
        "an empty push queues nothing"
    );
    store.queue_deliveries(&queued).await.unwrap();
    let due = |at: Timestamp| {
        let store = store.clone();
        async move {
            let mut all = Vec::new();
            for shard in 0..palinsesto::store::hooks::QUEUE_SHARDS {
                all.extend(store.due_deliveries_in(shard, at, 100).await.unwrap());
            }
            all
        }
    };
    assert_eq!(due(now).await.len(), 3);
    assert!(due(now - SignedDuration::from_secs(1)).await.is_empty());
    let first = due(now)
        .await
        .into_iter()
        .find(|d| d.account == "a")
        .unwrap();
    let mut later = first.clone();
    later.next_attempt_at = now + SignedDuration::from_mins(5);
    store.delivery_later(&later).await.unwrap();
    // Another worker's put-off of the same read loses (the very same write is a replay).
    store.delivery_later(&later).await.unwrap();
    let mut other = first.clone();
    other.next_attempt_at = now + SignedDuration::from_mins(9);
    assert!(matches!(
        store.delivery_later(&other).await,
        Err(palinsesto::store::StoreError::Conflict { .. })
    ));
    assert_eq!(due(now).await.len(), 2);
    let back = due(now + SignedDuration::from_mins(5)).await;
    let again = back.iter().find(|d| d.account == "a").unwrap();
    assert_eq!(again.attempts, 1);
    assert_eq!(again.to_fetch, ["17890"]);
    for d in back {
        store.delivery_done(&d).await.unwrap();
    }
    assert!(due(now + SignedDuration::from_hours(1)).await.is_empty());
}

#[tokio::test]
async fn hook_items_on_the_embedded_store() {
    hook_items_contract(palinsesto_system_tests::embedded::fresh_store().await).await;
}

#[tokio::test]
async fn hook_items_on_dynamodb() {
    hook_items_contract(palinsesto_system_tests::dynamodb::fresh_store().await).await;
}

// ---- the hook function's rights ----

#[test]
fn the_hook_function_opens_no_secret_and_reads_only_its_lookups() {
    let hooks = palinsesto_system_tests::template::functions()
        .into_iter()
        .find(|f| f.binary == "hooks")
        .expect("template.yaml deploys functions/hooks");
    for s in &hooks.statements {
        assert!(
            !(s.allow && s.covers_action("kms:Decrypt")),
            "{}: the hook function must not be able to open a credential",
            s.sid
        );
        if s.allow && s.actions.iter().any(|a| a.starts_with("dynamodb:")) {
            let keys = s.condition("ForAllValues:StringLike", "dynamodb:LeadingKeys");
            assert!(
                !keys.is_empty(),
                "{}: limit it to the hook's own keys",
                s.sid
            );
            for key in keys {
                assert!(
                    ["ACCT#*", "HOOK#*", "HQ#*"].contains(&key),
                    "{}: {key}",
                    s.sid
                );
            }
        }
    }
    assert!(!hooks.environment.iter().any(|v| v == "SECRETS_KEY_ID"));
}
