//! Moderating on a Facebook Page (Graph's Comment node): hiding and unhiding a comment
//! (`POST /{comment-id}` with `is_hidden`), liking it as the page (`POST /{comment-id}/likes`),
//! deleting the page's own reply (`DELETE /{comment-id}`). Messenger messages are not moderated.

use async_trait::async_trait;

use super::FacebookConnector;
use crate::domain::inbox::ReplyTarget;
use crate::domain::moderation::ModerationAction;
use crate::networks::meta_graph::Call;
use crate::networks::meta_graph::answers;
use crate::networks::{Account, Moderate, PublishError};

#[async_trait]
impl Moderate for FacebookConnector {
    fn actions(&self) -> &'static [ModerationAction] {
        &[
            ModerationAction::Hide,
            ModerationAction::Unhide,
            ModerationAction::Like,
            ModerationAction::DeleteReply,
        ]
    }

    async fn moderate(
        &self,
        account: &Account<'_>,
        target: &ReplyTarget,
        action: ModerationAction,
    ) -> Result<(), PublishError> {
        let token = account.credential("access_token")?;
        if target.chat.is_some() && action != ModerationAction::DeleteReply {
            return Err(PublishError::InvalidContent(format!(
                "Facebook cannot {} on a Messenger message: only comments are moderated",
                action.describe()
            )));
        }
        let id = target.id.as_str();
        match action {
            ModerationAction::Hide | ModerationAction::Unhide => {
                let hidden = action == ModerationAction::Hide;
                self.graph
                    .post(
                        Call::CHANGE,
                        &[id],
                        token,
                        &[("is_hidden", hidden.to_string())],
                    )
                    .await?;
            }
            ModerationAction::Like => {
                self.graph
                    .post(Call::CHANGE, &[id, "likes"], token, &[])
                    .await?;
            }
            ModerationAction::DeleteReply => answers::delete(&self.graph, token, id).await?,
        }
        Ok(())
    }
}
