//! What people say to a Facebook Page (engagement.md, "Facebook Pages and Instagram"): comments
//! under the page's recent posts (`GET /{post-id}/comments?filter=stream`, every level, newest
//! first), where the page's own comments are native replies; posts the page is tagged in
//! (`GET /{page-id}/tagged`, mentions); and Messenger conversations (`messages`). Each stream's
//! cursor is a watermark, so a read brings only what is new.

use async_trait::async_trait;
use serde_json::Value;

use super::FacebookConnector;
use crate::domain::Secret;
use crate::domain::inbox::{
    Author, Incoming, InteractionKind, NativeReply, ReplyTarget, StreamKind,
};
use crate::networks::meta_graph::listing::{self, Watermark, text, time_of};
use crate::networks::meta_graph::messaging::Messaging;
use crate::networks::{Account, InboxRead, PublishError, ReadInbox};

/// At most this many of the page's recent posts have their comments read a poll.
const MAX_THREADS: usize = 20;
/// The comment fields read (Graph's Comment node); `from` is given with a page token that has
/// `pages_read_user_engagement`.
pub(super) const COMMENT_FIELDS: &str =
    "id,message,from,created_time,parent{id},permalink_url,is_hidden";
const TAGGED_FIELDS: &str = "id,message,from,created_time,permalink_url";

#[async_trait]
impl ReadInbox for FacebookConnector {
    fn streams(&self) -> &'static [StreamKind] {
        &[
            StreamKind::Threads,
            StreamKind::Notifications,
            StreamKind::Messages,
        ]
    }

    async fn read(
        &self,
        account: &Account<'_>,
        stream: StreamKind,
        cursor: Option<&str>,
        recent_posts: &[String],
    ) -> Result<InboxRead, PublishError> {
        let page_id = account.setting("page_id")?;
        let token = account.credential("access_token")?;
        match stream {
            StreamKind::Threads => self.comments(page_id, token, cursor, recent_posts).await,
            StreamKind::Notifications => self.tagged(page_id, token, cursor).await,
            StreamKind::Messages => self.messaging(page_id, token).read(cursor).await,
            // The page's answers are read with the comments and messages they answer.
            StreamKind::Own => Ok(InboxRead::default()),
        }
    }
}

impl FacebookConnector {
    pub(super) fn messaging<'a>(&'a self, page_id: &'a str, token: &'a Secret) -> Messaging<'a> {
        Messaging {
            graph: &self.graph,
            token,
            node: page_id,
            platform: "messenger",
            brand: page_id,
        }
    }

    async fn comments(
        &self,
        page_id: &str,
        token: &Secret,
        cursor: Option<&str>,
        recent_posts: &[String],
    ) -> Result<InboxRead, PublishError> {
        let seen = Watermark::parse(cursor);
        let mut newest = seen.clone();
        let mut read = InboxRead::default();
        for post in recent_posts.iter().take(MAX_THREADS) {
            let query = vec![
                ("filter", "stream".to_owned()),
                ("order", "reverse_chronological".to_owned()),
                ("fields", COMMENT_FIELDS.to_owned()),
            ];
            let items = listing::pages_under(
                &self.graph,
                token,
                post,
                "comments",
                query,
                &seen,
                "created_time",
            )
            .await?;
            for item in &items {
                let (Some(id), Some(at)) =
                    (text(item, "id"), item.get("created_time").and_then(time_of))
                else {
                    continue;
                };
                if !seen.is_new(at, id) {
                    continue;
                }
                newest.advance(at, id);
                take_comment(item, post, page_id, &mut read.found, &mut read.native);
            }
        }
        read.cursor = newest.cursor();
        Ok(read)
    }

    async fn tagged(
        &self,
        page_id: &str,
        token: &Secret,
        cursor: Option<&str>,
    ) -> Result<InboxRead, PublishError> {
        let seen = Watermark::parse(cursor);
        let mut newest = seen.clone();
        let mut read = InboxRead::default();
        let items = listing::pages(
            &self.graph,
            token,
            &[page_id, "tagged"],
            vec![("fields", TAGGED_FIELDS.to_owned())],
            &seen,
            "created_time",
        )
        .await?;
        for item in &items {
            let (Some(id), Some(at)) =
                (text(item, "id"), item.get("created_time").and_then(time_of))
            else {
                continue;
            };
            if !seen.is_new(at, id) {
                continue;
            }
            newest.advance(at, id);
            if author_id(item) != Some(page_id) {
                read.found.extend(mention(item));
            }
        }
        read.cursor = newest.cursor();
        Ok(read)
    }
}

fn author_id(item: &Value) -> Option<&str> {
    item.pointer("/from/id").and_then(Value::as_str)
}

/// A comment under the page's post `post` (read by a poll, or rebuilt from a webhook in the
/// same shape): the page's own is a native reply to what it answers, anyone else's an
/// interaction.
pub(super) fn take_comment(
    item: &Value,
    post: &str,
    page_id: &str,
    found: &mut Vec<Incoming>,
    native: &mut Vec<NativeReply>,
) {
    let parent = item
        .pointer("/parent/id")
        .and_then(Value::as_str)
        .filter(|p| *p != post);
    if author_id(item) == Some(page_id) {
        if let (Some(id), Some(at)) = (text(item, "id"), item.get("created_time").and_then(time_of))
        {
            native.push(NativeReply {
                external_id: id.to_owned(),
                parent: parent.unwrap_or(post).to_owned(),
                created_at: at,
            });
        }
        return;
    }
    found.extend(comment(item, post, parent));
}

/// Facebook names people, not handles: the name is both.
fn author(item: &Value) -> Author {
    let id = item
        .pointer("/from/id")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let name = item
        .pointer("/from/name")
        .and_then(Value::as_str)
        .unwrap_or(id);
    Author {
        id: id.to_owned(),
        handle: name.to_owned(),
        name: name.to_owned(),
        followers: None,
    }
}

fn target(id: &str, thread: Option<&str>) -> ReplyTarget {
    ReplyTarget {
        id: id.to_owned(),
        cid: None,
        // The comment whose thread a reply is in: an answer to it may be filed there.
        root_id: thread.map(str::to_owned),
        root_cid: None,
        visibility: None,
        chat: None,
    }
}

/// A comment: top-level under the post, or a reply in a comment's thread (`parent`).
fn comment(item: &Value, post: &str, parent: Option<&str>) -> Option<Incoming> {
    let id = text(item, "id")?.to_owned();
    Some(Incoming {
        kind: if parent.is_some() {
            InteractionKind::Reply
        } else {
            InteractionKind::Comment
        },
        permalink: text(item, "permalink_url").map(str::to_owned),
        parent: Some(parent.unwrap_or(post).to_owned()),
        root: Some(post.to_owned()),
        author: author(item),
        text: text(item, "message").unwrap_or_default().to_owned(),
        created_at: item.get("created_time").and_then(time_of)?,
        target: target(&id, parent),
        raw: item.clone(),
        external_id: id,
    })
}

/// A post (or comment) the page is tagged in.
pub(super) fn mention(item: &Value) -> Option<Incoming> {
    let id = text(item, "id")?.to_owned();
    Some(Incoming {
        kind: InteractionKind::Mention,
        permalink: text(item, "permalink_url").map(str::to_owned),
        parent: None,
        root: None,
        author: author(item),
        text: text(item, "message").unwrap_or_default().to_owned(),
        created_at: item.get("created_time").and_then(time_of)?,
        target: target(&id, None),
        raw: item.clone(),
        external_id: id,
    })
}
