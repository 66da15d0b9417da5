//! What stands before every route: the token check, the refusal while stopping, and the net
//! that turns a panic into an error answer.
//!
//! Invariants: with a token, no route but `GET /healthz` and the web endpoints (`/web/...`,
//! which ask for it when their function says so) runs for a request without it, and
//! the answer to such a request says nothing but `unauthorized`; the token is compared in
//! constant time (as SHA-256 digests, so its length does not leak either). A panic in a
//! handler answers `internal` on its request and leaves the server serving.

use crate::context::Context;
use crate::http::error::ApiError;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use sha2::{Digest, Sha256};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The one route of the API open without the token.
const OPEN: &str = "/healthz";

/// Where the apps' web endpoints are, which check the token themselves.
const WEB: &str = "/web/";

/// Refuses requests without the server's token, if it has one.
pub(crate) async fn authorize(
    State(context): State<Arc<Context>>,
    request: Request,
    next: Next,
) -> Response {
    // Web endpoints check the token themselves: only those that say so need it.
    if request.uri().path() == OPEN || request.uri().path().starts_with(WEB) {
        return next.run(request).await;
    }
    if has_token(&context, request.headers()) {
        next.run(request).await
    } else {
        ApiError::unauthorized().into_response()
    }
}

/// Whether `headers` carry the server's token (`Authorization: Bearer <token>`), or the
/// server has none.
pub(crate) fn has_token(context: &Context, headers: &HeaderMap) -> bool {
    let Some(expected) = &context.token else {
        return true;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    let Some(given) = given else {
        return false;
    };
    let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
    bool::from(given.ct_eq(expected))
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
    // Kept for the message only: both clones share the request's storage.
    let (method, uri) = (request.method().clone(), request.uri().clone());
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(%method, path = uri.path(), "a request handler panicked");
            ApiError::internal("the server failed on this request").into_response()
        }
    }
}
