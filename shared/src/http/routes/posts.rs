//! `/v1/posts`: drafts, the review workflow and scheduling.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::ApiResult;
use crate::domain::{Post, PostId, PostInput};
use crate::http::extract::{Caller, IfMatch, JsonBody, OptionalJsonBody, QueryParams};
use crate::http::views::PreflightView;
use crate::http::views::{
    CreatePost, PatchPost, PostList, PostListQuery, PostView, RejectBody, ScheduleBody,
};
use crate::http::{AppState, Problem, etag};
use crate::services::ServiceError;
use crate::services::posts::{Action, ListParams, PostChanges};

fn post_id(raw: &str) -> Result<PostId, Problem> {
    PostId::parse(raw).map_err(|_| ServiceError::NotFound("post").into())
}

fn one(post: &Post) -> axum::response::Response {
    etag::tagged(post.version, Json(PostView::from(post)))
}

fn created(post: &Post) -> axum::response::Response {
    let location = format!("/v1/posts/{}", post.id);
    etag::tagged(
        post.version,
        (
            StatusCode::CREATED,
            [(header::LOCATION, location)],
            Json(PostView::from(post)),
        ),
    )
}

#[utoipa::path(get, path = "/v1/posts", tag = "posts", params(PostListQuery),
    responses((status = 200, description = "A page of posts: newest first, or by publish time when from/to is given", body = PostList),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn list_posts(
    State(s): State<AppState>,
    Caller(actor): Caller,
    QueryParams(q): QueryParams<PostListQuery>,
) -> ApiResult {
    let params = ListParams {
        status: q.status,
        channel: q.channel,
        label: q.label,
        from: q.from,
        to: q.to,
        cursor: q.cursor,
        limit: q.limit,
    };
    let page = s.posts.list(&actor, params).await?;
    Ok(Json(PostList {
        items: page.posts.iter().map(PostView::from).collect(),
        next_cursor: page.next.map(|c| c.into_string()),
    })
    .into_response())
}

#[utoipa::path(post, path = "/v1/posts", tag = "posts", request_body = CreatePost,
    responses((status = 201, description = "The new draft", body = PostView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn create_post(
    State(s): State<AppState>,
    Caller(actor): Caller,
    JsonBody(b): JsonBody<CreatePost>,
) -> ApiResult {
    let input = PostInput {
        text: b.text,
        thread: b.thread,
        channels: b.channels,
        variants: b.variants,
        media: b.media,
        labels: b.labels,
        campaign: b.campaign,
        publish_at: b.publish_at,
    };
    Ok(created(&s.posts.create(&actor, input).await?))
}

#[utoipa::path(get, path = "/v1/posts/{id}", tag = "posts", params(("id" = String, Path)),
    responses((status = 200, description = "The post with each target's publishing state", body = PostView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn get_post(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    Ok(one(&s.posts.get(&actor, &post_id(&id)?).await?))
}

#[utoipa::path(patch, path = "/v1/posts/{id}", tag = "posts", request_body = PatchPost,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "ETag last read; stale -> 412")),
    responses((status = 200, description = "Updated", body = PostView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn patch_post(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    IfMatch(expected): IfMatch,
    JsonBody(b): JsonBody<PatchPost>,
) -> ApiResult {
    let changes = PostChanges {
        text: b.text,
        thread: b.thread,
        channels: b.channels,
        variants: b.variants,
        media: b.media,
        labels: b.labels,
        campaign: b.campaign,
        publish_at: b.publish_at,
    };
    Ok(one(&s
        .posts
        .patch(&actor, &post_id(&id)?, changes, expected)
        .await?))
}

#[utoipa::path(delete, path = "/v1/posts/{id}", tag = "posts",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "ETag last read; stale -> 412")),
    responses((status = 204, description = "Deleted"),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn delete_post(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    IfMatch(expected): IfMatch,
) -> ApiResult {
    s.posts.delete(&actor, &post_id(&id)?, expected).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn act(
    s: AppState,
    actor: crate::domain::Actor,
    id: &str,
    action: Action,
    expected: Option<u64>,
) -> ApiResult {
    Ok(one(&s
        .posts
        .act(&actor, &post_id(id)?, action, expected)
        .await?))
}

/// Sends a draft for review (editors and up).
#[utoipa::path(post, path = "/v1/posts/{id}/submit", tag = "workflow",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "ETag last read; stale -> 412")),
    responses((status = 200, description = "In review", body = PostView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn submit_post(
    State(s): State<AppState>,
    Caller(a): Caller,
    Path(id): Path<String>,
    IfMatch(e): IfMatch,
) -> ApiResult {
    act(s, a, &id, Action::Submit, e).await
}

/// Approves a post in review (managers and owners).
#[utoipa::path(post, path = "/v1/posts/{id}/approve", tag = "workflow",
    params(("id" = String, Path), ("If-Match" = String, Header, description = "Required: the ETag of the post as you last read it; missing -> 428, stale -> 412")),
    responses((status = 200, description = "Approved", body = PostView),
              (status = 412, description = "The post changed since you read it (stale If-Match): read it again", body = Problem, content_type = "application/problem+json"),
              (status = 428, description = "If-Match is missing: send the ETag you last read", body = Problem, content_type = "application/problem+json"),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn approve_post(
    State(s): State<AppState>,
    Caller(a): Caller,
    Path(id): Path<String>,
    IfMatch(e): IfMatch,
) -> ApiResult {
    act(s, a, &id, Action::Approve, e).await
}

/// Sends a post in review back to draft, with an optional note (managers and owners).
#[utoipa::path(post, path = "/v1/posts/{id}/reject", tag = "workflow", request_body(content = Option<RejectBody>),
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "ETag last read; stale -> 412")),
    responses((status = 200, description = "Back to draft", body = PostView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn reject_post(
    State(s): State<AppState>,
    Caller(a): Caller,
    Path(id): Path<String>,
    IfMatch(e): IfMatch,
    OptionalJsonBody(b): OptionalJsonBody<RejectBody>,
) -> ApiResult {
    act(
        s,
        a,
        &id,
        Action::Reject {
            note: b.unwrap_or_default().note,
        },
        e,
    )
    .await
}

/// Puts the post on the schedule at `publish_at` (or its current publish time).
#[utoipa::path(post, path = "/v1/posts/{id}/schedule", tag = "workflow", request_body(content = Option<ScheduleBody>),
    params(("id" = String, Path), ("If-Match" = String, Header, description = "Required: the ETag of the post as you last read it; missing -> 428, stale -> 412")),
    responses((status = 200, description = "Scheduled", body = PostView),
              (status = 412, description = "The post changed since you read it (stale If-Match): read it again", body = Problem, content_type = "application/problem+json"),
              (status = 428, description = "If-Match is missing: send the ETag you last read", body = Problem, content_type = "application/problem+json"),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn schedule_post(
    State(s): State<AppState>,
    Caller(a): Caller,
    Path(id): Path<String>,
    IfMatch(e): IfMatch,
    OptionalJsonBody(b): OptionalJsonBody<ScheduleBody>,
) -> ApiResult {
    act(
        s,
        a,
        &id,
        Action::Schedule {
            publish_at: b.unwrap_or_default().publish_at,
        },
        e,
    )
    .await
}

/// Takes a scheduled post off the schedule, back to approved (or draft when approval is not required).
#[utoipa::path(post, path = "/v1/posts/{id}/unschedule", tag = "workflow",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "ETag last read; stale -> 412")),
    responses((status = 200, description = "Unscheduled", body = PostView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn unschedule_post(
    State(s): State<AppState>,
    Caller(a): Caller,
    Path(id): Path<String>,
    IfMatch(e): IfMatch,
) -> ApiResult {
    act(s, a, &id, Action::Unschedule, e).await
}

/// Cancels the post; it stays in the list as cancelled.
#[utoipa::path(post, path = "/v1/posts/{id}/cancel", tag = "workflow",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "ETag last read; stale -> 412")),
    responses((status = 200, description = "Cancelled", body = PostView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn cancel_post(
    State(s): State<AppState>,
    Caller(a): Caller,
    Path(id): Path<String>,
    IfMatch(e): IfMatch,
) -> ApiResult {
    act(s, a, &id, Action::Cancel, e).await
}

/// Copies the post into a new draft without a publish time.
#[utoipa::path(post, path = "/v1/posts/{id}/duplicate", tag = "workflow", params(("id" = String, Path)),
    responses((status = 201, description = "The new draft", body = PostView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn duplicate_post(
    State(s): State<AppState>,
    Caller(a): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    Ok(created(&s.posts.duplicate(&a, &post_id(&id)?).await?))
}

/// Schedules the post for right now (managers and owners); the publisher takes it at once.
#[utoipa::path(post, path = "/v1/posts/{id}/publish-now", tag = "workflow",
    params(("id" = String, Path), ("If-Match" = String, Header, description = "Required: the ETag of the post as you last read it; missing -> 428, stale -> 412")),
    responses((status = 200, description = "Scheduled for now; per-target results appear in GET /v1/posts/{id}", body = PostView),
              (status = 412, description = "The post changed since you read it (stale If-Match): read it again", body = Problem, content_type = "application/problem+json"),
              (status = 428, description = "If-Match is missing: send the ETag you last read", body = Problem, content_type = "application/problem+json"),
              (status = "4XX", description = "Problem (422 lists each target's preflight problems)", body = Problem, content_type = "application/problem+json")))]
pub async fn publish_now(
    State(s): State<AppState>,
    Caller(a): Caller,
    Path(id): Path<String>,
    IfMatch(e): IfMatch,
) -> ApiResult {
    let response = act(s.clone(), a, &id, Action::PublishNow, e).await?;
    s.publish_soon.notify_one();
    Ok(response)
}

/// Schedules the post at the next free queue slot of its channels.
#[utoipa::path(post, path = "/v1/posts/{id}/queue", tag = "workflow",
    params(("id" = String, Path), ("If-Match" = String, Header, description = "Required: the ETag of the post as you last read it; missing -> 428, stale -> 412")),
    responses((status = 200, description = "Scheduled at the next free slot", body = PostView),
              (status = 412, description = "The post changed since you read it (stale If-Match): read it again", body = Problem, content_type = "application/problem+json"),
              (status = 428, description = "If-Match is missing: send the ETag you last read", body = Problem, content_type = "application/problem+json"),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn queue_post(
    State(s): State<AppState>,
    Caller(a): Caller,
    Path(id): Path<String>,
    IfMatch(e): IfMatch,
) -> ApiResult {
    act(s, a, &id, Action::Queue, e).await
}

/// Checks every target against its network's rules without scheduling anything.
#[utoipa::path(post, path = "/v1/posts/{id}/preflight", tag = "workflow", params(("id" = String, Path)),
    responses((status = 200, description = "Each target's problems, in plain words", body = PreflightView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn preflight_post(
    State(s): State<AppState>,
    Caller(a): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let targets = s.posts.preflight(&a, &post_id(&id)?).await?;
    let ok = targets.iter().all(|t| t.problems.is_empty());
    Ok(Json(PreflightView { ok, targets }).into_response())
}
