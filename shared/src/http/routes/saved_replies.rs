//! `/v1/saved-replies`: answers the team reuses, with `{name}` and `{handle}` filled in for each
//! person (`POST /v1/inbox/{id}/reply` with `saved_reply`). Everyone reads them; editors and up
//! write them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiResult;
use crate::domain::inbox::SavedReply;
use crate::http::extract::{Caller, IfMatch, JsonBody};
use crate::http::{AppState, Problem, etag};

#[derive(Debug, Serialize, ToSchema)]
pub struct SavedReplyList {
    pub items: Vec<SavedReply>,
}

/// The brand's saved replies, oldest first.
#[utoipa::path(get, path = "/v1/saved-replies", tag = "inbox",
    responses((status = 200, body = SavedReplyList),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn list_saved_replies(State(s): State<AppState>, Caller(actor): Caller) -> ApiResult {
    let items = s.inbox.saved_replies(&actor).await?;
    Ok(Json(SavedReplyList { items }).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSavedReply {
    pub title: String,
    /// May use `{name}` and `{handle}`.
    pub text: String,
}

/// Saves a reply for reuse (editors and up).
#[utoipa::path(post, path = "/v1/saved-replies", tag = "inbox", request_body = NewSavedReply,
    responses((status = 201, body = SavedReply),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn create_saved_reply(
    State(s): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<NewSavedReply>,
) -> ApiResult {
    let saved = s
        .inbox
        .create_saved_reply(&actor, &body.title, &body.text)
        .await?;
    Ok(etag::tagged(
        saved.version,
        (StatusCode::CREATED, Json(saved)),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchSavedReply {
    pub title: Option<String>,
    pub text: Option<String>,
}

/// Changes a saved reply (editors and up, `If-Match`).
#[utoipa::path(patch, path = "/v1/saved-replies/{id}", tag = "inbox", params(("id" = String, Path)),
    request_body = PatchSavedReply,
    responses((status = 200, body = SavedReply),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn patch_saved_reply(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<PatchSavedReply>,
) -> ApiResult {
    let saved = s
        .inbox
        .update_saved_reply(
            &actor,
            &id,
            body.title.as_deref(),
            body.text.as_deref(),
            expected,
        )
        .await?;
    Ok(etag::tagged(saved.version, Json(saved)))
}

/// Deletes a saved reply (editors and up, `If-Match`).
#[utoipa::path(delete, path = "/v1/saved-replies/{id}", tag = "inbox", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn delete_saved_reply(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    IfMatch(expected): IfMatch,
) -> ApiResult {
    s.inbox.delete_saved_reply(&actor, &id, expected).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
