//! The store's queues: partitions of JSON items, each first in, first out, in the `queue_items`
//! table (numbered per partition) with a row per partition (`queue_partitions`: next number,
//! items, expiry).
//!
//! Invariant: every item put is returned by exactly one get, or stays. A get takes its items in
//! a committed transaction and hands them over as [`Taken`], which puts them back when it is
//! dropped before the caller received them (a cancelled or timed-out get, a caller gone before
//! the commit was answered); only `into_items` on the caller's side defuses it. Waits for items
//! or room wait on the partition's notification (`wake`), never poll.

use crate::storage::error::StorageError;
use crate::storage::limits::{self, MAX_PAGE, MAX_PARTITION_ITEMS, MAX_PARTITIONS};
use crate::storage::store::tables::ObjectKind;
use crate::storage::store::tables::{self, COUNTS, ITEMS, PARTITIONS, id_end, now_ms};
use crate::storage::store::wake::{Change, PartitionKey};
use crate::storage::store::{Object, Store};
use redb::{ReadableTable, WriteTransaction};
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::futures::Notified;
use tokio::time::Instant;

/// An item with its number in its partition.
pub type NumberedItem = (u64, Vec<u8>);

/// A queue of the store, by id. Partitions, items and times to live are checked by the handle
/// ([`crate::Queue`]) before they reach here. Cheap to clone.
#[derive(Clone)]
pub(crate) struct StoreQueue {
    object: Object,
}

impl StoreQueue {
    pub(crate) fn new(object: Object) -> StoreQueue {
        StoreQueue { object }
    }

    /// Its id (`qu-` and 32 hexadecimal digits).
    pub(crate) fn id(&self) -> &str {
        &self.object.id
    }

    /// Its name; `None` for an ephemeral queue.
    pub(crate) fn name(&self) -> Option<&str> {
        self.object.name.as_deref()
    }

    /// Appends `items` to `partition` (`""`: the default one), all or none, waiting while the
    /// partition is full for at most `timeout` (`None`: as long as it takes), then `full`. The
    /// partition is removed `ttl` after its last put.
    pub(crate) async fn put(
        &self,
        items: Vec<Vec<u8>>,
        partition: &str,
        ttl: Duration,
        timeout: Option<Duration>,
    ) -> Result<(), StorageError> {
        let key = self.partition_key(partition);
        let items: Arc<[Vec<u8>]> = items.into();
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        loop {
            let notify = self.object.store.wakers().watch(&key);
            let mut changed = pin!(notify.notified());
            changed.as_mut().enable();
            match self.try_put(&key, Arc::clone(&items), ttl).await {
                Err(StorageError::Full(message)) => {
                    if !wait(changed, deadline).await {
                        return Err(StorageError::Full(message));
                    }
                }
                done => return done,
            }
        }
    }

    /// Removes and returns up to `n` items of `partition`, oldest first, waiting while it is
    /// empty for at most `timeout` (`None`: as long as it takes): empty when none came.
    pub(crate) async fn get(
        &self,
        n: u32,
        partition: &str,
        timeout: Option<Duration>,
    ) -> Result<Vec<Vec<u8>>, StorageError> {
        let key = self.partition_key(partition);
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        loop {
            let notify = self.object.store.wakers().watch(&key);
            let mut changed = pin!(notify.notified());
            changed.as_mut().enable();
            let taken = self.take(&key, n.min(MAX_PAGE)).await?;
            if !taken.is_empty() {
                return Ok(taken.into_items());
            }
            if !wait(changed, deadline).await {
                return Ok(Vec::new());
            }
        }
    }

