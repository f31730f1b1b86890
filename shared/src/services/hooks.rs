//! Inbound webhooks: each network's proof checked on the raw body, in constant time, before
//! anything is parsed; then the network's `ParsePush`, the account lookup, and the queue. Nothing
//! here opens credentials or calls a network: the inbox worker finishes the work
//! (`services::inbox_push`). The hook function (and the local runner's hook routes) run this.
//!
//! - Meta (Facebook Pages, Instagram, Threads): `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of
//!   the body keyed by the app secret>`; the subscribe handshake (`hub.mode=subscribe`,
//!   `hub.verify_token`, `hub.challenge`) answers the challenge when the token is the
//!   deployment's.
//! - X: the CRC (`crc_token` -> `sha256=` + base64 HMAC-SHA256 keyed by the consumer secret) and
//!   `x-twitter-webhooks-signature: sha256=<base64 HMAC-SHA256 of the body>`.
//! - LinkedIn: `challengeCode` -> hex HMAC-SHA256 keyed by the client secret; `X-LI-Signature`,
//!   the hex HMAC-SHA256 of `"hmacsha256=" + body` (LinkedIn's "Webhooks" page, read
//!   2026-12-06; a value sent with the `hmacsha256=` prefix is accepted too).
//! - Telegram: one hook per channel, `/hooks/telegram/{hook id}`, both the id and the
//!   `secret_token` random and stored as hashes; `X-Telegram-Bot-Api-Secret-Token` must hash to
//!   the stored one.
//!
//! An account nobody here connected is answered 200 and dropped, exactly as a known one, so a
//! caller learns nothing about which accounts are connected (and the network stops retrying).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::ServiceError;
use crate::clock::Clock;
use crate::domain::{DomainError, Network, Secret};
use crate::networks::Connectors;
use crate::networks::connect::OAuthApps;
use crate::store::Store;
use crate::store::hooks::{AccountChannel, QueuedDelivery, secret_hash};

/// The largest delivery taken (413 beyond).
pub const MAX_HOOK_BODY: usize = 1024 * 1024;

/// The OAuth app whose secret signs X's deliveries: X's consumer key and secret (OAuth 1.0a
/// "API key and secret"), which are not the OAuth 2.0 client's.
pub const X_CONSUMER_APP: &str = "x_consumer";

/// The deployment's settings of the inbound webhooks.
#[derive(Debug, Clone, Default)]
pub struct HookSettings {
    /// The token Meta's subscribe handshake must bring (`META_VERIFY_TOKEN`); without one the
    /// handshake is refused.
    pub meta_verify_token: Option<Secret>,
    /// This deployment's public address, under which `/hooks/...` are served
    /// (`PUBLIC_BASE_URL`); without it no subscription is made and channels are polled.
    pub public_base: Option<String>,
    /// The id of the deployment's webhook at X (`X_WEBHOOK_ID`), registered once per app.
    pub x_webhook_id: Option<String>,
    /// LinkedIn's developer application id (`LINKEDIN_APPLICATION_ID`), which event
    /// subscriptions name.
    pub linkedin_application_id: Option<String>,
}

impl HookSettings {
    /// `META_VERIFY_TOKEN`, `PUBLIC_BASE_URL`, `X_WEBHOOK_ID`, `LINKEDIN_APPLICATION_ID`.
    pub fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        Self {
            meta_verify_token: var("META_VERIFY_TOKEN").map(Secret::new),
            public_base: var("PUBLIC_BASE_URL").map(|v| v.trim_end_matches('/').to_owned()),
            x_webhook_id: var("X_WEBHOOK_ID"),
            linkedin_application_id: var("LINKEDIN_APPLICATION_ID"),
        }
    }

    /// Where `network` pushes: `{public base}/hooks/{meta|linkedin|x}`.
    pub fn hook_url(&self, network: Network) -> Option<String> {
        let route = match network {
            Network::Facebook | Network::Instagram | Network::Threads => "meta",
            Network::Linkedin => "linkedin",
            Network::X => "x",
            _ => return None,
        };
        Some(format!("{}/hooks/{route}", self.public_base.as_deref()?))
    }

    /// A Telegram channel's own hook URL.
    pub fn telegram_url(&self, hook_id: &str) -> Option<String> {
        Some(format!(
            "{}/hooks/telegram/{hook_id}",
            self.public_base.as_deref()?
        ))
    }
}

