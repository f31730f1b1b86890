//! `/v1/competitors`: public Bluesky and Mastodon accounts the brand watches. Reading them takes
//! any role; adding and removing them takes the manager role (the permission that manages
//! channels).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiResult;
use crate::domain::{CompetitorId, Network};
use crate::http::extract::{Caller, IfMatch, JsonBody};
use crate::http::{AppState, Problem, etag};
use crate::services::ServiceError;
use crate::services::competitors::{NewCompetitor, WatchedCompetitor};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCompetitor {
    /// bluesky or mastodon: the networks whose public accounts can be read without credentials.
    pub network: String,
    /// Bluesky: `rival.bsky.social` or a `did:`. Mastodon: `user@server.example` (or `user`,
    /// with `server` set).
    pub handle: String,
    /// The name shown in reports; the handle when left out.
    pub name: Option<String>,
    /// Mastodon: the server's base URL, when not the handle's domain. Bluesky: a public AppView's
    /// base URL, when not the default.
    pub server: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompetitorView {
    pub id: String,
    pub network: Network,
    pub handle: String,
    pub name: String,
    pub server: Option<String>,
    pub version: u64,
    pub created_at: Timestamp,
    /// When its public profile is read next; `null` when it is not being read.
    pub next_snapshot_at: Option<Timestamp>,
    /// Why the last reading failed, in plain words (for example, no such public account);
    /// `null` when it succeeded or none was taken yet.
    pub last_error: Option<String>,
}

impl From<&WatchedCompetitor> for CompetitorView {
    fn from(w: &WatchedCompetitor) -> Self {
        let c = &w.competitor;
        Self {
            id: c.id.to_string(),
            network: c.network,
            handle: c.handle.clone(),
            name: c.name.clone(),
            server: c.server.clone(),
            version: c.version,
            created_at: c.created_at,
            next_snapshot_at: w.tracker.as_ref().map(|t| t.next_at),
            last_error: w.tracker.as_ref().and_then(|t| t.last_error.clone()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompetitorList {
    pub items: Vec<CompetitorView>,
}

fn competitor_id(raw: &str) -> Result<CompetitorId, Problem> {
    CompetitorId::parse(raw).map_err(|_| ServiceError::NotFound("competitor").into())
}

/// Every competitor the brand watches, with the state of its readings. Any role may read them.
#[utoipa::path(get, path = "/v1/competitors", tag = "competitors",
    responses((status = 200, description = "All competitors the brand watches", body = CompetitorList),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn list_competitors(State(s): State<AppState>, Caller(actor): Caller) -> ApiResult {
    let competitors = s.competitors.list(&actor).await?;
    Ok(axum::response::IntoResponse::into_response(Json(
        CompetitorList {
            items: competitors.iter().map(CompetitorView::from).collect(),
        },
    )))
}

/// Starts watching a public account; its first snapshot is taken at the next metrics run. Takes
/// the manager role (the permission that manages channels).
#[utoipa::path(post, path = "/v1/competitors", tag = "competitors", request_body = CreateCompetitor,
    responses((status = 201, description = "Watched", body = CompetitorView),
              (status = "4XX", description = "Problem: 422 names the invalid field (other networks are refused); 409 when the account is already watched", body = Problem, content_type = "application/problem+json")))]
pub async fn create_competitor(
    State(s): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<CreateCompetitor>,
) -> ApiResult {
    let new = NewCompetitor {
        network: body.network,
        handle: body.handle,
        name: body.name,
        server: body.server,
    };
    let watched = s.competitors.create(&actor, new).await?;
    let location = format!("/v1/competitors/{}", watched.competitor.id);
    Ok(etag::tagged(
        watched.competitor.version,
        (
            StatusCode::CREATED,
            [(header::LOCATION, location)],
            Json(CompetitorView::from(&watched)),
        ),
    ))
}

/// One watched competitor. Any role may read it.
#[utoipa::path(get, path = "/v1/competitors/{id}", tag = "competitors", params(("id" = String, Path)),
    responses((status = 200, description = "The competitor", body = CompetitorView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn get_competitor(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let watched = s.competitors.get(&actor, &competitor_id(&id)?).await?;
    Ok(etag::tagged(
        watched.competitor.version,
        Json(CompetitorView::from(&watched)),
    ))
}

/// Stops watching a competitor (the snapshots already taken expire on their own). Takes the
/// manager role (the permission that manages channels).
#[utoipa::path(delete, path = "/v1/competitors/{id}", tag = "competitors",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "ETag last read; stale -> 412")),
    responses((status = 204, description = "No longer watched"),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn delete_competitor(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    IfMatch(expected): IfMatch,
) -> ApiResult {
    s.competitors
        .delete(&actor, &competitor_id(&id)?, expected)
        .await?;
    Ok(axum::response::IntoResponse::into_response(
        StatusCode::NO_CONTENT,
    ))
}
