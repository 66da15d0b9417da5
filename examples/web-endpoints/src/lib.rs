//! Functions that are also web endpoints: `#[function(web)]` serves one at
//! `/web/{app}/{name}`, its arguments taken by parameter name from the request.
//!
//! ```text
//! fnhost serve examples/web-endpoints
//! curl 'http://127.0.0.1:7420/web/web-endpoints/square?x=2'   # => 4
//! ```

use fnhost_guest::{app, function};

/// `x` squared, for `GET /web/web-endpoints/square?x=...`.
#[function(web)]
fn square(x: i64) -> i64 {
    x * x
}

/// A greeting, for `POST /web/web-endpoints/greet`.
#[function(web(method = "POST"))]
fn greet(name: String) -> String {
    format!("Hello, {name}!")
}

app!(square, greet);
