//! What stands before every route: the `Host` header HTTP/1.1 requires, the token check (who
//! the request is, and whether that principal may reach the path), the refusal while
//! stopping, and the net that turns a panic into an error answer.
//!
//! Invariants: with a token, no route but `GET /healthz` and the web endpoints (`/web/...`,
//! which ask for it when their function says so) runs for a request without a token the
//! server knows, and the answer to such a request says nothing but `unauthorized`, whatever
//! its path and method (the check comes before routing: an unknown path and a known one look
//! the same). An app token reaches only its app's routes and calls by id (`app_may`): every
//! other path is `forbidden`. A panic in a handler answers `internal` on its request and
//! leaves the server serving.

use crate::access::Principal;
use crate::context::Context;
use crate::http::ApiError;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// The one route of the API open without the token.
const OPEN: &str = "/healthz";

/// Where the apps' web endpoints are, which check the token themselves.
const WEB: &str = "/web/";

/// Refuses requests without a token the server knows, and app tokens outside their app; the
/// request carries its [`Principal`] on to the handlers.
pub(crate) async fn authorize(
    State(context): State<Arc<Context>>,
    mut request: Request,
    next: Next,
) -> Response {
    // Web endpoints check the token themselves: only those that say so need it.
    if request.uri().path() == OPEN || request.uri().path().starts_with(WEB) {
        return next.run(request).await;
    }
    let Some(principal) = principal(&context, request.headers()) else {
        return ApiError::unauthorized().into_response();
    };
    if let Principal::App(app) = &principal
        && !app_may(app, request.method(), request.uri().path())
    {
        return ApiError::forbidden(format!(
            "this token reaches only the app `{app}`: its functions and its calls"
        ))
        .into_response();
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// Who the bearer of `headers`' token is (`Authorization: Bearer <token>`, any bytes but
/// leading and trailing whitespace); `None` when the server knows no such token.
pub(crate) fn principal(context: &Context, headers: &HeaderMap) -> Option<Principal> {
    let given = headers.get(header::AUTHORIZATION).and_then(|value| {
        let value = value.as_bytes();
        let space = value.iter().position(|&b| b == b' ')?;
        let (scheme, token) = value.split_at(space);
        scheme
            .eq_ignore_ascii_case(b"bearer")
            .then(|| token.trim_ascii())
    });
    context.access.principal(given)
}

/// Whether a token for `app` may send `method` to `path`: the app's record (`GET`, not a
/// deploy or undeploy), everything under it (its functions' calls, spawns and maps, its
/// entrypoints, its logs), and calls by id (whose handlers show only the app's own).
fn app_may(app: &str, method: &Method, path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/v1/") else {
        return false;
    };
    let segments: Vec<&str> = rest.split('/').collect();
    match segments.as_slice() {
        ["apps", name] => *name == app && method == Method::GET,
        ["apps", name, _, ..] => *name == app,
        ["calls", _] => true,
        _ => false,
    }
}

/// Refuses an HTTP/1.1 request without a `Host` header (RFC 9112, 3.2: `400`), before
/// anything else is looked at.
pub(crate) async fn require_host(request: Request, next: Next) -> Response {
    if request.version() == axum::http::Version::HTTP_11
        && !request.headers().contains_key(header::HOST)
    {
        return ApiError::bad_request("an HTTP/1.1 request needs a Host header").into_response();
    }
    next.run(request).await
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
