//! Sandboxes over HTTP: `/v1/sandboxes/...` (docs/server.md), Modal's `Sandbox` for clients
//! in other processes.
//!
//! Invariants: a process's stdout and stderr are answered as streams, byte for byte as the
//! process writes them, ending when it ends (or the server stops), so a client iterates
//! lines as they come and never polls; a stdin write is answered once the pipe took every
//! byte, so `drain` means the process can read them; waits are bounded (`timeout`, at most
//! [`MAX_WAIT`]), so a client's long poll never holds a connection past a shutdown.

use crate::context::Context;
use crate::http::ApiError;
use crate::http::extract::{Params, QueryParams, read_capped, read_json};
use crate::http::storage::{Answer, answer};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use bytes::Bytes;
use fnhost::sandbox::{ExecOptions, Process, Sandbox, SandboxOptions};
use fnhost::{SecretSource, VolumeMount};
use futures::stream;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// The most a wait holds its request.
const MAX_WAIT: Duration = Duration::from_secs(55);

/// The most one stdin write carries.
const STDIN_CAP: u64 = 16 << 20;

/// The most a create or exec body holds.
const BODY_CAP: u64 = 1 << 20;

/// The body of `POST /v1/sandboxes`: `Sandbox.create`'s arguments.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Create {
    app: Option<String>,
    #[serde(default)]
    command: Vec<String>,
    timeout: Option<f64>,
    idle_timeout: Option<f64>,
    workdir: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// Names of secrets in the host's store.
    #[serde(default)]
    secrets: Vec<String>,
    /// Mount path → volume name (made when missing).
    #[serde(default)]
    volumes: BTreeMap<String, String>,
    cpu: Option<f64>,
    memory: Option<u64>,
    cpu_time: Option<f64>,
    /// Python packages its `python` imports (pip's spelling).
    #[serde(default)]
    packages: Vec<String>,
}

/// The body of `POST /v1/sandboxes/{id}/exec`: `Sandbox.exec`'s arguments.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Exec {
    args: Vec<String>,
    timeout: Option<f64>,
    workdir: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    secrets: Vec<String>,
}

/// A duration in seconds, as JSON numbers give it.
fn seconds(value: Option<f64>, what: &str) -> Result<Option<Duration>, ApiError> {
    value
        .map(|seconds| {
            Duration::try_from_secs_f64(seconds).map_err(|_| {
                ApiError::bad_arguments(format!("`{what}` is seconds, at least 0 (got {seconds})"))
            })
        })
        .transpose()
}

async fn body<T: serde::de::DeserializeOwned + Default>(
    headers: &HeaderMap,
    body: Body,
) -> Result<T, ApiError> {
    match read_json(headers, body, BODY_CAP).await? {
        None => Ok(T::default()),
        Some(value) => serde_json::from_value(value)
            .map_err(|error| ApiError::bad_arguments(format!("bad body: {error}"))),
    }
}

fn named_secrets(names: Vec<String>) -> Vec<SecretSource> {
    names.into_iter().map(SecretSource::Named).collect()
}

/// `POST /v1/sandboxes`: makes a sandbox; `201 {"id": ...}` and what a listing shows.
pub(crate) async fn create(
    State(context): State<Arc<Context>>,
    headers: HeaderMap,
    request: Body,
) -> Answer {
    let create: Create = body(&headers, request).await?;
    let options = SandboxOptions {
        app: create.app,
        command: create.command,
        timeout: seconds(create.timeout, "timeout")?,
        idle_timeout: seconds(create.idle_timeout, "idle_timeout")?,
        workdir: create.workdir,
        env: create.env.into_iter().collect(),
        secrets: named_secrets(create.secrets),
        volumes: create
            .volumes
            .into_iter()
            .map(|(path, volume)| VolumeMount {
                path,
                volume,
                create_if_missing: true,
            })
            .collect(),
        cpu: create.cpu,
        memory: create.memory,
        cpu_time: seconds(create.cpu_time, "cpu_time")?,
        packages: create.packages,
    };
    let sandbox = context.host.sandboxes().create(options).await?;
    Ok((StatusCode::CREATED, axum::Json(sandbox.info())).into_response())
}

/// The query of `GET /v1/sandboxes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// Ended sandboxes too (those still kept).
    #[serde(default)]
    all: bool,
}

/// `GET /v1/sandboxes[?all=true]`: the live sandboxes (and the ended ones kept).
pub(crate) async fn list(
    State(context): State<Arc<Context>>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Answer {
    answer(json!({"sandboxes": context.host.sandboxes().list(query.all)}))
}

fn sandbox(context: &Context, id: &str) -> Result<Sandbox, ApiError> {
    Ok(context.host.sandboxes().get(id)?)
}

fn process(context: &Context, id: &str, pid: u32) -> Result<Process, ApiError> {
    let sandbox = sandbox(context, id)?;
    sandbox.touch();
    Ok(sandbox.process(pid)?)
}

/// `GET /v1/sandboxes/{id}`: what a listing shows of it, its exit once it ended.
pub(crate) async fn get(State(context): State<Arc<Context>>, Params(id): Params<String>) -> Answer {
    answer(sandbox(&context, &id)?.info())
}

/// `DELETE /v1/sandboxes/{id}`: terminates it (nothing when it ended); answers its exit.
pub(crate) async fn terminate(
    State(context): State<Arc<Context>>,
    Params(id): Params<String>,
) -> Answer {
    let sandbox = sandbox(&context, &id)?;
    sandbox.terminate().await;
    answer(json!({"exit": sandbox.poll()}))
}

/// The query of the waits.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WaitQuery {
    /// Seconds to wait at most (0: look and answer); [`MAX_WAIT`] when absent.
    timeout: Option<f64>,
}

