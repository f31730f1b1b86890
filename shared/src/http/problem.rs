//! RFC 9457 problem details: every error the API returns is `application/problem+json` with a
//! stable `type`, a plain-words `detail`, and per-field `errors` where the input was at fault.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::{DomainError, FieldError};
use crate::services::ServiceError;
use crate::store::StoreError;

pub const CONTENT_TYPE: &str = "application/problem+json";

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem; stable, for code to branch on.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong and what to do about it, in plain words.
    pub detail: String,
    /// One entry per invalid field, when the input was at fault.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Seconds to wait before trying again, sent as the `Retry-After` header (429).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("https://palinsesto.dev/problems/{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// 429: a per-brand rate limit; `detail` says which, and when it resets.
    pub fn too_many_requests(detail: impl Into<String>, retry_after_secs: u64) -> Self {
        Self {
            retry_after: Some(retry_after_secs),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
                detail,
            )
        }
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            detail,
        )
    }

    pub fn malformed_field(field: String, message: String) -> Self {
        let detail = if field.is_empty() || field == "." {
            format!("the request body is not valid: {message}")
        } else {
            format!("the field {field} is not valid: {message}")
        };
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-request",
            "Malformed request",
            detail,
        )
        .with_errors(vec![FieldError::new(field, message)])
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Not signed in",
            detail,
        )
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let unauthorized = status == StatusCode::UNAUTHORIZED;
        let retry_after = self.retry_after;
        let mut response = (status, Json(self)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        if unauthorized {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<DomainError> for Problem {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid(errors) => {
                let detail = match errors.as_slice() {
                    [one] => format!("{}: {}", one.field, one.message),
                    many => format!("{} fields are not valid; see errors", many.len()),
                };
                Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation",
                    "Invalid input",
                    detail,
                )
                .with_errors(errors)
            }
            DomainError::InvalidState(detail) => Self::new(
                StatusCode::CONFLICT,
                "invalid-state",
                "Not possible in the current state",
                detail,
            ),
            DomainError::Forbidden(detail) => {
                Self::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed", detail)
            }
            DomainError::NetworkRule(detail) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "network-rule",
                "The network does not allow it",
                detail,
            ),
        }
    }
}

impl From<ServiceError> for Problem {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Domain(d) => d.into(),
            ServiceError::NotFound(what) => {
                Self::not_found(format!("there is no such {what} in this brand"))
            }
            e @ ServiceError::Stale(_) => Self::new(
                StatusCode::PRECONDITION_FAILED,
                "stale",
                "Changed since you read it",
                e.to_string(),
            ),
            e @ ServiceError::VersionRequired(_) => Self::new(
                StatusCode::PRECONDITION_REQUIRED,
                "precondition-required",
                "If-Match required",
                e.to_string(),
            ),
            ServiceError::AlreadyExists(detail) => {
                Self::new(StatusCode::CONFLICT, "exists", "Already exists", detail)
            }
            e @ ServiceError::BrandNotSetUp => Self::new(
                StatusCode::CONFLICT,
                "brand-not-set-up",
                "Brand not set up",
                e.to_string(),
            ),
            ServiceError::BadRequest(detail) => Self::bad_request(detail),
            ServiceError::BadSignature(detail) => Self::unauthorized(detail),
            ServiceError::RateLimited(refusal) => {
                Self::too_many_requests(refusal.detail, refusal.retry_after_secs)
            }
            ServiceError::Store(e) => e.into(),
            ServiceError::Sealing(e) => {
                tracing::error!(error = %e, "keyring error");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Temporarily unavailable",
                    "the key service is not answering; try again shortly",
                )
            }
            ServiceError::Events(e) => {
                tracing::error!(error = %e, "event bus error");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Temporarily unavailable",
                    "the event bus is not answering; try again shortly",
                )
            }
            ServiceError::Bucket(e) => {
                tracing::error!(error = %e, "bucket error");
                match e {
                    crate::bucket::BlobError::Unavailable(_) => Self::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "unavailable",
                        "Temporarily unavailable",
                        "the file store is not answering; try again shortly",
                    ),
                    _ => Self::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        "Internal error",
                        "something went wrong on our side; it has been logged",
                    ),
                }
            }
        }
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { .. } => Self::new(
                StatusCode::PRECONDITION_FAILED,
                "stale",
                "Changed since you read it",
                "the item was changed by someone else: reload it and try again",
            ),
            StoreError::Unavailable(_) => {
                tracing::error!(error = %e, "store unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Temporarily unavailable",
                    "the data store is not answering; nothing was changed; try again shortly",
                )
            }
            StoreError::Corrupt(_) | StoreError::Invalid(_) => {
                tracing::error!(error = %e, "store error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "something went wrong on our side; it has been logged",
                )
            }
        }
    }
}
