//! Cancellation reaches the callee's input and, through it, the calls that input made: from
//! `FunctionCall::cancel`, from dropping a call (host or guest), and from a caller's own
//! timeout. A cancelled input never delivers a result.
//!
//! wasmtime 48 cannot cancel one task of a store, so a cancelled input is stopped by dropping
//! its container (see `host/src/container.rs`); these tests check what callers and pools see:
//! the callee's input counted as cancelled, nothing left running, and the pool serving again.

use fnhost::{Error, Function, FunctionOptions};
use fnhost_tests::{calls_app, calls_app_with, eventually};
use std::time::Duration;

/// A minute: longer than any of these tests may take, so only cancellation ends these calls.
const LONG_MS: u64 = 60_000;

async fn wait_until_running(function: &Function) {
    eventually(&format!("`{}` runs", function.info().name), || {
        function.stats().in_flight == 1
    })
    .await;
}

async fn wait_until_cancelled(function: &Function) {
    eventually(&format!("`{}` is cancelled", function.info().name), || {
        let stats = function.stats();
        stats.cancelled == 1 && stats.in_flight == 0 && stats.containers == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_a_call_stops_its_input_and_the_calls_it_made() {
    let app = calls_app().await;
    for (caller, callee) in [("relay", "slow"), ("relay_aio", "slow_aio")] {
        let caller = app.function(caller).unwrap();
        let callee = app.function(callee).unwrap();
        let call = caller.spawn::<u64>((LONG_MS,)).unwrap();
        wait_until_running(&callee).await;
        call.cancel();
        assert!(matches!(call.get().await, Err(Error::Cancelled(_))));
        wait_until_cancelled(&caller).await;
        wait_until_cancelled(&callee).await;
        // The pools serve again.
        assert_eq!(callee.remote::<u64>((1,)).await.unwrap(), 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_cancelled_while_queued_is_counted_at_once() {
    let one = FunctionOptions {
        max_containers: Some(1),
        max_inputs: Some(1),
        ..FunctionOptions::default()
    };
    let app = calls_app_with("slow", one).await;
    let slow = app.function("slow").unwrap();
    let running = slow.spawn::<u64>((LONG_MS,)).unwrap();
    wait_until_running(&slow).await;
    let queued = slow.spawn::<u64>((1,)).unwrap();
    eventually("the second call queues", || slow.stats().queued == 1).await;
    queued.cancel();
    assert!(matches!(queued.get().await, Err(Error::Cancelled(_))));
    // Counted while the first input still holds the only container, not once it is free.
    eventually("the queued call is counted as cancelled", || {
        let stats = slow.stats();
        (stats.cancelled, stats.queued, stats.in_flight) == (1, 0, 1)
    })
    .await;
    running.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_a_call_cancels_it() {
    let app = calls_app().await;
    let relay = app.function("relay").unwrap();
    let slow = app.function("slow").unwrap();
    let call = relay.remote::<u64>((LONG_MS,));
    let outcome = tokio::time::timeout(Duration::from_millis(300), call).await;
    assert!(outcome.is_err(), "the call was still running when dropped");
    wait_until_cancelled(&relay).await;
    wait_until_cancelled(&slow).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_that_drops_or_cancels_a_call_cancels_the_callee() {
    let app = calls_app().await;
    let slow_aio = app.function("slow_aio").unwrap();
    let finished_first: bool = app
        .function("give_up")
        .unwrap()
        .remote((LONG_MS, 200))
        .await
        .unwrap();
    assert!(!finished_first);
    wait_until_cancelled(&slow_aio).await;

    let slow = app.function("slow").unwrap();
    let outcome: String = app
        .function("spawn_and_cancel")
        .unwrap()
        .remote((LONG_MS, 200))
        .await
        .unwrap();
    assert!(outcome.starts_with("Err(Cancelled("), "{outcome}");
    wait_until_cancelled(&slow).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_callers_timeout_cancels_what_it_was_waiting_on() {
    let app = calls_app().await;
    let slow = app.function("slow").unwrap();
    let error = app
        .function("impatient")
        .unwrap()
        .remote::<u64>((LONG_MS,))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout(_)), "{error}");
    wait_until_cancelled(&slow).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_sets_a_timeout_at_the_call_site() {
    let app = calls_app().await;
    let error = app
        .function("with_short_timeout")
        .unwrap()
        .remote::<u64>((LONG_MS,))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::User(message) if message.starts_with("timed out")),
        "{error}"
    );
}
