//! The host side of `fnhost:runtime/storage`: a guest's dicts, queues and volumes.
//!
//! A guest's `dict`, `queue` or `volume` resource holds a handle to the object in the host's store (an
//! ephemeral one is removed when the guest drops the last handle that made it, or when the
//! container ends). Each operation runs on a clone of the handle, outside the resource table:
//! the blocking form with the calling store suspended, never past the earliest deadline of the
//! container's inputs; the `-async` form holding only the calling task.

use crate::container::state::ContainerState;
use crate::runtime::bindings::fnhost::runtime::storage::{
    self, HostDict, HostDictWithStore, HostQueue, HostQueueWithStore, HostVolume,
    HostVolumeWithStore, StorageError as WitStorageError, VolumeEntry as WitVolumeEntry,
    VolumeEntryKind,
};
use crate::storage::{Dict, EntryKind, MAX_VALUE_BYTES, Queue, StorageError, Volume, VolumeEntry};
use std::future::Future;
use std::time::Duration;
use wasmtime::component::{Accessor, HasSelf, Resource};

/// What a storage import returns: a trap, or the operation's own outcome.
type Stored<T> = wasmtime::Result<Result<T, WitStorageError>>;

/// An entry as the contract passes it.
type Entry = (Vec<u8>, Vec<u8>);

impl storage::Host for ContainerState {}

impl ContainerState {
    /// Runs `op` on a clone of the handle behind `resource`, the store suspended meanwhile.
    async fn stored<R, T, F, Fut>(&mut self, resource: &Resource<R>, op: F) -> Stored<T>
    where
        R: Clone + Send + 'static,
        F: FnOnce(R) -> Fut,
        Fut: Future<Output = Result<T, StorageError>>,
    {
        let handle = self.table.get(resource)?.clone();
        Ok(self.bound(op(handle)).await?.map_err(Into::into))
    }

    /// Runs `open` on the host's store and keeps what it opened in the resource table.
    async fn opened<R, F, Fut>(&mut self, open: F) -> Stored<Resource<R>>
    where
        R: Send + 'static,
        F: FnOnce(crate::storage::Storage) -> Fut,
        Fut: Future<Output = Result<R, StorageError>>,
    {
        let store = match self.storage() {
            Ok(store) => store,
            Err(error) => return Ok(Err(error.into())),
        };
        match self.bound(open(store)).await? {
            Ok(object) => Ok(Ok(self.table.push(object)?)),
            Err(error) => Ok(Err(error.into())),
        }
    }
}

/// Runs `op` on a clone of the handle behind `resource`, holding only the calling task.
async fn stored_async<R, T, F, Fut>(
    accessor: &Accessor<ContainerState, HasSelf<ContainerState>>,
    resource: Resource<R>,
    op: F,
) -> Stored<T>
where
    R: Clone + Send + 'static,
    F: FnOnce(R) -> Fut,
    Fut: Future<Output = Result<T, StorageError>>,
{
    let handle = accessor.with(|mut access| access.get().table.get(&resource).cloned())?;
    Ok(op(handle).await.map_err(Into::into))
}

/// A timeout in nanoseconds as the store takes it.
fn nanos(timeout: Option<u64>) -> Option<Duration> {
    timeout.map(Duration::from_nanos)
}

impl HostDict for ContainerState {
    async fn open(&mut self, name: String, create_if_missing: bool) -> Stored<Resource<Dict>> {
        self.opened(|store| async move { store.dict(&name, create_if_missing).await })
            .await
    }

    async fn ephemeral(&mut self) -> Stored<Resource<Dict>> {
        self.opened(|store| async move { store.ephemeral_dict().await })
            .await
    }

    async fn from_id(&mut self, id: String) -> Stored<Resource<Dict>> {
        self.opened(|store| async move { store.dict_from_id(&id).await })
            .await
    }

    fn id(&mut self, dict: Resource<Dict>) -> wasmtime::Result<String> {
        Ok(self.table.get(&dict)?.id().to_owned())
    }

    fn name(&mut self, dict: Resource<Dict>) -> wasmtime::Result<Option<String>> {
        Ok(self.table.get(&dict)?.name().map(str::to_owned))
    }

    async fn get(&mut self, dict: Resource<Dict>, key: Vec<u8>) -> Stored<Option<Vec<u8>>> {
        self.stored(&dict, |dict| async move { dict.get(&key).await })
            .await
    }

    async fn contains(&mut self, dict: Resource<Dict>, key: Vec<u8>) -> Stored<bool> {
        self.stored(&dict, |dict| async move { dict.contains(&key).await })
            .await
    }

