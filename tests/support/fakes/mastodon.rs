//! A fake Mastodon server: statuses with a real `Idempotency-Key` (same key, same status), media
//! that is processed asynchronously (202, then 206 while processing, then 200), the instance's
//! configuration, the account's statuses, and Mastodon's rate-limit headers on every answer.
//! Statuses carry counters a test can change; public accounts of other people (competitors) can
//! be seeded and are read without a token, as `accounts/lookup` and account statuses are.
//!
//! The community inbox: people added with [`FakeMastodon::add_person`] reply to statuses and
//! mention the brand ([`FakeMastodon::reply_as`], [`FakeMastodon::mention_as`]); a status that
//! mentions the brand makes a `mention` notification (`GET /api/v1/notifications`, paged by id
//! with Mastodon's `Link` header), and every reply is in its thread
//! (`GET /api/v1/statuses/:id/context`), whether it kept the brand's @mention or not.
//!
//! Moderation: the brand favourites statuses (`POST /api/v1/statuses/:id/favourite`, once per
//! status however often it asks) and deletes its own (`DELETE /api/v1/statuses/:id`; someone
//! else's or a deleted one is a 404), seen with [`FakeMastodon::favourited`] and
//! [`FakeMastodon::deleted`].
//!
//! Visibility is Mastodon's, seen from the brand (the token) or from anyone (no token): `public`
//! and `unlisted` statuses are seen by all; a `private` (followers-only) status of someone else
//! by the brand only when it mentions the brand or the brand follows its author
//! ([`FakeMastodon::follow_person`]); a `direct` one only when it mentions the brand.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::{FakeServer, Faults};

#[path = "mastodon_oauth.rs"]
mod oauth;
pub use oauth::{APP_TOKEN, FakeApp, OOB, SCOPES};

/// The access token the fake accepts.
pub const TOKEN: &str = "mastodon-test-token";
/// The fake account's id and username.
pub const ACCOUNT_ID: &str = "109000000000000001";
pub const USERNAME: &str = "palinsesto";

/// The instance's `configuration` as `GET /api/v2/instance` reports it.
#[derive(Debug, Clone)]
pub struct InstanceConfig {
    pub max_characters: usize,
    pub characters_reserved_per_url: usize,
    pub max_media_attachments: usize,
    pub supported_mime_types: Vec<String>,
    pub image_size_limit: u64,
    pub video_size_limit: u64,
    pub description_limit: usize,
}

impl Default for InstanceConfig {
    /// Mastodon's documented defaults.
    fn default() -> Self {
        Self {
            max_characters: 500,
            characters_reserved_per_url: 23,
            max_media_attachments: 4,
            supported_mime_types: [
                "image/jpeg",
                "image/png",
                "image/gif",
                "image/heic",
                "image/heif",
                "image/webp",
                "image/avif",
                "video/webm",
                "video/mp4",
                "video/quicktime",
                "video/ogg",
                "audio/wave",
                "audio/ogg",
                "audio/mpeg",
            ]
            .map(str::to_owned)
            .to_vec(),
            image_size_limit: 16_777_216,
            video_size_limit: 103_809_024,
            description_limit: 1_500,
        }
    }
}

/// A status as the fake stored it.
#[derive(Debug, Clone)]
pub struct FakeStatus {
    pub id: String,
    pub text: String,
    pub visibility: String,
    pub media_ids: Vec<String>,
    pub in_reply_to_id: Option<String>,
    /// The author of the status it replies to (the brand's [`ACCOUNT_ID`] or a person's id).
    pub in_reply_to_account_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at: Timestamp,
}

/// A notification of the brand's account, as the fake stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeNotification {
    /// An increasing numeric string.
    pub id: String,
    /// Mastodon's `type`: `mention`, `favourite` or `follow` here.
    pub kind: String,
    /// The account that caused it.
    pub account_id: String,
    /// The status it is about (`mention`: the status that mentions the brand; `favourite`: the
    /// brand's status); `None` for a `follow`.
    pub status_id: Option<String>,
    pub created_at: Timestamp,
}

/// An uploaded media attachment.
#[derive(Debug, Clone)]
pub struct FakeMedia {
    pub id: String,
    pub file_name: Option<String>,
    pub content_type: String,
    pub size: usize,
    pub description: Option<String>,
    /// `GET /api/v1/media/:id` requests answered so far.
    pub polls: usize,
    processing_left: usize,
}

impl FakeMedia {
    pub fn is_ready(&self) -> bool {
        self.processing_left == 0
    }
}

/// A status's counters, as Mastodon reports them. `quotes` is `None` on servers before 4.5,
/// which send no `quotes_count` at all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub favourites: u64,
    pub reblogs: u64,
    pub replies: u64,
    pub quotes: Option<u64>,
}

/// A public account seeded on the server: its id and its statuses' ids, oldest first.
#[derive(Debug, Clone)]
pub struct SeededAccount {
    pub id: String,
    pub status_ids: Vec<String>,
}

/// Someone else's account on this server, readable by anyone: a seeded public account or a
/// person added with [`FakeMastodon::add_person`].
struct PublicAccount {
    id: String,
    username: String,
    display_name: String,
    followers: u64,
    statuses: Vec<PublicStatus>,
}

struct PublicStatus {
    id: String,
    text: String,
    created_at: Timestamp,
    in_reply_to_id: Option<String>,
    in_reply_to_account_id: Option<String>,
    visibility: String,
    /// A boost of someone else's status rather than a status of their own.
    reblog: bool,
}

/// Any status on the server: the brand's or someone else's.
#[derive(Clone, Copy)]
enum StatusRef<'a> {
    Brand(&'a FakeStatus),
    Other(&'a PublicAccount, &'a PublicStatus),
}

impl<'a> StatusRef<'a> {
    fn id(&self) -> &'a str {
        match self {
            StatusRef::Brand(s) => &s.id,
            StatusRef::Other(_, s) => &s.id,
        }
    }

    fn number(&self) -> u64 {
        self.id().parse().unwrap_or(0)
    }

    fn in_reply_to_id(&self) -> Option<&'a str> {
        match self {
            StatusRef::Brand(s) => s.in_reply_to_id.as_deref(),
            StatusRef::Other(_, s) => s.in_reply_to_id.as_deref(),
        }
    }

    fn author_id(&self) -> &'a str {
        match self {
            StatusRef::Brand(_) => ACCOUNT_ID,
            StatusRef::Other(a, _) => &a.id,
        }
    }

    fn visibility(&self) -> &'a str {
        match self {
            StatusRef::Brand(s) => &s.visibility,
            StatusRef::Other(_, s) => &s.visibility,
        }
    }

    fn text(&self) -> &'a str {
        match self {
            StatusRef::Brand(s) => &s.text,
            StatusRef::Other(_, s) => &s.text,
        }
    }
}

struct RateWindow {
    limit: u32,
    remaining: u32,
    reset: Timestamp,
}

