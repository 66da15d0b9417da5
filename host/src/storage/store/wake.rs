//! Who waits on a queue partition: getters waiting for an item, putters waiting for room.
//!
//! A waiter takes the partition's [`Notify`] and enables its `notified()` future *before* it
//! looks at the partition, and the writer notifies after every commit that changed it, so a
//! change between the look and the wait is never missed: waits never poll.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::Notify;

/// A queue's partition, as waiters and the writer name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PartitionKey {
    pub(crate) queue: String,
    /// `""`: the default partition.
    pub(crate) partition: String,
}

/// A change the writer announces once its transaction committed.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    /// One partition's items changed.
    Partition(PartitionKey),
    /// Every partition of a queue changed (cleared, removed).
    Queue(String),
}

/// The partitions someone waits on.
#[derive(Default)]
pub(crate) struct Wakers {
    waiting: Mutex<HashMap<PartitionKey, Weak<Notify>>>,
}

impl Wakers {
    /// The notification of `key`'s changes, shared by everyone waiting on it.
    pub(crate) fn watch(&self, key: &PartitionKey) -> Arc<Notify> {
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(notify) = waiting.get(key).and_then(Weak::upgrade) {
            return notify;
        }
        // Forget partitions nobody waits on any more, now and then, so the map stays the size
        // of the waits.
        if waiting.len() >= 64 && waiting.len().is_power_of_two() {
            waiting.retain(|_, notify| notify.strong_count() > 0);
        }
        let notify = Arc::new(Notify::new());
        waiting.insert(key.clone(), Arc::downgrade(&notify));
        notify
    }

    /// Wakes everyone waiting on what `changes` touched.
    pub(crate) fn announce(&self, changes: &[Change]) {
        if changes.is_empty() {
            return;
        }
        let waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        for change in changes {
            match change {
                Change::Partition(key) => {
                    if let Some(notify) = waiting.get(key).and_then(Weak::upgrade) {
                        notify.notify_waiters();
                    }
                }
                Change::Queue(queue) => waiting
                    .iter()
                    .filter(|(key, _)| &key.queue == queue)
                    .filter_map(|(_, notify)| notify.upgrade())
                    .for_each(|notify| notify.notify_waiters()),
            }
        }
    }
}
