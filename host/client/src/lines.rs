//! Splitting an answer's body, a stream of byte chunks, into the lines of NDJSON (`map`
//! results, log events, a run's events) as they arrive, and reading an item from each.
//!
//! Invariant: every line is yielded once, in order, without its `\n` (nor a `\r` before it);
//! blank lines are skipped; the last line is yielded even without a final newline; a line
//! longer than [`MAX_LINE`] ends the stream with an error rather than growing the buffer
//! without bound; after an error, the stream ends.

use crate::client::Client;
use crate::error::ClientError;
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use std::pin::Pin;

/// The longest line accepted: a result may be as large as the payload cap (16 MiB), and its
/// JSON envelope adds a little.
pub(crate) const MAX_LINE: usize = 32 << 20;

/// The lines of `response`'s body, from `client`'s server; see the module's invariant.
pub(crate) fn response_lines(
    client: &Client,
    response: reqwest::Response,
) -> impl Stream<Item = Result<Vec<u8>, ClientError>> + Send + use<> {
    let client = client.clone();
    let chunks = response
        .bytes_stream()
        .map_err(move |error| client.transport(error));
    lines(Box::pin(chunks))
}

/// What `parse` reads from each of `response`'s lines, ending after the first error or the
/// first item `last` holds for.
pub(crate) fn parsed_lines<T: Send + 'static>(
    client: &Client,
    response: reqwest::Response,
    parse: fn(&[u8]) -> Result<T, ClientError>,
    last: fn(&T) -> bool,
) -> Pin<Box<dyn Stream<Item = Result<T, ClientError>> + Send>> {
    let items = response_lines(client, response).map(move |line| parse(&line?));
    let items = items.scan(false, move |ended, item| {
        let next = (!*ended).then_some(item);
        if let Some(item) = &next {
            *ended = item.as_ref().is_ok_and(last) || item.is_err();
        }
        futures::future::ready(next)
    });
    Box::pin(items)
}

/// The lines of `chunks`; see the module's invariant.
pub(crate) fn lines<S>(chunks: S) -> impl Stream<Item = Result<Vec<u8>, ClientError>> + Send
where
    S: Stream<Item = Result<Bytes, ClientError>> + Send + Unpin,
{
    let state = Splitter {
        chunks,
        buffer: Vec::new(),
        scanned: 0,
        done: false,
    };
    futures::stream::unfold(state, |mut state| async move {
        let line = state.next_line().await?;
        Some((line, state))
    })
}

/// The state of [`lines`]: the chunks still to come, and what is buffered of the next lines.
struct Splitter<S> {
    chunks: S,
    /// Bytes received and not yet yielded.
    buffer: Vec<u8>,
    /// How much of `buffer` is known to hold no `\n`.
    scanned: usize,
    /// Set once the chunks ended or failed.
    done: bool,
}

impl<S> Splitter<S>
where
    S: Stream<Item = Result<Bytes, ClientError>> + Unpin,
{
    /// The next non-blank line, an error, or `None` at the end.
    async fn next_line(&mut self) -> Option<Result<Vec<u8>, ClientError>> {
        loop {
            if let Some(at) = self.buffer[self.scanned..].iter().position(|&b| b == b'\n') {
                let end = self.scanned + at;
                let mut line: Vec<u8> = self.buffer.drain(..=end).collect();
                self.scanned = 0;
                line.pop();
                if let Some(line) = non_blank(line) {
                    return Some(Ok(line));
                }
                continue;
            }
            self.scanned = self.buffer.len();
            if self.buffer.len() > MAX_LINE {
                self.done = true;
                self.buffer = Vec::new();
                self.scanned = 0;
                return Some(Err(ClientError::Http {
                    status: 200,
                    detail: format!("a line of the answer is longer than {MAX_LINE} bytes"),
                }));
            }
            if self.done {
                let rest = std::mem::take(&mut self.buffer);
                self.scanned = 0;
                return non_blank(rest).map(Ok);
            }
            match self.chunks.next().await {
                Some(Ok(chunk)) => self.buffer.extend_from_slice(&chunk),
                Some(Err(error)) => {
                    self.done = true;
                    self.buffer.clear();
                    self.scanned = 0;
                    return Some(Err(error));
                }
                None => self.done = true,
            }
        }
    }
}

/// `line` without a final `\r`, or `None` when only whitespace is left of it.
fn non_blank(mut line: Vec<u8>) -> Option<Vec<u8>> {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::{ClientError, MAX_LINE, lines};
    use bytes::Bytes;
    use futures::{StreamExt, stream};

    async fn split(chunks: &[&[u8]]) -> Vec<String> {
        let chunks: Vec<Result<Bytes, ClientError>> = chunks
            .iter()
            .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
            .collect();
        lines(stream::iter(chunks))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .map(|line| String::from_utf8(line.unwrap()).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn lines_are_split_across_and_within_chunks() {
        assert_eq!(split(&[b"a\nb", b"c\n", b"d"]).await, ["a", "bc", "d"]);
        assert_eq!(split(&[b"a\r\n\n  \nb\n"]).await, ["a", "b"]);
        assert_eq!(split(&[b"", b"x", b"", b"y\n"]).await, ["xy"]);
        assert!(split(&[]).await.is_empty());
        assert!(split(&[b"\n\n"]).await.is_empty());
    }

    #[tokio::test]
    async fn an_error_ends_the_lines() {
        let chunks = vec![
            Ok(Bytes::from_static(b"a\npartial")),
            Err(ClientError::Payload("broken".to_owned())),
            Ok(Bytes::from_static(b"b\n")),
        ];
        let got: Vec<_> = lines(stream::iter(chunks)).collect().await;
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].as_ref().unwrap(), b"a");
        assert_eq!(got[1].as_ref().unwrap_err().kind(), "payload");
    }

    #[tokio::test]
    async fn an_endless_line_fails_instead_of_growing() {
        let chunk = Bytes::from(vec![b'x'; 1 << 20]);
        let chunks = stream::iter(std::iter::repeat_n(chunk, (MAX_LINE >> 20) + 2).map(Ok));
        let got: Vec<_> = lines(chunks).collect().await;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].as_ref().unwrap_err().kind(), "http");
    }
}
