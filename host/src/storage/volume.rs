//! Volumes (Modal's `Volume`): named directory trees the host keeps beside its store, which
//! functions mount (`volumes={"/data": vol}`) and read and write with ordinary file calls.
//!
//! One host keeps a volume as one directory (`volumes/<id>` in the state directory), mounted
//! by every container that names it: a write is seen by the other containers at once, where
//! Modal shows it only after `commit()` there and `reload()` here. `commit()` makes what was
//! written durable (one `syncfs`) and checks the volume's size against its quota; `reload()`
//! has nothing to fetch on one host.
//!
//! Invariants: nothing reaches outside a volume's directory — guests through WASI's preopen
//! (cap-std), the host's own operations through [`files`]; a commit, and a host's write, past
//! the quota fails naming it (a guest's single writes are not stopped at the quota: WASI's
//! filesystem gives the host no hook there, so the quota is enforced where one is, at commit).
//! A volume's directory is removed with its row, and any directory with no row is removed when
//! the store opens, so a crash between the two leaves nothing behind.

pub(crate) mod dirs;
mod files;
pub(crate) mod sync;

pub use files::{EntryKind, VolumeEntry};

use crate::storage::error::StorageError;
use crate::storage::remote::RemoteVolume;
use crate::storage::store::tables::ObjectKind;
use crate::storage::store::{Store, create_private_dir};
pub(crate) use files::VolumeDir;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The largest file the host reads out of a volume in one piece (`volume get`, the API).
pub const MAX_VOLUME_READ: u64 = 1 << 30;

/// A volume: a handle on a named directory tree. Cheap to clone.
#[derive(Clone)]
pub struct Volume {
    id: Arc<str>,
    name: Arc<str>,
    /// The host's directory of it: the volume itself, or this host's copy of a cluster's.
    dir: PathBuf,
    quota: u64,
    /// The cluster's committed files, when the volume is a cluster's.
    remote: Option<Arc<dyn RemoteVolume>>,
}

impl Volume {
    /// A cluster's volume, its copy in `dir` (made when missing) brought in step.
    pub(crate) async fn remote(
        remote: Arc<dyn RemoteVolume>,
        dir: PathBuf,
        quota: u64,
    ) -> Result<Volume, StorageError> {
        let made = dir.clone();
        blocking(move || create_private_dir(&made)).await?;
        let volume = Volume {
            id: remote.id().into(),
            name: remote.name().into(),
            dir,
            quota,
            remote: Some(remote),
        };
        volume.reload().await?;
        Ok(volume)
    }

    /// Its id (`vo-` and 32 hexadecimal digits).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The host directory that holds it: what containers mount.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The most bytes its files may hold at a commit.
    pub fn quota(&self) -> u64 {
        self.quota
    }

    /// The bytes its files hold now.
    pub async fn usage(&self) -> Result<u64, StorageError> {
        let (dir, name) = (self.dir.clone(), self.name().to_owned());
        blocking(move || usage_of(&dir, &name)).await
    }

    /// Makes everything written in it durable (on a cluster: sends it to the cluster, where
    /// the other hosts' `reload` finds it), failing `full` when its files hold more than its
    /// quota (nothing is removed: remove files, then commit again).
    pub async fn commit(&self) -> Result<(), StorageError> {
        let (dir, name, quota) = (self.dir.clone(), self.name().to_owned(), self.quota);
        blocking(move || {
            let used = usage_of(&dir, &name)?;
            if used > quota {
                return Err(over_quota(&name, used, quota));
            }
            let root = std::fs::File::open(&dir).map_err(|error| io_error(&name, &error))?;
            rustix::fs::syncfs(&root).map_err(|error| io_error(&name, &error.into()))
        })
        .await?;
        match &self.remote {
            Some(remote) => sync::commit(&self.dir, self.name(), remote.as_ref()).await,
            None => Ok(()),
        }
    }

    /// Brings in what other hosts committed: on one host there is nothing to bring, every
    /// container mounts the same directory.
    pub async fn reload(&self) -> Result<(), StorageError> {
        match &self.remote {
            Some(remote) => sync::reload(&self.dir, self.name(), remote.as_ref()).await,
            None => Ok(()),
        }
    }

    /// The entries of the directory `path` of it (its root when `/`), or the file `path`.
    pub async fn list(&self, path: &str) -> Result<Vec<VolumeEntry>, StorageError> {
        self.reload_remote().await?;
        let path = path.to_owned();
        self.with_dir(move |dir| dir.list(&path)).await
    }

