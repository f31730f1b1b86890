//! A media-library asset as the rest of the system sees it: what it is, how big, and where its
//! bytes live. The intake pipeline creates assets; posts reference them by id.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::AssetId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Gif,
    Video,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssetStatus {
    Processing,
    Ready,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    pub id: AssetId,
    pub kind: MediaKind,
    /// The sniffed MIME type, e.g. `image/jpeg`.
    pub content_type: String,
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
    pub alt_text: Option<String>,
    /// Where the bytes are in the bucket, e.g. `library/{brand}/{id}.jpg`.
    pub object_key: String,
    pub status: AssetStatus,
    pub version: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}
