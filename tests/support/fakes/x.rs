//! A fake X API v2 built from the documented shapes: OAuth 2.0 bearer tokens with refresh, the
//! chunked media upload with processing, posts with duplicate detection and rate-limit headers,
//! and the user timeline a read-back uses (showing URLs as t.co links, as X does). Post ids are
//! snowflakes like X's (their top bits are the creation time). Post lookups report
//! `public_metrics` a test can change, and `non_public_metrics` (link clicks) for posts under 30
//! days old unless the fake is told to refuse them.
//!
//! "Connect" (OAuth 2.0 Authorization Code with PKCE, S256 required), on the public field
//! [`FakeX::oauth`] (an [`OAuthServer`]; a test registers its client with
//! `x.oauth.register_client(id, secret, redirect_uri)`, an empty secret for a public client):
//! - `GET`/`POST /i/oauth2/authorize`: the consent page ([`consent`](super::consent)); a refusal
//!   redirects with `error=access_denied&error_description=..`.
//! - `POST /2/oauth2/token` `grant_type=authorization_code&code&redirect_uri&code_verifier`, the
//!   client by HTTP Basic (confidential) or `client_id` in the body (public): 200
//!   `{"token_type":"bearer","expires_in":7200,"access_token","scope","refresh_token"}`, the
//!   refresh token only when `offline.access` was granted. The access token becomes the one the
//!   API accepts (and the refresh token the one `grant_type=refresh_token` takes, once). A bad,
//!   spent or expired code, or a wrong verifier or redirect URI: 400 `{"error":"invalid_request",
//!   "error_description":"Value passed for the authorization code was invalid."}`; a bad client:
//!   401 `{"error":"unauthorized_client","error_description":"Missing valid authorization header"}`.
//! - `POST /2/oauth2/revoke` `token&token_type_hint`, same client authentication:
//!   `{"revoked":true}`; the token is recorded and stops working.
//! - `GET /2/users/me` needs `users.read` and `tweet.read` granted, and `POST /2/tweets`
//!   `tweet.write` (403 otherwise).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawForm, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::FakeServer;
use super::consent::{self, CodeError, Dialog, Grant, OAuthServer};

pub const ACCESS_TOKEN: &str = "x-access-1";
pub const REFRESH_TOKEN: &str = "x-refresh-1";
pub const CLIENT_ID: &str = "palinsesto-x-client";
pub const USER_ID: &str = "2244994945";
/// The account's name, username and picture, as `/2/users/me` answers them.
pub const NAME: &str = "Acme";
pub const USERNAME: &str = "acme";
pub const PROFILE_IMAGE_URL: &str =
    "https://pbs.twimg.com/profile_images/1880000000000000000/acme_normal.jpg";
/// The scopes X documents for OAuth 2.0; asking for another is refused on the consent page.
pub const SCOPES: &[&str] = &[
    "tweet.read",
    "tweet.write",
    "tweet.moderate.write",
    "users.email",
    "users.read",
    "follows.read",
    "follows.write",
    "offline.access",
    "space.read",
    "mute.read",
    "mute.write",
    "like.read",
    "like.write",
    "list.read",
    "list.write",
    "block.read",
    "block.write",
    "bookmark.read",
    "bookmark.write",
    "dm.read",
    "dm.write",
    "media.write",
];
/// The scopes of the fixture's tokens ([`ACCESS_TOKEN`] and its refreshes).
const FIXTURE_SCOPE: &str = "tweet.write tweet.read users.read media.write offline.access";

static DIALOG: Dialog = Dialog {
    network: "X",
    scope_separator: ' ',
    pkce_required: true,
    scopes: Some(SCOPES),
    deny: &[
        ("error", "access_denied"),
        (
            "error_description",
            "The user denied the authorization request.",
        ),
    ],
    fragment: None,
};
/// X's documented per-user limit on post creation per 15-minute window.
const POSTS_PER_WINDOW: u32 = 100;
const OTHER_CALLS_PER_WINDOW: u32 = 900;

/// A post's public metrics, as X names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublicMetrics {
    pub like_count: u64,
    pub retweet_count: u64,
    pub reply_count: u64,
    pub quote_count: u64,
    pub impression_count: u64,
    pub bookmark_count: u64,
}

/// X's epoch for post ids, in unix milliseconds.
const X_EPOCH_MS: i64 = 1_288_834_974_657;
/// Non-public metrics exist only for posts younger than this.
const NON_PUBLIC_DAYS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeTweet {
    pub id: String,
    /// The text as the client sent it.
    pub text: String,
    pub media_ids: Vec<String>,
    pub in_reply_to: Option<String>,
    pub created_at: Timestamp,
    /// Who wrote it: [`USER_ID`] for the brand, else a person added with [`FakeX::add_user`].
    pub author_id: String,
    /// The post it quotes.
    pub quote_of: Option<String>,
    /// The first post of its conversation (itself for a new post).
    pub conversation_id: String,
}

/// A person on X, as `includes.users` shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeUser {
    pub id: String,
    pub username: String,
    pub name: String,
    pub followers: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeMedia {
    pub id: String,
    pub media_type: String,
    pub category: String,
    pub total_bytes: u64,
    pub bytes: Vec<u8>,
    pub segments: usize,
    pub finalized: bool,
    pub alt_text: Option<String>,
    /// pending / in_progress / succeeded / failed, or empty before finalize.
    pub state: String,
}

struct Processing {
    /// STATUS answers left before a video (or GIF) is done.
    polls: usize,
    failure: Option<String>,
}

struct XState {
    base: String,
    access_token: String,
    refresh_token: String,
    issued: usize,
    refreshes: usize,
    refresh_refused: bool,
    return_refresh_token: bool,
    unauthorized_answers: usize,
    users_me_calls: usize,
    status_polls: usize,
    next_id: u64,
    tweets: Vec<FakeTweet>,
    media: HashMap<String, FakeMedia>,
    media_order: Vec<String>,
    processing: Processing,
    pending_polls: HashMap<String, usize>,
    posts_remaining: u32,
    other_remaining: HashMap<String, u32>,
    window_reset: i64,
    /// Makes each post id unique within a millisecond.
    sequence: u64,
    metrics: HashMap<String, PublicMetrics>,
    link_clicks: HashMap<String, u64>,
    refuse_non_public: bool,
    tweet_lookups: usize,
    non_public_requests: usize,
    followers: u64,
    oauth: OAuthServer,
    /// The scopes of the current access token, space-separated.
    scope: String,
    /// The grant behind the current tokens, when they came from a code.
    grant: Option<Grant>,
    users: Vec<FakeUser>,
    hidden: Vec<String>,
    likes: Vec<String>,
    /// Posts handed out by the inbox's reads (X bills each).
    posts_read: usize,
    /// Activity API subscriptions: `(subscription id, event type, filtered user id, webhook id)`.
    activity: Vec<(String, String, String, String)>,
}

type Shared = Arc<Mutex<XState>>;

