//! Volumes over HTTP (`/v1/volumes`): made, filled, listed, read and emptied through the API,
//! the same volumes the deployed apps' functions mount; no path leaves a volume, and a write
//! past the quota is refused.

use super::{TestServer, expect_error};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::{SystemTime, UNIX_EPOCH};

#[tokio::test(flavor = "multi_thread")]
async fn a_volume_filled_over_http_is_read_by_a_function_and_back() {
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let server = TestServer::start().await;
    server.deploy("storage", &["tests/guests/storage"]).await;
    let made = server
        .request(Method::PUT, "/v1/volumes/files")
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    let again = server
        .request(Method::PUT, "/v1/volumes/files")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    let put = |path: &str, bytes: &'static [u8]| {
        server
            .request(Method::PUT, "/v1/volumes/files/file")
            .query(&[("path", path)])
            .header("content-type", "application/octet-stream")
            .body(bytes)
            .send()
    };
    assert_eq!(
        put("/notes/a.txt", b"hello").await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    // A function that mounts the volume reads it; what it writes is read here.
    let read = server
        .call("storage", "volume_read", json!("notes/a.txt"))
        .await;
    assert_eq!(read, (StatusCode::OK, json!("hello")));
    let wrote = server
        .call("storage", "volume_write", json!(["from-guest.txt", "hi"]))
        .await;
    assert_eq!(wrote.0, StatusCode::OK, "{}", wrote.1);
    let file = server
        .request(Method::GET, "/v1/volumes/files/file?path=from-guest.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(file.headers()["content-type"], "application/octet-stream");
    assert_eq!(file.bytes().await.unwrap().as_ref(), b"hi");
    let (status, mut listed) = server.get("/v1/volumes/files/list?path=/").await;
    assert_eq!(status, StatusCode::OK);
    // Each entry was changed during this test.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for entry in listed["entries"].as_array_mut().unwrap() {
        let mtime = entry.as_object_mut().unwrap().remove("mtime").unwrap();
        let mtime = mtime.as_u64().unwrap();
        assert!(
            started <= mtime && mtime <= now,
            "{mtime} not in {started}..={now}"
        );
    }
    assert_eq!(
        listed,
        json!({"entries": [
            {"path": "from-guest.txt", "kind": "file", "size": 2},
            {"path": "notes", "kind": "dir", "size": 0},
        ]})
    );
    let (_, described) = server.get("/v1/volumes/files").await;
    assert_eq!(
        (described["usage"].clone(), described["name"].clone()),
        (json!(7), json!("files"))
    );
    assert_eq!(
        server.get("/v1/volumes").await.1,
        json!({"volumes": ["files"]})
    );
    // No way out; a directory goes only recursively.
    let escape = server
        .request(Method::GET, "/v1/volumes/files/file?path=../store.redb")
        .send()
        .await
        .unwrap();
    expect_error(escape, StatusCode::BAD_REQUEST, "bad-request").await;
    let directory = server
        .request(Method::DELETE, "/v1/volumes/files/file?path=notes")
        .send()
        .await
        .unwrap();
    expect_error(directory, StatusCode::BAD_REQUEST, "bad-request").await;
    let removed = server
        .request(
            Method::DELETE,
            "/v1/volumes/files/file?path=notes&recursive=true",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let gone = server
        .call("storage", "volume_read", json!("notes/a.txt"))
        .await;
    assert_ne!(gone.0, StatusCode::OK, "{}", gone.1);
    let deleted = server
        .request(Method::DELETE, "/v1/volumes/files")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let missing = server
        .request(Method::GET, "/v1/volumes/files")
        .send()
        .await
        .unwrap();
    expect_error(missing, StatusCode::NOT_FOUND, "not-found").await;
    assert_eq!(server.get("/v1/volumes").await.1, json!({"volumes": []}));
}
