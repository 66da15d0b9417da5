//! A container: one store and one component instance, serving the inputs its pool sends it.
//!
//! A container runs as one tokio task that owns its store and drives it with
//! `run_concurrent`, so stores never nest and each container makes progress on its own. The
//! inputs it is sent all run as concurrent calls on the one instance: an async body interleaves
//! them (the pool sends up to `max_inputs`), a blocking body gets one at a time.
//!
//! A trap poisons the instance: the container fails every input it holds with the trap's
//! message (a panic's message, reported by the guest's panic hook, when there is one) and ends;
//! the pool replaces it. Other containers are untouched. An input past its timeout stops the
//! container the same way (see `deadline`): it fails with `timeout`, the others with `trapped`.

use crate::Error;
use crate::app::AppShared;
use crate::bindings::CallError;
use crate::call::Reply;
use crate::component::LoadedComponent;
use crate::deadline::Deadlines;
use crate::function::{FunctionInfo, Policy};
use crate::output::{Forward, Target};
use crate::payload;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::unconstrained;
use wasmtime::component::{ResourceTable, TypedFunc};
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// One input for a container: the encoded arguments, where the result goes, its timeout and
/// retries, and which attempt this is (0 for the first run, 1 for the first retry, ...).
pub(crate) struct Input {
    pub(crate) args: Vec<u8>,
    pub(crate) reply: Reply,
    pub(crate) policy: Policy,
    pub(crate) attempt: u32,
}

/// What a serving container tells the pool it belongs to.
pub(crate) trait Owner {
    /// An input finished (or was skipped): its slot is free.
    fn finished(&self);
    /// A failed input runs again.
    fn retry(&self, input: Input);
    /// The container has been idle for its scaledown window: whether it may end. When it
    /// may, no input is sent to it any more.
    fn may_retire(&self) -> bool;
}

/// An input a container is running: where its result goes, its policy, and, when it may be
/// retried, its arguments again and its attempt.
struct Held {
    reply: Reply,
    policy: Policy,
    retry: Option<(Vec<u8>, u32)>,
}

/// What a container is started for.
pub(crate) enum Role {
    /// Container `id` of its function's pool.
    Pooled { id: u64 },
    /// The one container of a local entrypoint's run.
    Entrypoint,
}

/// Whether a container's output lines carry its label.
#[derive(Clone, Copy)]
pub(crate) enum Stdio {
    /// Function containers: `[function#id] line`.
    Prefixed,
    /// Local entrypoints: the program's own output, as it is.
    Plain,
}

/// What a container's store holds.
pub(crate) struct ContainerState {
    wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    /// The app, to route the calls the guest makes. Weak: dropping the app ends its containers.
    app: Weak<AppShared>,
    /// `function#id`, for messages and output prefixes.
    pub(crate) label: Arc<str>,
    /// The message the guest's panic hook reported, if it panicked.
    panic: Option<String>,
    /// The deadlines of the inputs running here.
    pub(crate) deadlines: Deadlines,
    /// How far the guest may grow its memories and tables.
    limits: StoreLimits,
}

impl ContainerState {
    /// The state of a container labelled `label` whose linear memory may grow to `memory`
    /// bytes (wasm32's 4 GiB when `None`).
    pub(crate) fn new(
        app: Weak<AppShared>,
        label: Arc<str>,
        stdio: Stdio,
        memory: Option<usize>,
    ) -> Self {
        let prefix = match stdio {
            Stdio::Prefixed => Some(Arc::from(format!("[{label}] "))),
            Stdio::Plain => None,
        };
        // No preopened directories, no environment, no network: WASI's defaults deny them.
        let wasi = WasiCtxBuilder::new()
            .stdout(Forward::new(Target::Stdout, prefix.clone()))
            .stderr(Forward::new(Target::Stderr, prefix))
            .build();
        ContainerState {
            wasi,
            table: ResourceTable::new(),
            app,
            label,
            panic: None,
            deadlines: Deadlines::default(),
            limits: StoreLimitsBuilder::new()
                .memory_size(memory.unwrap_or(usize::MAX))
                .table_elements(MAX_TABLE_ELEMENTS)
                .trap_on_grow_failure(true)
                .build(),
        }
    }

