//! Apps over HTTP: components uploaded by SHA-256, deployed, listed, redeployed (in-flight
//! calls finish on the version they started on), and undeployed.

use super::{TestServer, component, expect_error, json, sha256};
use fnhost_server::AppSummary;
use fnhost_tests::eventually;
use futures::future::join_all;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn an_app_is_uploaded_deployed_listed_redeployed_and_undeployed() {
    let server = TestServer::start().await;
    let wasm = std::fs::read(component("examples/hello")).unwrap();
    let id = sha256(&wasm);
    let put = |body: Vec<u8>, id: &str| {
        server
            .request(Method::PUT, &format!("/v1/components/{id}"))
            .header(header::CONTENT_TYPE, "application/wasm")
            .body(body)
            .send()
    };
    // Bytes that do not hash to the id are refused; the right ones stored once.
    let wrong = put(b"not this".to_vec(), &id).await.unwrap();
    let message = expect_error(wrong, StatusCode::BAD_REQUEST, "bad-request").await;
    assert!(message.contains(&sha256(b"not this")), "{message}");
    assert_eq!(
        put(wasm.clone(), &id).await.unwrap().status(),
        StatusCode::CREATED
    );
    assert_eq!(
        put(wasm.clone(), &id).await.unwrap().status(),
        StatusCode::OK
    );

    // Deploying needs uploaded components.
    let missing = server
        .request(Method::PUT, "/v1/apps/hello")
        .json(&json!({"components": ["0".repeat(64)]}))
        .send()
        .await
        .unwrap();
    expect_error(missing, StatusCode::NOT_FOUND, "not-found").await;
    let none = server
        .request(Method::PUT, "/v1/apps/hello")
        .json(&json!({"components": []}))
        .send()
        .await
        .unwrap();
    expect_error(none, StatusCode::BAD_REQUEST, "bad-request").await;
    // Bytes that are not a component are stored (they hash right) but do not deploy.
    let junk = b"\0asm but not really".to_vec();
    let junk_id = sha256(&junk);
    assert_eq!(
        put(junk, &junk_id).await.unwrap().status(),
        StatusCode::CREATED
    );
    let invalid = server
        .request(Method::PUT, "/v1/apps/hello")
        .json(&json!({"components": [junk_id]}))
        .send()
        .await
        .unwrap();
    expect_error(invalid, StatusCode::BAD_REQUEST, "bad-request").await;
    expect_error(
        server
            .request(Method::GET, "/v1/apps/hello")
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;

    let deploy = || async {
        let response = server
            .request(Method::PUT, "/v1/apps/hello")
            .json(&json!({"components": [id]}))
            .send()
            .await
            .unwrap();
        let (status, body) = json(response).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value::<AppSummary>(body).unwrap()
    };
    let first = deploy().await;
    assert_eq!((first.name.as_str(), first.version), ("hello", 1));
    assert_eq!(first.components, [id.as_str()]);
    assert!(first.deployed_at.ends_with('Z'), "{}", first.deployed_at);
    let names: Vec<&str> = first.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["async_function", "blocking_function", "myfunc"]);
    let blocking = &first.functions[1];
    assert_eq!(
        (blocking.kind.as_str(), blocking.params.len()),
        ("blocking", 0)
    );
    assert_eq!(blocking.options["max_inputs"], json!(1));
    assert!(blocking.stats.is_some());

    assert_eq!(
        server.call("hello", "async_function", Value::Null).await,
        (StatusCode::OK, json!(420))
    );
    let (status, listed) = server.get("/v1/apps").await;
    assert_eq!(status, StatusCode::OK);
    let listed: Vec<AppSummary> = serde_json::from_value(listed["apps"].clone()).unwrap();
    assert_eq!(listed.len(), 1);
    let (_, one) = server.get("/v1/apps/hello").await;
    let one: AppSummary = serde_json::from_value(one).unwrap();
    let stats = |summary: &AppSummary, name: &str| {
        summary
            .functions
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| f.stats)
            .unwrap()
    };
    assert!(stats(&one, "blocking_function").containers_started >= 1);

    let second = deploy().await;
    assert_eq!(second.version, 2);
    // The new version's pools are new: nothing has run on them yet.
    assert_eq!(stats(&second, "async_function").containers_started, 0);

    let deleted = server
        .request(Method::DELETE, "/v1/apps/hello")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let (status, listed) = server.get("/v1/apps").await;
    assert_eq!((status, listed), (StatusCode::OK, json!({"apps": []})));
    let gone = server
        .request(Method::POST, "/v1/apps/hello/functions/async_function/call")
        .send()
        .await
        .unwrap();
    expect_error(gone, StatusCode::NOT_FOUND, "not-found").await;
    assert!(server.host.deployed("hello").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redeploy_loses_none_of_200_calls_in_flight() {
    let server = TestServer::start().await;
    server.deploy("calls", &["tests/guests/calls"]).await;
    let old = server.function("calls", "targeted");

    // `targeted` runs 10 inputs per container on at most 5: of 200 calls, 50 run and 150 wait.
    let calls = (0..200u64).map(|i| {
        let request = server
            .request(Method::POST, "/v1/apps/calls/functions/targeted/call")
            .json(&json!(200 + i % 3))
            .send();
        async move { json(request.await.unwrap()).await }
    });
    let calls = tokio::spawn(join_all(calls));
    eventually("the calls are in flight on the first version", || {
        let stats = old.stats();
        stats.in_flight + stats.queued >= 100
    })
    .await;
    let redeployed = server.deploy("calls", &["tests/guests/calls"]).await;
    assert_eq!(redeployed["version"], 2);

    let answers = calls.await.unwrap();
    assert_eq!(answers.len(), 200);
    for (i, answer) in answers.into_iter().enumerate() {
        assert_eq!(answer, (StatusCode::OK, json!(200 + i as u64 % 3)));
    }
    // New calls reach the new version.
    let new = server.function("calls", "targeted");
    assert_eq!(
        server.call("calls", "targeted", json!(1)).await,
        (StatusCode::OK, json!(1))
    );
    assert!(new.stats().containers_started >= 1);
    assert_eq!(old.stats().cancelled, 0);
}
