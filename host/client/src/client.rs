//! [`Client`]: the server's base URL, its token, and sending one request to it.
//!
//! Invariant: every request goes to a path under the base URL given to
//! [`Client::connect`], built from percent-encoded segments (a name can never reach another
//! path), carries the token when one is set, and comes back either as a success status the
//! caller expects or as a [`ClientError`]; redirects are never followed (a `303` from a call
//! is the caller's to handle).

use crate::error::ClientError;
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};

/// A connection to an `fnhost serve`: its base URL and token. Cheap to clone (clones share
/// the connection pool).
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
}

impl Client {
    /// A client of the server at `url` (`http://HOST:PORT`, optionally under a path; `HOST:PORT`
    /// alone means `http://HOST:PORT`). Only plain `http` is supported. Nothing is sent yet:
    /// connections are made by the first request, and kept for the next ones.
    pub fn connect(url: &str) -> Result<Client, ClientError> {
        let base = parse_base(url)?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|source| ClientError::Transport {
                url: base.to_string(),
                source,
            })?;
        Ok(Client {
            http,
            base,
            token: None,
        })
    }

    /// This client, sending `token` as a bearer token with every request (the server's
    /// `--token`).
    pub fn with_token(mut self, token: impl Into<String>) -> Client {
        self.token = Some(token.into());
        self
    }

    /// The server's base URL.
    pub fn url(&self) -> &Url {
        &self.base
    }

    /// The URL of the path made of `segments` under the base URL, each percent-encoded.
    pub(crate) fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        // The base URL was checked to be one that can have a path (`http`).
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// A request of `method` to `url`, with the token.
    pub(crate) fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let request = self.http.request(method, url);
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends `request` and returns its answer when its status is one of `expected`; any other
    /// status is decoded as the server's error.
    pub(crate) async fn send(
        &self,
        request: RequestBuilder,
        expected: &[StatusCode],
    ) -> Result<Response, ClientError> {
        let response = request
            .send()
            .await
            .map_err(|error| self.transport(error))?;
        let status = response.status();
        if expected.contains(&status) {
            return Ok(response);
        }
        let body = response
            .bytes()
            .await
            .map_err(|error| self.transport(error))?;
        Err(ClientError::from_answer(status, &body))
    }

    /// The body of `response`, whole.
    pub(crate) async fn body(&self, response: Response) -> Result<bytes::Bytes, ClientError> {
        response
            .bytes()
            .await
            .map_err(|error| self.transport(error))
    }

    /// The JSON body of `response`, decoded as `T`.
    pub(crate) async fn json<T: serde::de::DeserializeOwned>(
        &self,
        response: Response,
    ) -> Result<T, ClientError> {
        let status = response.status().as_u16();
        let body = self.body(response).await?;
        serde_json::from_slice(&body).map_err(|error| ClientError::Http {
            status,
            detail: format!("the body is not the JSON expected: {error}"),
        })
    }

    /// `error`, from talking to this client's server.
    pub(crate) fn transport(&self, source: reqwest::Error) -> ClientError {
        ClientError::Transport {
            url: self.base.to_string(),
            source,
        }
    }
}

/// The base URL `text` gives (see [`Client::connect`]), always ending with `/`.
fn parse_base(text: &str) -> Result<Url, ClientError> {
    let bad = |reason: &str| ClientError::Url {
        url: text.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(bad("it is empty"));
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        format!("http://{trimmed}")
    };
    let mut url = Url::parse(&with_scheme).map_err(|error| bad(&error.to_string()))?;
    match url.scheme() {
        "http" => {}
        "https" => return Err(bad("only plain http is supported (no TLS)")),
        other => return Err(bad(&format!("the scheme `{other}` is not http"))),
    }
    if url.host().is_none() {
        return Err(bad("it has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("a server's URL has no query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("give the token with --token, not in the URL"));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::{Client, parse_base};

    #[test]
    fn urls_get_a_scheme_and_a_final_slash() {
        let base = |text: &str| parse_base(text).unwrap().to_string();
        assert_eq!(base("http://127.0.0.1:7420"), "http://127.0.0.1:7420/");
        assert_eq!(base("127.0.0.1:7420"), "http://127.0.0.1:7420/");
        assert_eq!(base(" localhost:1 "), "http://localhost:1/");
        assert_eq!(base("http://[::1]:80/fnhost"), "http://[::1]/fnhost/");
        assert_eq!(base("http://h/fnhost/"), "http://h/fnhost/");
    }

    #[test]
    fn unusable_urls_say_why() {
        let reason = |text: &str| parse_base(text).unwrap_err().to_string();
        assert!(reason("").contains("empty"), "{}", reason(""));
        assert!(reason("https://h").contains("no TLS"));
        assert!(reason("ftp://h").contains("`ftp` is not http"));
        assert!(reason("http://h?x=1").contains("no query"));
        assert!(reason("http://user:pw@h").contains("--token"));
        assert!(reason("http://").starts_with("bad URL `http://`"));
        assert_eq!(parse_base("ftp://h").unwrap_err().kind(), "bad-url");
    }

    #[test]
    fn paths_are_built_from_encoded_segments() {
        let client = Client::connect("http://h:1/base").unwrap();
        let url = client.endpoint(&["v1", "apps", "a/../b", "functions", "f?x"]);
        assert_eq!(
            url.as_str(),
            "http://h:1/base/v1/apps/a%2F..%2Fb/functions/f%3Fx"
        );
        let root = Client::connect("h:1").unwrap();
        assert_eq!(root.endpoint(&["healthz"]).as_str(), "http://h:1/healthz");
    }

    #[test]
    fn qualified_names_need_both_halves() {
        let client = Client::connect("h:1").unwrap();
        let function = client.function("hello/async_function").unwrap();
        assert_eq!(
            (function.app(), function.name()),
            ("hello", "async_function")
        );
        for bad in ["hello", "/f", "hello/", ""] {
            assert_eq!(client.function(bad).unwrap_err().kind(), "bad-arguments");
        }
    }
}