struct Mastodon {
    base: String,
    config: InstanceConfig,
    statuses: Vec<FakeStatus>,
    /// Idempotency-Key -> status id, as Mastodon keeps it (per account, about an hour).
    idempotency: HashMap<String, String>,
    media: Vec<FakeMedia>,
    next_id: u64,
    status_requests: usize,
    instance_requests: usize,
    /// How many 206 answers a video or GIF gets before it is ready.
    processing_polls: usize,
    processing_fails: bool,
    /// The `POST /api/v1/statuses` requests (1-based) whose answer is lost after the status is made.
    lose_answers: Vec<usize>,
    rate: RateWindow,
    followers: u64,
    /// Status id -> counters; a status not here has all counters at 0.
    counts: HashMap<String, StatusCounts>,
    public_accounts: Vec<PublicAccount>,
    /// The brand's notifications, oldest first.
    notifications: Vec<FakeNotification>,
    next_notification_id: u64,
    /// Ids of the accounts the brand follows (their followers-only statuses are visible to it).
    follows: HashSet<String>,
    notification_requests: usize,
    context_requests: usize,
    /// The statuses the brand favourited, in order, each once (Mastodon keeps one favourite per
    /// account and status).
    favourited: Vec<String>,
    /// The brand's statuses it deleted through the API, in order.
    deleted: Vec<String>,
    /// The OAuth authorization server's apps, codes and switches (mastodon_oauth.rs).
    oauth: oauth::OAuth,
}

type Shared = Arc<Mutex<Mastodon>>;

pub struct FakeMastodon {
    pub server: FakeServer,
    state: Shared,
}

impl FakeMastodon {
    pub async fn start() -> Self {
        Self::start_with(InstanceConfig::default()).await
    }

    pub async fn start_with(config: InstanceConfig) -> Self {
        let state: Shared = Arc::new(Mutex::new(Mastodon {
            base: String::new(),
            config,
            statuses: Vec::new(),
            idempotency: HashMap::new(),
            media: Vec::new(),
            next_id: 110_000_000_000_000_000,
            status_requests: 0,
            instance_requests: 0,
            processing_polls: 2,
            processing_fails: false,
            lose_answers: Vec::new(),
            rate: RateWindow {
                limit: 300,
                remaining: 300,
                reset: window_end(),
            },
            followers: 12,
            counts: HashMap::new(),
            public_accounts: Vec::new(),
            notifications: Vec::new(),
            next_notification_id: 34_975_000,
            follows: HashSet::new(),
            notification_requests: 0,
            context_requests: 0,
            favourited: Vec::new(),
            deleted: Vec::new(),
            oauth: oauth::OAuth::default(),
        }));
        let router = Router::new()
            .route("/api/v2/instance", get(instance))
            .route("/api/v2/media", post(upload_media))
            .route("/api/v1/media/{id}", get(media_status))
            .route("/api/v1/statuses", post(create_status))
            .route(
                "/api/v1/statuses/{id}",
                get(show_status).delete(destroy_status),
            )
            .route("/api/v1/statuses/{id}/favourite", post(favourite_status))
            .route("/api/v1/statuses/{id}/context", get(status_context))
            .route("/api/v1/notifications", get(notifications))
            .route(
                "/api/v1/accounts/verify_credentials",
                get(verify_credentials),
            )
            .route("/api/v1/accounts/lookup", get(lookup_account))
            .route("/api/v1/accounts/{id}", get(show_account))
            .route("/api/v1/accounts/{id}/statuses", get(account_statuses))
            .merge(oauth::routes())
            .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
            .with_state(state.clone());
        let server = FakeServer::start(router).await;
        state.lock().unwrap().base = server.base.clone();
        Self { server, state }
    }

    /// The instance URL (the channel's `instance_url`).
    pub fn base(&self) -> &str {
        &self.server.base
    }

    pub fn faults(&self) -> &Faults {
        &self.server.faults
    }

    /// The channel settings and credentials of the fake account.
    pub fn settings(&self) -> Value {
        json!({"instance_url": self.base()})
    }

    pub fn credentials(&self) -> Value {
        json!({"access_token": TOKEN})
    }

    /// Every status, oldest first.
    pub fn statuses(&self) -> Vec<FakeStatus> {
        self.state.lock().unwrap().statuses.clone()
    }

    pub fn count_statuses_with_text(&self, text: &str) -> usize {
        self.statuses().iter().filter(|s| s.text == text).count()
    }

    /// The direct replies to a status, oldest first.
    pub fn replies_to(&self, id: &str) -> Vec<FakeStatus> {
        self.statuses()
            .into_iter()
            .filter(|s| s.in_reply_to_id.as_deref() == Some(id))
            .collect()
    }

    /// `POST /api/v1/statuses` requests handled, counting repeats answered by idempotency.
    pub fn status_requests(&self) -> usize {
        self.state.lock().unwrap().status_requests
    }

    pub fn media(&self) -> Vec<FakeMedia> {
        self.state.lock().unwrap().media.clone()
    }

    pub fn instance_requests(&self) -> usize {
        self.state.lock().unwrap().instance_requests
    }

    /// Videos and GIFs answer 206 to this many polls before they are ready (default 2).
    pub fn set_processing_polls(&self, polls: usize) {
        self.state.lock().unwrap().processing_polls = polls;
    }

    /// Processing of videos and GIFs fails (the poll answers 422, as Mastodon does).
    pub fn fail_processing(&self) {
        self.state.lock().unwrap().processing_fails = true;
    }

    /// The `n`th `POST /api/v1/statuses` request (1-based, counting every one) is handled, then
    /// its connection is closed without an answer: unlike a `Fault`, this can hit a reply.
    pub fn lose_answer_to_status_request(&self, n: usize) {
        self.state.lock().unwrap().lose_answers.push(n);
    }

    /// Spends the rest of the rate-limit window: the next requests get Mastodon's 429.
    pub fn exhaust_rate_limit(&self) {
        self.state.lock().unwrap().rate.remaining = 0;
    }

    /// When the current rate-limit window ends (the `X-RateLimit-Reset` header).
    pub fn rate_limit_reset(&self) -> Timestamp {
        self.state.lock().unwrap().rate.reset
    }

    /// Sets a status's counters (the brand's or a seeded public account's): favourites rise as
    /// people like it. `quotes_count` stays as it was (absent unless set with
    /// [`FakeMastodon::set_status_quotes`]).
    pub fn set_status_counts(&self, id: &str, favourites: u64, reblogs: u64, replies: u64) {
        let mut m = self.state.lock().unwrap();
        let counts = m.counts.entry(id.to_owned()).or_default();
        counts.favourites = favourites;
        counts.reblogs = reblogs;
        counts.replies = replies;
    }

    /// `Some(n)`: the status reports `quotes_count: n`, as servers from 4.5 do; `None`: the field
    /// is absent, as on older servers (the default).
    pub fn set_status_quotes(&self, id: &str, quotes: Option<u64>) {
        self.state
            .lock()
            .unwrap()
            .counts
            .entry(id.to_owned())
            .or_default()
            .quotes = quotes;
    }

    /// The status is deleted (the brand's or someone else's): reading it answers Mastodon's 404
    /// "Record not found", it leaves its thread's context and its notifications go, as Mastodon
    /// removes them with the status.
    pub fn delete_status(&self, id: &str) {
        let mut m = self.state.lock().unwrap();
        m.statuses.retain(|s| s.id != id);
        for account in &mut m.public_accounts {
            account.statuses.retain(|s| s.id != id);
        }
        m.notifications
            .retain(|n| n.status_id.as_deref() != Some(id));
    }

