//! Answering on Mastodon: a status `in_reply_to_id` the interaction, in its visibility (an
//! answer to a direct message stays direct), sent with the reply's `Idempotency-Key`; after a
//! lost answer, the brand's recent statuses are read back for it before any retry.

use async_trait::async_trait;
use serde_json::json;

use super::MastodonConnector;
use super::client::instance_url;
use super::read_back::{comparable, created_at, strip_html};
use crate::domain::inbox::ReplyTarget;
use crate::networks::{Outgoing, PublishContext, PublishError, Published, ReadBack, ReplyTo};

/// The visibility of an answer: the interaction's own, never wider.
fn visibility(target: &ReplyTarget) -> &'static str {
    match target.visibility.as_deref() {
        Some("direct") => "direct",
        Some("private") => "private",
        Some("unlisted") => "unlisted",
        _ => "public",
    }
}

#[async_trait]
impl ReplyTo for MastodonConnector {
    async fn reply(
        &self,
        ctx: &PublishContext<'_>,
        target: &ReplyTarget,
        reply: &Outgoing,
    ) -> Result<Published, PublishError> {
        let base = instance_url(&ctx.account)?;
        let token = ctx.account.credential("access_token")?;
        let mut media_ids = Vec::with_capacity(reply.media.len());
        for asset in &reply.media {
            media_ids.push(self.upload(ctx, &base, token, asset).await?);
        }
        let status = self
            .create_status(
                &base,
                token,
                &reply.key,
                json!({
                    "status": reply.text,
                    "in_reply_to_id": target.id,
                    "visibility": visibility(target),
                    "media_ids": media_ids,
                }),
            )
            .await?;
        Ok(Published::new(status.id, status.url))
    }

    async fn find_reply(
        &self,
        ctx: &PublishContext<'_>,
        target: &ReplyTarget,
        reply: &Outgoing,
    ) -> Result<ReadBack, PublishError> {
        let base = instance_url(&ctx.account)?;
        let token = ctx.account.credential("access_token")?;
        let recent = self
            .own_statuses_since(&base, token, reply.first_attempt_at)
            .await?;
        let wanted = comparable(&reply.text);
        let found = recent
            .iter()
            .filter(|s| {
                s.in_reply_to_id.as_deref() == Some(target.id.as_str())
                    && comparable(&strip_html(&s.content)) == wanted
            })
            .min_by_key(|s| created_at(s));
        Ok(match found {
            Some(s) => ReadBack::Found(Published::new(s.id.clone(), s.url.clone())),
            None => ReadBack::NotFound,
        })
    }
}
