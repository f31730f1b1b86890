//! Connecting a channel by OAuth, as rules: the secrets of a flow (a one-time start link, the
//! `state` sent to the network, the cookie that binds the flow to the browser that started it,
//! the PKCE verifier), what is stored of them (hashes only, for the link, the state and the
//! cookie), and the pending connection the callback leaves for the person to confirm.
//!
//! A flow: `POST /v1/channels/{id}/connect` makes a start link; opening it in a browser sets the
//! cookie and sends the browser to the network with the state; the network sends it back to
//! the callback with a code, which is exchanged for a token; the token is sealed into a pending
//! connection, and nothing changes on the channel until the same person confirms it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::channel::Network;
use super::ids::{BrandId, ChannelId};
use crate::sealing::Sealed;

/// How long a start link, a state and the browser's cookie live.
pub const FLOW_LIFETIME: SignedDuration = SignedDuration::from_mins(15);
/// How long a pending connection waits for its confirmation.
pub const PENDING_LIFETIME: SignedDuration = SignedDuration::from_hours(1);
/// The cookie binding a flow to the browser that started it. `__Host-`: only over https, for
/// this host alone, path `/`.
pub const FLOW_COOKIE: &str = "__Host-palinsesto-connect";

/// A random secret of 32 bytes, URL-safe: start links, states, cookies, PKCE verifiers.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored of a secret: its SHA-256, hex. A leaked table gives no usable link or state.
pub fn secret_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The PKCE S256 challenge of `verifier` (RFC 7636): BASE64URL(SHA256(verifier)).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Who started a flow, for which channel, where: kept under the start link's hash until the
/// link is opened, then under the state's hash until the network calls back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowStart {
    pub brand: BrandId,
    pub channel: ChannelId,
    /// The token subject of the person who started it: only they may confirm.
    pub user: String,
    pub network: Network,
    /// The server the channel is on (Mastodon's instance), as the channel's settings say; `None`
    /// for networks with one API.
    #[serde(default)]
    pub instance: Option<String>,
    /// The login (`Network::logins`): a LinkedIn member or organization, Instagram through
    /// Instagram or Facebook Login.
    #[serde(default)]
    pub login: Option<String>,
    pub expires_at: Timestamp,
}

/// A flow under way at the network: its start, the cookie that must come back with the state,
/// and what the code exchange needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowState {
    pub start: FlowStart,
    pub cookie_hash: String,
    /// `None` where the server does not support PKCE (Mastodon before 4.3).
    pub pkce_verifier: Option<String>,
    pub client_id: String,
    pub redirect_uri: String,
    /// The scopes asked for.
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// An account the person may connect the channel to, with its token sealed under the channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub account_id: String,
    pub handle: String,
    pub name: String,
    pub avatar: Option<String>,
    pub scopes: Vec<String>,
    /// The credentials to store if this account is chosen, sealed under the brand and the
    /// channel: confirming copies them as they are, nothing opens them on the way.
    pub sealed: Sealed,
    /// The settings confirming fills in (the page, the author, the login used).
    #[serde(default)]
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// When the access runs out unless renewed.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    #[serde(default)]
    pub renewable: bool,
    /// Who granted it, as the app's deauthorize and data-deletion callbacks name them.
    #[serde(default)]
    pub grant: Option<GrantOwner>,
}

/// The person behind a connection, as an app's deauthorize and data-deletion callbacks name
/// them (Meta's apps: `facebook`, `instagram`, `threads`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantOwner {
    /// The deployment's app (`OAuthApps::NAMES`).
    pub app: String,
    /// The person's id for that app.
    pub user_id: String,
}

/// A channel connected through a grant, found again by the grant's owner: kept in a global
/// lookup so a deauthorize callback reaches every brand's channels the person connected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantedChannel {
    pub brand: BrandId,
    pub channel: ChannelId,
    /// The connection's time (the channel's `credentials_updated_at` when it was confirmed):
    /// a later connection is not this grant's.
    pub connected_at: Timestamp,
}

/// How long a data-deletion request's status stays readable at its URL.
pub const DELETION_STATUS_LIFETIME: SignedDuration = SignedDuration::from_hours(90 * 24);

