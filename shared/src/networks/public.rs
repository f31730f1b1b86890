//! Competitors' public accounts, read without credentials: Bluesky through its public AppView,
//! Mastodon through the account's own server.

use async_trait::async_trait;
use jiff::Timestamp;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::bluesky::{self, XrpcError};
use super::{PublishError, call_failed, mastodon};
use crate::domain::{Competitor, Network, PublicPost, PublicProfile};
use crate::outbound::{JSON_ANSWER_LIMIT, OutboundClient, read_text};

/// The default public Bluesky AppView (overridable by `BLUESKY_APPVIEW_BASE`).
pub const BLUESKY_PUBLIC_APPVIEW: &str = "https://public.api.bsky.app";

/// How many recent posts are read per competitor: one page on each network.
const BLUESKY_FEED_PAGE: &str = "50";
const MASTODON_STATUS_PAGE: &str = "40";

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

    async fn bluesky(&self, competitor: &Competitor) -> Result<PublicProfile, PublishError> {
        let read = Reading::new(competitor, &self.bluesky_appview);
        let profile = self
            .get(
                &read,
                "/xrpc/app.bsky.actor.getProfile",
                &[("actor", competitor.account_name())],
            )
            .await?;
        // The DID, unlike the handle, cannot change between the two calls.
        let actor = profile
            .get("did")
            .and_then(Value::as_str)
            .unwrap_or(competitor.account_name());
        let feed = self
            .get(
                &read,
                "/xrpc/app.bsky.feed.getAuthorFeed",
                &[
                    ("actor", actor),
                    ("limit", BLUESKY_FEED_PAGE),
                    ("filter", "posts_no_replies"),
                ],
            )
            .await?;
        let handle = profile
            .get("handle")
            .and_then(Value::as_str)
            .unwrap_or(competitor.account_name());
        let recent_posts = newest_first(
            feed.get("feed")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                // A repost (or a pinned post) carries a `reason`: it is not a new post of theirs.
                .filter(|item| item.get("reason").is_none_or(Value::is_null))
                .filter_map(|item| bluesky_post(item.get("post")?, handle))
                .collect(),
        );
        Ok(PublicProfile {
            counters: bluesky::profile_counters(&profile),
            posts_count: profile.get("postsCount").and_then(Value::as_u64),
            recent_posts,
            raw: profile,
        })
    }

    async fn mastodon(&self, competitor: &Competitor) -> Result<PublicProfile, PublishError> {
        let read = Reading::new(competitor, "");
        let account = self
            .get(
                &read,
                "/api/v1/accounts/lookup",
                &[("acct", competitor.account_name())],
            )
            .await?;
        let Some(id) = account.get("id").and_then(Value::as_str) else {
            return Err(PublishError::Transient(format!(
                "{} answered the lookup of {} without an account id",
                read.service, competitor.handle
            )));
        };
        let statuses = self
            .get(
                &read,
                &format!("/api/v1/accounts/{}/statuses", urlencoding::encode(id)),
                &[
                    ("limit", MASTODON_STATUS_PAGE),
                    ("exclude_replies", "true"),
                    ("exclude_reblogs", "true"),
                ],
            )
            .await?;
        let recent_posts = newest_first(
            statuses
                .as_array()
                .into_iter()
                .flatten()
                // Mastodon's exclude_replies keeps replies to oneself (threads): those are not
                // new posts either.
                .filter(|s| {
                    s.get("reblog").is_none_or(Value::is_null)
                        && s.get("in_reply_to_id").is_none_or(Value::is_null)
                })
                .filter_map(mastodon_post)
                .collect(),
        );
        Ok(PublicProfile {
            counters: mastodon::account_counters(&account),
            posts_count: account.get("statuses_count").and_then(Value::as_u64),
            recent_posts,
            raw: account,
        })
    }

    async fn get(
        &self,
        read: &Reading<'_>,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Value, PublishError> {
        let request = self.http.get(format!("{}{path}", read.base)).query(query);
        let response = self
            .http
            .send(request)
            .await
            .map_err(|e| call_failed(&read.service, &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_text(response, JSON_ANSWER_LIMIT)
            .await
            .map_err(|e| call_failed(&read.service, &e))?;
        if !status.is_success() {
            return Err(read.refused(status, &headers, &body));
        }
        serde_json::from_str(&body).map_err(|e| {
            PublishError::Transient(format!(
                "the answer of {} about {} could not be read: {e}",
                read.service, read.competitor.handle
            ))
        })
    }
}

#[async_trait]
impl PublicAccounts for PublicReader {
    async fn profile(&self, competitor: &Competitor) -> Result<PublicProfile, PublishError> {
        match competitor.network {
            Network::Bluesky => self.bluesky(competitor).await,
            Network::Mastodon => self.mastodon(competitor).await,
            other => Err(PublishError::Misconfigured(format!(
                "competitors are read on bluesky and mastodon only; {} has no public API to read {} from",
                other.as_str(),
                competitor.handle
            ))),
        }
    }
}

/// One competitor's reading: where it is read from, and how that service is named in errors.
struct Reading<'a> {
    competitor: &'a Competitor,
    base: String,
    service: String,
}

