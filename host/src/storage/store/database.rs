//! The store's redb database, opened again after a disk error.
//!
//! redb latches an I/O error (a full disk, a failing device): from then on every transaction of
//! that `Database` fails with `PreviousIo` until it is closed and opened again, which brings it
//! back to its last commit. Without this module a host whose disk filled once would answer
//! `unavailable` for every dict, queue and secret until it was restarted, long after the disk
//! had room again.
//!
//! Invariant: a failed database is replaced only by opening its file again, which redb refuses
//! while any transaction of the failed one is still alive (its lock on the file), so two
//! `Database`s never share the file; until the open succeeds every operation is `unavailable`
//! with the reason, and the next one tries again. Nothing committed is lost: redb opens at
//! its last commit.

use crate::storage::error::StorageError;
use redb::{Database, ReadTransaction, ReadableDatabase};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

/// The open database, and how to open it again.
pub(crate) struct Db {
    /// `None` between closing a failed database and opening it again.
    current: RwLock<Option<Arc<Database>>>,
    /// Whether `current` failed on an I/O error and must be opened again.
    failed: AtomicBool,
    /// The file and the cache size it was opened with; `None` for a store in memory, which
    /// cannot be opened again (and does no I/O).
    reopen: Option<(PathBuf, usize)>,
}

impl Db {
    /// `database`, opened from `path` (with `cache_bytes` of cache) when it is a file.
    pub(crate) fn new(database: Database, reopen: Option<(PathBuf, usize)>) -> Db {
        Db {
            current: RwLock::new(Some(Arc::new(database))),
            failed: AtomicBool::new(false),
            reopen,
        }
    }

    /// Opens the file `path` as a store database.
    pub(crate) fn open(
        path: &std::path::Path,
        cache_bytes: usize,
    ) -> Result<Database, redb::DatabaseError> {
        redb::Builder::new()
            .set_cache_size(cache_bytes)
            .create(path)
    }

    /// The database, opened again first if it failed.
    pub(crate) fn database(&self) -> Result<Arc<Database>, StorageError> {
        if !self.failed.load(Ordering::Acquire) {
            let current = self
                .current
                .read()
                .unwrap_or_else(|poison| poison.into_inner());
            if let Some(database) = current.as_ref() {
                return Ok(Arc::clone(database));
            }
        }
        self.reopen()
    }

    /// A read transaction of the database.
    pub(crate) fn begin_read(&self) -> Result<ReadTransaction, StorageError> {
        self.database()?.begin_read().map_err(|error| {
            let error = redb::Error::from(error);
            self.note(&error);
            StorageError::from(error)
        })
    }

    /// Notes a failure of the database: one of its disk leaves it to be opened again.
    pub(crate) fn note(&self, error: &redb::Error) {
        let latched = matches!(error, redb::Error::Io(_) | redb::Error::PreviousIo);
        if latched && self.reopen.is_some() && !self.failed.swap(true, Ordering::AcqRel) {
            tracing::warn!(%error, "the store failed on its disk; it is opened again");
        }
    }

    /// Closes the failed database and opens its file again.
    fn reopen(&self) -> Result<Arc<Database>, StorageError> {
        let mut current = self
            .current
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        if !self.failed.load(Ordering::Acquire)
            && let Some(database) = current.as_ref()
        {
            // Another caller opened it while this one waited.
            return Ok(Arc::clone(database));
        }
        let Some((path, cache_bytes)) = &self.reopen else {
            return Err(StorageError::Unavailable(
                "the store in memory failed".into(),
            ));
        };
        // Closes the failed one, unless a transaction of it is still alive: then the open
        // below is refused, and a later call tries again.
        drop(current.take());
        let database = Db::open(path, *cache_bytes).map_err(|error| {
            StorageError::Unavailable(format!(
                "the store {} failed on its disk and cannot be opened again yet: {error}",
                path.display()
            ))
        })?;
        let database = Arc::new(database);
        *current = Some(Arc::clone(&database));
        self.failed.store(false, Ordering::Release);
        tracing::info!(path = %path.display(), "the store was opened again after a disk error");
        Ok(database)
    }
}
