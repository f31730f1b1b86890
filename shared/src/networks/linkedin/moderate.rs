//! Moderating on LinkedIn as the organization page: liking a comment (a `LIKE` reaction,
//! `POST /rest/reactions?actor=`) and deleting the page's own comment
//! (`DELETE /rest/socialActions/{entity}/comments/{id}?actor=`). LinkedIn's API cannot hide
//! someone's comment.

use async_trait::async_trait;
use reqwest::StatusCode;
use serde_json::json;

use super::client::{Session, Step};
use super::inbox::{organization, split_comment_urn};
use super::{LinkedinConnector, endpoint};
use crate::domain::inbox::ReplyTarget;
use crate::domain::moderation::ModerationAction;
use crate::networks::{Account, Moderate, PublishError};

#[async_trait]
impl Moderate for LinkedinConnector {
    fn actions(&self) -> &'static [ModerationAction] {
        &[ModerationAction::Like, ModerationAction::DeleteReply]
    }

    async fn moderate(
        &self,
        account: &Account<'_>,
        target: &ReplyTarget,
        action: ModerationAction,
    ) -> Result<(), PublishError> {
        let org = organization(account)?.ok_or_else(|| {
            PublishError::Misconfigured(
                "Palinsesto moderates LinkedIn comments as an organization page; this channel posts as a member"
                    .into(),
            )
        })?;
        let mut session = Session::open(self, account).await?;
        match action {
            ModerationAction::Like => {
                let url = self.url(endpoint::REACTIONS);
                let body = json!({"root": target.id, "reactionType": "LIKE"});
                // Liked already: LinkedIn answers 409 (unverified: 422 is taken the same way).
                session
                    .send_allowing(
                        Step::Moderate,
                        &[StatusCode::CONFLICT, StatusCode::UNPROCESSABLE_ENTITY],
                        |http| http.post(&url).query(&[("actor", org)]).json(&body),
                    )
                    .await?;
            }
            ModerationAction::DeleteReply => {
                let (entity, id) = split_comment_urn(&target.id).ok_or_else(|| {
                    PublishError::InvalidContent(format!(
                        "{} is not a LinkedIn comment URN",
                        target.id
                    ))
                })?;
                let url = self.url(&endpoint::comment(entity, id));
                // Deleted already (by hand, or by an attempt whose answer was lost).
                session
                    .send_allowing(Step::Moderate, &[StatusCode::NOT_FOUND], |http| {
                        http.delete(&url).query(&[("actor", org)])
                    })
                    .await?;
            }
            ModerationAction::Hide | ModerationAction::Unhide => {
                return Err(PublishError::InvalidContent(format!(
                    "LinkedIn cannot {}",
                    action.describe()
                )));
            }
        }
        Ok(())
    }
}
