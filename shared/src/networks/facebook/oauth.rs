//! Connecting a Facebook page by Facebook Login for Pages: one login gives every page the person
//! manages, each with its own page token (long-lived, derived from a long-lived user token); the
//! person picks the page when confirming.

use async_trait::async_trait;
use serde_json::Value;

use super::NETWORK;
use crate::networks::connect::{
    AppCredentials, Authorize, ConnectAccount, Exchange, FoundAccount, Revocation, credential,
};
use crate::networks::meta_graph::login::FacebookLogin;
use crate::networks::{Account, PublishError};

pub struct FacebookOAuth {
    login: FacebookLogin,
}

impl FacebookOAuth {
    pub fn new(login: FacebookLogin) -> Self {
        Self { login }
    }
}

#[async_trait]
impl ConnectAccount for FacebookOAuth {
    async fn uses_pkce(&self, _instance: Option<&str>) -> bool {
        false
    }

    fn authorize_url(&self, request: &Authorize<'_>) -> Result<String, PublishError> {
        self.login.authorize_url(request)
    }

    async fn exchange(&self, request: &Exchange<'_>) -> Result<Vec<FoundAccount>, PublishError> {
        let grant = self.login.exchange(request).await?;
        if grant.pages.is_empty() {
            return Err(PublishError::Misconfigured(format!(
                "{NETWORK} gave no page: the person manages none, or did not select any when consenting"
            )));
        }
        Ok(grant
            .pages
            .into_iter()
            .map(|page| FoundAccount {
                handle: page.name.clone(),
                name: page.name,
                avatar: page.picture,
                scopes: grant.scopes.clone(),
                credentials: vec![credential("access_token", page.token)],
                settings: vec![("page_id".to_owned(), Value::from(page.id.clone()))],
                id: page.id,
                expires_at: None,
                renewable: false,
                owner: Some(grant.user_id.clone()),
            })
            .collect())
    }

    async fn revoke(
        &self,
        _app: &AppCredentials,
        _account: &Account<'_>,
    ) -> Result<Revocation, PublishError> {
        // Taking back the person's permissions would end every other page and channel they
        // connected too; a page token ends when the page removes the app.
        Ok(Revocation::NotOffered(
            "Facebook has no way to revoke one page's token alone: remove Palinsesto in the page's Business Integrations settings to end it".into(),
        ))
    }
}
