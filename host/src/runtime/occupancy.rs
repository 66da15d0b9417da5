//! What a host's containers are doing, counted host-wide: how many live (hold a slot), how
//! many of those are blocked waiting on calls they made, and how much work is underway outside
//! every container (a container starting, a call waiting out its retry delay, gathering into a
//! batch or offered to another host); and a signal whenever one changes or a container ends
//! (its pooling-allocator slot and memory are free again).
//!
//! Pools use it when their queue cannot start (a container could not start for want of a slot
//! or of memory, or a call a container made waits for the pool's own limit): they wait for a
//! container to end to try again rather than spin, and they can tell a stall from a wait.
//! When every live container is blocked waiting on calls and nothing is underway, the calls
//! they wait on are queued where they cannot start, and nothing will ever free a slot: a
//! blocking function that spawns two children and waits for both, thirty levels deep, fills
//! every slot with parents. Without the count that ends only at the function's timeout (300 s
//! by default), at full CPU. Without the count of work underway, a call whose callee's
//! container is starting, or waits to be retried, would be taken for a stall and failed. An
//! idle container is live and not waiting: it retires after its scaledown window and makes
//! room, so it is no stall.
//!
//! Only blocking waits are counted (`call`, `function-call.get`): an async body's tasks waiting
//! on `call-async` look busy, so a stall made only of async waits ends at its timeouts. A wait
//! stops counting the moment it is woken (its call answered), not when its container's task
//! next runs: in between, the callee's container may end, and a wait already answered would
//! be taken for a stall, failing the calls queued behind it.

use futures::task::AtomicWaker;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Wake, Waker};
use tokio::sync::Notify;

/// The host-wide counts.
#[derive(Debug, Default)]
pub(crate) struct Occupancy {
    /// Containers alive: instantiated (or being), not yet dropped.
    live: AtomicUsize,
    /// Live containers blocked in a call wait.
    waiting: AtomicUsize,
    /// Work on its way to a container or back from elsewhere: [`Underway`]s alive.
    underway: AtomicUsize,
    /// How many containers ended, ever: a pool waiting for room compares it.
    ended: AtomicU64,
    /// Signalled when a count changes or a container ends.
    changed: Notify,
}

impl Occupancy {
    /// Whether every live container is blocked waiting on a call and nothing is underway:
    /// none of them can free anything until a call they wait on starts.
    pub(crate) fn stalled(&self) -> bool {
        let waiting = self.waiting.load(Ordering::Acquire);
        waiting > 0
            && waiting >= self.live.load(Ordering::Acquire)
            && self.underway.load(Ordering::Acquire) == 0
    }

    /// Resolves at the next change. Create it before looking at what it guards.
    pub(crate) fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }

    /// Wakes whoever waits for a change, to look again (a pool that closed: its waiter ends).
    pub(crate) fn nudge(&self) {
        self.changed.notify_waiters();
    }

    /// How many containers ended so far.
    pub(crate) fn ended(&self) -> u64 {
        self.ended.load(Ordering::Acquire)
    }

    /// A container started (`true`) or stopped (`false`) waiting on a call.
    fn set_waiting(&self, waiting: bool) {
        if waiting {
            self.waiting.fetch_add(1, Ordering::AcqRel);
        } else {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
        }
        self.changed.notify_waiters();
    }
}

/// Runs `wait`, a container's wait on a call, counted as waiting while it is pending and not
/// woken: from before each poll until its waker is called (or it ends, however it ends).
pub(crate) async fn waiting_on<T>(occupancy: &Arc<Occupancy>, wait: impl Future<Output = T>) -> T {
    let waiter = Arc::new(Waiter {
        occupancy: Arc::clone(occupancy),
        counted: AtomicBool::new(false),
        task: AtomicWaker::new(),
    });
    let _uncounted_at_end = UncountAtEnd(Arc::clone(&waiter));
    let waker = Waker::from(Arc::clone(&waiter));
    let mut wait = std::pin::pin!(wait);
    std::future::poll_fn(|context| {
        waiter.task.register(context.waker());
        // Counted before the poll: a wake during it uncounts, and is not lost.
        waiter.count();
        wait.as_mut().poll(&mut Context::from_waker(&waker))
    })
    .await
}

/// One wait on a call: its waker, which uncounts it before waking the container's task.
struct Waiter {
    occupancy: Arc<Occupancy>,
    counted: AtomicBool,
    task: AtomicWaker,
}

impl Waiter {
    fn count(&self) {
        if !self.counted.swap(true, Ordering::AcqRel) {
            self.occupancy.set_waiting(true);
        }
    }

