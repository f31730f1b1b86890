//! What people say to the brand on Bluesky (engagement.md, "Bluesky"): `listNotifications`
//! (reply, mention, quote), read from the newest back to the last one seen; and the brand's own
//! replies from its author feed, which count as native responses. Bluesky notifies replies
//! anywhere under the brand's posts, so no thread needs reading. The session is the one
//! publishing keeps (logins are limited per day).

use async_trait::async_trait;
use jiff::Timestamp;
use reqwest::Method;
use serde_json::Value;

use super::BlueskyConnector;
use super::publish::post_url;
use super::xrpc::{Call, Payload, Step, refusal};
use crate::domain::inbox::{
    Author, Incoming, InteractionKind, NativeReply, ReplyTarget, StreamKind,
};
use crate::networks::{Account, InboxRead, PublishError, ReadInbox};

/// The largest page either call gives.
const PAGE: usize = 100;
/// At most this many pages a read; a longer backlog is read by the next polls.
const MAX_PAGES: usize = 5;

#[async_trait]
impl ReadInbox for BlueskyConnector {
    fn streams(&self) -> &'static [StreamKind] {
        &[StreamKind::Notifications, StreamKind::Own]
    }

    async fn read(
        &self,
        account: &Account<'_>,
        stream: StreamKind,
        cursor: Option<&str>,
        _recent_posts: &[String],
    ) -> Result<InboxRead, PublishError> {
        let seen: Option<Timestamp> = cursor.and_then(|c| c.parse().ok());
        match stream {
            StreamKind::Notifications => self.notifications(account, seen).await,
            StreamKind::Own => self.own(account, seen).await,
            // Not polled on Bluesky (threads: notifications say `reply`; chats: not read).
            StreamKind::Threads | StreamKind::Messages => Ok(InboxRead::default()),
        }
    }
}

impl BlueskyConnector {
    /// Reads pages of `nsid` (newest first) until an item indexed at or before `seen`; the first
    /// read takes one page. Returns the items newer than `seen` and the newest time read.
    async fn newer_than(
        &self,
        account: &Account<'_>,
        nsid: &'static str,
        list: &str,
        mut query: Vec<(&'static str, String)>,
        seen: Option<Timestamp>,
        indexed_at: impl Fn(&Value) -> Option<Timestamp>,
    ) -> Result<(Vec<Value>, Option<Timestamp>), PublishError> {
        let mut items = Vec::new();
        let mut newest = seen;
        query.push(("limit", PAGE.to_string()));
        for _ in 0..MAX_PAGES {
            let call = Call {
                method: Method::GET,
                nsid,
                query: query.clone(),
                payload: Payload::Empty,
                creates: false,
            };
            let (answer, _) = self.call(account, &call).await?;
            if !answer.ok() {
                return Err(refusal(&answer, Step::Read));
            }
            let page: Value = answer.parse()?;
            let mut reached_seen = false;
            for item in page
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let at = indexed_at(item);
                if let (Some(at), Some(seen)) = (at, seen)
                    && at <= seen
                {
                    reached_seen = true;
                    continue;
                }
                newest = newest.max(at);
                items.push(item.clone());
            }
            let next = page.get("cursor").and_then(Value::as_str);
            match next {
                Some(next) if !reached_seen && seen.is_some() => {
                    query.retain(|(k, _)| *k != "cursor");
                    query.push(("cursor", next.to_owned()));
                }
                _ => break,
            }
        }
        Ok((items, newest))
    }

    async fn notifications(
        &self,
        account: &Account<'_>,
        seen: Option<Timestamp>,
    ) -> Result<InboxRead, PublishError> {
        let query = ["reply", "mention", "quote"]
            .map(|r| ("reasons", r.to_owned()))
            .to_vec();
        let (items, newest) = self
            .newer_than(
                account,
                "app.bsky.notification.listNotifications",
                "notifications",
                query,
                seen,
                |n| time_at(n, "/indexedAt"),
            )
            .await?;
        Ok(InboxRead {
            found: items.iter().filter_map(incoming).collect(),
            native: Vec::new(),
            cursor: newest.map(|t| t.to_string()),
        })
    }

    async fn own(
        &self,
        account: &Account<'_>,
        seen: Option<Timestamp>,
    ) -> Result<InboxRead, PublishError> {
        let did = self.session(account).await?.did;
        let query = vec![
            ("actor", did.clone()),
            ("filter", "posts_with_replies".to_owned()),
        ];
        let (items, newest) = self
            .newer_than(
                account,
                "app.bsky.feed.getAuthorFeed",
                "feed",
                query,
                seen,
                |f| time_at(f, "/post/indexedAt"),
            )
            .await?;
        let native = items
            .iter()
            .filter(|f| f.pointer("/post/author/did").and_then(Value::as_str) == Some(&did))
            .filter_map(|f| {
                Some(NativeReply {
                    external_id: f.pointer("/post/uri")?.as_str()?.to_owned(),
                    parent: f
                        .pointer("/post/record/reply/parent/uri")?
                        .as_str()?
                        .to_owned(),
                    created_at: time_at(f, "/post/record/createdAt")?,
                })
            })
            .collect();
        Ok(InboxRead {
            found: Vec::new(),
            native,
            cursor: newest.map(|t| t.to_string()),
        })
    }
}

fn time_at(value: &Value, pointer: &str) -> Option<Timestamp> {
    value.pointer(pointer)?.as_str()?.parse().ok()
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    value.pointer(pointer)?.as_str().map(str::to_owned)
}

/// A reply, mention or quote notification as an interaction.
fn incoming(notification: &Value) -> Option<Incoming> {
    let uri = text(notification, "/uri")?;
    let kind = match notification.get("reason")?.as_str()? {
        "reply" => InteractionKind::Reply,
        "mention" => InteractionKind::Mention,
        "quote" => InteractionKind::Quote,
        _ => return None,
    };
    let did = text(notification, "/author/did")?;
    let handle = text(notification, "/author/handle").unwrap_or_else(|| did.clone());
    let rkey = uri.rsplit('/').next().unwrap_or_default().to_owned();
    Some(Incoming {
        kind,
        permalink: Some(post_url(&did, &rkey)),
        parent: text(notification, "/record/reply/parent/uri"),
        root: text(notification, "/record/reply/root/uri"),
        author: Author {
            id: did.clone(),
            name: text(notification, "/author/displayName")
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| handle.clone()),
            handle: format!("@{handle}"),
            followers: None,
        },
        text: text(notification, "/record/text").unwrap_or_default(),
        created_at: time_at(notification, "/record/createdAt")
            .or_else(|| time_at(notification, "/indexedAt"))?,
        target: ReplyTarget {
            id: uri.clone(),
            cid: text(notification, "/cid"),
            root_id: text(notification, "/record/reply/root/uri"),
            root_cid: text(notification, "/record/reply/root/cid"),
            visibility: None,
            chat: None,
        },
        raw: notification.clone(),
        external_id: uri,
    })
}
