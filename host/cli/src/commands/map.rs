//! `fnhost map APP FUNCTION [--input FILE]`: call one function once per input line, in
//! parallel, and print one result line per input, in input order.
//!
//! Inputs are NDJSON on stdin (or FILE; `-` is stdin): each non-blank line one input, in
//! `fnhost call`'s convention (the value itself for a one-parameter function, a JSON array
//! for several, `null` or `[]` for none). Results are NDJSON on stdout, line N for input N:
//! `{"ok": RESULT}` or `{"error": {"kind": ..., "message": ...}}` — an input that is not JSON,
//! does not fit the function or fails gets its error line and the others go on, as the
//! server's `/map` endpoint does.
//!
//! Locally, the app is loaded here and at most [`MAP_WINDOW`] inputs are in flight; with
//! `--url` (or `FNHOST_URL`), APP names a deployed app and the inputs are streamed to the
//! server's `/map`, which keeps as many in flight. Either way inputs are read as the calls
//! need them and results are written as they come (flushed whenever the next one is not
//! ready yet), so an endless input works. A progress bar is drawn on stderr when it is a
//! terminal; its total is known when FILE is a regular file, which is then read once through
//! to count its lines before the calls start (from stdin, the bar counts without a total).
//!
//! The command exits 0 once every input has its line, whatever those say; it fails with
//! status 1 when the inputs cannot be read, or the app, the function or the server cannot be
//! reached.

mod input;
mod progress;

use crate::app_args::AppArgs;
use crate::commands::call::{check_json, deployed_name};
use crate::remote_args::RemoteArgs;
use crate::settings::Settings;
use anyhow::anyhow;
use clap::Args;
use fnhost::{Error, Function};
use fnhost_client::Client;
use futures::{FutureExt, Stream, StreamExt, stream};
use input::{Input, LINE_LIMIT};
use progress::Progress;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::pin::Pin;
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;

/// Inputs in flight at once, locally (the server's `/map` keeps as many).
const MAP_WINDOW: usize = 1000;

/// Result lines, in input order, as they come.
type Results = Pin<Box<dyn Stream<Item = anyhow::Result<Vec<u8>>> + Send>>;

/// The arguments of `fnhost map`.
#[derive(Args)]
pub(crate) struct MapCommand {
    /// The app (with `--url`: the deployed app's name).
    app_path: PathBuf,
    /// The function's name.
    function: String,
    /// Reads the inputs from FILE instead of stdin (`-`: stdin).
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    #[command(flatten)]
    app: AppArgs,
    #[command(flatten)]
    remote: RemoteArgs,
}

impl MapCommand {
    /// Calls the function once per input and writes the result lines as they come.
    pub(crate) async fn execute(self, settings: Settings) -> anyhow::Result<()> {
        let remote = self.remote.remote(&settings)?;
        if remote.is_some() {
            self.app.refuse("fnhost map --url")?;
        }
        let path = self.input.as_deref();
        let total = if Progress::shown() {
            input::count(path).await?
        } else {
            None
        };
        let inputs = input::inputs(input::open(path).await?);
        let results = match remote {
            Some(client) => {
                let app = deployed_name(&self.app_path)?;
                remote_results(&client, app, &self.function, inputs).await?
            }
            None => {
                let app = self.app.load(&self.app_path, settings.host).await?;
                local_results(app.function(&self.function)?, inputs)
            }
        };
        write(results, Progress::new(total)).await
    }
}

/// The result lines of calling `function` here, at most [`MAP_WINDOW`] inputs at once.
fn local_results(
    function: Function,
    inputs: impl Stream<Item = std::io::Result<Input>> + Send + 'static,
) -> Results {
    let results = inputs
        .map(move |input| {
            let function = function.clone();
            async move {
                Ok(match input? {
                    Input::Json(text) => call(&function, &text).await,
                    Input::TooLong { line } => too_long(line),
                })
            }
        })
        .buffered(MAP_WINDOW);
    Box::pin(results)
}

