//! The containers of one function (or of one instance of a class, see [`class`]): a pool takes
//! the requests for its function, places them on its instances by the rules of [`autoscale`],
//! and starts, serves and retires instances.
//!
//! Capacity follows DESIGN §1:
//! - an async body runs up to `max_inputs` inputs interleaved on ONE instance, and the pool
//!   grows to at most `max_containers` instances;
//! - a blocking body runs one input per instance (instances share no memory, so each of a
//!   container's `max_inputs` "threads" is an instance of its own), and the pool grows to at
//!   most `max_containers × max_inputs` instances.
//!
//! The placement state sits behind one short lock, never held across an await nor while an
//! input is sent (a send may wake another worker, and a container finishing an input must not
//! wait for the lock meanwhile). A pool is a [`Dispatch`]: a request reaches it through the
//! app's router by name, or directly from a handle with a pool of its own.

mod autoscale;
mod batch;
pub(crate) mod class;
pub(crate) mod http;
pub(crate) mod variants;

pub use autoscale::PoolStats;

use crate::container::state::ContainerContext;
use crate::container::{Container, Inbox, InputReceiver, Owner, Role, retryable};
use crate::dispatch::chain::Frame;
use crate::dispatch::offload::{Home, OfferedCall};
use crate::dispatch::owner::CallOwner;
use crate::dispatch::{Dispatch, Input, Receiver, Request, payload};
use crate::info::FunctionInfo;
use crate::load::component::LoadedComponent;
use crate::runtime::occupancy::Underway;
use crate::{Error, ErrorKind};
use autoscale::{Placement, Shape};
use class::Bound;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;
use variants::Variant;

/// The host's limits a pool enforces on the requests it takes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Inputs that may wait in the queue; more are refused with `overloaded`.
    pub(crate) max_queued: usize,
    /// How many calls may nest.
    pub(crate) max_call_depth: usize,
}

/// A warning that may repeat thousands of times a second (a start failing for want of a slot
/// at every arriving input): written at most once a second, with a count of those held back.
#[derive(Default)]
struct Throttled {
    /// When it was last written, and how many were held back since.
    state: Mutex<(Option<Instant>, usize)>,
}

impl Throttled {
    fn warn(&self, what: impl FnOnce() -> String) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (last, held_back) = &mut *state;
        let now = Instant::now();
        if last.is_some_and(|last| now.duration_since(last) < Duration::from_secs(1)) {
            *held_back += 1;
            return;
        }
        let what = what();
        match std::mem::take(held_back) {
            0 => tracing::warn!("{what}"),
            more => tracing::warn!("{what} ({more} more like it in the last second)"),
        }
        *last = Some(now);
    }
}

/// The containers of one function.
pub(crate) struct Pool {
    info: FunctionInfo,
    /// The function's name, shared by the call chains of its inputs and its containers.
    name: Arc<str>,
    component: Arc<LoadedComponent>,
    context: Arc<ContainerContext>,
    limits: Limits,
    /// Counted by the containers' CPU budgets.
    cpu_throttles: Arc<AtomicUsize>,
    placement: Mutex<Placement<Input, Inbox>>,
    /// Set while a task waits for room for the queue: a start failed for want of a slot or
    /// memory, or a call a container made queued while the pool is at its limit.
    awaiting_room: AtomicBool,
    /// Why the last start failed for want of room, named when the host stalls.
    room_error: Mutex<Option<Error>>,
    /// "cannot start a container", at most once a second.
    start_failures: Throttled,
    /// The gatherers of a batched function, or of a class's batched methods, by the name
    /// the guest runs; each started with its first input.
    gatherings: Mutex<HashMap<Arc<str>, batch::Gathering>>,
    /// The batches run, and the inputs they held.
    batch_counters: batch::BatchCounters,
    /// Set for a pool of a class's instances: the class and the parameter values each
    /// container builds its instance from.
    bound: Option<Bound>,
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
        self.pool.lock().retire_if_idle(self.id)
    }

    fn leave(&self) {
        self.pool.retire(self.id);
    }

    fn requeue(&self, input: Input) {
        self.pool.place(input);
    }

    fn cancelled(&self) {
        self.pool.lock().stats.cancelled += 1;
    }
}

