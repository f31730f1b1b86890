//! OAuth 2.0 access-token renewal with a refresh token, as X and LinkedIn do it: sending the
//! renewal, reading the answer and saving the new credentials, in one place.

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use super::{Account, PublishError, call_failed, reset_at_unix, snippet};
use crate::domain::Secret;
use crate::outbound::{JSON_ANSWER_LIMIT, OutboundClient, read_text};

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    access_token: String,
    expires_in: Option<i64>,
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: Option<String>,
    error_description: Option<String>,
}

/// Sends the prepared renewal `request` to `network` and stores what it answers through the
/// account's sink. Returns the new access token. A failure to save is not a failure to publish
/// (the fresh token works for this call); it becomes a note in `notes` instead.
pub async fn renew(
    network: &str,
    http: &OutboundClient,
    request: reqwest::RequestBuilder,
    account: &Account<'_>,
    notes: &mut Vec<String>,
) -> Result<String, PublishError> {
    let response = http
        .send(request)
        .await
        .map_err(|e| call_failed(network, &e))?;
    let status = response.status();
    let reset = reset_at_unix(response.headers().get("x-rate-limit-reset"));
    let body = read_text(response, JSON_ANSWER_LIMIT)
        .await
        .map_err(|e| call_failed(network, &e))?;
    if !status.is_success() {
        let reason = serde_json::from_str::<OAuthError>(&body)
            .ok()
            .and_then(|e| e.error_description.or(e.error))
            .unwrap_or_else(|| snippet(&body, status));
        return Err(match status.as_u16() {
            429 => PublishError::RateLimited {
                retry_at: reset,
                message: format!("{network} is limiting token renewals: {reason}"),
            },
            500..=599 => PublishError::Transient(format!(
                "{network} could not renew the access token right now: {reason}"
            )),
            _ => PublishError::AuthExpired(format!(
                "{network} refused to renew the access token ({reason}): connect the channel again"
            )),
        });
    }
    let answer: TokenAnswer = serde_json::from_str(&body).map_err(|_| {
        PublishError::Transient(format!(
            "{network}'s token renewal answer could not be read; it will be tried again"
        ))
    })?;
    if answer.access_token.is_empty() {
        return Err(PublishError::AuthExpired(format!(
            "{network} renewed the authorization without an access token: connect the channel again"
        )));
    }
    let mut changes = vec![(
        "access_token".to_owned(),
        Secret::new(answer.access_token.clone()),
    )];
    if let Some(at) = answer.expires_in.and_then(|secs| {
        Timestamp::now()
            .checked_add(SignedDuration::from_secs(secs))
            .ok()
    }) {
        changes.push((
            "access_token_expires_at".to_owned(),
            Secret::new(at.as_second().to_string()),
        ));
    }
    // Refresh tokens may rotate; an answer without one must not erase the one we have.
    if let Some(new_refresh) = answer.refresh_token.filter(|t| !t.is_empty()) {
        changes.push(("refresh_token".to_owned(), Secret::new(new_refresh)));
    }
    if let Err(e) = account.credentials_sink.update(changes).await {
        tracing::warn!(network, error = %e, "renewed credentials could not be saved");
        notes.push(format!(
            "{network} renewed the channel's access, but the new credentials could not be saved ({e}); if later posts fail to authenticate, connect the channel again"
        ));
    }
    Ok(answer.access_token)
}
