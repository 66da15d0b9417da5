//! A container: one store and one component instance, serving the inputs its pool sends it.
//!
//! A container runs as one tokio task that owns its store and drives it with
//! `run_concurrent`, so stores never nest and each container makes progress on its own. The
//! inputs it is sent all run as concurrent calls on the one instance: an async body interleaves
//! them (the pool sends up to `max_inputs`), a blocking body gets one at a time.
//!
//! A container of a class's instance (`pool::class`) runs the class's `enter` hooks before it
//! serves (a failure is its start's failure), and its `exit` hooks when it retires normally
//! (the channel closed, or idle past its window), within [`EXIT_DEADLINE`]; never after a trap
//! or once it stopped for a cancelled input. A generator's input is handed an `item-sink`
//! resource on its item channel and runs through `run-gen` (or `run-gen-async`).
//!
//! A trap poisons the instance: the container fails every input it holds with the trap's
//! message (a panic's message, reported by the guest's panic hook, when there is one) and ends;
//! the pool replaces it. Other containers are untouched. An input past its timeout stops the
//! container the same way (see `deadline`): it fails with `timeout`, the others with `trapped`.
//!
//! Cancellation: when an input's caller goes away (it cancelled, dropped the call, or was
//! itself stopped), the input's result can never be delivered. wasmtime 48 cannot cancel one
//! task of a store (bytecodealliance/wasmtime#11833: only dropping the store stops a task), so
//! the container leaves its pool at once (it takes no more inputs; those sent to it go back)
//! and is dropped as soon as every input it still runs is cancelled too: at once for a
//! blocking body, which runs one input, or when the live inputs of an async body finish.
//! Dropping the store drops the calls the cancelled input made, which cancels them in turn.

pub(crate) mod deadline;
mod imports;
mod keyvalue;
mod sandboxes;
pub(crate) mod state;
mod storage;

use crate::Error;
use crate::dispatch::chain::{CallerKey, Chain};
use crate::dispatch::items::ItemSink;
use crate::dispatch::watch::Watched;
use crate::dispatch::{CallId, Input, Reply, payload};
use crate::info::FunctionInfo;
use crate::options::Policy;
use crate::runtime::bindings::{AppPre, CallError, EnterPhase};
use crate::runtime::cpu::CpuBudget;
use crate::runtime::grants::{OwnGrants, secret_env, volume_dirs};
use crate::runtime::memory::OverBudget;
use crate::runtime::occupancy::Live;
use crate::runtime::output::Origin;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use state::{ContainerContext, ContainerState, new_store};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::unconstrained;
use tracing::Instrument;
use wasmtime::component::{Accessor, GuestTaskId, Resource, TypedFunc, TypedFuncCallConcurrent};
use wasmtime::{PoolConcurrencyLimitError, Store};

/// Where a container's inputs are sent. Boxed: the channel's blocks then hold pointers, small
/// enough for the allocator's fast path, rather than whole inputs.
pub(crate) type Inbox = mpsc::UnboundedSender<Box<Input>>;

/// Where a container receives its inputs.
pub(crate) type InputReceiver = mpsc::UnboundedReceiver<Box<Input>>;

/// What a serving container tells the pool it belongs to.
pub(crate) trait Owner {
    /// An input finished (or was skipped): its place is free.
    fn finished(&self);
    /// A failed input runs again.
    fn retry(&self, input: Input);
    /// The container has been idle for its scaledown window: whether it may end. When it
    /// may, no input is sent to it any more.
    fn may_retire(&self) -> bool;
    /// The container takes no more inputs: nothing is sent to it any more.
    fn leave(&self);
    /// An input sent to the container that it will not run goes back to be placed elsewhere.
    fn requeue(&self, input: Input);
    /// An input's caller went away before it finished.
    fn cancelled(&self);
}

/// An input a container is running: where its result goes, its policy, and, when it may be
/// retried, its arguments again and its attempt.
struct Held {
    function: Arc<str>,
    reply: Reply,
    policy: Policy,
    retry: Option<(Vec<u8>, u32, Option<Chain>)>,
    id: CallId,
    watched: Watched,
    /// Its place among the container's callers.
    caller: Option<CallerKey>,
    /// The guest task it runs as.
    task: Option<GuestTaskId>,
}