    /// Every entry below the directory `path`, directories before what they hold.
    pub async fn list_recursive(&self, path: &str) -> Result<Vec<VolumeEntry>, StorageError> {
        self.reload_remote().await?;
        let path = path.to_owned();
        self.with_dir(move |dir| {
            let mut found = Vec::new();
            let mut pending = vec![path];
            while let Some(next) = pending.pop() {
                for entry in dir.list(&next)? {
                    if entry.kind == EntryKind::Dir {
                        pending.push(entry.path.clone());
                    }
                    found.push(entry);
                }
            }
            Ok(found)
        })
        .await
    }

    /// The bytes of its file `path` (at most [`MAX_VOLUME_READ`]).
    pub async fn read(&self, path: &str) -> Result<Vec<u8>, StorageError> {
        self.read_at_most(path, MAX_VOLUME_READ).await
    }

    /// The bytes of its file `path`, `too-large` past `limit` bytes.
    pub async fn read_at_most(&self, path: &str, limit: u64) -> Result<Vec<u8>, StorageError> {
        self.reload_remote().await?;
        let path = path.to_owned();
        self.with_dir(move |dir| dir.read(&path, limit)).await
    }

    /// Writes `bytes` as its file `path` (parents made, the file synced), unless that would
    /// take it past its quota.
    pub async fn write(&self, path: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        let (path, quota, root) = (path.to_owned(), self.quota, self.dir.clone());
        let name = self.name().to_owned();
        self.with_dir(move |dir| {
            let used = usage_of(&root, &name)?;
            let after = (used - dir.existing_size(&path)?.min(used)) + bytes.len() as u64;
            if after > quota {
                return Err(over_quota(&name, after, quota));
            }
            dir.write(&path, &bytes)
        })
        .await?;
        self.commit_remote().await
    }

    /// Removes its file `path`, or its directory `path` and all it holds when `recursive`.
    pub async fn remove(&self, path: &str, recursive: bool) -> Result<(), StorageError> {
        let path = path.to_owned();
        self.with_dir(move |dir| dir.remove(&path, recursive))
            .await?;
        self.commit_remote().await
    }

    /// On a cluster, brings in what was committed before the host reads its copy.
    async fn reload_remote(&self) -> Result<(), StorageError> {
        match &self.remote {
            Some(_) => self.reload().await,
            None => Ok(()),
        }
    }

    /// On a cluster, commits what the host just changed in its copy.
    async fn commit_remote(&self) -> Result<(), StorageError> {
        match &self.remote {
            Some(_) => self.commit().await,
            None => Ok(()),
        }
    }

    async fn with_dir<T: Send + 'static>(
        &self,
        operation: impl FnOnce(&VolumeDir) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let (dir, name) = (self.dir.clone(), self.name().to_owned());
        blocking(move || operation(&VolumeDir::open(&dir, &name)?)).await
    }
}

impl Store {
    /// The volume named `name`; made (empty) when missing if `create_if_missing`, else
    /// `not-found`.
    pub(crate) async fn volume(
        &self,
        name: &str,
        create_if_missing: bool,
    ) -> Result<Volume, StorageError> {
        let object = self
            .named(ObjectKind::Volume, name, create_if_missing)
            .await?;
        let dir = self.volumes_root().dir_of(&object.id);
        let made = dir.clone();
        blocking(move || create_private_dir(&made)).await?;
        Ok(Volume {
            id: object.id,
            name: name.into(),
            dir,
            quota: self.settings().volume_quota,
            remote: None,
        })
    }
}

fn usage_of(dir: &Path, name: &str) -> Result<u64, StorageError> {
    files::usage(dir).map_err(|error| io_error(name, &error))
}

fn over_quota(name: &str, used: u64, quota: u64) -> StorageError {
    StorageError::Full(format!(
        "volume `{name}` would hold {used} bytes, past its quota of {quota}: remove files first"
    ))
}

fn io_error(name: &str, error: &std::io::Error) -> StorageError {
    StorageError::Unavailable(format!("volume `{name}`: {error}"))
}

/// Runs `work` (file I/O) on tokio's blocking threads, never on an async worker.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| StorageError::Unavailable(format!("a volume operation failed: {error}")))?
}