/// The shape of `info`'s pool, in instances.
fn shape(info: &FunctionInfo) -> Shape {
    // Options are checked when the app loads: 1 <= target_inputs <= max_inputs.
    let config = &info.config;
    let count = |value: u32| value as usize;
    let max_inputs = count(config.max_inputs);
    let (max_containers, buffer) = (
        count(config.max_containers),
        count(config.buffer_containers),
    );
    let min_instances = count(config.min_containers);
    if info.is_async() {
        Shape {
            capacity: max_inputs,
            target: count(config.target_inputs),
            max_instances: max_containers,
            buffer,
            min_instances,
        }
    } else {
        // A blocking container's `max_inputs` "threads" are instances of their own.
        Shape {
            capacity: 1,
            target: 1,
            max_instances: max_containers.saturating_mul(max_inputs),
            buffer: buffer.saturating_mul(max_inputs),
            min_instances,
        }
    }
}

impl Pool {
    pub(crate) fn new(
        info: FunctionInfo,
        component: Arc<LoadedComponent>,
        context: Arc<ContainerContext>,
        limits: Limits,
    ) -> Self {
        Self::with_binding(info, None, component, context, limits)
    }

    /// A pool whose containers build an instance of a class (`bound`) before their first
    /// input; `info` says how the class's containers are shaped.
    pub(crate) fn with_binding(
        info: FunctionInfo,
        bound: Option<Bound>,
        component: Arc<LoadedComponent>,
        context: Arc<ContainerContext>,
        limits: Limits,
    ) -> Self {
        Pool {
            name: Arc::from(info.name.as_str()),
            placement: Mutex::new(Placement::new(shape(&info))),
            info,
            component,
            context,
            limits,
            cpu_throttles: Arc::default(),
            awaiting_room: AtomicBool::new(false),
            room_error: Mutex::default(),
            start_failures: Throttled::default(),
            gatherings: Mutex::default(),
            batch_counters: batch::BatchCounters::default(),
            bound,
        }
    }

    pub(crate) fn info(&self) -> &FunctionInfo {
        &self.info
    }

    /// Whose the calls spawned through this pool's function are: its app's.
    pub(crate) fn owner(&self) -> &CallOwner {
        &self.context.owner
    }

    /// A new, empty pool of the same function with `variant`'s containers instead of its own.
    pub(crate) fn reconfigured(&self, variant: Variant) -> Pool {
        let info = FunctionInfo {
            config: variant.config,
            secrets: variant.secrets,
            volumes: variant.volumes,
            ..self.info.clone()
        };
        Pool::with_binding(
            info,
            self.bound.clone(),
            Arc::clone(&self.component),
            Arc::clone(&self.context),
            self.limits,
        )
    }

    /// Starts, in the background, the instances `min_containers` keeps that are missing.
    pub(crate) fn keep_minimum(self: &Arc<Self>) {
        self.grow(&mut self.lock(), 0);
    }

    /// Whether an input arriving now would start at once (an instance has room, or one more
    /// may start) rather than queue.
    pub(crate) fn has_room(&self) -> bool {
        self.lock().has_room()
    }

    pub(crate) fn stats(&self) -> PoolStats {
        PoolStats {
            cpu_throttles: self.cpu_throttles.load(Ordering::Relaxed),
            batches: self.batch_counters.batches.load(Ordering::Relaxed),
            batched_inputs: self.batch_counters.inputs.load(Ordering::Relaxed),
            ..self.counted_stats()
        }
    }

    /// The placement's counters, once the queued inputs whose callers went away are dropped
    /// and counted as cancelled (no instance may take them for a long while).
    fn counted_stats(&self) -> PoolStats {
        let mut placement = self.lock();
        placement.drop_cancelled(|input| input.reply.is_closed());
        placement.stats()
    }

