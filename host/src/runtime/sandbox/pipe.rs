//! A process's standard streams: one bounded pipe each, between the host and the guest.
//!
//! A pipe holds at most [`PIPE_CAPACITY`] bytes that were written and not yet read; a writer
//! finding it full waits until the reader takes some, as with an operating system's pipe. So
//! whatever a process writes, and however slowly its reader reads, the host holds a bounded
//! amount of its output: without the bound, a process printing in a loop while nobody reads
//! would grow the host's memory until the process's timeout. Nothing is dropped: a program
//! driven through its stdin and stdout (a code interpreter) must see every byte.
//!
//! The write end closes when the process ends (its stdout and stderr) or when the host says
//! so (`write_eof` on stdin); the reader then reads what is left and an end of file. When the
//! read end is gone (the host no longer reads a finished sandbox), writes are taken and
//! discarded, so a writer never waits for a reader that will not come.

use bytes::Bytes;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncRead, ReadBuf};
use wasmtime_wasi::cli::{IsTerminal, StdinStream, StdoutStream};
use wasmtime_wasi::p2::{InputStream, OutputStream, Pollable, StreamError, StreamResult};

/// The most bytes a pipe holds unread.
pub const PIPE_CAPACITY: usize = 1 << 20;

/// One pipe; clones share it.
#[derive(Clone, Default)]
pub(crate) struct Pipe(Arc<Mutex<State>>);

#[derive(Default)]
struct State {
    bytes: VecDeque<u8>,
    /// The write end closed: after what is left, an end of file.
    write_closed: bool,
    /// The read end is gone: writes are discarded.
    read_closed: bool,
    /// Readers waiting for bytes or the end.
    readers: Vec<Waker>,
    /// Writers waiting for room.
    writers: Vec<Waker>,
}

/// What a read found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Read {
    Bytes(Bytes),
    /// Nothing now; the write end is open.
    Empty,
    /// Nothing more will come.
    End,
}

impl State {
    fn room(&self) -> usize {
        PIPE_CAPACITY - self.bytes.len()
    }

    fn wake(wakers: &mut Vec<Waker>) {
        wakers.drain(..).for_each(Waker::wake);
    }
}

impl Pipe {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes as many of `bytes` as there is room for (all of them when the read end is gone);
    /// returns how many. Nothing is taken once the write end closed.
    pub(crate) fn write(&self, bytes: &[u8]) -> usize {
        let mut state = self.lock();
        if state.write_closed {
            return 0;
        }
        if state.read_closed {
            return bytes.len();
        }
        let taken = bytes.len().min(state.room());
        state.bytes.extend(&bytes[..taken]);
        if taken > 0 {
            State::wake(&mut state.readers);
        }
        taken
    }

    /// Ready when a write would take bytes (or the read end is gone, or the write end closed).
    pub(crate) fn poll_writable(&self, context: &mut Context<'_>) -> Poll<()> {
        let mut state = self.lock();
        if state.room() > 0 || state.read_closed || state.write_closed {
            return Poll::Ready(());
        }
        state.writers.push(context.waker().clone());
        Poll::Pending
    }

    /// Writes all of `bytes`, waiting for room; `false` when the write end closed first.
    pub(crate) async fn write_all(&self, mut bytes: &[u8]) -> bool {
        while !bytes.is_empty() {
            poll_fn(|context| self.poll_writable(context)).await;
            if self.lock().write_closed {
                return false;
            }
            bytes = &bytes[self.write(bytes)..];
        }
        true
    }

    /// Waits until every byte written was read (or the read end is gone): a pipe's `drain`.
    pub(crate) async fn drained(&self) {
        poll_fn(|context| {
            let mut state = self.lock();
            if state.bytes.is_empty() || state.read_closed {
                return Poll::Ready(());
            }
            state.writers.push(context.waker().clone());
            Poll::Pending
        })
        .await;
    }

    /// Closes the write end: readers get what is left, then the end.
    pub(crate) fn close_write(&self) {
        let mut state = self.lock();
        state.write_closed = true;
        State::wake(&mut state.readers);
        State::wake(&mut state.writers);
    }

    /// Closes the read end: what is held is dropped and later writes are discarded.
    pub(crate) fn close_read(&self) {
        let mut state = self.lock();
        state.read_closed = true;
        state.bytes = VecDeque::new();
        State::wake(&mut state.writers);
    }

    /// Whether the write end closed.
    pub(crate) fn write_closed(&self) -> bool {
        self.lock().write_closed
    }

    /// Takes up to `max` bytes.
    pub(crate) fn read(&self, max: usize) -> Read {
        let mut state = self.lock();
        if state.bytes.is_empty() {
            return match state.write_closed {
                true => Read::End,
                false => Read::Empty,
            };
        }
        let taken = max.min(state.bytes.len());
        let bytes: Vec<u8> = state.bytes.drain(..taken).collect();
        State::wake(&mut state.writers);
        Read::Bytes(Bytes::from(bytes))
    }

