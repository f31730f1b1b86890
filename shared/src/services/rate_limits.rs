//! The per-brand rate limiter: reads the brand's limit item, applies the rule of
//! `domain::rate_limit`, and writes it back conditioned on the version it read. Losing that race
//! to another request of the brand means reading again, a few times; two requests can never both
//! take the last token. A refusal writes nothing.

use std::sync::Arc;

use jiff::Timestamp;

use crate::clock::Clock;
use crate::domain::rate_limit::{RateLimits, Refusal, UploadAllowance, WriteBucket};
use crate::domain::{AssetId, BrandId};
use crate::store::{Store, StoreError};

use super::ServiceError;

/// How many times a request reads the item again after another request of its brand wrote it
/// first. Each lost race is someone else's success, so a request that loses them all came with
/// more than this many others at the same instant; it is answered 429 with a one-second wait.
const ATTEMPTS: usize = 8;

#[derive(Clone)]
pub struct RateLimiter {
    store: Store,
    clock: Arc<dyn Clock>,
    limits: RateLimits,
}

impl RateLimiter {
    pub fn new(store: Store, clock: Arc<dyn Clock>, limits: RateLimits) -> Self {
        Self {
            store,
            clock,
            limits,
        }
    }

    pub fn with_limits(self, limits: RateLimits) -> Self {
        Self { limits, ..self }
    }

    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// Takes one of the brand's write tokens.
    pub async fn take_write(&self, brand: &BrandId) -> Result<(), ServiceError> {
        for _ in 0..ATTEMPTS {
            let stored = self.store.write_bucket(brand).await?;
            let now = self.clock.now();
            let (bucket, version) = match stored {
                Some((bucket, version)) => (bucket, Some(version)),
                None => (WriteBucket::full(&self.limits, now), None),
            };
            let taken = bucket
                .take(&self.limits, now)
                .map_err(ServiceError::RateLimited)?;
            match self
                .store
                .put_write_bucket(brand, &taken, &self.limits, version)
                .await
            {
                Err(StoreError::Conflict { .. }) => continue,
                other => return Ok(other?),
            }
        }
        Err(ServiceError::RateLimited(Refusal::contended()))
    }

    /// Takes an upload slot for `asset_id` until `until` (its URL's expiry) and `size` bytes of
    /// today's allowance.
    pub async fn take_upload(
        &self,
        brand: &BrandId,
        asset_id: AssetId,
        size: u64,
        until: Timestamp,
    ) -> Result<(), ServiceError> {
        for _ in 0..ATTEMPTS {
            let stored = self.store.upload_allowance(brand).await?;
            let now = self.clock.now();
            let (allowance, version) = match stored {
                Some((allowance, version)) => (allowance, Some(version)),
                None => (UploadAllowance::unused(now), None),
            };
            let taken = allowance
                .take(&self.limits, now, asset_id, size, until)
                .map_err(ServiceError::RateLimited)?;
            match self
                .store
                .put_upload_allowance(brand, &taken, version)
                .await
            {
                Err(StoreError::Conflict { .. }) => continue,
                other => return Ok(other?),
            }
        }
        Err(ServiceError::RateLimited(Refusal::contended()))
    }

    /// Frees the upload slot of `asset_id`: its file has been taken in. Nothing to do when the
    /// slot has expired or was freed already.
    pub async fn release_upload(
        &self,
        brand: &BrandId,
        asset_id: &AssetId,
    ) -> Result<(), ServiceError> {
        for _ in 0..ATTEMPTS {
            let Some((allowance, version)) = self.store.upload_allowance(brand).await? else {
                return Ok(());
            };
            let Some(released) = allowance.release(self.clock.now(), asset_id) else {
                return Ok(());
            };
            match self
                .store
                .put_upload_allowance(brand, &released, Some(version))
                .await
            {
                Err(StoreError::Conflict { .. }) => continue,
                other => return Ok(other?),
            }
        }
        Err(StoreError::Unavailable(format!(
            "the upload slot of {asset_id} could not be freed: the allowance kept changing"
        ))
        .into())
    }
}
