//! Storage. Two layers:
//! - [`ItemStore`] is the small seam the adapters implement (DynamoDB in AWS, the embedded store
//!   locally): get, conditional atomic writes, and key-range queries over one single-table key design.
//! - [`Store`] is the port the services use, shaped by the use cases (brands, channels, posts) and
//!   written once on top of any `ItemStore`, so both adapters share every key and every rule.

pub mod audit;
mod connections;
mod credentials;
pub mod cursor;
mod erasure;
pub mod hooks;
pub mod inbox;
pub mod keys;
mod metrics;
pub mod moderation;
pub mod outbox;
pub mod people;
mod repository;
mod sandbox;
pub mod webhooks;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use cursor::Cursor;
pub use metrics::MAX_COMPETITORS_PER_BRAND;
pub use repository::{
    AssetFilter, AssetPage, ListError, MAX_CHANNELS_PER_BRAND, PostFilter, PostPage, Store,
};

/// A secondary index. Each is sparse: an item appears in it only when it carries that index's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Index {
    /// Posts that have a publish time, ordered by it (calendar, time-filtered lists).
    #[serde(rename = "posts_by_time")]
    PostsByTime,
    /// Scheduled posts that need the publisher, across all brands, by when (sharded).
    #[serde(rename = "due")]
    Due,
}

impl Index {
    pub const ALL: [Index; 2] = [Index::PostsByTime, Index::Due];
}

/// An index entry: the item's partition and sort key within that index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexKey {
    pub pk: String,
    pub sk: String,
}

/// One stored item. `body` holds the entity; the other fields are the keys and bookkeeping every
/// adapter must store as separate attributes so it can query and condition on them.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub pk: String,
    pub sk: String,
    /// Starts at 1 on creation and grows by one on every write: the optimistic-concurrency token.
    pub version: u64,
    pub indexes: Vec<(Index, IndexKey)>,
    /// Unix seconds after which the item may be deleted by the store (DynamoDB TTL).
    pub expires_at: Option<i64>,
    pub body: serde_json::Value,
}

impl Item {
    pub fn index_key(&self, index: Index) -> Option<&IndexKey> {
        self.indexes
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, k)| k)
    }
}

/// What must be true of the stored item for a write to go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Write whatever is there.
    Any,
    /// Only if no item has this key.
    Absent,
    /// Only if the item exists with exactly this version.
    Version(u64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Put {
        item: Item,
        condition: Condition,
    },
    Delete {
        pk: String,
        sk: String,
        condition: Condition,
    },
}

impl Write {
    pub fn key(&self) -> (&str, &str) {
        match self {
            Write::Put { item, .. } => (&item.pk, &item.sk),
            Write::Delete { pk, sk, .. } => (pk, sk),
        }
    }

    pub fn condition(&self) -> Condition {
        match self {
            Write::Put { condition, .. } | Write::Delete { condition, .. } => *condition,
        }
    }
}

/// Which sort keys a query reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRange {
    Prefix(String),
    /// Both ends inclusive.
    Between(String, String),
}

/// Where a page of results starts: just after this item. In an index query `index_sk` is the
/// item's sort key in that index; the partition keys are never part of it (they come from the
/// caller's brand), which is what makes cursors unforgeable across brands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartAfter {
    pub sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_sk: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The table partition the items belong to. Without `index` it is the partition queried; with
    /// one it completes the start key. A query of an index that spans partitions (`Due`) passes
    /// an empty `pk` and no `after`.
    pub pk: String,
    /// Query this index, in the given index partition, instead of the table.
    pub index: Option<(Index, String)>,
    pub range: KeyRange,
    pub after: Option<StartAfter>,
    pub limit: usize,
    pub descending: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<Item>,
    /// Set when there may be more items after the last one returned.
    pub next: Option<StartAfter>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A write's condition failed: `index` is the position of the failing write in the batch.
    #[error("the item was changed by someone else (write {index} of the batch)")]
    Conflict { index: usize },
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    #[error("a stored item could not be read: {0}")]
    Corrupt(String),
    #[error("the request to the store was invalid: {0}")]
    Invalid(String),
}

/// The adapter seam.
#[async_trait]
pub trait ItemStore: Send + Sync + 'static {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError>;
    async fn query(&self, query: &Query) -> Result<Page, StoreError>;
    /// Writes in one call are atomic: all happen or none does. A call of a single put whose exact
    /// item (keys, version, body) is already stored succeeds without change, whatever its
    /// condition: that is a replay of a write that landed but whose answer was lost, and the new
    /// version in the item makes it impossible for anyone else's write to look the same.
    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError>;
}

/// The most writes one atomic call may carry (DynamoDB's TransactWriteItems limit).
pub const MAX_WRITES_PER_CALL: usize = 100;
