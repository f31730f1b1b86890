//! A competitor's public Bluesky account and its recent posts, read without credentials through
//! the public AppView (or the competitor's own server).

use jiff::Timestamp;
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::metrics::{post_counters, profile_counters};
use super::xrpc::{XrpcError, rate_limit_reset};
use crate::domain::{PublicPost, PublicProfile};
use crate::networks::PublishError;
use crate::networks::public::reading::{Reading, Refusal, newest_first};

/// How many recent posts are read per competitor: one page.
const BLUESKY_FEED_PAGE: &str = "50";

/// The profile a competitor names and its recent posts, not counting replies and reposts.
pub(in crate::networks) async fn profile(
    read: &Reading<'_>,
) -> Result<PublicProfile, PublishError> {
    let competitor = read.competitor;
    let profile = read
        .get(
            "/xrpc/app.bsky.actor.getProfile",
            &[("actor", competitor.account_name())],
        )
        .await?;
    // The DID, unlike the handle, cannot change between the two calls.
    let actor = profile
        .get("did")
        .and_then(Value::as_str)
        .unwrap_or(competitor.account_name());
    let feed = read
        .get(
            "/xrpc/app.bsky.feed.getAuthorFeed",
            &[
                ("actor", actor),
                ("limit", BLUESKY_FEED_PAGE),
                ("filter", "posts_no_replies"),
            ],
        )
        .await?;
    let handle = profile
        .get("handle")
        .and_then(Value::as_str)
        .unwrap_or(competitor.account_name());
    let recent_posts = newest_first(
        feed.get("feed")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            // A repost (or a pinned post) carries a `reason`: it is not a new post of theirs.
            .filter(|item| item.get("reason").is_none_or(Value::is_null))
            .filter_map(|item| bluesky_post(item.get("post")?, handle))
            .collect(),
    );
    Ok(PublicProfile {
        counters: profile_counters(&profile),
        posts_count: profile.get("postsCount").and_then(Value::as_u64),
        recent_posts,
        raw: profile,
    })
}

/// What Bluesky's refusal of a public read says.
pub(in crate::networks) fn refusal(code: u16, headers: &HeaderMap, body: &str) -> Refusal {
    let error = XrpcError::of(body.as_bytes());
    let said = error.said();
    let lower = said.to_lowercase();
    let not_found = code == 404
        || (code == 400 && (lower.contains("not found") || lower.contains("unable to resolve")));
    let gone = matches!(
        error.error.as_str(),
        "AccountTakedown" | "AccountDeactivated" | "BlockedActor" | "BlockedByActor"
    );
    Refusal {
        said: Some(said),
        not_found,
        gone,
        retry_at: (code == 429).then(|| rate_limit_reset(headers)).flatten(),
    }
}

/// A post of a Bluesky author feed; `None` when it has no address or no readable time.
fn bluesky_post(post: &Value, handle: &str) -> Option<PublicPost> {
    let uri = post.get("uri")?.as_str()?;
    let created_at = [
        post.get("record").and_then(|r| r.get("createdAt")),
        post.get("indexedAt"),
    ]
    .into_iter()
    .flatten()
    .find_map(|t| t.as_str()?.parse::<Timestamp>().ok())?;
    let author = post
        .get("author")
        .and_then(|a| a.get("handle"))
        .and_then(Value::as_str)
        .unwrap_or(handle);
    let rkey = uri.rsplit('/').next().unwrap_or_default();
    Some(PublicPost {
        id: uri.to_owned(),
        created_at,
        url: Some(format!("https://bsky.app/profile/{author}/post/{rkey}")),
        counters: post_counters(post),
    })
}
