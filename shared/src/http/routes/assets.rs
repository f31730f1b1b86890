//! `/v1/assets`: the media library. Upload URLs, listing, describing and deleting assets; files
//! become assets through intake, not through these routes.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiResult;
use crate::domain::{Asset, AssetId, AssetRejection, AssetStatus, MediaKind, Network, NetworkFit};
use crate::http::extract::{Caller, IfMatch, JsonBody, QueryParams};
use crate::http::views::present;
use crate::http::{AppState, Problem, etag};
use crate::services::ServiceError;
use crate::services::assets::{
    AssetChanges, AssetLinks, AssetListParams, AssetLookup, AssetService, UploadGrant,
};

// ---- views ----

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUpload {
    /// The file's name, e.g. `Autumn menu.jpg`; spaces and any script are fine, folders are not.
    pub filename: String,
    /// image/jpeg, image/png, image/gif, image/webp, video/mp4, video/quicktime or video/webm.
    pub content_type: String,
    /// The exact size in bytes; the upload must send exactly this many.
    pub size: u64,
}

/// Where and how to send the file.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadView {
    /// The asset the file becomes once intake has checked it (or the one it duplicates).
    pub asset_id: String,
    pub method: String,
    pub url: String,
    /// Headers the upload must carry exactly.
    pub headers: BTreeMap<String, String>,
    /// The URL works until then (15 minutes).
    pub expires_at: Timestamp,
}

