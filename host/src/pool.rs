//! The containers of one function, and the rules that place inputs on them.
//!
//! Capacity follows DESIGN §1:
//! - an async body runs up to `max_inputs` inputs interleaved on ONE instance, and the pool
//!   grows to at most `max_containers` instances;
//! - a blocking body runs one input per instance (instances share no memory, so each of a
//!   container's `max_inputs` "threads" is an instance of its own), and the pool grows to at
//!   most `max_containers × max_inputs` instances.
//!
//! Scaling follows Modal's autoscaler: the pool wants `ceil(demand / target_inputs)`
//! instances, plus `buffer_containers` idle ones while it has inputs, within `max_instances`;
//! demand is the inputs running and queued. An input goes to the first instance below its
//! target; else, when no more instances may start, to the first below `max_inputs`; else to
//! the queue, which starting instances take from. A finished input hands its slot to the head
//! of the queue; a failed one with retries left comes back to the queue after its retry delay.
//! All of this happens under one short lock, never held across an await nor while an input is
//! sent (a send may wake another worker).
//!
//! A call that comes back to this function from further down its own chain (A → B → A, or a
//! recursion through `remote`) may be waiting for a container its callers hold: when it cannot
//! be placed and the pool is at its limit, the pool starts an overflow instance for it rather
//! than deadlock. The call depth limit (see `chain`) bounds how many.

use crate::Error;
use crate::app::AppShared;
use crate::component::LoadedComponent;
use crate::container::{Container, Inbox, Input, InputReceiver, Owner, Role};
use crate::function::{FunctionConfig, FunctionInfo};
use crate::settings::count_from_env;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use tokio::sync::{mpsc, oneshot};

/// Counters of a pool, for tests, benchmarks and operators.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Instances serving now.
    pub containers: usize,
    /// Instances ever started.
    pub containers_started: usize,
    /// The most instances serving at once.
    pub peak_containers: usize,
    /// Inputs running now.
    pub in_flight: usize,
    /// The most inputs running at once, over all instances.
    pub peak_in_flight: usize,
    /// The most inputs running at once on one instance.
    pub peak_in_flight_per_container: usize,
    /// Inputs waiting for a slot now.
    pub queued: usize,
    /// Instances started beyond the pool's limit for calls that came back to it from their
    /// own callers.
    pub overflow_started: usize,
    /// Inputs whose caller cancelled them (or went away) before they finished.
    pub cancelled: usize,
    /// How many times a container was paused for using more than its CPU budget.
    pub cpu_throttles: usize,
}

/// The containers of one function.
pub(crate) struct Pool {
    info: FunctionInfo,
    /// The function's name, shared by the call chains of its inputs.
    name: Arc<str>,
    component: Arc<LoadedComponent>,
    app: Weak<AppShared>,
    /// Inputs one instance runs at once.
    per_instance: usize,
    /// Inputs the autoscaler aims to give one instance.
    target_per_instance: usize,
    /// Instances the pool may have at once.
    max_instances: usize,
    /// Idle instances kept beyond the busy ones while there are inputs.
    buffer_instances: usize,
    /// Counted by the containers' CPU budgets.
    cpu_throttles: Arc<AtomicUsize>,
    /// Inputs that may wait in the queue; more are refused.
    max_queued: usize,
    state: Mutex<PoolState>,
}

/// One instance of a pool, as its container sees the pool.
struct Member {
    pool: Arc<Pool>,
    id: u64,
}

impl Owner for Member {
    fn finished(&self) {
        self.pool.finished(self.id);
    }

    fn retry(&self, input: Input) {
        self.pool.retry(input);
    }

    fn may_retire(&self) -> bool {
        self.pool.retire_if_idle(self.id)
    }

    fn leave(&self) {
        self.pool.retire(self.id);
    }

    fn requeue(&self, input: Input) {
        self.pool.submit(input);
    }

    fn cancelled(&self) {
        self.pool.lock().stats.cancelled += 1;
    }
}