    /// The account's followers, as `verify_credentials` reports them (default 12).
    pub fn set_followers(&self, followers: u64) {
        self.state.lock().unwrap().followers = followers;
    }

    /// Someone else's public account `username` on this server with `followers` followers and
    /// one status per text, made an hour apart, the last one now. Anyone can look it up and read
    /// its statuses without a token.
    pub fn seed_public_account(
        &self,
        username: &str,
        followers: u64,
        texts: &[&str],
    ) -> SeededAccount {
        let mut m = self.state.lock().unwrap();
        let id = m.new_id();
        let now = Timestamp::now();
        let mut statuses = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            let hours_ago = (texts.len() - 1 - i) as i64;
            statuses.push(PublicStatus {
                id: m.new_id(),
                text: (*text).to_owned(),
                created_at: now
                    .checked_sub(SignedDuration::from_hours(hours_ago))
                    .unwrap(),
                in_reply_to_id: None,
                in_reply_to_account_id: None,
                visibility: "public".into(),
                reblog: false,
            });
        }
        let status_ids = statuses.iter().map(|s| s.id.clone()).collect();
        m.public_accounts.push(PublicAccount {
            id: id.clone(),
            username: username.to_owned(),
            display_name: username.to_owned(),
            followers,
            statuses,
        });
        SeededAccount { id, status_ids }
    }

    pub fn set_public_followers(&self, username: &str, followers: u64) {
        let mut m = self.state.lock().unwrap();
        if let Some(a) = m
            .public_accounts
            .iter_mut()
            .find(|a| a.username == username)
        {
            a.followers = followers;
        }
    }

    /// A public account's reply to its own latest status (a thread), made now. Mastodon's
    /// `exclude_replies` keeps such replies to oneself.
    pub fn add_public_reply(&self, username: &str, text: &str) -> String {
        self.add_public_status(username, text, true, false)
    }

    /// A public account's boost of someone else's status, made now.
    pub fn add_public_reblog(&self, username: &str) -> String {
        self.add_public_status(username, "", false, true)
    }

    fn add_public_status(&self, username: &str, text: &str, reply: bool, reblog: bool) -> String {
        let mut m = self.state.lock().unwrap();
        let id = m.new_id();
        let account = m
            .public_accounts
            .iter_mut()
            .find(|a| a.username == username)
            .expect("a seeded public account");
        let in_reply_to_id = if reply {
            account.statuses.last().map(|s| s.id.clone())
        } else {
            None
        };
        let in_reply_to_account_id = in_reply_to_id.as_ref().map(|_| account.id.clone());
        account.statuses.push(PublicStatus {
            id: id.clone(),
            text: text.to_owned(),
            created_at: Timestamp::now(),
            in_reply_to_id,
            in_reply_to_account_id,
            visibility: "public".into(),
            reblog,
        });
        id
    }

    /// A status the account made some other way (by hand, earlier), for read-back tests.
    pub fn seed_status(&self, text: &str, created_at: Timestamp) -> String {
        let mut m = self.state.lock().unwrap();
        let id = m.new_id();
        m.statuses.push(FakeStatus {
            id: id.clone(),
            text: text.to_owned(),
            visibility: "public".into(),
            media_ids: Vec::new(),
            in_reply_to_id: None,
            in_reply_to_account_id: None,
            idempotency_key: None,
            created_at,
        });
        id
    }

    /// Someone on this server (a follower, a customer) who can talk to the brand; returns the
    /// account's id. Like a seeded public account, anyone can look it up and read its public
    /// statuses. Panics if the username is taken.
    pub fn add_person(&self, username: &str, display_name: &str, followers: u64) -> String {
        let mut m = self.state.lock().unwrap();
        assert!(
            username != USERNAME && !m.public_accounts.iter().any(|a| a.username == username),
            "fake Mastodon: the username {username} is taken"
        );
        let id = m.new_id();
        m.public_accounts.push(PublicAccount {
            id: id.clone(),
            username: username.to_owned(),
            display_name: display_name.to_owned(),
            followers,
            statuses: Vec::new(),
        });
        id
    }

    /// The person's reply to the status `in_reply_to_id` (the brand's or anyone's), made now;
    /// returns its id. With `mention_brand` the text is `@palinsesto {text}` (as the composer
    /// prefills it) and the brand gets a `mention` notification; without it (the replier deleted
    /// the @mention) there is no notification, but the reply is in the thread's context (when
    /// the brand may see it: see the module's note on visibility). `visibility`: `public`,
    /// `unlisted`, `private` or `direct`. The parent's `replies_count` goes up by one.
    pub fn reply_as(
        &self,
        person_username: &str,
        in_reply_to_id: &str,
        text: &str,
        mention_brand: bool,
        visibility: &str,
    ) -> String {
        let mut m = self.state.lock().unwrap();
        let parent_author = m
            .find_status(in_reply_to_id)
            .map(|s| s.author_id().to_owned())
            .unwrap_or_else(|| panic!("fake Mastodon: no status {in_reply_to_id} to reply to"));
        let text = if mention_brand {
            format!("@{USERNAME} {text}")
        } else {
            text.to_owned()
        };
        let id = m.add_person_status(
            person_username,
            text,
            Some((in_reply_to_id.to_owned(), parent_author)),
            visibility,
            mention_brand,
        );
        m.counts
            .entry(in_reply_to_id.to_owned())
            .or_default()
            .replies += 1;
        id
    }

    /// The person's new public status mentioning the brand (`@palinsesto {text}`, unless the
    /// text already mentions it), made now: a `mention` notification. Returns the status id.
    pub fn mention_as(&self, person_username: &str, text: &str) -> String {
        self.new_mention(person_username, text, "public")
    }

    /// The person's new direct message to the brand: a top-level `direct` status mentioning it
    /// (`@palinsesto {text}`, unless the text already mentions it), a `mention` notification.
    /// Returns the status id.
    pub fn direct_as(&self, person_username: &str, text: &str) -> String {
        self.new_mention(person_username, text, "direct")
    }

    fn new_mention(&self, person_username: &str, text: &str, visibility: &str) -> String {
        let mut m = self.state.lock().unwrap();
        let text = if m.mentions_brand(text) {
            text.to_owned()
        } else {
            format!("@{USERNAME} {text}")
        };
        m.add_person_status(person_username, text, None, visibility, true)
    }

    /// The person favourites a status of the brand: a `favourite` notification (its
    /// `favourites_count` goes up by one). Returns the notification's id.
    pub fn favourite_as(&self, person_username: &str, status_id: &str) -> String {
        let mut m = self.state.lock().unwrap();
        let account_id = m.person(person_username).id.clone();
        m.counts.entry(status_id.to_owned()).or_default().favourites += 1;
        m.notify("favourite", &account_id, Some(status_id))
    }

    /// The person follows the brand: a `follow` notification. Returns the notification's id.
    pub fn follow_as(&self, person_username: &str) -> String {
        let mut m = self.state.lock().unwrap();
        let account_id = m.person(person_username).id.clone();
        m.followers += 1;
        m.notify("follow", &account_id, None)
    }

    /// The brand follows the person: the person's followers-only statuses become visible to it.
    pub fn follow_person(&self, username: &str) {
        let mut m = self.state.lock().unwrap();
        let id = m.person(username).id.clone();
        m.follows.insert(id);
    }

    /// The brand's notifications, oldest first.
    pub fn notifications(&self) -> Vec<FakeNotification> {
        self.state.lock().unwrap().notifications.clone()
    }

    /// `GET /api/v1/notifications` requests received (answered or refused).
    pub fn notification_requests(&self) -> usize {
        self.state.lock().unwrap().notification_requests
    }

    /// `GET /api/v1/statuses/:id/context` requests received (answered or refused).
    pub fn context_requests(&self) -> usize {
        self.state.lock().unwrap().context_requests
    }

    /// The statuses the brand favourited (`POST /api/v1/statuses/:id/favourite`), each once.
    pub fn favourited(&self) -> Vec<String> {
        self.state.lock().unwrap().favourited.clone()
    }

    /// The brand's statuses deleted through `DELETE /api/v1/statuses/:id`, in order.
    pub fn deleted(&self) -> Vec<String> {
        self.state.lock().unwrap().deleted.clone()
    }
}

