//! A test app whose functions are web endpoints of every kind: methods, a label, a custom
//! response, an error, authentication, a timeout, an async body, and one function that is not
//! an endpoint at all.
//!
//! The component also exports `wasi:http/incoming-handler`, beside the fnhost world: the host
//! hands it the requests no endpoint answers, and it answers each with 200
//! `fallback {method} {path_with_query}`.

use fnhost_guest::web::Response;
use fnhost_guest::{app, function, sleep};
use std::time::Duration;
use wasip2::exports::http::incoming_handler::Guest;
use wasip2::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

/// `GET`, two whole numbers.
#[function(web)]
fn add(x: i64, y: i64) -> i64 {
    x + y
}

/// `POST`, a string and a boolean.
#[function(web(method = "POST"))]
fn greet(name: String, excited: bool) -> String {
    let mark = if excited { "!" } else { "" };
    format!("Hello, {name}{mark}")
}

/// Served at `/teapot`, answering its own status, header and body.
#[function(web(label = "teapot"))]
fn brew(kind: String) -> Response {
    Response::new(418)
        .header("x-kind", kind)
        .body("short and stout")
}

/// Always fails, with `message`.
#[function(web)]
fn fail(message: String) -> Result<i64, String> {
    Err(message)
}

/// Only for requests that carry the server's token.
#[function(web(requires_auth = true))]
fn secret() -> String {
    "classified".to_owned()
}

/// Outlasts its one-second timeout.
#[function(web, timeout = 1)]
fn slow() -> i64 {
    sleep(Duration::from_secs(5));
    1
}

/// A function that is not a web endpoint.
#[function]
fn internal() -> i64 {
    7
}

/// An async body with a list and an optional string.
#[function(web)]
async fn echo(items: Vec<u32>, label: Option<String>) -> serde_json::Value {
    serde_json::json!({ "items": items, "label": label })
}

app!(add, greet, brew, fail, secret, slow, internal, echo);

/// The wasi:http handler for the requests no endpoint answers.
struct Fallback;

wasip2::http::proxy::export!(Fallback);

impl Guest for Fallback {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let method = match request.method() {
            Method::Get => "GET".to_owned(),
            Method::Head => "HEAD".to_owned(),
            Method::Post => "POST".to_owned(),
            Method::Put => "PUT".to_owned(),
            Method::Delete => "DELETE".to_owned(),
            Method::Connect => "CONNECT".to_owned(),
            Method::Options => "OPTIONS".to_owned(),
            Method::Trace => "TRACE".to_owned(),
            Method::Patch => "PATCH".to_owned(),
            Method::Other(other) => other,
        };
        let path_with_query = request.path_with_query().unwrap_or_default();
        let response = OutgoingResponse::new(Fields::new());
        let body = response.body().expect("the body is taken once");
        ResponseOutparam::set(response_out, Ok(response));
        let stream = body.write().expect("the body's stream is taken once");
        let text = format!("fallback {method} {path_with_query}");
        // A client that went away has nothing left to be told.
        let _ = text
            .as_bytes()
            .chunks(4096)
            .try_for_each(|piece| stream.blocking_write_and_flush(piece));
        drop(stream);
        let _ = OutgoingBody::finish(body, None);
    }
}