fn lock(state: &Shared) -> MutexGuard<'_, XState> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct FakeX {
    pub server: FakeServer,
    /// The authorization server: clients, codes, issued and revoked tokens.
    pub oauth: OAuthServer,
    state: Shared,
}

impl FakeX {
    pub async fn start() -> Self {
        let oauth = OAuthServer::new(&DIALOG);
        let state: Shared = Arc::new(Mutex::new(XState {
            base: String::new(),
            access_token: ACCESS_TOKEN.into(),
            refresh_token: REFRESH_TOKEN.into(),
            issued: 1,
            refreshes: 0,
            refresh_refused: false,
            return_refresh_token: true,
            unauthorized_answers: 0,
            users_me_calls: 0,
            status_polls: 0,
            next_id: 1_880_000_000_000_000_000,
            tweets: Vec::new(),
            media: HashMap::new(),
            media_order: Vec::new(),
            processing: Processing {
                polls: 2,
                failure: None,
            },
            pending_polls: HashMap::new(),
            posts_remaining: POSTS_PER_WINDOW,
            other_remaining: HashMap::new(),
            window_reset: Timestamp::now().as_second() + 15 * 60,
            sequence: 0,
            metrics: HashMap::new(),
            link_clicks: HashMap::new(),
            refuse_non_public: false,
            tweet_lookups: 0,
            non_public_requests: 0,
            followers: 0,
            oauth: oauth.clone(),
            scope: FIXTURE_SCOPE.into(),
            grant: None,
            users: Vec::new(),
            hidden: Vec::new(),
            likes: Vec::new(),
            posts_read: 0,
            activity: Vec::new(),
        }));
        let router = Router::new()
            .route("/2/oauth2/token", post(token))
            .route("/2/oauth2/revoke", post(revoke))
            .route("/2/users/me", get(users_me))
            .route("/2/users/{id}/tweets", get(user_tweets))
            .route("/2/tweets", post(create_tweet))
            .route(
                "/2/tweets/{id}",
                get(lookup_tweet).delete(delete_tweet_call),
            )
            .route("/2/tweets/{id}/hidden", put(hide_reply))
            .route("/2/tweets/search/recent", get(search_recent))
            .route("/2/users/{id}/mentions", get(user_mentions))
            .route("/2/users/{id}/likes", post(like_tweet))
            .route(
                "/2/activity/subscriptions",
                post(create_activity_subscription),
            )
            .route(
                "/2/activity/subscriptions/{id}",
                axum::routing::delete(delete_activity_subscription),
            )
            .route("/2/media/upload/initialize", post(media_initialize))
            .route("/2/media/upload/{id}/append", post(media_append))
            .route("/2/media/upload/{id}/finalize", post(media_finalize))
            .route("/2/media/upload", get(media_status))
            .route("/2/media/metadata", post(media_metadata))
            .layer(middleware::from_fn_with_state(state.clone(), rate_limits))
            .with_state(state.clone())
            .merge(oauth.consent_routes("/i/oauth2/authorize"));
        let server = FakeServer::start(router).await;
        lock(&state).base = server.base.clone();
        Self {
            server,
            oauth,
            state,
        }
    }

    pub fn base(&self) -> &str {
        &self.server.base
    }

    /// Credentials that work against this fake (and can be refreshed).
    pub fn credentials(&self) -> Value {
        json!({
            "access_token": ACCESS_TOKEN,
            "refresh_token": REFRESH_TOKEN,
            "client_id": CLIENT_ID,
        })
    }

    /// The current access token stops working (its 2 hours are over).
    pub fn expire_access_token(&self) {
        let mut s = lock(&self.state);
        s.issued += 1;
        s.access_token = format!("x-access-expired-{}", s.issued);
    }

    /// The token endpoint refuses every refresh (revoked authorization).
    pub fn refuse_refresh(&self) {
        lock(&self.state).refresh_refused = true;
    }

    /// Refresh answers carry no refresh token (the old one stays valid).
    pub fn omit_refresh_token(&self) {
        lock(&self.state).return_refresh_token = false;
    }

    pub fn access_token(&self) -> String {
        lock(&self.state).access_token.clone()
    }

    pub fn refresh_token(&self) -> String {
        lock(&self.state).refresh_token.clone()
    }

    pub fn tokens_refreshed(&self) -> usize {
        lock(&self.state).refreshes
    }

    /// How many calls were refused with 401.
    pub fn unauthorized_answers(&self) -> usize {
        lock(&self.state).unauthorized_answers
    }

    /// Videos and GIFs answer `in_progress` to this many STATUS polls, then succeed or fail.
    pub fn set_processing(&self, polls: usize, failure: Option<&str>) {
        lock(&self.state).processing = Processing {
            polls,
            failure: failure.map(str::to_owned),
        };
    }

    pub fn status_polls(&self) -> usize {
        lock(&self.state).status_polls
    }

    pub fn users_me_calls(&self) -> usize {
        lock(&self.state).users_me_calls
    }

    /// Post creations left in the current rate-limit window.
    pub fn limit_posts(&self, remaining: u32) {
        lock(&self.state).posts_remaining = remaining;
    }

    /// When the current rate-limit window ends (unix seconds), as `x-rate-limit-reset` says.
    pub fn rate_limit_reset(&self) -> i64 {
        lock(&self.state).window_reset
    }

    pub fn tweets(&self) -> Vec<FakeTweet> {
        lock(&self.state).tweets.clone()
    }

    pub fn tweet(&self, id: &str) -> Option<FakeTweet> {
        lock(&self.state)
            .tweets
            .iter()
            .find(|t| t.id == id)
            .cloned()
    }

    pub fn count_with_text(&self, text: &str) -> usize {
        lock(&self.state)
            .tweets
            .iter()
            .filter(|t| t.text == text)
            .count()
    }

    /// Every upload, in the order they were initialized.
    pub fn media(&self) -> Vec<FakeMedia> {
        let s = lock(&self.state);
        s.media_order
            .iter()
            .filter_map(|id| s.media.get(id).cloned())
            .collect()
    }

    /// Sets a post's `public_metrics` (all 0 until set).
    pub fn set_public_metrics(&self, id: &str, metrics: PublicMetrics) {
        lock(&self.state).metrics.insert(id.to_owned(), metrics);
    }

    /// Sets a post's `non_public_metrics.url_link_clicks` (0 until set).
    pub fn set_link_clicks(&self, id: &str, clicks: u64) {
        lock(&self.state).link_clicks.insert(id.to_owned(), clicks);
    }

    /// Asking for `non_public_metrics` is refused with 403, as for an app or token that may not
    /// read them.
    pub fn refuse_non_public_metrics(&self) {
        lock(&self.state).refuse_non_public = true;
    }

    /// The post is deleted: a lookup answers 200 with X's "Not Found Error" and no data.
    /// (People's posts are kept apart: see [`FakeX::post_as`].)
    pub fn delete_tweet(&self, id: &str) {
        lock(&self.state).tweets.retain(|t| t.id != id);
    }

