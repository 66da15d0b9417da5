//! The server's sandboxes (`/v1/sandboxes`, docs/server.md), Modal's `Sandbox` from another
//! process: made, found by id, listed, terminated; their processes started, fed and read.
//!
//! Invariant: a process's output is read as the server streams it — [`SandboxProcess::stdout`]
//! yields the bytes as the process writes them and ends when it ends — and every wait is a
//! bounded long poll repeated until it is answered, so no request outlives the server's wait
//! limit.

use crate::{Client, ClientError};
use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::pin::Pin;

/// What `Sandbox.create` takes (`POST /v1/sandboxes`); every field optional.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SandboxRequest {
    /// The app it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// An entrypoint, whose end ends the sandbox.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Its lifetime in seconds (default 300).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<f64>,
    /// Seconds it may stay idle before it ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<f64>,
    /// Its processes' working directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    /// Environment variables.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Names of the server's secrets whose variables its processes get.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// Mount path → volume name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, String>,
    /// Cores each process may use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<f64>,
    /// Its memory limit in MiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    /// CPU seconds each process may use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_time: Option<f64>,
    /// Python packages its `python` imports (pip's spelling).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
}

/// What `Sandbox.exec` takes besides the command (`POST /v1/sandboxes/{id}/exec`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExecRequest {
    /// Its timeout in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<f64>,
    /// Its working directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    /// Variables set after the sandbox's.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Secrets whose variables it gets.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
}

/// How a process or a sandbox ended, as the server reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SandboxExit {
    /// The exit code.
    pub code: i32,
    /// Why: `exited`, `timeout`, `idle`, `memory`, `cpu-time`, `trap` or `terminated`.
    pub reason: String,
    /// What went wrong, when it did not exit on its own.
    #[serde(default)]
    pub message: Option<String>,
}

/// A sandbox as the server lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SandboxSummary {
    /// Its id.
    pub id: String,
    /// Its app, if it was given one.
    #[serde(default)]
    pub app: Option<String>,
    /// When it was made, in seconds since the Unix epoch.
    pub created: u64,
    /// Processes running.
    pub running: usize,
    /// Processes started.
    pub started: u32,
    /// How it ended, if it did.
    #[serde(default)]
    pub exit: Option<SandboxExit>,
}

/// A sandbox of the server.
#[derive(Debug, Clone)]
pub struct Sandbox {
    client: Client,
    id: String,
}

/// A process of a sandbox of the server.
#[derive(Debug, Clone)]
pub struct SandboxProcess {
    client: Client,
    sandbox: String,
    pid: u32,
}

/// The bytes a process writes, as they come.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, ClientError>> + Send>>;

#[derive(Deserialize)]
struct Exited {
    exit: Option<SandboxExit>,
}

impl Client {
    /// Makes a sandbox.
    pub async fn create_sandbox(&self, request: &SandboxRequest) -> Result<Sandbox, ClientError> {
        let url = self.endpoint(&["v1", "sandboxes"]);
        let response = self
            .send(
                self.request(Method::POST, url).json(request),
                &[StatusCode::CREATED],
            )
            .await?;
        let made: SandboxSummary = self.json(response).await?;
        Ok(self.sandbox(&made.id))
    }

    /// The sandbox `id` (Modal's `Sandbox.from_id`); nothing is asked of the server yet.
    pub fn sandbox(&self, id: &str) -> Sandbox {
        Sandbox {
            client: self.clone(),
            id: id.to_owned(),
        }
    }

    /// The sandboxes alive (and, with `all`, the ended ones the server keeps).
    pub async fn sandboxes(&self, all: bool) -> Result<Vec<SandboxSummary>, ClientError> {
        #[derive(Deserialize)]
        struct Listed {
            sandboxes: Vec<SandboxSummary>,
        }
        let mut url = self.endpoint(&["v1", "sandboxes"]);
        if all {
            url.set_query(Some("all=true"));
        }
        let response = self
            .send(self.request(Method::GET, url), &[StatusCode::OK])
            .await?;
        let listed: Listed = self.json(response).await?;
        Ok(listed.sandboxes)
    }

    /// The exit `POST url` answers (a bounded long poll), asked again until there is one.
    async fn wait_exit(&self, url: reqwest::Url) -> Result<SandboxExit, ClientError> {
        loop {
            if let Some(exit) = self.exit_at(url.clone()).await? {
                return Ok(exit);
            }
        }
    }

