//! `/v1/calendar`: posts grouped by the brand's local day.

use axum::Json;
use axum::extract::State;

use super::ApiResult;
use crate::http::extract::{Caller, QueryParams};
use crate::http::views::{CalendarQuery, CalendarView};
use crate::http::{AppState, Problem};

#[utoipa::path(get, path = "/v1/calendar", tag = "calendar", params(CalendarQuery),
    responses((status = 200, description = "Every local day in the range with its posts", body = CalendarView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn get_calendar(
    State(s): State<AppState>,
    Caller(actor): Caller,
    QueryParams(q): QueryParams<CalendarQuery>,
) -> ApiResult {
    let calendar = s.calendar.range(&actor, &q.from, &q.to).await?;
    Ok(axum::response::IntoResponse::into_response(Json(
        CalendarView::from(&calendar),
    )))
}
