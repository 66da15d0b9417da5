//! The host under pressure from its own guests: a recursive fan-out that fills every container
//! slot (of the host, or of its function) with parents waiting for children that cannot start
//! fails fast instead of hanging until its timeout; guests' memory is charged to the host's
//! budget.

use fnhost::{Error, ErrorKind, FunctionOptions, HostSettings};
use fnhost_tests::{app_on, eventually, guest};
use std::time::Duration;

/// The host of each test has settings of its own; nothing here may wait longer than this (the
/// function's timeout is 300 s: a stall would run into this first).
const GUARD: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread")]
async fn a_fan_out_that_holds_every_slot_fails_fast_naming_the_limit() {
    let settings = HostSettings {
        max_instances: 16,
        ..HostSettings::default()
    };
    let (_host, app) = app_on(settings, "tests/guests/pressure").await;
    let fork = app.function("fork").unwrap();
    // 15 containers: fits in 16 slots.
    let leaves = tokio::time::timeout(GUARD, fork.remote::<u64>(3)).await;
    assert_eq!(leaves.expect("no stall"), Ok(8));
    // 127 containers: parents hold all 16 slots, waiting on children that cannot start.
    let stalled = tokio::time::timeout(GUARD, fork.remote::<u64>(6))
        .await
        .expect("the stall is detected, not waited out");
    let error = stalled.unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error.kind(), ErrorKind::Overloaded | ErrorKind::User),
        "{error:?}"
    );
    assert!(message.contains("cannot start a container"), "{message}");
    assert!(message.contains("FNHOST_MAX_INSTANCES"), "{message}");
    assert!(message.contains("fork ×"), "the chain is named: {message}");
    // Everything unwound: the pool serves again.
    let again = tokio::time::timeout(GUARD, fork.remote::<u64>(2)).await;
    assert_eq!(again.expect("no stall"), Ok(4));
}

/// The same stall within the function's own limit: the host has slots to spare, but its
/// spawned children queue behind `max_containers` parents that wait for them.
#[tokio::test(flavor = "multi_thread")]
async fn a_fan_out_that_holds_its_functions_every_container_fails_fast_naming_the_limit() {
    let host = fnhost::Host::new(HostSettings::default()).expect("the host starts");
    let sixteen = FunctionOptions {
        max_containers: Some(16),
        ..FunctionOptions::default()
    };
    let app = host
        .app()
        .options("fork", sixteen)
        .load([guest("tests/guests/pressure")])
        .await
        .expect("the app loads");
    let fork = app.function("fork").unwrap();
    let stalled = tokio::time::timeout(GUARD, fork.remote::<u64>(12))
        .await
        .expect("the stall is detected, not waited out");
    let message = stalled.unwrap_err().to_string();
    assert!(
        message.contains("every one of its max_containers = 16 containers is taken"),
        "{message}"
    );
    let stats = fork.stats();
    assert_eq!(stats.peak_containers, 16, "{stats:?}");
    let again = tokio::time::timeout(GUARD, fork.remote::<u64>(2)).await;
    assert_eq!(again.expect("no stall"), Ok(4));
}

/// While `always_panics` waits out a retry delay no container of it is live, and every live
/// container of the host waits on a call: the first `queues_for_retries` on `waits_on_retries`,
/// which waits on the retried call, the others on `waits_on_retries`' one container. The retry
/// is underway, so the queued calls wait for it instead of failing as a stall.
#[tokio::test(flavor = "multi_thread")]
async fn calls_queued_behind_a_retry_wait_for_it() {
    let (_host, app) = app_on(HostSettings::default(), "tests/guests/pressure").await;
    let queues = app.function("queues_for_retries").unwrap();
    let calls = (0..3).map(|_| queues.remote::<String>(()));
    for answered in futures::future::join_all(calls).await {
        let message = answered.expect("each call waits its turn");
        assert!(message.contains("again"), "{message}");
    }
    let retried = app.function("always_panics").unwrap().stats();
    assert_eq!(
        retried.containers_started, 9,
        "three attempts for each call: {retried:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn guest_memory_is_charged_to_the_hosts_budget() {
    let settings = HostSettings {
        memory_budget: 64 << 20,
        ..HostSettings::default()
    };
    let (host, app) = app_on(settings, "tests/guests/pressure").await;
    let hold = app.function("hold").unwrap();
    assert_eq!(hold.remote::<usize>(8).await, Ok(8 << 20));
    assert!(
        host.memory_in_use() > 8 << 20,
        "the container keeps its memory while it lives"
    );
    // Past the budget: the guest's growth traps, naming the budget.
    match hold.remote::<usize>(100).await {
        Err(Error::Trapped(message)) => {
            assert!(message.contains("budget of 64 MiB"), "{message}");
        }
        other => panic!("expected a trap naming the budget, got {other:?}"),
    }
    // Its container is gone and its memory given back; the pool serves again.
    assert_eq!(hold.remote::<usize>(8).await, Ok(8 << 20));
    drop((hold, app));
    eventually("every container's memory is given back", || {
        host.memory_in_use() == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_container_that_cannot_get_its_memory_is_back_pressure() {
    // Less than any component's initial memory.
    let settings = HostSettings {
        memory_budget: 4096,
        ..HostSettings::default()
    };
    let (_host, app) = app_on(settings, "tests/guests/pressure").await;
    match app.function("hold").unwrap().remote::<usize>(1).await {
        Err(Error::Overloaded(message)) => {
            assert!(message.contains("no memory for a container"), "{message}");
            assert!(message.contains("FNHOST_MEMORY_BUDGET"), "{message}");
        }
        other => panic!("expected overloaded, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_container_out_of_handles_says_so_and_names_the_limit() {
    let settings = HostSettings {
        max_handles: 1000,
        ..HostSettings::default()
    };
    let (_host, app) = app_on(settings, "tests/guests/pressure").await;
    let gather = app.function("gather").unwrap();
    assert_eq!(gather.remote::<u32>(100).await, Ok(100));
    match gather.remote::<u32>(5000).await {
        Err(Error::Trapped(message)) => {
            assert!(message.contains("too many handles"), "{message}");
            assert!(message.contains("at most 1000"), "{message}");
        }
        other => panic!("expected a trap naming the handle limit, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_function_name_gets_a_short_error() {
    let settings = HostSettings::default();
    let (_host, app) = app_on(settings, "tests/guests/pressure").await;
    let name = "x".repeat(4 << 20);
    let Err(Error::NotFound(message)) = app.function(&name) else {
        panic!("a 4 MiB name was found");
    };
    assert!(message.len() < 300, "{} bytes", message.len());
    assert!(message.contains("a name of 4194304 bytes"), "{message}");
}
