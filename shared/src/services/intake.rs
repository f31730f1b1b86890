//! Asset intake: a file that arrives under `incoming/{brand}/` becomes a ready library asset or a
//! rejected one (its bytes kept under `quarantine/`), exactly once however often it is delivered.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::runtime::Handle;

use crate::bucket::{BlobError, Bucket};
use crate::domain::rate_limit::RateLimits;
use crate::domain::{
    Asset, AssetDetails, AssetId, AssetRejection, AssetStatus, BrandId, IntakeTicket, MediaKind,
};
use crate::domain_events::DomainEvent;
use crate::media_inspection::{self, InspectError, Inspection, Limits, ObjectSource, Rejection};
use crate::store::StoreError;
use crate::store::outbox::outbox_write;

use super::{Ports, RateLimiter, ServiceError};

pub const INCOMING: &str = "incoming/";
/// The most keys one scan of the drop folder looks at, and the most files it takes in.
const SCAN_LIST_LIMIT: usize = 200;
const SCAN_INGEST_LIMIT: usize = 25;
/// The largest single ranged read of an object; bounds memory whatever `Limits::read_chunk` says.
const MAX_READ: usize = 8 << 20;

/// What became of one incoming object.
#[derive(Debug, Clone, PartialEq)]
pub enum IntakeOutcome {
    Ready(Asset),
    Rejected(Asset),
    /// The same bytes are already in the brand's library: nothing new was recorded.
    Duplicate {
        of: AssetId,
        filename: String,
    },
    /// Not an incoming file (another prefix, a folder marker): left alone.
    Ignored(String),
    /// The object is not there any more (already taken in, or removed): nothing to do.
    Gone,
    /// Under `incoming/` but for no brand that exists: moved to `kept_at`, no asset recorded.
    Unclaimed {
        kept_at: String,
        reason: String,
    },
}

impl fmt::Display for IntakeOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ready(a) => write!(
                f,
                "ready: asset {} ({}, {} bytes)",
                a.id, a.content_type, a.size
            ),
            Self::Rejected(a) => write!(
                f,
                "rejected: asset {}: {}",
                a.id,
                a.details
                    .rejection
                    .as_ref()
                    .map_or("refused", |r| r.reason.as_str())
            ),
            Self::Duplicate { of, filename } => {
                write!(f, "{filename} is a duplicate of asset {of}")
            }
            Self::Ignored(why) => write!(f, "ignored: {why}"),
            Self::Gone => write!(f, "already taken in or removed"),
            Self::Unclaimed { kept_at, reason } => write!(f, "{reason}; moved to {kept_at}"),
        }
    }
}

/// Where an incoming key says the file belongs.
struct IncomingKey<'a> {
    brand: &'a str,
    /// Everything after `incoming/`.
    rest: &'a str,
    filename: &'a str,
    /// The asset id of `incoming/{brand}/{asset_id}/{filename}`, the shape of an upload URL's key.
    slot: Option<AssetId>,
}

impl<'a> IncomingKey<'a> {
    fn parse(key: &'a str) -> Option<Self> {
        let rest = key.strip_prefix(INCOMING)?;
        let (brand, inside) = rest.split_once('/').unwrap_or(("", rest));
        let filename = inside.rsplit('/').next().unwrap_or_default();
        let slot = inside
            .split_once('/')
            .filter(|(_, name)| !name.contains('/'))
            .and_then(|(id, _)| AssetId::parse(id).ok());
        Some(Self {
            brand,
            rest,
            filename,
            slot,
        })
    }
}

/// Which kind of ticket gives the object its asset id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TicketKind {
    /// Handed out with an upload URL.
    Slot,
    /// Made on first sight of a file dropped into the bucket.
    Dropped,
}

#[derive(Clone)]
pub struct IntakeService {
    ports: Ports,
    bucket: Arc<dyn Bucket>,
    limits: Limits,
    /// Sizes the previous scan of the drop folder saw, so a file still being copied in is left
    /// until its size stops changing.
    seen: Arc<Mutex<HashMap<String, u64>>>,
    /// Keys of the drop folder that could not be looked at, already reported once.
    unreadable: Arc<Mutex<HashSet<String>>>,
}

