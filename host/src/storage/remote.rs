//! The seam a cluster plugs its shared state into: dicts, queues, volumes and secrets kept
//! somewhere every host reaches (fnhost-cluster keeps them on NATS JetStream), behind the same
//! handles as the host's own store. A volume's files are kept there; each host works on a copy
//! in its own directory, brought in step by `commit` and `reload` (`volume/sync.rs`).
//!
//! The handles ([`crate::Dict`], [`crate::Queue`], [`crate::Storage`]) check names, keys and
//! sizes and make keys canonical before they call in here, so an implementation is handed only
//! what the local store would accept; it keeps each operation's promise as the local store
//! does (see each method), or says where it cannot in its own documentation.

use crate::storage::ObjectKind;
use crate::storage::error::StorageError;
use crate::storage::secrets::{SecretListing, SecretValues};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// What a remote operation returns.
pub type RemoteFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StorageError>> + Send + 'a>>;

/// A change to one entry, as [`RemoteDict::modify`] runs it: given the entry's value (`None`
/// when absent), the value to write (`None`: leave it). It may run more than once when another
/// writer came between the read and the write; only its last run's decision counts.
pub type Change = Box<dyn FnMut(Option<&[u8]>) -> Result<Option<Vec<u8>>, StorageError> + Send>;

/// A cluster's dicts, queues and secrets.
pub trait RemoteState: Send + Sync + 'static {
    /// The dict, queue or volume of `kind` named `name`; made when missing if `create`, else
    /// `not-found`. Two hosts making the same name at once get the same object.
    fn named(&self, kind: ObjectKind, name: &str, create: bool) -> RemoteFuture<'_, RemoteObject>;

    /// A new dict or queue of `kind` with no name, removed when its last handle is dropped.
    fn ephemeral(&self, kind: ObjectKind) -> RemoteFuture<'_, RemoteObject>;

    /// The dict or queue of `kind` whose id is `id`.
    fn by_id(&self, kind: ObjectKind, id: &str) -> RemoteFuture<'_, RemoteObject>;

    /// The names of the named objects of `kind`, in order.
    fn names(&self, kind: ObjectKind) -> RemoteFuture<'_, Vec<String>>;

    /// Removes the object of `kind` named `name` and what it holds; whether it existed.
    fn delete(&self, kind: ObjectKind, name: &str) -> RemoteFuture<'_, bool>;

    /// Keeps `values` as the secret `name`; an existing one is replaced only if `overwrite`,
    /// else `invalid`.
    fn create_secret(
        &self,
        name: &str,
        values: SecretValues,
        overwrite: bool,
    ) -> RemoteFuture<'_, ()>;

    /// The variables of the secret `name`, without waiting on the network: what a container
    /// starting now gets.
    fn secret(&self, name: &str) -> Result<SecretValues, StorageError>;

    /// Every secret's name and keys, by name.
    fn secrets(&self) -> RemoteFuture<'_, Vec<SecretListing>>;

    /// Removes the secret `name`; whether it existed.
    fn delete_secret(&self, name: &str) -> RemoteFuture<'_, bool>;
}

/// A remote dict, queue or volume, as [`RemoteState`] opens it.
pub enum RemoteObject {
    /// A dict.
    Dict(Arc<dyn RemoteDict>),
    /// A queue.
    Queue(Arc<dyn RemoteQueue>),
    /// A volume.
    Volume(Arc<dyn RemoteVolume>),
}

/// A file of a remote volume, as last committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// Its path inside the volume, `/` between components, no leading `/`.
    pub path: String,
    /// What tells one committed content from another (the store's digest of it).
    pub digest: String,
}

