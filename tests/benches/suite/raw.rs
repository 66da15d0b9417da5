//! The raw-wasmtime baseline host: the bench guest instantiated on an engine made from fnhost's
//! own engine settings, with no pools, queues or chains between caller and instance.

use crate::median;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Raw wasmtime's cross-store calls: each `(function, n)` of the bench guest (`ping_blocking`,
/// `ping_async`, `fan_out`, `map_out`) runs in a store of its own with argument `n` (after a
/// warm-up with 100), its `call` / `call-async` imports sent over a channel to a second store
/// in a task of its own, which runs them concurrently and answers each over a oneshot: the
/// topology of any host that gives each store a task. Returns how long each took.
pub(crate) async fn cross_store<const N: usize>(
    bench: &Path,
    functions: &[(&'static str, u32); N],
) -> [Duration; N] {
    let callee = Raw::new(bench);
    let (requests, mut received) = tokio::sync::mpsc::unbounded_channel::<RawCall>();
    let (mut store, instance) = callee.instantiate().await;
    let run = callee.export(&mut store, &instance, "run");
    let run_async = callee.export(&mut store, &instance, "run-async");
    let server = tokio::spawn(async move {
        store
            .run_concurrent(async |accessor| {
                let mut running = futures::stream::FuturesUnordered::new();
                let mut open = true;
                loop {
                    tokio::select! {
                        call = tokio::task::unconstrained(received.recv()), if open => {
                            let Some(call) = call else {
                                open = false;
                                continue;
                            };
                            let export = if call.function == "noop" { run_async } else { run };
                            running.push(async move {
                                let called = export
                                    .call_concurrent(accessor, (call.function, call.args, String::new()))
                                    .await;
                                (called, call.reply)
                            });
                        }
                        Some((called, reply)) = futures::StreamExt::next(&mut running) => {
                            let (result,) = called.unwrap();
                            let _ = reply.send(result.unwrap());
                        }
                        else => break,
                    }
                }
            })
            .await
            .unwrap();
    });
    let caller = Raw::calling(bench, requests);
    let mut measured = [Duration::ZERO; N];
    for (elapsed, (function, n)) in measured.iter_mut().zip(functions) {
        let (mut store, instance) = caller.instantiate().await;
        let export = if function.starts_with("ping_blocking") {
            "run"
        } else {
            "run-async"
        };
        let entry = caller.export(&mut store, &instance, export);
        *elapsed = store
            .run_concurrent(async |accessor| {
                let mut start = Instant::now();
                for n in [100, *n] {
                    start = Instant::now();
                    let args = format!("[{n}]").into_bytes();
                    let (output,) = entry
                        .call_concurrent(accessor, ((*function).to_owned(), args, String::new()))
                        .await
                        .unwrap();
                    output.unwrap();
                }
                start.elapsed()
            })
            .await
            .unwrap();
    }
    // The callee's task ends when the last sender, held by the caller's imports, is gone.
    drop(caller);
    server.await.unwrap();
    measured
}

/// The version of the contract (wit/fnhost.wit) the bench guest is built against.
const CONTRACT_VERSION: &str = "0.11.0";

/// Raw wasmtime, configured as fnhost's engine is, instantiating the same component with
/// WASI, `sleep-async`, and, for the cross-store baseline, `call` / `call-async` sent to
/// another store's task; the other fnhost imports trap (the measured functions never call
/// them).
pub(crate) struct Raw {
    pre: wasmtime::component::InstancePre<RawState>,
}

pub(crate) struct RawState {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for RawState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A call from one raw store to another: the callee, its arguments, where its result goes.
struct RawCall {
    function: String,
    args: Vec<u8>,
    reply: oneshot::Sender<Vec<u8>>,
}

/// The contract's `call-options`, lifted and ignored.
#[derive(wasmtime::component::ComponentType, wasmtime::component::Lift)]
#[component(record)]
struct RawCallOptions {
    #[component(name = "timeout-nanos")]
    _timeout_nanos: Option<u64>,
    #[component(name = "retries")]
    _retries: Option<u32>,
    #[component(name = "containers")]
    _containers: Option<RawFunctionConfig>,
    #[component(name = "secrets")]
    _secrets: Option<Vec<RawSecretSource>>,
    #[component(name = "volumes")]
    _volumes: Option<Vec<RawVolumeMount>>,
}

/// The contract's `secret-source`, as `call-options` holds it: lifted and ignored.
#[derive(wasmtime::component::ComponentType, wasmtime::component::Lift)]
#[component(variant)]
#[expect(dead_code, reason = "lifted to match the contract, never read")]
enum RawSecretSource {
    #[component(name = "named")]
    Named(String),
    #[component(name = "inline")]
    Inline(Vec<(String, String)>),
}

/// The contract's `volume-mount`, as `call-options` holds it: lifted and ignored.
#[derive(wasmtime::component::ComponentType, wasmtime::component::Lift)]
#[component(record)]
struct RawVolumeMount {
    #[component(name = "path")]
    _path: String,
    #[component(name = "volume")]
    _volume: String,
    #[component(name = "create-if-missing")]
    _create_if_missing: bool,
}

/// The contract's `function-config`, as `call-options` holds it: lifted and ignored.
#[derive(wasmtime::component::ComponentType, wasmtime::component::Lift)]
#[component(record)]
struct RawFunctionConfig {
    #[component(name = "max-inputs")]
    _max_inputs: Option<u32>,
    #[component(name = "target-inputs")]
    _target_inputs: Option<u32>,
    #[component(name = "max-containers")]
    _max_containers: Option<u32>,
    #[component(name = "min-containers")]
    _min_containers: Option<u32>,
    #[component(name = "buffer-containers")]
    _buffer_containers: Option<u32>,
    #[component(name = "scaledown-window-secs")]
    _scaledown_window_secs: Option<u32>,
    #[component(name = "timeout-secs")]
    _timeout_secs: Option<u32>,
    #[component(name = "memory-mib")]
    _memory_mib: Option<u32>,
    #[component(name = "cpu-millicores")]
    _cpu_millicores: Option<u32>,
    #[component(name = "retries")]
    _retries: Option<u32>,
    #[component(name = "retry-delay-ms")]
    _retry_delay_ms: Option<u32>,
    #[component(name = "backoff-coefficient")]
    _backoff_coefficient: Option<f32>,
    #[component(name = "max-retry-delay-ms")]
    _max_retry_delay_ms: Option<u32>,
}

/// The result of `call` and `call-async`.
type RawCallResult = (Result<Vec<u8>, RawCallError>,);

/// `guest.run` or `guest.run-async`, typed.
/// The contract's `run`/`run-async`: function, arguments, call id (the raw baselines give none).
pub(crate) type RawRun =
    wasmtime::component::TypedFunc<(String, Vec<u8>, String), (Result<Vec<u8>, RawCallError>,)>;

/// The contract's `call-error` (wit/fnhost.wit, case for case): lifted to be shown if a
/// baseline call fails, and the error type of the raw `call` imports (which never fail).
#[derive(
    wasmtime::component::ComponentType, wasmtime::component::Lift, wasmtime::component::Lower, Debug,
)]
#[component(variant)]
pub(crate) enum RawCallError {
    #[component(name = "not-found")]
    NotFound(String),
    #[component(name = "bad-arguments")]
    BadArguments(String),
    #[component(name = "user")]
    User(String),
    #[component(name = "trapped")]
    Trapped(String),
    #[component(name = "timeout")]
    Timeout(String),
    #[component(name = "cancelled")]
    Cancelled(String),
    #[component(name = "overloaded")]
    Overloaded(String),
    #[component(name = "too-deep")]
    TooDeep(String),
    #[component(name = "payload")]
    Payload(String),
}

impl Raw {
    pub(crate) fn new(path: &Path) -> Raw {
        Raw::build(path, None)
    }

    /// A raw instance whose `call` and `call-async` go to `calls`.
    fn calling(path: &Path, calls: tokio::sync::mpsc::UnboundedSender<RawCall>) -> Raw {
        Raw::build(path, Some(calls))
    }

    fn build(path: &Path, calls: Option<tokio::sync::mpsc::UnboundedSender<RawCall>>) -> Raw {
        // fnhost's own engine settings (its pooling allocator, 1000 instances of at most 4 GiB,
        // component-model async, epoch checks compiled in). Nothing ticks raw's epoch, so the
        // stores' deadline is never reached.
        let config = fnhost::HostSettings::default().engine_config();
        let engine = Engine::new(&config).unwrap();
        let component = Component::from_file(&engine, path).unwrap();
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
        let mut host = linker
            .instance(&format!("fnhost:runtime/host@{CONTRACT_VERSION}"))
            .unwrap();
        // `sleeper` sleeps.
        host.func_wrap_concurrent("sleep-async", |_, (nanos,): (u64,)| {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_nanos(nanos)).await;
                Ok(())
            })
        })
        .unwrap();
        if let Some(calls) = calls {
            let send = move |function: String, args: Vec<u8>| {
                let (reply, result) = oneshot::channel();
                calls
                    .send(RawCall {
                        function,
                        args,
                        reply,
                    })
                    .unwrap();
                // Out of tokio's cooperative budget, as fnhost's waits: with it, a task with
                // 100 000 calls in flight defers every wake past the 128th.
                async move { Ok((Ok(tokio::task::unconstrained(result).await.unwrap()),)) }
            };
            let blocking = send.clone();
            host.func_wrap_async(
                "call",
                move |_, (function, args, _): (String, Vec<u8>, RawCallOptions)| {
                    Box::new(blocking(function, args))
                        as Box<dyn Future<Output = wasmtime::Result<RawCallResult>> + Send>
                },
            )
            .unwrap();
            host.func_wrap_concurrent(
                "call-async",
                move |_, (function, args, _): (String, Vec<u8>, RawCallOptions)| {
                    Box::pin(send(function, args))
                },
            )
            .unwrap();
        }
        linker.define_unknown_imports_as_traps(&component).unwrap();
        Raw {
            pre: linker.instantiate_pre(&component).unwrap(),
        }
    }

    /// The median time of `count` instantiations, all alive at the end, then dropped.
    pub(crate) async fn starts(&self, count: usize) -> Duration {
        let mut samples = Vec::with_capacity(count);
        let mut stores = Vec::with_capacity(count);
        for _ in 0..count {
            let start = Instant::now();
            let mut store = self.store();
            self.pre.instantiate_async(&mut store).await.unwrap();
            samples.push(start.elapsed());
            stores.push(store);
        }
        median(samples)
    }

    /// The component's `run-async` export, instantiated in a new store.
    pub(crate) async fn run_async(&self) -> (Store<RawState>, RawRun) {
        let (mut store, instance) = self.instantiate().await;
        let run = self.export(&mut store, &instance, "run-async");
        (store, run)
    }

    /// A new instance, in a new store.
    async fn instantiate(&self) -> (Store<RawState>, wasmtime::component::Instance) {
        let mut store = self.store();
        let instance = self.pre.instantiate_async(&mut store).await.unwrap();
        (store, instance)
    }

    /// The `guest` interface's export `name` (`run` or `run-async`), typed.
    fn export(
        &self,
        store: &mut Store<RawState>,
        instance: &wasmtime::component::Instance,
        name: &str,
    ) -> RawRun {
        let index = instance
            .get_export_index(
                &mut *store,
                None,
                &format!("fnhost:runtime/guest@{CONTRACT_VERSION}"),
            )
            .unwrap();
        let index = instance
            .get_export_index(&mut *store, Some(&index), name)
            .unwrap();
        instance.get_typed_func(&mut *store, index).unwrap()
    }

    fn store(&self) -> Store<RawState> {
        let mut store = Store::new(
            self.pre.engine(),
            RawState {
                wasi: WasiCtx::builder().build(),
                table: ResourceTable::new(),
            },
        );
        store.set_epoch_deadline(u64::MAX);
        // As fnhost's stores: room for 100 000 calls in flight from one task.
        store.set_max_component_handles(1 << 20);
        store
    }
}
