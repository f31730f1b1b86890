//! Meta's callbacks for the Facebook, Instagram and Threads apps (no token: the
//! `signed_request`, an HMAC of the app secret, is the proof): `POST /oauth/meta/{app}/deauthorize`
//! when a person removes the app, `POST /oauth/meta/{app}/data-deletion` when they ask for their
//! data to be deleted (answered with a status URL and a confirmation code, as Meta requires), and
//! that status page, `GET /oauth/meta/deletion/{code}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiResult;
use crate::http::{AppState, Problem};

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignedRequestForm {
    /// `{signature}.{payload}`, base64url, signed with the app secret.
    pub signed_request: String,
}

/// The `signed_request` field of a form body.
fn signed_request(body: &[u8]) -> Result<String, Problem> {
    url::form_urlencoded::parse(body)
        .find(|(k, v)| k == "signed_request" && !v.is_empty())
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| Problem::bad_request("the form has no signed_request"))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeauthorizedView {
    /// The channels that stopped using the person's connection.
    pub channels: usize,
}

/// Meta: the person removed the app. The channels they connected through it stop using the
/// connection and need a reconnect (`channel.needs_reconnect`).
#[utoipa::path(post, path = "/oauth/meta/{app}/deauthorize", tag = "channels", security(()),
    params(("app" = String, Path, description = "facebook, instagram or threads")),
    request_body(content = SignedRequestForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Done", body = DeauthorizedView),
              (status = 401, description = "The signature does not hold", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such app here", body = Problem, content_type = "application/problem+json")))]
pub async fn meta_deauthorize(
    State(s): State<AppState>,
    Path(app): Path<String>,
    body: Bytes,
) -> ApiResult {
    let signed_request = signed_request(&body)?;
    let channels = s
        .connections
        .meta_deauthorized(&app, &signed_request)
        .await?;
    Ok(Json(DeauthorizedView { channels }).into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DataDeletionView {
    /// Where the person can see what was deleted.
    pub url: String,
    pub confirmation_code: String,
}

/// Meta: the person asked for their data to be deleted. The tokens and account details of the
/// channels they connected are deleted at once.
#[utoipa::path(post, path = "/oauth/meta/{app}/data-deletion", tag = "channels", security(()),
    params(("app" = String, Path, description = "facebook, instagram or threads")),
    request_body(content = SignedRequestForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Deleted", body = DataDeletionView),
              (status = 401, description = "The signature does not hold", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such app here", body = Problem, content_type = "application/problem+json")))]
pub async fn meta_data_deletion(
    State(s): State<AppState>,
    Path(app): Path<String>,
    body: Bytes,
) -> ApiResult {
    let signed_request = signed_request(&body)?;
    let (url, confirmation_code) = s
        .connections
        .meta_data_deletion(&app, &signed_request)
        .await?;
    Ok(Json(DataDeletionView {
        url,
        confirmation_code,
    })
    .into_response())
}

/// What a data-deletion request did, in plain words, for the person Meta sends here.
#[utoipa::path(get, path = "/oauth/meta/deletion/{code}", tag = "channels", security(()),
    params(("code" = String, Path)),
    responses((status = 200, description = "The request's status, as plain text", content_type = "text/plain"),
              (status = 404, description = "Unknown code", body = Problem, content_type = "application/problem+json")))]
pub async fn meta_deletion_status(
    State(s): State<AppState>,
    Path(code): Path<String>,
) -> ApiResult {
    let record = s.connections.deletion_status(&code).await?;
    let text = format!(
        "Data deletion request {}: completed on {}. Palinsesto deleted the access tokens and account details of {} channel(s) connected through your account; nothing else about you was kept.\n",
        record.code,
        record.at.strftime("%Y-%m-%d %H:%M UTC"),
        record.channels
    );
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}
