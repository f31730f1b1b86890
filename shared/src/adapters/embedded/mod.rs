//! The embedded store: the local process's [`ItemStore`], one crash-safe redb file with the same key
//! design as DynamoDB. One writer thread commits concurrent write calls together (group commit).

use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;

use async_trait::async_trait;
use redb::{Database, Durability, ReadableTable, Table, TableDefinition};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::store::keys::table;
use crate::store::{
    Condition, Index, IndexKey, Item, ItemStore, KeyRange, MAX_WRITES_PER_CALL, Page, Query,
    StartAfter, StoreError, Write,
};

// Keys are single byte strings, `pk \0 sk` for items and `index_pk \0 index_sk \0 sk \0 pk` for
// index entries, rather than redb tuples. Both order the same way, but with plain bytes every
// bound (a partition's end is `pk \x01`, a prefix's end its last byte plus one, "strictly after x"
// is `x \0`) is one byte string, so ascending, descending and start-after ranges are all a single
// `lo..hi` scan. The price is that no key part may contain NUL; the key design never produces one
// and such a write or query is refused as invalid.
const ITEMS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("items");

mod stream;
use stream::{CHECKPOINTS, STREAM, stream_record};
pub use stream::{StreamRecord, StreamWaker, is_streamed};

fn index_table(index: Index) -> TableDefinition<'static, &'static [u8], ()> {
    TableDefinition::new(table::index(index).0)
}

/// Enough to answer every waiting caller within one commit at a few thousand writes per second,
/// while keeping one transaction (and the wait of its first caller) bounded.
const MAX_CALLS_PER_COMMIT: usize = 256;

/// How an item is stored. The body comes last so the writer can read the version and index keys of
/// the item it replaces ([`StoredHead`]) without building the body.
#[derive(Serialize)]
struct StoredRef<'a> {
    v: u64,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    idx: &'a [(Index, IndexKey)],
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<i64>,
    body: &'a serde_json::Value,
}

#[derive(Deserialize)]
struct Stored {
    v: u64,
    #[serde(default)]
    idx: Vec<(Index, IndexKey)>,
    #[serde(default)]
    ttl: Option<i64>,
    body: serde_json::Value,
}

#[derive(Deserialize)]
struct StoredHead {
    v: u64,
    #[serde(default)]
    idx: Vec<(Index, IndexKey)>,
}

/// A write checked and encoded by the caller's task, so the single writer thread only does redb work.
struct PreparedWrite {
    pk: String,
    sk: String,
    key: Vec<u8>,
    condition: Condition,
    /// `None` deletes.
    put: Option<PreparedPut>,
}

struct PreparedPut {
    value: Vec<u8>,
    index_entries: Vec<(Index, Vec<u8>)>,
}

