//! The typed handle of a call running in the background: `get`, `get_timeout`, `cancel`.

use crate::Error;
use crate::api::wire::decode;
use crate::dispatch::PendingCall;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::time::Duration;

/// A call running in the background, started with [`Function::spawn`](crate::Function::spawn).
///
/// Dropping the handle without asking for the result cancels the call.
pub struct FunctionCall<R> {
    call: PendingCall,
    result: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned> FunctionCall<R> {
    pub(crate) fn new(call: PendingCall) -> Self {
        FunctionCall {
            call,
            result: PhantomData,
        }
    }

    /// Waits for the call's result.
    pub async fn get(mut self) -> Result<R, Error> {
        decode(&self.call.wait(None).await?)
    }

    /// Waits for the call's result for at most `timeout`; when it runs out, fails with
    /// [`Error::Timeout`] and the call goes on: ask again.
    pub async fn get_timeout(&mut self, timeout: Duration) -> Result<R, Error> {
        decode(&self.call.wait(Some(timeout)).await?)
    }

    /// Cancels the call: it will not deliver a result, and [`FunctionCall::get`] fails with
    /// [`Error::Cancelled`].
    pub fn cancel(&mut self) {
        self.call.cancel();
    }
}
