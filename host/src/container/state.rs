//! What a container's store holds, and the store itself: WASI, the resource table, the
//! limits, the deadlines and call chains of the inputs running there, the CPU budget, and the
//! way out to the dispatcher for the calls the guest makes.
//!
//! At every epoch tick a running guest yields to the executor, traps if an input of the
//! container is past its deadline or every input lost its caller, or pauses if it used up its
//! CPU budget: without the callback a guest that computes forever would hold its thread.

use crate::Error;
use crate::container::deadline::Deadlines;
use crate::dispatch::Dispatch;
use crate::dispatch::chain::{CallerKey, Callers, Chain, Frame};
use crate::dispatch::offload::OffloadRoute;
use crate::dispatch::owner::CallOwner;
use crate::dispatch::watch::Abandoned;
use crate::retained::CallStore;
use crate::runtime::cpu::CpuBudget;
use crate::runtime::grants::{Grants, OutgoingHttp, OwnGrants};
use crate::runtime::memory::{Limits, MemoryBudget};
use crate::runtime::occupancy::{Occupancy, waiting_on};
use crate::runtime::output::{Origin, OutputSink};
use crate::runtime::sandbox::Sandboxes;
use crate::storage::{LazyStorage, Storage, StorageError};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Instant;
use wasmtime::component::{GuestTaskId, ResourceTable};
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// What every container of an app is started with: where the calls its guest makes go, what
/// it may reach of the machine, and where its output goes.
pub(crate) struct ContainerContext {
    /// Routes the guest's calls. Weak: dropping the app ends its containers.
    pub(crate) dispatch: Weak<dyn Dispatch>,
    /// The operator's grants.
    pub(crate) grants: Grants,
    /// Where guest output goes.
    pub(crate) sink: Arc<dyn OutputSink>,
    /// The host's budget of guest memory.
    pub(crate) budget: Arc<MemoryBudget>,
    /// Component-model handles one container may hold at once.
    pub(crate) max_handles: usize,
    /// What the host's containers are doing.
    pub(crate) occupancy: Arc<Occupancy>,
    /// The host's spawned calls, by id.
    pub(crate) calls: Arc<CallStore>,
    /// Whose the calls the app spawns are (and which calls its guests find by id).
    pub(crate) owner: Arc<CallOwner>,
    /// Where full pools offer their calls (another host), if anywhere.
    pub(crate) offload: OffloadRoute,
    /// The host's dicts and queues; `None` where a guest may not keep state (a snapshot's
    /// hooks, describing a component).
    pub(crate) storage: Option<Arc<LazyStorage>>,
    /// The host's sandboxes; `None` where a guest may not make any (as `storage`).
    pub(crate) sandboxes: Option<Sandboxes>,
}

/// What a container's store holds.
pub(crate) struct ContainerState {
    wasi: WasiCtx,
    /// wasi:http's state.
    http: WasiHttpCtx,
    /// Where outgoing HTTP requests may go.
    outgoing: OutgoingHttp,
    pub(crate) table: ResourceTable,
    /// Routes the calls the guest makes. Weak: dropping the app ends its containers.
    dispatch: Weak<dyn Dispatch>,
    /// The host's spawned calls, by id: where the guest's spawns are kept.
    pub(crate) calls: Arc<CallStore>,
    /// Whose the guest's spawns are: its app's (the calls it finds by id).
    pub(crate) owner: Arc<CallOwner>,
    /// The host's dicts and queues, if the guest may keep state.
    storage: Option<Arc<LazyStorage>>,
    /// The host's sandboxes, if the guest may make them.
    sandboxes: Option<Sandboxes>,
    /// `function#id`, for messages and output prefixes.
    pub(crate) label: Arc<str>,
    /// The message the guest's panic hook reported, if it panicked.
    pub(crate) panic: Option<String>,
    /// The deadlines of the inputs running here.
    pub(crate) deadlines: Deadlines,
    /// How far the guest may grow its memories and tables, and its share of the host's memory
    /// budget.
    limits: Limits,
    /// Component-model handles the container may hold at once.
    pub(crate) max_handles: usize,
    /// What the host's containers are doing: told when this one waits on a call.
    pub(crate) occupancy: Arc<Occupancy>,
    /// The function this container runs, named in the call chains of the calls it makes.
    pub(crate) function: Arc<str>,
    /// The call chains of the inputs running here.
    callers: Callers,
    /// The chain the calls made from here extend, while the inputs running here stay the
    /// same: every call of an input shares it.
    calling: Option<Chain>,
    /// The chain of each input running here, by the guest task it runs as: a call whose task
    /// is known extends its own input's chain, however many inputs interleave here.
    tasks: HashMap<GuestTaskId, TaskChain>,
    /// Which inputs running here lost their callers.
    pub(crate) abandoned: Arc<Abandoned>,
    /// How much CPU the guest may use, if it is limited.
    cpu: Option<CpuBudget>,
}