    /// How many items `partition` holds, or, with `total`, every partition.
    pub(crate) fn len(&self, partition: &str, total: bool) -> Result<u64, StorageError> {
        let (id, end, now) = (&*self.object.id, id_end(&self.object.id), now_ms());
        let txn = self.object.store.read()?;
        let partitions = txn.open_table(PARTITIONS)?;
        if !total {
            let row = partitions.get((id, partition))?;
            return Ok(row.map_or(0, |row| live_len(row.value(), now)));
        }
        let mut sum = 0;
        for row in partitions.range((id, "")..(end.as_str(), ""))? {
            sum += live_len(row?.1.value(), now);
        }
        Ok(sum)
    }

    /// Removes the items of `partition`, or, with `all`, of every partition.
    pub(crate) async fn clear(&self, partition: &str, all: bool) -> Result<(), StorageError> {
        let key = self.partition_key(partition);
        self.object
            .store
            .writer()
            .write(move |txn, changes| {
                if all {
                    clear_all(txn, &key.queue)?;
                    changes.push(Change::Queue(key.queue));
                } else {
                    if tables::clear_partition(txn, &key.queue, &key.partition)? {
                        tables::add_count(txn, &key.queue, -1)?;
                    }
                    changes.push(Change::Partition(key));
                }
                Ok(Ok(()))
            })
            .await
    }

    /// Up to `limit` items of `partition` after number `after` (from the oldest when `None`),
    /// without removing them; waits up to `wait_for` for one when there is none yet.
    pub(crate) async fn items(
        &self,
        partition: &str,
        after: Option<u64>,
        limit: u32,
        wait_for: Duration,
    ) -> Result<Vec<NumberedItem>, StorageError> {
        let key = self.partition_key(partition);
        let notify = self.object.store.wakers().watch(&key);
        let mut changed = pin!(notify.notified());
        changed.as_mut().enable();
        let page = self.read_items(&key, after, limit)?;
        if !page.is_empty() || wait_for.is_zero() {
            return Ok(page);
        }
        wait(changed, Some(Instant::now() + wait_for)).await;
        self.read_items(&key, after, limit)
    }

    fn read_items(
        &self,
        key: &PartitionKey,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<NumberedItem>, StorageError> {
        let start = after.map_or(0, |after| after.saturating_add(1));
        let limit = usize::try_from(limit.min(MAX_PAGE)).unwrap_or(usize::MAX);
        let (id, partition) = (key.queue.as_str(), key.partition.as_str());
        let txn = self.object.store.read()?;
        let partitions = txn.open_table(PARTITIONS)?;
        let live = partitions
            .get((id, partition))?
            .map(|row| live_len(row.value(), now_ms()));
        if live.unwrap_or(0) == 0 {
            return Ok(Vec::new());
        }
        let items = txn.open_table(ITEMS)?;
        let mut page = Vec::new();
        for row in items
            .range((id, partition, start)..=(id, partition, u64::MAX))?
            .take(limit)
        {
            let (number, item) = row?;
            page.push((number.value().2, item.value().to_vec()));
        }
        Ok(page)
    }

    /// One attempt to append `items`: `full` when the partition (or the queue) has no room.
    async fn try_put(
        &self,
        key: &PartitionKey,
        items: Arc<[Vec<u8>]>,
        ttl: Duration,
    ) -> Result<(), StorageError> {
        let key = key.clone();
        let missing = self.missing();
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        self.object
            .store
            .writer()
            .write(move |txn, changes| {
                if !tables::exists(txn, &key.queue)? {
                    return Ok(Err(missing));
                }
                let appended = append(txn, &key, &items, ttl_ms)?;
                if appended.is_ok() {
                    changes.push(Change::Partition(key));
                }
                Ok(appended)
            })
            .await
    }

    /// One attempt to take up to `n` items; what it took, to be handed over or put back.
    async fn take(&self, key: &PartitionKey, n: u32) -> Result<Taken, StorageError> {
        let (owned, store) = (key.clone(), self.object.store.clone());
        let made = key.clone();
        self.object
            .store
            .writer()
            .write_then(
                move |txn, changes| {
                    let taken = remove_oldest(txn, &owned, n)?;
                    if !taken.is_empty() {
                        changes.push(Change::Partition(owned));
                    }
                    Ok(Ok(taken))
                },
                move |items| Taken {
                    store,
                    key: made,
                    items,
                },
            )
            .await
    }

    fn partition_key(&self, partition: &str) -> PartitionKey {
        PartitionKey {
            queue: self.object.id.to_string(),
            partition: partition.to_owned(),
        }
    }

    fn missing(&self) -> StorageError {
        StorageError::NotFound(format!("the queue `{}` was removed", self.object.id))
    }
}

impl Store {
    /// The queue named `name`; made when missing if `create_if_missing`, else `not-found`.
    pub(crate) async fn queue(
        &self,
        name: &str,
        create_if_missing: bool,
    ) -> Result<StoreQueue, StorageError> {
        let object = self
            .named(ObjectKind::Queue, name, create_if_missing)
            .await?;
        Ok(StoreQueue::new(object))
    }

