//! X (API v2): posts and threads for one OAuth 2.0 user, media through the chunked upload, and a
//! read-back of the account's recent posts after an unknown outcome (X has no idempotency key).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::multipart::{Form, Part};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use unicode_normalization::UnicodeNormalization;

use super::{
    Account, MediaFiles, Outgoing, Publish, PublishContext, PublishError, Published, ReadBack,
    ReadMetrics, call_failed, create_failed, oauth, reset_at_unix, snippet,
};
use crate::domain::{Asset, Counters, Credentials, MediaKind, MetricsReading, Network};
use crate::outbound::{CallError, JSON_ANSWER_LIMIT, OutboundClient, read_body, read_error_text};

const NETWORK: &str = "X";

/// Every X endpoint the connector calls, relative to the API base.
mod endpoint {
    pub const TOKEN: &str = "/2/oauth2/token";
    pub const MEDIA_INITIALIZE: &str = "/2/media/upload/initialize";
    /// STATUS is the one upload step still addressed with `?command=`.
    pub const MEDIA_STATUS: &str = "/2/media/upload";
    pub const MEDIA_METADATA: &str = "/2/media/metadata";
    pub const TWEETS: &str = "/2/tweets";
    pub const USERS_ME: &str = "/2/users/me";

    pub fn media_append(media_id: &str) -> String {
        format!("/2/media/upload/{}/append", urlencoding::encode(media_id))
    }

    pub fn media_finalize(media_id: &str) -> String {
        format!("/2/media/upload/{}/finalize", urlencoding::encode(media_id))
    }

    pub fn tweet(id: &str) -> String {
        format!("/2/tweets/{}", urlencoding::encode(id))
    }

    pub fn user_tweets(user_id: &str) -> String {
        format!("/2/users/{}/tweets", urlencoding::encode(user_id))
    }
}

/// X asks for segments of at most 5 MB.
const MAX_CHUNK: u64 = 5_000_000;
const DEFAULT_CHUNK: u64 = 4 * 1_048_576;
/// A token this close to its expiry is renewed first, so it cannot lapse halfway through a post.
const EXPIRY_MARGIN: SignedDuration = SignedDuration::from_secs(60);
/// How far before the first attempt the read-back looks, for clock skew between us and X.
const READ_BACK_SLACK: SignedDuration = SignedDuration::from_secs(60);
const READ_BACK_PAGE: u32 = 20;
const READ_BACK_PAGES: usize = 5;
/// X gives non-public metrics (link clicks) only for posts younger than this.
const NON_PUBLIC_WINDOW: SignedDuration = SignedDuration::from_hours(30 * 24);
/// The instant X's post ids count from (their top bits are milliseconds since it).
const X_EPOCH_MS: i64 = 1_288_834_974_657;

pub struct XConnector {
    http: OutboundClient,
    api_base: String,
    /// How long one of X's `check_after_secs` lasts (1 s; tests shrink it).
    poll_second: Duration,
    poll_max_wait: Duration,
    chunk_size: u64,
    /// The X user id behind each connected channel, so a read-back costs one call, not two.
    user_ids: Mutex<HashMap<String, String>>,
}

impl XConnector {
    /// `api_base` is `https://api.x.com` in production.
    pub fn new(http: OutboundClient, api_base: impl Into<String>) -> Self {
        Self {
            http,
            api_base: api_base.into().trim_end_matches('/').to_owned(),
            poll_second: Duration::from_secs(1),
            poll_max_wait: Duration::from_secs(300),
            chunk_size: DEFAULT_CHUNK,
            user_ids: Mutex::new(HashMap::new()),
        }
    }

    /// Media processing polls: `interval` is how long one of X's `check_after_secs` lasts, and
    /// publishing gives up (transiently) after `max_wait`.
    pub fn with_polling(mut self, interval: Duration, max_wait: Duration) -> Self {
        self.poll_second = interval;
        self.poll_max_wait = max_wait;
        self
    }

