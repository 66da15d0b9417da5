//! Concurrency, checked structurally (pool counters, a barrier), never by the clock.

use fnhost_tests::{calls_app, four_at_once};

/// 100 `remote_aio` calls gathered with `join_all` in one guest task are all in flight at
/// once: the barrier they enter opens only when all 100 are inside it.
#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_way_fan_out_is_in_flight_at_once() {
    let app = calls_app().await;
    let gathered: u32 = app
        .function("fan_out")
        .unwrap()
        .remote((100,))
        .await
        .unwrap();
    assert_eq!(gathered, 100);
    let stats = app.function("barrier").unwrap().stats();
    assert_eq!(stats.peak_in_flight, 100);
    // max_inputs = 100 on max_containers = 1: all on ONE instance, interleaved.
    assert_eq!(stats.peak_containers, 1);
    assert_eq!(stats.peak_in_flight_per_container, 100);
}

/// A blocking body with max_inputs = 4 runs 4 inputs in parallel on 4 instances.
#[tokio::test(flavor = "multi_thread")]
async fn blocking_max_inputs_means_one_instance_per_input() {
    let (instances, stats) = four_at_once(&calls_app().await, "blocking_worker").await;
    assert_eq!(instances.len(), 4, "each input had an instance of its own");
    assert_eq!(stats.peak_containers, 4);
    assert_eq!(stats.peak_in_flight, 4);
    assert_eq!(stats.peak_in_flight_per_container, 1);
}

/// An async body with max_inputs = 4 runs 4 inputs on ONE instance.
#[tokio::test(flavor = "multi_thread")]
async fn async_max_inputs_share_one_instance() {
    let (instances, stats) = four_at_once(&calls_app().await, "async_worker").await;
    assert_eq!(instances.len(), 1, "all inputs ran on the same instance");
    assert_eq!(stats.peak_containers, 1);
    assert_eq!(stats.peak_in_flight_per_container, 4);
}

/// More load than max_containers × max_inputs queues, and every input still completes.
#[tokio::test(flavor = "multi_thread")]
async fn load_beyond_the_limit_queues_and_completes() {
    let app = calls_app().await;
    let worker = app.function("async_worker").unwrap();
    let results: Vec<u64> = worker.map((0..12).map(|_| (50u64,))).await.unwrap();
    assert_eq!(results.len(), 12);
    let stats = worker.stats();
    assert_eq!(
        stats.peak_containers, 1,
        "max_containers = 1 is never exceeded"
    );
    assert_eq!(stats.peak_in_flight, 4, "max_inputs = 4 is never exceeded");
    assert_eq!(stats.queued, 0);
    assert_eq!(stats.in_flight, 0);
}

/// `warm_up` starts containers ahead of load, within the limit, and inputs then use them.
#[tokio::test(flavor = "multi_thread")]
async fn warm_up_starts_containers_that_later_inputs_use() {
    let app = calls_app().await;
    let worker = app.function("blocking_worker").unwrap();
    assert_eq!(worker.warm_up(3).await, Ok(3));
    assert_eq!(worker.stats().containers, 3);
    let calls: Vec<_> = (0..3).map(|_| worker.spawn::<u64>((1,)).unwrap()).collect();
    for call in calls {
        call.get().await.unwrap();
    }
    assert_eq!(
        worker.stats().containers_started,
        3,
        "the warm containers took the inputs"
    );
    assert_eq!(
        worker.warm_up(10).await,
        Ok(4),
        "max_containers × max_inputs caps it"
    );
}
