//! The server's rows: the call endpoint against a bare handler of the same HTTP stack, the
//! spawn → `GET /v1/calls/{id}` round trip, and (group `retained`, run early) host memory per
//! retained result.
//!
//! One load generator drives both servers in the same run: `connections` tasks, each with one
//! HTTP/1.1 connection (hyper's client), sending requests back to back for a fixed time. The
//! bare handler is an axum route on hyper, as fnhost's server is, answering the same JSON
//! (`null`, what `noop` returns) without calling anything: the ratio is what fnhost costs
//! beyond HTTP itself. Both servers, the generator and the guests share this process's two
//! cores, so absolute figures are lower than a separate load machine would show.

use crate::Report;
use axum::Router;
use axum::routing::post;
use bytes::Bytes;
use fnhost::{CompileCache, FunctionCall, Host, HostSettings};
use fnhost_server::{Server, ServerSettings};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

/// The path both servers answer.
const CALL: &str = "/v1/apps/bench/functions/noop/call";

/// A server of `host` on a free loopback port, its state in `state`.
pub(crate) async fn start_server(host: Host, state: &Path) -> Server {
    Server::start(
        host,
        ServerSettings {
            listen: "127.0.0.1:0".parse().unwrap(),
            state_dir: state.to_owned(),
            ..ServerSettings::default()
        },
    )
    .await
    .unwrap()
}

pub(crate) async fn server(report: &mut Report, bench: &Path, cache: &CompileCache, quick: bool) {
    let state = tempfile::tempdir().unwrap();
    let host = Host::new(HostSettings {
        cache: cache.clone(),
        ..HostSettings::default()
    })
    .unwrap();
    let server = start_server(host.clone(), state.path()).await;
    server
        .deploy_files("bench", &[bench.to_owned()], &Default::default())
        .await
        .unwrap();
    host.function("bench/noop")
        .unwrap()
        .warm_up(1)
        .await
        .unwrap();
    let bare = bare_handler().await;
    let seconds = if quick { 1 } else { 4 };

    let call = Target::post_json(CALL, b"null");
    for connections in [1, 64] {
        let fnhost = load(server.local_addr(), &call, connections, seconds).await;
        let baseline = load(bare, &call, connections, seconds).await;
        let label = format!("HTTP call, {connections} conn.");
        let key = format!("http_call_c{connections}");
        report.row(
            &format!("{key}_rps"),
            &format!("{label}: requests/s"),
            fnhost.rate,
            "req/s",
            &format!("bare handler {:.0}", baseline.rate),
        );
        report.row(
            &format!("{key}_p50_us"),
            &format!("{label}: p50"),
            fnhost.p50,
            "µs",
            &format!("bare handler {:.1}", baseline.p50),
        );
        report.row(
            &format!("{key}_p99_us"),
            &format!("{label}: p99"),
            fnhost.p99,
            "µs",
            &format!("bare handler {:.1}", baseline.p99),
        );
        report.row(
            &format!("{key}_vs_bare"),
            &format!("{label}: fnhost / bare (req/s)"),
            fnhost.rate / baseline.rate,
            "x",
            "goal >= 0.7",
        );
    }

    spawn_then_get(report, server.local_addr(), if quick { 200 } else { 2_000 }).await;
    server.shutdown().await.unwrap();
}

/// The request a load run repeats: `method path`, with `body` as JSON when it is not empty.
#[derive(Clone)]
pub(crate) struct Target {
    method: Method,
    path: &'static str,
    body: &'static [u8],
}

impl Target {
    /// `GET path`, without a body.
    pub(crate) fn get(path: &'static str) -> Target {
        Target {
            method: Method::GET,
            path,
            body: b"",
        }
    }

    /// `POST path` with the JSON `body`.
    pub(crate) fn post_json(path: &'static str, body: &'static [u8]) -> Target {
        Target {
            method: Method::POST,
            path,
            body,
        }
    }

    fn request(&self) -> Request<Full<Bytes>> {
        let mut request = Request::builder()
            .method(self.method.clone())
            .uri(self.path)
            .header("host", "bench");
        if !self.body.is_empty() {
            request = request.header("content-type", "application/json");
        }
        request
            .body(Full::new(Bytes::from_static(self.body)))
            .unwrap()
    }
}