    /// The size of each uploaded segment (at most 5 MB).
    pub fn with_chunk_size(mut self, bytes: u64) -> Self {
        self.chunk_size = bytes.clamp(1, MAX_CHUNK);
        self
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api_base)
    }

    async fn upload(
        &self,
        session: &mut Session<'_>,
        media: &dyn MediaFiles,
        asset: &Asset,
        position: usize,
    ) -> Result<String, PublishError> {
        let category = match asset.kind {
            MediaKind::Image => "tweet_image",
            MediaKind::Gif => "tweet_gif",
            MediaKind::Video => "tweet_video",
        };
        let init = json!({
            "media_type": asset.content_type,
            "total_bytes": asset.size,
            "media_category": category,
        });
        let response = session
            .send(Step::Media, |http| {
                http.post(self.url(endpoint::MEDIA_INITIALIZE)).json(&init)
            })
            .await?;
        let media_id = parse::<Data<MediaState>>(response, Step::Media)
            .await?
            .data
            .id;

        let mut offset = 0;
        let mut segment = 0u32;
        while offset < asset.size {
            let end = (offset + self.chunk_size).min(asset.size);
            let chunk = media.read(asset, offset..end).await?;
            if chunk.is_empty() {
                return Err(PublishError::InvalidMedia(format!(
                    "media {position} ({}) is shorter in the library than its recorded size of {} bytes",
                    asset.id, asset.size
                )));
            }
            let length = chunk.len() as u64;
            session
                .send(Step::Media, |http| {
                    let mut headers = HeaderMap::new();
                    headers.insert(
                        CONTENT_TYPE,
                        HeaderValue::from_static("application/octet-stream"),
                    );
                    let part = Part::stream_with_length(chunk.clone(), length)
                        .file_name("media")
                        .headers(headers);
                    let form = Form::new()
                        .text("segment_index", segment.to_string())
                        .part("media", part);
                    http.post(self.url(&endpoint::media_append(&media_id)))
                        .multipart(form)
                })
                .await?;
            offset += length;
            segment += 1;
        }

        let response = session
            .send(Step::Media, |http| {
                http.post(self.url(&endpoint::media_finalize(&media_id)))
            })
            .await?;
        let finalized = parse::<Data<MediaState>>(response, Step::Media).await?;
        if let Some(processing) = finalized.data.processing_info {
            self.wait_until_processed(session, &media_id, processing, position)
                .await?;
        }

        if let Some(alt) = asset.alt_text.as_deref().filter(|a| !a.trim().is_empty()) {
            let body = json!({"id": media_id, "metadata": {"alt_text": {"text": alt}}});
            session
                .send(Step::Media, |http| {
                    http.post(self.url(endpoint::MEDIA_METADATA)).json(&body)
                })
                .await?;
        }
        Ok(media_id)
    }

    async fn wait_until_processed(
        &self,
        session: &mut Session<'_>,
        media_id: &str,
        mut processing: ProcessingInfo,
        position: usize,
    ) -> Result<(), PublishError> {
        let started = Instant::now();
        loop {
            match processing.state.as_str() {
                "succeeded" => return Ok(()),
                "failed" => {
                    let reason = processing
                        .error
                        .and_then(|e| e.message.or(e.name))
                        .unwrap_or_else(|| "no reason given".into());
                    return Err(PublishError::InvalidMedia(format!(
                        "X could not process media {position}: {reason}"
                    )));
                }
                _ => {}
            }
            // X says when to look again; never hammer it, never sleep for minutes on one answer.
            let wait = self.poll_second * processing.check_after_secs.unwrap_or(1).clamp(1, 60);
            if started.elapsed() + wait > self.poll_max_wait {
                return Err(PublishError::Transient(format!(
                    "X was still processing media {position} after {} s; publishing will be tried again",
                    started.elapsed().as_secs()
                )));
            }
            tokio::time::sleep(wait).await;
            let response = session
                .send(Step::Media, |http| {
                    http.get(self.url(endpoint::MEDIA_STATUS))
                        .query(&[("command", "STATUS"), ("media_id", media_id)])
                })
                .await?;
            let status = parse::<Data<MediaState>>(response, Step::Media).await?;
            processing = status.data.processing_info.unwrap_or(ProcessingInfo {
                state: "succeeded".into(),
                check_after_secs: None,
                error: None,
            });
        }
    }

    async fn create_tweet(
        &self,
        session: &mut Session<'_>,
        text: &str,
        media_ids: &[String],
        in_reply_to: Option<&str>,
    ) -> Result<String, PublishError> {
        let mut body = json!({ "text": text });
        if !media_ids.is_empty() {
            body["media"] = json!({ "media_ids": media_ids });
        }
        if let Some(parent) = in_reply_to {
            body["reply"] = json!({ "in_reply_to_tweet_id": parent });
        }
        let response = session
            .send(Step::Create, |http| {
                http.post(self.url(endpoint::TWEETS)).json(&body)
            })
            .await?;
        Ok(parse::<Data<Created>>(response, Step::Create)
            .await?
            .data
            .id)
    }

    async fn user_id(&self, session: &mut Session<'_>) -> Result<String, PublishError> {
        let channel = session.account.channel;
        let key = format!("{}@{:?}", channel.id, channel.credentials_updated_at);
        if let Some(id) = self.cached_user_id(&key) {
            return Ok(id);
        }
        let response = session
            .send(Step::Read, |http| http.get(self.url(endpoint::USERS_ME)))
            .await?;
        let id = parse::<Data<Created>>(response, Step::Read).await?.data.id;
        if let Ok(mut ids) = self.user_ids.lock() {
            ids.insert(key, id.clone());
        }
        Ok(id)
    }

    fn cached_user_id(&self, key: &str) -> Option<String> {
        self.user_ids.lock().ok()?.get(key).cloned()
    }

    /// One post with the given `tweet.fields`.
    async fn read_tweet(
        &self,
        session: &mut Session<'_>,
        id: &str,
        fields: &str,
    ) -> Result<Lookup, PublishError> {
        let response = session
            .send(Step::Read, |http| {
                http.get(self.url(&endpoint::tweet(id)))
                    .query(&[("tweet.fields", fields)])
            })
            .await?;
        parse::<Lookup>(response, Step::Read).await
    }
}

