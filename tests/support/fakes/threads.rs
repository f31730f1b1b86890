//! A fake Threads API for one account: containers (TEXT, IMAGE, VIDEO, CAROUSEL, replies with
//! `reply_to_id`) on the container engine shared with the Instagram fake, threads_publish, refresh,
//! media insights and the account's followers (`threads_insights`).
//!
//! "Connect" ([`meta_login`](super::meta_login)), on the public field [`FakeThreads::oauth`] (a
//! test registers its app with `threads.oauth.register_client(id, secret, redirect_uri)`):
//! `GET`/`POST /oauth/authorize` (a refusal redirects with `error=access_denied
//! &error_reason=user_denied&error_description=Permissions+error`), `POST /oauth/access_token`
//! (`{"access_token","user_id"}`, errors in Graph's shape), `GET /access_token?grant_type=
//! th_exchange_token` (a long-lived token the API and its `th_refresh_token` refresh accept), and
//! `GET /v1.0/me?fields=id,username,name,threads_profile_picture_url,threads_biography`.

use std::ops::Deref;

use axum::Router;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, Method};
use axum::routing::get;
use serde_json::{Value, json};

use super::consent::Dialog;
use super::facebook::graph::{self, Params, Refusal};
use super::instagram::containers::community::root_of;
use super::instagram::containers::{Engine, Flavor, Kind, Media};
use super::meta_inbox::{self, Delivery, Person};
use super::meta_login::{LongLivedFlavor, LongLivedLogin};
use super::{FakeServer, Fault};

/// The account's username, name and picture, as `/me` answers them.
pub const USERNAME: &str = "test";
pub const NAME: &str = "Test";
pub const PROFILE_PICTURE_URL: &str = "https://scontent.cdninstagram.com/v/t51/threads_test.jpg";

static THREADS_LOGIN: Dialog = Dialog {
    network: "Threads",
    scope_separator: ',',
    pkce_required: false,
    scopes: None,
    deny: &[
        ("error", "access_denied"),
        ("error_reason", "user_denied"),
        ("error_description", "Permissions error"),
    ],
    fragment: None,
};

static THREADS_TOKENS: LongLivedFlavor = LongLivedFlavor {
    dialog: &THREADS_LOGIN,
    exchange_grant: "th_exchange_token",
    short_prefix: "THAAShort",
    long_prefix: "THAALong",
    instagram: false,
};

static THREADS: Flavor = Flavor {
    version: "v1.0",
    create_edge: "threads",
    publish_edge: "threads_publish",
    text_param: "text",
    status_field: "status",
    reason_field: "error_message",
    grant_type: "th_refresh_token",
    max_children: 20,
    permalink_prefix: "https://www.threads.net/@test/post/",
    kind: threads_kind,
    media_metrics: &["views", "likes", "replies", "reposts", "quotes", "shares"],
    user_insights_edge: Some("threads_insights"),
};

/// Threads' container parameters: `media_type` is required; TEXT needs `text`, IMAGE `image_url`,
/// VIDEO `video_url`, CAROUSEL `children`.
fn threads_kind(params: &Params) -> Result<(Kind, &'static str), Refusal> {
    let refuse = |message: &str| Err(graph::refusal(400, 100, None, message));
    match params.get("media_type") {
        Some("TEXT") if params.get("text").is_some() => Ok((Kind::Text, "TEXT")),
        Some("TEXT") => refuse("(#100) The parameter text is required for TEXT"),
        Some("IMAGE") => match params.get("image_url") {
            Some(url) => Ok((Kind::Image { url: url.into() }, "IMAGE")),
            None => refuse("(#100) The parameter image_url is required for IMAGE"),
        },
        Some("VIDEO") => match params.get("video_url") {
            Some(url) => Ok((Kind::Video { url: url.into() }, "VIDEO")),
            None => refuse("(#100) The parameter video_url is required for VIDEO"),
        },
        Some("CAROUSEL") => {
            let children = params
                .get("children")
                .map(|c| c.split(',').map(|s| s.trim().to_owned()).collect())
                .unwrap_or_default();
            Ok((Kind::Carousel { children }, "CAROUSEL"))
        }
        _ => refuse("(#100) The parameter media_type must be TEXT, IMAGE, VIDEO or CAROUSEL"),
    }
}

/// A fake Threads account on loopback.
pub struct FakeThreads {
    pub server: FakeServer,
    pub user_id: String,
    pub token: String,
    /// The login: apps, codes, short- and long-lived tokens.
    pub oauth: LongLivedLogin,
    engine: Engine,
}

