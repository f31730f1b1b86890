//! Preflight: checks each target of a post against its network's rules (text length counted the
//! network's way, media count, size and format, channel state). Run when a post is scheduled and
//! again at publish time, by the same code.

use async_trait::async_trait;
use serde::Serialize;

use crate::domain::preflight::Rules;
use crate::domain::{
    Asset, BrandId, Channel, ChannelId, ChannelStatus, Credentials, Network, Post, Secret,
};
use crate::networks::{Account, Connectors, CredentialsSink, PublishError};
use crate::store::{Store, StoreError};

/// What one target would publish: its text and media after the channel's variant is applied.
#[derive(Debug, Clone)]
pub struct TargetContent {
    pub text: String,
    pub thread: Vec<String>,
    pub media: Vec<Asset>,
    /// Asset ids the post references that are not in the library.
    pub missing_media: Vec<String>,
}

/// The preflight result of one target.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TargetCheck {
    pub channel_id: String,
    pub network: Option<Network>,
    /// Every problem, in plain words; empty when the target can be published.
    pub problems: Vec<String>,
}

#[derive(Clone)]
pub struct Preflight {
    store: Store,
    connectors: Connectors,
}

/// Preflight at schedule time runs without credentials (the API may not read them); rules come
/// from public information such as a Mastodon instance's configuration.
struct NoCredentials;

#[async_trait]
impl CredentialsSink for NoCredentials {
    async fn update(&self, _: Vec<(String, Secret)>) -> Result<(), PublishError> {
        Ok(())
    }
}

impl Preflight {
    pub fn new(store: Store, connectors: Connectors) -> Self {
        Self { store, connectors }
    }

    /// The text, thread and media one target publishes.
    pub async fn content(
        &self,
        brand: &BrandId,
        post: &Post,
        channel: &ChannelId,
    ) -> Result<TargetContent, StoreError> {
        let variant = post.variants.get(channel);
        let text = variant
            .and_then(|v| v.text.clone())
            .unwrap_or_else(|| post.text.clone());
        let thread = variant
            .and_then(|v| v.thread.clone())
            .unwrap_or_else(|| post.thread.clone());
        let ids: Vec<String> = match variant.and_then(|v| v.media.clone()) {
            Some(ids) => ids,
            None => post.media.iter().map(ToString::to_string).collect(),
        };
        let mut media = Vec::new();
        let mut missing_media = Vec::new();
        for id in ids {
            let asset = match crate::domain::AssetId::parse(&id) {
                Ok(asset_id) => self.store.get_asset(brand, &asset_id).await?,
                Err(_) => None,
            };
            match asset {
                Some(asset) => media.push(asset),
                None => missing_media.push(id),
            }
        }
        Ok(TargetContent {
            text,
            thread,
            media,
            missing_media,
        })
    }

    /// The rules for a channel: the connector's (which may read public network configuration),
    /// or the documented defaults when that cannot be read right now.
    pub async fn rules(
        &self,
        brand: &BrandId,
        channel: &Channel,
        credentials: Option<&Credentials>,
    ) -> Rules {
        let Ok(connector) = self.connectors.publisher(channel.network) else {
            return Rules::for_network(channel.network);
        };
        let none = Credentials::from_stored(Default::default());
        let account = Account::new(brand, channel, credentials.unwrap_or(&none), &NoCredentials);
        match async { connector.rules(&account?).await }.await {
            Ok(rules) => rules,
            Err(e) => {
                tracing::warn!(network = channel.network.as_str(), error = %e, "network rules unavailable; using the documented defaults");
                Rules::for_network(channel.network)
            }
        }
    }

    /// The problems of one target's content on one channel.
    pub fn problems(channel: &Channel, rules: &Rules, content: &TargetContent) -> Vec<String> {
        let mut problems = Vec::new();
        match channel.status {
            ChannelStatus::Active => {}
            ChannelStatus::NeedsReconnect => problems.push(format!(
                "the channel \"{}\" needs to be connected again: the network refused its credentials",
                channel.name
            )),
            ChannelStatus::Disabled => problems.push(format!("the channel \"{}\" is disabled", channel.name)),
        }
        if let Some(key) = channel.network.account_setting()
            && channel
                .settings
                .get(key)
                .and_then(|v| v.as_str())
                .is_none_or(|v| v.trim().is_empty())
        {
            problems.push(format!(
                "the channel \"{}\" does not know its account yet: connect the channel first, or set settings.{key}",
                channel.name
            ));
        }
        for id in &content.missing_media {
            problems.push(format!("media {id} is not in the media library"));
        }
        problems.extend(rules.check(&content.text, &content.thread, &content.media));
        problems
    }

    /// Checks every target of `post`.
    pub async fn check(
        &self,
        brand: &BrandId,
        post: &Post,
    ) -> Result<Vec<TargetCheck>, StoreError> {
        let mut checks = Vec::new();
        for target in &post.targets {
            let channel_id = target.channel_id;
            let Some(channel) = self.store.get_channel(brand, &channel_id).await? else {
                checks.push(TargetCheck {
                    channel_id: target.channel_id.to_string(),
                    network: None,
                    problems: vec!["the channel no longer exists".into()],
                });
                continue;
            };
            let content = self.content(brand, post, &channel_id).await?;
            let rules = self.rules(brand, &channel, None).await;
            checks.push(TargetCheck {
                channel_id: target.channel_id.to_string(),
                network: Some(channel.network),
                problems: Self::problems(&channel, &rules, &content),
            });
        }
        Ok(checks)
    }
}
