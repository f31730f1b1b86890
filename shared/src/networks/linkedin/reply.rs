//! Answering on LinkedIn as the organization page: a comment with `parentComment` under the
//! comment thread the interaction is in (LinkedIn nests comments one level deep), posted to
//! `/rest/socialActions/{thread}/comments`. LinkedIn has no idempotency key: after a lost answer
//! the thread is read back for the page's comment with the same text.

use async_trait::async_trait;
use jiff::SignedDuration;
use serde_json::{Value, json};

use super::LinkedinConnector;
use super::client::{Session, Step, parse};
use super::endpoint;
use super::inbox::{comment_link, comment_urn, organization};
use crate::domain::inbox::ReplyTarget;
use crate::networks::{
    Account, Outgoing, PublishContext, PublishError, Published, ReadBack, ReplyTo,
};

/// How far before the first attempt the read-back looks, for clock skew.
const READ_BACK_SLACK: SignedDuration = SignedDuration::from_secs(60);

/// The page, the comment thread an answer goes under, and the post it is on.
fn answer_place<'t>(
    account: &'t Account<'_>,
    target: &'t ReplyTarget,
) -> Result<(&'t str, &'t str, &'t str), PublishError> {
    let org = organization(account)?.ok_or_else(|| {
        PublishError::Misconfigured(
            "Palinsesto answers LinkedIn comments as an organization page; this channel posts as a member"
                .into(),
        )
    })?;
    let thread = target.chat.as_deref().unwrap_or(&target.id);
    let post = target.root_id.as_deref().ok_or_else(|| {
        PublishError::InvalidContent("the LinkedIn comment to answer does not name its post".into())
    })?;
    Ok((org, thread, post))
}

#[async_trait]
impl ReplyTo for LinkedinConnector {
    async fn reply(
        &self,
        ctx: &PublishContext<'_>,
        target: &ReplyTarget,
        reply: &Outgoing,
    ) -> Result<Published, PublishError> {
        if !reply.media.is_empty() {
            return Err(PublishError::InvalidMedia(
                "answers on LinkedIn are sent as text only here: remove the media".into(),
            ));
        }
        let (org, thread, post) = answer_place(&ctx.account, target)?;
        let mut session = Session::open(self, &ctx.account).await?;
        // Comments carry plain text with attributes, not little text, so they are not escaped.
        let body = json!({
            "actor": org,
            "object": post,
            "parentComment": thread,
            "message": {"text": reply.text},
        });
        let url = self.url(&endpoint::comments(thread));
        let response = session
            .send(Step::Reply, |http| http.post(&url).json(&body))
            .await?;
        let header = response
            .headers()
            .get("x-restli-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // The new comment's URN: in the header, or in the body LinkedIn returns.
        let urn = match header.filter(|h| h.starts_with("urn:li:comment:")) {
            Some(urn) => Some(urn),
            None => parse::<Value>(response, Step::Reply)
                .await
                .ok()
                .and_then(|body| comment_urn(&body)),
        };
        let urn = urn.ok_or_else(|| {
            PublishError::UnknownOutcome(
                "LinkedIn accepted the reply but did not say its id; it will be checked before any retry"
                    .into(),
            )
        })?;
        let mut published = Published::new(urn.clone(), Some(comment_link(post, &urn)));
        published.notes.append(&mut session.notes);
        Ok(published)
    }

    async fn find_reply(
        &self,
        ctx: &PublishContext<'_>,
        target: &ReplyTarget,
        reply: &Outgoing,
    ) -> Result<ReadBack, PublishError> {
        let (org, thread, post) = answer_place(&ctx.account, target)?;
        let mut session = Session::open(self, &ctx.account).await?;
        let since = reply
            .first_attempt_at
            .checked_sub(READ_BACK_SLACK)
            .unwrap_or(reply.first_attempt_at)
            .as_millisecond();
        let Some(comments) = self.comments_on(&mut session, thread, false).await? else {
            return Ok(ReadBack::NotFound);
        };
        let wanted = reply.text.trim();
        let found = comments.iter().find(|c| {
            c.pointer("/actor").and_then(Value::as_str) == Some(org)
                && c.pointer("/created/time")
                    .and_then(Value::as_i64)
                    .is_none_or(|at| at >= since)
                && c.pointer("/message/text")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.trim() == wanted)
        });
        Ok(match found.and_then(comment_urn) {
            Some(urn) => {
                ReadBack::Found(Published::new(urn.clone(), Some(comment_link(post, &urn))))
            }
            None => ReadBack::NotFound,
        })
    }
}
