//! Publishing on the sandbox: the post is kept in the store under the target's stable key, so a
//! retry finds what an earlier attempt made and nothing is posted twice.

use async_trait::async_trait;

use super::{SandboxConnector, unavailable};
use crate::domain::Network;
use crate::domain::sandbox::{self, FAIL_NEXT_PUBLISH, InjectedFailure, SandboxPost};
use crate::networks::{
    Account, Outgoing, Publish, PublishContext, PublishError, Published, ReadBack,
};
use crate::store::StoreError;

#[async_trait]
impl Publish for SandboxConnector {
    fn network(&self) -> Network {
        Network::Sandbox
    }

    async fn publish(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<Published, PublishError> {
        self.send(&ctx.account, post, None).await
    }

    async fn find_published(
        &self,
        ctx: &PublishContext<'_>,
        post: &Outgoing,
    ) -> Result<ReadBack, PublishError> {
        self.find_kept(&ctx.account, post).await
    }
}

impl SandboxConnector {
    /// Posts (a reply when `in_reply_to`), unless the channel asked for a failure: the same
    /// path, the same injected failures, for posts and inbox replies.
    pub(super) async fn send(
        &self,
        account: &Account<'_>,
        post: &Outgoing,
        in_reply_to: Option<&str>,
    ) -> Result<Published, PublishError> {
        if let Some(failure) = self.take_injected_failure(account).await? {
            if failure == InjectedFailure::UnknownOutcome {
                // The post is made; only the answer is lost.
                self.keep(account, post, in_reply_to).await?;
            }
            return Err(as_error(failure));
        }
        let kept = self.keep(account, post, in_reply_to).await?;
        Ok(Published::new(kept.remote_id, None))
    }

    /// What an earlier attempt at `post` kept, if any.
    pub(super) async fn find_kept(
        &self,
        account: &Account<'_>,
        post: &Outgoing,
    ) -> Result<ReadBack, PublishError> {
        let found = self
            .store
            .get_sandbox_post(account.brand, &account.channel.id, &post.key)
            .await
            .map_err(unavailable)?;
        Ok(match found {
            Some(kept) => ReadBack::Found(Published::new(kept.remote_id, None)),
            None => ReadBack::NotFound,
        })
    }

    /// Keeps the post (once): the post an earlier attempt kept is the one answered.
    async fn keep(
        &self,
        account: &Account<'_>,
        post: &Outgoing,
        in_reply_to: Option<&str>,
    ) -> Result<SandboxPost, PublishError> {
        let kept = SandboxPost {
            remote_id: post.key.clone(),
            text: post.text.clone(),
            thread: post.thread.clone(),
            media: post.media.iter().map(|a| a.id.to_string()).collect(),
            published_at: self.clock.now(),
            followers: self.followers_now(account),
            in_reply_to: in_reply_to.map(str::to_owned),
        };
        let (brand, channel) = (account.brand, &account.channel.id);
        if self
            .store
            .put_sandbox_post(brand, channel, &kept)
            .await
            .map_err(unavailable)?
        {
            return Ok(kept);
        }
        self.store
            .get_sandbox_post(brand, channel, &post.key)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| PublishError::Transient("sandbox: the post was just removed".into()))
    }

    /// The failure the channel was asked to give on its next publish, taken off the channel in
    /// the same step (a write conditioned on the channel's version), so it is given once.
    async fn take_injected_failure(
        &self,
        account: &Account<'_>,
    ) -> Result<Option<InjectedFailure>, PublishError> {
        if sandbox::injected_failure(&account.channel.settings).is_none() {
            return Ok(None);
        }
        const ATTEMPTS: usize = 5;
        for _ in 0..ATTEMPTS {
            let Some(mut channel) = self
                .store
                .get_channel(account.brand, &account.channel.id)
                .await
                .map_err(unavailable)?
            else {
                return Ok(None);
            };
            let Some(failure) = sandbox::injected_failure(&channel.settings) else {
                // Another attempt gave it already.
                return Ok(None);
            };
            channel.settings.remove(FAIL_NEXT_PUBLISH);
            let version = channel.version;
            match self
                .store
                .put_channel(account.brand, &channel, Some(version))
                .await
            {
                Ok(_) => return Ok(Some(failure)),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(unavailable(e)),
            }
        }
        Err(PublishError::Transient(
            "sandbox: the channel kept changing while its failure was taken".into(),
        ))
    }
}

/// The typed error a real network's refusal of the same kind gives.
fn as_error(failure: InjectedFailure) -> PublishError {
    let message = failure.message().to_owned();
    match failure {
        InjectedFailure::RateLimited => PublishError::RateLimited {
            retry_at: None,
            message,
        },
        InjectedFailure::AuthExpired => PublishError::AuthExpired(message),
        InjectedFailure::InvalidContent => PublishError::InvalidContent(message),
        InjectedFailure::InvalidMedia => PublishError::InvalidMedia(message),
        InjectedFailure::Duplicate => PublishError::Duplicate(message),
        InjectedFailure::Transient => PublishError::Transient(message),
        InjectedFailure::UnknownOutcome => PublishError::UnknownOutcome(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_injected_failure_is_the_typed_error_of_its_name() {
        for failure in InjectedFailure::ALL {
            assert_eq!(as_error(failure).kind(), failure.as_str());
        }
    }
}