    /// Ready when a read finds bytes or the end.
    pub(crate) fn poll_readable(&self, context: &mut Context<'_>) -> Poll<()> {
        let mut state = self.lock();
        if !state.bytes.is_empty() || state.write_closed {
            return Poll::Ready(());
        }
        state.readers.push(context.waker().clone());
        Poll::Pending
    }

    /// The next bytes, up to `max`, waiting for some; `None` at the end.
    pub(crate) async fn read_some(&self, max: usize) -> Option<Bytes> {
        loop {
            poll_fn(|context| self.poll_readable(context)).await;
            match self.read(max) {
                Read::Bytes(bytes) => return Some(bytes),
                Read::End => return None,
                Read::Empty => {}
            }
        }
    }
}

/// The guest's end of its stdin: it reads.
pub(crate) struct GuestStdin(pub(crate) Pipe);

/// The guest's end of its stdout or stderr: it writes.
pub(crate) struct GuestOutput(pub(crate) Pipe);

impl IsTerminal for GuestStdin {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdinStream for GuestStdin {
    fn async_stream(&self) -> Box<dyn AsyncRead + Send + Sync> {
        Box::new(Reader(self.0.clone()))
    }

    fn p2_stream(&self) -> Box<dyn InputStream> {
        Box::new(Reader(self.0.clone()))
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(Writer(self.0.clone()))
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(Writer(self.0.clone()))
    }
}

/// A handle the guest opened on its stdin.
struct Reader(Pipe);

/// A handle the guest opened on its stdout or stderr.
struct Writer(Pipe);

impl AsyncRead for Reader {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        loop {
            match self.0.read(buf.remaining()) {
                Read::Bytes(bytes) => {
                    buf.put_slice(&bytes);
                    return Poll::Ready(Ok(()));
                }
                Read::End => return Poll::Ready(Ok(())),
                Read::Empty => std::task::ready!(self.0.poll_readable(context)),
            }
        }
    }
}

impl InputStream for Reader {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        match self.0.read(size) {
            Read::Bytes(bytes) => Ok(bytes),
            Read::Empty => Ok(Bytes::new()),
            Read::End => Err(StreamError::Closed),
        }
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Reader {
    async fn ready(&mut self) {
        poll_fn(|context| self.0.poll_readable(context)).await;
    }
}

impl tokio::io::AsyncWrite for Writer {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        loop {
            if self.0.write_closed() {
                return Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()));
            }
            match self.0.write(bytes) {
                0 if !bytes.is_empty() => std::task::ready!(self.0.poll_writable(context)),
                taken => return Poll::Ready(Ok(taken)),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl OutputStream for Writer {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        // `check_write` said how much there is room for; a guest writing more has the rest cut,
        // as WASI allows a stream to trap or fail there.
        if self.0.write(&bytes) < bytes.len() {
            return Err(StreamError::trap("wrote more than check-write allowed"));
        }
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        let state = self.0.lock();
        if state.write_closed {
            return Err(StreamError::Closed);
        }
        Ok(match state.read_closed {
            true => PIPE_CAPACITY,
            false => state.room(),
        })
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Writer {
    async fn ready(&mut self) {
        poll_fn(|context| self.0.poll_writable(context)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_pipe_holds_its_writer_until_the_reader_reads() {
        let pipe = Pipe::default();
        let big = vec![7u8; PIPE_CAPACITY + 10];
        let writer = tokio::spawn({
            let pipe = pipe.clone();
            async move { pipe.write_all(&big).await }
        });
        // The writer stops at the capacity: the reader's first read is bounded by it.
        let mut read = 0;
        while read < PIPE_CAPACITY + 10 {
            read += pipe.read_some(usize::MAX).await.unwrap().len();
            assert!(read <= PIPE_CAPACITY + 10);
        }
        assert!(writer.await.unwrap());
        pipe.close_write();
        assert_eq!(pipe.read_some(10).await, None);
    }

    #[tokio::test]
    async fn the_reader_gets_what_is_left_then_the_end() {
        let pipe = Pipe::default();
        assert_eq!(pipe.write(b"abc"), 3);
        pipe.close_write();
        assert_eq!(pipe.write(b"d"), 0);
        assert_eq!(pipe.read(2), Read::Bytes(Bytes::from_static(b"ab")));
        assert_eq!(pipe.read(2), Read::Bytes(Bytes::from_static(b"c")));
        assert_eq!(pipe.read(2), Read::End);
    }

    #[tokio::test]
    async fn without_a_reader_writes_are_discarded_not_held() {
        let pipe = Pipe::default();
        pipe.close_read();
        let flood = vec![1u8; PIPE_CAPACITY * 3];
        assert!(pipe.write_all(&flood).await);
        assert_eq!(pipe.lock().bytes.len(), 0);
    }

    #[tokio::test]
    async fn drained_waits_for_the_reader() {
        let pipe = Pipe::default();
        pipe.write(b"line\n");
        let drained = tokio::spawn({
            let pipe = pipe.clone();
            async move { pipe.drained().await }
        });
        tokio::task::yield_now().await;
        assert!(!drained.is_finished());
        assert!(matches!(pipe.read(100), Read::Bytes(_)));
        drained.await.unwrap();
    }
}
