//! Moderating on Mastodon: favouriting a status as the brand (`POST /api/v1/statuses/:id/favourite`)
//! and deleting the brand's own reply (`DELETE /api/v1/statuses/:id`). Mastodon gives an account
//! no way to hide someone's reply to it (only to mute, block or report its author), so hiding is
//! not offered. Both calls are harmless to repeat: favouriting a favourited status answers it
//! again, and a reply already deleted is as good as deleted.

use async_trait::async_trait;
use reqwest::RequestBuilder;

use super::MastodonConnector;
use super::client::{Call, instance_url, refused, status_not_found};
use crate::domain::Secret;
use crate::domain::inbox::ReplyTarget;
use crate::domain::moderation::ModerationAction;
use crate::networks::{Account, Moderate, PublishError};

/// Whether Mastodon had the status the action was about.
enum Found {
    Yes,
    /// Deleted, or not visible to the brand's account: what Mastodon said.
    No(String),
}

impl MastodonConnector {
    async fn act(&self, token: &Secret, request: RequestBuilder) -> Result<Found, PublishError> {
        let request = request.bearer_auth(token.expose());
        let (status, headers, body) = self.exchange(Call::Moderate, request).await?;
        if status.is_success() {
            return Ok(Found::Yes);
        }
        match status_not_found(status, &body) {
            Some(said) => Ok(Found::No(said)),
            None => Err(refused(Call::Moderate, status, &headers, &body)),
        }
    }
}

#[async_trait]
impl Moderate for MastodonConnector {
    fn actions(&self) -> &'static [ModerationAction] {
        &[ModerationAction::Like, ModerationAction::DeleteReply]
    }

    async fn moderate(
        &self,
        account: &Account<'_>,
        target: &ReplyTarget,
        action: ModerationAction,
    ) -> Result<(), PublishError> {
        let base = instance_url(account)?;
        let token = account.credential("access_token")?;
        let status = format!("{base}/api/v1/statuses/{}", urlencoding::encode(&target.id));
        match action {
            ModerationAction::Like => {
                let request = self.http.post(format!("{status}/favourite"));
                if let Found::No(said) = self.act(token, request).await? {
                    return Err(PublishError::InvalidContent(format!(
                        "the Mastodon post {} was deleted or is not visible to this account ({said}): it cannot be favourited",
                        target.id
                    )));
                }
            }
            ModerationAction::DeleteReply => {
                // Found or already gone, the reply is deleted.
                self.act(token, self.http.delete(status)).await?;
            }
            ModerationAction::Hide | ModerationAction::Unhide => {
                return Err(PublishError::InvalidContent(format!(
                    "Mastodon cannot {}: it has no way to hide a reply from others; mute, block or report its author on Mastodon instead",
                    action.describe()
                )));
            }
        }
        Ok(())
    }
}
