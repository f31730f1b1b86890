//! `/v1/networks`: what Palinsesto does on each network, its limits and its known constraints,
//! served from the coverage table the code itself consults (`crate::domain::coverage`).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiResult;
use crate::domain::Network;
use crate::domain::coverage::{self, Capability, Constraint, Coverage};
use crate::domain::preflight::{TextCounting, ThreadSupport};
use crate::http::AppState;
use crate::http::extract::Caller;

#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkList {
    pub networks: Vec<NetworkView>,
}

/// One network's row of the coverage table.
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkView {
    pub network: Network,
    /// The network as people name it.
    pub name: &'static str,
    /// What Palinsesto does on this network.
    pub capabilities: Vec<Capability>,
    /// What it does not (yet), each with the reason in plain words.
    pub unavailable: Vec<Unavailable>,
    pub publish: PublishView,
    pub metrics: MetricsView,
    pub limits: Limits,
    /// Known constraints in plain words, each with its source and the date it was recorded.
    pub constraints: Vec<Constraint>,
    /// Where channels connect by OAuth: the scope each capability needs.
    pub scopes: Vec<crate::domain::coverage::ScopeNeed>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Unavailable {
    pub capability: Capability,
    pub why: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublishView {
    /// A post may be text alone (false: it needs a photo or a video).
    pub text: bool,
    pub images: bool,
    pub video: bool,
    /// How follow-ups are published: as replies forming a thread, or as the first comment.
    #[schema(value_type = String, example = "replies")]
    pub follow_ups: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MetricsView {
    /// The counters read for a published post.
    pub post: Vec<&'static str>,
    /// The counters read for the account.
    pub account: Vec<&'static str>,
}

/// The documented defaults preflight checks posts against. A Mastodon server reports its own
/// limits, which replace these for channels on it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Limits {
    pub max_text: usize,
    /// A lower limit for the text when the post carries media (a caption), where there is one.
    pub max_text_with_media: Option<usize>,
    /// How the text's length is counted: `graphemes`, `code_points`, `mastodon` (links count
    /// `link_weight`, mentions by their local part), `x_weighted` (most Latin 1, CJK and emoji
    /// 2, links 23) or `emoji_utf8_bytes` (an emoji counts its UTF-8 bytes).
    #[schema(value_type = String, example = "graphemes")]
    pub text_counted_as: &'static str,
    /// What any link counts, where links count a fixed amount.
    pub link_weight: Option<usize>,
    pub max_images: usize,
    pub max_videos: usize,
    /// Whether photos and videos can be mixed in one post.
    pub mix_media: bool,
    /// Photos and videos together, where they can be mixed.
    pub max_media: Option<usize>,
    pub max_image_bytes: u64,
    pub max_gif_bytes: u64,
    pub max_video_bytes: u64,
    pub max_video_seconds: Option<u64>,
    pub image_types: Vec<String>,
    pub video_types: Vec<String>,
    pub max_alt_text: Option<usize>,
    pub max_video_alt_text: Option<usize>,
    pub max_hashtags: Option<usize>,
    /// Distinct links in one post.
    pub max_links: Option<usize>,
    /// The photo shapes taken, as `width:height` from the tallest to the widest.
    pub image_aspect: Option<[String; 2]>,
}

impl From<&Coverage> for NetworkView {
    fn from(entry: &Coverage) -> Self {
        let rules = &entry.rules;
        let (text_counted_as, link_weight) = match rules.counting {
            TextCounting::Graphemes => ("graphemes", None),
            TextCounting::Chars => ("code_points", None),
            TextCounting::Mastodon { url_weight } => ("mastodon", Some(url_weight)),
            TextCounting::XWeighted => ("x_weighted", Some(crate::domain::preflight::LINK_WEIGHT)),
            TextCounting::EmojiUtf8Bytes => ("emoji_utf8_bytes", None),
        };
        let ratio = |(w, h): (u32, u32)| format!("{w}:{h}");
        Self {
            network: entry.network,
            name: entry.network.display_name(),
            capabilities: entry.capabilities(),
            unavailable: Capability::ALL
                .into_iter()
                .filter_map(|capability| {
                    entry
                        .lacks(capability)
                        .map(|why| Unavailable { capability, why })
                })
                .collect(),
            publish: PublishView {
                text: entry.publishes_text(),
                images: entry.publishes_images(),
                video: entry.publishes_video(),
                follow_ups: match rules.thread {
                    ThreadSupport::Replies => "replies",
                    ThreadSupport::FirstComment => "first_comment",
                },
            },
            metrics: MetricsView {
                post: entry.post_metrics.to_vec(),
                account: entry.account_metrics.to_vec(),
            },
            limits: Limits {
                max_text: rules.max_text,
                max_text_with_media: rules.max_text_with_media,
                text_counted_as,
                link_weight,
                max_images: rules.max_images,
                max_videos: rules.max_videos,
                mix_media: rules.mix_media,
                max_media: rules.max_media,
                max_image_bytes: rules.max_image_bytes,
                max_gif_bytes: rules.max_gif_bytes,
                max_video_bytes: rules.max_video_bytes,
                max_video_seconds: rules.max_video_seconds,
                image_types: rules.image_types.clone(),
                video_types: rules.video_types.clone(),
                max_alt_text: rules.max_alt_text,
                max_video_alt_text: rules.max_video_alt_text,
                max_hashtags: rules.max_hashtags,
                max_links: rules.max_links,
                image_aspect: rules
                    .image_aspect
                    .map(|a| [ratio(a.tallest), ratio(a.widest)]),
            },
            constraints: entry.constraints.clone(),
            scopes: entry.scopes.to_vec(),
        }
    }
}

/// The coverage table: every network, what Palinsesto does on it, its limits and its known
/// constraints. The same for every brand.
#[utoipa::path(get, path = "/v1/networks", tag = "networks",
    responses((status = 200, description = "Every network's coverage", body = NetworkList),
              (status = "4XX", description = "Problem", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn list_networks(State(s): State<AppState>, Caller(_actor): Caller) -> ApiResult {
    use axum::response::IntoResponse;
    let networks = s
        .channels
        .networks()
        .iter()
        .map(NetworkView::from)
        .collect();
    Ok(Json(NetworkList { networks }).into_response())
}

/// The coverage table as the markdown docs/api.md shows (a test keeps the two equal).
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| network | publishes | follow-ups | text limit (counted as) | media | post figures | account figures |\n|---|---|---|---|---|---|---|\n",
    );
    for entry in coverage::all() {
        let view = NetworkView::from(&entry);
        let mut publishes = Vec::new();
        for (yes, what) in [
            (view.publish.text, "text"),
            (view.publish.images, "images"),
            (view.publish.video, "video"),
        ] {
            if yes {
                publishes.push(what);
            }
        }
        let limits = &view.limits;
        let text = match limits.max_text_with_media {
            Some(caption) => format!(
                "{} ({caption} with media), {}",
                limits.max_text, limits.text_counted_as
            ),
            None => format!("{}, {}", limits.max_text, limits.text_counted_as),
        };
        let media = match limits.max_media {
            Some(n) => format!("{n} of any mix"),
            None => format!(
                "{} images or {} video",
                limits.max_images, limits.max_videos
            ),
        };
        let list = |names: &[&str]| {
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            view.name,
            publishes.join(", "),
            view.publish.follow_ups.replace('_', " "),
            text,
            media,
            list(&view.metrics.post),
            list(&view.metrics.account),
        ));
    }
    out.push_str("\nKnown constraints:\n\n");
    for entry in coverage::all() {
        for c in &entry.constraints {
            out.push_str(&format!(
                "- **{}** ({}): {} _({}, {})_\n",
                entry.network.display_name(),
                serde_json::to_value(c.about)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                c.text,
                c.source,
                c.recorded
            ));
        }
    }
    out
}
