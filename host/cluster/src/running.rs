//! The calls this host runs for the cluster (spawned calls it took, calls spilled to it), by
//! id, so that a cancellation told on NATS by any host reaches the one running the call; and
//! the ids cancelled lately, so that a spawned call cancelled before any host took it is
//! skipped rather than run.
//!
//! Invariant: an id is in the table exactly while its call runs here; a cancellation of an id
//! not running here is remembered (a bounded number of them, oldest forgotten first) — every
//! host hears every cancellation, so the one that later takes the call skips it.

use fnhost::CallId;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use tokio::sync::oneshot;

/// How many cancelled ids a host remembers.
const REMEMBERED: usize = 100_000;

/// The calls running here, and the ids cancelled lately.
#[derive(Default)]
pub(crate) struct Running {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    running: HashMap<CallId, oneshot::Sender<()>>,
    cancelled: HashSet<CallId>,
    order: VecDeque<CallId>,
}

/// A call's place in the table: removed when dropped.
pub(crate) struct Entry<'a> {
    running: &'a Running,
    id: CallId,
}

impl Drop for Entry<'_> {
    fn drop(&mut self) {
        self.running.lock().running.remove(&self.id);
    }
}

impl Running {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The call `id` starts here: `None` when it was cancelled already; else its entry, and
    /// the receiver that hears its cancellation.
    pub(crate) fn start(&self, id: CallId) -> Option<(Entry<'_>, oneshot::Receiver<()>)> {
        let mut state = self.lock();
        if state.cancelled.contains(&id) {
            return None;
        }
        let (cancel, cancelled) = oneshot::channel();
        state.running.insert(id, cancel);
        Some((Entry { running: self, id }, cancelled))
    }

    /// The call `id` is cancelled: stopped if it runs here, skipped if it comes later.
    pub(crate) fn cancel(&self, id: CallId) {
        let mut state = self.lock();
        if let Some(cancel) = state.running.remove(&id) {
            let _ = cancel.send(());
        }
        if state.cancelled.insert(id) {
            state.order.push_back(id);
            if state.order.len() > REMEMBERED
                && let Some(oldest) = state.order.pop_front()
            {
                state.cancelled.remove(&oldest);
            }
        }
    }

    /// How many calls run here now.
    pub(crate) fn len(&self) -> usize {
        self.lock().running.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancellation_stops_a_running_call_and_skips_a_later_one() {
        let running = Running::default();
        let id: CallId = "fc-00000000000000000000000000000001".parse().unwrap();
        let (entry, mut cancelled) = running.start(id).unwrap();
        assert_eq!(running.len(), 1);
        running.cancel(id);
        assert!(cancelled.try_recv().is_ok());
        drop(entry);
        assert_eq!(running.len(), 0);
        assert!(running.start(id).is_none(), "a cancelled call is skipped");
    }
}