/// The answer to a post lookup. X answers a post it cannot show (deleted, protected, its
/// author suspended) with 200, no `data` and a problem in `errors`.
#[derive(Deserialize)]
struct Lookup {
    data: Option<Value>,
    #[serde(default)]
    errors: Vec<Problem>,
}

impl Lookup {
    fn into_tweet(self, id: &str) -> Result<Value, PublishError> {
        self.data.ok_or_else(|| {
            let said = self
                .errors
                .iter()
                .find_map(Problem::describe)
                .unwrap_or_else(|| "X returned no post".into());
            PublishError::InvalidContent(format!(
                "the X post {id} was deleted or is not visible to this account ({said}); its figures cannot be read any more"
            ))
        })
    }
}

/// When an X post was made, from its id: X ids start with the milliseconds since X's epoch.
fn posted_at(id: &str) -> Option<Timestamp> {
    let id: u64 = id.trim().parse().ok()?;
    let ms = i64::try_from(id >> 22).ok()?.checked_add(X_EPOCH_MS)?;
    Timestamp::from_millisecond(ms).ok()
}

/// A post's figures: `public_metrics` always, link clicks only from `non_public_metrics`.
fn tweet_counters(tweet: &Value) -> Counters {
    #[derive(Deserialize, Default)]
    struct PublicMetrics {
        like_count: Option<u64>,
        retweet_count: Option<u64>,
        reply_count: Option<u64>,
        quote_count: Option<u64>,
        impression_count: Option<u64>,
        bookmark_count: Option<u64>,
    }
    #[derive(Deserialize, Default)]
    struct NonPublicMetrics {
        url_link_clicks: Option<u64>,
    }
    let public: PublicMetrics = tweet
        .get("public_metrics")
        .and_then(|m| serde_json::from_value(m.clone()).ok())
        .unwrap_or_default();
    let private: NonPublicMetrics = tweet
        .get("non_public_metrics")
        .and_then(|m| serde_json::from_value(m.clone()).ok())
        .unwrap_or_default();
    Counters {
        likes: public.like_count,
        reposts: public.retweet_count,
        replies: public.reply_count,
        quotes: public.quote_count,
        views: public.impression_count,
        clicks: private.url_link_clicks,
        saves: public.bookmark_count,
        ..Counters::default()
    }
}

/// Notes a metrics read cannot show anyone (a renewed token that could not be saved) are logged.
fn log_notes(account: &Account<'_>, notes: Vec<String>) {
    for note in notes {
        tracing::warn!(channel = %account.channel.id, note, "while reading X metrics");
    }
}

fn tweet_url(id: &str) -> String {
    format!("https://x.com/i/web/status/{id}")
}

