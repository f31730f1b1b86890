//! A channel is one account of the brand on one network. Its credentials are write-only: they are
//! stored, used by the publisher, and never returned or logged.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::brand::parse_name;
use super::endpoint::{Endpoint, OutboundPolicy};
use super::queue::{MAX_SLOTS, QueueSlot};
use super::{ChannelId, DomainError, Secret, Validation};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    Mastodon,
    Bluesky,
    Linkedin,
    X,
    Facebook,
    Instagram,
    Threads,
    Telegram,
    /// Palinsesto's own simulated network (`domain::sandbox`): posts stay in the store, an
    /// audience is simulated. For trying the product and building frontends; refused in a
    /// deployment unless it allows it.
    Sandbox,
}

impl Network {
    pub const ALL: [Network; 9] = [
        Self::Mastodon,
        Self::Bluesky,
        Self::Linkedin,
        Self::X,
        Self::Facebook,
        Self::Instagram,
        Self::Threads,
        Self::Telegram,
        Self::Sandbox,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mastodon => "mastodon",
            Self::Bluesky => "bluesky",
            Self::Linkedin => "linkedin",
            Self::X => "x",
            Self::Facebook => "facebook",
            Self::Instagram => "instagram",
            Self::Threads => "threads",
            Self::Telegram => "telegram",
            Self::Sandbox => "sandbox",
        }
    }

    /// The network as a manager names it.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Mastodon => "Mastodon",
            Self::Bluesky => "Bluesky",
            Self::Linkedin => "LinkedIn",
            Self::X => "X",
            Self::Facebook => "Facebook",
            Self::Instagram => "Instagram",
            Self::Threads => "Threads",
            Self::Telegram => "Telegram",
            Self::Sandbox => "Sandbox",
        }
    }

    /// Whether the network is simulated: its figures are kept apart from real ones.
    pub fn is_simulated(self) -> bool {
        self == Self::Sandbox
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|n| n.as_str() == raw)
            .ok_or_else(|| {
                format!(
                    "unknown network {raw:?}: expected one of {}",
                    Self::ALL.map(Self::as_str).join(", ")
                )
            })
    }

    /// The settings a channel on this network must have when it is made.
    fn required_settings(self) -> &'static [&'static str] {
        match self {
            Self::Mastodon => &["instance_url"],
            Self::Telegram => &["chat_id"],
            _ => &[],
        }
    }

    /// The setting that says which account of the login the channel acts as (the page, the
    /// professional account, the author): it may be left out when the channel is made, to be
    /// filled in when it is connected, but nothing is published before it is known.
    pub fn account_setting(self) -> Option<&'static str> {
        match self {
            Self::Linkedin => Some("author"),
            Self::Facebook => Some("page_id"),
            Self::Instagram => Some("ig_user_id"),
            Self::Threads => Some("threads_user_id"),
            _ => None,
        }
    }

    /// The ways an account of this network is connected, the default first (`settings.login`
    /// says which a channel used): a LinkedIn member or the organization pages they administer
    /// (LinkedIn's Community Management API is its own app), Instagram through Instagram Login
    /// or Facebook Login (each with its own Graph host). Empty: one way.
    pub fn logins(self) -> &'static [&'static str] {
        match self {
            Self::Linkedin => &["member", "organization"],
            Self::Instagram => &["instagram", "facebook"],
            _ => &[],
        }
    }

    /// The credential keys of this network's channels. One table, read when credentials are
    /// stored (only `given` and `optional` keys are accepted from people) and when a connector
    /// saves renewed values (only keys of this table are written).
    pub fn credential_keys(self) -> CredentialKeys {
        const OAUTH_RENEWAL: &[&str] = &[
            "refresh_token",
            "client_id",
            "client_secret",
            "access_token_expires_at",
        ];
        match self {
            Self::Mastodon => CredentialKeys::new(&["access_token"], &[], &[]),
            Self::Bluesky => CredentialKeys::new(
                &["identifier", "app_password"],
                &[],
                // The session: kept so that the next process does not log in again.
                &[
                    "access_jwt",
                    "refresh_jwt",
                    "did",
                    "pds_url",
                    "session_service",
                ],
            ),
            Self::Linkedin | Self::X => CredentialKeys::new(&["access_token"], OAUTH_RENEWAL, &[]),
            Self::Facebook => CredentialKeys::new(&["access_token"], &[], &[]),
            Self::Instagram | Self::Threads => {
                CredentialKeys::new(&["access_token"], &[], &["access_token_refreshed_at"])
            }
            Self::Telegram => CredentialKeys::new(&["bot_token"], &[], &[]),
            // Any token: the sandbox checks nothing, but connecting works as on a real network.
            Self::Sandbox => CredentialKeys::new(&["access_token"], &[], &[]),
        }
    }

    /// The server this network's channels talk to when it is set per channel (Mastodon's
    /// instance, Bluesky's service), which credentials are bound to. `None` for networks with
    /// one fixed API.
    fn endpoint_setting(self) -> Option<(&'static str, Option<&'static str>)> {
        match self {
            Self::Mastodon => Some(("instance_url", None)),
            Self::Bluesky => Some(("service_url", Some(BLUESKY_DEFAULT_SERVICE))),
            _ => None,
        }
    }
}

