//! The accept loop: HTTP/1.1 connections served by the router, until told to stop.
//!
//! Invariants: a client gets the server's request timeout to send a request's head (bodies
//! have their own idle timeout, see `http::stall`), so a slow client holds a connection for
//! bounded time; every answer, hyper's own to a bad head included, is the API's (see
//! [`answers`]). When told to stop, the loop stops accepting at once, asks every connection to
//! close after the request it serves, waits for them until the deadline, then drops the ones
//! left (which cancels what their handlers were waiting on) before it returns.

mod answers;

use answers::{AnsweringIo, Lookalikes, WatchedRouter};
use axum::Router;
use axum::http::StatusCode;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// How long the loop pauses after failing to accept (out of file descriptors, say).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `router` on `listener` until `stop` gives a deadline (or is dropped: at once);
/// a request's head must arrive within `head_timeout`.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    head_timeout: Duration,
    mut stop: oneshot::Receiver<Instant>,
) {
    let (stopping, stop_asked) = watch::channel(false);
    let mut connections = JoinSet::new();
    let deadline = loop {
        tokio::select! {
            deadline = &mut stop => break deadline.unwrap_or_else(|_| Instant::now()),
            accepted = listener.accept() => {
                while connections.try_join_next().is_some() {}
                match accepted {
                    Ok((stream, _)) => {
                        connections.spawn(connection(
                            stream,
                            router.clone(),
                            head_timeout,
                            stop_asked.clone(),
                        ));
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cannot accept a connection");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                }
            }
        }
    };
    drop(listener);
    stopping.send_replace(true);
    let all_ended = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout_at(deadline, all_ended).await.is_err() {
        tracing::warn!(
            left = connections.len(),
            "requests still in flight at the end of the grace period: dropping them"
        );
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

/// Serves one connection until it ends, closing it after the request it serves once
/// `stop_asked` turns true; a head begun and not finished in time is answered `408`.
async fn connection(
    stream: TcpStream,
    router: Router,
    head_timeout: Duration,
    mut stop_asked: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let lookalikes = Arc::new(Lookalikes::default());
    let io = AnsweringIo::new(stream, Arc::clone(&lookalikes));
    let mut connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(head_timeout)
        .serve_connection(TokioIo::new(io), WatchedRouter::new(router, lookalikes));
    let mut closing = false;
    let ended = loop {
        tokio::select! {
            biased;
            ended = poll_fn(|cx| connection.poll_without_shutdown(cx)) => break ended,
            _ = stop_asked.wait_for(|asked| *asked), if !closing => {
                closing = true;
                std::pin::Pin::new(&mut connection).graceful_shutdown();
            }
        }
    };
    let parts = connection.into_parts();
    let head_begun = !parts.read_buf.is_empty();
    let mut io = parts.io.into_inner();
    // A client that reads nothing holds the last bytes for at most the head timeout.
    let closed = tokio::time::timeout(head_timeout, async move {
        let _ = io.flush().await;
        let mut stream = io.into_inner();
        if let Err(error) = ended {
            tracing::debug!(%error, "connection ended with an error");
            if error.is_timeout() && head_begun {
                let answer = answers::protocol_answer(StatusCode::REQUEST_TIMEOUT);
                let _ = stream.write_all(&answer).await;
            }
        }
        let _ = stream.shutdown().await;
    });
    let _ = closed.await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::Request;
    use axum::response::Response;
    use axum::routing::{get, post};
    use std::net::SocketAddr;
    use tokio::io::AsyncReadExt;

    /// The head hyper answers for itself with a `400`: a header line without a colon.
    const BAD_HEAD: &[u8] = b"GET /ok HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n";

    /// Serves a router with `/ok`, `/empty-400` (no body, no headers) and `/echo` (the request's
    /// body streamed back) on a
    /// loopback port, with a head timeout of 200 ms.
    async fn server() -> (SocketAddr, oneshot::Sender<Instant>) {
        let router = Router::new()
            .route("/ok", get(|| async { "ok" }))
            .route("/empty-400", get(|| async { StatusCode::BAD_REQUEST }))
            .route(
                "/echo",
                post(|request: Request| async { Response::new(request.into_body()) }),
            );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(serve(listener, router, Duration::from_millis(200), stopped));
        (address, stop)
    }

    /// Sends `request` on a new connection and reads until the server closes it.
    async fn exchange(address: SocketAddr, request: &[u8]) -> String {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// The kind of the JSON error ending `answer`.
    fn error_kind(answer: &str) -> String {
        let (_, body) = answer.rsplit_once("\r\n\r\n").unwrap();
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        body["error"]["kind"].as_str().unwrap().to_owned()
    }

    #[tokio::test]
    async fn heads_hyper_refuses_get_the_apis_error() {
        let (address, _stop) = server().await;
        let answer = exchange(address, BAD_HEAD).await;
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        assert_eq!(error_kind(&answer), "bad-request");

        let huge = format!(
            "GET /ok HTTP/1.1\r\nHost: x\r\nx: {}\r\n\r\n",
            "a".repeat(1 << 19)
        );
        let answer = exchange(address, huge.as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
        assert_eq!(error_kind(&answer), "head-too-large");

        // After an answered request on the same connection, sent in one write.
        let pipelined = [b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n", BAD_HEAD].concat();
        let answer = exchange(address, &pipelined).await;
        let (first, second) = answer.split_at(answer.find("HTTP/1.1 400").unwrap());
        assert!(first.starts_with("HTTP/1.1 200 OK\r\n") && first.ends_with("\r\n\r\nok"));
        assert_eq!(error_kind(second), "bad-request");
    }

    #[tokio::test]
    async fn responses_of_ours_shaped_like_hypers_answers_are_never_rewritten() {
        let (address, _stop) = server().await;
        // A body whose bytes end like hyper's answer, in a write of its own: the echo streams
        // the request's body back, and the second part is sent once the first came back.
        let echoed = "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Mon, 07 Dec 2026 23:59:59 GMT\r\n\r\n";
        let mut stream = TcpStream::connect(address).await.unwrap();
        let head = format!(
            "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\nx",
            1 + echoed.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        while !answer.ends_with(b"\r\n\r\nx") {
            let mut part = [0; 1024];
            let read = stream.read(&mut part).await.unwrap();
            assert_ne!(read, 0, "{}", String::from_utf8_lossy(&answer));
            answer.extend_from_slice(&part[..read]);
        }
        stream.write_all(echoed.as_bytes()).await.unwrap();
        stream.read_to_end(&mut answer).await.unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with(&format!("\r\n\r\nx{echoed}")), "{answer}");

        // An empty 400 of ours goes out as is; hyper's answer after it on that connection
        // too (the writer cannot tell them apart any more, so it leaves both alone).
        let request = [b"GET /empty-400 HTTP/1.1\r\nHost: x\r\n\r\n", BAD_HEAD].concat();
        let answer = exchange(address, &request).await;
        assert_eq!(answer.matches("HTTP/1.1 400 Bad Request\r\n").count(), 2);
        assert!(!answer.contains("error"), "{answer}");
    }

    #[tokio::test]
    async fn a_head_begun_and_not_finished_in_time_is_answered_408_and_an_idle_one_closed() {
        let (address, _stop) = server().await;
        let answer = exchange(address, b"GET /ok HTTP/1.1\r\nHost: x\r\n").await;
        assert!(
            answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
            "{answer}"
        );
        assert_eq!(error_kind(&answer), "request-timeout");

        let answer = exchange(address, b"").await;
        assert_eq!(answer, "");
        let answer = exchange(address, b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(
            answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.ends_with("ok"),
            "{answer}"
        );
    }
}