struct Call {
    writes: Vec<PreparedWrite>,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

enum Job {
    Write(Call),
    /// Commit everything queued before this, then stop.
    Stop,
}

/// What the store and its writer thread share.
struct Shared {
    db: Database,
    commits: AtomicU64,
    /// Woken after a commit that appended to the stream (the local relay waits on it).
    streamed: tokio::sync::Notify,
    /// Held by unit tests to keep the writer from starting a batch until every call is queued.
    #[cfg(test)]
    gate: Mutex<()>,
}

pub struct EmbeddedStore {
    shared: Arc<Shared>,
    jobs: mpsc::Sender<Job>,
    closed: AtomicBool,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl EmbeddedStore {
    /// Opens the store file, creating it if needed. After a crash redb repairs the file on open, so
    /// every call that was answered is there and nothing half-written is.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let context = format!("opening the store file {}", path.display());
        let db = Database::create(path).map_err(|e| store_error(&context, e))?;
        // Create every table up front so readers never meet a missing one.
        let txn = db.begin_write().map_err(|e| store_error(&context, e))?;
        txn.open_table(ITEMS)
            .map_err(|e| store_error(&context, e))?;
        txn.open_table(STREAM)
            .map_err(|e| store_error(&context, e))?;
        txn.open_table(CHECKPOINTS)
            .map_err(|e| store_error(&context, e))?;
        for index in Index::ALL {
            txn.open_table(index_table(index))
                .map_err(|e| store_error(&context, e))?;
        }
        txn.commit().map_err(|e| store_error(&context, e))?;

        let shared = Arc::new(Shared {
            db,
            commits: AtomicU64::new(0),
            streamed: tokio::sync::Notify::new(),
            #[cfg(test)]
            gate: Mutex::new(()),
        });
        let (jobs, queue) = mpsc::channel();
        let writer_shared = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name("embedded-store-writer".into())
            .spawn(move || run_writer(&writer_shared, &queue))
            .map_err(|e| StoreError::Unavailable(format!("starting the store's writer: {e}")))?;
        Ok(Self {
            shared,
            jobs,
            closed: AtomicBool::new(false),
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Stops taking writes and returns once every write queued before it is durably committed, so
    /// a Ctrl-C loses nothing that was accepted. It blocks for at most one commit. Reads keep
    /// working; later writes are `Unavailable`.
    pub fn shutdown(&self) {
        self.closed.store(true, Ordering::SeqCst);
        // An error only means the writer has stopped already.
        let _ = self.jobs.send(Job::Stop);
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(writer) = writer
            && writer.join().is_err()
        {
            tracing::error!("the embedded store's writer panicked");
        }
    }

    /// How many write transactions have been committed since the store was opened; with
    /// concurrent writers it stays well below the number of write calls.
    pub fn commits(&self) -> u64 {
        self.shared.commits.load(Ordering::Relaxed)
    }

    fn submit(
        &self,
        writes: Vec<PreparedWrite>,
    ) -> Result<oneshot::Receiver<Result<(), StoreError>>, StoreError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(shut_down());
        }
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Write(Call { writes, reply }))
            .map_err(|_| shut_down())?;
        Ok(answer)
    }

    fn query_now(&self, query: &Query) -> Result<Page, StoreError> {
        let (lo, hi) = bounds(query)?;
        if query.limit == 0 || lo >= hi {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        }
        let context = "reading a page";
        let txn = self
            .shared
            .db
            .begin_read()
            .map_err(|e| store_error(context, e))?;
        let items = txn.open_table(ITEMS).map_err(|e| store_error(context, e))?;
        let range = (
            Bound::Included(lo.as_slice()),
            Bound::Excluded(hi.as_slice()),
        );
        match &query.index {
            None => {
                let entries = items
                    .range::<&[u8]>(range)
                    .map_err(|e| store_error(context, e))?;
                let read = |(key, value): Entry<&'static [u8]>| {
                    let sk = key_part(key.value().get(query.pk.len() + 1..).unwrap_or_default())?;
                    let item = decode_item(&query.pk, sk, value.value())?;
                    let after = StartAfter {
                        sk: item.sk.clone(),
                        index_sk: None,
                    };
                    Ok((item, after))
                };
                if query.descending {
                    page(entries.rev(), query.limit, read)
                } else {
                    page(entries, query.limit, read)
                }
            }
            Some((index, _)) => {
                let entries = txn
                    .open_table(index_table(*index))
                    .map_err(|e| store_error(context, e))?
                    .range::<&[u8]>(range)
                    .map_err(|e| store_error(context, e))?;
                let read = |(key, _): Entry<()>| {
                    let key = key.value();
                    let mut parts = key.split(|b| *b == 0).skip(1).map(key_part);
                    let (Some(index_sk), Some(sk), Some(pk)) =
                        (parts.next(), parts.next(), parts.next())
                    else {
                        return Err(StoreError::Corrupt(format!(
                            "index entry {:?} is malformed",
                            String::from_utf8_lossy(key)
                        )));
                    };
                    let (index_sk, sk, pk) = (index_sk?, sk?, pk?);
                    let stored = items
                        .get(item_key(pk, sk).as_slice())
                        .map_err(|e| store_error(context, e))?
                        .ok_or_else(|| {
                            StoreError::Corrupt(format!(
                                "index entry {index_sk} points at the missing item {pk} {sk}"
                            ))
                        })?;
                    let item = decode_item(pk, sk, stored.value())?;
                    let after = StartAfter {
                        sk: sk.to_owned(),
                        index_sk: Some(index_sk.to_owned()),
                    };
                    Ok((item, after))
                };
                if query.descending {
                    page(entries.rev(), query.limit, read)
                } else {
                    page(entries, query.limit, read)
                }
            }
        }
    }
}

