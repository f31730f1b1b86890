//! Mastodon (any Mastodon-API server): media uploads with server-side processing, statuses sent
//! with an `Idempotency-Key` so a repeated request never makes a second post, threads as replies.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use reqwest::header::HeaderMap;
use reqwest::multipart::{Form, Part};
use reqwest::{RequestBuilder, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{
    Account, Outgoing, Publish, PublishContext, PublishError, Published, ReadBack, ReadMetrics,
    call_failed, create_failed, reset_at_unix, retry_after,
};
use crate::domain::preflight::{InstanceLimits, Rules};
use crate::domain::{Asset, Counters, MediaKind, MetricsReading, Network, Secret};
use crate::outbound::{CallError, JSON_ANSWER_LIMIT, OutboundClient, read_text};

const NETWORK: &str = "Mastodon";
/// Instance limits change rarely; reading them once per post would spend the account's
/// 300-requests-per-5-minutes budget on nothing.
const RULES_TTL: Duration = Duration::from_secs(10 * 60);
/// Mastodon's largest page of account statuses.
const PAGE: usize = 40;
/// A read-back looks at most this many pages: the window is minutes, not the account's history.
const MAX_PAGES: usize = 5;

pub struct MastodonConnector {
    http: OutboundClient,
    poll_interval: Duration,
    max_wait: Duration,
    /// Rules per instance URL, with when they were read. Stale entries stay as a fallback for
    /// when the instance cannot be reached.
    rules: Mutex<HashMap<String, (Instant, Rules)>>,
}

impl MastodonConnector {
    pub fn new(http: OutboundClient) -> Self {
        Self {
            http,
            poll_interval: Duration::from_secs(2),
            max_wait: Duration::from_secs(10 * 60),
            rules: Mutex::default(),
        }
    }

    /// How often to ask whether an uploaded video is processed, and how long to wait at most.
    pub fn with_polling(mut self, interval: Duration, max_wait: Duration) -> Self {
        self.poll_interval = interval;
        self.max_wait = max_wait;
        self
    }
}

/// Which kind of call failed: it decides both the error type and its wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Upload,
    Processing,
    /// Creates a visible status: a lost answer is an unknown outcome.
    Status,
    Read,
}

#[derive(Deserialize)]
struct MediaAttachment {
    id: String,
}

#[derive(Deserialize)]
struct Status {
    id: String,
    url: Option<String>,
    #[serde(default)]
    content: String,
    /// Kept as text: one odd timestamp must not make the whole page unreadable.
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    in_reply_to_id: Option<String>,
    #[serde(default)]
    media_attachments: Vec<Value>,
    #[serde(default)]
    reblog: Option<Value>,
}

