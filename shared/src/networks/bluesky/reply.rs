//! Answering on Bluesky: a post record with `reply.root` and `reply.parent` strong references
//! (uri + cid) under a record key derived from the reply's own key, so every attempt writes the
//! same record and a lost answer is settled by reading that key back.

use std::collections::HashMap;

use async_trait::async_trait;

use super::BlueskyConnector;
use super::publish::{check_media, post_url};
use super::record_key::record_key;
use crate::domain::inbox::ReplyTarget;
use crate::networks::{Outgoing, PublishContext, PublishError, Published, ReadBack, ReplyTo};

#[async_trait]
impl ReplyTo for BlueskyConnector {
    async fn reply(
        &self,
        ctx: &PublishContext<'_>,
        target: &ReplyTarget,
        reply: &Outgoing,
    ) -> Result<Published, PublishError> {
        check_media(&reply.media)?;
        let parent_cid = target.cid.as_deref().ok_or_else(|| {
            PublishError::Misconfigured(
                "the post to answer has no content hash (cid): Bluesky needs it to thread the reply"
                    .into(),
            )
        })?;
        let account = &ctx.account;
        let session = self.session(account).await?;
        let mut notes = Vec::new();
        let mut record = self
            .record(account, &reply.text, &mut HashMap::new(), &mut notes)
            .await;
        if let Some(embed) = self.embed(ctx, &reply.media).await? {
            record["embed"] = embed;
        }
        // The root of the thread: the interaction's own root, or the interaction itself.
        let (root_uri, root_cid) = match (&target.root_id, &target.root_cid) {
            (Some(uri), Some(cid)) => (uri.as_str(), cid.as_str()),
            _ => (target.id.as_str(), parent_cid),
        };
        record["reply"] = serde_json::json!({
            "root": {"uri": root_uri, "cid": root_cid},
            "parent": {"uri": target.id, "cid": parent_cid},
        });
        let rkey = record_key(&reply.key, 0);
        let made = self.create_post(account, &rkey, record).await?;
        Ok(Published {
            remote_id: made.uri,
            url: Some(post_url(&session.did, &rkey)),
            notes,
        })
    }

    async fn find_reply(
        &self,
        ctx: &PublishContext<'_>,
        _target: &ReplyTarget,
        reply: &Outgoing,
    ) -> Result<ReadBack, PublishError> {
        let session = self.session(&ctx.account).await?;
        let rkey = record_key(&reply.key, 0);
        Ok(match self.read_post(&session, &rkey).await? {
            Some(found) => ReadBack::Found(Published::new(
                found.uri,
                Some(post_url(&session.did, &rkey)),
            )),
            None => ReadBack::NotFound,
        })
    }
}
