//! Guest stdout and stderr, forwarded to the host's own.
//!
//! A container's output is written line by line, each line prefixed with the function and
//! container it came from (`[myfunc#3] ...`), so the output of many containers interleaves by
//! whole lines. A partial line waits for its newline (or for the stream to close). Output of a
//! local entrypoint is forwarded as it is, unprefixed, since it is the program's own output.

use bytes::Bytes;
use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Which of the host's streams output goes to.
#[derive(Clone, Copy)]
pub(crate) enum Target {
    Stdout,
    Stderr,
}

/// A guest output stream: where it goes, and the prefix of its lines (none for entrypoints).
#[derive(Clone)]
pub(crate) struct Forward {
    target: Target,
    prefix: Option<Arc<str>>,
}

impl Forward {
    pub(crate) fn new(target: Target, prefix: Option<Arc<str>>) -> Self {
        Forward { target, prefix }
    }

    fn write_all(&self, bytes: &[u8]) {
        // Output that cannot be written (a closed pipe) is dropped: the guest must not trap
        // because the host's terminal went away.
        let _ = match self.target {
            Target::Stdout => std::io::stdout().lock().write_all(bytes),
            Target::Stderr => std::io::stderr().lock().write_all(bytes),
        };
    }

    fn flush(&self) {
        let _ = match self.target {
            Target::Stdout => std::io::stdout().flush(),
            Target::Stderr => std::io::stderr().flush(),
        };
    }
}

impl IsTerminal for Forward {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Forward {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.open())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.open())
    }
}

impl Forward {
    fn open(&self) -> LineStream {
        LineStream {
            forward: self.clone(),
            partial: Vec::new(),
        }
    }
}

/// One open guest stream.
struct LineStream {
    forward: Forward,
    /// The last line's bytes, until its newline arrives (prefixed streams only).
    partial: Vec<u8>,
}

/// How much one `write` may carry; WASI asks before every write.
const WRITE_BUDGET: usize = 1 << 20;

impl LineStream {
    fn emit(&self, line: &[u8]) {
        let Some(prefix) = &self.forward.prefix else {
            return self.forward.write_all(line);
        };
        let mut out = Vec::with_capacity(prefix.len() + line.len() + 1);
        out.extend_from_slice(prefix.as_bytes());
        out.extend_from_slice(line);
        if !line.ends_with(b"\n") {
            out.push(b'\n');
        }
        self.forward.write_all(&out);
    }

    /// Takes bytes the guest wrote: emits every complete line, keeps the partial one.
    fn push(&mut self, bytes: &[u8]) {
        if self.forward.prefix.is_none() {
            return self.emit(bytes);
        }
        self.partial.extend_from_slice(bytes);
        if let Some(end) = self.partial.iter().rposition(|&byte| byte == b'\n') {
            let rest = self.partial.split_off(end + 1);
            let complete = std::mem::replace(&mut self.partial, rest);
            for line in complete.split_inclusive(|&byte| byte == b'\n') {
                self.emit(line);
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
        self.forward.flush();
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_BUDGET)
    }
}

impl Drop for LineStream {
    fn drop(&mut self) {
        if !self.partial.is_empty() {
            let partial = std::mem::take(&mut self.partial);
            self.emit(&partial);
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
        self.forward.flush();
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
