//! What people say to the brand on X (engagement.md, "X"): its mentions timeline
//! (`/2/users/:id/mentions`, from a `since_id` cursor), the replies in the conversations of its
//! recent posts (recent search `conversation_id:<id>`, 7 days), and its own replies (its
//! timeline), which count as native responses. X bills every post read (pay per use since 2026),
//! so nothing is read unless the channel's settings say `"read_inbox": true`. The same mapping
//! serves the webhook deliveries (`push`), so a post is one record however it came.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use super::client::{Session, Step, parse};
use super::{XConnector, endpoint};
use crate::domain::channel::X_READ_INBOX;
use crate::domain::inbox::{
    Author, Incoming, InteractionKind, NativeReply, ReplyTarget, StreamKind,
};
use crate::networks::{Account, InboxRead, PublishError, ReadInbox};

/// The largest page X gives; the first read takes a small one (each post read is billed).
const PAGE: u32 = 100;
const FIRST_PAGE: u32 = 10;
/// At most this many pages a read; a longer backlog is read by the next polls.
const MAX_PAGES: usize = 3;
/// At most this many of the brand's recent posts have their conversations searched a poll, and
/// this many per search query (X's query is at most 512 characters).
const MAX_THREADS: usize = 20;
const THREADS_PER_QUERY: usize = 10;

/// What a read asks for with each post: enough to tell a reply, a quote and a mention apart,
/// and who wrote it.
const FIELDS: [(&str, &str); 3] = [
    (
        "tweet.fields",
        "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,entities",
    ),
    ("expansions", "author_id,referenced_tweets.id"),
    ("user.fields", "username,name,public_metrics"),
];

/// A page of posts as X answers any timeline or search.
#[derive(Deserialize, Default)]
pub(super) struct Page {
    #[serde(default)]
    pub(super) data: Vec<Value>,
    #[serde(default)]
    pub(super) includes: Includes,
    #[serde(default)]
    meta: Meta,
}

#[derive(Deserialize, Default)]
pub(super) struct Includes {
    #[serde(default)]
    pub(super) users: Vec<Value>,
    #[serde(default)]
    pub(super) tweets: Vec<Value>,
}

#[derive(Deserialize, Default)]
struct Meta {
    newest_id: Option<String>,
    next_token: Option<String>,
}

/// The brand's account, as a post is read against it.
pub(super) struct Brand<'a> {
    pub(super) user_id: &'a str,
    /// The network ids of its recent posts.
    pub(super) recent: &'a [String],
}

/// What one post says to the brand.
pub(super) enum Heard {
    Found(Box<Incoming>),
    Native(NativeReply),
}

/// Whether the channel opted in to reading (and paying for) its inbox.
fn reads_inbox(account: &Account<'_>) -> bool {
    account
        .channel
        .settings
        .get(X_READ_INBOX)
        .and_then(Value::as_bool)
        == Some(true)
}

#[async_trait]
impl ReadInbox for XConnector {
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
        if !reads_inbox(account) || stream == StreamKind::Messages {
            return Ok(InboxRead::default());
        }
        if stream == StreamKind::Threads && recent_posts.is_empty() {
            return Ok(InboxRead::default());
        }
        let mut session = Session::open(self, account).await?;
        let user_id = self.user_id(&mut session).await?;
        let brand = Brand {
            user_id: &user_id,
            recent: recent_posts,
        };
        match stream {
            StreamKind::Notifications => {
                let path = endpoint::user_mentions(&user_id);
                self.timeline(&mut session, &path, Vec::new(), cursor, &brand, None)
                    .await
            }
            StreamKind::Threads => self.threads(&mut session, cursor, &brand).await,
            StreamKind::Own => {
                let path = endpoint::user_tweets(&user_id);
                let query = vec![("exclude", "retweets".to_owned())];
                self.timeline(&mut session, &path, query, cursor, &brand, None)
                    .await
            }
            StreamKind::Messages => Ok(InboxRead::default()),
        }
    }
}