    /// The account's followers, in `public_metrics` of `/2/users/me` (default 0).
    pub fn set_followers(&self, followers: u64) {
        lock(&self.state).followers = followers;
    }

    /// `GET /2/tweets/:id` requests answered so far, and how many of them asked for
    /// `non_public_metrics`.
    pub fn tweet_lookups(&self) -> (usize, usize) {
        let s = lock(&self.state);
        (s.tweet_lookups, s.non_public_requests)
    }

    /// Adds a post made elsewhere (by hand, another tool) to the account's timeline.
    pub fn add_tweet(&self, text: &str, created_at: Timestamp) -> String {
        let mut s = lock(&self.state);
        let id = s.tweet_id(created_at);
        s.tweets.push(FakeTweet {
            id: id.clone(),
            text: text.to_owned(),
            media_ids: Vec::new(),
            in_reply_to: None,
            created_at,
            author_id: USER_ID.into(),
            quote_of: None,
            conversation_id: id.clone(),
        });
        id
    }

    /// A person who can mention, answer and quote the brand.
    pub fn add_user(&self, id: &str, username: &str, name: &str, followers: u64) {
        lock(&self.state).users.push(FakeUser {
            id: id.into(),
            username: username.into(),
            name: name.into(),
            followers,
        });
    }

    /// A person's post, now: mentioning the brand when `text` names `@acme`, answering
    /// `in_reply_to`, quoting `quote_of`. Returns its id.
    pub fn post_as(
        &self,
        user: &str,
        text: &str,
        in_reply_to: Option<&str>,
        quote_of: Option<&str>,
    ) -> String {
        let mut s = lock(&self.state);
        let id = s.tweet_id(Timestamp::now());
        let conversation_id = in_reply_to
            .and_then(|p| s.tweets.iter().find(|t| t.id == p))
            .map_or_else(|| id.clone(), |p| p.conversation_id.clone());
        s.tweets.push(FakeTweet {
            id: id.clone(),
            text: text.to_owned(),
            media_ids: Vec::new(),
            in_reply_to: in_reply_to.map(str::to_owned),
            created_at: Timestamp::now(),
            author_id: user.to_owned(),
            quote_of: quote_of.map(str::to_owned),
            conversation_id,
        });
        id
    }

    /// The brand's posts answering `id` (each should be there once).
    pub fn replies_to(&self, id: &str) -> Vec<FakeTweet> {
        lock(&self.state)
            .tweets
            .iter()
            .filter(|t| t.author_id == USER_ID && t.in_reply_to.as_deref() == Some(id))
            .cloned()
            .collect()
    }

    /// The next post the brand makes is made, but its answer never arrives.
    pub fn lose_next_post_answer(&self) {
        self.server
            .faults
            .inject(Method::POST, "/2/tweets", 1, super::Fault::DropAfterReceive);
    }

    /// The next inbox read (`path`, e.g. `/2/users/{id}/mentions`) answers 429 with X's
    /// rate-limit headers, the window ending at `reset` (unix seconds).
    pub fn rate_limit_next_read(&self, path: &str, reset: i64) {
        let reset = reset.to_string();
        self.server.faults.inject(
            Method::GET,
            path,
            1,
            super::Fault::status_with_headers(
                429,
                &[
                    ("x-rate-limit-limit", "450"),
                    ("x-rate-limit-remaining", "0"),
                    ("x-rate-limit-reset", reset.as_str()),
                ],
                r#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#,
            ),
        );
    }

    /// Hidden replies (`PUT /2/tweets/:id/hidden`).
    pub fn hidden(&self) -> Vec<String> {
        lock(&self.state).hidden.clone()
    }

    /// Activity API subscriptions: `(subscription id, event type, filtered user id, webhook id)`.
    pub fn activity_subscriptions(&self) -> Vec<(String, String, String, String)> {
        lock(&self.state).activity.clone()
    }

    /// Posts the brand liked.
    pub fn likes(&self) -> Vec<String> {
        lock(&self.state).likes.clone()
    }

    /// Posts the inbox's reads handed out (each billed by X).
    pub fn posts_read(&self) -> usize {
        lock(&self.state).posts_read
    }

    /// An Account Activity API delivery of post `id` (`tweet_create_events`, v1.1 shape), as X
    /// sends it for the brand's account.
    pub fn account_activity_body(&self, id: &str) -> Vec<u8> {
        let s = lock(&self.state);
        let tweet = s.tweets.iter().find(|t| t.id == id).expect("a post");
        let user = s.user(&tweet.author_id);
        let mut event = json!({
            "created_at": tweet.created_at.strftime("%a %b %d %H:%M:%S +0000 %Y").to_string(),
            "id": tweet.id.parse::<u64>().unwrap_or(0),
            "id_str": tweet.id,
            "text": tweet.text,
            "user": {"id_str": user.id, "screen_name": user.username, "name": user.name,
                     "followers_count": user.followers},
            "entities": {"user_mentions": mentions_v1(&tweet.text)},
            "in_reply_to_status_id_str": tweet.in_reply_to,
            "in_reply_to_user_id_str": tweet.in_reply_to.as_ref()
                .and_then(|p| s.tweets.iter().find(|t| &t.id == p)).map(|p| p.author_id.clone()),
            "is_quote_status": tweet.quote_of.is_some(),
        });
        if let Some(quoted) = &tweet.quote_of {
            let author = s
                .tweets
                .iter()
                .find(|t| &t.id == quoted)
                .map(|t| t.author_id.clone());
            event["quoted_status_id_str"] = json!(quoted);
            event["quoted_status"] = json!({"id_str": quoted, "user": {"id_str": author}});
        }
        let mut body = json!({"for_user_id": USER_ID, "tweet_create_events": [event]});
        if tweet.text.contains(&format!("@{USERNAME}")) {
            body["user_has_blocked"] = json!("false");
        }
        serde_json::to_vec(&body).unwrap()
    }

    /// An X Activity API delivery (`post.mention.create`, `post.reply.create`, ...) of post `id`.
    pub fn activity_event_body(&self, event_type: &str, id: &str) -> Vec<u8> {
        let s = lock(&self.state);
        let tweet = s.tweets.iter().find(|t| t.id == id).expect("a post");
        let body = json!({"data": {
            "event_uuid": tweet.id,
            "filter": {"user_id": USER_ID},
            "event_type": event_type,
            "tag": "inbox",
            "payload": s.post_json(tweet),
            "includes": {"users": [s.user_json(&tweet.author_id)]},
        }});
        serde_json::to_vec(&body).unwrap()
    }
}

/// `x-twitter-webhooks-signature`: "sha256=" + base64 HMAC-SHA256 of the raw body keyed by the
/// app's consumer secret (xdevplatform/docs x-api/webhooks/introduction.mdx).
pub fn webhook_signature(consumer_secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hmac_base64(consumer_secret, body))
}

