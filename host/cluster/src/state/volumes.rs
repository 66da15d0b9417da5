//! A volume on JetStream: one object store per volume (`fnhost-volume-<hex>`), an object per
//! committed file named by its path, its name in the store's description. What a commit sends
//! and a reload brings is decided by the host (`fnhost`'s volume sync); this keeps the files.

use crate::names;
use crate::state::{StateInner, described_stream, unavailable};
use async_nats::jetstream::object_store;
use fnhost::StorageError;
use fnhost::remote::{RemoteFile, RemoteFuture, RemoteVolume};
use futures::TryStreamExt;
use tokio::io::AsyncWriteExt;

/// What the description of a volume's store starts with; its name follows.
const DESCRIBED: &str = "fnhost volume: ";

/// A volume kept in an object store.
pub(crate) struct ObjectVolume {
    id: String,
    name: String,
    store: object_store::ObjectStore,
}

impl ObjectVolume {
    /// Makes the store of a new volume `id` named `name`.
    pub(crate) async fn make(
        state: &StateInner,
        id: String,
        name: &str,
    ) -> Result<ObjectVolume, StorageError> {
        let store = state
            .jetstream
            .create_object_store(object_store::Config {
                bucket: names::volume_bucket(&id),
                description: Some(format!("{DESCRIBED}{name}")),
                ..Default::default()
            })
            .await
            .map_err(unavailable("making a volume's store"))?;
        Ok(ObjectVolume {
            id,
            name: name.to_owned(),
            store,
        })
    }

    /// The volume `id`, if its store exists.
    pub(crate) async fn open(
        state: &StateInner,
        id: &str,
    ) -> Result<Option<ObjectVolume>, StorageError> {
        let bucket = names::volume_bucket(id);
        let found = described_stream(&state.jetstream, format!("OBJ_{bucket}"), DESCRIBED).await?;
        let Some((_, Some(name))) = found else {
            return Ok(None);
        };
        let store = state
            .jetstream
            .get_object_store(bucket)
            .await
            .map_err(unavailable("opening a volume"))?;
        Ok(Some(ObjectVolume {
            id: id.to_owned(),
            name,
            store,
        }))
    }

    async fn files(&self) -> Result<Vec<RemoteFile>, StorageError> {
        let listed = self.store.list().await;
        let listed: Vec<object_store::ObjectInfo> = listed
            .map_err(unavailable("listing a volume's files"))?
            .try_collect()
            .await
            .map_err(unavailable("listing a volume's files"))?;
        Ok(listed.into_iter().map(remote_file).collect())
    }

    async fn upload(&self, path: String, from: std::fs::File) -> Result<RemoteFile, StorageError> {
        let mut from = tokio::fs::File::from_std(from);
        let stored = self.store.put(path.as_str(), &mut from).await;
        Ok(remote_file(
            stored.map_err(unavailable("committing a file"))?,
        ))
    }

    async fn download(&self, path: String, into: std::fs::File) -> Result<(), StorageError> {
        let mut object = self
            .store
            .get(path.as_str())
            .await
            .map_err(unavailable("reading a committed file"))?;
        let mut into = tokio::fs::File::from_std(into);
        tokio::io::copy(&mut object, &mut into)
            .await
            .map_err(unavailable("reading a committed file"))?;
        into.flush()
            .await
            .map_err(unavailable("reading a committed file"))?;
        into.sync_all()
            .await
            .map_err(unavailable("reading a committed file"))
    }

    async fn remove(&self, path: String) -> Result<(), StorageError> {
        match self.store.delete(path.as_str()).await {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == object_store::DeleteErrorKind::NotFound => Ok(()),
            Err(error) => Err(unavailable("removing a committed file")(error)),
        }
    }
}

/// A committed file as the host's sync sees it: its path and the store's digest of it (its
/// unique id when the server gave no digest).
fn remote_file(info: object_store::ObjectInfo) -> RemoteFile {
    RemoteFile {
        digest: info.digest.unwrap_or(info.nuid),
        path: info.name,
    }
}

impl RemoteVolume for ObjectVolume {
    fn id(&self) -> &str {
        &self.id
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn files(&self) -> RemoteFuture<'_, Vec<RemoteFile>> {
        Box::pin(ObjectVolume::files(self))
    }

    fn upload(&self, path: String, from: std::fs::File) -> RemoteFuture<'_, RemoteFile> {
        Box::pin(ObjectVolume::upload(self, path, from))
    }

    fn download(&self, path: String, into: std::fs::File) -> RemoteFuture<'_, ()> {
        Box::pin(ObjectVolume::download(self, path, into))
    }

    fn remove(&self, path: String) -> RemoteFuture<'_, ()> {
        Box::pin(ObjectVolume::remove(self, path))
    }
}