impl Mastodon {
    fn new_id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    /// A person (or seeded public account) by username; panics if there is none.
    fn person(&self, username: &str) -> &PublicAccount {
        self.public_accounts
            .iter()
            .find(|a| a.username == username)
            .unwrap_or_else(|| panic!("fake Mastodon: no person {username} (add_person first)"))
    }

    /// A new status of a person, made now; with `notify_brand`, the brand's `mention`
    /// notification for it.
    fn add_person_status(
        &mut self,
        username: &str,
        text: String,
        reply_to: Option<(String, String)>,
        visibility: &str,
        notify_brand: bool,
    ) -> String {
        assert!(
            ["public", "unlisted", "private", "direct"].contains(&visibility),
            "fake Mastodon: unknown visibility {visibility}"
        );
        let account_id = self.person(username).id.clone();
        let id = self.new_id();
        let (in_reply_to_id, in_reply_to_account_id) = reply_to.unzip();
        let account = self
            .public_accounts
            .iter_mut()
            .find(|a| a.id == account_id)
            .expect("the person");
        account.statuses.push(PublicStatus {
            id: id.clone(),
            text,
            created_at: Timestamp::now(),
            in_reply_to_id,
            in_reply_to_account_id,
            visibility: visibility.to_owned(),
            reblog: false,
        });
        if notify_brand {
            self.notify("mention", &account_id, Some(&id));
        }
        id
    }

    fn notify(&mut self, kind: &str, account_id: &str, status_id: Option<&str>) -> String {
        self.next_notification_id += 1;
        let id = self.next_notification_id.to_string();
        self.notifications.push(FakeNotification {
            id: id.clone(),
            kind: kind.to_owned(),
            account_id: account_id.to_owned(),
            status_id: status_id.map(str::to_owned),
            created_at: Timestamp::now(),
        });
        id
    }

