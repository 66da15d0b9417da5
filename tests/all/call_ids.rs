//! Spawned calls kept by id, and calls across deployed apps: a call spawned by one function or
//! caller is collected or cancelled by another through its id; `APP/FUNCTION` reaches an app
//! deployed on the same host, from the host API and from guests; a redeployed app's spawned
//! calls finish and stay readable; one app's guests never find another's calls.

use fnhost::{Error, FunctionCall, Host, HostSettings};
use fnhost_tests::{app_on, eventually, guest};

/// Long enough that only cancellation or the test's end stops the call.
const LONG_MS: u64 = 60_000;

async fn host_with(max_retained_calls: usize) -> (Host, fnhost::App) {
    app_on(
        HostSettings {
            max_retained_calls,
            ..HostSettings::default()
        },
        "tests/guests/calls",
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spawned_call_is_found_by_id_and_read_many_times() {
    let (host, app) = host_with(100).await;
    let call = app.function("slow").unwrap().spawn::<u64>((5,)).unwrap();
    let id = call.id().to_string();
    assert!(id.starts_with("fc-") && id.len() == 35, "{id}");
    // The first handle is dropped: the call goes on, kept by the host.
    drop(call);
    for _ in 0..2 {
        let again = FunctionCall::<u64>::from_id(&host, &id).unwrap();
        assert_eq!(again.function(), "slow");
        assert_eq!(again.get().await.unwrap(), 5);
    }
    // Recorded by the call's own task just after the result is handed out.
    eventually("the call is recorded", || {
        host.retained_stats().finished == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gather_collects_spawned_calls_in_order_from_the_host_and_a_guest() {
    let (_host, app) = host_with(100).await;
    let slow = app.function("slow").unwrap();
    let calls: Vec<FunctionCall<u64>> = [30, 1, 10]
        .into_iter()
        .map(|ms| slow.spawn((ms,)).unwrap())
        .collect();
    assert_eq!(FunctionCall::gather(calls).await.unwrap(), [30, 1, 10]);
    let failing = [slow.spawn::<u64>((1,)).unwrap(), {
        let call = slow.spawn::<u64>((LONG_MS,)).unwrap();
        call.cancel();
        call
    }];
    assert!(matches!(
        FunctionCall::gather(failing).await,
        Err(Error::Cancelled(_))
    ));
    let gathered: (Vec<u32>, Vec<u32>) = app
        .function("gather_spawned")
        .unwrap()
        .remote((3,))
        .await
        .unwrap();
    assert_eq!(gathered, (vec![1, 2, 3], vec![0, 2, 4]));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_and_malformed_ids_are_not_found() {
    let (host, _app) = host_with(100).await;
    for id in [
        "fc-00000000000000000000000000000000",
        "nonsense",
        "",
        &"x".repeat(10_000),
    ] {
        let error = FunctionCall::<u64>::from_id(&host, id).err().unwrap();
        assert!(matches!(error, Error::NotFound(_)), "{id}: {error}");
        assert!(error.message().len() < 300, "the message stays short");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_collects_or_cancels_a_call_by_id_and_the_host_reads_a_guests() {
    let (host, app) = host_with(100).await;
    let collect = app.function("collect").unwrap();

    // Spawned by the host, collected by a guest.
    let call = app.function("slow").unwrap().spawn::<u64>((7,)).unwrap();
    let collected: u64 = collect
        .remote((call.id().to_string(), false))
        .await
        .unwrap();
    assert_eq!(collected, 7);

    // Spawned by a guest (which returns at once), read by the host.
    let id: String = app
        .function("spawn_slow")
        .unwrap()
        .remote((3,))
        .await
        .unwrap();
    assert_eq!(
        FunctionCall::<u64>::from_id(&host, &id)
            .unwrap()
            .get()
            .await
            .unwrap(),
        3
    );

    // Spawned by a guest, cancelled by another input through its id.
    let slow = app.function("slow").unwrap();
    let cancelled_before = slow.stats().cancelled;
    let id: String = app
        .function("spawn_slow")
        .unwrap()
        .remote((LONG_MS,))
        .await
        .unwrap();
    let error = collect.remote::<u64>((id.clone(), true)).await.unwrap_err();
    assert!(
        matches!(error, Error::User(ref message) if message.contains("cancelled")),
        "{error}"
    );
    eventually("the cancelled input stops", || {
        slow.stats().cancelled == cancelled_before + 1
    })
    .await;
    let after = FunctionCall::<u64>::from_id(&host, &id)
        .unwrap()
        .get()
        .await;
    assert!(matches!(after, Err(Error::Cancelled(_))), "{after:?}");

    // An unknown id, from a guest.
    let error = collect
        .remote::<u64>(("fc-00000000000000000000000000000000".to_owned(), false))
        .await
        .unwrap_err();
    assert!(error.message().contains("no call"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_oldest_finished_calls_are_forgotten_first() {
    let (host, app) = host_with(2).await;
    let slow = app.function("slow").unwrap();
    let mut ids = Vec::new();
    for ms in 1..=3u64 {
        let call = slow.spawn::<u64>((ms,)).unwrap();
        ids.push(call.id().to_string());
        call.get().await.unwrap();
        // Recorded by the call's own task just after the result is handed out.
        eventually("the call is recorded", || {
            host.retained_stats().running == 0
        })
        .await;
    }
    assert!(FunctionCall::<u64>::from_id(&host, &ids[0]).is_err());
    for id in &ids[1..] {
        FunctionCall::<u64>::from_id(&host, id).unwrap();
    }
    assert_eq!(host.retained_stats().finished, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn app_qualified_names_reach_another_deployed_app() {
    let (host, calls) = host_with(100).await;
    let hello = host.app().load([guest("examples/hello")]).await.unwrap();
    assert!(host.deploy("hello", hello).unwrap().is_none());
    assert!(host.deploy("../etc", calls.clone()).is_err());

    // From the host API.
    let answer: u32 = host
        .function("hello/async_function")
        .unwrap()
        .remote(())
        .await
        .unwrap();
    assert_eq!(answer, 420);
    // From a guest of another app, blocking and async.
    let both: (u32, u32) = calls
        .function("call_by_name")
        .unwrap()
        .remote(("hello/async_function".to_owned(),))
        .await
        .unwrap();
    assert_eq!(both, (420, 420));
    // Through the app's own handle too.
    let answer: u32 = calls
        .function("hello/async_function")
        .unwrap()
        .remote(())
        .await
        .unwrap();
    assert_eq!(answer, 420);

    for (name, says) in [
        (
            "nowhere/async_function",
            "no app `nowhere` is deployed (deployed: hello)",
        ),
        ("hello/nope", "no function `nope`"),
        ("hello", "expected APP/FUNCTION"),
    ] {
        let error = host.function(name).err().unwrap();
        assert!(matches!(error, Error::NotFound(_)), "{name}: {error}");
        assert!(error.message().contains(says), "{name}: {error}");
    }
    let error = calls
        .function("call_by_name")
        .unwrap()
        .remote::<(u32, u32)>(("nowhere/f".to_owned(),))
        .await
        .unwrap_err();
    assert!(error.message().contains("no app `nowhere`"), "{error}");

    assert!(host.undeploy("hello").is_some());
    assert!(host.function("hello/async_function").is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redeployed_apps_spawned_calls_finish_and_stay_readable() {
    let (host, first) = host_with(100).await;
    host.deploy("calls", first.clone()).unwrap();
    let slow = host.function("calls/slow").unwrap();
    let old_pool = slow.clone();
    let call = slow.spawn::<u64>((300,)).unwrap();
    let id = call.id().to_string();
    drop((call, slow, first));

    let second = host
        .app()
        .load([guest("tests/guests/calls")])
        .await
        .unwrap();
    let replaced = host.deploy("calls", second).unwrap();
    assert!(replaced.is_some());
    drop(replaced);
    // New calls go to the new version's pools.
    let new_slow = host.function("calls/slow").unwrap();
    assert_eq!(new_slow.remote::<u64>((1,)).await.unwrap(), 1);
    assert_eq!(new_slow.stats().containers_started, 1);
    // The spawned call finishes on the old version.
    let result = FunctionCall::<u64>::from_id(&host, &id)
        .unwrap()
        .get()
        .await;
    assert_eq!(result.unwrap(), 300);
    assert_eq!(old_pool.stats().containers_started, 1);
}

/// Apps apart: a call spawned by one deployed app (through its functions or its guest) is
/// found by that app's guests, of every version deployed under its name, and by the host's
/// API; another app's guest finds nothing, exactly as for an unknown id.
#[tokio::test(flavor = "multi_thread")]
async fn a_guest_finds_only_its_own_apps_calls_by_id() {
    let (host, one) = host_with(100).await;
    let two = host
        .app()
        .load([guest("tests/guests/calls")])
        .await
        .unwrap();
    host.deploy("one", one).unwrap();
    host.deploy("two", two).unwrap();
    let spawned = host
        .function("one/slow")
        .unwrap()
        .spawn::<u64>((5,))
        .unwrap();
    let id = spawned.id().to_string();
    assert_eq!(spawned.app(), Some("one"));
    let collect = |app: &str| {
        let collect = host.function(&format!("{app}/collect")).unwrap();
        let id = id.clone();
        async move { collect.remote::<u64>((id, false)).await }
    };
    let refused = collect("two").await.unwrap_err();
    let unknown = host
        .function("two/collect")
        .unwrap()
        .remote::<u64>((fnhost::CallId::mint().to_string(), false))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), unknown.kind(), "{refused} / {unknown}");
    assert!(refused.message().contains("no call"), "{refused}");
    assert_eq!(collect("one").await.unwrap(), 5);
    // A guest's own spawn is its app's too: found by its app, not by the other.
    let guest_spawned: String = host
        .function("two/spawn_slow")
        .unwrap()
        .remote((1,))
        .await
        .unwrap();
    let found = FunctionCall::<u64>::from_id(&host, &guest_spawned).unwrap();
    assert_eq!(found.app(), Some("two"));
    let from_one = host
        .function("one/collect")
        .unwrap()
        .remote::<u64>((guest_spawned.clone(), false))
        .await;
    assert!(from_one.is_err(), "app one read app two's call");
    // A new version under the same name is the same app.
    let again = host
        .app()
        .load([guest("tests/guests/calls")])
        .await
        .unwrap();
    host.deploy("one", again).unwrap();
    assert_eq!(collect("one").await.unwrap(), 5);
}

/// `current_function_call_id()` and `current_input_id()` name the call a body serves, in
/// both SDKs: a blocking body, and async bodies interleaved on one container (each reads its
/// own id after waiting while the others ran, and so does a task a Python body starts).
#[tokio::test(flavor = "multi_thread")]
async fn a_body_reads_the_id_of_the_call_it_serves() {
    use serde_json::{Value, json};
    let app = fnhost::App::load([
        fnhost_tests::python_guest("tests/guests-py/calls/app.py"),
        guest("tests/guests/calls"),
    ])
    .await
    .unwrap();
    let input_of = |id: &str| format!("in-{}", id.strip_prefix("fc-").unwrap());
    for function in ["own_ids", "py_own_ids"] {
        let call = app.function(function).unwrap().spawn::<Value>(()).unwrap();
        let id = call.id().to_string();
        assert_eq!(call.get().await.unwrap(), json!([id, input_of(&id)]));
    }
    for (function, extra) in [("own_ids_aio", 0), ("py_own_ids_aio", 1)] {
        let aio = app.function(function).unwrap();
        // Later calls wait less: they start after the first and finish before it.
        let calls: Vec<FunctionCall<Vec<Value>>> = (0..8u64)
            .map(|i| aio.spawn((80 - 10 * i,)).unwrap())
            .collect();
        for call in calls {
            let id = call.id().to_string();
            let seen = call.get().await.unwrap();
            assert_eq!(seen, vec![json!(id); 2 + extra], "{function}");
        }
        // Its options aim at twenty inputs a container: the eight interleaved on one.
        assert_eq!(aio.stats().containers_started, 1, "{function}");
    }
}
