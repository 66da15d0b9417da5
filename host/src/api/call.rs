//! The typed handle of a call running in the background: `id`, `from_id`, `get`, `cancel`.

use crate::Error;
use crate::api::host::Host;
use crate::api::wire::decode;
use crate::dispatch::CallId;
use crate::dispatch::retained::CallHandle;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

/// A call running in the background, started with [`Function::spawn`](crate::Function::spawn)
/// or found again by its id with [`FunctionCall::from_id`].
///
/// The host keeps the call under its id, as Modal does: it runs to completion whether or not
/// a handle is kept, and its result stays readable (by any number of handles, any number of
/// times) for the host's retention window ([`HostSettings::retention`]).
///
/// [`HostSettings::retention`]: crate::HostSettings::retention
pub struct FunctionCall<R> {
    call: CallHandle,
    result: PhantomData<fn() -> R>,
}

/// Another handle to the same call (no bound on `R`: the result is not cloned, only the handle).
impl<R> Clone for FunctionCall<R> {
    fn clone(&self) -> Self {
        FunctionCall {
            call: Arc::clone(&self.call),
            result: PhantomData,
        }
    }
}

impl<R: DeserializeOwned> FunctionCall<R> {
    pub(crate) fn new(call: CallHandle) -> Self {
        FunctionCall {
            call,
            result: PhantomData,
        }
    }

    /// The spawned call of `host` whose id is `id` (as [`FunctionCall::id`] prints it),
    /// wherever it was spawned: by the host API, a guest, or a client of a server. Fails with
    /// [`Error::NotFound`] for an id that is malformed, unknown, or whose result has expired.
    pub fn from_id(host: &Host, id: &str) -> Result<Self, Error> {
        host.calls().find(id).map(FunctionCall::new)
    }

    /// The call's id: unguessable (128 random bits), printed as `fc-` and 32 hex digits.
    pub fn id(&self) -> CallId {
        self.call.id()
    }

    /// The name of the function called.
    pub fn function(&self) -> &str {
        self.call.function()
    }

    /// Waits for the call's result.
    pub async fn get(self) -> Result<R, Error> {
        decode(&self.call.wait(None).await?)
    }

    /// The results of `calls`, in their order, once all are in (Modal's
    /// `FunctionCall.gather`); the first failure, in their order, is the error.
    pub async fn gather(calls: impl IntoIterator<Item = Self>) -> Result<Vec<R>, Error> {
        futures::future::join_all(calls.into_iter().map(FunctionCall::get))
            .await
            .into_iter()
            .collect()
    }

    /// Waits for the call's result for at most `timeout`; when it runs out, fails with
    /// [`Error::Timeout`] and the call goes on: ask again.
    pub async fn get_timeout(&mut self, timeout: Duration) -> Result<R, Error> {
        decode(&self.call.wait(Some(timeout)).await?)
    }

    /// Waits for the call's result, as the JSON the function returned.
    pub async fn get_raw(&self) -> Result<Vec<u8>, Error> {
        self.call.wait(None).await
    }

    /// The call's result (as the JSON the function returned) or error, if it comes within
    /// `wait`; `None` while the call still runs (a timeout of the call itself is an
    /// `Err(Error::Timeout)`, never `None`).
    pub async fn result_within(&self, wait: Duration) -> Option<Result<Vec<u8>, Error>> {
        self.call.within(wait).await
    }

    /// Cancels the call unless it has finished: it will not deliver a result, and
    /// [`FunctionCall::get`] fails with [`Error::Cancelled`] (from every handle).
    pub fn cancel(&self) {
        self.call.cancel();
    }
}
