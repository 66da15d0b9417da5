//! What stands before every route: the token check, the refusal while stopping, and the net
//! that turns a panic into an error answer.
//!
//! Invariants: with a token, no route but `GET /healthz` runs for a request without it, and
//! the answer to such a request says nothing but `unauthorized`; the token is compared in
//! constant time (as SHA-256 digests, so its length does not leak either). A panic in a
//! handler answers `internal` on its request and leaves the server serving.

use crate::context::Context;
use crate::http::error::ApiError;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use sha2::{Digest, Sha256};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The one route open without the token.
const OPEN: &str = "/healthz";

/// Refuses requests without the server's token, if it has one.
pub(crate) async fn authorize(
    State(context): State<Arc<Context>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = &context.token else {
        return next.run(request).await;
    };
    if request.uri().path() == OPEN {
        return next.run(request).await;
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    let Some(given) = given else {
        return ApiError::unauthorized().into_response();
    };
    let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
    if bool::from(given.ct_eq(expected)) {
        next.run(request).await
    } else {
        ApiError::unauthorized().into_response()
    }
}

/// Refuses requests once the server is shutting down.
pub(crate) async fn refuse_when_stopping(
    State(context): State<Arc<Context>>,
    request: Request,
    next: Next,
) -> Response {
    if context.is_stopping() {
        return ApiError::unavailable().into_response();
    }
    next.run(request).await
}

/// Answers `internal` for a request whose handler panicked.
pub(crate) async fn catch_panics(request: Request, next: Next) -> Response {
    let route = format!("{} {}", request.method(), request.uri().path());
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(%route, "a request handler panicked");
            ApiError::internal("the server failed on this request").into_response()
        }
    }
}
