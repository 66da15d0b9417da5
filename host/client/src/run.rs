//! Running a deployed app's local entrypoint on its server (`fnhost run --detach`): the
//! app's log events while it runs, then its exit status ([`RunEvent`]).
//!
//! Invariant: the stream yields events in the server's order and ends with one
//! [`RunEvent::Exit`], or with an error item (the entrypoint failed, or a line was not one the
//! server writes), after which it ends. Dropping it leaves the run going on the server.

use crate::client::Client;
use crate::error::{ClientError, ErrorBody};
use crate::lines::parsed_lines;
use crate::logs::LogEvent;
use futures::Stream;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use std::pin::Pin;

/// What a run sends: its app's log events, then its exit.
#[derive(Clone, Debug, PartialEq)]
pub enum RunEvent {
    /// An event of the app's log (the entrypoint's own output has no container).
    Log(LogEvent),
    /// The entrypoint ended with this exit status (0 when it returned).
    Exit(i32),
}

/// A run's events, as they arrive.
pub type RunStream = Pin<Box<dyn Stream<Item = Result<RunEvent, ClientError>> + Send>>;

impl Client {
    /// Runs the local entrypoint `entrypoint` (the app's only one when `None`) of the app
    /// `app` deployed on the server. The run is the server's: it and the calls it spawns go on
    /// when the stream is dropped.
    pub async fn run_entrypoint(
        &self,
        app: &str,
        entrypoint: Option<&str>,
    ) -> Result<RunStream, ClientError> {
        let url = self.endpoint(&["v1", "apps", app, "run"]);
        let request = self
            .request(Method::POST, url)
            .json(&serde_json::json!({ "entrypoint": entrypoint }));
        let response = self.send(request, &[StatusCode::OK]).await?;
        // The exit or the first error ends the stream.
        let exit = |event: &RunEvent| matches!(event, RunEvent::Exit(_));
        Ok(parsed_lines(self, response, run_event, exit))
    }
}

/// A line of a run's answer: its exit, its error, or a log event.
#[derive(Deserialize)]
#[serde(untagged)]
enum Line {
    Exit { exit: i32 },
    Error { error: ErrorBody },
    Event(LogEvent),
}

/// The event one line holds.
fn run_event(line: &[u8]) -> Result<RunEvent, ClientError> {
    let line: Line = serde_json::from_slice(line).map_err(|error| ClientError::Http {
        status: StatusCode::OK.as_u16(),
        detail: format!("a run's line is not an event, an exit or an error: {error}"),
    })?;
    match line {
        Line::Exit { exit } => Ok(RunEvent::Exit(exit)),
        Line::Error { error } => Err(error.into_error()),
        Line::Event(event) => Ok(RunEvent::Log(event)),
    }
}

#[cfg(test)]
mod tests {
    use super::{RunEvent, run_event};

    #[test]
    fn lines_are_exits_errors_or_events() {
        assert_eq!(run_event(br#"{"exit": 3}"#).unwrap(), RunEvent::Exit(3));
        let error = run_event(br#"{"error": {"kind": "user", "message": "boom"}}"#);
        assert_eq!(error.unwrap_err().kind(), "user");
        let Ok(RunEvent::Log(event)) = run_event(br#"{"stream": "stdout", "message": "hi"}"#)
        else {
            panic!("not an event");
        };
        assert_eq!(event.message.as_deref(), Some("hi"));
        assert_eq!(run_event(b"[1]").unwrap_err().kind(), "http");
    }
}