#[async_trait]
impl Publish for XConnector {
    fn network(&self) -> Network {
        Network::X
    }

    async fn publish(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<Published, PublishError> {
        let mut session = Session::open(self, &ctx.account).await?;
        let mut media_ids = Vec::with_capacity(post.media.len());
        for (i, asset) in post.media.iter().enumerate() {
            media_ids.push(self.upload(&mut session, ctx.media, asset, i + 1).await?);
        }
        let id = self
            .create_tweet(&mut session, &post.text, &media_ids, None)
            .await?;
        let mut published = Published::new(id.clone(), Some(tweet_url(&id)));

        let mut parent = id;
        for (i, reply) in post.thread.iter().enumerate() {
            match self
                .create_tweet(&mut session, reply, &[], Some(&parent))
                .await
            {
                Ok(reply_id) => parent = reply_id,
                Err(e) => {
                    // Each reply hangs on the one before it: after a gap the rest would be out of order.
                    published
                        .notes
                        .push(follow_up_note(i + 1, post.thread.len(), &e));
                    break;
                }
            }
        }
        published.notes.append(&mut session.notes);
        Ok(published)
    }

    async fn find_published(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<ReadBack, PublishError> {
        let mut session = Session::open(self, &ctx.account).await?;
        let user_id = self.user_id(&mut session).await?;
        let since = post
            .first_attempt_at
            .checked_sub(READ_BACK_SLACK)
            .unwrap_or(post.first_attempt_at);
        // X wants whole seconds in start_time.
        let since = Timestamp::from_second(since.as_second()).unwrap_or(since);
        let start_time = since.to_string();
        let max_results = READ_BACK_PAGE.to_string();

        let mut page_token: Option<String> = None;
        for _ in 0..READ_BACK_PAGES {
            let response = session
                .send(Step::Read, |http| {
                    let mut query = vec![
                        ("max_results", max_results.as_str()),
                        ("start_time", start_time.as_str()),
                    ];
                    if let Some(token) = &page_token {
                        query.push(("pagination_token", token.as_str()));
                    }
                    http.get(self.url(&endpoint::user_tweets(&user_id)))
                        .query(&query)
                })
                .await?;
            let timeline = parse::<Timeline>(response, Step::Read).await?;
            if let Some(tweet) = timeline
                .data
                .iter()
                .find(|t| same_text(&t.text, &post.text))
            {
                let mut found = Published::new(tweet.id.clone(), Some(tweet_url(&tweet.id)));
                if !post.thread.is_empty() {
                    found.notes.push(format!(
                        "the post was found on X, but its {} follow-up(s) were not posted because the answer to the post itself was lost; add them by hand if they are still wanted",
                        post.thread.len()
                    ));
                }
                found.notes.append(&mut session.notes);
                return Ok(ReadBack::Found(found));
            }
            match timeline.meta.next_token {
                Some(token) => page_token = Some(token),
                None => return Ok(ReadBack::NotFound),
            }
        }
        Ok(ReadBack::CannotTell(format!(
            "the account posted more than {} times on X since {start_time}; check by hand whether the post was made",
            READ_BACK_PAGE as usize * READ_BACK_PAGES
        )))
    }
}

#[async_trait]
impl ReadMetrics for XConnector {
    /// Public metrics always; link clicks too while X still gives them (the post's first 30
    /// days, its age read from its id), in the same call. A refusal of the non-public fields
    /// (an app or token not allowed them) falls back to the public ones alone.
    async fn post_metrics(
        &self,
        account: &Account<'_>,
        remote_id: &str,
    ) -> Result<MetricsReading, PublishError> {
        let mut session = Session::open(self, account).await?;
        let recent = posted_at(remote_id)
            .is_some_and(|at| Timestamp::now().duration_since(at) < NON_PUBLIC_WINDOW);
        let mut lookup = None;
        if recent {
            match self
                .read_tweet(
                    &mut session,
                    remote_id,
                    "public_metrics,non_public_metrics,created_at",
                )
                .await
            {
                Ok(found) => lookup = Some(found),
                // 403 (AuthExpired) or another 4xx (InvalidContent) for the non-public fields.
                Err(PublishError::AuthExpired(_) | PublishError::InvalidContent(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let lookup = match lookup {
            Some(lookup) => lookup,
            None => {
                self.read_tweet(&mut session, remote_id, "public_metrics,created_at")
                    .await?
            }
        };
        let tweet = lookup.into_tweet(remote_id)?;
        log_notes(account, std::mem::take(&mut session.notes));
        Ok(MetricsReading {
            counters: tweet_counters(&tweet),
            raw: tweet,
        })
    }

    async fn account_metrics(&self, account: &Account<'_>) -> Result<MetricsReading, PublishError> {
        let mut session = Session::open(self, account).await?;
        let response = session
            .send(Step::Read, |http| {
                http.get(self.url(endpoint::USERS_ME))
                    .query(&[("user.fields", "public_metrics")])
            })
            .await?;
        let me = parse::<Data<Value>>(response, Step::Read).await?.data;
        log_notes(account, std::mem::take(&mut session.notes));
        let followers = me
            .get("public_metrics")
            .and_then(|m| m.get("followers_count"))
            .and_then(Value::as_u64);
        Ok(MetricsReading {
            counters: Counters {
                followers,
                ..Counters::default()
            },
            raw: me,
        })
    }
}

fn follow_up_note(number: usize, total: usize, e: &PublishError) -> String {
    let skipped = if number < total {
        format!("; the {} after it were not posted either", total - number)
    } else {
        String::new()
    };
    match e {
        PublishError::UnknownOutcome(_) => format!(
            "follow-up {number} of {total} may or may not have been posted (X's answer was lost); check the thread on X{skipped}"
        ),
        e => format!("follow-up {number} of {total} was not posted: {e}{skipped}"),
    }
}

/// What a call does, which decides how its failures read: a call that creates a visible post
/// must never be retried blindly, and a refused upload is about the media, not the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Create,
    Media,
    Read,
}

impl Step {
    fn transport(self, e: &CallError) -> PublishError {
        match self {
            Step::Create => create_failed(NETWORK, e),
            Step::Media | Step::Read => call_failed(NETWORK, e),
        }
    }

    /// A success answer we cannot read: after a create, the post may exist.
    fn garbled(self, what: &str) -> PublishError {
        match self {
            Step::Create => PublishError::UnknownOutcome(format!(
                "X accepted the post but its answer could not be read ({what}); it will be checked before any retry"
            )),
            Step::Media | Step::Read => {
                PublishError::Transient(format!("X gave an answer that could not be read: {what}"))
            }
        }
    }
}

/// One publish or read-back for one account: the access token in use (renewed at most once)
/// and anything worth telling the user that is not an error.
struct Session<'a> {
    x: &'a XConnector,
    account: &'a Account<'a>,
    token: String,
    refreshed: bool,
    notes: Vec<String>,
}

impl<'a> Session<'a> {
    async fn open(x: &'a XConnector, account: &'a Account<'a>) -> Result<Self, PublishError> {
        let token = account.credential("access_token")?.expose().to_owned();
        let mut session = Self {
            x,
            account,
            token,
            refreshed: false,
            notes: Vec::new(),
        };
        let expires_at = account
            .credentials()
            .get("access_token_expires_at")
            .and_then(|s| s.expose().trim().parse::<i64>().ok())
            .and_then(|secs| Timestamp::from_second(secs).ok());
        let has_refresh = account
            .credentials()
            .get("refresh_token")
            .is_some_and(|s| !s.is_empty());
        if let Some(expires_at) = expires_at
            && has_refresh
            && Timestamp::now()
                .checked_add(EXPIRY_MARGIN)
                .is_ok_and(|soon| soon >= expires_at)
        {
            session.refresh().await?;
        }
        Ok(session)
    }

    /// Sends the request `build` makes, with the bearer token; on a 401 renews the token once and
    /// sends it again (a refused request created nothing, so resending cannot duplicate).
    async fn send(
        &mut self,
        step: Step,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, PublishError> {
        loop {
            let request = build(&self.x.http).bearer_auth(&self.token);
            let response = self
                .x
                .http
                .send(request)
                .await
                .map_err(|e| step.transport(&e))?;
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            if status == StatusCode::UNAUTHORIZED && !self.refreshed {
                self.refresh().await?;
                continue;
            }
            return Err(failure(response, step).await);
        }
    }

    async fn refresh(&mut self) -> Result<(), PublishError> {
        self.refreshed = true;
        let (x, account) = (self.x, self.account);
        let build = |credentials: &Credentials| {
            let refresh_token = credentials
                .get("refresh_token")
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    PublishError::AuthExpired(
                        "X refused the access token (they last 2 hours) and the channel has no refresh token to renew it: connect the channel again"
                            .into(),
                    )
                })?;
            let client_id = account.credential_in(credentials, "client_id")?;
            let client_secret = credentials.get("client_secret").filter(|s| !s.is_empty());
            let mut request = x.http.post(x.url(endpoint::TOKEN)).form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose()),
                ("client_id", client_id.expose()),
            ]);
            if let Some(secret) = client_secret {
                // Confidential clients authenticate with HTTP basic auth.
                request = request.basic_auth(client_id.expose(), Some(secret.expose()));
            }
            Ok(request)
        };
        self.token = oauth::renew(
            NETWORK,
            &self.x.http,
            self.account,
            &self.token,
            build,
            &mut self.notes,
        )
        .await?;
        Ok(())
    }
}

