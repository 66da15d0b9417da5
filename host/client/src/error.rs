//! [`ClientError`]: every way a request to the server can fail, and decoding the server's
//! error answers into it.
//!
//! Invariant: an answer the server gave as `{"error": {"kind", "message"}}` becomes
//! [`ClientError::Server`] with that kind and message as they were sent, and displays as the
//! library's `fnhost::Error` of that kind would (`timed out: ...`, a user error's message
//! alone); a `429` is always of kind `overloaded`, whatever its body.

use reqwest::StatusCode;
use serde::Deserialize;

/// Why a request to the server failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error: its kind (`not-found`, `bad-arguments`, `user`,
    /// `trapped`, `timeout`, `cancelled`, `overloaded`, `too-deep`, `payload`,
    /// `unauthorized`, ... as docs/server.md lists them) and message.
    #[error("{}", display_server_error(kind, message))]
    Server {
        /// The HTTP status of the answer.
        status: u16,
        /// The error's kind, as the server named it.
        kind: String,
        /// What the server said.
        message: String,
    },
    /// The URL given to [`Client::connect`](crate::Client::connect) cannot be used.
    #[error("bad URL `{url}`: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The request did not reach the server, or its answer did not come back.
    #[error("cannot reach the server at {url}")]
    Transport {
        /// The server's base URL.
        url: String,
        /// What the HTTP client reported.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered something the API does not say it answers.
    #[error("unexpected answer from the server: HTTP {status}: {detail}")]
    Http {
        /// The HTTP status of the answer.
        status: u16,
        /// What was unexpected (the start of the body, for an error status).
        detail: String,
    },
    /// The arguments could not be encoded, or the result not decoded into the type asked for.
    #[error("payload: {0}")]
    Payload(String),
    /// A local operation failed: reading a component to deploy, starting the blocking
    /// client's runtime.
    #[error("{what}")]
    Io {
        /// What failed (`cannot read PATH`).
        what: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl ClientError {
    /// The error's kind: the server's kind for [`ClientError::Server`] (`overloaded` for every
    /// `429`), and for the others `bad-url`, `transport`, `http`, `payload` or `io`.
    pub fn kind(&self) -> &str {
        match self {
            ClientError::Server { kind, .. } => kind,
            ClientError::Url { .. } => "bad-url",
            ClientError::Transport { .. } => "transport",
            ClientError::Http { .. } => "http",
            ClientError::Payload(_) => "payload",
            ClientError::Io { .. } => "io",
        }
    }

    /// What went wrong, without the kind: the server's message for [`ClientError::Server`];
    /// for the others, the error and its causes on one line.
    pub fn message(&self) -> String {
        match self {
            ClientError::Server { message, .. } => message.clone(),
            ClientError::Payload(message) => message.clone(),
            other => {
                let mut message = other.to_string();
                let mut source = std::error::Error::source(other);
                while let Some(cause) = source {
                    message.push_str(": ");
                    message.push_str(&cause.to_string());
                    source = cause.source();
                }
                message
            }
        }
    }

    /// The HTTP status of the server's answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Server { status, .. } | ClientError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The error a server's answer with an error `status` and `body` makes (see the module's
    /// invariant).
    pub(crate) fn from_answer(status: StatusCode, body: &[u8]) -> ClientError {
        #[derive(Deserialize)]
        struct Answer {
            error: ErrorBody,
        }
        let overloaded = status == StatusCode::TOO_MANY_REQUESTS;
        match serde_json::from_slice::<Answer>(body) {
            Ok(Answer { error }) => ClientError::Server {
                status: status.as_u16(),
                kind: if overloaded {
                    "overloaded".to_owned()
                } else {
                    error.kind
                },
                message: error.message,
            },
            Err(_) if overloaded => ClientError::Server {
                status: status.as_u16(),
                kind: "overloaded".to_owned(),
                message: "the server is overloaded; try again later".to_owned(),
            },
            Err(_) => ClientError::Http {
                status: status.as_u16(),
                detail: excerpt(body),
            },
        }
    }
}

/// An error as the server writes it: `{"kind": ..., "message": ...}`, alone (in a `map`
/// result line) or under `"error"` (in an error answer).
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    /// The error's kind.
    pub(crate) kind: String,
    /// What the server said.
    #[serde(default)]
    pub(crate) message: String,
}

impl ErrorBody {
    /// This error of one `map` input, as a [`ClientError::Server`] (the answer's status was
    /// `200`: the input failed, not the request).
    pub(crate) fn into_error(self) -> ClientError {
        ClientError::Server {
            status: StatusCode::OK.as_u16(),
            kind: self.kind,
            message: self.message,
        }
    }
}

/// How a server error of `kind` displays: as the library's `fnhost::Error` of that kind does
/// (`not found: ...`; a user error is its message alone), and for the kinds only the server
/// has, the kind in words (`unauthorized: ...`).
fn display_server_error(kind: &str, message: &str) -> String {
    let prefix = match kind {
        "user" => return message.to_owned(),
        "timeout" => "timed out".to_owned(),
        other => other.replace('-', " "),
    };
    // A message that only repeats the kind (`unauthorized`) is said once.
    if message.is_empty() || message == prefix || message == kind {
        prefix
    } else {
        format!("{prefix}: {message}")
    }
}

/// The start of `body`, as text, for a message: at most 200 characters, on one line.
fn excerpt(body: &[u8]) -> String {
    const MOST: usize = 200;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(no body)".to_owned();
    }
    let mut excerpt: String = text
        .chars()
        .take(MOST)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > MOST {
        excerpt.push_str("...");
    }
    excerpt
}

