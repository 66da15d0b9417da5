//! The benchmark suite: every row of DESIGN §5, with raw wasmtime measured in the same run
//! where it can do the same work.
//!
//! ```text
//! cargo bench -p fnhost-tests --bench suite -- [--quick] [--json FILE] [--only GROUP,...]
//! ```
//!
//! `--only` runs some groups of rows (to profile them), comma-separated: `memory`, `start`,
//! `host-to-guest`, `guest-to-guest`, `fan-out`, `sleepers`, `run`.
//!
//! Everything runs in a task on a multi-threaded tokio runtime's workers. Latencies are medians
//! (p50) of sequential operations; throughputs are whole-run figures.
//! These machines are noisy: compare the ratios, not the absolute numbers.

use fnhost::{App, CompileCache};
use fnhost_tests::{guest, workspace};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// The allocator the `fnhost` binary uses (raw wasmtime's baselines share it).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Options {
    quick: bool,
    json: Option<PathBuf>,
    only: Option<String>,
}

impl Options {
    /// Whether the group `name` runs.
    fn runs(&self, name: &str) -> bool {
        self.only
            .as_deref()
            .is_none_or(|only| only.split(',').any(|group| group == name))
    }
}

fn options() -> Options {
    let mut args = std::env::args().skip(1);
    let mut options = Options {
        quick: false,
        json: None,
        only: None,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--json" => options.json = args.next().map(PathBuf::from),
            "--only" => options.only = args.next(),
            // cargo bench passes `--bench`; ignore what is not ours.
            _ => {}
        }
    }
    options
}

/// The results, one key per row, printed as they come.
#[derive(Default)]
struct Report {
    rows: BTreeMap<String, f64>,
}

impl Report {
    /// One row: `key` names it in the JSON, `label` on the screen.
    fn row(&mut self, key: &str, label: &str, value: f64, unit: &str, note: &str) {
        println!("{label:<48} {value:>12.2} {unit:<8} {note}");
        self.rows.insert(key.to_owned(), value);
    }

