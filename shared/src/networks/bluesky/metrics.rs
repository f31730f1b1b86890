//! Bluesky's figures: a post's counters and the account's followers, read through the account's
//! PDS (which passes `app.bsky.*` reads on to its AppView).

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::BlueskyConnector;
use super::xrpc::{Call, Payload, Step, refusal};
use crate::domain::{Counters, MetricsReading};
use crate::networks::{Account, PublishError, ReadMetrics};

#[async_trait]
impl ReadMetrics for BlueskyConnector {
    /// `remote_id` is the post's at-uri. The account's PDS passes `app.bsky.*` reads on to its
    /// AppView, so the session that publishes also reads.
    async fn post_metrics(
        &self,
        account: &Account<'_>,
        remote_id: &str,
    ) -> Result<MetricsReading, PublishError> {
        if !remote_id.starts_with("at://") {
            return Err(PublishError::InvalidContent(format!(
                "{remote_id:?} is not the address of a Bluesky post (at://...)"
            )));
        }
        let call = Call {
            method: Method::GET,
            nsid: "app.bsky.feed.getPosts",
            query: vec![("uris", remote_id.to_owned())],
            payload: Payload::Empty,
            creates: false,
        };
        let (answer, _) = self.call(account, &call).await?;
        if !answer.ok() {
            return Err(refusal(&answer, Step::Read));
        }
        #[derive(Deserialize)]
        struct Posts {
            posts: Vec<Value>,
        }
        // getPosts leaves out, without an error, posts that were deleted or that the account
        // cannot see (blocked, taken down); one URI was asked for, so any answer is that post.
        let post = answer
            .parse::<Posts>()?
            .posts
            .into_iter()
            .next()
            .ok_or_else(|| {
                PublishError::InvalidContent(format!(
                    "the Bluesky post {remote_id} was deleted or is not visible (Bluesky did not return it); its figures cannot be read any more"
                ))
            })?;
        Ok(MetricsReading {
            counters: post_counters(&post),
            raw: post,
        })
    }

    async fn account_metrics(&self, account: &Account<'_>) -> Result<MetricsReading, PublishError> {
        let did = self.session(account).await?.did;
        let call = Call {
            method: Method::GET,
            nsid: "app.bsky.actor.getProfile",
            query: vec![("actor", did)],
            payload: Payload::Empty,
            creates: false,
        };
        let (answer, _) = self.call(account, &call).await?;
        if !answer.ok() {
            return Err(refusal(&answer, Step::Read));
        }
        let profile: Value = answer.parse()?;
        Ok(MetricsReading {
            counters: profile_counters(&profile),
            raw: profile,
        })
    }
}

/// A post view's figures. Bluesky counts no views, reach or clicks; `bookmarkCount` is newer
/// than the others, so an AppView without it leaves saves not available.
pub(super) fn post_counters(post: &Value) -> Counters {
    Counters {
        likes: count(post, "likeCount"),
        reposts: count(post, "repostCount"),
        replies: count(post, "replyCount"),
        quotes: count(post, "quoteCount"),
        saves: count(post, "bookmarkCount"),
        ..Counters::default()
    }
}

pub(super) fn profile_counters(profile: &Value) -> Counters {
    Counters {
        followers: count(profile, "followersCount"),
        ..Counters::default()
    }
}

/// A counter as sent; missing or not a count is "not available", never 0.
fn count(object: &Value, key: &str) -> Option<u64> {
    object.get(key)?.as_u64()
}
