//! The benchmark suite: every row of DESIGN §5, with raw wasmtime measured in the same run
//! where it can do the same work.
//!
//! ```text
//! cargo bench -p fnhost-tests --bench suite -- [--quick] [--json FILE] [--only GROUP,...]
//! ```
//!
//! `--only` runs some groups of rows (to profile them), comma-separated: `memory`, `start`,
//! `host-to-guest`, `guest-to-guest`, `fan-out`, `sleepers`, `busy`, `run`, `http`, `web`,
//! `retained`, `python`, `cluster`, `batching`, `classes`, `storage`, `sandboxes`.
//!
//! Everything runs in a task on a multi-threaded tokio runtime's workers. Latencies are medians
//! (p50) of sequential operations; throughputs are whole-run figures.
//! These machines are noisy: compare the ratios, not the absolute numbers.
//!
//! One module per group of rows (`start`, `calls` for host -> guest and guest -> guest,
//! `fan_out`, `sleepers`, `memory`, `run`, `http` for the server, `web` for its web endpoints and
//! wasi:http handlers against `wasmtime serve`, `python` for Python guests beside Rust ones,
//! `cluster` for two hosts on one NATS JetStream, `storage` for dicts and queues against the
//! store alone and redb alone),
//! and `raw`, the raw-wasmtime baseline host they
//! measure against.

mod batching;
mod busy;
mod calls;
mod classes;
mod cluster;
mod fan_out;
mod http;
mod memory;
mod python;
mod raw;
mod run;
mod sandboxes;
mod sleepers;
mod start;
mod storage;
mod web;

use fnhost::{App, CompileCache};
use fnhost_tests::guest;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

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
pub(crate) struct Report {
    rows: BTreeMap<String, f64>,
}

impl Report {
    /// One row: `key` names it in the JSON, `label` on the screen.
    pub(crate) fn row(&mut self, key: &str, label: &str, value: f64, unit: &str, note: &str) {
        println!("{label:<48} {value:>12.2} {unit:<8} {note}");
        self.rows.insert(key.to_owned(), value);
    }

    pub(crate) fn ratio(&mut self, key: &str, label: &str, fnhost: f64, raw: f64, target: &str) {
        let note = format!("fnhost / raw wasmtime (target {target})");
        self.row(key, label, fnhost / raw, "x", &note);
    }
}

pub(crate) fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

pub(crate) fn micros(duration: Duration) -> f64 {
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
        memory::idle_memory(&mut report, &bench, &cache, 50 * scale).await;
    }
    if options.runs("retained") {
        http::retained_memory(&mut report, &bench, &cache, 5_000 * scale).await;
    }
    if options.runs("start") {
        start::container_start(&mut report, &bench, &cache, 50 * scale).await;
    }
    if options.runs("host-to-guest") {
        calls::host_to_guest(&mut report, &bench, &cache, 2_000 * scale).await;
    }
    if options.runs("guest-to-guest") {
        calls::guest_to_guest(&mut report, &bench, &cache, 2_000 * scale as u32).await;
    }
    if options.runs("fan-out") {
        let calls = if options.quick { 10_000 } else { 100_000 };
        fan_out::fan_out(&mut report, &bench, &cache, calls).await;
    }
    if options.runs("sleepers") {
        let inputs = if options.quick { 1_000 } else { 10_000 };
        sleepers::sleepers(&mut report, &bench, &cache, inputs).await;
    }
    if options.runs("busy") {
        busy::busy(&mut report, &bench, &cache, 20 * scale).await;
    }
    if options.runs("classes") {
        classes::class_start(&mut report, &bench, &cache, 20 * scale).await;
        classes::generators(&mut report, &bench, &cache, 20_000 * scale as u64).await;
    }
    if options.runs("batching") {
        batching::batching(&mut report, &bench, &cache, 10_000 * scale as u64).await;
    }
    if options.runs("storage") {
        storage::storage(&mut report, &bench, &cache, 20_000 * scale as u32).await;
        storage::on_jetstream(&mut report, &bench, &cache, 2_000 * scale as u32).await;
    }
    if options.runs("run") {
        run::fnhost_run(&mut report, &hello, if options.quick { 3 } else { 10 });
    }
    if options.runs("http") {
        http::server(&mut report, &bench, &cache, options.quick).await;
    }
    if options.runs("web") {
        web::web(&mut report, &cache, options.quick).await;
    }
    if options.runs("python") {
        let runs = if options.quick { 3 } else { 10 };
        // A Python instance holds several core instances: 50 × scale of them fit the pool.
        let sizes = (50 * scale, 200 * scale as u32, runs);
        python::python(&mut report, &bench, &hello, &cache, sizes).await;
    }
    if options.runs("sandboxes") {
        sandboxes::sandboxes(&mut report, 20 * scale).await;
    }
    if options.runs("cluster") {
        let (calls, spawns) = if options.quick {
            (1_000, 5_000)
        } else {
            (5_000, 50_000)
        };
        cluster::cluster(&mut report, &cache, calls, spawns).await;
    }

    let _ = std::fs::remove_dir_all(&cache_dir);
    if let Some(path) = options.json {
        let json = serde_json::to_string_pretty(&report.rows).expect("numbers encode");
        std::fs::write(&path, json).expect("the JSON file can be written");
        println!("wrote {}", path.display());
    }
}