    fn ratio(&mut self, key: &str, label: &str, fnhost: f64, raw: f64, target: &str) {
        let note = format!("fnhost / raw wasmtime (target {target})");
        self.row(key, label, fnhost / raw, "x", &note);
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    // Everything runs in a task on the runtime's workers, as a server's handlers do; raw
    // wasmtime runs under the same conditions.
    runtime
        .block_on(async { tokio::spawn(run(options())).await })
        .expect("the suite runs to the end");
}

async fn run(options: Options) {
    let scale = if options.quick { 1 } else { 10 };
    let bench = guest("tests/guests/bench");
    let hello = guest("examples/hello");
    let cache_dir = std::env::temp_dir().join(format!("fnhost-bench-{}", std::process::id()));
    let cache = CompileCache::in_dir(&cache_dir);
    // Compile once, so that every app below loads precompiled code.
    drop(App::load_with([&bench], &cache).await.expect("bench loads"));

    println!("{:<48} {:>12} {:<8} note", "measure", "value", "unit");
    let mut report = Report::default();
    // First, while the process has allocated little: later apps leave freed memory behind
    // that new containers would reuse, hiding their cost.
    // At most 1000 containers live in the process at once (the engine's pool).
    if options.runs("memory") {
        idle_memory(&mut report, &bench, &cache, 50 * scale).await;
    }
    if options.runs("start") {
        container_start(&mut report, &bench, &cache, 50 * scale).await;
    }
    if options.runs("host-to-guest") {
        host_to_guest(&mut report, &bench, &cache, 2_000 * scale).await;
    }
    if options.runs("guest-to-guest") {
        guest_to_guest(&mut report, &bench, &cache, 2_000 * scale as u32).await;
    }
    if options.runs("fan-out") {
        let calls = if options.quick { 10_000 } else { 100_000 };
        fan_out(&mut report, &bench, &cache, calls).await;
    }
    if options.runs("sleepers") {
        let inputs = if options.quick { 1_000 } else { 10_000 };
        sleepers(&mut report, &bench, &cache, inputs).await;
    }
    if options.runs("run") {
        fnhost_run(&mut report, &hello, if options.quick { 3 } else { 10 });
    }

    let _ = std::fs::remove_dir_all(&cache_dir);
    if let Some(path) = options.json {
        let json = serde_json::to_string_pretty(&report.rows).expect("numbers encode");
        std::fs::write(&path, json).expect("the JSON file can be written");
        println!("wrote {}", path.display());
    }
}

/// Starting containers from precompiled code: fnhost's whole start (store, WASI context,
/// instance, registration in the pool) against raw wasmtime's store + `InstancePre` with the
/// same pooling allocator; first `count` starts, then `count` more into the slots the first
/// ones left (a warm pool: memory reset copy-on-write).
async fn container_start(report: &mut Report, bench: &Path, cache: &CompileCache, count: usize) {
    let first = fnhost_starts(bench, cache, count).await;
    // The containers end once their app is gone; give their tasks a moment to drop the stores.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let warm = fnhost_starts(bench, cache, count).await;
    let raw = Raw::new(bench);
    let raw_first = raw.starts(count).await;
    let raw_warm = raw.starts(count).await;
    report.row(
        "container_start_us",
        "container start, precompiled (p50)",
        micros(first),
        "us",
        "target <= 25 us",
    );
    report.row(
        "raw_instantiate_us",
        "raw wasmtime instantiate (p50)",
        micros(raw_first),
        "us",
        "",
    );
    report.ratio(
        "container_start_ratio",
        "container start ratio",
        micros(first),
        micros(raw_first),
        "-",
    );
    report.row(
        "container_start_warm_pool_us",
        "container start, warm pool slots (p50)",
        micros(warm),
        "us",
        "target <= 10 us",
    );
    report.row(
        "raw_instantiate_warm_pool_us",
        "raw wasmtime instantiate, warm pool slots (p50)",
        micros(raw_warm),
        "us",
        "",
    );
    report.ratio(
        "container_start_warm_pool_ratio",
        "container start ratio, warm pool",
        micros(warm),
        micros(raw_warm),
        "-",
    );
}

/// The median time `warm_up` takes to start one more container, over `count` containers.
async fn fnhost_starts(bench: &Path, cache: &CompileCache, count: usize) -> Duration {
    let app = App::load_with([bench], cache).await.unwrap();
    let function = app.function("noop_blocking").unwrap();
    let mut samples = Vec::with_capacity(count);
    for started in 1..=count {
        let start = Instant::now();
        function.warm_up(started).await.unwrap();
        samples.push(start.elapsed());
    }
    median(samples)
}

/// A host call of a trivial async function, one at a time.
async fn host_to_guest(report: &mut Report, bench: &Path, cache: &CompileCache, count: usize) {
    let app = App::load_with([bench], cache).await.unwrap();
    let noop = app.function("noop").unwrap();
    noop.warm_up(1).await.unwrap();
    let calls = |noop: fnhost::Function| async move {
        let mut samples = Vec::with_capacity(count);
        for _ in 0..count {
            let start = Instant::now();
            noop.remote_raw(b"[]".to_vec()).await.unwrap();
            samples.push(start.elapsed());
        }
        median(samples)
    };
    let fnhost = calls(noop.clone()).await;
    // The blocking API, from a plain thread: each call blocks the thread on the runtime.
    let blocking = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let app = fnhost::blocking::App::load_with([bench], cache).unwrap();
                let noop = app.function("noop").unwrap();
                noop.warm_up(1).unwrap();
                let mut samples = Vec::with_capacity(count);
                for _ in 0..count {
                    let start = Instant::now();
                    noop.remote::<()>(()).unwrap();
                    samples.push(start.elapsed());
                }
                median(samples)
            })
            .join()
            .unwrap()
    });

    let (mut store, run) = Raw::new(bench).run_async().await;
    let raw_call = store
        .run_concurrent(async |accessor| {
            let mut samples = Vec::with_capacity(count);
            for _ in 0..count {
                let start = Instant::now();
                let (result,) = run
                    .call_concurrent(accessor, ("noop".to_owned(), b"[]".to_vec()))
                    .await
                    .unwrap();
                result.unwrap();
                samples.push(start.elapsed());
            }
            median(samples)
        })
        .await
        .unwrap();

    // Raw wasmtime behind one hop: the store in a task of its own, calls sent to it over a
    // channel and answered over a oneshot. Any design that gives each store its own task (and
    // fnhost's must: stores cannot nest) pays this hop.
    let (mut store, run) = Raw::new(bench).run_async().await;
    let (requests, mut received) = tokio::sync::mpsc::unbounded_channel::<oneshot::Sender<()>>();
    let server = tokio::spawn(async move {
        store
            .run_concurrent(async |accessor| {
                while let Some(reply) = received.recv().await {
                    let (result,) = run
                        .call_concurrent(accessor, ("noop".to_owned(), b"[]".to_vec()))
                        .await
                        .unwrap();
                    result.unwrap();
                    let _ = reply.send(());
                }
            })
            .await
            .unwrap();
    });
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let start = Instant::now();
        let (reply, answer) = oneshot::channel();
        requests.send(reply).unwrap();
        answer.await.unwrap();
        samples.push(start.elapsed());
    }
    drop(requests);
    server.await.unwrap();
    let raw_hop = median(samples);

    report.row(
        "host_to_guest_call_us",
        "host -> guest call (p50)",
        micros(fnhost),
        "us",
        "",
    );
    report.row(
        "raw_call_concurrent_us",
        "raw wasmtime call_concurrent (p50)",
        micros(raw_call),
        "us",
        "",
    );
    report.row(
        "host_to_guest_call_blocking_api_us",
        "host -> guest call, blocking API (p50)",
        micros(blocking),
        "us",
        "the caller's thread parks and is woken",
    );
    report.row(
        "raw_call_behind_a_hop_us",
        "raw wasmtime call_concurrent behind a task hop (p50)",
        micros(raw_hop),
        "us",
        "the floor of one task per store",
    );
    report.ratio(
        "host_to_guest_call_ratio",
        "host -> guest call ratio",
        micros(fnhost),
        micros(raw_call),
        "<= 1.2x",
    );
}

