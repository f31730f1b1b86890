//! `/v1/audit`: the brand's audit log (owners and managers), newest first.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiResult;
use crate::domain::audit::AuditEntry;
use crate::http::extract::{Caller, QueryParams};
use crate::http::{AppState, Problem};
use crate::services::audit::AuditParams;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this action (for example `channel.credentials_replaced`).
    pub action: Option<String>,
    /// Only what this token subject did.
    pub actor: Option<String>,
    /// Only what was done to this, as `kind/id` (`channel/01J...`).
    pub target: Option<String>,
    /// RFC 3339: at or after.
    pub from: Option<String>,
    /// RFC 3339: before.
    pub to: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    pub items: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

/// Who did what, when, through which route: credential and endpoint changes, channels created
/// and deleted, approvals, rejections, scheduling and publish-now, webhook changes. Entries are
/// kept 400 days.
#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "A page of the audit log, newest first", body = AuditList),
              (status = "4XX", description = "Problem: 403 below the manager role", body = Problem, content_type = "application/problem+json")))]
pub async fn list_audit(
    State(s): State<AppState>,
    Caller(actor): Caller,
    QueryParams(q): QueryParams<AuditQuery>,
) -> ApiResult {
    let page = s
        .audit
        .list(
            &actor,
            AuditParams {
                action: q.action,
                actor: q.actor,
                target: q.target,
                from: q.from,
                to: q.to,
                cursor: q.cursor,
                limit: q.limit,
            },
        )
        .await?;
    Ok(Json(AuditList {
        items: page.entries,
        next_cursor: page.next.map(|c| c.into_string()),
    })
    .into_response())
}
