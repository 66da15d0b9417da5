//! Every error the API answers, in its one JSON shape with its documented status: the
//! guest's failures by kind, and every malformed request (bad JSON, media type, size, names,
//! ids, path tricks, queries, routes, methods).

use super::{TestServer, expect_error, host_settings};
use fnhost::{HostSettings, MAX_PAYLOAD};
use reqwest::{Method, StatusCode, header};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn failures_of_calls_answer_their_kinds_status() {
    let server = TestServer::start().await;
    server.deploy("calls", &["tests/guests/calls"]).await;
    let call = |function: &str, args: serde_json::Value| {
        server
            .request(
                Method::POST,
                &format!("/v1/apps/calls/functions/{function}/call"),
            )
            .json(&args)
            .send()
    };
    let message = expect_error(
        call("fallible", json!(3)).await.unwrap(),
        StatusCode::INTERNAL_SERVER_ERROR,
        "user",
    )
    .await;
    assert_eq!(message, "odd number 3");
    let message = expect_error(
        call("boom", json!("kaboom")).await.unwrap(),
        StatusCode::INTERNAL_SERVER_ERROR,
        "trapped",
    )
    .await;
    assert!(message.contains("kaboom"), "{message}");
    expect_error(
        call("stuck_blocking", json!(null)).await.unwrap(),
        StatusCode::GATEWAY_TIMEOUT,
        "timeout",
    )
    .await;
    // Arguments that do not fit: a wrong count (the server's check), a wrong type (the guest's).
    let message = expect_error(
        call("describe_sum", json!([1, 2])).await.unwrap(),
        StatusCode::BAD_REQUEST,
        "bad-arguments",
    )
    .await;
    assert!(message.contains("3 arguments"), "{message}");
    expect_error(
        call("blocking_callee", json!("not a number"))
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "bad-arguments",
    )
    .await;
    // A spawned call's error is its status when read.
    let id = server.spawn("calls", "fallible", json!(5)).await;
    let response = server
        .request(Method::GET, &format!("/v1/calls/{id}?timeout=20s"))
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::INTERNAL_SERVER_ERROR, "user").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_queue_answers_429_with_retry_after() {
    let settings = HostSettings {
        max_queued: 2,
        ..host_settings()
    };
    let server = TestServer::start_with(settings, |_| {}).await;
    server.deploy("calls", &["tests/guests/calls"]).await;
    // `stuck_async` has one container taking two inputs: two run, two wait, the next is refused.
    let stuck = server.function("calls", "stuck_async");
    stuck.warm_up(1).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(server.spawn("calls", "stuck_async", json!(300)).await);
    }
    let response = server
        .request(Method::POST, "/v1/apps/calls/functions/stuck_async/call")
        .json(&json!(300))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    expect_error(response, StatusCode::TOO_MANY_REQUESTS, "overloaded").await;
    // The accepted ones still finish.
    for id in ids {
        assert_eq!(
            server.result(&id, "30s").await,
            (StatusCode::OK, json!(300))
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_requests_are_refused_with_json_errors() {
    let server = TestServer::start().await;
    server.deploy("calls", &["tests/guests/calls"]).await;
    let send = |method: Method, path: &str| server.request(method, path);
    let greet = "/v1/apps/calls/functions/greet/call";

    let cases: Vec<(reqwest::RequestBuilder, StatusCode, &str)> = vec![
        // Bodies.
        (
            send(Method::POST, greet)
                .header(header::CONTENT_TYPE, "application/json")
                .body("{\"unterminated"),
            StatusCode::BAD_REQUEST,
            "bad-arguments",
        ),
        (
            send(Method::POST, greet)
                .header(header::CONTENT_TYPE, "text/plain")
                .body("\"bob\""),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
        ),
        (
            send(Method::POST, greet).body("\"bob\""),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
        ),
        (
            send(Method::POST, greet)
                .header(header::CONTENT_TYPE, "application/json")
                .body(format!("\"{}\"", "x".repeat(MAX_PAYLOAD + (100 << 10)))),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload",
        ),
        (
            send(Method::PUT, "/v1/apps/calls")
                .header(header::CONTENT_TYPE, "application/json")
                .body("{\"components\": 3}"),
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        (
            send(Method::PUT, &format!("/v1/components/{}", "0".repeat(64)))
                .header(header::CONTENT_TYPE, "application/json")
                .body("{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
        ),
        // Unknown names and ids.
        (
            send(Method::POST, "/v1/apps/nope/functions/greet/call"),
            StatusCode::NOT_FOUND,
            "not-found",
        ),
        (
            send(Method::POST, "/v1/apps/calls/functions/nope/call"),
            StatusCode::NOT_FOUND,
            "not-found",
        ),
        (
            send(Method::GET, "/v1/apps/nope"),
            StatusCode::NOT_FOUND,
            "not-found",
        ),
        (
            send(Method::GET, "/v1/apps/nope/logs"),
            StatusCode::NOT_FOUND,
            "not-found",
        ),
        (
            send(Method::DELETE, "/v1/apps/nope"),
            StatusCode::NOT_FOUND,
            "not-found",
        ),
        (
            send(Method::GET, &format!("/v1/calls/fc-{}", "0".repeat(32))),
            StatusCode::NOT_FOUND,
            "not-found",
        ),
        (
            send(Method::GET, "/v1/calls/nope"),
            StatusCode::NOT_FOUND,
            "not-found",
        ),
        (
            send(Method::DELETE, "/v1/calls/fc-1"),
            StatusCode::NOT_FOUND,
            "not-found",
        ),
        // Path tricks: names that are not names, ids that are not ids.
        (
            send(Method::POST, "/v1/apps/..%2F..%2Fetc/functions/greet/call"),
            StatusCode::BAD_REQUEST,
            "bad-arguments",
        ),
        (
            send(Method::GET, "/v1/apps/..%2Fmanifest.json"),
            StatusCode::BAD_REQUEST,
            "bad-arguments",
        ),
        (
            send(Method::GET, "/v1/apps/a%00b"),
            StatusCode::BAD_REQUEST,
            "bad-arguments",
        ),
        (
            send(Method::GET, "/v1/apps/%FF%FE"),
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        (
            send(Method::PUT, "/v1/apps/-x").json(&json!({"components": []})),
            StatusCode::BAD_REQUEST,
            "bad-arguments",
        ),
        (
            send(Method::PUT, "/v1/components/..%2F..%2Fmanifest.json")
                .header(header::CONTENT_TYPE, "application/wasm")
                .body("x"),
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        (
            send(Method::PUT, &format!("/v1/components/{}", "A".repeat(64)))
                .header(header::CONTENT_TYPE, "application/wasm")
                .body("x"),
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        // Queries.
        (
            send(Method::POST, &format!("{greet}?args=tuple")).json(&json!("bob")),
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        (
            send(Method::POST, &format!("{greet}?colour=blue")).json(&json!("bob")),
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        (
            send(
                Method::GET,
                &format!("/v1/calls/fc-{}?timeout=forever", "0".repeat(32)),
            ),
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        (
            send(Method::GET, "/v1/apps/calls/logs?tail=-1"),
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        // Routes and methods.
        (
            send(Method::GET, "/v2/apps"),
            StatusCode::NOT_FOUND,
            "not-found",
        ),
        (send(Method::GET, "/"), StatusCode::NOT_FOUND, "not-found"),
        (
            send(Method::GET, "/v1/apps/calls/functions"),
            StatusCode::NOT_FOUND,
            "not-found",
        ),
        (
            send(Method::GET, greet),
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
        ),
        (
            send(Method::POST, "/v1/apps"),
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
        ),
        (
            send(Method::PATCH, "/v1/apps/calls"),
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
        ),
    ];
    for (request, status, kind) in cases {
        let request = request.build().unwrap();
        let what = format!("{} {}", request.method(), request.url());
        let response = server.client.execute(request).await.unwrap();
        assert_eq!(response.status(), status, "{what}");
        expect_error(response, status, kind).await;
    }

    // After all that, the server still serves, and nothing was written outside its state.
    assert_eq!(
        server.call("calls", "greet", json!("bob")).await,
        (StatusCode::OK, json!("hello, bob"))
    );
}

/// A body that stops coming is cut after the server's request timeout (here 200 ms), with the
/// API's error; a request head that never ends is cut too, with a `408`; a head over hyper's
/// size is a `431`, both with the API's error; a request without `Host` is a 400; the server
/// serves on.
#[tokio::test(flavor = "multi_thread")]
async fn stalled_bodies_and_heads_are_cut_after_the_request_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start_with(host_settings(), |settings| {
        settings.token = Some(super::TEST_TOKEN.into());
        settings.request_timeout = std::time::Duration::from_millis(200);
    })
    .await;
    server.deploy("hello", &["examples/hello"]).await;
    let address = server.server.local_addr();
    let mut stalled = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /v1/apps/hello/functions/async_function/call HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n[",
        super::TEST_TOKEN
    );
    stalled.write_all(head.as_bytes()).await.unwrap();
    // The server answers by itself: nothing more is sent.
    let mut answer = vec![0; 4096];
    let read = stalled.read(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("the body stalled"), "{answer}");

    // HTTP/1.1 without Host: a 400 with the API's error, whatever the path.
    let mut hostless = tokio::net::TcpStream::connect(address).await.unwrap();
    hostless
        .write_all(b"GET /no/such/path HTTP/1.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    hostless.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("needs a Host header"), "{answer}");

    let mut endless = tokio::net::TcpStream::connect(address).await.unwrap();
    endless
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    // The connection ends with the API's answer to a head that did not arrive in time.
    endless.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""kind":"request-timeout""#), "{answer}");

    // A head hyper refuses by itself (over its size) is the API's error too, before the token.
    let mut huge = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "GET /v1/apps HTTP/1.1\r\nHost: x\r\nx: {}\r\n\r\n",
        "a".repeat(1 << 19)
    );
    huge.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    huge.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert!(answer.contains(r#""kind":"head-too-large""#), "{answer}");
    let (status, _) = server.get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
}
