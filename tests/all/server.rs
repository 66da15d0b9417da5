//! `fnhost serve`: the HTTP API of docs/server.md, against a real server on 127.0.0.1:0
//! (in this process, on a host of its own), real guests, and a real HTTP client.
//!
//! Apps are deployed through the API (components uploaded, then the app put), as a client
//! would. Assertions are structural — statuses, bodies, ids, pool counters — never timings:
//! what happens in the background is waited for with `eventually`.

mod apps;
mod auth;
mod calls;
mod errors;
mod fuzz;
mod keyvalue;
mod map;
mod observe;
mod persistence;
mod shutdown;
mod storage;
mod volumes;
mod web;

use fnhost::{Host, HostSettings};
use fnhost_server::{Server, ServerSettings};
use reqwest::{Client, Method, Response, StatusCode, header};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::TempDir;

/// A minute: longer than any of these tests may take, so only cancellation ends such calls.
pub const LONG_MS: u64 = 60_000;

/// A server under test, its host, its state directory and a client.
pub struct TestServer {
    pub server: Server,
    pub host: Host,
    pub base: String,
    pub client: Client,
    pub state: TempDir,
}

/// The operator token of [`TestServer::start`]'s servers.
pub const TEST_TOKEN: &str = "test-operator-token";

/// Settings for a server on a free loopback port with its state in `state`.
pub fn settings(state: &Path) -> ServerSettings {
    ServerSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        state_dir: state.to_owned(),
        ..ServerSettings::default()
    }
}

/// An HTTP client that does not follow redirects (the 303 of a long call is the answer).
pub fn client(token: Option<&str>) -> Client {
    let mut headers = header::HeaderMap::new();
    if let Some(token) = token {
        headers.insert(
            header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
    }
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// Host settings for a test server: the defaults, with fewer slots (tests make many hosts
/// at once, and each reserves address space for its slots).
pub fn host_settings() -> HostSettings {
    HostSettings {
        max_instances: 64,
        ..HostSettings::default()
    }
}

impl TestServer {
    /// A server with default settings and a token (which its client sends) in a fresh state
    /// directory.
    pub async fn start() -> TestServer {
        TestServer::start_with(host_settings(), |settings| {
            settings.token = Some(TEST_TOKEN.into());
        })
        .await
    }

    /// A server on a host with `host_settings`, its settings changed by `change`.
    pub async fn start_with(
        host_settings: HostSettings,
        change: impl FnOnce(&mut ServerSettings),
    ) -> TestServer {
        let state = tempfile::tempdir().unwrap();
        TestServer::start_in(state, host_settings, change).await
    }

    /// A server with its state in `state` (kept from an earlier server, say).
    pub async fn start_in(
        state: TempDir,
        host_settings: HostSettings,
        change: impl FnOnce(&mut ServerSettings),
    ) -> TestServer {
        let host = Host::new(host_settings).unwrap();
        let mut settings = settings(state.path());
        change(&mut settings);
        let token = settings.token.clone();
        let server = Server::start(host.clone(), settings).await.unwrap();
        TestServer {
            base: format!("http://{}", server.local_addr()),
            server,
            host,
            client: client(token.as_deref()),
            state,
        }
    }

    /// Shuts the server down gracefully; returns its state directory.
    pub async fn stop(self) -> TempDir {
        self.server.shutdown().await.unwrap();
        self.state
    }

    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request of `method` to `path`.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// Uploads the component at `wasm`; returns its id.
    pub async fn upload(&self, wasm: &Path) -> String {
        let bytes = std::fs::read(wasm).unwrap();
        let id = sha256(&bytes);
        let response = self
            .request(Method::PUT, &format!("/v1/components/{id}"))
            .header(header::CONTENT_TYPE, "application/wasm")
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert!(
            response.status() == StatusCode::CREATED || response.status() == StatusCode::OK,
            "upload: {}",
            response.status()
        );
        id
    }

    /// Deploys the guest crates `guests` (directories) as `app` through the API; returns the
    /// app as the server describes it.
    pub async fn deploy(&self, app: &str, guests: &[&str]) -> Value {
        let mut ids = Vec::new();
        for dir in guests {
            ids.push(self.upload(&fnhost_tests::guest(dir)).await);
        }
        let (status, body) = json(
            self.request(Method::PUT, &format!("/v1/apps/{app}"))
                .json(&serde_json::json!({ "components": ids }))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "deploy {app}: {body}");
        body
    }

    /// `POST /v1/apps/{app}/functions/{function}/call` with `args` as the JSON body.
    pub async fn call(&self, app: &str, function: &str, args: Value) -> (StatusCode, Value) {
        json(
            self.request(
                Method::POST,
                &format!("/v1/apps/{app}/functions/{function}/call"),
            )
            .json(&args)
            .send()
            .await
            .unwrap(),
        )
        .await
    }

    /// `POST .../spawn`; returns the call's id.
    pub async fn spawn(&self, app: &str, function: &str, args: Value) -> String {
        let (status, body) = json(
            self.request(
                Method::POST,
                &format!("/v1/apps/{app}/functions/{function}/spawn"),
            )
            .json(&args)
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        body["call_id"].as_str().unwrap().to_owned()
    }

    /// `GET /v1/calls/{id}?timeout=...`.
    pub async fn result(&self, id: &str, timeout: &str) -> (StatusCode, Value) {
        json(
            self.request(Method::GET, &format!("/v1/calls/{id}?timeout={timeout}"))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// `GET path`, as JSON.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        json(self.request(Method::GET, path).send().await.unwrap()).await
    }

    /// The function `app/function` as deployed on the server's host.
    pub fn function(&self, app: &str, function: &str) -> fnhost::Function {
        self.host.function(&format!("{app}/{function}")).unwrap()
    }
}

/// The SHA-256 of `bytes`, in hex.
pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The status and JSON body of `response`.
pub async fn json(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|error| {
            panic!(
                "{status}: not JSON ({error}): {:?}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    (status, body)
}

/// Checks that `response` is the API's error of `kind` with `status`; returns its message.
pub async fn expect_error(response: Response, status: StatusCode, kind: &str) -> String {
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap().to_owned());
    let (got, body) = json(response).await;
    assert_eq!(
        (got, body["error"]["kind"].as_str()),
        (status, Some(kind)),
        "{body}"
    );
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    body["error"]["message"].as_str().unwrap().to_owned()
}

/// The path of the guest crate `dir`'s component.
pub fn component(dir: &str) -> PathBuf {
    fnhost_tests::guest(dir)
}

/// Waits until `done` holds, checking every 20 ms; fails naming `what` after 20 s. For
/// states reached in the background, never as a timing claim.
pub async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let give_up = std::time::Instant::now() + Duration::from_secs(20);
    while !done().await {
        assert!(std::time::Instant::now() < give_up, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The events of `app`'s logs.
pub async fn logs(server: &TestServer, app: &str) -> Vec<Value> {
    let response = server
        .request(Method::GET, &format!("/v1/apps/{app}/logs"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}
