//! Container start: fnhost's `warm_up` against raw wasmtime's instantiation, into a new pool
//! and into warm pool slots.

use crate::raw::Raw;
use crate::{Report, median, micros};
use fnhost::{App, CompileCache};
use std::path::Path;
use std::time::{Duration, Instant};

/// Starting containers from precompiled code: fnhost's whole start (store, WASI context,
/// instance, registration in the pool) against raw wasmtime's store + `InstancePre` with the
/// same pooling allocator; first `count` starts, then `count` more into the slots the first
/// ones left (a warm pool: memory reset copy-on-write).
pub(crate) async fn container_start(
    report: &mut Report,
    bench: &Path,
    cache: &CompileCache,
    count: usize,
) {
    let first = starts_p50(bench, cache, "noop_blocking", count).await;
    // The containers end once their app is gone; give their tasks a moment to drop the stores.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let warm = starts_p50(bench, cache, "noop_blocking", count).await;
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

/// The median time `warm_up` takes to start one more container of `function` (of the app
/// `component`), over `count` containers.
pub(crate) async fn starts_p50(
    component: &Path,
    cache: &CompileCache,
    function: &str,
    count: usize,
) -> Duration {
    let app = App::load_with([component], cache).await.unwrap();
    let function = app.function(function).unwrap();
    let mut samples = Vec::with_capacity(count);
    for started in 1..=count {
        let start = Instant::now();
        function.warm_up(started).await.unwrap();
        samples.push(start.elapsed());
    }
    median(samples)
}
