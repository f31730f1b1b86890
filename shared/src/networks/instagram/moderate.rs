//! Moderating on Instagram (Graph's IG Comment node): hiding and unhiding a comment
//! (`POST /{comment-id}?hide=true|false`) and deleting the account's own reply
//! (`DELETE /{comment-id}`). The API cannot like a comment as the account, so liking is not
//! offered (the coverage table says so).

use async_trait::async_trait;

use super::{InstagramConnector, NETWORK};
use crate::domain::inbox::ReplyTarget;
use crate::domain::moderation::ModerationAction;
use crate::networks::meta_graph::Call;
use crate::networks::meta_graph::answers;
use crate::networks::{Account, Moderate, PublishError};

#[async_trait]
impl Moderate for InstagramConnector {
    fn actions(&self) -> &'static [ModerationAction] {
        &[
            ModerationAction::Hide,
            ModerationAction::Unhide,
            ModerationAction::DeleteReply,
        ]
    }

    async fn moderate(
        &self,
        account: &Account<'_>,
        target: &ReplyTarget,
        action: ModerationAction,
    ) -> Result<(), PublishError> {
        if target.chat.is_some() {
            return Err(PublishError::InvalidContent(format!(
                "{NETWORK} cannot {} on a direct message: only comments are moderated",
                action.describe()
            )));
        }
        let token = self.token(account).await?;
        let graph = self.graph(account);
        match action {
            ModerationAction::Hide | ModerationAction::Unhide => {
                let hide = action == ModerationAction::Hide;
                graph
                    .post(
                        Call::CHANGE,
                        &[&target.id],
                        &token,
                        &[("hide", hide.to_string())],
                    )
                    .await?;
            }
            ModerationAction::DeleteReply => answers::delete(graph, &token, &target.id).await?,
            ModerationAction::Like => {
                return Err(PublishError::InvalidContent(format!(
                    "{NETWORK} cannot {}",
                    action.describe()
                )));
            }
        }
        Ok(())
    }
}
