//! Adapters: the outside world behind the ports. DynamoDB, EventBridge and S3 run in AWS; the
//! embedded store, the folder bucket, the local bus and the local queue run in the local process.

#[cfg(feature = "aws")]
pub mod dynamodb;
#[cfg(feature = "local")]
pub mod embedded;
#[cfg(feature = "aws")]
pub mod eventbridge;
pub mod folder_bucket;
#[cfg(feature = "aws")]
pub mod kms;
pub mod local_bus;
pub mod local_keyring;
pub mod local_queue;
#[cfg(feature = "local")]
pub mod local_relay;
#[cfg(feature = "aws")]
pub mod s3;
#[cfg(feature = "aws")]
pub mod ssm;
