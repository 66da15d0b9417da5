//! The web rows (group `web`): a wasi:http hello (examples/http-hello) served by fnhost's
//! server at `/web/hello/` against the same component under `wasmtime serve` 48.0.8, and a
//! `#[function(web)]` endpoint (examples/web-endpoints' `square`) through fnhost's server.
//!
//! The same load generator as the server's rows (`http::load`, 64 connections sending requests
//! back to back) drives every server in one run. `wasmtime serve` runs twice: with its
//! defaults, and with `--max-instance-reuse-count 100000`, its best instance reuse for a
//! wasi:http 0.2 handler (fnhost reuses instances as a function's pool does). Its binary is
//! `$FNHOST_WASMTIME`, else `wasmtime` on the PATH, and must be 48.0.8 (the wasmtime fnhost
//! embeds); without it those rows are skipped, saying how to install it. fnhost's server runs
//! twice: in this process, on the load generator's runtime (beside the `#[function(web)]` row),
//! and as the `fnhost serve` command, a process of its own like `wasmtime serve`: the ratios
//! compare the two processes. Either way servers and load generator share the two cores.
//!
//! The echo rows stream a body through tests/guests/http-handler's `/echo` (1 GiB; 64 MiB
//! with `--quick`) under both commands, each a process of its own, and compare how much each
//! process's resident memory grew at its peak while the body went through.

use crate::Report;
use crate::http::{Load, Target, load, start_server};
use crate::run::cargo_build;
use bytes::Bytes;
use fnhost::{CompileCache, Host, HostSettings};
use fnhost_tests::{guest, workspace};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The wasmtime whose `serve` fnhost is compared with: the one it embeds.
const WASMTIME_VERSION: &str = "48.0.8";

/// Connections of every load run.
const CONNECTIONS: usize = 64;