impl<'a> Reading<'a> {
    fn new(competitor: &'a Competitor, default_base: &str) -> Self {
        let base = competitor.api_base(default_base);
        let network = match competitor.network {
            Network::Mastodon => "Mastodon",
            _ => "Bluesky",
        };
        Self {
            competitor,
            service: format!("{network} ({base})"),
            base,
        }
    }

    /// A refusal in plain words: a wrong handle or a closed server is the competitor's settings,
    /// not something a retry fixes.
    fn refused(&self, status: StatusCode, headers: &HeaderMap, body: &str) -> PublishError {
        let who = &self.competitor.handle;
        let service = &self.service;
        let code = status.as_u16();
        let (said, not_found, gone) = match self.competitor.network {
            Network::Mastodon => {
                let said = mastodon::network_message(body);
                // Mastodon's own 404 is JSON; an HTML one means this is not a Mastodon server.
                let is_json = serde_json::from_str::<Value>(body).is_ok();
                (said, code == 404 && is_json, code == 410)
            }
            _ => {
                let error = XrpcError::of(body.as_bytes());
                let said = error.said();
                let lower = said.to_lowercase();
                let not_found = code == 404
                    || (code == 400
                        && (lower.contains("not found") || lower.contains("unable to resolve")));
                let gone = matches!(
                    error.error.as_str(),
                    "AccountTakedown" | "AccountDeactivated" | "BlockedActor" | "BlockedByActor"
                );
                (Some(said), not_found, gone)
            }
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
                let retry_at = match self.competitor.network {
                    Network::Mastodon => mastodon::rate_limit_reset(headers),
                    _ => bluesky::rate_limit_reset(headers),
                };
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

/// A post of a Bluesky author feed; `None` when it has no address or no readable time.
fn bluesky_post(post: &Value, handle: &str) -> Option<PublicPost> {
    let uri = post.get("uri")?.as_str()?;
    let created_at = [
        post.get("record").and_then(|r| r.get("createdAt")),
        post.get("indexedAt"),
    ]
    .into_iter()
    .flatten()
    .find_map(|t| t.as_str()?.parse::<Timestamp>().ok())?;
    let author = post
        .get("author")
        .and_then(|a| a.get("handle"))
        .and_then(Value::as_str)
        .unwrap_or(handle);
    let rkey = uri.rsplit('/').next().unwrap_or_default();
    Some(PublicPost {
        id: uri.to_owned(),
        created_at,
        url: Some(format!("https://bsky.app/profile/{author}/post/{rkey}")),
        counters: bluesky::post_counters(post),
    })
}

/// A Mastodon status; `None` when it has no id or no readable time.
fn mastodon_post(status: &Value) -> Option<PublicPost> {
    let id = status.get("id")?.as_str()?;
    let created_at = status.get("created_at")?.as_str()?.parse().ok()?;
    let url = ["url", "uri"]
        .into_iter()
        .find_map(|k| status.get(k)?.as_str())
        .map(str::to_owned);
    Some(PublicPost {
        id: id.to_owned(),
        created_at,
        url,
        counters: mastodon::status_counters(status),
    })
}

fn newest_first(mut posts: Vec<PublicPost>) -> Vec<PublicPost> {
    posts.sort_by_key(|p| std::cmp::Reverse(p.created_at));
    posts
}
