//! Where a host's dicts, queues, secrets and volumes live: its own store (a redb file in its
//! state directory, or in memory), or a cluster's shared state (`remote`) once the host joined
//! one, with this host's copies of the cluster's volumes in its state directory. [`Storage`]
//! is the one handle every caller holds; which it is was decided when the host's storage was
//! first asked for.
//!
//! Invariant: a host uses one backing for all its objects from the first use on: a cluster
//! host's objects never land in its own store, where the other hosts could not see them.

use crate::storage::ObjectKind;
use crate::storage::dict::Dict;
use crate::storage::error::StorageError;
use crate::storage::limits;
use crate::storage::queue::Queue;
use crate::storage::remote::{RemoteObject, RemoteState};
use crate::storage::secrets::{SecretListing, SecretValues};
use crate::storage::store::{StorageSettings, Store};
use crate::storage::volume::Volume;
use crate::storage::volume::dirs::VolumesRoot;
use crate::storage::volume::sync;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// A host's dicts, queues, secrets and volumes. Cheap to clone.
#[derive(Clone)]
pub struct Storage {
    backing: Backing,
}

#[derive(Clone)]
enum Backing {
    Store(Store),
    Remote(Arc<Remote>),
}

/// A cluster's state, and where this host keeps its copies of the cluster's volumes.
struct Remote {
    state: Arc<dyn RemoteState>,
    volumes: VolumesRoot,
    quota: u64,
}

impl Storage {
    /// The store in `dir` (`store.redb`, made with mode 0600 when missing; `dir` made 0700),
    /// for this process alone: a store another process has open is `unavailable`.
    pub fn open(dir: &Path, settings: StorageSettings) -> Result<Storage, StorageError> {
        Ok(Storage::in_store(Store::open(dir, settings)?))
    }

    /// A store in memory: its objects end with the process.
    pub fn in_memory(settings: StorageSettings) -> Result<Storage, StorageError> {
        Ok(Storage::in_store(Store::in_memory(settings)?))
    }

    /// A cluster's shared state, this host's copies of its volumes in `volumes`.
    fn remote(state: Arc<dyn RemoteState>, volumes: VolumesRoot, quota: u64) -> Storage {
        let remote = Remote {
            state,
            volumes,
            quota,
        };
        Storage {
            backing: Backing::Remote(Arc::new(remote)),
        }
    }

    fn in_store(store: Store) -> Storage {
        Storage {
            backing: Backing::Store(store),
        }
    }

    /// The names of the named objects of `kind`, in order.
    pub async fn names(&self, kind: ObjectKind) -> Result<Vec<String>, StorageError> {
        match &self.backing {
            Backing::Store(store) => store.names(kind),
            Backing::Remote(remote) => remote.state.names(kind).await,
        }
    }

    /// Removes the object of `kind` named `name` and everything it holds (a volume's files
    /// too); whether it existed.
    pub async fn delete(&self, kind: ObjectKind, name: &str) -> Result<bool, StorageError> {
        limits::check_name(name)?;
        match &self.backing {
            Backing::Store(store) => store.delete(kind, name).await,
            Backing::Remote(remote) if kind == ObjectKind::Volume => {
                let opened = remote.state.named(kind, name, false).await;
                let existed = remote.state.delete(kind, name).await?;
                if let Ok(RemoteObject::Volume(volume)) = opened {
                    // This host's copy goes too; other hosts' copies stay in their state directories.
                    let dir = remote.volumes.dir_of(volume.id());
                    sync::forget(&dir);
                    remote.volumes.remove(volume.id());
                }
                Ok(existed)
            }
            Backing::Remote(remote) => remote.state.delete(kind, name).await,
        }
    }

    /// The dict named `name`; made when missing if `create_if_missing`, else `not-found`.
    pub async fn dict(&self, name: &str, create_if_missing: bool) -> Result<Dict, StorageError> {
        limits::check_name(name)?;
        match &self.backing {
            Backing::Store(store) => Ok(Dict::in_store(store.dict(name, create_if_missing).await?)),
            Backing::Remote(remote) => {
                let opened = remote
                    .state
                    .named(ObjectKind::Dict, name, create_if_missing);
                remote_dict(opened.await?)
            }
        }
    }

    /// A new dict with no name, removed when its last handle is dropped.
    pub async fn ephemeral_dict(&self) -> Result<Dict, StorageError> {
        match &self.backing {
            Backing::Store(store) => Ok(Dict::in_store(store.ephemeral_dict().await?)),
            Backing::Remote(remote) => remote_dict(remote.state.ephemeral(ObjectKind::Dict).await?),
        }
    }

    /// The dict whose id is `id`.
    pub async fn dict_from_id(&self, id: &str) -> Result<Dict, StorageError> {
        match &self.backing {
            Backing::Store(store) => Ok(Dict::in_store(store.dict_from_id(id)?)),
            Backing::Remote(remote) => remote_dict(remote.state.by_id(ObjectKind::Dict, id).await?),
        }
    }

    /// The queue named `name`; made when missing if `create_if_missing`, else `not-found`.
    pub async fn queue(&self, name: &str, create_if_missing: bool) -> Result<Queue, StorageError> {
        limits::check_name(name)?;
        match &self.backing {
            Backing::Store(store) => {
                Ok(Queue::in_store(store.queue(name, create_if_missing).await?))
            }
            Backing::Remote(remote) => {
                let opened = remote
                    .state
                    .named(ObjectKind::Queue, name, create_if_missing);
                remote_queue(opened.await?)
            }
        }
    }