    /// The app this container belongs to, while it is alive.
    pub(crate) fn app(&self) -> Result<Arc<AppShared>, Error> {
        self.app
            .upgrade()
            .ok_or_else(|| Error::Cancelled("the app is shutting down".into()))
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

/// How many elements a guest's table may grow to: far more than any Rust guest's function
/// table, far less than memory exhaustion.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// How many component-model handles (calls in flight, resources) one container may hold: 2^20,
/// ten times wasmtime's default, so that one task can keep 100 000 async calls in flight.
const MAX_HANDLES: usize = 1 << 20;

/// A store for `state`. At every epoch tick a running guest yields to the executor, or traps
/// if an input of the container is past its deadline.
pub(crate) fn new_store(engine: &Engine, state: ContainerState) -> Store<ContainerState> {
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limits);
    store.set_max_component_handles(MAX_HANDLES);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut store| {
        store.data_mut().deadlines.check()?;
        Ok(UpdateDeadline::Yield(1))
    });
    store
}

/// The guest export a container runs its inputs through.
type RunFunc = TypedFunc<(String, Vec<u8>), (Result<Vec<u8>, CallError>,)>;

/// An instantiated container, ready to serve.
pub(crate) struct Container {
    store: Store<ContainerState>,
    run: RunFunc,
    function: String,
}

