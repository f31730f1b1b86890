//! The local runner's bucket with a hook in front of its reads and writes: the test double for a
//! bucket that fails on chosen keys (or a decoder that panics mid-read), everything else passed
//! through to the real folder bucket.

use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;
use jiff::SignedDuration;
use palinsesto::adapters::folder_bucket::FolderBucket;
use palinsesto::bucket::{BlobError, Bucket, ObjectInfo, PresignedRequest};

/// What the hook is asked about before the bucket does it.
pub enum Access<'a> {
    Read(&'a str, &'a Range<u64>),
    Put(&'a str),
}

type Hook = Box<dyn Fn(Access<'_>) -> Result<(), BlobError> + Send + Sync>;

pub struct HookedBucket {
    inner: FolderBucket,
    hook: Hook,
}

impl HookedBucket {
    /// `hook` may refuse an access with an error, or panic, before it reaches `inner`.
    pub fn new(
        inner: FolderBucket,
        hook: impl Fn(Access<'_>) -> Result<(), BlobError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            inner,
            hook: Box::new(hook),
        }
    }
}

#[async_trait]
impl Bucket for HookedBucket {
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, BlobError> {
        self.inner.head(key).await
    }
    async fn read(&self, key: &str, range: Range<u64>) -> Result<Bytes, BlobError> {
        (self.hook)(Access::Read(key, &range))?;
        self.inner.read(key, range).await
    }
    async fn put(&self, key: &str, bytes: Bytes, content_type: &str) -> Result<(), BlobError> {
        (self.hook)(Access::Put(key))?;
        self.inner.put(key, bytes, content_type).await
    }
    async fn copy(&self, from: &str, to: &str) -> Result<(), BlobError> {
        self.inner.copy(from, to).await
    }
    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        self.inner.delete(key).await
    }
    async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<String>, BlobError> {
        self.inner.list(prefix, limit).await
    }
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        length: u64,
        valid_for: SignedDuration,
    ) -> Result<PresignedRequest, BlobError> {
        self.inner
            .presign_put(key, content_type, length, valid_for)
            .await
    }
    async fn presign_get(&self, key: &str, valid_for: SignedDuration) -> Result<String, BlobError> {
        self.inner.presign_get(key, valid_for).await
    }
}