impl XConnector {
    /// Reads `path` newer than `cursor` (a post id), page by page; the first read takes one
    /// small page. The cursor becomes the newest post id read.
    async fn timeline(
        &self,
        session: &mut Session<'_>,
        path: &str,
        extra: Vec<(&'static str, String)>,
        cursor: Option<&str>,
        brand: &Brand<'_>,
        kind: Option<InteractionKind>,
    ) -> Result<InboxRead, PublishError> {
        // Search pages with `next_token`, timelines with `pagination_token`.
        let token_name = if path == endpoint::SEARCH_RECENT {
            "next_token"
        } else {
            "pagination_token"
        };
        let mut query: Vec<(&str, String)> = FIELDS
            .iter()
            .map(|(k, v)| (*k, (*v).to_owned()))
            .chain(extra)
            .collect();
        let size = if cursor.is_some() { PAGE } else { FIRST_PAGE };
        query.push(("max_results", size.to_string()));
        if let Some(since) = cursor {
            query.push(("since_id", since.to_owned()));
        }
        let mut read = InboxRead::default();
        let mut newest: Option<String> = cursor.map(str::to_owned);
        for _ in 0..MAX_PAGES {
            let url = self.url(path);
            let response = session
                .send(Step::Read, |http| http.get(&url).query(&query))
                .await?;
            let page: Page = parse(response, Step::Read).await?;
            newest = max_id(newest, page.meta.newest_id.clone());
            for post in &page.data {
                newest = max_id(
                    newest,
                    post.get("id").and_then(Value::as_str).map(str::to_owned),
                );
                match hear(post, &page.includes, brand, kind, post) {
                    Some(Heard::Found(found)) => read.found.push(*found),
                    Some(Heard::Native(native)) => read.native.push(native),
                    None => {}
                }
            }
            match page.meta.next_token {
                Some(next) if cursor.is_some() => {
                    query.retain(|(k, _)| *k != token_name);
                    query.push((token_name, next));
                }
                _ => break,
            }
        }
        read.cursor = newest;
        Ok(read)
    }

    /// The replies in the conversations of the brand's recent posts, a few conversations per
    /// search query.
    async fn threads(
        &self,
        session: &mut Session<'_>,
        cursor: Option<&str>,
        brand: &Brand<'_>,
    ) -> Result<InboxRead, PublishError> {
        let mut read = InboxRead::default();
        let posts: Vec<&String> = brand.recent.iter().take(MAX_THREADS).collect();
        for chunk in posts.chunks(THREADS_PER_QUERY) {
            let search = chunk
                .iter()
                .map(|id| format!("conversation_id:{id}"))
                .collect::<Vec<_>>()
                .join(" OR ");
            let part = self
                .timeline(
                    session,
                    endpoint::SEARCH_RECENT,
                    vec![("query", search)],
                    cursor,
                    brand,
                    Some(InteractionKind::Reply),
                )
                .await?;
            read.found.extend(part.found);
            read.native.extend(part.native);
            read.cursor = max_id(read.cursor, part.cursor);
        }
        Ok(read)
    }
}

/// X ids are snowflakes in strings: longer is newer, then by text.
fn max_id(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if (b.len(), &b) > (a.len(), &a) { b } else { a }),
        (a, b) => a.or(b),
    }
}

fn text<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get(key).and_then(Value::as_str)
}

/// The id of the post `post` references as `kind` (`replied_to`, `quoted`).
fn referenced<'v>(post: &'v Value, kind: &str) -> Option<&'v str> {
    post.get("referenced_tweets")?
        .as_array()?
        .iter()
        .find(|r| text(r, "type") == Some(kind))
        .and_then(|r| text(r, "id"))
}