impl FakeThreads {
    pub async fn start() -> Self {
        let user_id = "25000000000000001".to_owned();
        let token = "THAAToken".to_owned();
        let engine = Engine::new(&THREADS, &user_id, &token);
        let oauth = LongLivedLogin::new(&THREADS_TOKENS, &user_id, &engine);
        let me = {
            let (oauth, engine) = (oauth.clone(), engine.clone());
            move |RawQuery(query): RawQuery, headers: HeaderMap| async move {
                let params = Params::parse(query.as_deref(), &headers, &[]);
                if let Err(refused) = oauth.check_me(&headers, &params) {
                    return *refused;
                }
                let full = json!({
                    "id": engine.store().user_id,
                    "username": USERNAME,
                    "name": NAME,
                    "threads_profile_picture_url": PROFILE_PICTURE_URL,
                    "threads_biography": "",
                });
                graph::ok(graph::select(&full, &params.fields()))
            }
        };
        let router = engine
            .router()
            .merge(oauth.routes())
            .merge(Router::new().route(&format!("/{}/me", THREADS.version), get(me)));
        let server = FakeServer::start(router).await;
        engine.store().base = format!("{}/{}", server.base, THREADS.version);
        Self {
            server,
            user_id,
            token,
            oauth,
            engine,
        }
    }

    pub fn base(&self) -> String {
        format!("{}/{}", self.server.base, THREADS.version)
    }

    /// The path of an edge of the account, for injecting faults (e.g. `threads_publish`).
    pub fn path(&self, edge: &str) -> String {
        format!("/{}/{}/{edge}", THREADS.version, self.user_id)
    }

    pub fn settings(&self) -> Value {
        json!({ "threads_user_id": self.user_id })
    }

    /// Credentials with a token last refreshed at `refreshed_at` (unix seconds), if given.
    pub fn credentials(&self, refreshed_at: Option<i64>) -> Value {
        match refreshed_at {
            Some(at) => {
                json!({ "access_token": self.token, "access_token_refreshed_at": at.to_string() })
            }
            None => json!({ "access_token": self.token }),
        }
    }

    /// Arms `fault` on the account's publish call.
    pub fn on_publish(&self, times: usize, fault: Fault) {
        self.server
            .faults
            .inject(Method::POST, &self.path("threads_publish"), times, fault);
    }

    /// The account's replies, in the order they were published.
    pub fn replies(&self) -> Vec<Media> {
        self.posts()
            .into_iter()
            .filter(|m| m.reply_to.is_some() && m.author.is_none())
            .collect()
    }

    /// `person` replies under `to` (one of the account's posts, or a reply); the reply's id.
    pub fn reply_as(&self, person: &Person, to: &str, text: &str) -> String {
        self.add_media(text, Some(to), Some(person), false)
    }

    /// `person` publishes a post that mentions the account; its id.
    pub fn mention_as(&self, person: &Person, text: &str) -> String {
        self.add_media(text, None, Some(person), true)
    }

    /// The account's own replies under `id`.
    pub fn account_replies_to(&self, id: &str) -> Vec<Media> {
        self.replies()
            .into_iter()
            .filter(|m| m.reply_to.as_deref() == Some(id) && !m.deleted)
            .collect()
    }

    /// The next reply is published, then the answer of `threads_publish` is lost.
    pub fn lose_next_publish_answer(&self) {
        self.on_publish(1, Fault::DropAfterReceive);
    }

    fn hook(&self, field: &str, id: &str, app_secret: &str) -> Delivery {
        let store = self.store();
        let m = store
            .media
            .iter()
            .find(|m| m.id == id)
            .expect("a post or reply");
        let username = m.author.as_ref().map_or(USERNAME, |a| a.username.as_str());
        let mut value = json!({
            "id": m.id,
            "username": username,
            "text": m.text,
            "media_type": "TEXT_POST",
            "permalink": m.permalink,
            "shortcode": m.id,
            "timestamp": graph::time(m.timestamp),
        });
        if let Some(to) = &m.reply_to {
            value["replied_to"] = json!({ "id": to });
            value["root_post"] = json!({
                "id": root_of(&store, &m.id),
                "owner_id": store.user_id,
                "username": USERNAME,
            });
        }
        let body = json!({
            "app_id": "1234567890",
            "topic": if field == "replies" { "moderate" } else { "interaction" },
            "target_id": store.user_id,
            "time": m.timestamp.as_second(),
            "subscription_id": "234567",
            "has_uid_field": false,
            "values": { "value": value, "field": field },
        });
        meta_inbox::delivery(app_secret, &body)
    }

    /// The `replies` webhook Meta sends for the reply `id`.
    pub fn reply_webhook(&self, id: &str, app_secret: &str) -> Delivery {
        self.hook("replies", id, app_secret)
    }

    /// The `mentions` webhook Meta sends for the post `id`.
    pub fn mention_webhook(&self, id: &str, app_secret: &str) -> Delivery {
        self.hook("mentions", id, app_secret)
    }
}

impl Deref for FakeThreads {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        &self.engine
    }
}