/// An input's call of the guest's export, started: the guest task it runs as is known before
/// it runs, so that the calls it makes extend its own call chain.
enum ExportCall {
    Run(TypedFuncCallConcurrent<ContainerState, RunParams, RunResults>),
    /// A generator's: it returns nothing, its items go to the sink.
    Gen(TypedFuncCallConcurrent<ContainerState, GenParams, GenResults>),
    /// The call could not be started: the input fails with this.
    Failed(wasmtime::Error),
}

impl ExportCall {
    /// Starts `run` with `params`, or `run_gen` with them and `sink` when it is given.
    fn start(
        accessor: &Accessor<ContainerState>,
        run: RunFunc,
        run_gen: GenFunc,
        (function, args, call_id): (Arc<str>, Vec<u8>, String),
        sink: Option<Resource<ItemSink>>,
    ) -> ExportCall {
        accessor.with(|mut access| {
            let started = match sink {
                None => run
                    .start_call_concurrent(&mut access, (function, args, call_id))
                    .map(ExportCall::Run),
                Some(sink) => run_gen
                    .start_call_concurrent(&mut access, (function, args, call_id, sink))
                    .map(ExportCall::Gen),
            };
            started.unwrap_or_else(ExportCall::Failed)
        })
    }

    /// The guest task the call runs as.
    fn task(&self) -> Option<GuestTaskId> {
        match self {
            ExportCall::Run(call) => Some(call.task()),
            ExportCall::Gen(call) => Some(call.task()),
            ExportCall::Failed(_) => None,
        }
    }

    /// The call's outcome.
    async fn finish(
        self,
        accessor: &Accessor<ContainerState>,
        run: RunFunc,
        run_gen: GenFunc,
    ) -> wasmtime::Result<RunResults> {
        match self {
            ExportCall::Run(call) => run.finish_call_concurrent(accessor, call).await,
            ExportCall::Gen(call) => run_gen
                .finish_call_concurrent(accessor, call)
                .await
                .map(|(result,)| (result.map(|()| b"null".to_vec()),)),
            ExportCall::Failed(error) => Err(error),
        }
    }
}

/// What a container is started for.
pub(crate) enum Role {
    /// Container `id` of its function's pool (the function's name shared from it), which
    /// counts its CPU budget's pauses in `cpu_throttles`.
    Pooled {
        id: u64,
        name: Arc<str>,
        cpu_throttles: Arc<AtomicUsize>,
    },
    /// The one container of a local entrypoint's run.
    Entrypoint,
}

/// The guest export a container runs its inputs through. The function's name is lowered from
/// an `Arc<str>` (the export's parameter is a `string`): each input shares it rather than
/// copying it.
type RunFunc = TypedFunc<RunParams, RunResults>;
type RunParams = (Arc<str>, Vec<u8>, String);
type RunResults = (Result<Vec<u8>, CallError>,);

/// The guest export a container runs its generators' inputs through: each is handed the sink
/// its items go to.
type GenFunc = TypedFunc<GenParams, GenResults>;
type GenParams = (Arc<str>, Vec<u8>, String, Resource<ItemSink>);
type GenResults = (Result<(), CallError>,);

/// What a container of a class's instance builds: the class, the parameter values (a JSON
/// object), and which `enter` hooks it runs (`None`: none — it starts from a snapshot that
/// holds the instance, and the class has no other hook).
pub(crate) struct Entering<'a> {
    pub(crate) class: &'a str,
    pub(crate) params: &'a [u8],
    pub(crate) phase: Option<EnterPhase>,
}

/// The guest export that runs a class instance's `exit` hooks.
type ExitFunc = TypedFunc<(), (Result<(), CallError>,)>;

/// How long a retiring container's `exit` hooks may run; then the container is dropped.
const EXIT_DEADLINE: Duration = Duration::from_secs(10);

/// The deadline tag of a class's `enter` or `exit` hooks, beside the inputs' tags (which count
/// up from 0 and never reach it).
const HOOK_TAG: u64 = u64::MAX;

/// An instantiated container, ready to serve.
pub(crate) struct Container {
    store: Store<ContainerState>,
    run: RunFunc,
    /// For the inputs of a generator (a function, or a method of the class).
    run_gen: GenFunc,
    /// Set for a container of a class's instance: it runs the `exit` hooks when it retires.
    exit: Option<ExitFunc>,
    function: Arc<str>,
    /// Counts the container as live; dropped after the store, so that its slot is free when
    /// the host hears of its end.
    _live: Live,
}

