//! Sleepers: many async inputs sleeping at once on one container, against raw wasmtime's
//! concurrent calls into one store.

use crate::Report;
use crate::raw::Raw;
use fnhost::{App, CompileCache};
use std::path::Path;
use std::time::Instant;

/// `count` host inputs sleeping 100 ms each on ONE container.
pub(crate) async fn sleepers(
    report: &mut Report,
    bench: &Path,
    cache: &CompileCache,
    count: usize,
) {
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
                .map(|_| {
                    run.call_concurrent(
                        accessor,
                        ("sleeper".to_owned(), b"[100]".to_vec(), String::new()),
                    )
                })
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
