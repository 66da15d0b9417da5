//! Python guests (`guest-sdk/python`, built with componentize-py): the seed's program, every
//! call form of the SDK, errors as exception classes, the `max_inputs` rules on the pools'
//! counters, Python and Rust components calling each other, and the build's cache.

use fnhost::{App, CompileCache, Error};
use fnhost_tests::{four_at_once, guest, python_guest, workspace};
use serde_json::{Value, json};

/// The Python test app, `tests/guests-py/calls/app.py`.
async fn python_app() -> App {
    App::load([python_guest("tests/guests-py/calls/app.py")])
        .await
        .expect("the Python test app loads")
}

/// The Python test app and the Rust one (`tests/guests/calls`) in one app.
async fn mixed_app() -> App {
    App::load([
        python_guest("tests/guests-py/calls/app.py"),
        guest("tests/guests/calls"),
    ])
    .await
    .expect("the Python and Rust test apps load together")
}

/// Calls `function` with `args`, a JSON array of its arguments, and returns its JSON result.
async fn call(app: &App, function: &str, args: Value) -> Result<Value, Error> {
    let result = app
        .function(function)?
        .remote_raw(serde_json::to_vec(&args).unwrap())
        .await?;
    Ok(serde_json::from_slice(&result).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_result_that_cannot_be_encoded_fails_at_once_and_is_not_retried() {
    let app = python_app().await;
    match call(&app, "py_unencodable", json!([false])).await {
        Err(Error::Payload(message)) => {
            assert!(message.contains("cannot encode the result"), "{message}");
        }
        other => panic!("expected a payload error, got {other:?}"),
    }
    let runs = call(&app, "py_unencodable", json!([true])).await.unwrap();
    assert_eq!(runs, json!(1), "the body ran once, though `retries=2`");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_program_runs_as_written() {
    let app = App::load([python_guest("examples/hello-py/app.py")])
        .await
        .unwrap();
    let result: u32 = app
        .function("async_function")
        .unwrap()
        .remote(())
        .await
        .unwrap();
    assert_eq!(result, 420);
    // `main`: an `asyncio.gather` of 100 `myfunc.remote.aio()`.
    assert_eq!(app.run_entrypoint(Some("main")).await.unwrap(), 0);
    let myfunc = app.function("myfunc").unwrap().stats();
    assert!(
        myfunc.containers_started > 0 && myfunc.in_flight == 0,
        "{myfunc:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn python_callers_of_each_kind_call_python_callees_of_each_kind() {
    let app = python_app().await;
    for caller in [
        "py_blocking_caller",
        "py_async_caller",
        "py_async_caller_blocking_calls",
        "py_spawn_and_get",
    ] {
        let results = call(&app, caller, json!([5])).await.unwrap();
        assert_eq!(results, json!([6, 10]), "{caller}");
    }
    // And the host calls both kinds, through its async and blocking APIs.
    let blocking: u32 = app
        .function("py_blocking_callee")
        .unwrap()
        .remote((5,))
        .await
        .unwrap();
    let asynchronous: u32 = app
        .function("py_async_callee")
        .unwrap()
        .remote((5,))
        .await
        .unwrap();
    assert_eq!((blocking, asynchronous), (6, 10));
}

#[tokio::test(flavor = "multi_thread")]
async fn python_and_rust_call_each_other_both_ways_blocking_and_async() {
    let app = mixed_app().await;
    for caller in [
        "py_blocking_caller",
        "py_async_caller",
        "py_async_caller_blocking_calls",
        "py_spawn_and_get",
    ] {
        let results = call(&app, caller, json!([5, "rust"])).await.unwrap();
        assert_eq!(results, json!([6, 10]), "{caller} calling Rust");
    }
    for caller in [
        "blocking_caller_of_py",
        "async_caller_of_py",
        "async_caller_blocking_calls_of_py",
        "spawn_and_get_of_py",
    ] {
        let results = call(&app, caller, json!([5])).await.unwrap();
        assert_eq!(results, json!([6, 10]), "{caller} calling Python");
    }
    // A chain: Rust → Python → Rust (`blocking_caller_of_py` → ... is one hop; this is two).
    let chained = call(&app, "py_async_caller", json!([7, "rust"]))
        .await
        .unwrap();
    assert_eq!(chained, json!([8, 14]));
    assert!(
        app.function("blocking_callee")
            .unwrap()
            .stats()
            .containers_started
            > 0
    );
    assert!(
        app.function("py_blocking_callee")
            .unwrap()
            .stats()
            .containers_started
            > 0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn spawn_map_starmap_gather_and_local() {
    let app = python_app().await;
    assert_eq!(
        call(&app, "py_spawn_by_id", json!([5])).await.unwrap(),
        json!([true, 6])
    );
    assert_eq!(
        call(&app, "py_maps", json!([3])).await.unwrap(),
        json!([
            [1, 2, 3],
            ["s: 0", "s: 2", "s: 4"],
            ["total: 0", "total: 2", "total: 4"]
        ])
    );
    assert_eq!(
        call(&app, "py_maps_aio", json!([3])).await.unwrap(),
        json!([[0, 2, 4], ["total: 1", "total: 2", "total: 3"]])
    );
    assert_eq!(
        call(&app, "py_gather", json!([100])).await.unwrap(),
        json!(5050)
    );
    assert_eq!(
        call(&app, "py_gather_calls", json!([4])).await.unwrap(),
        json!([[1, 2, 3, 4], "gathered"])
    );
    assert_eq!(
        call(&app, "py_gather_calls_aio", json!([4])).await.unwrap(),
        json!([0, 2, 4, 6])
    );
    assert_eq!(
        call(&app, "py_local", json!([5])).await.unwrap(),
        json!([6, 10])
    );
    assert_eq!(
        app.function("py_local").unwrap().stats().containers_started,
        1,
        "local runs the bodies in the caller's instance"
    );
}

/// One round of `n` gates read as the calls finished: every input once, the first last.
fn assert_finish_order(results: &Value, n: u64) {
    let results: Vec<u64> = serde_json::from_value(results.clone()).unwrap();
    assert_eq!(
        results.last(),
        Some(&0),
        "the first input finishes last: {results:?}"
    );
    let mut sorted = results.clone();
    sorted.sort();
    assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "every input once");
}

#[tokio::test(flavor = "multi_thread")]
async fn map_variants_unordered_for_each_and_spawn_map() {
    let app = python_app().await;
    let blocking = call(&app, "py_gates_unordered", json!(["b", 12]))
        .await
        .unwrap();
    assert_finish_order(&blocking[0], 12);
    assert_finish_order(&blocking[1], 12);
    let aio = call(&app, "py_gates_unordered_aio", json!(["a", 12]))
        .await
        .unwrap();
    assert_finish_order(&aio, 12);
    let gate = app.function("py_gate").unwrap();
    assert_eq!(gate.stats().cancelled, 0);

    let taken = call(&app, "py_gates_abandoned", json!(["c", 5]))
        .await
        .unwrap();
    let mut taken: Vec<u64> = serde_json::from_value(taken).unwrap();
    taken.sort();
    assert_eq!(taken, [1, 2, 3, 4]);
    fnhost_tests::eventually("the waiting gate is cancelled", || {
        let stats = gate.stats();
        stats.cancelled == 1 && stats.in_flight == 0
    })
    .await;

    assert_eq!(
        call(&app, "py_for_each", json!([6, true])).await.unwrap(),
        json!([null, null])
    );
    let errors = call(&app, "py_for_each", json!([6, false])).await.unwrap();
    assert!(errors[0].as_str().unwrap().contains("odd 1"), "{errors}");
    assert!(errors[1].as_str().unwrap().contains("odd"), "{errors}");

    let ids = call(&app, "py_spawn_map_ids", json!([4])).await.unwrap();
    let mut outcomes = Vec::new();
    for id in ids.as_array().unwrap() {
        let call =
            fnhost::FunctionCall::<Value>::from_id(app.host(), id.as_str().unwrap()).unwrap();
        outcomes.push(call.get().await.map_err(|error| error.kind()));
    }
    let odd = Err(fnhost::ErrorKind::User);
    assert_eq!(outcomes, vec![Ok(json!(0)), odd.clone(), Ok(json!(2)), odd]);
}

#[tokio::test(flavor = "multi_thread")]
async fn batched_functions_gather_full_batches_and_fail_them_whole() {
    let app = python_app().await;
    let doubled = app.function("py_doubled_batch").unwrap();
    crate::batching::assert_batches_fail_whole(&doubled, "ValueError: a negative number").await;
    let stats = doubled.stats();
    assert_eq!((stats.batches, stats.batched_inputs), (3, 12));
    assert_eq!(
        call(&app, "py_call_batched", json!(["four"]))
            .await
            .unwrap(),
        json!([[1, 4], [2, 4]])
    );
    let lengths = app.function("py_lengths").unwrap().stats();
    assert_eq!((lengths.batches, lengths.batched_inputs), (2, 2));
}

#[tokio::test(flavor = "multi_thread")]
async fn keyword_arguments_bind_here_or_on_the_host() {
    let app = mixed_app().await;
    assert_eq!(
        call(&app, "py_keywords", json!([])).await.unwrap(),
        json!([
            "total: 3",
            "named: 3",
            "by name: 3",
            "rust: 5",
            "all named: 5"
        ])
    );
    // A default of a Python parameter left out by a Rust-style positional caller.
    assert_eq!(
        call(&app, "describe_sum_py", json!([1, 2])).await.unwrap(),
        json!("total: 3")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn exceptions_reach_callers_typed() {
    let app = python_app().await;
    let Err(Error::User(raised)) = call(&app, "py_raises", json!(["boom"])).await else {
        panic!("expected a user error");
    };
    let (summary, traceback) = raised.split_once(fnhost::TRACEBACK_MARK).unwrap();
    assert_eq!(summary, "ValueError: boom");
    assert!(traceback.contains("in py_raises\n"), "{traceback}");
    assert!(traceback.ends_with("ValueError: boom"), "{traceback}");
    // Raised on through a caller: both tracebacks, the callee's as a note below the caller's.
    let Err(Error::User(raised)) = call(&app, "py_raises_through", json!(["deep"])).await else {
        panic!("expected a user error");
    };
    let (summary, traceback) = raised.split_once(fnhost::TRACEBACK_MARK).unwrap();
    assert_eq!(summary, "ValueError: deep");
    let caller = traceback.find("in py_raises_through\n").expect(&raised);
    let note = traceback.find("Remote traceback:\n").expect(&raised);
    let callee = traceback.find("in py_raises\n").expect(&raised);
    assert!(caller < note && note < callee, "{traceback}");
    let kinds = call(&app, "py_error_kinds", json!([])).await.unwrap();
    let kinds: Vec<String> = serde_json::from_value(kinds).unwrap();
    let names: Vec<&str> = kinds
        .iter()
        .map(|kind| kind.split(':').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "NotFoundError",
            "InvalidError",
            "ValueError",
            "TimeoutError",
            "NotFoundError",
            "SerializationError",
            "InputCancellation",
            "ValueError|typed|True",
            "QuotaExceeded|over|True",
            "RemoteError|Picky|(1, 2)"
        ],
        "{kinds:?}"
    );
    assert!(kinds[2].ends_with("ValueError: bad input"), "{kinds:?}");
    assert_eq!(
        call(&app, "py_map_exceptions", json!([4])).await.unwrap(),
        json!([0, "RuntimeError", 2, "RuntimeError"])
    );
}

/// `with_options` from a Python guest: a shorter timeout on a function's and on a class's
/// handle ends a call its own timeout lets finish; `memory=` runs the calls in a pool of that
/// size (100 MiB fit the function's own containers, not those); `secrets=` and `volumes=`
/// give a function's or a class's containers other variables and a volume, as Modal's do;
/// `env=`, a bad mount point and a class's concurrency are refused.
#[tokio::test(flavor = "multi_thread")]
async fn with_options_override_a_calls_options_and_shape_its_containers() {
    let app = python_app().await;
    let outcomes = call(&app, "py_with_options", json!([])).await.unwrap();
    assert_eq!(
        outcomes,
        json!([
            "timeout",
            "timeout",
            0,
            100,
            outcomes[4],
            1,
            100,
            outcomes[7],
            1,
            [null, "yes", "kept", "yes"],
            "FileNotFoundError",
            "on a volume",
            "with_options(env=...)",
            "a mount point is an absolute path such as `/data`, not 'data'",
            "with_concurrency(...)"
        ])
    );
    for small in [&outcomes[4], &outcomes[7]] {
        assert!(
            matches!(small.as_str(), Some("RemoteError" | "TrappedError")),
            "{outcomes}"
        );
    }
}

/// `@fnhost.concurrent(max_inputs=100)` on an `async def`: 100 inputs inside a barrier at
/// once, on one instance.
#[tokio::test(flavor = "multi_thread")]
async fn async_max_inputs_interleave_on_one_instance() {
    let app = python_app().await;
    assert_eq!(
        call(&app, "py_fan_out", json!([100])).await.unwrap(),
        json!(100)
    );
    let stats = app.function("py_barrier").unwrap().stats();
    assert_eq!(stats.peak_in_flight, 100);
    assert_eq!(stats.peak_containers, 1);
    assert_eq!(stats.peak_in_flight_per_container, 100);
}

#[tokio::test(flavor = "multi_thread")]
async fn blocking_max_inputs_run_on_separate_instances() {
    let app = python_app().await;
    let (instances, stats) = four_at_once(&app, "py_blocking_worker").await;
    assert_eq!(instances.len(), 4, "each input had an instance of its own");
    assert_eq!(stats.peak_containers, 4);
    assert_eq!(stats.peak_in_flight_per_container, 1);
    let (instances, stats) = four_at_once(&app, "py_async_worker").await;
    assert_eq!(instances.len(), 1, "all inputs ran on the same instance");
    assert_eq!(stats.peak_containers, 1);
    assert_eq!(stats.peak_in_flight_per_container, 4);
}

/// `time.sleep` inside an `async def` holds the instance: its two inputs are given to one
/// instance at once, yet never run side by side.
#[tokio::test(flavor = "multi_thread")]
async fn a_blocking_call_in_an_async_def_blocks_its_instance() {
    let app = python_app().await;
    let function = app.function("py_async_blocked").unwrap();
    let calls: Vec<_> = (0..2)
        .map(|_| function.spawn::<u32>((200,)).unwrap())
        .collect();
    for call in calls {
        assert_eq!(
            call.get().await.unwrap(),
            1,
            "another input ran beside a blocked one"
        );
    }
    let stats = function.stats();
    assert_eq!(stats.peak_containers, 1);
    assert_eq!(stats.peak_in_flight_per_container, 2);
}

/// A build is found again while nothing it is built from changed, and made again when an
/// imported module changes.
#[test]
fn builds_are_cached_by_the_content_of_the_sources() {
    let dir = std::env::temp_dir().join(format!("fnhost-python-cache-{}", std::process::id()));
    let cache = CompileCache::in_dir(dir.join("cache"));
    let app_dir = dir.join("app");
    std::fs::create_dir_all(&app_dir).unwrap();
    std::fs::write(
        app_dir.join("app.py"),
        "import fnhost\nimport helper\napp = fnhost.App()\n\n@app.function()\ndef f():\n    return helper.VALUE\n",
    )
    .unwrap();
    std::fs::write(app_dir.join("helper.py"), "VALUE = 1\n").unwrap();
    let file = app_dir.join("app.py");
    let first = fnhost::source::build_python(&file, &cache).unwrap();
    let modified = std::fs::metadata(first.component())
        .unwrap()
        .modified()
        .unwrap();
    let again = fnhost::source::build_python(&file, &cache).unwrap();
    assert_eq!(again.component(), first.component());
    assert_eq!(
        std::fs::metadata(again.component())
            .unwrap()
            .modified()
            .unwrap(),
        modified,
        "the second build wrote the component again"
    );
    std::fs::write(app_dir.join("helper.py"), "VALUE = 2\n").unwrap();
    let changed = fnhost::source::build_python(&file, &cache).unwrap();
    assert_ne!(changed.component(), first.component());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let value: u32 = runtime.block_on(async {
        let app = App::load([changed.component()]).await.unwrap();
        app.function("f").unwrap().remote(()).await.unwrap()
    });
    assert_eq!(value, 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_build_error_is_one_message_naming_the_line() {
    let dir = std::env::temp_dir().join(format!("fnhost-python-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("app.py");
    std::fs::write(&file, "import fnhost\nimport no_such_module_here\n").unwrap();
    let error = fnhost::source::build_python(&file, &CompileCache::disabled())
        .unwrap_err()
        .to_string();
    assert!(
        error.ends_with(
            "ModuleNotFoundError: No module named 'no_such_module_here' (app.py, line 2)"
        ),
        "{error}"
    );
    assert!(!error.contains('\n'), "{error}");
    std::fs::write(
        &file,
        "import fnhost\napp = fnhost.App()\n\n@app.function()\ndef f():\n    return 1\n\nVALUE = f.remote()\n",
    )
    .unwrap();
    let error = fnhost::source::build_python(&file, &CompileCache::disabled())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("RuntimeError: fnhost calls cannot run at module level")
            && error.ends_with("(app.py, line 8)"),
        "{error}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let missing = fnhost::source::build_python(
        &workspace().join("no/such/app.py"),
        &CompileCache::disabled(),
    );
    assert!(
        missing
            .unwrap_err()
            .to_string()
            .contains("no such Python file")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn options_web_endpoints_and_parameter_types_reach_the_host() {
    let app = python_app().await;
    let web = app.function("py_web_sum").unwrap().info().clone();
    let endpoint = web.web.expect("py_web_sum is a web endpoint");
    assert_eq!(
        (endpoint.method.as_str(), endpoint.label.as_str()),
        ("POST", "sum")
    );
    assert!(!endpoint.requires_auth);
    assert_eq!(web.params, ["a", "label"]);
    assert_eq!(web.param_types, ["int", "str"]);
    let barrier = app.function("py_barrier").unwrap().info().clone();
    assert_eq!(
        (barrier.config.max_inputs, barrier.config.max_containers),
        (100, 1),
        "@fnhost.concurrent and @app.function options"
    );
    let stuck = app.function("py_stuck").unwrap().info().clone();
    assert_eq!(stuck.config.timeout, std::time::Duration::from_secs(1));
}