impl IntakeService {
    pub fn new(ports: Ports, bucket: Arc<dyn Bucket>, limits: Limits) -> Self {
        Self {
            ports,
            bucket,
            limits,
            seen: Arc::default(),
            unreadable: Arc::default(),
        }
    }

    /// Takes in the object at `key` (decoded, as it is in the bucket). Safe to call again for the
    /// same key at any point, including after a crash half-way: every step is keyed by the asset
    /// id the object's ticket fixes on first sight, and the incoming object is deleted last.
    /// An `Err` is worth retrying (the store or bucket failed); a refused file is an `Ok`.
    /// Once the file is dealt with, the upload URL it came through frees its slot.
    pub async fn ingest(&self, key: &str) -> Result<IntakeOutcome, ServiceError> {
        let outcome = self.take_in(key).await;
        if outcome.is_ok()
            && let Some(incoming) = IncomingKey::parse(key)
            && let (Ok(brand), Some(slot)) = (BrandId::parse(incoming.brand), incoming.slot)
        {
            self.free_upload_slot(&brand, &slot).await;
        }
        outcome
    }

    /// The upload URL's file has been taken in: its slot no longer counts against the brand's
    /// outstanding uploads (nothing to do for a key that holds none). A failure here costs the
    /// brand the slot until the URL expires (at most 15 minutes), so it is logged rather than
    /// failing an intake that succeeded.
    async fn free_upload_slot(&self, brand: &BrandId, slot: &AssetId) {
        let limiter = RateLimiter::new(
            self.ports.store.clone(),
            self.ports.clock.clone(),
            RateLimits::default(),
        );
        if let Err(e) = limiter.release_upload(brand, slot).await {
            tracing::warn!(%brand, asset = %slot, error = %e, "the upload slot could not be freed");
        }
    }

    async fn take_in(&self, key: &str) -> Result<IntakeOutcome, ServiceError> {
        let Some(incoming) = IncomingKey::parse(key) else {
            return Ok(IntakeOutcome::Ignored(format!(
                "{key} is not under {INCOMING}"
            )));
        };
        if incoming.filename.is_empty() {
            return Ok(IntakeOutcome::Ignored(format!("{key} is a folder")));
        }
        let brand = match BrandId::parse(incoming.brand) {
            Ok(brand) if self.ports.store.get_brand(&brand).await?.is_some() => brand,
            _ => return self.set_aside(key, &incoming).await,
        };
        let Some(info) = self.bucket.head(key).await? else {
            return Ok(IntakeOutcome::Gone);
        };
        let inspected = match self.inspect(key, info.size, incoming.filename).await {
            Ok(inspected) => inspected,
            // Read failures are retried, unless the object went away meanwhile (another attempt
            // finished it).
            Err(e) if self.bucket.head(key).await?.is_none() => {
                tracing::debug!(key, error = %e, "the object went away while being read");
                return Ok(IntakeOutcome::Gone);
            }
            Err(e) => return Err(e),
        };
        let (mut ticket, mut kind) = self.ticket(&brand, key, &incoming).await?;
        // A ticket's asset that exists already is an earlier attempt at this same object, unless
        // its content differs: then the key was used again, and this object needs its own id.
        let mut attempts = 0;
        while let Some(existing) = self.ports.store.get_asset(&brand, &ticket.asset_id).await? {
            if same_content(&existing, &inspected) {
                return self.finish(key, existing).await;
            }
            attempts += 1;
            if attempts > 3 {
                return Err(StoreError::Unavailable(format!(
                    "no free asset id for {key} after {attempts} tries"
                ))
                .into());
            }
            if kind == TicketKind::Dropped {
                self.ports.store.release_dropped_file(&brand, key).await?;
            }
            let proposed = self.new_ticket(key, ticket.uploaded_by.clone());
            ticket = self
                .ports
                .store
                .claim_dropped_file(&brand, &proposed)
                .await?;
            kind = TicketKind::Dropped;
        }
        match inspected {
            Err(rejection) => {
                self.reject(
                    &brand,
                    key,
                    incoming.filename,
                    &ticket,
                    info.size,
                    rejection,
                )
                .await
            }
            Ok(inspection) => {
                self.accept(&brand, key, incoming.filename, &ticket, kind, inspection)
                    .await
            }
        }
    }

