//! Adapters: the outside world behind the ports. The DynamoDB adapter runs in AWS; the embedded
//! store runs in the local process.

#[cfg(feature = "aws")]
pub mod dynamodb;
#[cfg(feature = "local")]
pub mod embedded;
pub mod folder_bucket;
pub mod local_bus;
pub mod local_queue;