/// What a data-deletion callback did, shown at its status URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionRecord {
    pub code: String,
    pub app: String,
    pub channels: usize,
    pub at: Timestamp,
}

/// What a callback left for the person to confirm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingConnection {
    pub id: String,
    pub channel: ChannelId,
    pub user: String,
    pub network: Network,
    #[serde(default)]
    pub instance: Option<String>,
    pub candidates: Vec<Candidate>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// How long before a renewable access runs out the connection worker renews it.
pub const RENEW_AHEAD: SignedDuration = SignedDuration::from_hours(7 * 24);
/// How long before an access that cannot be renewed runs out the brand hears of it
/// (`channel.expiring`).
pub const EXPIRING_NOTICE: SignedDuration = SignedDuration::from_hours(7 * 24);
/// How long the worker waits before trying a failed revocation or renewal again.
pub const WORK_RETRY: SignedDuration = SignedDuration::from_mins(30);
/// How many times the worker tries a revocation before it forgets the tokens anyway.
pub const MAX_REVOKE_ATTEMPTS: u32 = 5;

/// What the connection worker (the only code that opens a connection's tokens besides the
/// connectors) has to do for a channel, at `due`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionWork {
    pub channel: ChannelId,
    pub task: ConnectionTask,
    pub due: Timestamp,
    #[serde(default)]
    pub attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConnectionTask {
    /// Revoke the channel's tokens at the network and forget them: those stored when the
    /// disconnect was asked for (`stored_at`), not any stored since.
    Disconnect {
        requested_by: String,
        stored_at: Option<Timestamp>,
    },
    /// Renew the access ahead of `expires_at`, or, when it cannot be renewed, tell the brand
    /// before it runs out and mark the channel once it has.
    Watch {
        expires_at: Timestamp,
        renewable: bool,
        #[serde(default)]
        warned: bool,
    },
}

/// The key of a [`ConnectionTask::Watch`] (one task of each kind per channel).
pub const WATCH: &str = "WATCH";
/// The key of a [`ConnectionTask::Disconnect`].
pub const DISCONNECT: &str = "DISCONNECT";

impl ConnectionTask {
    pub fn key(&self) -> &'static str {
        match self {
            Self::Disconnect { .. } => DISCONNECT,
            Self::Watch { .. } => WATCH,
        }
    }
}

impl ConnectionWork {
    /// The watch of an access that runs out at `expires_at`: renewed a week ahead, or the
    /// brand told a week ahead.
    pub fn watch(channel: ChannelId, expires_at: Timestamp, renewable: bool) -> Self {
        let lead = if renewable {
            RENEW_AHEAD
        } else {
            EXPIRING_NOTICE
        };
        Self {
            channel,
            task: ConnectionTask::Watch {
                expires_at,
                renewable,
                warned: false,
            },
            due: expires_at - lead,
            attempts: 0,
        }
    }
}

/// An OAuth client Palinsesto registered on a server (a Mastodon instance registers apps on
/// request): kept once per normalized host and reused by every brand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthApp {
    pub client_id: String,
    /// An app's secret, which grants nothing without a person's authorization code.
    pub client_secret: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub registered_at: Timestamp,
}

/// How a callback ended, as the frontend is told it (a code, never a token or a network's own
/// words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A pending connection waits for confirmation.
    Pending,
    /// The person said no on the network's page.
    Denied,
    /// The state is unknown, used or expired: start again.
    Expired,
    /// The state came back without the cookie of the browser that started the flow.
    WrongBrowser,
    /// The state was issued for another network or server.
    Mismatch,
    /// The network refused the code or could not be reached.
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Denied => "denied",
            Self::Expired => "expired",
            Self::WrongBrowser => "wrong_browser",
            Self::Mismatch => "mismatch",
            Self::Failed => "failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_stored_only_as_hashes() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43, "32 bytes, base64url");
        assert_eq!(secret_hash(&a), secret_hash(&a));
        assert_eq!(secret_hash(&a).len(), 64);
        assert!(!secret_hash(&a).contains(&a));
    }

    #[test]
    fn the_pkce_challenge_is_rfc_7636_s256() {
        // RFC 7636, appendix B
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
