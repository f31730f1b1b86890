//! The embedded store's stream: what DynamoDB Streams with an INSERT filter on the outbox prefix
//! gives the relay function in AWS, the local relay reads here. Every new item whose partition has
//! a streamed prefix is appended, in the same transaction as the item itself, to a table keyed by
//! a growing sequence number; a reader keeps its checkpoint in the store, so after a crash it
//! reads again from the first record it had not finished (at least once).

use std::sync::Arc;

use redb::{ReadableTable, TableDefinition};

use super::{EmbeddedStore, decode_item, key_part, store_error};
use crate::store::keys::OUTBOX_PREFIX;
use crate::store::{Item, StoreError};

/// `sequence -> pk \0 sk \0 stored value`.
pub(super) const STREAM: TableDefinition<u64, &[u8]> = TableDefinition::new("stream");
/// `reader -> the last sequence it finished`.
pub(super) const CHECKPOINTS: TableDefinition<&str, u64> = TableDefinition::new("checkpoints");

/// Whether new items of this partition go to the stream.
pub fn is_streamed(pk: &str) -> bool {
    pk.starts_with(OUTBOX_PREFIX)
}

pub(super) fn stream_record(key: &[u8], value: &[u8]) -> Vec<u8> {
    [key, b"\0", value].concat()
}

/// One record of the stream: the item as it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRecord {
    pub sequence: u64,
    pub item: Item,
}

impl EmbeddedStore {
    /// Up to `limit` records after `after`, oldest first.
    pub fn stream_after(&self, after: u64, limit: usize) -> Result<Vec<StreamRecord>, StoreError> {
        let context = "reading the stream";
        let txn = self
            .shared
            .db
            .begin_read()
            .map_err(|e| store_error(context, e))?;
        let table = txn
            .open_table(STREAM)
            .map_err(|e| store_error(context, e))?;
        let mut records = Vec::new();
        for entry in table
            .range(after.saturating_add(1)..)
            .map_err(|e| store_error(context, e))?
            .take(limit)
        {
            let (sequence, record) = entry.map_err(|e| store_error(context, e))?;
            let record = record.value();
            let mut parts = record.splitn(3, |b| *b == 0);
            let (Some(pk), Some(sk), Some(value)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(StoreError::Corrupt(format!(
                    "stream record {} is malformed",
                    sequence.value()
                )));
            };
            records.push(StreamRecord {
                sequence: sequence.value(),
                item: decode_item(key_part(pk)?, key_part(sk)?, value)?,
            });
        }
        Ok(records)
    }

    /// The last sequence appended (0 while the stream is empty and nothing was ever finished):
    /// a reader whose checkpoint is here has relayed everything.
    pub fn stream_head(&self, reader: &str) -> Result<u64, StoreError> {
        let context = "reading the stream";
        let txn = self
            .shared
            .db
            .begin_read()
            .map_err(|e| store_error(context, e))?;
        let table = txn
            .open_table(STREAM)
            .map_err(|e| store_error(context, e))?;
        let last = table
            .last()
            .map_err(|e| store_error(context, e))?
            .map(|(sequence, _)| sequence.value());
        match last {
            Some(sequence) => Ok(sequence),
            None => self.stream_checkpoint(reader),
        }
    }

    /// The last sequence `reader` finished (0 before its first).
    pub fn stream_checkpoint(&self, reader: &str) -> Result<u64, StoreError> {
        let context = "reading a stream checkpoint";
        let txn = self
            .shared
            .db
            .begin_read()
            .map_err(|e| store_error(context, e))?;
        let table = txn
            .open_table(CHECKPOINTS)
            .map_err(|e| store_error(context, e))?;
        Ok(table
            .get(reader)
            .map_err(|e| store_error(context, e))?
            .map_or(0, |v| v.value()))
    }

    /// Records that `reader` finished everything up to `sequence`, durably, and forgets the
    /// records before it (one reader: the local relay). The last record stays, so the sequence
    /// keeps growing from it and a number is never given twice.
    pub fn finish_stream(&self, reader: &str, sequence: u64) -> Result<(), StoreError> {
        let context = "saving a stream checkpoint";
        let txn = self
            .shared
            .db
            .begin_write()
            .map_err(|e| store_error(context, e))?;
        {
            let mut checkpoints = txn
                .open_table(CHECKPOINTS)
                .map_err(|e| store_error(context, e))?;
            checkpoints
                .insert(reader, sequence)
                .map_err(|e| store_error(context, e))?;
            let mut stream = txn
                .open_table(STREAM)
                .map_err(|e| store_error(context, e))?;
            stream
                .retain_in(..sequence, |_, _| false)
                .map_err(|e| store_error(context, e))?;
        }
        txn.commit().map_err(|e| store_error(context, e))
    }

    /// Woken after each commit that appended to the stream.
    pub fn stream_waker(self: &Arc<Self>) -> StreamWaker {
        StreamWaker(Arc::clone(self))
    }
}

/// Waits for the stream to grow (the local relay's wake-up).
#[derive(Clone)]
pub struct StreamWaker(Arc<EmbeddedStore>);

impl StreamWaker {
    pub async fn appended(&self) {
        self.0.shared.streamed.notified().await;
    }
}