/// Where a Bluesky channel logs in when its settings name no service.
pub const BLUESKY_DEFAULT_SERVICE: &str = "https://bsky.social";

/// The key under which stored credentials record the endpoint they were given for.
const ENDPOINT_KEY: &str = "endpoint";

/// A network's credential keys: what a person must give, what they may give, and what only
/// Palinsesto itself writes (sessions, renewal times), which no request may set.
#[derive(Debug, Clone, Copy)]
pub struct CredentialKeys {
    pub required: &'static [&'static str],
    pub optional: &'static [&'static str],
    pub server: &'static [&'static str],
}

impl CredentialKeys {
    const fn new(
        required: &'static [&'static str],
        optional: &'static [&'static str],
        server: &'static [&'static str],
    ) -> Self {
        Self {
            required,
            optional,
            server,
        }
    }

    fn given(&self, key: &str) -> bool {
        self.required.contains(&key) || self.optional.contains(&key)
    }

    /// Keys a connector may save after renewing access: renewable given keys and server keys.
    fn savable(&self, key: &str) -> bool {
        self.given(key) || self.server.contains(&key)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelStatus {
    Active,
    /// The network refused the stored credentials, or they were dropped; someone must connect
    /// the channel again (`reconnect_reason` says why).
    NeedsReconnect,
    Disabled,
}

/// Why a channel needs to be connected again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReconnectReason {
    /// The network refused the credentials (expired, revoked, missing permission).
    AuthExpired,
    /// The channel's server (instance or service URL) changed, so its credentials were deleted:
    /// they were given for the old server and are never sent to another.
    EndpointChanged,
    /// The channel's server URL is one Palinsesto no longer connects to (plain http, a private
    /// address, user info in the URL): fix the URL, then connect the channel again.
    EndpointRefused,
    /// Someone disconnected it (`DELETE /v1/channels/{id}/connection`): its tokens are revoked
    /// where the network allows, and forgotten.
    Disconnected,
}

impl ReconnectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthExpired => "auth_expired",
            Self::EndpointChanged => "endpoint_changed",
            Self::EndpointRefused => "endpoint_refused",
            Self::Disconnected => "disconnected",
        }
    }
}

