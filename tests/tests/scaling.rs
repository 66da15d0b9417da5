//! Autoscaling: `min_containers` start with the app and stay; containers beyond them retire
//! once idle for `scaledown_window`; 100 000 queued inputs all complete, none lost or doubled.

use fnhost_tests::calls_app;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Waits (up to 20 s) until `done` holds, checking every 10 ms.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < give_up, "never: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn min_containers_start_with_the_app_and_extra_ones_scale_down() {
    let app = calls_app().await;
    let warm = app.function("kept_warm").unwrap();
    let stats = warm.stats();
    assert_eq!(
        (stats.containers, stats.containers_started),
        (2, 2),
        "started at load"
    );

    // Four inputs at once need four containers...
    let calls: Vec<_> = (0..4).map(|_| warm.spawn::<u64>((200,)).unwrap()).collect();
    let mut instances = HashSet::new();
    for call in calls {
        instances.insert(call.get().await.unwrap());
    }
    assert_eq!(instances.len(), 4);
    assert_eq!(
        warm.stats().containers_started,
        4,
        "the two warm ones took inputs"
    );
    // ... and once idle past the window, the two beyond the minimum retire.
    eventually("scaled down to min_containers", || {
        warm.stats().containers == 2
    })
    .await;
    assert_eq!(warm.stats().containers_started, 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_thousand_queued_inputs_all_complete_exactly_once() {
    let app = calls_app().await;
    let identity = app.function("identity").unwrap();
    let start = Instant::now();
    let calls: Vec<_> = (0..100_000u64)
        .map(|i| identity.spawn::<u64>((i,)).unwrap())
        .collect();
    let queued = identity.stats().queued;
    let mut seen = HashSet::with_capacity(calls.len());
    for (i, call) in calls.into_iter().enumerate() {
        let value = call.get().await.unwrap();
        assert_eq!(value, i as u64, "each result is its own input's");
        assert!(seen.insert(value), "{value} delivered twice");
    }
    let stats = identity.stats();
    assert_eq!(seen.len(), 100_000);
    assert!(stats.peak_containers <= 4);
    assert_eq!((stats.queued, stats.in_flight), (0, 0));
    println!(
        "100 000 inputs, max_containers = 4: {:.0} inputs/s, {queued} queued right after spawning, \
         peak RSS {} MiB",
        100_000.0 / start.elapsed().as_secs_f64(),
        peak_rss_kib() / 1024
    );
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
