//! The blob-store port: the bucket the media team uploads into and the media library lives in
//! (S3 in AWS, a folder locally). Keys are the same in both: `incoming/{brand}/...`,
//! `library/{brand}/{asset}.{ext}`, `thumbnails/{brand}/{asset}.jpg`, `quarantine/{brand}/...`,
//! `reports/{brand}/...`.

use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use jiff::{SignedDuration, Timestamp};

use crate::domain::Asset;
use crate::networks::{MediaFiles, PublishError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    pub content_type: Option<String>,
}

/// A request the caller may make directly against the bucket (a presigned URL and the headers
/// it is bound to).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct PresignedRequest {
    pub method: String,
    pub url: String,
    /// Headers the request must carry exactly (e.g. Content-Type, Content-Length).
    pub headers: Vec<(String, String)>,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlobError {
    #[error("there is no object {0}")]
    NotFound(String),
    #[error("the bucket is unavailable: {0}")]
    Unavailable(String),
    #[error("the request to the bucket was invalid: {0}")]
    Invalid(String),
}

#[async_trait]
pub trait Bucket: Send + Sync {
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, BlobError>;
    /// Bytes `range` of the object (clamped to its end).
    async fn read(&self, key: &str, range: Range<u64>) -> Result<Bytes, BlobError>;
    async fn put(&self, key: &str, bytes: Bytes, content_type: &str) -> Result<(), BlobError>;
    /// Copies within the bucket without passing the bytes through this process.
    async fn copy(&self, from: &str, to: &str) -> Result<(), BlobError>;
    /// Deletes the object; deleting a missing object is not an error.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
    /// Up to `limit` keys under `prefix`, in key order.
    async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<String>, BlobError>;
    /// A PUT the caller can make directly, bound to this content type and length.
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        length: u64,
        valid_for: SignedDuration,
    ) -> Result<PresignedRequest, BlobError>;
    /// A GET URL the caller (or a network fetching media) can use for a short while.
    async fn presign_get(&self, key: &str, valid_for: SignedDuration) -> Result<String, BlobError>;
}

/// How long a network has to fetch media by URL.
pub const MEDIA_URL_VALIDITY: SignedDuration = SignedDuration::from_mins(15);

/// The media library as the publisher reads it: asset bytes from the bucket.
#[derive(Clone)]
pub struct BucketMedia(pub Arc<dyn Bucket>);

#[async_trait]
impl MediaFiles for BucketMedia {
    async fn read(&self, asset: &Asset, range: Range<u64>) -> Result<Bytes, PublishError> {
        let wanted = range.end.saturating_sub(range.start);
        let bytes = self
            .0
            .read(&asset.object_key, range)
            .await
            .map_err(|e| match e {
                BlobError::NotFound(_) => PublishError::InvalidMedia(format!(
                    "the file of media {} is missing from the library",
                    asset.id
                )),
                BlobError::Invalid(why) => {
                    PublishError::InvalidMedia(format!("media {} cannot be read: {why}", asset.id))
                }
                BlobError::Unavailable(why) => {
                    PublishError::Transient(format!("reading media {}: {why}", asset.id))
                }
            })?;
        // A short read means the stored file is not what the library recorded: uploading it
        // would send a broken file.
        if (bytes.len() as u64) < wanted {
            return Err(PublishError::InvalidMedia(format!(
                "the file of media {} is shorter than the library recorded ({} bytes); upload it again",
                asset.id, asset.size
            )));
        }
        Ok(bytes)
    }

    async fn fetch_url(&self, asset: &Asset) -> Result<String, PublishError> {
        self.0
            .presign_get(&asset.object_key, MEDIA_URL_VALIDITY)
            .await
            .map_err(|e| {
                PublishError::Transient(format!(
                    "a link to media {} could not be made: {e}",
                    asset.id
                ))
            })
    }
}