impl ChannelStatus {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "active" => Ok(Self::Active),
            "needs_reconnect" => Ok(Self::NeedsReconnect),
            "disabled" => Ok(Self::Disabled),
            other => Err(format!(
                "unknown status {other:?}: expected active, needs_reconnect or disabled"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    pub id: ChannelId,
    pub network: Network,
    pub name: String,
    pub handle: String,
    pub settings: Map<String, Value>,
    pub status: ChannelStatus,
    /// Why the channel is `needs_reconnect`; `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconnect_reason: Option<ReconnectReason>,
    /// Weekly posting times in the brand's zone, for "queue this post".
    #[serde(default)]
    pub queue: Vec<QueueSlot>,
    /// When credentials were last stored; `None` until the channel is connected.
    pub credentials_updated_at: Option<Timestamp>,
    /// The network account a connection flow (OAuth) connected the channel to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<ConnectedAccount>,
    pub version: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The account on the network a channel acts as, as its connection found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConnectedAccount {
    /// The network's id of the account.
    pub id: String,
    pub handle: String,
    /// What the person granted (`read`, `write`, ...).
    pub scopes: Vec<String>,
    /// When the access runs out unless renewed; absent: it does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// Whether Palinsesto renews it before then (a refresh token, a refreshable token); when
    /// not, `channel.expiring` is sent some days before and the channel must be connected again.
    #[serde(default)]
    pub renewable: bool,
}

/// The editable fields of a channel, validated against its network.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelFields {
    pub name: String,
    pub handle: String,
    pub settings: Map<String, Value>,
    pub status: ChannelStatus,
    pub queue: Vec<QueueSlot>,
}

impl ChannelFields {
    /// Sets the queue slots, checking each (`queue.{i}` names the bad one).
    pub fn with_queue(mut self, slots: Vec<(String, String)>) -> Result<Self, DomainError> {
        let mut v = Validation::new();
        if slots.len() > MAX_SLOTS {
            v.add("queue", format!("at most {MAX_SLOTS} slots"));
        }
        let mut queue = Vec::new();
        for (i, (day, time)) in slots.iter().enumerate() {
            if let Some(slot) = v.check(&format!("queue.{i}"), QueueSlot::parse(day, time))
                && !queue.contains(&slot)
            {
                queue.push(slot);
            }
        }
        v.finish()?;
        self.queue = queue;
        Ok(self)
    }

    pub fn parse(
        network: Network,
        name: &str,
        handle: &str,
        settings: Map<String, Value>,
        status: ChannelStatus,
        policy: OutboundPolicy,
    ) -> Result<Self, DomainError> {
        let mut v = Validation::new();
        let name = v.check("name", parse_name(name));
        let handle = v.check("handle", parse_handle(handle));
        for key in network.required_settings() {
            if !settings.contains_key(*key) {
                v.add(
                    format!("settings.{key}"),
                    format!("is required for a {} channel", network.as_str()),
                );
            }
        }
        for (key, value) in &settings {
            let field = format!("settings.{key}");
            if network.endpoint_setting().is_some_and(|(k, _)| k == key) {
                match value.as_str() {
                    Some(url) => {
                        v.check(&field, parse_base_url(url, policy));
                    }
                    None => v.add(field, "must be a URL string"),
                }
            } else if key == "login" && !network.logins().is_empty() {
                if !value
                    .as_str()
                    .is_some_and(|l| network.logins().contains(&l))
                {
                    v.add(
                        field,
                        format!("must be one of {}", network.logins().join(", ")),
                    );
                }
            } else if network == Network::X && key == X_READ_INBOX {
                if !value.is_boolean() {
                    v.add(
                        field,
                        "must be true or false: whether the channel's inbox is read (X bills every post read)",
                    );
                }
            } else if network == Network::Sandbox
                && let Some(why) = super::sandbox::check_setting(key, value)
            {
                v.add(field, why);
            } else if key.len() > 64
                || !matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_))
            {
                v.add(
                    field,
                    "settings are short names with a string, number or boolean value",
                );
            }
        }
        v.finish()?;
        Ok(Self {
            name: name.expect("checked"),
            handle: handle.expect("checked"),
            settings,
            status,
            queue: Vec::new(),
        })
    }
}

/// An X channel's setting that turns its inbox on: `true` reads mentions, replies and the
/// brand's own answers; absent or `false` reads nothing, since X bills every post read (pay per
/// use since 2026, engagement.md "X").
pub const X_READ_INBOX: &str = "read_inbox";

