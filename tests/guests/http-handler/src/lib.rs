//! A third-party-style wasi:http component, written without the fnhost SDK: it exports
//! `wasi:http/incoming-handler@0.2.12` and routes by path, one route per behaviour a wasi:http
//! host must cope with. The host strips its `/web/{app}` prefix, so the routes are seen from `/`:
//!
//! - `GET /`: `hello from wasi:http`, as `text/plain`;
//! - `GET /headers`: echoes the request header `x-echo` and sets `x-powered-by: http-handler`;
//! - `POST /count`: reads the request body chunk by chunk, keeping none of it, and answers the
//!   number of bytes read (memory stays bounded whatever the body's size);
//! - `GET /stream?n=N&size=S`: N chunks of S bytes of `x` (default 4 of 1024), each flushed;
//! - `POST /echo`: streams the request body back as the response body, chunk by chunk, as it
//!   arrives (memory stays bounded whatever the body's size);
//! - `GET /trap`: panics;
//! - `GET /trap-midway?n=N&size=S`: starts a response without a length, sends N chunks of S
//!   bytes (default 4 of 1024), flushed, then panics;
//! - `GET /error-code`: answers the error code `HTTP-request-denied` instead of a response;
//! - `GET /env?name=NAME`: the value of the environment variable NAME, or 404;
//! - `GET /file?path=PATH`: the content of the file PATH, or 404 with why not;
//! - `GET /spin`: computes forever;
//! - `GET /sleep?ms=N`: sleeps N ms on a wasi:clocks pollable, then answers `slept`;
//! - `GET /fetch?url=URL`: GETs URL through wasi:http's outgoing handler and answers
//!   `status {code}`, or 502 `error {ErrorCode:?}` when the request fails or is denied;
//! - `GET /state`: how many `/state` requests this instance has answered, this one included,
//!   so that a test sees whether instances are reused;
//! - anything else: 404 `not found`.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use wasip2::clocks::monotonic_clock;
use wasip2::exports::http::incoming_handler::Guest;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, IncomingRequest, Method, OutgoingBody, OutgoingRequest, OutgoingResponse,
    OutputStream, ResponseOutparam, Scheme,
};
use wasip2::io::streams::StreamError;

/// The most bytes one `blocking-write-and-flush` may carry.
const WRITE_LIMIT: usize = 4096;

/// How many bytes `/count` asks for at a time.
const READ_CHUNK: u64 = 64 * 1024;

/// How many `/state` requests this instance has answered.
static STATE_REQUESTS: AtomicU64 = AtomicU64::new(0);

struct Handler;

wasip2::http::proxy::export!(Handler);

impl Guest for Handler {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let path_with_query = request.path_with_query().unwrap_or_else(|| "/".to_owned());
        let (path, query) = path_with_query
            .split_once('?')
            .unwrap_or((&path_with_query, ""));
        match (request.method(), path) {
            (Method::Get, "/") => respond(
                response_out,
                200,
                vec![header("content-type", "text/plain")],
                b"hello from wasi:http",
            ),
            (Method::Get, "/headers") => {
                let mut headers = vec![header("x-powered-by", "http-handler")];
                headers.extend(
                    request
                        .headers()
                        .get("x-echo")
                        .into_iter()
                        .map(|value| ("x-echo".to_owned(), value)),
                );
                respond(response_out, 200, headers, b"");
            }
            (Method::Post, "/count") => {
                let count = count_body(request);
                respond(response_out, 200, Vec::new(), count.to_string().as_bytes());
            }
            (Method::Get, "/stream") => stream(
                response_out,
                query_number(query, "n").unwrap_or(4),
                query_number(query, "size").unwrap_or(1024),
            ),
            (Method::Post, "/echo") => echo(request, response_out),
            (Method::Get, "/trap") => panic!("trap requested"),
            (Method::Get, "/trap-midway") => {
                let (stream, _body) = start_response(response_out, 200, Vec::new());
                let chunk = vec![b'x'; query_number(query, "size").unwrap_or(1024) as usize];
                for _ in 0..query_number(query, "n").unwrap_or(4) {
                    let _ = write_all(&stream, &chunk);
                }
                panic!("trap requested after the response started");
            }
            (Method::Get, "/error-code") => {
                ResponseOutparam::set(response_out, Err(ErrorCode::HttpRequestDenied));
            }
            (Method::Get, "/env") => match query_value(query, "name").map(std::env::var) {
                Some(Ok(value)) => respond(response_out, 200, Vec::new(), value.as_bytes()),
                _ => respond(response_out, 404, Vec::new(), b"no such variable"),
            },
            (Method::Get, "/file") => {
                match query_value(query, "path").map(|path| std::fs::read(&path)) {
                    Some(Ok(content)) => respond(response_out, 200, Vec::new(), &content),
                    Some(Err(error)) => {
                        respond(response_out, 404, Vec::new(), error.to_string().as_bytes())
                    }
                    None => respond(response_out, 400, Vec::new(), b"missing path"),
                }
            }
            (Method::Get, "/spin") => spin(),
            (Method::Get, "/sleep") => {
                let millis = query_number(query, "ms").unwrap_or(0);
                monotonic_clock::subscribe_duration(millis.saturating_mul(1_000_000)).block();
                respond(response_out, 200, Vec::new(), b"slept");
            }
            (Method::Get, "/fetch") => match query_value(query, "url") {
                Some(url) => match fetch(&url) {
                    Ok(status) => respond(
                        response_out,
                        200,
                        Vec::new(),
                        format!("status {status}").as_bytes(),
                    ),
                    Err(error) => respond(
                        response_out,
                        502,
                        Vec::new(),
                        format!("error {error:?}").as_bytes(),
                    ),
                },
                None => respond(response_out, 400, Vec::new(), b"missing url"),
            },
            (Method::Get, "/state") => {
                let count = STATE_REQUESTS.fetch_add(1, Ordering::Relaxed) + 1;
                respond(response_out, 200, Vec::new(), count.to_string().as_bytes());
            }
            _ => respond(response_out, 404, Vec::new(), b"not found"),
        }
    }
}

