//! The host's pool of instance slots (`max_instances`): when it is full, inputs wait for the
//! instances their function has, and a function that can get no instance at all fails with
//! `Overloaded`, naming the limit, instead of hanging.
//!
//! The pool's size is a host setting: this test makes a host of its own with
//! `max_instances: 5`, whose engine no other test shares.

use fnhost::{Error, HostSettings};
use fnhost_tests::app_on;

#[tokio::test(flavor = "multi_thread")]
async fn a_full_pool_queues_inputs_and_fails_clearly_when_no_instance_can_start() {
    let settings = HostSettings {
        max_instances: 5,
        ..HostSettings::default()
    };
    let (_host, app) = app_on(settings, "tests/guests/calls").await;
    let worker = app.function("blocking_worker").unwrap();

    // The app keeps 2 containers of `kept_warm` (min_containers); of the 5 slots, 3 are left:
    // blocking_worker may have 4 instances, but gets 3.
    let calls: Vec<_> = (0..4)
        .map(|_| worker.spawn::<u64>((200,)).unwrap())
        .collect();
    for call in calls {
        call.get().await.unwrap();
    }
    assert_eq!(worker.stats().peak_containers, 3);

    // With every slot taken, a function with no instance of its own cannot start one.
    assert_eq!(worker.warm_up(3).await, Ok(3));
    let callee = app.function("blocking_callee").unwrap();
    match callee.remote::<u32>((1,)).await {
        Err(Error::Overloaded(message)) => {
            assert!(message.contains("no free container slot"), "{message}");
            assert!(message.contains("FNHOST_MAX_INSTANCES"), "{message}");
        }
        other => panic!("expected a start failure, got {other:?}"),
    }
}

/// A host that ends gives back its slots' address space: a process makes hosts one after
/// another for as long as it likes. (Each reserves ~8 TiB of address space at the default
/// `max_instances`, and a process has 128 TiB: hosts kept alive after they end would fail to
/// start after about fifteen.)
#[tokio::test(flavor = "multi_thread")]
async fn hosts_made_one_after_another_each_start_and_end() {
    for round in 0..40 {
        let (host, app) = app_on(HostSettings::default(), "tests/guests/calls").await;
        let callee = app.function("blocking_callee").unwrap();
        let answer = callee.remote::<u32>((round,)).await;
        assert!(answer.is_ok(), "host {round}: {answer:?}");
        drop((app, host));
    }
}
