//! A folder that stands in for the S3 bucket locally: object keys are paths under the folder.
//! Presigned URLs point at the local runner's `/local-bucket/{key}` routes and carry an HMAC of
//! what they allow, so they behave like S3's: bound to a method, a key, an expiry and (for
//! uploads) a content type and length.

use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;
use tokio::io::AsyncWriteExt;

use crate::blobs::{BlobError, Bucket, ObjectInfo, PresignedRequest};
use crate::domain::Secret;

pub const ROUTE_PREFIX: &str = "/local-bucket";

#[derive(Debug, Clone)]
pub struct FolderBucket {
    root: PathBuf,
    /// The local runner's base URL (e.g. `http://127.0.0.1:8080`), for presigned URLs.
    public_base: Option<String>,
    signing_key: Secret,
}

/// What a presigned local URL allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant<'a> {
    pub method: &'a str,
    pub key: &'a str,
    pub expires: i64,
    pub content_type: &'a str,
    pub length: Option<u64>,
}

impl FolderBucket {
    pub fn new(root: impl Into<PathBuf>, public_base: Option<String>, signing_key: Secret) -> Self {
        Self {
            root: root.into(),
            public_base,
            signing_key,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of an object key; keys that would leave the folder are refused.
    pub fn path_of(&self, key: &str) -> Option<PathBuf> {
        let relative = Path::new(key);
        (!key.is_empty()
            && relative
                .components()
                .all(|c| matches!(c, Component::Normal(_))))
        .then(|| self.root.join(relative))
    }

    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        self.path_of(key)
            .ok_or_else(|| BlobError::Invalid(format!("{key:?} is not a valid object key")))
    }

    fn signature(&self, grant: &Grant<'_>) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.signing_key.expose().as_bytes())
            .expect("HMAC takes any key length");
        let length = grant.length.map(|l| l.to_string()).unwrap_or_default();
        for part in [
            grant.method,
            grant.key,
            &grant.expires.to_string(),
            grant.content_type,
            &length,
        ] {
            mac.update(part.as_bytes());
            mac.update(b"\n");
        }
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether `signature` was made by this bucket for exactly `grant`, and has not expired.
    pub fn verify(&self, grant: &Grant<'_>, signature: &str, now: Timestamp) -> bool {
        let expected = self.signature(grant);
        // Constant-time comparison through the MAC itself.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"compare").expect("any key");
        mac.update(expected.as_bytes());
        let tag = mac.finalize().into_bytes();
        let mut mac = Hmac::<Sha256>::new_from_slice(b"compare").expect("any key");
        mac.update(signature.as_bytes());
        mac.verify_slice(&tag).is_ok() && now.as_second() <= grant.expires
    }

    fn url(&self, grant: &Grant<'_>) -> Result<String, BlobError> {
        let base = self.public_base.as_deref().ok_or_else(|| {
            BlobError::Unavailable(
                "the local runner has no public address, so no URL can be made".into(),
            )
        })?;
        let key: String = grant
            .key
            .split('/')
            .map(|p| urlencoding::encode(p).into_owned())
            .collect::<Vec<_>>()
            .join("/");
        Ok(format!(
            "{}{ROUTE_PREFIX}/{key}?expires={}&signature={}",
            base.trim_end_matches('/'),
            grant.expires,
            self.signature(grant)
        ))
    }
}

fn io_error(key: &str, e: std::io::Error) -> BlobError {
    if e.kind() == std::io::ErrorKind::NotFound {
        BlobError::NotFound(key.to_owned())
    } else {
        BlobError::Unavailable(format!("{key}: {e}"))
    }
}

#[async_trait]
impl Bucket for FolderBucket {
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, BlobError> {
        match tokio::fs::metadata(self.path(key)?).await {
            Ok(m) if m.is_file() => Ok(Some(ObjectInfo {
                size: m.len(),
                content_type: None,
            })),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(key, e)),
        }
    }

    async fn read(&self, key: &str, range: Range<u64>) -> Result<Bytes, BlobError> {
        let path = self.path(key)?;
        let len = range.end.saturating_sub(range.start);
        // Made here, on the caller's thread, so that intake's chunk-sized buffers come and go in
        // one malloc arena rather than in one per blocking thread (which made the resident size
        // grow with the file); filled in one blocking call, without tokio's File, which reads
        // through a buffer of its own, one blocking hop per 2 MiB.
        let mut buffer = Vec::with_capacity(len.min(64 * 1024 * 1024) as usize);
        let read = tokio::task::spawn_blocking(move || {
            let mut file = std::fs::File::open(&path)?;
            file.seek(SeekFrom::Start(range.start))?;
            // Fewer bytes than asked (the range runs past the end) is what there is.
            file.take(len).read_to_end(&mut buffer)?;
            Ok::<_, std::io::Error>(buffer)
        })
        .await
        .map_err(|e| BlobError::Unavailable(format!("reading {key} stopped: {e}")))?;
        read.map(Bytes::from).map_err(|e| io_error(key, e))
    }

    async fn put(&self, key: &str, bytes: Bytes, _content_type: &str) -> Result<(), BlobError> {
        let path = self.path(key)?;
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| io_error(key, e))?;
        }
        // Write beside, then rename: a reader never sees half an object.
        let tmp = path.with_extension(format!("part-{}", ulid::Ulid::new()));
        let mut file = tokio::fs::File::create(&tmp)
            .await
            .map_err(|e| io_error(key, e))?;
        file.write_all(&bytes).await.map_err(|e| io_error(key, e))?;
        file.sync_all().await.map_err(|e| io_error(key, e))?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(|e| io_error(key, e))
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), BlobError> {
        let (source, target) = (self.path(from)?, self.path(to)?);
        if let Some(dir) = target.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| io_error(to, e))?;
        }
        let tmp = target.with_extension(format!("part-{}", ulid::Ulid::new()));
        tokio::fs::copy(&source, &tmp)
            .await
            .map_err(|e| io_error(from, e))?;
        tokio::fs::rename(&tmp, &target)
            .await
            .map_err(|e| io_error(to, e))
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(key, e)),
            _ => Ok(()),
        }
    }

    async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<String>, BlobError> {
        let root = self.root.clone();
        let prefix = prefix.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut keys = Vec::new();
            let mut dirs = vec![root.clone()];
            while let Some(dir) = dirs.pop() {
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let path = entry.path();
                    let Ok(relative) = path.strip_prefix(&root) else {
                        continue;
                    };
                    let key = relative.to_string_lossy().replace('\\', "/");
                    if path.is_dir() {
                        if prefix.starts_with(&format!("{key}/"))
                            || key.starts_with(&prefix)
                            || prefix.is_empty()
                        {
                            dirs.push(path);
                        }
                    } else if key.starts_with(&prefix) && !key.contains(".part-") {
                        keys.push(key);
                    }
                }
            }
            keys.sort();
            keys.truncate(limit);
            keys
        })
        .await
        .map_err(|e| BlobError::Unavailable(format!("listing {e}")))
    }

    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        length: u64,
        valid_for: SignedDuration,
    ) -> Result<PresignedRequest, BlobError> {
        self.path(key)?;
        let expires_at = Timestamp::now()
            .checked_add(valid_for)
            .map_err(|e| BlobError::Invalid(e.to_string()))?;
        let grant = Grant {
            method: "PUT",
            key,
            expires: expires_at.as_second(),
            content_type,
            length: Some(length),
        };
        Ok(PresignedRequest {
            method: "PUT".into(),
            url: self.url(&grant)?,
            headers: vec![
                ("Content-Type".into(), content_type.into()),
                ("Content-Length".into(), length.to_string()),
            ],
            expires_at,
        })
    }

    async fn presign_get(&self, key: &str, valid_for: SignedDuration) -> Result<String, BlobError> {
        self.path(key)?;
        let expires = Timestamp::now()
            .checked_add(valid_for)
            .map_err(|e| BlobError::Invalid(e.to_string()))?
            .as_second();
        self.url(&Grant {
            method: "GET",
            key,
            expires,
            content_type: "",
            length: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket() -> FolderBucket {
        FolderBucket::new(
            "/data/bucket",
            Some("http://127.0.0.1:8080".into()),
            Secret::new("k"),
        )
    }

    #[test]
    fn keys_cannot_escape_the_folder() {
        let b = bucket();
        assert!(b.path_of("library/acme/x.jpg").is_some());
        assert!(b.path_of("../secret").is_none());
        assert!(b.path_of("/etc/passwd").is_none());
        assert!(b.path_of("").is_none());
    }

    #[test]
    fn a_signature_allows_exactly_what_it_was_made_for() {
        let b = bucket();
        let grant = Grant {
            method: "PUT",
            key: "incoming/acme/a.jpg",
            expires: 2_000_000_000,
            content_type: "image/jpeg",
            length: Some(10),
        };
        let sig = b.signature(&grant);
        let now = Timestamp::from_second(1_900_000_000).unwrap();
        assert!(b.verify(&grant, &sig, now));
        assert!(!b.verify(
            &Grant {
                length: Some(11),
                ..grant.clone()
            },
            &sig,
            now
        ));
        assert!(!b.verify(
            &Grant {
                content_type: "image/png",
                ..grant.clone()
            },
            &sig,
            now
        ));
        assert!(!b.verify(
            &Grant {
                key: "incoming/other/a.jpg",
                ..grant.clone()
            },
            &sig,
            now
        ));
        assert!(
            !b.verify(&grant, &sig, Timestamp::from_second(2_000_000_001).unwrap()),
            "expired"
        );
        assert!(!FolderBucket::new("/x", None, Secret::new("other")).verify(&grant, &sig, now));
    }
}
