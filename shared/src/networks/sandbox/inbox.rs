//! The sandbox's inbox: the simulated audience comments on the brand's recent sandbox posts
//! (`domain::sandbox_audience::comments`, the same comments for the same seed every time), and
//! the brand's answers are kept like its posts, under the reply's stable key, so a retry finds
//! the answer an earlier attempt made.

use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::json;

use super::{SandboxConnector, unavailable};
use crate::domain::inbox::{Author, Incoming, InteractionKind, ReplyTarget, StreamKind};
use crate::domain::sandbox_audience;
use crate::networks::{
    Account, InboxRead, Outgoing, PublishContext, PublishError, Published, ReadBack, ReadInbox,
    ReplyTo,
};

/// The comments' host, in their handles and permalinks.
const HOST: &str = "sandbox.palinsesto.invalid";

#[async_trait]
impl ReadInbox for SandboxConnector {
    fn streams(&self) -> &'static [StreamKind] {
        // Comments under the brand's posts only: nobody on the sandbox mentions the brand
        // elsewhere or writes to it directly, and its replies are all made through Palinsesto.
        &[StreamKind::Threads]
    }

    /// The comments that arrived on `recent_posts` after `cursor` (the instant the last read
    /// saw up to) and by now.
    async fn read(
        &self,
        account: &Account<'_>,
        _stream: StreamKind,
        cursor: Option<&str>,
        recent_posts: &[String],
    ) -> Result<InboxRead, PublishError> {
        let now = self.clock.now();
        let after = cursor.and_then(|c| c.parse::<Timestamp>().ok());
        let seed = super::seed(account);
        let mut read = InboxRead {
            cursor: Some(now.to_string()),
            ..InboxRead::default()
        };
        for remote_id in recent_posts {
            let Some(post) = self
                .store
                .get_sandbox_post(account.brand, &account.channel.id, remote_id)
                .await
                .map_err(unavailable)?
            else {
                continue;
            };
            let comments = sandbox_audience::comments(
                &seed,
                remote_id,
                post.published_at,
                post.followers,
                now,
            );
            for c in comments
                .into_iter()
                .filter(|c| after.is_none_or(|a| c.at > a))
            {
                let id = format!("{remote_id}/comment-{}", c.index);
                read.found.push(Incoming {
                    external_id: id.clone(),
                    kind: InteractionKind::Reply,
                    permalink: None,
                    parent: Some(remote_id.clone()),
                    root: Some(remote_id.clone()),
                    author: Author {
                        id: format!("{}@{HOST}", c.handle),
                        handle: format!("@{}@{HOST}", c.handle),
                        name: c.name.to_owned(),
                        followers: Some(c.followers),
                    },
                    text: c.text.to_owned(),
                    raw: json!({"simulated": true, "seed": seed}),
                    target: ReplyTarget {
                        id,
                        cid: None,
                        root_id: Some(remote_id.clone()),
                        root_cid: None,
                        visibility: None,
                        chat: None,
                    },
                    created_at: c.at,
                });
            }
        }
        Ok(read)
    }
}

#[async_trait]
impl ReplyTo for SandboxConnector {
    async fn reply(
        &self,
        ctx: &PublishContext<'_>,
        target: &ReplyTarget,
        reply: &Outgoing,
    ) -> Result<Published, PublishError> {
        self.send(&ctx.account, reply, Some(&target.id)).await
    }

    async fn find_reply(
        &self,
        ctx: &PublishContext<'_>,
        _target: &ReplyTarget,
        reply: &Outgoing,
    ) -> Result<ReadBack, PublishError> {
        self.find_kept(&ctx.account, reply).await
    }
}
