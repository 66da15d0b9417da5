//! Where volumes' directories live: `volumes/<id>` in the state directory, or, for a store in
//! memory, in a temporary directory removed with the store.
//!
//! Invariant: a directory here belongs to a volume that has a row in the store. A volume's
//! directory is removed after its row, and a directory with no row (a crash came between the
//! two) is removed when the store opens; without that, a removed volume's files would stay on
//! disk for ever.

use crate::storage::error::StorageError;
use crate::storage::store::tables::OBJECTS;
use redb::{Database, ReadableDatabase, ReadableTable};
use std::path::{Path, PathBuf};

/// The directory of volumes in the state directory.
const VOLUMES_DIR: &str = "volumes";

/// The directory that holds each volume's directory.
pub(crate) enum VolumesRoot {
    Dir(PathBuf),
    Temporary(tempfile::TempDir),
}

impl VolumesRoot {
    /// `volumes/` in the state directory `state_dir`.
    pub(crate) fn in_state_dir(state_dir: &Path) -> VolumesRoot {
        VolumesRoot::Dir(state_dir.join(VOLUMES_DIR))
    }

    /// A new temporary directory, removed when this is dropped.
    pub(crate) fn temporary() -> Result<VolumesRoot, StorageError> {
        let dir = tempfile::Builder::new()
            .prefix("fnhost-volumes-")
            .tempdir()
            .map_err(|error| {
                StorageError::Unavailable(format!("cannot make a directory for volumes: {error}"))
            })?;
        Ok(VolumesRoot::Temporary(dir))
    }

    fn path(&self) -> &Path {
        match self {
            VolumesRoot::Dir(dir) => dir,
            VolumesRoot::Temporary(dir) => dir.path(),
        }
    }

    /// The directory of the volume whose id is `id`.
    pub(crate) fn dir_of(&self, id: &str) -> PathBuf {
        self.path().join(id)
    }

    /// Removes the directory of the volume `id`; a failure is logged (the next open tries
    /// again).
    pub(crate) fn remove(&self, id: &str) {
        remove_dir(&self.dir_of(id));
    }

    /// Removes the directories that belong to no volume of `db`.
    pub(crate) fn remove_orphans(&self, db: &Database) -> Result<(), StorageError> {
        let Ok(entries) = std::fs::read_dir(self.path()) else {
            return Ok(());
        };
        let txn = db.begin_read().map_err(redb::Error::from)?;
        let objects = txn.open_table(OBJECTS)?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(id) = name.to_str() else { continue };
            if objects.get(id)?.is_none() {
                tracing::info!(id, "removing the directory of a removed volume");
                remove_dir(&entry.path());
            }
        }
        Ok(())
    }
}

fn remove_dir(dir: &Path) {
    if let Err(error) = std::fs::remove_dir_all(dir)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(dir = %dir.display(), %error, "cannot remove a volume's directory");
    }
}
