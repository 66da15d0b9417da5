//! [`Function`]: the handle that calls one function of a deployed app on the server —
//! `remote`, `spawn`, `map` — with the library's `Function` surface.
//!
//! Invariant: arguments are encoded as the library encodes them (`fnhost_wire::encode_args`:
//! a tuple or `()` is the argument list, any other value the one argument) and sent with
//! `?args=list`, so the server never has to guess; only the `*_json` methods send a value in
//! `fnhost call`'s convention, for the server to fit to the parameters. A synchronous call
//! the server answers with `303` (still running after its sync timeout) is waited for by id,
//! so `remote` always ends with the call's result or error. Dropping a `remote` future before
//! its answer closes the request, which cancels the call on the server; once it is waited
//! for by id (after a `303`), the call goes on, as a spawned one does.

use crate::call::{Accepted, FunctionCall, decode, wait};
use crate::client::Client;
use crate::error::{ClientError, ErrorBody};
use crate::lines::response_lines;
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Body, Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::pin::Pin;

/// The lines of a `map` answer, one per input in input order: `{"ok": RESULT}` or
/// `{"error": {"kind": ..., "message": ...}}`, each without its newline.
pub type MapLines = Pin<Box<dyn Stream<Item = Result<Vec<u8>, ClientError>> + Send>>;

/// Handles to functions, made from a [`Client`] (here rather than in `client.rs`, which the
/// handles use: the client does not depend on what is made from it).
impl Client {
    /// A handle to the function `qualified`, written `app/function`, of a deployed app. Fails
    /// with kind `bad-arguments` when the name has no `/`; nothing is sent, so an unknown app
    /// or function fails at the first call.
    pub fn function(&self, qualified: &str) -> Result<Function, ClientError> {
        match qualified.split_once('/') {
            Some((app, function)) if !app.is_empty() && !function.is_empty() => {
                Ok(self.function_in(app, function))
            }
            _ => Err(ClientError::Server {
                status: StatusCode::BAD_REQUEST.as_u16(),
                kind: "bad-arguments".to_owned(),
                message: format!("`{qualified}` is not `app/function`"),
            }),
        }
    }

    /// A handle to the function `function` of the deployed app `app`; nothing is sent.
    pub fn function_in(&self, app: &str, function: &str) -> Function {
        Function::new(self.clone(), app, function)
    }
}

/// A handle to one function of a deployed app on the server. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Function {
    client: Client,
    app: String,
    name: String,
}

/// How a call's body gives the arguments.
#[derive(Clone, Copy)]
enum Convention {
    /// The JSON array of every argument (`?args=list`).
    List,
    /// `fnhost call`'s convention: the value itself for one parameter.
    Given,
}

impl Function {
    pub(crate) fn new(client: Client, app: &str, name: &str) -> Function {
        Function {
            client,
            app: app.to_owned(),
            name: name.to_owned(),
        }
    }

    /// The app's name.
    pub fn app(&self) -> &str {
        &self.app
    }

    /// The function's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Calls the function with `args` (`()`, one value, or a tuple of several) and waits for
    /// its result.
    pub async fn remote<R: DeserializeOwned>(
        &self,
        args: impl Serialize,
    ) -> Result<R, ClientError> {
        decode(&self.remote_raw(encode(&args)?).await?)
    }

    /// Calls the function with an encoded JSON array of arguments; returns the encoded result.
    pub async fn remote_raw(&self, args: Vec<u8>) -> Result<Vec<u8>, ClientError> {
        self.call(args, Convention::List).await
    }

    /// Calls the function with arguments in `fnhost call`'s convention (`given`: the value
    /// itself for a one-parameter function, a JSON array for several, empty or `null` for
    /// none); returns the encoded result.
    pub async fn remote_json(&self, given: Vec<u8>) -> Result<Vec<u8>, ClientError> {
        self.call(given, Convention::Given).await
    }

    /// Starts the function in the background on the server and returns a handle to its
    /// result once the server has taken the call.
    pub async fn spawn<R: DeserializeOwned>(
        &self,
        args: impl Serialize,
    ) -> Result<FunctionCall<R>, ClientError> {
        self.spawn_raw(encode(&args)?).await
    }

    /// Like [`Function::spawn`], with an encoded JSON array of arguments.
    pub async fn spawn_raw<R: DeserializeOwned>(
        &self,
        args: Vec<u8>,
    ) -> Result<FunctionCall<R>, ClientError> {
        self.start(args, Convention::List).await
    }

    /// Like [`Function::spawn`], with arguments in `fnhost call`'s convention (see
    /// [`Function::remote_json`]).
    pub async fn spawn_json<R: DeserializeOwned>(
        &self,
        given: Vec<u8>,
    ) -> Result<FunctionCall<R>, ClientError> {
        self.start(given, Convention::Given).await
    }