impl Container {
    /// Instantiates `component` to run `function`, as a pooled function container or as a
    /// local entrypoint's container; for a class's instance (`entering`), builds it and runs
    /// its `enter` hooks, within the class's timeout.
    pub(crate) async fn start(
        pre: &AppPre<ContainerState>,
        context: &ContainerContext,
        function: &FunctionInfo,
        role: Role,
        entering: Option<Entering<'_>>,
    ) -> Result<Container, Error> {
        let own = match role {
            Role::Pooled { .. } => OwnGrants {
                env: secret_env(context.storage.as_deref(), &function.secrets)?,
                dirs: volume_dirs(context.storage.as_deref(), &function.volumes).await?,
            },
            // The program's own: it is the operator's, not a function of the app.
            Role::Entrypoint => OwnGrants::default(),
        };
        let (name, label, origin, memory, cpu) = match role {
            Role::Pooled {
                id,
                name,
                cpu_throttles,
            } => {
                let label: Arc<str> = Arc::from(format!("{}#{id}", function.name));
                let cpu = function
                    .config
                    .cpu_millicores()
                    .map(|millicores| CpuBudget::new(millicores, cpu_throttles));
                let memory = Some(function.config.memory_bytes());
                (
                    name,
                    Arc::clone(&label),
                    Origin::Container(label),
                    memory,
                    cpu,
                )
            }
            // The program's own: uncut output, all of wasm32's memory and all the CPU it gets
            // (and no input deadlines: only pooled inputs carry them).
            Role::Entrypoint => {
                let name: Arc<str> = Arc::from(function.name.as_str());
                (Arc::clone(&name), name, Origin::Program, None, None)
            }
        };
        let state = ContainerState::new(context, name, label, &origin, memory, cpu, own);
        let mut store = new_store(pre.engine(), state);
        let instance = pre.instantiate_async(&mut store).await.map_err(|error| {
            no_room(&function.name, &error).unwrap_or_else(|| trap_error(&mut store, &error))
        })?;
        let guest = instance.fnhost_runtime_guest();
        let (run, run_gen) = match function.is_async() {
            true => (guest.func_run_async(), guest.func_run_gen_async()),
            false => (guest.func_run(), guest.func_run_gen()),
        };
        let run = run.func().typed(&store);
        let run = run.map_err(|error| trap_error(&mut store, &error))?;
        let run_gen = run_gen.func().typed(&store);
        let run_gen = run_gen.map_err(|error| trap_error(&mut store, &error))?;
        let exit = match entering {
            None => None,
            Some(entering) => {
                let enter = guest.func_enter().func().typed(&store);
                let enter = enter.map_err(|error| trap_error(&mut store, &error))?;
                let exit = guest.func_exit().func().typed(&store);
                let exit = exit.map_err(|error| trap_error(&mut store, &error))?;
                let timeout = function.config.timeout;
                let class = entering.class;
                let entered = match entering.phase {
                    None => Ok(()),
                    Some(phase) => {
                        let call = (Arc::<str>::from(class), entering.params.to_vec(), phase);
                        run_hook(&mut store, enter, call, timeout).await
                    }
                };
                match entered {
                    Ok(()) => {}
                    Err(HookFailure::Failed(error)) => {
                        return Err(entering_failed(class, error.into()));
                    }
                    Err(HookFailure::Trapped(error)) => {
                        let error = trap_error(&mut store, &error);
                        return Err(entering_failed(class, error));
                    }
                    Err(HookFailure::TimedOut) => {
                        return Err(Error::Timeout(format!(
                            "`{class}`: its `enter` hooks ran past the class's timeout of \
                             {timeout:?}; the container never served"
                        )));
                    }
                }
                Some(exit)
            }
        };
        Ok(Container {
            function: Arc::clone(&store.data().function),
            _live: Live::new(Arc::clone(&store.data().occupancy)),
            store,
            run,
            run_gen,
            exit,
        })
    }

