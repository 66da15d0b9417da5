//! Calls over HTTP: `/call` (a result, or `303` to the id of a call still running), `/spawn`,
//! `GET` and `DELETE /v1/calls/{id}`, and a client going away.

use super::{LONG_MS, TestServer, expect_error, host_settings, json, logs, until};
use fnhost_tests::eventually;
use reqwest::{Method, StatusCode, header};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn a_call_answers_with_the_functions_json() {
    let server = TestServer::start().await;
    server.deploy("hello", &["examples/hello"]).await;
    server.deploy("calls", &["tests/guests/calls"]).await;

    // No parameters: an empty body, with no Content-Type.
    let response = server
        .request(Method::POST, "/v1/apps/hello/functions/async_function/call")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    assert_eq!(json(response).await, (StatusCode::OK, json!(420)));

    // One parameter: the value itself; several: an array; `null` for none.
    assert_eq!(
        server.call("calls", "greet", json!("bob")).await,
        (StatusCode::OK, json!("hello, bob"))
    );
    assert_eq!(
        server
            .call("calls", "describe_sum", json!([1, 2, "sum"]))
            .await,
        (StatusCode::OK, json!("sum: 3"))
    );
    assert_eq!(
        server.call("hello", "blocking_function", json!(null)).await,
        (StatusCode::OK, json!(42))
    );
    // A one-parameter function taking a pair: the value is the pair, unless `?args=list`.
    assert_eq!(
        server.call("calls", "pair_sum", json!([1, 2])).await,
        (StatusCode::OK, json!(3))
    );
    let listed = server
        .request(
            Method::POST,
            "/v1/apps/calls/functions/pair_sum/call?args=list",
        )
        .json(&json!([[3, 4]]))
        .send()
        .await
        .unwrap();
    assert_eq!(json(listed).await, (StatusCode::OK, json!(7)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spawned_call_is_read_by_id_and_a_cancelled_one_says_so() {
    let server = TestServer::start().await;
    server.deploy("calls", &["tests/guests/calls"]).await;

    let id = server.spawn("calls", "blocking_callee", json!(41)).await;
    assert!(id.starts_with("fc-") && id.len() == 35, "{id}");
    assert_eq!(server.result(&id, "20s").await, (StatusCode::OK, json!(42)));
    // A result is read any number of times.
    assert_eq!(server.result(&id, "0s").await, (StatusCode::OK, json!(42)));

    let slow = server.spawn("calls", "slow", json!(LONG_MS)).await;
    assert_eq!(
        server.result(&slow, "10ms").await,
        (
            StatusCode::ACCEPTED,
            json!({"call_id": slow, "status": "running"})
        )
    );
    let deleted = server
        .request(Method::DELETE, &format!("/v1/calls/{slow}"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let response = server
        .request(Method::GET, &format!("/v1/calls/{slow}?timeout=20s"))
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::CONFLICT, "cancelled").await;
    let slow_pool = server.function("calls", "slow");
    eventually("the cancelled input is stopped", || {
        slow_pool.stats().cancelled == 1
    })
    .await;

    // Cancelling a finished call keeps its result.
    let deleted = server
        .request(Method::DELETE, &format!("/v1/calls/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(server.result(&id, "0s").await, (StatusCode::OK, json!(42)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_past_the_sync_timeout_answers_with_its_id_and_goes_on() {
    let server = TestServer::start_with(host_settings(), |settings| {
        settings.sync_timeout = Duration::from_millis(100);
    })
    .await;
    server.deploy("calls", &["tests/guests/calls"]).await;

    let response = server
        .request(Method::POST, "/v1/apps/calls/functions/slow/call")
        .json(&json!(LONG_MS))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let (_, body) = json(response).await;
    let id = body["call_id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/v1/calls/{id}"));
    // The call goes on: still running, and its input was never cancelled.
    assert_eq!(
        server.result(&id, "0s").await,
        (
            StatusCode::ACCEPTED,
            json!({"call_id": id, "status": "running"})
        )
    );
    let slow = server.function("calls", "slow");
    assert_eq!((slow.stats().in_flight, slow.stats().cancelled), (1, 0));
    server
        .request(Method::DELETE, &location)
        .send()
        .await
        .unwrap();

    // A call that finishes in time is answered with its result.
    assert_eq!(
        server.call("calls", "blocking_callee", json!(1)).await,
        (StatusCode::OK, json!(2))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_goes_away_cancels_its_call() {
    let server = TestServer::start().await;
    server.deploy("calls", &["tests/guests/calls"]).await;
    let slow = server.function("calls", "slow");

    let request = server
        .request(Method::POST, "/v1/apps/calls/functions/slow/call")
        .json(&json!(LONG_MS))
        .send();
    let waiting = tokio::spawn(request);
    eventually("the call runs", || slow.stats().in_flight == 1).await;
    waiting.abort();
    eventually("the call is cancelled", || {
        let stats = slow.stats();
        stats.cancelled == 1 && stats.in_flight == 0
    })
    .await;
    // The server tells it in the app's logs, with the call's id.
    until("the cancellation is logged", async || {
        logs(&server, "calls").await.iter().any(|event| {
            event["stream"] == "host"
                && event["call_id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("fc-"))
                && event["message"]
                    .as_str()
                    .is_some_and(|message| message.contains("of slow failed: cancelled"))
        })
    })
    .await;
}
