//! Batched against unbatched throughput of a trivial body (`add_one`): the same inputs sent
//! at once from the host API, one run per input against runs of up to 1000.

use crate::Report;
use fnhost::{App, CompileCache};
use std::path::Path;
use std::time::Instant;

/// `inputs` calls of each, sent at once with `map`.
pub(crate) async fn batching(report: &mut Report, bench: &Path, cache: &CompileCache, inputs: u64) {
    let app = App::load_with([bench], cache).await.expect("bench loads");
    let mut rates = Vec::new();
    for function in ["add_one", "add_one_batched"] {
        let function = app.function(function).unwrap();
        // Warm: containers started, code paged in.
        let _: Vec<u64> = function.map((0..100u64).map(|x| (x,))).await.unwrap();
        let start = Instant::now();
        let results: Vec<u64> = function.map((0..inputs).map(|x| (x,))).await.unwrap();
        let rate = inputs as f64 / start.elapsed().as_secs_f64();
        assert_eq!(results.last(), Some(&inputs));
        rates.push(rate);
    }
    let stats = app.function("add_one_batched").unwrap().stats();
    let per_batch = stats.batched_inputs as f64 / stats.batches.max(1) as f64;
    report.row(
        "batching_unbatched_per_s",
        "trivial body, one input per run",
        rates[0],
        "calls/s",
        "host API map",
    );
    report.row(
        "batching_batched_per_s",
        "trivial body, batched (max 1000, wait 1 ms)",
        rates[1],
        "calls/s",
        &format!("{per_batch:.0} inputs per batch on average"),
    );
    report.row(
        "batching_ratio",
        "batched / unbatched throughput",
        rates[1] / rates[0],
        "x",
        "",
    );
}
