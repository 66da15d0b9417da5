//! Guest output reaches the app's output sink as whole lines, each tagged with the container it
//! came from (`function#N`, the label `StdioSink` prefixes with), a partial last line included
//! once its container ends;
//! a panic's report starts with its first real line;
//! a line longer than 64 KiB comes in pieces marked ` [continued]`, in order;
//! a stream past its budget (1 MiB/s, 4 MiB burst) drops the rest and says how much, in one line.

use fnhost::{App, OutputSink, Stream, prefixed};
use fnhost_tests::{eventually, guest, python_guest};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Every line the app's containers wrote, with their container and stream.
#[derive(Default)]
pub(crate) struct Lines(Mutex<Vec<(String, Stream, String)>>);

impl Lines {
    pub(crate) fn of(&self, stream: Stream) -> Vec<(String, String)> {
        let lines = self.0.lock().unwrap();
        lines
            .iter()
            .filter(|(_, on, _)| *on == stream)
            .map(|(container, _, line)| (container.clone(), line.clone()))
            .collect()
    }
}

impl OutputSink for Lines {
    fn line(&self, container: &str, stream: Stream, line: &[u8]) {
        let line = String::from_utf8_lossy(line).into_owned();
        self.0
            .lock()
            .unwrap()
            .push((container.to_owned(), stream, line));
    }

    fn program(&self, stream: Stream, bytes: &[u8]) {
        self.line("", stream, bytes);
    }
}

