//! One competitor's reading through a network's public API: where it is read from, the request,
//! and a refusal in plain words from what the network's own part reads in it.

use jiff::Timestamp;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::domain::{Competitor, Network, PublicPost};
use crate::networks::{PublishError, call_failed};
use crate::outbound::{JSON_ANSWER_LIMIT, OutboundClient, read_text};

/// One competitor's reading: where it is read from, and how that service is named in errors.
pub(in crate::networks) struct Reading<'a> {
    http: &'a OutboundClient,
    pub(in crate::networks) competitor: &'a Competitor,
    base: String,
    pub(in crate::networks) service: String,
    /// How this network's refusals read: its part's `refusal`.
    refusal: fn(u16, &HeaderMap, &str) -> Refusal,
}

impl<'a> Reading<'a> {
    pub(in crate::networks) fn new(
        http: &'a OutboundClient,
        competitor: &'a Competitor,
        default_base: &str,
        refusal: fn(u16, &HeaderMap, &str) -> Refusal,
    ) -> Self {
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
            refusal,
        }
    }

    /// `GET {base}{path}?{query}`, its answer as JSON.
    pub(in crate::networks) async fn get(
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
        } = (self.refusal)(code, headers, body);
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
pub(in crate::networks) struct Refusal {
    /// The network's own words, if it gave any.
    pub(in crate::networks) said: Option<String>,
    /// No such account there.
    pub(in crate::networks) not_found: bool,
    /// The account is there but cannot be read (suspended, deactivated, blocking readers).
    pub(in crate::networks) gone: bool,
    /// When a rate limit resets (read from a 429's headers only).
    pub(in crate::networks) retry_at: Option<Timestamp>,
}

/// Posts sorted newest first.
pub(in crate::networks) fn newest_first(mut posts: Vec<PublicPost>) -> Vec<PublicPost> {
    posts.sort_by_key(|p| std::cmp::Reverse(p.created_at));
    posts
}