/// Inputs that may wait in one function's queue, unless `FNHOST_MAX_QUEUED` says: past it a
/// call fails at once with `overloaded`, so a flood costs bounded memory (a queued input holds
/// its arguments and a reply channel, ~200 bytes beside them).
const DEFAULT_MAX_QUEUED: usize = 250_000;

#[derive(Default)]
struct PoolState {
    /// Set when the app goes away: no input is taken and no instance started any more.
    closed: bool,
    instances: Vec<Slot>,
    starting: usize,
    /// Inputs running now, over all instances.
    in_flight: usize,
    queue: VecDeque<Input>,
    next_id: u64,
    stats: PoolStats,
}

/// A serving instance, as the pool sees it.
struct Slot {
    id: u64,
    inputs: Inbox,
    in_flight: usize,
}

impl Pool {
    pub(crate) fn new(
        info: FunctionInfo,
        component: Arc<LoadedComponent>,
        app: Weak<AppShared>,
    ) -> Self {
        // Options are checked when the app loads: 1 <= target_inputs <= max_inputs.
        let config = &info.config;
        let max_inputs = config.max_inputs as usize;
        let max_containers = config.max_containers as usize;
        let buffer_containers = config.buffer_containers as usize;
        // A blocking container's `max_inputs` "threads" are instances of their own.
        let (per_instance, target_per_instance, max_instances, buffer_instances) =
            if info.is_async() {
                let target = config.target_inputs as usize;
                (max_inputs, target, max_containers, buffer_containers)
            } else {
                (
                    1,
                    1,
                    max_containers.saturating_mul(max_inputs),
                    buffer_containers.saturating_mul(max_inputs),
                )
            };
        Pool {
            name: Arc::from(info.name.as_str()),
            info,
            component,
            app,
            per_instance,
            target_per_instance,
            max_instances,
            buffer_instances,
            cpu_throttles: Arc::default(),
            max_queued: count_from_env("FNHOST_MAX_QUEUED", DEFAULT_MAX_QUEUED),
            state: Mutex::new(PoolState::default()),
        }
    }

    pub(crate) fn info(&self) -> &FunctionInfo {
        &self.info
    }

    /// A new, empty pool of the same function with `config` instead of its own.
    pub(crate) fn reconfigured(&self, config: FunctionConfig) -> Pool {
        let info = FunctionInfo {
            config,
            ..self.info.clone()
        };
        Pool::new(info, Arc::clone(&self.component), self.app.clone())
    }

    /// Starts, in the background, the instances `min_containers` keeps that are missing.
    pub(crate) fn keep_minimum(self: &Arc<Self>) {
        let mut state = self.lock();
        self.start_minimum(&mut state);
    }

    fn start_minimum(self: &Arc<Self>, state: &mut PoolState) {
        let minimum = self.info.config.min_containers as usize;
        while !state.closed && state.instances.len() + state.starting < minimum {
            self.spawn_instance(state);
        }
    }

    pub(crate) fn name(&self) -> &Arc<str> {
        &self.name
    }

    pub(crate) fn stats(&self) -> PoolStats {
        let state = self.lock();
        PoolStats {
            containers: state.instances.len(),
            in_flight: state.in_flight,
            queued: state.queue.len(),
            cpu_throttles: self.cpu_throttles.load(Ordering::Relaxed),
            ..state.stats
        }
    }

