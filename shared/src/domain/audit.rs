//! The brand's audit log: who did what security-relevant thing, when, and through which route.
//! An entry is written in the same atomic write as the change it records, so the log holds
//! exactly what happened. It never holds a secret: credentials and webhook secrets are named,
//! never copied.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Actor, Role};

/// How long an entry is kept (a little over a year, so a yearly review sees the whole year).
pub const AUDIT_RETENTION_DAYS: i64 = 400;

/// The actions recorded, by name.
pub mod action {
    pub const CHANNEL_CREATED: &str = "channel.created";
    pub const CHANNEL_UPDATED: &str = "channel.updated";
    pub const CHANNEL_ENDPOINT_CHANGED: &str = "channel.endpoint_changed";
    pub const CHANNEL_CREDENTIALS_REPLACED: &str = "channel.credentials_replaced";
    pub const CHANNEL_DELETED: &str = "channel.deleted";
    pub const CHANNEL_CONNECT_STARTED: &str = "channel.connect_started";
    pub const CHANNEL_CONNECTED: &str = "channel.connected";
    pub const CHANNEL_DISCONNECTED: &str = "channel.disconnected";
    pub const POST_APPROVED: &str = "post.approved";
    pub const POST_REJECTED: &str = "post.rejected";
    pub const POST_SCHEDULED: &str = "post.scheduled";
    pub const POST_UNSCHEDULED: &str = "post.unscheduled";
    pub const POST_PUBLISH_NOW: &str = "post.publish_now";
    pub const POST_CANCELLED: &str = "post.cancelled";
    pub const BRAND_UPDATED: &str = "brand.updated";
    pub const WEBHOOK_CREATED: &str = "webhook.created";
    pub const WEBHOOK_UPDATED: &str = "webhook.updated";
    pub const WEBHOOK_DELETED: &str = "webhook.deleted";
    pub const WEBHOOK_PINGED: &str = "webhook.pinged";
    pub const INBOX_REPLIED: &str = "inbox.replied";
    pub const INBOX_REPLY_APPROVED: &str = "inbox.reply_approved";
    pub const INBOX_MODERATED: &str = "inbox.moderated";
    pub const INBOX_RULES_UPDATED: &str = "inbox.rules_updated";
    pub const PERSON_UPDATED: &str = "person.updated";
    pub const PERSON_LINKED: &str = "person.linked";
    pub const PERSON_EXPORTED: &str = "person.exported";
    pub const PERSON_ERASED: &str = "person.erased";

    pub const ALL: [&str; 27] = [
        CHANNEL_CREATED,
        CHANNEL_UPDATED,
        CHANNEL_ENDPOINT_CHANGED,
        CHANNEL_CREDENTIALS_REPLACED,
        CHANNEL_DELETED,
        CHANNEL_CONNECT_STARTED,
        CHANNEL_CONNECTED,
        CHANNEL_DISCONNECTED,
        POST_APPROVED,
        POST_REJECTED,
        POST_SCHEDULED,
        POST_UNSCHEDULED,
        POST_PUBLISH_NOW,
        POST_CANCELLED,
        BRAND_UPDATED,
        WEBHOOK_CREATED,
        WEBHOOK_UPDATED,
        WEBHOOK_DELETED,
        WEBHOOK_PINGED,
        INBOX_REPLIED,
        INBOX_REPLY_APPROVED,
        INBOX_MODERATED,
        INBOX_RULES_UPDATED,
        PERSON_UPDATED,
        PERSON_LINKED,
        PERSON_EXPORTED,
        PERSON_ERASED,
    ];
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// A ULID: entries sort by it.
    pub id: String,
    pub at: Timestamp,
    /// The token's subject.
    pub actor: String,
    pub role: Role,
    /// One of [`action::ALL`].
    pub action: String,
    /// What it was done to, as `kind/id` (`channel/01J...`).
    pub target: String,
    /// The route it came through, `METHOD /path/{param}` (or the process, for work not done over
    /// HTTP).
    pub route: String,
    /// A few facts about the change (never a secret).
    #[schema(value_type = Object)]
    pub details: Value,
}

impl AuditEntry {
    pub fn new(actor: &Actor, action: &str, target: String, at: Timestamp, details: Value) -> Self {
        Self {
            id: ulid::Ulid::new().to_string(),
            at,
            actor: actor.subject.clone(),
            role: actor.role,
            action: action.to_owned(),
            target,
            route: actor
                .route
                .clone()
                .unwrap_or_else(|| "(not over HTTP)".to_owned()),
            details,
        }
    }
}

/// What a listing keeps.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub target: Option<String>,
    /// `[from, to)`.
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

impl AuditFilter {
    pub fn matches(&self, entry: &AuditEntry) -> bool {
        self.action.as_ref().is_none_or(|a| *a == entry.action)
            && self.actor.as_ref().is_none_or(|a| *a == entry.actor)
            && self.target.as_ref().is_none_or(|t| *t == entry.target)
    }
}
