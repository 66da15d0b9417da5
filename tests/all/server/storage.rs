//! Dicts and queues over HTTP (`/v1/dicts`, `/v1/queues`): the same objects the deployed
//! apps' guests reach, every store error with its kind.

use super::{TestServer, expect_error, json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

impl TestServer {
    /// `POST path` with `body`, as JSON.
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        json(
            self.request(Method::POST, path)
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// `POST path` with `body`, checked to fail with `status` and `kind`.
    async fn post_refused(&self, path: &str, body: Value, status: StatusCode, kind: &str) {
        let response = self
            .request(Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap();
        expect_error(response, status, kind).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dict_written_over_http_is_read_by_a_guest_and_back() {
    let server = TestServer::start().await;
    server.deploy("storage", &["tests/guests/storage"]).await;
    let key = json!({"user": 1});
    let put = server
        .post("/v1/dicts/scores/put", json!({"key": key, "value": [1, 2]}))
        .await;
    assert_eq!(put, (StatusCode::OK, json!({"written": true})));
    let again = json!({"key": key, "value": 3, "skip_if_exists": true});
    assert_eq!(
        server.post("/v1/dicts/scores/put", again).await.1,
        json!({"written": false})
    );
    // A guest reads what was written here; what a guest writes is read here.
    assert_eq!(
        server
            .call("storage", "dict_get", json!(["scores", {"user": 1}]))
            .await,
        (StatusCode::OK, json!([1, 2]))
    );
    let wrote = server
        .call("storage", "dict_write_json", json!("scores"))
        .await;
    assert_eq!(wrote, (StatusCode::OK, Value::Null));
    assert_eq!(
        server
            .post("/v1/dicts/scores/get", json!({"key": "from-python"}))
            .await
            .1,
        json!({"found": true, "value": {"n": 1, "list": [1, 2]}})
    );
    // Pages in key order, each naming where the next starts.
    let (status, page) = server.get("/v1/dicts/scores/items?limit=1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page["items"],
        json!([["from-python", {"n": 1, "list": [1, 2]}]])
    );
    let after = page["next"].to_string();
    let rest = server
        .request(Method::GET, "/v1/dicts/scores/items")
        .query(&[("after", after.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(rest).await.1,
        json!({"items": [[{"user": 1}, [1, 2]]], "next": null})
    );
    assert_eq!(server.get("/v1/dicts/scores").await.1["len"], json!(2));
    assert_eq!(
        server.get("/v1/dicts").await.1,
        json!({"dicts": ["scores"]})
    );
    assert_eq!(
        server
            .post("/v1/dicts/scores/pop", json!({"key": {"user": 1}}))
            .await
            .1,
        json!({"found": true, "value": [1, 2]})
    );
    let deleted = server
        .request(Method::DELETE, "/v1/dicts/scores")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    // Each store error keeps its kind.
    let missing = json!({"key": 1});
    server
        .post_refused(
            "/v1/dicts/scores/get",
            missing,
            StatusCode::NOT_FOUND,
            "not-found",
        )
        .await;
    let no_key = json!({"value": 1});
    server
        .post_refused(
            "/v1/dicts/d/put",
            no_key,
            StatusCode::BAD_REQUEST,
            "bad-arguments",
        )
        .await;
    let bad_name = json!({"key": 1, "value": 1});
    server
        .post_refused(
            "/v1/dicts/a%20b/put",
            bad_name,
            StatusCode::BAD_REQUEST,
            "bad-request",
        )
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_queue_feeds_a_guest_over_http_and_says_when_it_is_full() {
    let server = TestServer::start().await;
    server.deploy("storage", &["tests/guests/storage"]).await;
    let put = server
        .post(
            "/v1/queues/jobs/put",
            json!({"items": [1, "two", {"three": 3}]}),
        )
        .await;
    assert_eq!(put.0, StatusCode::NO_CONTENT);
    assert_eq!(server.get("/v1/queues/jobs").await.1["len"], 3);
    assert_eq!(
        server.post("/v1/queues/jobs/get", json!({"n": 2})).await.1,
        json!({"items": [1, "two"]})
    );
    assert_eq!(
        server
            .call("storage", "queue_drain", json!(["jobs", 0.05, null]))
            .await,
        (StatusCode::OK, json!([{"three": 3}]))
    );
    assert_eq!(
        server.post("/v1/queues/jobs/get", json!({})).await.1,
        json!({"items": []})
    );
    // A waiting get is answered by a guest's put.
    let waiting = server.post("/v1/queues/jobs/get", json!({"timeout": 30}));
    let putting = server.call("storage", "queue_put", json!(["jobs", [7], null]));
    let (got, put) = futures::join!(waiting, putting);
    assert_eq!((got.1, put.1), (json!({"items": [7]}), json!(1)));
    // A full partition says so, and a wait past the cap is refused.
    let full = vec![0; fnhost::MAX_PARTITION_ITEMS as usize];
    let filled = server
        .post(
            "/v1/queues/jobs/put",
            json!({"items": full, "partition": "p"}),
        )
        .await;
    assert_eq!(filled.0, StatusCode::NO_CONTENT);
    let one_more = json!({"items": [1], "partition": "p"});
    server
        .post_refused(
            "/v1/queues/jobs/put",
            one_more,
            StatusCode::TOO_MANY_REQUESTS,
            "full",
        )
        .await;
    let too_long = json!({"timeout": 61});
    server
        .post_refused(
            "/v1/queues/jobs/get",
            too_long,
            StatusCode::BAD_REQUEST,
            "bad-request",
        )
        .await;
    assert_eq!(
        server.get("/v1/queues/jobs?partition=p").await.1["len"],
        fnhost::MAX_PARTITION_ITEMS
    );
    let cleared = server
        .post("/v1/queues/jobs/clear", json!({"all": true}))
        .await;
    assert_eq!(cleared.0, StatusCode::NO_CONTENT);
    assert_eq!(server.get("/v1/queues/jobs?total=true").await.1["len"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ephemeral_queue_lives_while_its_client_holds_it_and_is_reached_by_id() {
    let server = TestServer::start().await;
    server.deploy("storage", &["tests/guests/storage"]).await;
    let made = server.post("/v1/queues", json!(null)).await;
    assert_eq!(made.0, StatusCode::CREATED, "{}", made.1);
    assert_eq!(made.1["lease_secs"], 180);
    let id = made.1["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("qu-") && id.len() == 35, "{id}");
    let put = server
        .post(&format!("/v1/queues/{id}/put"), json!({"items": [1, 2]}))
        .await;
    assert_eq!(put.0, StatusCode::NO_CONTENT);
    // By id, as a guest's `Queue.from_id` reaches it; it has no name and is not listed.
    let described = server.get(&format!("/v1/queues/{id}")).await.1;
    assert_eq!(described, json!({"name": null, "id": id, "len": 2}));
    assert!(!server.get("/v1/queues").await.1.to_string().contains(&id));
    let heartbeat = format!("/v1/queues/{id}/heartbeat");
    assert_eq!(
        server.post(&heartbeat, json!(null)).await.0,
        StatusCode::NO_CONTENT
    );
    let removed = server
        .request(Method::DELETE, &format!("/v1/queues/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    // Gone: for a put (the store removes it in order with later writes), then for every
    // request, a heartbeat included.
    let put = format!("/v1/queues/{id}/put");
    server
        .post_refused(
            &put,
            json!({"items": [3]}),
            StatusCode::NOT_FOUND,
            "not-found",
        )
        .await;
    let get = format!("/v1/queues/{id}/get");
    server
        .post_refused(&get, json!({}), StatusCode::NOT_FOUND, "not-found")
        .await;
    server
        .post_refused(&heartbeat, json!(null), StatusCode::NOT_FOUND, "not-found")
        .await;
    // A name cannot take an id's shape, so that a reference is a name or an id, never both.
    let shaped = "/v1/dicts/di-0123456789abcdef0123456789abcdef/put";
    let dict_put = json!({"key": "k", "value": 1});
    server
        .post_refused(shaped, dict_put, StatusCode::NOT_FOUND, "not-found")
        .await;
    let named_like_an_id = "/v1/queues/di-0123456789abcdef0123456789abcdef/put";
    server
        .post_refused(
            named_like_an_id,
            json!({"items": [1]}),
            StatusCode::BAD_REQUEST,
            "bad-request",
        )
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_kept_over_http_reaches_its_function_and_never_comes_back() {
    let value = "sk-http-0123456789abcdef";
    let server = TestServer::start().await;
    server.deploy("storage", &["tests/guests/storage"]).await;
    let server = &server;
    let put = |body: Value| async move {
        server
            .request(Method::PUT, "/v1/secrets/fnhost-test-api")
            .json(&body)
            .send()
            .await
            .unwrap()
    };
    let made = put(json!({"values": {"API_KEY": value}})).await;
    assert_eq!(made.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        server
            .call("storage", "secret_length", json!("API_KEY"))
            .await,
        (StatusCode::OK, json!(value.len()))
    );
    let (status, listed) = json(
        server
            .request(Method::GET, "/v1/secrets")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        listed,
        json!({"secrets": [{"name": "fnhost-test-api", "keys": ["API_KEY"]}]})
    );
    // Refusals name the secret or say what is expected, never a value.
    let again = expect_error(
        put(json!({"values": {"API_KEY": value}})).await,
        StatusCode::BAD_REQUEST,
        "bad-request",
    )
    .await;
    assert!(!again.contains(value), "{again}");
    let mistyped = expect_error(
        put(json!({"values": {"API_KEY": 982_451_653}})).await,
        StatusCode::BAD_REQUEST,
        "bad-arguments",
    )
    .await;
    assert!(!mistyped.contains("982451653"), "{mistyped}");
    let replaced = put(json!({"values": {"API_KEY": "new"}, "overwrite": true})).await;
    assert_eq!(replaced.status(), StatusCode::NO_CONTENT);
    let deleted = server
        .request(Method::DELETE, "/v1/secrets/fnhost-test-api")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = server
        .request(Method::DELETE, "/v1/secrets/fnhost-test-api")
        .send()
        .await
        .unwrap();
    expect_error(gone, StatusCode::NOT_FOUND, "not-found").await;
}
