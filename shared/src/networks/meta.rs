//! What Meta's three networks (Facebook Pages, Instagram, Threads) share: Graph API calls and their
//! error body, media containers, long-lived token refresh, first comments and the read-back.

use jiff::{SignedDuration, Timestamp};
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

use super::{
    Account, Outgoing, Polling, PublishError, Published, ReadBack, call_failed, create_failed,
};
use crate::domain::{Credentials, Secret};
use crate::outbound::{CallError, JSON_ANSWER_LIMIT, OutboundClient, read_text};

/// What a call does, which decides how a lost answer and a refusal are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    /// It makes something people can see: a lost answer may mean it was made.
    visible: bool,
    /// It carries media: an invalid parameter is most likely the media.
    media: bool,
}

impl Call {
    /// Makes a post, a comment or a reply.
    pub const POST: Call = Call {
        visible: true,
        media: false,
    };
    /// Makes a post that carries media (a Facebook photo or video post).
    pub const MEDIA_POST: Call = Call {
        visible: true,
        media: true,
    };
    /// Prepares media nobody sees yet: a container, an unpublished photo.
    pub const MEDIA: Call = Call {
        visible: false,
        media: true,
    };
    pub const READ: Call = Call {
        visible: false,
        media: false,
    };
}

/// A failed Graph call: the typed error, plus Graph's own code and subcode where the network
/// answered with its error body, for the few places where one network reads a code its own way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphFailure {
    pub error: PublishError,
    pub code: Option<i64>,
    pub subcode: Option<i64>,
}

impl GraphFailure {
    pub fn is(&self, code: i64, subcode: i64) -> bool {
        self.code == Some(code) && self.subcode == Some(subcode)
    }
}

impl From<PublishError> for GraphFailure {
    fn from(error: PublishError) -> Self {
        Self {
            error,
            code: None,
            subcode: None,
        }
    }
}

impl From<GraphFailure> for PublishError {
    fn from(f: GraphFailure) -> Self {
        f.error
    }
}

