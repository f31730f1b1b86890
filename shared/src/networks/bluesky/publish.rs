//! Bluesky (AT Protocol): app-password sessions kept per channel, blobs uploaded right before the
//! post, and a record key derived from the target so that a post whose answer was lost is read back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use jiff::Timestamp;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use unicode_segmentation::UnicodeSegmentation;

use super::{
    Account, Outgoing, Publish, PublishContext, PublishError, Published, ReadBack, ReadMetrics,
    Renewal, call_failed, create_failed, reset_at_unix, retry_after,
};
use crate::domain::channel::BLUESKY_DEFAULT_SERVICE;
use crate::domain::{
    Asset, Counters, Credentials, Endpoint, MediaKind, MetricsReading, Network, OutboundPolicy,
    Secret,
};
use crate::outbound::{CallError, JSON_ANSWER_LIMIT, OutboundClient, read_body};

const NETWORK: &str = "Bluesky";
const POST_COLLECTION: &str = "app.bsky.feed.post";
const MAX_IMAGES: usize = 4;
const MAX_IMAGE_BYTES: u64 = 1_000_000;
const MAX_TAG_GRAPHEMES: usize = 64;

pub struct BlueskyConnector {
    http: OutboundClient,
    /// One slot per channel and login. The async lock makes concurrent publishes of one channel
    /// share a single login or refresh instead of racing (refreshing rotates the refresh JWT).
    sessions: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Session>>>>>,
}

#[derive(Debug, Clone)]
struct Session {
    access_jwt: Secret,
    refresh_jwt: Secret,
    did: String,
    /// Where the repository lives; the login server may be an entryway in front of it.
    pds: String,
}

/// A created (or found) post record.
#[derive(Debug, Clone, Deserialize)]
struct PostRef {
    uri: String,
    cid: String,
}

