//! Classes (Modal's `@app.cls`): each set of parameter values has a pool of its own whose
//! containers enter once before their first input and exit when they retire; a failing
//! `enter` fails its inputs after their retries; methods share their class's containers (an
//! async class interleaves them on one instance); parameters are checked and capped. Checked
//! on pool counters and on what the instances report, never on time.

use crate::output::Lines;
use fnhost::{App, ErrorKind, FunctionOptions, Stream};
use fnhost_tests::eventually;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

in_both_sdks!(
    each_set_of_parameters_has_its_pool_and_each_container_enters_once,
    guests_call_methods_through_the_sdks_handles,
    the_entrypoint_sees_one_enter_per_container,
    parameters_are_checked_and_capped,
    a_failing_enter_fails_its_inputs_after_their_retries_naming_the_hook,
    exit_runs_when_a_container_retires_and_when_the_app_goes,
    an_async_class_interleaves_its_methods_inputs_on_one_instance,
    a_batched_method_gathers_its_instances_inputs,
);

async fn each_set_of_parameters_has_its_pool_and_each_container_enters_once(component: PathBuf) {
    let app = App::load([component]).await.unwrap();
    let table = app.class("Table").unwrap();
    let small = table.instance(json!({"size": 3})).unwrap();
    let large = table.instance(json!({"size": 50})).unwrap();
    let (small_lookup, large_lookup) = (
        small.method("lookup").unwrap(),
        large.method("lookup").unwrap(),
    );
    for index in 0..20u64 {
        let found: u64 = small_lookup.remote(index % 3).await.unwrap();
        assert_eq!(found, (index % 3) * 10);
        let found: u64 = large_lookup.remote(index + 30).await.unwrap();
        assert_eq!(found, (index + 30) * 10);
    }
    let out_of_range = small_lookup.remote::<u64>(3).await.unwrap_err();
    assert_eq!(out_of_range.kind(), ErrorKind::User);
    assert!(
        out_of_range.message().contains("no number at 3"),
        "{out_of_range}"
    );

    let (small_id, small_enters): (u64, u32) =
        small.method("who").unwrap().remote(()).await.unwrap();
    let (large_id, large_enters): (u64, u32) =
        large.method("who").unwrap().remote(()).await.unwrap();
    assert_eq!(
        (small_enters, large_enters),
        (1, 1),
        "each container entered once"
    );
    assert_ne!(small_id, large_id, "two instances, two containers");
    assert_eq!(small.stats().containers_started, 1);
    assert_eq!(large.stats().containers_started, 1);
    // The same values, written again (in another order of keys), are the same instance.
    let again = table.instance(json!({"size": 3})).unwrap();
    let (id, _): (u64, u32) = again.method("who").unwrap().remote(()).await.unwrap();
    assert_eq!(id, small_id);

    // Every container of a busy pool entered exactly once too.
    let calls: Vec<_> = (0..40u64)
        .map(|i| small_lookup.remote::<u64>(i % 3))
        .collect();
    futures::future::try_join_all(calls).await.unwrap();
    let whos: Vec<(u64, u32)> = small
        .method("who")
        .unwrap()
        .map((0..40).map(|_| ()))
        .await
        .unwrap();
    assert!(whos.iter().all(|(_, enters)| *enters == 1), "{whos:?}");
}

async fn guests_call_methods_through_the_sdks_handles(component: PathBuf) {
    let app = App::load([component]).await.unwrap();
    let (found, started): (u64, u64) = app
        .function("lookup_in")
        .unwrap()
        .remote((4, 2))
        .await
        .unwrap();
    assert_eq!((found, started), (20, 1));
    let found: u64 = app
        .function("lookup_in_aio")
        .unwrap()
        .remote((4, 3))
        .await
        .unwrap();
    assert_eq!(found, 30);
    // The host's handle reaches the pool the guest's calls started.
    let four = app
        .class("Table")
        .unwrap()
        .instance(json!({"size": 4}))
        .unwrap();
    assert_eq!(four.stats().containers_started, 1);
}

async fn the_entrypoint_sees_one_enter_per_container(component: PathBuf) {
    let (app, lines) = app_printing_into_lines(component).await;
    assert_eq!(app.run_entrypoint(Some("main")).await.unwrap(), 0);
    let printed = lines.of(Stream::Stdout);
    assert!(
        printed
            .iter()
            .any(|(_, line)| line.trim_end() == "containers: 1, enters: 1"),
        "{printed:?}"
    );
}

