//! Competitors' public accounts, read without credentials: Bluesky through its public AppView,
//! Mastodon through the account's own server. This is the reader that dispatches by network;
//! `reading` holds one reading's request and the wording of refusals, and each network's part is
//! next to it (`bluesky/public.rs`, `mastodon/public.rs`).

use async_trait::async_trait;

use std::sync::Arc;

use crate::clock::Clock;
use crate::domain::{Competitor, Network, PublicProfile, sandbox_audience};
use crate::networks::{PublishError, bluesky, mastodon};
use crate::outbound::OutboundClient;

pub(super) mod reading;

use reading::Reading;

/// The default public Bluesky AppView (overridable by `BLUESKY_APPVIEW_BASE`).
pub const BLUESKY_PUBLIC_APPVIEW: &str = "https://public.api.bsky.app";

/// Reads a competitor's public account and its recent posts.
#[async_trait]
pub trait PublicAccounts: Send + Sync {
    async fn profile(&self, competitor: &Competitor) -> Result<PublicProfile, PublishError>;
}

/// Reads competitors through the networks' public APIs. It never sends credentials: what it
/// reads is what anyone can see.
#[derive(Clone)]
pub struct PublicReader {
    http: OutboundClient,
    bluesky_appview: String,
    /// The clock sandbox competitors' simulated audiences grow by; `None` where the deployment
    /// does not allow the sandbox.
    sandbox: Option<Arc<dyn Clock>>,
}

impl PublicReader {
    /// Reads Bluesky through [`BLUESKY_PUBLIC_APPVIEW`].
    pub fn new(http: OutboundClient) -> Self {
        Self {
            http,
            bluesky_appview: BLUESKY_PUBLIC_APPVIEW.to_owned(),
            sandbox: None,
        }
    }

    /// Also reads competitors on the sandbox, simulated on `clock`.
    pub fn with_sandbox(mut self, clock: Arc<dyn Clock>) -> Self {
        self.sandbox = Some(clock);
        self
    }

    /// Reads Bluesky competitors that name no server of their own through `base` instead.
    pub fn with_bluesky_appview(mut self, base: impl Into<String>) -> Self {
        self.bluesky_appview = base.into().trim().trim_end_matches('/').to_owned();
        self
    }
}

#[async_trait]
impl PublicAccounts for PublicReader {
    async fn profile(&self, competitor: &Competitor) -> Result<PublicProfile, PublishError> {
        match competitor.network {
            Network::Bluesky => {
                let read = Reading::new(
                    &self.http,
                    competitor,
                    &self.bluesky_appview,
                    bluesky::public::refusal,
                );
                bluesky::public::profile(&read).await
            }
            Network::Mastodon => {
                let read = Reading::new(&self.http, competitor, "", mastodon::public::refusal);
                mastodon::public::profile(&read).await
            }
            Network::Sandbox => match &self.sandbox {
                Some(clock) => Ok(sandbox_audience::public_profile(
                    &competitor.handle,
                    competitor.created_at,
                    clock.now(),
                )),
                None => Err(PublishError::Misconfigured(
                    "this deployment does not allow the sandbox (stack parameter AllowSandbox)"
                        .into(),
                )),
            },
            other => Err(PublishError::Misconfigured(format!(
                "competitors are read on bluesky and mastodon only; {} has no public API to read {} from",
                other.as_str(),
                competitor.handle
            ))),
        }
    }
}
