//! Classes and generators: a container start of a class whose snap `enter` hook built a large
//! table (the containers start from the snapshot) against a plain container start and against
//! the same class entering in every container; and generator items per second against
//! sequential calls of a trivial function.

use crate::start::starts_p50;
use crate::{Report, median, micros};
use fnhost::{App, CompileCache, Function};
use futures::StreamExt;
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

/// The table the classes build: a million numbers, ~170 ms of work.
const TABLE_SIZE: u64 = 1 << 20;

/// Container starts of the snapshot class and of the entering one (`count` and fewer: each of
/// those pays its hook), with a plain start of the same run beside them.
pub(crate) async fn class_start(
    report: &mut Report,
    bench: &Path,
    cache: &CompileCache,
    count: usize,
) {
    let plain = starts_p50(bench, cache, "noop_blocking", count).await;
    let app = App::load_with([bench], cache).await.expect("bench loads");
    let instance = |class: &str| {
        let instance = app
            .class(class)
            .unwrap()
            .instance(json!({"size": TABLE_SIZE}))
            .unwrap();
        instance.method("row").unwrap()
    };
    let snapped = instance("Snapped");
    // The first start makes the snapshot (or finds it in the cache): not a start's cost.
    let made = Instant::now();
    snapped.warm_up(1).await.unwrap();
    let made = made.elapsed();
    let snap = more_starts_p50(&snapped, 1, count).await;
    let entered = more_starts_p50(&instance("Entered"), 0, count.min(10)).await;
    report.row(
        "class_start_plain_us",
        "container start, plain function (p50)",
        micros(plain),
        "us",
        "",
    );
    report.row(
        "class_start_snap_us",
        "container start, class from its snapshot (p50)",
        micros(snap),
        "us",
        "8 MiB table built by a snap enter",
    );
    report.row(
        "class_start_snap_ratio",
        "class from snapshot / plain start",
        micros(snap) / micros(plain),
        "x",
        "goal <= 1.5",
    );
    report.row(
        "class_start_enter_ms",
        "container start, class entering each time (p50)",
        entered.as_secs_f64() * 1e3,
        "ms",
        "the same hook, not a snap hook",
    );
    report.row(
        "class_snapshot_made_ms",
        "first start: snapshot made (or read from the cache)",
        made.as_secs_f64() * 1e3,
        "ms",
        "once per app version and parameter set",
    );
}

/// The median time `warm_up` takes to start one more container of `method`, which has
/// `started` already, over `count` more.
async fn more_starts_p50(method: &Function, started: usize, count: usize) -> Duration {
    let mut samples = Vec::with_capacity(count);
    for more in 1..=count {
        let start = Instant::now();
        method.warm_up(started + more).await.unwrap();
        samples.push(start.elapsed());
    }
    median(samples)
}

/// Items per second of a blocking and an async generator read from the host API, against
/// sequential calls per second of a trivial function.
pub(crate) async fn generators(
    report: &mut Report,
    bench: &Path,
    cache: &CompileCache,
    items: u64,
) {
    let app = App::load_with([bench], cache).await.expect("bench loads");
    let noop = app.function("noop_blocking").unwrap();
    let calls = items.min(20_000);
    noop.remote::<()>(()).await.unwrap();
    let start = Instant::now();
    for _ in 0..calls {
        noop.remote::<()>(()).await.unwrap();
    }
    let call_rate = calls as f64 / start.elapsed().as_secs_f64();
    report.row(
        "generator_calls_per_s",
        "sequential calls of a trivial function",
        call_rate,
        "calls/s",
        "host API remote",
    );
    for (name, label) in [("numbers", "blocking"), ("numbers_aio", "async")] {
        let generator = app.function(name).unwrap();
        // Warm: a container started.
        let _ = generator.remote_gen::<u64>(10).count().await;
        let start = Instant::now();
        let read = generator.remote_gen::<u64>(items).count().await as u64;
        let rate = read as f64 / start.elapsed().as_secs_f64();
        assert_eq!(read, items);
        report.row(
            &format!("generator_{label}_items_per_s"),
            &format!("generator items read, {label} generator"),
            rate,
            "items/s",
            &format!("{:.1}x sequential calls", rate / call_rate),
        );
    }
}
