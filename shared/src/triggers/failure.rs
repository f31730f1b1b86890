//! What a failed invocation (or a failed start) tells Lambda: a stable `errorType` per kind of
//! failure (what an operator filters the logs, the failure queues and the async-invocation
//! records by), never a Rust type name, with the message in plain words. docs/operations.md lists
//! the types; renaming one breaks someone's filter, so they only ever get added.

use crate::bucket::BlobError;
use crate::sealing::SealError;
use crate::services::ServiceError;
use crate::store::StoreError;

/// Why a function could not start: a setting of its environment, named.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A resource name the function needs (`TABLE_NAME`, `BUCKET_NAME`, `EVENT_BUS_NAME`) is not set.
    #[error("{0}")]
    Missing(String),
    /// Another setting is missing or malformed (`JWT_*`, the outbound policy, the API's settings).
    #[error("{0}")]
    Invalid(String),
}

/// A failure with a stable, documented `errorType`.
pub trait ErrorType: std::fmt::Display {
    /// e.g. `Store.Unavailable`, `Event.Malformed`.
    fn error_type(&self) -> &'static str;
}

impl ErrorType for ServiceError {
    fn error_type(&self) -> &'static str {
        match self {
            ServiceError::Store(StoreError::Unavailable(_)) => "Store.Unavailable",
            ServiceError::Store(StoreError::Corrupt(_)) => "Store.Corrupt",
            // Retried past the service's own retries: heavy contention on one item.
            ServiceError::Store(StoreError::Conflict { .. }) | ServiceError::Stale(_) => {
                "Store.Conflict"
            }
            ServiceError::Store(StoreError::Invalid(_)) => "Store.Invalid",
            ServiceError::Bucket(BlobError::NotFound(_)) => "Bucket.NotFound",
            ServiceError::Bucket(BlobError::Unavailable(_)) => "Bucket.Unavailable",
            ServiceError::Bucket(BlobError::Invalid(_)) => "Bucket.Invalid",
            ServiceError::Events(_) => "Bus.Unavailable",
            ServiceError::Sealing(SealError::Unavailable(_)) => "Keyring.Unavailable",
            ServiceError::Sealing(SealError::Refused(_)) => "Keyring.Refused",
            ServiceError::Sealing(SealError::Invalid(_)) => "Keyring.Invalid",
            ServiceError::BrandNotSetUp => "Brand.NotSetUp",
            ServiceError::RateLimited(_) => "Service.RateLimited",
            ServiceError::Domain(_)
            | ServiceError::NotFound(_)
            | ServiceError::VersionRequired(_)
            | ServiceError::AlreadyExists(_)
            | ServiceError::BadRequest(_)
            | ServiceError::BadSignature(_) => "Service.Refused",
        }
    }
}

impl ErrorType for StartupError {
    fn error_type(&self) -> &'static str {
        match self {
            StartupError::Missing(_) => "Config.Missing",
            StartupError::Invalid(_) => "Config.Invalid",
        }
    }
}

impl ErrorType for super::publisher::PublisherError {
    fn error_type(&self) -> &'static str {
        use super::publisher::PublisherError::*;
        match self {
            NotAnEvent(_) => "Event.Malformed",
            Unrecognised { .. } => "Event.Unrecognised",
            BadJob(_) => "Event.BadJob",
            Service(e) => e.error_type(),
        }
    }
}

impl ErrorType for super::schedules::ScheduleError {
    fn error_type(&self) -> &'static str {
        use super::schedules::ScheduleError::*;
        match self {
            NotAnEvent { .. } => "Event.Malformed",
            Unrecognised { .. } => "Event.Unrecognised",
            Service(e) => e.error_type(),
        }
    }
}

impl ErrorType for super::uploads::IntakeEventError {
    /// The first failed record's kind (the message names every failed record).
    fn error_type(&self) -> &'static str {
        match &self.cause {
            super::uploads::RecordFailure::Malformed => "Event.Malformed",
            super::uploads::RecordFailure::Service(e) => e.error_type(),
        }
    }
}

#[cfg(feature = "aws")]
impl ErrorType for super::relay::RelayError {
    fn error_type(&self) -> &'static str {
        use super::relay::RelayError::*;
        match self {
            NotAnEvent(_) => "Event.Malformed",
            Unrecognised { .. } => "Event.Unrecognised",
            BadRecord { .. } => "Stream.BadRecord",
            Service(e) => e.error_type(),
        }
    }
}

/// The Lambda diagnostic of each failure: its `errorType` and its message. (`From` for each type,
/// not for every `ErrorType`: Diagnostic is another crate's type.)
#[cfg(feature = "aws")]
macro_rules! diagnostic_of {
    ($($failure:ty),* $(,)?) => {$(
        impl From<$failure> for lambda_runtime::Diagnostic {
            fn from(failure: $failure) -> Self {
                lambda_runtime::Diagnostic {
                    error_type: failure.error_type().to_owned(),
                    error_message: failure.to_string(),
                }
            }
        }
    )*};
}

#[cfg(feature = "aws")]
diagnostic_of!(
    ServiceError,
    StartupError,
    super::publisher::PublisherError,
    super::schedules::ScheduleError,
    super::uploads::IntakeEventError,
    super::relay::RelayError,
);

/// The invocation's failure for the runtime, logged once with its errorType first (what a Logs
/// Insights query filters on: `fields.error_type`).
#[cfg(feature = "aws")]
pub fn reported<E: ErrorType>(failure: E) -> lambda_runtime::Diagnostic
where
    lambda_runtime::Diagnostic: From<E>,
{
    tracing::error!(error_type = failure.error_type(), error = %failure, "the invocation failed");
    lambda_runtime::Diagnostic::from(failure)
}

