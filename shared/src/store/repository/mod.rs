//! The store port the services use, written once over any [`ItemStore`]; each aggregate's methods
//! are in the submodule named after it.

mod assets;
mod brands;
mod channels;
mod posts;
mod rate_limits;

use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::keys;
use super::{
    Condition, Index, IndexKey, Item, ItemStore, KeyRange, Query, StartAfter, StoreError, Write,
};
use crate::domain::{Asset, Brand, BrandId, Channel, Post};
use crate::sealing::Keyring;

pub use assets::{AssetFilter, AssetPage};
pub use channels::MAX_CHANNELS_PER_BRAND;
pub use posts::{PostFilter, PostPage};

/// How many items one listing request may examine before it returns a (possibly short) page with
/// a cursor, so a selective filter cannot turn one request into a read of the whole partition.
pub(super) const MAX_EXAMINED_PER_LISTING: usize = 1_000;

/// Why a listing could not run.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("{0}")]
    BadCursor(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct Store {
    items: Arc<dyn ItemStore>,
    /// Seals credentials on their way in and opens them on their way out (`store::credentials`):
    /// no credentials item ever holds plaintext.
    keyring: Arc<dyn Keyring>,
}

impl Store {
    pub fn new(items: Arc<dyn ItemStore>, keyring: Arc<dyn Keyring>) -> Self {
        Self { items, keyring }
    }

    /// The same store (and keyring) through other items (the benchmarks count writes through a
    /// wrapper).
    pub fn with_items(&self, items: Arc<dyn ItemStore>) -> Self {
        Self {
            items,
            keyring: self.keyring.clone(),
        }
    }

    pub fn items(&self) -> &Arc<dyn ItemStore> {
        &self.items
    }

    pub fn keyring(&self) -> &Arc<dyn Keyring> {
        &self.keyring
    }

    /// Up to `limit` entries of one partition of the `due` index whose time is at or before
    /// `now`, in time order, each with the brand it belongs to.
    pub(super) async fn due_entries(
        &self,
        index_pk: String,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<(BrandId, Item)>, StoreError> {
        let (lo, hi) = keys::due_until(now);
        let page = self
            .items
            .query(&Query {
                pk: String::new(),
                index: Some((Index::Due, index_pk)),
                range: KeyRange::Between(lo, hi),
                after: None,
                limit,
                descending: false,
            })
            .await?;
        page.items
            .into_iter()
            .map(|item| {
                let brand = keys::brand_of(&item.pk).ok_or_else(|| {
                    StoreError::Corrupt(format!("a due entry has the partition {:?}", item.pk))
                })?;
                Ok((brand, item))
            })
            .collect()
    }

    /// Reads pages until `limit` items matched, the range ended, or `max_examined` items were read.
    /// The returned cursor points just after the last item examined, so none is skipped or repeated.
    pub(super) async fn collect<T>(
        &self,
        mut query: Query,
        limit: usize,
        max_examined: usize,
        decode: impl Fn(Item) -> Result<T, StoreError>,
        keep: impl Fn(&T) -> bool,
    ) -> Result<(Vec<T>, Option<StartAfter>), StoreError> {
        let mut kept = Vec::new();
        let mut examined = 0;
        loop {
            query.limit = (limit - kept.len())
                .clamp(25, 200)
                .min(max_examined - examined);
            let page = self.items.query(&query).await?;
            let page_len = page.items.len();
            for (i, item) in page.items.into_iter().enumerate() {
                let after = start_after(&item, query.index.as_ref().map(|(i, _)| *i));
                examined += 1;
                let value = decode(item)?;
                if keep(&value) {
                    kept.push(value);
                }
                let more_in_page = i + 1 < page_len;
                if kept.len() == limit || examined == max_examined {
                    let more = more_in_page || page.next.is_some();
                    return Ok((kept, more.then_some(after)));
                }
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok((kept, None)),
            }
        }
    }

    /// Writes `value` as `item` and returns it with the version it now has.
    pub(super) async fn put<T: Clone + Versioned>(
        &self,
        value: &T,
        item: Item,
        expected: Option<u64>,
    ) -> Result<T, StoreError> {
        self.put_with(value, item, expected, Vec::new()).await
    }

    /// [`Store::put`] and, in the same atomic write, `also` (an outbox event, an audit entry).
    pub(super) async fn put_with<T: Clone + Versioned>(
        &self,
        value: &T,
        item: Item,
        expected: Option<u64>,
        also: Vec<Write>,
    ) -> Result<T, StoreError> {
        let condition = match expected {
            None => Condition::Absent,
            Some(v) => Condition::Version(v),
        };
        let version = item.version;
        let mut writes = vec![Write::Put { item, condition }];
        writes.extend(also);
        self.items.write(writes).await?;
        let mut saved = value.clone();
        saved.set_version(version);
        Ok(saved)
    }
}

pub(super) trait Versioned {
    fn set_version(&mut self, version: u64);
}

macro_rules! versioned {
    ($($t:ty),*) => {$(
        impl Versioned for $t {
            fn set_version(&mut self, version: u64) {
                self.version = version;
            }
        }
    )*};
}
versioned!(
    Asset,
    Brand,
    Channel,
    Post,
    crate::domain::Kpi,
    crate::domain::webhook::Webhook,
    crate::domain::webhook::Delivery
);

pub(super) fn next_version(expected: Option<u64>) -> u64 {
    expected.map_or(1, |v| v + 1)
}

fn start_after(item: &Item, index: Option<Index>) -> StartAfter {
    StartAfter {
        sk: item.sk.clone(),
        index_sk: index.and_then(|i| item.index_key(i)).map(|k| k.sk.clone()),
    }
}

pub(super) fn encode<T: Serialize>(
    pk: String,
    sk: String,
    version: u64,
    indexes: Vec<(Index, IndexKey)>,
    value: &T,
) -> Result<Item, StoreError> {
    let mut body = serde_json::to_value(value).map_err(|e| StoreError::Invalid(e.to_string()))?;
    // The version lives in the item's own attribute; the body never carries a stale copy.
    if let Some(map) = body.as_object_mut() {
        map.remove("version");
    }
    Ok(Item {
        pk,
        sk,
        version,
        indexes,
        expires_at: None,
        body,
    })
}

pub(super) fn decode<T: DeserializeOwned>(
    item: Item,
    set_version: impl Fn(&mut T, u64),
) -> Result<T, StoreError> {
    let mut body = item.body;
    if let Some(map) = body.as_object_mut() {
        map.insert("version".into(), item.version.into());
    }
    let mut value: T = serde_json::from_value(body)
        .map_err(|e| StoreError::Corrupt(format!("{} {}: {e}", item.pk, item.sk)))?;
    set_version(&mut value, item.version);
    Ok(value)
}