/// The answer to X's CRC check: `{"response_token": "sha256=" + base64 HMAC-SHA256 of the
/// crc_token keyed by the consumer secret}`.
pub fn crc_response(consumer_secret: &str, crc_token: &str) -> Value {
    json!({"response_token": format!("sha256={}", hmac_base64(consumer_secret, crc_token.as_bytes()))})
}

fn hmac_base64(key: &str, data: &[u8]) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("any key");
    mac.update(data);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The `@name` words of a text.
fn mentioned(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter_map(|w| w.strip_prefix('@'))
        .map(|w| {
            w.trim_end_matches(|c: char| !(c.is_alphanumeric() || c == '_'))
                .to_owned()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

fn mentions_v1(text: &str) -> Vec<Value> {
    mentioned(text)
        .into_iter()
        .filter(|m| m.eq_ignore_ascii_case(USERNAME))
        .map(|m| json!({"id_str": USER_ID, "screen_name": m}))
        .collect()
}

impl XState {
    fn user(&self, id: &str) -> FakeUser {
        self.users
            .iter()
            .find(|u| u.id == id)
            .cloned()
            .unwrap_or(FakeUser {
                id: USER_ID.into(),
                username: USERNAME.into(),
                name: NAME.into(),
                followers: self.followers,
            })
    }

    fn user_json(&self, id: &str) -> Value {
        let u = self.user(id);
        json!({"id": u.id, "username": u.username, "name": u.name,
               "public_metrics": {"followers_count": u.followers}})
    }

    /// A post in the v2 shape the inbox asks for (`tweet.fields` created_at, author_id,
    /// conversation_id, in_reply_to_user_id, referenced_tweets, entities).
    fn post_json(&self, t: &FakeTweet) -> Value {
        let mut post = json!({
            "id": t.id, "text": shown_text(t), "edit_history_tweet_ids": [t.id],
            "author_id": t.author_id, "conversation_id": t.conversation_id,
            "created_at": t.created_at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        });
        let mut references = Vec::new();
        if let Some(parent) = &t.in_reply_to {
            references.push(json!({"type": "replied_to", "id": parent}));
            if let Some(p) = self.tweets.iter().find(|p| &p.id == parent) {
                post["in_reply_to_user_id"] = json!(p.author_id);
            }
        }
        if let Some(quoted) = &t.quote_of {
            references.push(json!({"type": "quoted", "id": quoted}));
        }
        if !references.is_empty() {
            post["referenced_tweets"] = json!(references);
        }
        let mentions: Vec<Value> = mentioned(&t.text)
            .into_iter()
            .filter_map(|m| {
                let u = self
                    .users
                    .iter()
                    .find(|u| u.username.eq_ignore_ascii_case(&m));
                match u {
                    Some(u) => Some(json!({"username": u.username, "id": u.id})),
                    None if m.eq_ignore_ascii_case(USERNAME) => {
                        Some(json!({"username": USERNAME, "id": USER_ID}))
                    }
                    None => None,
                }
            })
            .collect();
        if !mentions.is_empty() {
            post["entities"] = json!({"mentions": mentions});
        }
        post
    }

    /// A page of posts as a timeline or search answers it, newest first, after `since_id`.
    fn page(
        &mut self,
        posts: Vec<FakeTweet>,
        query: &HashMap<String, String>,
        token: &str,
    ) -> Response {
        let max_results: usize = match query.get("max_results").map(|m| m.parse()) {
            None => 10,
            Some(Ok(n)) if (5..=100).contains(&n) => n,
            _ => {
                return invalid_request(
                    "The `max_results` query parameter value is not between 5 and 100",
                );
            }
        };
        let newer = |id: &str, than: &str| (id.len(), id) > (than.len(), than);
        let mut posts: Vec<FakeTweet> = posts
            .into_iter()
            .filter(|t| {
                query
                    .get("since_id")
                    .is_none_or(|since| newer(&t.id, since))
            })
            .collect();
        posts.sort_by(|a, b| (b.id.len(), &b.id).cmp(&(a.id.len(), &a.id)));
        let offset: usize = query
            .get(token)
            .and_then(|t| t.strip_prefix("page-"))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let page: Vec<&FakeTweet> = posts.iter().skip(offset).take(max_results).collect();
        if page.is_empty() {
            return axum::Json(json!({"meta": {"result_count": 0}})).into_response();
        }
        self.posts_read += page.len();
        let mut users: Vec<Value> = Vec::new();
        for t in &page {
            let u = self.user_json(&t.author_id);
            if !users.contains(&u) {
                users.push(u);
            }
        }
        let tweets: Vec<Value> = page
            .iter()
            .filter_map(|t| t.quote_of.as_ref().or(t.in_reply_to.as_ref()))
            .filter_map(|r| self.tweets.iter().find(|t| &t.id == r))
            .map(|r| json!({"id": r.id, "author_id": r.author_id, "text": shown_text(r)}))
            .collect();
        let data: Vec<Value> = page.iter().map(|t| self.post_json(t)).collect();
        let mut meta = json!({
            "result_count": page.len(),
            "newest_id": page[0].id,
            "oldest_id": page[page.len() - 1].id,
        });
        if offset + max_results < posts.len() {
            meta["next_token"] = json!(format!("page-{}", offset + max_results));
        }
        axum::Json(
            json!({"data": data, "includes": {"users": users, "tweets": tweets}, "meta": meta}),
        )
        .into_response()
    }

    fn new_id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    /// A snowflake id for a post made at `created_at`, as X makes them.
    fn tweet_id(&mut self, created_at: Timestamp) -> String {
        self.sequence += 1;
        let ms = u64::try_from(created_at.as_millisecond() - X_EPOCH_MS).unwrap_or(0);
        ((ms << 22) | (self.sequence & 0x3f_ffff)).to_string()
    }

    fn rate_headers(&self, limit: u32, remaining: u32) -> [(&'static str, String); 3] {
        [
            ("x-rate-limit-limit", limit.to_string()),
            ("x-rate-limit-remaining", remaining.to_string()),
            ("x-rate-limit-reset", self.window_reset.to_string()),
        ]
    }
}

fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "title": title,
            "detail": detail,
            "type": "about:blank",
            "status": status.as_u16(),
        })),
    )
        .into_response()
}

fn invalid_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({
            "errors": [{ "parameters": {}, "message": message }],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        })),
    )
        .into_response()
}

fn unauthorized(state: &Shared, headers: &HeaderMap) -> Option<Response> {
    let mut s = lock(state);
    let expected = format!("Bearer {}", s.access_token);
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if given == expected {
        return None;
    }
    s.unauthorized_answers += 1;
    Some(problem(
        StatusCode::UNAUTHORIZED,
        "Unauthorized",
        "Unauthorized",
    ))
}

