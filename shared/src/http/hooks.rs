//! The inbound webhook routes, outside the JWT authorizer: each network proves a delivery with
//! its own signature on the raw body (`services::hooks`). Served by the hook function on Lambda
//! and, merged into the API's router, by the local runner. Bodies up to 1 MiB (413 beyond); an
//! answer within 5 s, since the route only verifies, parses and queues.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::Problem;
use crate::services::ServiceError;
use crate::services::hooks::{AppHook, HookService, MAX_HOOK_BODY, Received};

/// Networks wait a few seconds at most (X's CRC 3 s, Meta and Telegram about 5 s).
const ANSWER_WITHIN: Duration = Duration::from_millis(4500);

pub const META_SIGNATURE: &str = "x-hub-signature-256";
pub const X_SIGNATURE: &str = "x-twitter-webhooks-signature";
pub const LINKEDIN_SIGNATURE: &str = "x-li-signature";
pub const TELEGRAM_SECRET: &str = "x-telegram-bot-api-secret-token";

/// The hook routes, without a fallback, to be merged into another router (the local runner's).
pub fn hook_routes(service: HookService) -> Router {
    Router::new()
        .route("/hooks/meta", get(meta_handshake).post(meta_delivery))
        .route("/hooks/x", get(x_crc).post(x_delivery))
        .route(
            "/hooks/linkedin",
            get(linkedin_challenge).post(linkedin_delivery),
        )
        .route("/hooks/telegram/{hook}", post(telegram_delivery))
        .layer(DefaultBodyLimit::max(MAX_HOOK_BODY))
        .with_state(service)
}

/// The hook function's whole router: the hook routes, problem+json for anything else, the
/// security headers and the request log.
pub fn hooks_router(service: HookService) -> Router {
    hook_routes(service)
        .fallback(|| async { Problem::not_found("there is no such webhook endpoint") })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "this webhook endpoint does not accept that method",
            )
        })
        .layer(axum::middleware::map_response(
            super::security::security_headers,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The raw body, or 413 problem+json past the limit.
fn body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, Problem> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
                format!("a webhook delivery may be at most {MAX_HOOK_BODY} bytes"),
            )
        } else {
            Problem::bad_request(rejection.body_text())
        }
    })
}

/// Runs `work` within the networks' patience; what it refused becomes problem+json.
async fn answer(
    work: impl Future<Output = Result<Received, ServiceError>>,
) -> Result<Response, Problem> {
    match tokio::time::timeout(ANSWER_WITHIN, work).await {
        // The same answer whether the account is known or not.
        Ok(Ok(received)) => {
            if received.dropped > 0 {
                tracing::info!(
                    queued = received.queued,
                    dropped = received.dropped,
                    "a verified delivery named accounts not connected here"
                );
            }
            Ok(StatusCode::OK.into_response())
        }
        Ok(Err(ServiceError::NotFound(what))) => {
            Err(Problem::not_found(format!("there is no such {what}")))
        }
        Ok(Err(e)) => {
            if let ServiceError::BadSignature(why) = &e {
                tracing::warn!(why, "a webhook delivery was refused");
            }
            Err(e.into())
        }
        Err(_) => Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Temporarily unavailable",
            "the delivery could not be queued in time; the network will send it again",
        )),
    }
}

fn refused(e: ServiceError) -> Problem {
    match e {
        ServiceError::NotFound(what) => Problem::not_found(format!("there is no such {what}")),
        e => e.into(),
    }
}

async fn meta_handshake(
    State(s): State<HookService>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    let challenge = s
        .meta_handshake(
            q.get("hub.mode").map(String::as_str),
            q.get("hub.verify_token").map(String::as_str),
            q.get("hub.challenge").map(String::as_str),
        )
        .map_err(refused)?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        challenge,
    )
        .into_response())
}

async fn meta_delivery(
    State(s): State<HookService>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let raw = body(raw)?;
    answer(s.receive(AppHook::Meta, header(&headers, META_SIGNATURE), &raw)).await
}

async fn x_crc(
    State(s): State<HookService>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    let token = q
        .get("crc_token")
        .ok_or_else(|| Problem::bad_request("a challenge-response check has a crc_token"))?;
    let response_token = s.x_crc(token).map_err(refused)?;
    Ok(axum::Json(json!({ "response_token": response_token })).into_response())
}

async fn x_delivery(
    State(s): State<HookService>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let raw = body(raw)?;
    answer(s.receive(AppHook::X, header(&headers, X_SIGNATURE), &raw)).await
}

async fn linkedin_challenge(
    State(s): State<HookService>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    let code = q
        .get("challengeCode")
        .ok_or_else(|| Problem::bad_request("a LinkedIn validation has a challengeCode"))?;
    let response = s.linkedin_challenge(code).map_err(refused)?;
    Ok(axum::Json(json!({ "challengeCode": code, "challengeResponse": response })).into_response())
}

async fn linkedin_delivery(
    State(s): State<HookService>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let raw = body(raw)?;
    answer(s.receive(
        AppHook::Linkedin,
        header(&headers, LINKEDIN_SIGNATURE),
        &raw,
    ))
    .await
}

async fn telegram_delivery(
    State(s): State<HookService>,
    Path(hook): Path<String>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let raw = body(raw)?;
    answer(s.receive_telegram(&hook, header(&headers, TELEGRAM_SECRET), &raw)).await
}