/// Form parameters of a Graph call.
pub type Params = Vec<(&'static str, String)>;

/// One Graph-style API: its base URL (with the version), the shared HTTP client, and the network's
/// name for messages.
#[derive(Clone)]
pub struct Graph {
    http: OutboundClient,
    base: String,
    network: &'static str,
}

impl Graph {
    pub fn new(http: OutboundClient, base: impl Into<String>, network: &'static str) -> Self {
        Self {
            http,
            base: base.into().trim_end_matches('/').to_owned(),
            network,
        }
    }

    pub fn network(&self) -> &'static str {
        self.network
    }

    /// `{base}/{segments...}`, each segment escaped, so that a setting such as a page id can never
    /// reach another path.
    fn url(&self, segments: &[&str]) -> String {
        let mut url = self.base.clone();
        for segment in segments {
            url.push('/');
            url.push_str(&urlencoding::encode(segment));
        }
        url
    }

    /// The token travels in the Authorization header (Graph accepts it there) rather than in the
    /// URL, where it could end up in logs.
    pub async fn post(
        &self,
        call: Call,
        path: &[&str],
        token: &Secret,
        params: &[(&'static str, String)],
    ) -> Result<Value, GraphFailure> {
        let request = self
            .http
            .post(self.url(path))
            .bearer_auth(token.expose())
            .form(params);
        self.send(call, request).await
    }

    pub async fn get(
        &self,
        path: &[&str],
        token: &Secret,
        query: &[(&str, String)],
    ) -> Result<Value, GraphFailure> {
        let request = self
            .http
            .get(self.url(path))
            .bearer_auth(token.expose())
            .query(query);
        self.send(Call::READ, request).await
    }

    async fn send(
        &self,
        call: Call,
        request: reqwest::RequestBuilder,
    ) -> Result<Value, GraphFailure> {
        let transport = |e: CallError| {
            GraphFailure::from(if call.visible {
                create_failed(self.network, &e)
            } else {
                call_failed(self.network, &e)
            })
        };
        let response = self.http.send(request).await.map_err(transport)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = read_text(response, JSON_ANSWER_LIMIT)
            .await
            .map_err(transport)?;
        if !(200..300).contains(&status) {
            return Err(refusal(
                self.network,
                call,
                status,
                &headers,
                &body,
                Timestamp::now(),
            ));
        }
        serde_json::from_str(&body).map_err(|_| {
            GraphFailure::from(if call.visible {
                PublishError::UnknownOutcome(format!(
                    "{} accepted the request but its answer could not be read; the post may or may not have been made, so it will be checked before any retry",
                    self.network
                ))
            } else {
                PublishError::Transient(format!(
                    "{} answered with something that is not JSON (HTTP {status})",
                    self.network
                ))
            })
        })
    }

    /// Exchanges a long-lived token for a fresh one. The refresh endpoint is documented without an
    /// API version (`https://graph.instagram.com/refresh_access_token`), and takes the token as a
    /// query parameter.
    async fn refresh(&self, grant_type: &str, token: &Secret) -> Result<Value, GraphFailure> {
        let root = unversioned(&self.base);
        let request = self
            .http
            .get(format!("{root}/refresh_access_token"))
            .query(&[("grant_type", grant_type), ("access_token", token.expose())]);
        self.send(Call::READ, request).await
    }
}

/// The base without a trailing `/vNN.N` version segment.
fn unversioned(base: &str) -> &str {
    match base.rsplit_once('/') {
        Some((root, last))
            if last.len() > 1
                && last.starts_with('v')
                && last[1..].chars().all(|c| c.is_ascii_digit() || c == '.') =>
        {
            root
        }
        _ => base,
    }
}

/// The id in a Graph answer (`{"id": "..."}`). After a call that made something visible, a missing
/// id means the outcome is unknown.
pub fn id_of(
    network: &str,
    call: Call,
    answer: &Value,
    field: &str,
) -> Result<String, PublishError> {
    match answer.get(field) {
        Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
        Some(Value::Number(id)) => Ok(id.to_string()),
        _ if call.visible => Err(PublishError::UnknownOutcome(format!(
            "{network} answered without the new post's {field}; the post may or may not have been made, so it will be checked before any retry"
        ))),
        _ => Err(PublishError::Transient(format!(
            "{network} answered without the {field} of the prepared media"
        ))),
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    error_subcode: Option<i64>,
    /// Meta's own wording for end users, better than `message` when present.
    #[serde(default)]
    error_user_msg: Option<String>,
    #[serde(default)]
    fbtrace_id: Option<String>,
    #[serde(default)]
    is_transient: bool,
}

impl GraphError {
    /// The network's words plus the codes and trace id its support asks for.
    fn describe(&self) -> String {
        let words = self
            .error_user_msg
            .as_deref()
            .filter(|m| !m.trim().is_empty())
            .unwrap_or(&self.message);
        let mut ids = Vec::new();
        if let Some(code) = self.code {
            ids.push(format!("code {code}"));
        }
        if let Some(subcode) = self.error_subcode {
            ids.push(format!("subcode {subcode}"));
        }
        if let Some(trace) = &self.fbtrace_id {
            ids.push(format!("trace {trace}"));
        }
        if ids.is_empty() {
            words.to_owned()
        } else {
            format!("{words} ({})", ids.join(", "))
        }
    }
}

/// Reads a Graph refusal: the error body's code first, the HTTP status when there is no body.
pub fn refusal(
    network: &str,
    call: Call,
    status: u16,
    headers: &HeaderMap,
    body: &str,
    now: Timestamp,
) -> GraphFailure {
    let Ok(ErrorBody { error }) = serde_json::from_str::<ErrorBody>(body) else {
        return GraphFailure::from(refusal_by_status(network, call, status, headers, now));
    };
    let words = error.describe();
    let rate_limited = |message: String| PublishError::RateLimited {
        retry_at: regain_access_at(headers, now),
        message,
    };
    let kind = match error.code {
        Some(190) => PublishError::AuthExpired(format!(
            "{network} no longer accepts the channel's access token: {words}. Connect the channel again"
        )),
        // 80000-80014 are the Business Use Case limits of pages, Instagram and other objects.
        Some(4 | 17 | 32 | 613 | 80_000..=80_014) => rate_limited(format!(
            "{network} is limiting how many calls the account may make: {words}"
        )),
        Some(10 | 200..=299) => PublishError::AuthExpired(format!(
            "the channel's access token lacks a permission {network} requires: {words}. Connect the channel again and grant it"
        )),
        Some(368) => rate_limited(format!(
            "{network} has temporarily blocked the account from posting: {words}"
        )),
        Some(506) => PublishError::Duplicate(format!(
            "{network} refused the post as a duplicate of a recent one: {words}"
        )),
        // "Object does not exist or cannot be loaded": the page or account id is wrong.
        Some(100) if error.error_subcode == Some(33) => PublishError::Misconfigured(format!(
            "{network} does not know the account or object the channel names, or the token cannot see it: {words}. Check the channel's settings"
        )),
        Some(100) if call.media => invalid_media(network, &words),
        Some(100) => invalid_content(network, &words),
        // 324 missing or invalid image, 352 video format, 389 video URL not fetched.
        Some(324 | 352 | 389) => invalid_media(network, &words),
        Some(1 | 2) => transient(network, &words),
        _ if status >= 500 || error.is_transient => transient(network, &words),
        _ if status == 429 => rate_limited(format!(
            "{network} is limiting how many calls the account may make: {words}"
        )),
        _ if call.media => invalid_media(network, &words),
        _ => invalid_content(network, &words),
    };
    GraphFailure {
        error: kind,
        code: error.code,
        subcode: error.error_subcode,
    }
}

fn refusal_by_status(
    network: &str,
    call: Call,
    status: u16,
    headers: &HeaderMap,
    now: Timestamp,
) -> PublishError {
    let words = format!("HTTP {status} without an error body");
    match status {
        401 | 403 => PublishError::AuthExpired(format!(
            "{network} refused the channel's access token ({words}). Connect the channel again"
        )),
        429 => PublishError::RateLimited {
            retry_at: regain_access_at(headers, now),
            message: format!("{network} is limiting how many calls the account may make ({words})"),
        },
        s if s >= 500 => transient(network, &words),
        _ if call.media => invalid_media(network, &words),
        _ => invalid_content(network, &words),
    }
}

fn transient(network: &str, words: &str) -> PublishError {
    PublishError::Transient(format!("{network} had a temporary problem: {words}"))
}

fn invalid_media(network: &str, words: &str) -> PublishError {
    PublishError::InvalidMedia(format!("{network} refused the media: {words}"))
}

fn invalid_content(network: &str, words: &str) -> PublishError {
    PublishError::InvalidContent(format!("{network} refused the post: {words}"))
}

/// When the usage headers say access comes back: `estimated_time_to_regain_access` (minutes), at
/// any depth of `X-Business-Use-Case-Usage` (per business object, per use case) or `X-App-Usage`.
fn regain_access_at(headers: &HeaderMap, now: Timestamp) -> Option<Timestamp> {
    fn largest(value: &Value) -> Option<i64> {
        match value {
            Value::Object(map) => map
                .iter()
                .filter_map(|(key, v)| match key.as_str() {
                    "estimated_time_to_regain_access" => v.as_i64(),
                    _ => largest(v),
                })
                .max(),
            Value::Array(items) => items.iter().filter_map(largest).max(),
            _ => None,
        }
    }
    let minutes = ["x-business-use-case-usage", "x-app-usage"]
        .iter()
        .filter_map(|name| headers.get(*name)?.to_str().ok())
        .filter_map(|raw| serde_json::from_str::<Value>(raw).ok())
        .filter_map(|usage| largest(&usage))
        .max()?;
    if minutes <= 0 {
        return None;
    }
    now.checked_add(SignedDuration::from_mins(minutes)).ok()
}

/// A container to prepare: one item, or carousel items and the carousel that holds them.
pub enum Container {
    Single(Params),
    Carousel {
        items: Vec<Params>,
        carousel: Params,
    },
}

/// Instagram's and Threads' two-step publishing: containers (Meta fetches the media from its URL
/// and processes it), then a publish call that makes the post.
#[derive(Clone)]
pub struct Containers {
    pub graph: Graph,
    pub polling: Polling,
    /// The edge that creates containers (`media`, `threads`).
    pub create_edge: &'static str,
    /// The edge that publishes one (`media_publish`, `threads_publish`).
    pub publish_edge: &'static str,
    /// The field holding the status (`status_code`, `status`) and the one holding the reason of
    /// an ERROR (`status`, `error_message`).
    pub status_field: &'static str,
    pub reason_field: &'static str,
}

impl Containers {
    /// Meta processes a reel for minutes; waiting less would throw the work away and start over.
    pub fn default_polling() -> Polling {
        Polling {
            interval: std::time::Duration::from_secs(3),
            max_wait: std::time::Duration::from_secs(300),
        }
    }

    /// Creates the container (a carousel's items first) and waits until Meta has processed it.
    /// Nothing here is visible: a failure is safe to retry from scratch.
    pub async fn prepare(
        &self,
        user: &str,
        token: &Secret,
        container: Container,
    ) -> Result<String, PublishError> {
        match container {
            Container::Single(params) => {
                let id = self.create(user, token, &params).await?;
                self.wait(token, &id).await?;
                Ok(id)
            }
            Container::Carousel {
                items,
                mut carousel,
            } => {
                // All items first, so that Meta fetches and processes them side by side.
                let mut ids = Vec::with_capacity(items.len());
                for item in &items {
                    ids.push(self.create(user, token, item).await?);
                }
                for id in &ids {
                    self.wait(token, id).await?;
                }
                carousel.push(("children", ids.join(",")));
                let id = self.create(user, token, &carousel).await?;
                self.wait(token, &id).await?;
                Ok(id)
            }
        }
    }

    async fn create(
        &self,
        user: &str,
        token: &Secret,
        params: &[(&'static str, String)],
    ) -> Result<String, PublishError> {
        let answer = self
            .graph
            .post(Call::MEDIA, &[user, self.create_edge], token, params)
            .await?;
        id_of(self.graph.network, Call::MEDIA, &answer, "id")
    }

    /// Polls the container's status until it is ready. A failed poll is retried until the deadline,
    /// because giving up would throw away media Meta may have nearly finished.
    async fn wait(&self, token: &Secret, id: &str) -> Result<(), PublishError> {
        let network = self.graph.network;
        let deadline = tokio::time::Instant::now() + self.polling.max_wait;
        let fields = format!("{},{}", self.status_field, self.reason_field);
        loop {
            let last_problem = match self
                .graph
                .get(&[id], token, &[("fields", fields.clone())])
                .await
            {
                Ok(answer) => {
                    let status = answer
                        .get(self.status_field)
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    match status {
                        "FINISHED" | "PUBLISHED" => return Ok(()),
                        "ERROR" => {
                            let reason = answer
                                .get(self.reason_field)
                                .and_then(Value::as_str)
                                .filter(|r| !r.trim().is_empty())
                                .unwrap_or("no reason given");
                            return Err(PublishError::InvalidMedia(format!(
                                "{network} could not process the media: {reason}"
                            )));
                        }
                        // Containers expire after 24 h; a new attempt makes new ones.
                        "EXPIRED" => {
                            return Err(PublishError::Transient(format!(
                                "{network}'s media container expired before it was published"
                            )));
                        }
                        _ => format!("{network} was still processing the media"),
                    }
                }
                Err(GraphFailure {
                    error: PublishError::Transient(problem),
                    ..
                }) => problem,
                Err(f) => return Err(f.error),
            };
            if tokio::time::Instant::now() + self.polling.interval > deadline {
                return Err(PublishError::Transient(format!(
                    "{last_problem} after {} s; it will be tried again",
                    self.polling.max_wait.as_secs()
                )));
            }
            tokio::time::sleep(self.polling.interval).await;
        }
    }

    /// Publishes a prepared container: the call that makes the post.
    pub async fn publish(
        &self,
        user: &str,
        token: &Secret,
        container_id: &str,
    ) -> Result<String, GraphFailure> {
        let answer = self
            .graph
            .post(
                Call::POST,
                &[user, self.publish_edge],
                token,
                &[("creation_id", container_id.to_owned())],
            )
            .await?;
        Ok(id_of(self.graph.network, Call::POST, &answer, "id")?)
    }
}

/// The post's permalink, best effort: the post is made whether or not this answers.
pub async fn permalink(graph: &Graph, token: &Secret, id: &str) -> Option<String> {
    match graph
        .get(&[id], token, &[("fields", "permalink".to_owned())])
        .await
    {
        Ok(answer) => answer
            .get("permalink")
            .and_then(Value::as_str)
            .map(str::to_owned),
        Err(f) => {
            tracing::warn!(network = graph.network, error = %f.error, "could not read the permalink of a published post");
            None
        }
    }
}

/// Posts each follow-up as a comment under the post; a failure is a note, since the post is made.
pub async fn comment(
    graph: &Graph,
    token: &Secret,
    post_id: &str,
    thread: &[String],
) -> Vec<String> {
    let mut notes = Vec::new();
    for (i, text) in thread.iter().enumerate() {
        let which = if i == 0 {
            "the first comment".to_owned()
        } else {
            format!("comment {}", i + 1)
        };
        if let Err(f) = graph
            .post(
                Call::POST,
                &[post_id, "comments"],
                token,
                &[("message", text.clone())],
            )
            .await
        {
            notes.push(follow_up_note(graph.network, &which, &f.error));
        }
    }
    notes
}

/// A follow-up that failed, in plain words; a lost answer means it may be there after all.
pub fn follow_up_note(network: &str, which: &str, error: &PublishError) -> String {
    match error {
        PublishError::UnknownOutcome(_) => format!(
            "{which} may not have been posted: {network} did not answer. Check the post on {network}"
        ),
        other => format!("{which} was not posted: {other}"),
    }
}

/// Keeps a long-lived token alive ([`recently_refreshed`] says when it is due), one renewal at a
/// time per channel.
pub async fn fresh_token(
    graph: &Graph,
    account: &Account<'_>,
    grant_type: &str,
    now: Timestamp,
) -> Result<Secret, PublishError> {
    let token = account.credential("access_token")?.clone();
    if recently_refreshed(account.credentials(), now) {
        return Ok(token);
    }
    let network = graph.network;
    // One renewal at a time per channel (the lease), from the credentials as stored now: another
    // worker may have refreshed them while this one waited.
    let renewal = match account.begin_renewal().await {
        Ok(renewal) => renewal,
        Err(e) => {
            tracing::warn!(network, channel = %account.channel.id, error = %e, "could not start refreshing the access token; using the current one");
            return Ok(token);
        }
    };
    let stored = renewal.credentials.get("access_token").cloned();
    if recently_refreshed(&renewal.credentials, now) {
        account.finish_renewal(renewal, Vec::new()).await?;
        return Ok(stored.unwrap_or(token));
    }
    let current = stored.unwrap_or(token);
    let refreshing = async {
        graph
            .refresh(grant_type, &current)
            .await
            .map_err(|f| f.error)
    };
    let refreshed = match super::within_renewal_time(network, refreshing).await {
        Ok(answer) => answer
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.trim().is_empty())
            .map(Secret::new),
        // Even a refused token is used once more: Meta's wording for "too new to refresh" is not
        // documented, and the publish call itself says plainly when a token is dead.
        Err(e) => {
            tracing::warn!(network, channel = %account.channel.id, error = %e, "could not refresh the access token; using the current one");
            None
        }
    };
    let Some(refreshed) = refreshed else {
        account.finish_renewal(renewal, Vec::new()).await?;
        return Ok(current);
    };
    let changes = vec![
        ("access_token".to_owned(), refreshed.clone()),
        (
            REFRESHED_AT.to_owned(),
            Secret::new(now.as_second().to_string()),
        ),
    ];
    // The old token stays valid after a refresh, so failing to store the new one loses nothing yet.
    if let Err(e) = account.finish_renewal(renewal, changes).await {
        tracing::warn!(network, channel = %account.channel.id, error = %e, "could not store the refreshed access token");
    }
    Ok(refreshed)
}

const REFRESHED_AT: &str = "access_token_refreshed_at";

/// Instagram and Threads tokens last 60 days from their last refresh and can be refreshed once a
/// day old; refreshing a week after the last refresh keeps an account that posts rarely from
/// expiring, at the cost of at most one extra call a week. Without a record of the last refresh
/// the token's age is unknown: try now (a token under a day old is refused, and the next
/// publish tries again).
fn recently_refreshed(credentials: &Credentials, now: Timestamp) -> bool {
    const REFRESH_AFTER: SignedDuration = SignedDuration::from_hours(7 * 24);
    credentials
        .get(REFRESHED_AT)
        .and_then(|s| s.expose().trim().parse::<i64>().ok())
        .and_then(|secs| Timestamp::from_second(secs).ok())
        .is_some_and(|at| now.duration_since(at) < REFRESH_AFTER)
}

/// A Graph insights answer: `{"data": [{"name", "period", "values": [{"value"}]}]}`, or a
/// `total_value: {"value"}` in place of `values` (Threads' user insights). Graph answers an EMPTY
/// `data` while insights are not ready (or a page is too small to have them): every metric is then
/// absent, never 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Insights {
    values: Vec<(String, u64)>,
    /// The answer exactly as Graph sent it.
    pub raw: Value,
}

impl Insights {
    pub fn parse(raw: Value) -> Self {
        let values = raw
            .get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|metric| {
                let name = metric.get("name")?.as_str()?;
                // A lifetime metric has one value; of a periodic one, the latest is the current.
                let value = metric
                    .pointer("/total_value/value")
                    .or_else(|| metric.get("values")?.as_array()?.last()?.get("value"))?
                    .as_u64()?;
                Some((name.to_owned(), value))
            })
            .collect();
        Self { values, raw }
    }

    /// The metric's value, or `None` when Graph did not report it.
    pub fn get(&self, metric: &str) -> Option<u64> {
        self.values
            .iter()
            .find(|(name, _)| name == metric)
            .map(|(_, value)| *value)
    }
}

/// Reads `metrics` of `node` from its insights `edge` (`insights`, `threads_insights`).
pub async fn insights(
    graph: &Graph,
    token: &Secret,
    node: &str,
    edge: &str,
    metrics: &[&str],
) -> Result<Insights, GraphFailure> {
    let answer = graph
        .get(&[node, edge], token, &[("metric", metrics.join(","))])
        .await?;
    Ok(Insights::parse(answer))
}

/// A count at `pointer` in a Graph answer (e.g. `/reactions/summary/total_count`), or `None` when
/// the field is not there.
pub fn count_at(answer: &Value, pointer: &str) -> Option<u64> {
    answer.pointer(pointer)?.as_u64()
}

/// Where an account's recent posts are listed and which fields hold their text and time.
pub struct RecentPosts<'a> {
    pub node: &'a str,
    pub edge: &'static str,
    pub text_field: &'static str,
    pub time_field: &'static str,
    pub permalink_field: Option<&'static str>,
}

/// Read-back after an unknown outcome: Meta has no idempotency key, so an earlier attempt is
/// recognised by its text among the account's posts since the attempt began.
pub async fn find_by_text(
    graph: &Graph,
    token: &Secret,
    recent: RecentPosts<'_>,
    post: &Outgoing,
    url_of: impl Fn(&str) -> Option<String>,
) -> Result<ReadBack, PublishError> {
    const MAX_PAGES: usize = 5;
    let network = graph.network;
    let wanted = normalized(&post.text);
    if wanted.is_empty() {
        return Ok(ReadBack::CannotTell(format!(
            "a post without text cannot be told apart from the account's other recent posts on {network}; check the account before publishing again"
        )));
    }
    // A minute of slack for the network's clock.
    let since = post.first_attempt_at.as_second() - 60;
    let mut fields = vec!["id", recent.text_field, recent.time_field];
    fields.extend(recent.permalink_field);
    let mut query = vec![
        ("fields", fields.join(",")),
        ("since", since.to_string()),
        ("limit", "100".to_owned()),
    ];
    let mut matches = Vec::new();
    for _ in 0..MAX_PAGES {
        let page = graph
            .get(&[recent.node, recent.edge], token, &query)
            .await?;
        let items = page.get("data").and_then(Value::as_array);
        let mut older_seen = false;
        for item in items.into_iter().flatten() {
            let at = item
                .get(recent.time_field)
                .and_then(Value::as_str)
                .and_then(graph_time);
            if at.is_some_and(|at| at.as_second() < since) {
                older_seen = true;
                continue;
            }
            let text = item
                .get(recent.text_field)
                .and_then(Value::as_str)
                .unwrap_or("");
            let Some(id) = item.get("id").and_then(Value::as_str) else {
                continue;
            };
            if normalized(text) == wanted {
                let link = recent
                    .permalink_field
                    .and_then(|f| item.get(f))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                matches.push((at, id.to_owned(), link));
            }
        }
        let after = page
            .pointer("/paging/cursors/after")
            .and_then(Value::as_str)
            .filter(|_| page.pointer("/paging/next").is_some());
        match after {
            Some(after) if !older_seen => {
                query.retain(|(k, _)| *k != "after");
                query.push(("after", after.to_owned()));
            }
            _ => break,
        }
    }
    // The earliest match is the earlier attempt; a later one would be the brand posting it again.
    matches.sort_by_key(|(at, _, _)| *at);
    let Some((_, id, link)) = matches.into_iter().next() else {
        return Ok(ReadBack::NotFound);
    };
    let url = link.or_else(|| url_of(&id));
    let mut found = Published::new(id, url);
    if !post.thread.is_empty() {
        found.notes.push(format!(
            "the post was found on {network} after its answer was lost; its follow-ups were not posted"
        ));
    }
    Ok(ReadBack::Found(found))
}

/// Meta may trim a text or change its line endings: compare texts the way they read.
fn normalized(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Graph times look like `2024-05-01T10:00:00+0000`.
fn graph_time(raw: &str) -> Option<Timestamp> {
    jiff::fmt::strtime::parse("%Y-%m-%dT%H:%M:%S%z", raw)
        .and_then(|t| t.to_timestamp())
        .ok()
        .or_else(|| raw.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, value.parse().unwrap());
        h
    }

    #[test]
    fn insights_read_lifetime_values_and_total_values_and_miss_nothing_as_zero() {
        let answer = serde_json::json!({"data": [
            {"name": "likes", "period": "lifetime", "values": [{"value": 7}], "title": "Likes", "id": "1/insights/likes/lifetime"},
            {"name": "followers_count", "period": "day", "total_value": {"value": 1200}, "id": "2/insights/followers_count/day"},
            {"name": "reactions_by_type", "period": "lifetime", "values": [{"value": {"like": 3}}]},
        ]});
        let insights = Insights::parse(answer.clone());
        assert_eq!(insights.get("likes"), Some(7));
        assert_eq!(insights.get("followers_count"), Some(1200));
        assert_eq!(insights.get("reactions_by_type"), None, "not a count");
        assert_eq!(insights.get("views"), None, "not reported");
        assert_eq!(insights.raw, answer);
        let not_ready = Insights::parse(serde_json::json!({"data": []}));
        assert_eq!(not_ready.get("likes"), None);
    }

    #[test]
    fn graph_times_parse_with_and_without_a_colon_in_the_offset() {
        assert_eq!(
            graph_time("2024-05-01T10:00:00+0000"),
            "2024-05-01T10:00:00Z".parse().ok()
        );
        assert_eq!(
            graph_time("2024-05-01T10:00:00+00:00"),
            "2024-05-01T10:00:00Z".parse().ok()
        );
    }

    #[test]
    fn the_longest_regain_time_of_any_use_case_wins() {
        let now: Timestamp = "2024-05-01T10:00:00Z".parse().unwrap();
        let h = headers(
            "x-business-use-case-usage",
            r#"{"123":[{"type":"pages","call_count":100,"estimated_time_to_regain_access":5},{"type":"instagram","estimated_time_to_regain_access":12}]}"#,
        );
        assert_eq!(
            regain_access_at(&h, now),
            "2024-05-01T10:12:00Z".parse().ok()
        );
        let h = headers("x-app-usage", r#"{"call_count":100}"#);
        assert_eq!(regain_access_at(&h, now), None);
    }

    #[test]
    fn the_version_is_dropped_for_the_refresh_endpoint() {
        assert_eq!(
            unversioned("https://graph.instagram.com/v21.0"),
            "https://graph.instagram.com"
        );
        assert_eq!(unversioned("http://127.0.0.1:9/v1.0"), "http://127.0.0.1:9");
        assert_eq!(unversioned("http://127.0.0.1:9"), "http://127.0.0.1:9");
    }

    #[test]
    fn invalid_parameters_are_the_media_only_on_media_calls() {
        let body = r#"{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100,"fbtrace_id":"A1"}}"#;
        let now = Timestamp::now();
        let on_media = refusal("Instagram", Call::MEDIA, 400, &HeaderMap::new(), body, now);
        assert_eq!(on_media.error.kind(), "invalid_media");
        let on_post = refusal("Facebook", Call::POST, 400, &HeaderMap::new(), body, now);
        assert_eq!(on_post.error.kind(), "invalid_content");
        assert!(on_post.error.to_string().contains("trace A1"));
    }
}
