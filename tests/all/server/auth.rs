//! The token: with one, every route but `/healthz` needs `Authorization: Bearer <token>`,
//! and a request without it learns nothing but `unauthorized`. Without one, the server
//! refuses to listen beyond loopback unless told it may.

use super::{TestServer, client, host_settings, json, settings};
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
