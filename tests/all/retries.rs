//! Retries: a failed input runs again, up to `retries` times, and only the failed attempts do.

use fnhost::Error;
use fnhost_tests::calls_app;

#[tokio::test(flavor = "multi_thread")]
async fn failed_attempts_run_again_until_one_succeeds() {
    let app = calls_app().await;
    let flaky = app.function("flaky").unwrap();
    assert_eq!(flaky.info().config.retries, 2);
    // Attempts 1 and 2 fail; the second retry (attempt 3) succeeds.
    assert_eq!(flaky.remote::<u32>((2,)).await, Ok(3));
    // Attempts 4, 5 and 6 fail: retries run out and the last error is the call's.
    assert_eq!(
        flaky.remote::<u32>((10,)).await,
        Err(Error::User("attempt 6 failed".into()))
    );
    // A success is not run again.
    assert_eq!(flaky.remote::<u32>((0,)).await, Ok(7));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trapping_input_is_retried_on_new_containers() {
    let app = calls_app().await;
    let always = app.function("always_panics").unwrap();
    match always.remote::<u32>(()).await {
        Err(Error::Trapped(message)) => assert!(message.contains("again"), "{message}"),
        other => panic!("expected the trap, got {other:?}"),
    }
    assert_eq!(
        always.stats().containers_started,
        3,
        "the first attempt and two retries"
    );
}
