//! Domain events: what happened, for the brand to wire its own notifications. They go to
//! EventBridge in AWS and to an in-process bus locally; their JSON is documented in docs/events.md.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::{Asset, BrandId, Channel, Post, TargetState};

/// The envelope every event shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    pub id: String,
    /// e.g. `post.published`.
    #[serde(rename = "type")]
    pub kind: String,
    pub time: Timestamp,
    pub brand: String,
    pub data: Value,
}

/// The `source` of every event Palinsesto puts on its EventBridge bus (domain events and publish
/// jobs alike); a brand's rules match on it.
pub const EVENT_SOURCE: &str = "palinsesto";

pub const POST_PUBLISHED: &str = "post.published";
pub const POST_PARTIALLY_PUBLISHED: &str = "post.partially_published";
pub const POST_FAILED: &str = "post.failed";
pub const POST_MISSED: &str = "post.missed";
pub const CHANNEL_NEEDS_RECONNECT: &str = "channel.needs_reconnect";
pub const CHANNEL_EXPIRING: &str = "channel.expiring";
pub const INTERACTION_RECEIVED: &str = "interaction.received";
pub const INTERACTION_REPLIED: &str = "interaction.replied";
pub const INTERACTION_SLA_BREACHED: &str = "interaction.sla_breached";
pub const INTERACTION_RULE_MATCHED: &str = "interaction.rule_matched";
pub const ASSET_READY: &str = "asset.ready";
pub const ASSET_REJECTED: &str = "asset.rejected";
pub const REPORT_READY: &str = "report.ready";
/// Sent only to the webhook it names, when someone asks for a test delivery.
pub const WEBHOOK_PING: &str = "webhook.ping";

/// Every event type, in the order docs/events.md lists them.
pub const EVENT_TYPES: [&str; 14] = [
    POST_PUBLISHED,
    POST_PARTIALLY_PUBLISHED,
    POST_FAILED,
    POST_MISSED,
    CHANNEL_NEEDS_RECONNECT,
    CHANNEL_EXPIRING,
    INTERACTION_RECEIVED,
    INTERACTION_REPLIED,
    INTERACTION_SLA_BREACHED,
    INTERACTION_RULE_MATCHED,
    ASSET_READY,
    ASSET_REJECTED,
    REPORT_READY,
    WEBHOOK_PING,
];

impl DomainEvent {
    fn new(kind: &str, brand: &BrandId, time: Timestamp, data: Value) -> Self {
        Self {
            id: ulid::Ulid::new().to_string(),
            kind: kind.to_owned(),
            time,
            brand: brand.to_string(),
            data,
        }
    }

    /// The event for a post whose every target reached an end state.
    pub fn post_settled(brand: &BrandId, post: &Post, time: Timestamp) -> Self {
        use crate::domain::PostStatus::*;
        let kind = match post.status() {
            Published => POST_PUBLISHED,
            PartiallyPublished => POST_PARTIALLY_PUBLISHED,
            Missed => POST_MISSED,
            _ => POST_FAILED,
        };
        let targets: Vec<Value> = post
            .targets
            .iter()
            .map(|t| match &t.state {
                TargetState::Published { remote_id, url, published_at, notes } => json!({
                    "channel_id": t.channel_id, "state": "published", "remote_id": remote_id, "url": url,
                    "published_at": published_at, "notes": notes,
                }),
                TargetState::Failed { failure, attempts } => json!({
                    "channel_id": t.channel_id, "state": "failed", "kind": failure.kind,
                    "message": failure.message, "attempts": attempts,
                }),
                other => json!({ "channel_id": t.channel_id, "state": serde_json::to_value(other).ok().and_then(|v| v.get("state").cloned()) }),
            })
            .collect();
        let data = json!({
            "post_id": post.id.to_string(),
            "path": format!("/v1/posts/{}", post.id),
            "status": post.status(),
            "publish_at": post.publish_at,
            "labels": post.labels,
            "campaign": post.campaign,
            "targets": targets,
        });
        Self::new(kind, brand, time, data)
    }

    pub fn channel_needs_reconnect(
        brand: &BrandId,
        channel: &Channel,
        reason: &str,
        time: Timestamp,
    ) -> Self {
        let data = json!({
            "channel_id": channel.id.to_string(),
            "path": format!("/v1/channels/{}", channel.id),
            "network": channel.network,
            "reason": reason,
        });
        Self::new(CHANNEL_NEEDS_RECONNECT, brand, time, data)
    }

    /// A connection that cannot be renewed runs out at `expires_at` (some days from now): the
    /// channel must be connected again before then.
    pub fn channel_expiring(
        brand: &BrandId,
        channel: &Channel,
        expires_at: Timestamp,
        time: Timestamp,
    ) -> Self {
        let data = json!({
            "channel_id": channel.id.to_string(),
            "path": format!("/v1/channels/{}", channel.id),
            "network": channel.network,
            "expires_at": expires_at,
        });
        Self::new(CHANNEL_EXPIRING, brand, time, data)
    }

    /// Someone addressed the brand (ids and the API path only: never the text or the author).
    pub fn interaction_received(
        brand: &BrandId,
        interaction: &crate::domain::inbox::Interaction,
        time: Timestamp,
    ) -> Self {
        let data = json!({
            "interaction_id": interaction.id.to_string(),
            "path": format!("/v1/inbox/{}", interaction.id),
            "channel_id": interaction.channel.to_string(),
            "network": interaction.network,
            "kind": interaction.kind,
        });
        Self::new(INTERACTION_RECEIVED, brand, time, data)
    }

