//! LinkedIn's organization social action notifications (webhook deliveries, checked before this
//! by `X-LI-Signature`): `{"type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS", "notifications":
//! [{notificationId, organizationalEntity, action, sourcePost, generatedActivity, ...}]}`, batched
//! up to 10 (learn.microsoft.com/linkedin/marketing/community-management/organizations/
//! organization-social-action-notifications, as quoted by api-evangelist/linkedin
//! asyncapi/linkedin-webhooks.yml, read 2026-12-06). A comment is named by its URN only (the
//! decorated copy's shape is not documented well enough to rely on), so it is read with the
//! page's token by the inbox worker (`ReadInbox::fetch`), which maps it as a poll does.

use serde_json::Value;

use super::LinkedinConnector;
use crate::networks::{ParsePush, Pushed};

/// The actions that name a comment: someone's, and the page's own (a native answer).
const COMMENT_ACTIONS: [&str; 3] = ["COMMENT", "ADMIN_COMMENT", "COMMENT_EDIT"];

impl ParsePush for LinkedinConnector {
    fn parse(&self, body: &[u8]) -> Result<Vec<Pushed>, String> {
        let body: Value = serde_json::from_slice(body)
            .map_err(|e| format!("the LinkedIn delivery is not JSON: {e}"))?;
        let notifications = body
            .get("notifications")
            .and_then(Value::as_array)
            .ok_or("the LinkedIn delivery has no notifications")?;
        let mut pushed: Vec<Pushed> = Vec::new();
        for notification in notifications {
            let Some(org) = notification
                .get("organizationalEntity")
                .and_then(Value::as_str)
            else {
                continue;
            };
            let index = match pushed.iter().position(|p| p.account == org) {
                Some(i) => i,
                None => {
                    pushed.push(Pushed {
                        account: org.to_owned(),
                        ..Pushed::default()
                    });
                    pushed.len() - 1
                }
            };
            let action = notification.get("action").and_then(Value::as_str);
            let comment = notification
                .get("generatedActivity")
                .and_then(Value::as_str)
                .filter(|urn| urn.starts_with("urn:li:comment:"));
            if let (Some(action), Some(comment)) = (action, comment)
                && COMMENT_ACTIONS.contains(&action)
                && !pushed[index].to_fetch.iter().any(|c| c == comment)
            {
                pushed[index].to_fetch.push(comment.to_owned());
            }
        }
        Ok(pushed)
    }
}
