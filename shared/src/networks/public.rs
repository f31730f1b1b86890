//! Competitors' public accounts, read without credentials: Bluesky through its public AppView,
//! Mastodon through the account's own server.

use async_trait::async_trait;

use super::PublishError;
use crate::domain::{Competitor, PublicProfile};

/// The default public Bluesky AppView (overridable by `BLUESKY_APPVIEW_BASE`).
pub const BLUESKY_PUBLIC_APPVIEW: &str = "https://public.api.bsky.app";

/// Reads a competitor's public account and its recent posts.
#[async_trait]
pub trait PublicAccounts: Send + Sync {
    async fn profile(&self, competitor: &Competitor) -> Result<PublicProfile, PublishError>;
}
