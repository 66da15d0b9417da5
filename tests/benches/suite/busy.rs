//! A busy host: four guests computing forever on a 2-core machine must not starve the host's
//! other work. A trivial call and a 10 ms guest sleep, measured quiet and then beside the four
//! spinners.

use crate::{Report, median};
use fnhost::{App, CompileCache, Function};
use std::path::Path;
use std::time::{Duration, Instant};

/// How many guests compute forever at once.
const SPINNERS: usize = 4;

/// The p50 of `count` sequential trivial calls, and of `count / 10` sequential 10 ms sleeps.
async fn latencies(noop: &Function, sleeper: &Function, count: usize) -> (Duration, Duration) {
    let mut calls = Vec::with_capacity(count);
    for _ in 0..count {
        let start = Instant::now();
        noop.remote::<()>(()).await.unwrap();
        calls.push(start.elapsed());
    }
    let mut sleeps = Vec::with_capacity(count / 10);
    for _ in 0..count / 10 {
        let start = Instant::now();
        sleeper.remote::<()>(10u64).await.unwrap();
        sleeps.push(start.elapsed());
    }
    (median(calls), median(sleeps))
}

pub(crate) async fn busy(report: &mut Report, bench: &Path, cache: &CompileCache, count: usize) {
    let app = App::load_with([bench], cache).await.unwrap();
    let noop = app.function("noop").unwrap();
    let sleeper = app.function("sleeper").unwrap();
    let spin = app.function("spin").unwrap();
    noop.warm_up(1).await.unwrap();
    sleeper.warm_up(1).await.unwrap();
    let (quiet_call, quiet_sleep) = latencies(&noop, &sleeper, count).await;

    let spinners: Vec<_> = (0..SPINNERS)
        .map(|_| spin.spawn::<u64>(()).unwrap())
        .collect();
    while spin.stats().in_flight < SPINNERS {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let (busy_call, busy_sleep) = latencies(&noop, &sleeper, count).await;
    assert_eq!(
        spin.stats().in_flight,
        SPINNERS,
        "the spinners ran throughout"
    );
    drop(spinners);

    let ms = |duration: Duration| duration.as_secs_f64() * 1e3;
    report.row(
        "busy_trivial_call_ms",
        &format!("trivial call beside {SPINNERS} spinning guests (p50)"),
        ms(busy_call),
        "ms",
        &format!("target <= 5 ms; quiet: {:.3} ms", ms(quiet_call)),
    );
    report.row(
        "busy_sleep_10ms_ms",
        &format!("10 ms guest sleep beside {SPINNERS} spinning guests (p50)"),
        ms(busy_sleep),
        "ms",
        &format!("target <= 30 ms; quiet: {:.1} ms", ms(quiet_sleep)),
    );
}