    /// Runs every input that arrives on `inputs`, telling `owner` after each, until the channel
    /// closes, the owner lets it retire after `idle` without inputs, or every input it still
    /// runs was cancelled (`Ok`), or the instance traps (`Err`, after failing the inputs it was
    /// running; inputs still in the channel were never started and stay there). A failed input
    /// with retries left goes back to the owner instead of to its caller.
    pub(crate) async fn serve(
        mut self,
        inputs: &mut InputReceiver,
        owner: &impl Owner,
        idle: Duration,
    ) -> Result<(), Error> {
        let Container {
            store,
            run,
            run_gen,
            function,
            exit,
            ..
        } = &mut self;
        let settle = |held: Held, result: Result<Vec<u8>, Error>| match (result, held.retry) {
            (Err(error), Some((args, attempt, caller)))
                if attempt < held.policy.retries && retryable(&error) =>
            {
                tracing::debug!("`{function}` attempt {attempt} failed ({error}); retrying");
                owner.retry(Input {
                    function: held.function,
                    args,
                    reply: held.reply,
                    policy: held.policy,
                    attempt: attempt + 1,
                    caller,
                    id: held.id,
                    // Generators are never retried.
                    items: None,
                });
            }
            (result, _) => {
                let _ = held.reply.send(result);
            }
        };
        let mut held: HashMap<u64, Held> = HashMap::new();
        let abandoned = Arc::clone(&store.data().abandoned);
        let outcome = store
            .run_concurrent(async |accessor| -> wasmtime::Result<()> {
                let mut running = FuturesUnordered::new();
                let mut next_tag = 0u64;
                let mut open = true;
                // Set once an input was cancelled: the container takes no more inputs and ends
                // when nothing it runs has a caller left.
                let mut draining = false;
                // One timer for both watches, the earliest deadline and the idle window. It is
                // armed lazily: when it fires it looks at the real state and arms itself again,
                // so a steady stream of calls re-arms nothing. It is polled once after each
                // arming, which leaves it this task's waker; after that the loop only looks
                // whether it fired, rather than registering with it at every turn.
                let timer = tokio::time::sleep(idle);
                tokio::pin!(timer);
                let mut armed = Some(Instant::now() + idle);
                let mut timer_polled = false;
                let mut last_active = Instant::now();
                loop {
                    if draining && held.is_empty() {
                        return Ok(());
                    }
                    if !open && running.is_empty() {
                        exit_hooks(accessor, *exit, function).await;
                        return Ok(());
                    }
                    if armed.is_some() && !timer_polled {
                        // Leaves the timer this task's waker; when it fires (now or later),
                        // the last branch below sees it.
                        timer_polled = true;
                        let _ = futures::poll!(timer.as_mut());
                    }
                    // Biased: finishing inputs frees places before more are taken; no random
                    // draw per turn.
                    tokio::select! {
                        biased;
                        Some((tag, outcome)) = running.next(), if !running.is_empty() => {
                            let (result,): (Result<Vec<u8>, CallError>,) = outcome?;
                            // Not held any more when it was cancelled: its result goes nowhere.
                            if let Some(input) = held.remove(&tag) {
                                accessor.with(|mut access| access.get().input_done(tag, input.caller, input.task));
                                if !input.watched.finish() {
                                    owner.cancelled();
                                }
                                let result = result.map_err(Error::from).and_then(|output| {
                                    payload::check(&input.function, "result", output.len())
                                        .map(|()| output)
                                        .map_err(Error::User)
                                });
                                // Its place is free before the caller hears back, so that its
                                // next call finds it free.
                                owner.finished();
                                settle(input, result);
                            }
                            last_active = Instant::now();
                            let idle_at = last_active + idle;
                            if running.is_empty() && armed.is_none_or(|at| at > idle_at) {
                                armed = Some(idle_at);
                                timer.as_mut().reset(idle_at.into());
                                timer_polled = false;
                            }
                        }
                        input = unconstrained(inputs.recv()), if open => {
                            let Some(input) = input else {
                                open = false;
                                continue;
                            };
                            let Input { function, args, mut reply, policy, attempt, caller, id, items } = *input;
                            let tag = next_tag;
                            next_tag += 1;
                            let Some(watched) = abandoned.watch(tag, &mut reply) else {
                                // Cancelled while it waited: it never runs.
                                owner.cancelled();
                                owner.finished();
                                continue;
                            };
                            let retry = (attempt < policy.retries).then(|| (args.clone(), attempt, caller.clone()));
                            let deadline = Instant::now() + policy.timeout;
                            let span = tracing::debug_span!("input", %function, attempt, call = %id);
                            let held_function = Arc::clone(&function);
                            let (run, run_gen) = (*run, *run_gen);
                            let sink = match items {
                                Some(items) => Some(accessor.with(|mut access| {
                                    access.get().table.push(ItemSink(items))
                                })?),
                                None => None,
                            };
                            let call = ExportCall::start(accessor, run, run_gen, (function, args, id.to_string()), sink);
                            let task = call.task();
                            let caller = accessor.with(|mut access| {
                                access.get().input_started(tag, deadline, caller, task)
                            });
                            held.insert(tag, Held { function: held_function, reply, policy, retry, watched, caller, task, id });
                            // A timer armed for an earlier deadline already covers this one.
                            if armed.is_none_or(|at| at > deadline) {
                                armed = Some(deadline);
                                timer.as_mut().reset(deadline.into());
                                timer_polled = false;
                            }
                            running.push(async move {
                                (tag, call.finish(accessor, run, run_gen).instrument(span).await)
                            });
                        }
                        tag = abandoned.next() => {
                            // The caller went away: the input's result can never be delivered.
                            let Some(input) = held.remove(&tag) else {
                                continue;
                            };
                            accessor.with(|mut access| access.get().input_done(tag, input.caller, input.task));
                            owner.cancelled();
                            if !draining {
                                draining = true;
                                open = false;
                                owner.leave();
                                inputs.close();
                                while let Ok(input) = inputs.try_recv() {
                                    owner.requeue(*input);
                                }
                            }
                        }
                        // Woken by the timer itself (see above), not registered anew.
                        () = std::future::poll_fn(|_| {
                            if timer.is_elapsed() { Poll::Ready(()) } else { Poll::Pending }
                        }), if armed.is_some() => {
                            armed = None;
                            let now = Instant::now();
                            let next = match accessor.with(|mut access| access.get().deadlines.earliest()) {
                                Some(deadline) if deadline <= now => {
                                    return Err(accessor.with(|mut access| access.get().deadlines.expire()));
                                }
                                Some(deadline) => Some(deadline),
                                None if !running.is_empty() => None,
                                None if last_active + idle > now => Some(last_active + idle),
                                None if owner.may_retire() => {
                                    exit_hooks(accessor, *exit, function).await;
                                    return Ok(());
                                }
                                None => Some(now + idle),
                            };
                            if let Some(at) = next {
                                armed = Some(at);
                                timer.as_mut().reset(at.into());
                                timer_polled = false;
                            }
                        }
                    }
                }
            })
            .await;
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) | Err(error) => {
                let cancelled = abandoned.stop_requested();
                let error = trap_error(store, &error);
                let deadlines = &store.data().deadlines;
                for (tag, input) in held.drain() {
                    if input.watched.is_done() {
                        // Its caller is gone: nothing to deliver, nothing to retry.
                        owner.cancelled();
                        continue;
                    }
                    let error = if deadlines.is_past(tag) {
                        let timeout = input.policy.timeout;
                        Error::Timeout(format!(
                            "`{}` ran past its timeout of {timeout:?}",
                            input.function
                        ))
                    } else {
                        error.clone()
                    };
                    settle(input, Err(error));
                }
                if cancelled {
                    tracing::debug!("`{function}`: stopped, every input it ran was cancelled");
                    return Ok(());
                }
                Err(error)
            }
        }
    }

    /// Runs one input to its end, as a local entrypoint runs, and returns its exit status: 0
    /// when it returned (its result, a local entrypoint's `()`, is dropped), `status` when it
    /// exited through `wasi:cli/exit` (wasmtime-wasi's `I32Exit`: an exit, 0 included, is how
    /// a program ends, not a trap). An error when it returned one or trapped.
    pub(crate) async fn call_once(mut self, args: Vec<u8>) -> Result<i32, Error> {
        let Container {
            store,
            run,
            function,
            ..
        } = &mut self;
        // No call runs a local entrypoint: it has no call id.
        let call = (Arc::clone(function), args, String::new());
        let outcome = store
            .run_concurrent(async |accessor| run.call_concurrent(accessor, call).await)
            .await;
        match outcome {
            Ok(Ok((result,))) => result.map(|_| 0).map_err(Error::from),
            Ok(Err(error)) | Err(error) => match error.downcast_ref::<wasmtime_wasi::I32Exit>() {
                Some(&wasmtime_wasi::I32Exit(status)) => {
                    tracing::debug!("`{function}` exited with status {status}");
                    Ok(status)
                }
                None => Err(trap_error(store, &error)),
            },
        }
    }
}