    /// Places an input on an instance, or queues it.
    fn place(self: &Arc<Self>, input: Input) {
        self.place_or_offer(input, false);
    }

    /// Places an input on an instance, or queues it — or, when `may_offer` and the pool may
    /// not grow, offers it to the host's offload (another host) instead of queueing it.
    ///
    /// The instance is chosen under the lock, the input sent (or offered) after it is
    /// released.
    fn place_or_offer(self: &Arc<Self>, mut input: Input, may_offer: bool) {
        loop {
            let (id, inbox) = {
                let mut placement = self.lock();
                if placement.is_closed() {
                    let _ = input.reply.send(Err(shut_down(&self.info.name)));
                    return;
                }
                if placement.queued() >= self.limits.max_queued {
                    placement.drop_cancelled(|queued| queued.reply.is_closed());
                }
                if placement.queued() >= self.limits.max_queued {
                    let _ = input.reply.send(Err(Error::Overloaded(format!(
                        "`{}` has {} inputs queued, its limit",
                        self.info.name, self.limits.max_queued
                    ))));
                    return;
                }
                // Scale for the demand this input adds before placing it.
                self.grow(&mut placement, 1);
                match placement.place() {
                    Some(reserved) => reserved,
                    None => {
                        // Looked up only here: the common path never touches the offload.
                        if may_offer
                            && placement.saturated()
                            && let Some((offload, app)) =
                                self.context.offload.target(&self.context.owner)
                        {
                            drop(placement);
                            let home = Arc::new(OfferedFrom {
                                pool: Arc::clone(self),
                                _underway: Underway::new(&self.context.occupancy),
                            });
                            offload.offer(OfferedCall::new(app, home, input));
                            return;
                        }
                        let reentrant = input
                            .caller
                            .as_ref()
                            .is_some_and(|caller| caller.includes(&self.name));
                        // A container's call that waits for the pool's limit may wait on
                        // containers that wait on it.
                        let held_by_limit = input.caller.is_some() && placement.at_limit();
                        if let Some(overflow) = placement.enqueue(input, reentrant) {
                            self.launch(overflow, None);
                        } else if held_by_limit {
                            drop(placement);
                            self.await_room(self.context.occupancy.ended());
                        }
                        return;
                    }
                }
            };
            match inbox.send(Box::new(input)) {
                Ok(()) => return,
                // The instance is retiring: take the place back and place the input again.
                Err(mpsc::error::SendError(returned)) => {
                    self.lock().release(id);
                    input = *returned;
                }
            }
        }
    }

    /// Starts instances, each in a task of its own, until the pool has as many as its demand
    /// (plus `arriving` inputs) and its minimum want.
    fn grow(self: &Arc<Self>, placement: &mut Placement<Input, Inbox>, arriving: usize) {
        while let Some(id) = placement.next_start(arriving) {
            self.launch(id, None);
        }
    }

    /// Starts instance `id` (reserved by the placement) in a task of its own, which then
    /// serves; `started` hears how the start went.
    ///
    /// The task does the start, not its spawner: a spawned task waits in its worker's LIFO
    /// slot, which is free, and runs as soon as the spawner waits, with no thread woken. (Were
    /// the container started first and only its serving loop spawned, starting several in a
    /// row would push each loop out of the LIFO slot with the next and wake another worker
    /// for it, a syscall on each start: 6–10 µs here.)
    fn launch(self: &Arc<Self>, id: u64, started: Option<oneshot::Sender<Result<(), Error>>>) {
        let pool = Arc::clone(self);
        let span = tracing::info_span!("container", function = %self.name, container = id);
        // Counted from here, not from the task's first poll: a call waiting for this container
        // is no stall.
        let starting = Underway::new(&self.context.occupancy);
        let life = async move {
            let ended = pool.context.occupancy.ended();
            match pool.start(id).await {
                Ok(container) => {
                    let inputs = pool.register(id);
                    drop(starting);
                    if let Some(started) = started {
                        let _ = started.send(Ok(()));
                    }
                    if let Some(inputs) = inputs {
                        pool.serve(id, container, inputs).await;
                    }
                }
                Err(error) => {
                    pool.start_failed(error.clone(), ended);
                    drop(starting);
                    if let Some(started) = started {
                        let _ = started.send(Err(error));
                    }
                }
            }
        };
        tokio::spawn(life.instrument(span));
    }