pub(crate) async fn web(report: &mut Report, cache: &CompileCache, quick: bool) {
    let hello = guest("examples/http-hello");
    let endpoints = guest("examples/web-endpoints");
    let seconds = if quick { 1 } else { 4 };
    let state = tempfile::tempdir().unwrap();
    let host = Host::new(HostSettings {
        cache: cache.clone(),
        ..HostSettings::default()
    })
    .unwrap();
    let server = start_server(host, state.path()).await;
    server
        .deploy_files("hello", std::slice::from_ref(&hello), &Default::default())
        .await
        .unwrap();
    server
        .deploy_files("endpoints", &[endpoints], &Default::default())
        .await
        .unwrap();

    let handler = Target::get("/web/hello/");
    let function = Target::get("/web/endpoints/square?x=2");
    // Warm: one instance started, compiled code loaded, before anything is timed.
    load(server.local_addr(), &handler, 1, 1).await;
    load(server.local_addr(), &function, 1, 1).await;
    let fnhost = load(server.local_addr(), &handler, CONNECTIONS, seconds).await;
    rows(
        report,
        "web_wasi_http_fnhost",
        "wasi:http hello, fnhost serve",
        &fnhost,
        "",
    );
    let endpoint = load(server.local_addr(), &function, CONNECTIONS, seconds).await;
    rows(
        report,
        "web_function_fnhost",
        "#[function(web)] square, fnhost serve",
        &endpoint,
        "",
    );
    server.shutdown().await.unwrap();

    // The same component under the `fnhost` command, a process of its own as `wasmtime serve`
    // is: the comparison below is between these two.
    cargo_build(&["-p", "fnhost-cli"]);
    let process_state = tempfile::tempdir().unwrap();
    let fnhost_process = {
        let serving = ServeProcess::start("fnhost serve", "/web/hello/", |addr| {
            let mut command = Command::new(workspace().join("target/release/fnhost"));
            command
                .arg("serve")
                .arg(&hello)
                .args(["--name", "hello", "--listen", &addr.to_string()])
                .arg("--state-dir")
                .arg(process_state.path())
                .env("FNHOST_CACHE_DIR", process_state.path().join("cache"));
            command
        })
        .await;
        load(serving.addr, &handler, 1, 1).await;
        load(serving.addr, &handler, CONNECTIONS, seconds).await
    };
    rows(
        report,
        "web_wasi_http_fnhost_process",
        "wasi:http hello, fnhost serve process",
        &fnhost_process,
        "the fnhost command",
    );

    let echo_bytes: u64 = if quick { 64 << 20 } else { 1 << 30 };
    let fnhost_echo = {
        let handler = guest("tests/guests/http-handler");
        let serve = |addr: SocketAddr| {
            let mut command = Command::new(workspace().join("target/release/fnhost"));
            command
                .arg("serve")
                .arg(&handler)
                .args(["--name", "h", "--listen", &addr.to_string()])
                .arg("--state-dir")
                .arg(process_state.path().join("echo"))
                .env("FNHOST_CACHE_DIR", process_state.path().join("cache"));
            command
        };
        // Once to fill the compile cache, as a deployed app's restart finds it: what the
        // compiler left in the allocator is not the echo's.
        drop(ServeProcess::start("fnhost serve", "/web/h/", serve).await);
        let serving = ServeProcess::start("fnhost serve", "/web/h/", serve).await;
        echo_memory(&serving, "/web/h/echo", echo_bytes).await
    };
    echo_rows(report, "fnhost", "fnhost serve", &fnhost_echo, echo_bytes);

    let Some(wasmtime) = wasmtime() else {
        println!(
            "(wasmtime serve rows skipped: no wasmtime {WASMTIME_VERSION} in FNHOST_WASMTIME or \
             on the PATH; install it with `cargo install wasmtime-cli@{WASMTIME_VERSION} --locked \
             --no-default-features --features run,serve,cranelift,component-model,\
             component-model-async,pooling-allocator,parallel-compilation`)"
        );
        return;
    };
    // (key, label, the options beside `-Scli`).
    let configurations: [(&str, &str, &[&str]); 2] = [
        ("default", "", &[]),
        ("reuse", " reuse", &["--max-instance-reuse-count", "100000"]),
    ];
    for (key, label, args) in configurations {
        let serving = ServeProcess::start("wasmtime serve", "/", |addr| {
            let mut command = Command::new(&wasmtime);
            command
                .args(["serve", "-Scli", "--addr", &addr.to_string()])
                .args(args)
                .arg(&hello);
            command
        })
        .await;
        let root = Target::get("/");
        load(serving.addr, &root, 1, 1).await;
        let raw = load(serving.addr, &root, CONNECTIONS, seconds).await;
        let options = if args.is_empty() {
            "its defaults".to_owned()
        } else {
            args.join(" ")
        };
        rows(
            report,
            &format!("web_wasi_http_wasmtime_{key}"),
            &format!("wasi:http hello, wasmtime serve{label}"),
            &raw,
            &options,
        );
        report.row(
            &format!("web_wasi_http_vs_wasmtime_{key}"),
            &format!("wasi:http hello: fnhost / wasmtime serve{label}"),
            fnhost_process.rate / raw.rate,
            "x",
            &format!("requests/s, both servers processes; wasmtime serve with {options}"),
        );
    }
    let wasmtime_echo = {
        let handler = guest("tests/guests/http-handler");
        let serving = ServeProcess::start("wasmtime serve", "/", |addr| {
            let mut command = Command::new(&wasmtime);
            command
                .args(["serve", "-Scli", "--addr", &addr.to_string()])
                .arg(&handler);
            command
        })
        .await;
        echo_memory(&serving, "/echo", echo_bytes).await
    };
    echo_rows(
        report,
        "wasmtime",
        "wasmtime serve",
        &wasmtime_echo,
        echo_bytes,
    );
    report.row(
        "web_echo_growth_vs_wasmtime",
        "wasi:http echo: fnhost / wasmtime serve, resident memory grown",
        fnhost_echo.grown_mib / wasmtime_echo.grown_mib.max(1.0),
        "x",
        "peak resident memory grown while the body streamed, both servers processes",
    );
    report.row(
        "web_echo_peak_vs_wasmtime",
        "wasi:http echo: fnhost / wasmtime serve, resident memory at its peak",
        (fnhost_echo.before_mib + fnhost_echo.grown_mib)
            / (wasmtime_echo.before_mib + wasmtime_echo.grown_mib),
        "x",
        "whole processes, each with its compiled component (wasmtime serve compiles at start)",
    );
}

/// What a server process's resident memory did while a body streamed through its echo.
struct EchoMemory {
    /// Its resident memory before the body, MiB.
    before_mib: f64,
    /// How much more it held at its peak, MiB.
    grown_mib: f64,
}

/// The echo rows of one server.
fn echo_rows(report: &mut Report, key: &str, label: &str, echo: &EchoMemory, bytes: u64) {
    let note = format!("{} MiB streamed through /echo", bytes >> 20);
    report.row(
        &format!("web_echo_{key}_grown_mib"),
        &format!("wasi:http echo, {label}: resident memory grown"),
        echo.grown_mib,
        "MiB",
        &note,
    );
    report.row(
        &format!("web_echo_{key}_before_mib"),
        &format!("wasi:http echo, {label}: resident memory before"),
        echo.before_mib,
        "MiB",
        &note,
    );
    report.row(
        &format!("web_echo_{key}_peak_mib"),
        &format!("wasi:http echo, {label}: resident memory at its peak"),
        echo.before_mib + echo.grown_mib,
        "MiB",
        &note,
    );
}