#[derive(Deserialize)]
struct Me {
    id: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Instance {
    configuration: Configuration,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Configuration {
    statuses: StatusLimits,
    media_attachments: MediaLimits,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StatusLimits {
    max_characters: Option<usize>,
    max_media_attachments: Option<usize>,
    characters_reserved_per_url: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MediaLimits {
    supported_mime_types: Option<Vec<String>>,
    image_size_limit: Option<u64>,
    video_size_limit: Option<u64>,
    description_limit: Option<usize>,
}

#[async_trait]
impl Publish for MastodonConnector {
    fn network(&self) -> Network {
        Network::Mastodon
    }

    async fn rules(&self, account: &Account<'_>) -> Result<Rules, PublishError> {
        let base = instance_url(account)?;
        let cached = self
            .rules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&base)
            .cloned();
        if let Some((read_at, rules)) = &cached
            && read_at.elapsed() < RULES_TTL
        {
            return Ok(rules.clone());
        }
        match self
            .fetch_rules(&base, account.credentials().get("access_token"))
            .await
        {
            Ok(rules) => {
                self.rules
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(base, (Instant::now(), rules.clone()));
                Ok(rules)
            }
            // Limits from a few minutes ago beat refusing to check a post at all.
            Err(e) => cached.map(|(_, rules)| rules).ok_or(e),
        }
    }

    async fn publish(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<Published, PublishError> {
        let base = instance_url(&ctx.account)?;
        let token = ctx.account.credential("access_token")?;
        let mut media_ids = Vec::with_capacity(post.media.len());
        for asset in &post.media {
            media_ids.push(self.upload(ctx, &base, token, asset).await?);
        }
        let root = self
            .create_status(
                &base,
                token,
                &post.key,
                json!({"status": post.text, "media_ids": media_ids, "visibility": "public"}),
            )
            .await?;
        let mut published = Published::new(root.id.clone(), root.url.clone());
        published.notes = self.post_thread(&base, token, post, root.id).await;
        Ok(published)
    }

    // Re-sending the status with the same Idempotency-Key would return the original if there is
    // one, but it CREATES the status if there is none (and the key is only kept about an hour):
    // that is a publish, not a read. So the read-back looks at the account's own recent statuses
    // for one made since the first attempt (less a minute of clock skew) whose text, with
    // Mastodon's HTML taken off, and number of media match. A retry after NotFound still carries
    // the same key, so even a status this misses is not posted twice within the hour.
    async fn find_published(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<ReadBack, PublishError> {
        let base = instance_url(&ctx.account)?;
        let token = ctx.account.credential("access_token")?;
        let since = post
            .first_attempt_at
            .checked_sub(SignedDuration::from_mins(1))
            .unwrap_or(post.first_attempt_at);
        let me: Me = self
            .read(
                token,
                self.http
                    .get(format!("{base}/api/v1/accounts/verify_credentials")),
            )
            .await?;
        let recent = self.recent_statuses(&base, token, &me.id, since).await?;

        let wanted = comparable(&post.text);
        let root = recent
            .iter()
            .filter(|s| {
                s.in_reply_to_id.is_none()
                    && s.media_attachments.len() == post.media.len()
                    && comparable(&strip_html(&s.content)) == wanted
            })
            // The oldest match is the original; a later one would be someone posting it by hand.
            .min_by_key(|s| created_at(s));
        let Some(root) = root else {
            return Ok(ReadBack::NotFound);
        };
        let mut found = Published::new(root.id.clone(), root.url.clone());
        found.notes = missing_replies(&recent, &root.id, &post.thread);
        Ok(ReadBack::Found(found))
    }
}

#[async_trait]
impl ReadMetrics for MastodonConnector {
    async fn post_metrics(
        &self,
        account: &Account<'_>,
        remote_id: &str,
    ) -> Result<MetricsReading, PublishError> {
        let base = instance_url(account)?;
        let token = account.credential("access_token")?;
        let request = self
            .http
            .get(format!(
                "{base}/api/v1/statuses/{}",
                urlencoding::encode(remote_id)
            ))
            .bearer_auth(token.expose());
        let (status, headers, body) = self.exchange(Call::Read, request).await?;
        // Mastodon's own 404 is JSON ("Record not found"); an HTML 404 means the instance URL
        // does not lead to a Mastodon server, which `refused` words.
        let mastodon_error =
            serde_json::from_str::<Value>(&body).is_ok_and(|v| v.get("error").is_some());
        if status == StatusCode::NOT_FOUND
            && mastodon_error
            && let Some(said) = network_message(&body)
        {
            return Err(PublishError::InvalidContent(format!(
                "the Mastodon post {remote_id} was deleted or is no longer visible to this account ({said}); its figures cannot be read any more"
            )));
        }
        if !status.is_success() {
            return Err(refused(Call::Read, status, &headers, &body));
        }
        let status: Value = decode(Call::Read, &body)?;
        Ok(MetricsReading {
            counters: status_counters(&status),
            raw: status,
        })
    }

    async fn account_metrics(&self, account: &Account<'_>) -> Result<MetricsReading, PublishError> {
        let base = instance_url(account)?;
        let token = account.credential("access_token")?;
        let me: Value = self
            .read(
                token,
                self.http
                    .get(format!("{base}/api/v1/accounts/verify_credentials")),
            )
            .await?;
        Ok(MetricsReading {
            counters: account_counters(&me),
            raw: me,
        })
    }
}

/// A status's figures. Mastodon counts no views, reach, clicks or saves; `quotes_count` exists
/// only on servers from version 4.5, so on older ones quotes are not available either.
pub(super) fn status_counters(status: &Value) -> Counters {
    Counters {
        likes: count(status, "favourites_count"),
        reposts: count(status, "reblogs_count"),
        replies: count(status, "replies_count"),
        quotes: count(status, "quotes_count"),
        ..Counters::default()
    }
}

pub(super) fn account_counters(account: &Value) -> Counters {
    Counters {
        followers: count(account, "followers_count"),
        ..Counters::default()
    }
}

/// A counter as sent; missing or not a count is "not available", never 0.
fn count(object: &Value, key: &str) -> Option<u64> {
    object.get(key)?.as_u64()
}

impl MastodonConnector {
    async fn fetch_rules(&self, base: &str, token: Option<&Secret>) -> Result<Rules, PublishError> {
        let mut request = self.http.get(format!("{base}/api/v2/instance"));
        // The instance description is public; the token only helps on servers that hide it.
        if let Some(token) = token.filter(|t| !t.is_empty()) {
            request = request.bearer_auth(token.expose());
        }
        let (status, headers, body) = self.exchange(Call::Read, request).await?;
        if !status.is_success() {
            return Err(refused(Call::Read, status, &headers, &body));
        }
        let instance: Instance = decode(Call::Read, &body)?;
        Ok(rules_from(instance.configuration))
    }

    async fn upload(
        &self,
        ctx: &PublishContext<'_>,
        base: &str,
        token: &Secret,
        asset: &Asset,
    ) -> Result<String, PublishError> {
        let bytes = ctx.media.read(asset, 0..asset.size).await?;
        let length = bytes.len() as u64;
        let file = Part::stream_with_length(reqwest::Body::from(bytes), length)
            .file_name(file_name(asset))
            .mime_str(&asset.content_type)
            .map_err(|_| {
                PublishError::InvalidMedia(format!(
                    "asset {} has the content type {:?}, which is not a valid media type",
                    asset.id, asset.content_type
                ))
            })?;
        let mut form = Form::new().part("file", file);
        if let Some(alt) = asset.alt_text.as_deref().filter(|a| !a.trim().is_empty()) {
            form = form.text("description", alt.to_owned());
        }
        let mut request = self
            .http
            .post(format!("{base}/api/v2/media"))
            .bearer_auth(token.expose())
            .multipart(form);
        if let Some(timeout) = upload_timeout(length) {
            request = request.timeout(timeout);
        }
        let (status, headers, body) = self.exchange(Call::Upload, request).await?;
        if !status.is_success() {
            return Err(refused(Call::Upload, status, &headers, &body));
        }
        let media: MediaAttachment = decode(Call::Upload, &body)?;
        if status == StatusCode::ACCEPTED {
            self.wait_until_processed(base, token, asset, &media.id)
                .await?;
        }
        Ok(media.id)
    }

    /// Polls an upload the server is still processing (video, GIF) until it is ready; a status
    /// referring to unprocessed media is refused.
    async fn wait_until_processed(
        &self,
        base: &str,
        token: &Secret,
        asset: &Asset,
        media_id: &str,
    ) -> Result<(), PublishError> {
        let deadline = tokio::time::Instant::now() + self.max_wait;
        loop {
            tokio::time::sleep(self.poll_interval).await;
            let request = self
                .http
                .get(format!("{base}/api/v1/media/{media_id}"))
                .bearer_auth(token.expose());
            let answer = match self.exchange(Call::Processing, request).await {
                Ok((status, headers, body)) => match status.as_u16() {
                    200 => return Ok(()),
                    206 => Ok(()),
                    _ => Err(refused(Call::Processing, status, &headers, &body)),
                },
                Err(e) => Err(e),
            };
            match answer {
                // One failed poll does not undo the processing: keep asking until the deadline.
                Err(PublishError::Transient(_)) | Ok(()) => {}
                Err(e) => return Err(e),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(PublishError::Transient(format!(
                    "Mastodon was still processing {} {} after {} s; publishing will be tried again",
                    kind_name(asset.kind),
                    asset.id,
                    self.max_wait.as_secs()
                )));
            }
        }
    }

    async fn create_status(
        &self,
        base: &str,
        token: &Secret,
        idempotency_key: &str,
        body: Value,
    ) -> Result<Status, PublishError> {
        let request = self
            .http
            .post(format!("{base}/api/v1/statuses"))
            .bearer_auth(token.expose())
            .header("Idempotency-Key", idempotency_key)
            .json(&body);
        let (status, headers, text) = self.exchange(Call::Status, request).await?;
        if !status.is_success() {
            return Err(refused(Call::Status, status, &headers, &text));
        }
        decode(Call::Status, &text)
    }

    /// Posts the follow-ups as a chain of replies. A failure ends the chain (a later reply would
    /// answer the wrong status) and becomes a note: the post itself is published.
    async fn post_thread(
        &self,
        base: &str,
        token: &Secret,
        post: &Outgoing,
        root_id: String,
    ) -> Vec<String> {
        let mut parent = root_id;
        let total = post.thread.len();
        for (i, text) in post.thread.iter().enumerate() {
            let key = reply_key(&post.key, i);
            let body = json!({"status": text, "in_reply_to_id": parent, "visibility": "public"});
            let mut outcome = self.create_status(base, token, &key, body.clone()).await;
            // Each reply has its own idempotency key, so asking once more after a lost answer or
            // a server error returns the reply if it was made instead of posting it twice.
            if matches!(
                outcome,
                Err(PublishError::UnknownOutcome(_) | PublishError::Transient(_))
            ) {
                outcome = self.create_status(base, token, &key, body).await;
            }
            match outcome {
                Ok(reply) => parent = reply.id,
                Err(e) => {
                    let mut notes = vec![match e {
                        PublishError::UnknownOutcome(_) => format!(
                            "Mastodon did not confirm follow-up {} of {total}; check the thread on Mastodon",
                            i + 1
                        ),
                        e => format!("follow-up {} of {total} was not posted: {e}", i + 1),
                    }];
                    if i + 1 < total {
                        notes.push(format!(
                            "follow-ups {} to {total} were not posted, so that the thread stays in order",
                            i + 2
                        ));
                    }
                    return notes;
                }
            }
        }
        Vec::new()
    }

    /// The account's statuses made since `since`, newest first.
    async fn recent_statuses(
        &self,
        base: &str,
        token: &Secret,
        account_id: &str,
        since: Timestamp,
    ) -> Result<Vec<Status>, PublishError> {
        let mut recent: Vec<Status> = Vec::new();
        let mut max_id: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![
                ("limit", PAGE.to_string()),
                ("exclude_reblogs", "true".to_owned()),
            ];
            if let Some(id) = &max_id {
                query.push(("max_id", id.clone()));
            }
            let request = self
                .http
                .get(format!("{base}/api/v1/accounts/{account_id}/statuses"))
                .query(&query);
            let page: Vec<Status> = self.read(token, request).await?;
            let full = page.len() >= PAGE;
            let reached_older = page
                .last()
                .and_then(created_at)
                .is_none_or(|oldest| oldest < since);
            max_id = page.last().map(|s| s.id.clone());
            recent.extend(
                page.into_iter()
                    .filter(|s| s.reblog.is_none() && created_at(s).is_some_and(|t| t >= since)),
            );
            if !full || reached_older {
                break;
            }
        }
        Ok(recent)
    }

    async fn read<T: DeserializeOwned>(
        &self,
        token: &Secret,
        request: RequestBuilder,
    ) -> Result<T, PublishError> {
        let request = request.bearer_auth(token.expose());
        let (status, headers, body) = self.exchange(Call::Read, request).await?;
        if !status.is_success() {
            return Err(refused(Call::Read, status, &headers, &body));
        }
        decode(Call::Read, &body)
    }

    /// Sends a request and reads its whole answer; transport failures are classified by whether
    /// the call creates a visible post.
    async fn exchange(
        &self,
        call: Call,
        request: RequestBuilder,
    ) -> Result<(StatusCode, HeaderMap, String), PublishError> {
        let transport = |e: CallError| match call {
            Call::Status => create_failed(NETWORK, &e),
            _ => call_failed(NETWORK, &e),
        };
        let response = self.http.send(request).await.map_err(transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_text(response, JSON_ANSWER_LIMIT)
            .await
            .map_err(transport)?;
        Ok((status, headers, body))
    }
}

fn instance_url(account: &Account<'_>) -> Result<String, PublishError> {
    Ok(account
        .setting("instance_url")?
        .trim()
        .trim_end_matches('/')
        .to_owned())
}

fn reply_key(key: &str, index: usize) -> String {
    format!("{key}-reply-{}", index + 1)
}

fn decode<T: DeserializeOwned>(call: Call, body: &str) -> Result<T, PublishError> {
    serde_json::from_str(body).map_err(|e| match call {
        // The status was made (2xx) but its id cannot be read: only a read-back can tell which.
        Call::Status => PublishError::UnknownOutcome(format!(
            "Mastodon accepted the post but its answer could not be read ({e}); it will be checked before any retry"
        )),
        _ => PublishError::Transient(format!("Mastodon's answer could not be read: {e}")),
    })
}

/// Maps a refusal to a typed error that quotes Mastodon's own words.
fn refused(call: Call, status: StatusCode, headers: &HeaderMap, body: &str) -> PublishError {
    let said = network_message(body).unwrap_or_else(|| format!("HTTP {status}"));
    match status.as_u16() {
        401 => PublishError::AuthExpired(format!(
            "Mastodon refused the access token: {said}; reconnect the channel"
        )),
        403 if call == Call::Read => PublishError::AuthExpired(format!(
            "Mastodon refused to let this account read: {said}; reconnect the channel with the read permission"
        )),
        403 => PublishError::AuthExpired(format!(
            "Mastodon refused this action: {said}; reconnect the channel with the write:statuses and write:media permissions"
        )),
        413 => PublishError::InvalidMedia(format!(
            "the file is larger than this Mastodon server accepts: {said}"
        )),
        422 if call == Call::Processing => PublishError::InvalidMedia(format!(
            "Mastodon could not process the uploaded media: {said}"
        )),
        422 if call == Call::Upload || is_about_media(&said) => {
            PublishError::InvalidMedia(format!("Mastodon refused the media: {said}"))
        }
        422 => PublishError::InvalidContent(format!("Mastodon refused the post: {said}")),
        429 => {
            let retry_at = rate_limit_reset(headers);
            let when = retry_at.map_or_else(
                || "later".to_owned(),
                |t| format!("after {}", t.round(jiff::Unit::Second).unwrap_or(t)),
            );
            PublishError::RateLimited {
                retry_at,
                message: format!(
                    "Mastodon is limiting how often this account can act ({said}); it will be tried again {when}"
                ),
            }
        }
        // Safe to retry even for a status: the retry carries the same Idempotency-Key.
        500.. => PublishError::Transient(format!(
            "Mastodon had a server error (HTTP {}): {said}",
            status.as_u16()
        )),
        404 if call == Call::Processing => PublishError::InvalidMedia(format!(
            "Mastodon no longer has the uploaded media while processing it: {said}"
        )),
        404 => PublishError::Misconfigured(format!(
            "the Mastodon server answered \"not found\" ({said}): check the channel's settings.instance_url"
        )),
        _ if call == Call::Status => {
            PublishError::InvalidContent(format!("Mastodon refused the post: {said}"))
        }
        code => PublishError::Transient(format!(
            "Mastodon answered HTTP {code} to a request it should accept: {said}"
        )),
    }
}

fn is_about_media(message: &str) -> bool {
    let m = message.to_lowercase();
    ["file", "media", "attach"].iter().any(|w| m.contains(w))
}

/// `{"error": "...", "error_description"?: "..."}`, or a short plain-text body; never an HTML page.
pub(super) fn network_message(body: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct ErrorBody {
        error: String,
        error_description: Option<String>,
    }
    if let Ok(e) = serde_json::from_str::<ErrorBody>(body) {
        return Some(match e.error_description {
            Some(d) if !d.is_empty() && d != e.error => format!("{}: {d}", e.error),
            _ => e.error,
        });
    }
    let text = body.trim();
    (!text.is_empty() && text.len() <= 200 && !text.starts_with('<')).then(|| text.to_owned())
}

/// `X-RateLimit-Reset` is an ISO 8601 timestamp on Mastodon; some servers send unix seconds, and
/// proxies may add `Retry-After`.
pub(super) fn rate_limit_reset(headers: &HeaderMap) -> Option<Timestamp> {
    let reset = headers.get("x-ratelimit-reset");
    reset
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<Timestamp>().ok())
        .or_else(|| reset_at_unix(reset))
        .or_else(|| retry_after(headers.get("retry-after"), Timestamp::now()))
}

/// The domain owns how a server's limits adjust Mastodon's rules; this only carries them over.
fn rules_from(config: Configuration) -> Rules {
    let statuses = config.statuses;
    let media = config.media_attachments;
    Rules::mastodon_instance(InstanceLimits {
        max_characters: statuses.max_characters,
        characters_reserved_per_url: statuses.characters_reserved_per_url,
        max_media_attachments: statuses.max_media_attachments,
        supported_mime_types: media.supported_mime_types,
        image_size_limit: media.image_size_limit,
        video_size_limit: media.video_size_limit,
        description_limit: media.description_limit,
    })
}

fn created_at(status: &Status) -> Option<Timestamp> {
    status.created_at.as_deref()?.parse().ok()
}

/// Notes for the follow-ups of a found post that are not on Mastodon: an earlier attempt can
/// have lost its answer after the post but before its thread.
fn missing_replies(recent: &[Status], root_id: &str, thread: &[String]) -> Vec<String> {
    let mut parent = root_id.to_owned();
    for (i, text) in thread.iter().enumerate() {
        let wanted = comparable(text);
        let reply = recent.iter().find(|s| {
            s.in_reply_to_id.as_deref() == Some(parent.as_str())
                && comparable(&strip_html(&s.content)) == wanted
        });
        match reply {
            Some(reply) => parent = reply.id.clone(),
            None => {
                return vec![format!(
                    "the post was made, but follow-ups {} to {} of its thread are not on Mastodon; add them by hand",
                    i + 1,
                    thread.len()
                )];
            }
        }
    }
    Vec::new()
}

/// The visible text of a status's HTML `content`: tags removed, paragraphs and line breaks as
/// whitespace, entities decoded. Mastodon keeps a link's full text across its hidden spans.
fn strip_html(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&decode_entities(&rest[..open]));
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[open + 1..open + close]
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if tag == "p" || tag == "br" {
            text.push('\n');
        }
        rest = &rest[open + close + 1..];
    }
    text.push_str(&decode_entities(rest));
    text
}

fn decode_entities(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let decoded = tail.find(';').filter(|end| *end <= 10).and_then(|end| {
            let name = &tail[1..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Text reduced to what survives Mastodon's rendering: whitespace collapsed, and a remote mention
/// `@user@server` shown as `@user` (Mastodon displays only the local part).
fn comparable(text: &str) -> String {
    text.split_whitespace()
        .map(|word| {
            let Some(at) = word.get(1..).and_then(|w| w.find('@')).map(|i| i + 1) else {
                return word.to_owned();
            };
            if !word.starts_with('@') {
                return word.to_owned();
            }
            let domain_end = word[at + 1..]
                .find(|c: char| !(c.is_alphanumeric() || c == '.' || c == '-' || c == '_'))
                .map_or(word.len(), |i| at + 1 + i);
            // A sentence's full stop after the server name is not part of it.
            let domain_end = at + 1 + word[at + 1..domain_end].trim_end_matches('.').len();
            format!("{}{}", &word[..at], &word[domain_end..])
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The shared client's timeout suits small requests; a 99 MB video at a modest uplink needs longer.
fn upload_timeout(bytes: u64) -> Option<Duration> {
    const SMALL: u64 = 8 * 1_048_576;
    const BYTES_PER_SECOND: u64 = 512 * 1024;
    (bytes > SMALL).then(|| Duration::from_secs(60 + bytes / BYTES_PER_SECOND))
}

fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Image => "image",
        MediaKind::Gif => "GIF",
        MediaKind::Video => "video",
    }
}

/// Mastodon checks the file name's extension against the content type.
fn file_name(asset: &Asset) -> String {
    let subtype = asset
        .content_type
        .split(';')
        .next()
        .and_then(|t| t.split('/').nth(1))
        .unwrap_or("bin")
        .trim();
    let extension = match subtype {
        "jpeg" => "jpg",
        "quicktime" => "mov",
        "svg+xml" => "svg",
        other => other,
    };
    format!("{}.{extension}", asset.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_html_reads_back_as_the_text_that_was_sent() {
        let html = "<p>Caffè &amp; cornetto at 8 — <a href=\"https://example.com/menu?x=1\" rel=\"nofollow noopener\" target=\"_blank\"><span class=\"invisible\">https://</span><span class=\"\">example.com/menu?x=1</span><span class=\"invisible\"></span></a></p><p>see you <span class=\"h-card\"><a href=\"https://other.example/@bob\" class=\"u-url mention\">@<span>bob</span></a></span>.<br />it&#39;s <a href=\"https://m.example/tags/coffee\" class=\"mention hashtag\" rel=\"tag\">#<span>coffee</span></a></p>";
        let sent = "Caffè & cornetto at 8 — https://example.com/menu?x=1\n\nsee you @bob@other.example.\nit's #coffee";
        assert_eq!(comparable(&strip_html(html)), comparable(sent));
        assert_ne!(comparable(&strip_html(html)), comparable("something else"));
    }

    #[test]
    fn rate_limit_reset_accepts_iso_8601_and_unix_seconds() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-ratelimit-reset",
            "2026-03-01T12:05:00.000000Z".parse().unwrap(),
        );
        assert_eq!(
            rate_limit_reset(&headers),
            Some("2026-03-01T12:05:00Z".parse().unwrap())
        );
        headers.insert("x-ratelimit-reset", "1772366700".parse().unwrap());
        assert_eq!(
            rate_limit_reset(&headers),
            Some(Timestamp::from_second(1_772_366_700).unwrap())
        );
    }
}
