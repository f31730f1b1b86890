//! What people say to the brand on Mastodon (engagement.md, "Mastodon"): mention notifications
//! (replies that keep the brand's @mention, mentions, direct statuses) read with `min_id`; the
//! threads under the brand's recent statuses (`/statuses/:id/context`), where a reply that
//! dropped the @mention is found; and the brand's own replies (its statuses with
//! `in_reply_to_id`), which count as native responses.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use super::MastodonConnector;
use super::client::instance_url;
use super::read_back::strip_html;
use crate::domain::Secret;
use crate::domain::inbox::{
    Author, Incoming, InteractionKind, NativeReply, ReplyTarget, StreamKind,
};
use crate::networks::{Account, InboxRead, PublishError, ReadInbox};

/// Mastodon's largest page of notifications and of account statuses.
const PAGE: usize = 40;
/// At most this many pages a read (a burst beyond it is read by the next poll, from the cursor).
const MAX_PAGES: usize = 5;
/// At most this many of the brand's recent statuses have their threads read a poll.
const MAX_THREADS: usize = 20;

#[derive(Deserialize)]
struct Notification {
    id: String,
    #[serde(default)]
    status: Option<Value>,
}

#[derive(Deserialize)]
struct Context {
    #[serde(default)]
    descendants: Vec<Value>,
}

#[async_trait]
impl ReadInbox for MastodonConnector {
    fn streams(&self) -> &'static [StreamKind] {
        &[
            StreamKind::Notifications,
            StreamKind::Threads,
            StreamKind::Own,
        ]
    }

    async fn read(
        &self,
        account: &Account<'_>,
        stream: StreamKind,
        cursor: Option<&str>,
        recent_posts: &[String],
    ) -> Result<InboxRead, PublishError> {
        let base = instance_url(account)?;
        let token = account.credential("access_token")?;
        match stream {
            StreamKind::Notifications => self.notifications(&base, token, cursor).await,
            StreamKind::Threads => self.threads(&base, token, recent_posts).await,
            StreamKind::Own => self.own(&base, token, cursor).await,
            // Direct statuses arrive as mention notifications.
            StreamKind::Messages => Ok(InboxRead::default()),
        }
    }
}

impl MastodonConnector {
    /// Mention notifications newer than `cursor` (the last notification id read). Mastodon
    /// answers newest first; `min_id` gives the page just after the cursor, so pages are read
    /// forward until one is not full.
    async fn notifications(
        &self,
        base: &str,
        token: &Secret,
        cursor: Option<&str>,
    ) -> Result<InboxRead, PublishError> {
        let host = host_of(base);
        let mut read = InboxRead::default();
        let mut after = cursor.map(str::to_owned);
        for _ in 0..MAX_PAGES {
            let mut query = vec![
                ("types[]", "mention".to_owned()),
                ("limit", PAGE.to_string()),
            ];
            if let Some(id) = &after {
                query.push(("min_id", id.clone()));
            }
            let request = self
                .http
                .get(format!("{base}/api/v1/notifications"))
                .query(&query);
            let page: Vec<Notification> = self.read(token, request).await?;
            let full = page.len() >= PAGE;
            let newest = page.iter().map(|n| n.id.clone()).max_by(|a, b| by_id(a, b));
            for status in page.iter().filter_map(|n| n.status.as_ref()) {
                if let Some(found) = incoming(status, &host, None) {
                    read.found.push(found);
                }
            }
            if let Some(newest) = newest {
                after = Some(newest);
            }
            // The first read takes the latest page only: the inbox starts now, not in the past.
            if !full || cursor.is_none() {
                break;
            }
        }
        read.cursor = after;
        Ok(read)
    }

    /// The replies under the brand's recent statuses, at every depth; the brand's own among
    /// them are native responses.
    async fn threads(
        &self,
        base: &str,
        token: &Secret,
        recent_posts: &[String],
    ) -> Result<InboxRead, PublishError> {
        let host = host_of(base);
        let me = self.me(base, token).await?;
        let mut read = InboxRead::default();
        for post in recent_posts.iter().take(MAX_THREADS) {
            let request = self.http.get(format!(
                "{base}/api/v1/statuses/{}/context",
                urlencoding::encode(post)
            ));
            let context: Context = match self.read(token, request).await {
                Ok(context) => context,
                // A deleted post has no thread any more; the others are still read.
                Err(PublishError::Misconfigured(_)) => continue,
                Err(e) => return Err(e),
            };
            for status in &context.descendants {
                if author_id(status) == Some(me.id.as_str()) {
                    read.native.extend(native(status));
                } else if let Some(found) = incoming(status, &host, Some(post)) {
                    read.found.push(found);
                }
            }
        }
        Ok(read)
    }