/// Streams `bytes` through `path`, an echo, on `serving`, once a small body went through (so
/// that an instance is warm): the process's memory before and at its peak.
async fn echo_memory(serving: &ServeProcess, path: &str, bytes: u64) -> EchoMemory {
    echo(serving.addr, path, 1 << 20).await;
    let pid = serving.child.id();
    // Resets the process's peak resident set (VmHWM) to its current one.
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
    let before = status_kib(pid, "VmRSS");
    echo(serving.addr, path, bytes).await;
    let peak = status_kib(pid, "VmHWM");
    EchoMemory {
        before_mib: before as f64 / 1024.0,
        grown_mib: peak.saturating_sub(before) as f64 / 1024.0,
    }
}

/// Sends `bytes` of zeros to the echo at `path` on `addr` while reading the echo back, and
/// checks that all of it came back.
async fn echo(addr: SocketAddr, path: &str, bytes: u64) {
    static ZEROS: [u8; 1 << 20] = [0; 1 << 20];
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let frames = futures::stream::iter(
        (0..bytes >> 20).map(|_| Ok::<_, Infallible>(Frame::data(Bytes::from_static(&ZEROS)))),
    );
    let request = hyper::Request::post(path)
        .header("host", "localhost")
        .body(StreamBody::new(frames))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let mut body = response.into_body();
    let mut echoed = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            echoed += data.len() as u64;
        }
    }
    assert_eq!(echoed, bytes, "the echo gave back a different length");
}

/// The field `name` of process `pid`'s /proc status, in KiB.
fn status_kib(pid: u32, name: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
}

/// Requests/s, p50 and p99 of one load run, as three rows.
fn rows(report: &mut Report, key: &str, label: &str, load: &Load, note: &str) {
    let note = if note.is_empty() {
        format!("{CONNECTIONS} conn.")
    } else {
        format!("{CONNECTIONS} conn., {note}")
    };
    report.row(
        &format!("{key}_rps"),
        &format!("{label}: req/s"),
        load.rate,
        "req/s",
        &note,
    );
    report.row(
        &format!("{key}_p50_us"),
        &format!("{label}: p50"),
        load.p50,
        "µs",
        &note,
    );
    report.row(
        &format!("{key}_p99_us"),
        &format!("{label}: p99"),
        load.p99,
        "µs",
        &note,
    );
}

/// The wasmtime CLI to compare with, if there is one of the right version: `$FNHOST_WASMTIME`,
/// else `wasmtime` on the PATH.
fn wasmtime() -> Option<std::ffi::OsString> {
    let wasmtime = std::env::var_os("FNHOST_WASMTIME").unwrap_or_else(|| "wasmtime".into());
    let output = Command::new(&wasmtime).arg("--version").output().ok()?;
    let version = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || !version.contains(WASMTIME_VERSION) {
        println!(
            "(found {:?}: {}, not {WASMTIME_VERSION})",
            wasmtime,
            version.trim()
        );
        return None;
    }
    Some(wasmtime)
}

/// A server process (`wasmtime serve`, `fnhost serve`), killed when dropped.
struct ServeProcess {
    child: Child,
    addr: SocketAddr,
}

impl ServeProcess {
    /// Runs the command `serve` makes for a free loopback address, once `GET ready` answers
    /// `200` there (a server may listen before its app is deployed).
    async fn start(
        what: &str,
        ready: &str,
        serve: impl FnOnce(SocketAddr) -> Command,
    ) -> ServeProcess {
        // A port free now; the server binds it itself.
        let addr = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let child = serve(addr)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("{what} starts: {error}"));
        let mut serving = ServeProcess { child, addr };
        // It compiles the component before it listens.
        let give_up = Instant::now() + Duration::from_secs(120);
        while !answers_ok(addr, ready).await {
            if let Some(status) = serving.child.try_wait().unwrap() {
                panic!("{what} exited before listening: {status}");
            }
            assert!(Instant::now() < give_up, "{what} never listened on {addr}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        serving
    }
}

/// Whether `GET path` at `addr` answers `200`.
async fn answers_ok(addr: SocketAddr, path: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return false;
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    answer.starts_with(b"HTTP/1.1 200")
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
