//! Dicts and queues (Modal's `Dict` and `Queue`) from guests of both SDKs: every method in its
//! blocking and async forms, atomic puts raced by containers, items each got exactly once by
//! consumers that time out, ids handed between functions, and one dict shared by a Rust and a
//! Python app. Each test has a host (and so a store) of its own; every test but the damaged
//! store's runs again (`on_a_cluster`) on a host that joined a cluster of its own, a real
//! `nats-server`, keeping its state on JetStream.

use fnhost::{App, Host, HostSettings, SecretValues, StorageSettings};
use fnhost_cluster::{Cluster, ClusterSettings};
use fnhost_tests::nats::NatsServer;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;

in_both_sdks!(
    rust: "tests/guests/storage", python: "tests/guests-py/storage/app.py";
    every_dict_method_works_in_both_forms,
    every_queue_method_works,
    of_racing_containers_exactly_one_claims_a_key,
    every_item_is_got_once_by_consumers_that_time_out,
    an_ephemeral_dict_is_found_by_id_from_another_function,
    a_missing_dict_is_not_found_and_a_bad_name_invalid,
    a_function_gets_the_secrets_it_names_and_no_other_does,
    a_damaged_store_fails_each_call_that_needs_it_and_nothing_else,
);

on_a_cluster_too!(
    rust: "tests/guests/storage", python: "tests/guests-py/storage/app.py";
    every_dict_method_works_in_both_forms,
    every_queue_method_works,
    of_racing_containers_exactly_one_claims_a_key,
    every_item_is_got_once_by_consumers_that_time_out,
    an_ephemeral_dict_is_found_by_id_from_another_function,
    a_missing_dict_is_not_found_and_a_bad_name_invalid,
    a_function_gets_the_secrets_it_names_and_no_other_does,
);