    /// Places an input on an instance, or queues it.
    ///
    /// The instance is chosen under the lock, the input sent after it is released: the send
    /// may wake the instance's worker thread, and a container finishing an input must not
    /// wait for the lock while that happens.
    pub(crate) fn submit(self: &Arc<Self>, mut input: Input) {
        loop {
            let (id, inbox) = {
                let mut state = self.lock();
                if state.closed {
                    let _ = input.reply.send(Err(shut_down(&self.info.name)));
                    return;
                }
                if state.queue.len() >= self.max_queued {
                    let _ = input.reply.send(Err(Error::Overloaded(format!(
                        "`{}` has {} inputs queued, its limit",
                        self.info.name, self.max_queued
                    ))));
                    return;
                }
                // Scale for the demand this input adds before placing it. Past their target,
                // instances take more (up to `max_inputs`) only when no more may start: an
                // instance starts in tens of microseconds, sooner than a crowded one serves.
                self.grow(&mut state, 1);
                let at_limit = state.instances.len() + state.starting >= self.max_instances;
                let reserved = state.take_slot(self.target_per_instance).or_else(|| {
                    at_limit
                        .then(|| state.take_slot(self.per_instance))
                        .flatten()
                });
                match reserved {
                    Some(reserved) => reserved,
                    None => {
                        self.enqueue(&mut state, input);
                        return;
                    }
                }
            };
            match inbox.send(Box::new(input)) {
                Ok(()) => return,
                // The instance is retiring: take the slot back and place the input again.
                Err(mpsc::error::SendError(returned)) => {
                    self.release(id);
                    input = *returned;
                }
            }
        }
    }

    /// Queues an input no instance can take now.
    fn enqueue(self: &Arc<Self>, state: &mut PoolState, input: Input) {
        let at_limit = state.instances.len() + state.starting >= self.max_instances;
        let reentrant = || {
            input
                .caller
                .as_ref()
                .is_some_and(|caller| caller.includes(&self.name))
        };
        if at_limit && reentrant() {
            // Its callers may hold every instance: give it one of its own, first in line.
            state.queue.push_front(input);
            state.stats.overflow_started += 1;
            self.spawn_instance(state);
        } else {
            state.queue.push_back(input);
        }
    }

    /// Gives back a slot of instance `id` reserved for an input it did not take.
    fn release(&self, id: u64) {
        let mut state = self.lock();
        let state = &mut *state;
        // Gone from the pool already: its retirement took its count.
        if let Some(slot) = state.instances.iter_mut().find(|slot| slot.id == id) {
            slot.in_flight -= 1;
            state.in_flight -= 1;
        }
    }

    /// Starts instances, each in a task of its own, until the pool has as many as its demand
    /// (the inputs running and queued, plus `arriving`) wants, within its limit.
    fn grow(self: &Arc<Self>, state: &mut PoolState, arriving: usize) {
        let demand = state.in_flight + state.queue.len() + arriving;
        let wanted = match demand {
            0 => 0,
            demand => demand.div_ceil(self.target_per_instance) + self.buffer_instances,
        };
        let wanted = wanted.min(self.max_instances);
        while !state.closed && state.instances.len() + state.starting < wanted {
            self.spawn_instance(state);
        }
    }

    /// Starts an instance in a task of its own.
    fn spawn_instance(self: &Arc<Self>, state: &mut PoolState) {
        self.launch(state.reserve(), None);
    }

    /// Starts instance `id` (reserved with [`PoolState::reserve`]) in a task of its own, which
    /// then serves; `started` hears how the start went.
    ///
    /// The task does the start, not its spawner: a spawned task waits in its worker's LIFO
    /// slot, which is free, and runs as soon as the spawner waits, with no thread woken. (Were
    /// the container started first and only its serving loop spawned, starting several in a
    /// row would push each loop out of the LIFO slot with the next and wake another worker
    /// for it, a syscall on each start: 6–10 µs here.)
    fn launch(self: &Arc<Self>, id: u64, started: Option<oneshot::Sender<Result<(), Error>>>) {
        let pool = Arc::clone(self);
        tokio::spawn(async move {
            match pool.start(id).await {
                Ok(container) => {
                    let inputs = pool.register(id);
                    if let Some(started) = started {
                        let _ = started.send(Ok(()));
                    }
                    if let Some(inputs) = inputs {
                        pool.serve(id, container, inputs).await;
                    }
                }
                Err(error) => {
                    pool.start_failed(error.clone());
                    if let Some(started) = started {
                        let _ = started.send(Err(error));
                    }
                }
            }
        });
    }