/// A response header, as `Fields::from_list` takes it.
fn header(name: &str, value: &str) -> (String, Vec<u8>) {
    (name.to_owned(), value.as_bytes().to_vec())
}

/// Answers with `status`, `headers` and the whole of `body`.
fn respond(
    response_out: ResponseOutparam,
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    body: &[u8],
) {
    let (stream, response_body) = start_response(response_out, status, headers);
    // A client that went away has nothing left to be told.
    let _ = write_all(&stream, body);
    finish(stream, response_body);
}

/// Sends the status and headers, and gives the body's stream to write to.
fn start_response(
    response_out: ResponseOutparam,
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
) -> (OutputStream, OutgoingBody) {
    let fields = Fields::from_list(&headers).expect("the response headers are valid");
    let response = OutgoingResponse::new(fields);
    response
        .set_status_code(status)
        .expect("the status is valid");
    let body = response.body().expect("the body is taken once");
    ResponseOutparam::set(response_out, Ok(response));
    let stream = body.write().expect("the body's stream is taken once");
    (stream, body)
}

/// Writes `bytes` in pieces the stream takes at once, flushing each.
fn write_all(stream: &OutputStream, bytes: &[u8]) -> Result<(), StreamError> {
    bytes
        .chunks(WRITE_LIMIT)
        .try_for_each(|piece| stream.blocking_write_and_flush(piece))
}

/// Ends the body: the stream must be dropped before the body is finished.
fn finish(stream: OutputStream, body: OutgoingBody) {
    drop(stream);
    // Fails only when the client went away.
    let _ = OutgoingBody::finish(body, None);
}

/// Reads the request body to its end, keeping none of it; the number of bytes read.
fn count_body(request: IncomingRequest) -> u64 {
    let body = request.consume().expect("the body is consumed once");
    let stream = body.stream().expect("the body's stream is taken once");
    let mut count = 0;
    while let Ok(chunk) = stream.blocking_read(READ_CHUNK) {
        count += chunk.len() as u64;
    }
    count
}

/// Streams the request body back as the response body, a chunk at a time.
fn echo(request: IncomingRequest, response_out: ResponseOutparam) {
    let body = request.consume().expect("the body is consumed once");
    let input = body.stream().expect("the body's stream is taken once");
    let (output, response_body) = start_response(
        response_out,
        200,
        vec![header("content-type", "application/octet-stream")],
    );
    while let Ok(chunk) = input.blocking_read(READ_CHUNK) {
        if write_all(&output, &chunk).is_err() {
            break;
        }
    }
    finish(output, response_body);
}

/// Answers `chunks` chunks of `size` bytes of `x`, flushing each.
fn stream(response_out: ResponseOutparam, chunks: u64, size: u64) {
    let (stream, body) = start_response(
        response_out,
        200,
        vec![header("content-type", "application/octet-stream")],
    );
    let chunk = vec![b'x'; usize::try_from(size).expect("the chunk fits in memory")];
    for _ in 0..chunks {
        if write_all(&stream, &chunk).is_err() {
            break;
        }
    }
    finish(stream, body);
}

/// Computes forever: only the host's timeout or CPU limit stops it.
fn spin() -> ! {
    let mut counter = 0_u64;
    loop {
        counter = black_box(counter.wrapping_add(1));
    }
}

/// GETs `url` (`http://authority/path?query`, or `https://`) and gives its status.
fn fetch(url: &str) -> Result<u16, ErrorCode> {
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("http://") {
        (Scheme::Http, rest)
    } else if let Some(rest) = url.strip_prefix("https://") {
        (Scheme::Https, rest)
    } else {
        return Err(ErrorCode::HttpRequestUriInvalid);
    };
    let (authority, path_with_query) = match rest.find(['/', '?']) {
        Some(at) if rest[at..].starts_with('/') => (&rest[..at], rest[at..].to_owned()),
        Some(at) => (&rest[..at], format!("/{}", &rest[at..])),
        None => (rest, "/".to_owned()),
    };
    let request = OutgoingRequest::new(Fields::new());
    let valid = request.set_method(&Method::Get).is_ok()
        && request.set_scheme(Some(&scheme)).is_ok()
        && request.set_authority(Some(authority)).is_ok()
        && request.set_path_with_query(Some(&path_with_query)).is_ok();
    if !valid {
        return Err(ErrorCode::HttpRequestUriInvalid);
    }
    let response = outgoing_handler::handle(request, None)?;
    response.subscribe().block();
    match response.get() {
        Some(Ok(result)) => result.map(|response| response.status()),
        Some(Err(())) | None => Err(ErrorCode::InternalError(Some(
            "the response was not ready after its pollable".to_owned(),
        ))),
    }
}

/// The query parameter `name`, percent-decoded (`+` is a space).
fn query_value(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| percent_decode(value))
}

/// The query parameter `name` as a whole number, if it is one.
fn query_number(query: &str, name: &str) -> Option<u64> {
    query_value(query, name)?.parse().ok()
}

/// Decodes `%XX` escapes and `+`; a malformed escape stays as it is.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = bytes
            .get(index + 1..index + 3)
            .filter(|_| bytes[index] == b'%')
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match (bytes[index], escaped) {
            (_, Some(byte)) => {
                decoded.push(byte);
                index += 3;
            }
            (b'+', None) => {
                decoded.push(b' ');
                index += 1;
            }
            (byte, None) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}
