//! The page's subscription to the deployment's Facebook app webhook (Meta's "Webhooks for
//! Pages"): `POST /{page-id}/subscribed_apps` with `subscribed_fields=feed,mention,messages`,
//! made with the page token (the login asks for `pages_manage_metadata`), undone with `DELETE`.
//! The callback URL itself is the app's, set once in Meta's dashboard.

use async_trait::async_trait;

use super::FacebookConnector;
use crate::networks::meta_graph::Call;
use crate::networks::{Account, Callback, PublishError, Subscribe, Subscription};

/// Comments and posts on the page, mentions of it, Messenger messages.
pub const FIELDS: &str = "feed,mention,messages";

#[async_trait]
impl Subscribe for FacebookConnector {
    async fn subscribe(
        &self,
        account: &Account<'_>,
        _callback: &Callback<'_>,
    ) -> Result<Subscription, PublishError> {
        let page = account.setting("page_id")?;
        let token = account.credential("access_token")?;
        self.graph
            .post(
                Call::CHANGE,
                &[page, "subscribed_apps"],
                token,
                &[("subscribed_fields", FIELDS.to_owned())],
            )
            .await?;
        Ok(Subscription {
            account: page.to_owned(),
            remote: Vec::new(),
        })
    }

    async fn unsubscribe(
        &self,
        account: &Account<'_>,
        subscription: &Subscription,
        _callback: &Callback<'_>,
    ) -> Result<(), PublishError> {
        let token = account.credential("access_token")?;
        self.graph
            .delete(&[&subscription.account, "subscribed_apps"], token)
            .await?;
        Ok(())
    }
}
