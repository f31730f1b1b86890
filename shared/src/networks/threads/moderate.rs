//! Moderating on Threads (Meta's "Reply Management"): hiding and unhiding a top-level reply
//! (`POST /{reply-id}/manage_reply` with `hide`, which hides the replies under it too; nested
//! replies cannot be hidden alone, and Threads says so), and deleting the account's own reply
//! (`DELETE /{media-id}`, with `threads_delete`, at most 100 deletions a day). Threads has no
//! like through the API, so liking is not offered.

use async_trait::async_trait;

use super::{NETWORK, ThreadsConnector};
use crate::domain::inbox::ReplyTarget;
use crate::domain::moderation::ModerationAction;
use crate::networks::meta_graph::Call;
use crate::networks::meta_graph::answers;
use crate::networks::{Account, Moderate, PublishError};

#[async_trait]
impl Moderate for ThreadsConnector {
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
        let token = self.token(account).await?;
        match action {
            ModerationAction::Hide | ModerationAction::Unhide => {
                let hide = action == ModerationAction::Hide;
                self.graph()
                    .post(
                        Call::CHANGE,
                        &[&target.id, "manage_reply"],
                        &token,
                        &[("hide", hide.to_string())],
                    )
                    .await?;
            }
            ModerationAction::DeleteReply => {
                answers::delete(self.graph(), &token, &target.id).await?;
            }
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
