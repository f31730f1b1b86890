//! Graph API calls: one Graph-style API and its requests, the ids in its answers, and its error
//! body read into typed refusals, with when the usage headers say access comes back.

use jiff::{SignedDuration, Timestamp};
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

use crate::domain::Secret;
use crate::networks::{PublishError, call_failed, create_failed};
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
    /// Changes something already there (hides a comment, likes it, deletes a reply): doing it
    /// again is harmless, so a lost answer is retried like a read.
    pub const CHANGE: Call = Call {
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
    pub(super) network: &'static str,
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

    pub fn http(&self) -> &OutboundClient {
        &self.http
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

    /// `DELETE {base}/{path}`: Graph answers `{"success": true}`.
    pub async fn delete(&self, path: &[&str], token: &Secret) -> Result<Value, GraphFailure> {
        let request = self.http.delete(self.url(path)).bearer_auth(token.expose());
        self.send(Call::CHANGE, request).await
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
    pub(super) async fn refresh(
        &self,
        grant_type: &str,
        token: &Secret,
    ) -> Result<Value, GraphFailure> {
        let root = unversioned(&self.base);
        let request = self
            .http
            .get(format!("{root}/refresh_access_token"))
            .query(&[("grant_type", grant_type), ("access_token", token.expose())]);
        self.send(Call::READ, request).await
    }
}

/// The base without a trailing `/vNN.N` version segment.
pub fn unversioned(base: &str) -> &str {
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
#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, value.parse().unwrap());
        h
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
