//! The API's one error shape, `{"error": {"kind", "message"}}`, and the status of each kind
//! (the table of docs/server.md).
//!
//! Invariant: every failure the API answers — the host's errors, the server's, and every
//! request the router or an extractor refuses — goes through [`ApiError`], so a client never
//! sees another shape.

use crate::ServerError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use fnhost::ErrorKind;
use serde::Serialize;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    kind: &'a str,
    message: &'a str,
}

impl ApiError {
    /// An error of `kind` answered with `status`.
    pub(crate) fn new(
        status: StatusCode,
        kind: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            kind,
            message: message.into(),
        }
    }

    /// `not-found` (404).
    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", message)
    }

    /// `bad-request` (400): a request the API itself refuses.
    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-request", message)
    }

    /// `bad-arguments` (400): arguments that do not fit, malformed JSON.
    pub(crate) fn bad_arguments(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-arguments", message)
    }

    /// `unsupported-media-type` (415).
    pub(crate) fn unsupported_media_type(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            message,
        )
    }

    /// `payload` (413): a body over its cap.
    pub(crate) fn too_large(cap: u64) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload",
            format!("the body is over its cap of {cap} bytes"),
        )
    }

    /// `head-too-large` (`status`: 431, or 414 for a request line alone): a request head
    /// over the size the server reads, refused before routing.
    pub(crate) fn head_too_large(status: StatusCode) -> ApiError {
        ApiError::new(
            status,
            "head-too-large",
            "the request's head is larger than the server reads",
        )
    }

    /// `request-timeout` (408): a request's head begun and not finished within the request
    /// timeout.
    pub(crate) fn head_timeout() -> ApiError {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request-timeout",
            "the request's head did not arrive within the request timeout",
        )
    }

    /// `unauthorized` (401), saying nothing more.
    pub(crate) fn unauthorized() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "unauthorized")
    }

    /// `forbidden` (403): a token the server knows, for something it does not reach.
    pub(crate) fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// `overloaded` (429, with `Retry-After`): no room now, for a function, an app's web
    /// requests, the cluster or a process's stdin; the one status every overload answers.
    pub(crate) fn overloaded(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Overloaded.as_str(),
            message,
        )
    }

    /// `unavailable` (503).
    pub(crate) fn unavailable() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the server is shutting down",
        )
    }

    /// `method-not-allowed` (405).
    pub(crate) fn method_not_allowed(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            message,
        )
    }

    /// `internal` (500): the server failed (its state directory, a bug).
    pub(crate) fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// The kind, as the API spells it.
    #[cfg(test)]
    pub(crate) fn kind(&self) -> &'static str {
        self.kind
    }

    /// The JSON of the error.
    pub(crate) fn json(&self) -> Vec<u8> {
        serde_json::to_vec(&Body {
            error: Detail {
                kind: self.kind,
                message: &self.message,
            },
        })
        .unwrap_or_default()
    }

    /// The JSON of the error as a line of NDJSON.
    pub(crate) fn line(&self) -> Bytes {
        let mut line = self.json();
        line.push(b'\n');
        Bytes::from(line)
    }
}

/// The status of an error of `kind`.
fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::BadArguments => StatusCode::BAD_REQUEST,
        ErrorKind::User | ErrorKind::Trapped => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::Cancelled => StatusCode::CONFLICT,
        ErrorKind::Overloaded => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::TooDeep => StatusCode::LOOP_DETECTED,
        ErrorKind::Payload => StatusCode::PAYLOAD_TOO_LARGE,
    }
}

impl From<fnhost::Error> for ApiError {
    fn from(error: fnhost::Error) -> ApiError {
        let kind = error.kind();
        ApiError::new(status_of(kind), kind.as_str(), error.message())
    }
}

impl From<ServerError> for ApiError {
    fn from(error: ServerError) -> ApiError {
        let message = error.chain();
        match error {
            ServerError::Host(error) => error.into(),
            ServerError::MissingComponent { .. } => ApiError::not_found(message),
            ServerError::BadComponentId { .. }
            | ServerError::NoComponents
            | ServerError::Load { .. }
            | ServerError::BadOption { .. }
            | ServerError::BadGrant { .. }
            | ServerError::NoOperatorToken
            | ServerError::OpenEndpoint { .. } => ApiError::bad_request(message),
            ServerError::ShuttingDown => ApiError::unavailable(),
            ServerError::Cluster(_) => ApiError::overloaded(message),
            ServerError::Insecure { .. }
            | ServerError::EmptyToken
            | ServerError::Bind { .. }
            | ServerError::Io { .. }
            | ServerError::UnsafeStateDir { .. }
            | ServerError::ComponentChanged { .. }
            | ServerError::Corrupt { .. } => ApiError::internal(message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.json(),
        )
            .into_response();
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fnhost::Error;

    #[test]
    fn every_kind_has_its_documented_status() {
        let cases = [
            (Error::NotFound(String::new()), 404),
            (Error::BadArguments(String::new()), 400),
            (Error::User(String::new()), 500),
            (Error::Trapped(String::new()), 500),
            (Error::Timeout(String::new()), 504),
            (Error::Cancelled(String::new()), 409),
            (Error::Overloaded(String::new()), 429),
            (Error::TooDeep(String::new()), 508),
            (Error::Payload(String::new()), 413),
        ];
        for (error, status) in cases {
            let kind = error.kind().as_str();
            let api = ApiError::from(error);
            assert_eq!(api.status.as_u16(), status, "{kind}");
            assert_eq!(api.kind(), kind);
        }
    }

    #[test]
    fn overloaded_says_when_to_retry() {
        let response = ApiError::from(Error::Overloaded("full".into())).into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        // The cluster's "no room now" is the same answer as a function's.
        let cluster = ServerError::Cluster(fnhost_cluster::ClusterError::HostName("x".into()));
        let response = ApiError::from(cluster).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let value: serde_json::Value =
            serde_json::from_slice(&ApiError::from(Error::TooDeep("a ×65".into())).json()).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"error": {"kind": "too-deep", "message": "a ×65"}})
        );
    }
}
