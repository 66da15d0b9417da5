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

#[test]
fn arbitrary_requests_get_an_answer() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(async {
        let server = TestServer::start_with(host_settings(), |_| {}).await;
        server.deploy("hello", &["examples/hello"]).await;
        server
    });
    let config = ProptestConfig {
        cases: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |((method, path, media, body) in request())| {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = server.request(method.clone(), &path).body(body);
        if let Some(media) = media {
            request = request.header(header::CONTENT_TYPE, media);
        }
        let answer = runtime.block_on(async {
            let response = tokio::time::timeout(Duration::from_secs(30), request.send())
                .await
                .map_err(|_| "no answer within 30 s".to_owned())?
                .map_err(|error| format!("no answer: {error}"))?;
            let status = response.status();
            let bytes = response.bytes().await.map_err(|error| format!("body: {error}"))?;
            Ok::<_, String>((status, bytes))
        });
        let (status, bytes) = answer.map_err(|error| {
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
    runtime.block_on(async {
        let (status, _) = server.get("/healthz").await;
        assert_eq!(status, StatusCode::OK);
        server.stop().await;
    });
}