impl From<UploadGrant> for UploadView {
    fn from(g: UploadGrant) -> Self {
        Self {
            asset_id: g.asset_id.to_string(),
            method: g.upload.method,
            url: g.upload.url,
            headers: g.upload.headers.into_iter().collect(),
            expires_at: g.upload.expires_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchAsset {
    /// `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub title: Option<Option<String>>,
    /// Replaces every tag.
    pub tags: Option<Vec<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub alt_text: Option<Option<String>>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AssetListQuery {
    /// image, gif or video.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// ready, rejected or processing.
    pub status: Option<String>,
    /// Assets carrying this tag.
    pub tag: Option<String>,
    /// RFC 3339: uploaded at or after.
    pub from: Option<String>,
    /// RFC 3339: uploaded before.
    pub to: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssetView {
    pub id: String,
    pub status: AssetStatus,
    #[serde(rename = "type")]
    pub kind: MediaKind,
    /// Sniffed from the bytes, never taken from the name.
    pub content_type: String,
    pub size: u64,
    /// As shown (after EXIF orientation or a video's rotation).
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
    pub sha256: Option<String>,
    pub filename: String,
    pub title: Option<String>,
    pub tags: Vec<String>,
    pub alt_text: Option<String>,
    /// Why the file was refused, when it was.
    pub rejection: Option<AssetRejection>,
    /// Per network: whether a post with just this asset passes the network's documented rules.
    pub networks: BTreeMap<Network, NetworkFit>,
    pub orientation: Option<u8>,
    pub container: Option<String>,
    pub video_codec: Option<String>,
    pub frame_rate: Option<f64>,
    pub notes: Vec<String>,
    /// Who asked for the upload URL; `null` for a file dropped straight into the bucket.
    pub uploaded_by: Option<String>,
    pub uploaded_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
    /// A link to the file, valid for 15 minutes (ready assets only).
    pub download_url: Option<String>,
    /// A link to a JPEG thumbnail, valid for 15 minutes (photos and GIFs).
    pub thumbnail_url: Option<String>,
}

impl AssetView {
    fn new(a: &Asset, links: AssetLinks) -> Self {
        let d = &a.details;
        Self {
            id: a.id.to_string(),
            status: a.status,
            kind: a.kind,
            content_type: a.content_type.clone(),
            size: a.size,
            width: a.width,
            height: a.height,
            duration_ms: a.duration_ms,
            sha256: d.sha256.clone(),
            filename: d.filename.clone(),
            title: d.title.clone(),
            tags: d.tags.clone(),
            alt_text: a.alt_text.clone(),
            rejection: d.rejection.clone(),
            networks: d.networks.clone(),
            orientation: d.orientation,
            container: d.container.clone(),
            video_codec: d.video_codec.clone(),
            frame_rate: d.frame_rate,
            notes: d.notes.clone(),
            uploaded_by: d.uploaded_by.clone(),
            uploaded_at: a.created_at,
            updated_at: a.updated_at,
            version: a.version,
            download_url: links.download_url,
            thumbnail_url: links.thumbnail_url,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssetList {
    pub items: Vec<AssetView>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

// ---- routes ----

fn asset_id(raw: &str) -> Result<AssetId, Problem> {
    AssetId::parse(raw).map_err(|_| ServiceError::NotFound("asset").into())
}

async fn view(assets: &AssetService, asset: &Asset) -> Result<AssetView, Problem> {
    Ok(AssetView::new(asset, assets.links(asset).await?))
}

async fn one(assets: &AssetService, asset: &Asset) -> ApiResult {
    Ok(etag::tagged(
        asset.version,
        Json(view(assets, asset).await?),
    ))
}

#[utoipa::path(post, path = "/v1/assets/uploads", tag = "assets", request_body = CreateUpload,
    responses((status = 201, description = "An asset id and a presigned PUT for the file. Once uploaded, the file is checked and becomes the asset (ready or rejected), or turns out to duplicate one the library has", body = UploadView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn create_upload(
    State(s): State<AppState>,
    Caller(actor): Caller,
    JsonBody(b): JsonBody<CreateUpload>,
) -> ApiResult {
    let grant = s
        .assets
        .reserve_upload(&actor, &b.filename, &b.content_type, b.size)
        .await?;
    Ok((StatusCode::CREATED, Json(UploadView::from(grant))).into_response())
}

#[utoipa::path(get, path = "/v1/assets", tag = "assets", params(AssetListQuery),
    responses((status = 200, description = "A page of assets, newest first", body = AssetList),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn list_assets(
    State(s): State<AppState>,
    Caller(actor): Caller,
    QueryParams(q): QueryParams<AssetListQuery>,
) -> ApiResult {
    let params = AssetListParams {
        kind: q.kind,
        status: q.status,
        tag: q.tag,
        from: q.from,
        to: q.to,
        cursor: q.cursor,
        limit: q.limit,
    };
    let page = s.assets.list(&actor, params).await?;
    let mut items = Vec::with_capacity(page.assets.len());
    for asset in &page.assets {
        items.push(view(&s.assets, asset).await?);
    }
    Ok(Json(AssetList {
        items,
        next_cursor: page.next.map(|c| c.into_string()),
    })
    .into_response())
}

#[utoipa::path(get, path = "/v1/assets/{id}", tag = "assets", params(("id" = String, Path)),
    responses((status = 200, description = "The asset, with short-lived links to its file and thumbnail", body = AssetView),
              (status = 303, description = "The id was an upload of a file the library already had: Location names that asset"),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn get_asset(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    match s.assets.get(&actor, &asset_id(&id)?).await? {
        AssetLookup::Found(asset) => one(&s.assets, &asset).await,
        AssetLookup::DuplicateOf(of) => Ok((
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/v1/assets/{of}"))],
        )
            .into_response()),
    }
}

#[utoipa::path(patch, path = "/v1/assets/{id}", tag = "assets", request_body = PatchAsset,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "ETag last read; stale -> 412")),
    responses((status = 200, description = "Updated", body = AssetView),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn patch_asset(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    IfMatch(expected): IfMatch,
    JsonBody(b): JsonBody<PatchAsset>,
) -> ApiResult {
    let changes = AssetChanges {
        title: b.title,
        tags: b.tags,
        alt_text: b.alt_text,
    };
    let asset = s
        .assets
        .patch(&actor, &asset_id(&id)?, changes, expected)
        .await?;
    one(&s.assets, &asset).await
}

#[utoipa::path(delete, path = "/v1/assets/{id}", tag = "assets",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "ETag last read; stale -> 412")),
    responses((status = 204, description = "Deleted, with its file and thumbnail"),
              (status = "4XX", description = "Problem", body = Problem, content_type = "application/problem+json")))]
pub async fn delete_asset(
    State(s): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    IfMatch(expected): IfMatch,
) -> ApiResult {
    s.assets.delete(&actor, &asset_id(&id)?, expected).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
