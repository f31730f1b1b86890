//! What people say to a Threads account (engagement.md, "Threads"; Meta's "Reply Management" and
//! "Mentions" references): the replies under its recent posts at every depth
//! (`GET /{media-id}/conversation`), where the account's own (`is_reply_owned_by_me`) are native
//! replies, and the posts that mention it (`GET /{user-id}/mentions`). Each stream's cursor is a
//! watermark, so a read brings only what is new.

use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::Value;

use super::ThreadsConnector;
use crate::domain::Secret;
use crate::domain::inbox::{
    Author, Incoming, InteractionKind, NativeReply, ReplyTarget, StreamKind,
};
use crate::networks::meta_graph::listing::{self, Watermark, text, time_of};
use crate::networks::meta_graph::{self};
use crate::networks::{Account, InboxRead, PublishError, ReadInbox};

/// At most this many of the account's recent posts have their replies read a poll.
const MAX_THREADS: usize = 20;
/// The Threads media fields read for replies and mentions.
pub(super) const FIELDS: &str =
    "id,text,username,permalink,timestamp,replied_to,root_post,is_reply_owned_by_me,hide_status";

#[async_trait]
impl ReadInbox for ThreadsConnector {
    fn streams(&self) -> &'static [StreamKind] {
        &[StreamKind::Threads, StreamKind::Notifications]
    }

    async fn read(
        &self,
        account: &Account<'_>,
        stream: StreamKind,
        cursor: Option<&str>,
        recent_posts: &[String],
    ) -> Result<InboxRead, PublishError> {
        let user = account.setting("threads_user_id")?;
        match stream {
            StreamKind::Threads => {
                let token = self.token(account).await?;
                self.replies_under(&token, cursor, recent_posts).await
            }
            StreamKind::Notifications => {
                let token = self.token(account).await?;
                self.mentions(user, &token, cursor).await
            }
            // The account's replies are read with the conversations they are in; Threads has
            // no direct messages.
            StreamKind::Own | StreamKind::Messages => Ok(InboxRead::default()),
        }
    }
}

impl ThreadsConnector {
    /// The token to call with, refreshed when due (as publishing does).
    pub(super) async fn token(&self, account: &Account<'_>) -> Result<Secret, PublishError> {
        meta_graph::fresh_token(self.graph(), account, "th_refresh_token", Timestamp::now()).await
    }

    async fn replies_under(
        &self,
        token: &Secret,
        cursor: Option<&str>,
        recent_posts: &[String],
    ) -> Result<InboxRead, PublishError> {
        let seen = Watermark::parse(cursor);
        let mut newest = seen.clone();
        let mut read = InboxRead::default();
        for post in recent_posts.iter().take(MAX_THREADS) {
            let query = vec![
                ("fields", FIELDS.to_owned()),
                ("reverse", "true".to_owned()),
            ];
            let items = listing::pages_under(
                self.graph(),
                token,
                post,
                "conversation",
                query,
                &seen,
                "timestamp",
            )
            .await?;
            for item in &items {
                let (Some(id), Some(at)) =
                    (text(item, "id"), item.get("timestamp").and_then(time_of))
                else {
                    continue;
                };
                if seen.is_new(at, id) {
                    newest.advance(at, id);
                    take_reply(item, Some(post), &mut read.found, &mut read.native);
                }
            }
        }
        read.cursor = newest.cursor();
        Ok(read)
    }

    async fn mentions(
        &self,
        user: &str,
        token: &Secret,
        cursor: Option<&str>,
    ) -> Result<InboxRead, PublishError> {
        let seen = Watermark::parse(cursor);
        let mut newest = seen.clone();
        let mut read = InboxRead::default();
        let mut query = vec![("fields", FIELDS.to_owned())];
        if let Some(since) = seen.since() {
            query.push(("since", since.to_string()));
        }
        let items = listing::pages(
            self.graph(),
            token,
            &[user, "mentions"],
            query,
            &seen,
            "timestamp",
        )
        .await?;
        for item in &items {
            let (Some(id), Some(at)) = (text(item, "id"), item.get("timestamp").and_then(time_of))
            else {
                continue;
            };
            if seen.is_new(at, id) {
                newest.advance(at, id);
                read.found
                    .extend(incoming(item, InteractionKind::Mention, None));
            }
        }
        read.cursor = newest.cursor();
        Ok(read)
    }
}

/// A reply in one of the account's conversations (read by a poll, or from a `replies`
/// webhook): the account's own is a native reply to what it answers, anyone else's an
/// interaction. `post` is the account's post whose conversation it was read in.
pub(super) fn take_reply(
    item: &Value,
    post: Option<&str>,
    found: &mut Vec<Incoming>,
    native: &mut Vec<NativeReply>,
) {
    let own = item.get("is_reply_owned_by_me").and_then(Value::as_bool) == Some(true);
    if own {
        if let (Some(id), Some(parent), Some(at)) = (
            text(item, "id"),
            item.pointer("/replied_to/id").and_then(Value::as_str),
            item.get("timestamp").and_then(time_of),
        ) {
            native.push(NativeReply {
                external_id: id.to_owned(),
                parent: parent.to_owned(),
                created_at: at,
            });
        }
        return;
    }
    found.extend(incoming(item, InteractionKind::Reply, post));
}

/// A Threads post or reply as an interaction of `kind`.
pub(super) fn incoming(
    item: &Value,
    kind: InteractionKind,
    post: Option<&str>,
) -> Option<Incoming> {
    let id = text(item, "id")?.to_owned();
    let username = text(item, "username").unwrap_or("unknown");
    let root = item
        .pointer("/root_post/id")
        .and_then(Value::as_str)
        .or(post)
        .filter(|r| *r != id)
        .map(str::to_owned);
    Some(Incoming {
        kind,
        permalink: text(item, "permalink").map(str::to_owned),
        parent: item
            .pointer("/replied_to/id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        root,
        // Threads gives replies and mentions by username only.
        author: Author {
            id: username.to_owned(),
            handle: format!("@{username}"),
            name: username.to_owned(),
            followers: None,
        },
        text: text(item, "text").unwrap_or_default().to_owned(),
        created_at: item.get("timestamp").and_then(time_of)?,
        target: ReplyTarget {
            id: id.clone(),
            cid: None,
            root_id: None,
            root_cid: None,
            visibility: None,
            chat: None,
        },
        raw: item.clone(),
        external_id: id,
    })
}