impl Container {
    /// Instantiates `component` to run `function`, as a pooled function container or as a
    /// local entrypoint's container.
    pub(crate) async fn start(
        component: &LoadedComponent,
        app: Weak<AppShared>,
        function: &FunctionInfo,
        role: Role,
    ) -> Result<Container, Error> {
        let (label, stdio, memory) = match &role {
            Role::Pooled { id } => (
                Arc::from(format!("{}#{id}", function.name)),
                Stdio::Prefixed,
                Some(function.config.memory_bytes()),
            ),
            // The program's own: unprefixed output, all of wasm32's memory (and no input
            // deadlines: only pooled inputs carry them).
            Role::Entrypoint => (Arc::from(function.name.as_str()), Stdio::Plain, None),
        };
        let mut store = new_store(
            component.pre.engine(),
            ContainerState::new(app, label, stdio, memory),
        );
        let instance = component
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|error| trap_error(&mut store, &error))?;
        let guest = instance.fnhost_runtime_guest();
        let run = if function.is_async() {
            guest.func_run_async()
        } else {
            guest.func_run()
        };
        Ok(Container {
            store,
            run,
            function: function.name.clone(),
        })
    }

    /// Runs every input that arrives on `inputs`, telling `owner` after each, until the channel
    /// closes or the owner lets it retire after `idle` without inputs (`Ok`), or the instance
    /// traps (`Err`, after failing the inputs it was running; inputs still in the channel were
    /// never started and stay there). A failed input with retries left goes back to the owner
    /// instead of to its caller.
    pub(crate) async fn serve(
        mut self,
        inputs: &mut mpsc::UnboundedReceiver<Input>,
        owner: &impl Owner,
        idle: Duration,
    ) -> Result<(), Error> {
        let Container {
            store,
            run,
            function,
        } = &mut self;
        let settle = |held: Held, result: Result<Vec<u8>, Error>| match (result, held.retry) {
            (Err(error), Some((args, attempt)))
                if attempt < held.policy.retries && retryable(&error) =>
            {
                tracing::debug!("`{function}` attempt {attempt} failed ({error}); retrying");
                owner.retry(Input {
                    args,
                    reply: held.reply,
                    policy: held.policy,
                    attempt: attempt + 1,
                });
            }
            (result, _) => {
                let _ = held.reply.send(result);
            }
        };
        let mut held: HashMap<u64, Held> = HashMap::new();
        let outcome = store
            .run_concurrent(async |accessor| -> wasmtime::Result<()> {
                let mut running = FuturesUnordered::new();
                let mut next_slot = 0u64;
                let mut open = true;
                // One timer for both watches, the earliest deadline and the idle window. It is
                // armed lazily: when it fires it looks at the real state and arms itself again,
                // so a steady stream of calls re-arms nothing.
                let timer = tokio::time::sleep(idle);
                tokio::pin!(timer);
                let mut armed = Some(Instant::now() + idle);
                let mut last_active = Instant::now();
                loop {
                    if !open && running.is_empty() {
                        return Ok(());
                    }
                    tokio::select! {
                        input = unconstrained(inputs.recv()), if open => {
                            let Some(Input { args, reply, policy, attempt }) = input else {
                                open = false;
                                continue;
                            };
                            if reply.is_closed() {
                                // Cancelled while it waited: it never runs.
                                owner.finished();
                                continue;
                            }
                            let slot = next_slot;
                            next_slot += 1;
                            let retry = (attempt < policy.retries).then(|| (args.clone(), attempt));
                            held.insert(slot, Held { reply, policy, retry });
                            accessor.with(|mut access| access.get().deadlines.start(slot, policy.timeout));
                            // A timer armed for an earlier deadline already covers this one.
                            let deadline = Instant::now() + policy.timeout;
                            if armed.is_none_or(|at| at > deadline) {
                                armed = Some(deadline);
                                timer.as_mut().reset(deadline.into());
                            }
                            let function = function.clone();
                            let run = *run;
                            running.push(async move {
                                (slot, run.call_concurrent(accessor, (function, args)).await)
                            });
                        }
                        Some((slot, outcome)) = running.next(), if !running.is_empty() => {
                            let (result,) = outcome?;
                            accessor.with(|mut access| access.get().deadlines.finish(slot));
                            if let Some(input) = held.remove(&slot) {
                                let result = result.map_err(Error::from).and_then(|output| {
                                    payload::check(function, "result", output.len())
                                        .map(|()| output)
                                        .map_err(Error::User)
                                });
                                settle(input, result);
                            }
                            owner.finished();
                            last_active = Instant::now();
                            let idle_at = last_active + idle;
                            if running.is_empty() && armed.is_none_or(|at| at > idle_at) {
                                armed = Some(idle_at);
                                timer.as_mut().reset(idle_at.into());
                            }
                        }
                        () = &mut timer, if armed.is_some() => {
                            armed = None;
                            let now = Instant::now();
                            let next = match accessor.with(|mut access| access.get().deadlines.earliest()) {
                                Some(deadline) if deadline <= now => {
                                    return Err(accessor.with(|mut access| access.get().deadlines.expire()));
                                }
                                Some(deadline) => Some(deadline),
                                None if !running.is_empty() => None,
                                None if last_active + idle > now => Some(last_active + idle),
                                None if owner.may_retire() => return Ok(()),
                                None => Some(now + idle),
                            };
                            if let Some(at) = next {
                                armed = Some(at);
                                timer.as_mut().reset(at.into());
                            }
                        }
                    }
                }
            })
            .await;
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) | Err(error) => {
                let error = trap_error(store, &error);
                let deadlines = &store.data().deadlines;
                for (slot, input) in held.drain() {
                    let error = if deadlines.is_past(slot) {
                        let timeout = input.policy.timeout;
                        Error::Timeout(format!("`{function}` ran past its timeout of {timeout:?}"))
                    } else {
                        error.clone()
                    };
                    settle(input, Err(error));
                }
                Err(error)
            }
        }
    }

    /// Runs one input and returns its result: how a local entrypoint runs.
    pub(crate) async fn call_once(mut self, args: Vec<u8>) -> Result<Vec<u8>, Error> {
        let Container {
            store,
            run,
            function,
            ..
        } = &mut self;
        let call = (function.clone(), args);
        let outcome = store
            .run_concurrent(async |accessor| run.call_concurrent(accessor, call).await)
            .await;
        match outcome {
            Ok(Ok((result,))) => result.map_err(Error::from),
            Ok(Err(error)) | Err(error) => Err(trap_error(store, &error)),
        }
    }
}

/// Whether a failure may go away on another attempt: what the body or its container did, not
/// what the caller asked for.
fn retryable(error: &Error) -> bool {
    matches!(
        error,
        Error::User(_) | Error::Trapped(_) | Error::Timeout(_)
    )
}

/// The error a trap becomes: the guest's panic message when it panicked, else the trap itself.
fn trap_error(store: &mut Store<ContainerState>, error: &wasmtime::Error) -> Error {
    let state = store.data_mut();
    tracing::debug!(container = %state.label, "trapped: {error:?}");
    let cause = match state.panic.take() {
        Some(panic) => panic.replace('\n', " "),
        None if state.deadlines.expired() => "stopped: an input ran past its timeout".to_owned(),
        None => match error.downcast_ref::<wasmtime::Trap>() {
            Some(trap) => trap.to_string(),
            None => error.root_cause().to_string(),
        },
    };
    Error::Trapped(format!("{}: {cause}", state.label))
}
