//! The calls spawned through the server that are still running, by id: what a shutdown
//! waits for, then cancels.
//!
//! Invariant: an id is here from its spawn until the server has seen its call finish (and
//! counted it); [`Spawned::wait_empty`] returns once none is left.

use fnhost::CallId;
use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;

/// The running calls spawned through the server.
#[derive(Default)]
pub(crate) struct Spawned {
    running: Mutex<HashSet<CallId>>,
    emptied: Notify,
}

impl Spawned {
    fn lock(&self) -> MutexGuard<'_, HashSet<CallId>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The call `id` started.
    pub(crate) fn insert(&self, id: CallId) {
        self.lock().insert(id);
    }

    /// The call `id` finished.
    pub(crate) fn remove(&self, id: CallId) {
        let mut running = self.lock();
        running.remove(&id);
        if running.is_empty() {
            self.emptied.notify_waiters();
        }
    }

    /// The calls running now.
    pub(crate) fn ids(&self) -> Vec<CallId> {
        self.lock().iter().copied().collect()
    }

    /// Waits until no call is running.
    pub(crate) async fn wait_empty(&self) {
        loop {
            let emptied = self.emptied.notified();
            let mut emptied = std::pin::pin!(emptied);
            emptied.as_mut().enable();
            if self.lock().is_empty() {
                return;
            }
            emptied.await;
        }
    }
}
