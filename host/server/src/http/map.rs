//! `POST .../map`: one call per input, the results streamed back as NDJSON in input order
//! (or, with `?order=finished`, in the order the calls finish).
//!
//! Invariants: the body is read as the calls need inputs and the answer is written as results
//! come, so neither is held whole: at most [`MAP_WINDOW`] inputs are in flight, each at most
//! the payload cap, and the body at most [`MAP_BODY_CAP`]. Every input gets exactly one line,
//! in its order (or as its call finishes); an input that is not JSON or does not fit gets its error line and the others
//! go on; a body whose framing breaks ends the answer with an error line (or, before the
//! first input, with an error status). A client that goes away drops the calls in flight,
//! which cancels them.

mod split;

use crate::context::Context;
use crate::http::ApiError;
use crate::http::calls::{ArgsMode, ArgsQuery, FunctionPath};
use crate::http::extract::{Params, QueryParams, check_length, is_json, media_type, next_chunk};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use fnhost::{Function, MAX_PAYLOAD};
use futures::{Stream, StreamExt, stream};
use serde::Deserialize;
use split::{Framing, Splitter};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

/// Inputs in flight at once.
const MAP_WINDOW: usize = 1000;

/// The largest `/map` body.
const MAP_BODY_CAP: u64 = 1 << 30;

/// The query of `/map`: how each input gives its arguments (as for `/call`), and the order
/// of the results.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MapQuery {
    /// `list`: each input is the array of every argument.
    args: Option<ArgsMode>,
    /// `finished`: results in the order the calls finish (Modal's `order_outputs=False`);
    /// `inputs` (the default): in input order.
    order: Option<MapOrder>,
}

/// The order of a map's results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum MapOrder {
    Inputs,
    Finished,
}

/// What the body gives next.
enum Next {
    /// An input's JSON.
    Input(serde_json::Value),
    /// An input that is not JSON: its own error.
    Bad(ApiError),
    /// The body broke: its error, and nothing after it.
    Fatal(ApiError),
}

/// The inputs of a body, read as needed.
struct Inputs {
    body: Body,
    splitter: Splitter,
    ready: VecDeque<Next>,
    read: u64,
    done: bool,
}

impl Inputs {
    fn new(body: Body, framing: Framing) -> Inputs {
        Inputs {
            body,
            splitter: Splitter::new(framing, MAX_PAYLOAD),
            ready: VecDeque::new(),
            read: 0,
            done: false,
        }
    }

    fn parse(&mut self, raw: Vec<Vec<u8>>) {
        for input in raw {
            self.ready.push_back(match serde_json::from_slice(&input) {
                Ok(value) => Next::Input(value),
                Err(error) => Next::Bad(ApiError::bad_arguments(format!(
                    "the input is not JSON: {error}"
                ))),
            });
        }
    }

    fn fail(&mut self, error: ApiError) {
        self.done = true;
        self.ready.push_back(Next::Fatal(error));
    }

    /// The next input; `None` at the end of the body (or after a fatal error).
    async fn next(&mut self) -> Option<Next> {
        loop {
            if let Some(next) = self.ready.pop_front() {
                return Some(next);
            }
            if self.done {
                return None;
            }
            let chunk = match next_chunk(&mut self.body).await {
                Ok(chunk) => chunk,
                Err(error) => {
                    self.fail(error);
                    continue;
                }
            };
            let mut raw = Vec::new();
            let fed = match chunk {
                Some(chunk) => {
                    self.read += chunk.len() as u64;
                    if self.read > MAP_BODY_CAP {
                        self.fail(ApiError::too_large(MAP_BODY_CAP));
                        continue;
                    }
                    self.splitter.feed(&chunk, &mut raw)
                }
                None => {
                    self.done = true;
                    self.splitter.finish().map(|last| raw.extend(last))
                }
            };
            self.parse(raw);
            if let Err(message) = fed {
                self.fail(ApiError::bad_request(message));
            }
        }
    }