    /// Every status on the server, the brand's and everyone else's.
    fn all_statuses(&self) -> impl Iterator<Item = StatusRef<'_>> {
        self.statuses.iter().map(StatusRef::Brand).chain(
            self.public_accounts
                .iter()
                .flat_map(|a| a.statuses.iter().map(move |s| StatusRef::Other(a, s))),
        )
    }

    fn find_status(&self, id: &str) -> Option<StatusRef<'_>> {
        self.all_statuses().find(|s| s.id() == id)
    }

    /// Mastodon's visibility rules, for the brand (`brand`: the request carries its token) or
    /// for anyone.
    fn can_see(&self, s: StatusRef<'_>, brand: bool) -> bool {
        match s.visibility() {
            "public" | "unlisted" => true,
            _ if !brand => false,
            _ if s.author_id() == ACCOUNT_ID => true,
            "private" => self.mentions_brand(s.text()) || self.follows.contains(s.author_id()),
            _ => self.mentions_brand(s.text()),
        }
    }

    /// The local accounts a text mentions (`@user`, or `@user@` this server's host): their ids
    /// and usernames, in order, without repeats.
    fn mentioned(&self, text: &str) -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = Vec::new();
        for word in text.split_whitespace() {
            if let Some((acct, _)) = split_mention(word)
                && let Some(account) = self.local_account(acct)
                && !found.iter().any(|(id, _)| *id == account.0)
            {
                found.push(account);
            }
        }
        found
    }

    fn mentions_brand(&self, text: &str) -> bool {
        self.mentioned(text).iter().any(|(id, _)| id == ACCOUNT_ID)
    }

    /// A local account's id and username from an `acct` (`user` or `user@host`).
    fn local_account(&self, acct: &str) -> Option<(String, String)> {
        let (username, domain) = match acct.split_once('@') {
            Some((user, domain)) => (user, Some(domain)),
            None => (acct, None),
        };
        if domain.is_some_and(|d| !d.eq_ignore_ascii_case(self.host())) {
            return None;
        }
        if username.eq_ignore_ascii_case(USERNAME) {
            return Some((ACCOUNT_ID.to_owned(), USERNAME.to_owned()));
        }
        self.public_accounts
            .iter()
            .find(|a| a.username.eq_ignore_ascii_case(username))
            .map(|a| (a.id.clone(), a.username.clone()))
    }

    fn host(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// The `mentions` of a status and its HTML `content`, as Mastodon renders them.
    fn mentions_and_content(&self, text: &str) -> (Value, String) {
        let mentioned = self.mentioned(text);
        let mentions: Vec<Value> = mentioned
            .iter()
            .map(|(id, username)| {
                json!({
                    "id": id,
                    "username": username,
                    "acct": username,
                    "url": format!("{}/@{username}", self.base),
                })
            })
            .collect();
        let content = render_html(text, &|acct| {
            self.local_account(acct)
                .map(|(_, username)| (username.clone(), format!("{}/@{username}", self.base)))
        });
        (json!(mentions), content)
    }

    fn status_view(&self, s: StatusRef<'_>) -> Value {
        match s {
            StatusRef::Brand(status) => self.status_json(status),
            StatusRef::Other(account, status) => self.public_status_json(account, status),
        }
    }

    fn status_json(&self, s: &FakeStatus) -> Value {
        let media: Vec<Value> = s
            .media_ids
            .iter()
            .filter_map(|id| self.media.iter().find(|m| &m.id == id))
            .map(|m| self.media_json(m))
            .collect();
        let in_reply_to_account_id = s.in_reply_to_id.as_ref().map(|_| {
            s.in_reply_to_account_id
                .clone()
                .unwrap_or_else(|| ACCOUNT_ID.to_owned())
        });
        let (mentions, content) = self.mentions_and_content(&s.text);
        let mut status = json!({
            "id": s.id,
            "created_at": mastodon_time(s.created_at),
            "in_reply_to_id": s.in_reply_to_id,
            "in_reply_to_account_id": in_reply_to_account_id,
            "sensitive": false,
            "spoiler_text": "",
            "visibility": s.visibility,
            "language": "en",
            "uri": format!("{}/users/{USERNAME}/statuses/{}", self.base, s.id),
            "url": format!("{}/@{USERNAME}/{}", self.base, s.id),
            "content": content,
            "reblog": null,
            "account": self.account_json(),
            "media_attachments": media,
            "mentions": mentions,
            "tags": [],
        });
        self.add_counts(&mut status, &s.id);
        status
    }

    fn add_counts(&self, status: &mut Value, id: &str) {
        let counts = self.counts.get(id).copied().unwrap_or_default();
        status["replies_count"] = json!(counts.replies);
        status["reblogs_count"] = json!(counts.reblogs);
        status["favourites_count"] = json!(counts.favourites);
        if let Some(quotes) = counts.quotes {
            status["quotes_count"] = json!(quotes);
        }
    }

    fn public_account_json(&self, a: &PublicAccount) -> Value {
        json!({
            "id": a.id,
            "username": a.username,
            "acct": a.username,
            "display_name": a.display_name,
            "locked": false,
            "bot": false,
            "url": format!("{}/@{}", self.base, a.username),
            "avatar": format!("{}/avatars/{}.png", self.base, a.id),
            "avatar_static": format!("{}/avatars/{}.png", self.base, a.id),
            "followers_count": a.followers,
            "following_count": 3,
            "statuses_count": a.statuses.len(),
        })
    }

    fn public_status_json(&self, a: &PublicAccount, s: &PublicStatus) -> Value {
        let url = format!("{}/@{}/{}", self.base, a.username, s.id);
        let reblog = s.reblog.then(|| {
            json!({
                "id": format!("{}0", s.id),
                "created_at": mastodon_time(s.created_at),
                "content": "<p>someone else's status</p>",
                "account": {"id": "1", "username": "someone", "acct": "someone@elsewhere.example"},
            })
        });
        let (mentions, content) = self.mentions_and_content(&s.text);
        let mut status = json!({
            "id": s.id,
            "created_at": mastodon_time(s.created_at),
            "in_reply_to_id": s.in_reply_to_id,
            "in_reply_to_account_id": s.in_reply_to_account_id,
            "sensitive": false,
            "spoiler_text": "",
            "visibility": s.visibility,
            "language": "en",
            "uri": format!("{}/users/{}/statuses/{}", self.base, a.username, s.id),
            "url": if s.reblog { Value::Null } else { json!(url) },
            "content": content,
            "reblog": reblog,
            "account": self.public_account_json(a),
            "media_attachments": [],
            "mentions": mentions,
            "tags": [],
        });
        self.add_counts(&mut status, &s.id);
        status
    }

    fn public_account(&self, id: &str) -> Option<&PublicAccount> {
        self.public_accounts.iter().find(|a| a.id == id)
    }

    fn media_json(&self, m: &FakeMedia) -> Value {
        let kind = match m.content_type.as_str() {
            "image/gif" => "gifv",
            t if t.starts_with("video/") => "video",
            _ => "image",
        };
        let url = m
            .is_ready()
            .then(|| format!("{}/system/media/{}", self.base, m.id));
        json!({
            "id": m.id,
            "type": kind,
            "url": url,
            "preview_url": format!("{}/system/media/{}/small", self.base, m.id),
            "description": m.description,
            "meta": {},
            "blurhash": null,
        })
    }

    fn account_json(&self) -> Value {
        json!({
            "id": ACCOUNT_ID,
            "username": USERNAME,
            "acct": USERNAME,
            "display_name": "Palinsesto test",
            "url": format!("{}/@{USERNAME}", self.base),
            "avatar": format!("{}/avatars/{ACCOUNT_ID}.png", self.base),
            "avatar_static": format!("{}/avatars/{ACCOUNT_ID}.png", self.base),
            "followers_count": self.followers,
            "following_count": 7,
            "statuses_count": self.statuses.len(),
        })
    }

    /// Mastodon's length: code points, every URL counting as `characters_reserved_per_url`.
    fn length(&self, text: &str) -> usize {
        text.split_inclusive(char::is_whitespace)
            .map(|word| {
                let trimmed = word.trim_end();
                if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
                    self.config.characters_reserved_per_url + (word.len() - trimmed.len())
                } else {
                    word.chars().count()
                }
            })
            .sum()
    }
}

fn window_end() -> Timestamp {
    Timestamp::now()
        .checked_add(SignedDuration::from_mins(5))
        .unwrap()
}

/// Mastodon's timestamps: ISO 8601 with milliseconds, UTC.
fn mastodon_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

/// Mastodon's 401 unless the request carries the fake's token.
fn unauthorized(headers: &HeaderMap) -> Option<Response> {
    let expected = format!("Bearer {TOKEN}");
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        Some(given) if given == expected => None,
        _ => Some(error(
            StatusCode::UNAUTHORIZED,
            "The access token is invalid",
        )),
    }
}

/// 300 requests per 5 minutes, with Mastodon's headers on every answer (the reset as ISO 8601).
async fn rate_limit(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let (exhausted, limit, remaining, reset) = {
        let mut m = state.lock().unwrap();
        if Timestamp::now() >= m.rate.reset {
            m.rate.remaining = m.rate.limit;
            m.rate.reset = window_end();
        }
        let exhausted = m.rate.remaining == 0;
        m.rate.remaining = m.rate.remaining.saturating_sub(1);
        (exhausted, m.rate.limit, m.rate.remaining, m.rate.reset)
    };
    let mut response = if exhausted {
        error(StatusCode::TOO_MANY_REQUESTS, "Too many requests")
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    let reset = reset.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    for (name, value) in [
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-reset", reset),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

async fn instance(State(state): State<Shared>) -> Response {
    let mut m = state.lock().unwrap();
    m.instance_requests += 1;
    let c = &m.config;
    Json(json!({
        "domain": m.base.trim_start_matches("http://"),
        "title": "Fake Mastodon",
        "version": "4.3.0",
        "configuration": {
            "urls": {"streaming": "wss://example.invalid"},
            "accounts": {"max_featured_tags": 10},
            "statuses": {
                "max_characters": c.max_characters,
                "max_media_attachments": c.max_media_attachments,
                "characters_reserved_per_url": c.characters_reserved_per_url,
            },
            "media_attachments": {
                "supported_mime_types": c.supported_mime_types,
                "description_limit": c.description_limit,
                "image_size_limit": c.image_size_limit,
                "image_matrix_limit": 33_177_600,
                "video_size_limit": c.video_size_limit,
                "video_frame_rate_limit": 120,
                "video_matrix_limit": 8_294_400,
            },
            "polls": {"max_options": 4},
        },
        "registrations": {"enabled": false},
    }))
    .into_response()
}

async fn upload_media(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = unauthorized(&headers) {
        return refused;
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let parts = form_parts(content_type, &body).unwrap_or_default();
    let Some(file) = parts
        .iter()
        .find(|p| p.name == "file" && p.file_name.is_some())
    else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation failed: File can't be blank",
        );
    };
    let description = parts
        .iter()
        .find(|p| p.name == "description")
        .map(|p| String::from_utf8_lossy(&p.data).into_owned());
    let file_type = file
        .content_type
        .clone()
        .unwrap_or_else(|| "application/octet-stream".into());

    let mut m = state.lock().unwrap();
    if !m.config.supported_mime_types.contains(&file_type) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation failed: File content type is invalid, File is invalid",
        );
    }
    let is_video = file_type.starts_with("video/");
    let limit = if is_video {
        m.config.video_size_limit
    } else {
        m.config.image_size_limit
    };
    if file.data.len() as u64 > limit {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!(
                "Validation failed: File file size must be less than {} MB",
                limit / 1_048_576
            ),
        );
    }
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > m.config.description_limit)
    {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!(
                "Validation failed: Description is too long (maximum is {} characters)",
                m.config.description_limit
            ),
        );
    }
    // Videos and GIFs (converted to video) are processed after the upload; images right away.
    let processed_later = is_video || file_type == "image/gif";
    let id = m.new_id();
    let media = FakeMedia {
        id,
        file_name: file.file_name.clone(),
        content_type: file_type,
        size: file.data.len(),
        description,
        polls: 0,
        processing_left: if processed_later {
            m.processing_polls
        } else {
            0
        },
    };
    let status = if media.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let answer = m.media_json(&media);
    m.media.push(media);
    (status, Json(answer)).into_response()
}