#[tokio::test(flavor = "multi_thread")]
async fn rust_and_python_apps_share_a_dict_on_a_cluster() {
    on_nats(rust_and_python_apps_share_a_dict_here()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn python_values_json_cannot_carry_travel_pickled_on_a_cluster() {
    on_nats(python_values_json_cannot_carry_travel_pickled_here()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_item_reaches_one_getter_despite_cancelled_gets_on_a_cluster() {
    on_nats(every_item_reaches_one_getter_despite_cancelled_gets_here()).await;
}

tokio::task_local! {
    /// The NATS server the test's hosts join; unset: each keeps its own store.
    static NATS: String;
}

/// Runs `test` with its hosts joined to a `nats-server` of its own.
pub(crate) async fn on_nats(test: impl Future<Output = ()>) {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(dir.path());
    NATS.scope(nats.url(), test).await;
}

/// The NATS server of the test running now (inside [`on_nats`]).
pub(crate) fn nats_url() -> String {
    NATS.with(String::clone)
}

/// A test's host, and the cluster it joined when the test runs on one.
pub(crate) struct TestHost {
    host: Host,
    _cluster: Option<Cluster>,
}

impl std::ops::Deref for TestHost {
    type Target = Host;

    fn deref(&self) -> &Host {
        &self.host
    }
}

/// A host of its own (so a store of its own, or a cluster's state), with fewer slots than the
/// default: many tests hold a host at once, and each host reserves its slots' address space.
async fn own_host() -> TestHost {
    own_host_on(StorageSettings::default()).await
}

/// [`own_host`] with `storage` settings.
pub(crate) async fn own_host_on(storage: StorageSettings) -> TestHost {
    let host = own_host_with(storage);
    let Ok(url) = NATS.try_with(String::clone) else {
        return TestHost {
            host,
            _cluster: None,
        };
    };
    let settings = ClusterSettings::new(url, &host);
    let cluster = Cluster::join(host.clone(), settings).await.unwrap();
    TestHost {
        host,
        _cluster: Some(cluster),
    }
}

/// A host of its own with `storage` settings, keeping its own store.
fn own_host_with(storage: StorageSettings) -> Host {
    Host::new(HostSettings {
        max_instances: 300,
        storage,
        ..HostSettings::default()
    })
    .unwrap()
}

async fn on_own_host(component: PathBuf) -> (TestHost, App) {
    let host = own_host().await;
    let app = host.app().load([component]).await.unwrap();
    (host, app)
}

/// Calls `function` with `args` (a tuple of the arguments, `()` for none).
pub(crate) async fn call(app: &App, function: &str, args: impl serde::Serialize) -> Value {
    app.function(function)
        .unwrap()
        .remote::<Value>(args)
        .await
        .unwrap_or_else(|error| panic!("{function}: {error}"))
}

async fn every_dict_method_works_in_both_forms(component: PathBuf) {
    let (_host, app) = on_own_host(component).await;
    let expected = json!([
        null,
        "di-",
        true,
        false,
        1,
        "fallback",
        null,
        true,
        false,
        [1, 2],
        "KeyError",
        false,
        1,
        "none",
        "KeyError",
        3,
        ["x", "y", "z"],
        [1, 2, 3],
        [["x", 1], ["y", 2], ["z", 3]],
        0
    ]);
    assert_eq!(call(&app, "dict_exercise", ()).await, expected);
    assert_eq!(call(&app, "dict_exercise_aio", ()).await, expected);
}

async fn every_queue_method_works(component: PathBuf) {
    let (_host, app) = on_own_host(component).await;
    let expected = json!([
        4,
        6,
        [1, 2],
        null,
        [3, 4],
        2,
        0,
        2,
        0,
        "Empty",
        "InvalidError"
    ]);
    assert_eq!(call(&app, "queue_exercise", ()).await, expected);
}

async fn of_racing_containers_exactly_one_claims_a_key(component: PathBuf) {
    let (host, app) = on_own_host(component).await;
    let put = app.function("dict_put").unwrap();
    let racers = (0..100).map(|who| {
        let put = put.clone();
        async move {
            put.remote::<bool>(("locks", "lock", who, true))
                .await
                .unwrap()
        }
    });
    let won = futures::future::join_all(racers).await;
    assert_eq!(won.iter().filter(|won| **won).count(), 1, "{won:?}");
    assert!(
        put.stats().containers_started > 1,
        "the puts raced on several containers"
    );
    // The winner's value is the one kept, as the host library reads it.
    let locks = host.storage().unwrap().dict("locks", false).await.unwrap();
    let kept: u32 =
        serde_json::from_slice(&locks.get(b"\"lock\"").await.unwrap().unwrap()).unwrap();
    assert!(kept < 100);
    // Async puts race the same way on one container's tasks.
    let put_aio = app.function("dict_put_aio").unwrap();
    let racers = (0..50).map(|who| {
        let put = put_aio.clone();
        async move {
            put.remote::<bool>(("locks", "other", who, true))
                .await
                .unwrap()
        }
    });
    let won = futures::future::join_all(racers).await;
    assert_eq!(won.iter().filter(|won| **won).count(), 1);
}

async fn every_item_is_got_once_by_consumers_that_time_out(component: PathBuf) {
    const PRODUCERS: u64 = 20;
    const PER_PRODUCER: u64 = 500;
    let (_host, app) = on_own_host(component).await;
    let consumers: Vec<_> = (0..8)
        .map(|consumer| {
            let function = if consumer % 2 == 0 {
                "queue_drain"
            } else {
                "queue_drain_aio"
            };
            app.function(function)
                .unwrap()
                .spawn::<Vec<u64>>(("work", 0.2))
                .unwrap()
        })
        .collect();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|producer| {
            let put = app.function("queue_put").unwrap();
            async move {
                let items: Vec<u64> = (0..PER_PRODUCER)
                    .map(|n| producer * PER_PRODUCER + n)
                    .collect();
                put.remote::<usize>(("work", items)).await.unwrap()
            }
        })
        .collect();
    let producing = tokio::spawn(futures::future::join_all(producers));
    let mut got: Vec<u64> = Vec::new();
    for consumer in consumers {
        got.extend(consumer.get().await.unwrap());
    }
    // Consumers that gave up while producers still waited for room (a partition holds 5 000
    // items) leave the rest: drains go on until every producer is done, then one more.
    loop {
        let done = producing.is_finished();
        let rest = call(&app, "queue_drain", ("work", 0.2)).await;
        got.extend(serde_json::from_value::<Vec<u64>>(rest).unwrap());
        if done {
            break;
        }
    }
    producing.await.unwrap();
    let distinct: BTreeSet<u64> = got.iter().copied().collect();
    assert_eq!(got.len(), distinct.len(), "an item was got twice");
    assert_eq!(
        distinct,
        (0..PRODUCERS * PER_PRODUCER).collect::<BTreeSet<_>>()
    );
}

async fn an_ephemeral_dict_is_found_by_id_from_another_function(component: PathBuf) {
    let (host, app) = on_own_host(component).await;
    assert_eq!(call(&app, "ephemeral_shared", ()).await, json!("7"));
    // Once its maker is done, the ephemeral dict is gone: no dict is left behind.
    let store = host.storage().unwrap();
    assert!(
        store
            .names(fnhost::ObjectKind::Dict)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_missing_dict_is_not_found_and_a_bad_name_invalid(component: PathBuf) {
    let (_host, app) = on_own_host(component).await;
    let get = app.function("dict_get").unwrap();
    let missing = get
        .remote::<Value>(("nothing-here", "k"))
        .await
        .unwrap_err();
    assert!(
        missing.message().contains("no dict named `nothing-here`"),
        "{missing}"
    );
    let bad = get.remote::<Value>(("a/b", "k")).await.unwrap_err();
    assert!(bad.message().contains("is not a name"), "{bad}");
}

async fn a_function_gets_the_secrets_it_names_and_no_other_does(component: PathBuf) {
    let host = own_host().await;
    let app = host.app().load([component]).await.unwrap();
    let length = app.function("secret_length").unwrap();
    // Not created yet: the call fails naming it (the container cannot start).
    let missing = length
        .remote::<Option<usize>>(("API_KEY",))
        .await
        .unwrap_err();
    assert!(
        missing
            .message()
            .contains("no secret named `fnhost-test-api`"),
        "{missing}"
    );
    let value = "sk-live-0123456789abcdef";
    let values = SecretValues::new([("API_KEY".to_owned(), value.to_owned())]).unwrap();
    let store = host.storage().unwrap();
    store
        .create_secret("fnhost-test-api", values, false)
        .await
        .unwrap();
    assert_eq!(
        length.remote::<Option<usize>>(("API_KEY",)).await.unwrap(),
        Some(value.len())
    );
    let other = app.function("env_length").unwrap();
    assert_eq!(
        other.remote::<Option<usize>>(("API_KEY",)).await.unwrap(),
        None
    );
    // What the host shows of the function names the secret, never its value.
    let shown = format!(
        "{:?} {}",
        length.info(),
        serde_json::to_string(length.info()).unwrap()
    );
    assert!(
        shown.contains("fnhost-test-api") && !shown.contains(value),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_and_python_apps_share_a_dict() {
    rust_and_python_apps_share_a_dict_here().await;
}

async fn rust_and_python_apps_share_a_dict_here() {
    let host = own_host().await;
    let rust = host
        .app()
        .load([fnhost_tests::guest("tests/guests/storage")])
        .await
        .unwrap();
    let python = host
        .app()
        .load([fnhost_tests::python_guest("tests/guests-py/storage/app.py")])
        .await
        .unwrap();
    // Keys are compared by their JSON value: an object key written by one is found by the other.
    let key = json!({"user": 7, "kind": "score"});
    assert_eq!(
        call(&rust, "dict_put", ("shared", &key, [1, 2])).await,
        json!(true)
    );
    assert_eq!(
        call(&python, "dict_get", ("shared", &key)).await,
        json!([1, 2])
    );
    assert_eq!(
        call(&python, "dict_put", ("shared", "py", json!({"a": null}))).await,
        json!(true)
    );
    assert_eq!(
        call(&rust, "dict_get", ("shared", "py")).await,
        json!({"a": null})
    );
    call(&python, "dict_write_json", "shared").await;
    assert_eq!(
        call(&rust, "dict_get", ("shared", "from-python")).await,
        json!({"n": 1, "list": [1, 2]})
    );
    let summary = json!({"len": 3, "items": [
        ["from-python", {"n": 1, "list": [1, 2]}], ["py", {"a": null}], [key, [1, 2]]
    ]});
    assert_eq!(call(&rust, "dict_summary", "shared").await, summary);
    assert_eq!(
        call(&python, "dict_summary", "shared").await["len"],
        json!(3)
    );
    // Items put by one are got by the other.
    call(
        &python,
        "queue_put",
        ("handoff", json!([1, "two", {"three": 3}])),
    )
    .await;
    assert_eq!(
        call(&rust, "queue_drain", ("handoff", 0.05)).await,
        json!([1, "two", {"three": 3}])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn python_values_json_cannot_carry_travel_pickled() {
    python_values_json_cannot_carry_travel_pickled_here().await;
}

async fn python_values_json_cannot_carry_travel_pickled_here() {
    let host = own_host().await;
    let python = host
        .app()
        .load([fnhost_tests::python_guest("tests/guests-py/storage/app.py")])
        .await
        .unwrap();
    let when = "datetime.datetime(2026, 1, 2, 3, 4, 5)";
    assert_eq!(
        call(&python, "pickled_roundtrip", ()).await,
        json!([when, [1, 2, 3]])
    );
    assert_eq!(
        call(&python, "calls_returns_datetime", ()).await,
        json!(when)
    );
    // Anyone else sees what the value is, marked.
    let seen = call(&python, "returns_datetime", ()).await;
    assert_eq!(seen["type"], json!("datetime.datetime"), "{seen}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_function_gets_its_inline_secret() {
    let host = own_host().await;
    let values = SecretValues::new([("API_KEY".to_owned(), "k".to_owned())]).unwrap();
    let store = host.storage().unwrap();
    store
        .create_secret("fnhost-test-api", values, false)
        .await
        .unwrap();
    let python = host
        .app()
        .load([fnhost_tests::python_guest("tests/guests-py/storage/app.py")])
        .await
        .unwrap();
    assert_eq!(
        call(&python, "secret_length", ("INLINE_MODE",)).await,
        json!("inline-on".len())
    );
    assert_eq!(
        call(&python, "env_length", ("INLINE_MODE",)).await,
        json!(null)
    );
    let listed = serde_json::to_string(python.function("secret_length").unwrap().info()).unwrap();
    assert!(
        listed.contains("INLINE_MODE") && !listed.contains("inline-on"),
        "{listed}"
    );
}

async fn a_damaged_store_fails_each_call_that_needs_it_and_nothing_else(component: PathBuf) {
    let state = tempfile::tempdir().unwrap();
    let garbage: Vec<u8> = (0..64 << 10).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(state.path().join(fnhost::STORE_FILE), &garbage).unwrap();
    let host = Host::new(HostSettings {
        max_instances: 300,
        state_dir: Some(state.path().to_owned()),
        ..HostSettings::default()
    })
    .unwrap();
    let app = host.app().load([component]).await.unwrap();
    let get = app.function("dict_get").unwrap();
    for _ in 0..2 {
        // Each call that needs the store says why it cannot have it; the host serves on.
        let failed = get.remote::<Value>(("scores", "k")).await.unwrap_err();
        assert!(
            failed.message().contains("cannot open the store"),
            "{failed}"
        );
        assert!(failed.message().contains(fnhost::STORE_FILE), "{failed}");
        assert_eq!(call(&app, "env_length", "HOME").await, Value::Null);
    }
    // The file is left as it was, for its owner to look at.
    assert_eq!(
        std::fs::read(state.path().join(fnhost::STORE_FILE)).unwrap(),
        garbage
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_item_reaches_one_getter_despite_cancelled_gets() {
    every_item_reaches_one_getter_despite_cancelled_gets_here().await;
}

/// 10 000 items put by 8 producers, got by 8 consumers whose every third get is cancelled
/// after 50 µs and whose others time out after 20 ms: each item is got once, in the end.
async fn every_item_reaches_one_getter_despite_cancelled_gets_here() {
    const PRODUCERS: u64 = 8;
    const PER_PRODUCER: u64 = 1250;
    let host = own_host().await;
    let queue = host.storage().unwrap().queue("work", true).await.unwrap();
    let producers = (0..PRODUCERS).map(|producer| {
        let queue = queue.clone();
        tokio::spawn(async move {
            for chunk in (0..PER_PRODUCER).collect::<Vec<_>>().chunks(50) {
                let items = chunk
                    .iter()
                    .map(|n| (producer * PER_PRODUCER + n).to_string().into_bytes());
                queue.put(items.collect(), None, 3600, None).await.unwrap();
            }
        })
    });
    let consumers = (0..8u64).map(|consumer| {
        let queue = queue.clone();
        tokio::spawn(async move {
            let mut got = Vec::new();
            let mut idle = 0;
            for round in 0u64.. {
                let get = queue.get(3, None, Some(std::time::Duration::from_millis(20)));
                let items = if (round + consumer) % 3 == 0 {
                    let cancelled = std::time::Duration::from_micros(50);
                    match tokio::time::timeout(cancelled, get).await {
                        Ok(items) => items.unwrap(),
                        Err(_) => continue,
                    }
                } else {
                    get.await.unwrap()
                };
                idle = if items.is_empty() { idle + 1 } else { 0 };
                got.extend(items);
                if idle == 10 {
                    break;
                }
            }
            got
        })
    });
    let consumers: Vec<_> = consumers.collect();
    futures::future::try_join_all(producers).await.unwrap();
    let mut seen = Vec::new();
    for consumer in consumers {
        seen.extend(consumer.await.unwrap());
    }
    // Items given back by cancelled gets come again; a wait for one ends once all are seen.
    let all = (PRODUCERS * PER_PRODUCER) as usize;
    while seen.len() < all {
        let wait = Some(std::time::Duration::from_secs(60));
        let rest = queue.get(1000, None, wait).await.unwrap();
        if rest.is_empty() {
            let held = queue.len(None, true).await.unwrap();
            panic!(
                "{} items never came; the queue holds {held}",
                all - seen.len()
            );
        }
        seen.extend(rest);
    }
    let numbers: Vec<u64> = seen
        .iter()
        .map(|item| serde_json::from_slice(item).unwrap())
        .collect();
    let distinct: BTreeSet<u64> = numbers.iter().copied().collect();
    assert_eq!(numbers.len(), distinct.len(), "an item was delivered twice");
    assert_eq!(distinct, (0..PRODUCERS * PER_PRODUCER).collect());
    let late = queue.get(1, None, Some(std::time::Duration::from_millis(200)));
    assert!(late.await.unwrap().is_empty(), "an item came twice");
}

/// A queue's gets go on after the NATS server lost the partition's consumer (deleted, or
/// evicted by a racing make): the get that hears no consumer answer makes it again.
#[tokio::test(flavor = "multi_thread")]
async fn a_queue_gets_on_after_the_server_lost_its_consumer() {
    on_nats(async {
        let host = own_host().await;
        let queue = host.storage().unwrap().queue("lost", true).await.unwrap();
        let wait = Some(std::time::Duration::from_secs(10));
        queue
            .put(vec![b"1".to_vec()], None, 3600, None)
            .await
            .unwrap();
        assert_eq!(queue.get(1, None, wait).await.unwrap(), [b"1".to_vec()]);
        let jetstream = async_nats::jetstream::new(async_nats::connect(nats_url()).await.unwrap());
        let stream = format!("fnhost-queue-{}", queue.id().trim_start_matches("qu-"));
        let stream = jetstream.get_stream(stream).await.unwrap();
        assert!(stream.delete_consumer("take-d").await.unwrap().success);
        queue
            .put(vec![b"2".to_vec()], None, 3600, None)
            .await
            .unwrap();
        assert_eq!(queue.get(1, None, wait).await.unwrap(), [b"2".to_vec()]);
    })
    .await;
}

/// Puts of many items at once, side by side, all land on a cluster: together they send more
/// items than the NATS client lets wait for their acknowledgements (5 000), and a put that held
/// some of those places while waiting for more once stalled every put of the host for good.
#[tokio::test(flavor = "multi_thread")]
async fn side_by_side_puts_past_the_clients_ack_window_all_land_on_a_cluster() {
    const PUTTERS: usize = 8;
    const PER_PUT: usize = 2_500;
    on_nats(async {
        let host = own_host().await;
        let queue = host.storage().unwrap().queue("wide", true).await.unwrap();
        let putting = (0..PUTTERS).map(|putter| {
            let queue = queue.clone();
            let items = (0..PER_PUT).map(|n| n.to_string().into_bytes()).collect();
            tokio::spawn(async move {
                let partition = format!("p{putter}");
                queue.put(items, Some(&partition), 3600, None).await
            })
        });
        let putting = futures::future::join_all(putting);
        // A bound for a stall (the puts take a second or two), not a measure.
        let put = tokio::time::timeout(std::time::Duration::from_secs(120), putting).await;
        for done in put.expect("the puts stalled") {
            done.unwrap().unwrap();
        }
        for putter in 0..PUTTERS {
            let partition = format!("p{putter}");
            let held = queue.len(Some(&partition), false).await.unwrap();
            assert_eq!(held, PER_PUT as u64, "partition {partition}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn typed_handles_of_the_host_library_share_what_functions_keep() {
    typed_handles_of_the_host_library_share_what_functions_keep_here().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn typed_handles_of_the_host_library_share_what_functions_keep_on_a_cluster() {
    on_nats(typed_handles_of_the_host_library_share_what_functions_keep_here()).await;
}

/// The host library's `TypedDict` and `TypedQueue` read what a Python function wrote and the
/// other way round; a pickled Python value fails naming its type.
async fn typed_handles_of_the_host_library_share_what_functions_keep_here() {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Point {
        n: u32,
        list: Vec<u32>,
    }
    let host = own_host().await;
    let python = host
        .app()
        .load([fnhost_tests::python_guest("tests/guests-py/storage/app.py")])
        .await
        .unwrap();
    call(&python, "dict_write_json", "typed").await;
    let storage = host.storage().unwrap();
    let dict = storage.dict("typed", false).await.unwrap();
    let points = dict.typed::<String, Point>();
    let wrote = Point {
        n: 1,
        list: vec![1, 2],
    };
    assert_eq!(
        points.get(&"from-python".into()).await.unwrap(),
        Some(wrote)
    );
    assert!(
        points
            .put_if_absent(&"rust".into(), &Point { n: 2, list: vec![] })
            .await
            .unwrap()
    );
    assert!(
        !points
            .put_if_absent(&"rust".into(), &Point { n: 3, list: vec![] })
            .await
            .unwrap()
    );
    assert_eq!(
        call(&python, "dict_get", ("typed", "rust")).await,
        json!({"n": 2, "list": []})
    );
    assert_eq!(points.items().await.unwrap().len(), 2);
    let pickled = br#"{"$fnhost.pickle": "gASV", "type": "datetime.datetime"}"#.to_vec();
    dict.put(br#""when""#, pickled, false).await.unwrap();
    let refused = points.get(&"when".into()).await.unwrap_err();
    assert!(
        refused.to_string().contains("`datetime.datetime`"),
        "{refused}"
    );

    let queue = storage
        .queue("typed-work", true)
        .await
        .unwrap()
        .typed::<u64>();
    queue.put_many(&[1, 2, 3], None, None).await.unwrap();
    assert_eq!(
        call(&python, "queue_drain", ("typed-work", 0.1)).await,
        json!([1, 2, 3])
    );
    call(&python, "queue_put", ("typed-work", json!([7]))).await;
    assert_eq!(
        queue
            .get(Some(std::time::Duration::from_secs(5)))
            .await
            .unwrap(),
        Some(7)
    );
}

/// The blocking twins, on a blocking app's runtime.
#[test]
fn blocking_typed_handles_keep_and_give_back() {
    let builder = own_host_with(StorageSettings::default()).app();
    let app =
        fnhost::blocking::App::load_from(builder, [fnhost_tests::guest("tests/guests/storage")])
            .unwrap();
    let scores = app.dict::<String, u32>("scores", true).unwrap();
    scores.put(&"alice".into(), &3).unwrap();
    assert!(!scores.put_if_absent(&"alice".into(), &4).unwrap());
    assert_eq!(scores.get(&"alice".into()).unwrap(), Some(3));
    assert_eq!(scores.items().unwrap(), [("alice".to_owned(), 3)]);
    let read = app.function("dict_get").unwrap();
    assert_eq!(read.remote::<u32>(("scores", "alice")).unwrap(), 3);
    let jobs = app.queue::<u32>("jobs", true).unwrap();
    jobs.put(&5, None).unwrap();
    assert_eq!(jobs.len(None).unwrap(), 1);
    assert_eq!(jobs.get(None).unwrap(), Some(5));
}

/// With the NATS server down, each state operation of a cluster host fails with `unavailable`
/// naming NATS, from a function and from the host library; once it is back, what was
/// acknowledged before is there and the host serves on.
#[tokio::test(flavor = "multi_thread")]
async fn nats_down_fails_each_state_call_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut nats = NatsServer::start(dir.path());
    let url = nats.url();
    let test = async {
        let host = own_host().await;
        let python = host
            .app()
            .load([fnhost_tests::python_guest("tests/guests-py/storage/app.py")])
            .await
            .unwrap();
        call(&python, "dict_put", ("kept", "k", "before", false)).await;
        let dict = host.storage().unwrap().dict("kept", false).await.unwrap();
        nats.stop();
        let failed = dict.get(br#""k""#).await.unwrap_err();
        assert!(
            matches!(failed, fnhost::StorageError::Unavailable(_)),
            "{failed}"
        );
        assert!(failed.to_string().contains("NATS"), "{failed}");
        let get = python.function("dict_get").unwrap();
        let refused = get.remote::<Value>(("kept", "k")).await.unwrap_err();
        assert!(refused.message().contains("NATS"), "{refused}");
        nats.start_again();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            match get.remote::<Value>(("kept", "k")).await {
                Ok(value) => {
                    assert_eq!(value, json!("before"));
                    break;
                }
                Err(error) => assert!(std::time::Instant::now() < deadline, "never back: {error}"),
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    };
    NATS.scope(url, test).await;
}
