//! `/v1/channels`: the brand's accounts on the networks, and their write-only credentials.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use serde_json::{Map, Value};

use super::ApiResult;
use crate::domain::ChannelId;
use crate::http::extract::{Caller, IfMatch, JsonBody};
use crate::http::views::{ChannelList, ChannelView, CreateChannel, PatchChannel};
use crate::http::{AppState, Problem, etag};
use crate::services::ServiceError;
use crate::services::channels::{ChannelChanges, NewChannel};

fn channel_id(raw: &str) -> Result<ChannelId, Problem> {
    ChannelId::parse(raw).map_err(|_| ServiceError::NotFound("channel").into())
}

#[utoipa::path(get, path = "/v1/channels", tag = "channels",
    responses((status = 200, description = "All channels of the brand", body = ChannelList),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn list_channels(State(s): State<AppState>, Caller(actor): Caller) -> ApiResult {
    let channels = s.channels.list(&actor).await?;
    Ok(axum::response::IntoResponse::into_response(Json(
        ChannelList {
            items: channels.iter().map(ChannelView::from).collect(),
        },
    )))
}

#[utoipa::path(post, path = "/v1/channels", tag = "channels", request_body = CreateChannel,
    responses((status = 201, description = "Created", body = ChannelView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn create_channel(
    State(s): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<CreateChannel>,
) -> ApiResult {
    let new = NewChannel {
        network: body.network,
        name: body.name,
        handle: body.handle,
        settings: body.settings,
        status: body.status,
        queue: body.queue,
    };
    let channel = s.channels.create(&actor, new).await?;
    let location = format!("/v1/channels/{}", channel.id);
    Ok(etag::tagged(
        channel.version,
        (
            StatusCode::CREATED,
            [(header::LOCATION, location)],
            Json(ChannelView::from(&channel)),
        ),
    ))
}

#[utoipa::path(get, path = "/v1/channels/{id}", tag = "channels", params(("id" = String, Path)),
    responses((status = 200, description = "The channel", body = ChannelView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn get_channel(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let channel = s.channels.get(&actor, &channel_id(&id)?).await?;
    Ok(etag::tagged(
        channel.version,
        Json(ChannelView::from(&channel)),
    ))
}

#[utoipa::path(patch, path = "/v1/channels/{id}", tag = "channels", request_body = PatchChannel,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "ETag last read; stale -> 412")),
    responses((status = 200, description = "Updated", body = ChannelView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn patch_channel(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<PatchChannel>,
) -> ApiResult {
    let changes = ChannelChanges {
        name: body.name,
        handle: body.handle,
        settings: body.settings,
        status: body.status,
        queue: body.queue,
    };
    let channel = s
        .channels
        .patch(&actor, &channel_id(&id)?, changes, expected)
        .await?;
    Ok(etag::tagged(
        channel.version,
        Json(ChannelView::from(&channel)),
    ))
}

#[utoipa::path(delete, path = "/v1/channels/{id}", tag = "channels",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "ETag last read; stale -> 412")),
    responses((status = 204, description = "Deleted, with its credentials"),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn delete_channel(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    IfMatch(expected): IfMatch,
) -> ApiResult {
    s.channels
        .delete(&actor, &channel_id(&id)?, expected)
        .await?;
    Ok(axum::response::IntoResponse::into_response(
        StatusCode::NO_CONTENT,
    ))
}

/// Stores the channel's credentials (an object of strings, e.g. `{"access_token": "..."}`). They are
/// write-only: no endpoint ever returns them.
#[utoipa::path(put, path = "/v1/channels/{id}/credentials", tag = "channels",
    request_body(content = Object, description = "Mastodon: access_token; Bluesky: identifier, app_password; Telegram: bot_token; others: access_token"),
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "ETag of the channel last read; stale -> 412")),
    responses((status = 200, description = "Stored; the channel (without credentials)", body = ChannelView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn put_credentials(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> ApiResult {
    let channel = s
        .channels
        .put_credentials(&actor, &channel_id(&id)?, body, expected)
        .await?;
    Ok(etag::tagged(
        channel.version,
        Json(ChannelView::from(&channel)),
    ))
}
