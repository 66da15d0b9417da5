//! Snapshots after `enter` (`enter(snap = true)`): the snap hook runs once per parameter set,
//! before the instance's memory is captured; every container starts from the capture (it
//! holds what the hook built and the hook's one run) and runs only the other `enter` hooks; a
//! snap hook that calls out, or keeps a host resource, fails at snapshot time, saying why.
//! Checked on counters kept in the instances and the pool's, never on time.

use fnhost::{App, Class, Error, ErrorKind};
use serde_json::json;
use std::path::PathBuf;

in_both_sdks!(
    containers_start_from_the_snapshot_and_skip_the_snap_hook,
    a_snap_hook_that_calls_out_or_keeps_a_resource_fails_at_snapshot_time,
);

async fn containers_start_from_the_snapshot_and_skip_the_snap_hook(component: PathBuf) {
    let app = App::load([component]).await.unwrap();
    let snapped = app
        .class("Snapped")
        .unwrap()
        .instance(json!({"size": 1000}))
        .unwrap();
    let enters = snapped.method("enters").unwrap();
    assert_eq!(enters.warm_up(3).await.unwrap(), 3);
    let seen: Vec<(u32, u32, u64)> = enters.map((0..40).map(|_| ())).await.unwrap();
    assert!(
        seen.iter().all(|seen| *seen == (1, 1, 499_500)),
        "each container: the snap hook's one run (inherited), its own other hook, the table: \
         {seen:?}"
    );
    assert!(snapped.stats().containers_started >= 3);
    // Other values, another snapshot.
    let other = app
        .class("Snapped")
        .unwrap()
        .instance(json!({"size": 10}))
        .unwrap();
    let seen: (u32, u32, u64) = other.method("enters").unwrap().remote(()).await.unwrap();
    assert_eq!(seen, (1, 1, 45));
}

async fn a_snap_hook_that_calls_out_or_keeps_a_resource_fails_at_snapshot_time(component: PathBuf) {
    let app = App::load([component]).await.unwrap();
    let class = app.class("Snapped").unwrap();
    let error = snapshot_error(&class, json!({"size": 1, "call_out": true})).await;
    assert_eq!(error.kind(), ErrorKind::User, "{error}");
    assert!(
        error.message().contains("cannot snapshot")
            && error
                .message()
                .contains("cannot be called from a snap `enter` hook"),
        "{error}"
    );
    // A refused call fails the snapshot even when the hook ignored the refusal.
    let error = snapshot_error(&class, json!({"size": 1, "call_quietly": true})).await;
    assert!(
        error
            .message()
            .contains("a snap hook called `lookup_in_aio`"),
        "{error}"
    );
    let error = snapshot_error(&class, json!({"size": 1, "spawn_out": true})).await;
    assert!(
        error.message().contains("left a host resource open"),
        "{error}"
    );
}

/// The error of the first call on `class`'s instance with `params`, whose snapshot fails.
async fn snapshot_error(class: &Class, params: serde_json::Value) -> Error {
    class
        .instance(params)
        .unwrap()
        .method("enters")
        .unwrap()
        .remote::<(u32, u32, u64)>(())
        .await
        .unwrap_err()
}
