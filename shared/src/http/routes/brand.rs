//! `/v1/brand`: the caller's brand profile.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::ApiResult;
use crate::http::extract::{Caller, IfMatch, JsonBody};
use crate::http::views::{BrandView, PatchBrand, PutBrand};
use crate::http::{AppState, Problem, etag};
use crate::services::brands::{BrandChanges, NewProfile};

#[utoipa::path(get, path = "/v1/brand", tag = "brand",
    responses((status = 200, description = "The brand profile", body = BrandView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn get_brand(State(s): State<AppState>, Caller(actor): Caller) -> ApiResult {
    let brand = s.brands.get(&actor).await?;
    Ok(etag::tagged(brand.version, Json(BrandView::from(&brand))))
}

/// Creates the profile the first time (201), replaces it afterwards (200). Owners only.
#[utoipa::path(put, path = "/v1/brand", tag = "brand", request_body = PutBrand,
    params(("If-Match" = Option<String>, Header, description = "ETag last read; stale -> 412")),
    responses((status = 200, description = "Replaced", body = BrandView),
              (status = 201, description = "Created", body = BrandView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn put_brand(
    State(s): State<AppState>,
    Caller(actor): Caller,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<PutBrand>,
) -> ApiResult {
    let (brand, created) = s
        .brands
        .put(
            &actor,
            NewProfile {
                name: &body.name,
                time_zone: &body.time_zone,
                approval_required: body.approval_required,
                late_window_minutes: body.late_window_minutes,
                publish_late: body.publish_late,
                report_period: body.report_period,
            },
            expected,
        )
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(etag::tagged(
        brand.version,
        (status, Json(BrandView::from(&brand))),
    ))
}

#[utoipa::path(patch, path = "/v1/brand", tag = "brand", request_body = PatchBrand,
    params(("If-Match" = Option<String>, Header, description = "ETag last read; stale -> 412")),
    responses((status = 200, description = "Updated", body = BrandView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn patch_brand(
    State(s): State<AppState>,
    Caller(actor): Caller,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<PatchBrand>,
) -> ApiResult {
    let changes = BrandChanges {
        name: body.name,
        time_zone: body.time_zone,
        approval_required: body.approval_required,
        late_window_minutes: body.late_window_minutes,
        publish_late: body.publish_late,
        report_period: body.report_period,
        inbox: body.inbox,
    };
    let brand = s.brands.patch(&actor, changes, expected).await?;
    Ok(etag::tagged(brand.version, Json(BrandView::from(&brand))))
}
