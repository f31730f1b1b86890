//! A channel is one account of the brand on one network. Its credentials are write-only: they are
//! stored, used by the publisher, and never returned or logged.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::brand::parse_name;
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
}

impl Network {
    pub const ALL: [Network; 8] = [
        Self::Mastodon,
        Self::Bluesky,
        Self::Linkedin,
        Self::X,
        Self::Facebook,
        Self::Instagram,
        Self::Threads,
        Self::Telegram,
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
        }
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

    /// The settings a channel on this network must have, and which of them are URLs.
    fn required_settings(self) -> &'static [&'static str] {
        match self {
            Self::Mastodon => &["instance_url"],
            Self::Linkedin => &["author"],
            Self::Facebook => &["page_id"],
            Self::Instagram => &["ig_user_id"],
            Self::Threads => &["threads_user_id"],
            Self::Telegram => &["chat_id"],
            Self::Bluesky | Self::X => &[],
        }
    }

    fn url_settings(self) -> &'static [&'static str] {
        match self {
            Self::Mastodon => &["instance_url"],
            Self::Bluesky => &["service_url"],
            _ => &[],
        }
    }

    /// The credential fields the publisher needs for this network.
    pub fn credential_keys(self) -> &'static [&'static str] {
        match self {
            Self::Bluesky => &["identifier", "app_password"],
            Self::Telegram => &["bot_token"],
            _ => &["access_token"],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelStatus {
    Active,
    /// The network refused the stored credentials; someone must connect the channel again.
    NeedsReconnect,
    Disabled,
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
    /// Weekly posting times in the brand's zone, for "queue this post".
    #[serde(default)]
    pub queue: Vec<QueueSlot>,
    /// When credentials were last stored; `None` until the channel is connected.
    pub credentials_updated_at: Option<Timestamp>,
    pub version: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
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
            if network.url_settings().contains(&key.as_str()) {
                match value.as_str() {
                    Some(url) => {
                        v.check(&field, parse_base_url(url));
                    }
                    None => v.add(field, "must be a URL string"),
                }
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

fn parse_handle(raw: &str) -> Result<String, String> {
    let handle = raw.trim();
    match handle.chars().count() {
        0 => Err("must not be empty".into()),
        n if n > 200 => Err(format!("must be at most 200 characters (it has {n})")),
        _ => Ok(handle.to_owned()),
    }
}

/// A network API base URL: absolute http or https, no query or fragment.
pub fn parse_base_url(raw: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(raw).map_err(|_| format!("{raw:?} is not an absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!("{raw:?} must be an http or https URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{raw:?} must not have a query or fragment"));
    }
    Ok(raw.trim_end_matches('/').to_owned())
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
            queue: fields.queue,
            credentials_updated_at: None,
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

    pub fn update(&mut self, fields: ChannelFields, now: Timestamp) {
        self.name = fields.name;
        self.handle = fields.handle;
        self.settings = fields.settings;
        self.status = fields.status;
        self.queue = fields.queue;
        self.updated_at = now;
    }

    /// New credentials reconnect a channel that the network had refused.
    pub fn credentials_stored(&mut self, now: Timestamp) {
        self.credentials_updated_at = Some(now);
        if self.status == ChannelStatus::NeedsReconnect {
            self.status = ChannelStatus::Active;
        }
        self.updated_at = now;
    }
}

/// A channel's credentials: named secret strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials(BTreeMap<String, Secret>);

impl Credentials {
    pub fn parse(network: Network, raw: &Map<String, Value>) -> Result<Self, DomainError> {
        let mut v = Validation::new();
        let mut values = BTreeMap::new();
        for key in network.credential_keys() {
            if !raw.contains_key(*key) {
                v.add(
                    *key,
                    format!("is required for a {} channel", network.as_str()),
                );
            }
        }
        for (key, value) in raw {
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
        Ok(Self(values))
    }

    pub fn get(&self, key: &str) -> Option<&Secret> {
        self.0.get(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Secret)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn from_stored(values: BTreeMap<String, String>) -> Self {
        Self(
            values
                .into_iter()
                .map(|(k, v)| (k, Secret::new(v)))
                .collect(),
        )
    }

    /// The raw values, for the store adapter only.
    pub fn expose_all(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|(k, v)| (k.clone(), v.expose().to_owned()))
            .collect()
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
}
