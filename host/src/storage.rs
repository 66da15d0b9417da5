//! Dicts, queues, secrets and volumes the host keeps between calls: Modal's `Dict`, `Queue`,
//! `Secret` and `Volume`, in an embedded store (a redb file in the host's state directory, or in
//! memory) and, for volumes, directories beside it.
//!
//! A named object is found by its name from every app of the host and outlives the process;
//! an ephemeral one is removed when the last handle that made it is dropped, and at the store's
//! next open (after a crash). Keys, values and items are JSON payloads; keys are made canonical
//! (`limits`), so every SDK reaches the same entry.
//!
//! Invariants, each kept by one module: every acknowledged change is on disk, and concurrent
//! changes share a disk sync (`writer`, the store's one writer thread; async tasks never wait on
//! the disk, only on the writer's answer); a queue's item is handed to exactly one getter or
//! put back (`queue::Taken`); a wait for an item or for room never polls (`wake`); an operation
//! refused by a limit changes nothing (`limits`, checked before any write). Reads run on the
//! calling task in a read transaction, from redb's cache: they never wait on the writer.

mod dict;
mod error;
mod limits;
mod queue;
mod secrets;
mod store;
mod sweep;
mod tables;
mod volume;
mod wake;
mod writer;

pub use dict::Dict;
pub use error::StorageError;
pub(crate) use limits::check_name;
pub use limits::{
    MAX_ITEM_BYTES, MAX_KEY_BYTES, MAX_PARTITION_ITEMS, MAX_PARTITION_TTL, MAX_PARTITIONS,
    MAX_VALUE_BYTES,
};
pub use queue::Queue;
pub use secrets::{MAX_SECRET_BYTES, MAX_SECRET_KEYS, SecretListing, SecretValues};
pub(crate) use store::LazyStorage;
pub use store::{STORE_FILE, Storage, StorageSettings};
pub use tables::ObjectKind;
pub use volume::{EntryKind, MAX_VOLUME_READ, Volume, VolumeEntry};

#[cfg(test)]
mod tests;