    /// One of the brand's inbox rules with an `event` action matched a new interaction.
    pub fn interaction_rule_matched(
        brand: &BrandId,
        interaction: &crate::domain::inbox::Interaction,
        rule: &str,
        time: Timestamp,
    ) -> Self {
        let data = json!({
            "interaction_id": interaction.id.to_string(),
            "path": format!("/v1/inbox/{}", interaction.id),
            "channel_id": interaction.channel.to_string(),
            "rule": rule,
        });
        Self::new(INTERACTION_RULE_MATCHED, brand, time, data)
    }

    /// The brand answered an interaction for the first time (from Palinsesto or natively).
    pub fn interaction_replied(
        brand: &BrandId,
        interaction: &crate::domain::inbox::Interaction,
        time: Timestamp,
    ) -> Self {
        let data = json!({
            "interaction_id": interaction.id.to_string(),
            "path": format!("/v1/inbox/{}", interaction.id),
            "channel_id": interaction.channel.to_string(),
            "via": interaction.first_response_via,
            "first_response_at": interaction.first_response_at,
        });
        Self::new(INTERACTION_REPLIED, brand, time, data)
    }

    /// An interaction is still waiting for its first response at the brand's target.
    pub fn interaction_sla_breached(
        brand: &BrandId,
        interaction: &crate::domain::inbox::Interaction,
        deadline: Timestamp,
        time: Timestamp,
    ) -> Self {
        let data = json!({
            "interaction_id": interaction.id.to_string(),
            "path": format!("/v1/inbox/{}", interaction.id),
            "channel_id": interaction.channel.to_string(),
            "deadline": deadline,
        });
        Self::new(INTERACTION_SLA_BREACHED, brand, time, data)
    }

    /// A file became a library asset.
    pub fn asset_ready(brand: &BrandId, asset: &Asset, time: Timestamp) -> Self {
        let networks: serde_json::Map<String, Value> = asset
            .details
            .networks
            .iter()
            .map(|(n, fit)| (n.as_str().to_owned(), json!(fit)))
            .collect();
        let data = json!({
            "asset_id": asset.id.to_string(),
            "path": format!("/v1/assets/{}", asset.id),
            "kind": asset.kind,
            "content_type": asset.content_type,
            "size": asset.size,
            "sha256": asset.details.sha256,
            "width": asset.width,
            "height": asset.height,
            "duration_ms": asset.duration_ms,
            "networks": networks,
        });
        Self::new(ASSET_READY, brand, time, data)
    }

    /// A scheduled report was written; subscribers fetch it through the API at `path`.
    pub fn report_ready(brand: &BrandId, ready: ReportReady, time: Timestamp) -> Self {
        let data = json!({
            "period": ready.period,
            "first_day": ready.first_day,
            "last_day": ready.last_day,
            "path": format!("/v1/reports?period={}&ending={}", ready.period.as_str(), ready.last_day),
            "kpis_met": ready.kpis_met,
            "kpis_missed": ready.kpis_missed,
            "sandbox_kpis_met": ready.sandbox_kpis_met,
            "sandbox_kpis_missed": ready.sandbox_kpis_missed,
        });
        Self::new(REPORT_READY, brand, time, data)
    }

    /// A test delivery for one webhook: only that webhook receives it.
    pub fn webhook_ping(brand: &BrandId, webhook_id: &str, time: Timestamp) -> Self {
        let data = json!({
            "webhook_id": webhook_id,
            "path": format!("/v1/webhooks/{webhook_id}"),
        });
        Self::new(WEBHOOK_PING, brand, time, data)
    }

    /// The webhook a ping is for; `None` for every other event.
    pub fn ping_target(&self) -> Option<&str> {
        (self.kind == WEBHOOK_PING)
            .then(|| self.data.get("webhook_id").and_then(Value::as_str))
            .flatten()
    }

    /// A file was refused; the asset (`path`) says why, and keeps the file in quarantine.
    pub fn asset_rejected(brand: &BrandId, asset: &Asset, time: Timestamp) -> Self {
        // The code only: the reason in words names the file, and is read at `path`.
        let code = asset
            .details
            .rejection
            .as_ref()
            .map_or("rejected", |r| r.code.as_str());
        let data = json!({
            "asset_id": asset.id.to_string(),
            "path": format!("/v1/assets/{}", asset.id),
            "size": asset.size,
            "code": code,
        });
        Self::new(ASSET_REJECTED, brand, time, data)
    }
}

/// What `report.ready` says about a report written to the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportReady {
    pub period: crate::domain::PeriodKind,
    pub first_day: String,
    pub last_day: String,
    pub kpis_met: usize,
    pub kpis_missed: usize,
    /// The targets of the brand's sandbox channels (simulated figures), counted apart.
    pub sandbox_kpis_met: usize,
    pub sandbox_kpis_missed: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("events could not be sent: {0}")]
pub struct EventError(pub String);

/// Where domain events go.
#[async_trait]
pub trait EventBus: Send + Sync {
    async fn emit(&self, events: Vec<DomainEvent>) -> Result<(), EventError>;
}
