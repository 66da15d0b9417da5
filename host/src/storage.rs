//! Dicts, queues, secrets and volumes the host keeps between calls: Modal's `Dict`, `Queue`,
//! `Secret` and `Volume`, in the host's own store (a redb file in its state directory, or in
//! memory; volumes as directories beside it) or, on a cluster, in the state the hosts share
//! (`remote`: the seam fnhost-cluster fills with JetStream).
//!
//! A named object is found by its name from every app of the host and outlives the process;
//! an ephemeral one is removed when the last handle that made it is dropped, and at the store's
//! next open (after a crash). Keys, values and items are JSON payloads; keys are made canonical
//! (`limits`), so every SDK reaches the same entry.
//!
//! The handles (`backing` for [`Storage`], `dict`, `queue`, `volume`) check every name, key,
//! size and count before either store sees it: an operation refused by a limit changes nothing.
//! Invariants of the host's store, each kept by one module of `store/`: every acknowledged
//! change is on disk, and concurrent changes share a disk sync (`writer`, the store's one
//! writer thread; async tasks never wait on the disk, only on the writer's answer); a queue's
//! item is handed to exactly one getter or put back (`queue::Taken`); a wait for an item or for
//! room never polls (`wake`). Reads run on the calling task in a read transaction, from redb's
//! cache: they never wait on the writer.

mod backing;
mod dict;
mod error;
mod limits;
mod queue;
pub mod remote;
mod secrets;
mod store;
mod typed;
mod volume;

pub(crate) use backing::LazyStorage;
pub use backing::Storage;
pub use dict::Dict;
pub use error::StorageError;
pub(crate) use limits::check_name;
pub use limits::{
    MAX_ITEM_BYTES, MAX_KEY_BYTES, MAX_PAGE, MAX_PARTITION_ITEMS, MAX_PARTITION_TTL,
    MAX_PARTITIONS, MAX_VALUE_BYTES,
};
pub use queue::Queue;
pub use secrets::{MAX_SECRET_BYTES, MAX_SECRET_KEYS, SecretListing, SecretValues};
pub use store::tables::ObjectKind;
pub use store::{STORE_FILE, StorageSettings};
pub use typed::{TypedDict, TypedQueue};
pub(crate) use volume::VolumeDir;
pub use volume::{EntryKind, MAX_VOLUME_READ, Volume, VolumeEntry};

#[cfg(test)]
mod tests;