async fn media_status(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = unauthorized(&headers) {
        return refused;
    }
    let mut m = state.lock().unwrap();
    let fails = m.processing_fails;
    let Some(i) = m.media.iter().position(|x| x.id == id) else {
        return error(StatusCode::NOT_FOUND, "Record not found");
    };
    m.media[i].polls += 1;
    if m.media[i].processing_left > 0 {
        m.media[i].processing_left -= 1;
        let answer = m.media_json(&m.media[i]);
        return (StatusCode::PARTIAL_CONTENT, Json(answer)).into_response();
    }
    if fails {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Error processing thumbnail for uploaded media",
        );
    }
    let answer = m.media_json(&m.media[i]);
    (StatusCode::OK, Json(answer)).into_response()
}

async fn create_status(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = unauthorized(&headers) {
        return refused;
    }
    let Ok(params) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation failed: Text can't be blank",
        );
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut m = state.lock().unwrap();
    m.status_requests += 1;

    // As Mastodon does: a known key answers the original status before anything is validated.
    if let Some(existing) = key.as_ref().and_then(|k| m.idempotency.get(k)).cloned()
        && let Some(status) = m.statuses.iter().find(|s| s.id == existing)
    {
        return Json(m.status_json(status)).into_response();
    }

    let text = params["status"].as_str().unwrap_or("").to_owned();
    let media_ids: Vec<String> = params["media_ids"]
        .as_array()
        .map(|ids| {
            ids.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let visibility = params["visibility"].as_str().unwrap_or("public").to_owned();
    let in_reply_to_id = params["in_reply_to_id"].as_str().map(str::to_owned);

    if media_ids.len() > m.config.max_media_attachments {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!(
                "Cannot attach more than {} files",
                m.config.max_media_attachments
            ),
        );
    }
    for id in &media_ids {
        match m.media.iter().find(|x| &x.id == id) {
            None => {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("Validation failed: Media with ID {id} was not found"),
                );
            }
            Some(media) if !media.is_ready() => {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Cannot attach files that have not finished processing. Try again in a moment!",
                );
            }
            Some(_) => {}
        }
    }
    if text.trim().is_empty() && media_ids.is_empty() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation failed: Text can't be blank",
        );
    }
    if m.length(&text) > m.config.max_characters {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!(
                "Validation failed: Text character limit of {} exceeded",
                m.config.max_characters
            ),
        );
    }
    if !["public", "unlisted", "private", "direct"].contains(&visibility.as_str()) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation failed: Visibility is not included in the list",
        );
    }
    // The brand may reply to any status it can see, its own or someone else's.
    let mut in_reply_to_account_id = None;
    if let Some(parent) = &in_reply_to_id {
        match m.find_status(parent) {
            Some(s) if m.can_see(s, true) => {
                in_reply_to_account_id = Some(s.author_id().to_owned());
            }
            _ => return error(StatusCode::NOT_FOUND, "Record not found"),
        }
    }

    let id = m.new_id();
    let status = FakeStatus {
        id: id.clone(),
        text,
        visibility,
        media_ids,
        in_reply_to_id,
        in_reply_to_account_id,
        idempotency_key: key.clone(),
        created_at: Timestamp::now(),
    };
    let answer = m.status_json(&status);
    m.statuses.push(status);
    if let Some(key) = key {
        m.idempotency.insert(key, id);
    }
    let lose = m.lose_answers.contains(&m.status_requests);
    drop(m);
    if lose {
        // As the kit's DropAfterReceive: unwinding the connection's task closes it unanswered.
        std::panic::resume_unwind(Box::new("fake: the answer to this status is lost"));
    }
    Json(answer).into_response()
}

async fn verify_credentials(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(refused) = unauthorized(&headers) {
        return refused;
    }
    Json(state.lock().unwrap().account_json()).into_response()
}

/// `GET /api/v1/statuses/:id`: the status with its counters; 404 once it is deleted, or when
/// the brand may not see it.
async fn show_status(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = unauthorized(&headers) {
        return refused;
    }
    let m = state.lock().unwrap();
    match m.find_status(&id) {
        Some(status) if m.can_see(status, true) => Json(m.status_view(status)).into_response(),
        _ => error(StatusCode::NOT_FOUND, "Record not found"),
    }
}

/// `POST /api/v1/statuses/:id/favourite`: the status, `favourited: true`. Favouriting it again
/// changes nothing and answers the same; 404 when the status is gone or the brand may not see it.
async fn favourite_status(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = unauthorized(&headers) {
        return refused;
    }
    let mut m = state.lock().unwrap();
    if !m.find_status(&id).is_some_and(|s| m.can_see(s, true)) {
        return error(StatusCode::NOT_FOUND, "Record not found");
    }
    if !m.favourited.contains(&id) {
        m.favourited.push(id.clone());
        m.counts.entry(id.clone()).or_default().favourites += 1;
    }
    let status = m.find_status(&id).expect("the status");
    let mut view = m.status_view(status);
    view["favourited"] = json!(true);
    Json(view).into_response()
}

/// `DELETE /api/v1/statuses/:id`: deletes one of the brand's statuses and answers it with its
/// source `text` (for "delete and redraft"). Mastodon looks the id up among the account's own
/// statuses only: someone else's status, or one already deleted, is its 404 "Record not found".
async fn destroy_status(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = unauthorized(&headers) {
        return refused;
    }
    let mut m = state.lock().unwrap();
    let Some(index) = m.statuses.iter().position(|s| s.id == id) else {
        return error(StatusCode::NOT_FOUND, "Record not found");
    };
    let mut view = m.status_json(&m.statuses[index]);
    view["text"] = json!(m.statuses[index].text);
    m.statuses.remove(index);
    m.notifications
        .retain(|n| n.status_id.as_deref() != Some(id.as_str()));
    m.deleted.push(id);
    Json(view).into_response()
}

