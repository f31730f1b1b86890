//! Competitors' public accounts, read without credentials: Bluesky through its public AppView,
//! Mastodon through the account's own server. This is the reader that dispatches by network and
//! words refusals; each network's part is next to it (`bluesky/public.rs`, `mastodon/public.rs`).

use async_trait::async_trait;
use jiff::Timestamp;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::{PublishError, bluesky, call_failed, mastodon};
use crate::domain::{Competitor, Network, PublicPost, PublicProfile};
use crate::outbound::{JSON_ANSWER_LIMIT, OutboundClient, read_text};

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
}

impl PublicReader {
    /// Reads Bluesky through [`BLUESKY_PUBLIC_APPVIEW`].
    pub fn new(http: OutboundClient) -> Self {
        Self {
            http,
            bluesky_appview: BLUESKY_PUBLIC_APPVIEW.to_owned(),
        }
    }

    /// Reads Bluesky competitors that name no server of their own through `base` instead.
    pub fn with_bluesky_appview(mut self, base: impl Into<String>) -> Self {
        self.bluesky_appview = base.into().trim().trim_end_matches('/').to_owned();
        self
    }

    /// [`PublicReader::new`], with the AppView from `BLUESKY_APPVIEW_BASE` when it is set.
    pub fn from_env(http: OutboundClient) -> Self {
        let reader = Self::new(http);
        match std::env::var("BLUESKY_APPVIEW_BASE") {
            Ok(base) if !base.trim().is_empty() => reader.with_bluesky_appview(base),
            _ => reader,
        }
    }
}

#[async_trait]
impl PublicAccounts for PublicReader {
    async fn profile(&self, competitor: &Competitor) -> Result<PublicProfile, PublishError> {
        match competitor.network {
            Network::Bluesky => {
                let read = Reading::new(&self.http, competitor, &self.bluesky_appview);
                bluesky::public::profile(&read).await
            }
            Network::Mastodon => {
                let read = Reading::new(&self.http, competitor, "");
                mastodon::public::profile(&read).await
            }
            other => Err(PublishError::Misconfigured(format!(
                "competitors are read on bluesky and mastodon only; {} has no public API to read {} from",
                other.as_str(),
                competitor.handle
            ))),
        }
    }
}

/// One competitor's reading: where it is read from, and how that service is named in errors.
pub(super) struct Reading<'a> {
    http: &'a OutboundClient,
    pub(super) competitor: &'a Competitor,
    base: String,
    pub(super) service: String,
}

impl<'a> Reading<'a> {
    fn new(http: &'a OutboundClient, competitor: &'a Competitor, default_base: &str) -> Self {
        let base = competitor.api_base(default_base);
        let network = match competitor.network {
            Network::Mastodon => "Mastodon",
            _ => "Bluesky",
        };
        Self {
            http,
            competitor,
            service: format!("{network} ({base})"),
            base,
        }
    }

    /// `GET {base}{path}?{query}`, its answer as JSON.
    pub(super) async fn get(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Value, PublishError> {
        let request = self.http.get(format!("{}{path}", self.base)).query(query);
        let response = self
            .http
            .send(request)
            .await
            .map_err(|e| call_failed(&self.service, &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_text(response, JSON_ANSWER_LIMIT)
            .await
            .map_err(|e| call_failed(&self.service, &e))?;
        if !status.is_success() {
            return Err(self.refused(status, &headers, &body));
        }
        serde_json::from_str(&body).map_err(|e| {
            PublishError::Transient(format!(
                "the answer of {} about {} could not be read: {e}",
                self.service, self.competitor.handle
            ))
        })
    }

    /// A refusal in plain words: a wrong handle or a closed server is the competitor's settings,
    /// not something a retry fixes.
    fn refused(&self, status: StatusCode, headers: &HeaderMap, body: &str) -> PublishError {
        let who = &self.competitor.handle;
        let service = &self.service;
        let code = status.as_u16();
        let Refusal {
            said,
            not_found,
            gone,
            retry_at,
        } = match self.competitor.network {
            Network::Mastodon => mastodon::public::refusal(code, headers, body),
            _ => bluesky::public::refusal(code, headers, body),
        };
        let said = said.unwrap_or_else(|| format!("HTTP {code}"));
        match code {
            _ if not_found => PublishError::Misconfigured(format!(
                "no such public account {who} on {service}: {said}; check the competitor's handle and server"
            )),
            _ if gone => PublishError::Misconfigured(format!(
                "the account {who} on {service} cannot be read: it is suspended, deactivated or blocks readers ({said})"
            )),
            429 => {
                let when = retry_at.map_or_else(
                    || "later".to_owned(),
                    |t| format!("after {}", t.round(jiff::Unit::Second).unwrap_or(t)),
                );
                PublishError::RateLimited {
                    retry_at,
                    message: format!(
                        "{service} is limiting how often it can be read ({said}); {who} will be read again {when}"
                    ),
                }
            }
            401 | 403 => PublishError::Misconfigured(format!(
                "{service} does not let anyone read {who} without signing in ({said}); this competitor cannot be watched there"
            )),
            500.. => PublishError::Transient(format!(
                "{service} had a server error reading {who} (HTTP {code}): {said}"
            )),
            404 => PublishError::Misconfigured(format!(
                "{service} does not answer like a {} server (HTTP 404): check the competitor's server",
                self.competitor.network.as_str()
            )),
            _ => PublishError::Transient(format!(
                "{service} answered HTTP {code} reading {who}: {said}"
            )),
        }
    }
}

/// What a network's refusal of a public read says, as that network's part reads it.
pub(super) struct Refusal {
    /// The network's own words, if it gave any.
    pub(super) said: Option<String>,
    /// No such account there.
    pub(super) not_found: bool,
    /// The account is there but cannot be read (suspended, deactivated, blocking readers).
    pub(super) gone: bool,
    /// When a rate limit resets (read from a 429's headers only).
    pub(super) retry_at: Option<Timestamp>,
}

pub(super) fn newest_first(mut posts: Vec<PublicPost>) -> Vec<PublicPost> {
    posts.sort_by_key(|p| std::cmp::Reverse(p.created_at));
    posts
}