async fn parse<T: DeserializeOwned>(response: Response, step: Step) -> Result<T, PublishError> {
    let body = read_body(response, JSON_ANSWER_LIMIT)
        .await
        .map_err(|e| step.transport(&e))?;
    serde_json::from_slice(&body).map_err(|e| step.garbled(&e.to_string()))
}

/// Maps an X error answer (problem JSON) to a publish error in plain words.
async fn failure(response: Response, step: Step) -> PublishError {
    let status = response.status();
    let reset = reset_at_unix(response.headers().get("x-rate-limit-reset"));
    let body = read_error_text(response).await;
    let problem = serde_json::from_str::<Problem>(&body).unwrap_or_default();
    let detail = problem.describe().unwrap_or_else(|| snippet(&body, status));
    match status.as_u16() {
        401 => PublishError::AuthExpired(format!(
            "X refused the channel's access token ({detail}): connect the channel again"
        )),
        403 if problem.is_duplicate() => PublishError::Duplicate(format!(
            "X refused the post as a duplicate of one the account already made: {detail}"
        )),
        403 if step == Step::Read => PublishError::AuthExpired(format!(
            "X did not allow this read ({detail}); check that the app has the tweet.read and users.read permissions, then connect the channel again"
        )),
        403 => PublishError::AuthExpired(format!(
            "X did not allow this ({detail}); check that the app has the tweet.write, media.write and users.read permissions, then connect the channel again"
        )),
        429 => PublishError::RateLimited {
            retry_at: reset,
            message: format!("X's rate limit for this account or app is used up: {detail}"),
        },
        // A gateway timeout on a create may still have created the post behind the gateway.
        504 if step == Step::Create => PublishError::UnknownOutcome(format!(
            "X timed out answering ({detail}); the post may or may not have been made, so it will be checked before any retry"
        )),
        500..=599 => PublishError::Transient(format!("X had a problem ({status}): {detail}")),
        400..=499 if step == Step::Media => {
            PublishError::InvalidMedia(format!("X refused the media: {detail}"))
        }
        400..=499 => PublishError::InvalidContent(format!("X refused the post: {detail}")),
        _ => PublishError::Transient(format!("X gave an unexpected answer ({status}): {detail}")),
    }
}

