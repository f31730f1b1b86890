//! What each Lambda function is invoked with (the AWS trigger payloads: EventBridge schedules and
//! publish-target events, S3 notifications), decoded and handed to one service. The local runner
//! calls the services directly and needs none of this.

pub mod failure;
pub mod publisher;
#[cfg(feature = "aws")]
pub mod relay;
pub mod schedules;
pub mod uploads;
