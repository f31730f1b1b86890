//! Calls to a Mastodon server: sending a request and reading its answer, and the server's
//! refusals in plain words, with when its rate limit resets.

use jiff::Timestamp;
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{MastodonConnector, NETWORK};
use crate::domain::Secret;
use crate::networks::{
    Account, PublishError, call_failed, create_failed, reset_at_unix, retry_after,
};
use crate::outbound::{CallError, JSON_ANSWER_LIMIT, read_text};

/// Which kind of call failed: it decides both the error type and its wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Call {
    Upload,
    Processing,
    /// Creates a visible status: a lost answer is an unknown outcome.
    Status,
    Read,
    /// Favourites or deletes a status: repeating it is harmless.
    Moderate,
}

impl MastodonConnector {
    pub(super) async fn read<T: DeserializeOwned>(
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
    pub(super) async fn exchange(
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

pub(super) fn instance_url(account: &Account<'_>) -> Result<String, PublishError> {
    Ok(account
        .setting("instance_url")?
        .trim()
        .trim_end_matches('/')
        .to_owned())
}

pub(super) fn decode<T: DeserializeOwned>(call: Call, body: &str) -> Result<T, PublishError> {
    serde_json::from_str(body).map_err(|e| match call {
        // The status was made (2xx) but its id cannot be read: only a read-back can tell which.
        Call::Status => PublishError::UnknownOutcome(format!(
            "Mastodon accepted the post but its answer could not be read ({e}); it will be checked before any retry"
        )),
        _ => PublishError::Transient(format!("Mastodon's answer could not be read: {e}")),
    })
}

/// Maps a refusal to a typed error that quotes Mastodon's own words.
pub(super) fn refused(
    call: Call,
    status: StatusCode,
    headers: &HeaderMap,
    body: &str,
) -> PublishError {
    let said = network_message(body).unwrap_or_else(|| format!("HTTP {status}"));
    match status.as_u16() {
        401 => PublishError::AuthExpired(format!(
            "Mastodon refused the access token: {said}; reconnect the channel"
        )),
        403 if call == Call::Read => PublishError::AuthExpired(format!(
            "Mastodon refused to let this account read: {said}; reconnect the channel with the read permission"
        )),
        403 if call == Call::Moderate => PublishError::AuthExpired(format!(
            "Mastodon refused this action: {said}; reconnect the channel with the write:favourites and write:statuses permissions"
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
        422 if call == Call::Moderate => {
            PublishError::InvalidContent(format!("Mastodon refused the action: {said}"))
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

/// What Mastodon said when it has no such status (deleted, or not visible to the account): its
/// own 404 is JSON ("Record not found"). An HTML 404 means the instance URL does not lead to a
/// Mastodon server, which [`refused`] words, so it gives `None`.
pub(super) fn status_not_found(status: StatusCode, body: &str) -> Option<String> {
    let mastodon_error = status == StatusCode::NOT_FOUND
        && serde_json::from_str::<serde_json::Value>(body).is_ok_and(|v| v.get("error").is_some());
    if mastodon_error {
        network_message(body)
    } else {
        None
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

#[cfg(test)]
mod tests {
    use super::*;

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
