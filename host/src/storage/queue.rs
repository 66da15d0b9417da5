//! The queue handle (Modal's `Queue`): partitions of JSON items, each first in, first out, in
//! the host's store or a cluster's.
//!
//! Invariant: partitions, items, counts and times to live are checked here, once, before either
//! store sees them, so a refused operation changes nothing in either.

use crate::storage::error::StorageError;
use crate::storage::limits::{self, MAX_ITEM_BYTES, MAX_PARTITION_ITEMS};
use crate::storage::remote::RemoteQueue;
use crate::storage::store::queue::StoreQueue;

use crate::storage::store::queue::NumberedItem;
use std::sync::Arc;
use std::time::Duration;

/// A queue: a handle to it by id. Cheap to clone.
#[derive(Clone)]
pub struct Queue {
    backing: Backing,
}

#[derive(Clone)]
enum Backing {
    Store(StoreQueue),
    Remote(Arc<dyn RemoteQueue>),
}

impl Queue {
    pub(crate) fn in_store(queue: StoreQueue) -> Queue {
        Queue {
            backing: Backing::Store(queue),
        }
    }

    pub(crate) fn remote(queue: Arc<dyn RemoteQueue>) -> Queue {
        Queue {
            backing: Backing::Remote(queue),
        }
    }

    /// Its id (`qu-` and 32 hexadecimal digits).
    pub fn id(&self) -> &str {
        match &self.backing {
            Backing::Store(queue) => queue.id(),
            Backing::Remote(queue) => queue.id(),
        }
    }

    /// Its name; `None` for an ephemeral queue.
    pub fn name(&self) -> Option<&str> {
        match &self.backing {
            Backing::Store(queue) => queue.name(),
            Backing::Remote(queue) => queue.name(),
        }
    }

    /// Appends `items` to `partition` (`None`: the default one), all or none, waiting while
    /// the partition is full for at most `timeout` (`None`: as long as it takes), then `full`.
    /// The partition is removed `ttl_secs` after its last put.
    pub async fn put(
        &self,
        items: Vec<Vec<u8>>,
        partition: Option<&str>,
        ttl_secs: u32,
        timeout: Option<Duration>,
    ) -> Result<(), StorageError> {
        let partition = limits::partition(partition)?;
        let ttl = limits::partition_ttl(ttl_secs)?;
        if items.len() as u64 > MAX_PARTITION_ITEMS {
            return Err(StorageError::TooLarge(format!(
                "a put of {} items; a partition holds at most {MAX_PARTITION_ITEMS}",
                items.len()
            )));
        }
        for item in &items {
            limits::check_size("an item", item.len(), MAX_ITEM_BYTES)?;
        }
        if items.is_empty() {
            return Ok(());
        }
        match &self.backing {
            Backing::Store(queue) => queue.put(items, partition, ttl, timeout).await,
            Backing::Remote(queue) => queue.put(items, partition.into(), ttl, timeout).await,
        }
    }

    /// Removes and returns up to `n` items of `partition`, oldest first, waiting while it is
    /// empty for at most `timeout` (`None`: as long as it takes): empty when none came.
    pub async fn get(
        &self,
        n: u32,
        partition: Option<&str>,
        timeout: Option<Duration>,
    ) -> Result<Vec<Vec<u8>>, StorageError> {
        let partition = limits::partition(partition)?;
        if n == 0 {
            return Ok(Vec::new());
        }
        match &self.backing {
            Backing::Store(queue) => queue.get(n, partition, timeout).await,
            Backing::Remote(queue) => queue.get(n, partition.into(), timeout).await,
        }
    }

    /// How many items `partition` holds, or, with `total`, every partition.
    pub async fn len(&self, partition: Option<&str>, total: bool) -> Result<u64, StorageError> {
        let partition = limits::partition(partition)?;
        if total && !partition.is_empty() {
            return Err(StorageError::Invalid("a partition with `total`".into()));
        }
        match &self.backing {
            Backing::Store(queue) => queue.len(partition, total),
            Backing::Remote(queue) => queue.len(partition.into(), total).await,
        }
    }

    /// Removes the items of `partition`, or, with `all`, of every partition.
    pub async fn clear(&self, partition: Option<&str>, all: bool) -> Result<(), StorageError> {
        let partition = limits::partition(partition)?;
        if all && !partition.is_empty() {
            return Err(StorageError::Invalid("a partition with `all`".into()));
        }
        match &self.backing {
            Backing::Store(queue) => queue.clear(partition, all).await,
            Backing::Remote(queue) => queue.clear(partition.into(), all).await,
        }
    }

    /// Up to `limit` items of `partition` after number `after` (from the oldest when `None`),
    /// without removing them; waits up to `wait_for` for one when there is none yet.
    pub async fn items(
        &self,
        partition: Option<&str>,
        after: Option<u64>,
        limit: u32,
        wait_for: Duration,
    ) -> Result<Vec<NumberedItem>, StorageError> {
        let partition = limits::partition(partition)?;
        match &self.backing {
            Backing::Store(queue) => queue.items(partition, after, limit, wait_for).await,
            Backing::Remote(queue) => {
                let items = queue.items(partition.into(), after, limit, wait_for);
                items.await
            }
        }
    }
}
