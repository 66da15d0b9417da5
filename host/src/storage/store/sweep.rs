//! What the store removes by itself: leftover ephemeral objects when it opens (their makers
//! died with the process before), and, every sweep interval, dict entries past their time to
//! live and queue partitions past their expiry.
//!
//! Reads already treat expired rows as absent; sweeping only gives their space back. A sweep
//! finds expired rows in a read transaction on its own thread and removes them through the
//! writer, which checks each again, so a row touched since it was found stays.

use crate::storage::error::StorageError;
use crate::storage::store::database::Db;
use crate::storage::store::tables::{
    self, ENTRIES, OBJECTS, ObjectMeta, PARTITIONS, now_ms, split_entry,
};
use crate::storage::store::wake::{Change, PartitionKey};
use crate::storage::store::writer::Writer;
use redb::{Database, ReadableTable};
use std::sync::mpsc;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// The most rows one sweep removes per transaction.
const SWEEP_CHUNK: usize = 1000;

/// Makes the tables and removes the ephemeral objects left by a process that died.
pub(crate) fn prepare(db: &Database) -> Result<(), StorageError> {
    let txn = db.begin_write()?;
    tables::create_all(&txn)?;
    let leftovers: Vec<String> = {
        let objects = txn.open_table(OBJECTS)?;
        let mut found = Vec::new();
        for row in objects.iter()? {
            let (id, meta) = row?;
            if ObjectMeta::decode(meta.value()).is_ok_and(|meta| meta.ephemeral) {
                found.push(id.value().to_owned());
            }
        }
        found
    };
    for id in &leftovers {
        tables::remove_object(&txn, id)?;
    }
    txn.commit()?;
    if !leftovers.is_empty() {
        tracing::info!(
            count = leftovers.len(),
            "removed ephemeral objects left by a previous run"
        );
    }
    Ok(())
}

/// The sweeping thread; dropping this stops it.
pub(crate) struct Sweeper {
    _stop: mpsc::Sender<()>,
}

impl Sweeper {
    /// Starts sweeping `db` every `interval`, removing through `writer` dict entries idle for
    /// `ttl` and expired partitions.
    pub(crate) fn start(
        db: &Arc<Db>,
        writer: &Writer,
        interval: Duration,
        ttl: Duration,
    ) -> Result<Sweeper, StorageError> {
        let (stop, stopped) = mpsc::channel::<()>();
        let (db, writer) = (Arc::downgrade(db), writer.clone());
        std::thread::Builder::new()
            .name("fnhost-store-sweep".into())
            .spawn(move || {
                // Ends when the store drops its end (or the store is gone).
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    if let Err(error) = sweep(&db, &writer, ttl) {
                        tracing::warn!(%error, "sweeping the store failed");
                    }
                }
            })
            .map_err(|error| {
                StorageError::Unavailable(format!("cannot start the store's sweeper: {error}"))
            })?;
        Ok(Sweeper { _stop: stop })
    }
}

/// One sweep: expired dict entries, then expired queue partitions.
fn sweep(db: &Weak<Db>, writer: &Writer, ttl: Duration) -> Result<(), StorageError> {
    let Some(db) = db.upgrade() else {
        return Ok(());
    };
    let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
    let now = now_ms();
    let (entries, partitions) = {
        let txn = db.begin_read()?;
        let mut entries = Vec::new();
        for row in txn.open_table(ENTRIES)?.iter()? {
            let (key, row) = row?;
            if split_entry(row.value()).0.saturating_add(ttl_ms) <= now {
                let (id, key) = key.value();
                entries.push((id.to_owned(), key.to_vec()));
            }
        }
        let mut partitions = Vec::new();
        for row in txn.open_table(PARTITIONS)?.iter()? {
            let (key, row) = row?;
            if row.value().2 <= now {
                let (queue, partition) = key.value();
                partitions.push(PartitionKey {
                    queue: queue.to_owned(),
                    partition: partition.to_owned(),
                });
            }
        }
        (entries, partitions)
    };
    for chunk in entries.chunks(SWEEP_CHUNK) {
        let chunk = chunk.to_vec();
        writer.write_detached(move |txn, _| {
            for (id, key) in chunk {
                let mut table = txn.open_table(ENTRIES)?;
                let expired = table
                    .get((id.as_str(), key.as_slice()))?
                    .is_some_and(|row| {
                        split_entry(row.value()).0.saturating_add(ttl_ms) <= now_ms()
                    });
                if expired {
                    table.remove((id.as_str(), key.as_slice()))?;
                    drop(table);
                    tables::add_count(txn, &id, -1)?;
                }
            }
            Ok(Ok(()))
        });
    }
    for chunk in partitions.chunks(SWEEP_CHUNK) {
        let chunk = chunk.to_vec();
        writer.write_detached(move |txn, changes| {
            for key in chunk {
                let expired = txn
                    .open_table(PARTITIONS)?
                    .get((key.queue.as_str(), key.partition.as_str()))?
                    .is_some_and(|row| row.value().2 <= now_ms());
                if expired && tables::clear_partition(txn, &key.queue, &key.partition)? {
                    tables::add_count(txn, &key.queue, -1)?;
                    changes.push(Change::Partition(key));
                }
            }
            Ok(Ok(()))
        });
    }
    Ok(())
}
