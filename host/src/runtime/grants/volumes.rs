//! A container's volumes (a sandbox's too): what its function's `volumes` name, opened (made when the app says
//! so) in the host's store as the container starts, each mounted read-write at its path.
//!
//! Invariant: a container mounts exactly its function's volumes, each its volume's own
//! directory, and nothing else of the host's; a volume that cannot be opened fails the start
//! with an error naming it, never a container without it.

use crate::Error;
use crate::info::VolumeMount;
use crate::storage::LazyStorage;
use crate::storage::StorageError;
use std::path::PathBuf;

/// The host directories of `mounts` in `storage` (the host's store), each with the path the
/// guest sees it at.
pub(crate) async fn volume_dirs(
    storage: Option<&LazyStorage>,
    mounts: &[VolumeMount],
) -> Result<Vec<(PathBuf, String)>, Error> {
    let mut dirs = Vec::with_capacity(mounts.len());
    for mount in mounts {
        let storage = storage
            .ok_or_else(|| Error::NotFound(format!("volume `{}`: no store here", mount.volume)))?;
        let store = storage
            .get()
            .map_err(|error| unopened(&mount.volume, error))?;
        let volume = store
            .volume(&mount.volume, mount.create_if_missing)
            .await
            .map_err(|error| unopened(&mount.volume, error))?;
        dirs.push((volume.dir().to_owned(), mount.path.clone()));
    }
    Ok(dirs)
}

/// Why the volume `name` could not be mounted, as a call error.
fn unopened(name: &str, error: StorageError) -> Error {
    match error {
        StorageError::NotFound(message) => Error::NotFound(message),
        other => Error::Overloaded(format!("cannot mount volume `{name}`: {other}")),
    }
}