/// A guest calling another container's trivial function, blocking and async: the mean over
/// `count` sequential calls the guest makes in one input; against raw wasmtime doing the same
/// cross-store calls, on this multi-threaded runtime and on a current-thread runtime (where
/// both stores' tasks share one thread).
async fn guest_to_guest(report: &mut Report, bench: &Path, cache: &CompileCache, count: u32) {
    let app = App::load_with([bench], cache).await.unwrap();
    let pings = [("ping_blocking", count), ("ping_async", count)];
    let raw = raw_cross_store(bench, &pings).await;
    let bench_path = bench.to_owned();
    let raw_one_thread = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(raw_cross_store(&bench_path, &pings))
    })
    .join()
    .unwrap();
    let labels = ["blocking", "async"];
    for ((((function, _), label), raw), raw_one_thread) in
        pings.into_iter().zip(labels).zip(raw).zip(raw_one_thread)
    {
        let ping = app.function(function).unwrap();
        ping.remote::<()>((100,)).await.unwrap();
        let start = Instant::now();
        ping.remote::<()>((count,)).await.unwrap();
        let elapsed = start.elapsed();
        let mean = |elapsed: Duration| micros(elapsed) / f64::from(count);
        report.row(
            &format!("guest_to_guest_{label}_us"),
            &format!("guest -> guest round trip, {label} (mean)"),
            mean(elapsed),
            "us",
            "target <= 5 us",
        );
        report.row(
            &format!("raw_cross_store_{label}_us"),
            &format!("raw wasmtime cross-store call, {label} (mean)"),
            mean(raw),
            "us",
            "a task per store",
        );
        report.row(
            &format!("raw_cross_store_{label}_one_thread_us"),
            &format!("raw wasmtime cross-store call, {label}, one thread"),
            mean(raw_one_thread),
            "us",
            "both tasks on a current-thread runtime",
        );
        report.ratio(
            &format!("guest_to_guest_{label}_ratio"),
            &format!("guest -> guest ratio, {label}"),
            mean(elapsed),
            mean(raw),
            "-",
        );
    }
}

