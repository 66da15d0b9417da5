//! `POST /v1/apps/{app}/run`: runs a local entrypoint of a deployed app on the server (what
//! `fnhost run --detach` asks for), answering the app's log events as NDJSON while it runs,
//! then one last line: `{"exit": N}`, or `{"error": {"kind", "message"}}`.
//!
//! Invariants: the run belongs to the server, not to the request: a client that goes away
//! leaves it, and the calls it spawned, running to their end (what "detached" means). The last
//! line comes after every event the app logged before the entrypoint ended (its own output
//! among them), because the events are taken from the log's broadcast, subscribed to before
//! the run started, and drained once it ended.

use crate::app_logs::LogStore;
use crate::context::Context;
use crate::http::ApiError;
use crate::http::extract::{Params, read_json};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use fnhost::Error;
use futures::{StreamExt, stream};
use serde::Deserialize;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::task::JoinHandle;
use tracing::Instrument;

/// The largest body: an entrypoint's name.
const RUN_BODY_CAP: u64 = 4 << 10;

/// The body of `POST /v1/apps/{app}/run`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunBody {
    /// The entrypoint to run; the app's only one when left out.
    #[serde(default)]
    entrypoint: Option<String>,
}

/// `POST /v1/apps/{app}/run`.
pub(crate) async fn run(
    State(context): State<Arc<Context>>,
    Params(app): Params<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    fnhost::check_app_name(&app)?;
    let no_app = || ApiError::not_found(format!("no app `{app}` is deployed"));
    let deployed = context.host.deployed(&app).ok_or_else(no_app)?;
    let store = context.apps.logs().get(&app).ok_or_else(no_app)?;
    let body = match read_json(&headers, body, RUN_BODY_CAP).await? {
        None => RunBody::default(),
        Some(given) => serde_json::from_value(given).map_err(|error| {
            ApiError::bad_request(format!(
                "the body must be {{\"entrypoint\": NAME}} or empty: {error}"
            ))
        })?,
    };
    // Subscribed before the run starts: no line of its output is missed.
    let events = store.read(Some(0), true).follow;
    let span = tracing::info_span!("run", app = %app, entrypoint = ?body.entrypoint);
    let run = tokio::spawn(
        async move { deployed.run_entrypoint(body.entrypoint.as_deref()).await }.instrument(span),
    );
    let running = Running {
        events,
        store,
        run: Some(run),
        after: VecDeque::new(),
    };
    let lines = stream::unfold(running, |mut running| async move {
        running.next().await.map(|line| (line, running))
    });
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        )],
        Body::from_stream(lines.map(Ok::<Bytes, Infallible>)),
    )
        .into_response())
}

/// A run being answered: its log's events until it ends, then what is left to send.
struct Running {
    /// The app's new events; `None` once the app is gone.
    events: Option<broadcast::Receiver<Bytes>>,
    store: Arc<LogStore>,
    /// The run, until it ended.
    run: Option<JoinHandle<Result<i32, Error>>>,
    /// The lines after the run ended: the events it left, then the last line.
    after: VecDeque<Bytes>,
}

impl Running {
    /// The next line to send; `None` after the last.
    async fn next(&mut self) -> Option<Bytes> {
        while let Some(run) = &mut self.run {
            tokio::select! {
                event = next_event(&mut self.events, &self.store) => match event {
                    Some(line) => return Some(line),
                    None => self.events = None,
                },
                ended = run => {
                    self.run = None;
                    self.drain();
                    self.after.push_back(last_line(ended));
                }
            }
        }
        self.after.pop_front()
    }

    /// Keeps the events already logged, to send before the last line.
    fn drain(&mut self) {
        let Some(events) = &mut self.events else {
            return;
        };
        loop {
            match events.try_recv() {
                Ok(line) => self.after.push_back(line),
                Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                    self.after.push_back(self.store.missed(missed));
                }
                Err(_) => return,
            }
        }
    }
}

/// The next event of `events`; `None` when the app is gone (never, once it is).
async fn next_event(
    events: &mut Option<broadcast::Receiver<Bytes>>,
    store: &LogStore,
) -> Option<Bytes> {
    let Some(receiver) = events else {
        return std::future::pending().await;
    };
    match receiver.recv().await {
        Ok(line) => Some(line),
        Err(RecvError::Lagged(missed)) => Some(store.missed(missed)),
        Err(RecvError::Closed) => None,
    }
}

/// The last line of a run's answer: its exit status, or its error.
fn last_line(ended: Result<Result<i32, Error>, tokio::task::JoinError>) -> Bytes {
    match ended {
        Ok(Ok(status)) => {
            let mut line =
                serde_json::to_vec(&serde_json::json!({ "exit": status })).unwrap_or_default();
            line.push(b'\n');
            Bytes::from(line)
        }
        Ok(Err(error)) => ApiError::from(error).line(),
        Err(error) => ApiError::internal(format!("the run ended abnormally: {error}")).line(),
    }
}
