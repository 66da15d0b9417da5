//! Guest stdout and stderr, delivered to an [`OutputSink`].
//!
//! A function container's output is cut into whole lines before it reaches the sink, each
//! tagged with the container it came from (`myfunc#3`), so the output of many containers
//! interleaves by whole lines wherever the sink puts it. A partial line waits for its newline
//! (or for the stream to close: when the container ends). A local entrypoint's output is the
//! program's own: it reaches the sink as written, uncut.
//!
//! [`StdioSink`], the default, writes to the host's own stdout and stderr, prefixing each line
//! of a function container with `[myfunc#3] `; a server keeps per-app logs with a sink of its
//! own.
//!
//! # Bounds
//!
//! What a container writes costs the host a bounded amount of memory and time per byte, and a
//! bounded amount of output, however the guest writes it:
//!
//! - **One stream, one state.** Each of a container's streams keeps one partial line and one
//!   budget, shared by every handle the guest opens on it (WASI makes a new handle at every
//!   `get-stdout`). Without it, a guest opening a handle per write would get a fresh budget
//!   each time and leave a partial line in each handle.
//! - **Lines are capped.** A line longer than [`MAX_LINE`] (64 KiB) reaches the sink in pieces
//!   of at most `MAX_LINE` bytes (up to 3 fewer, so as not to split a UTF-8 character), each
//!   piece but the last ending with [`CONTINUED`] (` [continued]`): the next line the sink gets
//!   from the same container and stream goes on with it. A stream therefore holds at most
//!   `MAX_LINE` bytes of a partial line. Without the cap, a guest that never writes a newline
//!   makes the host hold all it writes (200 MiB written with 1 MiB of guest memory took the host
//!   to 431 MiB).
//! - **Bytes are scanned once.** A write is searched for newlines as it arrives; bytes held
//!   from earlier writes are never searched again. Without it, every write rescans the partial
//!   line: quadratic time (16 MiB written in 4 KiB pieces with no newline took 9.8 s).
//! - **Output is budgeted.** Each stream of a function container delivers at most [`RATE`]
//!   (1 MiB/s) sustained, with bursts of up to [`BURST`] (4 MiB): a token bucket, full when the
//!   container starts. Past it the guest's writes succeed but their bytes are dropped, and a
//!   partial line the drop cuts short is delivered marked [`CONTINUED`]. Output resumes once
//!   the bucket holds [`RESUME`] (1 MiB) again, so after at least a second; it resumes with one
//!   line, [`dropped_mark`], `[fnhost: N bytes of output dropped: over 1 MiB/s (4 MiB burst)]`,
//!   which a stream that closes while dropping delivers last. So there is at most one mark a
//!   second, never one per write. Without the budget a guest floods the sink (a terminal, a
//!   server's log store) as fast as it can write.
//! - **Program output holds nothing.** A local entrypoint's output goes to the sink write by
//!   write (at most [`WRITE_BUDGET`] bytes each, 4 KiB through WASI's blocking writes), never
//!   kept, and has no budget: it is the program the operator runs in the foreground, whose
//!   output is the point.

use bytes::Bytes;
use std::io::Write;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// The longest line a function container's stream delivers whole: longer ones are cut into
/// pieces of at most this many bytes, each but the last followed by [`CONTINUED`].
pub const MAX_LINE: usize = 64 << 10;

/// What ends a piece of a line that goes on in the next piece: appended to the piece, so a
/// piece the sink gets is at most `MAX_LINE + CONTINUED.len()` bytes.
pub const CONTINUED: &[u8] = b" [continued]";

/// The bytes per second each stream of a function container may deliver, sustained.
pub const RATE: u64 = 1 << 20;

/// The bytes each stream of a function container may deliver at once, above [`RATE`]: the
/// token bucket's size.
pub const BURST: u64 = 4 << 20;

/// The bytes a stream that is dropping output must have in its bucket before it delivers
/// again: a second's worth, so that marks ([`dropped_mark`]) come at most once a second.
pub const RESUME: u64 = RATE;

/// The line that says a stream dropped `bytes` bytes over its budget.
pub fn dropped_mark(bytes: u64) -> Vec<u8> {
    format!(
        "[fnhost: {bytes} bytes of output dropped: over {} MiB/s ({} MiB burst)]",
        RATE >> 20,
        BURST >> 20
    )
    .into_bytes()
}

