//! Batched functions (`#[function(batched(..))]`, Python's `@fnhost.batched`): callers call
//! with one input each and get their own result; the host runs full batches (or what came
//! within the wait) as one input; a body error or a result of the wrong length fails every
//! input of its batch; the pool counts batches.
//!
//! `doubled_batch` waits a minute for 4 inputs, so sending multiples of 4 at once makes every
//! batch full: the counts below do not depend on timing.

use fnhost::{Error, ErrorKind, Function};
use fnhost_tests::calls_app;

#[tokio::test(flavor = "multi_thread")]
async fn callers_get_their_own_element_of_full_batches() {
    let app = calls_app().await;
    let doubled = app.function("doubled_batch").unwrap();
    let results: Vec<i64> = doubled.map((1..=12i64).map(|x| (x,))).await.unwrap();
    assert_eq!(results, (1..=12).map(|x| x * 2).collect::<Vec<_>>());
    let stats = doubled.stats();
    assert_eq!((stats.batches, stats.batched_inputs), (3, 12));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_or_a_wrong_length_fails_every_input_of_its_batch_only() {
    let app = calls_app().await;
    let doubled = app.function("doubled_batch").unwrap();
    assert_batches_fail_whole(&doubled, "negative number in the batch: -1").await;
}

/// Sends `doubled` (`doubled_batch` of either SDK: batches of 4) three batches, in order: the
/// first comes back doubled; the second holds -1, and every input of it fails with a user
/// error containing `negative`; the third holds 999, and every input of it fails for the
/// result's length.
pub(crate) async fn assert_batches_fail_whole(doubled: &Function, negative: &str) {
    let inputs = [1, 2, 3, 4, 5, -1, 6, 7, 8, 999, 9, 10];
    let results: Vec<Result<i64, Error>> = doubled.map_results(inputs.map(|x| (x,))).await;
    for (index, result) in results.iter().enumerate() {
        if index < 4 {
            assert_eq!(result.as_ref().ok(), Some(&(inputs[index] * 2)));
            continue;
        }
        let error = result.as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::User, "{error}");
        let expected = if index < 8 {
            negative
        } else {
            "returned 3 results for a batch of 4 inputs"
        };
        assert!(error.message().contains(expected), "{error}");
    }
    assert_eq!(doubled.stats().batches, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_input_runs_alone_when_no_other_comes_within_the_wait() {
    let app = calls_app().await;
    let pair: ((u32, usize), (u32, usize)) = app
        .function("call_batched")
        .unwrap()
        .remote(("four",))
        .await
        .unwrap();
    assert_eq!(pair, ((1, 4), (2, 4)));
    let stats = app.function("lengths").unwrap().stats();
    assert_eq!((stats.batches, stats.batched_inputs), (2, 2));
    // Arguments that are not one value per parameter fail alone, before any batch.
    let error = app
        .function("lengths")
        .unwrap()
        .remote::<(u32, usize)>(("only one",))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BadArguments, "{error}");
}