/// The result line of calling `function` with the input `text`.
async fn call(function: &Function, text: &[u8]) -> Vec<u8> {
    let given: Value = match serde_json::from_slice(text) {
        Ok(given) => given,
        Err(error) => {
            return error_line("bad-arguments", &format!("the input is not JSON: {error}"));
        }
    };
    let result = match function.info().arguments(Some(given)) {
        Ok(args) => function.remote_raw(args).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(result) => match check_json(&result) {
            Ok(()) => {
                let mut line = Vec::with_capacity(result.len() + 7);
                line.extend_from_slice(b"{\"ok\":");
                line.extend_from_slice(&result);
                line.push(b'}');
                line
            }
            Err(error) => error_line(
                "payload",
                &format!("`{}` returned invalid JSON: {error}", function.info().name),
            ),
        },
        Err(error) => library_error(&error),
    }
}

/// The line of the library's `error`.
fn library_error(error: &Error) -> Vec<u8> {
    error_line(error.kind().as_str(), error.message())
}

/// The line of the input on line `line`, longer than any input may be.
fn too_long(line: u64) -> Vec<u8> {
    let message =
        format!("line {line} holds more than {LINE_LIMIT} bytes; an input may take at most 16 MiB");
    error_line("payload", &message)
}

/// The line of an error of `kind` saying `message`.
fn error_line(kind: &str, message: &str) -> Vec<u8> {
    json!({ "error": { "kind": kind, "message": message } })
        .to_string()
        .into_bytes()
}

/// What the reading side tells the writing side, input by input, in input order.
enum Slot {
    /// The input went to the server: its line is the server's next.
    Sent,
    /// The input's line, made here (a line too long to send).
    Line(Vec<u8>),
    /// The inputs could not be read further.
    Failed(std::io::Error),
    /// The inputs ended.
    End,
}

/// The result lines of the server's `/map` of `function` of the app `app`: the inputs are
/// streamed to it, and its lines merged in input order with those made here.
async fn remote_results(
    client: &Client,
    app: &str,
    function: &str,
    inputs: impl Stream<Item = std::io::Result<Input>> + Send + 'static,
) -> anyhow::Result<Results> {
    let (slots, next_slot) = mpsc::unbounded_channel();
    let body = inputs
        .map(Some)
        .chain(stream::once(async { None }))
        .filter_map(move |input| {
            let (slot, sent) = match input {
                Some(Ok(Input::Json(text))) => (Slot::Sent, Some(text)),
                Some(Ok(Input::TooLong { line })) => (Slot::Line(too_long(line)), None),
                Some(Err(error)) => (Slot::Failed(error), None),
                None => (Slot::End, None),
            };
            // The writing side only goes away when the command is ending.
            let _ = slots.send(slot);
            async move { sent }
        });
    let lines = client.function_in(app, function).map_json(body).await?;
    let state = (next_slot, lines, false);
    let results = stream::unfold(state, |(mut next_slot, mut lines, failed)| async move {
        if failed {
            return None;
        }
        let line = match next_slot.recv().await {
            None | Some(Slot::End) => return None,
            Some(Slot::Line(line)) => Ok(line),
            Some(Slot::Failed(error)) => {
                Err(anyhow::Error::new(error).context("cannot read the inputs"))
            }
            Some(Slot::Sent) => match lines.next().await {
                Some(line) => line.map_err(anyhow::Error::from),
                None => Err(anyhow!("the server answered fewer results than inputs")),
            },
        };
        let failed = line.is_err();
        Some((line, (next_slot, lines, failed)))
    });
    Ok(Box::pin(results))
}

/// Writes the result lines to stdout as they come, flushing whenever the next one is not
/// ready yet; stops at the first error, after writing what came before it.
async fn write(mut results: Results, progress: Progress) -> anyhow::Result<()> {
    let mut stdout = BufWriter::new(tokio::io::stdout());
    let outcome = async {
        loop {
            let next = match results.next().now_or_never() {
                Some(next) => next,
                None => {
                    stdout.flush().await?;
                    results.next().await
                }
            };
            let Some(line) = next else {
                return Ok(());
            };
            stdout.write_all(&line?).await?;
            stdout.write_all(b"\n").await?;
            progress.inc();
        }
    }
    .await;
    progress.finish();
    stdout.flush().await?;
    outcome
}
