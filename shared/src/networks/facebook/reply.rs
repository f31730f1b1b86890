//! Answering on a Facebook Page: a comment as the page under the comment or post
//! (`POST /{object-id}/comments`), a Messenger message with the Send API (`POST
//! /{page-id}/messages`, `messaging_type=RESPONSE`), and private replies to a comment's author
//! (`recipient: {comment_id}`). Meta has no idempotency key: after a lost answer the page's
//! comments under the item (or its messages to the person) are read back for the reply's text.

use async_trait::async_trait;
use serde_json::Value;

use super::{FacebookConnector, NETWORK};
use crate::domain::inbox::ReplyTarget;
use crate::networks::meta_graph::answers::{self, Recognise};
use crate::networks::meta_graph::{self, Call};
use crate::networks::{Outgoing, PublishContext, PublishError, Published, ReadBack, ReplyTo};

#[async_trait]
impl ReplyTo for FacebookConnector {
    async fn reply(
        &self,
        ctx: &PublishContext<'_>,
        target: &ReplyTarget,
        reply: &Outgoing,
    ) -> Result<Published, PublishError> {
        answers::text_only(NETWORK, reply)?;
        let page_id = ctx.account.setting("page_id")?;
        let token = ctx.account.credential("access_token")?;
        if let Some(person) = &target.chat {
            return self
                .messaging(page_id, token)
                .send(person, &reply.text)
                .await;
        }
        let answer = self
            .graph
            .post(
                Call::POST,
                &[&target.id, "comments"],
                token,
                &[("message", reply.text.clone())],
            )
            .await?;
        let id = meta_graph::id_of(NETWORK, Call::POST, &answer, "id")?;
        Ok(Published::new(id, None))
    }

    async fn find_reply(
        &self,
        ctx: &PublishContext<'_>,
        target: &ReplyTarget,
        reply: &Outgoing,
    ) -> Result<ReadBack, PublishError> {
        let page_id = ctx.account.setting("page_id")?;
        let token = ctx.account.credential("access_token")?;
        if let Some(person) = &target.chat {
            return self
                .messaging(page_id, token)
                .find_sent(person, reply)
                .await;
        }
        let is_page =
            |item: &Value| item.pointer("/from/id").and_then(Value::as_str) == Some(page_id);
        let how = Recognise {
            text_field: "message",
            time_field: "created_time",
            permalink_field: Some("permalink_url"),
            is_ours: &is_page,
        };
        // An answer to a reply may be filed in the thread of the comment it is under.
        for node in std::iter::once(&target.id).chain(target.root_id.as_ref()) {
            let query = [
                ("filter", "stream".to_owned()),
                ("order", "reverse_chronological".to_owned()),
                ("fields", super::inbox::COMMENT_FIELDS.to_owned()),
                (
                    "since",
                    (reply.first_attempt_at.as_second() - 60).to_string(),
                ),
                ("limit", "100".to_owned()),
            ];
            let page = self.graph.get(&[node, "comments"], token, &query).await?;
            if let found @ ReadBack::Found(_) =
                answers::earliest(&answers::data(&page), reply, &how)
            {
                return Ok(found);
            }
        }
        Ok(ReadBack::NotFound)
    }

    async fn reply_privately(
        &self,
        ctx: &PublishContext<'_>,
        target: &ReplyTarget,
        reply: &Outgoing,
    ) -> Result<Published, PublishError> {
        answers::text_only(NETWORK, reply)?;
        let page_id = ctx.account.setting("page_id")?;
        let token = ctx.account.credential("access_token")?;
        self.messaging(page_id, token)
            .reply_privately(&target.id, &reply.text)
            .await
    }
}