/// How a class's hook did not return.
pub(crate) enum HookFailure {
    /// It returned an error (its message names the hook).
    Failed(CallError),
    /// The instance trapped.
    Trapped(wasmtime::Error),
    /// It ran past its deadline.
    TimedOut,
}

/// Runs a class's `enter` hooks (`hook` with `args`) on a container not serving yet, within
/// `timeout`: computing past it traps at the next epoch tick, a blocking import waits no
/// longer, and an async wait is dropped with the store.
pub(crate) async fn run_hook<P>(
    store: &mut Store<ContainerState>,
    hook: TypedFunc<P, (Result<(), CallError>,)>,
    args: P,
    timeout: Duration,
) -> Result<(), HookFailure>
where
    P: wasmtime::component::ComponentNamedList + wasmtime::component::Lower + Send + Sync + 'static,
{
    let deadline = Instant::now() + timeout;
    store.data_mut().deadlines.start(HOOK_TAG, deadline);
    let run = store.run_concurrent(async |accessor| hook.call_concurrent(accessor, args).await);
    let outcome = tokio::time::timeout_at(deadline.into(), run).await;
    store.data_mut().deadlines.finish(HOOK_TAG);
    match outcome {
        Err(_) => Err(HookFailure::TimedOut),
        Ok(Ok(Ok((Ok(()),)))) => Ok(()),
        Ok(Ok(Ok((Err(error),)))) => Err(HookFailure::Failed(error)),
        Ok(Ok(Err(error)) | Err(error)) if store.data().deadlines.expired() => {
            drop(error);
            Err(HookFailure::TimedOut)
        }
        Ok(Ok(Err(error)) | Err(error)) => Err(HookFailure::Trapped(error)),
    }
}