/// Raw wasmtime's cross-store calls: each `(function, n)` of the bench guest (`ping_blocking`,
/// `ping_async`, `fan_out`, `map_out`) runs in a store of its own with argument `n` (after a
/// warm-up with 100), its `call` / `call-async` imports sent over a channel to a second store
/// in a task of its own, which runs them concurrently and answers each over a oneshot: the
/// topology of any host that gives each store a task. Returns how long each took.
async fn raw_cross_store<const N: usize>(
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
                                    .call_concurrent(accessor, (call.function, call.args))
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
                        .call_concurrent(accessor, ((*function).to_owned(), args))
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

/// One guest task making `count` async calls of a trivial function: through `map_aio` (at most
/// 1000 in flight, Modal's bound for a map) and as one `join_all` of all of them at once;
/// against raw wasmtime making the same calls from the same guest to a second store.
async fn fan_out(report: &mut Report, bench: &Path, cache: &CompileCache, count: u32) {
    let app = App::load_with([bench], cache).await.unwrap();
    let raw = raw_cross_store(bench, &[("map_out", count), ("fan_out", count)]).await;
    for ((function, label), raw) in [("map_out", "map_aio"), ("fan_out", "join_all")]
        .into_iter()
        .zip(raw)
    {
        let fan_out = app.function(function).unwrap();
        fan_out.remote::<()>((1_000,)).await.unwrap();
        let start = Instant::now();
        fan_out.remote::<()>((count,)).await.unwrap();
        let per_second = |elapsed: Duration| f64::from(count) / elapsed.as_secs_f64();
        let fnhost = per_second(start.elapsed());
        report.row(
            &format!("fan_out_{label}_calls_per_s"),
            &format!("fan-out of {count} remote_aio, {label}"),
            fnhost,
            "calls/s",
            "target >= 200 000 (100 000 calls)",
        );
        report.row(
            &format!("raw_fan_out_{label}_calls_per_s"),
            &format!("raw wasmtime cross-store fan-out, {label}"),
            per_second(raw),
            "calls/s",
            "a task per store",
        );
        // Throughputs: raw over fnhost, so that above 1 means slower, as for the others.
        report.ratio(
            &format!("fan_out_{label}_ratio"),
            &format!("fan-out time ratio, {label}"),
            per_second(raw),
            fnhost,
            "-",
        );
    }
}

/// `count` host inputs sleeping 100 ms each on ONE container.
async fn sleepers(report: &mut Report, bench: &Path, cache: &CompileCache, count: usize) {
    let app = App::load_with([bench], cache).await.unwrap();
    let sleeper = app.function("sleeper").unwrap();
    sleeper.warm_up(1).await.unwrap();
    let start = Instant::now();
    // All spawned at once (`map` would keep only 1000 in flight).
    let calls: Vec<_> = (0..count)
        .map(|_| sleeper.spawn::<()>((100u64,)).unwrap())
        .collect();
    for call in calls {
        call.get().await.unwrap();
    }
    let elapsed = start.elapsed();
    assert_eq!(sleeper.stats().peak_in_flight, count);

    let (mut store, run) = Raw::new(bench).run_async().await;
    let raw = store
        .run_concurrent(async |accessor| {
            let start = Instant::now();
            let calls: futures::stream::FuturesUnordered<_> = (0..count)
                .map(|_| run.call_concurrent(accessor, ("sleeper".to_owned(), b"[100]".to_vec())))
                .collect();
            let done: Vec<_> = futures::StreamExt::collect(calls).await;
            assert!(done.iter().all(|call| matches!(call, Ok((Ok(_),)))));
            start.elapsed()
        })
        .await
        .unwrap();
    assert_eq!(sleeper.stats().peak_containers, 1);
    report.row(
        "sleepers_one_container_ms",
        &format!("{count} async inputs sleeping 100 ms, one container"),
        elapsed.as_secs_f64() * 1e3,
        "ms",
        "target <= 150 ms (10 000 inputs)",
    );
    report.row(
        "raw_sleepers_one_store_ms",
        &format!("raw wasmtime: {count} concurrent calls sleeping 100 ms"),
        raw.as_secs_f64() * 1e3,
        "ms",
        "",
    );
    report.ratio(
        "sleepers_ratio",
        "sleepers ratio",
        elapsed.as_secs_f64(),
        raw.as_secs_f64(),
        "-",
    );
}

/// Resident memory per idle container: the RSS growth over `count` started containers. It
/// includes the guest's own touched linear memory, which the note states.
async fn idle_memory(report: &mut Report, bench: &Path, cache: &CompileCache, count: usize) {
    let app = App::load_with([bench], cache).await.unwrap();
    let function = app.function("noop_blocking").unwrap();
    function.warm_up(1).await.unwrap();
    let before = resident_kib();
    function.warm_up(count + 1).await.unwrap();
    let after = resident_kib();
    report.row(
        "idle_container_rss_kib",
        "resident memory per idle container",
        (after - before) as f64 / count as f64,
        "KiB",
        "host + guest pages touched; target <= 64 KiB beyond guest memory",
    );
}

fn resident_kib() -> i64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux");
    let pages: i64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4
}

