//! The store's brand records.

use super::{Store, decode, encode, next_version};
use crate::domain::{Brand, BrandId};
use crate::store::StoreError;
use crate::store::keys::{self, BRAND_SK};

impl Store {
    pub async fn get_brand(&self, brand: &BrandId) -> Result<Option<Brand>, StoreError> {
        let item = self.items.get(&keys::brand_pk(brand), BRAND_SK).await?;
        item.map(|i| decode(i, |b: &mut Brand, v| b.version = v))
            .transpose()
    }

    /// Creates the brand (`expected: None`) or replaces the version the caller read.
    pub async fn put_brand(
        &self,
        brand: &Brand,
        expected: Option<u64>,
    ) -> Result<Brand, StoreError> {
        self.put_brand_with(brand, expected, vec![]).await
    }

    /// [`Store::put_brand`] with `also` (its audit entry) in the same write.
    pub async fn put_brand_with(
        &self,
        brand: &Brand,
        expected: Option<u64>,
        also: Vec<crate::store::Write>,
    ) -> Result<Brand, StoreError> {
        let item = encode(
            keys::brand_pk(&brand.id),
            BRAND_SK.into(),
            next_version(expected),
            vec![],
            brand,
        )?;
        self.put_with(brand, item, expected, also).await
    }
}