/// Runs a retiring container's `exit` hooks, when it is a class's, for at most
/// [`EXIT_DEADLINE`]; what goes wrong is logged, never delivered (no input waits on it).
async fn exit_hooks(
    accessor: &wasmtime::component::Accessor<ContainerState>,
    exit: Option<ExitFunc>,
    class: &str,
) {
    let Some(exit) = exit else {
        return;
    };
    let deadline = Instant::now() + EXIT_DEADLINE;
    accessor.with(|mut access| access.get().deadlines.start(HOOK_TAG, deadline));
    let outcome =
        tokio::time::timeout_at(deadline.into(), exit.call_concurrent(accessor, ())).await;
    match outcome {
        Ok(Ok((Ok(()),))) => {}
        Ok(Ok((Err(error),))) => tracing::warn!("`{class}`: {}", Error::from(error)),
        Ok(Err(error)) => tracing::warn!("`{class}`: its `exit` hooks trapped: {error}"),
        Err(_) => tracing::warn!(
            "`{class}`: its `exit` hooks ran past {EXIT_DEADLINE:?}; the container is dropped"
        ),
    }
}

/// The error of a container whose class's `enter` hooks failed: it names the class and says
/// the container never served.
fn entering_failed(class: &str, error: Error) -> Error {
    let message = format!(
        "`{class}`: a container could not start: {}",
        error.message()
    );
    Error::from_kind(error.kind(), message)
}

/// When `function`'s container could not start for want of room on the host — every
/// pooling-allocator slot taken, or the memory budget spent — the `overloaded` error saying
/// which: back-pressure, not a fault.
fn no_room(function: &str, error: &wasmtime::Error) -> Option<Error> {
    if let Some(limit) = error.downcast_ref::<PoolConcurrencyLimitError>() {
        return Some(Error::Overloaded(format!(
            "`{function}`: no free container slot ({limit}; raise FNHOST_MAX_INSTANCES)"
        )));
    }
    let over = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<OverBudget>())?;
    Some(Error::Overloaded(format!(
        "`{function}`: no memory for a container: {over} (raise FNHOST_MEMORY_BUDGET)"
    )))
}

/// Whether a failure may go away on another attempt: what the body or its container did, not
/// what the caller asked for.
pub(crate) fn retryable(error: &Error) -> bool {
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
            Some(wasmtime::Trap::StackOverflow) => "stack overflow".to_owned(),
            // A Rust guest's stack lives in its linear memory: overflowing it reads or writes
            // below address 0, which the trap cannot tell from any other stray access.
            Some(wasmtime::Trap::MemoryOutOfBounds) => {
                "out of bounds memory access (a stray pointer, or a stack that overflowed)"
                    .to_owned()
            }
            Some(trap) => trap.to_string(),
            // wasmtime's words when a store's handle table is full (the limit) or cannot grow.
            None if [
                "store handle limit exceeded",
                "resource table has no free keys",
            ]
            .iter()
            .any(|words| error.root_cause().to_string().contains(words)) =>
            {
                format!(
                    "too many handles: a container holds at most {} component-model handles at \
                     once (calls in flight, their results, resources: the host's max_handles), \
                     and this one ran out",
                    state.max_handles
                )
            }
            None => error.root_cause().to_string(),
        },
    };
    Error::Trapped(format!("{}: {cause}", state.label))
}