/// Adds `x-rate-limit-*` to every answer and refuses post creation once the window is used up.
async fn rate_limits(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let creates_post = request.method() == Method::POST && path == "/2/tweets";
    let headers = {
        let mut s = lock(&state);
        if creates_post {
            if s.posts_remaining == 0 {
                let headers = s.rate_headers(POSTS_PER_WINDOW, 0);
                drop(s);
                let mut response = problem(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too Many Requests",
                    "Too Many Requests",
                );
                add_headers(&mut response, headers);
                return response;
            }
            s.posts_remaining -= 1;
            s.rate_headers(POSTS_PER_WINDOW, s.posts_remaining)
        } else {
            let key = format!("{} {path}", request.method());
            let remaining = {
                let left = s
                    .other_remaining
                    .entry(key)
                    .or_insert(OTHER_CALLS_PER_WINDOW);
                *left = left.saturating_sub(1);
                *left
            };
            s.rate_headers(OTHER_CALLS_PER_WINDOW, remaining)
        }
    };
    let mut response = next.run(request).await;
    add_headers(&mut response, headers);
    response
}

fn add_headers(response: &mut Response, headers: [(&'static str, String); 3]) {
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
}

/// `application/x-www-form-urlencoded` fields, decoded the way axum decodes a query.
fn form_fields(form: &[u8]) -> HashMap<String, String> {
    let uri: Uri = format!("/?{}", String::from_utf8_lossy(form))
        .parse()
        .unwrap_or_default();
    Query::<HashMap<String, String>>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn bad_client() -> Response {
    oauth_error(
        StatusCode::UNAUTHORIZED,
        "unauthorized_client",
        "Missing valid authorization header",
    )
}

/// The client of a token or revoke call: HTTP Basic (a confidential client), or `client_id` in
/// the body for a public one (a confidential client must use Basic).
fn oauth_client(
    oauth: &OAuthServer,
    headers: &HeaderMap,
    fields: &HashMap<String, String>,
) -> Option<consent::Client> {
    match consent::basic_credentials(headers) {
        Some((id, secret)) => oauth.authenticate(&id, &secret),
        None => oauth
            .client(fields.get("client_id")?)
            .filter(|c| c.secret.is_empty()),
    }
}

async fn token(
    State(state): State<Shared>,
    headers: HeaderMap,
    RawForm(form): RawForm,
) -> Response {
    let fields = form_fields(&form);
    let oauth = lock(&state).oauth.clone();
    oauth.count_token_request();
    match fields.get("grant_type").map(String::as_str) {
        Some("refresh_token") => refresh(&state, &oauth, &headers, &fields),
        Some("authorization_code") => exchange_code(&state, &oauth, &headers, &fields),
        Some(_) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Value passed for the grant type was invalid.",
        ),
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter [grant_type].",
        ),
    }
}

/// `grant_type=authorization_code`: the code's tokens become the ones the fake accepts.
fn exchange_code(
    state: &Shared,
    oauth: &OAuthServer,
    headers: &HeaderMap,
    fields: &HashMap<String, String>,
) -> Response {
    let Some(client) = oauth_client(oauth, headers, fields) else {
        return bad_client();
    };
    let Some(code) = fields.get("code").filter(|c| !c.is_empty()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter [code].",
        );
    };
    let redeemed = oauth.redeem(
        code,
        &client.id,
        fields.get("redirect_uri").map(String::as_str),
        fields.get("code_verifier").map(String::as_str),
    );
    let grant = match redeemed {
        Ok(grant) => grant,
        Err(
            CodeError::Unknown
            | CodeError::Used
            | CodeError::Expired
            | CodeError::WrongClient
            | CodeError::WrongRedirectUri
            | CodeError::WrongVerifier,
        ) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Value passed for the authorization code was invalid.",
            );
        }
    };
    let mut s = lock(state);
    s.issued += 1;
    s.access_token = format!("x-access-{}", s.issued);
    s.scope = grant.scopes.join(" ");
    oauth.issue(&s.access_token, &grant);
    let mut answer = json!({
        "token_type": "bearer",
        "expires_in": 7200,
        "access_token": s.access_token,
        "scope": s.scope,
    });
    if grant.scopes.iter().any(|g| g == "offline.access") {
        s.refresh_token = format!("x-refresh-{}", s.issued);
        oauth.issue(&s.refresh_token, &grant);
        answer["refresh_token"] = json!(s.refresh_token);
    } else {
        // No refresh token was granted: none works.
        s.refresh_token = format!("x-refresh-not-granted-{}", s.issued);
    }
    s.grant = Some(grant);
    (StatusCode::OK, axum::Json(answer)).into_response()
}

/// `grant_type=refresh_token`: the refresh token is single use (rotated with each answer).
fn refresh(
    state: &Shared,
    oauth: &OAuthServer,
    headers: &HeaderMap,
    fields: &HashMap<String, String>,
) -> Response {
    let invalid =
        |description: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description);
    // A public client names itself in the body; a confidential one may use basic auth instead.
    let client_named = fields
        .get("client_id")
        .is_some_and(|id| id == CLIENT_ID || oauth.client(id).is_some())
        || headers.contains_key("authorization");
    if !client_named {
        return invalid("Missing required parameter [client_id].");
    }
    let mut s = lock(state);
    if s.refresh_refused || fields.get("refresh_token") != Some(&s.refresh_token) {
        return invalid("Value passed for the token was invalid.");
    }
    s.refreshes += 1;
    s.issued += 1;
    s.access_token = format!("x-access-{}", s.issued);
    let mut answer = json!({
        "token_type": "bearer",
        "expires_in": 7200,
        "access_token": s.access_token,
        "scope": s.scope,
    });
    if let Some(grant) = &s.grant {
        oauth.issue(&s.access_token, grant);
    }
    if s.return_refresh_token {
        // X rotates refresh tokens: the old one stops working.
        s.refresh_token = format!("x-refresh-{}", s.issued);
        if let Some(grant) = &s.grant {
            oauth.issue(&s.refresh_token, grant);
        }
        answer["refresh_token"] = json!(s.refresh_token);
    }
    (StatusCode::OK, axum::Json(answer)).into_response()
}

/// `POST /2/oauth2/revoke`: the token is recorded and stops working.
async fn revoke(
    State(state): State<Shared>,
    headers: HeaderMap,
    RawForm(form): RawForm,
) -> Response {
    let fields = form_fields(&form);
    let oauth = lock(&state).oauth.clone();
    if oauth_client(&oauth, &headers, &fields).is_none() {
        return bad_client();
    }
    let Some(token) = fields.get("token").filter(|t| !t.is_empty()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter [token].",
        );
    };
    oauth.record_revoked(token);
    let mut s = lock(&state);
    if *token == s.access_token {
        s.issued += 1;
        s.access_token = format!("x-access-revoked-{}", s.issued);
    }
    if *token == s.refresh_token {
        s.issued += 1;
        s.refresh_token = format!("x-refresh-revoked-{}", s.issued);
    }
    axum::Json(json!({"revoked": true})).into_response()
}