    /// Starts instances until `count` serve (within the pool's limit) and waits until they do;
    /// returns how many serve. A warm pool takes its first inputs without starting anything.
    pub(crate) async fn warm_up(self: &Arc<Self>, count: usize) -> Result<usize, Error> {
        let ids = self.lock().reserve_up_to(count);
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
            None => Ok(self.lock().instances()),
        }
    }

    /// Instantiates instance `id`.
    async fn start(&self, id: u64) -> Result<Container, Error> {
        let role = Role::Pooled {
            id,
            name: Arc::clone(&self.name),
            cpu_throttles: Arc::clone(&self.cpu_throttles),
        };
        let snapshot = self.bound.as_ref().and_then(|bound| {
            let snapshot = bound.snapshot.as_ref()?;
            Some(snapshot.pre(bound, &self.component, &self.context))
        });
        let pre = match snapshot {
            Some(made) => &made.await?,
            None => &self.component.pre,
        };
        let entering = self.bound.as_ref().map(Bound::entering);
        Container::start(pre, &self.context, &self.info, role, entering).await
    }

    /// Gives started instance `id` its place in the pool, with inputs from the queue; returns
    /// the channel its inputs arrive on, or `None` when the pool closed meanwhile.
    fn register(&self, id: u64) -> Option<InputReceiver> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let taken = self.lock().register(id, sender.clone())?;
        for input in taken {
            let _ = sender.send(Box::new(input));
        }
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
            .serve(&mut receiver, &member, self.info.config.scaledown_window)
            .await;
        if let Err(error) = served {
            tracing::info!("{error}; replacing the container");
        }
        // Inputs sent to this instance that it never started go back to the pool.
        receiver.close();
        self.retire(id);
        while let Ok(input) = receiver.try_recv() {
            self.place(*input);
        }
    }

    /// A failed input runs again after its retry delay, on whichever instance is free then.
    fn retry(self: &Arc<Self>, input: Input) {
        let delay = self.info.config.retry_delay(input.attempt);
        let pool = Arc::clone(self);
        let underway = Underway::new(&self.context.occupancy);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            pool.place(input);
            drop(underway);
        });
    }

    /// An input of instance `id` finished: its place goes to the head of the queue.
    fn finished(self: &Arc<Self>, id: u64) {
        let Some((next, inbox)) = self.lock().finished(id) else {
            return;
        };
        if let Err(mpsc::error::SendError(next)) = inbox.send(Box::new(next)) {
            // The instance is retiring: the input goes elsewhere.
            self.lock().release(id);
            self.place(*next);
        }
    }

    /// Instance `id` leaves the pool (it trapped, it stopped for a cancelled input, or the app
    /// is shutting down); nothing is sent to it any more, and a replacement starts if the
    /// pool still wants one.
    fn retire(self: &Arc<Self>, id: u64) {
        let mut placement = self.lock();
        placement.retire(id);
        self.grow(&mut placement, 0);
    }

    /// An instance could not start: if no other instance is there to take the queue, fail it
    /// rather than let it wait forever; if the host had no room for it (no slot, no memory),
    /// wait for room while inputs are queued.
    /// `ended` is the host's count of ended containers from before the start was tried.
    fn start_failed(self: &Arc<Self>, error: Error, ended: u64) {
        self.start_failures
            .warn(|| format!("cannot start a container of `{}`: {error}", self.name));
        let (stranded, queued) = {
            let mut placement = self.lock();
            (placement.start_failed(), placement.queued())
        };
        for mut input in stranded {
            // A class's `enter` that failed is the inputs' failure: they run again (on a new
            // container, which enters again) while they have retries left. Room and
            // instantiation failures are the host's, and not retried.
            if self.bound.is_some() && retryable(&error) && input.attempt < input.policy.retries {
                input.attempt += 1;
                self.retry(input);
                continue;
            }
            let _ = input.reply.send(Err(error.clone()));
        }
        if queued > 0 && error.kind() == ErrorKind::Overloaded {
            *self
                .room_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(error);
            self.await_room(ended);
        }
    }

    /// Waits, in a task of its own (one per pool at a time), while inputs are queued: each
    /// time a container of the host ends it tries to start the containers the queue wants
    /// again (a start that failed for want of room may succeed now); when the host is stalled
    /// (every live container is blocked waiting on a call, so no room will ever come) the
    /// queued inputs made by such calls fail with `overloaded`, naming the limit and their
    /// chain, and their callers unwind and free their containers.
    /// `ended_before` is the host's count of ended containers when the wait began.
    fn await_room(self: &Arc<Self>, ended_before: u64) {
        if self.awaiting_room.swap(true, Ordering::AcqRel) {
            return;
        }
        let pool = Arc::clone(self);
        tokio::spawn(async move {
            let mut ended = ended_before;
            loop {
                pool.watch_queue(&mut ended).await;
                pool.awaiting_room.store(false, Ordering::Release);
                // An input queued while the watch ended found the flag still set.
                if pool.lock().queued() == 0 || pool.awaiting_room.swap(true, Ordering::AcqRel) {
                    break;
                }
            }
        });
    }

    /// [`Pool::await_room`]'s watch, until the queue is empty.
    async fn watch_queue(self: &Arc<Self>, ended: &mut u64) {
        let occupancy = Arc::clone(&self.context.occupancy);
        loop {
            let changed = occupancy.changed();
            if self.lock().queued() == 0 {
                return;
            }
            if occupancy.ended() != *ended {
                *ended = occupancy.ended();
                self.grow(&mut self.lock(), 0);
                continue;
            }
            if occupancy.stalled() {
                self.fail_stalled(&self.stall_cause());
            }
            changed.await;
        }
    }

    /// What keeps the queue from starting: the pool's own limit, or the room the last start
    /// lacked.
    fn stall_cause(&self) -> Error {
        let at_limit = self.lock().at_limit();
        let room_error = self
            .room_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match room_error.as_ref() {
            Some(error) if !at_limit => error.clone(),
            _ => Error::Overloaded(format!(
                "`{}`: every one of its {} is taken",
                self.name,
                self.instance_limit()
            )),
        }
    }

    /// The pool's limit as its options spell it.
    fn instance_limit(&self) -> String {
        let config = &self.info.config;
        match (self.info.is_async(), config.max_inputs) {
            (false, inputs) if inputs > 1 => format!(
                "max_containers = {} × max_inputs = {inputs} instances",
                config.max_containers
            ),
            _ => format!("max_containers = {} containers", config.max_containers),
        }
    }

    /// Fails the queued inputs that other containers' calls made: their callers hold the
    /// host's containers while they wait for them, and no container can start.
    fn fail_stalled(&self, why: &Error) {
        let stranded = self.lock().take_queued(|input| input.caller.is_some());
        for input in stranded {
            let chain = input
                .caller
                .as_ref()
                .map_or_else(|| self.name.to_string(), |caller| caller.render(&self.name));
            let _ = input.reply.send(Err(Error::Overloaded(format!(
                "`{}` cannot start a container ({}), and none will end: every container of \
                 the host is waiting on calls that cannot start ({chain})",
                self.name,
                why.message()
            ))));
        }
    }

    /// The app is gone: close every instance's channel (each ends once its running inputs
    /// finish) and fail what is queued.
    pub(crate) fn close(&self) {
        let queued = self.lock().close();
        for input in queued {
            let _ = input.reply.send(Err(shut_down(&self.info.name)));
        }
        // A task waiting for room for this pool looks again, finds the queue empty and ends.
        self.context.occupancy.nudge();
    }

    fn lock(&self) -> MutexGuard<'_, Placement<Input, Inbox>> {
        // The state stays consistent at every unlock, so a panic elsewhere cannot corrupt it.
        self.placement
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A pool as the home of one call it offered to another host: the call counts as underway
/// (the containers waiting on it are no stall) until it is answered or given back.
struct OfferedFrom {
    pool: Arc<Pool>,
    _underway: Underway,
}