impl Drop for EmbeddedStore {
    // Waiting for the writer means the last queued writes are committed and the file is closed
    // when the store is gone, so it can be reopened at once.
    fn drop(&mut self) {
        self.shutdown();
    }
}

// Reads run inline on the caller's task rather than through `spawn_blocking`: a redb read of a
// cached page costs a few microseconds, less than the hop to a blocking thread, and read
// transactions never wait for the writer.
#[async_trait]
impl ItemStore for EmbeddedStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        check_key_part("pk", pk)?;
        check_key_part("sk", sk)?;
        let context = "reading an item";
        let txn = self
            .shared
            .db
            .begin_read()
            .map_err(|e| store_error(context, e))?;
        let items = txn.open_table(ITEMS).map_err(|e| store_error(context, e))?;
        let stored = items
            .get(item_key(pk, sk).as_slice())
            .map_err(|e| store_error(context, e))?;
        stored.map(|s| decode_item(pk, sk, s.value())).transpose()
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.query_now(query)
    }

    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let answer = self.submit(prepare(writes)?)?;
        answer.await.map_err(|_| {
            StoreError::Unavailable(
                "the store's writer stopped before answering; the write may not have been saved"
                    .into(),
            )
        })?
    }
}

fn shut_down() -> StoreError {
    StoreError::Unavailable("the embedded store has been shut down".into())
}

fn store_error(context: &str, e: impl Into<redb::Error>) -> StoreError {
    match e.into() {
        redb::Error::Corrupted(m) => StoreError::Corrupt(format!("{context}: {m}")),
        e => StoreError::Unavailable(format!("{context}: {e}")),
    }
}

fn check_key_part(name: &str, value: &str) -> Result<(), StoreError> {
    if value.contains('\0') {
        return Err(StoreError::Invalid(format!(
            "{name} {value:?} contains a NUL character"
        )));
    }
    Ok(())
}

fn key_part(bytes: &[u8]) -> Result<&str, StoreError> {
    std::str::from_utf8(bytes)
        .map_err(|_| StoreError::Corrupt("a stored key is not valid UTF-8".into()))
}

fn item_key(pk: &str, sk: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(pk.len() + 1 + sk.len());
    key.extend_from_slice(pk.as_bytes());
    key.push(0);
    key.extend_from_slice(sk.as_bytes());
    key
}

