//! Graceful shutdown: new requests are refused, a call in flight finishes within the grace
//! and is answered, what outlives the grace is cancelled (and its end saved).

use super::{LONG_MS, TestServer, host_settings, json};
use fnhost_tests::eventually;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn a_running_call_finishes_and_is_answered() {
    let server = TestServer::start().await;
    server.deploy("calls", &["tests/guests/calls"]).await;
    let slow = server.function("calls", "slow");
    let request = server
        .request(Method::POST, "/v1/apps/calls/functions/slow/call")
        .json(&json!(1500))
        .send();
    let waiting = tokio::spawn(async move { json(request.await.unwrap()).await });
    eventually("the call runs", || slow.stats().in_flight == 1).await;

    let base = server.base.clone();
    let client = server.client.clone();
    server.server.shutdown().await.unwrap();
    assert_eq!(waiting.await.unwrap(), (StatusCode::OK, json!(1500)));
    assert_eq!(slow.stats().cancelled, 0);
    // Nothing listens any more.
    assert!(client.get(format!("{base}/healthz")).send().await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn what_outlives_the_grace_is_cancelled_and_saved() {
    let server = TestServer::start_with(host_settings(), |settings| {
        settings.grace = Duration::from_millis(200);
    })
    .await;
    server.deploy("calls", &["tests/guests/calls"]).await;
    let slow = server.function("calls", "slow");
    let spawned = server.spawn("calls", "slow", json!(LONG_MS)).await;
    let request = server
        .request(Method::POST, "/v1/apps/calls/functions/slow/call")
        .json(&json!(LONG_MS))
        .send();
    let waiting = tokio::spawn(request);
    eventually("both calls run", || slow.stats().in_flight == 2).await;
    let state = server.stop().await;
    // The waiting client's connection was dropped; both inputs were cancelled.
    assert!(waiting.await.unwrap().is_err());
    eventually("both inputs are cancelled", || slow.stats().cancelled == 2).await;

    let server = TestServer::start_in(state, host_settings(), |_| {}).await;
    let response = server
        .request(Method::GET, &format!("/v1/calls/{spawned}"))
        .send()
        .await
        .unwrap();
    super::expect_error(response, StatusCode::CONFLICT, "cancelled").await;
}
