//! The token: with one, every route but `/healthz` needs `Authorization: Bearer <token>`,
//! and a request without it learns nothing but `unauthorized`. Without one, the server
//! refuses to listen beyond loopback unless told it may. App tokens reach one app.

use super::{TestServer, client, component, expect_error, host_settings, json, settings};
use fnhost::Host;
use fnhost_server::{Server, ServerError};
use reqwest::{Method, StatusCode, header};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn with_a_token_only_healthz_is_open() {
    let server = TestServer::start_with(host_settings(), |settings| {
        settings.token = Some("s3cret-token".into());
    })
    .await;
    server.deploy("hello", &["examples/hello"]).await;
    let anonymous = client(None);
    let unauthorized = json!({"error": {"kind": "unauthorized", "message": "unauthorized"}});
    let requests = [
        (Method::GET, "/v1/apps", None),
        (Method::GET, "/v1/apps", Some("Bearer wrong")),
        (
            Method::GET,
            "/v1/apps",
            Some("Bearer s3cret-token-but-longer"),
        ),
        (Method::GET, "/v1/apps", Some("Basic s3cret-token")),
        (Method::GET, "/v1/apps", Some("s3cret-token")),
        (Method::GET, "/metrics", None),
        (
            Method::POST,
            "/v1/apps/hello/functions/async_function/call",
            None,
        ),
        (Method::DELETE, "/v1/apps/hello", Some("Bearer ")),
        // Nothing is said about routes either.
        (Method::GET, "/no/such/route", None),
        (Method::PATCH, "/v1/apps", None),
    ];
    for (method, path, authorization) in requests {
        let mut request = anonymous.request(method.clone(), server.url(path));
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let answer = json(request.send().await.unwrap()).await;
        assert_eq!(
            answer,
            (StatusCode::UNAUTHORIZED, unauthorized.clone()),
            "{method} {path} {authorization:?}"
        );
    }
    let health = json(anonymous.get(server.url("/healthz")).send().await.unwrap()).await;
    assert_eq!(health, (StatusCode::OK, json!({"status": "ok"})));

    // With the token (the test server's client sends it), everything works.
    assert_eq!(
        server.call("hello", "async_function", json!(null)).await,
        (StatusCode::OK, json!(420))
    );
    let lowercase = anonymous
        .request(Method::GET, server.url("/v1/apps"))
        .header(header::AUTHORIZATION, "bearer s3cret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(lowercase.status(), StatusCode::OK);
    assert!(server.host.deployed("hello").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn no_token_means_loopback_only() {
    let state = tempfile::tempdir().unwrap();
    let host = Host::new(host_settings()).unwrap();
    let mut open = settings(state.path());
    open.listen = "0.0.0.0:0".parse().unwrap();
    match Server::start(host.clone(), open.clone()).await {
        Err(error @ ServerError::Insecure { .. }) => {
            assert!(error.to_string().contains("without a token"), "{error}");
        }
        Err(other) => panic!("expected Insecure, got {other}"),
        Ok(_) => panic!("a server without a token listened on 0.0.0.0"),
    }
    open.token = Some(String::new());
    assert!(matches!(
        Server::start(host, open).await,
        Err(ServerError::EmptyToken)
    ));
}

/// App tokens: made by the operator, each reaches its app's functions and the calls that app
/// spawned, and nothing else (another app's call looks unknown); revoked, it reaches nothing.
/// Tokens of any printable characters work.
#[tokio::test(flavor = "multi_thread")]
async fn an_app_token_reaches_its_apps_functions_and_calls_only() {
    let operator = "operator token: ünïcode, spaces & symbols!";
    let server = TestServer::start_with(host_settings(), |settings| {
        settings.token = Some(operator.into());
    })
    .await;
    server.deploy("hello", &["examples/hello"]).await;
    server.deploy("other", &["examples/hello"]).await;
    let (status, made) = json(
        server
            .request(Method::POST, "/v1/tokens")
            .json(&json!({"app": "hello"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["app"], "hello");
    let token = made["token"].as_str().unwrap();
    let holder = client(Some(token));
    let send = |method: Method, path: &str| holder.request(method, server.url(path));

    // Its app: calls, spawns and their results.
    let called = json(
        send(Method::POST, "/v1/apps/hello/functions/async_function/call")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(called, (StatusCode::OK, json!(420)));
    let (status, spawned) = json(
        send(
            Method::POST,
            "/v1/apps/hello/functions/async_function/spawn",
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{spawned}");
    let own = spawned["call_id"].as_str().unwrap();
    let read = json(
        send(Method::GET, &format!("/v1/calls/{own}?timeout=30s"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(read, (StatusCode::OK, json!(420)));

    // Another app's call is as unknown as a call that never was, to read and to cancel.
    let others = server.spawn("other", "async_function", json!(null)).await;
    let never = fnhost::CallId::mint().to_string();
    for method in [Method::GET, Method::DELETE] {
        let hidden = expect_error(
            send(method.clone(), &format!("/v1/calls/{others}"))
                .send()
                .await
                .unwrap(),
            StatusCode::NOT_FOUND,
            "not-found",
        )
        .await;
        let unknown = expect_error(
            send(method.clone(), &format!("/v1/calls/{never}"))
                .send()
                .await
                .unwrap(),
            StatusCode::NOT_FOUND,
            "not-found",
        )
        .await;
        assert_eq!(hidden.replace(&others, "ID"), unknown.replace(&never, "ID"));
    }
    assert_eq!(
        server.result(&others, "30s").await,
        (StatusCode::OK, json!(420))
    );

    // Nothing else: other apps, deploys, the host's state, tokens, metrics.
    for (method, path) in [
        (Method::GET, "/v1/apps"),
        (Method::GET, "/v1/apps/other"),
        (Method::POST, "/v1/apps/other/functions/async_function/call"),
        (Method::PUT, "/v1/apps/hello"),
        (Method::DELETE, "/v1/apps/hello"),
        (Method::GET, "/v1/dicts"),
        (Method::GET, "/v1/secrets"),
        (Method::GET, "/v1/sandboxes"),
        (Method::POST, "/v1/tokens"),
        (Method::GET, "/metrics"),
        (Method::GET, "/no/such/route"),
    ] {
        let response = send(method.clone(), path).send().await.unwrap();
        expect_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    }
    assert!(server.host.deployed("hello").is_some());

    // Listed without the token; revoked, it is unknown.
    let (status, listed) = server.get("/v1/tokens").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!listed.to_string().contains(token), "{listed}");
    let id = made["id"].as_str().unwrap();
    assert_eq!(listed["tokens"][0]["id"], id);
    let revoked = server
        .request(Method::DELETE, &format!("/v1/tokens/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let response = send(Method::POST, "/v1/apps/hello/functions/async_function/call")
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

/// Without a token a server makes no app tokens (they would limit nobody) and refuses an app
/// whose web endpoint requires the token (it would be served to anyone).
#[tokio::test(flavor = "multi_thread")]
async fn a_server_without_a_token_refuses_what_only_a_token_would_protect() {
    let server = TestServer::start_with(host_settings(), |_| {}).await;
    let response = server
        .request(Method::POST, "/v1/tokens")
        .json(&json!({"app": "hello"}))
        .send()
        .await
        .unwrap();
    let message = expect_error(response, StatusCode::BAD_REQUEST, "bad-request").await;
    assert!(message.contains("has no token"), "{message}");
    let id = server.upload(&component("tests/guests/web")).await;
    let response = server
        .request(Method::PUT, "/v1/apps/web")
        .json(&json!({"components": [id]}))
        .send()
        .await
        .unwrap();
    let message = expect_error(response, StatusCode::BAD_REQUEST, "bad-request").await;
    assert!(message.contains("requires a token"), "{message}");
    assert!(server.host.deployed("web").is_none());
}
