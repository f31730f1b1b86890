//! A fake Bluesky PDS built from the lexicons and the reference PDS's documented answers: app-password
//! sessions with access JWTs that can be made to expire, blobs, validated post records, read-back.
//!
//! Stricter than the real PDS in one place, on purpose: facet byte ranges are checked against the
//! text (the real one accepts any range and the app silently drops bad facets).
//!
//! It also stands in for the AppView behind the PDS: `getPosts` and `getProfile` with counters a
//! test can change (the PDS proxies them with the session's token), and, without any token,
//! `getProfile` and `getAuthorFeed` for seeded public actors (competitors) and for the brand.
//!
//! The community inbox: people added with [`FakeBluesky::add_person`] reply, mention, quote,
//! like and follow ([`FakeBluesky::reply_as`], [`FakeBluesky::mention_as`],
//! [`FakeBluesky::quote_as`], ...); the AppView's notifications follow from them as its indexer
//! makes them (`app.bsky.notification.listNotifications`, `updateSeen`), and threads read back
//! with `app.bsky.feed.getPostThread`.
//!
//! Moderation: besides posts, the brand's repository keeps its likes (`app.bsky.feed.like`) and
//! thread gates (`app.bsky.feed.threadgate`), created with `createRecord`, written with
//! `putRecord` (with `swapRecord`'s compare-and-swap), read with `getRecord` and deleted with
//! `deleteRecord` (which deletes or ensures the record is gone). Stricter than the real PDS here
//! too: a thread gate must name the brand's post with its own record key, as the lexicon says the
//! AppView requires (the PDS itself stores any). [`FakeBluesky::hidden_replies`] and
//! [`FakeBluesky::likes`] show the state.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::FakeServer;

/// The account's login, as a channel's credentials carry it.
pub const IDENTIFIER: &str = "brand.test";
pub const APP_PASSWORD: &str = "abcd-efgh-ijkl-mnop";
pub const DID: &str = "did:plc:brandbrandbrandbrand2345";

const POST: &str = "app.bsky.feed.post";
const LIKE: &str = "app.bsky.feed.like";
const THREADGATE: &str = "app.bsky.feed.threadgate";
/// The threadgate lexicon's limits: `allow` rules and `hiddenReplies`.
const MAX_GATE_RULES: usize = 5;
const MAX_HIDDEN_REPLIES: usize = 300;
const MAX_GRAPHEMES: usize = 300;
const MAX_TEXT_BYTES: usize = 3000;
const MAX_IMAGE_BYTES: usize = 1_000_000;
const MAX_VIDEO_BYTES: usize = 100_000_000;

/// A post's counters, as the AppView reports them. `bookmarks: None` leaves `bookmarkCount` out,
/// as AppViews from before bookmarks did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PostCounts {
    pub likes: u64,
    pub reposts: u64,
    pub replies: u64,
    pub quotes: u64,
    pub bookmarks: Option<u64>,
}

/// A public actor seeded on the AppView: its DID and its posts' at-uris, oldest first.
#[derive(Debug, Clone)]
pub struct SeededActor {
    pub did: String,
    pub post_uris: Vec<String>,
}

/// Someone else's account, readable by anyone: a seeded public actor or a person added with
/// [`FakeBluesky::add_person`].
struct PublicActor {
    did: String,
    handle: String,
    display_name: String,
    followers: u64,
    feed: Vec<FeedEntry>,
}

struct FeedEntry {
    uri: String,
    text: String,
    created_at: Timestamp,
    /// The post it replies to (a reply is left out of `posts_no_replies`).
    reply_to: Option<String>,
    /// A repost of someone else's post: the feed item carries a `reason`.
    repost: bool,
    /// The whole post record (reply refs, facets, embed) of a person's post; `None`: a plain
    /// record made from `text` and `reply_to`.
    record: Option<Value>,
}

/// A notification of the brand's account, as the fake's AppView stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeNotification {
    /// The record that caused it (the reply, the mention, the quote, the like, the follow).
    pub uri: String,
    pub cid: String,
    pub author_did: String,
    /// `reply`, `mention`, `quote`, `like` or `follow`.
    pub reason: String,
    /// The brand's post it is about (`reply`: the brand's closest post above the reply; `quote`:
    /// the quoted post; `like`: the liked post); `None` for `mention` and `follow`.
    pub reason_subject: Option<String>,
    /// The record itself, as the notification carries it.
    pub record: Value,
    pub indexed_at: Timestamp,
}

/// Any post the AppView knows: the brand's or someone else's.
struct PostInfo {
    uri: String,
    cid: String,
    author: Value,
    record: Value,
    created_at: Timestamp,
}

/// Replies notify the authors of the posts up to this many levels above them, exclusive (the
/// AppView's `REPLY_NOTIF_DEPTH`).
const REPLY_NOTIF_DEPTH: usize = 5;

/// One record in the fake repository.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub uri: String,
    pub rkey: String,
    pub cid: String,
    pub value: Value,
}

impl StoredRecord {
    pub fn text(&self) -> &str {
        self.value["text"].as_str().unwrap_or_default()
    }
}

#[derive(Default)]
struct Account {
    base: String,
    /// Access JWT -> expired?
    access: HashMap<String, bool>,
    refresh: HashSet<String>,
    issued: u64,
    session_creations: usize,
    session_refreshes: usize,
    /// cid -> (mime type, size)
    blobs: HashMap<String, (String, usize)>,
    uploads: usize,
    /// The brand's posts.
    records: Vec<StoredRecord>,
    /// The brand's other records (likes, thread gates), by collection.
    other_own: HashMap<String, Vec<StoredRecord>>,
    /// Other accounts' handles -> DIDs, for resolveHandle.
    handles: HashMap<String, String>,
    followers: u64,
    /// Post at-uri -> counters; a post not here has every counter at 0.
    counts: HashMap<String, PostCounts>,
    actors: Vec<PublicActor>,
    /// The brand's notifications, oldest first.
    notifications: Vec<FakeNotification>,
    /// When the brand last marked its notifications seen (`updateSeen`).
    seen_at: Option<Timestamp>,
    notification_requests: usize,
    thread_requests: usize,
    /// Records other people made (likes, follows): how many, for their record keys.
    other_records: usize,
}

type Shared = Arc<Mutex<Account>>;
type Answer = Result<axum::Json<Value>, Refusal>;

pub struct FakeBluesky {
    pub server: FakeServer,
    state: Shared,
}

impl FakeBluesky {
    pub async fn start() -> Self {
        let state: Shared = Arc::default();
        let router = Router::new()
            .route(
                "/xrpc/com.atproto.server.createSession",
                post(create_session),
            )
            .route(
                "/xrpc/com.atproto.server.refreshSession",
                post(refresh_session),
            )
            .route("/xrpc/com.atproto.repo.uploadBlob", post(upload_blob))
            .route("/xrpc/com.atproto.repo.createRecord", post(create_record))
            .route("/xrpc/com.atproto.repo.getRecord", get(get_record))
            .route("/xrpc/com.atproto.repo.putRecord", post(put_record))
            .route("/xrpc/com.atproto.repo.deleteRecord", post(delete_record))
            .route(
                "/xrpc/com.atproto.identity.resolveHandle",
                get(resolve_handle),
            )
            .route("/xrpc/app.bsky.feed.getPosts", get(get_posts))
            .route("/xrpc/app.bsky.actor.getProfile", get(get_profile))
            .route("/xrpc/app.bsky.feed.getAuthorFeed", get(get_author_feed))
            .route("/xrpc/app.bsky.feed.getPostThread", get(get_post_thread))
            .route(
                "/xrpc/app.bsky.notification.listNotifications",
                get(list_notifications),
            )
            .route("/xrpc/app.bsky.notification.updateSeen", post(update_seen))
            .layer(DefaultBodyLimit::max(MAX_VIDEO_BYTES + 1_000_000))
            .with_state(state.clone());
        let server = FakeServer::start(router).await;
        state.lock().unwrap().base = server.base.clone();
        Self { server, state }
    }

    pub fn base(&self) -> &str {
        &self.server.base
    }

