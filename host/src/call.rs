//! Calls in flight: the reply channel an input carries, and the handle its caller keeps.
//!
//! A call's result travels over a oneshot channel from the container that runs it to whoever
//! waits. Cancelling a call closes the channel: an input still queued then never runs, and a
//! result that arrives later is dropped, so a cancelled call never delivers one. A wait with a
//! timeout that runs out leaves the call as it was (it goes on; ask again), like Modal's
//! `FunctionCall.get(timeout=...)`.
//!
//! The container running an input watches its caller: [`Abandoned`] tells it which inputs'
//! callers went away, so that it stops them (see `container`).
//!
//! Waits on a result opt out of tokio's cooperative budget: a guest task with thousands of
//! calls in flight has all their waits in one host task, and with the budget every wake past
//! the 128th would be deferred and retried, which made a fan-out quadratic in its width.

use crate::Error;
use futures::task::AtomicWaker;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::unconstrained;

/// Where a container sends one input's result.
pub(crate) type Reply = oneshot::Sender<Result<Vec<u8>, Error>>;
/// Where its caller waits for it.
pub(crate) type Receiver = oneshot::Receiver<Result<Vec<u8>, Error>>;

/// An untyped call in flight; also the `function-call` resource guests hold.
pub struct PendingCall {
    function: String,
    state: State,
}

enum State {
    Waiting(Receiver),
    /// Failed before it was queued (an unknown function, a shut-down app).
    Failed(Error),
    Cancelled,
    /// Its result was handed out already (or is being waited for elsewhere).
    Taken,
}

impl PendingCall {
    /// A call submitted to `function`, or one that could not be.
    pub(crate) fn waiting(function: &str, submitted: Result<Receiver, Error>) -> Self {
        PendingCall {
            function: function.to_owned(),
            state: match submitted {
                Ok(receiver) => State::Waiting(receiver),
                Err(error) => State::Failed(error),
            },
        }
    }

    /// Moves the call out (to wait on it without borrowing where it is kept); what stays
    /// behind reads as taken, or as cancelled if it was.
    pub(crate) fn take(&mut self) -> PendingCall {
        let state = match self.state {
            State::Cancelled => State::Cancelled,
            _ => std::mem::replace(&mut self.state, State::Taken),
        };
        PendingCall {
            function: self.function.clone(),
            state,
        }
    }

    /// Puts back a call taken out whose wait timed out, unless it was cancelled meanwhile.
    pub(crate) fn put_back(&mut self, call: PendingCall) {
        if matches!(self.state, State::Taken) && matches!(call.state, State::Waiting(_)) {
            self.state = call.state;
        }
    }

    /// Waits for the result, for at most `timeout`. When the time runs out the call stays as
    /// it was and the wait fails with [`Error::Timeout`]; otherwise the result is taken.
    pub(crate) async fn wait(&mut self, timeout: Option<Duration>) -> Result<Vec<u8>, Error> {
        let function = &self.function;
        let result = match &mut self.state {
            State::Waiting(receiver) => {
                let received = match timeout {
                    None => unconstrained(receiver).await,
                    Some(timeout) => {
                        match tokio::time::timeout(timeout, unconstrained(receiver)).await {
                            Ok(received) => received,
                            Err(_) => {
                                return Err(Error::Timeout(format!(
                                    "`{function}` did not finish within {timeout:?}"
                                )));
                            }
                        }
                    }
                };
                received.unwrap_or_else(|_| Err(shut_down(function)))
            }
            State::Failed(error) => Err(error.clone()),
            State::Cancelled => {
                return Err(Error::Cancelled(format!("`{function}` was cancelled")));
            }
            State::Taken => {
                return Err(Error::Cancelled(format!(
                    "`{function}`: the result was taken already"
                )));
            }
        };
        self.state = State::Taken;
        result
    }

    /// Cancels the call, unless its result was taken already.
    pub(crate) fn cancel(&mut self) {
        if let State::Waiting(_) | State::Failed(_) = self.state {
            self.state = State::Cancelled;
        }
    }
}

/// Waits for a submitted call's result.
pub(crate) async fn wait(
    function: &str,
    receiver: Result<Receiver, Error>,
) -> Result<Vec<u8>, Error> {
    unconstrained(receiver?)
        .await
        .unwrap_or_else(|_| Err(shut_down(function)))
}

fn shut_down(function: &str) -> Error {
    Error::Cancelled(format!(
        "`{function}`: the app shut down before the call finished"
    ))
}

/// A call running in the background, started with [`Function::spawn`](crate::Function::spawn).
///
/// Dropping the handle without asking for the result cancels the call.
pub struct FunctionCall<R> {
    call: PendingCall,
    result: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned> FunctionCall<R> {
    pub(crate) fn new(call: PendingCall) -> Self {
        FunctionCall {
            call,
            result: PhantomData,
        }
    }

    /// Waits for the call's result.
    pub async fn get(mut self) -> Result<R, Error> {
        crate::function::decode(&self.call.wait(None).await?)
    }

    /// Waits for the call's result for at most `timeout`; when it runs out, fails with
    /// [`Error::Timeout`] and the call goes on: ask again.
    pub async fn get_timeout(&mut self, timeout: Duration) -> Result<R, Error> {
        crate::function::decode(&self.call.wait(Some(timeout)).await?)
    }

    /// Cancels the call: it will not deliver a result, and [`FunctionCall::get`] fails with
    /// [`Error::Cancelled`].
    pub fn cancel(&mut self) {
        self.call.cancel();
    }
}

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
    slots: Mutex<Vec<u64>>,
    /// Whether `slots` may hold something: spares the lock on the serving loop's every turn.
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
    slot: u64,
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
        lock(&abandoned.slots).push(self.slot);
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
    /// Watches the caller of input `slot`, whose result goes to `reply`; `None` when the
    /// caller is gone already.
    pub(crate) fn watch(self: &Arc<Self>, slot: u64, reply: &mut Reply) -> Option<Watched> {
        let watch = Arc::new(Watch {
            slot,
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
            let mut slots = lock(&self.slots);
            let slot = slots.pop();
            if slots.is_empty() {
                self.any.store(false, Ordering::Release);
            }
            slot.map_or(Poll::Pending, Poll::Ready)
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

fn lock(slots: &Mutex<Vec<u64>>) -> std::sync::MutexGuard<'_, Vec<u64>> {
    // A Vec of numbers is consistent at every unlock.
    slots
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