/// `fnhost run` of examples/hello, as a new process, with the compile cache warm and cold;
/// against `wasmtime run` of a plain wasi:cli component printing the same, when the wasmtime
/// CLI is installed.
fn fnhost_run(report: &mut Report, hello: &Path, runs: usize) {
    cargo_build(&["-p", "fnhost"]);
    let fnhost = workspace().join("target/release/fnhost");
    let target = format!("{}::blocking_main", hello.display());
    let dir = std::env::temp_dir().join(format!("fnhost-bench-run-{}", std::process::id()));
    // Cold: a new, empty cache directory each run (so it compiles and writes the entry).
    let cold_runs = std::cell::Cell::new(0);
    let (warm, cold) = warm_and_cold(runs, |cache| {
        let name = cache.map_or_else(
            || format!("cold-{}", cold_runs.replace(cold_runs.get() + 1)),
            str::to_owned,
        );
        let mut command = Command::new(&fnhost);
        command
            .args(["run", &target])
            .env("FNHOST_CACHE_DIR", dir.join(name));
        command
    });
    report.row(
        "fnhost_run_warm_ms",
        "fnhost run hello, cache warm (p50)",
        micros(warm) / 1e3,
        "ms",
        "",
    );
    report.row(
        "fnhost_run_cold_ms",
        "fnhost run hello, cache cold (p50)",
        micros(cold) / 1e3,
        "ms",
        "",
    );
    match wasmtime_run(&dir, hello, runs) {
        Some(((raw_warm, raw_cold), compile)) => {
            report.row(
                "wasmtime_run_warm_ms",
                "wasmtime run hello (wasi:cli), cache warm (p50)",
                micros(raw_warm) / 1e3,
                "ms",
                "",
            );
            report.row(
                "wasmtime_run_cold_ms",
                "wasmtime run hello (wasi:cli), cache off (p50)",
                micros(raw_cold) / 1e3,
                "ms",
                "",
            );
            report.ratio(
                "fnhost_run_warm_ratio",
                "fnhost run ratio, cache warm",
                micros(warm),
                micros(raw_warm),
                "<= 1.0x",
            );
            report.ratio(
                "fnhost_run_cold_ratio",
                "fnhost run ratio, cache cold",
                micros(cold),
                micros(raw_cold),
                "<= 1.5x",
            );
            report.row(
                "wasmtime_compile_hello_ms",
                "wasmtime compile of examples/hello (p50)",
                micros(compile) / 1e3,
                "ms",
                "the same component fnhost runs cold",
            );
            report.ratio(
                "fnhost_run_cold_compile_ratio",
                "fnhost run cold / wasmtime compile, same component",
                micros(cold),
                micros(compile),
                "-",
            );
        }
        None => println!(
            "(no wasmtime CLI: install it with `cargo install wasmtime-cli@48.0.8 --locked`, or \
             name it in WASMTIME, for the `wasmtime run` rows)"
        ),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `wasmtime run` of tests/guests/hello-cli with its compile cache warm (in `dir`) and off, and
/// `wasmtime compile` of `hello` (the component `fnhost run` runs), if the wasmtime CLI is
/// there: `$WASMTIME`, else `wasmtime` on the PATH.
fn wasmtime_run(dir: &Path, hello: &Path, runs: usize) -> Option<((Duration, Duration), Duration)> {
    let wasmtime = std::env::var_os("WASMTIME").unwrap_or_else(|| "wasmtime".into());
    let found = Command::new(&wasmtime).arg("--version").output();
    if !found.is_ok_and(|output| output.status.success()) {
        return None;
    }
    cargo_build(&["-p", "hello-cli", "--target", "wasm32-wasip2"]);
    let component = workspace().join("target/wasm32-wasip2/release/hello-cli.wasm");
    std::fs::create_dir_all(dir).expect("the scratch directory can be made");
    let config = dir.join("wasmtime-cache.toml");
    let cache = dir.join("wasmtime-cache");
    std::fs::write(
        &config,
        format!("[cache]\ndirectory = {:?}\n", cache.display().to_string()),
    )
    .expect("the cache config can be written");
    let run = warm_and_cold(runs, |cached| {
        let mut command = Command::new(&wasmtime);
        command.arg("run");
        match cached {
            Some(_) => command
                .args(["-C", "cache=y", "-C"])
                .arg(format!("cache-config={}", config.display())),
            None => command.args(["-C", "cache=n"]),
        };
        command.arg(&component);
        command
    });
    let compiled = dir.join("hello.cwasm");
    let compiles = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let status = Command::new(&wasmtime)
                .args(["compile", "-C", "cache=n", "-o"])
                .arg(&compiled)
                .arg(hello)
                .status()
                .expect("wasmtime compile runs");
            assert!(status.success());
            start.elapsed()
        })
        .collect();
    Some((run, median(compiles)))
}

