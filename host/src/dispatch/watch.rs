//! The caller watch: which inputs of one container lost their callers, so that it stops them.
//!
//! An input's caller goes away when it cancels or drops the call, or is stopped itself; the
//! input's result can then never be delivered. Without the watch a container would run such
//! inputs to the end (or to their timeouts) for nobody; with it, the container leaves its pool
//! and is dropped once nothing it runs has a caller (see `container`).

use crate::dispatch::Reply;
use futures::task::AtomicWaker;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// Which inputs of one container lost their callers (who dropped or cancelled the call, or were
/// stopped themselves), reported as they go; and whether every input it runs has.
///
/// Each watched input registers a waker of its own with its reply channel, so a caller going
/// away costs one wake, not a scan of every input the container runs. The serving loop takes
/// the abandoned inputs one by one ([`Abandoned::next`]); a blocking wait, which holds the whole
/// instance so the loop cannot run, watches for the moment none of its inputs has a caller
/// left ([`Abandoned::stopped`]).
#[derive(Default)]
pub(crate) struct Abandoned {
    tags: Mutex<Vec<u64>>,
    /// Whether `tags` may hold something: spares the lock on the serving loop's every turn.
    any: AtomicBool,
    /// Wakes the serving loop.
    waker: AtomicWaker,
    /// Inputs watched that still run and whose caller is still there.
    live: AtomicUsize,
    /// Whether any input's caller went away while it ran.
    abandoned: AtomicBool,
    /// Wakes a blocking wait.
    stop_waker: AtomicWaker,
}

/// An input being watched: the waker its reply channel holds.
struct Watch {
    tag: u64,
    /// Set once the input stopped counting as live: its caller went away, or it finished.
    done: AtomicBool,
    abandoned: Arc<Abandoned>,
}

/// The serving loop's handle on a watched input.
pub(crate) struct Watched(Arc<Watch>);

impl Wake for Watch {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.done.swap(true, Ordering::AcqRel) {
            return;
        }
        let abandoned = &self.abandoned;
        lock(&abandoned.tags).push(self.tag);
        abandoned.any.store(true, Ordering::Release);
        abandoned.abandoned.store(true, Ordering::Release);
        abandoned.live.fetch_sub(1, Ordering::AcqRel);
        abandoned.waker.wake();
        abandoned.stop_waker.wake();
    }
}

impl Watched {
    /// The input finished; returns whether its caller was still there.
    pub(crate) fn finish(&self) -> bool {
        if self.0.done.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.0.abandoned.live.fetch_sub(1, Ordering::AcqRel);
        true
    }

    /// Whether the input's caller went away (or it finished).
    pub(crate) fn is_done(&self) -> bool {
        self.0.done.load(Ordering::Acquire)
    }
}

impl Abandoned {
    /// Watches the caller of input `tag`, whose result goes to `reply`; `None` when the
    /// caller is gone already.
    pub(crate) fn watch(self: &Arc<Self>, tag: u64, reply: &mut Reply) -> Option<Watched> {
        let watch = Arc::new(Watch {
            tag,
            done: AtomicBool::new(false),
            abandoned: Arc::clone(self),
        });
        self.live.fetch_add(1, Ordering::AcqRel);
        let waker = Waker::from(Arc::clone(&watch));
        match reply.poll_closed(&mut Context::from_waker(&waker)) {
            Poll::Pending => Some(Watched(watch)),
            Poll::Ready(()) => {
                watch.done.store(true, Ordering::Release);
                self.live.fetch_sub(1, Ordering::AcqRel);
                None
            }
        }
    }

    /// The next input whose caller went away (an input may be reported after it finished:
    /// skip those).
    pub(crate) async fn next(&self) -> u64 {
        std::future::poll_fn(|cx| {
            self.waker.register(cx.waker());
            if !self.any.load(Ordering::Acquire) {
                return Poll::Pending;
            }
            let mut tags = lock(&self.tags);
            let tag = tags.pop();
            if tags.is_empty() {
                self.any.store(false, Ordering::Release);
            }
            tag.map_or(Poll::Pending, Poll::Ready)
        })
        .await
    }

    /// Whether the container should stop: an input lost its caller and no input it runs has a
    /// caller left, so whatever still runs there is working for nobody.
    pub(crate) fn stop_requested(&self) -> bool {
        self.abandoned.load(Ordering::Acquire) && self.live.load(Ordering::Acquire) == 0
    }

    /// Resolves once [`Abandoned::stop_requested`] holds.
    pub(crate) async fn stopped(&self) {
        std::future::poll_fn(|cx| {
            self.stop_waker.register(cx.waker());
            if self.stop_requested() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
}

fn lock(tags: &Mutex<Vec<u64>>) -> std::sync::MutexGuard<'_, Vec<u64>> {
    // A Vec of numbers is consistent at every unlock.
    tags.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
