//! OAuth 2.0 access-token renewal with a refresh token, as X and LinkedIn do it: sending the
//! renewal, reading the answer and saving the new credentials, in one place.

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use super::{Account, PublishError, call_failed, reset_at_unix, snippet, within_renewal_time};
use crate::domain::{Credentials, Secret};
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

/// Renews the access token under the channel's renewal lease. `in_use` is the token this
/// worker holds: when the stored one differs, another worker renewed it meanwhile (its refresh
/// token is spent) and that token is used instead of renewing again. Otherwise `request` builds
/// the renewal from the credentials as stored now, and what the network answers is saved before
/// the lease is released. Returns the access token to use. A failure to save is not a failure
/// to publish (the fresh token works for this call); it becomes a note in `notes` instead.
pub async fn renew(
    network: &str,
    http: &OutboundClient,
    account: &Account<'_>,
    in_use: &str,
    request: impl FnOnce(&Credentials) -> Result<reqwest::RequestBuilder, PublishError>,
    notes: &mut Vec<String>,
) -> Result<String, PublishError> {
    let renewal = account.begin_renewal().await?;
    if let Some(stored) = renewal
        .credentials
        .get("access_token")
        .filter(|t| !t.is_empty() && t.expose() != in_use)
    {
        let stored = stored.expose().to_owned();
        account.finish_renewal(renewal, Vec::new()).await?;
        return Ok(stored);
    }
    let answer = match request(&renewal.credentials) {
        Ok(request) => within_renewal_time(network, exchange(network, http, request)).await,
        Err(e) => Err(e),
    };
    let (token, changes) = match answer {
        Ok(answer) => answer,
        Err(e) => {
            account.finish_renewal(renewal, Vec::new()).await?;
            return Err(e);
        }
    };
    if let Err(e) = account.finish_renewal(renewal, changes).await {
        tracing::warn!(network, error = %e, "renewed credentials could not be saved");
        notes.push(format!(
            "{network} renewed the channel's access, but the new credentials could not be saved ({e}); if later posts fail to authenticate, connect the channel again"
        ));
    }
    Ok(token)
}

/// Sends a renewal and reads the new access token and what to save.
async fn exchange(
    network: &str,
    http: &OutboundClient,
    request: reqwest::RequestBuilder,
) -> Result<(String, Vec<(String, Secret)>), PublishError> {
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
    Ok((answer.access_token, changes))
}
