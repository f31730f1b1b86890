//! The S3 bucket: the media team's uploads, the media library, thumbnails, quarantine and
//! reports. Ranged reads, server-side copies, and presigned URLs for uploads from a browser and
//! for networks that fetch media themselves.

use std::ops::Range;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use bytes::Bytes;
use jiff::{SignedDuration, Timestamp};

use crate::bucket::{BlobError, Bucket, ObjectInfo, PresignedRequest};

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

fn failed<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    key: &str,
    e: SdkError<E>,
) -> BlobError {
    let code = e
        .as_service_error()
        .and_then(|s| s.code())
        .unwrap_or_default()
        .to_owned();
    match code.as_str() {
        // S3 says NoSuchKey only to a caller that may list the bucket; otherwise a missing key is
        // AccessDenied. Functions that read objects may list their prefixes for this reason.
        "NoSuchKey" | "NotFound" => BlobError::NotFound(key.to_owned()),
        "InvalidObjectState" => BlobError::Invalid(format!(
            "{key} is archived and cannot be read until it is restored"
        )),
        _ => BlobError::Unavailable(format!("{key}: {}", DisplayErrorContext(e))),
    }
}

fn presigning(valid_for: SignedDuration) -> Result<PresigningConfig, BlobError> {
    let duration =
        std::time::Duration::try_from(valid_for).map_err(|e| BlobError::Invalid(e.to_string()))?;
    PresigningConfig::expires_in(duration)
        .map_err(|e| BlobError::Invalid(format!("a URL could not be prepared: {e}")))
}

#[async_trait]
impl Bucket for S3Bucket {
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, BlobError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => Ok(Some(ObjectInfo {
                size: o.content_length().unwrap_or_default().max(0) as u64,
                content_type: o.content_type().map(str::to_owned),
            })),
            Err(e) => match failed(key, e) {
                BlobError::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn read(&self, key: &str, range: Range<u64>) -> Result<Bytes, BlobError> {
        if range.start >= range.end {
            // An empty range has no valid Range header.
            return Ok(Bytes::new());
        }
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .range(format!("bytes={}-{}", range.start, range.end - 1))
            .send()
            .await;
        let output = match output {
            Ok(o) => o,
            // Asked past the end: there is nothing there, as with a short read of a file.
            Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("InvalidRange") => {
                return Ok(Bytes::new());
            }
            Err(e) => return Err(failed(key, e)),
        };
        let bytes =
            output.body.collect().await.map_err(|e| {
                BlobError::Unavailable(format!("reading {key} was interrupted: {e}"))
            })?;
        Ok(bytes.into_bytes())
    }

    async fn put(&self, key: &str, bytes: Bytes, content_type: &str) -> Result<(), BlobError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(bytes.into())
            .send()
            .await
            .map(drop)
            .map_err(|e| failed(key, e))
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), BlobError> {
        // The copy source is `bucket/key` with the key URL-encoded (spaces, unicode).
        let source = format!(
            "{}/{}",
            self.bucket,
            urlencoding::encode(from).replace("%2F", "/")
        );
        self.client
            .copy_object()
            .bucket(&self.bucket)
            .key(to)
            .copy_source(source)
            .send()
            .await
            .map(drop)
            .map_err(|e| failed(from, e))
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(drop)
            .map_err(|e| failed(key, e))
    }

    async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<String>, BlobError> {
        let mut keys = Vec::new();
        let mut token = None;
        while keys.len() < limit {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .max_keys(((limit - keys.len()).min(1000)) as i32)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| failed(prefix, e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
            token = page.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        keys.truncate(limit);
        Ok(keys)
    }

    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        length: u64,
        valid_for: SignedDuration,
    ) -> Result<PresignedRequest, BlobError> {
        let expires_at = Timestamp::now()
            .checked_add(valid_for)
            .map_err(|e| BlobError::Invalid(e.to_string()))?;
        // Content type and length are signed, so the upload must be exactly what was announced.
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(i64::try_from(length).map_err(|e| BlobError::Invalid(e.to_string()))?)
            .presigned(presigning(valid_for)?)
            .await
            .map_err(|e| failed(key, e))?;
        Ok(PresignedRequest {
            method: "PUT".into(),
            url: request.uri().to_owned(),
            headers: vec![
                ("Content-Type".into(), content_type.into()),
                ("Content-Length".into(), length.to_string()),
            ],
            expires_at,
        })
    }

    async fn presign_get(&self, key: &str, valid_for: SignedDuration) -> Result<String, BlobError> {
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(presigning(valid_for)?)
            .await
            .map_err(|e| failed(key, e))?;
        Ok(request.uri().to_owned())
    }
}