    fn into_stream(self) -> impl Stream<Item = Next> + Send {
        stream::unfold(self, |mut inputs| async move {
            inputs.next().await.map(|next| (next, inputs))
        })
    }
}

/// Runs one input; its line of the answer.
async fn run(
    context: Arc<Context>,
    function: Function,
    (app, name): (Arc<str>, Arc<str>),
    query: Arc<ArgsQuery>,
    next: Next,
) -> Bytes {
    let value = match next {
        Next::Input(value) => value,
        Next::Bad(error) | Next::Fatal(error) => return error.line(),
    };
    let args = match query.arguments(function.info(), Some(value)) {
        Ok(args) => args,
        Err(error) => return ApiError::from(error).line(),
    };
    let started = Instant::now();
    let result = function.remote_raw(args).await;
    context.finished(
        &app,
        &name,
        None,
        result.as_ref().map(|_| ()),
        started.elapsed(),
    );
    match result {
        Ok(json) => ok_line(json),
        Err(error) => ApiError::from(error).line(),
    }
}

/// `{"ok": RESULT}` on one line (a result's JSON with a line break in it is compacted).
fn ok_line(json: Vec<u8>) -> Bytes {
    let json = if json.contains(&b'\n') || json.contains(&b'\r') {
        serde_json::from_slice::<serde_json::Value>(&json)
            .and_then(|value| serde_json::to_vec(&value))
            .unwrap_or(json)
    } else {
        json
    };
    let mut line = Vec::with_capacity(json.len() + 8);
    line.extend_from_slice(b"{\"ok\":");
    line.extend_from_slice(&json);
    line.extend_from_slice(b"}\n");
    Bytes::from(line)
}

/// `POST /v1/apps/{app}/functions/{function}/map`.
pub(crate) async fn map(
    State(context): State<Arc<Context>>,
    Params((app, name)): FunctionPath,
    QueryParams(query): QueryParams<MapQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let function = context.function(&app, &name)?;
    let framing = match media_type(&headers).as_deref() {
        Some(media) if is_json(media) => Framing::Array,
        Some("application/x-ndjson" | "application/ndjson") => Framing::Lines,
        other => {
            return Err(ApiError::unsupported_media_type(format!(
                "the body must be application/json (an array of inputs) or \
                 application/x-ndjson (one input per line), not `{}`",
                other
                    .unwrap_or("none")
                    .chars()
                    .take(100)
                    .collect::<String>()
            )));
        }
    };
    check_length(&headers, MAP_BODY_CAP)?;
    let mut inputs = Inputs::new(body, framing);
    // A body that is not inputs at all is refused with a status, before any line is sent.
    let first = match inputs.next().await {
        Some(Next::Fatal(error)) => return Err(error),
        first => first,
    };
    let span = tracing::info_span!("map", app = %app, function = %name);
    let labels: (Arc<str>, Arc<str>) = (app.into(), name.into());
    let order = query.order.unwrap_or(MapOrder::Inputs);
    let query = Arc::new(ArgsQuery { args: query.args });
    let runs = stream::iter(first)
        .chain(inputs.into_stream())
        .map(move |next| {
            run(
                Arc::clone(&context),
                function.clone(),
                labels.clone(),
                Arc::clone(&query),
                next,
            )
            .instrument(span.clone())
        });
    let lines = match order {
        MapOrder::Inputs => runs.buffered(MAP_WINDOW).boxed(),
        MapOrder::Finished => runs.buffer_unordered(MAP_WINDOW).boxed(),
    };
    let lines = AssertUnwindSafe(lines).catch_unwind().map(|line| {
        Ok::<Bytes, Infallible>(
            line.unwrap_or_else(|_| ApiError::internal("the server failed on this input").line()),
        )
    });
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        )],
        Body::from_stream(lines),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_lines_are_single_lines() {
        assert_eq!(ok_line(b"[1,2]".to_vec()), "{\"ok\":[1,2]}\n");
        assert_eq!(ok_line(b"[1,\n2]".to_vec()), "{\"ok\":[1,2]}\n");
    }
}
