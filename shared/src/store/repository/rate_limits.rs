//! The store's per-brand rate-limit state: the write bucket and the upload allowance.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Store, encode, next_version};
use crate::domain::BrandId;
use crate::domain::rate_limit::{RateLimits, UploadAllowance, WriteBucket};
use crate::store::keys;
use crate::store::{Condition, StoreError, Write};

impl Store {
    /// The brand's write bucket and its version; `None` is a full bucket.
    pub async fn write_bucket(
        &self,
        brand: &BrandId,
    ) -> Result<Option<(WriteBucket, u64)>, StoreError> {
        self.rate_limit_item(brand, keys::WRITE_BUCKET_SK).await
    }

    /// Saves the bucket if it is still at `expected` (`None`: if there is none), with the TTL at
    /// which it would be full again. Fails with `Conflict` when another request wrote it first.
    pub async fn put_write_bucket(
        &self,
        brand: &BrandId,
        bucket: &WriteBucket,
        limits: &RateLimits,
        expected: Option<u64>,
    ) -> Result<(), StoreError> {
        let expires_at = bucket.forgettable_at(limits);
        self.put_rate_limit_item(brand, keys::WRITE_BUCKET_SK, bucket, expected, expires_at)
            .await
    }

    /// The brand's upload allowance and its version; `None` is nothing used.
    pub async fn upload_allowance(
        &self,
        brand: &BrandId,
    ) -> Result<Option<(UploadAllowance, u64)>, StoreError> {
        self.rate_limit_item(brand, keys::UPLOAD_ALLOWANCE_SK).await
    }

    /// Saves the allowance if it is still at `expected` (`None`: if there is none), with the TTL
    /// at which its day and its last slot are over.
    pub async fn put_upload_allowance(
        &self,
        brand: &BrandId,
        allowance: &UploadAllowance,
        expected: Option<u64>,
    ) -> Result<(), StoreError> {
        let expires_at = allowance.forgettable_at();
        self.put_rate_limit_item(
            brand,
            keys::UPLOAD_ALLOWANCE_SK,
            allowance,
            expected,
            expires_at,
        )
        .await
    }

    async fn rate_limit_item<T: DeserializeOwned>(
        &self,
        brand: &BrandId,
        sk: &str,
    ) -> Result<Option<(T, u64)>, StoreError> {
        let Some(item) = self.items.get(&keys::brand_pk(brand), sk).await? else {
            return Ok(None);
        };
        let state = serde_json::from_value(item.body)
            .map_err(|e| StoreError::Corrupt(format!("{} {sk}: {e}", item.pk)))?;
        Ok(Some((state, item.version)))
    }

    async fn put_rate_limit_item<T: Serialize>(
        &self,
        brand: &BrandId,
        sk: &str,
        state: &T,
        expected: Option<u64>,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut item = encode(
            keys::brand_pk(brand),
            sk.to_owned(),
            next_version(expected),
            vec![],
            state,
        )?;
        // Two requests that read the same version at the same instant compute the same state;
        // without a mark of its own, the second write would look like a replay of the first
        // (`ItemStore::write`) and succeed, and both would take the last token.
        if let Some(body) = item.body.as_object_mut() {
            body.insert("writer".into(), rand::random::<u64>().into());
        }
        item.expires_at = Some(expires_at);
        let condition = match expected {
            None => Condition::Absent,
            Some(v) => Condition::Version(v),
        };
        self.items.write(vec![Write::Put { item, condition }]).await
    }
}
