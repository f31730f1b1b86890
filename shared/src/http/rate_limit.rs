//! Per-brand rate limits on the HTTP surface, applied in one place: every write (`POST`, `PUT`,
//! `PATCH`, `DELETE` under `/v1`) takes a token from the bucket of the brand in the verified
//! token before its route runs; reads are never limited. Over the limit the answer is a 429
//! problem with `Retry-After`. The arithmetic is `domain::rate_limit`, the limiter
//! `services::rate_limits`; upload URLs also take from the upload allowance in the assets service.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, OpenApi, Ref, ResponseBuilder};

use super::extract::{Caller, Verified};
use super::{AppState, Problem};

fn is_write(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// The middleware: verifies the caller (a bad token is the same 401 the route would give, and
/// takes nothing), takes a write token of the caller's brand, and hands the verified caller on
/// so the route does not verify the token again.
pub async fn limit_writes(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !is_write(request.method()) || !request.uri().path().starts_with("/v1/") {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let actor = match Caller::from_request_parts(&mut parts, &state).await {
        Ok(Caller(actor)) => actor,
        Err(problem) => return problem.into_response(),
    };
    if let Err(e) = state.rate_limiter.take_write(&actor.brand).await {
        return Problem::from(e).into_response();
    }
    parts.extensions.insert(Verified(actor));
    next.run(Request::from_parts(parts, body)).await
}

/// Documents the 429 on every write operation of the document (called on the finished
/// document, so a new route cannot miss it).
pub fn document(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        if !path.starts_with("/v1/") {
            continue;
        }
        let writes = [
            item.post.as_mut(),
            item.put.as_mut(),
            item.patch.as_mut(),
            item.delete.as_mut(),
        ];
        for operation in writes.into_iter().flatten() {
            add_429(operation, path == "/v1/assets/uploads");
        }
    }
}

fn add_429(operation: &mut Operation, upload: bool) {
    let description = if upload {
        "Too many requests: the brand's writes (a burst, then a steady rate a minute), its upload \
         URLs still waiting for their files, or today's upload bytes (UTC) are used up. `detail` \
         says which limit and when it resets; `Retry-After` says how many seconds to wait"
    } else {
        "Too many requests: the brand's writes are used up (a burst, then a steady rate a \
         minute). `detail` says when the next one is possible; `Retry-After` says how many \
         seconds to wait"
    };
    let response = ResponseBuilder::new()
        .description(description)
        .header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1)),
                )
                .description(Some("Seconds to wait before trying again"))
                .build(),
        )
        .content(
            super::problem::CONTENT_TYPE,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build();
    operation
        .responses
        .responses
        .insert("429".to_owned(), response.into());
}
