//! Answering on X: a post with `reply.in_reply_to_tweet_id`. X has no idempotency key, so after
//! a lost answer the brand's recent posts are read back for one answering the same post with the
//! same text. X's reply rule (since 2026-02-23, a self-serve app answers only posts that mention
//! or quote the brand) is checked by the domain before sending; X's own refusal is a plain
//! failure (`client`, `Step::Reply`).

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

use super::client::{Created, Data, Session, Step, parse};
use super::publish::{same_text, tweet_url};
use super::{XConnector, endpoint};
use crate::domain::inbox::ReplyTarget;
use crate::networks::{Outgoing, PublishContext, PublishError, Published, ReadBack, ReplyTo};

/// How far before the first attempt the read-back looks, for clock skew between us and X.
const READ_BACK_SLACK: SignedDuration = SignedDuration::from_secs(60);
const READ_BACK_PAGE: u32 = 20;
const READ_BACK_PAGES: usize = 5;

#[derive(Deserialize)]
struct Timeline {
    #[serde(default)]
    data: Vec<Value>,
    #[serde(default)]
    meta: Meta,
}

#[derive(Deserialize, Default)]
struct Meta {
    next_token: Option<String>,
}

#[async_trait]
impl ReplyTo for XConnector {
    async fn reply(
        &self,
        ctx: &PublishContext<'_>,
        target: &ReplyTarget,
        reply: &Outgoing,
    ) -> Result<Published, PublishError> {
        let mut session = Session::open(self, &ctx.account).await?;
        let mut media_ids = Vec::with_capacity(reply.media.len());
        for (i, asset) in reply.media.iter().enumerate() {
            media_ids.push(self.upload(&mut session, ctx.media, asset, i + 1).await?);
        }
        let mut body = json!({
            "text": reply.text,
            "reply": {"in_reply_to_tweet_id": target.id},
        });
        if !media_ids.is_empty() {
            body["media"] = json!({ "media_ids": media_ids });
        }
        let response = session
            .send(Step::Reply, |http| {
                http.post(self.url(endpoint::TWEETS)).json(&body)
            })
            .await?;
        let id = parse::<Data<Created>>(response, Step::Reply).await?.data.id;
        let mut published = Published::new(id.clone(), Some(tweet_url(&id)));
        published.notes.append(&mut session.notes);
        Ok(published)
    }

    async fn find_reply(
        &self,
        ctx: &PublishContext<'_>,
        target: &ReplyTarget,
        reply: &Outgoing,
    ) -> Result<ReadBack, PublishError> {
        let mut session = Session::open(self, &ctx.account).await?;
        let user_id = self.user_id(&mut session).await?;
        let since = reply
            .first_attempt_at
            .checked_sub(READ_BACK_SLACK)
            .unwrap_or(reply.first_attempt_at);
        // X wants whole seconds in start_time.
        let start_time = Timestamp::from_second(since.as_second())
            .unwrap_or(since)
            .to_string();
        let max_results = READ_BACK_PAGE.to_string();
        let mut page_token: Option<String> = None;
        for _ in 0..READ_BACK_PAGES {
            let response = session
                .send(Step::Read, |http| {
                    let mut query = vec![
                        ("max_results", max_results.as_str()),
                        ("start_time", start_time.as_str()),
                        ("tweet.fields", "referenced_tweets,created_at"),
                    ];
                    if let Some(token) = &page_token {
                        query.push(("pagination_token", token.as_str()));
                    }
                    http.get(self.url(&endpoint::user_tweets(&user_id)))
                        .query(&query)
                })
                .await?;
            let timeline = parse::<Timeline>(response, Step::Read).await?;
            let found = timeline.data.iter().find(|post| {
                answers(post, &target.id)
                    && same_text(
                        post.get("text").and_then(Value::as_str).unwrap_or_default(),
                        &reply.text,
                    )
            });
            if let Some(id) = found.and_then(|p| p.get("id")).and_then(Value::as_str) {
                return Ok(ReadBack::Found(Published::new(id, Some(tweet_url(id)))));
            }
            match timeline.meta.next_token {
                Some(token) => page_token = Some(token),
                None => return Ok(ReadBack::NotFound),
            }
        }
        Ok(ReadBack::CannotTell(format!(
            "the account posted more than {} times on X since {start_time}; check by hand whether the reply was made",
            READ_BACK_PAGE as usize * READ_BACK_PAGES
        )))
    }
}

/// Whether `post` answers the post `parent`.
fn answers(post: &Value, parent: &str) -> bool {
    post.get("referenced_tweets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|r| {
            r.get("type").and_then(Value::as_str) == Some("replied_to")
                && r.get("id").and_then(Value::as_str) == Some(parent)
        })
}
