//! The queue bound: past `FNHOST_MAX_QUEUED` inputs waiting for one function, a call fails at
//! once with `overloaded`, and the queued ones still complete.
//!
//! This file is its own test process, so the variable it sets reaches only its pools.

use fnhost::Error;
use fnhost_tests::guest;

#[tokio::test(flavor = "multi_thread")]
async fn a_full_queue_refuses_calls_at_once() {
    // SAFETY: set before any thread of this process reads the environment (the pools read it
    // when the app loads, below).
    unsafe { std::env::set_var("FNHOST_MAX_QUEUED", "5") };
    let app = fnhost::App::load([guest("tests/guests/calls")])
        .await
        .unwrap();
    // `stuck_async` has one container taking two inputs; six more wait, but only five fit.
    let stuck = app.function("stuck_async").unwrap();
    stuck.warm_up(1).await.unwrap();
    let accepted: Vec<_> = (0..7)
        .map(|_| stuck.spawn::<u64>((200,)).unwrap())
        .collect();
    match stuck.remote::<u64>((200,)).await {
        Err(Error::Overloaded(message)) => {
            assert!(message.contains("5 inputs queued"), "{message}")
        }
        other => panic!("expected overloaded, got {other:?}"),
    }
    for call in accepted {
        assert_eq!(call.get().await, Ok(200));
    }
}