/// The p50 wall time of `runs` runs of a program printing `420`, with its compile cache warm
/// (after one run to fill it) and then cold; `program(Some(name))` runs it with the cache
/// named `name`, `program(None)` with none to take code from.
fn warm_and_cold(runs: usize, program: impl Fn(Option<&str>) -> Command) -> (Duration, Duration) {
    let run = |cache: Option<&str>| {
        let start = Instant::now();
        let output = program(cache).output().expect("the program runs");
        assert_eq!(output.stdout, b"420\n", "{output:?}");
        start.elapsed()
    };
    run(Some("warm"));
    let warm = (0..runs).map(|_| run(Some("warm"))).collect();
    let cold = (0..runs).map(|_| run(None)).collect();
    (median(warm), median(cold))
}

/// `cargo build --release` of what `args` name, in the workspace.
fn cargo_build(args: &[&str]) {
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "--quiet"])
        .args(args)
        .current_dir(workspace())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build {args:?} failed");
}

/// Raw wasmtime, configured as fnhost's engine is, instantiating the same component with
/// WASI, `sleep-async`, and, for the cross-store baseline, `call` / `call-async` sent to
/// another store's task; the other fnhost imports trap (the measured functions never call
/// them).
struct Raw {
    pre: wasmtime::component::InstancePre<RawState>,
}

struct RawState {
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
}

/// The result of `call` and `call-async`.
type RawCallResult = (Result<Vec<u8>, RawCallError>,);

/// `guest.run` or `guest.run-async`, typed.
type RawRun = wasmtime::component::TypedFunc<(String, Vec<u8>), (Result<Vec<u8>, RawCallError>,)>;

/// The contract's `call-error` (wit/fnhost.wit, case for case): lifted to be shown if a
/// baseline call fails, and the error type of the raw `call` imports (which never fail).
#[derive(
    wasmtime::component::ComponentType, wasmtime::component::Lift, wasmtime::component::Lower, Debug,
)]
#[component(variant)]
enum RawCallError {
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
}

impl Raw {
    fn new(path: &Path) -> Raw {
        Raw::build(path, None)
    }

    /// A raw instance whose `call` and `call-async` go to `calls`.
    fn calling(path: &Path, calls: tokio::sync::mpsc::UnboundedSender<RawCall>) -> Raw {
        Raw::build(path, Some(calls))
    }

    fn build(path: &Path, calls: Option<tokio::sync::mpsc::UnboundedSender<RawCall>>) -> Raw {
        // The allocator fnhost's engine uses: pooling, 1000 instances of at most 4 GiB.
        let mut pooling = PoolingAllocationConfig::new();
        pooling
            .total_component_instances(1000)
            .total_core_instances(8000)
            .total_memories(2000)
            .total_tables(4000)
            .total_stacks(1000)
            .max_unused_warm_slots(1000)
            .max_memory_size(4 << 30);
        let mut config = Config::new();
        config.wasm_component_model_async(true);
        // Compiled with the same epoch checks; nothing ticks raw's epoch, so the stores'
        // deadline is never reached.
        config.epoch_interruption(true);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
        let engine = Engine::new(&config).unwrap();
        let component = Component::from_file(&engine, path).unwrap();
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
        let mut host = linker.instance("fnhost:runtime/host@0.1.0").unwrap();
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
    async fn starts(&self, count: usize) -> Duration {
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
    async fn run_async(&self) -> (Store<RawState>, RawRun) {
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
            .get_export_index(&mut *store, None, "fnhost:runtime/guest@0.1.0")
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
