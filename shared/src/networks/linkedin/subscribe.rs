//! An organization page's subscription to the deployment's LinkedIn webhook (Community
//! Management "Organization Social Action Notifications", read 2026-12-06):
//! `PUT /rest/eventSubscriptions/(developerApplication:{app},user:{person},entity:{organization},
//! eventType:ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS)` with `{"webhook": url}`, made by an
//! administrator of the page (`rw_organization_admin`), undone with `DELETE` of the same key.
//! The developer application id is a deployment setting; the person is the token's member
//! (the `roleAssignee` of its administrator role). Member channels have no such notifications.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use super::LinkedinConnector;
use super::client::{Session, Step, parse};
use crate::networks::{Account, Callback, PublishError, Subscribe, Subscription};

const EVENT: &str = "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS";
const ORGANIZATION: &str = "urn:li:organization:";

#[derive(Deserialize)]
struct Roles {
    #[serde(default)]
    elements: Vec<Role>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Role {
    organization: String,
    role_assignee: String,
}

/// The member's approved administrator roles (the same finder the connection uses).
const ROLES: &str =
    "/rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED&count=50";
const PERSON: &str = "urn:li:person:";

/// The subscription's key, Rest.li 2.0 (each URN percent-encoded).
fn key(application: &str, person: &str, organization: &str) -> String {
    let urn =
        |kind: &str, id: &str| urlencoding::encode(&format!("urn:li:{kind}:{id}")).into_owned();
    format!(
        "(developerApplication:{},user:{},entity:{},eventType:{EVENT})",
        urn("developerApplication", application),
        urn("person", person),
        urlencoding::encode(organization),
    )
}

#[async_trait]
impl Subscribe for LinkedinConnector {
    async fn subscribe(
        &self,
        account: &Account<'_>,
        callback: &Callback<'_>,
    ) -> Result<Subscription, PublishError> {
        let organization = account.setting("author")?;
        if !organization.starts_with(ORGANIZATION) {
            return Err(PublishError::Misconfigured(
                "LinkedIn notifies organization pages only; a member's channel is polled".into(),
            ));
        }
        let application = callback.registration.ok_or_else(|| {
            PublishError::Misconfigured(
                "this deployment has no LinkedIn developer application id (LINKEDIN_APPLICATION_ID)"
                    .into(),
            )
        })?;
        let mut session = Session::open(self, account).await?;
        // The member whose token this is, as the page's administrator role names them: the
        // Community Management app has no `openid` scope for `/v2/userinfo`.
        let response = session
            .send(Step::Read, |http| {
                http.get(format!("{}{ROLES}", self.api_base))
            })
            .await?;
        let roles = parse::<Roles>(response, Step::Read).await?;
        let person = roles
            .elements
            .into_iter()
            .find(|r| r.organization == organization)
            .and_then(|r| r.role_assignee.strip_prefix(PERSON).map(str::to_owned))
            .ok_or_else(|| {
                PublishError::AuthExpired(format!(
                    "the connected member no longer administers {organization}: connect the page again"
                ))
            })?;
        let key = key(application, &person, organization);
        let url = format!("{}/rest/eventSubscriptions/{key}", self.api_base);
        let body = json!({ "webhook": callback.url });
        session
            .send(Step::Moderate, |http| http.put(url.clone()).json(&body))
            .await?;
        Ok(Subscription {
            account: organization.to_owned(),
            remote: vec![key],
        })
    }

    async fn unsubscribe(
        &self,
        account: &Account<'_>,
        subscription: &Subscription,
        _callback: &Callback<'_>,
    ) -> Result<(), PublishError> {
        let mut session = Session::open(self, account).await?;
        for key in &subscription.remote {
            let url = format!("{}/rest/eventSubscriptions/{key}", self.api_base);
            session
                .send_allowing(Step::Moderate, &[reqwest::StatusCode::NOT_FOUND], |http| {
                    http.delete(url.clone())
                })
                .await?;
        }
        Ok(())
    }
}
