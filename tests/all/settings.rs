//! Host settings are a value, not the process's: hosts made with different settings live side
//! by side in one process, and each holds to its own.

use fnhost::{Error, Host, HostSettings};
use fnhost_tests::app_on;

/// A host whose calls may nest `max_call_depth` deep, and examples/faults loaded on it.
async fn faults_nesting_at_most(max_call_depth: usize) -> (Host, fnhost::App) {
    let settings = HostSettings {
        max_call_depth,
        ..HostSettings::default()
    };
    app_on(settings, "examples/faults").await
}

/// What `recurse` returns when its chain passes a limit of `limit` nested calls: the body
/// passes the `TooDeep` it got up as its own error, so it arrives as the top call's user error.
fn too_deep(limit: usize) -> Error {
    let depth = limit + 1;
    Error::User(format!(
        "too deep: recurse ×{depth} ({depth} nested calls; the limit is {limit})"
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hosts_in_one_process_keep_their_own_call_depth_limits() {
    let (shallow, shallow_app) = faults_nesting_at_most(8).await;
    let (deep, deep_app) = faults_nesting_at_most(16).await;
    assert_eq!(shallow.settings().max_call_depth, 8);
    assert_eq!(deep.settings().max_call_depth, 16);
    let on_shallow = shallow_app.function("recurse").unwrap();
    let on_deep = deep_app.function("recurse").unwrap();

    // `recurse(n)` nests n + 1 calls (the host's own call is the first): a limit of L lets
    // n = L - 1 through and stops n = L. Both hosts take their calls at the same time, and the
    // same recursion that one host stops, the other finishes.
    let (shallow_fits, shallow_stops, deep_passes, deep_fits, deep_stops) = tokio::join!(
        on_shallow.remote::<u32>((7,)),
        on_shallow.remote::<u32>((8,)),
        on_deep.remote::<u32>((8,)),
        on_deep.remote::<u32>((15,)),
        on_deep.remote::<u32>((16,)),
    );
    assert_eq!(shallow_fits, Ok(7));
    assert_eq!(shallow_stops, Err(too_deep(8)));
    assert_eq!(deep_passes, Ok(8));
    assert_eq!(deep_fits, Ok(15));
    assert_eq!(deep_stops, Err(too_deep(16)));
}

/// The depth limit counts each call chain, not the container: a tree of async calls whose
/// inputs of every depth interleave on one container runs to the limit's depth exactly (each
/// call extends the chain of the input that made it, whatever else runs beside it).
#[tokio::test(flavor = "multi_thread")]
async fn interleaved_inputs_are_each_counted_by_their_own_chain() {
    let settings = HostSettings {
        max_call_depth: 8,
        ..HostSettings::default()
    };
    let (_host, app) = app_on(settings, "tests/guests/calls").await;
    let tree = app.function("tree").unwrap();
    // 255 calls, 8 deep, interleaved on the function's one container.
    assert_eq!(tree.remote::<u32>((8,)).await, Ok(255));
    let stopped = tree.remote::<u32>((9,)).await.unwrap_err().to_string();
    assert!(
        stopped.contains("tree ×9 (9 nested calls; the limit is 8)"),
        "{stopped}"
    );
}
