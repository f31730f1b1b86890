//! Keeping Instagram's and Threads' long-lived access tokens alive: refreshed a week after the
//! last refresh, one renewal at a time per channel.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::client::Graph;
use crate::domain::{Credentials, Secret};
use crate::networks::{Account, PublishError};

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
    let refreshed = match crate::networks::within_renewal_time(network, refreshing).await {
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
        refreshed_at(now),
    ];
    // The old token stays valid after a refresh, so failing to store the new one loses nothing yet.
    if let Err(e) = account.finish_renewal(renewal, changes).await {
        tracing::warn!(network, channel = %account.channel.id, error = %e, "could not store the refreshed access token");
    }
    Ok(refreshed)
}

const REFRESHED_AT: &str = "access_token_refreshed_at";

/// When a long-lived token runs out unless refreshed: 60 days after its last refresh (or its
/// exchange), if the credentials say when that was.
pub fn long_lived_expiry(credentials: &Credentials) -> Option<Timestamp> {
    credentials
        .get(REFRESHED_AT)
        .and_then(|s| s.expose().trim().parse::<i64>().ok())
        .and_then(|secs| Timestamp::from_second(secs).ok())
        .map(|at| at + super::login::LONG_LIVED)
}

/// The credential recording when a long-lived token was made or last refreshed.
pub fn refreshed_at(now: Timestamp) -> (String, Secret) {
    (
        REFRESHED_AT.to_owned(),
        Secret::new(now.as_second().to_string()),
    )
}

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
