//! Input timeouts: a guest that computes, blocks or waits past its function's `timeout` fails
//! with a timeout error, its container is replaced, and nothing else is held up.

use fnhost::{App, Error};
use fnhost_tests::{calls_app, guest};

fn is_timeout(result: &Result<impl std::fmt::Debug, Error>, timeout: &str) -> bool {
    matches!(result, Err(Error::Timeout(message)) if message.contains(&format!("timeout of {timeout}")))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_computing_forever_is_stopped() {
    // examples/faults' `spin` loops forever; its timeout is 2 s.
    let app = App::load([guest("examples/faults")]).await.unwrap();
    let spin = app.function("spin").unwrap();
    let sleepy = app.function("sleepy").unwrap();
    let spinning = spin.spawn::<u64>(()).unwrap();
    // Other functions are served while it spins.
    for ms in 0..20 {
        assert_eq!(sleepy.remote::<u64>((ms,)).await, Ok(ms));
    }
    let result = spinning.get().await;
    assert!(is_timeout(&result, "2s"), "{result:?}");
    // Its container was replaced: the next input runs on a new one (and times out too).
    let again = spin.remote::<u64>(()).await;
    assert!(is_timeout(&again, "2s"), "{again:?}");
    assert_eq!(spin.stats().containers_started, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_blocked_in_an_import_is_stopped() {
    let app = calls_app().await;
    let result = app
        .function("stuck_blocking")
        .unwrap()
        .remote::<()>(())
        .await;
    assert!(is_timeout(&result, "1s"), "{result:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_waiting_past_its_timeout_is_stopped() {
    let app = calls_app().await;
    let stuck = app.function("stuck_async").unwrap();
    // Inputs within their timeout are untouched.
    assert_eq!(stuck.remote::<u64>((10,)).await, Ok(10));
    // Two inputs share the instance, each would wait an hour. The first times out; the second
    // started a moment later, so when the container is stopped its own deadline may or may
    // not have passed: it fails with a timeout, or with a trap that names the timeout.
    let first = stuck.spawn::<u64>((3_600_000,)).unwrap();
    let second = stuck.spawn::<u64>((3_600_000,)).unwrap();
    let result = first.get().await;
    assert!(is_timeout(&result, "1s"), "{result:?}");
    match second.get().await {
        Err(Error::Timeout(_)) => {}
        Err(Error::Trapped(message)) => {
            assert!(message.contains("ran past its timeout"), "{message}");
        }
        other => panic!("expected the container's stop, got {other:?}"),
    }
    // A new container serves what comes next.
    assert_eq!(stuck.remote::<u64>((5,)).await, Ok(5));
    assert_eq!(stuck.stats().containers_started, 2);
}

/// `with_options` overrides a function's timeout and retries for the calls of one handle.
#[tokio::test(flavor = "multi_thread")]
async fn call_options_override_the_function_s_own() {
    let app = calls_app().await;
    let stuck = app.function("stuck_blocking").unwrap();
    let longer = stuck
        .with_options(fnhost::FunctionOptions {
            timeout: Some(std::time::Duration::from_secs(2)),
            ..Default::default()
        })
        .unwrap();
    let result = longer.remote::<()>(()).await;
    assert!(is_timeout(&result, "2s"), "{result:?}");

    let flaky = app.function("flaky").unwrap();
    let no_retries = flaky
        .with_options(fnhost::FunctionOptions {
            retries: Some(0),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        no_retries.remote::<u32>((1,)).await,
        Err(Error::User("attempt 1 failed".into())),
        "the first failure is the call's"
    );

    let out_of_range = fnhost::FunctionOptions {
        timeout: Some(std::time::Duration::ZERO),
        ..Default::default()
    };
    assert!(matches!(
        stuck.with_options(out_of_range),
        Err(Error::BadArguments(_))
    ));
}
