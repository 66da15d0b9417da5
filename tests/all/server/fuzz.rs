//! Arbitrary requests — methods, paths (with encoded slashes, dots, NULs, invalid UTF-8),
//! media types, bodies — always get an answer: a success, or the API's JSON error. Never a
//! hang, a dropped connection or a panic; and the server serves afterwards.

use super::{TestServer, host_settings};
use proptest::prelude::*;
use reqwest::{Method, StatusCode, header};
use serde_json::Value;
use std::time::Duration;

/// Path segments, from the API's own words to what a path should never be.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("v1".to_owned()),
        Just("apps".to_owned()),
        Just("hello".to_owned()),
        Just("functions".to_owned()),
        Just("blocking_function".to_owned()),
        Just("async_function".to_owned()),
        Just("call".to_owned()),
        Just("spawn".to_owned()),
        Just("map".to_owned()),
        Just("logs".to_owned()),
        Just("calls".to_owned()),
        Just("components".to_owned()),
        Just(format!("fc-{}", "0".repeat(32))),
        Just("0".repeat(64)),
        Just("..%2F..".to_owned()),
        Just("%00".to_owned()),
        Just("%FF".to_owned()),
        Just("%2e%2e".to_owned()),
        Just("a%2Fb".to_owned()),
        "[a-zA-Z0-9_%.-]{0,12}",
    ]
}

fn request() -> impl Strategy<Value = (String, String, Option<&'static str>, Vec<u8>)> {
    let method = prop_oneof![
        Just("GET".to_owned()),
        Just("POST".to_owned()),
        Just("PUT".to_owned()),
        Just("DELETE".to_owned()),
        Just("PATCH".to_owned()),
        Just("HEAD".to_owned()),
        Just("OPTIONS".to_owned()),
        "[A-Z]{1,8}",
    ];
    let path = (
        proptest::collection::vec(segment(), 0..8),
        proptest::option::of("[a-z]{1,6}=[a-z0-9%]{0,6}"),
    )
        .prop_map(|(segments, query)| {
            let mut path = format!("/{}", segments.join("/"));
            if let Some(query) = query {
                path.push('?');
                path.push_str(&query);
            }
            path
        });
    let media = proptest::option::of(prop_oneof![
        Just("application/json"),
        Just("application/x-ndjson"),
        Just("application/wasm"),
        Just("text/plain"),
    ]);
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        Just(b"null".to_vec()),
        Just(b"[]".to_vec()),
        Just(b"[1, 2]".to_vec()),
        Just(b"{\"components\": []}".to_vec()),
    ];
    (method, path, media, body)
}

/// A multi-threaded runtime for a proptest body to block on.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// `cases` cases, none remembered between runs.
fn cases(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Sends `request`: its status and body, or why there was none within 30 s.
fn answer(
    runtime: &tokio::runtime::Runtime,
    request: reqwest::RequestBuilder,
) -> Result<(StatusCode, bytes::Bytes), String> {
    runtime.block_on(async {
        let response = tokio::time::timeout(Duration::from_secs(30), request.send())
            .await
            .map_err(|_| "no answer within 30 s".to_owned())?
            .map_err(|error| format!("no answer: {error}"))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| format!("body: {error}"))?;
        Ok((status, bytes))
    })
}

/// Checks that `server` still serves, and stops it.
fn still_serving(runtime: &tokio::runtime::Runtime, server: TestServer) {
    runtime.block_on(async {
        let (status, _) = server.get("/healthz").await;
        assert_eq!(status, StatusCode::OK);
        server.stop().await;
    });
}

#[test]
fn arbitrary_requests_get_an_answer() {
    let runtime = runtime();
    let server = runtime.block_on(async {
        let server = TestServer::start_with(host_settings(), |_| {}).await;
        server.deploy("hello", &["examples/hello"]).await;
        server
    });
    proptest!(cases(200), |((method, path, media, body) in request())| {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = server.request(method.clone(), &path).body(body);
        if let Some(media) = media {
            request = request.header(header::CONTENT_TYPE, media);
        }
        let (status, bytes) = answer(&runtime, request).map_err(|error| {
            TestCaseError::fail(format!("{method} {path}: {error}"))
        })?;
        if !status.is_success() && method != Method::HEAD {
            let error: Value = serde_json::from_slice(&bytes).map_err(|_| {
                TestCaseError::fail(format!(
                    "{method} {path}: {status} with {:?}",
                    String::from_utf8_lossy(&bytes)
                ))
            })?;
            prop_assert!(error["error"]["kind"].is_string(), "{method} {path}: {error}");
            prop_assert!(error["error"]["message"].is_string(), "{method} {path}: {error}");
        }
    });
    still_serving(&runtime, server);
}