/// The committed files of a volume a cluster keeps. Paths are checked by the host's volume
/// operations before and after they cross here.
pub trait RemoteVolume: Send + Sync + 'static {
    /// Its id.
    fn id(&self) -> &str;
    /// Its name.
    fn name(&self) -> &str;
    /// Every file committed, by path.
    fn files(&self) -> RemoteFuture<'_, Vec<RemoteFile>>;
    /// Commits the contents read from `from` (a file the host opened) as the file `path`,
    /// replacing what was there; what it is now.
    fn upload(&self, path: String, from: std::fs::File) -> RemoteFuture<'_, RemoteFile>;
    /// Writes the committed contents of `path` into `into` (a file the host made).
    fn download(&self, path: String, into: std::fs::File) -> RemoteFuture<'_, ()>;
    /// Removes the committed file `path`.
    fn remove(&self, path: String) -> RemoteFuture<'_, ()>;
}

/// A dict a cluster keeps. Keys are canonical JSON; sizes are checked.
pub trait RemoteDict: Send + Sync + 'static {
    /// Its id.
    fn id(&self) -> &str;
    /// Its name; `None` for an ephemeral dict.
    fn name(&self) -> Option<&str>;
    /// The value of `key`; `None` when absent.
    fn get(&self, key: Vec<u8>) -> RemoteFuture<'_, Option<Vec<u8>>>;
    /// Sets `key` to `value`; with `skip_if_exists` only when absent, atomically across the
    /// cluster. Whether it wrote.
    fn put(&self, key: Vec<u8>, value: Vec<u8>, skip_if_exists: bool) -> RemoteFuture<'_, bool>;
    /// Reads `key` and writes what `change` decides, with no other write to `key` between.
    fn modify(&self, key: Vec<u8>, change: Change) -> RemoteFuture<'_, ()>;
    /// Removes `key` and returns the value removed; one of two racing pops gets it.
    fn pop(&self, key: Vec<u8>) -> RemoteFuture<'_, Option<Vec<u8>>>;
    /// Sets every entry of `entries`.
    fn update(&self, entries: Vec<(Vec<u8>, Vec<u8>)>) -> RemoteFuture<'_, ()>;
    /// How many entries it holds.
    fn count(&self) -> RemoteFuture<'_, u64>;
    /// Removes every entry.
    fn clear(&self) -> RemoteFuture<'_, ()>;
    /// Up to `limit` entries in key order, after `after` (excluded) when given.
    fn entries(
        &self,
        after: Option<Vec<u8>>,
        limit: u32,
    ) -> RemoteFuture<'_, Vec<(Vec<u8>, Vec<u8>)>>;
}

/// A queue a cluster keeps. Partitions are checked (`""` is the default one); items are JSON
/// within the size limit.
pub trait RemoteQueue: Send + Sync + 'static {
    /// Its id.
    fn id(&self) -> &str;
    /// Its name; `None` for an ephemeral queue.
    fn name(&self) -> Option<&str>;
    /// Appends `items` to `partition`, waiting while it is full for at most `timeout` (`None`:
    /// as long as it takes), then `full`; each item lives `ttl` after its put.
    fn put(
        &self,
        items: Vec<Vec<u8>>,
        partition: String,
        ttl: Duration,
        timeout: Option<Duration>,
    ) -> RemoteFuture<'_, ()>;
    /// Removes and returns up to `n` items of `partition`, oldest first, waiting while it is
    /// empty for at most `timeout`. Each item goes to exactly one getter; a get dropped before
    /// it returned gives its items back.
    fn get(
        &self,
        n: u32,
        partition: String,
        timeout: Option<Duration>,
    ) -> RemoteFuture<'_, Vec<Vec<u8>>>;
    /// How many items `partition` holds, or, with `total`, every partition.
    fn len(&self, partition: String, total: bool) -> RemoteFuture<'_, u64>;
    /// Removes the items of `partition`, or, with `all`, of every partition.
    fn clear(&self, partition: String, all: bool) -> RemoteFuture<'_, ()>;
    /// Up to `limit` items of `partition` numbered after `after`, oldest first, without removing
    /// them; waits up to `wait_for` for one when there is none yet.
    fn items(
        &self,
        partition: String,
        after: Option<u64>,
        limit: u32,
        wait_for: Duration,
    ) -> RemoteFuture<'_, Vec<(u64, Vec<u8>)>>;
}
