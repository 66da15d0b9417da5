//! Spawned calls kept by id: the host's store of calls in the background, running or finished.
//!
//! A spawned call is registered here under the id its request carries, and a task of its own
//! waits for its result and records it. Handles (the host's `FunctionCall`, a guest's
//! `function-call` resource, one found again with `from_id`) only read the record: dropping
//! every handle leaves the call running, as Modal's, and anyone holding the id (another
//! function, another client) may collect or cancel it. A finished call is kept for the
//! retention window, within a count and a byte budget: past either, the oldest finished calls
//! are forgotten first; running calls are never forgotten (their number is bounded by the
//! pools' queues).
//!
//! A call belongs to the app that spawned it (its code, or a handle to one of its functions):
//! its [`Owner`]. A guest finds by id only its own app's calls ([`CallStore::find_owned`]);
//! the host's API finds every call. Without it, one app's code would read another's results
//! (and cancel its calls) by id.
//!
//! A result given to a guest that found the call by id goes first to the host's
//! [`ResultJournal`] when it has one (a server's, on disk): a crash of the host must not take
//! back a result a reader has seen, as it would a result only the spawner's own handle read.
//!
//! Invariant: every registered call ends with exactly one outcome (its result, its error, or
//! `cancelled`), which every reader sees; without the task a result nobody waits for would be
//! lost, and without the budget a host serving spawns for a day would grow without bound.

use crate::Error;
use crate::dispatch::owner::Owner;
use crate::dispatch::pending::app_shut_down;
use crate::dispatch::{CallId, Receiver};
use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};
use tokio::sync::Notify;

/// How long finished calls are kept, and how many of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Retention {
    /// How long a finished call's outcome is kept.
    pub(crate) window: Duration,
    /// At most this many finished calls are kept.
    pub(crate) max_calls: usize,
    /// At most this many bytes of finished calls' results (and error messages) are kept.
    pub(crate) max_bytes: u64,
}

/// A call's outcome: its result, or its error.
pub(crate) type Outcome = Result<Vec<u8>, Error>;

/// Where a finished call's result is kept before a reader who found the call by id is given
/// it: a store on disk (a server's), so that a crash of the host takes back no result a
/// reader has seen.
pub trait ResultJournal: Send + Sync {
    /// Keeps `call` on disk: returns once it is there (a call kept already: at once).
    fn keep(&self, call: &RetainedCall) -> std::io::Result<()>;
}

/// How far a call's outcome is kept ([`Retained::durability`]).
mod durability {
    /// Nobody found the call by id: its outcome lives in memory only.
    pub(super) const IN_MEMORY: u8 = 0;
    /// A guest found the call by id: its outcome goes to the journal before it is read.
    pub(super) const FOUND_BY_ID: u8 = 1;
    /// The outcome is on disk: journaled, or restored from disk.
    pub(super) const ON_DISK: u8 = 2;
}

/// The next rank in the order calls finish, host-wide: what [`wait_finished`] ranks finished calls
/// by (calls restored after a restart rank 0, before every call finished since).
static NEXT_FINISH: AtomicU64 = AtomicU64::new(1);

/// One spawned call, as every handle to it sees it.
///
/// A host may keep a million of them (a guest holding that many handles, spawned faster than
/// they run): each is one allocation beside its reply channel, and its task is a small future
/// polling the channel through it (a `watch` channel alone weighed about 400 bytes, and a
/// task selecting over the wait and a cancel signal about 380).
pub struct Retained {
    id: CallId,
    owner: Owner,
    function: Arc<str>,
    /// The outcome, set once: by the call's task, or by `restore`.
    outcome: OnceLock<Outcome>,
    /// Wakes who waits for the outcome once it is set.
    settled: Notify,
    /// Where the call stands in the order calls finished; set just before its outcome.
    finish_rank: AtomicU64,
    /// Whether the outcome must be, or is, on disk (a [`durability`] constant).
    durability: AtomicU8,
    /// The running call's result channel and the waker of the task that polls it. `cancel`
    /// takes the receiver (dropping it cancels the callee's input) and wakes the task.
    running: Mutex<Polled>,
}

/// What [`Retained::running`] holds.
#[derive(Default)]
struct Polled {
    receiver: Option<Receiver>,
    waker: Option<Waker>,
}

