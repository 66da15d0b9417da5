//! `results.redb`: the finished spawned calls whose result a client has been given by id,
//! committed to disk before the answer leaves (redb, durability `Immediate`: synced). A
//! client is the HTTP API's (`GET /v1/calls/{id}`) or a guest that found the call with
//! `call-from-id` (the host's [`fnhost::ResultJournal`]).
//!
//! `results.ndjson` holds every retained result, but is written at a graceful shutdown only;
//! the journal holds what `kill -9` must not lose: a result a client could have seen. At start
//! both are read (the journal's calls are the newer), and at a graceful shutdown, once the
//! whole set is saved, the journal is emptied. Calls older than the retention window are
//! dropped from it as it grows, so it stays within the window's worth of reads.
//!
//! Invariant: `record` returns only once the call is on disk (a repeated record of a call
//! already there writes nothing), so an answer sent after it survives any crash of the
//! process; a journal that cannot be written fails the read that needed it (`internal`),
//! rather than answering with a result that a crash would take back.

use crate::ServerError;
use crate::state::results::{encode, restore};
use fnhost::RetainedCall;
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Call id → the call as `results.ndjson` writes a line of it.
const CALLS: TableDefinition<&str, &[u8]> = TableDefinition::new("calls");

/// After this many records, the calls past the retention window are dropped.
const PRUNE_EVERY: u64 = 4096;

/// The journal of results given out by id.
pub(crate) struct Journal {
    db: Database,
    path: PathBuf,
    retention: Duration,
    records: AtomicU64,
    /// After this many records, the calls past the window are dropped ([`PRUNE_EVERY`]).
    prune_every: u64,
}

impl Journal {
    /// Opens (or makes) the journal at `path`, keeping calls for `retention`.
    pub(crate) fn open(path: &Path, retention: Duration) -> Result<Journal, ServerError> {
        let db = Database::create(path).map_err(|error| store_error(path, error))?;
        Ok(Journal {
            db,
            path: path.to_owned(),
            retention,
            records: AtomicU64::new(0),
            prune_every: PRUNE_EVERY,
        })
    }

    /// Commits `call` to disk, unless it is there already.
    pub(crate) fn record(&self, call: &RetainedCall) -> Result<(), ServerError> {
        let failed = |error: &dyn std::fmt::Display| store_error(&self.path, error);
        let id = call.id.to_string();
        let line = encode(call).map_err(|error| failed(&error))?;
        let mut write = self.db.begin_write().map_err(|error| failed(&error))?;
        write
            .set_durability(Durability::Immediate)
            .map_err(|error| failed(&error))?;
        {
            let mut table = write.open_table(CALLS).map_err(|error| failed(&error))?;
            if table
                .get(id.as_str())
                .map_err(|error| failed(&error))?
                .is_some()
            {
                drop(table);
                write.abort().map_err(|error| failed(&error))?;
                return Ok(());
            }
            table
                .insert(id.as_str(), line.as_slice())
                .map_err(|error| failed(&error))?;
            let every = self.prune_every;
            if self.records.fetch_add(1, Ordering::Relaxed) % every == every - 1 {
                self.prune(&mut table).map_err(|error| failed(&error))?;
            }
        }
        write.commit().map_err(|error| failed(&error))
    }

    /// Drops the calls finished longer ago than the retention window.
    fn prune(&self, table: &mut redb::Table<&str, &[u8]>) -> Result<(), redb::Error> {
        let oldest = SystemTime::now()
            .checked_sub(self.retention)
            .unwrap_or(UNIX_EPOCH);
        table.retain(|_, line| restore(line).is_some_and(|call| call.finished >= oldest))?;
        Ok(())
    }

    /// Every call in the journal (unreadable entries skipped).
    pub(crate) fn load(&self) -> Result<Vec<RetainedCall>, ServerError> {
        let failed = |error: &dyn std::fmt::Display| store_error(&self.path, error);
        let read = self.db.begin_read().map_err(|error| failed(&error))?;
        let table = match read.open_table(CALLS) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(error) => return Err(failed(&error)),
        };
        let mut calls = Vec::new();
        for entry in table.iter().map_err(|error| failed(&error))? {
            let (_, line) = entry.map_err(|error| failed(&error))?;
            if let Some(call) = restore(line.value()) {
                calls.push(call);
            }
        }
        Ok(calls)
    }

    /// Empties the journal (every retained call was just saved whole).
    pub(crate) fn clear(&self) -> Result<(), ServerError> {
        let failed = |error: &dyn std::fmt::Display| store_error(&self.path, error);
        let write = self.db.begin_write().map_err(|error| failed(&error))?;
        write.delete_table(CALLS).map_err(|error| failed(&error))?;
        write.commit().map_err(|error| failed(&error))
    }
}

/// The host's journal of results guests read by id: the same store as the API's.
impl fnhost::ResultJournal for Journal {
    fn keep(&self, call: &RetainedCall) -> std::io::Result<()> {
        self.record(call).map_err(std::io::Error::other)
    }
}

/// The journal at `path` failed.
fn store_error(path: &Path, error: impl std::fmt::Display) -> ServerError {
    ServerError::io("use the results journal", path)(std::io::Error::other(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fnhost::{CallId, Error};

    fn call(result: Result<Vec<u8>, Error>, age: Duration) -> RetainedCall {
        RetainedCall {
            id: CallId::mint(),
            app: Some("shop".into()),
            function: "f".into(),
            finished: UNIX_EPOCH
                + Duration::from_millis(
                    (SystemTime::now() - age)
                        .duration_since(UNIX_EPOCH)
                        .unwrap()
                        .as_millis() as u64,
                ),
            result,
        }
    }

    #[test]
    fn recorded_calls_read_back_after_a_reopen_and_clear_empties_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.redb");
        let journal = Journal::open(&path, Duration::from_secs(3600)).unwrap();
        let (ok, failed) = (
            call(Ok(b"[1]".to_vec()), Duration::ZERO),
            call(Err(Error::User("no".into())), Duration::ZERO),
        );
        journal.record(&ok).unwrap();
        journal.record(&ok).unwrap();
        journal.record(&failed).unwrap();
        drop(journal);
        let journal = Journal::open(&path, Duration::from_secs(3600)).unwrap();
        let mut back = journal.load().unwrap();
        back.sort_by_key(|call| call.result.is_err());
        assert_eq!(back.len(), 2);
        assert_eq!((back[0].id, &back[0].result), (ok.id, &ok.result));
        assert_eq!((back[1].id, &back[1].result), (failed.id, &failed.result));
        assert_eq!(back[0].app.as_deref(), Some("shop"));
        journal.clear().unwrap();
        assert!(journal.load().unwrap().is_empty());
    }

    #[test]
    fn calls_past_the_window_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal =
            Journal::open(&dir.path().join("r.redb"), Duration::from_secs(60)).unwrap();
        journal.prune_every = 4;
        let old = call(Ok(b"1".to_vec()), Duration::from_secs(3600));
        journal.record(&old).unwrap();
        for _ in 0..3 {
            journal
                .record(&call(Ok(b"2".to_vec()), Duration::ZERO))
                .unwrap();
        }
        let kept = journal.load().unwrap();
        assert_eq!(kept.len(), 3);
        assert!(kept.iter().all(|call| call.id != old.id));
    }
}