    fn uncount(&self) {
        if self.counted.swap(false, Ordering::AcqRel) {
            self.occupancy.set_waiting(false);
        }
    }
}

impl Wake for Waiter {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.uncount();
        self.task.wake();
    }
}

/// Uncounts the wait when it ends: answered, or dropped (its container's deadline, a trap).
struct UncountAtEnd(Arc<Waiter>);

impl Drop for UncountAtEnd {
    fn drop(&mut self) {
        self.0.uncount();
    }
}

/// Counts one container as live from its start to its end. Dropped after the container's store
/// (declared after it), so that when pools hear of the end, the slot and memory are free.
pub(crate) struct Live(Arc<Occupancy>);

impl Live {
    /// A container started.
    pub(crate) fn new(occupancy: Arc<Occupancy>) -> Self {
        occupancy.live.fetch_add(1, Ordering::AcqRel);
        occupancy.changed.notify_waiters();
        Live(occupancy)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let occupancy = &self.0;
        occupancy.live.fetch_sub(1, Ordering::AcqRel);
        occupancy.ended.fetch_add(1, Ordering::AcqRel);
        occupancy.changed.notify_waiters();
    }
}

/// Counts one piece of work as underway while it lives: a container starting, or a call on its
/// way to a container (waiting out its retry delay, gathering into a batch) or running on
/// another host.
pub(crate) struct Underway(Arc<Occupancy>);

impl Underway {
    /// Work set off.
    pub(crate) fn new(occupancy: &Arc<Occupancy>) -> Self {
        occupancy.underway.fetch_add(1, Ordering::AcqRel);
        Underway(Arc::clone(occupancy))
    }
}

impl Drop for Underway {
    fn drop(&mut self) {
        self.0.underway.fetch_sub(1, Ordering::AcqRel);
        self.0.changed.notify_waiters();
    }
}

impl std::fmt::Debug for Underway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Underway")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Poll;

    #[test]
    fn stalled_when_every_live_container_waits() {
        let occupancy = Arc::new(Occupancy::default());
        assert!(!occupancy.stalled());
        let first = Live::new(Arc::clone(&occupancy));
        let _second = Live::new(Arc::clone(&occupancy));
        occupancy.set_waiting(true);
        assert!(!occupancy.stalled(), "one of two still works (or idles)");
        occupancy.set_waiting(true);
        assert!(occupancy.stalled());
        occupancy.set_waiting(false);
        drop(first);
        assert_eq!(occupancy.ended(), 1);
        assert!(occupancy.stalled(), "the one left waits");
        occupancy.set_waiting(false);
        assert!(!occupancy.stalled());
    }

    #[test]
    fn a_wait_stops_counting_when_its_call_is_answered_before_it_runs_again() {
        let occupancy = Arc::new(Occupancy::default());
        let _live = Live::new(Arc::clone(&occupancy));
        let (answer, answered) = tokio::sync::oneshot::channel::<u32>();
        let mut wait = Box::pin(waiting_on(&occupancy, answered));
        let mut context = Context::from_waker(Waker::noop());
        assert!(wait.as_mut().poll(&mut context).is_pending());
        assert!(occupancy.stalled(), "the one live container waits");
        answer.send(7).unwrap();
        assert!(
            !occupancy.stalled(),
            "answered, though its task has not run since"
        );
        assert!(matches!(
            wait.as_mut().poll(&mut context),
            Poll::Ready(Ok(7))
        ));
        assert!(!occupancy.stalled());
        // A wait dropped while pending (a deadline, a trap) stops counting too.
        let (_answer, never) = tokio::sync::oneshot::channel::<u32>();
        let mut wait = Box::pin(waiting_on(&occupancy, never));
        assert!(wait.as_mut().poll(&mut context).is_pending());
        assert!(occupancy.stalled());
        drop(wait);
        assert!(!occupancy.stalled());
    }

    #[test]
    fn no_stall_while_work_is_underway() {
        let occupancy = Arc::new(Occupancy::default());
        let _live = Live::new(Arc::clone(&occupancy));
        occupancy.set_waiting(true);
        let starting = Underway::new(&occupancy);
        assert!(
            !occupancy.stalled(),
            "the container starting may serve the call waited on"
        );
        let changed = occupancy.changed();
        drop(starting);
        assert!(
            futures::FutureExt::now_or_never(changed).is_some(),
            "its end is heard"
        );
        assert!(occupancy.stalled());
    }
}
