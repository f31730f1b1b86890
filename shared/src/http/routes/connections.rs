//! Connecting a channel by OAuth: `POST /v1/channels/{id}/connect` (a one-time start link),
//! `GET /oauth/start/{token}` and `GET /oauth/callback/{network}` (opened by the browser, no
//! token: the link, the state and the cookie are the proof), `GET /oauth/done` (where the
//! browser lands when the deployment has no frontend URL), and the frontend's
//! `GET /v1/channels/{id}/connect/{connection}` and `POST /v1/channels/{id}/connect/confirm`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiResult;
use crate::domain::ChannelId;
use crate::domain::connection::{FLOW_COOKIE, FLOW_LIFETIME, Outcome, PendingConnection};
use crate::http::extract::{Caller, IfMatch, JsonBody, OptionalJsonBody};
use crate::http::views::ChannelView;
use crate::http::{AppState, Problem, etag};
use crate::services::ServiceError;
use crate::services::connections::{CallbackParams, Confirmation};

fn channel_id(raw: &str) -> Result<ChannelId, Problem> {
    ChannelId::parse(raw).map_err(|_| ServiceError::NotFound("channel").into())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StartLinkView {
    /// Open it in the browser of the person connecting, once, within 15 minutes.
    pub start_url: String,
    pub expires_at: jiff::Timestamp,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartConnection {
    /// Where a network has several logins: LinkedIn `member` (default) or `organization` (the
    /// pages the member administers), Instagram `instagram` (Instagram Login, default) or
    /// `facebook` (through the Facebook page it is linked to). Default: the channel's own.
    pub login: Option<String>,
}

/// Starts connecting the channel by OAuth (Bluesky and Telegram answer that they take typed
/// credentials): the frontend opens `start_url` in the person's browser.
#[utoipa::path(post, path = "/v1/channels/{id}/connect", tag = "channels", params(("id" = String, Path)),
    request_body(content = Option<StartConnection>, description = "Optional"),
    responses((status = 201, description = "A one-time start link", body = StartLinkView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn start_connection(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    OptionalJsonBody(body): OptionalJsonBody<StartConnection>,
) -> ApiResult {
    let login = body.and_then(|b| b.login);
    let link = s
        .connections
        .start(&actor, &channel_id(&id)?, login.as_deref())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(StartLinkView {
            start_url: link.start_url,
            expires_at: link.expires_at,
        }),
    )
        .into_response())
}

/// A redirect that is never cached and never leaks its URL (it carries secrets) as a referrer.
fn redirect(location: &str, cookie: &str) -> Response {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    if let Ok(value) = HeaderValue::from_str(cookie) {
        headers.insert(header::SET_COOKIE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    (StatusCode::SEE_OTHER, headers).into_response()
}

/// Opened by the person's browser: sets the cookie that binds the flow to it, then sends it to
/// the network to consent.
#[utoipa::path(get, path = "/oauth/start/{token}", tag = "channels", security(()),
    params(("token" = String, Path)),
    responses((status = 303, description = "To the network's consent page, with the flow's cookie"),
              (status = 404, description = "Used or expired: start again", body = Problem, content_type = "application/problem+json")))]
pub async fn open_connection(State(s): State<AppState>, Path(token): Path<String>) -> ApiResult {
    let opened = s.connections.open(&token).await?;
    let cookie = format!(
        "{FLOW_COOKIE}={}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=Lax",
        opened.cookie,
        FLOW_LIFETIME.as_secs()
    );
    Ok(redirect(&opened.location, &cookie))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// The flow's cookie from the request, if the browser sent it.
fn flow_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == FLOW_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// Where the network sends the browser back. It never changes a channel: it leaves a pending
/// connection and sends the browser on with an outcome code (never a token, code or the
/// network's words).
#[utoipa::path(get, path = "/oauth/callback/{network}", tag = "channels", security(()),
    params(("network" = String, Path), CallbackQuery),
    responses((status = 303, description = "To the frontend with `outcome` (pending, denied, expired, wrong_browser, mismatch, failed) and `connection`")))]
pub async fn connection_callback(
    State(s): State<AppState>,
    Path(network): Path<String>,
    Query(q): Query<CallbackQuery>,
    headers: HeaderMap,
) -> Response {
    let cookie = flow_cookie(&headers);
    let (outcome, connection) = s
        .connections
        .callback(
            &network,
            CallbackParams {
                code: q.code,
                state: q.state,
                error: q.error,
            },
            cookie.as_deref(),
        )
        .await;
    // The cookie is spent with the state (kept when the state did not belong to this browser).
    let clear = format!("{FLOW_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax");
    let keep = String::new();
    let location = s.connections.landing(outcome, connection.as_deref());
    redirect(
        &location,
        if outcome == Outcome::WrongBrowser {
            &keep
        } else {
            &clear
        },
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DoneQuery {
    pub outcome: Option<String>,
    pub connection: Option<String>,
}

/// Where the browser lands when the deployment has no frontend URL: the outcome in words.
#[utoipa::path(get, path = "/oauth/done", tag = "channels", security(()), params(DoneQuery),
    responses((status = 200, description = "The outcome, as plain text", content_type = "text/plain")))]
pub async fn connection_done(Query(q): Query<DoneQuery>) -> Response {
    let text = match q.outcome.as_deref() {
        Some("pending") => format!(
            "The account is ready to connect. Confirm it with POST /v1/channels/{{id}}/connect/confirm and {{\"connection\": \"{}\"}}.\n",
            q.connection
                .unwrap_or_default()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "")
        ),
        Some("denied") => "The connection was refused on the network's page.\n".into(),
        Some("expired") => "This connection was used or has expired: start again.\n".into(),
        Some("wrong_browser") => {
            "This connection was started in another browser: start again from this one.\n".into()
        }
        Some("mismatch") => {
            "This connection was started for another network or server: start again.\n".into()
        }
        _ => "The connection failed: start again.\n".into(),
    };
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateView {
    pub account_id: String,
    pub handle: String,
    pub name: String,
    pub avatar: Option<String>,
    /// What the person granted.
    pub scopes: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PendingConnectionView {
    pub id: String,
    pub channel_id: String,
    pub network: crate::domain::Network,
    /// The accounts the login gave: confirm one.
    pub accounts: Vec<CandidateView>,
    pub expires_at: jiff::Timestamp,
}

impl From<&PendingConnection> for PendingConnectionView {
    fn from(p: &PendingConnection) -> Self {
        Self {
            id: p.id.clone(),
            channel_id: p.channel.to_string(),
            network: p.network,
            accounts: p
                .candidates
                .iter()
                .map(|c| CandidateView {
                    account_id: c.account_id.clone(),
                    handle: c.handle.clone(),
                    name: c.name.clone(),
                    avatar: c.avatar.clone(),
                    scopes: c.scopes.clone(),
                })
                .collect(),
            expires_at: p.expires_at,
        }
    }
}

/// A pending connection: the accounts the login found, to choose from.
#[utoipa::path(get, path = "/v1/channels/{id}/connect/{connection}", tag = "channels",
    params(("id" = String, Path), ("connection" = String, Path)),
    responses((status = 200, description = "The pending connection", body = PendingConnectionView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn get_pending_connection(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path((id, connection)): Path<(String, String)>,
) -> ApiResult {
    let pending = s
        .connections
        .pending(&actor, &channel_id(&id)?, &connection)
        .await?;
    Ok(Json(PendingConnectionView::from(&pending)).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmConnection {
    /// The pending connection's id (`connection` in the landing URL).
    pub connection: String,
    /// The account to connect; may be left out when the login gave one.
    #[serde(default)]
    pub account_id: Option<String>,
    /// Needed to connect the channel to another account than the one it had.
    #[serde(default)]
    pub replace_account: bool,
}

/// Connects the channel to the chosen account: only the person who started the flow, with the
/// channel's ETag.
#[utoipa::path(post, path = "/v1/channels/{id}/connect/confirm", tag = "channels",
    params(("id" = String, Path), ("If-Match" = String, Header, description = "ETag of the channel last read (required)")),
    request_body = ConfirmConnection,
    responses((status = 200, description = "Connected", body = ChannelView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn confirm_connection(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    IfMatch(expected): IfMatch,
    JsonBody(body): JsonBody<ConfirmConnection>,
) -> ApiResult {
    let channel = s
        .connections
        .confirm(
            &actor,
            &channel_id(&id)?,
            Confirmation {
                connection: body.connection,
                account_id: body.account_id,
                replace_account: body.replace_account,
            },
            expected,
        )
        .await?;
    Ok(etag::tagged(
        channel.version,
        Json(ChannelView::from(&channel)),
    ))
}

/// Disconnects the channel: it stops using its connection at once (`status: needs_reconnect`,
/// `reconnect_reason: disconnected`), and the connection worker revokes its tokens at the
/// network where the network allows, then forgets them. `If-Match` is optional.
#[utoipa::path(delete, path = "/v1/channels/{id}/connection", tag = "channels", params(("id" = String, Path)),
    responses((status = 202, description = "Disconnected; the tokens are revoked shortly", body = ChannelView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn disconnect_channel(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    IfMatch(expected): IfMatch,
) -> ApiResult {
    let channel = s
        .connections
        .disconnect(&actor, &channel_id(&id)?, expected)
        .await?;
    let mut response = etag::tagged(channel.version, Json(ChannelView::from(&channel)));
    *response.status_mut() = StatusCode::ACCEPTED;
    Ok(response)
}