    /// A new queue with no name, removed when its last handle is dropped.
    pub(crate) async fn ephemeral_queue(&self) -> Result<StoreQueue, StorageError> {
        Ok(StoreQueue::new(self.ephemeral(ObjectKind::Queue).await?))
    }

    /// The queue whose id is `id`.
    pub(crate) fn queue_from_id(&self, id: &str) -> Result<StoreQueue, StorageError> {
        Ok(StoreQueue::new(self.by_id(ObjectKind::Queue, id)?))
    }
}

/// Waits for `changed` until `deadline` (forever when `None`); false when the time ran out.
async fn wait(changed: std::pin::Pin<&mut Notified<'_>>, deadline: Option<Instant>) -> bool {
    match deadline {
        None => {
            changed.await;
            true
        }
        Some(deadline) => tokio::time::timeout_at(deadline, changed).await.is_ok(),
    }
}

/// The items a partition row counts, or 0 once it expired.
fn live_len((_, len, expires): (u64, u64, u64), now: u64) -> u64 {
    if expires > now { len } else { 0 }
}

/// Appends `items` to `key`'s partition: `full` when it or the queue has no room.
fn append(
    txn: &WriteTransaction,
    key: &PartitionKey,
    items: &[Vec<u8>],
    ttl_ms: u64,
) -> Result<Result<(), StorageError>, redb::Error> {
    let (id, partition) = (key.queue.as_str(), key.partition.as_str());
    let now = now_ms();
    let row = txn
        .open_table(PARTITIONS)?
        .get((id, partition))?
        .map(|row| row.value());
    let (next, len) = match row {
        Some((next, len, expires)) if expires > now => (next, len),
        Some((next, _, _)) => {
            // Expired: it starts again empty.
            tables::clear_items(txn, &key.queue, &key.partition)?;
            (next, 0)
        }
        None => {
            let partitions = txn
                .open_table(COUNTS)?
                .get(id)?
                .map_or(0, |count| count.value());
            if partitions >= MAX_PARTITIONS {
                return Ok(Err(StorageError::Full(format!(
                    "the queue holds {partitions} partitions; the limit is {MAX_PARTITIONS}"
                ))));
            }
            tables::add_count(txn, id, 1)?;
            (0, 0)
        }
    };
    let count = items.len() as u64;
    if len + count > MAX_PARTITION_ITEMS {
        return Ok(Err(StorageError::Full(format!(
            "the partition holds {len} items and {count} more were put; it holds at most \
             {MAX_PARTITION_ITEMS}"
        ))));
    }
    let mut table = txn.open_table(ITEMS)?;
    for (number, item) in (next..).zip(items) {
        table.insert((id, partition, number), item.as_slice())?;
    }
    let row = (next + count, len + count, now.saturating_add(ttl_ms));
    txn.open_table(PARTITIONS)?.insert((id, partition), row)?;
    Ok(Ok(()))
}

/// Removes up to `n` of the oldest items of `key`'s partition (none once it expired).
fn remove_oldest(
    txn: &WriteTransaction,
    key: &PartitionKey,
    n: u32,
) -> Result<Vec<NumberedItem>, redb::Error> {
    let (id, partition) = (key.queue.as_str(), key.partition.as_str());
    let mut partitions = txn.open_table(PARTITIONS)?;
    let Some((next, len, expires)) = partitions.get((id, partition))?.map(|row| row.value()) else {
        return Ok(Vec::new());
    };
    if len == 0 || expires <= now_ms() {
        return Ok(Vec::new());
    }
    let mut items = txn.open_table(ITEMS)?;
    let mut taken = Vec::new();
    for row in items
        .range((id, partition, 0)..=(id, partition, u64::MAX))?
        .take(n as usize)
    {
        let (number, item) = row?;
        taken.push((number.value().2, item.value().to_vec()));
    }
    for (number, _) in &taken {
        items.remove((id, partition, *number))?;
    }
    partitions.insert((id, partition), (next, len - taken.len() as u64, expires))?;
    Ok(taken)
}

/// Puts `taken` back at their numbers in `key`'s partition (made again if it went).
fn put_back(
    txn: &WriteTransaction,
    key: &PartitionKey,
    taken: &[NumberedItem],
) -> Result<(), redb::Error> {
    let (id, partition) = (key.queue.as_str(), key.partition.as_str());
    if !tables::exists(txn, id)? {
        return Ok(());
    }
    let mut items = txn.open_table(ITEMS)?;
    for (number, item) in taken {
        items.insert((id, partition, *number), item.as_slice())?;
    }
    let past = taken
        .iter()
        .map(|(number, _)| number + 1)
        .max()
        .unwrap_or(0);
    let mut partitions = txn.open_table(PARTITIONS)?;
    let row = partitions.get((id, partition))?.map(|row| row.value());
    let count = taken.len() as u64;
    let row = match row {
        Some((next, len, expires)) => (next.max(past), len + count, expires),
        None => {
            let ttl = u64::try_from(limits::MAX_PARTITION_TTL.as_millis()).unwrap_or(u64::MAX);
            drop(partitions);
            tables::add_count(txn, id, 1)?;
            partitions = txn.open_table(PARTITIONS)?;
            (past, count, now_ms().saturating_add(ttl))
        }
    };
    partitions.insert((id, partition), row)?;
    Ok(())
}

/// Removes every partition of queue `id`.
fn clear_all(txn: &WriteTransaction, id: &str) -> Result<(), redb::Error> {
    let end = id_end(id);
    txn.open_table(ITEMS)?
        .retain_in((id, "", 0)..(end.as_str(), "", 0), |_, _| false)?;
    txn.open_table(PARTITIONS)?
        .retain_in((id, "")..(end.as_str(), ""), |_, _| false)?;
    txn.open_table(COUNTS)?.remove(id)?;
    Ok(())
}

/// Items a get took in a committed transaction, on their way to the getter: dropped before
/// [`Taken::into_items`], they go back to their partition at their numbers.
pub(crate) struct Taken {
    store: Store,
    key: PartitionKey,
    items: Vec<NumberedItem>,
}

impl Taken {
    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items, handed over: they are the caller's now.
    fn into_items(mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.items)
            .into_iter()
            .map(|(_, item)| item)
            .collect()
    }
}

impl Drop for Taken {
    fn drop(&mut self) {
        if self.items.is_empty() {
            return;
        }
        let (key, items) = (self.key.clone(), std::mem::take(&mut self.items));
        tracing::debug!(queue = %key.queue, items = items.len(), "a get went away: its items go back");
        self.store.writer().write_detached(move |txn, changes| {
            put_back(txn, &key, &items)?;
            changes.push(Change::Partition(key));
            Ok(Ok(()))
        });
    }
}