/// Which of a guest's streams output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Its stdout.
    Stdout,
    /// Its stderr.
    Stderr,
}

/// Where guest output goes.
pub trait OutputSink: Send + Sync {
    /// One line the container `container` (`function#id`) wrote on `stream`, without its
    /// newline (the last line of a stream that closed without one, too). A line longer than
    /// 64 KiB comes in pieces, each but the last ending with ` [continued]`; a stream over its
    /// budget says how much it dropped in a line of its own (see the module's doc).
    fn line(&self, container: &str, stream: Stream, line: &[u8]);

    /// Bytes a local entrypoint wrote on `stream`, as written.
    fn program(&self, stream: Stream, bytes: &[u8]);
}

/// The default sink: the host's own stdout and stderr, function lines prefixed with
/// `[function#id] `. Output that cannot be written (a closed pipe) is dropped: a guest must not
/// trap because the host's terminal went away.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdioSink;

impl StdioSink {
    fn write(stream: Stream, bytes: &[u8]) {
        let _ = match stream {
            Stream::Stdout => std::io::stdout().lock().write_all(bytes),
            Stream::Stderr => std::io::stderr().lock().write_all(bytes),
        };
    }
}

/// `[container] line\n`: how [`StdioSink`] writes a function container's line.
pub fn prefixed(container: &str, line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(container.len() + line.len() + 4);
    out.push(b'[');
    out.extend_from_slice(container.as_bytes());
    out.extend_from_slice(b"] ");
    out.extend_from_slice(line);
    out.push(b'\n');
    out
}

impl OutputSink for StdioSink {
    fn line(&self, container: &str, stream: Stream, line: &[u8]) {
        StdioSink::write(stream, &prefixed(container, line));
    }

    fn program(&self, stream: Stream, bytes: &[u8]) {
        StdioSink::write(stream, bytes);
        let _ = match stream {
            Stream::Stdout => std::io::stdout().flush(),
            Stream::Stderr => std::io::stderr().flush(),
        };
    }
}

/// Who a guest stream belongs to.
#[derive(Clone)]
pub(crate) enum Origin {
    /// A function container, by its label (`function#id`): output cut into lines.
    Container(Arc<str>),
    /// A local entrypoint: the program's own output, uncut.
    Program,
}

/// One of a container's output streams, as WASI sees it: every handle the guest opens on it
/// shares its state.
#[derive(Clone)]
pub(crate) struct GuestOutput(Target);

#[derive(Clone)]
enum Target {
    /// A local entrypoint's stream: passed on write by write, nothing kept.
    Program {
        sink: Arc<dyn OutputSink>,
        stream: Stream,
    },
    /// A function container's stream: its partial line and budget.
    Container(Arc<Mutex<LineCutter>>),
}

impl GuestOutput {
    pub(crate) fn new(sink: Arc<dyn OutputSink>, origin: Origin, stream: Stream) -> Self {
        GuestOutput(match origin {
            Origin::Container(container) => Target::Container(Arc::new(Mutex::new(
                LineCutter::new(sink, container, stream, Instant::now()),
            ))),
            Origin::Program => Target::Program { sink, stream },
        })
    }

    fn open(&self) -> Handle {
        Handle(self.clone())
    }

    /// Takes bytes the guest wrote.
    fn push(&self, bytes: &[u8]) {
        match &self.0 {
            Target::Program { sink, stream } => sink.program(*stream, bytes),
            Target::Container(cutter) => lock(cutter).push(bytes, Instant::now()),
        }
    }
}

/// The cutter, even if a sink panicked while it was locked (its state is whole between calls).
fn lock(cutter: &Mutex<LineCutter>) -> MutexGuard<'_, LineCutter> {
    cutter.lock().unwrap_or_else(PoisonError::into_inner)
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.open())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.open())
    }
}

/// A function container's stream: cuts what it writes into lines of at most [`MAX_LINE`]
/// bytes, within its budget. Its last partial line (and the mark of what it was dropping)
/// reaches the sink when it drops: when the container and every handle on the stream are gone.
struct LineCutter {
    sink: Arc<dyn OutputSink>,
    container: Arc<str>,
    stream: Stream,
    /// The current line's bytes not yet delivered: never more than `MAX_LINE`.
    partial: Vec<u8>,
    budget: Budget,
}