    async fn put(
        &mut self,
        dict: Resource<Dict>,
        key: Vec<u8>,
        value: Vec<u8>,
        skip_if_exists: bool,
    ) -> Stored<bool> {
        self.stored(&dict, |dict| async move {
            dict.put(&key, value, skip_if_exists).await
        })
        .await
    }

    async fn pop(&mut self, dict: Resource<Dict>, key: Vec<u8>) -> Stored<Option<Vec<u8>>> {
        self.stored(&dict, |dict| async move { dict.pop(&key).await })
            .await
    }

    async fn update(&mut self, dict: Resource<Dict>, entries: Vec<Entry>) -> Stored<()> {
        self.stored(&dict, |dict| async move { dict.update(entries).await })
            .await
    }

    async fn len(&mut self, dict: Resource<Dict>) -> Stored<u64> {
        self.stored(&dict, |dict| async move { dict.len().await })
            .await
    }

    async fn clear(&mut self, dict: Resource<Dict>) -> Stored<()> {
        self.stored(&dict, |dict| async move { dict.clear().await })
            .await
    }

    async fn entries(
        &mut self,
        dict: Resource<Dict>,
        after: Option<Vec<u8>>,
        limit: u32,
    ) -> Stored<Vec<Entry>> {
        self.stored(&dict, |dict| async move {
            dict.entries(after.as_deref(), limit).await
        })
        .await
    }

    fn drop(&mut self, dict: Resource<Dict>) -> wasmtime::Result<()> {
        // An ephemeral dict goes with the last handle of its maker.
        self.table.delete(dict)?;
        Ok(())
    }
}

impl HostDictWithStore<ContainerState> for HasSelf<ContainerState> {
    async fn get_async(
        accessor: &Accessor<ContainerState, Self>,
        dict: Resource<Dict>,
        key: Vec<u8>,
    ) -> Stored<Option<Vec<u8>>> {
        stored_async(accessor, dict, |dict| async move { dict.get(&key).await }).await
    }

    async fn contains_async(
        accessor: &Accessor<ContainerState, Self>,
        dict: Resource<Dict>,
        key: Vec<u8>,
    ) -> Stored<bool> {
        stored_async(
            accessor,
            dict,
            |dict| async move { dict.contains(&key).await },
        )
        .await
    }

    async fn put_async(
        accessor: &Accessor<ContainerState, Self>,
        dict: Resource<Dict>,
        key: Vec<u8>,
        value: Vec<u8>,
        skip_if_exists: bool,
    ) -> Stored<bool> {
        stored_async(accessor, dict, |dict| async move {
            dict.put(&key, value, skip_if_exists).await
        })
        .await
    }

    async fn pop_async(
        accessor: &Accessor<ContainerState, Self>,
        dict: Resource<Dict>,
        key: Vec<u8>,
    ) -> Stored<Option<Vec<u8>>> {
        stored_async(accessor, dict, |dict| async move { dict.pop(&key).await }).await
    }

    async fn update_async(
        accessor: &Accessor<ContainerState, Self>,
        dict: Resource<Dict>,
        entries: Vec<Entry>,
    ) -> Stored<()> {
        stored_async(
            accessor,
            dict,
            |dict| async move { dict.update(entries).await },
        )
        .await
    }

    async fn len_async(
        accessor: &Accessor<ContainerState, Self>,
        dict: Resource<Dict>,
    ) -> Stored<u64> {
        stored_async(accessor, dict, |dict| async move { dict.len().await }).await
    }

    async fn clear_async(
        accessor: &Accessor<ContainerState, Self>,
        dict: Resource<Dict>,
    ) -> Stored<()> {
        stored_async(accessor, dict, |dict| async move { dict.clear().await }).await
    }

    async fn entries_async(
        accessor: &Accessor<ContainerState, Self>,
        dict: Resource<Dict>,
        after: Option<Vec<u8>>,
        limit: u32,
    ) -> Stored<Vec<Entry>> {
        stored_async(accessor, dict, |dict| async move {
            dict.entries(after.as_deref(), limit).await
        })
        .await
    }
}

impl HostQueue for ContainerState {
    async fn open(&mut self, name: String, create_if_missing: bool) -> Stored<Resource<Queue>> {
        self.opened(|store| async move { store.queue(&name, create_if_missing).await })
            .await
    }

    async fn ephemeral(&mut self) -> Stored<Resource<Queue>> {
        self.opened(|store| async move { store.ephemeral_queue().await })
            .await
    }

