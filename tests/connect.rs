//! Connecting a Mastodon channel by OAuth on the local runner, as a browser follows the
//! redirects: the start link, the consent on the (fake) server's page, the callback, the
//! confirmation, then a post published with the token nobody handled. And the attacks: a state
//! brought back without the browser's cookie, replayed, tampered, expired or for another
//! network; a PKCE verifier that does not match; a confirmation by someone else, for another
//! brand, or onto another account.

use jiff::SignedDuration;
use palinsesto::clock::Clock;
use palinsesto::domain::{BrandId, ChannelId};
use palinsesto::networks::NetworkEndpoints;
use palinsesto_system_tests::browser::{self, answer, browser, callback, param};
use palinsesto_system_tests::desk::{Desk, target};
use palinsesto_system_tests::fakes::mastodon::{ACCOUNT_ID, FakeMastodon};
use serde_json::json;

struct World {
    desk: Desk,
    mastodon: FakeMastodon,
    channel: String,
}

async fn world() -> World {
    let desk = Desk::start(NetworkEndpoints::default()).await;
    let mastodon = FakeMastodon::start().await;
    let r = desk
        .manager()
        .post(
            "/v1/channels",
            json!({"network": "mastodon", "name": "Main", "handle": "@acme", "settings": mastodon.settings()}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let channel = r.body["id"].as_str().unwrap().to_owned();
    World {
        desk,
        mastodon,
        channel,
    }
}

/// A start link made and opened: the authorize URL the browser is sent to, and its cookie.
async fn open_start(w: &World, browser: &reqwest::Client) -> (String, String) {
    let r = w
        .desk
        .manager()
        .post(&format!("/v1/channels/{}/connect", w.channel), json!({}))
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let start = r.body["start_url"].as_str().unwrap().to_owned();
    assert!(
        start.starts_with(&w.desk.app.base),
        "on our own origin: {start}"
    );
    let (authorize, cookie) = browser::open_start(browser, &start).await;
    assert!(authorize.starts_with(w.mastodon.base()), "{authorize}");
    (authorize, cookie)
}

/// The browser's half of a flow up to the network's redirect back: the start link opened (its
/// cookie kept), consent given. Returns the callback URL and the cookie.
async fn consent(w: &World, browser: &reqwest::Client) -> (String, String) {
    let (authorize, cookie) = open_start(w, browser).await;
    (answer(browser, &authorize, "approve").await, cookie)
}

#[tokio::test]
async fn a_manager_connects_a_mastodon_channel_without_handling_a_token_and_it_publishes() {
    let w = world().await;
    let browser = browser();
    let (back, cookie) = consent(&w, &browser).await;
    assert!(back.contains("/oauth/callback/mastodon?"), "{back}");

    // the callback changes nothing on the channel yet
    let landed = callback(&browser, &back, Some(&cookie)).await;
    assert_eq!(
        param(&landed, "outcome").as_deref(),
        Some("pending"),
        "{landed}"
    );
    assert!(
        !landed.contains("code=") && !landed.contains("state="),
        "{landed}"
    );
    let connection = param(&landed, "connection").unwrap();
    let m = w.desk.manager();
    let channel = m.get(&format!("/v1/channels/{}", w.channel)).await;
    assert_eq!(channel.body["connected"], false, "{}", channel.body);

    // the frontend shows the account found and the person confirms it
    let pending = m
        .get(&format!("/v1/channels/{}/connect/{connection}", w.channel))
        .await;
    assert_eq!(pending.status.as_u16(), 200, "{}", pending.body);
    let account = &pending.body["accounts"][0];
    assert_eq!(account["account_id"], ACCOUNT_ID);
    let mut scopes: Vec<&str> = account["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    scopes.sort();
    assert_eq!(scopes, ["read", "write"], "what the brand's features use");
    assert!(
        !pending.body.to_string().contains("token"),
        "{}",
        pending.body
    );
    let path = format!("/v1/channels/{}/connect/confirm", w.channel);
    let body = json!({"connection": connection});
    let no_etag = m.request(reqwest::Method::POST, &path).json(&body);
    assert_eq!(m.send(no_etag).await.status.as_u16(), 428);
    let confirmed = m
        .send(
            m.request(reqwest::Method::POST, &path)
                .header("if-match", channel.etag())
                .json(&body),
        )
        .await;
    assert_eq!(confirmed.status.as_u16(), 200, "{}", confirmed.body);
    assert_eq!(confirmed.body["connected"], true);
    assert_eq!(confirmed.body["account"]["id"], ACCOUNT_ID);
    assert!(
        confirmed.body.get("scopes_missing").is_none(),
        "{}",
        confirmed.body
    );

    // the app was registered on the instance by Palinsesto, once
    assert_eq!(w.mastodon.apps().len(), 1);

    // and a post goes out through the channel
    let at = (w.desk.app.clock.now() + SignedDuration::from_mins(1)).to_string();
    let post = w
        .desk
        .scheduled("Connected by OAuth", &[&w.channel], &at)
        .await;
    w.desk.set_time(&at);
    let settled = w.desk.tick_and_settle(&post).await;
    assert_eq!(
        target(&settled, &w.channel)["state"],
        "published",
        "{settled}"
    );
    assert_eq!(w.mastodon.count_statuses_with_text("Connected by OAuth"), 1);

    // and the audit log says who connected which account
    let audit = m.get("/v1/audit?action=channel.connected").await;
    let entry = &audit.body["items"][0];
    assert_eq!(entry["actor"], "manager@acme");
    assert_eq!(entry["details"]["account_id"], ACCOUNT_ID);
    assert_eq!(entry["route"], "POST /v1/channels/{id}/connect/confirm");

    // credentials typed afterwards replace the connection: its account is no longer shown
    let typed = m
        .put(
            &format!("/v1/channels/{}/credentials", w.channel),
            w.mastodon.credentials(),
        )
        .await;
    assert_eq!(typed.status.as_u16(), 200, "{}", typed.body);
    assert!(typed.body.get("account").is_none(), "{}", typed.body);

    // a second flow reuses the app, and a start link works once
    let r = m
        .post(&format!("/v1/channels/{}/connect", w.channel), json!({}))
        .await;
    let start = r.body["start_url"].as_str().unwrap().to_owned();
    assert_eq!(browser.get(&start).send().await.unwrap().status(), 303);
    assert_eq!(browser.get(&start).send().await.unwrap().status(), 404);
    assert_eq!(w.mastodon.apps().len(), 1);
}

#[tokio::test]
async fn a_state_needs_its_browser_and_works_once_for_its_network_before_it_expires() {
    let w = world().await;
    let browser = browser();

    // without the cookie (another browser), refused, and the state is not spent
    let (back, cookie) = consent(&w, &browser).await;
    let landed = callback(&browser, &back, None).await;
    assert_eq!(param(&landed, "outcome").as_deref(), Some("wrong_browser"));
    let other_cookie = "__Host-palinsesto-connect=someone-elses";
    let landed = callback(&browser, &back, Some(other_cookie)).await;
    assert_eq!(param(&landed, "outcome").as_deref(), Some("wrong_browser"));
    // for another network, refused
    let elsewhere = back.replace("/oauth/callback/mastodon", "/oauth/callback/bluesky");
    let landed = callback(&browser, &elsewhere, Some(&cookie)).await;
    assert_eq!(param(&landed, "outcome").as_deref(), Some("mismatch"));
    // its own browser completes it; a replay finds nothing
    let landed = callback(&browser, &back, Some(&cookie)).await;
    assert_eq!(
        param(&landed, "outcome").as_deref(),
        Some("pending"),
        "{landed}"
    );
    let landed = callback(&browser, &back, Some(&cookie)).await;
    assert_eq!(param(&landed, "outcome").as_deref(), Some("expired"));

    // a tampered state is unknown
    let (back, cookie) = consent(&w, &browser).await;
    let state = param(&back, "state").unwrap();
    let tampered = back.replace(&state, &format!("{state}x"));
    let landed = callback(&browser, &tampered, Some(&cookie)).await;
    assert_eq!(param(&landed, "outcome").as_deref(), Some("expired"));

    // after 15 minutes, expired
    w.desk.advance(SignedDuration::from_mins(16));
    let landed = callback(&browser, &back, Some(&cookie)).await;
    assert_eq!(param(&landed, "outcome").as_deref(), Some("expired"));

    // a denial on the server's page comes back as such, nothing kept
    w.desk.advance(SignedDuration::from_mins(-16));
    let (authorize, cookie) = open_start(&w, &browser).await;
    let denied = answer(&browser, &authorize, "deny").await;
    let landed = callback(&browser, &denied, Some(&cookie)).await;
    assert_eq!(param(&landed, "outcome").as_deref(), Some("denied"));
    assert!(param(&landed, "connection").is_none());
}

#[tokio::test]
async fn a_code_exchanged_without_its_pkce_verifier_fails() {
    let w = world().await;
    let browser = browser();
    let (authorize, cookie) = open_start(&w, &browser).await;
    let challenge = param(&authorize, "code_challenge").expect("PKCE S256 is used");
    assert_eq!(
        param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    // someone swaps the challenge for their own on the way
    let swapped = authorize.replace(&challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    let back = answer(&browser, &swapped, "approve").await;
    let landed = callback(&browser, &back, Some(&cookie)).await;
    assert_eq!(param(&landed, "outcome").as_deref(), Some("failed"));
    assert!(param(&landed, "connection").is_none());
}

#[tokio::test]
async fn only_the_person_who_connected_confirms_for_their_brand_and_onto_the_same_account() {
    let w = world().await;
    let browser = browser();
    let (back, cookie) = consent(&w, &browser).await;
    let landed = callback(&browser, &back, Some(&cookie)).await;
    let connection = param(&landed, "connection").unwrap();
    let path = format!("/v1/channels/{}/connect/confirm", w.channel);
    let body = json!({"connection": connection});
    let m = w.desk.manager();
    let etag = m.get(&format!("/v1/channels/{}", w.channel)).await.etag();

    // another manager of the brand (another token subject) may not confirm it
    let owner = w.desk.app.client("acme", "owner");
    let r = owner
        .send(
            owner
                .request(reqwest::Method::POST, &path)
                .header("if-match", &etag)
                .json(&body),
        )
        .await;
    r.problem(403);
    // another brand sees nothing of it
    w.desk.app.brand("rival", "Europe/Rome", false).await;
    let rival = w.desk.app.client("rival", "manager");
    let r = rival
        .send(
            rival
                .request(reqwest::Method::POST, &path)
                .header("if-match", &etag)
                .json(&body),
        )
        .await;
    r.problem(404);
    let r = rival
        .get(&format!("/v1/channels/{}/connect/{connection}", w.channel))
        .await;
    r.problem(404);
    // editors cannot start a connection
    let editor = w.desk.app.client("acme", "editor");
    let r = editor
        .post(&format!("/v1/channels/{}/connect", w.channel), json!({}))
        .await;
    r.problem(403);

    // a channel connected to another account is not moved to this one without saying so
    let store = w.desk.app.runtime.store();
    let brand = BrandId::parse("acme").unwrap();
    let id = ChannelId::parse(&w.channel).unwrap();
    let mut channel = store.get_channel(&brand, &id).await.unwrap().unwrap();
    channel.account = Some(palinsesto::domain::channel::ConnectedAccount {
        id: "1".into(),
        handle: "@someone@else".into(),
        scopes: vec!["read".into()],
        expires_at: None,
        renewable: false,
    });
    let version = channel.version;
    let channel = store
        .put_channel(&brand, &channel, Some(version))
        .await
        .unwrap();
    let etag = format!("\"{}\"", channel.version);
    let r = m
        .send(
            m.request(reqwest::Method::POST, &path)
                .header("if-match", &etag)
                .json(&body),
        )
        .await;
    let problem = r.problem(409).clone();
    assert!(problem.to_string().contains("replace_account"), "{problem}");
    let r = m
        .send(
            m.request(reqwest::Method::POST, &path)
                .header("if-match", &etag)
                .json(&json!({"connection": connection, "replace_account": true})),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["account"]["id"], ACCOUNT_ID);
    // and a pending connection is used once
    let r = m
        .send(
            m.request(reqwest::Method::POST, &path)
                .header("if-match", r.etag())
                .json(&body),
        )
        .await;
    r.problem(404);
}

#[tokio::test]
async fn networks_without_oauth_say_so_and_how_to_connect_instead() {
    let w = world().await;
    let r = w
        .desk
        .manager()
        .post(
            "/v1/channels",
            json!({"network": "telegram", "name": "T", "handle": "@t", "settings": {"chat_id": "@acme"}}),
        )
        .await;
    let telegram = r.body["id"].as_str().unwrap().to_owned();
    let r = w
        .desk
        .manager()
        .post(&format!("/v1/channels/{telegram}/connect"), json!({}))
        .await;
    let problem = r.problem(409).clone();
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("Telegram") && detail.contains("/credentials"),
        "{detail}"
    );
}

#[tokio::test]
async fn a_channel_shows_the_scopes_its_account_was_not_granted_and_what_they_block() {
    let w = world().await;
    // the person unticks "read" on the server's page: only write is granted
    w.mastodon.set_granted_scopes(Some(vec!["write".into()]));
    connect(&w).await;
    let m = w.desk.manager();
    let channel = m.get(&format!("/v1/channels/{}", w.channel)).await;
    assert_eq!(channel.body["account"]["scopes"], json!(["write"]));
    let missing = &channel.body["scopes_missing"];
    assert_eq!(missing.as_array().unwrap().len(), 1, "{missing}");
    assert_eq!(missing[0]["scope"], "read");
    assert_eq!(missing[0]["capability"], "metrics");
    assert_eq!(
        missing[0]["detail"],
        "publishing works; reading metrics needs read: connect the channel again and grant it",
        "{missing}"
    );
    assert_eq!(channel.body["scopes_granted"], json!(["write"]));
    assert!(
        channel.body.get("expires_at").is_none(),
        "Mastodon tokens do not expire"
    );
    // and the coverage table says which scope each capability needs
    let networks = m.get("/v1/networks").await;
    let mastodon = networks.body["networks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["network"] == "mastodon")
        .unwrap()
        .clone();
    assert_eq!(
        mastodon["scopes"],
        json!([
            {"capability": "publish", "scope": "write"},
            {"capability": "metrics", "scope": "read"},
            {"capability": "moderation", "scope": "write"}
        ])
    );
    assert!(
        mastodon["capabilities"]
            .as_array()
            .unwrap()
            .contains(&json!("oauth"))
    );
}

/// The whole browser flow and the confirmation: the channel as confirmed.
async fn connect(w: &World) -> serde_json::Value {
    let browser = browser();
    let (back, cookie) = consent(w, &browser).await;
    let landed = callback(&browser, &back, Some(&cookie)).await;
    let connection = param(&landed, "connection").expect("a pending connection");
    let m = w.desk.manager();
    let etag = m.get(&format!("/v1/channels/{}", w.channel)).await.etag();
    let confirmed = m
        .send(
            m.request(
                reqwest::Method::POST,
                &format!("/v1/channels/{}/connect/confirm", w.channel),
            )
            .header("if-match", etag)
            .json(&json!({"connection": connection})),
        )
        .await;
    assert_eq!(confirmed.status.as_u16(), 200, "{}", confirmed.body);
    confirmed.body
}

/// Disconnecting stops the channel at once; the connection worker then revokes the token at the
/// network with the app it was granted to, and forgets it. Only the brand's managers may.
#[tokio::test]
async fn disconnecting_revokes_the_token_at_the_network_and_forgets_it() {
    let w = world().await;
    connect(&w).await;
    let path = format!("/v1/channels/{}/connection", w.channel);

    // another brand's manager finds no such channel; an editor may not
    w.desk.app.brand("rival", "Europe/Rome", false).await;
    let rival = w.desk.app.client("rival", "manager");
    rival.delete(&path, None).await.problem(404);
    let rival_start = rival
        .post(&format!("/v1/channels/{}/connect", w.channel), json!({}))
        .await;
    rival_start.problem(404);
    let editor = w.desk.app.client("acme", "editor");
    editor.delete(&path, None).await.problem(403);

    let m = w.desk.manager();
    let r = m.delete(&path, None).await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    assert_eq!(r.body["connected"], false);
    assert_eq!(r.body["status"], "needs_reconnect");
    assert_eq!(r.body["reconnect_reason"], "disconnected");
    assert!(r.body.get("account").is_none(), "{}", r.body);
    // nothing is sent to the network from the API itself
    assert!(w.mastodon.revoked_tokens().is_empty());

    // the worker revokes the token with Palinsesto's app on the instance, then forgets it
    let report = w.desk.app.runtime.connection_worker().tick().await.unwrap();
    assert_eq!(report.revoked, 1, "{report:?}");
    assert_eq!(
        w.mastodon.revoked_tokens(),
        [palinsesto_system_tests::fakes::mastodon::TOKEN]
    );
    let store = w.desk.app.runtime.store();
    let (brand, id) = (
        BrandId::parse("acme").unwrap(),
        ChannelId::parse(&w.channel).unwrap(),
    );
    assert!(store.get_credentials(&brand, &id).await.unwrap().is_none());
    // and nothing is left to do
    let again = w.desk.app.runtime.connection_worker().tick().await.unwrap();
    assert_eq!(again, Default::default());

    // a channel that is not connected has nothing to disconnect
    m.delete(&path, None).await.problem(409);
    let audit = m.get("/v1/audit?action=channel.disconnected").await;
    assert_eq!(audit.body["items"][0]["actor"], "manager@acme");
    assert_eq!(audit.body["items"][0]["details"]["account_id"], ACCOUNT_ID);

    // connecting again works as the first time
    let again = connect(&w).await;
    assert_eq!(again["status"], "active");
    assert_eq!(again["connected"], true);
}

/// Bluesky app passwords and Telegram bot tokens are checked when they are stored: a wrong one
/// is refused with the network's reason, nothing is stored, and a Bluesky login made by the
/// check is kept, so the first post does not log in again.
#[tokio::test]
async fn typed_credentials_are_checked_with_the_network_when_they_are_stored() {
    use palinsesto_system_tests::fakes::bluesky::FakeBluesky;
    use palinsesto_system_tests::fakes::telegram::{self, BotAccess, FakeTelegram};
    let bot = FakeTelegram::start().await;
    let desk = Desk::start(NetworkEndpoints {
        telegram: bot.base().to_owned(),
        ..NetworkEndpoints::default()
    })
    .await;
    let m = desk.manager();
    let create = |network: &str, settings: serde_json::Value| {
        let m = desk.manager();
        let body =
            json!({"network": network, "name": network, "handle": "@acme", "settings": settings});
        async move {
            let r = m.post("/v1/channels", body).await;
            assert_eq!(r.status.as_u16(), 201, "{}", r.body);
            r.body["id"].as_str().unwrap().to_owned()
        }
    };

    // Telegram: a token the Bot API does not know
    let channel = create("telegram", FakeTelegram::settings(telegram::PUBLIC_CHANNEL)).await;
    let path = format!("/v1/channels/{channel}/credentials");
    let r = m.put(&path, json!({"bot_token": "7000000001:wrong"})).await;
    assert_eq!(r.error_fields(), ["credentials"], "{}", r.body);
    assert!(
        r.body.to_string().contains("Telegram did not accept them"),
        "{}",
        r.body
    );
    let shown = m.get(&format!("/v1/channels/{channel}")).await;
    assert_eq!(shown.body["connected"], false, "nothing stored");
    // a bot that is only a member of the channel
    bot.set_bot_access(telegram::PUBLIC_CHANNEL, BotAccess::Member);
    let r = m.put(&path, FakeTelegram::credentials()).await;
    assert_eq!(r.error_fields(), ["credentials"], "{}", r.body);
    assert!(
        r.body
            .to_string()
            .contains("@palinsesto_bot is only a member of @palinsesto_test"),
        "{}",
        r.body
    );
    // an administrator: stored
    bot.set_bot_access(telegram::PUBLIC_CHANNEL, BotAccess::Admin);
    let r = m.put(&path, FakeTelegram::credentials()).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["connected"], true);

    // Bluesky: a wrong app password
    let pds = FakeBluesky::start().await;
    let channel = create("bluesky", pds.settings()).await;
    let path = format!("/v1/channels/{channel}/credentials");
    let mut wrong = pds.credentials();
    wrong["app_password"] = json!("xxxx-xxxx-xxxx-xxxx");
    let r = m.put(&path, wrong).await;
    assert_eq!(r.error_fields(), ["credentials"], "{}", r.body);
    assert!(
        r.body.to_string().contains("Bluesky did not accept them"),
        "{}",
        r.body
    );
    // the right one: one login, kept for publishing
    let r = m.put(&path, pds.credentials()).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    let logins = pds.session_creations();
    let at = (desk.app.clock.now() + SignedDuration::from_mins(1)).to_string();
    let post = desk.scheduled("Checked at once", &[&channel], &at).await;
    desk.set_time(&at);
    let settled = desk.tick_and_settle(&post).await;
    assert_eq!(
        target(&settled, &channel)["state"],
        "published",
        "{settled}"
    );
    assert_eq!(
        pds.session_creations(),
        logins,
        "the check's session was used"
    );
}

/// A channel may be made before its account is known (the page, the professional account, the
/// author): nothing is scheduled on it until it is, and preflight says so.
#[tokio::test]
async fn a_channel_whose_account_is_not_known_yet_is_made_but_not_scheduled() {
    let desk = Desk::start(NetworkEndpoints::default()).await;
    let m = desk.manager();
    let r = m
        .post(
            "/v1/channels",
            json!({"network": "facebook", "name": "Page", "handle": "Acme"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let channel = r.body["id"].as_str().unwrap().to_owned();
    let r = m
        .post(
            "/v1/posts",
            json!({"text": "Hello", "channels": [channel], "publish_at": "2027-02-01T09:00:00Z"}),
        )
        .await;
    let post = r.body["id"].as_str().unwrap().to_owned();
    let refused = m
        .action(&format!("/v1/posts/{post}/schedule"), Some(&r.etag()))
        .await;
    assert_eq!(refused.status.as_u16(), 422, "{}", refused.body);
    assert!(
        refused.body.to_string().contains(
            "does not know its account yet: connect the channel first, or set settings.page_id"
        ),
        "{}",
        refused.body
    );
    // once the page is known, preflight has nothing to say about it
    let shown = m.get(&format!("/v1/channels/{channel}")).await;
    let r = m
        .patch(
            &format!("/v1/channels/{channel}"),
            json!({"settings": {"page_id": "1234567890"}}),
            Some(&shown.etag()),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    let check = m
        .post(&format!("/v1/posts/{post}/preflight"), json!({}))
        .await;
    assert_eq!(check.body["ok"], true, "{}", check.body);
}
