//! What people say to an organization page on LinkedIn (engagement.md, "LinkedIn"): the comments
//! under its recent posts (`GET /rest/socialActions/{post}/comments`) and the replies under those
//! comments (`.../socialActions/{comment}/comments`), newer than the cursor (the newest comment
//! time read, in milliseconds). The page's own comments answering one are native responses.
//! LinkedIn has no API for an organization's direct messages, and a member's comments are read
//! only for pages (`r_member_social` is closed). A comment is known by its own id (the last part
//! of its URN), the same whether read here or fetched after a webhook named it.

use async_trait::async_trait;
use jiff::Timestamp;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::client::{Session, Step, parse};
use super::{LinkedinConnector, endpoint};
use crate::domain::inbox::{
    Author, Incoming, InteractionKind, NativeReply, ReplyTarget, StreamKind,
};
use crate::networks::{Account, InboxRead, PublishError, ReadInbox};

/// Comments per page, and at most this many pages per post a read (the first read takes one).
const PAGE: usize = 50;
const MAX_PAGES: usize = 4;
/// At most this many of the page's recent posts, and this many comment threads, are read a poll.
const MAX_THREADS: usize = 20;
const MAX_NESTED: usize = 20;

#[derive(Deserialize, Default)]
pub(super) struct Comments {
    #[serde(default)]
    pub(super) elements: Vec<Value>,
}

/// What one comment says to the page.
pub(super) enum Heard {
    Found(Box<Incoming>),
    Native(NativeReply),
}

/// The organization a channel acts as, or `None` for a member's channel (no inbox).
pub(super) fn organization<'a>(account: &'a Account<'_>) -> Result<Option<&'a str>, PublishError> {
    let author = account.setting("author")?;
    Ok(author.starts_with("urn:li:organization:").then_some(author))
}

#[async_trait]
impl ReadInbox for LinkedinConnector {
    fn streams(&self) -> &'static [StreamKind] {
        &[StreamKind::Threads]
    }

    async fn read(
        &self,
        account: &Account<'_>,
        stream: StreamKind,
        cursor: Option<&str>,
        recent_posts: &[String],
    ) -> Result<InboxRead, PublishError> {
        let Some(org) = organization(account)? else {
            return Ok(InboxRead::default());
        };
        if stream != StreamKind::Threads || recent_posts.is_empty() {
            return Ok(InboxRead::default());
        }
        let since = cursor.map(Cursor::parse);
        let mut session = Session::open(self, account).await?;
        let mut read = InboxRead::default();
        let mut newest = since.clone().unwrap_or_default();
        let mut nested = 0;
        for post in recent_posts.iter().take(MAX_THREADS) {
            let Some(comments) = self
                .comments_on(&mut session, post, cursor.is_none())
                .await?
            else {
                // A deleted post has no comments any more; the others are still read.
                continue;
            };
            for comment in &comments {
                let replies = comment
                    .pointer("/commentsSummary/totalFirstLevelComments")
                    .or_else(|| comment.pointer("/commentsSummary/aggregatedTotalComments"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                let mut thread = vec![comment.clone()];
                if replies > 0
                    && nested < MAX_NESTED
                    && let Some(urn) = comment_urn(comment)
                {
                    nested += 1;
                    if let Some(under) = self.comments_on(&mut session, &urn, false).await? {
                        thread.extend(under);
                    }
                }
                for item in &thread {
                    let (Some(at), Some(id)) = (created_ms(item), item_id(item)) else {
                        continue;
                    };
                    if since
                        .as_ref()
                        .is_some_and(|since| !since.is_before(at, &id))
                    {
                        continue;
                    }
                    newest.saw(at, id);
                    match hear(item, org, Some(post)) {
                        Some(Heard::Found(found)) => read.found.push(*found),
                        Some(Heard::Native(native)) => read.native.push(native),
                        None => {}
                    }
                }
            }
        }
        read.cursor = newest.to_text();
        Ok(read)
    }

    /// Comments a social action notification named (`push`), read one by one.
    async fn fetch(
        &self,
        account: &Account<'_>,
        ids: &[String],
    ) -> Result<InboxRead, PublishError> {
        let Some(org) = organization(account)? else {
            return Ok(InboxRead::default());
        };
        let mut session = Session::open(self, account).await?;
        let mut read = InboxRead::default();
        for urn in ids {
            let Some((entity, id)) = split_comment_urn(urn) else {
                continue;
            };
            let url = self.url(&endpoint::comment(entity, id));
            let Some(response) = session
                .send_allowing(Step::Inbox, &[StatusCode::NOT_FOUND], |http| http.get(&url))
                .await?
            else {
                // Deleted since the notification.
                continue;
            };
            let comment: Value = parse(response, Step::Inbox).await?;
            match hear(&comment, org, None) {
                Some(Heard::Found(found)) => read.found.push(*found),
                Some(Heard::Native(native)) => read.native.push(native),
                None => {}
            }
        }
        Ok(read)
    }
}

impl LinkedinConnector {
    /// The comments on `entity` (a post, or a comment for the replies under it), page by page;
    /// `None` when LinkedIn no longer has the entity.
    pub(super) async fn comments_on(
        &self,
        session: &mut Session<'_>,
        entity: &str,
        one_page: bool,
    ) -> Result<Option<Vec<Value>>, PublishError> {
        let url = self.url(&endpoint::comments(entity));
        let count = PAGE.to_string();
        let mut all = Vec::new();
        for page in 0..MAX_PAGES {
            let start = (page * PAGE).to_string();
            let Some(response) = session
                .send_allowing(Step::Inbox, &[StatusCode::NOT_FOUND], |http| {
                    http.get(&url)
                        .query(&[("start", start.as_str()), ("count", count.as_str())])
                })
                .await?
            else {
                return Ok(None);
            };
            let comments: Comments = parse(response, Step::Inbox).await?;
            let full = comments.elements.len() >= PAGE;
            all.extend(comments.elements);
            if !full || one_page {
                break;
            }
        }
        Ok(Some(all))
    }
}

/// Where a read of the comments stops: the newest comment time read (milliseconds) and the ids
/// of the comments made in that very millisecond, so that one made in the same millisecond
/// later is still read, and none is read twice: `{ms}` or `{ms}:{id},{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Cursor {
    ms: Option<i64>,
    ids: Vec<String>,
}