/// What one load run measured: requests/s, and latencies in µs.
pub(crate) struct Load {
    pub(crate) rate: f64,
    pub(crate) p50: f64,
    pub(crate) p99: f64,
}

/// `connections` connections to `addr` sending `target` back to back for `seconds`.
pub(crate) async fn load(
    addr: SocketAddr,
    target: &Target,
    connections: usize,
    seconds: u64,
) -> Load {
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(connection(addr, target.clone(), until)))
        .collect();
    let mut samples = Vec::new();
    for worker in workers {
        samples.extend(worker.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    samples.sort_unstable();
    let at = |fraction: f64| {
        let index = ((samples.len() as f64 * fraction) as usize).min(samples.len() - 1);
        samples[index].as_secs_f64() * 1e6
    };
    Load {
        rate: samples.len() as f64 / elapsed,
        p50: at(0.50),
        p99: at(0.99),
    }
}

/// One connection's requests of `target` until `until`, each one's latency.
async fn connection(addr: SocketAddr, target: Target, until: Instant) -> Vec<Duration> {
    let stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    let mut samples = Vec::new();
    while Instant::now() < until {
        let request = target.request();
        let start = Instant::now();
        let response = sender.send_request(request).await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        response.into_body().collect().await.unwrap();
        samples.push(start.elapsed());
    }
    samples
}

/// A bare axum handler on hyper answering `null`, as `noop`'s call does.
async fn bare_handler() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Router::new().route(
        CALL,
        post(|| async { ([("content-type", "application/json")], "null") }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// `POST .../spawn` then `GET /v1/calls/{id}?timeout=5s`, one pair at a time (median).
async fn spawn_then_get(report: &mut Report, addr: SocketAddr, count: usize) {
    let stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let start = Instant::now();
        let spawn = Request::post("/v1/apps/bench/functions/noop/spawn")
            .header("host", "bench")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(b"null")))
            .unwrap();
        let response = sender.send_request(spawn).await.unwrap();
        assert_eq!(response.status(), 202);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let spawned: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let id = spawned["call_id"].as_str().unwrap();
        let get = Request::get(format!("/v1/calls/{id}?timeout=5s"))
            .header("host", "bench")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = sender.send_request(get).await.unwrap();
        assert_eq!(response.status(), 200);
        response.into_body().collect().await.unwrap();
        samples.push(start.elapsed());
    }
    let p50 = crate::median(samples);
    report.row(
        "http_spawn_get_us",
        "HTTP spawn -> GET result round trip (p50)",
        crate::micros(p50),
        "µs",
        "two requests on one connection",
    );
}

/// Resident memory grown per finished spawned call kept by the host, for `count` calls of
/// `noop` (a 4-byte result) spawned through the library on a host of their own. Run early in
/// the process (as the idle-container row is): memory freed by earlier rows would be reused
/// and hide the growth.
pub(crate) async fn retained_memory(
    report: &mut Report,
    bench: &Path,
    cache: &CompileCache,
    count: usize,
) {
    let host = Host::new(HostSettings {
        cache: cache.clone(),
        ..HostSettings::default()
    })
    .unwrap();
    let app = host.app().load([bench]).await.unwrap();
    let noop = app.function("noop").unwrap();
    noop.remote::<()>(()).await.unwrap();
    let before = resident_bytes();
    for _ in 0..count {
        let call: FunctionCall<()> = noop.spawn(()).unwrap();
        call.get().await.unwrap();
    }
    while host.retained_stats().running > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let after = resident_bytes();
    assert!(host.retained_stats().finished >= count);
    report.row(
        "retained_bytes_per_call",
        "host memory per retained result",
        after.saturating_sub(before) as f64 / count as f64,
        "bytes",
        &format!("resident growth over {count} kept calls"),
    );
}

/// The process's resident set, from /proc.
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|pages| pages.parse().ok())
        .unwrap_or(0);
    pages * 4096
}
