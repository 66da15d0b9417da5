//! Guest stdout and stderr, delivered to an [`OutputSink`].
//!
//! A function container's output is cut into whole lines before it reaches the sink, each
//! tagged with the container it came from (`myfunc#3`), so the output of many containers
//! interleaves by whole lines wherever the sink puts it. A partial line waits for its newline
//! (or for the stream to close). A local entrypoint's output is the program's own: it reaches
//! the sink as written, uncut.
//!
//! [`StdioSink`], the default, writes to the host's own stdout and stderr, prefixing each line
//! of a function container with `[myfunc#3] `; a server keeps per-app logs with a sink of its
//! own.

use bytes::Bytes;
use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

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
    /// newline (the last line of a stream that closed without one, too).
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

/// One of a container's output streams, as WASI sees it.
#[derive(Clone)]
pub(crate) struct GuestOutput {
    sink: Arc<dyn OutputSink>,
    origin: Origin,
    stream: Stream,
}

impl GuestOutput {
    pub(crate) fn new(sink: Arc<dyn OutputSink>, origin: Origin, stream: Stream) -> Self {
        GuestOutput {
            sink,
            origin,
            stream,
        }
    }

    fn open(&self) -> LineStream {
        LineStream {
            output: self.clone(),
            partial: Vec::new(),
        }
    }
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

/// One open guest stream.
struct LineStream {
    output: GuestOutput,
    /// The last line's bytes, until its newline arrives (function containers only).
    partial: Vec<u8>,
}

/// How much one `write` may carry; WASI asks before every write.
const WRITE_BUDGET: usize = 1 << 20;

impl LineStream {
    /// Takes bytes the guest wrote: delivers every complete line, keeps the partial one.
    fn push(&mut self, bytes: &[u8]) {
        let GuestOutput {
            sink,
            origin,
            stream,
        } = &self.output;
        let Origin::Container(container) = origin else {
            return sink.program(*stream, bytes);
        };
        self.partial.extend_from_slice(bytes);
        if let Some(end) = self.partial.iter().rposition(|&byte| byte == b'\n') {
            let rest = self.partial.split_off(end + 1);
            let complete = std::mem::replace(&mut self.partial, rest);
            // `complete` ends with a newline: without it, splitting gives exactly its lines.
            for line in complete[..complete.len() - 1].split(|&byte| byte == b'\n') {
                sink.line(container, *stream, line);
            }
        }
    }
}

impl OutputStream for LineStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_BUDGET)
    }
}

impl Drop for LineStream {
    fn drop(&mut self) {
        if let (Origin::Container(container), false) =
            (&self.output.origin, self.partial.is_empty())
        {
            self.output
                .sink
                .line(container, self.output.stream, &self.partial);
        }
    }
}

impl tokio::io::AsyncWrite for LineStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.get_mut().push(bytes);
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
impl Pollable for LineStream {
    async fn ready(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Lines(Mutex<Vec<(String, Vec<u8>)>>);

    impl OutputSink for Lines {
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

    #[test]
    fn container_output_reaches_the_sink_as_whole_lines() {
        let lines = Arc::new(Lines::default());
        let origin = Origin::Container(Arc::from("f#3"));
        let output = GuestOutput::new(lines.clone(), origin, Stream::Stdout);
        let mut stream = output.open();
        stream.push(b"one\ntw");
        stream.push(b"o\n\nthree");
        drop(stream);
        let got: Vec<(String, Vec<u8>)> = lines.0.lock().unwrap().clone();
        let expected =
            [&b"one"[..], b"two", b"", b"three"].map(|line| ("f#3".to_owned(), line.to_vec()));
        assert_eq!(got, expected);
        assert_eq!(prefixed("f#3", b"two"), b"[f#3] two\n");
    }

    #[test]
    fn program_output_is_passed_on_uncut() {
        let lines = Arc::new(Lines::default());
        let output = GuestOutput::new(lines.clone(), Origin::Program, Stream::Stderr);
        let mut stream = output.open();
        stream.push(b"no newline");
        drop(stream);
        assert_eq!(
            *lines.0.lock().unwrap(),
            [(String::new(), b"no newline".to_vec())]
        );
    }
}