/// 403 unless the current token was granted every one of `scopes`.
fn missing_scope(state: &Shared, scopes: &[&str]) -> Option<Response> {
    let s = lock(state);
    let granted: Vec<&str> = s.scope.split_whitespace().collect();
    scopes.iter().find(|n| !granted.contains(n)).map(|missing| {
        problem(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!("The access token was not granted the scope {missing}."),
        )
    })
}

/// The comma-separated `*.fields` values of a query.
fn fields(query: &HashMap<String, String>, name: &str) -> Vec<String> {
    query
        .get(name)
        .map(|f| f.split(',').map(|f| f.trim().to_owned()).collect())
        .unwrap_or_default()
}

async fn users_me(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = unauthorized(&state, &headers) {
        return refused;
    }
    if let Some(refused) = missing_scope(&state, &["tweet.read", "users.read"]) {
        return refused;
    }
    let mut s = lock(&state);
    s.users_me_calls += 1;
    let mut user = json!({"id": USER_ID, "name": NAME, "username": USERNAME});
    let user_fields = fields(&query, "user.fields");
    if user_fields.iter().any(|f| f == "profile_image_url") {
        user["profile_image_url"] = json!(PROFILE_IMAGE_URL);
    }
    if user_fields.iter().any(|f| f == "public_metrics") {
        user["public_metrics"] = json!({
            "followers_count": s.followers,
            "following_count": 17,
            "tweet_count": s.tweets.len(),
            "listed_count": 1,
            "like_count": 3,
        });
    }
    axum::Json(json!({ "data": user })).into_response()
}

/// `GET /2/tweets/:id` with `tweet.fields`. A post X cannot show answers 200 with a problem in
/// `errors` and no `data`.
async fn lookup_tweet(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = unauthorized(&state, &headers) {
        return refused;
    }
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return invalid_request(&format!(
            "The `id` query parameter value [{id}] does not match ^[0-9]{{1,19}}$"
        ));
    }
    let fields = fields(&query, "tweet.fields");
    let wants = |f: &str| fields.iter().any(|x| x == f);
    let mut s = lock(&state);
    s.tweet_lookups += 1;
    if wants("non_public_metrics") {
        s.non_public_requests += 1;
    }
    let Some(tweet) = s.tweets.iter().find(|t| t.id == id).cloned() else {
        return axum::Json(json!({"errors": [{
            "value": id,
            "detail": format!("Could not find tweet with id: [{id}]."),
            "title": "Not Found Error",
            "resource_type": "tweet",
            "parameter": "id",
            "resource_id": id,
            "type": "https://api.twitter.com/2/problems/resource-not-found",
        }]}))
        .into_response();
    };
    let mut data =
        json!({"id": tweet.id, "text": shown_text(&tweet), "edit_history_tweet_ids": [tweet.id]});
    if wants("created_at") {
        data["created_at"] = json!(
            tweet
                .created_at
                .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string()
        );
    }
    if wants("public_metrics") {
        let m = s.metrics.get(&id).copied().unwrap_or_default();
        data["public_metrics"] = json!({
            "retweet_count": m.retweet_count,
            "reply_count": m.reply_count,
            "like_count": m.like_count,
            "quote_count": m.quote_count,
            "bookmark_count": m.bookmark_count,
            "impression_count": m.impression_count,
        });
    }
    if wants("non_public_metrics") {
        let age_days = Timestamp::now().duration_since(tweet.created_at).as_hours() / 24;
        if s.refuse_non_public || age_days >= NON_PUBLIC_DAYS {
            return problem(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Sorry, you are not authorized to access non_public_metrics on this Tweet.",
            );
        }
        let m = s.metrics.get(&id).copied().unwrap_or_default();
        data["non_public_metrics"] = json!({
            "impression_count": m.impression_count,
            "url_link_clicks": s.link_clicks.get(&id).copied().unwrap_or(0),
            "user_profile_clicks": 0,
        });
    }
    axum::Json(json!({ "data": data })).into_response()
}

/// How X shows a post in timelines: URLs as t.co links, a t.co link for attached media, and
/// `& < >` HTML-escaped.
fn shown_text(tweet: &FakeTweet) -> String {
    let mut words = Vec::new();
    for (i, word) in tweet.text.split(' ').enumerate() {
        if word.starts_with("http://") || word.starts_with("https://") {
            words.push(format!("https://t.co/link{i}"));
        } else {
            words.push(word.to_owned());
        }
    }
    let mut text = words.join(" ");
    if !tweet.media_ids.is_empty() {
        text.push_str(" https://t.co/media");
    }
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The account's timeline. Asked with the inbox's `tweet.fields` (or `since_id`), it answers in
/// the inbox's v2 shape; otherwise as before (the publishing read-back), by `start_time`.
async fn user_tweets(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = unauthorized(&state, &headers) {
        return refused;
    }
    if id != USER_ID {
        return problem(
            StatusCode::NOT_FOUND,
            "Not Found Error",
            &format!("Could not find user with id: [{id}]."),
        );
    }
    let start_time = match query.get("start_time").map(|t| t.parse::<Timestamp>()) {
        None => None,
        Some(Ok(t)) if t.subsec_nanosecond() == 0 => Some(t),
        _ => {
            return invalid_request(
                "Invalid 'start_time':'...'. 'start_time' must be a YYYY-MM-DDTHH:mm:ssZ timestamp",
            );
        }
    };
    let mut s = lock(&state);
    let mine: Vec<FakeTweet> = s
        .tweets
        .iter()
        .filter(|t| t.author_id == USER_ID)
        .filter(|t| start_time.is_none_or(|since| t.created_at >= since))
        .cloned()
        .collect();
    s.page(mine, &query, "pagination_token")
}

/// `GET /2/users/:id/mentions`: posts naming `@acme`, after `since_id`.
async fn user_mentions(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = unauthorized(&state, &headers) {
        return refused;
    }
    if id != USER_ID {
        return problem(
            StatusCode::NOT_FOUND,
            "Not Found Error",
            &format!("Could not find user with id: [{id}]."),
        );
    }
    let mut s = lock(&state);
    let mentions: Vec<FakeTweet> = s
        .tweets
        .iter()
        .filter(|t| t.author_id != USER_ID)
        .filter(|t| {
            mentioned(&t.text)
                .iter()
                .any(|m| m.eq_ignore_ascii_case(USERNAME))
        })
        .cloned()
        .collect();
    s.page(mentions, &query, "pagination_token")
}

/// `GET /2/tweets/search/recent`: only `conversation_id:<id>` terms joined by `OR`.
async fn search_recent(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = unauthorized(&state, &headers) {
        return refused;
    }
    let Some(search) = query.get("query") else {
        return invalid_request("The `query` query parameter can not be empty");
    };
    if search.len() > 512 {
        return invalid_request("The `query` query parameter value is too long");
    }
    let mut conversations = Vec::new();
    for term in search.split(" OR ") {
        match term.trim().strip_prefix("conversation_id:") {
            Some(id) => conversations.push(id.to_owned()),
            None => {
                return invalid_request(&format!(
                    "This fake searches conversation_id only: {term}"
                ));
            }
        }
    }
    let mut s = lock(&state);
    let found: Vec<FakeTweet> = s
        .tweets
        .iter()
        .filter(|t| conversations.contains(&t.conversation_id) && t.id != t.conversation_id)
        .cloned()
        .collect();
    s.page(found, &query, "next_token")
}

/// `PUT /2/tweets/:id/hidden` `{"hidden": bool}`: a reply in a conversation the brand started.
async fn hide_reply(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Some(refused) = unauthorized(&state, &headers) {
        return refused;
    }
    let Some(hidden) = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b["hidden"].as_bool())
    else {
        return invalid_request("hidden must be true or false");
    };
    let mut s = lock(&state);
    let Some(tweet) = s.tweets.iter().find(|t| t.id == id).cloned() else {
        return problem(
            StatusCode::NOT_FOUND,
            "Not Found Error",
            "Could not find tweet",
        );
    };
    let root_is_brands = s
        .tweets
        .iter()
        .any(|t| t.id == tweet.conversation_id && t.author_id == USER_ID);
    if tweet.in_reply_to.is_none() || !root_is_brands {
        return problem(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "You can only hide or unhide replies to conversations you authored.",
        );
    }
    s.hidden.retain(|h| h != &id);
    if hidden {
        s.hidden.push(id);
    }
    axum::Json(json!({"data": {"hidden": hidden}})).into_response()
}