/// `tests/guests/calls`, its containers' output going to `lines`.
async fn calls_app_into(lines: &Arc<Lines>) -> App {
    App::builder()
        .output(lines.clone())
        .load([guest("tests/guests/calls")])
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn container_output_arrives_as_lines_labelled_by_container() {
    let lines = Arc::new(Lines::default());
    let app = calls_app_into(&lines).await;
    let say = app.function("say").unwrap();
    let said: usize = say
        .remote((vec!["one", "", "three"], "no newline"))
        .await
        .unwrap();
    assert_eq!(said, 3);
    let stdout = lines.of(Stream::Stdout);
    let label = &stdout[0].0;
    assert!(label.starts_with("say#"), "{label}");
    let texts: Vec<&str> = stdout.iter().map(|(_, line)| line.as_str()).collect();
    assert_eq!(texts, ["one", "", "three"]);
    assert!(stdout.iter().all(|(container, _)| container == label));
    assert_eq!(
        prefixed(label, b"one"),
        format!("[{label}] one\n").into_bytes(),
        "how the default sink writes it"
    );

    // A panic's report: its first line is the report's, not an empty one.
    let boom = app.function("boom").unwrap();
    assert!(boom.remote::<u32>("kaboom").await.is_err());
    // The partial line reaches the sink when its stream closes: when the container ends, here
    // because the app goes away.
    drop((say, boom, app));
    eventually("the partial line and the panic report arrive", || {
        let stderr = lines.of(Stream::Stderr);
        stderr.iter().any(|(_, line)| line == "no newline")
            && stderr.iter().any(|(_, line)| line == "kaboom")
    })
    .await;
    let stderr = lines.of(Stream::Stderr);
    let report: Vec<&str> = stderr
        .iter()
        .filter(|(container, _)| container.starts_with("boom#"))
        .map(|(_, line)| line.as_str())
        .collect();
    assert!(report[0].starts_with("panicked at"), "{report:?}");
    assert!(report.contains(&"kaboom"), "{report:?}");
    assert!(
        stderr
            .iter()
            .any(|(container, line)| container == label && line == "no newline"),
        "{stderr:?}"
    );
}

/// The longest piece of a line the sink gets, and what ends a piece the next one goes on with
/// (`runtime/output.rs`).
const MAX_LINE: usize = 64 << 10;
const CONTINUED: &str = " [continued]";

/// What `flood(total, _, newline_every)` writes.
fn flooded(total: u64, newline_every: u64) -> Vec<u8> {
    (0..total)
        .map(|index| {
            if newline_every > 0 && (index + 1) % newline_every == 0 {
                b'\n'
            } else {
                b'a' + (index % 26) as u8
            }
        })
        .collect()
}

/// Calls `flood(total, chunk, newline_every)` on an app of its own, which it then drops (ending
/// the container), and waits until the stdout lines say `done`.
async fn flood(
    total: u64,
    chunk: u32,
    newline_every: u64,
    done: impl Fn(&[(String, String)]) -> bool,
) -> Vec<(String, String)> {
    let lines = Arc::new(Lines::default());
    let app = calls_app_into(&lines).await;
    let flood = app.function("flood").unwrap();
    let wrote: u64 = flood.remote((total, chunk, newline_every)).await.unwrap();
    assert_eq!(wrote, total);
    drop((flood, app));
    eventually("the flood is delivered", || done(&lines.of(Stream::Stdout))).await;
    lines.of(Stream::Stdout)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_line_without_a_newline_arrives_in_marked_pieces_in_order() {
    // 3 MiB: within the budget's burst, so nothing is dropped.
    const TOTAL: u64 = 3 << 20;
    let content = |pieces: &[(String, String)]| -> String {
        pieces
            .iter()
            .map(|(_, piece)| piece.strip_suffix(CONTINUED).unwrap_or(piece))
            .collect()
    };
    let pieces = flood(TOTAL, 4096, 0, |pieces| {
        content(pieces).len() as u64 >= TOTAL
    })
    .await;
    let label = &pieces[0].0;
    assert!(label.starts_with("flood#"), "{label}");
    assert!(pieces.iter().all(|(container, _)| container == label));
    let longest = pieces.iter().map(|(_, piece)| piece.len()).max().unwrap();
    assert!(
        longest <= MAX_LINE + CONTINUED.len(),
        "a piece of {longest} bytes"
    );
    let (last, cut) = pieces.split_last().unwrap();
    assert!(cut.iter().all(|(_, piece)| piece.ends_with(CONTINUED)));
    assert!(!last.1.ends_with(CONTINUED));
    assert_eq!(pieces.len(), (TOTAL as usize).div_ceil(MAX_LINE));
    assert!(
        content(&pieces).into_bytes() == flooded(TOTAL, 0),
        "in order"
    );
}

/// What the sink got of a flood: bytes the lines carry, newlines counted; bytes the marks say
/// were dropped; the marks.
#[derive(Debug, Default)]
struct Accounted {
    delivered: u64,
    dropped: u64,
    marks: u64,
}

fn account(lines: &[(String, String)]) -> Accounted {
    let mut accounted = Accounted::default();
    for (_, line) in lines {
        let mark = line
            .strip_prefix("[fnhost: ")
            .and_then(|rest| rest.strip_suffix(" (4 MiB burst)]"));
        if let Some(mark) = mark {
            let count = mark.split(' ').next().unwrap();
            assert!(
                mark.ends_with(" bytes of output dropped: over 1 MiB/s"),
                "{line}"
            );
            accounted.dropped += count.parse::<u64>().unwrap();
            accounted.marks += 1;
        } else if let Some(piece) = line.strip_suffix(CONTINUED) {
            accounted.delivered += piece.len() as u64;
        } else {
            accounted.delivered += line.len() as u64 + 1;
        }
    }
    accounted
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_past_the_budget_is_dropped_and_counted_by_one_mark() {
    const TOTAL: u64 = 64 << 20;
    const BURST: f64 = (4 << 20) as f64;
    const RATE: f64 = (1 << 20) as f64;
    let start = Instant::now();
    let lines = flood(TOTAL, 64 << 10, 1024, |lines| {
        let accounted = account(lines);
        accounted.delivered + accounted.dropped >= TOTAL
    })
    .await;
    // An upper bound on how long the container's budget had to refill.
    let elapsed = start.elapsed().as_secs_f64();
    let accounted = account(&lines);
    // Each byte written is delivered or counted dropped (the last line, if cut short by the
    // container's end rather than a newline, counts one more).
    assert!(
        accounted.delivered + accounted.dropped <= TOTAL + 1,
        "{accounted:?}"
    );
    assert!(
        accounted.delivered as f64 <= BURST + RATE * elapsed + 1.0,
        "{accounted:?} in {elapsed:.1} s: over the budget"
    );
    // One mark when output resumes, at most once a second, or when the stream closes: never
    // one per write (there were 1024).
    assert!(
        accounted.marks as f64 <= 1.0 + elapsed.ceil(),
        "{accounted:?} in {elapsed:.1} s"
    );
    assert!(
        accounted.dropped > 0 || elapsed > 60.0,
        "{accounted:?}: nothing dropped"
    );
}

/// A Python exception's traceback goes to its container's stderr, the app's log, while the
/// caller gets `Type: message`.
#[tokio::test(flavor = "multi_thread")]
async fn a_python_traceback_reaches_the_log() {
    let lines = Arc::new(Lines::default());
    let app = App::builder()
        .output(lines.clone())
        .load([python_guest("tests/guests-py/calls/app.py")])
        .await
        .unwrap();
    let error = app
        .function("py_raises")
        .unwrap()
        .remote::<()>(("in the log",))
        .await
        .unwrap_err();
    assert_eq!(
        error.without_traceback().to_string(),
        "ValueError: in the log"
    );
    eventually("the traceback is in the log", || {
        let stderr = lines.of(Stream::Stderr);
        stderr
            .iter()
            .any(|(_, line)| line.starts_with("Traceback (most recent call last)"))
            && stderr.iter().any(|(container, line)| {
                container.starts_with("py_raises#") && line == "ValueError: in the log"
            })
    })
    .await;
}
