//! `/v1/reports` and `/v1/metrics`: the week's or fortnight's report in JSON, CSV or HTML, and
//! the snapshot time series behind it.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiResult;
use crate::domain::metrics::Snapshot;
use crate::domain::report::Report;
use crate::domain::time::{parse_date, parse_instant};
use crate::domain::{ChannelId, Counters, PeriodKind, PostId};
use crate::http::extract::{Caller, QueryParams};
use crate::http::{AppState, Problem};
use crate::report_render::{Format, file_name, render};
use crate::services::metrics::SeriesOf;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `week` (default) or `fortnight`.
    pub period: Option<String>,
    /// The period's last local day, YYYY-MM-DD (default: yesterday in the brand's zone).
    pub ending: Option<String>,
    /// `json`, `csv` or `html`; overrides the Accept header.
    pub format: Option<String>,
}

#[utoipa::path(get, path = "/v1/reports", tag = "reports", params(ReportQuery),
    responses((status = 200, description = "The report: JSON (this schema), CSV (text/csv) or HTML with inline SVG charts (text/html), by `format=` or Accept", body = Report),
              (status = 406, description = "No acceptable format", body = Problem, content_type = "application/problem+json"),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn get_report(
    State(s): State<AppState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    QueryParams(q): QueryParams<ReportQuery>,
) -> ApiResult {
    let kind = q
        .period
        .as_deref()
        .map(PeriodKind::parse)
        .transpose()
        .map_err(|e| Problem::malformed_field("period".into(), e))?
        .unwrap_or_default();
    let ending = q
        .ending
        .as_deref()
        .map(parse_date)
        .transpose()
        .map_err(|e| Problem::malformed_field("ending".into(), e))?;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(q.format.as_deref(), accept).map_err(|e| {
        if q.format.is_some() {
            Problem::malformed_field("format".into(), e)
        } else {
            Problem::new(
                StatusCode::NOT_ACCEPTABLE,
                "not-acceptable",
                "Not acceptable",
                e,
            )
        }
    })?;
    let report = s.reports.report(&actor, kind, ending).await?;
    let body = render(&report, format);
    let mut response = (
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::VARY, "Accept".to_owned()),
        ],
        body,
    )
        .into_response();
    if format == Format::Csv
        && let Ok(value) =
            format!("attachment; filename=\"{}\"", file_name(&report, format)).parse()
    {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MetricsQuery {
    /// A post id: its snapshots on each channel it was published to.
    pub post: Option<String>,
    /// A channel id: with `post`, only that channel; alone, the channel's account (followers).
    pub channel: Option<String>,
    /// RFC 3339 instant (default: 30 days before `to`).
    pub from: Option<String>,
    /// RFC 3339 instant (default: now).
    pub to: Option<String>,
}

/// One snapshot as the API shows it: the normalised counters only. The network's raw answer stays
/// in the store (for debugging and for figures not normalised yet) and is never sent to clients.
#[derive(Debug, Serialize, ToSchema)]
pub struct SnapshotView {
    /// `post`, `channel` or `competitor`.
    pub subject: String,
    pub post_id: Option<String>,
    pub channel_id: Option<String>,
    pub network: String,
    #[schema(value_type = String, format = DateTime)]
    pub taken_at: jiff::Timestamp,
    /// Lifetime totals at `taken_at`; `null`: the network does not report the figure.
    pub counters: Counters,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MetricsSeriesView {
    #[schema(value_type = String, format = DateTime)]
    pub from: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub to: jiff::Timestamp,
    pub items: Vec<SnapshotView>,
}

impl From<&Snapshot> for SnapshotView {
    fn from(s: &Snapshot) -> Self {
        use crate::domain::metrics::Subject;
        let (subject, post_id, channel_id) = match s.subject {
            Subject::Post {
                post_id,
                channel_id,
            } => (
                "post",
                Some(post_id.to_string()),
                Some(channel_id.to_string()),
            ),
            Subject::Channel { channel_id } => ("channel", None, Some(channel_id.to_string())),
            Subject::Competitor { .. } => ("competitor", None, None),
        };
        Self {
            subject: subject.into(),
            post_id,
            channel_id,
            network: s.network.as_str().into(),
            taken_at: s.taken_at,
            counters: s.counters.clone(),
        }
    }
}

#[utoipa::path(get, path = "/v1/metrics", tag = "reports", params(MetricsQuery),
    responses((status = 200, description = "The snapshots in the range, oldest first", body = MetricsSeriesView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn get_metrics(
    State(s): State<AppState>,
    Caller(actor): Caller,
    QueryParams(q): QueryParams<MetricsQuery>,
) -> ApiResult {
    let channel = q
        .channel
        .as_deref()
        .map(ChannelId::parse)
        .transpose()
        .map_err(|e| Problem::malformed_field("channel".into(), e))?;
    let of = match (q.post.as_deref(), channel) {
        (Some(post), channel) => SeriesOf::Post(
            PostId::parse(post).map_err(|e| Problem::malformed_field("post".into(), e))?,
            channel,
        ),
        (None, Some(channel)) => SeriesOf::Channel(channel),
        (None, None) => {
            return Err(Problem::bad_request(
                "say whose metrics: `post=<post id>` or `channel=<channel id>`",
            ));
        }
    };
    let instant = |raw: Option<&str>, field: &str| {
        raw.map(parse_instant)
            .transpose()
            .map_err(|e| Problem::malformed_field(field.into(), e))
    };
    let (from, to) = (
        instant(q.from.as_deref(), "from")?,
        instant(q.to.as_deref(), "to")?,
    );
    let (from, to, snapshots) = s.metrics.series(&actor, of, from, to).await?;
    Ok(Json(MetricsSeriesView {
        from,
        to,
        items: snapshots.iter().map(SnapshotView::from).collect(),
    })
    .into_response())
}