    /// The exit `POST url?timeout=0` answers: none while it runs.
    async fn poll_exit(&self, mut url: reqwest::Url) -> Result<Option<SandboxExit>, ClientError> {
        url.set_query(Some("timeout=0"));
        self.exit_at(url).await
    }

    async fn exit_at(&self, url: reqwest::Url) -> Result<Option<SandboxExit>, ClientError> {
        let response = self
            .send(self.request(Method::POST, url), &[StatusCode::OK])
            .await?;
        let exited: Exited = self.json(response).await?;
        Ok(exited.exit)
    }
}

impl Sandbox {
    /// Its id.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn url(&self, rest: &[&str]) -> reqwest::Url {
        let mut segments = vec!["v1", "sandboxes", self.id.as_str()];
        segments.extend_from_slice(rest);
        self.client.endpoint(&segments)
    }

    /// What the server lists of it.
    pub async fn describe(&self) -> Result<SandboxSummary, ClientError> {
        let request = self.client.request(Method::GET, self.url(&[]));
        let response = self.client.send(request, &[StatusCode::OK]).await?;
        self.client.json(response).await
    }

    /// Starts `args` in it.
    pub async fn exec(
        &self,
        args: &[&str],
        options: &ExecRequest,
    ) -> Result<SandboxProcess, ClientError> {
        let mut body = serde_json::to_value(options).unwrap_or_default();
        body["args"] = json!(args);
        let request = self
            .client
            .request(Method::POST, self.url(&["exec"]))
            .json(&body);
        let response = self.client.send(request, &[StatusCode::CREATED]).await?;
        #[derive(Deserialize)]
        struct Started {
            pid: u32,
        }
        let started: Started = self.client.json(response).await?;
        Ok(SandboxProcess {
            client: self.client.clone(),
            sandbox: self.id.clone(),
            pid: started.pid,
        })
    }

    /// How it ended, waiting until it does.
    pub async fn wait(&self) -> Result<SandboxExit, ClientError> {
        self.client.wait_exit(self.url(&["wait"])).await
    }

    /// How it ended, if it did.
    pub async fn poll(&self) -> Result<Option<SandboxExit>, ClientError> {
        self.client.poll_exit(self.url(&["wait"])).await
    }

    /// Terminates it; answers its exit.
    pub async fn terminate(&self) -> Result<Option<SandboxExit>, ClientError> {
        let request = self.client.request(Method::DELETE, self.url(&[]));
        let response = self.client.send(request, &[StatusCode::OK]).await?;
        let exited: Exited = self.client.json(response).await?;
        Ok(exited.exit)
    }
}

impl SandboxProcess {
    /// Its number in its sandbox.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    fn url(&self, last: &str) -> reqwest::Url {
        let pid = self.pid.to_string();
        self.client
            .endpoint(&["v1", "sandboxes", &self.sandbox, "processes", &pid, last])
    }

    /// Writes `bytes` to its stdin (and closes it after, with `eof`); answered once the
    /// process's pipe took them.
    pub async fn write_stdin(&self, bytes: impl Into<Bytes>, eof: bool) -> Result<(), ClientError> {
        let mut url = self.url("stdin");
        if eof {
            url.set_query(Some("eof=true"));
        }
        let request = self
            .client
            .request(Method::POST, url)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes.into());
        self.client
            .send(request, &[StatusCode::NO_CONTENT])
            .await
            .map(drop)
    }

    /// Its stdout, as it writes it, until its end.
    pub async fn stdout(&self) -> Result<ByteStream, ClientError> {
        self.output("stdout").await
    }

    /// Its stderr, as it writes it, until its end.
    pub async fn stderr(&self) -> Result<ByteStream, ClientError> {
        self.output("stderr").await
    }

    async fn output(&self, which: &str) -> Result<ByteStream, ClientError> {
        let request = self.client.request(Method::GET, self.url(which));
        let response = self.client.send(request, &[StatusCode::OK]).await?;
        let client = self.client.clone();
        Ok(Box::pin(
            response
                .bytes_stream()
                .map_err(move |error| client.transport(error)),
        ))
    }

    /// How it ended, waiting until it does.
    pub async fn wait(&self) -> Result<SandboxExit, ClientError> {
        self.client.wait_exit(self.url("wait")).await
    }

    /// How it ended, if it did.
    pub async fn poll(&self) -> Result<Option<SandboxExit>, ClientError> {
        self.client.poll_exit(self.url("wait")).await
    }
}