#[cfg(test)]
mod tests {
    use super::{ClientError, StatusCode};

    #[test]
    fn a_server_error_keeps_its_kind_and_message() {
        let body = br#"{"error": {"kind": "not-found", "message": "no app `nope`"}}"#;
        let error = ClientError::from_answer(StatusCode::NOT_FOUND, body);
        assert_eq!(error.kind(), "not-found");
        assert_eq!(error.message(), "no app `nope`");
        assert_eq!(error.status(), Some(404));
        assert_eq!(error.to_string(), "not found: no app `nope`");
    }

    #[test]
    fn server_errors_display_as_the_librarys() {
        let display = |kind: &str, message: &str| {
            let body = serde_json::json!({"error": {"kind": kind, "message": message}});
            let body = serde_json::to_vec(&body).unwrap();
            ClientError::from_answer(StatusCode::INTERNAL_SERVER_ERROR, &body).to_string()
        };
        assert_eq!(display("user", "it failed"), "it failed");
        assert_eq!(
            display("timeout", "`spin` ran past its timeout of 2s"),
            "timed out: `spin` ran past its timeout of 2s"
        );
        assert_eq!(display("bad-arguments", "x"), "bad arguments: x");
        assert_eq!(display("too-deep", "x"), "too deep: x");
        assert_eq!(display("unauthorized", ""), "unauthorized");
        assert_eq!(display("unauthorized", "unauthorized"), "unauthorized");
    }

    #[test]
    fn a_429_is_overloaded_whatever_its_body() {
        let error = ClientError::from_answer(StatusCode::TOO_MANY_REQUESTS, b"slow down");
        assert_eq!(error.kind(), "overloaded");
        let body = br#"{"error": {"kind": "something", "message": "queue full"}}"#;
        let error = ClientError::from_answer(StatusCode::TOO_MANY_REQUESTS, body);
        assert_eq!(error.kind(), "overloaded");
        assert_eq!(error.message(), "queue full");
    }

    #[test]
    fn an_answer_that_is_not_an_error_body_is_an_http_error() {
        let error = ClientError::from_answer(StatusCode::BAD_GATEWAY, b"<html>\nproxy\n</html>");
        assert_eq!(error.kind(), "http");
        assert_eq!(error.status(), Some(502));
        assert_eq!(
            error.to_string(),
            "unexpected answer from the server: HTTP 502: <html> proxy </html>"
        );
        let error = ClientError::from_answer(StatusCode::BAD_GATEWAY, b"");
        assert!(error.to_string().ends_with("(no body)"));
        let long = "x".repeat(1000);
        let error = ClientError::from_answer(StatusCode::BAD_GATEWAY, long.as_bytes());
        assert!(
            error
                .to_string()
                .ends_with(&format!("{}...", "x".repeat(200)))
        );
    }
}
