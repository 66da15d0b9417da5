//! Fan-out: one guest task making many async calls at once, through `map_aio` and `join_all`,
//! against raw wasmtime's cross-store calls from the same guest.

use crate::Report;
use crate::raw;
use fnhost::{App, CompileCache};
use std::path::Path;
use std::time::{Duration, Instant};

/// One guest task making `count` async calls of a trivial function: through `map_aio` (at most
/// 1000 in flight, Modal's bound for a map) and as one `join_all` of all of them at once;
/// against raw wasmtime making the same calls from the same guest to a second store.
pub(crate) async fn fan_out(report: &mut Report, bench: &Path, cache: &CompileCache, count: u32) {
    let app = App::load_with([bench], cache).await.unwrap();
    let raw = raw::cross_store(bench, &[("map_out", count), ("fan_out", count)]).await;
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
