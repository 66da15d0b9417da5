//! The state directory: a restart (shutdown, then a new server on a new host over the same
//! directory) keeps the deployed apps and the retained results; the manifest is replaced
//! whole, and what a crash left half-written is ignored; a tampered directory is refused.

use super::{TestServer, expect_error, host_settings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_keeps_apps_and_retained_results() {
    let server = TestServer::start().await;
    let deployed = server.deploy("calls", &["tests/guests/calls"]).await;
    // An app given on the command line is deployed from its files.
    let hello = server
        .server
        .deploy_files(
            "hello",
            &[fnhost_tests::guest("examples/hello")],
            &Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(hello.version, 1);
    let ok = server.spawn("calls", "blocking_callee", json!(41)).await;
    assert_eq!(server.result(&ok, "20s").await, (StatusCode::OK, json!(42)));
    let failed = server.spawn("calls", "fallible", json!(3)).await;
    assert_eq!(
        server.result(&failed, "20s").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let host = server.host.clone();
    let state = server.stop().await;
    // The old server took its apps off its host.
    assert!(host.deployed("calls").is_none());
    assert!(state.path().join("results.ndjson").is_file());

    let server = TestServer::start_in(state, host_settings(), |_| {}).await;
    let (status, apps) = server.get("/v1/apps").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = apps["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|app| app["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["calls", "hello"]);
    let (_, calls) = server.get("/v1/apps/calls").await;
    for field in ["version", "components", "deployed_at"] {
        assert_eq!(calls[field], deployed[field], "{field}");
    }
    let batched = calls["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|function| function["name"] == "doubled_batch")
        .unwrap();
    assert_eq!(
        batched["batch"],
        json!({"max_batch_size": 4, "wait_ms": 60000})
    );
    assert_eq!(server.result(&ok, "0s").await, (StatusCode::OK, json!(42)));
    let response = server
        .request(Method::GET, &format!("/v1/calls/{failed}"))
        .send()
        .await
        .unwrap();
    let message = expect_error(response, StatusCode::INTERNAL_SERVER_ERROR, "user").await;
    assert_eq!(message, "odd number 3");
    // The restored apps serve, and a redeploy counts on from the saved version.
    assert_eq!(
        server.call("hello", "async_function", Value::Null).await,
        (StatusCode::OK, json!(420))
    );
    let again = server.deploy("calls", &["tests/guests/calls"]).await;
    assert_eq!(again["version"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_manifest_is_replaced_whole_and_leftovers_are_ignored() {
    let server = TestServer::start().await;
    server.deploy("hello", &["examples/hello"]).await;
    let state = server.stop().await;
    let manifest_path = state.path().join("manifest.json");
    let manifest: Value = serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    assert_eq!(manifest["apps"]["hello"]["version"], 1);
    // Only the manifest, the components and the results (saved, and the journal): no
    // temporary file is left.
    let mut names: Vec<String> = std::fs::read_dir(state.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "components",
            "manifest.json",
            "results.ndjson",
            "results.redb"
        ]
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&manifest_path)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the manifest is the owner's only");
    }

    // What a crash mid-write leaves: a half-written manifest and a half-uploaded component
    // beside the real ones.
    let half_manifest = state.path().join(".manifest.json.tmp-1-0");
    std::fs::write(&half_manifest, b"{\"apps\": {\"evil\": ").unwrap();
    let half_upload = state.path().join("components/.upload.tmp-1-0");
    std::fs::write(&half_upload, b"\0asm").unwrap();
    let server = TestServer::start_in(state, host_settings(), |_| {}).await;
    let (_, apps) = server.get("/v1/apps").await;
    assert_eq!(apps["apps"].as_array().unwrap().len(), 1);
    assert_eq!(apps["apps"][0]["name"], "hello");
    assert!(!half_manifest.exists() && !half_upload.exists());
    let state = server.stop().await;

    // A manifest that is not one stops the start, naming the file.
    std::fs::write(state.path().join("manifest.json"), b"{\"apps\": ").unwrap();
    let host = fnhost::Host::new(host_settings()).unwrap();
    let error = fnhost_server::Server::start(host, super::settings(state.path()))
        .await
        .err()
        .expect("a corrupt manifest is refused");
    assert!(error.to_string().contains("manifest.json"), "{error}");
}

/// A state directory is untrusted input: a component changed on disk is not run (its app is
/// skipped at start), a FIFO in place of the manifest fails the start at once (never a
/// hang), and a directory others may write is refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_state_directory_is_refused_not_run() {
    use std::os::unix::fs::PermissionsExt;
    let server = TestServer::start().await;
    server.deploy("hello", &["examples/hello"]).await;
    let state = server.stop().await;
    let component = std::fs::read_dir(state.path().join("components"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|ext| ext == "wasm"))
        .unwrap();
    // Another valid component in its place: only its hash tells it apart.
    std::fs::copy(super::component("tests/guests/calls"), &component).unwrap();
    let server = TestServer::start_in(state, host_settings(), |_| {}).await;
    let (_, apps) = server.get("/v1/apps").await;
    assert_eq!(apps["apps"], json!([]), "a changed component was loaded");
    let state = server.stop().await;

    let start = || {
        let host = fnhost::Host::new(host_settings()).unwrap();
        fnhost_server::Server::start(host, super::settings(state.path()))
    };
    let manifest = state.path().join("manifest.json");
    std::fs::remove_file(&manifest).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&manifest)
        .status()
        .unwrap();
    assert!(made.success());
    let error = start().await.err().expect("a FIFO manifest is refused");
    assert!(error.chain().contains("a FIFO"), "{}", error.chain());
    std::fs::remove_file(&manifest).unwrap();

    std::fs::set_permissions(state.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let error = start()
        .await
        .err()
        .expect("a world-writable state dir is refused");
    assert!(
        error.to_string().contains("writable by group or others"),
        "{error}"
    );
    std::fs::set_permissions(state.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(start().await.is_ok());
}

/// Files given to deploy are read as loading reads them: a device or a FIFO is refused without
/// being read or waited on, and nothing is stored or deployed.
#[tokio::test(flavor = "multi_thread")]
async fn deploying_a_special_file_fails_without_reading_it() {
    let server = TestServer::start().await;
    let fifo = server.state.path().join("fifo.wasm");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    for path in ["/dev/zero".into(), fifo] {
        let error = server
            .server
            .deploy_files("special", std::slice::from_ref(&path), &Default::default())
            .await
            .unwrap_err();
        assert!(
            error.chain().contains("not a regular file"),
            "{}: {}",
            path.display(),
            error.chain()
        );
    }
    assert!(server.host.deployed("special").is_none());
}
