//! The embedded store for the tests: a fresh store file per test, in a folder removed with the store.

use std::sync::Arc;

use async_trait::async_trait;
use palinsesto::adapters::embedded::EmbeddedStore;
use palinsesto::store::{Item, ItemStore, Page, Query, StoreError, Write};
use tempfile::TempDir;

/// A store on a new, empty file of its own.
pub async fn fresh_store() -> Arc<dyn ItemStore> {
    let dir = tempfile::tempdir().expect("a temp dir for the store file");
    let store = EmbeddedStore::open(&dir.path().join("store.redb")).expect("the store opens");
    Arc::new(InTempDir { store, _dir: dir })
}

/// Keeps the folder for as long as the store lives. Fields drop in order, so the store closes
/// its file before the folder goes.
struct InTempDir {
    store: EmbeddedStore,
    _dir: TempDir,
}

#[async_trait]
impl ItemStore for InTempDir {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        self.store.get(pk, sk).await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.store.query(query).await
    }

    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.store.write(writes).await
    }
}
