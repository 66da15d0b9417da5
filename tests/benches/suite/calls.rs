//! Calls one at a time: host -> guest (async and blocking API) and guest -> guest (blocking and
//! async), each against raw wasmtime making the same call.

use crate::raw::{self, Raw};
use crate::{Report, median, micros};
use fnhost::{App, CompileCache};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// A host call of a trivial async function, one at a time.
pub(crate) async fn host_to_guest(
    report: &mut Report,
    bench: &Path,
    cache: &CompileCache,
    count: usize,
) {
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
                    .call_concurrent(accessor, ("noop".to_owned(), b"[]".to_vec(), String::new()))
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
                        .call_concurrent(
                            accessor,
                            ("noop".to_owned(), b"[]".to_vec(), String::new()),
                        )
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
pub(crate) async fn guest_to_guest(
    report: &mut Report,
    bench: &Path,
    cache: &CompileCache,
    count: u32,
) {
    let app = App::load_with([bench], cache).await.unwrap();
    let pings = [("ping_blocking", count), ("ping_async", count)];
    let raw = raw::cross_store(bench, &pings).await;
    let bench_path = bench.to_owned();
    let raw_one_thread = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(raw::cross_store(&bench_path, &pings))
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
