//! The inbox worker's part of moderation: it takes each pending request (hide, unhide, like,
//! delete the brand's reply) to the network with the channel's credentials, then records how it
//! went and, for hiding and unhiding, the interaction's new state. Moderation actions are
//! harmless to repeat, so a request taken twice (a lease that ran out) does no harm.

use jiff::SignedDuration;

use super::ServiceError;
use super::channels::mark_needs_reconnect;
use super::inbox_worker::{InboxTickReport, InboxWorker, OnChannel};
use crate::domain::inbox::{ReplyState, ReplyTarget};
use crate::domain::moderation::{
    MAX_MODERATION_ATTEMPTS, Moderation, ModerationAction, ModerationState,
};
use crate::domain::{BrandId, ReconnectReason};
use crate::networks::{Account, PublishError};
use crate::store::StoreError;

/// How many requests one tick takes.
const MODERATIONS_PER_TICK: usize = 50;
/// How long a worker holds a request it is taking to the network.
const LEASE: SignedDuration = SignedDuration::from_secs(120);

impl InboxWorker {
    /// Takes the moderation requests that are due to their networks.
    pub async fn moderate_due(&self) -> Result<InboxTickReport, ServiceError> {
        let now = self.ports.clock.now();
        let mut report = InboxTickReport::default();
        for (brand, m) in self
            .store()
            .due_moderations(now, MODERATIONS_PER_TICK)
            .await?
        {
            match self.moderate_one(&brand, m).await {
                Ok(Some(true)) => report.moderated += 1,
                Ok(Some(false)) => report.moderation_failed += 1,
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(brand = %brand, error = %e, "a moderation request could not be taken; it is tried again later");
                }
            }
        }
        Ok(report)
    }

    /// `Some(true)`: done; `Some(false)`: failed for good; `None`: another worker has it, or it
    /// waits for another try.
    async fn moderate_one(
        &self,
        brand: &BrandId,
        m: Moderation,
    ) -> Result<Option<bool>, ServiceError> {
        let store = self.store();
        let now = self.ports.clock.now();
        let retention = self.retention(brand).await?;
        let mut claimed = m.clone();
        claimed.attempts += 1;
        claimed.next_attempt_at = Some(now + LEASE);
        let claimed = match store
            .save_moderation(brand, &claimed, retention, Vec::new())
            .await
        {
            Ok(saved) => saved,
            Err(StoreError::Conflict { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let outcome = self.act(brand, &claimed).await;
        let mut done = claimed.clone();
        let result = match outcome {
            Ok(()) => {
                done.state = ModerationState::Done { at: now };
                done.next_attempt_at = None;
                Some(true)
            }
            Err(e) if e.retryable() && done.attempts < MAX_MODERATION_ATTEMPTS => {
                let wait = match &e {
                    PublishError::RateLimited {
                        retry_at: Some(at), ..
                    } => *at,
                    _ => now + SignedDuration::from_mins(i64::from(done.attempts) * 2),
                };
                done.next_attempt_at = Some(wait.max(now));
                None
            }
            Err(e) => {
                if let PublishError::AuthExpired(why) = &e {
                    mark_needs_reconnect(
                        &self.ports,
                        brand,
                        &claimed.channel,
                        ReconnectReason::AuthExpired,
                        why,
                    )
                    .await?;
                }
                done.state = ModerationState::Failed {
                    message: e.to_string(),
                };
                done.next_attempt_at = None;
                Some(false)
            }
        };
        store
            .save_moderation(brand, &done, retention, Vec::new())
            .await?;
        if result == Some(true) {
            self.moderated(brand, &done, retention).await?;
        }
        Ok(result)
    }

    /// The interaction's state after a hide or unhide done on the network.
    async fn moderated(
        &self,
        brand: &BrandId,
        m: &Moderation,
        retention: SignedDuration,
    ) -> Result<(), ServiceError> {
        for _ in 0..5 {
            let Some(before) = self.store().get_interaction(brand, &m.interaction).await? else {
                return Ok(());
            };
            let Some(state) = m.action.state_after(before.state) else {
                return Ok(());
            };
            let mut after = before.clone();
            after.state = state;
            match self
                .store()
                .update_interaction(brand, &before, &after, retention, Vec::new())
                .await
            {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict { index: 0 }.into())
    }

    /// The call on the network.
    async fn act(&self, brand: &BrandId, m: &Moderation) -> Result<(), PublishError> {
        let OnChannel {
            interaction,
            channel,
            credentials,
            sink,
        } = self.on_channel(brand, &m.interaction, &m.channel).await?;
        let moderator = self
            .ports
            .connectors
            .moderator(channel.network)
            .map_err(|e| PublishError::Misconfigured(e.0))?;
        let target = match (m.action, m.reply) {
            (ModerationAction::DeleteReply, Some(reply)) => {
                let reply = self
                    .store()
                    .get_reply(brand, &m.interaction, &reply)
                    .await
                    .map_err(|e| PublishError::Transient(e.to_string()))?
                    .ok_or_else(|| PublishError::InvalidContent("the reply is gone".into()))?;
                let ReplyState::Sent { remote_id, .. } = reply.state else {
                    return Err(PublishError::InvalidContent(
                        "the reply was never sent".into(),
                    ));
                };
                ReplyTarget {
                    id: remote_id,
                    ..interaction.target.clone()
                }
            }
            _ => interaction.target.clone(),
        };
        let account = Account::new(brand, &channel, &credentials, &sink)?;
        moderator.moderate(&account, &target, m.action).await
    }
}
