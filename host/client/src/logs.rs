//! An app's log: the events the server kept of its containers' output and its own notes
//! ([`LogEvent`]), read once or followed.
//!
//! Invariant: events come in the order the server wrote them, one per NDJSON line, as they
//! arrive; a line that is not an event is an error item, after which the stream ends.

use crate::client::Client;
use crate::error::ClientError;
use crate::lines::parsed_lines;
use futures::Stream;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use std::pin::Pin;

/// The events of an app's log, as they arrive.
pub type LogStream = Pin<Box<dyn Stream<Item = Result<LogEvent, ClientError>> + Send>>;

/// One event of an app's log; a field the server left out (or null) is `None`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogEvent {
    /// When it happened (RFC 3339).
    pub time: Option<String>,
    /// The app.
    pub app: Option<String>,
    /// The function whose container wrote it.
    pub function: Option<String>,
    /// The container (`function#N`).
    pub container: Option<String>,
    /// The call the container was running, when known.
    pub call_id: Option<String>,
    /// `stdout`, `stderr`, or `host` for the server's own notes.
    pub stream: Option<String>,
    /// The line itself.
    pub message: Option<String>,
}

impl Client {
    /// The events of the app `app`'s log (the last ones the server keeps); with `follow`, the
    /// stream then goes on with new events as they happen, until the server ends it.
    pub async fn logs(&self, app: &str, follow: bool) -> Result<LogStream, ClientError> {
        let mut url = self.endpoint(&["v1", "apps", app, "logs"]);
        if follow {
            url.query_pairs_mut().append_pair("follow", "true");
        }
        let request = self.request(Method::GET, url);
        let response = self.send(request, &[StatusCode::OK]).await?;
        // The first bad line ends the stream (the lines' own errors already end theirs).
        Ok(parsed_lines(self, response, event, |_| false))
    }
}

/// The event one log line holds.
fn event(line: &[u8]) -> Result<LogEvent, ClientError> {
    serde_json::from_slice(line).map_err(|error| ClientError::Http {
        status: StatusCode::OK.as_u16(),
        detail: format!("a log line is not an event: {error}"),
    })
}

#[cfg(test)]
mod tests {
    use super::event;

    #[test]
    fn events_read_with_absent_and_null_fields() {
        let got = event(
            br#"{"time": "2025-01-01T00:00:00Z", "app": "hello", "function": null,
                "stream": "host", "message": "deployed"}"#,
        )
        .unwrap();
        assert_eq!(got.function, None);
        assert_eq!(got.container, None);
        assert_eq!(got.stream.as_deref(), Some("host"));
        assert_eq!(got.message.as_deref(), Some("deployed"));
        assert_eq!(event(b"[1]").unwrap_err().kind(), "http");
    }
}
