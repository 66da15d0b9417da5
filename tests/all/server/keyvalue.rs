//! wasi:keyvalue: a wasi:http component that keeps its state through wasi:keyvalue alone (no
//! fnhost SDK, tests/guests/keyvalue-http) reads what a Python function wrote in a dict, and a
//! Python function reads what it wrote, text and bytes alike; every operation of the
//! interfaces (get, set, delete, exists, list-keys, increment, compare-and-swap, batches)
//! behaves as the proposal says; racing increments lose nothing.

use super::{TestServer, json};
use reqwest::{Method, StatusCode};
use serde_json::json;

impl TestServer {
    /// Deploys `app` from the Python app `python` and the guest crate `guest`.
    async fn deploy_mixed(&self, app: &str, python: &str, guest: &str) {
        let ids = [
            self.upload(&fnhost_tests::python_guest(python)).await,
            self.upload(&fnhost_tests::guest(guest)).await,
        ];
        let request = self.request(Method::PUT, &format!("/v1/apps/{app}"));
        let (status, body) = json(
            request
                .json(&json!({"components": ids}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// `GET path`: its status and body.
    async fn get_bytes(&self, path: &str) -> (StatusCode, Vec<u8>) {
        let response = self.request(Method::GET, path).send().await.unwrap();
        let status = response.status();
        (status, response.bytes().await.unwrap().to_vec())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_keyvalue_component_and_python_functions_share_a_dict() {
    let server = TestServer::start().await;
    server
        .deploy_mixed(
            "kv",
            "tests/guests-py/storage/app.py",
            "tests/guests/keyvalue-http",
        )
        .await;
    // What Python wrote, the component reads: text as its UTF-8, bytes as themselves.
    let put = json!(["shared", "greeting", "hello", false]);
    assert_eq!(
        server.call("kv", "dict_put", put).await,
        (StatusCode::OK, json!(true))
    );
    let put = json!(["shared", "blob"]);
    assert_eq!(
        server.call("kv", "dict_put_bytes", put).await,
        (StatusCode::OK, json!(null))
    );
    assert_eq!(
        server.get_bytes("/web/kv/get?greeting").await,
        (StatusCode::OK, b"hello".to_vec())
    );
    assert_eq!(
        server.get_bytes("/web/kv/get?blob").await,
        (StatusCode::OK, vec![0, 1])
    );
    assert_eq!(
        server.get_bytes("/web/kv/get?missing").await.0,
        StatusCode::NOT_FOUND
    );
    // What the component wrote, Python reads: a `str`, and `bytes` for what is not UTF-8.
    assert_eq!(
        server.get_bytes("/web/kv/set?note=hi").await.0,
        StatusCode::OK
    );
    assert_eq!(server.get_bytes("/web/kv/blob?raw").await.0, StatusCode::OK);
    assert_eq!(
        server
            .call("kv", "dict_get", json!(["shared", "note"]))
            .await
            .1,
        json!("hi")
    );
    assert_eq!(
        server
            .call("kv", "dict_repr", json!(["shared", "raw"]))
            .await
            .1,
        json!("b'\\x00\\x01\\xfe'")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_keyvalue_operation_behaves_as_the_proposal_says() {
    let server = TestServer::start().await;
    server.deploy("kv", &["tests/guests/keyvalue-http"]).await;
    let (status, body) = server.get_bytes("/web/kv/exercise").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let expected = [
        "get a: 1",
        "exists a: true",
        "exists a after delete: false",
        "increment: 10",
        "cas current: old",
        "stale swap: failed, now new",
        "get-many: x=1 none y=2",
        "keys: c counter",
    ];
    assert_eq!(String::from_utf8(body).unwrap(), expected.join("\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn racing_increments_each_see_a_sum_of_their_own() {
    let server = TestServer::start().await;
    server.deploy("kv", &["tests/guests/keyvalue-http"]).await;
    let racers = (0..50).map(|_| server.get_bytes("/web/kv/incr?hits"));
    let sums: std::collections::BTreeSet<u64> = futures::future::join_all(racers)
        .await
        .into_iter()
        .map(|(status, body)| {
            assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
            String::from_utf8(body).unwrap().parse().unwrap()
        })
        .collect();
    // No increment was lost or seen twice.
    assert_eq!(sums, (1..=50).collect());
}
