//! The media library as the API sees it: upload URLs, listing, describing and deleting assets.
//! Files become assets through the intake service, never through this one.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use jiff::SignedDuration;

use crate::bucket::{BlobError, Bucket, ObjectInfo, PresignedRequest};
use crate::domain::asset::{AssetEdit, parse_filename};
use crate::domain::rate_limit::RateLimits;
use crate::domain::{
    Actor, Asset, AssetId, AssetStatus, DomainError, IntakeTicket, MediaKind, Permission,
    Validation,
};
use crate::media_inspection::{Limits, kind_of};
use crate::store::{AssetFilter, AssetPage, ListError};

use super::intake::INCOMING;
use super::{Ports, RateLimiter, ServiceError, check_version, with_retries};

pub use super::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
/// How long an upload URL may be used.
pub const UPLOAD_URL_VALIDITY: SignedDuration = SignedDuration::from_mins(15);
/// How long download and thumbnail links work.
pub const LINK_VALIDITY: SignedDuration = SignedDuration::from_mins(15);

/// The raw listing parameters as the caller gave them.
#[derive(Debug, Default, Clone)]
pub struct AssetListParams {
    pub kind: Option<String>,
    pub status: Option<String>,
    pub tag: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

/// A partial change; `None` keeps the current value, `Some(None)` clears it.
#[derive(Debug, Default, Clone)]
pub struct AssetChanges {
    pub title: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub alt_text: Option<Option<String>>,
}

/// An upload slot and the request that fills it.
#[derive(Debug, Clone)]
pub struct UploadGrant {
    pub asset_id: AssetId,
    pub key: String,
    pub upload: PresignedRequest,
}

/// What an asset id leads to.
#[derive(Debug, Clone)]
pub enum AssetLookup {
    Found(Box<Asset>),
    /// The id was an upload whose file the library already had as this other asset.
    DuplicateOf(AssetId),
}

/// Short-lived links to an asset's bytes.
#[derive(Debug, Clone, Default)]
pub struct AssetLinks {
    pub download_url: Option<String>,
    pub thumbnail_url: Option<String>,
}

#[derive(Clone)]
pub struct AssetService {
    ports: Ports,
    bucket: Arc<dyn Bucket>,
    limits: Limits,
    /// Upload URLs take a slot and their bytes from the brand's upload allowance.
    rate_limits: RateLimits,
}

impl AssetService {
    pub fn new(ports: Ports, bucket: Arc<dyn Bucket>, limits: Limits) -> Self {
        Self {
            ports,
            bucket,
            limits,
            rate_limits: RateLimits::default(),
        }
    }

    pub fn with_rate_limits(self, rate_limits: RateLimits) -> Self {
        Self {
            rate_limits,
            ..self
        }
    }

    /// For a process that serves the API without a bucket: the library can be listed and edited,
    /// anything that needs the files answers "unavailable".
    pub fn without_bucket(ports: Ports) -> Self {
        Self::new(ports, Arc::new(NoBucket), Limits::default())
    }

    pub fn with_bucket(self, bucket: Arc<dyn Bucket>) -> Self {
        Self { bucket, ..self }
    }

