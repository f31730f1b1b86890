//! What people say to an Instagram professional account (engagement.md, "Facebook Pages and
//! Instagram"): comments under its recent media (`GET /{media-id}/comments` with their
//! `replies`): a top-level comment is a comment, one under a comment a reply (Instagram answers
//! top-level comments only: the domain's reply rule reads the kind), the account's own are
//! native replies; direct messages (`/{node}/conversations?platform=instagram`). @mentions come
//! only by the `mentions` webhook, which names them by id: [`ReadInbox::fetch`] reads them.

use async_trait::async_trait;
use serde_json::Value;

use super::InstagramConnector;
use crate::domain::Secret;
use crate::domain::inbox::{
    Author, Incoming, InteractionKind, NativeReply, ReplyTarget, StreamKind,
};
use crate::networks::meta_graph::listing::{self, Watermark, text, time_of};
use crate::networks::meta_graph::messaging::Messaging;
use crate::networks::meta_graph::{self, Graph};
use crate::networks::{Account, InboxRead, PublishError, ReadInbox};

/// At most this many of the account's recent media have their comments read a poll.
const MAX_THREADS: usize = 20;
/// Graph's IG Comment fields, and the first page of each comment's replies.
const COMMENT_FIELDS: &str = "id,text,timestamp,username,from,hidden,parent_id,replies{id,text,timestamp,username,from,hidden,parent_id}";
/// What a `mentions` webhook names: a comment that mentions the account, or a caption.
pub(super) const MENTIONED_COMMENT: &str = "mentioned_comment";
pub(super) const MENTIONED_MEDIA: &str = "mentioned_media";
/// The target of an answer to a mention on someone else's media: answered through the account's
/// `mentions` edge, not the comment's replies.
pub(super) const MENTION: &str = "mention";

#[async_trait]
impl ReadInbox for InstagramConnector {
    fn streams(&self) -> &'static [StreamKind] {
        &[StreamKind::Threads, StreamKind::Messages]
    }

    async fn read(
        &self,
        account: &Account<'_>,
        stream: StreamKind,
        cursor: Option<&str>,
        recent_posts: &[String],
    ) -> Result<InboxRead, PublishError> {
        let user = account.setting("ig_user_id")?;
        match stream {
            StreamKind::Threads => {
                let token = self.token(account).await?;
                self.comments(account, user, &token, cursor, recent_posts)
                    .await
            }
            StreamKind::Messages => {
                let token = self.token(account).await?;
                self.messaging(account, &token)?.read(cursor).await
            }
            // Mentions arrive by webhook only; the account's answers are read with what they
            // answer.
            StreamKind::Notifications | StreamKind::Own => Ok(InboxRead::default()),
        }
    }

    async fn fetch(
        &self,
        account: &Account<'_>,
        ids: &[String],
    ) -> Result<InboxRead, PublishError> {
        let user = account.setting("ig_user_id")?;
        let token = self.token(account).await?;
        let graph = self.graph(account);
        let mut read = InboxRead::default();
        for named in ids {
            let Some(found) = mentioned(graph, user, &token, named).await? else {
                continue;
            };
            read.found.push(found);
        }
        Ok(read)
    }
}

impl InstagramConnector {
    /// Where the account's direct messages are: the account itself through Instagram Login, the
    /// page it is linked to through Facebook Login.
    pub(super) fn messaging<'a>(
        &'a self,
        account: &'a Account<'_>,
        token: &'a Secret,
    ) -> Result<Messaging<'a>, PublishError> {
        let user = account.setting("ig_user_id")?;
        let node = if account.channel.login() == Some(super::oauth::FACEBOOK_LOGIN) {
            account.setting("page_id").map_err(|_| {
                PublishError::Misconfigured(format!(
                    "the channel does not name the Facebook page its Instagram messages go through (settings.page_id): connect it again, or set it with PATCH /v1/channels/{}",
                    account.channel.id
                ))
            })?
        } else {
            user
        };
        Ok(Messaging {
            graph: self.graph(account),
            token,
            node,
            platform: "instagram",
            brand: user,
        })
    }

    async fn comments(
        &self,
        account: &Account<'_>,
        user: &str,
        token: &Secret,
        cursor: Option<&str>,
        recent_posts: &[String],
    ) -> Result<InboxRead, PublishError> {
        let graph = self.graph(account);
        let seen = Watermark::parse(cursor);
        let mut newest = seen.clone();
        let mut read = InboxRead::default();
        for media in recent_posts.iter().take(MAX_THREADS) {
            let items = listing::pages_under(
                graph,
                token,
                media,
                "comments",
                vec![("fields", COMMENT_FIELDS.to_owned())],
                &seen,
                "timestamp",
            )
            .await?;
            let mut found = Vec::new();
            for comment in &items {
                // A reply names the comment it is under, whether or not the answer says so.
                let replies = comment
                    .pointer("/replies/data")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|reply| {
                        let mut reply = reply.clone();
                        if reply.get("parent_id").is_none() {
                            reply["parent_id"] = comment.get("id").cloned().unwrap_or_default();
                        }
                        reply
                    });
                for item in std::iter::once(comment.clone()).chain(replies) {
                    let item = &item;
                    let (Some(id), Some(at)) =
                        (text(item, "id"), item.get("timestamp").and_then(time_of))
                    else {
                        continue;
                    };
                    if seen.is_new(at, id) {
                        newest.advance(at, id);
                        take_comment(item, media, user, None, &mut found, &mut read.native);
                    }
                }
            }
            if !found.is_empty() {
                // Instagram comments have no link of their own: the media's.
                let link = meta_graph::permalink(graph, token, media).await;
                for f in &mut found {
                    f.permalink.clone_from(&link);
                }
                read.found.extend(found);
            }
        }
        read.cursor = newest.cursor();
        Ok(read)
    }
}

