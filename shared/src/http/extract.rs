//! Request extractors that turn every kind of bad input into a problem+json answer: the caller,
//! JSON bodies (with the path of the offending field), query strings and `If-Match`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::{AppState, Problem};
use crate::domain::Actor;

/// The verified caller, from `Authorization: Bearer <JWT>`.
pub struct Caller(pub Actor);

/// A caller a middleware already verified (the write rate limit), handed to the route in the
/// request's extensions so the token is verified once. Only server code can put it there.
#[derive(Clone)]
pub(crate) struct Verified(pub(crate) Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let mut actor = verified_actor(parts, state).await?;
        // The route template, never the concrete path: the audit log names how, not which ids.
        actor.route = parts
            .extensions
            .get::<axum::extract::MatchedPath>()
            .map(|path| format!("{} {}", parts.method, path.as_str()));
        Ok(Caller(actor))
    }
}

async fn verified_actor(parts: &Parts, state: &AppState) -> Result<Actor, Problem> {
    if let Some(Verified(actor)) = parts.extensions.get::<Verified>() {
        return Ok(actor.clone());
    }
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| Problem::unauthorized("send your token as Authorization: Bearer <token>"))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Problem::unauthorized("the Authorization header must be: Bearer <token>"))?;
    match state.verifier.verify(token).await {
        Ok(actor) => Ok(actor),
        Err(e) if e.is_unavailable() => {
            tracing::error!(error = %e, "token verification unavailable");
            Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Temporarily unavailable",
                "your token could not be checked right now; try again shortly",
            ))
        }
        Err(e) => Err(Problem::unauthorized(e.to_string())),
    }
}

/// A JSON body, deserialized strictly: unknown fields and wrong types are a 400 naming the field.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        match OptionalJsonBody::<T>::from_request(req, state).await? {
            OptionalJsonBody(Some(value)) => Ok(JsonBody(value)),
            OptionalJsonBody(None) => Err(Problem::bad_request("a JSON request body is required")),
        }
    }
}

/// Like [`JsonBody`], but an empty body is allowed (actions whose body is optional).
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let json_content = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let essence = v
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                essence == "application/json" || essence.ends_with("+json")
            });
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonBody(None));
        }
        if json_content != Some(true) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de)
            .map(|v| OptionalJsonBody(Some(v)))
            .map_err(|e| {
                let path = e.path().to_string();
                Problem::malformed_field(path, e.into_inner().to_string())
            })
    }
}

fn body_rejection(e: BytesRejection) -> Problem {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Request body too large",
            "the request body is larger than this API accepts",
        )
    } else {
        Problem::bad_request(format!("the request body could not be read: {e}"))
    }
}

/// Query-string parameters, strictly: unknown parameters and bad values are a 400.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(QueryParams)
            .map_err(|e| Problem::malformed_field(e.path().to_string(), e.into_inner().to_string()))
    }
}

/// The version the caller last read, from `If-Match: "<version>"`; `None` when absent or `*`.
pub struct IfMatch(pub Option<u64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let raw = value.to_str().unwrap_or("").trim();
        if raw == "*" {
            return Ok(IfMatch(None));
        }
        super::etag::parse(raw).map(|v| IfMatch(Some(v))).ok_or_else(|| {
            Problem::bad_request(format!(
                "If-Match must be one ETag exactly as this API sent it (for example \"3\"); got {raw}"
            ))
        })
    }
}