fn parse_handle(raw: &str) -> Result<String, String> {
    let handle = raw.trim();
    match handle.chars().count() {
        0 => Err("must not be empty".into()),
        n if n > 200 => Err(format!("must be at most 200 characters (it has {n})")),
        _ => Ok(handle.to_owned()),
    }
}

/// A network API base URL a person saves: the outbound form check (https, no user info, no
/// refused IP literal), and no query or fragment. Stored without a trailing slash.
pub fn parse_base_url(raw: &str, policy: OutboundPolicy) -> Result<String, String> {
    policy.check_url(raw)?;
    Ok(raw.trim().trim_end_matches('/').to_owned())
}

impl Channel {
    pub fn create(network: Network, fields: ChannelFields, now: Timestamp) -> Self {
        Self {
            id: ChannelId::new(),
            network,
            name: fields.name,
            handle: fields.handle,
            settings: fields.settings,
            status: fields.status,
            reconnect_reason: None,
            queue: fields.queue,
            credentials_updated_at: None,
            account: None,
            version: 0,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn fields(&self) -> ChannelFields {
        ChannelFields {
            name: self.name.clone(),
            handle: self.handle.clone(),
            settings: self.settings.clone(),
            status: self.status,
            queue: self.queue.clone(),
        }
    }

    /// Applies edited fields. When the edit moves a connected channel to another server, its
    /// credentials must go (they were given for the old one): the channel then needs a
    /// reconnect, and this returns `true` so that the caller deletes them in the same write.
    pub fn update(&mut self, fields: ChannelFields, now: Timestamp) -> bool {
        let before = self.endpoint();
        self.name = fields.name;
        self.handle = fields.handle;
        self.settings = fields.settings;
        self.status = fields.status;
        self.queue = fields.queue;
        self.updated_at = now;
        let moved = before != self.endpoint();
        if moved && self.credentials_updated_at.is_some() {
            self.credentials_updated_at = None;
            self.needs_reconnect(ReconnectReason::EndpointChanged, now);
            return true;
        }
        if self.status != ChannelStatus::NeedsReconnect {
            self.reconnect_reason = None;
        }
        false
    }

    /// New credentials reconnect a channel that the network had refused.
    pub fn credentials_stored(&mut self, now: Timestamp) {
        self.credentials_updated_at = Some(now);
        if self.status == ChannelStatus::NeedsReconnect {
            self.status = ChannelStatus::Active;
            self.reconnect_reason = None;
        }
        self.updated_at = now;
    }

    pub fn needs_reconnect(&mut self, reason: ReconnectReason, now: Timestamp) {
        self.status = ChannelStatus::NeedsReconnect;
        self.reconnect_reason = Some(reason);
        self.updated_at = now;
    }

    /// The login the channel was (or is to be) connected through ([`Network::logins`]); `None`
    /// for networks with one.
    pub fn login(&self) -> Option<&str> {
        let logins = self.network.logins();
        let default = logins.first().copied()?;
        Some(
            self.settings
                .get("login")
                .and_then(Value::as_str)
                .filter(|l| logins.contains(l))
                .unwrap_or(default),
        )
    }

    /// The server the channel talks to, for networks where each channel names its own
    /// (Mastodon's instance, Bluesky's service); `Ok(None)` for networks with one fixed API.
    pub fn endpoint(&self) -> Result<Option<Endpoint>, String> {
        let Some((key, default)) = self.network.endpoint_setting() else {
            return Ok(None);
        };
        let raw = match self.settings.get(key).and_then(Value::as_str) {
            Some(url) if !url.trim().is_empty() => url,
            _ => default.ok_or_else(|| format!("the channel's settings.{key} is missing"))?,
        };
        Endpoint::of(raw).map(Some)
    }

    /// Whether the channel may be used with `credentials` now: its server URL passes the
    /// outbound form check and the credentials were given for that server. Otherwise the
    /// channel must be reconnected, for the reason returned, in plain words.
    pub fn check_usable(
        &self,
        credentials: &Credentials,
        policy: OutboundPolicy,
    ) -> Result<(), (ReconnectReason, String)> {
        if let Some(why) = self.endpoint_refusal(policy) {
            return Err((ReconnectReason::EndpointRefused, why));
        }
        credentials
            .check_binding(self)
            .map_err(|why| (ReconnectReason::EndpointChanged, why))
    }

    /// Whether the channel's server URL still passes the outbound form check (URLs saved before
    /// the check existed may not): the reason in plain words when it does not.
    pub fn endpoint_refusal(&self, policy: OutboundPolicy) -> Option<String> {
        let (key, _) = self.network.endpoint_setting()?;
        let url = self.settings.get(key)?.as_str()?;
        policy
            .check_url(url)
            .err()
            .map(|why| format!("the channel's settings.{key} is refused: {why}"))
    }
}

/// A channel's credentials: named secret strings, and the server they were given for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    values: BTreeMap<String, Secret>,
    /// Where these credentials may be sent (networks whose server is a channel setting). Stored
    /// credentials written before the binding existed have none.
    endpoint: Option<Endpoint>,
}

impl Credentials {
    /// Credentials a person gives for a channel on `network`: only the keys of the network's
    /// table; keys Palinsesto writes itself (sessions, renewal times) are refused.
    pub fn parse(network: Network, raw: &Map<String, Value>) -> Result<Self, DomainError> {
        let keys = network.credential_keys();
        let mut v = Validation::new();
        let mut values = BTreeMap::new();
        for key in keys.required {
            if !raw.contains_key(*key) {
                v.add(
                    *key,
                    format!("is required for a {} channel", network.as_str()),
                );
            }
        }
        for (key, value) in raw {
            if keys.server.contains(&key.as_str()) || key == ENDPOINT_KEY {
                v.add(
                    key.as_str(),
                    "is written by Palinsesto itself and cannot be set",
                );
                continue;
            }
            if !keys.given(key) {
                let accepted: Vec<&str> =
                    keys.required.iter().chain(keys.optional).copied().collect();
                v.add(
                    key.as_str(),
                    format!(
                        "is not a credential of a {} channel (it takes {})",
                        network.as_str(),
                        accepted.join(", ")
                    ),
                );
                continue;
            }
            match value.as_str() {
                Some(s) if !s.is_empty() && s.len() <= 8192 => {
                    values.insert(key.clone(), Secret::new(s));
                }
                _ => v.add(
                    key.as_str(),
                    "must be a non-empty string of at most 8192 bytes",
                ),
            }
        }
        v.finish()?;
        Ok(Self {
            values,
            endpoint: None,
        })
    }