fn index_entry_key(index_key: &IndexKey, pk: &str, sk: &str) -> Vec<u8> {
    let mut key = item_key(&index_key.pk, &index_key.sk);
    key.push(0);
    key.extend_from_slice(sk.as_bytes());
    key.push(0);
    key.extend_from_slice(pk.as_bytes());
    key
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// One entry of a read-only scan: its key and value, borrowed from the read transaction.
type Entry<V> = (
    redb::AccessGuard<'static, &'static [u8]>,
    redb::AccessGuard<'static, V>,
);

/// The scan `[lo, hi)` of a query, as byte keys. See the note on key encoding at the top.
fn bounds(query: &Query) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
    check_key_part("pk", &query.pk)?;
    let (from, to) = match &query.range {
        KeyRange::Prefix(p) => (p, p),
        KeyRange::Between(a, b) => (a, b),
    };
    check_key_part("range start", from)?;
    check_key_part("range end", to)?;
    let partition = match &query.index {
        Some((_, index_pk)) => index_pk,
        None => &query.pk,
    };
    check_key_part("index pk", partition)?;
    let base = concat(&[partition.as_bytes(), b"\0"]);
    let partition_end = concat(&[partition.as_bytes(), b"\x01"]);
    let mut lo = concat(&[&base, from.as_bytes()]);
    let mut hi = match &query.range {
        // Every key with the prefix sorts below the prefix with its last byte raised by one (UTF-8
        // never has a 0xFF byte, so that cannot overflow).
        KeyRange::Prefix(p) => match p.as_bytes().split_last() {
            Some((last, init)) => concat(&[&base, init, &[last + 1]]),
            None => partition_end,
        },
        // A table key ends at its sort key; an index entry continues with `\0 sk \0 pk`, so it
        // ends below `\x01`.
        KeyRange::Between(_, b) if query.index.is_some() => concat(&[&base, b.as_bytes(), b"\x01"]),
        KeyRange::Between(_, b) => concat(&[&base, b.as_bytes(), b"\0"]),
    };
    if let Some(after) = &query.after {
        check_key_part("start sk", &after.sk)?;
        let (asc, desc) = match &query.index {
            None => (
                concat(&[&base, after.sk.as_bytes(), b"\0"]),
                concat(&[&base, after.sk.as_bytes()]),
            ),
            Some(_) => {
                let index_sk = after.index_sk.as_deref().ok_or_else(|| {
                    StoreError::Invalid("an index query's start key needs its index sk".into())
                })?;
                check_key_part("start index sk", index_sk)?;
                let entry = concat(&[&base, index_sk.as_bytes(), b"\0", after.sk.as_bytes()]);
                (concat(&[&entry, b"\x01"]), concat(&[&entry, b"\0"]))
            }
        };
        if query.descending {
            hi = hi.min(desc);
        } else {
            lo = lo.max(asc);
        }
    }
    Ok((lo, hi))
}

/// Reads up to `limit` entries and looks at one more to learn whether another page follows.
fn page<T>(
    entries: impl Iterator<Item = Result<T, redb::StorageError>>,
    limit: usize,
    mut read: impl FnMut(T) -> Result<(Item, StartAfter), StoreError>,
) -> Result<Page, StoreError> {
    let mut items = Vec::new();
    let mut last = None;
    for entry in entries {
        let entry = entry.map_err(|e| store_error("reading a page", e))?;
        if items.len() == limit {
            return Ok(Page { items, next: last });
        }
        let (item, after) = read(entry)?;
        items.push(item);
        last = Some(after);
    }
    Ok(Page { items, next: None })
}

fn decode_item(pk: &str, sk: &str, bytes: &[u8]) -> Result<Item, StoreError> {
    let stored: Stored = serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt(format!("item {pk} {sk}: {e}")))?;
    Ok(Item {
        pk: pk.to_owned(),
        sk: sk.to_owned(),
        version: stored.v,
        indexes: stored.idx,
        expires_at: stored.ttl,
        body: stored.body,
    })
}

/// Refuses what DynamoDB's TransactWriteItems would refuse, and encodes each write.
fn prepare(writes: Vec<Write>) -> Result<Vec<PreparedWrite>, StoreError> {
    if writes.is_empty() {
        return Err(StoreError::Invalid(
            "a write call needs at least one write".into(),
        ));
    }
    if writes.len() > MAX_WRITES_PER_CALL {
        return Err(StoreError::Invalid(format!(
            "a write call may carry at most {MAX_WRITES_PER_CALL} writes, not {}",
            writes.len()
        )));
    }
    let mut prepared: Vec<PreparedWrite> = Vec::with_capacity(writes.len());
    for write in writes {
        let (pk, sk) = write.key();
        check_key_part("pk", pk)?;
        check_key_part("sk", sk)?;
        let key = item_key(pk, sk);
        if prepared.iter().any(|p| p.key == key) {
            return Err(StoreError::Invalid(format!(
                "a write call touches {pk} {sk} more than once"
            )));
        }
        let condition = write.condition();
        let (pk, sk, put) = match write {
            Write::Put { item, .. } => {
                let mut index_entries = Vec::with_capacity(item.indexes.len());
                for (index, index_key) in &item.indexes {
                    check_key_part("index pk", &index_key.pk)?;
                    check_key_part("index sk", &index_key.sk)?;
                    if index_entries.iter().any(|(i, _)| i == index) {
                        return Err(StoreError::Invalid(format!(
                            "item {} {} has two keys for index {index:?}",
                            item.pk, item.sk
                        )));
                    }
                    index_entries.push((*index, index_entry_key(index_key, &item.pk, &item.sk)));
                }
                let value = serde_json::to_vec(&StoredRef {
                    v: item.version,
                    idx: &item.indexes,
                    ttl: item.expires_at,
                    body: &item.body,
                })
                .map_err(|e| StoreError::Invalid(format!("item {} {}: {e}", item.pk, item.sk)))?;
                let put = PreparedPut {
                    value,
                    index_entries,
                };
                (item.pk, item.sk, Some(put))
            }
            Write::Delete { pk, sk, .. } => (pk, sk, None),
        };
        prepared.push(PreparedWrite {
            pk,
            sk,
            key,
            condition,
            put,
        });
    }
    Ok(prepared)
}

