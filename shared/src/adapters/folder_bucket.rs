//! A folder that stands in for the S3 bucket locally: object keys are paths under the folder.
//! The publisher reads media bytes from it for uploads.

use std::io::SeekFrom;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::domain::Asset;
use crate::networks::{MediaFiles, PublishError};

#[derive(Debug, Clone)]
pub struct FolderBucket {
    root: PathBuf,
    /// The base URL under which the local runner serves the bucket to networks that fetch media
    /// by URL; `None` when the runner is not reachable from outside.
    public_base: Option<String>,
}

impl FolderBucket {
    pub fn new(root: impl Into<PathBuf>, public_base: Option<String>) -> Self {
        Self {
            root: root.into(),
            public_base,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of an object key; keys that would leave the folder are refused.
    pub fn path_of(&self, key: &str) -> Option<PathBuf> {
        let relative = Path::new(key);
        relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
            .then(|| self.root.join(relative))
    }
}

#[async_trait]
impl MediaFiles for FolderBucket {
    async fn read(&self, asset: &Asset, range: Range<u64>) -> Result<Bytes, PublishError> {
        let missing = || {
            PublishError::InvalidMedia(format!(
                "the file of media {} is missing from the library",
                asset.id
            ))
        };
        let path = self.path_of(&asset.object_key).ok_or_else(missing)?;
        let mut file = tokio::fs::File::open(&path).await.map_err(|_| missing())?;
        file.seek(SeekFrom::Start(range.start))
            .await
            .map_err(|e| PublishError::Transient(format!("reading media {}: {e}", asset.id)))?;
        let mut buffer = Vec::with_capacity(range.end.saturating_sub(range.start) as usize);
        file.take(range.end.saturating_sub(range.start))
            .read_to_end(&mut buffer)
            .await
            .map_err(|e| PublishError::Transient(format!("reading media {}: {e}", asset.id)))?;
        Ok(Bytes::from(buffer))
    }

    async fn fetch_url(&self, asset: &Asset) -> Result<String, PublishError> {
        match &self.public_base {
            Some(base) => Ok(format!("{}/{}", base.trim_end_matches('/'), asset.object_key)),
            None => Err(PublishError::Misconfigured(
                "this network fetches media from a public URL, and the local runner has no public address configured".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_the_folder() {
        let bucket = FolderBucket::new("/data/bucket", None);
        assert!(bucket.path_of("library/acme/x.jpg").is_some());
        assert!(bucket.path_of("../secret").is_none());
        assert!(bucket.path_of("/etc/passwd").is_none());
    }
}
