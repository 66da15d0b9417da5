//! The typed handle of a call running in the background: `id`, `from_id`, `get`, `cancel`.

use crate::Error;
use crate::api::host::Host;
use crate::api::wire::decode;
use crate::dispatch::CallId;
use crate::dispatch::owner::Owner;
use crate::retained::CallHandle;
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
    /// wherever it was spawned and by whichever app: by the host API, a guest, or a client of
    /// a server (the host's view: see [`FunctionCall::app`] for whose it is). Fails with
    /// [`Error::NotFound`] for an id that is malformed, unknown, or whose result has expired.
    pub fn from_id(host: &Host, id: &str) -> Result<Self, Error> {
        host.calls().find(id).map(FunctionCall::new)
    }

    /// The spawned call `id` of the app deployed as `app` (spawned by its code, or through its
    /// functions, in any of its versions): another app's call fails exactly as an unknown id
    /// does, so that whoever may see one app's calls learns nothing of the others'.
    pub fn from_id_in(host: &Host, app: &str, id: &str) -> Result<Self, Error> {
        host.calls()
            .find_owned(id, &Owner::App(Arc::from(app)))
            .map(FunctionCall::new)
    }

    /// The call's id: unguessable (128 random bits), printed as `fc-` and 32 hex digits.
    pub fn id(&self) -> CallId {
        self.call.id()
    }

    /// The name of the function called.
    pub fn function(&self) -> &str {
        self.call.function()
    }

    /// The name of the app that spawned the call (its code, or a handle to one of its
    /// functions), as it was deployed; `None` for an app not deployed. A guest finds by id
    /// only the calls of its own app; [`FunctionCall::from_id`] finds every call.
    pub fn app(&self) -> Option<&str> {
        self.call.owner().app()
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