/// `POST /2/users/:id/likes` `{"tweet_id"}`.
/// `POST /2/activity/subscriptions` `{event_type, filter: {user_id}, webhook_id, tag}` ->
/// `{"data": {"subscription_id"}}`: the token's own user only.
async fn create_activity_subscription(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = unauthorized(&state, &headers) {
        return refused;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return invalid_request("the body is not JSON");
    };
    let (Some(event), Some(user), Some(webhook)) = (
        body["event_type"].as_str(),
        body["filter"]["user_id"].as_str(),
        body["webhook_id"].as_str(),
    ) else {
        return invalid_request("event_type, filter.user_id and webhook_id are required");
    };
    if user != USER_ID {
        return problem(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "You can only subscribe to your own activity.",
        );
    }
    let mut s = lock(&state);
    let id = format!("sub-{}", s.activity.len() + 1);
    s.activity
        .push((id.clone(), event.into(), user.into(), webhook.into()));
    axum::Json(json!({"data": {"subscription_id": id}})).into_response()
}

/// `DELETE /2/activity/subscriptions/{id}`.
async fn delete_activity_subscription(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = unauthorized(&state, &headers) {
        return refused;
    }
    let mut s = lock(&state);
    let before = s.activity.len();
    s.activity.retain(|a| a.0 != id);
    if s.activity.len() == before {
        return problem(StatusCode::NOT_FOUND, "Not Found", "No such subscription.");
    }
    axum::Json(json!({"data": {"deleted": true}})).into_response()
}

async fn like_tweet(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Some(refused) = unauthorized(&state, &headers) {
        return refused;
    }
    if id != USER_ID {
        return problem(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "You can only like as yourself.",
        );
    }
    let Some(tweet_id) = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b["tweet_id"].as_str().map(str::to_owned))
    else {
        return invalid_request("tweet_id is required");
    };
    let mut s = lock(&state);
    if !s.tweets.iter().any(|t| t.id == tweet_id) {
        return problem(
            StatusCode::NOT_FOUND,
            "Not Found Error",
            "Could not find tweet",
        );
    }
    if !s.likes.contains(&tweet_id) {
        s.likes.push(tweet_id);
    }
    axum::Json(json!({"data": {"liked": true}})).into_response()
}

/// `DELETE /2/tweets/:id`: the brand's own posts only; a post already gone answers 200 with
/// `deleted: false`.
async fn delete_tweet_call(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = unauthorized(&state, &headers) {
        return refused;
    }
    let mut s = lock(&state);
    match s.tweets.iter().find(|t| t.id == id) {
        Some(t) if t.author_id != USER_ID => problem(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "You are not allowed to delete a Tweet you did not author.",
        ),
        Some(_) => {
            s.tweets.retain(|t| t.id != id);
            axum::Json(json!({"data": {"deleted": true}})).into_response()
        }
        None => axum::Json(json!({"data": {"deleted": false}})).into_response(),
    }
}

