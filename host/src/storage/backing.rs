//! Where a host's dicts, queues, secrets and volumes live: its own store (a redb file in its
//! state directory, or in memory), or a cluster's shared state (`remote`) once the host joined
//! one. [`Storage`] is the one handle every caller holds; which it is was decided when the
//! host's storage was first asked for.
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
    Remote(Arc<dyn RemoteState>),
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

    /// A cluster's shared state.
    pub fn remote(state: Arc<dyn RemoteState>) -> Storage {
        Storage {
            backing: Backing::Remote(state),
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
            Backing::Remote(state) => state.names(kind).await,
        }
    }

    /// Removes the object of `kind` named `name` and everything it holds (a volume's files
    /// too); whether it existed.
    pub async fn delete(&self, kind: ObjectKind, name: &str) -> Result<bool, StorageError> {
        limits::check_name(name)?;
        match &self.backing {
            Backing::Store(store) => store.delete(kind, name).await,
            Backing::Remote(_) if kind == ObjectKind::Volume => Err(no_shared_volumes()),
            Backing::Remote(state) => state.delete(kind, name).await,
        }
    }

    /// The dict named `name`; made when missing if `create_if_missing`, else `not-found`.
    pub async fn dict(&self, name: &str, create_if_missing: bool) -> Result<Dict, StorageError> {
        limits::check_name(name)?;
        match &self.backing {
            Backing::Store(store) => Ok(Dict::in_store(store.dict(name, create_if_missing).await?)),
            Backing::Remote(state) => {
                let opened = state.named(ObjectKind::Dict, name, create_if_missing);
                remote_dict(opened.await?)
            }
        }
    }

    /// A new dict with no name, removed when its last handle is dropped.
    pub async fn ephemeral_dict(&self) -> Result<Dict, StorageError> {
        match &self.backing {
            Backing::Store(store) => Ok(Dict::in_store(store.ephemeral_dict().await?)),
            Backing::Remote(state) => remote_dict(state.ephemeral(ObjectKind::Dict).await?),
        }
    }

    /// The dict whose id is `id`.
    pub async fn dict_from_id(&self, id: &str) -> Result<Dict, StorageError> {
        match &self.backing {
            Backing::Store(store) => Ok(Dict::in_store(store.dict_from_id(id)?)),
            Backing::Remote(state) => remote_dict(state.by_id(ObjectKind::Dict, id).await?),
        }
    }

    /// The queue named `name`; made when missing if `create_if_missing`, else `not-found`.
    pub async fn queue(&self, name: &str, create_if_missing: bool) -> Result<Queue, StorageError> {
        limits::check_name(name)?;
        match &self.backing {
            Backing::Store(store) => {
                Ok(Queue::in_store(store.queue(name, create_if_missing).await?))
            }
            Backing::Remote(state) => {
                let opened = state.named(ObjectKind::Queue, name, create_if_missing);
                remote_queue(opened.await?)
            }
        }
    }

    /// A new queue with no name, removed when its last handle is dropped.
    pub async fn ephemeral_queue(&self) -> Result<Queue, StorageError> {
        match &self.backing {
            Backing::Store(store) => Ok(Queue::in_store(store.ephemeral_queue().await?)),
            Backing::Remote(state) => remote_queue(state.ephemeral(ObjectKind::Queue).await?),
        }
    }

    /// The queue whose id is `id`.
    pub async fn queue_from_id(&self, id: &str) -> Result<Queue, StorageError> {
        match &self.backing {
            Backing::Store(store) => Ok(Queue::in_store(store.queue_from_id(id)?)),
            Backing::Remote(state) => remote_queue(state.by_id(ObjectKind::Queue, id).await?),
        }
    }

    /// The volume named `name`; made (empty) when missing if `create_if_missing`, else
    /// `not-found`. Volumes are kept by the host's own store only: on a cluster, `unavailable`.
    pub async fn volume(
        &self,
        name: &str,
        create_if_missing: bool,
    ) -> Result<Volume, StorageError> {
        limits::check_name(name)?;
        match &self.backing {
            Backing::Store(store) => store.volume(name, create_if_missing).await,
            Backing::Remote(_) => Err(no_shared_volumes()),
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
            Backing::Remote(state) => state.create_secret(name, values, overwrite).await,
        }
    }

    /// The variables of the secret `name`.
    pub fn secret(&self, name: &str) -> Result<SecretValues, StorageError> {
        match &self.backing {
            Backing::Store(store) => store.secret(name),
            Backing::Remote(state) => state.secret(name),
        }
    }

    /// Every secret's name and keys, by name.
    pub async fn secrets(&self) -> Result<Vec<SecretListing>, StorageError> {
        match &self.backing {
            Backing::Store(store) => store.secrets(),
            Backing::Remote(state) => state.secrets().await,
        }
    }

    /// Removes the secret `name`; whether it existed.
    pub async fn delete_secret(&self, name: &str) -> Result<bool, StorageError> {
        match &self.backing {
            Backing::Store(store) => store.delete_secret(name).await,
            Backing::Remote(state) => state.delete_secret(name).await,
        }
    }
}

fn remote_dict(object: RemoteObject) -> Result<Dict, StorageError> {
    match object {
        RemoteObject::Dict(dict) => Ok(Dict::remote(dict)),
        RemoteObject::Queue(_) => Err(wrong_kind("dict")),
    }
}

fn remote_queue(object: RemoteObject) -> Result<Queue, StorageError> {
    match object {
        RemoteObject::Queue(queue) => Ok(Queue::remote(queue)),
        RemoteObject::Dict(_) => Err(wrong_kind("queue")),
    }
}

fn wrong_kind(asked: &str) -> StorageError {
    StorageError::Unavailable(format!(
        "the cluster's state gave another kind of object than a {asked}"
    ))
}

fn no_shared_volumes() -> StorageError {
    StorageError::Unavailable(
        "volumes are kept on one host only: a cluster does not share them yet".into(),
    )
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
        *chosen = Some(Storage::remote(state));
        Ok(())
    }
}