    /// Channel settings pointing at this fake.
    pub fn settings(&self) -> Value {
        json!({"service_url": self.base()})
    }

    /// The account's identifier and app password.
    pub fn credentials(&self) -> Value {
        json!({"identifier": IDENTIFIER, "app_password": APP_PASSWORD})
    }

    pub fn did(&self) -> &'static str {
        DID
    }

    pub fn records(&self) -> Vec<StoredRecord> {
        self.state.lock().unwrap().records.clone()
    }

    pub fn record(&self, rkey: &str) -> Option<StoredRecord> {
        self.records().into_iter().find(|r| r.rkey == rkey)
    }

    pub fn count_records_with_text(&self, text: &str) -> usize {
        self.records().iter().filter(|r| r.text() == text).count()
    }

    /// How many times the app password was used to log in.
    pub fn session_creations(&self) -> usize {
        self.state.lock().unwrap().session_creations
    }

    pub fn session_refreshes(&self) -> usize {
        self.state.lock().unwrap().session_refreshes
    }

    pub fn uploads(&self) -> usize {
        self.state.lock().unwrap().uploads
    }

    /// Every access JWT issued so far now answers `ExpiredToken`.
    pub fn expire_access_tokens(&self) {
        for expired in self.state.lock().unwrap().access.values_mut() {
            *expired = true;
        }
    }

    /// Every refresh JWT issued so far is refused, as after a long absence or a revocation.
    pub fn revoke_refresh_tokens(&self) {
        self.state.lock().unwrap().refresh.clear();
    }

    /// Sets a post's counters (the brand's or a seeded actor's), by its at-uri.
    pub fn set_post_counts(&self, uri: &str, counts: PostCounts) {
        self.state
            .lock()
            .unwrap()
            .counts
            .insert(uri.to_owned(), counts);
    }

    /// Sets only a post's likes, keeping its other counters.
    pub fn set_likes(&self, uri: &str, likes: u64) {
        self.state
            .lock()
            .unwrap()
            .counts
            .entry(uri.to_owned())
            .or_default()
            .likes = likes;
    }

    /// The post is deleted (the brand's or someone else's): `getPosts` leaves it out, as
    /// Bluesky does, threads show it as not found, and the notifications it made go.
    pub fn delete_post(&self, uri: &str) {
        let mut account = self.state.lock().unwrap();
        account.records.retain(|r| r.uri != uri);
        for actor in &mut account.actors {
            actor.feed.retain(|p| p.repost || p.uri != uri);
        }
        account.notifications.retain(|n| n.uri != uri);
    }

    /// The account's followers, as `getProfile` reports them (default 0).
    pub fn set_followers(&self, followers: u64) {
        self.state.lock().unwrap().followers = followers;
    }

    /// Someone else's public account `handle` with `followers` followers and one post per
    /// text, an hour apart, the last one now. Anyone can read its profile and author feed.
    pub fn seed_public_actor(&self, handle: &str, followers: u64, texts: &[&str]) -> SeededActor {
        let mut account = self.state.lock().unwrap();
        let did = format!("did:plc:{}", &fake_cid("", handle.as_bytes())[..24]);
        let now = Timestamp::now();
        let feed: Vec<FeedEntry> = texts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let hours_ago = (texts.len() - 1 - i) as i64;
                let created_at = now
                    .checked_sub(SignedDuration::from_hours(hours_ago))
                    .unwrap();
                FeedEntry {
                    uri: format!("at://{did}/{POST}/3lpub{:08}", i),
                    text: (*text).to_owned(),
                    created_at,
                    reply_to: None,
                    repost: false,
                    record: None,
                }
            })
            .collect();
        let post_uris = feed.iter().map(|p| p.uri.clone()).collect();
        account.handles.insert(handle.to_owned(), did.clone());
        account.actors.push(PublicActor {
            did: did.clone(),
            handle: handle.to_owned(),
            display_name: handle.to_owned(),
            followers,
            feed,
        });
        SeededActor { did, post_uris }
    }

    pub fn set_public_followers(&self, handle: &str, followers: u64) {
        let mut account = self.state.lock().unwrap();
        if let Some(actor) = account.actors.iter_mut().find(|a| a.handle == handle) {
            actor.followers = followers;
        }
    }

    /// A seeded actor's reply to its own latest post, made now; returns its at-uri.
    pub fn add_public_reply(&self, handle: &str, text: &str) -> String {
        self.add_feed_entry(handle, text, true, false)
    }

    /// A seeded actor's repost of someone else's post, made now; returns that post's at-uri.
    pub fn add_public_repost(&self, handle: &str) -> String {
        self.add_feed_entry(handle, "someone else's post", false, true)
    }

    fn add_feed_entry(&self, handle: &str, text: &str, reply: bool, repost: bool) -> String {
        let mut account = self.state.lock().unwrap();
        let actor = account
            .actors
            .iter_mut()
            .find(|a| a.handle == handle)
            .expect("a seeded public actor");
        let n = actor.feed.len();
        let uri = if repost {
            format!("at://did:plc:someoneelse2222222222222/{POST}/3lother{n:07}")
        } else {
            format!("at://{}/{POST}/3lpub{n:08}", actor.did)
        };
        let reply_to = if reply {
            actor
                .feed
                .iter()
                .rev()
                .find(|p| !p.repost)
                .map(|p| p.uri.clone())
        } else {
            None
        };
        actor.feed.push(FeedEntry {
            uri: uri.clone(),
            text: text.to_owned(),
            created_at: Timestamp::now(),
            reply_to,
            repost,
            record: None,
        });
        uri
    }

    /// Someone on Bluesky (a follower, a customer) who can talk to the brand; returns the DID
    /// (`did:plc:` and 24 base32 characters derived from the handle). Like a seeded public
    /// actor, anyone can read its profile and feed, and its handle resolves. Panics if the
    /// handle is taken.
    pub fn add_person(&self, handle: &str, display_name: &str, followers: u64) -> String {
        let mut account = self.state.lock().unwrap();
        assert!(
            handle != IDENTIFIER && !account.actors.iter().any(|a| a.handle == handle),
            "fake Bluesky: the handle {handle} is taken"
        );
        let did = format!("did:plc:{}", &fake_cid("", handle.as_bytes())[..24]);
        account.handles.insert(handle.to_owned(), did.clone());
        account.actors.push(PublicActor {
            did: did.clone(),
            handle: handle.to_owned(),
            display_name: display_name.to_owned(),
            followers,
            feed: Vec::new(),
        });
        did
    }

    /// The person's reply to the post `parent_uri` (the brand's or anyone's), made now: an
    /// `app.bsky.feed.post` record in the person's repo with `reply: {root, parent}` strong refs
    /// (root: the parent's root when the parent is itself a reply). As the AppView does, the
    /// brand gets a `reply` notification when one of the 4 posts above the reply is its own
    /// (`reasonSubject`: the closest). The parent's `replyCount` goes up by one. Returns the
    /// reply's at-uri and cid.
    pub fn reply_as(&self, person_handle: &str, parent_uri: &str, text: &str) -> (String, String) {
        let mut account = self.state.lock().unwrap();
        let parent = account
            .find_post(parent_uri)
            .unwrap_or_else(|| panic!("fake Bluesky: no post {parent_uri} to reply to"));
        let parent_ref = json!({"uri": parent.uri, "cid": parent.cid});
        let root_ref = match parent.record.get("reply") {
            Some(reply) => reply["root"].clone(),
            None => parent_ref.clone(),
        };
        let mut record = new_post(text);
        record["reply"] = json!({"root": root_ref, "parent": parent_ref});
        let (uri, cid) = account.add_person_post(person_handle, record, Some(parent_uri));
        account
            .counts
            .entry(parent_uri.to_owned())
            .or_default()
            .replies += 1;
        (uri, cid)
    }

    /// The person's new post mentioning the brand (`@brand.test {text}`, unless the text already
    /// has `@brand.test`), with a mention facet of the brand's DID: a `mention` notification.
    /// Returns its at-uri and cid.
    pub fn mention_as(&self, person_handle: &str, text: &str) -> (String, String) {
        let mention = format!("@{IDENTIFIER}");
        let text = if text.contains(&mention) {
            text.to_owned()
        } else {
            format!("{mention} {text}")
        };
        let start = text.find(&mention).expect("the mention");
        let mut record = new_post(&text);
        record["facets"] = json!([{
            "index": {"byteStart": start, "byteEnd": start + mention.len()},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": DID}],
        }]);
        self.state
            .lock()
            .unwrap()
            .add_person_post(person_handle, record, None)
    }

    /// The person's new post quoting `quoted_uri` (an `app.bsky.embed.record` embed): a `quote`
    /// notification when the quoted post is the brand's; its `quoteCount` goes up by one.
    /// Returns the quote's at-uri and cid.
    pub fn quote_as(&self, person_handle: &str, quoted_uri: &str, text: &str) -> (String, String) {
        let mut account = self.state.lock().unwrap();
        let quoted = account
            .find_post(quoted_uri)
            .unwrap_or_else(|| panic!("fake Bluesky: no post {quoted_uri} to quote"));
        let mut record = new_post(text);
        record["embed"] = json!({
            "$type": "app.bsky.embed.record",
            "record": {"uri": quoted.uri, "cid": quoted.cid},
        });
        let answer = account.add_person_post(person_handle, record, None);
        account
            .counts
            .entry(quoted_uri.to_owned())
            .or_default()
            .quotes += 1;
        answer
    }

    /// The person likes the post `subject_uri`: a `like` notification when it is the brand's;
    /// its `likeCount` goes up by one. Returns the like record's at-uri.
    pub fn like_as(&self, person_handle: &str, subject_uri: &str) -> String {
        let mut account = self.state.lock().unwrap();
        let subject = account
            .find_post(subject_uri)
            .unwrap_or_else(|| panic!("fake Bluesky: no post {subject_uri} to like"));
        let record = json!({
            "$type": "app.bsky.feed.like",
            "subject": {"uri": subject.uri, "cid": subject.cid},
            "createdAt": now_string(),
        });
        let brand = subject.author["did"] == DID;
        let uri = account.add_other_record(
            person_handle,
            "app.bsky.feed.like",
            &record,
            brand.then_some(("like", subject_uri)),
        );
        account
            .counts
            .entry(subject_uri.to_owned())
            .or_default()
            .likes += 1;
        uri
    }

    /// The person follows the brand: a `follow` notification; the brand's followers go up by
    /// one. Returns the follow record's at-uri.
    pub fn follow_as(&self, person_handle: &str) -> String {
        let mut account = self.state.lock().unwrap();
        let record = json!({
            "$type": "app.bsky.graph.follow",
            "subject": DID,
            "createdAt": now_string(),
        });
        account.followers += 1;
        account.add_other_record(
            person_handle,
            "app.bsky.graph.follow",
            &record,
            Some(("follow", "")),
        )
    }

    /// The brand's records that reply directly to `uri` (their `reply.parent`), oldest first.
    pub fn replies_to(&self, uri: &str) -> Vec<StoredRecord> {
        self.records()
            .into_iter()
            .filter(|r| r.value["reply"]["parent"]["uri"].as_str() == Some(uri))
            .collect()
    }

    /// The brand's notifications, oldest first.
    pub fn notifications(&self) -> Vec<FakeNotification> {
        self.state.lock().unwrap().notifications.clone()
    }

    /// When the brand last marked its notifications seen (`updateSeen`), if ever.
    pub fn seen_at(&self) -> Option<Timestamp> {
        self.state.lock().unwrap().seen_at
    }

    /// `app.bsky.notification.listNotifications` requests received (answered or refused).
    pub fn notification_requests(&self) -> usize {
        self.state.lock().unwrap().notification_requests
    }

    /// `app.bsky.feed.getPostThread` requests received (answered or refused).
    pub fn thread_requests(&self) -> usize {
        self.state.lock().unwrap().thread_requests
    }

    /// The brand's like records, oldest first.
    pub fn likes(&self) -> Vec<StoredRecord> {
        self.state.lock().unwrap().collection(LIKE).to_vec()
    }

    /// The brand's thread gate of its post `root_uri` (the gate's record key is the post's).
    pub fn threadgate(&self, root_uri: &str) -> Option<StoredRecord> {
        let rkey = root_uri.rsplit('/').next().unwrap_or_default();
        self.state
            .lock()
            .unwrap()
            .collection(THREADGATE)
            .iter()
            .find(|r| r.rkey == rkey)
            .cloned()
    }

    /// The replies the thread gate of the brand's post `root_uri` hides (none without a gate).
    pub fn hidden_replies(&self, root_uri: &str) -> Vec<String> {
        self.threadgate(root_uri)
            .map(|gate| {
                gate.value["hiddenReplies"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|h| h.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The brand sets the thread gate of its post `root_uri` itself (in the app): `record`'s
    /// `allow` and `hiddenReplies` as given, `post` and `createdAt` filled in.
    pub fn set_threadgate(&self, root_uri: &str, mut record: Value) {
        let rkey = root_uri.rsplit('/').next().unwrap_or_default().to_owned();
        record["$type"] = json!(THREADGATE);
        record["post"] = json!(root_uri);
        record["createdAt"] = json!(now_string());
        let mut account = self.state.lock().unwrap();
        validate_threadgate(&rkey, &record).unwrap_or_else(|r| panic!("{}", r.message));
        account.write_record(THREADGATE, &rkey, record);
    }

    /// Another account, so that mentions of `handle` resolve.
    pub fn add_handle(&self, handle: &str, did: &str) {
        self.state
            .lock()
            .unwrap()
            .handles
            .insert(handle.to_owned(), did.to_owned());
    }
}

/// An XRPC error answer, `{error, message}`.
struct Refusal {
    status: u16,
    error: &'static str,
    message: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            axum::Json(json!({"error": self.error, "message": self.message})),
        )
            .into_response()
    }
}

fn xrpc_error(status: u16, error: &'static str, message: &str) -> Refusal {
    Refusal {
        status,
        error,
        message: message.to_owned(),
    }
}

fn invalid(message: impl AsRef<str>) -> Refusal {
    xrpc_error(400, "InvalidRequest", message.as_ref())
}

fn issue_session(account: &mut Account) -> Value {
    account.issued += 1;
    let access = format!("access-{}", account.issued);
    let refresh = format!("refresh-{}", account.issued);
    account.access.insert(access.clone(), false);
    account.refresh.insert(refresh.clone());
    json!({
        "accessJwt": access,
        "refreshJwt": refresh,
        "handle": IDENTIFIER,
        "did": DID,
        "didDoc": {
            "@context": ["https://www.w3.org/ns/did/v1"],
            "id": DID,
            "alsoKnownAs": [format!("at://{IDENTIFIER}")],
            "service": [{
                "id": "#atproto_pds",
                "type": "AtprotoPersonalDataServer",
                "serviceEndpoint": account.base,
            }],
        },
        "active": true,
    })
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::to_owned)
}

