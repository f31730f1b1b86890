//! The account's subscriptions to the deployment's X webhook (X Activity API,
//! xdevplatform/docs `x-api/activity/quickstart.mdx`, read 2026-12-06): one
//! `POST /2/activity/subscriptions` per event the inbox reads (`post.mention.create`,
//! `post.reply.create`, `post.quote.create`), filtered on the account's user id and delivered to
//! the webhook the deployment registered once (`POST /2/webhooks`, its id a deployment
//! setting); each undone with `DELETE /2/activity/subscriptions/{id}`.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use super::XConnector;
use super::client::{Data, Session, Step, parse};
use crate::networks::{Account, Callback, PublishError, Subscribe, Subscription};

const SUBSCRIPTIONS: &str = "/2/activity/subscriptions";
/// What people address to the brand.
pub const EVENTS: [&str; 3] = [
    "post.mention.create",
    "post.reply.create",
    "post.quote.create",
];

#[derive(Deserialize)]
struct Made {
    subscription_id: String,
}

#[async_trait]
impl Subscribe for XConnector {
    async fn subscribe(
        &self,
        account: &Account<'_>,
        callback: &Callback<'_>,
    ) -> Result<Subscription, PublishError> {
        let webhook = callback.registration.ok_or_else(|| {
            PublishError::Misconfigured(
                "this deployment has no X webhook id (X_WEBHOOK_ID): register the webhook once with POST /2/webhooks".into(),
            )
        })?;
        let mut session = Session::open(self, account).await?;
        let user = self.user_id(&mut session).await?;
        let mut remote = Vec::new();
        for event in EVENTS {
            let body = json!({
                "event_type": event,
                "filter": { "user_id": user },
                "webhook_id": webhook,
                "tag": "palinsesto inbox",
            });
            let response = session
                .send(Step::Moderate, |http| {
                    http.post(self.url(SUBSCRIPTIONS)).json(&body)
                })
                .await?;
            remote.push(
                parse::<Data<Made>>(response, Step::Moderate)
                    .await?
                    .data
                    .subscription_id,
            );
        }
        Ok(Subscription {
            account: user,
            remote,
        })
    }

    async fn unsubscribe(
        &self,
        account: &Account<'_>,
        subscription: &Subscription,
        _callback: &Callback<'_>,
    ) -> Result<(), PublishError> {
        let mut session = Session::open(self, account).await?;
        for id in &subscription.remote {
            let url = self.url(&format!("{SUBSCRIPTIONS}/{}", urlencoding::encode(id)));
            session
                .send(Step::Moderate, |http| http.delete(url.clone()))
                .await?;
        }
        Ok(())
    }
}
