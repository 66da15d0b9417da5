//! The map variants (Modal's `starmap`, `order_outputs=False`, `for_each`, `spawn_map`), from
//! the host API and from guest bodies of each kind.
//!
//! Unordered results are checked on `gate`, whose input 0 finishes only once its round is
//! released: a reader of results in the order calls finish reads every other input first,
//! then releases the round and reads 0. A reader in input order would wait for ever. No clock
//! decides the order.

use fnhost::{Error, FunctionCall, blocking};
use fnhost_tests::{calls_app, eventually, guest};
use futures::StreamExt;
use std::collections::BTreeSet;
use std::pin::pin;

/// Checks what a reader of a round of `n` gates read: every other input, then 0.
fn assert_finish_order(results: &[i64], n: i64) {
    assert_eq!(results.len(), n as usize, "{results:?}");
    assert_eq!(results.last(), Some(&0), "input 0 comes last: {results:?}");
    let others: BTreeSet<i64> = results[..results.len() - 1].iter().copied().collect();
    assert_eq!(
        others,
        (1..n).collect(),
        "every other input once: {results:?}"
    );
}

/// The inputs of a round of `n` gates.
fn round(name: &str, n: i64) -> Vec<(String, i64)> {
    (0..n).map(|i| (name.to_owned(), i)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn unordered_results_come_as_calls_finish_from_the_host_and_guests() {
    let app = calls_app().await;
    let gate = app.function("gate").unwrap();
    let mut results = pin!(gate.map_unordered::<_, i64, _>(round("host", 10)));
    let mut read = Vec::new();
    for _ in 1..10 {
        read.push(results.next().await.unwrap().unwrap());
    }
    let _: i64 = gate.remote(("host", -1)).await.unwrap();
    while let Some(result) = results.next().await {
        read.push(result.unwrap());
    }
    assert_finish_order(&read, 10);
    for function in ["gates_unordered", "gates_unordered_aio"] {
        let results: Vec<i64> = app
            .function(function)
            .unwrap()
            .remote((function, 20))
            .await
            .unwrap();
        assert_finish_order(&results, 20);
    }
    assert_eq!(gate.stats().cancelled, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_an_unordered_map_cancels_the_calls_still_running() {
    let app = calls_app().await;
    // The round is never released: input 0 waits until it is cancelled.
    let results: Vec<i64> = app
        .function("gates_abandoned")
        .unwrap()
        .remote(("abandoned", 5))
        .await
        .unwrap();
    let seen: BTreeSet<i64> = results.into_iter().collect();
    assert_eq!(seen, (1..5).collect());
    let gate = app.function("gate").unwrap();
    eventually("the waiting gate is cancelled", || {
        let stats = gate.stats();
        stats.cancelled == 1 && stats.in_flight == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn for_each_drops_results_and_reports_errors_unless_ignored() {
    let app = calls_app().await;
    let fallible = app.function("fallible").unwrap();
    fallible.for_each(0..6u32, true).await.unwrap();
    let error = fallible.for_each(0..6u32, false).await.unwrap_err();
    assert!(
        matches!(error, Error::User(ref message) if message.contains("odd number")),
        "{error}"
    );

    let for_each = app.function("for_each_of_fallible").unwrap();
    let ignored: (Result<(), String>, Result<(), String>) =
        for_each.remote((6, true)).await.unwrap();
    assert_eq!(ignored, (Ok(()), Ok(())));
    let (blocking, asynchronous): (Result<(), String>, Result<(), String>) =
        for_each.remote((6, false)).await.unwrap();
    // The blocking form reports the first error in input order; the async one the first to
    // finish.
    assert!(blocking.unwrap_err().contains("odd number 1"));
    assert!(asynchronous.unwrap_err().contains("odd number"));
}

#[tokio::test(flavor = "multi_thread")]
async fn spawn_map_returns_at_once_with_call_ids_anyone_can_collect() {
    let app = calls_app().await;
    let host = app.host().clone();
    let ids: Vec<String> = app
        .function("spawn_map_ids")
        .unwrap()
        .remote((6,))
        .await
        .unwrap();
    let calls = app
        .function("fallible")
        .unwrap()
        .spawn_map::<_, u32>(0..4u32)
        .unwrap();
    assert_eq!(calls.len(), 4);
    let mut from_guest = Vec::new();
    for id in &ids {
        let call = FunctionCall::<u32>::from_id(&host, id).unwrap();
        from_guest.push(call.get().await.map_err(|error| error.kind()));
    }
    let odd = Err(fnhost::ErrorKind::User);
    assert_eq!(from_guest, vec![Ok(0), odd, Ok(1), odd, Ok(2), odd]);
    let mut from_host = Vec::new();
    for call in calls {
        from_host.push(call.get().await.map_err(|error| error.kind()));
    }
    assert_eq!(from_host, vec![Ok(0), odd, Ok(1), odd]);
}

#[tokio::test(flavor = "multi_thread")]
async fn starmap_is_map_over_tuples_of_arguments() {
    let app = calls_app().await;
    let sums: Vec<String> = app
        .function("starmap_sums")
        .unwrap()
        .remote((3,))
        .await
        .unwrap();
    assert_eq!(sums, ["s0: 0", "s1: 2", "s2: 4"]);
    let from_host: Vec<String> = app
        .function("describe_sum")
        .unwrap()
        .map([(1, 2, "a"), (3, 4, "b")])
        .await
        .unwrap();
    assert_eq!(from_host, ["a: 3", "b: 7"]);
}

#[test]
fn the_blocking_host_api_has_every_map_variant() {
    let app = blocking::App::load([guest("tests/guests/calls")]).unwrap();
    let gate = app.function("gate").unwrap();
    let mut results = gate.map_unordered::<_, i64, _>(round("blocking", 8));
    let mut read: Vec<i64> = results.by_ref().take(7).map(Result::unwrap).collect();
    let _: i64 = gate.remote(("blocking", -1)).unwrap();
    read.extend(results.map(Result::unwrap));
    assert_finish_order(&read, 8);
    let fallible = app.function("fallible").unwrap();
    fallible.for_each(0..4u32, true).unwrap();
    assert!(fallible.for_each(0..4u32, false).is_err());
    let calls = fallible.spawn_map::<_, u32>([0u32, 2, 4]).unwrap();
    let results: Vec<u32> = calls.into_iter().map(|call| call.get().unwrap()).collect();
    assert_eq!(results, [0, 1, 2]);
}
