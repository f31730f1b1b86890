//! Connecting X, LinkedIn, Facebook, Instagram and Threads channels by OAuth on the local
//! runner, against each network's fake authorization server, as a browser follows the
//! redirects: the deployment's app, the scopes of the coverage table, PKCE where the network
//! wants it, the account choice where a login gives several, the settings the connection fills
//! in, a post published with the token nobody handled; then renewal ahead of expiry,
//! `channel.expiring`, disconnect with revocation, and Meta's deauthorize and data-deletion
//! callbacks.

use jiff::SignedDuration;
use palinsesto::clock::Clock;
use palinsesto::domain::{BrandId, ChannelId};
use palinsesto::networks::NetworkEndpoints;
use palinsesto::networks::connect::OAuthApps;
use palinsesto::networks::meta_graph::signed_request;
use palinsesto_system_tests::browser::{answer, browser, callback, open_start, param};
use palinsesto_system_tests::desk::{Desk, target};
use serde_json::{Value, json};

fn apps(pairs: &[(&str, &str, &str)]) -> OAuthApps {
    let flat: Vec<(String, String)> = pairs
        .iter()
        .flat_map(|(name, id, secret)| {
            [
                (format!("{name}/client_id"), (*id).to_owned()),
                (format!("{name}/client_secret"), (*secret).to_owned()),
            ]
        })
        .collect();
    OAuthApps::from_pairs(flat.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

async fn channel(desk: &Desk, network: &str, settings: Value) -> String {
    let r = desk
        .manager()
        .post(
            "/v1/channels",
            json!({"network": network, "name": network, "handle": "@acme", "settings": settings}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

/// A flow up to the network's consent page: the authorize URL and the browser's cookie.
async fn start(desk: &Desk, channel: &str, body: Value) -> (String, String) {
    let r = desk
        .manager()
        .post(&format!("/v1/channels/{channel}/connect"), body)
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    open_start(&browser(), r.body["start_url"].as_str().unwrap()).await
}

/// Consent given and the callback followed: the pending connection's id.
async fn consent(authorize: &str, cookie: &str) -> String {
    let b = browser();
    let back = answer(&b, authorize, "approve").await;
    let landed = callback(&b, &back, Some(cookie)).await;
    assert_eq!(
        param(&landed, "outcome").as_deref(),
        Some("pending"),
        "{landed}"
    );
    param(&landed, "connection").unwrap()
}

async fn pending(desk: &Desk, channel: &str, connection: &str) -> Value {
    let r = desk
        .manager()
        .get(&format!("/v1/channels/{channel}/connect/{connection}"))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert!(!r.body.to_string().contains("token"), "{}", r.body);
    r.body
}

async fn confirm(desk: &Desk, channel: &str, body: Value) -> (u16, Value) {
    let m = desk.manager();
    let etag = m.get(&format!("/v1/channels/{channel}")).await.etag();
    let r = m
        .send(
            m.request(
                reqwest::Method::POST,
                &format!("/v1/channels/{channel}/connect/confirm"),
            )
            .header("if-match", etag)
            .json(&body),
        )
        .await;
    (r.status.as_u16(), r.body)
}

async fn publishes(desk: &Desk, channel: &str, text: &str) {
    let at = (desk.app.clock.now() + SignedDuration::from_mins(1)).to_string();
    let post = desk.scheduled(text, &[channel], &at).await;
    desk.set_time(&at);
    let settled = desk.tick_and_settle(&post).await;
    assert_eq!(target(&settled, channel)["state"], "published", "{settled}");
}

fn scopes_asked(authorize: &str, separator: char) -> Vec<String> {
    param(authorize, "scope")
        .unwrap()
        .split(separator)
        .map(str::to_owned)
        .collect()
}

/// X: PKCE and offline.access; the 2-hour token is renewed with the deployment's app (the
/// channel has no client id of its own); disconnect revokes both tokens.
#[tokio::test]
async fn an_x_account_connects_with_pkce_publishes_renews_and_is_revoked_on_disconnect() {
    use palinsesto_system_tests::fakes::x::{FakeX, USER_ID};
    let x = FakeX::start().await;
    let desk = Desk::start_connecting(
        NetworkEndpoints {
            x: x.base().to_owned(),
            x_web: x.base().to_owned(),
            ..NetworkEndpoints::default()
        },
        apps(&[("x", "x-app", "x-secret")]),
    )
    .await;
    x.oauth.register_client(
        "x-app",
        "x-secret",
        &format!("{}/oauth/callback/x", desk.app.base),
    );
    let ch = channel(&desk, "x", json!({})).await;
    let (authorize, cookie) = start(&desk, &ch, json!({})).await;
    assert!(authorize.starts_with(&format!("{}/i/oauth2/authorize?", x.base())));
    assert_eq!(param(&authorize, "client_id").as_deref(), Some("x-app"));
    assert_eq!(
        param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let asked = scopes_asked(&authorize, ' ');
    for scope in ["offline.access", "tweet.write", "users.read", "media.write"] {
        assert!(asked.iter().any(|s| s == scope), "{asked:?}");
    }
    let connection = consent(&authorize, &cookie).await;
    let found = pending(&desk, &ch, &connection).await;
    assert_eq!(found["accounts"][0]["account_id"], USER_ID);
    assert_eq!(found["accounts"][0]["handle"], "@acme");
    let (status, body) = confirm(&desk, &ch, json!({"connection": connection})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["account"]["renewable"], true);
    assert!(
        body.get("expires_at").is_none(),
        "renewed as it is used: {body}"
    );

    // the access token runs out: the publisher renews it with the deployment's app
    x.expire_access_token();
    publishes(&desk, &ch, "Connected to X").await;
    assert_eq!(x.count_with_text("Connected to X"), 1);
    assert_eq!(x.tokens_refreshed(), 1);

    let r = desk
        .manager()
        .delete(&format!("/v1/channels/{ch}/connection"), None)
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    let (access, refresh) = (x.access_token(), x.refresh_token());
    let report = desk.app.runtime.connection_worker().tick().await.unwrap();
    assert_eq!(report.revoked, 1, "{report:?}");
    let revoked = x.oauth.revoked_tokens();
    assert!(
        revoked.contains(&access) && revoked.contains(&refresh),
        "{revoked:?}"
    );
}

/// LinkedIn: organization pages through the deployment's Community Management app (the person
/// picks one), the member through the member app; a token that cannot be renewed sends
/// `channel.expiring` a week before it runs out, and the channel needs a reconnect after.
#[tokio::test]
async fn linkedin_pages_come_from_their_own_app_and_an_access_that_cannot_be_renewed_expires_loudly()
 {
    use palinsesto_system_tests::fakes::linkedin::{FakeLinkedin, FakeOrganization, MEMBER};
    let li = FakeLinkedin::start().await;
    let mut desk = Desk::start_connecting(
        NetworkEndpoints {
            linkedin: li.base().to_owned(),
            linkedin_web: li.base().to_owned(),
            ..NetworkEndpoints::default()
        },
        apps(&[
            ("linkedin", "li-member", "member-secret"),
            ("linkedin_community", "li-community", "community-secret"),
        ]),
    )
    .await;
    let redirect = format!("{}/oauth/callback/linkedin", desk.app.base);
    li.oauth
        .register_client("li-member", "member-secret", &redirect);
    li.oauth
        .register_client("li-community", "community-secret", &redirect);
    li.set_organizations(vec![
        FakeOrganization::new(5_515_715, "Acme", "acme"),
        FakeOrganization::new(7_777_001, "Acme Italia", "acme-italia"),
    ]);

    // a page: the Community Management app, its scopes, the person's choice
    let page = channel(&desk, "linkedin", json!({})).await;
    let (authorize, cookie) = start(&desk, &page, json!({"login": "organization"})).await;
    assert_eq!(
        param(&authorize, "client_id").as_deref(),
        Some("li-community")
    );
    let asked = scopes_asked(&authorize, ' ');
    assert!(
        asked.contains(&"w_organization_social".to_owned()),
        "{asked:?}"
    );
    assert!(!asked.contains(&"w_member_social".to_owned()), "{asked:?}");
    let connection = consent(&authorize, &cookie).await;
    let found = pending(&desk, &page, &connection).await;
    let ids: Vec<&str> = found["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["urn:li:organization:5515715", "urn:li:organization:7777001"]
    );
    let (status, body) = confirm(&desk, &page, json!({"connection": connection})).await;
    assert_eq!(status, 422, "several pages: one must be chosen: {body}");
    let (status, body) = confirm(
        &desk,
        &page,
        json!({"connection": connection, "account_id": "urn:li:organization:7777001"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["settings"]["author"], "urn:li:organization:7777001");
    assert_eq!(body["settings"]["login"], "organization");
    assert_eq!(body["account"]["renewable"], false);
    let expires_at: jiff::Timestamp = body["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        expires_at,
        desk.app.clock.now() + SignedDuration::from_secs(5_184_000),
        "LinkedIn's 60 days, without a refresh token"
    );

    // the member: the member app, posting as themselves
    let member = channel(&desk, "linkedin", json!({})).await;
    let (authorize, cookie) = start(&desk, &member, json!({"login": "member"})).await;
    assert_eq!(param(&authorize, "client_id").as_deref(), Some("li-member"));
    let connection = consent(&authorize, &cookie).await;
    let (status, body) = confirm(&desk, &member, json!({"connection": connection})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["settings"]["author"], MEMBER);
    // both starts are in the audit log, with the login each asked for
    let audit = desk
        .manager()
        .get("/v1/audit?action=channel.connect_started")
        .await;
    let logins: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["details"]["login"].as_str().unwrap())
        .collect();
    assert_eq!(logins, ["member", "organization"], "newest first");
    publishes(&desk, &member, "Hello from the member").await;
    assert_eq!(li.count_with_text("Hello from the member"), 1);

    // a week before the page's access runs out, the brand hears of it, once
    desk.events().await;
    desk.app
        .clock
        .set(expires_at - SignedDuration::from_hours(7 * 24));
    let report = desk.app.runtime.connection_worker().tick().await.unwrap();
    assert_eq!(report.warned, 2, "both channels: {report:?}");
    let events = desk.events().await;
    let expiring: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "channel.expiring")
        .collect();
    assert_eq!(expiring.len(), 2, "{events:?}");
    assert!(
        expiring
            .iter()
            .any(|e| e.data["channel_id"] == page.as_str())
    );
    let again = desk.app.runtime.connection_worker().tick().await.unwrap();
    assert_eq!(again.warned, 0, "once");
    // once it has run out, the channel waits for a reconnect
    desk.app
        .clock
        .set(expires_at + SignedDuration::from_mins(1));
    let report = desk.app.runtime.connection_worker().tick().await.unwrap();
    assert_eq!(report.expired, 2, "{report:?}");
    let shown = desk.manager().get(&format!("/v1/channels/{page}")).await;
    assert_eq!(shown.body["status"], "needs_reconnect", "{}", shown.body);
}

/// Facebook: every page the person manages is offered; the chosen page's token publishes; a
/// permission left out is said in plain words; Meta's callbacks stop the person's channels, only
/// when signed with the app's secret.
#[tokio::test]
async fn meta_callbacks_stop_the_persons_channels_only_when_signed_by_the_app() {
    use palinsesto_system_tests::fakes::facebook::FakeFacebook;
    use palinsesto_system_tests::fakes::meta_login::{ListedPage, USER_ID};
    let fb = FakeFacebook::start().await;
    let desk = Desk::start_connecting(
        NetworkEndpoints {
            facebook: fb.base(),
            facebook_web: fb.base(),
            ..NetworkEndpoints::default()
        },
        apps(&[("facebook", "fb-app", "fb-secret")]),
    )
    .await;
    fb.oauth.register_client(
        "fb-app",
        "fb-secret",
        &format!("{}/oauth/callback/facebook", desk.app.base),
    );
    fb.oauth
        .add_page(ListedPage::new("104000000000077", "Acme Outlet"));
    // the person leaves statistics out on Facebook's page
    fb.oauth.set_granted_scopes(Some(
        [
            "pages_show_list",
            "pages_manage_posts",
            "pages_read_engagement",
        ]
        .map(str::to_owned)
        .to_vec(),
    ));
    let ch = channel(&desk, "facebook", json!({})).await;
    let (authorize, cookie) = start(&desk, &ch, json!({})).await;
    assert!(authorize.contains("/dialog/oauth?"), "{authorize}");
    let asked = scopes_asked(&authorize, ',');
    assert!(asked.contains(&"read_insights".to_owned()), "{asked:?}");
    let connection = consent(&authorize, &cookie).await;
    let found = pending(&desk, &ch, &connection).await;
    let pages: Vec<&str> = found["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account_id"].as_str().unwrap())
        .collect();
    assert_eq!(pages, [fb.page_id.as_str(), "104000000000077"]);
    let (status, body) = confirm(
        &desk,
        &ch,
        json!({"connection": connection, "account_id": fb.page_id}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["settings"]["page_id"], fb.page_id.as_str());
    assert_eq!(
        body["scopes_missing"][0]["detail"],
        "publishing works; reading metrics needs read_insights: connect the channel again and grant it",
        "{body}"
    );
    publishes(&desk, &ch, "Connected to the page").await;
    assert_eq!(fb.count_with_text("Connected to the page"), 1);

    // a request signed with another secret changes nothing
    let payload =
        json!({"algorithm": "HMAC-SHA256", "issued_at": 1_800_000_000, "user_id": USER_ID});
    let post = |path: &str, signed: String| {
        let url = format!("{}{path}", desk.app.base);
        async move {
            browser()
                .post(url)
                .form(&[("signed_request", signed)])
                .send()
                .await
                .unwrap()
        }
    };
    let forged = post(
        "/oauth/meta/facebook/deauthorize",
        signed_request::sign(&payload, "not-the-secret"),
    )
    .await;
    assert_eq!(forged.status().as_u16(), 401);
    let shown = desk.manager().get(&format!("/v1/channels/{ch}")).await;
    assert_eq!(shown.body["connected"], true);
    // an app this deployment does not serve
    let unknown = post(
        "/oauth/meta/whatsapp/deauthorize",
        signed_request::sign(&payload, "fb-secret"),
    )
    .await;
    assert_eq!(unknown.status().as_u16(), 404);

    // the person asks for their data to be deleted: the channel forgets them
    let deleted = post(
        "/oauth/meta/facebook/data-deletion",
        signed_request::sign(&payload, "fb-secret"),
    )
    .await;
    assert_eq!(deleted.status().as_u16(), 200);
    let answer: Value = deleted.json().await.unwrap();
    let code = answer["confirmation_code"].as_str().unwrap();
    assert_eq!(
        answer["url"],
        format!("{}/oauth/meta/deletion/{code}", desk.app.base)
    );
    let shown = desk.manager().get(&format!("/v1/channels/{ch}")).await;
    assert_eq!(shown.body["connected"], false, "{}", shown.body);
    assert_eq!(shown.body["status"], "needs_reconnect");
    assert!(shown.body.get("account").is_none());
    let store = desk.app.runtime.store();
    let (brand, id) = (
        BrandId::parse("acme").unwrap(),
        ChannelId::parse(&ch).unwrap(),
    );
    assert!(store.get_credentials(&brand, &id).await.unwrap().is_none());
    let status = browser()
        .get(answer["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(status.status().as_u16(), 200);
    assert!(status.text().await.unwrap().contains("1 channel(s)"));
    // a deauthorization afterwards finds nothing left
    let again = post(
        "/oauth/meta/facebook/deauthorize",
        signed_request::sign(&payload, "fb-secret"),
    )
    .await;
    assert_eq!(again.json::<Value>().await.unwrap()["channels"], 0);
}

/// Instagram: Instagram Login (a long-lived token, renewed a week before its 60 days end) or
/// Facebook Login (the account linked to a page, on the Facebook Graph host); the channel
/// records which, and publishes through it.
#[tokio::test]
async fn an_instagram_account_connects_through_either_login() {
    use palinsesto_system_tests::fakes::instagram::FakeInstagram;
    let ig = FakeInstagram::start().await;
    let root = ig.server.base.clone();
    let desk = Desk::start_connecting(
        NetworkEndpoints {
            instagram: ig.base(),
            instagram_web: root.clone(),
            instagram_login: root.clone(),
            // Facebook Login's dialog and Graph calls, served by the same fake
            facebook: ig.base(),
            facebook_web: ig.base(),
            ..NetworkEndpoints::default()
        },
        apps(&[
            ("instagram", "ig-app", "ig-secret"),
            ("facebook", "fb-app", "fb-secret"),
        ]),
    )
    .await;
    ig.oauth.register_client(
        "ig-app",
        "ig-secret",
        &format!("{}/oauth/callback/instagram", desk.app.base),
    );
    ig.facebook_login.register_client(
        "fb-app",
        "fb-secret",
        &format!("{}/oauth/callback/instagram", desk.app.base),
    );

    // Instagram Login
    let direct = channel(&desk, "instagram", json!({})).await;
    let (authorize, cookie) = start(&desk, &direct, json!({})).await;
    assert!(
        authorize.starts_with(&format!("{root}/oauth/authorize?")),
        "{authorize}"
    );
    assert_eq!(param(&authorize, "client_id").as_deref(), Some("ig-app"));
    assert!(
        scopes_asked(&authorize, ',').contains(&"instagram_business_content_publish".to_owned())
    );
    let connection = consent(&authorize, &cookie).await;
    let (status, body) = confirm(&desk, &direct, json!({"connection": connection})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["settings"]["login"], "instagram");
    assert_eq!(body["settings"]["ig_user_id"], ig.user_id.as_str());
    assert_eq!(body["account"]["renewable"], true);
    let expires_at: jiff::Timestamp = body["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        expires_at,
        desk.app.clock.now() + SignedDuration::from_secs(5_183_944)
    );
    // a week before the 60 days end, the worker renews the token
    desk.app
        .clock
        .set(expires_at - SignedDuration::from_hours(7 * 24));
    let report = desk.app.runtime.connection_worker().tick().await.unwrap();
    assert_eq!(report.renewed, 1, "{report:?}");
    assert_eq!(ig.refreshes(), ["ig_refresh_token"]);
    let shown = desk.manager().get(&format!("/v1/channels/{direct}")).await;
    let renewed: jiff::Timestamp = shown.body["expires_at"].as_str().unwrap().parse().unwrap();
    assert!(renewed > expires_at, "{renewed} after {expires_at}");

    // Facebook Login: the account linked to the person's page
    let through_page = channel(&desk, "instagram", json!({})).await;
    let (authorize, cookie) = start(&desk, &through_page, json!({"login": "facebook"})).await;
    assert!(authorize.contains("/dialog/oauth?"), "{authorize}");
    assert_eq!(param(&authorize, "client_id").as_deref(), Some("fb-app"));
    assert!(scopes_asked(&authorize, ',').contains(&"instagram_content_publish".to_owned()));
    let connection = consent(&authorize, &cookie).await;
    let (status, body) = confirm(&desk, &through_page, json!({"connection": connection})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["settings"]["login"], "facebook");
    assert_eq!(body["settings"]["ig_user_id"], ig.user_id.as_str());
    assert!(
        body.get("expires_at").is_none(),
        "a page token does not expire"
    );
    // a login the network does not have is refused
    let r = desk
        .manager()
        .post(
            &format!("/v1/channels/{through_page}/connect"),
            json!({"login": "organization"}),
        )
        .await;
    assert_eq!(r.error_fields(), ["login"], "{}", r.body);
}

/// Threads: a short-lived token made long-lived, and a post published with it.
#[tokio::test]
async fn a_threads_account_connects_with_a_long_lived_token_and_publishes() {
    use palinsesto_system_tests::fakes::threads::FakeThreads;
    let threads = FakeThreads::start().await;
    let root = threads.server.base.clone();
    let desk = Desk::start_connecting(
        NetworkEndpoints {
            threads: threads.base(),
            threads_web: root.clone(),
            ..NetworkEndpoints::default()
        },
        apps(&[("threads", "th-app", "th-secret")]),
    )
    .await;
    threads.oauth.register_client(
        "th-app",
        "th-secret",
        &format!("{}/oauth/callback/threads", desk.app.base),
    );
    let ch = channel(&desk, "threads", json!({})).await;
    let (authorize, cookie) = start(&desk, &ch, json!({})).await;
    assert!(
        authorize.starts_with(&format!("{root}/oauth/authorize?")),
        "{authorize}"
    );
    let connection = consent(&authorize, &cookie).await;
    let (status, body) = confirm(&desk, &ch, json!({"connection": connection})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["settings"]["threads_user_id"],
        threads.user_id.as_str()
    );
    assert_eq!(body["account"]["handle"], "@test");
    publishes(&desk, &ch, "Connected to Threads").await;
    assert_eq!(threads.count_with_text("Connected to Threads"), 1);
    assert_eq!(threads.oauth.long_lived_tokens().len(), 1);
}

/// Without the deployment's app for a network, connecting says so at once, to the manager.
#[tokio::test]
async fn a_network_without_an_app_in_the_deployment_is_refused_in_plain_words() {
    let desk = Desk::start(NetworkEndpoints::default()).await;
    let ch = channel(&desk, "x", json!({})).await;
    let r = desk
        .manager()
        .post(&format!("/v1/channels/{ch}/connect"), json!({}))
        .await;
    r.problem(409);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("this deployment has no X app"),
        "{}",
        r.body
    );
}

/// A network that answers the code exchange too late: the call ends within its own budget and
/// the callback says `failed`, keeping nothing.
#[tokio::test]
async fn a_code_exchange_answered_too_late_fails_within_its_budget() {
    use palinsesto_system_tests::fakes::Fault;
    use palinsesto_system_tests::fakes::x::FakeX;
    let x = FakeX::start().await;
    let desk = Desk::start_connecting(
        NetworkEndpoints {
            x: x.base().to_owned(),
            x_web: x.base().to_owned(),
            ..NetworkEndpoints::default()
        },
        apps(&[("x", "x-app", "x-secret")]),
    )
    .await;
    x.oauth.register_client(
        "x-app",
        "x-secret",
        &format!("{}/oauth/callback/x", desk.app.base),
    );
    let ch = channel(&desk, "x", json!({})).await;
    let (authorize, cookie) = start(&desk, &ch, json!({})).await;
    x.server.faults.inject(
        reqwest::Method::POST,
        "/2/oauth2/token",
        1,
        Fault::AnswerLate(palinsesto::networks::connect::CALL_BUDGET * 2),
    );
    let b = browser();
    let back = answer(&b, &authorize, "approve").await;
    let landed = callback(&b, &back, Some(&cookie)).await;
    assert_eq!(
        param(&landed, "outcome").as_deref(),
        Some("failed"),
        "{landed}"
    );
    assert!(param(&landed, "connection").is_none());
    let shown = desk.manager().get(&format!("/v1/channels/{ch}")).await;
    assert_eq!(shown.body["connected"], false);
}