/// The access JWT's check, with the reference PDS's errors.
fn authorize(account: &Account, headers: &HeaderMap) -> Result<(), Refusal> {
    let Some(token) = bearer(headers) else {
        return Err(xrpc_error(
            401,
            "AuthenticationRequired",
            "Authentication Required",
        ));
    };
    match account.access.get(&token) {
        Some(false) => Ok(()),
        Some(true) => Err(xrpc_error(400, "ExpiredToken", "Token has expired")),
        None if account.refresh.contains(&token) => {
            Err(xrpc_error(400, "InvalidToken", "Bad token scope"))
        }
        None => Err(xrpc_error(
            400,
            "InvalidToken",
            "Token could not be verified",
        )),
    }
}

async fn create_session(
    State(state): State<Shared>,
    axum::Json(body): axum::Json<Value>,
) -> Answer {
    let mut account = state.lock().unwrap();
    let identifier = body["identifier"].as_str().unwrap_or_default();
    let password = body["password"].as_str().unwrap_or_default();
    if !(identifier == IDENTIFIER || identifier == DID) || password != APP_PASSWORD {
        return Err(xrpc_error(
            401,
            "AuthenticationRequired",
            "Invalid identifier or password",
        ));
    }
    account.session_creations += 1;
    Ok(axum::Json(issue_session(&mut account)))
}