impl Retained {
    /// The call's id.
    pub(crate) fn id(&self) -> CallId {
        self.id
    }

    /// The function called.
    pub(crate) fn function(&self) -> &str {
        &self.function
    }

    /// The app that spawned it.
    pub(crate) fn owner(&self) -> &Owner {
        &self.owner
    }

    /// A guest found the call by id: from now on its outcome is journaled before it is read
    /// ([`CallStore::keep_given_out`]).
    pub(crate) fn found_by_id(&self) {
        let _ = self.durability.compare_exchange(
            durability::IN_MEMORY,
            durability::FOUND_BY_ID,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// The outcome, waiting for it for at most `timeout` (`None`: as long as it takes). When
    /// the time runs out the wait fails with [`Error::Timeout`] and the call goes on.
    pub(crate) async fn wait(&self, timeout: Option<Duration>) -> Outcome {
        let function = &self.function;
        match timeout {
            None => self.outcome().await,
            Some(timeout) => tokio::time::timeout(timeout, self.outcome())
                .await
                .unwrap_or_else(|_| {
                    Err(Error::Timeout(format!(
                        "`{function}` did not finish within {timeout:?}"
                    )))
                }),
        }
    }

    /// The outcome if it comes within `wait`; `None` while the call still runs.
    pub(crate) async fn within(&self, wait: Duration) -> Option<Outcome> {
        tokio::time::timeout(wait, self.outcome()).await.ok()
    }

    /// Returns once the call has finished (or the host shut down): its outcome.
    async fn finished(&self) -> &Outcome {
        loop {
            // Registered before the look, so that an outcome set in between wakes it.
            let settled = self.settled.notified();
            if let Some(outcome) = self.outcome.get() {
                return outcome;
            }
            settled.await;
        }
    }

    /// The call's rank in the order calls finished, once it has.
    fn finish_rank(&self) -> Option<u64> {
        let finished = self.outcome.get().is_some();
        finished.then(|| self.finish_rank.load(Ordering::Relaxed))
    }

    async fn outcome(&self) -> Outcome {
        self.finished().await.clone()
    }

    /// Sets the outcome, unless it is set, and wakes its readers.
    fn settle(&self, outcome: Outcome) {
        if self.outcome.set(outcome).is_ok() {
            self.settled.notify_waiters();
        }
    }

    /// Cancels the call unless it finished: it ends as `cancelled`, and its input stops.
    pub(crate) fn cancel(&self) {
        let waker = {
            let mut running = lock(&self.running);
            drop(running.receiver.take());
            running.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Polls for the running call's result: the callee's, or `cancelled` once `cancel` took
    /// the channel.
    fn poll_result(&self, context: &mut Context<'_>) -> Poll<Outcome> {
        let mut running = lock(&self.running);
        let Some(receiver) = running.receiver.as_mut() else {
            return Poll::Ready(Err(Error::Cancelled(format!(
                "`{}` was cancelled",
                self.function
            ))));
        };
        match Pin::new(receiver).poll(context) {
            Poll::Ready(result) => {
                running.receiver = None;
                running.waker = None;
                Poll::Ready(result.unwrap_or_else(|_| Err(app_shut_down(&self.function))))
            }
            Poll::Pending => {
                if !running
                    .waker
                    .as_ref()
                    .is_some_and(|waker| waker.will_wake(context.waker()))
                {
                    running.waker = Some(context.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

/// A running call, held by its task until it records the outcome: dropped before (the host
/// shut down, and its tasks with it), it settles the call as shut down, so that no reader
/// waits for ever.
struct Running(Arc<Retained>);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.outcome.get().is_none() {
            self.0.settle(Err(shut_down(&self.0.function)));
        }
    }
}

/// A handle to a spawned call: what a guest's `function-call` resource holds.
pub type CallHandle = Arc<Retained>;

/// Waits until at least one of `calls` has finished, for at most `timeout` (`None`: as long
/// as it takes): the indices of those finished, in the order they finished; empty when the
/// time ran out, `calls` is empty, or the host shut down. The calls go on either way.
pub(crate) async fn wait_finished(calls: &[CallHandle], timeout: Option<Duration>) -> Vec<usize> {
    if calls.is_empty() {
        return Vec::new();
    }
    let any = futures::future::select_all(calls.iter().map(|call| Box::pin(call.finished())));
    match timeout {
        None => {
            any.await;
        }
        Some(timeout) => {
            if tokio::time::timeout(timeout, any).await.is_err() {
                return Vec::new();
            }
        }
    }
    let mut finished: Vec<(u64, usize)> = calls
        .iter()
        .enumerate()
        .filter_map(|(index, call)| Some((call.finish_rank()?, index)))
        .collect();
    finished.sort_unstable();
    finished.into_iter().map(|(_, index)| index).collect()
}

/// A finished call as it is saved and restored across a restart.
#[derive(Debug, Clone)]
pub struct RetainedCall {
    /// The call's id.
    pub id: CallId,
    /// The app that spawned it, as deployed (`None`: an app never deployed, whose restored
    /// calls only the host's API finds).
    pub app: Option<String>,
    /// The function called.
    pub function: String,
    /// When it finished.
    pub finished: SystemTime,
    /// Its result (the JSON the function returned) or its error.
    pub result: Result<Vec<u8>, Error>,
}

/// What the store holds now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetainedStats {
    /// Spawned calls still running.
    pub running: usize,
    /// Finished calls kept.
    pub finished: usize,
    /// Bytes of the finished calls' results and error messages.
    pub bytes: u64,
}

/// The host's spawned calls, by id.
pub(crate) struct CallStore {
    retention: Retention,
    index: Mutex<Index>,
    /// Where results read by id go first, while its owner (a server) keeps it (none: the
    /// host keeps nothing on disk). Held weakly, so that a stopped server's journal closes.
    journal: RwLock<Option<Weak<dyn ResultJournal>>>,
}

#[derive(Default)]
struct Index {
    calls: HashMap<CallId, Arc<Retained>>,
    /// Finished calls in the order they finished: when, and what they weigh.
    finished: VecDeque<(CallId, SystemTime, u64)>,
    bytes: u64,
}

impl CallStore {
    pub(crate) fn new(retention: Retention) -> Self {
        CallStore {
            retention,
            index: Mutex::default(),
            journal: RwLock::default(),
        }
    }

    /// Journals the results read by id in `journal` from now on, while it lives.
    pub(crate) fn set_journal(&self, journal: &Arc<dyn ResultJournal>) {
        *self
            .journal
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Arc::downgrade(journal));
    }

    /// The journal, while its owner keeps it.
    fn journal(&self) -> Option<Arc<dyn ResultJournal>> {
        let journal = self
            .journal
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        journal.as_ref().and_then(Weak::upgrade)
    }

    /// Before a reader who found `call` by id is given its outcome: puts the finished call in
    /// the journal (once), and returns when it is on disk. At once for a call nobody found by
    /// id, one still running, or a host without a journal.
    pub(crate) async fn keep_given_out(&self, call: &Retained) -> std::io::Result<()> {
        if call.durability.load(Ordering::Acquire) != durability::FOUND_BY_ID {
            return Ok(());
        }
        let (Some(journal), Some(outcome)) = (self.journal(), call.outcome.get()) else {
            return Ok(());
        };
        let record = RetainedCall {
            id: call.id,
            app: call.owner.app().map(str::to_owned),
            function: call.function.to_string(),
            finished: SystemTime::now(),
            result: outcome.clone(),
        };
        tokio::task::spawn_blocking(move || journal.keep(&record))
            .await
            .map_err(std::io::Error::other)??;
        call.durability
            .store(durability::ON_DISK, Ordering::Release);
        Ok(())
    }

    /// Registers the call `id` of `function`, spawned by `owner` and submitted as
    /// `submitted`, and starts the task that records its outcome. `keep` is held until then
    /// (the app that runs the call, so that an app replaced by a new version drains its
    /// spawned calls before it closes).
    pub(crate) fn start(
        self: &Arc<Self>,
        id: CallId,
        owner: Owner,
        function: &str,
        submitted: Result<Receiver, Error>,
        keep: impl Send + 'static,
    ) -> Arc<Retained> {
        let (receiver, refused) = match submitted {
            Ok(receiver) => (Some(receiver), None),
            Err(error) => (None, Some(error)),
        };
        let retained = Arc::new(Retained {
            id,
            owner,
            function: Arc::from(function),
            outcome: OnceLock::new(),
            settled: Notify::new(),
            finish_rank: AtomicU64::new(0),
            durability: AtomicU8::new(durability::IN_MEMORY),
            running: Mutex::new(Polled {
                receiver,
                waker: None,
            }),
        });
        lock(&self.index).calls.insert(id, Arc::clone(&retained));
        if let Some(error) = refused {
            drop(keep);
            self.finish(&retained, Err(error), SystemTime::now());
            return retained;
        }
        let store = Arc::clone(self);
        let running = Running(Arc::clone(&retained));
        tokio::spawn(async move {
            let result = std::future::poll_fn(|context| running.0.poll_result(context)).await;
            drop(keep);
            store.finish(&running.0, result, SystemTime::now());
        });
        retained
    }

    /// The call `id` (as printed), if it is known and not expired, whoever spawned it.
    pub(crate) fn find(&self, id: &str) -> Result<Arc<Retained>, Error> {
        self.find_where(id, |_| true)
    }

    /// The call `id` of `owner`: another app's call is not found, with the same error as an
    /// unknown id (so that an app learns nothing of another's calls).
    pub(crate) fn find_owned(&self, id: &str, owner: &Owner) -> Result<Arc<Retained>, Error> {
        self.find_where(id, |call| call.owner == *owner)
    }

    fn find_where(
        &self,
        id: &str,
        visible: impl Fn(&Retained) -> bool,
    ) -> Result<Arc<Retained>, Error> {
        let unknown = || {
            let shown: String = id.chars().take(64).collect();
            Error::NotFound(format!(
                "no call `{shown}` (unknown, or finished longer ago than the retention window)"
            ))
        };
        let id: CallId = id.parse().map_err(|_| unknown())?;
        let mut index = lock(&self.index);
        self.expire(&mut index, SystemTime::now());
        index
            .calls
            .get(&id)
            .filter(|call| visible(call))
            .cloned()
            .ok_or_else(unknown)
    }

    /// Records the outcome of `call`, then forgets what the retention no longer keeps.
    fn finish(&self, call: &Retained, result: Outcome, finished: SystemTime) {
        let weight = weight(&result);
        let rank = NEXT_FINISH.fetch_add(1, Ordering::Relaxed);
        call.finish_rank.store(rank, Ordering::Relaxed);
        call.settle(result);
        let id = call.id;
        let mut index = lock(&self.index);
        if index.calls.contains_key(&id) {
            index.finished.push_back((id, finished, weight));
            index.bytes += weight;
        }
        self.expire(&mut index, SystemTime::now());
    }

    /// Forgets finished calls past the window, then the oldest ones while over a budget.
    fn expire(&self, index: &mut Index, now: SystemTime) {
        let Retention {
            window,
            max_calls,
            max_bytes,
        } = self.retention;
        while let Some(&(id, finished, weight)) = index.finished.front() {
            let expired = now.duration_since(finished).unwrap_or_default() > window;
            if !expired && index.finished.len() <= max_calls && index.bytes <= max_bytes {
                break;
            }
            index.finished.pop_front();
            index.bytes -= weight;
            index.calls.remove(&id);
        }
    }

    /// The finished calls kept, oldest first.
    pub(crate) fn finished(&self) -> Vec<RetainedCall> {
        let index = lock(&self.index);
        index
            .finished
            .iter()
            .filter_map(|&(id, finished, _)| {
                let retained = index.calls.get(&id)?;
                let result = retained.outcome.get()?.clone();
                Some(RetainedCall {
                    id,
                    app: retained.owner.app().map(str::to_owned),
                    function: retained.function.to_string(),
                    finished,
                    result,
                })
            })
            .collect()
    }

    /// Keeps `calls` (finished calls saved before a restart) as if they had finished here;
    /// those past the window are dropped.
    pub(crate) fn restore(&self, calls: Vec<RetainedCall>) {
        let mut index = lock(&self.index);
        for call in calls {
            if index.calls.contains_key(&call.id) {
                continue;
            }
            let weight = weight(&call.result);
            index.calls.insert(
                call.id,
                Arc::new(Retained {
                    id: call.id,
                    // A call of an app never deployed is nobody's now: only the host finds it.
                    owner: call
                        .app
                        .map_or(Owner::Unnamed(0), |app| Owner::App(Arc::from(app))),
                    function: Arc::from(call.function),
                    outcome: OnceLock::from(call.result),
                    settled: Notify::new(),
                    finish_rank: AtomicU64::new(0),
                    durability: AtomicU8::new(durability::ON_DISK),
                    running: Mutex::default(),
                }),
            );
            index.finished.push_back((call.id, call.finished, weight));
            index.bytes += weight;
        }
        index
            .finished
            .make_contiguous()
            .sort_by_key(|&(_, finished, _)| finished);
        self.expire(&mut index, SystemTime::now());
    }

    pub(crate) fn stats(&self) -> RetainedStats {
        let index = lock(&self.index);
        RetainedStats {
            running: index.calls.len() - index.finished.len(),
            finished: index.finished.len(),
            bytes: index.bytes,
        }
    }
}

/// What a finished call's outcome weighs in the byte budget.
fn weight(outcome: &Outcome) -> u64 {
    match outcome {
        Ok(bytes) => bytes.len() as u64,
        Err(error) => error.message().len() as u64,
    }
}

fn shut_down(function: &str) -> Error {
    Error::Cancelled(format!(
        "`{function}`: the host shut down before the call finished"
    ))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::owner::CallOwner;
    use tokio::sync::oneshot;

    fn store(max_calls: usize, max_bytes: u64) -> Arc<CallStore> {
        Arc::new(CallStore::new(Retention {
            window: Duration::from_secs(3600),
            max_calls,
            max_bytes,
        }))
    }

    async fn finished(store: &Arc<CallStore>, result: Outcome) -> Arc<Retained> {
        let (reply, receiver) = oneshot::channel();
        let call = store.start(CallId::mint(), Owner::Unnamed(1), "f", Ok(receiver), ());
        reply.send(result).unwrap();
        call.wait(None).await.ok();
        // The task records the call in the index just after its outcome.
        while store.stats().running > 0 {
            tokio::task::yield_now().await;
        }
        call
    }

    #[tokio::test]
    async fn a_call_is_found_by_id_until_evicted_oldest_first() {
        let store = store(2, 1 << 20);
        let first = finished(&store, Ok(b"1".to_vec())).await;
        let second = finished(&store, Ok(b"2".to_vec())).await;
        let found = store.find(&first.id().to_string()).unwrap();
        assert_eq!(found.wait(None).await.unwrap(), b"1");
        let _third = finished(&store, Ok(b"3".to_vec())).await;
        assert!(matches!(
            store.find(&first.id().to_string()),
            Err(Error::NotFound(_))
        ));
        assert!(store.find(&second.id().to_string()).is_ok());
        assert_eq!(store.stats().finished, 2);
    }

    #[tokio::test]
    async fn an_app_finds_only_its_own_calls_by_id() {
        let store = store(10, 1 << 20);
        let (named, other) = (CallOwner::default(), CallOwner::default());
        named.deployed_as("shop");
        let call = |owner: Owner| {
            let (_reply, receiver) = oneshot::channel();
            store.start(CallId::mint(), owner, "f", Ok(receiver), ())
        };
        let shops = call(named.now());
        let others = call(other.now());
        let id = shops.id().to_string();
        assert!(store.find_owned(&id, &named.now()).is_ok());
        let hidden = store.find_owned(&id, &other.now()).err().unwrap();
        let unknown = store
            .find_owned(&CallId::mint().to_string(), &other.now())
            .err()
            .unwrap();
        assert_eq!(
            hidden.to_string().replace(&id, "ID"),
            unknown.to_string().replace(&unknown_id(&unknown), "ID"),
            "another app's call looks unknown"
        );
        // Every version deployed under the name finds it; the host's API finds every call.
        let next_version = CallOwner::default();
        next_version.deployed_as("shop");
        assert!(store.find_owned(&id, &next_version.now()).is_ok());
        assert!(
            store
                .find_owned(&others.id().to_string(), &named.now())
                .is_err()
        );
        assert!(store.find(&others.id().to_string()).is_ok());
    }

    /// The id an unknown call's message names.
    fn unknown_id(error: &Error) -> String {
        let text = error.to_string();
        let start = text.find("fc-").unwrap();
        text[start..start + 35].to_owned()
    }

    /// A journal that keeps in memory, or fails when `broken`.
    #[derive(Default)]
    struct Kept {
        calls: Mutex<Vec<CallId>>,
        broken: bool,
    }

    impl ResultJournal for Kept {
        fn keep(&self, call: &RetainedCall) -> std::io::Result<()> {
            if self.broken {
                return Err(std::io::Error::other("the disk is full"));
            }
            lock(&self.calls).push(call.id);
            Ok(())
        }
    }

    #[tokio::test]
    async fn only_a_call_found_by_id_is_journaled_once_finished_and_once() {
        let store = store(10, 1 << 20);
        let journal = Arc::new(Kept::default());
        store.set_journal(&(journal.clone() as Arc<dyn ResultJournal>));
        let own = finished(&store, Ok(b"1".to_vec())).await;
        store.keep_given_out(&own).await.unwrap();
        let (reply, receiver) = oneshot::channel();
        let running = store.start(CallId::mint(), Owner::Unnamed(1), "f", Ok(receiver), ());
        running.found_by_id();
        store.keep_given_out(&running).await.unwrap();
        assert!(
            lock(&journal.calls).is_empty(),
            "nothing finished was found by id"
        );
        reply.send(Ok(b"2".to_vec())).unwrap();
        running.wait(None).await.unwrap();
        for _ in 0..2 {
            store.keep_given_out(&running).await.unwrap();
        }
        assert_eq!(*lock(&journal.calls), [running.id()]);
        let restored = RetainedCall {
            id: CallId::mint(),
            app: None,
            function: "f".into(),
            finished: SystemTime::now(),
            result: Ok(b"3".to_vec()),
        };
        store.restore(vec![restored.clone()]);
        let found = store.find(&restored.id.to_string()).unwrap();
        found.found_by_id();
        store.keep_given_out(&found).await.unwrap();
        assert_eq!(
            lock(&journal.calls).len(),
            1,
            "a restored call is on disk already"
        );
    }

    #[tokio::test]
    async fn a_journal_that_fails_fails_the_read() {
        let store = store(10, 1 << 20);
        let journal: Arc<dyn ResultJournal> = Arc::new(Kept {
            broken: true,
            ..Kept::default()
        });
        store.set_journal(&journal);
        let call = finished(&store, Ok(b"1".to_vec())).await;
        call.found_by_id();
        let error = store.keep_given_out(&call).await.unwrap_err();
        assert!(error.to_string().contains("the disk is full"), "{error}");
    }

    #[tokio::test]
    async fn the_byte_budget_evicts_too() {
        let store = store(100, 10);
        let first = finished(&store, Ok(vec![b'1'; 6])).await;
        let second = finished(&store, Ok(vec![b'2'; 6])).await;
        assert!(store.find(&first.id().to_string()).is_err());
        assert!(store.find(&second.id().to_string()).is_ok());
        assert_eq!(store.stats().bytes, 6);
    }

    #[tokio::test]
    async fn cancelling_ends_a_running_call_as_cancelled() {
        let store = store(10, 1 << 20);
        let (reply, receiver) = oneshot::channel();
        let call = store.start(CallId::mint(), Owner::Unnamed(1), "f", Ok(receiver), ());
        assert!(call.within(Duration::ZERO).await.is_none());
        call.cancel();
        assert!(matches!(call.wait(None).await, Err(Error::Cancelled(_))));
        assert!(reply.is_closed(), "the input's reply channel is closed");
    }

    #[tokio::test]
    async fn restored_calls_keep_their_outcome_and_expire() {
        let store = store(10, 1 << 20);
        let id = CallId::mint();
        let old = CallId::mint();
        store.restore(vec![
            RetainedCall {
                id,
                app: Some("app".into()),
                function: "f".into(),
                finished: SystemTime::now(),
                result: Err(Error::User("no".into())),
            },
            RetainedCall {
                id: old,
                app: None,
                function: "f".into(),
                finished: SystemTime::now() - Duration::from_secs(7200),
                result: Ok(b"1".to_vec()),
            },
        ]);
        let call = store.find(&id.to_string()).unwrap();
        assert!(matches!(call.wait(None).await, Err(Error::User(message)) if message == "no"));
        assert!(store.find(&old.to_string()).is_err());
        assert!(store.find("fc-nonsense").is_err());
    }
}
