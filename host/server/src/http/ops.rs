//! Operations: `GET /healthz` and `GET /metrics`, and the answers of the router itself to
//! a path it does not know or a method a path does not take.

use crate::context::Context;
use crate::http::ApiError;
use crate::http::calls::json_response;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The OpenMetrics text format, which prometheus-client writes.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `GET /healthz`.
pub(crate) async fn healthz() -> Response {
    json_response(StatusCode::OK, br#"{"status":"ok"}"#.to_vec())
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(context): State<Arc<Context>>) -> Result<Response, ApiError> {
    let text = context
        .metrics
        .render()
        .map_err(|_| ApiError::internal("cannot encode the metrics"))?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(OPENMETRICS))],
        text,
    )
        .into_response())
}

/// `method path`, cut short, for an error message.
fn route(method: &Method, uri: &Uri) -> String {
    let path: String = uri.path().chars().take(200).collect();
    format!("{method} {path}")
}

/// A path the API does not have.
pub(crate) async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", route(&method, &uri)))
}

/// A path the API has, with a method it does not take.
pub(crate) async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::method_not_allowed(format!("{} is not allowed", route(&method, &uri)))
}
