//! Moderating on X: hiding and unhiding a reply to the brand's post (`PUT /2/tweets/:id/hidden`,
//! about 50 per 15 minutes), liking a post as the brand (`POST /2/users/:id/likes`) and deleting
//! the brand's own reply (`DELETE /2/tweets/:id`). Each is harmless to repeat.

use async_trait::async_trait;
use serde_json::json;

use super::client::{Session, Step};
use super::{XConnector, endpoint};
use crate::domain::inbox::ReplyTarget;
use crate::domain::moderation::ModerationAction;
use crate::networks::{Account, Moderate, PublishError};

#[async_trait]
impl Moderate for XConnector {
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
        let mut session = Session::open(self, account).await?;
        let id = target.id.as_str();
        match action {
            ModerationAction::Hide | ModerationAction::Unhide => {
                let body = json!({"hidden": action == ModerationAction::Hide});
                session
                    .send(Step::Moderate, |http| {
                        http.put(self.url(&endpoint::hidden(id))).json(&body)
                    })
                    .await?;
            }
            ModerationAction::Like => {
                let user_id = self.user_id(&mut session).await?;
                let body = json!({"tweet_id": id});
                session
                    .send(Step::Moderate, |http| {
                        http.post(self.url(&endpoint::user_likes(&user_id)))
                            .json(&body)
                    })
                    .await?;
            }
            ModerationAction::DeleteReply => {
                // X answers `{"data": {"deleted": ...}}`; a post already gone is as good.
                session
                    .send(Step::Moderate, |http| {
                        http.delete(self.url(&endpoint::tweet(id)))
                    })
                    .await?;
            }
        }
        Ok(())
    }
}
