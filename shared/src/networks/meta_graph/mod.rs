//! What Meta's three networks (Facebook Pages, Instagram, Threads) share of Meta's Graph API:
//! `client` holds Graph calls and their error body; `containers` the media containers Instagram
//! and Threads publish through; `token` the long-lived token refresh; `login` Facebook Login and the
//! long-lived logins of Instagram and Threads; `publish` first comments,
//! permalinks and the read-back; `metrics` insights and counts; for the inbox, `listing` reads
//! list edges from a stream's cursor, `messaging` Messenger's and Instagram's conversations and
//! Send API, `webhook` the envelope of Meta's webhook deliveries, `answers` what replies and
//! moderation share.

pub mod answers;
mod client;
mod containers;
pub mod listing;
pub mod login;
pub mod long_lived;
pub mod messaging;
mod metrics;
mod publish;
pub mod signed_request;
mod token;
pub mod webhook;

pub use client::{Call, Graph, GraphFailure, Params, id_of, refusal, unversioned};
pub use containers::{Container, Containers};
pub use metrics::{Insights, count_at, insights};
pub use publish::{RecentPosts, comment, find_by_text, follow_up_note, graph_time, permalink};
pub use token::{fresh_token, long_lived_expiry, refreshed_at};
