//! The coverage table: for every network, what Palinsesto does on it (capabilities), its limits
//! (the rules preflight checks posts against), and its known constraints in plain words, each
//! with its source and the date it was recorded. It is the one source the code consults
//! (preflight's rules, the connectors registry's refusals), that `GET /v1/networks` serves and
//! that docs/api.md shows. One file per network; a fact lives in exactly one of them.

mod bluesky;
mod facebook;
mod instagram;
mod linkedin;
mod mastodon;
mod sandbox;
mod telegram;
mod threads;
mod x;

use serde::Serialize;

use super::Network;
use super::preflight::{AspectRange, LINK_WEIGHT, MB, MIB, Rules, TextCounting, ThreadSupport};

/// What a network can be asked to do. Publishing and metrics exist today; the rest are listed so
/// a frontend can show them as unavailable until each network gains them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    Publish,
    Metrics,
    Inbox,
    Reply,
    Moderation,
    Listening,
    Trends,
    Oauth,
}

impl Capability {
    pub const ALL: [Capability; 8] = [
        Self::Publish,
        Self::Metrics,
        Self::Inbox,
        Self::Reply,
        Self::Moderation,
        Self::Listening,
        Self::Trends,
        Self::Oauth,
    ];

    /// The capability in plain words, as in "X cannot do {this}".
    pub fn describe(self) -> &'static str {
        match self {
            Self::Publish => "publishing",
            Self::Metrics => "reading metrics",
            Self::Inbox => "reading comments and messages (the inbox)",
            Self::Reply => "replying",
            Self::Moderation => "moderating comments",
            Self::Listening => "listening (searching what people say)",
            Self::Trends => "trending topics",
            Self::Oauth => "connecting by OAuth",
        }
    }
}

/// A known constraint of a network, in plain words, with where it comes from and when it was
/// recorded: networks change often (pricing, scopes, limits), so each fact can be checked again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Constraint {
    /// The capability it constrains.
    pub about: Capability,
    pub text: &'static str,
    pub source: &'static str,
    /// The date the fact was recorded (YYYY-MM-DD).
    pub recorded: &'static str,
}

/// An OAuth scope a capability needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ScopeNeed {
    pub capability: Capability,
    pub scope: &'static str,
    /// The login it belongs to, where a network has several ([`Network::logins`]: a LinkedIn
    /// member or organization, Instagram through Instagram or Facebook Login); `None`: every
    /// login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login: Option<&'static str>,
}

/// `scope`, needed by `capability` on every login of the network.
pub(crate) const fn need(capability: Capability, scope: &'static str) -> ScopeNeed {
    ScopeNeed {
        capability,
        scope,
        login: None,
    }
}

/// `scope`, needed by `capability` on the network's login `login` only.
pub(crate) const fn need_on(
    login: &'static str,
    capability: Capability,
    scope: &'static str,
) -> ScopeNeed {
    ScopeNeed {
        capability,
        scope,
        login: Some(login),
    }
}

impl Coverage {
    /// The scopes of `login` (the network's default login when `None`).
    fn needs(&self, login: Option<&str>) -> impl Iterator<Item = &ScopeNeed> {
        let login = login.or_else(|| self.network.logins().first().copied());
        self.scopes
            .iter()
            .filter(move |need| need.login.is_none() || need.login == login)
    }

    /// Every scope a connection through `login` asks for, once each, in the table's order.
    pub fn all_scopes(&self, login: Option<&str>) -> Vec<&'static str> {
        let mut all: Vec<&'static str> = Vec::new();
        for need in self.needs(login) {
            if !all.contains(&need.scope) {
                all.push(need.scope);
            }
        }
        all
    }

    /// The scopes of `login` missing from `granted`, each with the capability it blocks.
    pub fn missing_scopes(&self, granted: &[String], login: Option<&str>) -> Vec<ScopeNeed> {
        self.needs(login)
            .filter(|need| !granted.iter().any(|g| g == need.scope))
            .copied()
            .collect()
    }
}

/// One network's entry in the table.
#[derive(Debug, Clone)]
pub struct Coverage {
    pub network: Network,
    /// The documented defaults preflight checks a post against (Mastodon servers may report
    /// their own).
    pub rules: Rules,
    /// The counters read for a published post (names as in `metrics::COUNTER_NAMES`).
    pub post_metrics: &'static [&'static str],
    /// The counters read for the account.
    pub account_metrics: &'static [&'static str],
    /// What the network offers here beyond publishing and metrics.
    pub engagement: &'static [Capability],
    /// The OAuth scopes each capability needs, where channels are connected by OAuth: a
    /// connection asks for all of them, and a channel shows what a missing one blocks.
    pub scopes: &'static [ScopeNeed],
    pub constraints: Vec<Constraint>,
}