    /// Starts instances until `count` serve (within the pool's limit) and waits until they do;
    /// returns how many serve. A warm pool takes its first inputs without starting anything.
    pub(crate) async fn warm_up(self: &Arc<Self>, count: usize) -> Result<usize, Error> {
        let ids: Vec<u64> = {
            let mut state = self.lock();
            let present = state.instances.len() + state.starting;
            let wanted = count.min(self.max_instances).saturating_sub(present);
            (0..wanted).map(|_| state.reserve()).collect()
        };
        let starts: Vec<_> = ids
            .into_iter()
            .map(|id| {
                let (started, start) = oneshot::channel();
                self.launch(id, Some(started));
                start
            })
            .collect();
        let mut failure = None;
        for start in starts {
            let outcome = start
                .await
                .unwrap_or_else(|_| Err(shut_down(&self.info.name)));
            if let Err(error) = outcome {
                failure = Some(error);
            }
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(self.lock().instances.len()),
        }
    }

    /// Instantiates instance `id` (reserved with [`PoolState::reserve`]).
    async fn start(&self, id: u64) -> Result<Container, Error> {
        Container::start(
            &self.component,
            self.app.clone(),
            &self.info,
            Role::Pooled {
                id,
                name: Arc::clone(&self.name),
                cpu_throttles: Arc::clone(&self.cpu_throttles),
            },
        )
        .await
    }