impl Home for OfferedFrom {
    fn function(&self) -> &str {
        &self.pool.info.name
    }

    /// An input an offload gave back: it queues here, never offered again.
    fn place_here(self: Arc<Self>, input: Input) {
        self.pool.place(input);
    }
}

impl Dispatch for Arc<Pool> {
    /// Admits a call of this pool's function — or, for a class's pool, of its method
    /// `function` (`CLASS.METHOD`): checks its depth and size, resolves its policy (the
    /// function's own, with the call site's overrides), and places it.
    fn submit(&self, function: &str, request: Request) -> Result<Receiver, Error> {
        let Request {
            args,
            options,
            caller,
            id,
            may_offer,
            items,
            containers,
        } = request;
        if containers.is_some() {
            // The app's router gives such a call a pool of its own: none reaches a pool.
            return Err(Error::BadArguments(format!(
                "`{function}`: its containers' options are its own"
            )));
        }
        let (target, info) = match &self.bound {
            None => (Arc::clone(&self.name), &self.info),
            Some(bound) => {
                let method = bound.class.method(function)?;
                (Arc::from(method.name.as_str()), method)
            }
        };
        match (info.generator, items.is_some()) {
            (true, false) => {
                return Err(Error::BadArguments(format!(
                    "`{target}` is a generator: call it with `remote_gen` (it cannot be called \
                     with `remote`, spawned or mapped)"
                )));
            }
            (false, true) => {
                return Err(Error::BadArguments(format!(
                    "`{target}` is not a generator: call it with `remote`"
                )));
            }
            _ => {}
        }
        Frame::check_depth(&target, caller.as_ref(), self.limits.max_call_depth)?;
        payload::check(&target, "arguments", args.len()).map_err(Error::BadArguments)?;
        // A JSON object is a call with names (`{"args": [...], "kwargs": {...}}`): bound here,
        // where the callee's parameters are known, so the callee always gets an array.
        let args = match args.first() {
            Some(b'{') => info.bind_named(&args)?,
            _ => args,
        };
        let mut policy = options
            .apply(self.info.config.policy())
            .map_err(|invalid| {
                Error::BadArguments(format!("{} {}", invalid.option, invalid.reason))
            })?;
        if items.is_some() {
            // Its caller may have read items already: a generator is never run again.
            policy.retries = 0;
        }
        let (reply, receiver) = oneshot::channel();
        let input = Input {
            function: Arc::clone(&target),
            args,
            reply,
            policy,
            attempt: 0,
            caller,
            id,
            items,
        };
        match info.batch {
            Some(batching) => {
                let gathering = self
                    .gatherings
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .entry(target)
                    .or_insert_with_key(|target| {
                        batch::start(self, Arc::clone(target), info.params.len(), batching)
                    })
                    .clone();
                let underway = Underway::new(&self.context.occupancy);
                if let Err(mpsc::error::SendError((input, _))) = gathering.send((input, underway)) {
                    let _ = input.reply.send(Err(shut_down(&self.info.name)));
                }
            }
            None => {
                // A class's pool is bound to parameter values another host has no pool for;
                // a generator's items travel only within this host.
                let may_offer = may_offer && self.bound.is_none() && input.items.is_none();
                self.place_or_offer(input, may_offer)
            }
        }
        Ok(receiver)
    }
}

fn shut_down(function: &str) -> Error {
    Error::Cancelled(format!("`{function}`: the app shut down"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_warning_is_written_once_a_second_at_most() {
        let throttled = Throttled::default();
        let mut written = 0;
        for _ in 0..10_000 {
            throttled.warn(|| {
                written += 1;
                "cannot start a container".to_owned()
            });
        }
        assert_eq!(written, 1);
        assert_eq!(
            throttled.state.lock().unwrap().1,
            9_999,
            "the rest are counted"
        );
    }
}
