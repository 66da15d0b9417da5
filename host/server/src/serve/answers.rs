//! hyper's own answers in the API's error shape: a request head hyper cannot parse (`400`),
//! one over its size (`431`, or `414` for a request line alone), and a head that does not
//! arrive within the request timeout (`408`, which hyper does not send at all).
//!
//! hyper writes its automatic answer to a bad head by itself — a status line, `connection:
//! close`, `content-length: 0`, its `date`, nothing else — then closes the connection; no hook
//! gives it a body. So the connection's writer ([`AnsweringIo`]) recognises those exact bytes
//! at the end of a write and writes the API's JSON answer of the same status in their place.
//!
//! Invariant: only hyper's automatic answer is replaced, never bytes of a response of ours. A
//! write is replaced only when it is one buffer (hyper's head buffer; a body's buffers follow
//! it in a write of several), ends in the automatic answer's exact shape starting at a message
//! boundary, and nothing this connection answered could end that way ([`Lookalikes`]: a web
//! guest's empty `400` without headers, or a body ending in bytes shaped like a head). Without
//! it a guest's response could be rewritten; when in doubt hyper's answer goes out as hyper
//! wrote it.

use crate::http::ApiError;
use axum::Router;
use axum::body::Body;
use axum::http::header::{CONNECTION, CONTENT_LENGTH, DATE};
use axum::http::{Request, Response, StatusCode};
use bytes::Bytes;
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use std::convert::Infallible;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The status lines of hyper's automatic answers (`proto/h1/role.rs`, `on_error`), as HTTP/1.1
/// and as HTTP/1.0 (after a 1.0 request on the connection).
const STATUS_LINES: [(&[u8], StatusCode); 6] = [
    (b"HTTP/1.1 400 Bad Request", StatusCode::BAD_REQUEST),
    (b"HTTP/1.0 400 Bad Request", StatusCode::BAD_REQUEST),
    (
        b"HTTP/1.1 431 Request Header Fields Too Large",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
    ),
    (
        b"HTTP/1.0 431 Request Header Fields Too Large",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
    ),
    (b"HTTP/1.1 414 URI Too Long", StatusCode::URI_TOO_LONG),
    (b"HTTP/1.0 414 URI Too Long", StatusCode::URI_TOO_LONG),
];

/// The end of every automatic answer: an RFC 7231 date (`Mon, 07 Dec 2026 23:59:59 GMT`) ends
/// in ` GMT`, then the blank line.
const ANSWER_END: &[u8] = b" GMT\r\n\r\n";

/// The length of hyper's `date` value before its ` GMT`.
const DATE_BEFORE_GMT: usize = 25;

/// Where hyper's automatic answer starts in `written`, and its status, when `written` ends
/// with one that starts at a message boundary (the start, or after a line's end).
fn automatic_answer(written: &[u8]) -> Option<(usize, StatusCode)> {
    let rest = written.strip_suffix(ANSWER_END)?;
    let rest = &rest[..rest.len().checked_sub(DATE_BEFORE_GMT)?];
    let rest = rest.strip_suffix(b"\r\ncontent-length: 0\r\ndate: ")?;
    let rest = rest.strip_suffix(b"\r\nconnection: close").unwrap_or(rest);
    STATUS_LINES.iter().find_map(|&(line, status)| {
        let before = rest.strip_suffix(line)?;
        (before.is_empty() || before.ends_with(b"\n")).then_some((before.len(), status))
    })
}

/// The API's answer for a protocol error of `status`, as the bytes of a whole response that
/// closes the connection.
pub(super) fn protocol_answer(status: StatusCode) -> Vec<u8> {
    let error = match status {
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE | StatusCode::URI_TOO_LONG => {
            ApiError::head_too_large(status)
        }
        StatusCode::REQUEST_TIMEOUT => ApiError::head_timeout(),
        _ => ApiError::bad_request("the request's head is not valid HTTP/1.1"),
    };
    let body = error.json();
    let mut answer = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    answer
}