    /// Gives started instance `id` its place in the pool, with inputs from the queue; returns
    /// the channel its inputs arrive on, or `None` when the pool closed meanwhile.
    fn register(&self, id: u64) -> Option<InputReceiver> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let mut state = self.lock();
        state.starting -= 1;
        if state.closed {
            return None;
        }
        state.stats.containers_started += 1;
        let mut slot = Slot {
            id,
            inputs: sender,
            in_flight: 0,
        };
        // Up to its target, leaving the rest to the instances starting beside it; up to
        // `max_inputs` when those cannot take the rest and the pool may not grow.
        let at_limit = state.instances.len() + 1 + state.starting >= self.max_instances;
        let limit =
            if at_limit && state.queue.len() > self.target_per_instance * (1 + state.starting) {
                self.per_instance
            } else {
                self.target_per_instance
            };
        while slot.in_flight < limit {
            let Some(input) = state.queue.pop_front() else {
                break;
            };
            slot.in_flight += 1;
            state.in_flight += 1;
            let _ = slot.inputs.send(Box::new(input));
        }
        let on_instance = slot.in_flight;
        state.instances.push(slot);
        state.count_peaks(on_instance);
        state.stats.peak_containers = state.stats.peak_containers.max(state.instances.len());
        Some(receiver)
    }

    /// The life of registered instance `id`: serve until the pool goes away or it traps, then
    /// hand back the inputs it never began.
    async fn serve(self: Arc<Self>, id: u64, container: Container, mut receiver: InputReceiver) {
        let member = Member {
            pool: Arc::clone(&self),
            id,
        };
        let served = container
            .serve(&mut receiver, &member, self.info.config.scaledown_window())
            .await;
        if let Err(error) = served {
            tracing::info!("{error}; replacing the container");
        }
        // Inputs sent to this instance that it never started go back to the pool.
        receiver.close();
        self.retire(id);
        while let Ok(input) = receiver.try_recv() {
            self.submit(*input);
        }
    }

    /// A failed input runs again after its retry delay, on whichever instance is free then.
    fn retry(self: &Arc<Self>, input: Input) {
        let delay = self.info.config.retry_delay(input.attempt);
        let pool = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            pool.submit(input);
        });
    }

    /// An input of instance `id` finished: its slot goes to the head of the queue.
    fn finished(self: &Arc<Self>, id: u64) {
        let (next, inbox) = {
            let mut state = self.lock();
            let state = &mut *state;
            let Some(slot) = state.instances.iter_mut().find(|slot| slot.id == id) else {
                return;
            };
            match state.queue.pop_front() {
                Some(next) => (next, slot.inputs.clone()),
                None => {
                    slot.in_flight -= 1;
                    state.in_flight -= 1;
                    return;
                }
            }
        };
        if let Err(mpsc::error::SendError(next)) = inbox.send(Box::new(next)) {
            // The instance is retiring: the input goes elsewhere.
            self.release(id);
            self.submit(*next);
        }
    }

    /// Instance `id` leaves the pool (it trapped, it retired idle, it stopped for a cancelled
    /// input, or the app is shutting down); nothing is sent to it any more.
    fn retire(self: &Arc<Self>, id: u64) {
        let mut state = self.lock();
        if let Some(index) = state.instances.iter().position(|slot| slot.id == id) {
            let slot = state.instances.swap_remove(index);
            state.in_flight -= slot.in_flight;
        }
        self.grow(&mut state, 0);
        self.start_minimum(&mut state);
    }

    /// Whether idle instance `id` may retire: it runs nothing and the pool keeps more than
    /// `min_containers` (and, while it has inputs, its buffer) without it. If so it leaves the
    /// pool at once, so nothing is sent to it.
    fn retire_if_idle(&self, id: u64) -> bool {
        let mut state = self.lock();
        let mut keep = self.info.config.min_containers as usize;
        if state.in_flight > 0 {
            keep = keep
                .max(state.in_flight.div_ceil(self.target_per_instance) + self.buffer_instances);
        }
        let idle = state
            .instances
            .iter()
            .position(|slot| slot.id == id && slot.in_flight == 0);
        match idle {
            Some(index) if state.instances.len() > keep => {
                state.instances.swap_remove(index);
                true
            }
            _ => false,
        }
    }

    /// An instance could not start: if no other instance is there to take the queue, fail it
    /// rather than let it wait forever.
    fn start_failed(self: &Arc<Self>, error: Error) {
        tracing::warn!("cannot start a container: {error}");
        let mut state = self.lock();
        state.starting -= 1;
        if state.instances.is_empty() && state.starting == 0 {
            for input in state.queue.drain(..) {
                let _ = input.reply.send(Err(error.clone()));
            }
        }
    }

    /// The app is gone: close every instance's channel (each ends once its running inputs
    /// finish) and fail what is queued.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.instances.clear();
        state.in_flight = 0;
        for input in state.queue.drain(..) {
            let _ = input.reply.send(Err(shut_down(&self.info.name)));
        }
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // The state stays consistent at every unlock, so a panic elsewhere cannot corrupt it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn shut_down(function: &str) -> Error {
    Error::Cancelled(format!("`{function}`: the app shut down"))
}

impl PoolState {
    /// Takes a slot on the first instance running fewer than `limit` inputs: its id and
    /// where its inputs go.
    fn take_slot(&mut self, limit: usize) -> Option<(u64, Inbox)> {
        let slot = self
            .instances
            .iter_mut()
            .find(|slot| slot.in_flight < limit)?;
        slot.in_flight += 1;
        let reserved = (slot.id, slot.inputs.clone());
        let on_instance = slot.in_flight;
        self.in_flight += 1;
        self.count_peaks(on_instance);
        Some(reserved)
    }

    /// Counts an instance as starting and gives it its id.
    fn reserve(&mut self) -> u64 {
        self.starting += 1;
        self.next_id += 1;
        self.next_id - 1
    }

    /// An instance took inputs and now runs `on_instance`: update the peaks.
    fn count_peaks(&mut self, on_instance: usize) {
        self.stats.peak_in_flight = self.stats.peak_in_flight.max(self.in_flight);
        self.stats.peak_in_flight_per_container =
            self.stats.peak_in_flight_per_container.max(on_instance);
    }
}