fn run_writer(shared: &Shared, queue: &mpsc::Receiver<Job>) {
    // Ends when every sender is gone, which cannot happen before `Drop` has sent `Stop`.
    while let Ok(first) = queue.recv() {
        #[cfg(test)]
        let _gate = shared.gate.lock().unwrap_or_else(PoisonError::into_inner);
        let mut calls = Vec::new();
        let mut stop = false;
        match first {
            Job::Write(call) => calls.push(call),
            Job::Stop => stop = true,
        }
        while !stop && calls.len() < MAX_CALLS_PER_COMMIT {
            match queue.try_recv() {
                Ok(Job::Write(call)) => calls.push(call),
                Ok(Job::Stop) => stop = true,
                Err(_) => break,
            }
        }
        if !calls.is_empty() {
            commit_batch(shared, calls);
        }
        if stop {
            return;
        }
    }
}

/// Applies every call in one transaction and commits once; answers go out only after the commit.
fn commit_batch(shared: &Shared, calls: Vec<Call>) {
    match apply_and_commit(&shared.db, &calls) {
        Ok((outcomes, appended)) => {
            shared.commits.fetch_add(1, Ordering::Relaxed);
            if appended {
                shared.streamed.notify_one();
            }
            for (call, outcome) in calls.into_iter().zip(outcomes) {
                // A caller that gave up waiting is no reason to stop answering the others.
                let _ = call.reply.send(outcome);
            }
        }
        Err(failure) => {
            tracing::error!(error = %failure, calls = calls.len(), "the embedded store could not commit a batch of writes");
            for call in calls {
                let _ = call
                    .reply
                    .send(Err(StoreError::Unavailable(failure.to_string())));
            }
        }
    }
}

/// Why a call did not go ahead: refused alone, or a storage failure that sinks the whole batch.
enum CallError {
    Refused(StoreError),
    Storage(StoreError),
}

struct WriteTables<'txn> {
    items: Table<'txn, &'static [u8], &'static [u8]>,
    indexes: Vec<(Index, Table<'txn, &'static [u8], ()>)>,
    /// New items of the streamed prefixes, in commit order (`stream`).
    stream: Table<'txn, u64, &'static [u8]>,
    appended: bool,
}

/// Applies the calls in one transaction; returns each call's outcome and whether anything was
/// appended to the stream.
fn apply_and_commit(
    db: &Database,
    calls: &[Call],
) -> Result<(Vec<Result<(), StoreError>>, bool), StoreError> {
    let context = "committing writes";
    let mut txn = db.begin_write().map_err(|e| store_error(context, e))?;
    // The default, stated because the contract depends on it: commit returns after fsync.
    txn.set_durability(Durability::Immediate);
    let mut outcomes = Vec::with_capacity(calls.len());
    let appended;
    {
        let items = txn.open_table(ITEMS).map_err(|e| store_error(context, e))?;
        let mut indexes = Vec::with_capacity(Index::ALL.len());
        for index in Index::ALL {
            let table = txn
                .open_table(index_table(index))
                .map_err(|e| store_error(context, e))?;
            indexes.push((index, table));
        }
        let stream = txn
            .open_table(STREAM)
            .map_err(|e| store_error(context, e))?;
        let mut tables = WriteTables {
            items,
            indexes,
            stream,
            appended: false,
        };
        for call in calls {
            match apply_call(&mut tables, &call.writes) {
                Ok(()) => outcomes.push(Ok(())),
                Err(CallError::Refused(e)) => outcomes.push(Err(e)),
                // Dropping the transaction uncommitted rolls back every call in the batch.
                Err(CallError::Storage(e)) => return Err(e),
            }
        }
        appended = tables.appended;
    }
    txn.commit().map_err(|e| store_error(context, e))?;
    Ok((outcomes, appended))
}

