//! Competitors: public accounts on Bluesky or Mastodon a brand watches. They are read through the
//! networks' public APIs, without credentials, and snapshotted like the brand's own channels.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::endpoint::OutboundPolicy;
use super::{CompetitorId, DomainError, Network, Validation};

/// The networks whose public accounts can be read without credentials.
pub const COMPETITOR_NETWORKS: [Network; 3] =
    [Network::Bluesky, Network::Mastodon, Network::Sandbox];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Competitor {
    pub id: CompetitorId,
    pub network: Network,
    /// Bluesky: a handle (`brand.bsky.social`) or DID. Mastodon: `user@server.example`.
    pub handle: String,
    /// The name shown in reports.
    pub name: String,
    /// Mastodon: the server's base URL (`https://server.example` unless set). Bluesky: the
    /// public AppView's base URL, when not the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    pub version: u64,
    pub created_at: Timestamp,
}

/// A competitor's editable fields, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompetitorFields {
    pub network: Network,
    pub handle: String,
    pub name: String,
    pub server: Option<String>,
}

impl CompetitorFields {
    pub fn parse(
        network: Network,
        handle: &str,
        name: Option<&str>,
        server: Option<&str>,
    ) -> Result<Self, DomainError> {
        let mut v = Validation::new();
        if !COMPETITOR_NETWORKS.contains(&network) {
            v.add(
                "network",
                format!(
                    "competitors can be watched on bluesky and mastodon (public APIs) and on the sandbox; {} has no public API to read them",
                    network.as_str()
                ),
            );
        }
        let handle = handle.trim().trim_start_matches('@').to_owned();
        let server = server.map(str::trim).filter(|s| !s.is_empty());
        match network {
            Network::Mastodon => match handle.split_once('@') {
                Some((user, domain)) if !user.is_empty() && !domain.is_empty() => {}
                _ if server.is_some() && !handle.is_empty() && !handle.contains('@') => {}
                _ => v.add(
                    "handle",
                    "a Mastodon handle is user@server.example (or user, with server set)",
                ),
            },
            Network::Sandbox if handle.is_empty() || handle.contains(char::is_whitespace) => {
                v.add("handle", "a sandbox handle is any name without spaces")
            }
            _ if handle.is_empty() || handle.contains(char::is_whitespace) => v.add(
                "handle",
                "a Bluesky handle is like brand.bsky.social, or a did:",
            ),
            _ => {}
        }
        if let Some(s) = server
            && url::Url::parse(s).is_err()
        {
            v.add("server", "must be a URL starting with https://");
        }
        let name = match name.map(str::trim) {
            Some(n) if n.chars().count() > super::brand::MAX_NAME_CHARS => {
                v.add(
                    "name",
                    format!(
                        "must be at most {} characters",
                        super::brand::MAX_NAME_CHARS
                    ),
                );
                String::new()
            }
            Some(n) if !n.is_empty() => n.to_owned(),
            _ => handle.clone(),
        };
        v.finish()?;
        Ok(Self {
            network,
            handle,
            name,
            server: server.map(|s| s.trim_end_matches('/').to_owned()),
        })
    }
}

impl CompetitorFields {
    /// The outbound form check of the server the competitor is read from (the `server` field,
    /// or the domain of a Mastodon handle): https, no user info, no refused address.
    pub fn check_server(&self, policy: OutboundPolicy) -> Result<(), DomainError> {
        let (field, url) = match (&self.server, self.handle.split_once('@')) {
            (Some(server), _) => ("server", server.clone()),
            (None, Some((_, domain))) if self.network == Network::Mastodon => {
                ("handle", format!("https://{domain}"))
            }
            _ => return Ok(()),
        };
        policy
            .check_url(&url)
            .map(|_| ())
            .map_err(|why| DomainError::invalid(field, why))
    }
}

impl Competitor {
    pub fn new(fields: CompetitorFields, now: Timestamp) -> Self {
        Self {
            id: CompetitorId::new(),
            network: fields.network,
            handle: fields.handle,
            name: fields.name,
            server: fields.server,
            version: 0,
            created_at: now,
        }
    }

    /// Where this competitor's public API answers: the configured server, else Mastodon's server
    /// from the handle's domain, else `default_base` (Bluesky's public AppView).
    pub fn api_base(&self, default_base: &str) -> String {
        if let Some(server) = &self.server {
            return server.clone();
        }
        match (self.network, self.handle.split_once('@')) {
            (Network::Mastodon, Some((_, domain))) => format!("https://{domain}"),
            _ => default_base.trim_end_matches('/').to_owned(),
        }
    }

    /// The account name to look up on its server (Mastodon: the part before `@`).
    pub fn account_name(&self) -> &str {
        match self.network {
            Network::Mastodon => self.handle.split('@').next().unwrap_or(&self.handle),
            _ => &self.handle,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mastodon_handle_names_its_server() {
        let f = CompetitorFields::parse(Network::Mastodon, "@rival@social.example", None, None)
            .unwrap();
        let c = Competitor::new(f, Timestamp::UNIX_EPOCH);
        assert_eq!(c.api_base("unused"), "https://social.example");
        assert_eq!(c.account_name(), "rival");
        assert_eq!(c.name, "rival@social.example");
    }

    #[test]
    fn networks_without_a_public_api_are_refused_in_plain_words() {
        let e = CompetitorFields::parse(Network::X, "rival", None, None).unwrap_err();
        assert!(format!("{e:?}").contains("public API"), "{e:?}");
        assert!(CompetitorFields::parse(Network::Mastodon, "rival", None, None).is_err());
    }
}