/// A function that could not start (its environment is incomplete or wrong) still takes its
/// invocations and fails each with the startup error's type (`Config.Missing`,
/// `Config.Invalid`). Exiting instead would reach Lambda as `Runtime.ExitError`, with the cause
/// only in the log, and cost a fresh start for every event until someone looks.
#[cfg(feature = "aws")]
pub async fn fail_every_invocation(error: StartupError) -> Result<(), lambda_runtime::Error> {
    tracing::error!(error_type = error.error_type(), %error, "the function cannot start");
    let diagnostic = lambda_runtime::Diagnostic::from(error);
    let diagnostic = &diagnostic;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |_: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            Err::<(), _>(diagnostic.clone())
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triggers::publisher::PublisherError;
    use crate::triggers::schedules::ScheduleError;

    fn store(e: StoreError) -> ServiceError {
        ServiceError::Store(e)
    }

    #[test]
    fn each_kind_of_failure_has_its_own_error_type() {
        let mut cases: Vec<(Box<dyn ErrorType>, &str)> = vec![
            (
                Box::new(StartupError::Missing("TABLE_NAME is not set".into())),
                "Config.Missing",
            ),
            (
                Box::new(StartupError::Invalid("JWT_ISSUER is not a URL".into())),
                "Config.Invalid",
            ),
            (
                Box::new(PublisherError::NotAnEvent("x".into())),
                "Event.Malformed",
            ),
            (
                Box::new(PublisherError::Unrecognised {
                    event_source: "aws.s3".into(),
                    detail_type: "Object Created".into(),
                }),
                "Event.Unrecognised",
            ),
            (Box::new(PublisherError::BadJob("x".into())), "Event.BadJob"),
            (
                Box::new(PublisherError::Service(store(StoreError::Unavailable(
                    "down".into(),
                )))),
                "Store.Unavailable",
            ),
            (
                Box::new(ScheduleError::NotAnEvent {
                    function: "reports",
                    detail: "x".into(),
                }),
                "Event.Malformed",
            ),
            (
                Box::new(ScheduleError::Unrecognised {
                    function: "metrics",
                    event_source: "x".into(),
                    detail_type: "y".into(),
                }),
                "Event.Unrecognised",
            ),
            (
                Box::new(ScheduleError::Service(ServiceError::Sealing(
                    SealError::Refused("no".into()),
                ))),
                "Keyring.Refused",
            ),
            (
                Box::new(store(StoreError::Corrupt("bad".into()))),
                "Store.Corrupt",
            ),
            (
                Box::new(store(StoreError::Conflict { index: 0 })),
                "Store.Conflict",
            ),
            (Box::new(ServiceError::Stale("post")), "Store.Conflict"),
            (
                Box::new(store(StoreError::Invalid("too big".into()))),
                "Store.Invalid",
            ),
            (
                Box::new(ServiceError::Bucket(BlobError::Unavailable("503".into()))),
                "Bucket.Unavailable",
            ),
            (
                Box::new(ServiceError::Bucket(BlobError::NotFound("k".into()))),
                "Bucket.NotFound",
            ),
            (
                Box::new(ServiceError::Bucket(BlobError::Invalid("k".into()))),
                "Bucket.Invalid",
            ),
            (
                Box::new(ServiceError::Events(crate::domain_events::EventError(
                    "throttled".into(),
                ))),
                "Bus.Unavailable",
            ),
            (
                Box::new(ServiceError::Sealing(SealError::Unavailable("kms".into()))),
                "Keyring.Unavailable",
            ),
            (
                Box::new(ServiceError::Sealing(SealError::Invalid("tag".into()))),
                "Keyring.Invalid",
            ),
            (Box::new(ServiceError::BrandNotSetUp), "Brand.NotSetUp"),
            (Box::new(ServiceError::NotFound("post")), "Service.Refused"),
        ];
        #[cfg(feature = "aws")]
        cases.push((
            Box::new(crate::triggers::relay::RelayError::BadRecord {
                event_id: "e".into(),
                why: "x".into(),
            }),
            "Stream.BadRecord",
        ));
        for (failure, expected) in cases {
            assert_eq!(failure.error_type(), expected, "{failure}");
        }
    }

    #[cfg(feature = "aws")]
    #[test]
    fn the_diagnostic_carries_the_type_and_the_plain_message() {
        let d = lambda_runtime::Diagnostic::from(crate::triggers::relay::RelayError::BadRecord {
            event_id: "e-1".into(),
            why: "missing field `id`".into(),
        });
        assert_eq!(d.error_type, "Stream.BadRecord");
        assert!(d.error_message.contains("e-1"), "{}", d.error_message);

        let d = lambda_runtime::Diagnostic::from(StartupError::Missing(
            "the environment variable TABLE_NAME is not set".into(),
        ));
        assert_eq!(
            (d.error_type.as_str(), d.error_message.as_str()),
            (
                "Config.Missing",
                "the environment variable TABLE_NAME is not set"
            )
        );
        // Never a Rust path, whatever the failure.
        let d = lambda_runtime::Diagnostic::from(PublisherError::Service(store(
            StoreError::Unavailable("timeout".into()),
        )));
        assert_eq!(d.error_type, "Store.Unavailable");
        assert!(!d.error_type.contains("::"));
        // What the mains hand the runtime: the same diagnostic, logged on the way.
        let d = reported(PublisherError::BadJob("no post_id".into()));
        assert_eq!(d.error_type, "Event.BadJob");
        assert!(
            d.error_message.contains("no post_id"),
            "{}",
            d.error_message
        );
    }
}