impl LineCutter {
    fn new(sink: Arc<dyn OutputSink>, container: Arc<str>, stream: Stream, now: Instant) -> Self {
        LineCutter {
            sink,
            container,
            stream,
            partial: Vec::new(),
            budget: Budget::new(now),
        }
    }

    fn deliver(&self, line: &[u8]) {
        self.sink.line(&self.container, self.stream, line);
    }

    /// Takes bytes the guest wrote at `now`: delivers what the budget allows, drops the rest.
    fn push(&mut self, bytes: &[u8], now: Instant) {
        let (admitted, resumed) = self.budget.admit(bytes.len(), now);
        if let Some(dropped) = resumed {
            self.deliver(&dropped_mark(dropped));
        }
        self.take(&bytes[..admitted]);
        if admitted < bytes.len() && !self.partial.is_empty() {
            // The rest of this line is dropped.
            self.partial.reserve_exact(CONTINUED.len());
            self.partial.extend_from_slice(CONTINUED);
            self.deliver(&self.partial);
            self.partial.clear();
        }
    }

    /// Delivers every line `bytes` completes, keeps the partial one; looks at each byte once.
    fn take(&mut self, mut bytes: &[u8]) {
        while let Some(end) = bytes.iter().position(|&byte| byte == b'\n') {
            let line = &bytes[..end];
            if self.partial.is_empty() && line.len() <= MAX_LINE {
                self.deliver(line);
            } else {
                self.extend(line);
                self.deliver(&self.partial);
                self.partial.clear();
            }
            bytes = &bytes[end + 1..];
        }
        self.extend(bytes);
    }

    /// Adds `bytes` (no newline among them) to the partial line, delivering a piece marked
    /// [`CONTINUED`] each time the line goes on past `MAX_LINE` bytes.
    fn extend(&mut self, mut bytes: &[u8]) {
        while self.partial.len() + bytes.len() > MAX_LINE {
            let fill = MAX_LINE - self.partial.len();
            self.partial.extend_from_slice(&bytes[..fill]);
            bytes = &bytes[fill..];
            let cut = char_boundary(&self.partial, bytes[0]);
            let mut carry = [0; 3];
            let carried = self.partial.len() - cut;
            carry[..carried].copy_from_slice(&self.partial[cut..]);
            self.partial.truncate(cut);
            self.partial.reserve_exact(CONTINUED.len());
            self.partial.extend_from_slice(CONTINUED);
            self.deliver(&self.partial);
            self.partial.clear();
            self.partial.extend_from_slice(&carry[..carried]);
        }
        self.partial.extend_from_slice(bytes);
    }
}

/// Where to cut `line` (at least 3 bytes long), which goes on with `next`: at its end, or up to
/// 3 bytes before so as not to split a UTF-8 character (not before a continuation byte).
fn char_boundary(line: &[u8], next: u8) -> usize {
    let at = |index: usize| line.get(index).copied().unwrap_or(next);
    let mut cut = line.len();
    while cut > line.len() - 3 && at(cut) & 0xC0 == 0x80 {
        cut -= 1;
    }
    cut
}

impl Drop for LineCutter {
    fn drop(&mut self) {
        if !self.partial.is_empty() {
            self.deliver(&self.partial);
        }
        if self.budget.dropped > 0 {
            self.deliver(&dropped_mark(self.budget.dropped));
        }
    }
}

/// A stream's token bucket: [`BURST`] bytes, refilled at [`RATE`] bytes a second.
struct Budget {
    /// Bytes the stream may deliver now.
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: Instant,
    /// Bytes dropped since the stream last delivered: it is dropping while this is not 0.
    dropped: u64,
}

impl Budget {
    fn new(now: Instant) -> Self {
        Budget {
            tokens: BURST as f64,
            at: now,
            dropped: 0,
        }
    }

