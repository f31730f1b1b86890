//! The S3 bucket that holds the media library: ranged reads of an asset's bytes for uploads, and
//! short-lived presigned URLs for networks that fetch media themselves.

use std::ops::Range;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::presigning::PresigningConfig;
use bytes::Bytes;

use crate::domain::Asset;
use crate::networks::{MediaFiles, PublishError};

/// How long a network may take to fetch media from a presigned URL (Meta fetches within the
/// publish call; containers are polled for a few minutes at most).
pub const FETCH_URL_LIFETIME: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone)]
pub struct S3Bucket {
    client: Client,
    bucket: String,
}

impl S3Bucket {
    /// `client` is built once per process (in `main`, see [`client`]) and shared by every call.
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

/// An S3 client from the shared SDK configuration. With an endpoint override (`AWS_ENDPOINT_URL`,
/// an emulator) addresses are path-style, since an emulator has no per-bucket host names; the
/// Rust SDK has no environment switch for that.
pub fn client(config: &aws_config::SdkConfig) -> Client {
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(config.endpoint_url().is_some())
        .build();
    Client::from_conf(s3)
}

#[async_trait]
impl MediaFiles for S3Bucket {
    async fn read(&self, asset: &Asset, range: Range<u64>) -> Result<Bytes, PublishError> {
        if range.start >= range.end {
            // An empty range has no valid Range header.
            return Ok(Bytes::new());
        }
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&asset.object_key)
            .range(format!("bytes={}-{}", range.start, range.end - 1))
            .send()
            .await
            .map_err(|e| read_failed(asset, e))?;
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|e| {
                PublishError::Transient(format!(
                    "reading media {} from the library was interrupted: {e}",
                    asset.id
                ))
            })?
            .into_bytes();
        // A short answer means the stored file is not what the library recorded: uploading it
        // would send a broken file.
        if bytes.len() as u64 != range.end - range.start {
            return Err(shorter_than_recorded(asset));
        }
        Ok(bytes)
    }

    async fn fetch_url(&self, asset: &Asset) -> Result<String, PublishError> {
        let presigning = PresigningConfig::expires_in(FETCH_URL_LIFETIME).map_err(|e| {
            PublishError::Misconfigured(format!("a media URL could not be prepared: {e}"))
        })?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&asset.object_key)
            .presigned(presigning)
            .await
            .map_err(|e| {
                PublishError::Transient(format!(
                    "a URL for media {} could not be signed: {}",
                    asset.id,
                    DisplayErrorContext(e)
                ))
            })?;
        Ok(request.uri().to_owned())
    }
}

fn read_failed(asset: &Asset, e: SdkError<GetObjectError>) -> PublishError {
    if let SdkError::ServiceError(service) = &e {
        let err = service.err();
        // S3 says NoSuchKey only to a caller that may list the bucket; otherwise a missing key
        // is AccessDenied. The publisher may list `library/` (template.yaml) for this reason.
        if err.is_no_such_key() {
            return PublishError::InvalidMedia(format!(
                "the file of media {} is missing from the library",
                asset.id
            ));
        }
        if err.is_invalid_object_state() {
            return PublishError::InvalidMedia(format!(
                "the file of media {} is archived and cannot be read until it is restored",
                asset.id
            ));
        }
        if err.code() == Some("InvalidRange") {
            return shorter_than_recorded(asset);
        }
    }
    PublishError::Transient(format!(
        "reading media {} from the library failed: {}",
        asset.id,
        DisplayErrorContext(e)
    ))
}

fn shorter_than_recorded(asset: &Asset) -> PublishError {
    PublishError::InvalidMedia(format!(
        "the file of media {} is shorter than the library recorded ({} bytes); upload it again",
        asset.id, asset.size
    ))
}