/// The app-wide hooks, one per network's app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppHook {
    Meta,
    Linkedin,
    X,
}

impl AppHook {
    /// The networks whose deliveries come to this hook, each tried in turn by its parser.
    fn networks(self) -> &'static [Network] {
        match self {
            Self::Meta => &[Network::Facebook, Network::Instagram, Network::Threads],
            Self::Linkedin => &[Network::Linkedin],
            Self::X => &[Network::X],
        }
    }

    /// The apps whose secrets may sign this hook's deliveries.
    fn apps(self) -> &'static [&'static str] {
        match self {
            Self::Meta => &["facebook", "instagram", "threads"],
            Self::Linkedin => &["linkedin_community", "linkedin"],
            Self::X => &[X_CONSUMER_APP],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Meta => "Meta",
            Self::Linkedin => "LinkedIn",
            Self::X => "X",
        }
    }
}

/// What a verified delivery became.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    /// Deliveries queued for the inbox worker (one per known account, or more when split).
    pub queued: usize,
    /// Accounts nobody here connected: dropped.
    pub dropped: usize,
}

#[derive(Clone)]
pub struct HookService {
    store: Store,
    clock: Arc<dyn Clock>,
    connectors: Connectors,
    apps: OAuthApps,
    settings: Arc<HookSettings>,
}

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Equal byte strings, in time that depends on their length only. The workspace has no
/// `subtle`; HMACs are compared with `Mac::verify_slice`, which is constant-time, and this is
/// for the one comparison that is not an HMAC (the hash of Telegram's secret token).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unauthorized(why: &str) -> ServiceError {
    ServiceError::BadSignature(format!("the delivery's signature does not hold: {why}"))
}

