//! Moderating on Bluesky: liking a post as the brand (an `app.bsky.feed.like` record under a key
//! derived from the liked post, so a repeat finds the like made), deleting the brand's own reply
//! (`deleteRecord`, which also ensures a record already gone stays gone), and hiding replies in
//! threads the brand started, through the thread gate of the thread's root post
//! (`app.bsky.feed.threadgate`: its key is the root post's, its `hiddenReplies` hold at most 300).

use async_trait::async_trait;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use super::record_key::record_key;
use super::xrpc::{Call, Step, refusal};
use super::{BlueskyConnector, POST_COLLECTION, Session};
use crate::domain::inbox::ReplyTarget;
use crate::domain::moderation::ModerationAction;
use crate::networks::{Account, Moderate, PublishError};

const LIKE_COLLECTION: &str = "app.bsky.feed.like";
const THREADGATE_COLLECTION: &str = "app.bsky.feed.threadgate";
/// `hiddenReplies`' `maxLength` in the app.bsky.feed.threadgate lexicon.
const MAX_HIDDEN_REPLIES: usize = 300;
/// Writes of a thread gate tried when another write changed it in between.
const GATE_WRITES: usize = 3;

/// The parts of an `at://{repo}/{collection}/{rkey}` URI.
#[derive(Debug, PartialEq, Eq)]
struct AtUri<'a> {
    repo: &'a str,
    collection: &'a str,
    rkey: &'a str,
}

impl<'a> AtUri<'a> {
    fn parse(uri: &'a str) -> Option<Self> {
        let mut parts = uri.strip_prefix("at://")?.split('/');
        let at = Self {
            repo: parts.next().filter(|s| !s.is_empty())?,
            collection: parts.next().filter(|s| !s.is_empty())?,
            rkey: parts.next().filter(|s| !s.is_empty())?,
        };
        parts.next().is_none().then_some(at)
    }

    /// A post in the brand's repository (`did`).
    fn brands_post(uri: &'a str, did: &str) -> Option<Self> {
        Self::parse(uri).filter(|at| at.repo == did && at.collection == POST_COLLECTION)
    }
}

/// A thread gate as `getRecord` answers it.
#[derive(Debug, Deserialize)]
struct StoredGate {
    cid: String,
    value: Value,
}

