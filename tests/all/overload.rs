//! The queue bound: past `max_queued` inputs waiting for one function, a call fails at once
//! with `overloaded`, and the queued ones still complete.
//!
//! The bound is a host setting: this test makes a host of its own with `max_queued: 5`.

use fnhost::{Error, HostSettings};
use fnhost_tests::app_on;

#[tokio::test(flavor = "multi_thread")]
async fn a_full_queue_refuses_calls_at_once() {
    let settings = HostSettings {
        max_queued: 5,
        ..HostSettings::default()
    };
    let (_host, app) = app_on(settings, "tests/guests/calls").await;
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
