//! The fan-out port: the schedule tick turns each claimed target into one job, and something else
//! runs the jobs (EventBridge events to the publisher function in AWS, an in-process queue with
//! concurrency caps locally), so one slow network or account never holds the others back. What
//! runs a job is a [`JobRunner`], so a queue needs no knowledge of the service behind it.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::{BrandId, ChannelId, Network, PostId};

/// The EventBridge `detail-type` of a publish job (source [`crate::domain_events::EVENT_SOURCE`], detail
/// the job's JSON); the rule that invokes the publisher function matches on it.
pub const PUBLISH_TARGET_DETAIL_TYPE: &str = "palinsesto.publish-target";

/// Publish one target, under the claim `attempt_id`. Delivering a job twice is harmless: only the
/// attempt that holds the claim may record an outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishJob {
    pub brand: BrandId,
    pub post_id: PostId,
    pub channel_id: ChannelId,
    pub network: Network,
    pub attempt_id: String,
}

#[derive(Debug, thiserror::Error)]
#[error("publish jobs could not be dispatched: {0}")]
pub struct DispatchError(pub String);

#[async_trait]
pub trait Dispatcher: Send + Sync {
    async fn dispatch(&self, jobs: Vec<PublishJob>) -> Result<(), DispatchError>;
}

/// Runs a publish job in two steps: the network part, which a queue runs inside its concurrency
/// slots, then recording its outcome, which waits for the store rather than the network and so
/// runs after the slots are given back.
#[async_trait]
pub trait JobRunner: Clone + Send + Sync + 'static {
    /// What the network part produced, to be recorded.
    type Attempt: Send + 'static;

    async fn attempt(&self, job: &PublishJob) -> Self::Attempt;

    /// Records the attempt. An error means nothing was recorded: the job's claim expires and
    /// the job is taken again later.
    async fn record(&self, job: &PublishJob, attempt: Self::Attempt) -> Result<(), String>;
}