/// The reply URIs a thread gate hides.
fn hidden_replies(gate: &Value) -> Vec<String> {
    gate.get("hiddenReplies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

impl BlueskyConnector {
    async fn like(&self, account: &Account<'_>, target: &ReplyTarget) -> Result<(), PublishError> {
        let cid = target.cid.as_deref().ok_or_else(|| {
            PublishError::Misconfigured(
                "the post to like has no content hash (cid): Bluesky needs it to like the post"
                    .into(),
            )
        })?;
        // One key per liked post: liking it again finds the like already made.
        let rkey = record_key(&format!("like {}", target.id), 0);
        let record = json!({
            "$type": LIKE_COLLECTION,
            "subject": {"uri": target.id, "cid": cid},
            "createdAt": Timestamp::now().to_string(),
        });
        self.create_record(account, LIKE_COLLECTION, &rkey, record, Step::Moderate)
            .await
            .map(drop)
    }

    async fn delete_reply(
        &self,
        account: &Account<'_>,
        session: &Session,
        reply: &str,
    ) -> Result<(), PublishError> {
        let Some(at) = AtUri::brands_post(reply, &session.did) else {
            return Err(PublishError::InvalidContent(format!(
                "{reply} is not a post of the brand's Bluesky account: only the brand's own replies can be deleted"
            )));
        };
        let call = Call::post_json(
            "com.atproto.repo.deleteRecord",
            json!({"repo": session.did, "collection": POST_COLLECTION, "rkey": at.rkey}),
        );
        // deleteRecord deletes the record or ensures it does not exist: a reply already gone is
        // done too.
        let (answer, _) = self.call(account, &call).await?;
        if answer.ok() {
            return Ok(());
        }
        Err(refusal(&answer, Step::Moderate))
    }

    /// Hides (or unhides) `target`, a reply, through the thread gate of its thread's root post,
    /// which must be the brand's: Bluesky reads a gate only from the root post's repository.
    async fn set_hidden(
        &self,
        account: &Account<'_>,
        session: &Session,
        target: &ReplyTarget,
        hide: bool,
    ) -> Result<(), PublishError> {
        let reply = target.id.as_str();
        let root = target
            .root_id
            .as_deref()
            .filter(|root| *root != reply)
            .ok_or_else(|| {
                PublishError::InvalidContent(
                    "Bluesky hides only replies in a thread, and this post answers no thread"
                        .into(),
                )
            })?;
        let Some(root_at) = AtUri::brands_post(root, &session.did) else {
            return Err(PublishError::InvalidContent(format!(
                "Bluesky lets the brand hide replies only in threads it started, and this reply is in a thread started by someone else ({root})"
            )));
        };
        let mut last_refusal = None;
        for _ in 0..GATE_WRITES {
            let gate: Option<StoredGate> = self
                .read_record(session, THREADGATE_COLLECTION, root_at.rkey)
                .await?;
            let (mut record, swap) = match gate {
                Some(gate) => (gate.value, Some(gate.cid)),
                // No `allow`: replies stay open to everyone, only the hidden ones are hidden.
                None => (
                    json!({
                        "$type": THREADGATE_COLLECTION,
                        "post": root,
                        "createdAt": Timestamp::now().to_string(),
                    }),
                    None,
                ),
            };
            let mut hidden = hidden_replies(&record);
            if hidden.iter().any(|h| h == reply) == hide {
                return Ok(());
            }
            if hide {
                if hidden.len() >= MAX_HIDDEN_REPLIES {
                    return Err(PublishError::InvalidContent(format!(
                        "Bluesky hides at most {MAX_HIDDEN_REPLIES} replies in a thread, and this thread has that many hidden: unhide one first"
                    )));
                }
                hidden.push(reply.to_owned());
            } else {
                hidden.retain(|h| h != reply);
            }
            record["hiddenReplies"] = json!(hidden);
            let mut write = json!({
                "repo": session.did,
                "collection": THREADGATE_COLLECTION,
                "rkey": root_at.rkey,
                "record": record,
            });
            // Written only over the gate just read (or where there was none), so a change made
            // in between is read again rather than lost.
            let nsid = match &swap {
                Some(cid) => {
                    write["swapRecord"] = json!(cid);
                    "com.atproto.repo.putRecord"
                }
                None => "com.atproto.repo.createRecord",
            };
            let (answer, _) = self.call(account, &Call::post_json(nsid, write)).await?;
            if answer.ok() {
                return Ok(());
            }
            let refused = refusal(&answer, Step::Moderate);
            let changed_in_between = answer.error().error == "InvalidSwap"
                || (swap.is_none()
                    && self
                        .read_record::<StoredGate>(session, THREADGATE_COLLECTION, root_at.rkey)
                        .await?
                        .is_some());
            if !changed_in_between {
                return Err(refused);
            }
            last_refusal = Some(refused);
        }
        Err(last_refusal.unwrap_or_else(|| {
            PublishError::Transient("the thread gate kept changing while it was written".into())
        }))
    }
}

#[async_trait]
impl Moderate for BlueskyConnector {
    fn actions(&self) -> &'static [ModerationAction] {
        &[
            ModerationAction::Hide,
            ModerationAction::Unhide,
            ModerationAction::Like,
            ModerationAction::DeleteReply,
        ]
    }

    async fn moderate(
        &self,
        account: &Account<'_>,
        target: &ReplyTarget,
        action: ModerationAction,
    ) -> Result<(), PublishError> {
        match action {
            ModerationAction::Like => self.like(account, target).await,
            ModerationAction::DeleteReply => {
                let session = self.session(account).await?;
                self.delete_reply(account, &session, &target.id).await
            }
            ModerationAction::Hide | ModerationAction::Unhide => {
                let session = self.session(account).await?;
                let hide = action == ModerationAction::Hide;
                self.set_hidden(account, &session, target, hide).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_uris_are_read_by_their_parts_and_only_the_brands_posts_pass() {
        let did = "did:plc:brand";
        assert_eq!(
            AtUri::parse("at://did:plc:brand/app.bsky.feed.post/3lk2"),
            Some(AtUri {
                repo: did,
                collection: POST_COLLECTION,
                rkey: "3lk2"
            })
        );
        assert!(AtUri::brands_post("at://did:plc:brand/app.bsky.feed.post/3lk2", did).is_some());
        assert!(AtUri::brands_post("at://did:plc:other/app.bsky.feed.post/3lk2", did).is_none());
        assert!(AtUri::brands_post("at://did:plc:brand/app.bsky.feed.like/3lk2", did).is_none());
        for bad in [
            "https://bsky.app/x",
            "at://did:plc:brand/app.bsky.feed.post",
            "at://a/b/c/d",
        ] {
            assert!(AtUri::parse(bad).is_none(), "{bad}");
        }
    }
}
