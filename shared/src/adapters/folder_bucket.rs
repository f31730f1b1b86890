//! A folder that stands in for the S3 bucket locally: object keys are paths under the folder.
//! Presigned URLs point at the local runner's `/local-bucket/{key}` routes and carry an HMAC of
//! what they allow, so they behave like S3's: bound to a method, a key, an expiry and (for
//! uploads) a content type and length.
//!
//! The folder is also a drop folder people copy files into by hand, so it never follows a symbolic
//! link (a link to `/etc/passwd` dropped into `incoming/` is not an object, and is never read) and
//! never opens anything but a regular file (a named pipe would block its reader forever).

use std::fs::{File, Metadata};
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;

use crate::bucket::{BlobError, Bucket, ObjectInfo, PresignedRequest};
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

    /// The file of `key`, after checking that no folder on the way to it is a symbolic link (which
    /// could lead out of the bucket). Folders that do not exist yet are fine.
    pub fn path_within(&self, key: &str) -> Result<PathBuf, BlobError> {
        let path = self.path(key)?;
        let mut dir = self.root.clone();
        let folders = Path::new(key).parent().map(Path::components);
        for folder in folders.into_iter().flatten() {
            dir.push(folder);
            match std::fs::symlink_metadata(&dir) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(BlobError::Invalid(format!(
                        "{key} is left alone: the folder {} is a symbolic link, and the local \
                         bucket never follows links",
                        dir.strip_prefix(&self.root).unwrap_or(&dir).display()
                    )));
                }
                Ok(m) if !m.is_dir() => return Err(BlobError::NotFound(key.to_owned())),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) => return Err(io_error(key, e)),
            }
        }
        Ok(path)
    }

    /// Removes the part files a stopped process left behind (killed while an upload or a write was
    /// under way); call it before the bucket is used, when no write can be in flight. Folders
    /// are walked without following links. Returns how many were removed.
    pub fn remove_part_files(&self) -> usize {
        let mut removed = 0;
        let mut dirs = vec![self.root.clone()];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() {
                    dirs.push(entry.path());
                } else if kind.is_file()
                    && entry.file_name().to_string_lossy().contains(PART_MARK)
                    && std::fs::remove_file(entry.path()).is_ok()
                {
                    removed += 1;
                }
            }
        }
        removed
    }

    /// Opens the regular file at `key` for reading. Looked at first for a plain answer; the open
    /// itself then refuses a link put there meanwhile (`O_NOFOLLOW`), does not wait on a named
    /// pipe (`O_NONBLOCK`), and what was opened is checked again.
    pub fn open_regular(&self, key: &str) -> Result<File, BlobError> {
        let path = self.path_within(key)?;
        let seen = std::fs::symlink_metadata(&path).map_err(|e| io_error(key, e))?;
        check_regular(key, &seen)?;
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(
            &mut options,
            libc::O_NOFOLLOW | libc::O_NONBLOCK,
        );
        let file = options.open(&path).map_err(|e| io_error(key, e))?;
        let opened = file.metadata().map_err(|e| io_error(key, e))?;
        check_regular(key, &opened)?;
        Ok(file)
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
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        // O_NOFOLLOW met a link that appeared after it was looked at.
        return BlobError::Invalid(format!(
            "{key} is left alone: it is a symbolic link, and the local bucket never follows links"
        ));
    }
    if e.kind() == std::io::ErrorKind::NotFound {
        BlobError::NotFound(key.to_owned())
    } else {
        BlobError::Unavailable(format!("{key}: {e}"))
    }
}

/// Only regular files are objects: a symbolic link could lead anywhere, and a named pipe would
/// block whoever opens it for reading (root included) until something writes to it.
fn check_regular(key: &str, found: &Metadata) -> Result<(), BlobError> {
    let kind = found.file_type();
    let what = if kind.is_file() {
        return Ok(());
    } else if kind.is_symlink() {
        "a symbolic link, and the local bucket never follows links"
    } else if kind.is_dir() {
        "a folder"
    } else {
        "not a regular file (a named pipe, a socket or a device), so it is never opened"
    };
    Err(BlobError::Invalid(format!(
        "{key} is left alone: it is {what}"
    )))
}

/// Runs file work in the blocking pool.
async fn blocking<T: Send + 'static>(
    key: &str,
    work: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> Result<T, BlobError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| BlobError::Unavailable(format!("{key}: the file work stopped: {e}")))?
}

/// A file being written beside its target, under a name the bucket never lists. It is removed
/// unless it was renamed into place, whatever stopped the writing (an error, or the work being
/// dropped half-way).
pub struct PartFile {
    path: PathBuf,
    file: File,
    placed: bool,
}