impl HookService {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        connectors: Connectors,
        apps: OAuthApps,
        settings: HookSettings,
    ) -> Self {
        Self {
            store,
            clock,
            connectors,
            apps,
            settings: Arc::new(settings),
        }
    }

    /// The secrets of the apps that may sign `hook`'s deliveries; none configured: 404.
    fn secrets(&self, hook: AppHook) -> Result<Vec<&Secret>, ServiceError> {
        let secrets: Vec<&Secret> = hook
            .apps()
            .iter()
            .filter_map(|name| self.apps.get(name))
            .map(|app| &app.client_secret)
            .collect();
        if secrets.is_empty() {
            return Err(ServiceError::NotFound(
                "webhook (this deployment has no app for that network)",
            ));
        }
        Ok(secrets)
    }

    /// Meta's subscribe handshake: the challenge, when the token is the deployment's.
    pub fn meta_handshake(
        &self,
        mode: Option<&str>,
        token: Option<&str>,
        challenge: Option<&str>,
    ) -> Result<String, ServiceError> {
        let expected = self.settings.meta_verify_token.as_ref().ok_or_else(|| {
            DomainError::Forbidden(
                "this deployment has no Meta verify token (META_VERIFY_TOKEN)".into(),
            )
        })?;
        let (Some("subscribe"), Some(token), Some(challenge)) = (mode, token, challenge) else {
            return Err(ServiceError::BadRequest(
                "a Meta handshake has hub.mode=subscribe, hub.verify_token and hub.challenge"
                    .into(),
            ));
        };
        // Both sides hashed first, so the comparison's time says nothing of the token's length.
        let same = constant_time_eq(
            secret_hash(token).as_bytes(),
            secret_hash(expected.expose()).as_bytes(),
        );
        if !same {
            return Err(
                DomainError::Forbidden("the verify token is not this deployment's".into()).into(),
            );
        }
        Ok(challenge.to_owned())
    }

    /// X's challenge-response check: `sha256=` + base64 HMAC-SHA256 of `crc_token`.
    pub fn x_crc(&self, crc_token: &str) -> Result<String, ServiceError> {
        let secret = self.secrets(AppHook::X)?[0];
        let mut m = mac(secret.expose().as_bytes());
        m.update(crc_token.as_bytes());
        Ok(format!(
            "sha256={}",
            STANDARD.encode(m.finalize().into_bytes())
        ))
    }

    /// LinkedIn's validation: hex HMAC-SHA256 of `challengeCode` keyed by the client secret
    /// (the Community Management app's, which the webhook is registered on, first).
    pub fn linkedin_challenge(&self, code: &str) -> Result<String, ServiceError> {
        let secret = self.secrets(AppHook::Linkedin)?[0];
        let mut m = mac(secret.expose().as_bytes());
        m.update(code.as_bytes());
        Ok(hex(&m.finalize().into_bytes()))
    }

    /// Checks `signature` (the network's header) on the raw `body`, with each app that may have
    /// signed it.
    fn verify(
        &self,
        hook: AppHook,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<(), ServiceError> {
        let secrets = self.secrets(hook)?;
        let signature = signature
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| unauthorized("the signature header is missing"))?;
        let (prefix, digest) = match hook {
            AppHook::Meta => (None, signature.strip_prefix("sha256=").and_then(unhex)),
            AppHook::X => (
                None,
                signature
                    .strip_prefix("sha256=")
                    .and_then(|b| STANDARD.decode(b.trim()).ok()),
            ),
            AppHook::Linkedin => (
                Some(b"hmacsha256=".as_slice()),
                unhex(signature.strip_prefix("hmacsha256=").unwrap_or(signature)),
            ),
        };
        let digest = digest.ok_or_else(|| unauthorized("the signature header is malformed"))?;
        for secret in secrets {
            let mut m = mac(secret.expose().as_bytes());
            if let Some(prefix) = prefix {
                m.update(prefix);
            }
            m.update(body);
            if m.verify_slice(&digest).is_ok() {
                return Ok(());
            }
        }
        Err(unauthorized(
            "it was not made with this deployment's app secret",
        ))
    }

    /// A delivery to an app-wide hook: verified, parsed, and queued for the accounts connected
    /// here.
    pub async fn receive(
        &self,
        hook: AppHook,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<Received, ServiceError> {
        self.verify(hook, signature, body)?;
        let mut refusals = Vec::new();
        for network in hook.networks() {
            let Some(parser) = self.connectors.push_parser(*network) else {
                continue;
            };
            match parser.parse(body) {
                Ok(pushed) => return self.queue(*network, pushed, None).await,
                Err(why) => refusals.push(why),
            }
        }
        if refusals.is_empty() {
            // Verified, but nothing here reads this network's deliveries yet: taken, not kept.
            tracing::info!(
                hook = hook.name(),
                "a verified delivery has no parser here; dropped"
            );
            return Ok(Received::default());
        }
        Err(ServiceError::BadRequest(refusals.join("; ")))
    }

    /// A delivery to a Telegram channel's own hook. An unknown hook id is answered as a known
    /// one would be, and nothing is kept.
    pub async fn receive_telegram(
        &self,
        hook_id: &str,
        secret: Option<&str>,
        body: &[u8],
    ) -> Result<Received, ServiceError> {
        let Some(hook) = self.store.telegram_hook(&secret_hash(hook_id)).await? else {
            return Ok(Received {
                queued: 0,
                dropped: 1,
            });
        };
        let given = secret
            .map(secret_hash)
            .ok_or_else(|| unauthorized("the X-Telegram-Bot-Api-Secret-Token header is missing"))?;
        if !constant_time_eq(given.as_bytes(), hook.secret_hash.as_bytes()) {
            return Err(unauthorized("the secret token is not this hook's"));
        }
        let Some(parser) = self.connectors.push_parser(Network::Telegram) else {
            return Ok(Received::default());
        };
        let pushed = parser.parse(body).map_err(ServiceError::BadRequest)?;
        let channel = AccountChannel {
            brand: hook.brand,
            channel: hook.channel,
        };
        self.queue(Network::Telegram, pushed, Some(channel)).await
    }

    async fn queue(
        &self,
        network: Network,
        pushed: Vec<crate::networks::Pushed>,
        channel: Option<AccountChannel>,
    ) -> Result<Received, ServiceError> {
        let now = self.clock.now();
        let mut received = Received::default();
        let mut deliveries = Vec::new();
        for pushed in pushed {
            if channel.is_none()
                && self
                    .store
                    .account_channels(network, &pushed.account)
                    .await?
                    .is_empty()
            {
                received.dropped += 1;
                continue;
            }
            deliveries.extend(QueuedDelivery::split(network, pushed, channel.clone(), now));
        }
        self.store.queue_deliveries(&deliveries).await?;
        received.queued = deliveries.len();
        Ok(received)
    }
}
