//! Stalled request bodies: every body is wrapped so that a read waiting longer than the
//! server's request timeout for its next frame fails, and the request with it.
//!
//! Invariant: no handler waits on a client's body for longer than the request timeout without
//! a frame arriving, except a sandbox process's stdin, which a person may be typing into (its
//! silence holds one pipe, never a slot). Without it, clients that open requests and stop
//! sending would hold the server's tasks and an app's web slots for as long as they like.

use crate::context::Context;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;
use tower_http::timeout::{TimeoutBody, TimeoutError};

/// Wraps the request's body in the server's idle timeout (but a process's stdin).
pub(crate) async fn cut_stalled_bodies(
    State(context): State<Arc<Context>>,
    request: Request,
    next: Next,
) -> Response {
    if is_stdin(request.uri().path()) {
        return next.run(request).await;
    }
    let idle = context.body_idle;
    next.run(request.map(|body| Body::new(TimeoutBody::new(idle, body))))
        .await
}

/// Whether `path` is a sandbox process's stdin (`/v1/sandboxes/{id}/processes/{pid}/stdin`).
fn is_stdin(path: &str) -> bool {
    path.starts_with("/v1/sandboxes/") && path.ends_with("/stdin")
}

/// Whether a body's read failed because it stalled.
pub(crate) fn stalled(error: &axum::Error) -> bool {
    std::error::Error::source(error).is_some_and(|inner| inner.is::<TimeoutError>())
}