    /// Calls the function once per input, in parallel on the server (at most 1000 at once),
    /// and returns the results in input order; the first error (in that order) is returned
    /// instead.
    pub async fn map<A: Serialize, R: DeserializeOwned>(
        &self,
        inputs: impl IntoIterator<Item = A>,
    ) -> Result<Vec<R>, ClientError> {
        self.map_results(inputs).await?.into_iter().collect()
    }

    /// Like [`Function::map`], but gives every input its own result, errors included. The
    /// outer error is the request's own (the server unreachable, an unknown function): then no
    /// input has a result. The inputs are encoded first and sent as one body; for inputs
    /// streamed as they come, see [`Function::map_json`].
    pub async fn map_results<A: Serialize, R: DeserializeOwned>(
        &self,
        inputs: impl IntoIterator<Item = A>,
    ) -> Result<Vec<Result<R, ClientError>>, ClientError> {
        let (body, count) = encode_inputs(inputs)?;
        let mut lines = self
            .map_request(Body::from(body), Convention::List, MapOrder::Inputs)
            .await?;
        let mut results = Vec::with_capacity(count);
        while let Some(line) = lines.next().await {
            results.push(outcome(&line?));
        }
        if results.len() != count {
            return Err(ClientError::Http {
                status: StatusCode::OK.as_u16(),
                detail: format!("{} results for {count} inputs", results.len()),
            });
        }
        Ok(results)
    }

    /// Calls the function once per input, `inputs` being one JSON text each in `fnhost call`'s
    /// convention (see [`Function::remote_json`]), sent as they come: the answer's lines
    /// arrive while later inputs are still being sent. Returns the server's result lines
    /// (see [`MapLines`]), one per input in input order, as they arrive.
    pub async fn map_json<S>(&self, inputs: S) -> Result<MapLines, ClientError>
    where
        S: Stream<Item = Vec<u8>> + Send + 'static,
    {
        let body = inputs.map(|mut input| {
            input.push(b'\n');
            Ok::<Bytes, std::io::Error>(Bytes::from(input))
        });
        self.map_request(Body::wrap_stream(body), Convention::Given, MapOrder::Inputs)
            .await
    }

    /// Calls the function once per input, in parallel on the server, and yields each input's
    /// result as soon as its call has finished (Modal's `order_outputs=False`; the server's
    /// `/map?order=finished`). The outer error is the request's own.
    pub async fn map_unordered<A: Serialize, R: DeserializeOwned>(
        &self,
        inputs: impl IntoIterator<Item = A>,
    ) -> Result<impl Stream<Item = Result<R, ClientError>> + Send, ClientError> {
        let (body, _) = encode_inputs(inputs)?;
        let lines = self
            .map_request(Body::from(body), Convention::List, MapOrder::Finished)
            .await?;
        Ok(lines.map(|line| outcome(&line?)))
    }

    /// Calls the function once per input, in parallel on the server, and drops the results
    /// (Modal's `for_each`): the first error (in input order) unless `ignore_errors`.
    pub async fn for_each<A: Serialize>(
        &self,
        inputs: impl IntoIterator<Item = A>,
        ignore_errors: bool,
    ) -> Result<(), ClientError> {
        let results = self.map_results::<A, serde_json::Value>(inputs).await?;
        match results.into_iter().find_map(Result::err) {
            Some(error) if !ignore_errors => Err(error),
            _ => Ok(()),
        }
    }

    /// Starts the function once per input in the background on the server (Modal's
    /// `spawn_map`): the handles carry the calls' ids, which any client of the server can
    /// collect; dropping them leaves the calls running. Returns once the server has taken
    /// every call; the first refusal (in input order) fails it, the calls before it started.
    pub async fn spawn_map<A: Serialize, R: DeserializeOwned>(
        &self,
        inputs: impl IntoIterator<Item = A>,
    ) -> Result<Vec<FunctionCall<R>>, ClientError> {
        let inputs = inputs
            .into_iter()
            .map(|input| encode(&input))
            .collect::<Result<Vec<_>, _>>()?;
        futures::stream::iter(inputs)
            .map(|args| self.spawn_raw(args))
            .buffered(SPAWN_WINDOW)
            .try_collect()
            .await
    }

    /// Sends a call with `args` and waits for its result, by id when the server answers `303`.
    async fn call(&self, args: Vec<u8>, convention: Convention) -> Result<Vec<u8>, ClientError> {
        let request = self
            .client
            .request(Method::POST, self.endpoint("call", convention))
            .header(CONTENT_TYPE, "application/json")
            .body(args);
        let response = self
            .client
            .send(request, &[StatusCode::OK, StatusCode::SEE_OTHER])
            .await?;
        if response.status() == StatusCode::SEE_OTHER {
            let Accepted { call_id } = self.client.json(response).await?;
            return wait(&self.client, &call_id).await;
        }
        Ok(self.client.body(response).await?.to_vec())
    }

