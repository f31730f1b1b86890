//! The social networks. Each network is a folder split by capability (client or session,
//! publish, metrics; later inbox, reply, listening, oauth); each capability is a small trait in
//! [`capability`], and the [`Connectors`] registry hands callers the one they ask for. What every
//! network offers, and its limits, is the coverage table in `crate::domain::coverage`. Every API
//! base URL is configurable so tests point connectors at loopback fakes.

pub mod account;
pub mod bluesky;
pub mod capability;
pub mod connect;
pub mod error;
pub mod facebook;
pub mod instagram;
pub mod linkedin;
pub mod mastodon;
pub mod meta_graph;
pub mod oauth;
pub mod polling;
pub mod public;
pub mod registry;
pub mod sandbox;
pub mod telegram;
pub mod threads;
pub mod x;

pub use account::{
    Account, CredentialsSink, RENEWAL_CALL_TIMEOUT, Renewal, RenewalLease, within_renewal_time,
};
pub use capability::{
    Callback, CheckCredentials, InboxRead, MediaFiles, Moderate, Outgoing, ParsePush, Publish,
    PublishContext, Published, Pushed, ReadBack, ReadInbox, ReadMetrics, ReplyTo, Subscribe,
    Subscription,
};
pub use error::{PublishError, call_failed, create_failed, reset_at_unix, retry_after, snippet};
pub use polling::Polling;
pub use registry::{
    Connectors, NetworkConnectors, NetworkEndpoints, Unsupported, standard_connectors,
};
