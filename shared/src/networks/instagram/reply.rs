//! Answering on Instagram: a reply under a comment (`POST /{comment-id}/replies`; top-level
//! comments only, which the domain's reply rule checks), an answer to a mention through the
//! account's `mentions` edge, a direct message (`POST /{node}/messages`), and private replies to
//! a comment's author (`recipient: {comment_id}`). After a lost answer the account's replies
//! under the item (or its messages to the person) are read back for the reply's text.

use async_trait::async_trait;
use serde_json::Value;

use super::inbox::MENTION;
use super::{InstagramConnector, NETWORK};
use crate::domain::inbox::ReplyTarget;
use crate::networks::meta_graph::answers::{self, Recognise};
use crate::networks::meta_graph::{self, Call};
use crate::networks::{Outgoing, PublishContext, PublishError, Published, ReadBack, ReplyTo};

#[async_trait]
impl ReplyTo for InstagramConnector {
    async fn reply(
        &self,
        ctx: &PublishContext<'_>,
        target: &ReplyTarget,
        reply: &Outgoing,
    ) -> Result<Published, PublishError> {
        answers::text_only(NETWORK, reply)?;
        let account = &ctx.account;
        let user = account.setting("ig_user_id")?;
        let token = self.token(account).await?;
        if let Some(person) = &target.chat {
            return self
                .messaging(account, &token)?
                .send(person, &reply.text)
                .await;
        }
        let graph = self.graph(account);
        let message = ("message", reply.text.clone());
        let answer = match (target.visibility.as_deref(), &target.root_id) {
            // Meta's "Mentions" guide: `POST /{ig-user-id}/mentions` with the media and, for a
            // comment, the comment that mentions the account.
            (Some(MENTION), Some(media)) => {
                let mut params = vec![("media_id", media.clone()), message];
                if &target.id != media {
                    params.push(("comment_id", target.id.clone()));
                }
                graph
                    .post(Call::POST, &[user, "mentions"], &token, &params)
                    .await?
            }
            _ => {
                graph
                    .post(Call::POST, &[&target.id, "replies"], &token, &[message])
                    .await?
            }
        };
        let id = meta_graph::id_of(NETWORK, Call::POST, &answer, "id")?;
        Ok(Published::new(id, None))
    }

    async fn find_reply(
        &self,
        ctx: &PublishContext<'_>,
        target: &ReplyTarget,
        reply: &Outgoing,
    ) -> Result<ReadBack, PublishError> {
        let account = &ctx.account;
        let user = account.setting("ig_user_id")?;
        let token = self.token(account).await?;
        if let Some(person) = &target.chat {
            return self
                .messaging(account, &token)?
                .find_sent(person, reply)
                .await;
        }
        // A caption mention is answered by a comment on the media; anything else by a reply
        // under the comment.
        let path: [&str; 2] = match (target.visibility.as_deref(), &target.root_id) {
            (Some(MENTION), Some(media)) if media == &target.id => [media, "comments"],
            _ => [&target.id, "replies"],
        };
        let query = [
            ("fields", "id,text,timestamp,username,from".to_owned()),
            ("limit", "100".to_owned()),
        ];
        let page = self.graph(account).get(&path, &token, &query).await?;
        let is_ours = |item: &Value| item.pointer("/from/id").and_then(Value::as_str) == Some(user);
        Ok(answers::earliest(
            &answers::data(&page),
            reply,
            &Recognise {
                text_field: "text",
                time_field: "timestamp",
                permalink_field: None,
                is_ours: &is_ours,
            },
        ))
    }

    async fn reply_privately(
        &self,
        ctx: &PublishContext<'_>,
        target: &ReplyTarget,
        reply: &Outgoing,
    ) -> Result<Published, PublishError> {
        answers::text_only(NETWORK, reply)?;
        let token = self.token(&ctx.account).await?;
        self.messaging(&ctx.account, &token)?
            .reply_privately(&target.id, &reply.text)
            .await
    }
}