impl ContainerState {
    /// The state of a container of `function` labelled `label`, started in `context`, whose
    /// output comes from `origin`, whose linear memory may grow to `memory` bytes (wasm32's
    /// 4 GiB when `None`), which may use the CPU `cpu` allows (all it gets when `None`), and
    /// which is granted `own` (its function's secrets and volumes) beside the app's grants.
    pub(crate) fn new(
        context: &ContainerContext,
        function: Arc<str>,
        label: Arc<str>,
        origin: &Origin,
        memory: Option<usize>,
        cpu: Option<CpuBudget>,
        own: OwnGrants,
    ) -> Self {
        ContainerState {
            wasi: context.grants.wasi(&context.sink, origin, &own),
            http: WasiHttpCtx::new(),
            outgoing: OutgoingHttp::new(context.grants.http_grants()),
            table: ResourceTable::new(),
            dispatch: context.dispatch.clone(),
            calls: Arc::clone(&context.calls),
            owner: Arc::clone(&context.owner),
            storage: context.storage.clone(),
            sandboxes: context.sandboxes.clone(),
            label,
            panic: None,
            deadlines: Deadlines::default(),
            limits: Limits::new(
                memory.unwrap_or(usize::MAX),
                MAX_TABLE_ELEMENTS,
                Arc::clone(&context.budget),
            ),
            max_handles: context.max_handles,
            occupancy: Arc::clone(&context.occupancy),
            function,
            callers: Callers::default(),
            calling: None,
            tasks: HashMap::new(),
            abandoned: Arc::default(),
            cpu,
        }
    }

    /// Runs `wait` for a call (a blocking import's wait, which holds the whole instance) as
    /// [`ContainerState::bound`] does, counted host-wide as a container waiting on a call.
    pub(crate) async fn bound_call<T>(
        &mut self,
        wait: impl Future<Output = T>,
    ) -> wasmtime::Result<T> {
        let occupancy = Arc::clone(&self.occupancy);
        waiting_on(&occupancy, self.bound(wait)).await
    }

    /// Runs `wait` (a blocking import's wait, which holds the whole instance) until the earliest
    /// deadline at most, and no longer than some input here still has a caller.
    pub(crate) async fn bound<T>(&mut self, wait: impl Future<Output = T>) -> wasmtime::Result<T> {
        let abandoned = Arc::clone(&self.abandoned);
        tokio::select! {
            done = self.deadlines.bound(wait) => done,
            () = abandoned.stopped() => Err(cancelled_everywhere()),
        }
    }

    /// Where the calls the guest makes go, while the app is alive.
    pub(crate) fn dispatch(&self) -> Result<Arc<dyn Dispatch>, Error> {
        self.dispatch
            .upgrade()
            .ok_or_else(|| Error::Cancelled("the app is shutting down".into()))
    }

    /// The host's store of dicts and queues, opened on first use.
    pub(crate) fn storage(&self) -> Result<Storage, StorageError> {
        let storage = self.storage.as_ref().ok_or_else(|| {
            StorageError::Unavailable(
                "dicts and queues cannot be used here (a snap `enter` hook, or describing)".into(),
            )
        })?;
        storage.get()
    }

    /// The host's sandboxes.
    pub(crate) fn sandboxes(&self) -> Result<&Sandboxes, Error> {
        self.sandboxes.as_ref().ok_or_else(|| {
            Error::BadArguments(
                "sandboxes cannot be made here (a snap `enter` hook, or describing)".into(),
            )
        })
    }

