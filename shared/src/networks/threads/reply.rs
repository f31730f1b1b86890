//! Answering on Threads: a reply is a post in two steps, a TEXT container with `reply_to_id`
//! then `threads_publish`, waiting for the container as publishing does (engagement.md,
//! "Threads"; at most 1,000 replies per 24 hours). After a lost answer the account's replies
//! (`GET /{user-id}/replies`) are read back for the reply's text under the item.

use async_trait::async_trait;
use serde_json::Value;

use super::{NETWORK, ThreadsConnector};
use crate::domain::inbox::ReplyTarget;
use crate::networks::meta_graph::answers::{self, Recognise};
use crate::networks::meta_graph::{self, Container};
use crate::networks::{Outgoing, PublishContext, PublishError, Published, ReadBack, ReplyTo};

#[async_trait]
impl ReplyTo for ThreadsConnector {
    async fn reply(
        &self,
        ctx: &PublishContext<'_>,
        target: &ReplyTarget,
        reply: &Outgoing,
    ) -> Result<Published, PublishError> {
        answers::text_only(NETWORK, reply)?;
        let user = ctx.account.setting("threads_user_id")?;
        let token = self.token(&ctx.account).await?;
        let container = Container::Single(vec![
            ("media_type", "TEXT".to_owned()),
            ("text", reply.text.clone()),
            ("reply_to_id", target.id.clone()),
        ]);
        let id = self.post(user, &token, container).await?;
        let url = meta_graph::permalink(self.graph(), &token, &id).await;
        Ok(Published::new(id, url))
    }

    async fn find_reply(
        &self,
        ctx: &PublishContext<'_>,
        target: &ReplyTarget,
        reply: &Outgoing,
    ) -> Result<ReadBack, PublishError> {
        let user = ctx.account.setting("threads_user_id")?;
        let token = self.token(&ctx.account).await?;
        let query = [
            (
                "fields",
                "id,text,timestamp,permalink,replied_to".to_owned(),
            ),
            (
                "since",
                (reply.first_attempt_at.as_second() - 60).to_string(),
            ),
            ("limit", "100".to_owned()),
        ];
        let page = self.graph().get(&[user, "replies"], &token, &query).await?;
        let answers_target = |item: &Value| {
            item.pointer("/replied_to/id").and_then(Value::as_str) == Some(target.id.as_str())
        };
        Ok(answers::earliest(
            &answers::data(&page),
            reply,
            &Recognise {
                text_field: "text",
                time_field: "timestamp",
                permalink_field: Some("permalink"),
                is_ours: &answers_target,
            },
        ))
    }
}