    /// Reserves an asset id and returns a PUT the caller makes straight to the bucket, bound to
    /// the declared content type and size, under `incoming/{brand}/{asset_id}/{filename}`.
    /// The URL takes a slot (freed when intake takes the file in, or when the URL expires) and
    /// the declared size from the brand's upload allowance: over it, `RateLimited`.
    pub async fn reserve_upload(
        &self,
        actor: &Actor,
        filename: &str,
        content_type: &str,
        size: u64,
    ) -> Result<UploadGrant, ServiceError> {
        actor.require(Permission::EditMedia)?;
        let mut v = Validation::new();
        let filename = v.check("filename", parse_filename(filename));
        let content_type = v.check("content_type", accepted_type(content_type));
        if size == 0 {
            v.add("size", "the file is empty");
        } else if size > self.limits.max_bytes {
            v.add(
                "size",
                format!(
                    "the file is {size} bytes; the library takes files up to {} bytes",
                    self.limits.max_bytes
                ),
            );
        } else if size > self.rate_limits.upload_bytes_per_day {
            v.add(
                "size",
                format!(
                    "the file is {size} bytes; this brand may upload {} bytes a day",
                    self.rate_limits.upload_bytes_per_day
                ),
            );
        }
        v.finish()?;
        let (Some(filename), Some(content_type)) = (filename, content_type) else {
            return Err(DomainError::invalid("filename", "not valid").into());
        };
        // Intake needs the brand's profile; refuse now rather than set the file aside later.
        self.ports.brand(actor).await?;
        let asset_id = AssetId::new();
        let now = self.ports.clock.now();
        let until = now.checked_add(UPLOAD_URL_VALIDITY).unwrap_or(now);
        RateLimiter::new(
            self.ports.store.clone(),
            self.ports.clock.clone(),
            self.rate_limits,
        )
        .take_upload(&actor.brand, asset_id, size, until)
        .await?;
        let key = format!("{INCOMING}{}/{asset_id}/{filename}", actor.brand);
        let ticket = IntakeTicket {
            asset_id,
            key: key.clone(),
            uploaded_by: Some(actor.subject.clone()),
            created_at: now,
            duplicate_of: None,
        };
        self.ports
            .store
            .reserve_upload(&actor.brand, &ticket)
            .await?;
        let upload = self
            .bucket
            .presign_put(&key, &content_type, size, UPLOAD_URL_VALIDITY)
            .await?;
        Ok(UploadGrant {
            asset_id,
            key,
            upload,
        })
    }

    pub async fn list(
        &self,
        actor: &Actor,
        params: AssetListParams,
    ) -> Result<AssetPage, ServiceError> {
        actor.require(Permission::Read)?;
        let mut v = Validation::new();
        let kind = params
            .kind
            .as_deref()
            .and_then(|k| v.check("type", MediaKind::parse(k)));
        let status = params
            .status
            .as_deref()
            .and_then(|s| v.check("status", AssetStatus::parse(s)));
        let (from, to) = super::time_range(&mut v, params.from.as_deref(), params.to.as_deref());
        let limit = super::page_limit(&mut v, params.limit);
        v.finish()?;
        let filter = AssetFilter {
            kind,
            status,
            tag: params.tag.map(|t| t.trim().to_owned()),
            from,
            to,
        };
        self.ports
            .store
            .list_assets(&actor.brand, &filter, params.cursor.as_deref(), limit)
            .await
            .map_err(|e| match e {
                ListError::BadCursor(m) => DomainError::invalid("cursor", m).into(),
                ListError::Store(s) => s.into(),
            })
    }

    pub async fn get(&self, actor: &Actor, id: &AssetId) -> Result<AssetLookup, ServiceError> {
        actor.require(Permission::Read)?;
        if let Some(asset) = self.ports.store.get_asset(&actor.brand, id).await? {
            return Ok(AssetLookup::Found(Box::new(asset)));
        }
        match self.ports.store.get_upload(&actor.brand, id).await? {
            Some(IntakeTicket {
                duplicate_of: Some(of),
                ..
            }) => Ok(AssetLookup::DuplicateOf(of)),
            _ => Err(ServiceError::NotFound("asset")),
        }
    }

    /// Links to the file (ready assets only: a refused file is not handed out) and its thumbnail.
    pub async fn links(&self, asset: &Asset) -> Result<AssetLinks, ServiceError> {
        let download_url = match asset.status {
            AssetStatus::Ready => Some(
                self.bucket
                    .presign_get(&asset.object_key, LINK_VALIDITY)
                    .await?,
            ),
            _ => None,
        };
        let thumbnail_url = match &asset.details.thumbnail_key {
            Some(key) => Some(self.bucket.presign_get(key, LINK_VALIDITY).await?),
            None => None,
        };
        Ok(AssetLinks {
            download_url,
            thumbnail_url,
        })
    }

