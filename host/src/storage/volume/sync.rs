//! A host's copy of a cluster's volume, kept in step with the files the cluster committed
//! (`RemoteVolume`): `commit` sends what changed here, `reload` brings in what changed there.
//!
//! Beside the copy's directory, `<id>.synced` records each file as last committed or brought
//! in: the committed digest and the local size and change time it had then. A local file whose
//! stamp differs was written here since; a committed file whose digest differs was committed
//! elsewhere since. So: `commit` uploads the files written here and removes the committed files
//! removed here; `reload` downloads the files committed elsewhere (they replace the local copy,
//! as the last commit wins on Modal) and removes those removed elsewhere, unless written here
//! since. One sync of a volume runs at a time on a host.
//!
//! Invariant: every path that comes from the cluster is resolved under the volume's directory
//! by [`VolumeDir`], so a path in the store cannot write outside it.

use crate::storage::error::StorageError;
use crate::storage::remote::RemoteVolume;
use crate::storage::volume::files::{Stamp, VolumeDir};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// What was last committed or brought in, by path.
#[derive(Default, Serialize, Deserialize)]
struct Synced {
    files: BTreeMap<String, SyncedFile>,
}

#[derive(Serialize, Deserialize)]
struct SyncedFile {
    digest: String,
    stamp: Stamp,
}

/// Sends the files written here since the last sync to the cluster, and removes there those
/// removed here.
pub(crate) async fn commit(
    dir: &Path,
    name: &str,
    remote: &dyn RemoteVolume,
) -> Result<(), StorageError> {
    let lock = sync_lock(dir);
    let _one_at_a_time = lock.lock().await;
    let mut synced = read_synced(dir).await?;
    let local = blocking_in(dir, name, |files| files.files()).await?;
    let here: BTreeMap<String, Stamp> = local.into_iter().collect();
    for (path, stamp) in &here {
        let unchanged = synced
            .files
            .get(path)
            .is_some_and(|file| file.stamp == *stamp);
        if unchanged {
            continue;
        }
        let opened = path.clone();
        let file = blocking_in(dir, name, move |files| files.open_file(&opened)).await?;
        let committed = remote.upload(path.clone(), file).await?;
        let digest = committed.digest;
        synced.files.insert(
            path.clone(),
            SyncedFile {
                digest,
                stamp: *stamp,
            },
        );
    }
    let removed: Vec<String> = synced
        .files
        .keys()
        .filter(|path| !here.contains_key(*path))
        .cloned()
        .collect();
    for path in removed {
        remote.remove(path.clone()).await?;
        synced.files.remove(&path);
    }
    write_synced(dir, &synced).await
}

/// Brings in the files committed elsewhere since the last sync, and removes here those removed
/// there (unless written here since).
pub(crate) async fn reload(
    dir: &Path,
    name: &str,
    remote: &dyn RemoteVolume,
) -> Result<(), StorageError> {
    let lock = sync_lock(dir);
    let _one_at_a_time = lock.lock().await;
    let mut synced = read_synced(dir).await?;
    let committed = remote.files().await?;
    for file in &committed {
        let current = synced.files.get(&file.path);
        if current.is_some_and(|known| known.digest == file.digest) {
            continue;
        }
        let made = file.path.clone();
        let into = blocking_in(dir, name, move |files| files.create(&made)).await?;
        remote.download(file.path.clone(), into).await?;
        let stamped = file.path.clone();
        let stamp = blocking_in(dir, name, move |files| files.stamp(&stamped)).await?;
        let digest = file.digest.clone();
        synced
            .files
            .insert(file.path.clone(), SyncedFile { digest, stamp });
    }
    let gone: Vec<(String, Stamp)> = synced
        .files
        .iter()
        .filter(|(path, _)| !committed.iter().any(|file| &file.path == *path))
        .map(|(path, file)| (path.clone(), file.stamp))
        .collect();
    for (path, stamp) in gone {
        synced.files.remove(&path);
        let removed = path.clone();
        blocking_in(dir, name, move |files| match files.stamp(&removed) {
            Ok(now) if now == stamp => files.remove(&removed, false),
            // Written here since, or gone already: left as it is.
            _ => Ok(()),
        })
        .await?;
    }
    write_synced(dir, &synced).await
}

/// Forgets what was synced into `dir` (its volume was removed).
pub(crate) fn forget(dir: &Path) {
    let _ = std::fs::remove_file(synced_path(dir));
}

/// The lock that lets one sync of the copy in `dir` run at a time in this process.
fn sync_lock(dir: &Path) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let mut locks = LOCKS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    Arc::clone(locks.entry(dir.to_owned()).or_default())
}

fn synced_path(dir: &Path) -> PathBuf {
    let mut path = dir.as_os_str().to_owned();
    path.push(".synced");
    PathBuf::from(path)
}

async fn read_synced(dir: &Path) -> Result<Synced, StorageError> {
    let path = synced_path(dir);
    off_the_runtime(move || match std::fs::read(&path) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).unwrap_or_default()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Synced::default()),
        Err(error) => Err(StorageError::Unavailable(format!(
            "cannot read {}: {error}",
            path.display()
        ))),
    })
    .await
}

/// Replaces the record (a new file renamed over the old: a crash leaves one or the other).
async fn write_synced(dir: &Path, synced: &Synced) -> Result<(), StorageError> {
    let path = synced_path(dir);
    let bytes = serde_json::to_vec(synced).expect("a record of files encodes");
    off_the_runtime(move || {
        let temporary = path.with_extension("synced.new");
        std::fs::write(&temporary, bytes)
            .and_then(|()| std::fs::rename(&temporary, &path))
            .map_err(|error| {
                StorageError::Unavailable(format!("cannot write {}: {error}", path.display()))
            })
    })
    .await
}

/// Runs `work` on the volume's directory on tokio's blocking threads.
async fn blocking_in<T: Send + 'static>(
    dir: &Path,
    name: &str,
    work: impl FnOnce(&VolumeDir) -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    let (dir, name) = (dir.to_owned(), name.to_owned());
    off_the_runtime(move || work(&VolumeDir::open(&dir, &name)?)).await
}

/// Runs `work` (file I/O) on tokio's blocking threads.
async fn off_the_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| StorageError::Unavailable(format!("a volume sync failed: {error}")))?
}