/// What a post (v2 shape, from a read or an X Activity API delivery) says to the brand: its
/// own reply, or an interaction of `kind` (when the stream says, e.g. a reply found in a
/// conversation), else as the post shows: a reply to the brand, a quote of its post, a mention.
/// `raw` is kept with it (the delivery's own object when it came in another shape).
pub(super) fn hear(
    post: &Value,
    includes: &Includes,
    brand: &Brand<'_>,
    kind: Option<InteractionKind>,
    raw: &Value,
) -> Option<Heard> {
    let id = text(post, "id")?;
    let author_id = text(post, "author_id")?;
    let created_at: Timestamp = text(post, "created_at")?.parse().ok()?;
    let replied_to = referenced(post, "replied_to");
    let quoted = referenced(post, "quoted");
    if author_id == brand.user_id {
        return replied_to.map(|parent| {
            Heard::Native(NativeReply {
                external_id: id.to_owned(),
                parent: parent.to_owned(),
                created_at,
            })
        });
    }
    let brands_post = |id: &str| {
        brand.recent.iter().any(|r| r == id)
            || includes
                .tweets
                .iter()
                .any(|t| text(t, "id") == Some(id) && text(t, "author_id") == Some(brand.user_id))
    };
    let kind = kind.unwrap_or_else(|| {
        if replied_to.is_some_and(|p| {
            text(post, "in_reply_to_user_id") == Some(brand.user_id) || brands_post(p)
        }) {
            InteractionKind::Reply
        } else if quoted.is_some_and(brands_post) {
            InteractionKind::Quote
        } else {
            InteractionKind::Mention
        }
    });
    let parent = match kind {
        InteractionKind::Quote => quoted.or(replied_to),
        _ => replied_to,
    };
    let conversation = text(post, "conversation_id").filter(|c| *c != id);
    let user = includes
        .users
        .iter()
        .find(|u| text(u, "id") == Some(author_id));
    let username = user.and_then(|u| text(u, "username")).unwrap_or(author_id);
    Some(Heard::Found(Box::new(Incoming {
        external_id: id.to_owned(),
        kind,
        permalink: Some(format!("https://x.com/{username}/status/{id}")),
        parent: parent.map(str::to_owned),
        root: conversation.map(str::to_owned),
        author: Author {
            id: author_id.to_owned(),
            handle: format!("@{username}"),
            name: user
                .and_then(|u| text(u, "name"))
                .unwrap_or(username)
                .to_owned(),
            followers: user.and_then(|u| u.pointer("/public_metrics/followers_count")?.as_u64()),
        },
        text: text(post, "text").unwrap_or_default().to_owned(),
        raw: raw.clone(),
        target: ReplyTarget {
            id: id.to_owned(),
            cid: None,
            root_id: None,
            root_cid: None,
            visibility: None,
            chat: text(post, "conversation_id").map(str::to_owned),
        },
        created_at,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_post_is_a_reply_a_quote_a_mention_or_the_brands_own_answer() {
        let recent = vec!["100".to_owned()];
        let brand = Brand {
            user_id: "1",
            recent: &recent,
        };
        let includes = Includes {
            users: vec![json!({"id": "2", "username": "ada", "name": "Ada",
                "public_metrics": {"followers_count": 12}})],
            tweets: Vec::new(),
        };
        let post = |refs: Value, author: &str| {
            json!({"id": "200", "author_id": author, "text": "@acme hi",
                "created_at": "2027-01-15T10:00:00.000Z", "conversation_id": "100",
                "referenced_tweets": refs})
        };
        let kind = |p: &Value| match hear(p, &includes, &brand, None, p) {
            Some(Heard::Found(f)) => Some(f.kind),
            _ => None,
        };
        let reply = post(json!([{"type": "replied_to", "id": "100"}]), "2");
        assert_eq!(kind(&reply), Some(InteractionKind::Reply));
        assert_eq!(
            kind(&post(json!([{"type": "quoted", "id": "100"}]), "2")),
            Some(InteractionKind::Quote)
        );
        assert_eq!(
            kind(&post(json!([{"type": "replied_to", "id": "999"}]), "2")),
            Some(InteractionKind::Mention)
        );
        let Some(Heard::Found(found)) = hear(&reply, &includes, &brand, None, &reply) else {
            panic!()
        };
        assert_eq!(found.author.handle, "@ada");
        assert_eq!(found.author.followers, Some(12));
        assert_eq!(found.root.as_deref(), Some("100"));
        assert_eq!(
            found.permalink.as_deref(),
            Some("https://x.com/ada/status/200")
        );
        let own = post(json!([{"type": "replied_to", "id": "150"}]), "1");
        assert!(matches!(
            hear(&own, &includes, &brand, None, &own),
            Some(Heard::Native(n)) if n.parent == "150"
        ));
        assert_eq!(
            max_id(Some("99".into()), Some("100".into())).as_deref(),
            Some("100")
        );
    }
}
