//! Every error kind, from a host caller and from a guest caller, and trap isolation.

use fnhost::{App, Error, ErrorKind, LoadError, blocking};
use fnhost_tests::{calls_app, guest};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_caller_sees_each_error_kind() {
    let app = calls_app().await;
    let kinds: Vec<String> = app
        .function("error_kinds")
        .unwrap()
        .remote(())
        .await
        .unwrap();
    let expected = [
        ("NotFound", "no_such_function"),
        ("BadArguments", "not a number"),
        ("User", "odd number 3"),
        ("Trapped", "kaboom"),
        ("Timeout", "slow_aio"),
        ("Cancelled", "slow_aio"),
    ];
    assert_eq!(kinds.len(), expected.len());
    for (kind, (variant, detail)) in kinds.iter().zip(expected) {
        assert!(kind.starts_with(variant), "{kind} is not {variant}");
        assert!(kind.contains(detail), "{kind} does not mention {detail}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_caller_sees_each_error_kind() {
    let app = calls_app().await;
    let missing = app.function("no_such_function").err().unwrap();
    assert!(matches!(missing, Error::NotFound(_)));
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert_eq!(missing.kind().to_string(), "not-found");
    assert!(missing.to_string().ends_with(missing.message()));

    let callee = app.function("blocking_callee").unwrap();
    match callee.remote::<u32>(("seven",)).await {
        Err(Error::BadArguments(message)) => assert!(message.contains("expected u32"), "{message}"),
        other => panic!("expected bad arguments, got {other:?}"),
    }
    match callee.remote::<u32>((1, 2)).await {
        Err(Error::BadArguments(_)) => {}
        other => panic!("expected bad arguments for two arguments, got {other:?}"),
    }
    match callee.remote::<String>((1,)).await {
        Err(Error::Payload(_)) => {}
        other => panic!("expected a payload error decoding a number as a string, got {other:?}"),
    }

    let fallible = app.function("fallible").unwrap();
    let odd = fallible.remote::<u32>((5,)).await;
    assert_eq!(odd, Err(Error::User("odd number 5".into())));
    assert_eq!(odd.unwrap_err().kind(), ErrorKind::User);

    match app
        .function("boom")
        .unwrap()
        .remote::<u32>(("the message",))
        .await
    {
        Err(Error::Trapped(message)) => {
            assert!(message.contains("the message"), "{message}");
            assert!(message.contains("panicked"), "{message}");
        }
        other => panic!("expected a trap, got {other:?}"),
    }

    let slow = app.function("slow_aio").unwrap();
    let mut call = slow.spawn::<u64>((300,)).unwrap();
    assert!(matches!(
        call.get_timeout(Duration::from_millis(10)).await,
        Err(Error::Timeout(_))
    ));
    assert_eq!(
        call.get().await,
        Ok(300),
        "a timed-out wait leaves the call going"
    );

    let call = slow.spawn::<u64>((10_000,)).unwrap();
    call.cancel();
    assert!(matches!(call.get().await, Err(Error::Cancelled(_))));
}

#[test]
fn the_blocking_api_reports_errors_too() {
    let app = blocking::App::load([guest("tests/guests/calls")]).unwrap();
    assert!(matches!(app.function("nope"), Err(Error::NotFound(_))));
    let boom = app.function("boom").unwrap();
    assert!(matches!(boom.remote::<u32>(("x",)), Err(Error::Trapped(_))));
    let mut call = app
        .function("slow")
        .unwrap()
        .spawn::<u64>((10_000,))
        .unwrap();
    assert!(matches!(
        call.get_timeout(Duration::from_millis(10)),
        Err(Error::Timeout(_))
    ));
    call.cancel();
    assert!(matches!(call.get(), Err(Error::Cancelled(_))));
}

/// A trap ends only its own container: calls running on other containers finish, the pool
/// replaces the trapped container, and later calls succeed.
#[tokio::test(flavor = "multi_thread")]
async fn a_trap_takes_down_only_its_own_container() {
    let app = calls_app().await;
    let slow = app.function("slow").unwrap();
    let survivors: Vec<_> = (0..3).map(|_| slow.spawn::<u64>((400,)).unwrap()).collect();

    let boom = app.function("boom").unwrap();
    for round in 0..3 {
        let result = boom.remote::<u32>((format!("round {round}"),)).await;
        assert!(
            matches!(result, Err(Error::Trapped(ref m)) if m.contains(&format!("round {round}")))
        );
    }
    assert_eq!(
        boom.stats().containers_started,
        3,
        "each trap replaced its container"
    );

    for survivor in survivors {
        assert_eq!(survivor.get().await, Ok(400));
    }
    let callee = app.function("blocking_callee").unwrap();
    assert_eq!(callee.remote::<u32>((1,)).await, Ok(2));
}

/// The inputs an async container is running when it traps all fail with the trap; inputs
/// queued behind them run on the replacement container.
#[tokio::test(flavor = "multi_thread")]
async fn a_trap_fails_the_inputs_it_held_and_the_queue_moves_on() {
    let app = calls_app().await;
    let function = app.function("sleep_then_maybe_panic").unwrap();
    // max_inputs = 4 on one container: three sleepers and one that panics share the instance.
    let held: Vec<_> = [(2_000, false), (2_000, false), (2_000, false), (50, true)]
        .into_iter()
        .map(|args| function.spawn::<u64>(args).unwrap())
        .collect();
    let queued: Vec<_> = (0..2)
        .map(|_| function.spawn::<u64>((10, false)).unwrap())
        .collect();
    for call in held {
        match call.get().await {
            Err(Error::Trapped(message)) => assert!(message.contains("panicking after 50 ms")),
            other => panic!("expected the shared trap, got {other:?}"),
        }
    }
    for call in queued {
        assert_eq!(call.get().await, Ok(10));
    }
    let stats = function.stats();
    assert_eq!(stats.containers_started, 2, "one replacement");
    assert_eq!(stats.peak_containers, 1);
}

/// A load error as a program shows it: its message, then each cause it carries.
fn with_causes(error: LoadError) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(&error);
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_components_fail_to_load_with_a_clear_message() {
    let dir = std::env::temp_dir().join(format!("fnhost-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let not_wasm = dir.join("not.wasm");
    std::fs::write(&not_wasm, b"this is not wasm").unwrap();
    let error = App::load([&not_wasm])
        .await
        .err()
        .map(with_causes)
        .expect("not wasm fails");
    assert!(
        error.contains("not a valid WebAssembly component"),
        "{error}"
    );

    let core_module = dir.join("core.wasm");
    std::fs::write(&core_module, b"\0asm\x01\0\0\0").unwrap();
    let error = App::load([&core_module])
        .await
        .err()
        .map(with_causes)
        .expect("a core module fails");
    assert!(error.contains("core WebAssembly module"), "{error}");

    let missing = dir.join("missing.wasm");
    let error = App::load([&missing])
        .await
        .err()
        .map(with_causes)
        .expect("a missing file fails");
    assert!(error.contains("cannot read"), "{error}");

    let plain = guest("tests/guests/plain");
    let error = App::load([&plain])
        .await
        .err()
        .map(with_causes)
        .expect("a plain component fails");
    assert!(error.contains("is not an fnhost app"), "{error}");
    assert!(
        error.contains("fnhost:runtime/guest"),
        "names the missing export: {error}"
    );

    let stale = guest("tests/guests/stale");
    let error = App::load([&stale])
        .await
        .err()
        .map(with_causes)
        .expect("a component of another contract version fails");
    assert!(
        error.contains("built against fnhost:runtime@0.1.0")
            && error.contains("implements fnhost:runtime@0.11.0"),
        "names both versions: {error}"
    );

    let hello = guest("examples/hello");
    let truncated = dir.join("truncated.wasm");
    let bytes = std::fs::read(&hello).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let error = App::load([&truncated])
        .await
        .err()
        .map(with_causes)
        .expect("a truncated component fails");
    assert!(
        error.contains("not a valid WebAssembly component"),
        "{error}"
    );

    let error = App::load([&hello, &hello])
        .await
        .err()
        .map(with_causes)
        .expect("duplicates fail");
    assert!(error.contains("defined by both"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Dropping the app (and every handle) leaves its spawned calls to finish: the host keeps them
/// by id, and each keeps its app until it ends, as a replaced app version drains.
#[tokio::test(flavor = "multi_thread")]
async fn dropping_the_app_lets_its_spawned_calls_finish() {
    let app = calls_app().await;
    let worker = app.function("async_worker").unwrap();
    // max_inputs = 4 on one container: four run, two queue.
    let calls: Vec<_> = (0..6)
        .map(|_| worker.spawn::<u64>((300,)).unwrap())
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while worker.stats().in_flight < 4 {
        assert!(
            std::time::Instant::now() < deadline,
            "the inputs never started"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    drop(worker);
    drop(app);
    // Running and queued ones finish (each returns its instance's id).
    for call in calls {
        call.get().await.expect("the call finishes");
    }
}

/// Arguments and results are capped at 16 MiB, with an error that says so.
#[tokio::test(flavor = "multi_thread")]
async fn oversized_payloads_fail_with_a_clear_error() {
    let app = calls_app().await;
    let big = "x".repeat(fnhost::MAX_PAYLOAD + 1);
    match app
        .function("describe_sum")
        .unwrap()
        .remote::<String>((1, 2, big))
        .await
    {
        Err(Error::BadArguments(message)) => {
            assert!(message.contains("payload limit"), "{message}")
        }
        other => panic!("expected bad arguments, got {other:?}"),
    }
    let big_result = app.function("big_result").unwrap();
    assert_eq!(
        big_result.remote::<String>((1,)).await.map(|s| s.len()),
        Ok(1 << 20)
    );
    match big_result.remote::<String>((17,)).await {
        Err(Error::User(message)) => assert!(message.contains("payload limit"), "{message}"),
        other => panic!("expected a user error, got {other:?}"),
    }
}
