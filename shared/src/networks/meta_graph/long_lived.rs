//! What Instagram Login and Threads share once a long-lived token is in hand: the account found
//! (`/me`), the credentials it leaves (the token and when it was made, which the refresh reads),
//! the renewal ahead of expiry, and the revocation neither offers.

use jiff::Timestamp;
use serde_json::Value;

use super::Graph;
use super::login::LongLived;
use crate::networks::connect::{FoundAccount, Revocation, credential};
use crate::networks::{Account, PublishError};

/// Where a network's `/me` answer keeps what a connection needs.
pub struct MeShape {
    /// The id the content API uses.
    pub id: &'static str,
    pub picture: &'static str,
    /// The channel setting the id fills in.
    pub setting: &'static str,
}

/// The account a long-lived token acts as, from its `/me` answer.
pub fn found_account(
    long: LongLived,
    me: &Value,
    shape: &MeShape,
    extra_settings: Vec<(String, Value)>,
    asked: &[String],
    now: Timestamp,
) -> FoundAccount {
    let (id_key, picture_key, setting) = (shape.id, shape.picture, shape.setting);
    let text = |k: &str| me.get(k).and_then(Value::as_str).map(str::to_owned);
    let long_user_id = long.user_id.clone();
    let id = me
        .get(id_key)
        .and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .unwrap_or(long.user_id);
    let username = text("username").unwrap_or_else(|| id.clone());
    let mut settings = vec![(setting.to_owned(), Value::from(id.clone()))];
    settings.extend(extra_settings);
    FoundAccount {
        handle: format!("@{username}"),
        name: text("name").filter(|n| !n.is_empty()).unwrap_or(username),
        avatar: text(picture_key),
        scopes: long.scopes.unwrap_or_else(|| asked.to_vec()),
        credentials: vec![
            credential("access_token", long.token),
            super::refreshed_at(now),
        ],
        settings,
        id,
        expires_at: Some(long.expires_at),
        renewable: true,
        // The callbacks of Instagram and Threads apps name the account's user id.
        owner: Some(long_user_id),
    }
}

/// Refreshes the long-lived token when it is due (a week after its last refresh): the expiry
/// it has afterwards.
pub async fn renew(
    graph: &Graph,
    account: &Account<'_>,
    grant_type: &str,
    now: Timestamp,
) -> Result<Option<Timestamp>, PublishError> {
    let before = account.credential("access_token")?.clone();
    let after = super::fresh_token(graph, account, grant_type, now).await?;
    Ok(if after != before {
        Some(now + super::login::LONG_LIVED)
    } else {
        super::long_lived_expiry(account.credentials())
    })
}

/// Neither Instagram Login nor Threads lets an app revoke a token.
pub fn not_revocable(network: &str) -> Revocation {
    Revocation::NotOffered(format!(
        "{network} has no way for an app to revoke its token: Palinsesto has forgotten it, and the account's owner can remove Palinsesto in the account's settings (Apps and websites)"
    ))
}
