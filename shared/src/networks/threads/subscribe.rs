//! Threads' webhooks (`replies`, `mentions`) are subscribed once per app in Meta's dashboard,
//! with no call per account (Threads API "Webhooks", read 2026-12-06): a connected account is
//! only named, so the hook finds its channels; nothing is undone at Threads.

use async_trait::async_trait;

use super::ThreadsConnector;
use crate::networks::{Account, Callback, PublishError, Subscribe, Subscription};

#[async_trait]
impl Subscribe for ThreadsConnector {
    async fn subscribe(
        &self,
        account: &Account<'_>,
        _callback: &Callback<'_>,
    ) -> Result<Subscription, PublishError> {
        Ok(Subscription {
            account: account.setting("threads_user_id")?.to_owned(),
            remote: Vec::new(),
        })
    }

    async fn unsubscribe(
        &self,
        _account: &Account<'_>,
        _subscription: &Subscription,
        _callback: &Callback<'_>,
    ) -> Result<(), PublishError> {
        Ok(())
    }
}
