//! [`FunctionCall`]: a call the server runs in the background, known by its id: `get`,
//! `get_timeout`, `cancel`; and waiting for a call by id, which a `303` from a synchronous
//! call also uses.
//!
//! Invariant: waiting is a series of `GET /v1/calls/{id}?timeout=...`, each asking the server
//! to hold the answer at most [`MAX_WAIT`] (its own limit) and never past the caller's
//! deadline; a `202` (still running) asks again, a `200` is the result, anything else the
//! call's error. A handle is only an id: dropping it leaves the call running (the server
//! keeps its result for its retention time), and any client may wait for it.

use crate::client::Client;
use crate::error::ClientError;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

/// The longest one `GET /v1/calls/{id}` may wait on the server (its limit, 60 s).
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(60);

/// How long to pause before asking again when the server answered "running" much sooner
/// than asked, so that a server that does not wait is not asked in a tight loop.
const PAUSE: Duration = Duration::from_millis(100);

/// A call running on the server, started with [`Function::spawn`](crate::Function::spawn)
/// or found again by its id with [`FunctionCall::from_id`].
#[derive(Clone, Debug)]
pub struct FunctionCall<R> {
    client: Client,
    id: String,
    result: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned> FunctionCall<R> {
    /// The call `id` (`fc-` and 32 hexadecimal digits) on `client`'s server. Only the form of
    /// the id is checked here (kind `not-found`, as the library's): an unknown or expired call
    /// fails at the first [`get`](FunctionCall::get).
    pub fn from_id(client: &Client, id: &str) -> Result<FunctionCall<R>, ClientError> {
        if !is_call_id(id) {
            return Err(ClientError::Server {
                status: StatusCode::NOT_FOUND.as_u16(),
                kind: "not-found".to_owned(),
                message: format!("`{id}` is not a call id (`fc-` and 32 hexadecimal digits)"),
            });
        }
        Ok(FunctionCall::new(client.clone(), id.to_owned()))
    }

    pub(crate) fn new(client: Client, id: String) -> FunctionCall<R> {
        FunctionCall {
            client,
            id,
            result: PhantomData,
        }
    }

    /// The call's id, for [`FunctionCall::from_id`] (from any process).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Waits for the call's result.
    pub async fn get(self) -> Result<R, ClientError> {
        decode(&self.get_raw().await?)
    }

    /// Waits for the call's result for at most `timeout`; when it runs out, fails with kind
    /// `timeout` and the call goes on: ask again.
    pub async fn get_timeout(&mut self, timeout: Duration) -> Result<R, ClientError> {
        decode(&self.get_raw_timeout(timeout).await?)
    }

    /// Waits for the call's result, as the JSON the function returned.
    pub async fn get_raw(&self) -> Result<Vec<u8>, ClientError> {
        wait(&self.client, &self.id).await
    }

    /// Like [`FunctionCall::get_timeout`], giving the result as the JSON the function
    /// returned.
    pub async fn get_raw_timeout(&self, timeout: Duration) -> Result<Vec<u8>, ClientError> {
        let deadline = Instant::now().checked_add(timeout);
        match wait_until(&self.client, &self.id, deadline).await? {
            Some(result) => Ok(result),
            None => Err(ClientError::Server {
                status: StatusCode::ACCEPTED.as_u16(),
                kind: "timeout".to_owned(),
                message: format!("call {} still running after {}", self.id, describe(timeout)),
            }),
        }
    }

    /// Cancels the call: it will not deliver a result, and [`FunctionCall::get`] fails with
    /// kind `cancelled` (a call already finished keeps its result).
    pub async fn cancel(&self) -> Result<(), ClientError> {
        let url = self.client.endpoint(&["v1", "calls", &self.id]);
        let request = self.client.request(Method::DELETE, url);
        self.client.send(request, &[StatusCode::NO_CONTENT]).await?;
        Ok(())
    }
}

/// The body of a `202` or a `303`: the call's id.
#[derive(Deserialize)]
pub(crate) struct Accepted {
    /// The call's id.
    pub(crate) call_id: String,
}

/// Waits for the call `id` until it finishes: its result. See the module's invariant.
pub(crate) async fn wait(client: &Client, id: &str) -> Result<Vec<u8>, ClientError> {
    loop {
        let deadline = Instant::now().checked_add(MAX_WAIT);
        if let Some(result) = wait_until(client, id, deadline).await? {
            return Ok(result);
        }
    }
}

/// Waits for the call `id` until it finishes or `deadline` passes (forever without one, which
/// only an `Instant` overflow gives): its result, or `None` when the deadline passed first.
async fn wait_until(
    client: &Client,
    id: &str,
    deadline: Option<Instant>,
) -> Result<Option<Vec<u8>>, ClientError> {
    loop {
        let asked = match deadline {
            Some(deadline) => deadline.saturating_duration_since(Instant::now()),
            None => MAX_WAIT,
        }
        .min(MAX_WAIT);
        let mut url = client.endpoint(&["v1", "calls", id]);
        url.query_pairs_mut()
            .append_pair("timeout", &format!("{}ms", asked.as_millis()));
        let sent = Instant::now();
        let request = client.request(Method::GET, url);
        let response = client
            .send(request, &[StatusCode::OK, StatusCode::ACCEPTED])
            .await?;
        let status = response.status();
        let body = client.body(response).await?;
        if status == StatusCode::OK {
            return Ok(Some(body.to_vec()));
        }
        let past = |deadline: Instant| Instant::now() >= deadline;
        if deadline.is_some_and(past) {
            return Ok(None);
        }
        if sent.elapsed() < asked / 2 {
            let pause = match deadline {
                Some(deadline) => PAUSE.min(deadline.saturating_duration_since(Instant::now())),
                None => PAUSE,
            };
            tokio::time::sleep(pause).await;
        }
    }
}

/// The result `bytes` decoded as `R`, or a `payload` error saying why not.
pub(crate) fn decode<R: DeserializeOwned>(bytes: &[u8]) -> Result<R, ClientError> {
    serde_json::from_slice(bytes)
        .map_err(|error| ClientError::Payload(format!("cannot decode the result: {error}")))
}

/// Whether `id` is a call id: `fc-` and 32 hexadecimal digits.
fn is_call_id(id: &str) -> bool {
    id.strip_prefix("fc-")
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `timeout` for a message: `5s`, `1.5s`, `250ms`.
fn describe(timeout: Duration) -> String {
    if timeout.subsec_millis() == 0 {
        format!("{}s", timeout.as_secs())
    } else if timeout < Duration::from_secs(1) {
        format!("{}ms", timeout.as_millis())
    } else {
        let seconds = format!("{:.3}", timeout.as_secs_f64());
        format!("{}s", seconds.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::{FunctionCall, decode, describe, is_call_id};
    use crate::Client;
    use std::time::Duration;

    #[test]
    fn call_ids_have_one_form() {
        assert!(is_call_id("fc-0123456789abcdef0123456789ABCDEF"));
        assert!(!is_call_id("fc-0123456789abcdef0123456789abcde"));
        assert!(!is_call_id("fc-0123456789abcdef0123456789abcdeg"));
        assert!(!is_call_id("xx-0123456789abcdef0123456789abcdef"));
        assert!(!is_call_id("fc-../../v1/apps/hello0123456789abc"));
        let client = Client::connect("h:1").unwrap();
        let error = FunctionCall::<u32>::from_id(&client, "nope").unwrap_err();
        assert_eq!(error.kind(), "not-found");
        let call =
            FunctionCall::<u32>::from_id(&client, "fc-00000000000000000000000000000001").unwrap();
        assert_eq!(call.id(), "fc-00000000000000000000000000000001");
    }

    #[test]
    fn results_decode_or_say_why_not() {
        assert_eq!(decode::<u32>(b"420").unwrap(), 420);
        let error = decode::<u32>(b"\"x\"").unwrap_err();
        assert_eq!(error.kind(), "payload");
        assert!(
            error
                .to_string()
                .starts_with("payload: cannot decode the result")
        );
    }

    #[test]
    fn timeouts_read_as_written() {
        assert_eq!(describe(Duration::from_secs(5)), "5s");
        assert_eq!(describe(Duration::from_millis(250)), "250ms");
        assert_eq!(describe(Duration::from_millis(1500)), "1.5s");
    }
}