impl Cursor {
    fn parse(raw: &str) -> Self {
        let (ms, ids) = raw.split_once(':').unwrap_or((raw, ""));
        Self {
            ms: ms.parse().ok(),
            ids: ids
                .split(',')
                .filter(|i| !i.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Whether a comment made at `at` with `id` comes after this cursor.
    fn is_before(&self, at: i64, id: &str) -> bool {
        match self.ms {
            None => true,
            Some(ms) => at > ms || (at == ms && !self.ids.iter().any(|i| i == id)),
        }
    }

    fn saw(&mut self, at: i64, id: String) {
        match self.ms {
            Some(ms) if at < ms => {}
            Some(ms) if at == ms => {
                if !self.ids.contains(&id) {
                    self.ids.push(id);
                }
            }
            _ => {
                self.ms = Some(at);
                self.ids = vec![id];
            }
        }
    }

    fn to_text(&self) -> Option<String> {
        let ms = self.ms?;
        Some(if self.ids.is_empty() {
            ms.to_string()
        } else {
            format!("{ms}:{}", self.ids.join(","))
        })
    }
}

/// A comment's own id, from its `id` or its URN.
fn item_id(comment: &Value) -> Option<String> {
    text_at(comment, "/id")
        .map(str::to_owned)
        .or_else(|| comment_urn(comment).map(|urn| comment_id(&urn)))
}

fn text_at<'v>(value: &'v Value, pointer: &str) -> Option<&'v str> {
    value.pointer(pointer).and_then(Value::as_str)
}

fn created_ms(comment: &Value) -> Option<i64> {
    comment.pointer("/created/time").and_then(Value::as_i64)
}

/// A comment's URN as LinkedIn gives it (`commentUrn`, or `$URN`).
pub(super) fn comment_urn(comment: &Value) -> Option<String> {
    text_at(comment, "/commentUrn")
        .or_else(|| text_at(comment, "/$URN"))
        .map(str::to_owned)
}

/// `urn:li:comment:(ENTITY,ID)` as its entity and its id.
pub(super) fn split_comment_urn(urn: &str) -> Option<(&str, &str)> {
    let inner = urn.strip_prefix("urn:li:comment:(")?.strip_suffix(')')?;
    let (entity, id) = inner.rsplit_once(',')?;
    Some((entity, id))
}

/// A comment's own id: the last part of its URN, whichever entity the URN names.
pub(super) fn comment_id(urn: &str) -> String {
    split_comment_urn(urn).map_or_else(|| urn.to_owned(), |(_, id)| id.to_owned())
}

/// A link to a comment under `post`.
pub(super) fn comment_link(post: &str, urn: &str) -> String {
    format!(
        "https://www.linkedin.com/feed/update/{post}/?commentUrn={}",
        urlencoding::encode(urn)
    )
}

/// What a comment says to the page `org`: someone's comment or reply, or the page's own answer.
/// `post` is the brand's post it was read under, when read under one.
pub(super) fn hear(comment: &Value, org: &str, post: Option<&str>) -> Option<Heard> {
    let urn = comment_urn(comment)?;
    let id = text_at(comment, "/id")
        .map(str::to_owned)
        .unwrap_or_else(|| comment_id(&urn));
    let actor = text_at(comment, "/actor")?;
    let created_at = Timestamp::from_millisecond(created_ms(comment)?).ok()?;
    let parent_comment = text_at(comment, "/parentComment");
    if actor == org {
        return parent_comment.map(|parent| {
            Heard::Native(NativeReply {
                external_id: id,
                parent: comment_id(parent),
                created_at,
            })
        });
    }
    let post = post
        .map(str::to_owned)
        .or_else(|| text_at(comment, "/object").map(str::to_owned))?;
    let (kind, parent) = match parent_comment {
        Some(parent) => (InteractionKind::Reply, comment_id(parent)),
        None => (InteractionKind::Comment, post.clone()),
    };
    let who = if actor.starts_with("urn:li:organization:") {
        "a LinkedIn page"
    } else {
        "a LinkedIn member"
    };
    Some(Heard::Found(Box::new(Incoming {
        external_id: id,
        kind,
        permalink: Some(comment_link(&post, &urn)),
        parent: Some(parent),
        root: Some(post.clone()),
        // The comments API names people by URN only; their names need permissions the page
        // does not have.
        author: Author {
            id: actor.to_owned(),
            handle: actor.to_owned(),
            name: who.to_owned(),
            followers: None,
        },
        text: text_at(comment, "/message/text")
            .unwrap_or_default()
            .to_owned(),
        raw: comment.clone(),
        target: ReplyTarget {
            chat: Some(parent_comment.unwrap_or(&urn).to_owned()),
            id: urn,
            cid: None,
            root_id: Some(post),
            root_cid: None,
            visibility: None,
        },
        created_at,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn comments_replies_and_the_pages_own_answers() {
        let org = "urn:li:organization:1";
        let comment = json!({
            "id": "7", "commentUrn": "urn:li:comment:(urn:li:activity:5,7)",
            "actor": "urn:li:person:abc", "object": "urn:li:activity:5",
            "created": {"time": 1_800_000_000_000_i64}, "message": {"text": "Nice"}
        });
        let Some(Heard::Found(found)) = hear(&comment, org, Some("urn:li:share:5")) else {
            panic!()
        };
        assert_eq!(found.kind, InteractionKind::Comment);
        assert_eq!(found.external_id, "7");
        assert_eq!(found.root.as_deref(), Some("urn:li:share:5"));
        assert_eq!(
            found.target.chat.as_deref(),
            Some("urn:li:comment:(urn:li:activity:5,7)")
        );
        let mut reply = comment.clone();
        reply["id"] = json!("8");
        reply["commentUrn"] = json!("urn:li:comment:(urn:li:activity:5,8)");
        reply["parentComment"] = json!("urn:li:comment:(urn:li:activity:5,7)");
        let Some(Heard::Found(found)) = hear(&reply, org, None) else {
            panic!()
        };
        assert_eq!(found.kind, InteractionKind::Reply);
        assert_eq!(found.parent.as_deref(), Some("7"));
        reply["actor"] = json!(org);
        assert!(matches!(hear(&reply, org, None), Some(Heard::Native(n)) if n.parent == "7"));
        assert_eq!(
            split_comment_urn("urn:li:comment:(urn:li:activity:5,8)"),
            Some(("urn:li:activity:5", "8"))
        );
    }

    #[test]
    fn the_cursor_keeps_comments_of_the_same_millisecond_apart() {
        let mut cursor = Cursor::default();
        cursor.saw(10, "a".into());
        cursor.saw(10, "b".into());
        cursor.saw(9, "c".into());
        let text = cursor.to_text().unwrap();
        assert_eq!(text, "10:a,b");
        let read = Cursor::parse(&text);
        assert!(!read.is_before(10, "a") && !read.is_before(9, "z"));
        assert!(read.is_before(10, "d") && read.is_before(11, "a"));
    }
}