    /// A new queue with no name, removed when its last handle is dropped.
    pub async fn ephemeral_queue(&self) -> Result<Queue, StorageError> {
        match &self.backing {
            Backing::Store(store) => Ok(Queue::in_store(store.ephemeral_queue().await?)),
            Backing::Remote(remote) => {
                remote_queue(remote.state.ephemeral(ObjectKind::Queue).await?)
            }
        }
    }

    /// The queue whose id is `id`.
    pub async fn queue_from_id(&self, id: &str) -> Result<Queue, StorageError> {
        match &self.backing {
            Backing::Store(store) => Ok(Queue::in_store(store.queue_from_id(id)?)),
            Backing::Remote(remote) => {
                remote_queue(remote.state.by_id(ObjectKind::Queue, id).await?)
            }
        }
    }

    /// The volume named `name`; made (empty) when missing if `create_if_missing`, else
    /// `not-found`. A cluster's volume comes with this host's copy brought in step.
    pub async fn volume(
        &self,
        name: &str,
        create_if_missing: bool,
    ) -> Result<Volume, StorageError> {
        limits::check_name(name)?;
        match &self.backing {
            Backing::Store(store) => store.volume(name, create_if_missing).await,
            Backing::Remote(remote) => {
                let opened = remote
                    .state
                    .named(ObjectKind::Volume, name, create_if_missing);
                let RemoteObject::Volume(volume) = opened.await? else {
                    return Err(wrong_kind("volume"));
                };
                let dir = remote.volumes.dir_of(volume.id());
                Volume::remote(volume, dir, remote.quota).await
            }
        }
    }

    /// Keeps `values` as the secret `name`; an existing one is replaced only if `overwrite`,
    /// else `invalid`.
    pub async fn create_secret(
        &self,
        name: &str,
        values: SecretValues,
        overwrite: bool,
    ) -> Result<(), StorageError> {
        limits::check_name(name)?;
        match &self.backing {
            Backing::Store(store) => store.create_secret(name, values, overwrite).await,
            Backing::Remote(remote) => remote.state.create_secret(name, values, overwrite).await,
        }
    }

    /// The variables of the secret `name`.
    pub fn secret(&self, name: &str) -> Result<SecretValues, StorageError> {
        match &self.backing {
            Backing::Store(store) => store.secret(name),
            Backing::Remote(remote) => remote.state.secret(name),
        }
    }

    /// Every secret's name and keys, by name.
    pub async fn secrets(&self) -> Result<Vec<SecretListing>, StorageError> {
        match &self.backing {
            Backing::Store(store) => store.secrets(),
            Backing::Remote(remote) => remote.state.secrets().await,
        }
    }

    /// Removes the secret `name`; whether it existed.
    pub async fn delete_secret(&self, name: &str) -> Result<bool, StorageError> {
        match &self.backing {
            Backing::Store(store) => store.delete_secret(name).await,
            Backing::Remote(remote) => remote.state.delete_secret(name).await,
        }
    }
}

fn remote_dict(object: RemoteObject) -> Result<Dict, StorageError> {
    match object {
        RemoteObject::Dict(dict) => Ok(Dict::remote(dict)),
        _ => Err(wrong_kind("dict")),
    }
}

fn remote_queue(object: RemoteObject) -> Result<Queue, StorageError> {
    match object {
        RemoteObject::Queue(queue) => Ok(Queue::remote(queue)),
        _ => Err(wrong_kind("queue")),
    }
}

fn wrong_kind(asked: &str) -> StorageError {
    StorageError::Unavailable(format!(
        "the cluster's state gave another kind of object than a {asked}"
    ))
}

/// A host's storage, decided on first use: an app that keeps no state never opens (or locks)
/// its store file, so two processes may share a state directory until both keep state; a host
/// that joined a cluster before then uses the cluster's state instead.
pub(crate) struct LazyStorage {
    dir: Option<PathBuf>,
    settings: StorageSettings,
    chosen: Mutex<Option<Storage>>,
}

impl LazyStorage {
    /// The store in `dir` (in memory when `None`), once asked for.
    pub(crate) fn new(dir: Option<PathBuf>, settings: StorageSettings) -> LazyStorage {
        LazyStorage {
            dir,
            settings,
            chosen: Mutex::new(None),
        }
    }

    /// The storage, the store opened now if nothing was chosen yet (a failed open is tried
    /// again next time).
    pub(crate) fn get(&self) -> Result<Storage, StorageError> {
        let mut chosen = self.chosen.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(storage) = &*chosen {
            return Ok(storage.clone());
        }
        let storage = match &self.dir {
            Some(dir) => Storage::open(dir, self.settings.clone())?,
            None => Storage::in_memory(self.settings.clone())?,
        };
        *chosen = Some(storage.clone());
        Ok(storage)
    }

    /// Uses `state` from now on; `unavailable` when the host's own store is in use already.
    pub(crate) fn share(&self, state: Arc<dyn RemoteState>) -> Result<(), StorageError> {
        let mut chosen = self.chosen.lock().unwrap_or_else(PoisonError::into_inner);
        if matches!(
            &*chosen,
            Some(Storage {
                backing: Backing::Store(_)
            })
        ) {
            return Err(StorageError::Unavailable(
                "the host's own store is in use: a host joins a cluster before it keeps state"
                    .into(),
            ));
        }
        let volumes = match &self.dir {
            Some(dir) => VolumesRoot::in_state_dir(dir),
            None => VolumesRoot::temporary()?,
        };
        *chosen = Some(Storage::remote(state, volumes, self.settings.volume_quota));
        Ok(())
    }
}
