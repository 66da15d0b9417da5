//! The seed's programming model end to end: every caller kind against every callee kind,
//! the 420 chain, spawn / get, map, `local`, several components in one app.

use fnhost::{App, blocking};
use fnhost_tests::{calls_app, guest};

#[tokio::test(flavor = "multi_thread")]
async fn host_async_api_calls_blocking_and_async_functions() {
    let app = calls_app().await;
    let blocking: u32 = app
        .function("blocking_callee")
        .unwrap()
        .remote((5,))
        .await
        .unwrap();
    let asynchronous: u32 = app
        .function("async_callee")
        .unwrap()
        .remote((5,))
        .await
        .unwrap();
    assert_eq!((blocking, asynchronous), (6, 10));
}

#[test]
fn host_blocking_api_calls_blocking_and_async_functions() {
    let app = blocking::App::load([guest("tests/guests/calls")]).unwrap();
    let blocking: u32 = app
        .function("blocking_callee")
        .unwrap()
        .remote((7,))
        .unwrap();
    let asynchronous: u32 = app.function("async_callee").unwrap().remote((7,)).unwrap();
    assert_eq!((blocking, asynchronous), (8, 14));
}

#[tokio::test(flavor = "multi_thread")]
async fn guest_bodies_call_both_kinds_blocking_and_async() {
    let app = calls_app().await;
    for caller in [
        "blocking_caller",
        "async_caller",
        "async_caller_blocking_calls",
        "spawn_and_get",
    ] {
        let results: (u32, u32) = app.function(caller).unwrap().remote((5,)).await.unwrap();
        assert_eq!(results, (6, 10), "{caller}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn several_arguments_and_local_calls() {
    let app = calls_app().await;
    let sum: String = app
        .function("describe_sum")
        .unwrap()
        .remote((2, 3, "total"))
        .await
        .unwrap();
    assert_eq!(sum, "total: 5");
    let local: (u32, u32) = app
        .function("local_calls")
        .unwrap()
        .remote((5,))
        .await
        .unwrap();
    assert_eq!(local, (6, 10));
    assert_eq!(
        app.function("local_calls")
            .unwrap()
            .stats()
            .containers_started,
        1,
        "local runs the bodies in the caller's instance"
    );
    assert_eq!(
        app.function("blocking_callee")
            .unwrap()
            .stats()
            .containers_started,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seeds_420_chain_from_host_and_guest() {
    let hello = guest("examples/hello");
    let app = App::load([&hello]).await.unwrap();
    let answer: u32 = app
        .function("async_function")
        .unwrap()
        .remote(())
        .await
        .unwrap();
    assert_eq!(answer, 420);
    app.run_entrypoint(Some("blocking_main")).await.unwrap();
    app.run_entrypoint(Some("main")).await.unwrap();
    assert!(app.function("myfunc").unwrap().stats().containers_started >= 1);
    assert_eq!(
        app.function("blocking_function")
            .unwrap()
            .stats()
            .containers_started,
        1
    );
}

#[test]
fn blocking_caller_gets_420_from_the_async_function() {
    let app = blocking::App::load([guest("examples/hello")]).unwrap();
    let answer: u32 = app.function("async_function").unwrap().remote(()).unwrap();
    assert_eq!(answer, 420);
}

#[tokio::test(flavor = "multi_thread")]
async fn map_and_spawn_from_the_host() {
    let app = calls_app().await;
    let callee = app.function("async_callee").unwrap();
    let doubled: Vec<u32> = callee.map((0..50u32).map(|x| (x,))).await.unwrap();
    assert_eq!(doubled, (0..50).map(|x| x * 2).collect::<Vec<_>>());

    let call = app
        .function("blocking_callee")
        .unwrap()
        .spawn::<u32>((41,))
        .unwrap();
    assert_eq!(call.get().await.unwrap(), 42);

    let halves: Vec<Result<u32, fnhost::Error>> = app
        .function("fallible")
        .unwrap()
        .map_results((0..6u32).map(|x| (x,)))
        .await;
    assert_eq!(halves.len(), 6);
    for (x, result) in halves.iter().enumerate() {
        match result {
            Ok(half) => assert_eq!(*half as usize, x / 2),
            Err(fnhost::Error::User(message)) => assert_eq!(message, &format!("odd number {x}")),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        app.function("fallible")
            .unwrap()
            .map::<_, u32>((0..6u32).map(|x| (x,)))
            .await
            .is_err(),
        "map fails on the first error"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn map_from_guest_bodies() {
    let app = calls_app().await;
    let blocking: Vec<u32> = app
        .function("blocking_map")
        .unwrap()
        .remote((20,))
        .await
        .unwrap();
    assert_eq!(blocking, (1..=20).collect::<Vec<_>>());
    let asynchronous: Vec<u32> = app
        .function("async_map")
        .unwrap()
        .remote((20,))
        .await
        .unwrap();
    assert_eq!(asynchronous, (0..20).map(|x| x * 2).collect::<Vec<_>>());
    let results: Vec<Result<u32, String>> = app
        .function("map_results_of_fallible")
        .unwrap()
        .remote((4,))
        .await
        .unwrap();
    assert_eq!(
        results,
        vec![
            Ok(0),
            Err("odd number 1".into()),
            Ok(1),
            Err("odd number 3".into())
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn components_loaded_together_call_each_other_by_name() {
    let app = App::load([guest("tests/guests/linked"), guest("examples/hello")])
        .await
        .unwrap();
    let answer: u32 = app
        .function("answer_from_hello")
        .unwrap()
        .remote(())
        .await
        .unwrap();
    assert_eq!(answer, 420);
    app.run_entrypoint(Some("linked_main")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn describes_functions_and_entrypoints() {
    let app = App::load([guest("examples/hello")]).await.unwrap();
    let names: Vec<&str> = app.functions().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["async_function", "blocking_function", "myfunc"]);
    let entrypoints: Vec<&str> = app.entrypoints().map(|f| f.name.as_str()).collect();
    assert_eq!(entrypoints, ["blocking_main", "main"]);
    let async_function = app.function("async_function").unwrap();
    assert_eq!(async_function.info().kind, fnhost::BodyKind::Async);
    assert_eq!(async_function.info().config.max_inputs, 1);
    let calls = calls_app().await;
    let barrier = calls.function("barrier").unwrap();
    assert_eq!(barrier.info().config.max_inputs, 100);
    assert_eq!(barrier.info().config.max_containers, 1);
    assert_eq!(
        calls.function("describe_sum").unwrap().info().params,
        ["a", "b", "label"]
    );
}

/// One wire form for arguments: the value itself for one parameter, a tuple for several, from
/// every caller. The guest calls `greet` through a `from_name` handle taking a `String`.
#[tokio::test(flavor = "multi_thread")]
async fn one_parameter_takes_the_value_itself_from_every_caller() {
    let app = calls_app().await;
    let greet = app.function("greet").unwrap();
    assert_eq!(greet.remote::<String>("pear").await.unwrap(), "hello, pear");
    assert_eq!(
        greet.remote::<String>(("pear",)).await.unwrap(),
        "hello, pear"
    );
    let by_name = app.function("greet_by_name").unwrap();
    assert_eq!(
        by_name.remote::<(String, String)>("pear").await.unwrap(),
        ("hello, pear".to_owned(), "hello, pear".to_owned())
    );
    // A single parameter that is itself a tuple is wrapped once more.
    let pair_sum = app.function("pair_sum").unwrap();
    assert_eq!(pair_sum.remote::<u32>(((3, 4),)).await, Ok(7));
    let both = app.function("pair_sum_both_ways").unwrap();
    assert_eq!(both.remote::<(u32, u32)>((2, 5)).await, Ok((7, 7)));
}
