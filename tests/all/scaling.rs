//! Autoscaling: `min_containers` start with the app and stay; containers beyond them retire
//! once idle for `scaledown_window`; `target_inputs` spreads inputs over containers and
//! `buffer_containers` keeps idle ones ready; options can be overridden per run; 100 000 queued
//! inputs all complete, none lost or doubled.

use fnhost::{Error, Function, FunctionOptions};
use fnhost_tests::{calls_app, calls_app_with, eventually};
use std::collections::HashSet;
use std::time::Instant;

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

/// Runs `count` inputs of `function` at once, each holding its container for `ms`; returns the
/// pool's peak containers and peak inputs on one container.
async fn peaks_of_concurrent_inputs(function: &Function, count: usize, ms: u64) -> (usize, usize) {
    let calls: Vec<_> = (0..count)
        .map(|_| function.spawn::<u64>((ms,)).unwrap())
        .collect();
    for call in calls {
        assert_eq!(call.get().await.unwrap(), ms);
    }
    let stats = function.stats();
    (stats.peak_containers, stats.peak_in_flight_per_container)
}

#[tokio::test(flavor = "multi_thread")]
async fn target_inputs_spreads_inputs_and_containers_burst_to_max_inputs_at_the_limit() {
    // `targeted` aims for 2 inputs per container: 6 at once get 3 containers of 2.
    let app = calls_app().await;
    let targeted = app.function("targeted").unwrap();
    assert_eq!(peaks_of_concurrent_inputs(&targeted, 6, 300).await, (3, 2));

    // With one container allowed (overridden for this run), the same 6 burst onto it.
    let one_container = FunctionOptions {
        max_containers: Some(1),
        ..FunctionOptions::default()
    };
    let app = calls_app_with("targeted", one_container).await;
    let targeted = app.function("targeted").unwrap();
    assert_eq!(targeted.info().config.max_containers, 1);
    assert_eq!(peaks_of_concurrent_inputs(&targeted, 6, 300).await, (1, 6));
}

#[tokio::test(flavor = "multi_thread")]
async fn with_options_gives_a_handle_a_pool_of_its_own() {
    let app = calls_app().await;
    let targeted = app.function("targeted").unwrap();
    let one = targeted
        .with_options(FunctionOptions {
            max_containers: Some(1),
            min_containers: Some(1),
            ..FunctionOptions::default()
        })
        .unwrap();
    assert_eq!(one.info().config.max_containers, 1);
    eventually("its minimum container starts", || {
        one.stats().containers == 1
    })
    .await;
    assert_eq!(peaks_of_concurrent_inputs(&one, 6, 100).await, (1, 6));
    assert_eq!(
        targeted.stats().containers_started,
        0,
        "the function's own pool is untouched"
    );

    let error = targeted
        .with_options(FunctionOptions {
            target_inputs: Some(11),
            ..FunctionOptions::default()
        })
        .err()
        .expect("a target above max_inputs fails");
    assert!(
        matches!(&error, Error::BadArguments(message) if message.contains("target_inputs")),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn buffer_containers_are_kept_ready_beside_the_busy_ones() {
    let app = calls_app().await;
    let buffered = app.function("buffered").unwrap();
    assert_eq!(buffered.stats().containers, 0, "no buffer while idle");
    let call = buffered.spawn::<u64>((2000,)).unwrap();
    // One busy container and two idle ones beside it.
    eventually("two buffer containers start", || {
        let stats = buffered.stats();
        stats.containers == 3 && stats.in_flight == 1
    })
    .await;
    // A second input takes a buffer container at once; a new one refills the buffer.
    let second = buffered.spawn::<u64>((10,)).unwrap();
    assert_eq!(second.get().await.unwrap(), 10);
    eventually("the buffer is refilled", || {
        buffered.stats().containers_started == 4
    })
    .await;
    assert_eq!(call.get().await.unwrap(), 2000);
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
