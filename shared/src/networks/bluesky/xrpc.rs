//! XRPC, Bluesky's HTTP calls: a request to one method and its answer, and refusals in plain
//! words with when limits reset.

use bytes::Bytes;
use jiff::Timestamp;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use super::{BlueskyConnector, NETWORK};
use crate::domain::Secret;
use crate::networks::{PublishError, call_failed, create_failed, reset_at_unix, retry_after};
use crate::outbound::{CallError, JSON_ANSWER_LIMIT, read_body};

impl BlueskyConnector {
    pub(super) async fn send(
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
}

/// A request to one XRPC method.
pub(super) struct Call {
    pub(super) method: Method,
    pub(super) nsid: &'static str,
    pub(super) query: Vec<(&'static str, String)>,
    pub(super) payload: Payload,
    /// Whether the call makes something visible (a post): a lost answer is then an unknown
    /// outcome, not a plain failure.
    pub(super) creates: bool,
}

impl Call {
    pub(super) fn post_json(nsid: &'static str, body: Value) -> Self {
        Self {
            method: Method::POST,
            nsid,
            query: Vec::new(),
            payload: Payload::Json(body),
            creates: false,
        }
    }
}

pub(super) enum Payload {
    Empty,
    Json(Value),
    Bytes { bytes: Bytes, content_type: String },
}

pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
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
    pub(super) fn ok(&self) -> bool {
        self.status.is_success()
    }

    pub(super) fn error(&self) -> XrpcError {
        XrpcError::of(&self.body)
    }

    /// Bluesky refused the access token itself (expired, revoked, not valid): a new session may
    /// help, and if the app password is refused too, that refusal is the one the user sees.
    pub(super) fn token_refused(&self) -> bool {
        match self.status.as_u16() {
            401 => true,
            400 => matches!(self.error().error.as_str(), "ExpiredToken" | "InvalidToken"),
            _ => false,
        }
    }

    pub(super) fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, PublishError> {
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
pub(super) enum Step {
    SignIn,
    Upload,
    Post,
    Read,
    /// A like, a thread gate, a deletion: changes that are harmless to repeat.
    Moderate,
}

impl Step {
    /// What the step writes, in a sentence.
    pub(super) fn noun(self) -> &'static str {
        match self {
            Step::SignIn => "sign-in",
            Step::Upload => "file",
            Step::Post | Step::Read => "post",
            Step::Moderate => "change",
        }
    }
}

pub(super) fn rate_limited(answer: &Answer, what: &str) -> PublishError {
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
pub(super) fn refusal(answer: &Answer, step: Step) -> PublishError {
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
            Step::Moderate => {
                PublishError::InvalidContent(format!("Bluesky refused the change: {said}"))
            }
            Step::SignIn | Step::Read => {
                PublishError::Transient(format!("Bluesky answered HTTP {status} ({said})"))
            }
        },
    }
}
