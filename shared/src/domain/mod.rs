//! The domain: plain types and rules with no I/O. Every type validates on construction, so anything
//! further in can trust it; errors are written for the person who made the mistake.

pub mod access;
pub mod asset;
pub mod audit;
pub mod brand;
pub mod business_hours;
pub mod channel;
pub mod competitor;
pub mod connection;
pub mod coverage;
pub mod endpoint;
pub mod error;
pub mod ids;
pub mod inbox;
pub mod inbox_rules;
pub mod inbox_settings;
pub mod inbox_stats;
pub mod kpi;
pub mod metrics;
pub mod moderation;
pub mod people;
pub mod post;
pub mod preflight;
pub mod publishing;
pub mod queue;
pub mod rate_limit;
pub mod reply_rules;
pub mod report;
pub mod report_build;
pub mod sandbox;
pub mod sandbox_audience;
pub mod secret;
pub mod time;
pub mod webhook;

pub use access::{Actor, Permission, Role};
pub use asset::{
    Asset, AssetDetails, AssetRejection, AssetStatus, IntakeTicket, MediaKind, NetworkFit,
};
pub use brand::{Brand, BrandProfile};
pub use channel::{Channel, ChannelStatus, Credentials, Network, ReconnectReason};
pub use competitor::{Competitor, CompetitorFields};
pub use endpoint::{Endpoint, OutboundPolicy};
pub use error::{DomainError, FieldError, Validation};
pub use ids::{
    AssetId, BrandId, ChannelId, CompetitorId, InteractionId, KpiId, PersonId, PostId, ReplyId,
    WebhookId,
};
pub use kpi::{Kpi, KpiDirection, KpiMetric, PeriodKind};
pub use metrics::{Counters, MetricsReading, PublicPost, PublicProfile};
pub use post::{
    Failure, Post, PostDraft, PostInput, PostStatus, Target, TargetState, Variant, Workflow,
};
pub use secret::Secret;
pub use time::{LocalDate, TimeZoneName};