    /// How many of `len` bytes written at `now` may be delivered (the first ones; the others
    /// are counted as dropped), and, if the stream was dropping and delivers again, how many
    /// bytes it dropped.
    fn admit(&mut self, len: usize, now: Instant) -> (usize, Option<u64>) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = self.at.max(now);
        self.tokens = (self.tokens + elapsed * RATE as f64).min(BURST as f64);
        let mut resumed = None;
        if self.dropped > 0 {
            if self.tokens < RESUME as f64 {
                self.dropped += len as u64;
                return (0, None);
            }
            resumed = Some(std::mem::take(&mut self.dropped));
        }
        let admitted = len.min(self.tokens as usize);
        self.tokens -= admitted as f64;
        self.dropped += (len - admitted) as u64;
        (admitted, resumed)
    }
}

/// One handle the guest opened on a stream.
struct Handle(GuestOutput);

/// How much one `write` may carry; WASI asks before every write.
const WRITE_BUDGET: usize = 1 << 20;

impl OutputStream for Handle {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.0.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_BUDGET)
    }
}

impl tokio::io::AsyncWrite for Handle {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let bytes = &bytes[..bytes.len().min(WRITE_BUDGET)];
        self.0.push(bytes);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.poll_flush(context)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Handle {
    async fn ready(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[derive(Default)]
    struct Collect(Mutex<Vec<(String, Vec<u8>)>>);

    impl Collect {
        fn lines(&self) -> Vec<Vec<u8>> {
            let lines = self.0.lock().unwrap();
            lines.iter().map(|(_, line)| line.clone()).collect()
        }
    }

    impl OutputSink for Collect {
        fn line(&self, container: &str, _: Stream, line: &[u8]) {
            self.0
                .lock()
                .unwrap()
                .push((container.to_owned(), line.to_vec()));
        }

        fn program(&self, _: Stream, bytes: &[u8]) {
            self.0.lock().unwrap().push((String::new(), bytes.to_vec()));
        }
    }

    fn cutter(sink: &Arc<Collect>, now: Instant) -> LineCutter {
        LineCutter::new(sink.clone(), Arc::from("f#3"), Stream::Stdout, now)
    }

    fn continued(piece: &[u8]) -> Vec<u8> {
        [piece, CONTINUED].concat()
    }

    #[test]
    fn container_output_reaches_the_sink_as_whole_lines() {
        let lines = Arc::new(Collect::default());
        let origin = Origin::Container(Arc::from("f#3"));
        let output = GuestOutput::new(lines.clone(), origin, Stream::Stdout);
        let (first, second) = (output.open(), output.open());
        first.0.push(b"one\ntw");
        // Another handle on the same stream goes on with the same line.
        second.0.push(b"o\n\nthree");
        drop((first, second));
        assert_eq!(
            lines.lines().len(),
            3,
            "the partial line waits for the stream"
        );
        drop(output);
        let got: Vec<(String, Vec<u8>)> = lines.0.lock().unwrap().clone();
        let expected =
            [&b"one"[..], b"two", b"", b"three"].map(|line| ("f#3".to_owned(), line.to_vec()));
        assert_eq!(got, expected);
        assert_eq!(prefixed("f#3", b"two"), b"[f#3] two\n");
    }

    #[test]
    fn program_output_is_passed_on_uncut() {
        let lines = Arc::new(Collect::default());
        let output = GuestOutput::new(lines.clone(), Origin::Program, Stream::Stderr);
        let stream = output.open();
        let long = vec![b'x'; 3 * MAX_LINE];
        stream.0.push(b"no newline");
        stream.0.push(&long);
        assert_eq!(
            *lines.0.lock().unwrap(),
            [
                (String::new(), b"no newline".to_vec()),
                (String::new(), long)
            ],
            "passed on as written, nothing kept"
        );
    }

    #[test]
    fn a_long_line_reaches_the_sink_in_marked_pieces() {
        let lines = Arc::new(Collect::default());
        let now = Instant::now();
        let mut stream = cutter(&lines, now);
        // 200 KiB with no newline, in 4 KiB writes: never more than MAX_LINE held.
        for _ in 0..50 {
            stream.push(&[b'x'; 4096], now);
            assert!(stream.partial.len() <= MAX_LINE);
        }
        stream.push(b"\n", now);
        let piece = vec![b'x'; MAX_LINE];
        let expected = vec![
            continued(&piece),
            continued(&piece),
            continued(&piece),
            vec![b'x'; 200 * 1024 - 3 * MAX_LINE],
        ];
        assert_eq!(lines.lines(), expected);

        // A long complete line in one write is cut too; a line of exactly MAX_LINE is not.
        lines.0.lock().unwrap().clear();
        let mut write = vec![b'y'; 2 * MAX_LINE + 5];
        write.push(b'\n');
        write.extend_from_slice(&piece);
        write.push(b'\n');
        write.extend_from_slice(&piece);
        stream.push(&write, now);
        drop(stream);
        let expected = vec![
            continued(&vec![b'y'; MAX_LINE]),
            continued(&vec![b'y'; MAX_LINE]),
            b"yyyyy".to_vec(),
            piece.clone(),
            piece,
        ];
        assert_eq!(lines.lines(), expected);
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        let lines = Arc::new(Collect::default());
        let now = Instant::now();
        let mut stream = cutter(&lines, now);
        // `é` is 2 bytes: the first at MAX_LINE - 1, the second past the cap.
        stream.push(&vec![b'x'; MAX_LINE - 1], now);
        stream.push("éyy\n".as_bytes(), now);
        let expected = vec![continued(&vec![b'x'; MAX_LINE - 1]), "éyy".into()];
        assert_eq!(lines.lines(), expected);
        assert!(
            lines
                .lines()
                .iter()
                .all(|line| std::str::from_utf8(line).is_ok())
        );
        assert_eq!(
            char_boundary(&[0x80; 4], 0x80),
            4 - 3,
            "never more than 3 back"
        );
    }

    #[test]
    fn a_flood_past_the_budget_is_dropped_and_counted_by_one_mark() {
        let lines = Arc::new(Collect::default());
        let start = Instant::now();
        let mut stream = cutter(&lines, start);
        let mut line = vec![b'x'; 4095];
        line.push(b'\n');
        // The burst: delivered whole.
        for _ in 0..BURST / 4096 {
            stream.push(&line, start);
        }
        assert_eq!(lines.lines().len() as u64, BURST / 4096);
        // Then 100 writes over half a second: the bucket refills to less than RESUME, so all
        // of them are dropped, and no mark yet.
        for write in 0..100 {
            stream.push(&line, start + Duration::from_millis(5 * write));
        }
        assert_eq!(
            lines.lines().len() as u64,
            BURST / 4096,
            "no mark per write"
        );
        // Past a second, output resumes with one mark counting all of them.
        stream.push(b"back\n", start + Duration::from_secs(2));
        drop(stream);
        let got = lines.lines();
        let tail: Vec<&[u8]> = got[got.len() - 2..].iter().map(|l| &l[..]).collect();
        assert_eq!(tail, [&dropped_mark(100 * 4096)[..], b"back"]);
        assert_eq!(got.len() as u64, BURST / 4096 + 2, "nothing more at close");
        assert_eq!(
            String::from_utf8(dropped_mark(409600)).unwrap(),
            "[fnhost: 409600 bytes of output dropped: over 1 MiB/s (4 MiB burst)]"
        );
    }

    #[test]
    fn a_drop_cuts_the_partial_line_and_a_closing_stream_gives_its_mark() {
        let lines = Arc::new(Collect::default());
        let now = Instant::now();
        let mut stream = cutter(&lines, now);
        let mut line = vec![b'x'; 4095];
        line.push(b'\n');
        for _ in 0..BURST / 4096 - 1 {
            stream.push(&line, now);
        }
        stream.push(&[b'y'; 4086], now);
        // 10 bytes of budget left: the line is cut after `j`, the rest dropped.
        stream.push(b"abcdefghijklmnopqrst", now);
        stream.push(b"more\n", now + Duration::from_millis(100));
        let got = lines.lines();
        let cut = [&[b'y'; 4086][..], b"abcdefghij", CONTINUED].concat();
        assert_eq!(got.last(), Some(&cut));
        assert!(stream.partial.is_empty());
        drop(stream);
        let got = lines.lines();
        assert_eq!(got.last(), Some(&dropped_mark(10 + 5)));
        let delivered: usize = got[..got.len() - 1].iter().map(Vec::len).sum();
        assert!(delivered <= (BURST as usize) + CONTINUED.len());
    }
}