/// JSON values from the ordinary to what no field should take: numbers past every range
/// (`1e19` seconds, `u64::MAX + 1`, negatives, fractions), long and odd strings, nesting.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![
            Just(1e19),
            Just(1.8446744073709552e19),
            Just(-1.0),
            Just(0.0),
            Just(0.5),
            Just(f64::MAX),
            Just(1e-300),
        ]
        .prop_map(Value::from),
        "[ -~]{0,16}".prop_map(Value::from),
        Just(Value::from("x".repeat(5000))),
        Just(Value::from("/../../etc/passwd")),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// An object with some of `fields` (and now and then one no body takes), each holding any
/// value.
fn typed_body(fields: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let field = prop_oneof![
        20 => proptest::sample::select(fields),
        1 => Just("unknown"),
    ];
    proptest::collection::btree_map(field, value(), 0..4).prop_map(|fields| {
        Value::Object(
            fields
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect(),
        )
    })
}

/// The endpoints that take a typed JSON body, with its fields (`packages` left out of the
/// sandbox's: it would have pip fetch whatever names come up).
const TYPED: [(&str, &str, &[&str]); 9] = [
    (
        "PUT",
        "/v1/apps/fuzzed",
        &["components", "allow_http", "env", "dirs", "options"],
    ),
    (
        "POST",
        "/v1/sandboxes",
        &[
            "app",
            "command",
            "timeout",
            "idle_timeout",
            "workdir",
            "env",
            "secrets",
            "volumes",
            "cpu",
            "memory",
            "cpu_time",
        ],
    ),
    ("POST", "/v1/tokens", &["app"]),
    (
        "POST",
        "/v1/dicts/fuzzed/put",
        &["key", "value", "skip_if_exists"],
    ),
    ("POST", "/v1/dicts/fuzzed/get", &["key"]),
    (
        "POST",
        "/v1/queues/fuzzed/put",
        &["items", "partition", "partition_ttl", "timeout"],
    ),
    (
        "POST",
        "/v1/queues/fuzzed/get",
        &["n", "partition", "timeout"],
    ),
    ("POST", "/v1/queues/fuzzed/clear", &["partition", "all"]),
    ("POST", "/v1/apps/hello/run", &["entrypoint"]),
];

/// A request to one of [`TYPED`]'s endpoints, or a call of `hello`'s function with any
/// arguments.
fn typed_request() -> impl Strategy<Value = (&'static str, &'static str, Value)> {
    let typed = (0..TYPED.len()).prop_flat_map(|at| {
        let (method, path, fields) = TYPED[at];
        typed_body(fields).prop_map(move |body| (method, path, body))
    });
    let call = value().prop_map(|args| {
        (
            "POST",
            "/v1/apps/hello/functions/blocking_function/call",
            args,
        )
    });
    prop_oneof![4 => typed, 1 => call]
}

#[test]
fn typed_bodies_with_any_fields_and_values_get_an_answer() {
    let runtime = runtime();
    let server = runtime.block_on(async {
        let server = TestServer::start().await;
        server.deploy("hello", &["examples/hello"]).await;
        server
    });
    proptest!(cases(400), |((method, path, body) in typed_request())| {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let request = server.request(method.clone(), path).json(&body);
        let (status, bytes) = answer(&runtime, request).map_err(|error| {
            TestCaseError::fail(format!("{method} {path} {body}: {error}"))
        })?;
        if !status.is_success() {
            let error: Value = serde_json::from_slice(&bytes).map_err(|_| {
                TestCaseError::fail(format!("{method} {path}: {status} with {bytes:?}"))
            })?;
            let kind = error["error"]["kind"].as_str();
            prop_assert!(kind.is_some(), "{method} {path}: {error}");
            // A guest may fail on what it was given; the server itself never does.
            prop_assert!(kind != Some("internal"), "{method} {path} {body}: {error}");
        }
    });
    still_serving(&runtime, server);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sandbox_duration_past_any_deadline_is_refused() {
    let server = TestServer::start().await;
    for field in ["idle_timeout", "cpu_time"] {
        let body = serde_json::json!({ field: 1e19 });
        let response = server
            .request(Method::POST, "/v1/sandboxes")
            .json(&body)
            .send();
        let message = super::expect_error(
            response.await.unwrap(),
            StatusCode::BAD_REQUEST,
            "bad-arguments",
        )
        .await;
        assert!(message.contains(field), "{message}");
    }
}