    pub async fn patch(
        &self,
        actor: &Actor,
        id: &AssetId,
        changes: AssetChanges,
        expected: Option<u64>,
    ) -> Result<Asset, ServiceError> {
        actor.require(Permission::EditMedia)?;
        with_retries(expected, "asset", || async {
            let mut asset = self.load(actor, id).await?;
            check_version(expected, asset.version, "asset")?;
            let title = match &changes.title {
                Some(t) => t.clone(),
                None => asset.details.title.clone(),
            };
            let alt_text = match &changes.alt_text {
                Some(a) => a.clone(),
                None => asset.alt_text.clone(),
            };
            let tags = changes
                .tags
                .clone()
                .unwrap_or_else(|| asset.details.tags.clone());
            let edit = AssetEdit::parse(title.as_deref(), &tags, alt_text.as_deref())?;
            let version = asset.version;
            asset.details.title = edit.title;
            asset.details.tags = edit.tags;
            asset.alt_text = edit.alt_text;
            // Alt text has per-network limits.
            asset.details.networks = asset.fit_networks(&self.ports.networks());
            asset.updated_at = self.ports.clock.now();
            Ok(self
                .ports
                .store
                .put_asset(&actor.brand, &asset, Some(version))
                .await?)
        })
        .await
    }

    /// Removes the asset's files first, then its record: if the second step fails the asset is
    /// still listed and deleting it again finishes the job, where the other order could leave
    /// files nobody knows about.
    pub async fn delete(
        &self,
        actor: &Actor,
        id: &AssetId,
        expected: Option<u64>,
    ) -> Result<(), ServiceError> {
        actor.require(Permission::DeleteMedia)?;
        with_retries(expected, "asset", || async {
            let asset = self.load(actor, id).await?;
            check_version(expected, asset.version, "asset")?;
            self.bucket.delete(&asset.object_key).await?;
            if let Some(thumbnail) = &asset.details.thumbnail_key {
                self.bucket.delete(thumbnail).await?;
            }
            Ok(self
                .ports
                .store
                .delete_asset(&actor.brand, &asset, asset.version)
                .await?)
        })
        .await
    }

    async fn load(&self, actor: &Actor, id: &AssetId) -> Result<Asset, ServiceError> {
        self.ports
            .store
            .get_asset(&actor.brand, id)
            .await?
            .ok_or(ServiceError::NotFound("asset"))
    }
}

/// The content type as the upload must declare it: lowercase, no parameters, one the library takes.
fn accepted_type(raw: &str) -> Result<String, String> {
    let essence = raw
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match kind_of(&essence) {
        Some(_) => Ok(essence),
        None => Err(format!(
            "{raw:?} is not a type the library takes: image/jpeg, image/png, image/gif, \
             image/webp, video/mp4, video/quicktime or video/webm"
        )),
    }
}

/// The bucket of a process that has none configured.
struct NoBucket;

impl NoBucket {
    fn unavailable() -> BlobError {
        BlobError::Unavailable("this process has no bucket configured".into())
    }
}

#[async_trait]
impl Bucket for NoBucket {
    async fn head(&self, _: &str) -> Result<Option<ObjectInfo>, BlobError> {
        Err(Self::unavailable())
    }
    async fn read(&self, _: &str, _: std::ops::Range<u64>) -> Result<Bytes, BlobError> {
        Err(Self::unavailable())
    }
    async fn put(&self, _: &str, _: Bytes, _: &str) -> Result<(), BlobError> {
        Err(Self::unavailable())
    }
    async fn copy(&self, _: &str, _: &str) -> Result<(), BlobError> {
        Err(Self::unavailable())
    }
    async fn delete(&self, _: &str) -> Result<(), BlobError> {
        Err(Self::unavailable())
    }
    async fn list(&self, _: &str, _: usize) -> Result<Vec<String>, BlobError> {
        Err(Self::unavailable())
    }
    async fn presign_put(
        &self,
        _: &str,
        _: &str,
        _: u64,
        _: SignedDuration,
    ) -> Result<PresignedRequest, BlobError> {
        Err(Self::unavailable())
    }
    async fn presign_get(&self, _: &str, _: SignedDuration) -> Result<String, BlobError> {
        Err(Self::unavailable())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_types_are_the_ones_intake_takes() {
        assert_eq!(accepted_type("Image/JPEG; q=1").unwrap(), "image/jpeg");
        assert_eq!(accepted_type("video/quicktime").unwrap(), "video/quicktime");
        assert!(accepted_type("application/pdf").is_err());
        assert!(accepted_type("image/heic").is_err());
    }
}
