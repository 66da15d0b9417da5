//! The accept loop: HTTP/1.1 connections served by the router, until told to stop.
//!
//! Invariants: a client gets the server's request timeout to send a request's head (bodies
//! have their own idle timeout, see `http::stall`), so a slow client holds a connection for
//! bounded time. When told to stop, the loop stops accepting at once, asks every connection to close
//! after the request it serves, waits for them until the deadline, then drops the ones left
//! (which cancels what their handlers were waiting on) before it returns.

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
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
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let deadline = loop {
        tokio::select! {
            deadline = &mut stop => break deadline.unwrap_or_else(|_| Instant::now()),
            accepted = listener.accept() => {
                while connections.try_join_next().is_some() {}
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(error) => {
                        tracing::warn!(%error, "cannot accept a connection");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let connection = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(head_timeout)
                    .serve_connection(TokioIo::new(stream), TowerToHyperService::new(router.clone()));
                let connection = graceful.watch(connection);
                connections.spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                });
            }
        }
    };
    drop(listener);
    if tokio::time::timeout_at(deadline, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            left = connections.len(),
            "requests still in flight at the end of the grace period: dropping them"
        );
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}
