//! What a web endpoint answers when it sets the HTTP response itself.
//!
//! A `#[function(web)]` body usually returns a plain value, and `fnhost serve` answers `200`
//! with its JSON. A body that returns a [`Response`] (or `Result<Response, E>`) chooses the
//! status, the headers and the raw bytes of the body instead.
//!
//! # The contract the server reads
//! A [`Response`] travels as the function's JSON result, like any other. It is a JSON object
//! with exactly one key, `"fnhost:web-response"`, whose value holds exactly three keys:
//!
//! ```json
//! {"fnhost:web-response": {
//!     "status": 201,
//!     "headers": [["content-type", "text/plain; charset=utf-8"], ["x-kind", "green"]],
//!     "body": "Y3JlYXRlZA=="
//! }}
//! ```
//!
//! - `status`: the HTTP status code, a number;
//! - `headers`: the headers in order, each a two-string array `[name, value]`; a name may
//!   repeat;
//! - `body`: the body's bytes in standard base64 with padding (RFC 4648, section 4).
//!
//! The server answers a web request with that status, those headers and those bytes when a web
//! endpoint's result has this shape, and with the result as JSON otherwise. A guest written in
//! another language writes the same object.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An HTTP response a web endpoint returns to set the status, headers and body itself.
///
/// ```ignore
/// use fnhost_guest::web::Response;
///
/// let response = Response::new(418)
///     .header("x-kind", "earl grey")
///     .body("short and stout");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    /// A response with `status` (an HTTP status code, such as 200 or 404), no headers and an
    /// empty body.
    pub fn new(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A response with `status` whose body is `text`, as `text/plain; charset=utf-8`.
    pub fn text(status: u16, text: impl Into<String>) -> Self {
        Response::new(status)
            .header("content-type", "text/plain; charset=utf-8")
            .body(text.into())
    }

    /// A response with `status` whose body is `value` in JSON, as `application/json`; fails
    /// only when `value` cannot be written as JSON (a map whose keys are not strings, say).
    pub fn json(status: u16, value: &impl Serialize) -> serde_json::Result<Self> {
        Ok(Response::new(status)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(value)?))
    }

    /// Adds the header `name: value`, after those added before (a name may repeat).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body's bytes, replacing any body set before.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers, `(name, value)`, in the order they were added.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The body's bytes.
    pub fn body_bytes(&self) -> &[u8] {
        &self.body
    }
}

/// The one-key object a response is on the wire.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<Fields> {
    #[serde(rename = "fnhost:web-response")]
    response: Fields,
}

/// The fields of a response on the wire, borrowed from a [`Response`] being written.
#[derive(Serialize)]
struct WireRef<'a> {
    status: u16,
    headers: &'a [(String, String)],
    body: String,
}

/// The fields of a response on the wire, as read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Serialize for Response {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Envelope {
            response: WireRef {
                status: self.status,
                headers: &self.headers,
                body: BASE64.encode(&self.body),
            },
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Response {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let Envelope { response: wire } = Envelope::<Wire>::deserialize(deserializer)?;
        let body = BASE64
            .decode(&wire.body)
            .map_err(|error| D::Error::custom(format!("the body is not base64: {error}")))?;
        Ok(Response {
            status: wire.status,
            headers: wire.headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_response_is_the_one_key_object_the_server_reads() {
        let response = Response::text(201, "created").header("x-kind", "green");
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            json!({"fnhost:web-response": {
                "status": 201,
                "headers": [
                    ["content-type", "text/plain; charset=utf-8"],
                    ["x-kind", "green"],
                ],
                "body": "Y3JlYXRlZA==",
            }})
        );
        assert_eq!(
            serde_json::to_string(&Response::new(204)).unwrap(),
            r#"{"fnhost:web-response":{"status":204,"headers":[],"body":""}}"#
        );
    }

    #[test]
    fn a_response_reads_back_as_it_was_written() {
        let bytes: Vec<u8> = (0..=255).collect();
        let response = Response::new(418)
            .header("x-kind", "earl grey")
            .header("x-kind", "assam")
            .body(bytes.clone());
        let read: Response =
            serde_json::from_str(&serde_json::to_string(&response).unwrap()).unwrap();
        assert_eq!(read, response);
        assert_eq!(read.status(), 418);
        assert_eq!(read.body_bytes(), bytes.as_slice());
        assert_eq!(
            read.headers(),
            [
                ("x-kind".to_owned(), "earl grey".to_owned()),
                ("x-kind".to_owned(), "assam".to_owned()),
            ]
        );
    }

    #[test]
    fn json_sets_the_content_type_and_encodes_the_value() {
        let response = Response::json(200, &json!({"x": [1, 2]})).unwrap();
        assert_eq!(
            response.headers(),
            [("content-type".to_owned(), "application/json".to_owned())]
        );
        assert_eq!(response.body_bytes(), br#"{"x":[1,2]}"#);
    }

    #[test]
    fn other_shapes_are_not_responses() {
        let not_responses = [
            json!({"status": 200, "headers": [], "body": ""}),
            json!({"fnhost:web-response": {"status": 200, "headers": [], "body": ""}, "x": 1}),
            json!({"fnhost:web-response": {"status": 200, "headers": []}}),
            json!({"fnhost:web-response": {"status": 200, "headers": [], "body": "", "x": 1}}),
            json!({"fnhost:web-response": {"status": 200, "headers": [], "body": "not base64"}}),
            json!({"fnhost:web-response": {"status": 200, "headers": [["a"]], "body": ""}}),
        ];
        for value in not_responses {
            assert!(
                serde_json::from_value::<Response>(value.clone()).is_err(),
                "{value} read as a response"
            );
        }
    }
}