    /// Input `tag`, called through `caller` and running as the guest task `task`, starts and
    /// must be done by `deadline`; returns its place among the container's callers.
    pub(crate) fn input_started(
        &mut self,
        tag: u64,
        deadline: Instant,
        caller: Option<Chain>,
        task: Option<GuestTaskId>,
    ) -> Option<CallerKey> {
        self.deadlines.start(tag, deadline);
        self.calling = None;
        if let Some(task) = task {
            let chain = TaskChain {
                caller: caller.clone(),
                calling: None,
            };
            self.tasks.insert(task, chain);
        }
        self.callers.start(tag, caller)
    }

    /// Input `tag`, with its place among the callers and its task, is done (finished or
    /// cancelled).
    pub(crate) fn input_done(
        &mut self,
        tag: u64,
        caller: Option<CallerKey>,
        task: Option<GuestTaskId>,
    ) {
        self.deadlines.finish(tag);
        self.calling = None;
        if let Some(task) = task {
            self.tasks.remove(&task);
        }
        self.callers.finish(caller);
    }

    /// The chain a call made by the guest task `task` (the root of the import's call stack)
    /// extends: its input's, as the caller. When the task is not an input's (a class's hooks,
    /// or a blocking import, which does not see its task), the deepest input running here
    /// stands for the caller, which may count more than the real nesting, never less.
    pub(crate) fn calling_frame(&mut self, task: Option<GuestTaskId>) -> &Chain {
        let function = &self.function;
        if let Some(own) = task.filter(|task| self.tasks.contains_key(task)) {
            let chain = self.tasks.get_mut(&own).expect("checked above");
            let caller = &chain.caller;
            return chain
                .calling
                .get_or_insert_with(|| Frame::calling(function, caller.as_ref(), false));
        }
        let callers = &self.callers;
        self.calling.get_or_insert_with(|| {
            Frame::calling(function, callers.deepest(), callers.interleaved())
        })
    }

    pub(crate) fn report_panic(&mut self, message: String) {
        self.panic = Some(message);
    }
}

impl WasiView for ContainerState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for ContainerState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outgoing,
        }
    }
}

/// How many elements a guest's table may grow to: far more than any Rust guest's function
/// table, far less than memory exhaustion.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// How many component-model handles (calls in flight, resources) one container may hold,
/// unless the host says otherwise: 2^20, ten times wasmtime's default, so that one task can keep
/// hundreds of thousands of async calls in flight.
pub(crate) const DEFAULT_MAX_HANDLES: usize = 1 << 20;

/// A store for `state`. At every epoch tick a running guest yields to the executor, traps if
/// an input of the container is past its deadline, or pauses if it used up its CPU budget.
pub(crate) fn new_store(engine: &Engine, state: ContainerState) -> Store<ContainerState> {
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limits);
    store.set_max_component_handles(store.data().max_handles);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut store| {
        let state = store.data_mut();
        state.deadlines.check()?;
        if state.abandoned.stop_requested() {
            return Err(cancelled_everywhere());
        }
        let pause = state.cpu.as_mut().and_then(CpuBudget::charge_tick);
        Ok(match pause {
            // Never past the earliest deadline: the next tick then stops the store.
            Some(pause) => {
                let wake = state.deadlines.earliest().map_or(pause, |deadline| {
                    pause.min(deadline.saturating_duration_since(Instant::now()))
                });
                UpdateDeadline::YieldCustom(1, Box::pin(tokio::time::sleep(wake)))
            }
            // `yield_now`, not wasmtime's own yield: tokio defers a task that yields so until
            // the worker has polled its timers and I/O and run the other tasks waiting, where a
            // task that wakes itself goes first again, and the timers wait up to 61 polls (61
            // slices of computing guests).
            None => UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now())),
        })
    });
    store
}

/// The chain of one input running as a guest task: its callers, and, once it made a call, the
/// frame its calls extend.
struct TaskChain {
    caller: Option<Chain>,
    calling: Option<Chain>,
}

/// The error that stops a container whose inputs all lost their callers.
pub(crate) fn cancelled_everywhere() -> wasmtime::Error {
    wasmtime::format_err!("every input of the container was cancelled")
}
