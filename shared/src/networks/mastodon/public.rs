//! A competitor's public Mastodon account and its recent posts, read without credentials from
//! the account's own server.

use reqwest::header::HeaderMap;
use serde_json::Value;

use super::client::{network_message, rate_limit_reset};
use super::metrics::{account_counters, status_counters};
use crate::domain::{PublicPost, PublicProfile};
use crate::networks::PublishError;
use crate::networks::public::reading::{Reading, Refusal, newest_first};

/// How many recent posts are read per competitor: one page.
const MASTODON_STATUS_PAGE: &str = "40";

/// The account a competitor names and its recent posts, not counting replies and reblogs.
pub(in crate::networks) async fn profile(
    read: &Reading<'_>,
) -> Result<PublicProfile, PublishError> {
    let competitor = read.competitor;
    let account = read
        .get(
            "/api/v1/accounts/lookup",
            &[("acct", competitor.account_name())],
        )
        .await?;
    let Some(id) = account.get("id").and_then(Value::as_str) else {
        return Err(PublishError::Transient(format!(
            "{} answered the lookup of {} without an account id",
            read.service, competitor.handle
        )));
    };
    let statuses = read
        .get(
            &format!("/api/v1/accounts/{}/statuses", urlencoding::encode(id)),
            &[
                ("limit", MASTODON_STATUS_PAGE),
                ("exclude_replies", "true"),
                ("exclude_reblogs", "true"),
            ],
        )
        .await?;
    let recent_posts = newest_first(
        statuses
            .as_array()
            .into_iter()
            .flatten()
            // Mastodon's exclude_replies keeps replies to oneself (threads): those are not
            // new posts either.
            .filter(|s| {
                s.get("reblog").is_none_or(Value::is_null)
                    && s.get("in_reply_to_id").is_none_or(Value::is_null)
            })
            .filter_map(mastodon_post)
            .collect(),
    );
    Ok(PublicProfile {
        counters: account_counters(&account),
        posts_count: account.get("statuses_count").and_then(Value::as_u64),
        recent_posts,
        raw: account,
    })
}

/// What Mastodon's refusal of a public read says.
pub(in crate::networks) fn refusal(code: u16, headers: &HeaderMap, body: &str) -> Refusal {
    // Mastodon's own 404 is JSON; an HTML one means this is not a Mastodon server.
    let is_json = serde_json::from_str::<Value>(body).is_ok();
    Refusal {
        said: network_message(body),
        not_found: code == 404 && is_json,
        gone: code == 410,
        retry_at: (code == 429).then(|| rate_limit_reset(headers)).flatten(),
    }
}

/// A Mastodon status; `None` when it has no id or no readable time.
fn mastodon_post(status: &Value) -> Option<PublicPost> {
    let id = status.get("id")?.as_str()?;
    let created_at = status.get("created_at")?.as_str()?.parse().ok()?;
    let url = ["url", "uri"]
        .into_iter()
        .find_map(|k| status.get(k)?.as_str())
        .map(str::to_owned);
    Some(PublicPost {
        id: id.to_owned(),
        created_at,
        url,
        counters: status_counters(status),
    })
}