/// Reads one item a `mentions` webhook named (`mentioned_comment:{media}:{comment}` or
/// `mentioned_media:{media}`) through the account's `mentioned_comment` / `mentioned_media`
/// fields; `None` when the id is not of that shape.
async fn mentioned(
    graph: &Graph,
    user: &str,
    token: &Secret,
    named: &str,
) -> Result<Option<Incoming>, PublishError> {
    let mut parts = named.split(':');
    let (field, media, comment) = match (parts.next(), parts.next(), parts.next()) {
        (Some(MENTIONED_COMMENT), Some(media), Some(comment)) => {
            (MENTIONED_COMMENT, media, Some(comment))
        }
        (Some(MENTIONED_MEDIA), Some(media), None) => (MENTIONED_MEDIA, media, None),
        _ => return Ok(None),
    };
    let fields = match comment {
        Some(comment) => format!(
            "{field}.comment_id({comment}){{id,text,timestamp,username,from,media{{id,permalink}}}}"
        ),
        None => format!("{field}.media_id({media}){{id,caption,timestamp,username,permalink}}"),
    };
    let answer = graph.get(&[user], token, &[("fields", fields)]).await?;
    let Some(item) = answer.get(field) else {
        return Ok(None);
    };
    let id = text(item, "id")
        .unwrap_or(comment.unwrap_or(media))
        .to_owned();
    let username = text(item, "username").unwrap_or("unknown");
    Ok(Some(Incoming {
        kind: InteractionKind::Mention,
        permalink: text(item, "permalink")
            .or_else(|| item.pointer("/media/permalink").and_then(Value::as_str))
            .map(str::to_owned),
        parent: comment.map(|_| media.to_owned()),
        root: Some(media.to_owned()),
        author: Author {
            id: item
                .pointer("/from/id")
                .and_then(Value::as_str)
                .unwrap_or(username)
                .to_owned(),
            handle: format!("@{username}"),
            name: username.to_owned(),
            followers: None,
        },
        text: text(item, "text")
            .or_else(|| text(item, "caption"))
            .unwrap_or_default()
            .to_owned(),
        created_at: match item.get("timestamp").and_then(time_of) {
            Some(at) => at,
            None => jiff::Timestamp::now(),
        },
        target: ReplyTarget {
            id: id.clone(),
            cid: None,
            root_id: Some(media.to_owned()),
            root_cid: None,
            visibility: Some(MENTION.to_owned()),
            chat: None,
        },
        raw: item.clone(),
        external_id: id,
    }))
}

/// A comment under the account's media `media` (read by a poll, or rebuilt from a webhook in
/// the same shape): the account's own is a native reply, anyone else's an interaction.
pub(super) fn take_comment(
    item: &Value,
    media: &str,
    user: &str,
    permalink: Option<String>,
    found: &mut Vec<Incoming>,
    native: &mut Vec<NativeReply>,
) {
    let Some(id) = text(item, "id") else {
        return;
    };
    let Some(at) = item.get("timestamp").and_then(time_of) else {
        return;
    };
    let parent = text(item, "parent_id").filter(|p| *p != media);
    let username = text(item, "username")
        .or_else(|| item.pointer("/from/username").and_then(Value::as_str))
        .unwrap_or("unknown");
    let author_id = item
        .pointer("/from/id")
        .and_then(Value::as_str)
        .unwrap_or(username);
    if author_id == user {
        native.push(NativeReply {
            external_id: id.to_owned(),
            parent: parent.unwrap_or(media).to_owned(),
            created_at: at,
        });
        return;
    }
    found.push(Incoming {
        kind: if parent.is_some() {
            InteractionKind::Reply
        } else {
            InteractionKind::Comment
        },
        permalink,
        parent: Some(parent.unwrap_or(media).to_owned()),
        root: Some(media.to_owned()),
        author: Author {
            id: author_id.to_owned(),
            handle: format!("@{username}"),
            name: username.to_owned(),
            followers: None,
        },
        text: text(item, "text").unwrap_or_default().to_owned(),
        raw: item.clone(),
        target: ReplyTarget {
            id: id.to_owned(),
            cid: None,
            root_id: parent.map(str::to_owned),
            root_cid: None,
            visibility: None,
            chat: None,
        },
        created_at: at,
        external_id: id.to_owned(),
    });
}
