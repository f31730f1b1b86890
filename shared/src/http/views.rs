//! The JSON shapes of the API: request bodies (strict: unknown fields are refused) and responses.
//! They derive their OpenAPI schemas, so the document is generated from the code it describes.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::domain::queue::QueueSlot;
use crate::domain::{
    Brand, Channel, ChannelStatus, Network, PeriodKind, Post, PostStatus, ReconnectReason, Target,
    Variant,
};
use crate::services::calendar::Calendar;
use crate::services::preflight::TargetCheck;

// ---- brand ----

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutBrand {
    pub name: String,
    /// IANA time zone, for example `Europe/Rome`.
    pub time_zone: String,
    #[serde(default)]
    pub approval_required: bool,
    /// How many minutes late a post may still be published (default 15); later it is `missed`.
    pub late_window_minutes: Option<u32>,
    /// Publish late posts anyway instead of marking them missed (default false).
    pub publish_late: Option<bool>,
    /// How often the report is written to the bucket, Monday 08:00 local (default week).
    pub report_period: Option<PeriodKind>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchBrand {
    pub name: Option<String>,
    pub time_zone: Option<String>,
    pub approval_required: Option<bool>,
    pub late_window_minutes: Option<u32>,
    pub publish_late: Option<bool>,
    pub report_period: Option<PeriodKind>,
    /// Inbox settings to change: `business_hours` (`{"weekly": {"mon": [["09:00","18:00"]],
    /// ...}, "holidays": ["2027-04-25"]}`, in the brand's time zone), `response_target_minutes`,
    /// `replies_need_approval`, `retention_days`; absent fields keep their value.
    #[schema(value_type = Option<Object>)]
    pub inbox: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BrandView {
    pub id: String,
    pub name: String,
    pub time_zone: String,
    pub approval_required: bool,
    pub late_window_minutes: u32,
    pub publish_late: bool,
    pub report_period: PeriodKind,
    pub inbox: crate::domain::inbox_settings::InboxSettings,
    pub version: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<&Brand> for BrandView {
    fn from(b: &Brand) -> Self {
        Self {
            id: b.id.to_string(),
            name: b.name.clone(),
            time_zone: b.time_zone.to_string(),
            approval_required: b.approval_required,
            late_window_minutes: b.late_window_minutes,
            publish_late: b.publish_late,
            report_period: b.report_period,
            inbox: b.inbox.clone(),
            version: b.version,
            created_at: b.created_at,
            updated_at: b.updated_at,
        }
    }
}

// ---- channels ----

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChannel {
    /// mastodon, bluesky, linkedin, x, facebook, instagram, threads or telegram.
    pub network: String,
    pub name: String,
    pub handle: String,
    /// Network-specific settings, e.g. `instance_url` (Mastodon) or `service_url` (Bluesky).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
    /// `active` (the default) or `disabled`.
    pub status: Option<String>,
    /// Weekly posting times in the brand's zone, e.g. `[{"day": "mon", "time": "09:00"}]`.
    #[serde(default)]
    pub queue: Vec<QueueSlot>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchChannel {
    pub name: Option<String>,
    pub handle: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Map<String, Value>>,
    /// `active` or `disabled`.
    pub status: Option<String>,
    pub queue: Option<Vec<QueueSlot>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelView {
    pub id: String,
    pub network: Network,
    pub name: String,
    pub handle: String,
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
    pub status: ChannelStatus,
    pub queue: Vec<QueueSlot>,
    /// Whether credentials are stored. The credentials themselves are never returned.
    pub connected: bool,
    /// Why the channel is `needs_reconnect`: `auth_expired` (the network refused the
    /// credentials), `endpoint_changed` (its server URL changed, so its credentials were
    /// deleted) or `endpoint_refused` (its server URL is one Palinsesto does not connect to).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconnect_reason: Option<ReconnectReason>,
    pub credentials_updated_at: Option<Timestamp>,
    /// The account a connection (`POST /v1/channels/{id}/connect`) connected it to, with the
    /// scopes granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<crate::domain::channel::ConnectedAccount>,
    /// For a connected account, the scopes it lacks and what each blocks, in plain words
    /// ("reading metrics needs read"); empty when nothing is missing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes_missing: Vec<MissingScope>,
    /// What the connected account granted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes_granted: Vec<String>,
    /// When the connection's access runs out unless renewed (renewable ones are renewed ahead of
    /// it; for the others `channel.expiring` is sent some days before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    pub version: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MissingScope {
    pub scope: String,
    /// What it blocks.
    pub capability: crate::domain::coverage::Capability,
    pub detail: String,
}

impl From<&Channel> for ChannelView {
    fn from(c: &Channel) -> Self {
        Self {
            id: c.id.to_string(),
            network: c.network,
            name: c.name.clone(),
            handle: c.handle.clone(),
            settings: c.settings.clone(),
            status: c.status,
            queue: c.queue.clone(),
            connected: c.credentials_updated_at.is_some(),
            reconnect_reason: c.reconnect_reason,
            credentials_updated_at: c.credentials_updated_at,
            account: c.account.clone(),
            scopes_granted: c
                .account
                .as_ref()
                .map(|a| a.scopes.clone())
                .unwrap_or_default(),
            scopes_missing: c
                .account
                .as_ref()
                .map(missing_scopes_of(c))
                .unwrap_or_default(),
            expires_at: c.account.as_ref().and_then(|a| a.expires_at),
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// The scopes a connected account lacks, each with what it blocks and what still works, in plain
/// words ("publishing works; reading metrics needs read_insights").
fn missing_scopes_of(
    c: &Channel,
) -> impl Fn(&crate::domain::channel::ConnectedAccount) -> Vec<MissingScope> + '_ {
    move |a| {
        use crate::domain::coverage::{self, Capability};
        let table = coverage::of(c.network);
        let missing = table.missing_scopes(&a.scopes, c.login());
        let blocked = |cap: Capability| missing.iter().any(|m| m.capability == cap);
        let works: Vec<&str> = [Capability::Publish, Capability::Metrics]
            .into_iter()
            .filter(|cap| table.offers(*cap) && !blocked(*cap))
            .map(Capability::describe)
            .collect();
        let works = match works.as_slice() {
            [] => String::new(),
            all => format!("{} works; ", all.join(" and ")),
        };
        missing
            .iter()
            .map(|need| MissingScope {
                scope: need.scope.to_owned(),
                capability: need.capability,
                detail: format!(
                    "{works}{} needs {}: connect the channel again and grant it",
                    need.capability.describe(),
                    need.scope
                ),
            })
            .collect()
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelList {
    pub items: Vec<ChannelView>,
}

// ---- posts ----

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePost {
    #[serde(default)]
    pub text: String,
    /// Follow-ups: replies forming a thread (Mastodon, Bluesky, X, Threads, Telegram) or a first
    /// comment (LinkedIn, Facebook, Instagram).
    #[serde(default)]
    pub thread: Vec<String>,
    /// The ids of the channels the post goes to.
    #[serde(default)]
    pub channels: Vec<String>,
    /// Per-channel overrides, keyed by channel id.
    #[serde(default)]
    pub variants: BTreeMap<String, Variant>,
    /// Media-library asset ids.
    #[serde(default)]
    pub media: Vec<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    pub campaign: Option<String>,
    /// RFC 3339, e.g. `2027-03-28T09:00:00+02:00`.
    pub publish_at: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchPost {
    pub text: Option<String>,
    pub thread: Option<Vec<String>>,
    pub channels: Option<Vec<String>>,
    pub variants: Option<BTreeMap<String, Variant>>,
    pub media: Option<Vec<String>>,
    pub labels: Option<Vec<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub campaign: Option<Option<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub publish_at: Option<Option<String>>,
}

/// Tells a field sent as `null` (`Some(None)`) from a field left out (`None`).
pub(crate) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    /// RFC 3339; defaults to the post's current publish time.
    pub publish_at: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    /// Why the post goes back to draft, shown to its author.
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostView {
    pub id: String,
    pub text: String,
    pub thread: Vec<String>,
    pub channels: Vec<String>,
    pub variants: BTreeMap<String, Variant>,
    pub media: Vec<String>,
    pub labels: Vec<String>,
    pub campaign: Option<String>,
    pub publish_at: Option<Timestamp>,
    /// The publish time in the brand's zone, e.g. `2027-03-28T09:00:00+02:00[Europe/Rome]`.
    pub publish_at_local: Option<String>,
    pub time_zone: String,
    pub status: PostStatus,
    pub targets: Vec<Target>,
    pub review_note: Option<String>,
    pub version: u64,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_by: String,
    pub updated_at: Timestamp,
}

impl From<&Post> for PostView {
    fn from(p: &Post) -> Self {
        Self {
            id: p.id.to_string(),
            text: p.text.clone(),
            thread: p.thread.clone(),
            channels: p.targets.iter().map(|t| t.channel_id.to_string()).collect(),
            variants: p
                .variants
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            media: p.media.iter().map(ToString::to_string).collect(),
            labels: p.labels.clone(),
            campaign: p.campaign.clone(),
            publish_at: p.publish_at,
            publish_at_local: p.publish_at.map(|at| p.time_zone.local(at).to_string()),
            time_zone: p.time_zone.to_string(),
            status: p.status(),
            targets: p.targets.clone(),
            review_note: p.review_note.clone(),
            version: p.version,
            created_by: p.created_by.clone(),
            created_at: p.created_at,
            updated_by: p.updated_by.clone(),
            updated_at: p.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostList {
    pub items: Vec<PostView>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PostListQuery {
    /// draft, in_review, approved, scheduled, publishing, published, partially_published, failed, missed, cancelled.
    pub status: Option<String>,
    /// A channel id.
    pub channel: Option<String>,
    pub label: Option<String>,
    /// RFC 3339; with `to`, lists posts by publish time in `[from, to)`, oldest first.
    pub from: Option<String>,
    pub to: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreflightView {
    /// True when every target can be published as it is.
    pub ok: bool,
    pub targets: Vec<TargetCheck>,
}

// ---- calendar ----

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CalendarQuery {
    /// First local day, YYYY-MM-DD.
    pub from: String,
    /// Last local day (inclusive), YYYY-MM-DD; at most 93 days after `from`.
    pub to: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarDayView {
    /// The brand-local date, YYYY-MM-DD.
    pub date: String,
    pub posts: Vec<PostView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarView {
    pub time_zone: String,
    pub from: String,
    pub to: String,
    pub days: Vec<CalendarDayView>,
    /// True when the range held more posts than one calendar shows (2,000).
    pub truncated: bool,
}

impl From<&Calendar> for CalendarView {
    fn from(c: &Calendar) -> Self {
        Self {
            time_zone: c.time_zone.to_string(),
            from: c.from.to_string(),
            to: c.to.to_string(),
            days: c
                .days
                .iter()
                .map(|d| CalendarDayView {
                    date: d.date.to_string(),
                    posts: d.posts.iter().map(PostView::from).collect(),
                })
                .collect(),
            truncated: c.truncated,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
}