async fn refresh_session(State(state): State<Shared>, headers: HeaderMap) -> Answer {
    let mut account = state.lock().unwrap();
    let Some(token) = bearer(&headers) else {
        return Err(xrpc_error(
            401,
            "AuthenticationRequired",
            "Authentication Required",
        ));
    };
    // Refresh JWTs are single-use: the new session replaces this one.
    if !account.refresh.remove(&token) {
        return Err(xrpc_error(400, "ExpiredToken", "Token has been revoked"));
    }
    account.session_refreshes += 1;
    Ok(axum::Json(issue_session(&mut account)))
}

async fn upload_blob(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Answer {
    let mut account = state.lock().unwrap();
    authorize(&account, &headers)?;
    if body.len() > MAX_VIDEO_BYTES {
        return Err(xrpc_error(
            413,
            "PayloadTooLarge",
            "request entity too large",
        ));
    }
    let mime = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let cid = fake_cid("bafkrei", &body);
    account
        .blobs
        .insert(cid.clone(), (mime.clone(), body.len()));
    account.uploads += 1;
    Ok(axum::Json(json!({
        "blob": {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": body.len()}
    })))
}

async fn create_record(
    State(state): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Answer {
    let mut account = state.lock().unwrap();
    authorize(&account, &headers)?;
    let (collection, rkey) = write_target(&body)?;
    let rkey = rkey.unwrap_or_else(|| format!("3l{:011}", account.collection(collection).len()));
    let record = &body["record"];
    validate(&account, collection, &rkey, record)?;
    if account
        .collection(collection)
        .iter()
        .any(|r| r.rkey == rkey)
    {
        // The reference PDS's repository tree refuses a second value under a key
        // ("There is already a value at key"), which surfaces as an opaque 500.
        return Err(xrpc_error(
            500,
            "InternalServerError",
            "Internal Server Error",
        ));
    }
    let written = account.write_record(collection, &rkey, record.clone());
    Ok(axum::Json(write_answer(&written)))
}

/// `com.atproto.repo.putRecord`: creates or replaces a record; with `swapRecord`, only over the
/// record of that CID (`null`: only where there is none), else `InvalidSwap`.
async fn put_record(
    State(state): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Answer {
    let mut account = state.lock().unwrap();
    authorize(&account, &headers)?;
    let (collection, rkey) = write_target(&body)?;
    let Some(rkey) = rkey else {
        return Err(invalid("Input must have the property \"rkey\""));
    };
    let record = &body["record"];
    validate(&account, collection, &rkey, record)?;
    check_swap(&account, collection, &rkey, &body)?;
    let written = account.write_record(collection, &rkey, record.clone());
    Ok(axum::Json(write_answer(&written)))
}

/// `com.atproto.repo.deleteRecord`: deletes a record, or ensures it does not exist (a record
/// already gone is answered 200 as well, without a commit).
async fn delete_record(
    State(state): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Answer {
    let mut account = state.lock().unwrap();
    authorize(&account, &headers)?;
    let (collection, rkey) = write_target(&body)?;
    let Some(rkey) = rkey else {
        return Err(invalid("Input must have the property \"rkey\""));
    };
    check_swap(&account, collection, &rkey, &body)?;
    let records = account.collection_mut(collection);
    let Some(index) = records.iter().position(|r| r.rkey == rkey) else {
        return Ok(axum::Json(json!({})));
    };
    let gone = records.remove(index);
    if collection == POST {
        account.notifications.retain(|n| n.uri != gone.uri);
    }
    Ok(axum::Json(json!({
        "commit": {"cid": fake_cid("bafyrei", format!("delete {}", gone.uri).as_bytes()), "rev": "3lfakerev3333"},
    })))
}

/// The repository, collection and record key a write names, checked as the PDS does: only the
/// brand's repository, only the collections this fake stores, a valid key (`None`: none given).
fn write_target(body: &Value) -> Result<(&str, Option<String>), Refusal> {
    let repo = body["repo"].as_str().unwrap_or_default();
    if repo != DID && repo != IDENTIFIER {
        return Err(invalid(format!("Could not find repo: {repo}")));
    }
    let collection = match body["collection"].as_str() {
        Some(c @ (POST | LIKE | THREADGATE)) => c,
        _ => {
            return Err(invalid(
                "this fake PDS only stores app.bsky.feed.post, like and threadgate records",
            ));
        }
    };
    let rkey = match body["rkey"].as_str() {
        Some(rkey) if valid_record_key(rkey) => Some(rkey.to_owned()),
        Some(_) => return Err(invalid("record key syntax not valid (regex)")),
        None => None,
    };
    Ok((collection, rkey))
}

/// `swapRecord`, when given: the record's current CID, or `null` for "there is none".
fn check_swap(
    account: &Account,
    collection: &str,
    rkey: &str,
    body: &Value,
) -> Result<(), Refusal> {
    let Some(swap) = body.get("swapRecord") else {
        return Ok(());
    };
    let current = account
        .collection(collection)
        .iter()
        .find(|r| r.rkey == rkey)
        .map(|r| r.cid.as_str());
    if swap.as_str() == current {
        return Ok(());
    }
    Err(xrpc_error(
        400,
        "InvalidSwap",
        &format!("Record was at {}", current.unwrap_or("null")),
    ))
}

/// The answer of a write: `{uri, cid, commit, validationStatus}`.
fn write_answer(written: &StoredRecord) -> Value {
    json!({
        "uri": written.uri,
        "cid": written.cid,
        "commit": {"cid": fake_cid("bafyrei", written.uri.as_bytes()), "rev": "3lfakerev2222"},
        "validationStatus": "valid",
    })
}

/// The lexicon's checks of a record of `collection` under `rkey`.
fn validate(
    account: &Account,
    collection: &str,
    rkey: &str,
    record: &Value,
) -> Result<(), Refusal> {
    match collection {
        POST => validate_post(account, record),
        LIKE => validate_like(record),
        _ => validate_threadgate(rkey, record),
    }
}

/// The app.bsky.feed.like lexicon: a `subject` strong reference and `createdAt`.
fn validate_like(record: &Value) -> Result<(), Refusal> {
    let bad = |what: &str| {
        Err(invalid(format!(
            "Invalid app.bsky.feed.like record: {what}"
        )))
    };
    if record["$type"].as_str().is_some_and(|t| t != LIKE) {
        return bad("Invalid $type: expected app.bsky.feed.like");
    }
    let subject = &record["subject"];
    if !subject["uri"]
        .as_str()
        .is_some_and(|u| u.starts_with("at://"))
        || subject["cid"].as_str().is_none()
    {
        return bad("Record/subject must be a strong reference (uri and cid)");
    }
    if record["createdAt"].as_str().is_none() {
        return bad("Record must have the property \"createdAt\"");
    }
    Ok(())
}

/// The app.bsky.feed.threadgate lexicon (`post`, `createdAt`, at most 5 `allow` rules and 300
/// `hiddenReplies` at-uris), and its rule that the gate's key is its post's, in the same
/// repository.
fn validate_threadgate(rkey: &str, record: &Value) -> Result<(), Refusal> {
    let bad = |what: String| {
        Err(invalid(format!(
            "Invalid app.bsky.feed.threadgate record: {what}"
        )))
    };
    if record["$type"].as_str().is_some_and(|t| t != THREADGATE) {
        return bad("Invalid $type: expected app.bsky.feed.threadgate".into());
    }
    let Some(post) = record["post"].as_str() else {
        return bad("Record must have the property \"post\"".into());
    };
    if post != format!("at://{DID}/{POST}/{rkey}") {
        return bad(format!(
            "Record/post must be the repository's post with the gate's record key {rkey}"
        ));
    }
    if record["createdAt"].as_str().is_none() {
        return bad("Record must have the property \"createdAt\"".into());
    }
    if let Some(allow) = record.get("allow")
        && allow.as_array().is_none_or(|a| a.len() > MAX_GATE_RULES)
    {
        return bad(format!(
            "Record/allow must be an array of at most {MAX_GATE_RULES} rules"
        ));
    }
    if let Some(hidden) = record.get("hiddenReplies") {
        let Some(hidden) = hidden.as_array() else {
            return bad("Record/hiddenReplies must be an array".into());
        };
        if hidden.len() > MAX_HIDDEN_REPLIES {
            return bad(format!(
                "Record/hiddenReplies must not have more than {MAX_HIDDEN_REPLIES} elements"
            ));
        }
        if !hidden
            .iter()
            .all(|h| h.as_str().is_some_and(|u| u.starts_with("at://")))
        {
            return bad("Record/hiddenReplies must hold at-uris".into());
        }
    }
    Ok(())
}

/// The app.bsky.feed.post lexicon's checks (and the PDS's blob checks), with its wording.
fn validate_post(account: &Account, record: &Value) -> Result<(), Refusal> {
    let bad = |what: String| {
        Err(invalid(format!(
            "Invalid app.bsky.feed.post record: {what}"
        )))
    };
    if record["$type"].as_str().is_some_and(|t| t != POST) {
        return bad("Invalid $type: expected app.bsky.feed.post".into());
    }
    let Some(text) = record["text"].as_str() else {
        return bad("Record must have the property \"text\"".into());
    };
    if graphemes(text) > MAX_GRAPHEMES {
        return bad(format!(
            "Record/text must not be longer than {MAX_GRAPHEMES} graphemes"
        ));
    }
    if text.len() > MAX_TEXT_BYTES {
        return bad(format!(
            "Record/text must not be longer than {MAX_TEXT_BYTES} characters"
        ));
    }
    if record["createdAt"].as_str().is_none() {
        return bad("Record must have the property \"createdAt\"".into());
    }
    if let Some(langs) = record.get("langs")
        && langs.as_array().is_none_or(|l| l.len() > 3)
    {
        return bad("Record/langs must be an array of at most 3 languages".into());
    }
    for (i, facet) in record["facets"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let start = facet["index"]["byteStart"].as_u64().map(|n| n as usize);
        let end = facet["index"]["byteEnd"].as_u64().map(|n| n as usize);
        let inside = matches!((start, end), (Some(s), Some(e))
            if s < e && e <= text.len() && text.is_char_boundary(s) && text.is_char_boundary(e));
        if !inside {
            return bad(format!(
                "Record/facets/{i}/index is not a byte range on character boundaries of the text"
            ));
        }
        let Some(features) = facet["features"].as_array().filter(|f| !f.is_empty()) else {
            return bad(format!("Record/facets/{i}/features must not be empty"));
        };
        for feature in features {
            let ok = match feature["$type"].as_str() {
                Some("app.bsky.richtext.facet#link") => feature["uri"].as_str().is_some(),
                Some("app.bsky.richtext.facet#mention") => feature["did"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("did:")),
                Some("app.bsky.richtext.facet#tag") => feature["tag"]
                    .as_str()
                    .is_some_and(|t| !t.is_empty() && graphemes(t) <= 64),
                _ => false,
            };
            if !ok {
                return bad(format!("Record/facets/{i}/features has an invalid feature"));
            }
        }
    }
    if let Some(reply) = record.get("reply") {
        for end in ["root", "parent"] {
            if reply[end]["uri"].as_str().is_none() || reply[end]["cid"].as_str().is_none() {
                return bad(format!("Record/reply/{end} must have uri and cid"));
            }
        }
    }
    let Some(embed) = record.get("embed") else {
        return Ok(());
    };
    match embed["$type"].as_str() {
        Some("app.bsky.embed.images") => {
            let Some(images) = embed["images"].as_array() else {
                return bad("Record/embed must have the property \"images\"".into());
            };
            if images.len() > 4 {
                return bad("Record/embed/images must not have more than 4 elements".into());
            }
            for (i, image) in images.iter().enumerate() {
                if image["alt"].as_str().is_none() {
                    return bad(format!(
                        "Record/embed/images/{i} must have the property \"alt\""
                    ));
                }
                if let Some(ratio) = image.get("aspectRatio")
                    && (ratio["width"].as_u64().unwrap_or(0) < 1
                        || ratio["height"].as_u64().unwrap_or(0) < 1)
                {
                    return bad(format!("Record/embed/images/{i}/aspectRatio is invalid"));
                }
                check_blob(account, &image["image"], "image/", MAX_IMAGE_BYTES)?;
            }
            Ok(())
        }
        Some("app.bsky.embed.video") => {
            if embed["alt"]
                .as_str()
                .is_some_and(|alt| graphemes(alt) > 1000)
            {
                return bad("Record/embed/alt must not be longer than 1000 graphemes".into());
            }
            check_blob(account, &embed["video"], "video/mp4", MAX_VIDEO_BYTES)
        }
        other => bad(format!("Record/embed has an unsupported $type {other:?}")),
    }
}

/// The PDS's checks when a record references a blob: it was uploaded, of the right type and size.
fn check_blob(
    account: &Account,
    blob: &Value,
    mime_prefix: &str,
    max: usize,
) -> Result<(), Refusal> {
    let Some(cid) = blob["ref"]["$link"].as_str() else {
        return Err(invalid(
            "Invalid app.bsky.feed.post record: the blob reference has no ref",
        ));
    };
    let Some((mime, size)) = account.blobs.get(cid) else {
        return Err(xrpc_error(
            400,
            "BlobNotFound",
            &format!("Could not find blob: {cid}"),
        ));
    };
    if !mime.starts_with(mime_prefix) {
        return Err(xrpc_error(
            400,
            "InvalidMimeType",
            &format!("Wrong type of file. It is {mime} but it must match {mime_prefix}*."),
        ));
    }
    if *size > max {
        return Err(xrpc_error(
            400,
            "BlobTooLarge",
            &format!(
                "This file is too large. It is {size} bytes but the maximum size is {max} bytes."
            ),
        ));
    }
    Ok(())
}

async fn get_record(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let account = state.lock().unwrap();
    let repo = query.get("repo").map(String::as_str).unwrap_or_default();
    if repo != DID && repo != IDENTIFIER {
        return Err(invalid(format!("Could not find repo: {repo}")));
    }
    let collection = query
        .get("collection")
        .map(String::as_str)
        .unwrap_or_default();
    let rkey = query.get("rkey").map(String::as_str).unwrap_or_default();
    let uri = format!("at://{DID}/{collection}/{rkey}");
    match account
        .collection(collection)
        .iter()
        .find(|r| r.rkey == rkey)
    {
        Some(r) => Ok(axum::Json(
            json!({"uri": r.uri, "cid": r.cid, "value": r.value}),
        )),
        None => Err(xrpc_error(
            400,
            "RecordNotFound",
            &format!("Could not locate record: {uri}"),
        )),
    }
}

/// A new post record of someone else, made now.
fn new_post(text: &str) -> Value {
    json!({"$type": POST, "text": text, "createdAt": now_string(), "langs": ["en"]})
}

fn now_string() -> String {
    bsky_time(Timestamp::now())
}

fn bsky_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A record's `createdAt`, or the Unix epoch when it is not a datetime.
fn created_at(record: &Value) -> Timestamp {
    record["createdAt"]
        .as_str()
        .and_then(|t| t.parse::<Timestamp>().ok())
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The DID an at-uri's authority names.
fn uri_did(uri: &str) -> &str {
    uri.trim_start_matches("at://")
        .split('/')
        .next()
        .unwrap_or_default()
}

fn not_found_post(uri: &str) -> Value {
    json!({"$type": "app.bsky.feed.defs#notFoundPost", "uri": uri, "notFound": true})
}

impl Account {
    /// The brand's records of `collection`: its posts, or its likes or thread gates.
    fn collection(&self, collection: &str) -> &[StoredRecord] {
        if collection == POST {
            &self.records
        } else {
            self.other_own.get(collection).map_or(&[], Vec::as_slice)
        }
    }

    fn collection_mut(&mut self, collection: &str) -> &mut Vec<StoredRecord> {
        if collection == POST {
            &mut self.records
        } else {
            self.other_own.entry(collection.to_owned()).or_default()
        }
    }

    /// Stores `record` under `rkey` in the brand's `collection`, replacing the one there.
    fn write_record(&mut self, collection: &str, rkey: &str, record: Value) -> StoredRecord {
        let written = StoredRecord {
            uri: format!("at://{DID}/{collection}/{rkey}"),
            rkey: rkey.to_owned(),
            cid: fake_cid("bafyrei", record.to_string().as_bytes()),
            value: record,
        };
        let records = self.collection_mut(collection);
        match records.iter_mut().find(|r| r.rkey == rkey) {
            Some(existing) => *existing = written.clone(),
            None => records.push(written.clone()),
        }
        written
    }

    fn actor(&self, did: &str) -> Option<&PublicActor> {
        self.actors.iter().find(|a| a.did == did)
    }

    /// A person by handle; panics if there is none.
    fn person(&self, handle: &str) -> &PublicActor {
        self.actors
            .iter()
            .find(|a| a.handle == handle)
            .unwrap_or_else(|| panic!("fake Bluesky: no person {handle} (add_person first)"))
    }

    /// `app.bsky.actor.defs#profileViewBasic` of the brand or someone else.
    fn author_basic(&self, did: &str) -> Value {
        if did == DID {
            return json!({"did": DID, "handle": IDENTIFIER, "displayName": "Brand", "labels": []});
        }
        match self.actor(did) {
            Some(a) => json!({
                "did": a.did,
                "handle": a.handle,
                "displayName": a.display_name,
                "avatar": format!("{}/img/avatar/{}.jpg", self.base, a.did),
                "labels": [],
            }),
            None => json!({"did": did, "handle": "handle.invalid", "labels": []}),
        }
    }

    /// `app.bsky.actor.defs#profileView`, as notifications carry their authors.
    fn author_profile(&self, did: &str) -> Value {
        let mut view = self.author_basic(did);
        view["indexedAt"] = json!("2024-01-01T00:00:00.000Z");
        view["createdAt"] = json!("2024-01-01T00:00:00.000Z");
        view["viewer"] = json!({"muted": false, "blockedBy": false});
        view
    }

    /// Every post the AppView knows: the brand's records and everyone else's posts.
    fn all_posts(&self) -> Vec<PostInfo> {
        let mut posts: Vec<PostInfo> = self
            .records
            .iter()
            .map(|r| PostInfo {
                uri: r.uri.clone(),
                cid: r.cid.clone(),
                author: self.author_basic(DID),
                record: r.value.clone(),
                created_at: created_at(&r.value),
            })
            .collect();
        for actor in &self.actors {
            for entry in actor.feed.iter().filter(|p| !p.repost) {
                posts.push(PostInfo {
                    uri: entry.uri.clone(),
                    cid: fake_cid("bafyrei", entry.uri.as_bytes()),
                    author: self.author_basic(&actor.did),
                    record: Account::entry_record(entry),
                    created_at: entry.created_at,
                });
            }
        }
        posts
    }

    fn find_post(&self, uri: &str) -> Option<PostInfo> {
        self.all_posts().into_iter().find(|p| p.uri == uri)
    }

    /// Now, or a millisecond after the last notification: notifications are indexed in order,
    /// each at its own millisecond (the cursor's time).
    fn next_indexed_at(&self) -> Timestamp {
        let now = Timestamp::now();
        match self.notifications.last() {
            Some(last) => {
                let next = Timestamp::from_millisecond(last.indexed_at.as_millisecond() + 1)
                    .unwrap_or(now);
                now.max(next)
            }
            None => now,
        }
    }

    /// A new post in a person's repo, made now, with the notifications the AppView's indexer
    /// makes for the brand: a mention facet first, then a quote, then a reply (one per
    /// recipient, never for one's own post).
    fn add_person_post(
        &mut self,
        handle: &str,
        record: Value,
        reply_to: Option<&str>,
    ) -> (String, String) {
        let did = self.person(handle).did.clone();
        self.other_records += 1;
        let uri = format!("at://{did}/{POST}/3lper{:08}", self.other_records);
        let cid = fake_cid("bafyrei", uri.as_bytes());

        let mentions_brand = record["facets"].as_array().into_iter().flatten().any(|f| {
            f["features"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|x| x["$type"] == "app.bsky.richtext.facet#mention" && x["did"] == DID)
        });
        let embed = &record["embed"];
        let quoted = embed["record"]["uri"]
            .as_str()
            .or(embed["record"]["record"]["uri"].as_str())
            .filter(|u| uri_did(u) == DID && u.contains(&format!("/{POST}/")));
        let notification = if mentions_brand {
            Some(("mention", None))
        } else if let Some(quoted) = quoted {
            Some(("quote", Some(quoted.to_owned())))
        } else {
            // The posts above the reply, closest first, up to REPLY_NOTIF_DEPTH - 1 levels.
            let mut subject = None;
            let mut above = reply_to.map(str::to_owned);
            for _ in 1..REPLY_NOTIF_DEPTH {
                let Some(post) = above.as_deref().and_then(|u| self.find_post(u)) else {
                    break;
                };
                if post.author["did"] == DID {
                    subject = Some(post.uri);
                    break;
                }
                above = post.record["reply"]["parent"]["uri"]
                    .as_str()
                    .map(str::to_owned);
            }
            subject.map(|s| ("reply", Some(s)))
        };
        if let Some((reason, subject)) = notification {
            self.notifications.push(FakeNotification {
                uri: uri.clone(),
                cid: cid.clone(),
                author_did: did.clone(),
                reason: reason.to_owned(),
                reason_subject: subject,
                record: record.clone(),
                indexed_at: self.next_indexed_at(),
            });
        }
        let actor = self
            .actors
            .iter_mut()
            .find(|a| a.did == did)
            .expect("the person");
        actor.feed.push(FeedEntry {
            uri: uri.clone(),
            text: record["text"].as_str().unwrap_or_default().to_owned(),
            created_at: Timestamp::now(),
            reply_to: reply_to.map(str::to_owned),
            repost: false,
            record: Some(record),
        });
        (uri, cid)
    }

    /// A record other than a post in a person's repo (a like, a follow), with the brand's
    /// notification `(reason, reasonSubject or "")` if any. Returns its at-uri.
    fn add_other_record(
        &mut self,
        handle: &str,
        collection: &str,
        record: &Value,
        notify: Option<(&str, &str)>,
    ) -> String {
        let did = self.person(handle).did.clone();
        self.other_records += 1;
        let uri = format!("at://{did}/{collection}/3lrec{:08}", self.other_records);
        if let Some((reason, subject)) = notify {
            self.notifications.push(FakeNotification {
                uri: uri.clone(),
                cid: fake_cid("bafyrei", format!("{uri}{record}").as_bytes()),
                author_did: did,
                reason: reason.to_owned(),
                reason_subject: (!subject.is_empty()).then(|| subject.to_owned()),
                record: record.clone(),
                indexed_at: self.next_indexed_at(),
            });
        }
        uri
    }

    /// A post view with its `$type`, for places that hold a union (`reply` refs of a feed item).
    fn typed_view(&self, post: &PostInfo) -> Value {
        let mut view = self.view(post);
        view["$type"] = json!("app.bsky.feed.defs#postView");
        view
    }

    fn view(&self, post: &PostInfo) -> Value {
        self.post_view(&post.uri, &post.cid, post.author.clone(), &post.record)
    }

    /// The thread below a post, `depth` levels (`replies` absent at the last level), replies
    /// oldest first.
    fn thread_down(&self, post: &PostInfo, depth: usize, all: &[PostInfo]) -> Value {
        let mut node = json!({
            "$type": "app.bsky.feed.defs#threadViewPost",
            "post": self.view(post),
        });
        if depth > 0 {
            let mut children: Vec<&PostInfo> = all
                .iter()
                .filter(|p| p.record["reply"]["parent"]["uri"].as_str() == Some(&post.uri))
                .collect();
            children.sort_by_key(|p| p.created_at);
            node["replies"] = json!(
                children
                    .into_iter()
                    .map(|c| self.thread_down(c, depth - 1, all))
                    .collect::<Vec<_>>()
            );
        }
        node
    }

    /// The post's parents, `height` levels up; a missing parent is a `notFoundPost`.
    fn thread_up(&self, post: &PostInfo, height: usize, all: &[PostInfo]) -> Option<Value> {
        let parent_uri = post.record["reply"]["parent"]["uri"].as_str()?;
        if height == 0 {
            return None;
        }
        let Some(parent) = all.iter().find(|p| p.uri == parent_uri) else {
            return Some(not_found_post(parent_uri));
        };
        let mut node = json!({
            "$type": "app.bsky.feed.defs#threadViewPost",
            "post": self.view(parent),
        });
        if let Some(above) = self.thread_up(parent, height - 1, all) {
            node["parent"] = above;
        }
        Some(node)
    }

    fn own_profile(&self) -> Value {
        json!({
            "did": DID,
            "handle": IDENTIFIER,
            "displayName": "Brand",
            "followersCount": self.followers,
            "followsCount": 5,
            "postsCount": self.records.len(),
            "indexedAt": "2024-01-01T00:00:00.000Z",
        })
    }

    fn actor_profile(actor: &PublicActor) -> Value {
        json!({
            "did": actor.did,
            "handle": actor.handle,
            "displayName": actor.display_name,
            "followersCount": actor.followers,
            "followsCount": 9,
            "postsCount": actor.feed.iter().filter(|p| !p.repost).count(),
            "indexedAt": "2024-01-01T00:00:00.000Z",
        })
    }

    /// A post view as the AppView shows it: the record, its author and its counters.
    fn post_view(&self, uri: &str, cid: &str, author: Value, record: &Value) -> Value {
        let counts = self.counts.get(uri).copied().unwrap_or_default();
        let mut view = json!({
            "uri": uri,
            "cid": cid,
            "author": author,
            "record": record,
            "replyCount": counts.replies,
            "repostCount": counts.reposts,
            "likeCount": counts.likes,
            "quoteCount": counts.quotes,
            "indexedAt": record["createdAt"],
            "labels": [],
        });
        if let Some(bookmarks) = counts.bookmarks {
            view["bookmarkCount"] = json!(bookmarks);
        }
        // A quote shows the quoted post (`app.bsky.embed.record#view`).
        if record["embed"]["$type"] == "app.bsky.embed.record"
            && let Some(quoted) = record["embed"]["record"]["uri"].as_str()
        {
            let shown = match self.find_post(quoted) {
                Some(q) => json!({
                    "$type": "app.bsky.embed.record#viewRecord",
                    "uri": q.uri,
                    "cid": q.cid,
                    "author": q.author,
                    "value": q.record,
                    "indexedAt": q.record["createdAt"],
                }),
                None => json!({
                    "$type": "app.bsky.embed.record#viewNotFound",
                    "uri": quoted,
                    "notFound": true,
                }),
            };
            view["embed"] = json!({"$type": "app.bsky.embed.record#view", "record": shown});
        }
        view
    }

    /// A seeded entry's record: a person's as it was made, or one made from its text.
    fn entry_record(entry: &FeedEntry) -> Value {
        if let Some(record) = &entry.record {
            return record.clone();
        }
        let mut record = json!({
            "$type": POST,
            "text": entry.text,
            "createdAt": bsky_time(entry.created_at),
        });
        if let Some(parent) = &entry.reply_to {
            let cid = fake_cid("bafyrei", parent.as_bytes());
            record["reply"] =
                json!({"root": {"uri": parent, "cid": cid}, "parent": {"uri": parent, "cid": cid}});
        }
        record
    }

    fn feed_view(&self, actor: &PublicActor, entry: &FeedEntry) -> Value {
        let record = Account::entry_record(entry);
        let author = if entry.repost {
            json!({"did": "did:plc:someoneelse2222222222222", "handle": "someone.else.test"})
        } else {
            self.author_basic(&actor.did)
        };
        let cid = fake_cid("bafyrei", entry.uri.as_bytes());
        self.post_view(&entry.uri, &cid, author, &record)
    }
}

/// `app.bsky.feed.getPosts`, proxied by the PDS with the session's token: the views of the
/// posts that exist, in the order asked; deleted or unknown ones are silently left out.
async fn get_posts(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Answer {
    let account = state.lock().unwrap();
    authorize(&account, &headers)?;
    let uris: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "uris")
        .map(|(_, v)| v.as_str())
        .collect();
    if uris.is_empty() || uris.len() > 25 {
        return Err(invalid("uris must have between 1 and 25 items"));
    }
    let mut posts = Vec::new();
    for uri in uris {
        if let Some(r) = account.records.iter().find(|r| r.uri == uri) {
            let author = account.author_basic(DID);
            posts.push(account.post_view(&r.uri, &r.cid, author, &r.value));
        }
        for actor in &account.actors {
            if let Some(entry) = actor.feed.iter().find(|p| p.uri == uri && !p.repost) {
                posts.push(account.feed_view(actor, entry));
            }
        }
    }
    Ok(axum::Json(json!({ "posts": posts })))
}

/// `app.bsky.actor.getProfile`: the account's own profile (with a valid token, as the PDS
/// proxies it), or a seeded actor's, which anyone may read.
async fn get_profile(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let account = state.lock().unwrap();
    if headers.contains_key("authorization") {
        authorize(&account, &headers)?;
    }
    let actor = query.get("actor").map(String::as_str).unwrap_or_default();
    if actor == DID || actor == IDENTIFIER {
        return Ok(axum::Json(account.own_profile()));
    }
    match account
        .actors
        .iter()
        .find(|a| a.did == actor || a.handle == actor)
    {
        Some(a) => Ok(axum::Json(Account::actor_profile(a))),
        None => Err(invalid("Profile not found")),
    }
}

/// `app.bsky.feed.getAuthorFeed` for a seeded actor, newest first, without a token. Reposts
/// come with a `reason`; `filter=posts_no_replies` leaves replies out. For the brand, see
/// [`brand_feed`].
async fn get_author_feed(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let account = state.lock().unwrap();
    if headers.contains_key("authorization") {
        authorize(&account, &headers)?;
    }
    let actor = query.get("actor").map(String::as_str).unwrap_or_default();
    if actor == DID || actor == IDENTIFIER {
        return brand_feed(&account, &query);
    }
    let Some(a) = account
        .actors
        .iter()
        .find(|a| a.did == actor || a.handle == actor)
    else {
        return Err(invalid("Profile not found"));
    };
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(invalid("limit must be between 1 and 100"));
    }
    let no_replies = query.get("filter").map(String::as_str) == Some("posts_no_replies");
    let feed: Vec<Value> = a
        .feed
        .iter()
        .rev()
        .filter(|p| !(no_replies && p.reply_to.is_some()))
        .take(limit)
        .map(|p| {
            let mut item = json!({ "post": account.feed_view(a, p) });
            if p.repost {
                item["reason"] = json!({
                    "$type": "app.bsky.feed.defs#reasonRepost",
                    "by": {"did": a.did, "handle": a.handle},
                    "indexedAt": p.created_at.to_string(),
                });
            }
            item
        })
        .collect();
    Ok(axum::Json(json!({ "feed": feed })))
}

/// The brand's `getAuthorFeed`: its posts, newest first, replies with their `record.reply` and
/// the feed item's `reply: {root, parent}` views; `filter` `posts_with_replies` (the default),
/// `posts_no_replies`, `posts_and_author_threads` (replies only in the brand's own threads),
/// `posts_with_media`; `limit` 1-100 (50); `cursor`, absent on the last page.
fn brand_feed(account: &Account, query: &HashMap<String, String>) -> Answer {
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(invalid("limit must be between 1 and 100"));
    }
    let filter = query
        .get("filter")
        .map(String::as_str)
        .unwrap_or("posts_with_replies");
    let all = account.all_posts();
    let mut posts: Vec<&PostInfo> = all
        .iter()
        .filter(|p| p.author["did"] == DID)
        .filter(|p| {
            let reply = &p.record["reply"];
            match filter {
                "posts_no_replies" => reply.is_null(),
                "posts_and_author_threads" => {
                    reply.is_null()
                        || reply["root"]["uri"]
                            .as_str()
                            .is_some_and(|u| uri_did(u) == DID)
                }
                "posts_with_media" | "posts_with_video" => p.record["embed"]["$type"]
                    .as_str()
                    .is_some_and(|t| t.contains("images") || t.contains("video")),
                _ => true,
            }
        })
        .collect();
    // Newest first; the brand's records keep their order when their times tie.
    posts.reverse();
    posts.sort_by_key(|p| std::cmp::Reverse(p.created_at));
    if let Some(cursor) = query.get("cursor") {
        let Some(i) = posts.iter().position(|p| &p.uri == cursor) else {
            return Err(invalid("Malformed cursor"));
        };
        posts.drain(..=i);
    }
    let more = posts.len() > limit;
    posts.truncate(limit);
    let shown = |uri: Option<&str>| match uri.and_then(|u| all.iter().find(|p| p.uri == u)) {
        Some(p) => account.typed_view(p),
        None => not_found_post(uri.unwrap_or_default()),
    };
    let feed: Vec<Value> = posts
        .iter()
        .map(|p| {
            let mut item = json!({ "post": account.view(p) });
            let reply = &p.record["reply"];
            if !reply.is_null() {
                item["reply"] = json!({
                    "root": shown(reply["root"]["uri"].as_str()),
                    "parent": shown(reply["parent"]["uri"].as_str()),
                });
            }
            item
        })
        .collect();
    let mut answer = json!({ "feed": feed });
    if more && let Some(last) = posts.last() {
        answer["cursor"] = json!(last.uri);
    }
    Ok(axum::Json(answer))
}

/// `app.bsky.feed.getPostThread` (token optional): the post with its parents (`parentHeight`,
/// default 80) and its replies (`depth`, default 6), both 0-1000; a missing parent is a
/// `notFoundPost`, a missing post the AppView's `NotFound` error.
async fn get_post_thread(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let mut account = state.lock().unwrap();
    account.thread_requests += 1;
    if headers.contains_key("authorization") {
        authorize(&account, &headers)?;
    }
    let Some(uri) = query.get("uri") else {
        return Err(invalid("Params must have the property \"uri\""));
    };
    let number = |name: &str, default: usize| -> Result<usize, Refusal> {
        match query.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= 1000)
                .ok_or_else(|| invalid(format!("{name} must be an integer between 0 and 1000"))),
        }
    };
    let depth = number("depth", 6)?;
    let parent_height = number("parentHeight", 80)?;
    let all = account.all_posts();
    let Some(post) = all.iter().find(|p| &p.uri == uri) else {
        return Err(xrpc_error(
            400,
            "NotFound",
            &format!("Post not found: {uri}"),
        ));
    };
    let mut thread = account.thread_down(post, depth, &all);
    if let Some(parent) = account.thread_up(post, parent_height, &all) {
        thread["parent"] = parent;
    }
    Ok(axum::Json(json!({ "thread": thread })))
}

/// `app.bsky.notification.listNotifications` (the brand's token): newest first, `reasons`
/// filter (`reasons=reply&reasons=mention`, or `reasons[]=`), `limit` 1-100 (50), `cursor`
/// (opaque; absent on the last page); `isRead` against the last `updateSeen`.
async fn list_notifications(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Answer {
    let mut account = state.lock().unwrap();
    account.notification_requests += 1;
    authorize(&account, &headers)?;
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let limit = match get("limit") {
        None => 50,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or_else(|| invalid("limit must be between 1 and 100"))?,
    };
    let reasons: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "reasons" || k == "reasons[]")
        .map(|(_, v)| v.as_str())
        .collect();
    // The AppView's cursor, "<indexedAt in ms>::<cid>" of the last item: the next page is what
    // was indexed before that millisecond (each notification has its own).
    let before = match get("cursor") {
        None => i64::MAX,
        Some(cursor) => cursor
            .split_once("::")
            .and_then(|(ms, _)| ms.parse::<i64>().ok())
            .ok_or_else(|| invalid("Malformed cursor"))?,
    };
    let matching: Vec<&FakeNotification> = account
        .notifications
        .iter()
        .filter(|n| n.indexed_at.as_millisecond() < before)
        .filter(|n| reasons.is_empty() || reasons.contains(&n.reason.as_str()))
        .rev()
        .collect();
    let more = matching.len() > limit;
    let page = &matching[..matching.len().min(limit)];
    let notifications: Vec<Value> = page
        .iter()
        .map(|n| {
            let mut item = json!({
                "uri": n.uri,
                "cid": n.cid,
                "author": account.author_profile(&n.author_did),
                "reason": n.reason,
                "record": n.record,
                "isRead": account.seen_at.is_some_and(|seen| n.indexed_at <= seen),
                "indexedAt": bsky_time(n.indexed_at),
                "labels": [],
            });
            if let Some(subject) = &n.reason_subject {
                item["reasonSubject"] = json!(subject);
            }
            item
        })
        .collect();
    let mut answer = json!({ "notifications": notifications, "priority": false });
    if more && let Some(n) = page.last() {
        answer["cursor"] = json!(format!("{}::{}", n.indexed_at.as_millisecond(), n.cid));
    }
    if let Some(seen) = account.seen_at {
        answer["seenAt"] = json!(bsky_time(seen));
    }
    Ok(axum::Json(answer))
}

/// `app.bsky.notification.updateSeen` (the brand's token): `{seenAt}`, a datetime.
async fn update_seen(
    State(state): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Result<StatusCode, Refusal> {
    let mut account = state.lock().unwrap();
    authorize(&account, &headers)?;
    let Some(seen) = body["seenAt"]
        .as_str()
        .and_then(|t| t.parse::<Timestamp>().ok())
    else {
        return Err(invalid("Input/seenAt must be a valid datetime"));
    };
    account.seen_at = Some(seen);
    Ok(StatusCode::OK)
}

async fn resolve_handle(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let account = state.lock().unwrap();
    let handle = query.get("handle").map(String::as_str).unwrap_or_default();
    let did = if handle == IDENTIFIER {
        Some(DID.to_owned())
    } else {
        account.handles.get(handle).cloned()
    };
    match did {
        Some(did) => Ok(axum::Json(json!({"did": did}))),
        None => Err(invalid("Unable to resolve handle")),
    }
}

/// `[a-zA-Z0-9._:~-]{1,512}`, not `.` or `..`: the record key syntax.
fn valid_record_key(rkey: &str) -> bool {
    (1..=512).contains(&rkey.len())
        && rkey != "."
        && rkey != ".."
        && rkey
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:~-".contains(&b))
}

/// User-perceived characters, approximately: enough for the fake's limits. Marks, variation
/// selectors, skin tones and emoji tags join the character before them; a zero-width joiner
/// joins its neighbours; regional indicators pair into flags.
fn graphemes(text: &str) -> usize {
    let mut count = 0;
    let mut join_next = false;
    let mut open_flag = false;
    for c in text.chars() {
        let cp = c as u32;
        let extends = matches!(cp,
            0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF
            | 0xFE00..=0xFE0F | 0xFE20..=0xFE2F | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F);
        let regional = (0x1F1E6..=0x1F1FF).contains(&cp);
        if cp == 0x200D {
            join_next = true;
            continue;
        }
        if extends || join_next || (regional && open_flag) {
            join_next = false;
            open_flag = false;
            continue;
        }
        open_flag = regional;
        count += 1;
    }
    count
}

/// A CID-looking, content-derived identifier (base32, like real CIDv1 strings).
fn fake_cid(prefix: &str, bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::from(prefix);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for round in 0u8..4 {
        h ^= u64::from(round);
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for i in 0..13 {
            out.push(ALPHABET[((h >> (i * 5)) & 31) as usize] as char);
        }
    }
    out
}
