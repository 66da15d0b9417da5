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
    // Two inputs share the instance, each would wait an hour: both time out.
    let first = stuck.spawn::<u64>((3_600_000,)).unwrap();
    let second = stuck.spawn::<u64>((3_600_000,)).unwrap();
    for call in [first, second] {
        let result = call.get().await;
        assert!(is_timeout(&result, "1s"), "{result:?}");
    }
    // A new container serves what comes next.
    assert_eq!(stuck.remote::<u64>((5,)).await, Ok(5));
    assert_eq!(stuck.stats().containers_started, 2);
}