impl PartFile {
    /// A new, empty part file beside `target` (whose folders are made as needed).
    pub fn create(target: &Path) -> std::io::Result<Self> {
        let dir = target
            .parent()
            .ok_or_else(|| std::io::Error::other("an object key names a file in a folder"))?;
        std::fs::create_dir_all(dir)?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = dir.join(format!("{name}{PART_MARK}{}", ulid::Ulid::new()));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok(Self {
            path,
            file,
            placed: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    /// Renames the part file into place as `target`.
    pub fn commit(mut self, target: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.path, target)?;
        self.placed = true;
        Ok(())
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.placed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// What marks a part file's name; the bucket never lists such files.
const PART_MARK: &str = ".part-";

#[async_trait]
impl Bucket for FolderBucket {
    /// A regular file's size; `None` when there is nothing (or a folder) at `key`. A symbolic
    /// link, a named pipe, a socket or a device is an `Invalid` error saying so: never an object,
    /// and never opened.
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, BlobError> {
        let bucket = self.clone();
        let key = key.to_owned();
        blocking(&key.clone(), move || {
            let path = match bucket.path_within(&key) {
                Err(BlobError::NotFound(_)) => return Ok(None),
                other => other?,
            };
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => Ok(None),
                Ok(m) => {
                    check_regular(&key, &m)?;
                    Ok(Some(ObjectInfo {
                        size: m.len(),
                        content_type: None,
                    }))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io_error(&key, e)),
            }
        })
        .await
    }

    async fn read(&self, key: &str, range: Range<u64>) -> Result<Bytes, BlobError> {
        let bucket = self.clone();
        let owned = key.to_owned();
        let len = range.end.saturating_sub(range.start);
        // Made here, on the caller's thread, so that intake's chunk-sized buffers come and go in
        // one malloc arena rather than in one per blocking thread (which made the resident size
        // grow with the file); filled in one blocking call, without tokio's File, which reads
        // through a buffer of its own, one blocking hop per 2 MiB.
        let mut buffer = Vec::with_capacity(len.min(64 * 1024 * 1024) as usize);
        blocking(key, move || {
            let mut file = bucket.open_regular(&owned)?;
            let read = file.seek(SeekFrom::Start(range.start)).and_then(|_| {
                // Fewer bytes than asked (the range runs past the end) is what there is.
                file.take(len).read_to_end(&mut buffer)
            });
            read.map_err(|e| io_error(&owned, e))?;
            Ok(Bytes::from(buffer))
        })
        .await
    }

    async fn put(&self, key: &str, bytes: Bytes, _content_type: &str) -> Result<(), BlobError> {
        let bucket = self.clone();
        let owned = key.to_owned();
        blocking(key, move || {
            let path = bucket.path_within(&owned)?;
            // Written beside, then renamed: a reader never sees half an object.
            let tmp = PartFile::create(&path).map_err(|e| io_error(&owned, e))?;
            tmp.file()
                .write_all(&bytes)
                .and_then(|()| tmp.file().sync_all())
                .and_then(|()| tmp.commit(&path))
                .map_err(|e| io_error(&owned, e))
        })
        .await
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), BlobError> {
        let bucket = self.clone();
        let (from, to) = (from.to_owned(), to.to_owned());
        blocking(&to.clone(), move || {
            let mut source = bucket.open_regular(&from)?;
            let target = bucket.path_within(&to)?;
            let tmp = PartFile::create(&target).map_err(|e| io_error(&to, e))?;
            std::io::copy(&mut source, &mut tmp.file()).map_err(|e| io_error(&from, e))?;
            tmp.commit(&target).map_err(|e| io_error(&to, e))
        })
        .await
    }

    /// Removes the object; a symbolic link at `key` is removed itself, its target is untouched.
    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let bucket = self.clone();
        let owned = key.to_owned();
        blocking(key, move || {
            let path = bucket.path_within(&owned)?;
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(&owned, e)),
                _ => Ok(()),
            }
        })
        .await
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
                    // The entry's own type: a link to a folder is not walked into (it could lead
                    // anywhere, itself included); links and other non-files are listed, and
                    // `head` says why they are not objects.
                    let Ok(kind) = entry.file_type() else {
                        continue;
                    };
                    if kind.is_dir() {
                        if prefix.starts_with(&format!("{key}/"))
                            || key.starts_with(&prefix)
                            || prefix.is_empty()
                        {
                            dirs.push(path);
                        }
                    } else if key.starts_with(&prefix) && !key.contains(PART_MARK) {
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
