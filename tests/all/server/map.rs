//! `/map` over HTTP: inputs as a JSON array or NDJSON, one result line per input in input
//! order, each input's failure its own line.

use super::{TestServer, expect_error};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

/// The lines of a `/map` answer to `body` of `content_type`.
async fn map(server: &TestServer, function: &str, content_type: &str, body: String) -> Vec<Value> {
    let response = server
        .request(
            Method::POST,
            &format!("/v1/apps/calls/functions/{function}/map"),
        )
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/x-ndjson"
    );
    let text = response.text().await.unwrap();
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn map_answers_one_line_per_input_in_order() {
    let server = TestServer::start().await;
    server.deploy("calls", &["tests/guests/calls"]).await;

    let inputs: Vec<u32> = (0..10).collect();
    let lines = map(
        &server,
        "fallible",
        "application/json",
        json!(inputs).to_string(),
    )
    .await;
    assert_eq!(lines.len(), 10);
    for (i, line) in lines.iter().enumerate() {
        if i % 2 == 0 {
            assert_eq!(line, &json!({"ok": i / 2}));
        } else {
            assert_eq!(
                line,
                &json!({"error": {"kind": "user", "message": format!("odd number {i}")}})
            );
        }
    }

    // NDJSON: a line that is not JSON, or not the right arguments, fails alone.
    let body = "1\nnot json\n\n\"two\"\n[3]\n4".to_owned();
    let lines = map(&server, "blocking_callee", "application/x-ndjson", body).await;
    let kinds: Vec<Value> = lines
        .iter()
        .map(|line| {
            line.get("ok")
                .cloned()
                .unwrap_or(line["error"]["kind"].clone())
        })
        .collect();
    assert_eq!(
        kinds,
        [
            json!(2),
            json!("bad-arguments"),
            json!("bad-arguments"),
            json!("bad-arguments"),
            json!(5)
        ]
    );

    // Several parameters, and `?args=list` for a one-parameter function taking a pair.
    let lines = map(
        &server,
        "describe_sum",
        "application/json",
        r#"[[1, 2, "a"], [3, 4, "b"]]"#.into(),
    )
    .await;
    assert_eq!(lines, [json!({"ok": "a: 3"}), json!({"ok": "b: 7"})]);
    let response = server
        .request(
            Method::POST,
            "/v1/apps/calls/functions/pair_sum/map?args=list",
        )
        .json(&json!([[[1, 2]], [[3, 4]]]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "{\"ok\":3}\n{\"ok\":7}\n");

    // More inputs than are in flight at once, still in order.
    let inputs: Vec<u64> = (0..2500).collect();
    let lines = map(
        &server,
        "identity",
        "application/json",
        json!(inputs).to_string(),
    )
    .await;
    let results: Vec<Value> = lines.into_iter().map(|line| line["ok"].clone()).collect();
    assert_eq!(results, inputs.iter().map(|i| json!(i)).collect::<Vec<_>>());

    // An empty array: an empty answer.
    assert!(
        map(&server, "identity", "application/json", "[]".into())
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_is_not_inputs_is_refused() {
    let server = TestServer::start().await;
    server.deploy("calls", &["tests/guests/calls"]).await;
    let send = |content_type: &str, body: &str| {
        server
            .request(Method::POST, "/v1/apps/calls/functions/identity/map")
            .header(header::CONTENT_TYPE, content_type)
            .body(body.to_owned())
            .send()
    };
    expect_error(
        send("application/json", "{\"a\": 1}").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "bad-request",
    )
    .await;
    expect_error(
        send("text/csv", "1,2").await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    )
    .await;
    // Framing that breaks after inputs ends the answer with an error line.
    let lines = map(&server, "identity", "application/json", "[1, 2,, 3]".into()).await;
    assert_eq!(lines[..2], [json!({"ok": 1}), json!({"ok": 2})]);
    assert_eq!(lines[2]["error"]["kind"], "bad-request");
    assert_eq!(lines.len(), 3);
}