/// Whether a response of this connection could end in bytes shaped like hyper's automatic
/// answer; once one has, hyper's answers on the connection go out unchanged.
#[derive(Debug, Default)]
pub(super) struct Lookalikes(AtomicBool);

impl Lookalikes {
    fn saw_one(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn any(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The router, as one connection's service: every response is checked for [`Lookalikes`].
#[derive(Clone)]
pub(super) struct WatchedRouter {
    router: Router,
    lookalikes: Arc<Lookalikes>,
}

impl WatchedRouter {
    /// `router`, telling `lookalikes` of the responses that could look like hyper's answers.
    pub(super) fn new(router: Router, lookalikes: Arc<Lookalikes>) -> WatchedRouter {
        WatchedRouter { router, lookalikes }
    }
}

impl hyper::service::Service<Request<Incoming>> for WatchedRouter {
    type Response = Response<WatchedBody>;
    type Error = Infallible;
    type Future = WatchedResponse;

    fn call(&self, request: Request<Incoming>) -> WatchedResponse {
        let mut router = self.router.clone();
        WatchedResponse {
            inner: tower_service::Service::call(&mut router, request),
            lookalikes: Arc::clone(&self.lookalikes),
        }
    }
}

/// The router's answer to one request, watched.
pub(super) struct WatchedResponse {
    inner: <Router as tower_service::Service<Request<Incoming>>>::Future,
    lookalikes: Arc<Lookalikes>,
}

impl Future for WatchedResponse {
    type Output = Result<Response<WatchedBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let response = ready!(Pin::new(&mut self.inner).poll(cx))?;
        if head_looks_automatic(&response) {
            self.lookalikes.saw_one();
        }
        let lookalikes = Arc::clone(&self.lookalikes);
        Poll::Ready(Ok(response.map(|body| WatchedBody { body, lookalikes })))
    }
}

/// Whether hyper would write `response`'s head exactly as one of its automatic answers.
fn head_looks_automatic(response: &Response<Body>) -> bool {
    STATUS_LINES
        .iter()
        .any(|&(_, status)| status == response.status())
        && response.body().size_hint().exact() == Some(0)
        && response
            .headers()
            .keys()
            .all(|name| [CONNECTION, CONTENT_LENGTH, DATE].contains(name))
}

/// A response's body whose frames are checked for [`Lookalikes`].
pub(super) struct WatchedBody {
    body: Body,
    lookalikes: Arc<Lookalikes>,
}

impl hyper::body::Body for WatchedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let frame = ready!(Pin::new(&mut self.body).poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && frame
                .data_ref()
                .is_some_and(|data| data.ends_with(ANSWER_END))
        {
            self.lookalikes.saw_one();
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A connection's socket whose writes give hyper's automatic answers the API's body.
pub(super) struct AnsweringIo<S> {
    inner: S,
    lookalikes: Arc<Lookalikes>,
    /// The API's answer written in place of hyper's, until the socket has taken all of it.
    answer: Vec<u8>,
}

impl<S: AsyncWrite + Unpin> AnsweringIo<S> {
    /// `inner`, rewriting hyper's answers unless `lookalikes` says not to.
    pub(super) fn new(inner: S, lookalikes: Arc<Lookalikes>) -> AnsweringIo<S> {
        AnsweringIo {
            inner,
            lookalikes,
            answer: Vec::new(),
        }
    }

    /// The socket; flush first, or an answer taken in hyper's place may be left unwritten.
    pub(super) fn into_inner(self) -> S {
        self.inner
    }

    /// Writes what is left of the API's answer.
    fn poll_answer(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.answer.is_empty() {
            let written = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.answer))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.answer.drain(..written);
        }
        Poll::Ready(Ok(()))
    }

    /// Where hyper's automatic answer starts in `buf`, the one buffer of a write, and its
    /// status.
    fn automatic_answer_in(&self, buf: &[u8]) -> Option<(usize, StatusCode)> {
        if self.lookalikes.any() {
            return None;
        }
        automatic_answer(buf)
    }

    /// Writes what precedes hyper's answer at `start` in `buf`, then takes the API's answer
    /// of `status` in the answer's place: `Ok(n)` as hyper counts its bytes.
    fn poll_replace(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
        start: usize,
        status: StatusCode,
    ) -> Poll<io::Result<usize>> {
        if start > 0 {
            let written = ready!(Pin::new(&mut self.inner).poll_write(cx, &buf[..start]))?;
            if written < start {
                return Poll::Ready(Ok(written));
            }
        }
        tracing::debug!(%status, "hyper refused a request head: answering with the API's error");
        self.answer = protocol_answer(status);
        Poll::Ready(Ok(buf.len()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for AnsweringIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for AnsweringIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_answer(cx))?;
        match self.automatic_answer_in(buf) {
            Some((start, status)) => self.poll_replace(cx, buf, start, status),
            None => Pin::new(&mut self.inner).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_answer(cx))?;
        let mut filled = bufs.iter().filter(|buf| !buf.is_empty());
        let only = match (filled.next(), filled.next()) {
            (Some(only), None) => only,
            _ => return Pin::new(&mut self.inner).poll_write_vectored(cx, bufs),
        };
        match self.automatic_answer_in(only) {
            Some((start, status)) => self.poll_replace(cx, only, start, status),
            None => Pin::new(&mut self.inner).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_answer(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_answer(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper_util::rt::TokioIo;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// What a bare hyper connection (no [`AnsweringIo`]) answers to `request`.
    async fn hypers_answer(request: &[u8]) -> Vec<u8> {
        let (client, server) = tokio::io::duplex(1 << 20);
        let service = hyper::service::service_fn(|_request: Request<Incoming>| async {
            Ok::<_, Infallible>(Response::new(Body::from("ok")))
        });
        tokio::spawn(
            hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(server), service),
        );
        let (mut reading, mut writing) = tokio::io::split(client);
        let request = request.to_vec();
        tokio::spawn(async move { writing.write_all(&request).await });
        let mut answer = Vec::new();
        reading.read_to_end(&mut answer).await.unwrap();
        answer
    }

    #[tokio::test]
    async fn hypers_own_answers_are_recognised_as_it_writes_them() {
        let bad = hypers_answer(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n").await;
        assert_eq!(automatic_answer(&bad), Some((0, StatusCode::BAD_REQUEST)));
        let huge = format!(
            "GET / HTTP/1.1\r\nHost: x\r\nx: {}\r\n\r\n",
            "a".repeat(1 << 19)
        );
        let huge = hypers_answer(huge.as_bytes()).await;
        assert_eq!(
            automatic_answer(&huge),
            Some((0, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE))
        );
    }

    #[test]
    fn only_an_answer_at_a_message_boundary_is_recognised() {
        let answer: &[u8] =
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Mon, 07 Dec 2026 23:59:59 GMT\r\n\r\n";
        let after_a_head = [b"HTTP/1.1 204 No Content\r\n\r\n", answer].concat();
        assert_eq!(
            automatic_answer(&after_a_head),
            Some((27, StatusCode::BAD_REQUEST))
        );
        let inside_a_body = [b"echo: ", answer].concat();
        assert_eq!(automatic_answer(&inside_a_body), None);
        let other_headers = b"HTTP/1.1 400 Bad Request\r\nx: y\r\ncontent-length: 1\r\n\r\n";
        assert_eq!(automatic_answer(other_headers), None);
        assert_eq!(automatic_answer(&answer[1..]), None);
        assert_eq!(automatic_answer(b" GMT\r\n\r\n"), None);
    }

    #[test]
    fn the_api_answer_is_a_whole_response_with_a_json_error() {
        let answer = protocol_answer(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        let text = String::from_utf8(answer).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"]["kind"], "head-too-large");
    }
}