    /// Takes in what sits under `incoming/` (the local drop folder). A file is taken in on the
    /// second scan that sees it at the same size, so one still being copied in is left alone;
    /// a scan lists at most a few hundred keys and takes in at most a few dozen files. An entry
    /// that cannot be looked at (a symbolic link, a named pipe, a failing file) does not hold up
    /// the others: it is reported once, as `Ignored` with the reason when it is not a file the
    /// bucket will ever read, else as the error, and looked at again on every scan.
    pub async fn scan_incoming(
        &self,
    ) -> Result<Vec<(String, Result<IntakeOutcome, ServiceError>)>, ServiceError> {
        let keys = self.bucket.list(INCOMING, SCAN_LIST_LIMIT).await?;
        let mut sizes = HashMap::with_capacity(keys.len());
        let mut results = Vec::new();
        let mut unreadable = HashSet::new();
        let reported = self
            .unreadable
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for key in keys {
            match self.bucket.head(&key).await {
                Ok(Some(info)) => {
                    sizes.insert(key, info.size);
                }
                Ok(None) => {}
                Err(e) => {
                    if !reported.contains(&key) {
                        let outcome = match e {
                            BlobError::Invalid(why) => Ok(IntakeOutcome::Ignored(why)),
                            other => Err(other.into()),
                        };
                        results.push((key.clone(), outcome));
                    }
                    unreadable.insert(key);
                }
            }
        }
        *self
            .unreadable
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = unreadable;
        let previous = {
            let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            std::mem::replace(&mut *seen, sizes.clone())
        };
        let mut settled: Vec<String> = sizes
            .iter()
            .filter(|(key, size)| previous.get(*key) == Some(size))
            .map(|(key, _)| key.clone())
            .collect();
        settled.sort();
        settled.truncate(SCAN_INGEST_LIMIT);
        for key in settled {
            let outcome = self.ingest(&key).await;
            if outcome.is_ok() {
                // A new file later written under the same key must settle again.
                self.seen
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&key);
            }
            results.push((key, outcome));
        }
        Ok(results)
    }

    /// The object's ticket: its upload slot when the key is one an upload URL was made for,
    /// else the dropped-file ticket (made now on first sight).
    async fn ticket(
        &self,
        brand: &BrandId,
        key: &str,
        incoming: &IncomingKey<'_>,
    ) -> Result<(IntakeTicket, TicketKind), ServiceError> {
        if let Some(slot) = incoming.slot
            && let Some(ticket) = self.ports.store.get_upload(brand, &slot).await?
            && ticket.key == key
        {
            return Ok((ticket, TicketKind::Slot));
        }
        let ticket = self
            .ports
            .store
            .claim_dropped_file(brand, &self.new_ticket(key, None))
            .await?;
        Ok((ticket, TicketKind::Dropped))
    }

    fn new_ticket(&self, key: &str, uploaded_by: Option<String>) -> IntakeTicket {
        IntakeTicket {
            asset_id: AssetId::new(),
            key: key.to_owned(),
            uploaded_by,
            created_at: self.ports.clock.now(),
            duplicate_of: None,
        }
    }

    /// Inspects the object in the blocking pool, reading it through ranged reads.
    async fn inspect(
        &self,
        key: &str,
        size: u64,
        filename: &str,
    ) -> Result<Result<Inspection, Rejection>, ServiceError> {
        let source = BucketSource {
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            len: size,
            handle: Handle::current(),
        };
        let (filename, limits) = (filename.to_owned(), self.limits.clone());
        let inspected = tokio::task::spawn_blocking(move || {
            media_inspection::inspect(&source, &filename, &limits)
        })
        .await
        .map_err(|e| BlobError::Unavailable(format!("inspecting {key} stopped: {e}")))?;
        match inspected {
            Ok(inspection) => Ok(Ok(inspection)),
            Err(InspectError::Rejected(rejection)) => Ok(Err(rejection)),
            Err(InspectError::Read(e)) => {
                Err(BlobError::Unavailable(format!("reading {key}: {e}")).into())
            }
        }
    }

    async fn reject(
        &self,
        brand: &BrandId,
        key: &str,
        filename: &str,
        ticket: &IntakeTicket,
        size: u64,
        rejection: Rejection,
    ) -> Result<IntakeOutcome, ServiceError> {
        let id = ticket.asset_id;
        let kept_at = format!("quarantine/{brand}/{id}/{filename}");
        if let Err(e) = self.bucket.copy(key, &kept_at).await {
            return self.vanished(brand, &id, e, &[]).await;
        }
        let now = self.ports.clock.now();
        let asset = Asset {
            id,
            kind: kind_from_name(filename),
            content_type: "application/octet-stream".into(),
            size,
            width: None,
            height: None,
            duration_ms: None,
            alt_text: None,
            object_key: kept_at,
            status: AssetStatus::Rejected,
            version: 1,
            created_at: now,
            updated_at: now,
            details: AssetDetails {
                filename: filename.to_owned(),
                source_key: key.to_owned(),
                uploaded_by: ticket.uploaded_by.clone(),
                rejection: Some(AssetRejection {
                    code: rejection.code().to_owned(),
                    reason: rejection.to_string(),
                }),
                ..AssetDetails::default()
            },
        };
        let event = DomainEvent::asset_rejected(brand, &asset, now);
        let asset = match self
            .ports
            .store
            .create_asset(brand, &asset, vec![outbox_write(&event)?])
            .await
        {
            Ok(saved) => saved,
            // A concurrent attempt at the same object recorded it first.
            Err(StoreError::Conflict { .. }) => self.existing(brand, &id).await?,
            Err(e) => return Err(e.into()),
        };
        self.finish(key, asset).await
    }

    async fn accept(
        &self,
        brand: &BrandId,
        key: &str,
        filename: &str,
        ticket: &IntakeTicket,
        kind: TicketKind,
        inspection: Inspection,
    ) -> Result<IntakeOutcome, ServiceError> {
        let id = ticket.asset_id;
        let library_key = format!("library/{brand}/{id}.{}", inspection.extension);
        let thumbnail_key = format!("thumbnails/{brand}/{id}.jpg");
        if let Some(of) = self
            .ports
            .store
            .asset_with_checksum(brand, &inspection.sha256)
            .await?
        {
            if of == id {
                // A concurrent attempt at this same object recorded it just now: its files are
                // this asset's, so they must not be removed as a duplicate's would be.
                let existing = self.existing(brand, &id).await?;
                return self.finish(key, existing).await;
            }
            return self
                .duplicate(
                    brand,
                    key,
                    filename,
                    ticket,
                    kind,
                    of,
                    [library_key, thumbnail_key],
                )
                .await;
        }
        let has_thumbnail = inspection.thumbnail.is_some();
        if let Some(thumbnail) = &inspection.thumbnail {
            self.bucket
                .put(
                    &thumbnail_key,
                    bytes::Bytes::from(thumbnail.jpeg.clone()),
                    "image/jpeg",
                )
                .await?;
        }
        if let Err(e) = self.bucket.copy(key, &library_key).await {
            return self
                .vanished(brand, &id, e, &[library_key, thumbnail_key])
                .await;
        }
        let now = self.ports.clock.now();
        let (width, height) = upright_size(&inspection).unzip();
        let mut asset = Asset {
            id,
            kind: inspection.kind,
            content_type: inspection.content_type.to_owned(),
            size: inspection.size,
            width,
            height,
            duration_ms: inspection.duration_ms,
            alt_text: None,
            object_key: library_key.clone(),
            status: AssetStatus::Ready,
            version: 1,
            created_at: now,
            updated_at: now,
            details: AssetDetails {
                filename: filename.to_owned(),
                sha256: Some(inspection.sha256.clone()),
                thumbnail_key: has_thumbnail.then(|| thumbnail_key.clone()),
                source_key: key.to_owned(),
                uploaded_by: ticket.uploaded_by.clone(),
                orientation: inspection.orientation,
                container: inspection.container.map(|c| c.as_str().to_owned()),
                video_codec: inspection.video_codec.clone(),
                frame_rate: inspection.frame_rate,
                notes: inspection.notes.clone(),
                ..AssetDetails::default()
            },
        };
        asset.details.networks = asset.fit_networks(&self.ports.networks());
        let event = DomainEvent::asset_ready(brand, &asset, now);
        match self
            .ports
            .store
            .create_asset(brand, &asset, vec![outbox_write(&event)?])
            .await
        {
            Ok(saved) => self.finish(key, saved).await,
            Err(StoreError::Conflict { .. }) => {
                // Someone recorded this asset id or these bytes first: a concurrent attempt at
                // the same object, or another upload of the same file that won the race.
                match self
                    .ports
                    .store
                    .asset_with_checksum(brand, &inspection.sha256)
                    .await?
                {
                    Some(of) if of != id => {
                        self.duplicate(
                            brand,
                            key,
                            filename,
                            ticket,
                            kind,
                            of,
                            [library_key, thumbnail_key],
                        )
                        .await
                    }
                    _ => {
                        let existing = self.existing(brand, &id).await?;
                        self.finish(key, existing).await
                    }
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The file is already in the library as `of`. Objects an earlier attempt may have written
    /// under this ticket's id are removed (nothing else uses that id), and an upload slot notes
    /// where its file went, so `GET /v1/assets/{id}` can point there.
    #[allow(clippy::too_many_arguments)]
    async fn duplicate(
        &self,
        brand: &BrandId,
        key: &str,
        filename: &str,
        ticket: &IntakeTicket,
        kind: TicketKind,
        of: AssetId,
        written: [String; 2],
    ) -> Result<IntakeOutcome, ServiceError> {
        for object in &written {
            self.bucket.delete(object).await?;
        }
        if kind == TicketKind::Slot {
            self.ports
                .store
                .note_duplicate_upload(brand, ticket, of)
                .await?;
        }
        self.bucket.delete(key).await?;
        Ok(IntakeOutcome::Duplicate {
            of,
            filename: filename.to_owned(),
        })
    }

    /// The last step, also run again for an asset an earlier attempt recorded: the incoming
    /// object goes. The asset's event was written with the asset (the outbox), so a retry never
    /// sends it again and a crash never loses it.
    async fn finish(&self, key: &str, asset: Asset) -> Result<IntakeOutcome, ServiceError> {
        self.bucket.delete(key).await?;
        Ok(match asset.status {
            AssetStatus::Rejected => IntakeOutcome::Rejected(asset),
            _ => IntakeOutcome::Ready(asset),
        })
    }

    /// A copy of the incoming object failed. If the object is gone, another attempt took it in
    /// (or someone removed it): unless that attempt recorded this asset, what this one wrote
    /// under its id is removed.
    async fn vanished(
        &self,
        brand: &BrandId,
        id: &AssetId,
        error: BlobError,
        written: &[String],
    ) -> Result<IntakeOutcome, ServiceError> {
        if !matches!(error, BlobError::NotFound(_)) {
            return Err(error.into());
        }
        if self.ports.store.get_asset(brand, id).await?.is_none() {
            for object in written {
                self.bucket.delete(object).await?;
            }
        }
        Ok(IntakeOutcome::Gone)
    }

    async fn existing(&self, brand: &BrandId, id: &AssetId) -> Result<Asset, ServiceError> {
        self.ports.store.get_asset(brand, id).await?.ok_or_else(|| {
            ServiceError::Store(StoreError::Unavailable(format!(
                "asset {id} was recorded by another attempt but cannot be read yet"
            )))
        })
    }

    /// A file under `incoming/` for no brand that exists: kept aside for an operator, so it
    /// neither blocks the drop folder nor is lost.
    async fn set_aside(
        &self,
        key: &str,
        incoming: &IncomingKey<'_>,
    ) -> Result<IntakeOutcome, ServiceError> {
        let kept_at = format!("quarantine/{}", incoming.rest);
        if self.bucket.head(key).await?.is_none() {
            return Ok(IntakeOutcome::Gone);
        }
        self.bucket.copy(key, &kept_at).await?;
        self.bucket.delete(key).await?;
        let reason = if incoming.brand.is_empty() {
            format!("{key} is not in a brand's folder (incoming/{{brand}}/...)")
        } else {
            format!("there is no brand {:?}", incoming.brand)
        };
        tracing::warn!(key, kept_at, reason, "incoming file set aside");
        Ok(IntakeOutcome::Unclaimed { kept_at, reason })
    }
}

/// Whether a recorded asset is the result of inspecting the same bytes again.
fn same_content(existing: &Asset, inspected: &Result<Inspection, Rejection>) -> bool {
    match inspected {
        Ok(inspection) => existing.details.sha256.as_deref() == Some(inspection.sha256.as_str()),
        Err(rejection) => {
            existing.status == AssetStatus::Rejected
                && existing
                    .details
                    .rejection
                    .as_ref()
                    .is_some_and(|r| r.code == rejection.code())
        }
    }
}

/// Width and height as shown: after a photo's EXIF orientation, or a video's rotation.
fn upright_size(inspection: &Inspection) -> Option<(u32, u32)> {
    let (w, h) = inspection.display_size()?;
    Some(match inspection.rotation {
        Some(90 | 270) => (h, w),
        _ => (w, h),
    })
}

/// A refused file has no trustworthy type; its name is the best guess for filtering.
fn kind_from_name(filename: &str) -> MediaKind {
    let extension = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "gif" => MediaKind::Gif,
        "mp4" | "m4v" | "mov" | "qt" | "webm" => MediaKind::Video,
        _ => MediaKind::Image,
    }
}

/// An object in the bucket as inspection reads it: each `read_at` is one ranged read, made from
/// the blocking pool by waiting on the async bucket.
struct BucketSource {
    bucket: Arc<dyn Bucket>,
    key: String,
    len: u64,
    handle: Handle,
}

impl ObjectSource for BucketSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let end = offset
            .saturating_add(buf.len().min(MAX_READ) as u64)
            .min(self.len);
        let bytes = self
            .handle
            .block_on(self.bucket.read(&self.key, offset..end))
            .map_err(|e| match e {
                BlobError::NotFound(_) => io::Error::new(io::ErrorKind::NotFound, e.to_string()),
                other => io::Error::other(other.to_string()),
            })?;
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incoming_keys_name_their_brand_file_and_upload_slot() {
        let id = AssetId::new();
        let key = format!("incoming/acme/{id}/Caffè latte.jpg");
        let parsed = IncomingKey::parse(&key).unwrap();
        assert_eq!(
            (parsed.brand, parsed.filename, parsed.slot),
            ("acme", "Caffè latte.jpg", Some(id))
        );
        let dropped = IncomingKey::parse("incoming/acme/summer/beach.png").unwrap();
        assert_eq!((dropped.filename, dropped.slot), ("beach.png", None));
        let deep = format!("incoming/acme/{id}/more/x.png");
        assert_eq!(IncomingKey::parse(&deep).unwrap().slot, None);
        let loose = IncomingKey::parse("incoming/x.png").unwrap();
        assert_eq!((loose.brand, loose.filename), ("", "x.png"));
        assert!(IncomingKey::parse("library/acme/x.png").is_none());
    }
}