    async fn from_id(&mut self, id: String) -> Stored<Resource<Queue>> {
        self.opened(|store| async move { store.queue_from_id(&id).await })
            .await
    }

    fn id(&mut self, queue: Resource<Queue>) -> wasmtime::Result<String> {
        Ok(self.table.get(&queue)?.id().to_owned())
    }

    fn name(&mut self, queue: Resource<Queue>) -> wasmtime::Result<Option<String>> {
        Ok(self.table.get(&queue)?.name().map(str::to_owned))
    }

    async fn put(
        &mut self,
        queue: Resource<Queue>,
        items: Vec<Vec<u8>>,
        partition: Option<String>,
        ttl_secs: u32,
        timeout: Option<u64>,
    ) -> Stored<()> {
        self.stored(&queue, |queue| async move {
            queue
                .put(items, partition.as_deref(), ttl_secs, nanos(timeout))
                .await
        })
        .await
    }

    async fn get(
        &mut self,
        queue: Resource<Queue>,
        n: u32,
        partition: Option<String>,
        timeout: Option<u64>,
    ) -> Stored<Vec<Vec<u8>>> {
        self.stored(&queue, |queue| async move {
            queue.get(n, partition.as_deref(), nanos(timeout)).await
        })
        .await
    }

    async fn len(
        &mut self,
        queue: Resource<Queue>,
        partition: Option<String>,
        total: bool,
    ) -> Stored<u64> {
        self.stored(&queue, |queue| async move {
            queue.len(partition.as_deref(), total).await
        })
        .await
    }

    async fn clear(
        &mut self,
        queue: Resource<Queue>,
        partition: Option<String>,
        all: bool,
    ) -> Stored<()> {
        self.stored(&queue, |queue| async move {
            queue.clear(partition.as_deref(), all).await
        })
        .await
    }

    async fn items(
        &mut self,
        queue: Resource<Queue>,
        partition: Option<String>,
        after: Option<u64>,
        limit: u32,
        wait: u64,
    ) -> Stored<Vec<(u64, Vec<u8>)>> {
        self.stored(&queue, |queue| async move {
            let wait = Duration::from_nanos(wait);
            queue.items(partition.as_deref(), after, limit, wait).await
        })
        .await
    }

    fn drop(&mut self, queue: Resource<Queue>) -> wasmtime::Result<()> {
        // An ephemeral queue goes with the last handle of its maker.
        self.table.delete(queue)?;
        Ok(())
    }
}

impl HostQueueWithStore<ContainerState> for HasSelf<ContainerState> {
    async fn put_async(
        accessor: &Accessor<ContainerState, Self>,
        queue: Resource<Queue>,
        items: Vec<Vec<u8>>,
        partition: Option<String>,
        ttl_secs: u32,
        timeout: Option<u64>,
    ) -> Stored<()> {
        stored_async(accessor, queue, |queue| async move {
            queue
                .put(items, partition.as_deref(), ttl_secs, nanos(timeout))
                .await
        })
        .await
    }

    async fn get_async(
        accessor: &Accessor<ContainerState, Self>,
        queue: Resource<Queue>,
        n: u32,
        partition: Option<String>,
        timeout: Option<u64>,
    ) -> Stored<Vec<Vec<u8>>> {
        stored_async(accessor, queue, |queue| async move {
            queue.get(n, partition.as_deref(), nanos(timeout)).await
        })
        .await
    }

    async fn len_async(
        accessor: &Accessor<ContainerState, Self>,
        queue: Resource<Queue>,
        partition: Option<String>,
        total: bool,
    ) -> Stored<u64> {
        stored_async(accessor, queue, |queue| async move {
            queue.len(partition.as_deref(), total).await
        })
        .await
    }

    async fn clear_async(
        accessor: &Accessor<ContainerState, Self>,
        queue: Resource<Queue>,
        partition: Option<String>,
        all: bool,
    ) -> Stored<()> {
        stored_async(accessor, queue, |queue| async move {
            queue.clear(partition.as_deref(), all).await
        })
        .await
    }

    async fn items_async(
        accessor: &Accessor<ContainerState, Self>,
        queue: Resource<Queue>,
        partition: Option<String>,
        after: Option<u64>,
        limit: u32,
        wait: u64,
    ) -> Stored<Vec<(u64, Vec<u8>)>> {
        stored_async(accessor, queue, |queue| async move {
            let wait = Duration::from_nanos(wait);
            queue.items(partition.as_deref(), after, limit, wait).await
        })
        .await
    }
}