/// Whether a post shown on X is the one we sent. X shows URLs as t.co links, appends one for
/// attached media, and HTML-escapes `& < >`; so every URL shown stands for any run of non-space
/// characters, a trailing shown URL may be extra, and both sides are NFC-normalized.
pub fn same_text(shown: &str, sent: &str) -> bool {
    let shown = shown
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let shown = normalize(&shown);
    let sent: Vec<char> = normalize(sent).chars().collect();
    let mut pattern = url_pattern(&shown);
    if matches(&pattern, &sent) {
        return true;
    }
    if pattern.last() == Some(&Piece::Url) {
        pattern.pop();
        if let Some(Piece::Text(last)) = pattern.last_mut() {
            while last.last().is_some_and(|c| c.is_whitespace()) {
                last.pop();
            }
            if last.is_empty() {
                pattern.pop();
            }
        }
        return matches(&pattern, &sent);
    }
    false
}

fn normalize(text: &str) -> String {
    text.replace("\r\n", "\n").trim().nfc().collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(Vec<char>),
    Url,
}

fn url_pattern(shown: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut text = Vec::new();
    let mut rest = shown;
    while !rest.is_empty() {
        if rest.starts_with("https://") || rest.starts_with("http://") {
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Url);
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            rest = &rest[end..];
        } else {
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                text.push(c);
            }
            rest = chars.as_str();
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    pieces
}

