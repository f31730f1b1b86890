//! `/v1/kpis`: the brand's KPI targets. Reading them takes any role; setting, changing and
//! deleting them takes the manager role (the permission that manages channels).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiResult;
use crate::domain::{Kpi, KpiDirection, KpiId, KpiMetric, PeriodKind};
use crate::http::extract::{Caller, IfMatch, JsonBody};
use crate::http::views::present;
use crate::http::{AppState, Problem, etag};
use crate::services::ServiceError;
use crate::services::kpis::{KpiChanges, NewKpi};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKpi {
    /// What is measured.
    #[schema(value_type = KpiMetric)]
    pub metric: String,
    /// One channel of the brand; left out or `null` for all channels together.
    #[serde(default)]
    pub channel_id: Option<String>,
    /// The value to reach in each period. An engagement rate is a percentage (0 to 100), a
    /// number of posts is whole, and only follower growth may be negative.
    pub target: f64,
    /// The report period the target is measured over.
    #[schema(value_type = PeriodKind)]
    pub period: String,
    /// Met when the figure is `at_least` the target or `at_most` it; left out, the metric's
    /// usual one (`at_most` for `first_response_median_minutes`, `at_least` for the others).
    #[serde(default)]
    #[schema(value_type = Option<KpiDirection>)]
    pub direction: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchKpi {
    /// A new metric; the target is checked again against it.
    #[schema(value_type = Option<KpiMetric>)]
    pub metric: Option<String>,
    /// A channel of the brand; `null` for all channels together.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub channel_id: Option<Option<String>>,
    pub target: Option<f64>,
    #[schema(value_type = Option<PeriodKind>)]
    pub period: Option<String>,
    /// `at_least` or `at_most`; `null` for the metric's usual one.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<KpiDirection>)]
    pub direction: Option<Option<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KpiView {
    pub id: String,
    pub metric: KpiMetric,
    /// The words reports use for the metric.
    pub label: String,
    /// `null`: all channels together.
    pub channel_id: Option<String>,
    pub target: f64,
    /// Which side of the target meets it.
    pub direction: KpiDirection,
    pub period: PeriodKind,
    pub version: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<&Kpi> for KpiView {
    fn from(k: &Kpi) -> Self {
        Self {
            id: k.id.to_string(),
            metric: k.metric,
            label: k.metric.label().to_owned(),
            channel_id: k.channel.map(|c| c.to_string()),
            target: k.target,
            direction: k.direction(),
            period: k.period,
            version: k.version,
            created_at: k.created_at,
            updated_at: k.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KpiList {
    pub items: Vec<KpiView>,
}

fn kpi_id(raw: &str) -> Result<KpiId, Problem> {
    KpiId::parse(raw).map_err(|_| ServiceError::NotFound("KPI target").into())
}

/// Every KPI target of the brand. Any role may read them.
#[utoipa::path(get, path = "/v1/kpis", tag = "kpis",
    responses((status = 200, description = "All KPI targets of the brand", body = KpiList),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn list_kpis(State(s): State<AppState>, Caller(actor): Caller) -> ApiResult {
    let kpis = s.kpis.list(&actor).await?;
    Ok(axum::response::IntoResponse::into_response(Json(KpiList {
        items: kpis.iter().map(KpiView::from).collect(),
    })))
}

/// Sets a KPI target. Takes the manager role (the permission that manages channels).
#[utoipa::path(post, path = "/v1/kpis", tag = "kpis", request_body = CreateKpi,
    responses((status = 201, description = "Created", body = KpiView),
              (status = "4XX", description = "Problem: 422 names the invalid field; 409 when the brand has as many targets as it may", body = Problem, content_type = "application/problem+json")))]
pub async fn create_kpi(
    State(s): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<CreateKpi>,
) -> ApiResult {
    let new = NewKpi {
        metric: body.metric,
        channel_id: body.channel_id,
        target: body.target,
        period: body.period,
        direction: body.direction,
    };
    let kpi = s.kpis.create(&actor, new).await?;
    let location = format!("/v1/kpis/{}", kpi.id);
    Ok(etag::tagged(
        kpi.version,
        (
            StatusCode::CREATED,
            [(header::LOCATION, location)],
            Json(KpiView::from(&kpi)),
        ),
    ))
}

/// One KPI target. Any role may read it.
#[utoipa::path(get, path = "/v1/kpis/{id}", tag = "kpis", params(("id" = String, Path)),
    responses((status = 200, description = "The KPI target", body = KpiView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn get_kpi(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let kpi = s.kpis.get(&actor, &kpi_id(&id)?).await?;
    Ok(etag::tagged(kpi.version, Json(KpiView::from(&kpi))))
}

/// Changes a KPI target. Takes the manager role (the permission that manages channels).
#[utoipa::path(patch, path = "/v1/kpis/{id}", tag = "kpis", request_body = PatchKpi,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "ETag last read; stale -> 412")),
    responses((status = 200, description = "Updated", body = KpiView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn patch_kpi(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<PatchKpi>,
) -> ApiResult {
    let changes = KpiChanges {
        metric: body.metric,
        channel_id: body.channel_id,
        target: body.target,
        period: body.period,
        direction: body.direction,
    };
    let kpi = s
        .kpis
        .patch(&actor, &kpi_id(&id)?, changes, expected)
        .await?;
    Ok(etag::tagged(kpi.version, Json(KpiView::from(&kpi))))
}

/// Deletes a KPI target. Takes the manager role (the permission that manages channels).
#[utoipa::path(delete, path = "/v1/kpis/{id}", tag = "kpis",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "ETag last read; stale -> 412")),
    responses((status = 204, description = "Deleted"),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn delete_kpi(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    IfMatch(expected): IfMatch,
) -> ApiResult {
    s.kpis.delete(&actor, &kpi_id(&id)?, expected).await?;
    Ok(axum::response::IntoResponse::into_response(
        StatusCode::NO_CONTENT,
    ))
}