    /// The brand's own statuses newer than `cursor` that answer someone.
    async fn own(
        &self,
        base: &str,
        token: &Secret,
        cursor: Option<&str>,
    ) -> Result<InboxRead, PublishError> {
        let me = self.me(base, token).await?;
        let mut read = InboxRead::default();
        let mut after = cursor.map(str::to_owned);
        for _ in 0..MAX_PAGES {
            let mut query = vec![
                ("limit", PAGE.to_string()),
                ("exclude_reblogs", "true".to_owned()),
            ];
            if let Some(id) = &after {
                query.push(("min_id", id.clone()));
            }
            let request = self.http.get(format!(
                "{base}/api/v1/accounts/{}/statuses",
                urlencoding::encode(&me.id)
            ));
            let page: Vec<Value> = self.read(token, request.query(&query)).await?;
            let full = page.len() >= PAGE;
            let newest = page
                .iter()
                .filter_map(|s| s.get("id").and_then(Value::as_str))
                .map(str::to_owned)
                .max_by(|a, b| by_id(a, b));
            read.native.extend(page.iter().filter_map(native));
            if let Some(newest) = newest {
                after = Some(newest);
            }
            if !full || cursor.is_none() {
                break;
            }
        }
        read.cursor = after;
        Ok(read)
    }
}

/// Mastodon ids are numbers in strings (snowflakes): longer is newer, then by text.
fn by_id(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn host_of(base: &str) -> String {
    url::Url::parse(base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

fn text_at<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get(key).and_then(Value::as_str)
}

fn author_id(status: &Value) -> Option<&str> {
    status.pointer("/account/id").and_then(Value::as_str)
}

fn created_at(status: &Value) -> Option<Timestamp> {
    text_at(status, "created_at").and_then(|t| t.parse().ok())
}

/// A status of someone else as an interaction; `root` is the brand's post whose thread it was
/// found in, when it was.
fn incoming(status: &Value, host: &str, root: Option<&str>) -> Option<Incoming> {
    let id = text_at(status, "id")?.to_owned();
    let account = status.get("account")?;
    let acct = text_at(account, "acct")?;
    let handle = if acct.contains('@') {
        format!("@{acct}")
    } else {
        format!("@{acct}@{host}")
    };
    let visibility = text_at(status, "visibility").map(str::to_owned);
    let parent = text_at(status, "in_reply_to_id").map(str::to_owned);
    let kind = if visibility.as_deref() == Some("direct") {
        InteractionKind::DirectMessage
    } else if parent.is_some() {
        InteractionKind::Reply
    } else {
        InteractionKind::Mention
    };
    Some(Incoming {
        kind,
        permalink: text_at(status, "url").map(str::to_owned),
        root: root.map(str::to_owned),
        author: Author {
            id: text_at(account, "id").unwrap_or_default().to_owned(),
            handle,
            name: text_at(account, "display_name")
                .filter(|n| !n.is_empty())
                .unwrap_or(acct)
                .to_owned(),
            followers: account.get("followers_count").and_then(Value::as_u64),
        },
        text: strip_html(text_at(status, "content").unwrap_or_default())
            .trim()
            .to_owned(),
        created_at: created_at(status)?,
        target: ReplyTarget {
            id: id.clone(),
            cid: None,
            root_id: None,
            root_cid: None,
            visibility,
            chat: None,
        },
        raw: status.clone(),
        parent,
        external_id: id,
    })
}

/// One of the brand's own statuses that answers something.
fn native(status: &Value) -> Option<NativeReply> {
    Some(NativeReply {
        external_id: text_at(status, "id")?.to_owned(),
        parent: text_at(status, "in_reply_to_id")?.to_owned(),
        created_at: created_at(status)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_status_becomes_an_interaction_of_its_kind() {
        let status = json!({
            "id": "110", "url": "https://example.social/@ada/110",
            "created_at": "2027-01-15T10:00:00.000Z", "visibility": "direct",
            "in_reply_to_id": null, "content": "<p>Hi <b>there</b></p>",
            "account": {"id": "7", "acct": "ada", "display_name": "", "followers_count": 12}
        });
        let found = incoming(&status, "example.social", None).unwrap();
        assert_eq!(found.kind, InteractionKind::DirectMessage);
        assert_eq!(found.author.handle, "@ada@example.social");
        assert_eq!(found.author.name, "ada");
        assert_eq!(found.author.followers, Some(12));
        assert_eq!(found.text, "Hi there");
        assert_eq!(found.target.visibility.as_deref(), Some("direct"));
        assert!(by_id("100", "99").is_gt(), "snowflakes compare as numbers");
    }
}