fn apply_call(tables: &mut WriteTables<'_>, writes: &[PreparedWrite]) -> Result<(), CallError> {
    let storage = |e: redb::StorageError| CallError::Storage(store_error("applying a write", e));
    // Every condition is checked before anything is written, so a refused call changes nothing;
    // the reads see the calls applied before this one in the same batch.
    let mut replaced = Vec::with_capacity(writes.len());
    for (index, write) in writes.iter().enumerate() {
        let mut replay = false;
        let current = match tables.items.get(write.key.as_slice()).map_err(storage)? {
            Some(stored) => {
                // The shared replay rule (see `ItemStore::write`): a single put whose exact item
                // is already stored is a success that changes nothing.
                replay = writes.len() == 1
                    && write
                        .put
                        .as_ref()
                        .is_some_and(|p| p.value.as_slice() == stored.value());
                Some(
                    serde_json::from_slice::<StoredHead>(stored.value()).map_err(|e| {
                        CallError::Refused(StoreError::Corrupt(format!(
                            "item {} {}: {e}",
                            write.pk, write.sk
                        )))
                    })?,
                )
            }
            None => None,
        };
        let holds = match (write.condition, &current) {
            (Condition::Any, _) | (Condition::Absent, None) => true,
            (Condition::Absent, Some(_)) | (Condition::Version(_), None) => false,
            (Condition::Version(v), Some(head)) => head.v == v,
        };
        if !holds && !replay {
            return Err(CallError::Refused(StoreError::Conflict { index }));
        }
        replaced.push(current);
    }
    for (write, current) in writes.iter().zip(replaced) {
        for (index, index_key) in current.iter().flat_map(|head| &head.idx) {
            let entry = index_entry_key(index_key, &write.pk, &write.sk);
            index_table_mut(tables, *index)?
                .remove(entry.as_slice())
                .map_err(storage)?;
        }
        match &write.put {
            Some(put) => {
                // Like a DynamoDB stream with an INSERT filter: new items of a streamed prefix.
                if current.is_none() && is_streamed(&write.pk) {
                    let next = match tables.stream.last().map_err(storage)? {
                        Some((seq, _)) => seq.value() + 1,
                        None => 1,
                    };
                    let record = stream_record(&write.key, &put.value);
                    tables
                        .stream
                        .insert(next, record.as_slice())
                        .map_err(storage)?;
                    tables.appended = true;
                }
                tables
                    .items
                    .insert(write.key.as_slice(), put.value.as_slice())
                    .map_err(storage)?;
                for (index, entry) in &put.index_entries {
                    index_table_mut(tables, *index)?
                        .insert(entry.as_slice(), ())
                        .map_err(storage)?;
                }
            }
            None => {
                tables.items.remove(write.key.as_slice()).map_err(storage)?;
            }
        }
    }
    Ok(())
}

fn index_table_mut<'a, 'txn>(
    tables: &'a mut WriteTables<'txn>,
    index: Index,
) -> Result<&'a mut Table<'txn, &'static [u8], ()>, CallError> {
    tables
        .indexes
        .iter_mut()
        .find(|(i, _)| *i == index)
        .map(|(_, table)| table)
        .ok_or_else(|| {
            CallError::Storage(StoreError::Unavailable(format!(
                "the index table for {index:?} is not open"
            )))
        })
}

#[cfg(test)]
mod tests;
