//! What an operator sees: an app's logs (guest lines, host events, `tail`, `follow`), the
//! Prometheus metrics, and `/healthz`.

use super::{TestServer, logs, until};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn logs_keep_guest_lines_and_host_events() {
    let server = TestServer::start().await;
    server.deploy("calls", &["tests/guests/calls"]).await;

    assert_eq!(
        server
            .call("calls", "say", json!([["one", "two"], ""]))
            .await,
        (StatusCode::OK, json!(2))
    );
    let events = logs(&server, "calls").await;
    assert_eq!(events[0]["message"], "deployed version 1");
    assert_eq!(events[0]["stream"], "host");
    let said: Vec<&Value> = events.iter().filter(|e| e["stream"] == "stdout").collect();
    assert_eq!(said.len(), 2, "{events:?}");
    assert_eq!(said[0]["message"], "one");
    assert_eq!(said[1]["message"], "two");
    assert_eq!(said[0]["app"], "calls");
    assert_eq!(said[0]["function"], "say");
    assert!(said[0]["container"].as_str().unwrap().starts_with("say#"));
    assert_eq!(said[0]["call_id"], Value::Null);
    assert!(said[0]["time"].as_str().unwrap().ends_with('Z'));

    let (status, _) = server.call("calls", "fallible", json!(7)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    until("the failure is logged", async || {
        logs(&server, "calls").await.iter().any(|event| {
            event["function"] == "fallible"
                && event["call_id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("fc-"))
                && event["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("failed: user: odd number 7"))
        })
    })
    .await;

    let (status, _) = server.get("/v1/apps/calls/logs?tail=1").await;
    assert_eq!(status, StatusCode::OK);
    let tail = server
        .request(Method::GET, "/v1/apps/calls/logs?tail=1")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(tail.lines().count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_gets_events_as_they_come_until_the_app_goes() {
    let server = TestServer::start().await;
    server.deploy("calls", &["tests/guests/calls"]).await;
    let mut follow = server
        .request(Method::GET, "/v1/apps/calls/logs?follow=true&tail=0")
        .send()
        .await
        .unwrap();
    assert_eq!(follow.status(), StatusCode::OK);
    assert_eq!(
        follow.headers()[header::CONTENT_TYPE],
        "application/x-ndjson"
    );
    server.call("calls", "say", json!([["followed"], ""])).await;
    let mut seen = String::new();
    while !seen.contains("\"followed\"") {
        let chunk = tokio::time::timeout(Duration::from_secs(20), follow.chunk())
            .await
            .expect("the followed line comes")
            .unwrap()
            .expect("the answer is still open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    // Undeploying the app ends the answer.
    server
        .request(Method::DELETE, "/v1/apps/calls")
        .send()
        .await
        .unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(20), async {
        while follow.chunk().await.unwrap().is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the follower's answer ends with the app");
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_calls_and_read_the_pools() {
    let server = TestServer::start().await;
    server.deploy("calls", &["tests/guests/calls"]).await;
    let (status, health) = server.get("/healthz").await;
    assert_eq!((status, health), (StatusCode::OK, json!({"status": "ok"})));

    server.call("calls", "greet", json!("a")).await;
    server.call("calls", "greet", json!("b")).await;
    server.call("calls", "fallible", json!(1)).await;
    let scrape = || async {
        let response = server
            .request(Method::GET, "/metrics")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    };
    let expected = [
        r#"fnhost_calls_total{app="calls",function="greet",outcome="ok"} 2"#,
        r#"fnhost_calls_total{app="calls",function="fallible",outcome="user"} 1"#,
    ];
    until("the calls are counted", async || {
        let text = scrape().await;
        expected.iter().all(|line| text.contains(line))
    })
    .await;
    let text = scrape().await;
    for line in [
        r#"fnhost_call_duration_seconds_count{app="calls",function="greet"} 2"#,
        r#"fnhost_container_starts_total{app="calls",function="greet"} 1"#,
        r#"fnhost_containers{app="calls",function="greet"} 1"#,
        r#"fnhost_queued_inputs{app="calls",function="greet"} 0"#,
        r#"fnhost_running_inputs{app="calls",function="greet"} 0"#,
        r#"fnhost_cancelled_total{app="calls",function="greet"} 0"#,
        r#"fnhost_cpu_pauses_total{app="calls",function="greet"} 0"#,
        "fnhost_apps 1",
        "fnhost_retained_calls 3",
        "# EOF",
    ] {
        assert!(text.contains(line), "no `{line}` in:\n{text}");
    }
    assert!(text.contains("fnhost_retained_bytes "), "{text}");

    // Undeployed, the app leaves no series behind.
    let undeployed = server
        .request(Method::DELETE, "/v1/apps/calls")
        .send()
        .await
        .unwrap();
    assert!(undeployed.status().is_success());
    let text = scrape().await;
    assert!(
        !text.contains(r#"app="calls""#),
        "series of an undeployed app:\n{text}"
    );
    assert!(text.contains("fnhost_apps 0"), "{text}");
}
