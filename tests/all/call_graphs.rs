//! Call graphs that could hang: chains that come back to a function whose containers their
//! callers hold get overflow containers; runaway recursion stops at the call depth limit with
//! an error naming the chain.

use fnhost::{App, DEFAULT_MAX_CALL_DEPTH, Error, FunctionCall, HostSettings};
use fnhost_tests::{app_on, calls_app, guest};

#[tokio::test(flavor = "multi_thread")]
async fn a_chain_back_into_a_full_pool_gets_an_overflow_container() {
    let app = calls_app().await;
    // ping → pong → ping → …: each has one container, held by the caller up the chain.
    let ping = app.function("ping").unwrap();
    assert_eq!(ping.remote::<u32>((6,)).await.unwrap(), 6);
    let stats = ping.stats();
    assert_eq!(stats.overflow_started, 3, "{stats:?}");
    assert_eq!(app.function("pong").unwrap().stats().overflow_started, 2);

    // The same for an async body that runs one input at a time.
    let ouroboros = app.function("ouroboros").unwrap();
    assert_eq!(ouroboros.remote::<u32>((4,)).await.unwrap(), 4);
    assert_eq!(ouroboros.stats().overflow_started, 4);
}

/// A spawn is not waited for by its caller: one that comes back to its own full pool queues
/// within the pool's limit (`max_containers` holds, as on Modal) instead of taking an overflow
/// container, and runs once the spawner is done.
#[tokio::test(flavor = "multi_thread")]
async fn a_spawn_back_into_a_full_pool_waits_within_its_limit() {
    let (host, app) = app_on(HostSettings::default(), "tests/guests/calls").await;
    let hatch = app.function("hatch").unwrap();
    let mut next = hatch.remote::<Option<String>>((4,)).await.unwrap();
    let mut hatched = 0;
    while let Some(id) = next {
        let call = FunctionCall::<Option<String>>::from_id(&host, &id).unwrap();
        next = call.get().await.unwrap();
        hatched += 1;
    }
    assert_eq!(hatched, 4);
    let stats = hatch.stats();
    assert_eq!(stats.overflow_started, 0, "{stats:?}");
    assert_eq!(stats.peak_containers, 1, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn runaway_recursion_stops_at_the_depth_limit_and_names_the_chain() {
    let app = App::load([guest("examples/faults")]).await.unwrap();
    let recurse = app.function("recurse").unwrap();
    assert_eq!(recurse.remote::<u32>((20,)).await.unwrap(), 20);
    let error = recurse.remote::<u32>((100,)).await.unwrap_err();
    // The body passes the error up as its own: it arrives as the user error of the top call.
    let Error::User(message) = &error else {
        panic!("{error}");
    };
    let depth = DEFAULT_MAX_CALL_DEPTH + 1;
    let chain = format!(
        "too deep: recurse ×{depth} ({depth} nested calls; the limit is {DEFAULT_MAX_CALL_DEPTH})"
    );
    assert_eq!(message, &chain);
}