fn matches(pattern: &[Piece], text: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((Piece::Text(literal), rest)) => {
            text.starts_with(literal) && matches(rest, &text[literal.len()..])
        }
        Some((Piece::Url, rest)) => {
            let run = text.iter().take_while(|c| !c.is_whitespace()).count();
            (1..=run).any(|n| matches(rest, &text[n..]))
        }
    }
}

#[derive(Deserialize)]
struct Data<T> {
    data: T,
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

#[derive(Deserialize)]
struct MediaState {
    id: String,
    processing_info: Option<ProcessingInfo>,
}

#[derive(Deserialize)]
struct ProcessingInfo {
    state: String,
    check_after_secs: Option<u32>,
    error: Option<ProcessingError>,
}

#[derive(Deserialize)]
struct ProcessingError {
    name: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct Timeline {
    #[serde(default)]
    data: Vec<TimelineTweet>,
    #[serde(default)]
    meta: TimelineMeta,
}

#[derive(Deserialize)]
struct TimelineTweet {
    id: String,
    #[serde(default)]
    text: String,
}

#[derive(Deserialize, Default)]
struct TimelineMeta {
    next_token: Option<String>,
}

#[derive(Deserialize, Default)]
struct Problem {
    title: Option<String>,
    detail: Option<String>,
    #[serde(default)]
    errors: Vec<ProblemError>,
}

#[derive(Deserialize)]
struct ProblemError {
    message: Option<String>,
    detail: Option<String>,
}

impl Problem {
    /// The most specific words X gave: its per-field messages, else the detail, else the title.
    fn describe(&self) -> Option<String> {
        let messages: Vec<&str> = self
            .errors
            .iter()
            .filter_map(|e| e.message.as_deref().or(e.detail.as_deref()))
            .collect();
        if !messages.is_empty() {
            return Some(messages.join("; "));
        }
        self.detail.clone().or_else(|| self.title.clone())
    }

    fn is_duplicate(&self) -> bool {
        let said = |s: &str| s.to_lowercase().contains("duplicate content");
        self.detail.as_deref().is_some_and(said)
            || self
                .errors
                .iter()
                .filter_map(|e| e.message.as_deref().or(e.detail.as_deref()))
                .any(said)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_matches_itself_and_not_another() {
        assert!(same_text("Hello world", "Hello world"));
        assert!(!same_text("Hello world", "Hello world!"));
        assert!(!same_text("Hello", "Hello world"));
    }

    #[test]
    fn shortened_urls_and_escaped_entities_still_match() {
        let sent = "Launch & <news>: https://example.com/a?b=1 and example.org/x";
        let shown = "Launch &amp; &lt;news&gt;: https://t.co/abc123 and https://t.co/def456";
        assert!(same_text(shown, sent));
    }

    #[test]
    fn a_trailing_media_link_is_allowed() {
        assert!(same_text("Photo day https://t.co/pic", "Photo day"));
        assert!(same_text("https://t.co/pic", ""));
        assert!(!same_text("Photo day https://t.co/pic", "Photo night"));
    }

    #[test]
    fn a_url_stands_only_for_non_space_text() {
        assert!(!same_text("see https://t.co/x now", "see two words now"));
        assert!(same_text(
            "see https://t.co/x.",
            "see https://example.com/page."
        ));
    }

    #[test]
    fn normalization_forms_are_equal() {
        // "é" precomposed versus "e" + combining acute.
        assert!(same_text("caf\u{e9}", "cafe\u{301}"));
        assert!(same_text("  line\r\nnext ", "line\nnext"));
    }

    #[test]
    fn duplicate_problem_is_recognised() {
        let p: Problem = serde_json::from_str(
            r#"{"detail":"You are not allowed to create a Tweet with duplicate content.","type":"about:blank","title":"Forbidden","status":403}"#,
        )
        .unwrap();
        assert!(p.is_duplicate());
        let p: Problem = serde_json::from_str(
            r#"{"title":"Forbidden","detail":"You are not permitted to perform this action.","type":"about:blank"}"#,
        )
        .unwrap();
        assert!(!p.is_duplicate());
    }
}
