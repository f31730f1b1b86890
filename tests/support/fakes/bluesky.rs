//! A fake Bluesky PDS built from the lexicons and the reference PDS's documented answers: app-password
//! sessions with access JWTs that can be made to expire, blobs, validated post records, read-back.
//!
//! Stricter than the real PDS in one place, on purpose: facet byte ranges are checked against the
//! text (the real one accepts any range and the app silently drops bad facets).
//!
//! It also stands in for the AppView behind the PDS: `getPosts` and `getProfile` with counters a
//! test can change (the PDS proxies them with the session's token), and, without any token,
//! `getProfile` and `getAuthorFeed` for seeded public actors (competitors).

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

/// Someone else's account, readable by anyone.
struct PublicActor {
    did: String,
    handle: String,
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
}

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
    records: Vec<StoredRecord>,
    /// Other accounts' handles -> DIDs, for resolveHandle.
    handles: HashMap<String, String>,
    followers: u64,
    /// Post at-uri -> counters; a post not here has every counter at 0.
    counts: HashMap<String, PostCounts>,
    actors: Vec<PublicActor>,
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
            .route(
                "/xrpc/com.atproto.identity.resolveHandle",
                get(resolve_handle),
            )
            .route("/xrpc/app.bsky.feed.getPosts", get(get_posts))
            .route("/xrpc/app.bsky.actor.getProfile", get(get_profile))
            .route("/xrpc/app.bsky.feed.getAuthorFeed", get(get_author_feed))
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

    /// The post is deleted: `getPosts` leaves it out, as Bluesky does.
    pub fn delete_post(&self, uri: &str) {
        self.state.lock().unwrap().records.retain(|r| r.uri != uri);
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
                }
            })
            .collect();
        let post_uris = feed.iter().map(|p| p.uri.clone()).collect();
        account.handles.insert(handle.to_owned(), did.clone());
        account.actors.push(PublicActor {
            did: did.clone(),
            handle: handle.to_owned(),
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
        });
        uri
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
    let repo = body["repo"].as_str().unwrap_or_default();
    if repo != DID && repo != IDENTIFIER {
        return Err(invalid(format!("Could not find repo: {repo}")));
    }
    if body["collection"].as_str() != Some(POST) {
        return Err(invalid(
            "this fake PDS only stores app.bsky.feed.post records",
        ));
    }
    let rkey = match body["rkey"].as_str() {
        Some(rkey) if valid_record_key(rkey) => rkey.to_owned(),
        Some(_) => return Err(invalid("record key syntax not valid (regex)")),
        None => format!("3l{:011}", account.records.len()),
    };
    let record = &body["record"];
    validate_post(&account, record)?;
    let uri = format!("at://{DID}/{POST}/{rkey}");
    if account.records.iter().any(|r| r.rkey == rkey) {
        // The reference PDS's repository tree refuses a second value under a key
        // ("There is already a value at key"), which surfaces as an opaque 500.
        return Err(xrpc_error(
            500,
            "InternalServerError",
            "Internal Server Error",
        ));
    }
    let cid = fake_cid("bafyrei", record.to_string().as_bytes());
    account.records.push(StoredRecord {
        uri: uri.clone(),
        rkey,
        cid: cid.clone(),
        value: record.clone(),
    });
    Ok(axum::Json(json!({
        "uri": uri,
        "cid": cid,
        "commit": {"cid": fake_cid("bafyrei", uri.as_bytes()), "rev": "3lfakerev2222"},
        "validationStatus": "valid",
    })))
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
        .records
        .iter()
        .find(|r| collection == POST && r.rkey == rkey)
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

impl Account {
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
            "displayName": actor.handle,
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
        view
    }

    fn feed_view(&self, actor: &PublicActor, entry: &FeedEntry) -> Value {
        let mut record = json!({
            "$type": POST,
            "text": entry.text,
            "createdAt": entry.created_at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        });
        if let Some(parent) = &entry.reply_to {
            let cid = fake_cid("bafyrei", parent.as_bytes());
            record["reply"] =
                json!({"root": {"uri": parent, "cid": cid}, "parent": {"uri": parent, "cid": cid}});
        }
        let author = if entry.repost {
            json!({"did": "did:plc:someoneelse2222222222222", "handle": "someone.else.test"})
        } else {
            json!({"did": actor.did, "handle": actor.handle})
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
            let author = json!({"did": DID, "handle": IDENTIFIER});
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
/// come with a `reason`; `filter=posts_no_replies` leaves replies out.
async fn get_author_feed(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let account = state.lock().unwrap();
    let actor = query.get("actor").map(String::as_str).unwrap_or_default();
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