    /// Spawns a call with `args`: its handle.
    async fn start<R: DeserializeOwned>(
        &self,
        args: Vec<u8>,
        convention: Convention,
    ) -> Result<FunctionCall<R>, ClientError> {
        let request = self
            .client
            .request(Method::POST, self.endpoint("spawn", convention))
            .header(CONTENT_TYPE, "application/json")
            .body(args);
        let response = self.client.send(request, &[StatusCode::ACCEPTED]).await?;
        let Accepted { call_id } = self.client.json(response).await?;
        Ok(FunctionCall::new(self.client.clone(), call_id))
    }

    /// Sends a `map` with the NDJSON `body`: the answer's lines.
    async fn map_request(
        &self,
        body: Body,
        convention: Convention,
        order: MapOrder,
    ) -> Result<MapLines, ClientError> {
        // The server answers an unknown app or function before it reads the body, and closes
        // the connection: a client still sending the body would see a broken pipe, not the
        // answer. Asked first, the same mistake gives the server's `not-found`.
        let app = self.client.app(&self.app).await?;
        if !app
            .functions
            .iter()
            .any(|function| function.name == self.name)
        {
            return Err(ClientError::Server {
                status: StatusCode::NOT_FOUND.as_u16(),
                kind: "not-found".into(),
                message: format!("no function `{}` in the app `{}`", self.name, self.app),
            });
        }
        let request = self
            .client
            .request(Method::POST, {
                let mut url = self.endpoint("map", convention);
                if let MapOrder::Finished = order {
                    url.query_pairs_mut().append_pair("order", "finished");
                }
                url
            })
            .header(CONTENT_TYPE, "application/x-ndjson")
            .body(body);
        let response = self.client.send(request, &[StatusCode::OK]).await?;
        Ok(Box::pin(response_lines(&self.client, response)))
    }

    /// The URL of the function's `action` (`call`, `spawn`, `map`).
    fn endpoint(&self, action: &str, convention: Convention) -> Url {
        let mut url =
            self.client
                .endpoint(&["v1", "apps", &self.app, "functions", &self.name, action]);
        if let Convention::List = convention {
            url.query_pairs_mut().append_pair("args", "list");
        }
        url
    }
}

/// How many spawns `spawn_map` keeps in flight.
const SPAWN_WINDOW: usize = 64;

/// The order a `map` answer's lines come in.
#[derive(Clone, Copy)]
enum MapOrder {
    /// The inputs' order.
    Inputs,
    /// The order the calls finish.
    Finished,
}

/// `inputs` encoded one per line, and how many there are.
fn encode_inputs<A: Serialize>(
    inputs: impl IntoIterator<Item = A>,
) -> Result<(Vec<u8>, usize), ClientError> {
    let mut body = Vec::new();
    let mut count = 0;
    for input in inputs {
        body.extend_from_slice(&encode(&input)?);
        body.push(b'\n');
        count += 1;
    }
    Ok((body, count))
}

/// `args` encoded as the library encodes them.
fn encode(args: &impl Serialize) -> Result<Vec<u8>, ClientError> {
    fnhost_wire::encode_args(args)
        .map_err(|error| ClientError::Payload(format!("cannot encode the arguments: {error}")))
}

/// One line of a `map` answer.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Outcome {
    /// The input's result.
    Ok(serde_json::Value),
    /// The input's error.
    Error(ErrorBody),
}

/// The result one `map` answer line gives, decoded as `R`.
fn outcome<R: DeserializeOwned>(line: &[u8]) -> Result<R, ClientError> {
    let outcome: Outcome = serde_json::from_slice(line).map_err(|error| ClientError::Http {
        status: StatusCode::OK.as_u16(),
        detail: format!("a map result line is not `{{\"ok\"}}` or `{{\"error\"}}`: {error}"),
    })?;
    match outcome {
        Outcome::Ok(value) => serde_json::from_value(value)
            .map_err(|error| ClientError::Payload(format!("cannot decode the result: {error}"))),
        Outcome::Error(error) => Err(error.into_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::{encode, outcome};

    #[test]
    fn arguments_are_encoded_as_the_library_does() {
        let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
        assert_eq!(text(encode(&()).unwrap()), "[]");
        assert_eq!(text(encode(&5).unwrap()), "[5]");
        assert_eq!(text(encode(&(2, "x")).unwrap()), "[2,\"x\"]");
        assert_eq!(text(encode(&vec![1, 2]).unwrap()), "[[1,2]]");
    }

    #[test]
    fn map_lines_are_results_or_errors() {
        assert_eq!(outcome::<u32>(br#"{"ok": 420}"#).unwrap(), 420);
        let error =
            outcome::<u32>(br#"{"error": {"kind": "user", "message": "odd input"}}"#).unwrap_err();
        assert_eq!(
            (error.kind(), error.to_string().as_str()),
            ("user", "odd input")
        );
        assert_eq!(
            outcome::<u32>(br#"{"ok": "x"}"#).unwrap_err().kind(),
            "payload"
        );
        assert_eq!(outcome::<u32>(b"420").unwrap_err().kind(), "http");
    }
}