impl HostVolume for ContainerState {
    async fn open(&mut self, name: String, create_if_missing: bool) -> Stored<Resource<Volume>> {
        self.opened(|store| async move { store.volume(&name, create_if_missing).await })
            .await
    }

    fn id(&mut self, volume: Resource<Volume>) -> wasmtime::Result<String> {
        Ok(self.table.get(&volume)?.id().to_owned())
    }

    fn name(&mut self, volume: Resource<Volume>) -> wasmtime::Result<String> {
        Ok(self.table.get(&volume)?.name().to_owned())
    }

    async fn commit(&mut self, volume: Resource<Volume>) -> Stored<()> {
        self.stored(&volume, |volume| async move { volume.commit().await })
            .await
    }

    async fn reload(&mut self, volume: Resource<Volume>) -> Stored<()> {
        self.stored(&volume, |volume| async move { volume.reload().await })
            .await
    }

    async fn listdir(
        &mut self,
        volume: Resource<Volume>,
        path: String,
        recursive: bool,
    ) -> Stored<Vec<WitVolumeEntry>> {
        self.stored(&volume, |volume| listdir(volume, path, recursive))
            .await
    }

    async fn read_file(&mut self, volume: Resource<Volume>, path: String) -> Stored<Vec<u8>> {
        self.stored(&volume, |volume| async move {
            volume.read_at_most(&path, GUEST_READ).await
        })
        .await
    }

    async fn remove_file(
        &mut self,
        volume: Resource<Volume>,
        path: String,
        recursive: bool,
    ) -> Stored<()> {
        self.stored(&volume, |volume| async move {
            volume.remove(&path, recursive).await
        })
        .await
    }

    fn drop(&mut self, volume: Resource<Volume>) -> wasmtime::Result<()> {
        self.table.delete(volume)?;
        Ok(())
    }
}

impl HostVolumeWithStore<ContainerState> for HasSelf<ContainerState> {
    async fn commit_async(
        accessor: &Accessor<ContainerState, Self>,
        volume: Resource<Volume>,
    ) -> Stored<()> {
        stored_async(
            accessor,
            volume,
            |volume| async move { volume.commit().await },
        )
        .await
    }

    async fn reload_async(
        accessor: &Accessor<ContainerState, Self>,
        volume: Resource<Volume>,
    ) -> Stored<()> {
        stored_async(
            accessor,
            volume,
            |volume| async move { volume.reload().await },
        )
        .await
    }

    async fn listdir_async(
        accessor: &Accessor<ContainerState, Self>,
        volume: Resource<Volume>,
        path: String,
        recursive: bool,
    ) -> Stored<Vec<WitVolumeEntry>> {
        stored_async(accessor, volume, |volume| listdir(volume, path, recursive)).await
    }

    async fn read_file_async(
        accessor: &Accessor<ContainerState, Self>,
        volume: Resource<Volume>,
        path: String,
    ) -> Stored<Vec<u8>> {
        stored_async(accessor, volume, |volume| async move {
            volume.read_at_most(&path, GUEST_READ).await
        })
        .await
    }

    async fn remove_file_async(
        accessor: &Accessor<ContainerState, Self>,
        volume: Resource<Volume>,
        path: String,
        recursive: bool,
    ) -> Stored<()> {
        stored_async(accessor, volume, |volume| async move {
            volume.remove(&path, recursive).await
        })
        .await
    }
}

/// The largest file a guest reads through `read-file`: a value's limit, so the copy into its
/// memory stays small (larger files are read through a mount).
const GUEST_READ: u64 = MAX_VALUE_BYTES as u64;

/// The entries under `path` of `volume`, as the contract passes them.
async fn listdir(
    volume: Volume,
    path: String,
    recursive: bool,
) -> Result<Vec<WitVolumeEntry>, StorageError> {
    let entries = match recursive {
        true => volume.list_recursive(&path).await?,
        false => volume.list(&path).await?,
    };
    Ok(entries.into_iter().map(wit_entry).collect())
}

fn wit_entry(entry: VolumeEntry) -> WitVolumeEntry {
    WitVolumeEntry {
        path: entry.path,
        kind: match entry.kind {
            EntryKind::File => VolumeEntryKind::File,
            EntryKind::Dir => VolumeEntryKind::Dir,
            EntryKind::Symlink => VolumeEntryKind::Symlink,
        },
        size: entry.size,
        mtime: entry.mtime,
    }
}