/// `GET /api/v1/accounts/:id`: the brand's account or someone else's, public.
async fn show_account(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    let m = state.lock().unwrap();
    if id == ACCOUNT_ID {
        return Json(m.account_json()).into_response();
    }
    match m.public_account(&id) {
        Some(account) => Json(m.public_account_json(account)).into_response(),
        None => error(StatusCode::NOT_FOUND, "Record not found"),
    }
}

/// `GET /api/v1/statuses/:id/context`: the ancestors (root first) and the descendants (thread
/// order: depth first, replies oldest first) the requester may see. Without a token, as
/// Mastodon: at most 40 ancestors and 60 descendants, 20 levels deep; with one, 4,096 each.
async fn status_context(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    state.lock().unwrap().context_requests += 1;
    // No token: anyone; the brand's token: the brand; any other token: Mastodon's 401.
    let brand = headers.contains_key("authorization");
    if brand && let Some(refused) = unauthorized(&headers) {
        return refused;
    }
    let m = state.lock().unwrap();
    let Some(status) = m.find_status(&id).filter(|s| m.can_see(*s, brand)) else {
        return error(StatusCode::NOT_FOUND, "Record not found");
    };
    let (ancestors_limit, descendants_limit, depth_limit) = if brand {
        (4_096, 4_096, usize::MAX)
    } else {
        (40, 60, 20)
    };

    let mut ancestors = Vec::new();
    let mut seen = HashSet::from([status.id()]);
    let mut parent = status.in_reply_to_id();
    while let Some(parent_id) = parent {
        if ancestors.len() >= ancestors_limit || !seen.insert(parent_id) {
            break;
        }
        let Some(p) = m.find_status(parent_id) else {
            break;
        };
        if m.can_see(p, brand) {
            ancestors.push(p);
        }
        parent = p.in_reply_to_id();
    }
    ancestors.reverse();

    let all: Vec<StatusRef<'_>> = m.all_statuses().collect();
    let mut descendants = Vec::new();
    // Depth first; the stack holds (status, depth), children pushed newest first so that the
    // oldest is visited first.
    let children = |of: &str| {
        let mut c: Vec<StatusRef<'_>> = all
            .iter()
            .copied()
            .filter(|s| s.in_reply_to_id() == Some(of))
            .collect();
        c.sort_by_key(|s| std::cmp::Reverse(s.number()));
        c
    };
    let mut stack: Vec<(StatusRef<'_>, usize)> =
        children(status.id()).into_iter().map(|s| (s, 1)).collect();
    while let Some((s, depth)) = stack.pop() {
        if descendants.len() >= descendants_limit {
            break;
        }
        if !seen.insert(s.id()) {
            continue;
        }
        if m.can_see(s, brand) {
            descendants.push(s);
        }
        if depth < depth_limit {
            stack.extend(children(s.id()).into_iter().map(|c| (c, depth + 1)));
        }
    }

    Json(json!({
        "ancestors": ancestors.into_iter().map(|s| m.status_view(s)).collect::<Vec<_>>(),
        "descendants": descendants.into_iter().map(|s| m.status_view(s)).collect::<Vec<_>>(),
    }))
    .into_response()
}

/// A request's query, with Rails' array parameters (`types[]=a&types[]=b`).
struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name[]` (or of a plain `name`).
    fn all(&self, name: &str) -> Vec<&str> {
        let array = format!("{name}[]");
        self.0
            .iter()
            .filter(|(k, _)| *k == array || k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn flag(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v == "true" || v == "1")
    }

    fn id(&self, name: &str) -> Option<u64> {
        self.get(name).and_then(|v| v.parse().ok())
    }

    /// `limit`, `default` when absent, at most `max` (Mastodon's `limit_param`).
    fn limit(&self, default: usize, max: usize) -> usize {
        self.get("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(default)
            .clamp(1, max)
    }
}

/// Mastodon's pagination by id over `items` (any order): `max_id` (older than), `since_id` (the
/// newest page newer than), `min_id` (the page immediately newer than); newest first.
fn paginate<T>(mut items: Vec<(u64, T)>, query: &QueryParams, limit: usize) -> Vec<(u64, T)> {
    let max_id = query.id("max_id");
    let since_id = query.id("since_id");
    let min_id = query.id("min_id");
    items.retain(|(id, _)| {
        max_id.is_none_or(|max| *id < max)
            && since_id.is_none_or(|since| *id > since)
            && min_id.is_none_or(|min| *id > min)
    });
    if min_id.is_some() {
        items.sort_by_key(|(id, _)| *id);
        items.truncate(limit);
        items.reverse();
    } else {
        items.sort_by_key(|(id, _)| std::cmp::Reverse(*id));
        items.truncate(limit);
    }
    items
}

/// Mastodon's `Link` header for a page (newest first): `next` (older, `max_id` of the last
/// item) and `prev` (newer, `min_id` of the first), keeping the query's other parameters;
/// none for an empty page.
fn link_header(base: &str, path: &str, query: &QueryParams, page_ids: &[u64]) -> Option<String> {
    let (first, last) = (page_ids.first()?, page_ids.last()?);
    let mut kept: Vec<(&str, &str)> = query
        .0
        .iter()
        .filter(|(k, _)| !["max_id", "since_id", "min_id"].contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    kept.sort_by_key(|(k, _)| *k);
    let url = |name: &str, id: u64| {
        let id = id.to_string();
        let mut pairs = kept.clone();
        pairs.push((name, &id));
        pairs.sort_by_key(|(k, _)| *k);
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
            .collect();
        format!("{base}{path}?{}", query.join("&"))
    };
    Some(format!(
        "<{}>; rel=\"next\", <{}>; rel=\"prev\"",
        url("max_id", *last),
        url("min_id", *first)
    ))
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn with_link(answer: Value, link: Option<String>) -> Response {
    let mut response = Json(answer).into_response();
    if let Some(link) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert("link", link);
    }
    response
}

/// `GET /api/v1/notifications`: the brand's notifications, newest first, filtered by `types[]`
/// and `exclude_types[]`, paged by id (`max_id`, `since_id`, `min_id`, `limit` 40, at most 80)
/// with the `Link` header.
async fn notifications(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    state.lock().unwrap().notification_requests += 1;
    if let Some(refused) = unauthorized(&headers) {
        return refused;
    }
    let query = QueryParams(query);
    let types = query.all("types");
    let exclude = query.all("exclude_types");
    let m = state.lock().unwrap();
    let items: Vec<(u64, &FakeNotification)> = m
        .notifications
        .iter()
        .filter(|n| types.is_empty() || types.contains(&n.kind.as_str()))
        .filter(|n| !exclude.contains(&n.kind.as_str()))
        .map(|n| (n.id.parse().unwrap_or(0), n))
        .collect();
    let page = paginate(items, &query, query.limit(40, 80));
    let ids: Vec<u64> = page.iter().map(|(id, _)| *id).collect();
    let answer: Vec<Value> = page
        .into_iter()
        .map(|(_, n)| {
            let account = if n.account_id == ACCOUNT_ID {
                m.account_json()
            } else {
                m.public_account(&n.account_id)
                    .map(|a| m.public_account_json(a))
                    .unwrap_or(Value::Null)
            };
            let status = n
                .status_id
                .as_deref()
                .and_then(|id| m.find_status(id))
                .map(|s| m.status_view(s));
            let mut notification = json!({
                "id": n.id,
                "type": n.kind,
                "created_at": mastodon_time(n.created_at),
                "group_key": format!("ungrouped-{}", n.id),
                "account": account,
            });
            if let Some(status) = status {
                notification["status"] = status;
            }
            notification
        })
        .collect();
    let link = link_header(&m.base, "/api/v1/notifications", &query, &ids);
    with_link(json!(answer), link)
}

/// `GET /api/v1/accounts/lookup?acct=`: public, no token needed.
async fn lookup_account(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(acct) = query.get("acct") else {
        return error(StatusCode::BAD_REQUEST, "Missing acct");
    };
    // This server's own accounts may be named with or without its domain.
    let username = acct.trim_start_matches('@').split('@').next().unwrap_or("");
    let m = state.lock().unwrap();
    if username == USERNAME {
        return Json(m.account_json()).into_response();
    }
    match m.public_accounts.iter().find(|a| a.username == username) {
        Some(account) => Json(m.public_account_json(account)).into_response(),
        None => error(StatusCode::NOT_FOUND, "Record not found"),
    }
}

/// An account's statuses, newest first (`limit` 20, at most 40; `max_id`, `since_id`,
/// `min_id`; the `Link` header): `exclude_reblogs` drops boosts, `exclude_replies` drops replies
/// to others but, as Mastodon does, keeps replies to oneself.
fn account_page(
    m: &Mastodon,
    id: &str,
    statuses: Vec<StatusRef<'_>>,
    query: &QueryParams,
) -> Response {
    let items: Vec<(u64, StatusRef<'_>)> = statuses
        .into_iter()
        .filter(|s| {
            !(query.flag("exclude_reblogs") && matches!(s, StatusRef::Other(_, p) if p.reblog))
        })
        .filter(|s| {
            !query.flag("exclude_replies")
                || s.in_reply_to_id().is_none_or(|parent| {
                    m.find_status(parent)
                        .is_some_and(|p| p.author_id() == s.author_id())
                })
        })
        .map(|s| (s.number(), s))
        .collect();
    let page = paginate(items, query, query.limit(20, 40));
    let ids: Vec<u64> = page.iter().map(|(id, _)| *id).collect();
    let answer: Vec<Value> = page.into_iter().map(|(_, s)| m.status_view(s)).collect();
    let link = link_header(
        &m.base,
        &format!("/api/v1/accounts/{id}/statuses"),
        query,
        &ids,
    );
    with_link(json!(answer), link)
}

/// `GET /api/v1/accounts/:id/statuses`: someone else's statuses the requester may see (no token
/// needed), or, with the token, all of the brand's.
async fn account_statuses(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let query = QueryParams(query);
    {
        let m = state.lock().unwrap();
        if let Some(account) = m.public_account(&id) {
            // Read without a token (a competitor's); the brand's token also shows what only
            // the brand may see.
            let brand = unauthorized(&headers).is_none();
            let statuses = account
                .statuses
                .iter()
                .map(|s| StatusRef::Other(account, s))
                .filter(|s| m.can_see(*s, brand))
                .collect();
            return account_page(&m, &id, statuses, &query);
        }
    }
    if let Some(refused) = unauthorized(&headers) {
        return refused;
    }
    if id != ACCOUNT_ID {
        return error(StatusCode::NOT_FOUND, "Record not found");
    }
    let m = state.lock().unwrap();
    let statuses = m.statuses.iter().map(StatusRef::Brand).collect();
    account_page(&m, &id, statuses, &query)
}

/// An `@user` or `@user@host` word: the `acct` and what follows it (punctuation).
fn split_mention(word: &str) -> Option<(&str, &str)> {
    let rest = word.strip_prefix('@')?;
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || "_@.-:".contains(c)))
        .unwrap_or(rest.len());
    let acct = rest[..end].trim_end_matches(['.', ':', '-', '@']);
    if acct.is_empty() || acct.starts_with('@') {
        return None;
    }
    Some((acct, &rest[acct.len()..]))
}

/// Mastodon's rendering of a plain-text status: escaped, paragraphs, line breaks, links split
/// into hidden and visible spans, and mentions of local accounts (`mention` resolves an `acct`
/// to its username and profile URL) as h-cards.
fn render_html(text: &str, mention: &dyn Fn(&str) -> Option<(String, String)>) -> String {
    text.split("\n\n")
        .map(|paragraph| {
            let lines: Vec<String> = paragraph
                .split('\n')
                .map(|line| {
                    line.split(' ')
                        .map(|word| {
                            if let Some((acct, after)) = split_mention(word)
                                && let Some((username, url)) = mention(acct)
                            {
                                format!(
                                    "<span class=\"h-card\" translate=\"no\"><a href=\"{url}\" class=\"u-url mention\">@<span>{user}</span></a></span>{after}",
                                    url = escape(&url),
                                    user = escape(&username),
                                    after = escape(after)
                                )
                            } else if let Some(rest) = word.strip_prefix("https://") {
                                format!(
                                    "<a href=\"{href}\" rel=\"nofollow noopener\" target=\"_blank\"><span class=\"invisible\">https://</span><span class=\"\">{shown}</span><span class=\"invisible\"></span></a>",
                                    href = escape(word),
                                    shown = escape(rest)
                                )
                            } else {
                                escape(word)
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            format!("<p>{}</p>", lines.join("<br />"))
        })
        .collect()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone)]
pub struct FormPart {
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub data: Bytes,
}

/// The parts of a `multipart/form-data` body; `None` when it is not one. Used by every fake
/// that receives uploads.
pub fn form_parts(content_type: &str, body: &[u8]) -> Option<Vec<FormPart>> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let next_delimiter = format!("\r\n--{boundary}");
    let mut rest = &body[find(body, delimiter.as_bytes())? + delimiter.len()..];
    let mut parts = Vec::new();
    while !rest.starts_with(b"--") {
        rest = rest.strip_prefix(b"\r\n")?;
        let header_end = find(rest, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&rest[..header_end]).ok()?;
        let content = &rest[header_end + 4..];
        let end = find(content, next_delimiter.as_bytes())?;
        let mut part = FormPart {
            name: String::new(),
            file_name: None,
            content_type: None,
            data: Bytes::copy_from_slice(&content[..end]),
        };
        for line in head.split("\r\n") {
            let Some((header, value)) = line.split_once(':') else {
                continue;
            };
            match header.trim().to_ascii_lowercase().as_str() {
                "content-disposition" => {
                    for attribute in value.split(';').map(str::trim) {
                        if let Some(v) = attribute.strip_prefix("name=") {
                            part.name = v.trim_matches('"').to_owned();
                        } else if let Some(v) = attribute.strip_prefix("filename=") {
                            part.file_name = Some(v.trim_matches('"').to_owned());
                        }
                    }
                }
                "content-type" => part.content_type = Some(value.trim().to_owned()),
                _ => {}
            }
        }
        parts.push(part);
        rest = &content[end + next_delimiter.len()..];
    }
    Some(parts)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