impl BlueskyConnector {
    pub fn new(http: OutboundClient) -> Self {
        Self {
            http,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, account: &Account<'_>) -> Arc<tokio::sync::Mutex<Option<Session>>> {
        let identifier = account
            .credentials()
            .get("identifier")
            .map(|s| s.expose().to_owned())
            .unwrap_or_default();
        // Keyed by login too, so a channel reconnected to another account never reuses a session.
        let key = format!(
            "{}|{}|{}",
            account.channel.id,
            service_url(account),
            identifier
        );
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        sessions.entry(key).or_default().clone()
    }

    /// The session to act with: this process's, else the one an earlier process stored, else a
    /// new login (rate-limited by Bluesky, hence the last resort).
    async fn session(&self, account: &Account<'_>) -> Result<Session, PublishError> {
        let slot = self.slot(account);
        let mut current = slot.lock().await;
        if let Some(session) = current.as_ref() {
            return Ok(session.clone());
        }
        let session = match stored_session(account.credentials(), account, self.http.policy()) {
            Some(session) => session,
            None => {
                let session = self.create_session(account).await?;
                store_session(account, &session, true).await;
                session
            }
        };
        *current = Some(session.clone());
        Ok(session)
    }

    /// Replaces a session whose access JWT Bluesky refused: refresh first, log in only if no
    /// refresh JWT is accepted.
    async fn renew(&self, account: &Account<'_>, stale: &Session) -> Result<Session, PublishError> {
        let slot = self.slot(account);
        let mut current = slot.lock().await;
        if let Some(session) = current.as_ref()
            && session.access_jwt != stale.access_jwt
        {
            // Another task renewed it while this one waited.
            return Ok(session.clone());
        }
        // One renewal at a time per channel across processes (refreshing rotates the refresh
        // JWT), from the session as stored now.
        let renewal = account.begin_renewal().await?;
        let policy = self.http.policy();
        if let Some(stored) = stored_session(&renewal.credentials, account, policy)
            && stored.access_jwt != stale.access_jwt
        {
            // Another process renewed it and stored its session while this one waited.
            account.finish_renewal(renewal, Vec::new()).await?;
            *current = Some(stored.clone());
            return Ok(stored);
        }
        let renewed =
            super::within_renewal_time(NETWORK, self.renewed_session(account, &renewal, stale))
                .await;
        let (session, with_pds) = match renewed {
            Ok(renewed) => renewed,
            Err(e) => {
                account.finish_renewal(renewal, Vec::new()).await?;
                return Err(e);
            }
        };
        // A session that could not be saved still works in this process; the next one logs in.
        if let Err(e) = account
            .finish_renewal(renewal, session_changes(account, &session, with_pds))
            .await
        {
            tracing::warn!(channel = %account.channel.id, error = %e, "could not save the Bluesky session");
        }
        *current = Some(session.clone());
        Ok(session)
    }

    /// A new session: refreshed with the newest refresh JWT (the stored one, then this
    /// process's), else a new login. `true` when it came from a login (its PDS is new too).
    async fn renewed_session(
        &self,
        account: &Account<'_>,
        renewal: &Renewal,
        stale: &Session,
    ) -> Result<(Session, bool), PublishError> {
        let mut refresh_jwts = Vec::new();
        if let Some(stored) = renewal.credentials.get("refresh_jwt") {
            refresh_jwts.push(stored.clone());
        }
        if !refresh_jwts.contains(&stale.refresh_jwt) {
            refresh_jwts.push(stale.refresh_jwt.clone());
        }
        for refresh_jwt in refresh_jwts.iter().filter(|jwt| !jwt.is_empty()) {
            if let Some(session) = self.refresh_session(account, refresh_jwt).await? {
                return Ok((session, false));
            }
        }
        Ok((self.create_session(account).await?, true))
    }

    async fn create_session(&self, account: &Account<'_>) -> Result<Session, PublishError> {
        let identifier = account.credential("identifier")?.expose().to_owned();
        let password = account.credential("app_password")?;
        let call = Call::post_json(
            "com.atproto.server.createSession",
            json!({"identifier": identifier, "password": password.expose()}),
        );
        let answer = self.send(&service_url(account), &call, None).await?;
        if !answer.ok() {
            let error = answer.error();
            return Err(match (answer.status.as_u16(), error.error.as_str()) {
                (429, _) => rate_limited(
                    &answer,
                    "Bluesky limits sign-ins with an app password (30 per 5 minutes, 300 per day)",
                ),
                (_, "AuthFactorTokenRequired") => PublishError::AuthExpired(format!(
                    "Bluesky asked for an email sign-in code for {identifier}: the stored password is the account password, not an app password; create an app password in Bluesky's settings and connect the channel again"
                )),
                (_, "AccountTakedown") => PublishError::AuthExpired(format!(
                    "Bluesky has suspended the account {identifier} ({})",
                    error.said()
                )),
                (400 | 401, _) => PublishError::AuthExpired(format!(
                    "Bluesky refused the app password for {identifier} ({}); create a new app password in Bluesky's settings and connect the channel again",
                    error.said()
                )),
                _ => refusal(&answer, Step::SignIn),
            });
        }
        parse_session(&answer, &service_url(account), self.http.policy())
    }

    /// `None` when Bluesky refuses this refresh JWT (expired or revoked): the caller logs in.
    async fn refresh_session(
        &self,
        account: &Account<'_>,
        refresh_jwt: &Secret,
    ) -> Result<Option<Session>, PublishError> {
        let call = Call {
            method: Method::POST,
            nsid: "com.atproto.server.refreshSession",
            query: Vec::new(),
            payload: Payload::Empty,
            creates: false,
        };
        let answer = self
            .send(&service_url(account), &call, Some(refresh_jwt))
            .await?;
        match answer.status.as_u16() {
            200..=299 => Ok(Some(parse_session(
                &answer,
                &service_url(account),
                self.http.policy(),
            )?)),
            400 | 401 => Ok(None),
            _ => Err(refusal(&answer, Step::SignIn)),
        }
    }

    /// An authenticated call; an expired or rejected access JWT is renewed and the call made once
    /// more (a refused call created nothing, so repeating it is safe).
    async fn call(
        &self,
        account: &Account<'_>,
        call: &Call,
    ) -> Result<(Answer, Session), PublishError> {
        let session = self.session(account).await?;
        let answer = self
            .send(&session.pds, call, Some(&session.access_jwt))
            .await?;
        if !answer.token_refused() {
            return Ok((answer, session));
        }
        let session = self.renew(account, &session).await?;
        let answer = self
            .send(&session.pds, call, Some(&session.access_jwt))
            .await?;
        Ok((answer, session))
    }

    async fn send(
        &self,
        base: &str,
        call: &Call,
        bearer: Option<&Secret>,
    ) -> Result<Answer, PublishError> {
        let transport = |e: &CallError| {
            if call.creates {
                create_failed(NETWORK, e)
            } else {
                call_failed(NETWORK, e)
            }
        };
        let url = format!("{base}/xrpc/{}", call.nsid);
        let mut request = self.http.request(call.method.clone(), url);
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if let Some(token) = bearer {
            request = request.bearer_auth(token.expose());
        }
        request = match &call.payload {
            Payload::Empty => request,
            Payload::Json(body) => request.json(body),
            Payload::Bytes {
                bytes,
                content_type,
            } => request
                .header(CONTENT_TYPE, content_type.as_str())
                .body(bytes.clone()),
        };
        let response = self.http.send(request).await.map_err(|e| transport(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_body(response, JSON_ANSWER_LIMIT)
            .await
            .map_err(|e| transport(&e))?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// Reads our record `rkey` back; `None` when the repository has no such record.
    async fn read_post(
        &self,
        session: &Session,
        rkey: &str,
    ) -> Result<Option<PostRef>, PublishError> {
        let call = Call {
            method: Method::GET,
            nsid: "com.atproto.repo.getRecord",
            query: vec![
                ("repo", session.did.clone()),
                ("collection", POST_COLLECTION.to_owned()),
                ("rkey", rkey.to_owned()),
            ],
            payload: Payload::Empty,
            creates: false,
        };
        // Public records: no token needed, so a read-back never spends a login.
        let answer = self.send(&session.pds, &call, None).await?;
        if answer.ok() {
            return answer.parse::<PostRef>().map(Some);
        }
        let error = answer.error();
        if error.error == "RecordNotFound" || answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Err(refusal(&answer, Step::Read))
    }

    /// Creates one post record under our deterministic `rkey`. A refusal is checked against the
    /// repository first: if the record is already there, an earlier attempt made it.
    async fn create_post(
        &self,
        account: &Account<'_>,
        rkey: &str,
        record: Value,
    ) -> Result<PostRef, PublishError> {
        let did = self.session(account).await?.did;
        let call = Call {
            method: Method::POST,
            nsid: "com.atproto.repo.createRecord",
            query: Vec::new(),
            payload: Payload::Json(json!({
                "repo": did,
                "collection": POST_COLLECTION,
                "rkey": rkey,
                "record": record,
            })),
            creates: true,
        };
        let (answer, session) = self.call(account, &call).await?;
        if answer.ok() {
            return answer.parse::<PostRef>().map_err(|_| {
                PublishError::UnknownOutcome(
                    "Bluesky accepted the post but its answer could not be read; it will be checked before any retry"
                        .into(),
                )
            });
        }
        let refused = refusal(&answer, Step::Post);
        if matches!(
            refused,
            PublishError::RateLimited { .. } | PublishError::AuthExpired(_)
        ) {
            return Err(refused);
        }
        // The reference PDS refuses a second record under a taken key with an opaque error (its
        // repository tree rejects the key), so any refusal is checked against the repository.
        match self.read_post(&session, rkey).await {
            Ok(Some(existing)) => Ok(existing),
            _ => Err(refused),
        }
    }

    async fn upload(
        &self,
        account: &Account<'_>,
        asset: &Asset,
        bytes: Bytes,
        what: &str,
    ) -> Result<Value, PublishError> {
        let call = Call {
            method: Method::POST,
            nsid: "com.atproto.repo.uploadBlob",
            query: Vec::new(),
            payload: Payload::Bytes {
                bytes,
                content_type: asset.content_type.clone(),
            },
            creates: false,
        };
        let (answer, _) = self.call(account, &call).await?;
        if !answer.ok() {
            return Err(match refusal(&answer, Step::Upload) {
                PublishError::InvalidMedia(message) => {
                    PublishError::InvalidMedia(format!("{what}: {message}"))
                }
                other => other,
            });
        }
        #[derive(Deserialize)]
        struct Uploaded {
            blob: Value,
        }
        // The blob reference goes into the post exactly as Bluesky returned it.
        Ok(answer.parse::<Uploaded>()?.blob)
    }

    /// The post's embed; uploads happen here, right before the record is created, because
    /// Bluesky deletes blobs that no record references within minutes.
    async fn embed(
        &self,
        ctx: &PublishContext<'_>,
        media: &[Asset],
    ) -> Result<Option<Value>, PublishError> {
        let Some(first) = media.first() else {
            return Ok(None);
        };
        if first.kind == MediaKind::Video {
            let bytes = ctx.media.read(first, 0..first.size).await?;
            let blob = self.upload(&ctx.account, first, bytes, "the video").await?;
            let mut embed = json!({"$type": "app.bsky.embed.video", "video": blob});
            if let Some(alt) = first.alt_text.as_deref().filter(|a| !a.is_empty()) {
                embed["alt"] = json!(alt);
            }
            if let Some(ratio) = aspect_ratio(first) {
                embed["aspectRatio"] = ratio;
            }
            return Ok(Some(embed));
        }
        let mut images = Vec::with_capacity(media.len());
        for (i, asset) in media.iter().enumerate() {
            let what = format!("photo {}", i + 1);
            let bytes = ctx.media.read(asset, 0..asset.size).await?;
            check_image_size(&what, bytes.len() as u64)?;
            let blob = self.upload(&ctx.account, asset, bytes, &what).await?;
            // `alt` is required by the lexicon: an empty string says "no description".
            let mut image = json!({"image": blob, "alt": asset.alt_text.as_deref().unwrap_or("")});
            if let Some(ratio) = aspect_ratio(asset) {
                image["aspectRatio"] = ratio;
            }
            images.push(image);
        }
        Ok(Some(
            json!({"$type": "app.bsky.embed.images", "images": images}),
        ))
    }

    /// Facets for the links, hashtags and mentions of `text`; a mention whose handle does not
    /// resolve stays plain text and is reported in `notes`.
    async fn facets(
        &self,
        account: &Account<'_>,
        text: &str,
        resolved: &mut HashMap<String, Option<String>>,
        notes: &mut Vec<String>,
    ) -> Vec<Value> {
        let mut facets = Vec::new();
        for span in spans(text) {
            let feature = match &span.kind {
                SpanKind::Link(uri) => json!({"$type": "app.bsky.richtext.facet#link", "uri": uri}),
                SpanKind::Tag(tag) => json!({"$type": "app.bsky.richtext.facet#tag", "tag": tag}),
                SpanKind::Mention(handle) => {
                    let did = match resolved.get(handle) {
                        Some(did) => did.clone(),
                        None => {
                            let did = self.resolve_handle(account, handle).await;
                            if did.is_none() {
                                notes.push(format!(
                                    "@{handle} was left as plain text: Bluesky could not find that handle"
                                ));
                            }
                            resolved.insert(handle.clone(), did.clone());
                            did
                        }
                    };
                    match did {
                        Some(did) => {
                            json!({"$type": "app.bsky.richtext.facet#mention", "did": did})
                        }
                        None => continue,
                    }
                }
            };
            facets.push(json!({
                "index": {"byteStart": span.start, "byteEnd": span.end},
                "features": [feature],
            }));
        }
        facets
    }

    async fn resolve_handle(&self, account: &Account<'_>, handle: &str) -> Option<String> {
        let call = Call {
            method: Method::GET,
            nsid: "com.atproto.identity.resolveHandle",
            query: vec![("handle", handle.to_owned())],
            payload: Payload::Empty,
            creates: false,
        };
        #[derive(Deserialize)]
        struct Resolved {
            did: String,
        }
        let base = match self.session(account).await {
            Ok(session) => session.pds,
            Err(_) => service_url(account),
        };
        let answer = self.send(&base, &call, None).await.ok()?;
        if !answer.ok() {
            return None;
        }
        answer
            .parse::<Resolved>()
            .ok()
            .map(|r| r.did)
            .filter(|did| did.starts_with("did:"))
    }

    async fn record(
        &self,
        account: &Account<'_>,
        text: &str,
        resolved: &mut HashMap<String, Option<String>>,
        notes: &mut Vec<String>,
    ) -> Value {
        let mut record = json!({
            "$type": POST_COLLECTION,
            "text": text,
            "createdAt": Timestamp::now().to_string(),
        });
        let facets = self.facets(account, text, resolved, notes).await;
        if !facets.is_empty() {
            record["facets"] = Value::Array(facets);
        }
        let langs = languages(account);
        if !langs.is_empty() {
            record["langs"] = json!(langs);
        }
        record
    }
}

#[async_trait]
impl Publish for BlueskyConnector {
    fn network(&self) -> Network {
        Network::Bluesky
    }

    async fn publish(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<Published, PublishError> {
        check_media(&post.media)?;
        let account = &ctx.account;
        let session = self.session(account).await?;
        let mut notes = Vec::new();
        let mut resolved = HashMap::new();

        let mut record = self
            .record(account, &post.text, &mut resolved, &mut notes)
            .await;
        if let Some(embed) = self.embed(ctx, &post.media).await? {
            record["embed"] = embed;
        }
        let root_rkey = record_key(&post.key, 0);
        let root = self.create_post(account, &root_rkey, record).await?;

        let mut parent = root.clone();
        for (i, text) in post.thread.iter().enumerate() {
            let part = i + 1;
            let rkey = record_key(&post.key, part);
            let mut record = self.record(account, text, &mut resolved, &mut notes).await;
            record["reply"] = json!({
                "root": {"uri": root.uri, "cid": root.cid},
                "parent": {"uri": parent.uri, "cid": parent.cid},
            });
            let made = match self.create_post(account, &rkey, record).await {
                Err(PublishError::UnknownOutcome(why)) => {
                    // Replies have no read-back of their own later: look now.
                    match self.session(account).await {
                        Ok(session) => match self.read_post(&session, &rkey).await {
                            Ok(Some(found)) => Ok(found),
                            _ => Err(PublishError::UnknownOutcome(why)),
                        },
                        Err(_) => Err(PublishError::UnknownOutcome(why)),
                    }
                }
                other => other,
            };
            match made {
                Ok(reply) => parent = reply,
                Err(e) => {
                    notes.push(unposted_follow_ups(part, post.thread.len(), &e.to_string()));
                    break;
                }
            }
        }
        Ok(Published {
            remote_id: root.uri,
            url: Some(post_url(&session.did, &root_rkey)),
            notes,
        })
    }

    async fn find_published(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<ReadBack, PublishError> {
        let session = self.session(&ctx.account).await?;
        let root_rkey = record_key(&post.key, 0);
        let Some(root) = self.read_post(&session, &root_rkey).await? else {
            return Ok(ReadBack::NotFound);
        };
        let mut published = Published::new(root.uri, Some(post_url(&session.did, &root_rkey)));
        // The attempt that made the post lost its answer before its thread: say which
        // follow-ups are missing, since finding the post ends this target's publishing.
        for part in 1..=post.thread.len() {
            match self.read_post(&session, &record_key(&post.key, part)).await {
                Ok(Some(_)) => continue,
                Ok(None) => published.notes.push(unposted_follow_ups(
                    part,
                    post.thread.len(),
                    "the first attempt's answer was lost before the thread was posted",
                )),
                Err(e) => published.notes.push(format!(
                    "could not check whether follow-up {part} was posted: {e}"
                )),
            }
            break;
        }
        Ok(ReadBack::Found(published))
    }
}

#[async_trait]
impl ReadMetrics for BlueskyConnector {
    /// `remote_id` is the post's at-uri. The account's PDS passes `app.bsky.*` reads on to its
    /// AppView, so the session that publishes also reads.
    async fn post_metrics(
        &self,
        account: &Account<'_>,
        remote_id: &str,
    ) -> Result<MetricsReading, PublishError> {
        if !remote_id.starts_with("at://") {
            return Err(PublishError::InvalidContent(format!(
                "{remote_id:?} is not the address of a Bluesky post (at://...)"
            )));
        }
        let call = Call {
            method: Method::GET,
            nsid: "app.bsky.feed.getPosts",
            query: vec![("uris", remote_id.to_owned())],
            payload: Payload::Empty,
            creates: false,
        };
        let (answer, _) = self.call(account, &call).await?;
        if !answer.ok() {
            return Err(refusal(&answer, Step::Read));
        }
        #[derive(Deserialize)]
        struct Posts {
            posts: Vec<Value>,
        }
        // getPosts leaves out, without an error, posts that were deleted or that the account
        // cannot see (blocked, taken down); one URI was asked for, so any answer is that post.
        let post = answer
            .parse::<Posts>()?
            .posts
            .into_iter()
            .next()
            .ok_or_else(|| {
                PublishError::InvalidContent(format!(
                    "the Bluesky post {remote_id} was deleted or is not visible (Bluesky did not return it); its figures cannot be read any more"
                ))
            })?;
        Ok(MetricsReading {
            counters: post_counters(&post),
            raw: post,
        })
    }

    async fn account_metrics(&self, account: &Account<'_>) -> Result<MetricsReading, PublishError> {
        let did = self.session(account).await?.did;
        let call = Call {
            method: Method::GET,
            nsid: "app.bsky.actor.getProfile",
            query: vec![("actor", did)],
            payload: Payload::Empty,
            creates: false,
        };
        let (answer, _) = self.call(account, &call).await?;
        if !answer.ok() {
            return Err(refusal(&answer, Step::Read));
        }
        let profile: Value = answer.parse()?;
        Ok(MetricsReading {
            counters: profile_counters(&profile),
            raw: profile,
        })
    }
}

/// A post view's figures. Bluesky counts no views, reach or clicks; `bookmarkCount` is newer
/// than the others, so an AppView without it leaves saves not available.
pub(super) fn post_counters(post: &Value) -> Counters {
    Counters {
        likes: count(post, "likeCount"),
        reposts: count(post, "repostCount"),
        replies: count(post, "replyCount"),
        quotes: count(post, "quoteCount"),
        saves: count(post, "bookmarkCount"),
        ..Counters::default()
    }
}

pub(super) fn profile_counters(profile: &Value) -> Counters {
    Counters {
        followers: count(profile, "followersCount"),
        ..Counters::default()
    }
}

/// A counter as sent; missing or not a count is "not available", never 0.
fn count(object: &Value, key: &str) -> Option<u64> {
    object.get(key)?.as_u64()
}

fn unposted_follow_ups(from: usize, total: usize, why: &str) -> String {
    if from == total {
        format!("follow-up {from} was not posted: {why}")
    } else {
        format!("follow-ups {from} to {total} were not posted: {why}")
    }
}

fn service_url(account: &Account<'_>) -> String {
    account
        .channel
        .settings
        .get("service_url")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(BLUESKY_DEFAULT_SERVICE)
        .trim_end_matches('/')
        .to_owned()
}

/// The `langs` setting: up to three comma-separated language tags, e.g. `it,en`.
fn languages(account: &Account<'_>) -> Vec<String> {
    account
        .channel
        .settings
        .get("langs")
        .and_then(Value::as_str)
        .map(|raw| {
            raw.split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .take(3)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn post_url(did: &str, rkey: &str) -> String {
    // The DID, unlike the handle, never changes, so the link keeps working.
    format!("https://bsky.app/profile/{did}/post/{rkey}")
}

/// A session an earlier process stored with the channel's `credentials`, if it was made by the
/// channel's current service and names a PDS we connect to; otherwise the caller logs in again.
fn stored_session(
    credentials: &Credentials,
    account: &Account<'_>,
    policy: OutboundPolicy,
) -> Option<Session> {
    let get = |key: &str| credentials.get(key).filter(|s| !s.is_empty());
    let made_by = get(SESSION_SERVICE).map(|s| Endpoint::from_stored(s.expose()));
    if made_by.is_none() || made_by != Endpoint::of(&service_url(account)).ok() {
        return None;
    }
    if let Some(pds) = get("pds_url")
        && let Err(why) = policy.check_url(pds.expose())
    {
        tracing::warn!(channel = %account.channel.id, reason = %why, "the stored Bluesky session names a refused PDS; logging in again");
        return None;
    }
    Some(Session {
        access_jwt: get("access_jwt")?.clone(),
        refresh_jwt: get("refresh_jwt")
            .cloned()
            .unwrap_or_else(|| Secret::new("")),
        did: get("did")?.expose().to_owned(),
        pds: get("pds_url")
            .map(|s| s.expose().trim_end_matches('/').to_owned())
            .unwrap_or_else(|| service_url(account)),
    })
}

/// Saves the session with the channel so the next process reuses it instead of logging in.
async fn store_session(account: &Account<'_>, session: &Session, with_pds: bool) {
    let changes = session_changes(account, session, with_pds);
    // A session that could not be saved still works in this process; the next one logs in.
    if let Err(e) = account.credentials_sink.update(changes).await {
        tracing::warn!(channel = %account.channel.id, error = %e, "could not save the Bluesky session");
    }
}

/// What a session leaves in the channel's credentials.
fn session_changes(
    account: &Account<'_>,
    session: &Session,
    with_pds: bool,
) -> Vec<(String, Secret)> {
    let made_by = Endpoint::of(&service_url(account))
        .map(|e| e.as_str().to_owned())
        .unwrap_or_default();
    let mut changes = vec![
        (SESSION_SERVICE.to_owned(), Secret::new(made_by)),
        ("access_jwt".to_owned(), session.access_jwt.clone()),
        ("refresh_jwt".to_owned(), session.refresh_jwt.clone()),
        ("did".to_owned(), Secret::new(session.did.clone())),
    ];
    if with_pds {
        changes.push(("pds_url".to_owned(), Secret::new(session.pds.clone())));
    }
    changes.retain(|(_, value)| !value.is_empty());
    changes
}

/// The credential key recording which service (its endpoint) made the stored session.
const SESSION_SERVICE: &str = "session_service";

fn parse_session(
    answer: &Answer,
    service: &str,
    policy: OutboundPolicy,
) -> Result<Session, PublishError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Created {
        access_jwt: String,
        #[serde(default)]
        refresh_jwt: String,
        did: String,
        #[serde(default)]
        did_doc: Option<Value>,
    }
    let created: Created = answer.parse()?;
    let pds = created
        .did_doc
        .as_ref()
        .and_then(pds_endpoint)
        .unwrap_or_else(|| service.to_owned());
    // The DID document is the account owner's to write: its PDS gets the access JWT only if it
    // is a server we connect to at all.
    policy.check_url(&pds).map_err(|why| {
        PublishError::Misconfigured(format!(
            "the account's DID document names a PDS Palinsesto does not connect to: {why}"
        ))
    })?;
    Ok(Session {
        access_jwt: Secret::new(created.access_jwt),
        refresh_jwt: Secret::new(created.refresh_jwt),
        pds,
        did: created.did,
    })
}

/// The `#atproto_pds` service of a DID document.
fn pds_endpoint(did_doc: &Value) -> Option<String> {
    did_doc
        .get("service")?
        .as_array()?
        .iter()
        .find(|s| {
            s.get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| id.ends_with("#atproto_pds"))
        })?
        .get("serviceEndpoint")?
        .as_str()
        .filter(|url| url.starts_with("https://") || url.starts_with("http://"))
        .map(|url| url.trim_end_matches('/').to_owned())
}

fn aspect_ratio(asset: &Asset) -> Option<Value> {
    match (asset.width, asset.height) {
        (Some(w), Some(h)) if w > 0 && h > 0 => Some(json!({"width": w, "height": h})),
        _ => None,
    }
}

fn check_image_size(what: &str, size: u64) -> Result<(), PublishError> {
    if size > MAX_IMAGE_BYTES {
        return Err(PublishError::InvalidMedia(format!(
            "{what} is {size} bytes; Bluesky takes photos of at most {MAX_IMAGE_BYTES} bytes (1 MB)"
        )));
    }
    Ok(())
}

/// What Bluesky's embeds can carry: up to four photos, or one mp4 video.
fn check_media(media: &[Asset]) -> Result<(), PublishError> {
    let videos = media.iter().filter(|a| a.kind == MediaKind::Video).count();
    if videos > 0 {
        if media.len() > 1 {
            return Err(PublishError::InvalidMedia(
                "a Bluesky post carries either photos or one video, not both or several videos"
                    .into(),
            ));
        }
        if media[0].content_type != "video/mp4" {
            return Err(PublishError::InvalidMedia(format!(
                "Bluesky takes videos as mp4; this one is {}",
                media[0].content_type
            )));
        }
        return Ok(());
    }
    if media.len() > MAX_IMAGES {
        return Err(PublishError::InvalidMedia(format!(
            "a Bluesky post carries at most {MAX_IMAGES} photos; this one has {}",
            media.len()
        )));
    }
    for (i, asset) in media.iter().enumerate() {
        check_image_size(&format!("photo {}", i + 1), asset.size)?;
    }
    Ok(())
}

/// The record key of part `part` (0 = the post, 1.. = its follow-ups) of the target `key`.
///
/// It is a TID, the key format the post lexicon declares, so every reader accepts it; but
/// instead of the clock it is derived from the target key, so every attempt of a target writes
/// to the same key and a lost answer can be looked up. The time part is the post's creation
/// time when the key starts with its ULID, plus a fingerprint of the whole key.
pub fn record_key(key: &str, part: usize) -> String {
    const FALLBACK_START_MICROS: u64 = 1_704_067_200_000_000; // 2024-01-01T00:00:00Z
    let print = fingerprint(key);
    let created_ms = key
        .get(..26)
        .and_then(|prefix| ulid::Ulid::from_string(prefix).ok())
        .map(|ulid| ulid.timestamp_ms());
    let micros = match created_ms {
        Some(ms) => ms.saturating_mul(1000).saturating_add(print % 1000),
        None => FALLBACK_START_MICROS + (print % (1 << 44)),
    };
    let micros = micros.saturating_add(part as u64) & ((1 << 53) - 1);
    let clock_id = (print >> 54) & 0x3ff;
    tid(micros << 10 | clock_id)
}

fn tid(value: u64) -> String {
    const ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";
    (0..13)
        .rev()
        .map(|i| ALPHABET[((value >> (5 * i)) & 31) as usize] as char)
        .collect()
}

/// A stable 64-bit fingerprint (FNV-1a, then the SplitMix64 finalizer so that every output bit
/// depends on every input byte). `std`'s hasher is not stable across releases, and record keys
/// must be.
fn fingerprint(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SpanKind {
    Link(String),
    Tag(String),
    Mention(String),
}

/// A link, hashtag or mention at UTF-8 byte offsets `start..end` of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
    kind: SpanKind,
}

/// Finds links, hashtags and mentions the way Bluesky's own apps do: each starts a word (or
/// follows an opening parenthesis) and loses trailing punctuation.
fn spans(text: &str) -> Vec<Span> {
    let mut found = Vec::new();
    for (word_start, word) in words(text) {
        let (start, word) = match word.strip_prefix('(') {
            Some(rest) => (word_start + 1, rest),
            None => (word_start, word),
        };
        if let Some(link) = link_in(word) {
            found.push(Span {
                start,
                end: start + link.len(),
                kind: SpanKind::Link(link.to_owned()),
            });
        } else if let Some(rest) = word.strip_prefix('@') {
            if let Some(handle) = handle_in(rest) {
                found.push(Span {
                    start,
                    end: start + 1 + handle.len(),
                    kind: SpanKind::Mention(handle.to_ascii_lowercase()),
                });
            }
        } else if let Some((sign, rest)) = word
            .strip_prefix('#')
            .map(|r| (1, r))
            .or_else(|| word.strip_prefix('＃').map(|r| ('＃'.len_utf8(), r)))
            && let Some(tag) = tag_in(rest)
        {
            found.push(Span {
                start,
                end: start + sign + tag.len(),
                kind: SpanKind::Tag(tag.to_owned()),
            });
        }
    }
    found
}

/// Maximal runs of non-whitespace, with their byte offsets.
fn words(text: &str) -> Vec<(usize, &str)> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                words.push((s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, &text[s..]));
    }
    words
}

fn link_in(word: &str) -> Option<&str> {
    let rest = word
        .strip_prefix("https://")
        .or_else(|| word.strip_prefix("http://"))?;
    let mut link = word;
    loop {
        let trimmed = link.trim_end_matches(['.', ',', ';', ':', '!', '?', '"', '\'']);
        // A closing parenthesis belongs to the link only if the link opened one.
        let trimmed = match trimmed.strip_suffix(')') {
            Some(t) if t.matches('(').count() < trimmed.matches(')').count() => t,
            _ => trimmed,
        };
        if trimmed.len() == link.len() {
            break;
        }
        link = trimmed;
    }
    let host_len = link.len() - (word.len() - rest.len());
    (host_len > 0 && !rest.starts_with(['/', '.'])).then_some(link)
}

/// A handle (a domain name of at least two labels) at the start of `rest`.
fn handle_in(rest: &str) -> Option<&str> {
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        .unwrap_or(rest.len());
    let handle = rest[..end].trim_end_matches('.');
    let labels: Vec<&str> = handle.split('.').collect();
    let valid = handle.len() <= 253
        && labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-'))
        && labels
            .last()
            .is_some_and(|tld| tld.starts_with(|c: char| c.is_ascii_alphabetic()));
    valid.then_some(handle)
}

/// A hashtag's tag (without `#`) at the start of `rest`.
fn tag_in(rest: &str) -> Option<&str> {
    // `#️⃣` (keycap) is an emoji, not a tag.
    if rest.starts_with('\u{fe0f}') {
        return None;
    }
    let tag =
        rest.trim_end_matches(|c: char| c.is_ascii_punctuation() || "…。、！？«»“”‘’".contains(c));
    let meaningful = tag.chars().any(|c| !c.is_ascii_digit());
    (meaningful && tag.graphemes(true).count() <= MAX_TAG_GRAPHEMES).then_some(tag)
}

/// A request to one XRPC method.
struct Call {
    method: Method,
    nsid: &'static str,
    query: Vec<(&'static str, String)>,
    payload: Payload,
    /// Whether the call makes something visible (a post): a lost answer is then an unknown
    /// outcome, not a plain failure.
    creates: bool,
}

impl Call {
    fn post_json(nsid: &'static str, body: Value) -> Self {
        Self {
            method: Method::POST,
            nsid,
            query: Vec::new(),
            payload: Payload::Json(body),
            creates: false,
        }
    }
}

enum Payload {
    Empty,
    Json(Value),
    Bytes { bytes: Bytes, content_type: String },
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// XRPC's error body, `{error, message?}`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct XrpcError {
    #[serde(default)]
    pub(super) error: String,
    #[serde(default)]
    message: String,
}

impl XrpcError {
    /// The error body of an XRPC answer; empty when it has none.
    pub(super) fn of(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_default()
    }

    /// What Bluesky said, for quoting.
    pub(super) fn said(&self) -> String {
        match (self.error.is_empty(), self.message.is_empty()) {
            (_, false) => self.message.clone(),
            (false, true) => self.error.clone(),
            (true, true) => "no reason given".into(),
        }
    }
}

impl Answer {
    fn ok(&self) -> bool {
        self.status.is_success()
    }

    fn error(&self) -> XrpcError {
        XrpcError::of(&self.body)
    }

    /// Bluesky refused the access token itself (expired, revoked, not valid): a new session may
    /// help, and if the app password is refused too, that refusal is the one the user sees.
    fn token_refused(&self) -> bool {
        match self.status.as_u16() {
            401 => true,
            400 => matches!(self.error().error.as_str(), "ExpiredToken" | "InvalidToken"),
            _ => false,
        }
    }

    fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, PublishError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            PublishError::Transient(format!(
                "Bluesky answered in an unexpected shape (HTTP {}): {e}",
                self.status.as_u16()
            ))
        })
    }
}

/// Which step a refusal happened in, for its wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    SignIn,
    Upload,
    Post,
    Read,
}

fn rate_limited(answer: &Answer, what: &str) -> PublishError {
    let retry_at = rate_limit_reset(&answer.headers);
    let when = match retry_at {
        Some(at) => format!("; it can try again after {at}"),
        None => String::new(),
    };
    PublishError::RateLimited {
        retry_at,
        message: format!("{what}: the limit was reached{when}"),
    }
}

/// When Bluesky's limit resets: `ratelimit-reset` (unix seconds), else `Retry-After`.
pub(super) fn rate_limit_reset(headers: &HeaderMap) -> Option<Timestamp> {
    reset_at_unix(headers.get("ratelimit-reset"))
        .or_else(|| retry_after(headers.get("retry-after"), Timestamp::now()))
}

/// A refusal (non-2xx answer) in plain words, typed for the publisher.
fn refusal(answer: &Answer, step: Step) -> PublishError {
    let status = answer.status.as_u16();
    let error = answer.error();
    let said = error.said();
    match (status, error.error.as_str()) {
        (429, _) | (_, "RateLimitExceeded") if step == Step::Read => {
            rate_limited(answer, "Bluesky limits how often an account may read")
        }
        (429, _) | (_, "RateLimitExceeded") => {
            rate_limited(answer, "Bluesky limits how often an account may write")
        }
        (
            _,
            "ExpiredToken" | "InvalidToken" | "AuthenticationRequired" | "AuthFactorTokenRequired",
        )
        | (401, _) => PublishError::AuthExpired(format!(
            "Bluesky refused the channel's session ({said}); connect the channel again with a new app password"
        )),
        (_, "AccountTakedown" | "AccountDeactivated" | "AccountSuspended") | (403, _) => {
            PublishError::AuthExpired(format!("Bluesky does not let this account post: {said}"))
        }
        (413, _) | (_, "BlobTooLarge" | "PayloadTooLarge") => {
            PublishError::InvalidMedia(format!("Bluesky refused the file as too large: {said}"))
        }
        // A blob Bluesky already dropped: uploading it again fixes it.
        (_, "BlobNotFound") => PublishError::Transient(format!(
            "Bluesky no longer had an uploaded file ({said}); it will be uploaded again"
        )),
        (404 | 501, _) | (_, "MethodNotImplemented") => PublishError::Misconfigured(format!(
            "the channel's service_url does not answer like a Bluesky server (HTTP {status}: {said}); check settings.service_url"
        )),
        (500..=599, _) => PublishError::Transient(format!(
            "Bluesky had a server error (HTTP {status}: {said})"
        )),
        (_, "InvalidMimeType") => {
            PublishError::InvalidMedia(format!("Bluesky refused the file's type: {said}"))
        }
        _ => match step {
            Step::Upload => PublishError::InvalidMedia(format!("Bluesky refused the file: {said}")),
            Step::Post => PublishError::InvalidContent(format!("Bluesky refused the post: {said}")),
            Step::SignIn | Step::Read => {
                PublishError::Transient(format!("Bluesky answered HTTP {status} ({said})"))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(usize, usize, SpanKind)> {
        spans(text)
            .into_iter()
            .map(|s| (s.start, s.end, s.kind))
            .collect()
    }

    #[test]
    fn offsets_are_utf8_bytes_after_non_ascii_text() {
        let text = "Caffè ☕ #autunno https://example.com";
        let found = kinds(text);
        assert_eq!(
            found,
            vec![
                (11, 19, SpanKind::Tag("autunno".into())),
                (20, 39, SpanKind::Link("https://example.com".into())),
            ]
        );
        assert_eq!(&text.as_bytes()[11..19], "#autunno".as_bytes());
    }

    #[test]
    fn trailing_punctuation_is_not_part_of_links_tags_or_handles() {
        let text = "See (https://example.com/a_(b)) and https://x.it/p. #tag! @ana.bsky.social.";
        let found = kinds(text);
        assert_eq!(
            found,
            vec![
                (5, 30, SpanKind::Link("https://example.com/a_(b)".into())),
                (36, 50, SpanKind::Link("https://x.it/p".into())),
                (52, 56, SpanKind::Tag("tag".into())),
                (58, 74, SpanKind::Mention("ana.bsky.social".into())),
            ]
        );
    }

    #[test]
    fn not_every_hash_or_at_sign_is_a_facet() {
        assert!(kinds("#123 #️⃣ mail me@example.com @nodot https:// a#b").is_empty());
    }

    #[test]
    fn record_keys_are_stable_distinct_tids() {
        let key = format!("{}-{}", ulid::Ulid::new(), ulid::Ulid::new());
        let root = record_key(&key, 0);
        assert_eq!(root, record_key(&key, 0), "the same target, the same key");
        assert_ne!(root, record_key(&key, 1));
        assert_ne!(root, record_key(&format!("{key}x"), 0));
        for k in [
            root.clone(),
            record_key(&key, 7),
            record_key("not-a-ulid", 0),
        ] {
            assert_eq!(k.len(), 13, "{k}");
            assert!(
                k.starts_with(|c: char| "234567abcdefghij".contains(c)),
                "{k}"
            );
            assert!(
                k.chars()
                    .all(|c| "234567abcdefghijklmnopqrstuvwxyz".contains(c)),
                "{k}"
            );
        }
        // TIDs sort by time: a newer post's key sorts after an older one's.
        let older = format!("{}-x", ulid::Ulid::from_parts(1_700_000_000_000, 1));
        let newer = format!("{}-x", ulid::Ulid::from_parts(1_800_000_000_000, 1));
        assert!(record_key(&older, 0) < record_key(&newer, 0));
    }

    #[test]
    fn the_fingerprint_never_changes_between_releases() {
        // Record keys already on Bluesky depend on it.
        assert_eq!(fingerprint(""), 0xf52a_15e9_a9b5_e89b);
        assert_eq!(
            record_key("01JBX2Z8Q4V6N3K9T7W5R1M0PA-01JBX2ZC5D9F0H2J4K6M8N0PQR", 0),
            "3la6773cngulw"
        );
    }
}