    /// Credentials a connection obtained: any key of the network's table (the connector writes
    /// server keys such as renewal times too); other keys are left out.
    pub fn connected(network: Network, values: Vec<(String, Secret)>) -> Self {
        Self {
            values: values
                .into_iter()
                .filter(|(key, _)| Self::may_save(network, key))
                .collect(),
            endpoint: None,
        }
    }

    /// Binds the credentials to the channel's current server: they are only ever sent there.
    pub fn bind_to(mut self, channel: &Channel) -> Result<Self, DomainError> {
        self.endpoint = channel.endpoint().map_err(DomainError::InvalidState)?;
        Ok(self)
    }

    /// Whether these credentials may be used for `channel` as it is now: not when they were
    /// given for another server than the channel's current one.
    pub fn check_binding(&self, channel: &Channel) -> Result<(), String> {
        let (Some(bound), current) = (&self.endpoint, channel.endpoint()) else {
            return Ok(());
        };
        match current {
            Ok(Some(current)) if current == *bound => Ok(()),
            Ok(current) => Err(format!(
                "the channel's credentials were given for {bound}, but the channel now points at {}: they are not sent there; connect the channel again",
                current.map_or_else(|| "no server".to_owned(), |c| c.to_string())
            )),
            Err(why) => Err(format!("{why}; connect the channel again")),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Secret> {
        self.values.get(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Secret)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Credentials as the store keeps them (the binding under its own key).
    pub fn from_stored(mut values: BTreeMap<String, String>) -> Self {
        let endpoint = values
            .remove(ENDPOINT_KEY)
            .map(|e| Endpoint::from_stored(&e));
        Self {
            values: values
                .into_iter()
                .map(|(k, v)| (k, Secret::new(v)))
                .collect(),
            endpoint,
        }
    }

    /// The raw values, for the store adapter only.
    pub fn expose_all(&self) -> BTreeMap<String, String> {
        let mut all: BTreeMap<String, String> = self
            .values
            .iter()
            .map(|(k, v)| (k.clone(), v.expose().to_owned()))
            .collect();
        if let Some(endpoint) = &self.endpoint {
            all.insert(ENDPOINT_KEY.to_owned(), endpoint.as_str().to_owned());
        }
        all
    }

    /// These credentials with the values a connector saved while checking them (a session):
    /// keys of the network's table only, never the binding.
    pub fn with_saved(mut self, network: Network, changes: Vec<(String, Secret)>) -> Self {
        for (key, value) in changes {
            if Self::may_save(network, &key) {
                self.values.insert(key, value);
            }
        }
        self
    }

    /// Whether a connector may save a renewed value under `key` for a channel on `network`:
    /// keys of the network's table only, never the binding.
    pub fn may_save(network: Network, key: &str) -> bool {
        network.credential_keys().savable(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn mastodon_needs_an_instance_url() {
        let err = ChannelFields::parse(
            Network::Mastodon,
            "Acme",
            "@acme",
            Map::new(),
            ChannelStatus::Active,
            OutboundPolicy::PUBLIC_ONLY,
        )
        .unwrap_err();
        assert_eq!(
            err,
            DomainError::invalid(
                "settings.instance_url",
                "is required for a mastodon channel"
            )
        );
        let ok = ChannelFields::parse(
            Network::Mastodon,
            "Acme",
            "@acme",
            map(json!({"instance_url": "https://mastodon.social/"})),
            ChannelStatus::Active,
            OutboundPolicy::PUBLIC_ONLY,
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn url_settings_must_be_urls() {
        let err = ChannelFields::parse(
            Network::Bluesky,
            "Acme",
            "acme.bsky.social",
            map(json!({"service_url": "ftp://x"})),
            ChannelStatus::Active,
            OutboundPolicy::PUBLIC_ONLY,
        )
        .unwrap_err();
        assert!(matches!(err, DomainError::Invalid(ref e) if e[0].field == "settings.service_url"));
    }

    #[test]
    fn credentials_are_checked_per_network_and_redacted() {
        let creds = Credentials::parse(
            Network::Bluesky,
            &map(json!({"identifier": "a", "app_password": "s3cret"})),
        )
        .unwrap();
        assert!(!format!("{creds:?}").contains("s3cret"));
        let err =
            Credentials::parse(Network::Bluesky, &map(json!({"identifier": "a"}))).unwrap_err();
        assert_eq!(
            err,
            DomainError::invalid("app_password", "is required for a bluesky channel")
        );
    }

    #[test]
    fn saved_server_urls_pass_the_outbound_form_check() {
        for bad in [
            "http://mastodon.example",
            "https://127.0.0.1",
            "https://[::1]:8443",
            "https://2130706433",
            "https://169.254.169.254",
            "https://me:pw@mastodon.example",
        ] {
            let err = ChannelFields::parse(
                Network::Mastodon,
                "Acme",
                "@acme",
                map(json!({"instance_url": bad})),
                ChannelStatus::Active,
                OutboundPolicy::PUBLIC_ONLY,
            )
            .unwrap_err();
            assert!(
                matches!(err, DomainError::Invalid(ref e) if e[0].field == "settings.instance_url"),
                "{bad}: {err:?}"
            );
        }
        let local = ChannelFields::parse(
            Network::Mastodon,
            "Acme",
            "@acme",
            map(json!({"instance_url": "http://127.0.0.1:9000"})),
            ChannelStatus::Active,
            OutboundPolicy::PRIVATE_ALLOWED,
        );
        assert!(local.is_ok());
    }

    #[test]
    fn credentials_take_only_the_keys_of_their_network() {
        let err = Credentials::parse(
            Network::Mastodon,
            &map(json!({"access_token": "t", "instance_url": "https://evil.example"})),
        )
        .unwrap_err();
        assert!(matches!(err, DomainError::Invalid(ref e) if e[0].field == "instance_url"));
        for server_key in ["pds_url", "access_jwt", "refresh_jwt", "did", "endpoint"] {
            let mut raw = json!({"identifier": "a", "app_password": "p"});
            raw[server_key] = json!("https://evil.example");
            let err = Credentials::parse(Network::Bluesky, &map(raw)).unwrap_err();
            assert_eq!(
                err,
                DomainError::invalid(
                    server_key,
                    "is written by Palinsesto itself and cannot be set"
                ),
                "{server_key}"
            );
        }
        let x = Credentials::parse(
            Network::X,
            &map(json!({
                "access_token": "a", "refresh_token": "r", "client_id": "c",
                "client_secret": "s", "access_token_expires_at": "1900000000"
            })),
        );
        assert!(x.is_ok());
        assert!(Credentials::may_save(Network::Bluesky, "pds_url"));
        assert!(Credentials::may_save(Network::X, "refresh_token"));
        assert!(!Credentials::may_save(Network::Mastodon, "instance_url"));
        assert!(!Credentials::may_save(Network::Bluesky, "endpoint"));
    }

    fn mastodon_channel(url: &str) -> Channel {
        let fields = ChannelFields::parse(
            Network::Mastodon,
            "Acme",
            "@acme",
            map(json!({"instance_url": url})),
            ChannelStatus::Active,
            OutboundPolicy::PUBLIC_ONLY,
        )
        .unwrap();
        Channel::create(Network::Mastodon, fields, Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn credentials_are_bound_to_the_server_they_were_given_for() {
        let mut channel = mastodon_channel("https://mastodon.example");
        let creds = Credentials::parse(Network::Mastodon, &map(json!({"access_token": "t"})))
            .unwrap()
            .bind_to(&channel)
            .unwrap();
        channel.credentials_stored(Timestamp::UNIX_EPOCH);
        // Stored and read back, the binding survives.
        let creds = Credentials::from_stored(creds.expose_all());
        assert!(creds.check_binding(&channel).is_ok());

        // The same server written differently is the same server.
        let mut same = channel.fields();
        same.settings = map(json!({"instance_url": "https://MASTODON.example.:443/"}));
        assert!(!channel.update(same, Timestamp::UNIX_EPOCH));
        assert!(creds.check_binding(&channel).is_ok());
        assert_eq!(channel.status, ChannelStatus::Active);

        // Another server: the credentials must go and the channel waits for a reconnect.
        let mut moved = channel.fields();
        moved.settings = map(json!({"instance_url": "https://evil.example"}));
        assert!(channel.update(moved, Timestamp::UNIX_EPOCH));
        assert_eq!(channel.status, ChannelStatus::NeedsReconnect);
        assert_eq!(
            channel.reconnect_reason,
            Some(ReconnectReason::EndpointChanged)
        );
        assert_eq!(channel.credentials_updated_at, None);
        let err = creds.check_binding(&channel).unwrap_err();
        assert!(err.contains("https://mastodon.example:443"), "{err}");
        assert!(err.contains("https://evil.example:443"), "{err}");

        // A port is part of the server too.
        let other_port = mastodon_channel("https://mastodon.example:8443");
        assert!(creds.check_binding(&other_port).is_err());
    }
}