impl Coverage {
    /// Whether Palinsesto does `capability` on this network.
    pub fn offers(&self, capability: Capability) -> bool {
        match capability {
            Capability::Publish => true,
            Capability::Metrics => {
                !self.post_metrics.is_empty() || !self.account_metrics.is_empty()
            }
            other => self.engagement.contains(&other),
        }
    }

    /// The capabilities offered, in [`Capability::ALL`]'s order.
    pub fn capabilities(&self) -> Vec<Capability> {
        Capability::ALL
            .into_iter()
            .filter(|c| self.offers(*c))
            .collect()
    }

    /// Why `capability` cannot be used on this network, in plain words; `None` when it can.
    pub fn lacks(&self, capability: Capability) -> Option<String> {
        if self.offers(capability) {
            return None;
        }
        let name = self.network.display_name();
        let mut why = format!(
            "Palinsesto does not offer {} on {name}",
            capability.describe()
        );
        if let Some(known) = self.constraints.iter().find(|c| c.about == capability) {
            why.push_str(": ");
            why.push_str(known.text);
        }
        Some(why)
    }

    /// Whether a post may be text alone (Instagram needs a photo or video).
    pub fn publishes_text(&self) -> bool {
        !self.rules.media_required
    }

    pub fn publishes_images(&self) -> bool {
        self.rules.max_images > 0 && !self.rules.image_types.is_empty()
    }

    pub fn publishes_video(&self) -> bool {
        self.rules.max_videos > 0 && !self.rules.video_types.is_empty()
    }
}

/// The entry of `network`.
pub fn of(network: Network) -> Coverage {
    match network {
        Network::Mastodon => mastodon::coverage(),
        Network::Bluesky => bluesky::coverage(),
        Network::Linkedin => linkedin::coverage(),
        Network::X => x::coverage(),
        Network::Facebook => facebook::coverage(),
        Network::Instagram => instagram::coverage(),
        Network::Threads => threads::coverage(),
        Network::Telegram => telegram::coverage(),
        Network::Sandbox => sandbox::coverage(),
    }
}

/// Every network's entry, in [`Network::ALL`]'s order.
pub fn all() -> Vec<Coverage> {
    Network::ALL.into_iter().map(of).collect()
}

/// What most networks share; each entry overrides what differs.
fn base_rules(network: Network) -> Rules {
    Rules {
        network,
        counting: TextCounting::Chars,
        max_text: 500,
        max_text_with_media: None,
        media_required: false,
        max_images: 4,
        max_videos: 1,
        mix_media: false,
        max_media: None,
        max_image_bytes: 8 * MB,
        max_gif_bytes: 8 * MB,
        max_video_bytes: 100 * MB,
        image_types: types(&["image/jpeg", "image/png", "image/gif", "image/webp"]),
        video_types: types(&["video/mp4"]),
        max_alt_text: None,
        max_video_alt_text: None,
        max_video_seconds: None,
        max_hashtags: None,
        max_links: None,
        image_aspect: None,
        thread: ThreadSupport::Replies,
    }
}

fn types(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// The facts of networks.md, as recorded when the table was made.
const NETWORKS_MD: &str = "shared/reference/networks.md";
const RECORDED: &str = "2026-12-04";

fn publish(text: &'static str) -> Constraint {
    constraint(Capability::Publish, text)
}

fn metrics(text: &'static str) -> Constraint {
    constraint(Capability::Metrics, text)
}

/// The inbox's facts (engagement.md), as recorded when each network gained its inbox.
const ENGAGEMENT_MD: &str = "shared/reference/engagement.md";
const ENGAGEMENT_RECORDED: &str = "2026-12-06";

/// A fact from engagement.md about `about` (the inbox, replies, moderation).
fn engaging(about: Capability, text: &'static str) -> Constraint {
    Constraint {
        about,
        text,
        source: ENGAGEMENT_MD,
        recorded: ENGAGEMENT_RECORDED,
    }
}

fn constraint(about: Capability, text: &'static str) -> Constraint {
    Constraint {
        about,
        text,
        source: NETWORKS_MD,
        recorded: RECORDED,
    }
}

#[cfg(test)]
mod tests;