impl WaitQuery {
    fn limit(&self) -> Result<Duration, ApiError> {
        Ok(seconds(self.timeout, "timeout")?.map_or(MAX_WAIT, |wait| wait.min(MAX_WAIT)))
    }
}

/// `POST /v1/sandboxes/{id}/wait[?timeout=S]`: `{"exit": ...}` once it ended, `{"exit":
/// null}` when it runs on past the wait.
pub(crate) async fn wait(
    State(context): State<Arc<Context>>,
    Params(id): Params<String>,
    QueryParams(query): QueryParams<WaitQuery>,
) -> Answer {
    let sandbox = sandbox(&context, &id)?;
    let exit = bounded(&context, query.limit()?, sandbox.wait()).await;
    answer(json!({"exit": exit}))
}

/// `fut`'s output, unless `limit` passes or the server begins to stop first.
async fn bounded<T>(context: &Context, limit: Duration, fut: impl Future<Output = T>) -> Option<T> {
    let mut stopping = context.stopping();
    tokio::select! {
        done = fut => Some(done),
        () = tokio::time::sleep(limit) => None,
        _ = stopping.wait_for(|stopping| *stopping) => None,
    }
}

/// `POST /v1/sandboxes/{id}/exec` `{"args": [...], ...}`: starts a process; `201 {"pid": N}`.
pub(crate) async fn exec(
    State(context): State<Arc<Context>>,
    Params(id): Params<String>,
    headers: HeaderMap,
    request: Body,
) -> Answer {
    let exec: Exec = body(&headers, request).await?;
    let options = ExecOptions {
        timeout: seconds(exec.timeout, "timeout")?,
        workdir: exec.workdir,
        env: exec.env.into_iter().collect(),
        secrets: named_secrets(exec.secrets),
    };
    let process = sandbox(&context, &id)?.exec(exec.args, options).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"pid": process.pid()})),
    )
        .into_response())
}

fn process_json(process: &Process) -> Value {
    json!({"pid": process.pid(), "args": process.args(), "exit": process.poll()})
}

/// `GET /v1/sandboxes/{id}/processes/{pid}`: its command line, its exit once it ended.
pub(crate) async fn get_process(
    State(context): State<Arc<Context>>,
    Params((id, pid)): Params<(String, u32)>,
) -> Answer {
    answer(process_json(&process(&context, &id, pid)?))
}

/// `POST /v1/sandboxes/{id}/processes/{pid}/wait[?timeout=S]`, as the sandbox's wait.
pub(crate) async fn wait_process(
    State(context): State<Arc<Context>>,
    Params((id, pid)): Params<(String, u32)>,
    QueryParams(query): QueryParams<WaitQuery>,
) -> Answer {
    let process = process(&context, &id, pid)?;
    let exit = bounded(&context, query.limit()?, process.wait()).await;
    answer(json!({"exit": exit}))
}

/// The query of a stdin write.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StdinQuery {
    /// Close the process's stdin after the bytes (`write_eof`).
    #[serde(default)]
    eof: bool,
}

/// `POST /v1/sandboxes/{id}/processes/{pid}/stdin[?eof=true]` with the bytes as the body:
/// `204` once the pipe took them all; `409` when the process's stdin is closed.
pub(crate) async fn stdin(
    State(context): State<Arc<Context>>,
    Params((id, pid)): Params<(String, u32)>,
    QueryParams(query): QueryParams<StdinQuery>,
    headers: HeaderMap,
    request: Body,
) -> Answer {
    let process = process(&context, &id, pid)?;
    let bytes = read_capped(&headers, request, STDIN_CAP).await?;
    let written = bounded(&context, MAX_WAIT, process.write_stdin(&bytes)).await;
    match written {
        Some(true) => {}
        Some(false) => {
            return Err(ApiError::bad_request(format!(
                "process {pid} of `{id}` has its stdin closed (or it ended)"
            )));
        }
        None => {
            return Err(ApiError::overloaded(format!(
                "process {pid} of `{id}` did not read its stdin in time"
            )));
        }
    }
    if query.eof {
        process.close_stdin();
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Which output of a process.
#[derive(Clone, Copy)]
enum Output {
    Stdout,
    Stderr,
}

/// `GET /v1/sandboxes/{id}/processes/{pid}/stdout`: what the process writes, streamed as it
/// writes it, until its end.
pub(crate) async fn stdout(
    State(context): State<Arc<Context>>,
    Params((id, pid)): Params<(String, u32)>,
) -> Answer {
    stream_output(&context, process(&context, &id, pid)?, Output::Stdout)
}

/// `GET /v1/sandboxes/{id}/processes/{pid}/stderr`, as stdout.
pub(crate) async fn stderr(
    State(context): State<Arc<Context>>,
    Params((id, pid)): Params<(String, u32)>,
) -> Answer {
    stream_output(&context, process(&context, &id, pid)?, Output::Stderr)
}

/// The most one piece of a streamed output carries.
const PIECE: usize = 64 << 10;

fn stream_output(context: &Context, process: Process, output: Output) -> Answer {
    let stopping = context.stopping();
    let pieces = stream::unfold(
        (process, stopping),
        move |(process, mut stopping)| async move {
            let next = async {
                match output {
                    Output::Stdout => process.read_stdout(PIECE).await,
                    Output::Stderr => process.read_stderr(PIECE).await,
                }
            };
            let piece: Option<Bytes> = tokio::select! {
                piece = next => piece,
                _ = stopping.wait_for(|stopping| *stopping) => None,
            };
            piece.map(|piece| (Ok::<Bytes, Infallible>(piece), (process, stopping)))
        },
    );
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        )],
        Body::from_stream(pieces),
    )
        .into_response())
}
