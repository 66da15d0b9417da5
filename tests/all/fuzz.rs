//! Property tests over the paths that take untrusted bytes, component loading and call
//! payloads: whatever they are given, they answer with an error (or a result), never a host
//! panic, and the app goes on serving.

use fnhost::{App, CompileCache, Error};
use fnhost_tests::guest;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Loads `bytes` as a component (uncached, so every case is compiled for real).
fn load(runtime: &tokio::runtime::Runtime, bytes: &[u8], name: &str) -> Result<App, String> {
    let path = std::env::temp_dir().join(format!("fnhost-fuzz-{}-{name}.wasm", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let loaded = runtime.block_on(App::load_with([&path], &CompileCache::disabled()));
    std::fs::remove_file(&path).unwrap();
    loaded.map_err(|error| error.to_string())
}

#[test]
fn arbitrary_bytes_never_load() {
    let runtime = runtime();
    // Anything, and anything behind the component preamble (so the parser goes further).
    let preamble = b"\0asm\x0d\0\x01\0".to_vec();
    let bytes = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..1024),
        prop::collection::vec(any::<u8>(), 0..1024)
            .prop_map(move |tail| [preamble.clone(), tail].concat()),
    ];
    runner(256)
        .run(&bytes, |bytes| {
            let error = load(&runtime, &bytes, "bytes").err();
            prop_assert!(error.is_some(), "random bytes loaded");
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_damaged_component_fails_to_load_or_loads_whole() {
    let runtime = runtime();
    let hello = std::fs::read(guest("examples/hello")).unwrap();
    let len = hello.len();
    // Cut it short, or overwrite a few bytes anywhere.
    let damage = prop_oneof![
        (0..len).prop_map(Damage::Truncate),
        prop::collection::vec((0..len, any::<u8>()), 1..8).prop_map(Damage::Overwrite),
    ];
    runner(24)
        .run(&damage, |damage| {
            let mut bytes = hello.clone();
            match damage {
                Damage::Truncate(at) => bytes.truncate(at),
                Damage::Overwrite(writes) => {
                    for (at, byte) in writes {
                        bytes[at] = byte;
                    }
                }
            }
            // A byte in a name or a constant may leave a valid component: then it must work.
            if let Ok(app) = load(&runtime, &bytes, "damaged") {
                for function in app.functions() {
                    let _ = runtime.block_on(
                        app.function(&function.name)
                            .unwrap()
                            .remote_raw(b"[]".to_vec()),
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}

#[derive(Debug, Clone)]
enum Damage {
    Truncate(usize),
    Overwrite(Vec<(usize, u8)>),
}

/// Any JSON value, a few levels deep.
fn json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u32>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        ".{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
        ]
    })
}

#[test]
fn any_payload_gets_a_result_or_bad_arguments() {
    let runtime = runtime();
    let app = runtime
        .block_on(App::load([guest("tests/guests/calls")]))
        .unwrap();
    // describe_sum(a: u32, b: u32, label: String)
    let function = app.function("describe_sum").unwrap();
    let payloads = prop_oneof![
        json().prop_map(|value| serde_json::to_vec(&value).unwrap()),
        (any::<u32>(), any::<u32>(), ".{0,12}").prop_map(|args| serde_json::to_vec(&args).unwrap()),
        prop::collection::vec(any::<u8>(), 0..64),
    ];
    runner(512)
        .run(&payloads, |payload| {
            match runtime.block_on(function.remote_raw(payload.clone())) {
                Ok(result) => {
                    let decoded: Result<String, _> = serde_json::from_slice(&result);
                    prop_assert!(decoded.is_ok(), "a result that is not the function's");
                }
                Err(Error::BadArguments(_)) => {}
                Err(other) => prop_assert!(false, "{payload:?} gave {other}"),
            }
            Ok(())
        })
        .unwrap();
    // Nothing trapped: the pool still has the container it started with.
    let stats = function.stats();
    assert_eq!(stats.containers_started, 1, "{stats:?}");
    let sum: String = runtime.block_on(function.remote((1, 2, "sum"))).unwrap();
    assert!(sum.contains('3'), "{sum}");
}