async fn parameters_are_checked_and_capped(component: PathBuf) {
    let app = App::load([component]).await.unwrap();
    let table = app.class("Table").unwrap();
    let unknown = table
        .instance(json!({"size": 3, "colour": "red"}))
        .err()
        .unwrap();
    let required = table.instance(json!({"broken": true})).err().unwrap();
    assert!(
        required
            .message()
            .contains("parameter `size` of `Table` has no default"),
        "{required}"
    );
    assert_eq!(unknown.kind(), ErrorKind::BadArguments);
    assert!(
        unknown.message().contains("no parameter `colour`")
            && unknown.message().contains("size, broken"),
        "{unknown}"
    );
    let huge = table
        .instance(json!({"size": "x".repeat(20_000)}))
        .err()
        .unwrap();
    assert_eq!(huge.kind(), ErrorKind::BadArguments);
    assert!(huge.message().contains("at most 16384"), "{huge}");
    let not_an_object = table.instance(json!([3])).err().unwrap();
    assert_eq!(not_an_object.kind(), ErrorKind::BadArguments);

    // A value of the wrong type is found when a container builds the instance.
    let wrong = table.instance(json!({"size": "three"})).unwrap();
    let error = wrong
        .method("lookup")
        .unwrap()
        .remote::<u64>(0)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BadArguments, "{error}");
    assert!(
        error
            .message()
            .contains("`Table`: a container could not start")
            && error.message().contains("parameters of `Table`"),
        "{error}"
    );
    let missing = wrong.method("nope").err().unwrap();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert!(
        missing
            .message()
            .contains("Table.lookup, Table.who, Table.shifted"),
        "{missing}"
    );
    let no_class = app.class("Chair").err().unwrap();
    assert!(
        no_class
            .message()
            .contains("Meeting, Producer, Snapped, Table"),
        "{no_class}"
    );
}

async fn a_failing_enter_fails_its_inputs_after_their_retries_naming_the_hook(component: PathBuf) {
    let retried = FunctionOptions {
        retries: Some(2),
        initial_delay: Some(Duration::from_millis(1)),
        ..FunctionOptions::default()
    };
    let lines = Arc::new(Lines::default());
    let app = App::builder()
        .options("Table", retried)
        .output(lines.clone())
        .load([component])
        .await
        .unwrap();
    let broken = app
        .class("Table")
        .unwrap()
        .instance(json!({"size": 3, "broken": true}))
        .unwrap();
    let error = broken
        .method("lookup")
        .unwrap()
        .remote::<u64>(0)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::User, "{error}");
    assert!(
        error.message().contains("hook `build` of `Table` failed: ")
            && error.message().contains("the table is broken"),
        "{error}"
    );
    let entered = lines
        .of(Stream::Stdout)
        .iter()
        .filter(|(_, line)| line.trim_end() == "entering a broken table")
        .count();
    assert_eq!(entered, 3, "the first attempt and two retries");
    assert_eq!(broken.stats().containers, 0);
}

async fn exit_runs_when_a_container_retires_and_when_the_app_goes(component: PathBuf) {
    let (app, lines) = app_printing_into_lines(component).await;
    let table = app.class("Table").unwrap();
    let idle = table.instance(json!({"size": 7})).unwrap();
    let _: u64 = idle.method("lookup").unwrap().remote(1).await.unwrap();
    let exited = |size: u32| {
        let lines = Arc::clone(&lines);
        move || {
            lines
                .of(Stream::Stdout)
                .iter()
                .any(|(_, line)| line.starts_with(&format!("exit Table(size={size})")))
        }
    };
    // Its scaledown window is 2 s: the idle container retires, and exits.
    eventually("the idle container exits", exited(7)).await;
    assert_eq!(idle.stats().containers, 0);

    let busy = table.instance(json!({"size": 8})).unwrap();
    let _: u64 = busy.method("lookup").unwrap().remote(1).await.unwrap();
    drop((busy, idle, table));
    drop(app);
    eventually("the app's containers exit as it goes", exited(8)).await;
}

async fn an_async_class_interleaves_its_methods_inputs_on_one_instance(component: PathBuf) {
    let app = App::load([component]).await.unwrap();
    let meeting = app.class("Meeting").unwrap().instance(json!(null)).unwrap();
    let (join, join_late) = (
        meeting.method("join").unwrap(),
        meeting.method("join_late").unwrap(),
    );
    // Each waits until all four are in the one instance: they return only if they interleave.
    let arrived = futures::future::try_join_all([
        join.remote::<u32>(4),
        join_late.remote::<u32>(4),
        join.remote::<u32>(4),
        join_late.remote::<u32>(4),
    ])
    .await
    .unwrap();
    assert!(arrived.iter().all(|count| *count >= 4), "{arrived:?}");
    let stats = meeting.stats();
    assert_eq!(stats.containers_started, 1);
    assert_eq!(stats.peak_in_flight_per_container, 4);
}

async fn a_batched_method_gathers_its_instances_inputs(component: PathBuf) {
    let app = App::load([component]).await.unwrap();
    let table = app
        .class("Table")
        .unwrap()
        .instance(json!({"size": 100}))
        .unwrap();
    let shifted = table.method("shifted").unwrap();
    // Four calls fill a batch (its wait is a minute: only a full batch runs).
    let results = futures::future::try_join_all((0..4u64).map(|n| shifted.remote::<u64>(n)))
        .await
        .unwrap();
    assert_eq!(results, [100, 101, 102, 103]);
    let stats = table.stats();
    assert_eq!((stats.batches, stats.batched_inputs), (1, 4));
}

/// The app of `component`, whose guests' output goes to the lines returned.
async fn app_printing_into_lines(component: PathBuf) -> (App, Arc<Lines>) {
    let lines = Arc::new(Lines::default());
    let app = App::builder()
        .output(lines.clone())
        .load([component])
        .await
        .unwrap();
    (app, lines)
}
