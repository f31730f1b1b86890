//! The professional account's subscription to the deployment's Instagram webhook (Meta's
//! "Instagram Webhooks"): `POST /{ig-user-id}/subscribed_apps` with
//! `subscribed_fields=comments,mentions,messages`, undone with `DELETE`. An account connected
//! through Facebook Login gets its events through its page's subscription to the Facebook app;
//! if this call is refused there, the channel is polled.

use async_trait::async_trait;

use super::InstagramConnector;
use crate::networks::meta_graph::Call;
use crate::networks::{Account, Callback, PublishError, Subscribe, Subscription};

pub const FIELDS: &str = "comments,mentions,messages";

#[async_trait]
impl Subscribe for InstagramConnector {
    async fn subscribe(
        &self,
        account: &Account<'_>,
        _callback: &Callback<'_>,
    ) -> Result<Subscription, PublishError> {
        let user = account.setting("ig_user_id")?;
        let token = self.token(account).await?;
        self.graph(account)
            .post(
                Call::CHANGE,
                &[user, "subscribed_apps"],
                &token,
                &[("subscribed_fields", FIELDS.to_owned())],
            )
            .await?;
        Ok(Subscription {
            account: user.to_owned(),
            remote: Vec::new(),
        })
    }

    async fn unsubscribe(
        &self,
        account: &Account<'_>,
        subscription: &Subscription,
        _callback: &Callback<'_>,
    ) -> Result<(), PublishError> {
        let token = self.token(account).await?;
        self.graph(account)
            .delete(&[&subscription.account, "subscribed_apps"], &token)
            .await?;
        Ok(())
    }
}