async fn create_tweet(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = unauthorized(&state, &headers) {
        return refused;
    }
    if let Some(refused) = missing_scope(&state, &["tweet.write"]) {
        return refused;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return invalid_request("The request body is not valid JSON.");
    };
    let text = body["text"].as_str().unwrap_or_default().to_owned();
    let media_ids: Vec<String> = body["media"]["media_ids"]
        .as_array()
        .map(|ids| {
            ids.iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let in_reply_to = body["reply"]["in_reply_to_tweet_id"]
        .as_str()
        .map(str::to_owned);
    if text.is_empty() && media_ids.is_empty() {
        return invalid_request("You must provide either text or media.");
    }
    if text.chars().count() > 280 {
        return invalid_request("The text of your Tweet is too long.");
    }
    let mut s = lock(&state);
    for id in &media_ids {
        match s.media.get(id) {
            Some(m) if m.state == "succeeded" => {}
            _ => return invalid_request(&format!("Your media IDs are invalid: {id}.")),
        }
    }
    let parent = in_reply_to
        .as_ref()
        .map(|p| s.tweets.iter().find(|t| &t.id == p).cloned());
    if let Some(None) = parent {
        return invalid_request("The Tweet you are replying to does not exist.");
    }
    // X's reply rule since 2026-02-23 (engagement.md): an app answers someone's post only when
    // it mentions or quotes the account.
    if let Some(Some(parent)) = &parent
        && parent.author_id != USER_ID
        && !mentioned(&parent.text)
            .iter()
            .any(|m| m.eq_ignore_ascii_case(USERNAME))
        && !parent.quote_of.as_ref().is_some_and(|q| {
            s.tweets
                .iter()
                .any(|t| &t.id == q && t.author_id == USER_ID)
        })
    {
        return problem(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "Reply to this conversation is not allowed because you have not been mentioned or otherwise engaged by the author of the post you are replying to.",
        );
    }
    let conversation_id = parent.flatten().map(|p| p.conversation_id);
    if s.tweets
        .iter()
        .any(|t| t.author_id == USER_ID && t.text == text)
    {
        return problem(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "You are not allowed to create a Tweet with duplicate content.",
        );
    }
    let now = Timestamp::now();
    let id = s.tweet_id(now);
    s.tweets.push(FakeTweet {
        id: id.clone(),
        text: text.clone(),
        media_ids,
        in_reply_to,
        created_at: now,
        author_id: USER_ID.into(),
        quote_of: None,
        conversation_id: conversation_id.unwrap_or_else(|| id.clone()),
    });
    (
        StatusCode::CREATED,
        axum::Json(json!({"data": {"id": id, "text": text, "edit_history_tweet_ids": [id]}})),
    )
        .into_response()
}

async fn media_initialize(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = unauthorized(&state, &headers) {
        return refused;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return invalid_request("The request body is not valid JSON.");
    };
    let category = body["media_category"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if !["tweet_image", "tweet_gif", "tweet_video", "amplify_video"].contains(&category.as_str()) {
        return invalid_request(&format!("Invalid media_category: {category}"));
    }
    let Some(total_bytes) = body["total_bytes"].as_u64().filter(|n| *n > 0) else {
        return invalid_request("total_bytes must be a positive integer");
    };
    let media_type = body["media_type"].as_str().unwrap_or_default().to_owned();
    if media_type.is_empty() {
        return invalid_request("media_type is required");
    }
    let mut s = lock(&state);
    let id = s.new_id();
    s.media.insert(
        id.clone(),
        FakeMedia {
            id: id.clone(),
            media_type,
            category,
            total_bytes,
            bytes: Vec::new(),
            segments: 0,
            finalized: false,
            alt_text: None,
            state: String::new(),
        },
    );
    s.media_order.push(id.clone());
    axum::Json(
        json!({"data": {"id": id, "media_key": format!("7_{id}"), "expires_after_secs": 86400}}),
    )
    .into_response()
}

/// The parts of a `multipart/form-data` body, by field name.
fn multipart_fields(headers: &HeaderMap, body: &[u8]) -> HashMap<String, Vec<u8>> {
    let mut fields = HashMap::new();
    let Some(boundary) = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("boundary=").nth(1))
        .map(|b| format!("--{}", b.trim_matches('"')))
    else {
        return fields;
    };
    let delimiter = boundary.as_bytes();
    let mut rest = body;
    while let Some(start) = find(rest, delimiter) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let Some(head_end) = find(rest, b"\r\n\r\n") else {
            break;
        };
        let head = String::from_utf8_lossy(&rest[..head_end]).to_string();
        let content = &rest[head_end + 4..];
        let Some(end) = find(content, delimiter) else {
            break;
        };
        // The part's content ends with the CRLF before the next delimiter.
        let value = content[..end]
            .strip_suffix(b"\r\n")
            .unwrap_or(&content[..end]);
        if let Some(name) = head
            .split(';')
            .map(str::trim)
            .find_map(|p| p.strip_prefix("name="))
        {
            fields.insert(name.trim_matches('"').to_owned(), value.to_vec());
        }
        rest = &content[end..];
    }
    fields
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn media_append(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Some(refused) = unauthorized(&state, &headers) {
        return refused;
    }
    let fields = multipart_fields(&headers, &body);
    let (Some(media), Some(segment)) = (fields.get("media"), fields.get("segment_index")) else {
        return invalid_request("APPEND needs multipart fields media and segment_index");
    };
    let segment: usize = String::from_utf8_lossy(segment)
        .parse()
        .unwrap_or(usize::MAX);
    let mut s = lock(&state);
    let Some(upload) = s.media.get_mut(&id) else {
        return invalid_request(&format!("Unknown media_id: {id}"));
    };
    if upload.finalized || segment != upload.segments || segment > 999 {
        return invalid_request(&format!(
            "Segment {segment} is out of order; expected {}",
            upload.segments
        ));
    }
    if media.len() > 8 * 1_048_576 {
        return invalid_request("A segment must be at most 8 MB");
    }
    upload.bytes.extend_from_slice(media);
    upload.segments += 1;
    axum::Json(json!({"data": {"expires_at": Timestamp::now().as_second() + 86400}}))
        .into_response()
}

async fn media_finalize(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = unauthorized(&state, &headers) {
        return refused;
    }
    let mut s = lock(&state);
    let polls = s.processing.polls;
    let Some(upload) = s.media.get_mut(&id) else {
        return invalid_request(&format!("Unknown media_id: {id}"));
    };
    if upload.bytes.len() as u64 != upload.total_bytes {
        return invalid_request(&format!(
            "File size mismatch: received {} bytes of {}",
            upload.bytes.len(),
            upload.total_bytes
        ));
    }
    upload.finalized = true;
    let mut data = json!({
        "id": id,
        "media_key": format!("7_{id}"),
        "size": upload.total_bytes,
        "expires_after_secs": 86400,
    });
    // Images are ready at once; videos and GIFs are processed asynchronously.
    if upload.category == "tweet_image" {
        upload.state = "succeeded".into();
    } else {
        upload.state = "pending".into();
        data["processing_info"] = json!({"state": "pending", "check_after_secs": 1});
        s.pending_polls.insert(id, polls);
    }
    axum::Json(json!({ "data": data })).into_response()
}

async fn media_status(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = unauthorized(&state, &headers) {
        return refused;
    }
    if query.get("command").map(String::as_str) != Some("STATUS") {
        return invalid_request("GET /2/media/upload needs command=STATUS");
    }
    let id = query.get("media_id").cloned().unwrap_or_default();
    let mut s = lock(&state);
    s.status_polls += 1;
    let failure = s.processing.failure.clone();
    let left = s.pending_polls.get(&id).copied();
    let Some(upload) = s.media.get_mut(&id) else {
        return invalid_request(&format!("Unknown media_id: {id}"));
    };
    let info = match left {
        Some(left) if left > 0 => {
            upload.state = "in_progress".into();
            json!({"state": "in_progress", "check_after_secs": 1, "progress_percent": 50})
        }
        _ => match failure {
            Some(reason) => {
                upload.state = "failed".into();
                json!({"state": "failed", "progress_percent": 100,
                       "error": {"code": 1, "name": "InvalidMedia", "message": reason}})
            }
            None => {
                upload.state = "succeeded".into();
                json!({"state": "succeeded", "progress_percent": 100})
            }
        },
    };
    if let Some(left) = s.pending_polls.get_mut(&id) {
        *left = left.saturating_sub(1);
    }
    axum::Json(json!({"data": {"id": id, "media_key": format!("7_{id}"), "processing_info": info}}))
        .into_response()
}

async fn media_metadata(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = unauthorized(&state, &headers) {
        return refused;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return invalid_request("The request body is not valid JSON.");
    };
    let id = body["id"].as_str().unwrap_or_default().to_owned();
    let Some(alt) = body["metadata"]["alt_text"]["text"].as_str() else {
        return invalid_request("metadata.alt_text.text is required");
    };
    if alt.chars().count() > 1000 {
        return invalid_request("Alt text must be at most 1000 characters");
    }
    let mut s = lock(&state);
    let Some(upload) = s.media.get_mut(&id) else {
        return invalid_request(&format!("Unknown media id: {id}"));
    };
    upload.alt_text = Some(alt.to_owned());
    axum::Json(json!({"data": {"id": id, "associated_metadata": true}})).into_response()
}
