//! Checking an app password when it is stored: logging in once. The session it gives is kept
//! with the credentials, so the first post does not log in again (Bluesky limits logins to 30
//! per 5 minutes and 300 a day per account).

use async_trait::async_trait;

use super::BlueskyConnector;
use crate::networks::{Account, CheckCredentials, PublishError};

#[async_trait]
impl CheckCredentials for BlueskyConnector {
    async fn check(&self, account: &Account<'_>) -> Result<(), PublishError> {
        self.session(account).await.map(|_| ())
    }
}
