//! The smallest wasi:http component: it answers `Hello from wasi:http!` to every request.
//!
//! It uses no fnhost SDK, only the wasi:http bindings, so any wasi:http host runs it, fnhost
//! among them:
//!
//! ```text
//! fnhost serve examples/http-hello
//! curl http://127.0.0.1:7420/web/http-hello/    # => Hello from wasi:http!
//! ```

use wasip2::exports::http::incoming_handler::Guest;
use wasip2::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

struct Hello;

wasip2::http::proxy::export!(Hello);

impl Guest for Hello {
    fn handle(_request: IncomingRequest, response_out: ResponseOutparam) {
        let headers = Fields::from_list(&[(
            "content-type".to_owned(),
            b"text/plain; charset=utf-8".to_vec(),
        )])
        .expect("a valid header");
        let response = OutgoingResponse::new(headers);
        let body = response.body().expect("the body is taken once");
        ResponseOutparam::set(response_out, Ok(response));
        let stream = body.write().expect("the body's stream is taken once");
        // A client that went away has nothing left to be told.
        let _ = stream.blocking_write_and_flush(b"Hello from wasi:http!\n");
        drop(stream);
        let _ = OutgoingBody::finish(body, None);
    }
}
