//! Calls in flight: the reply channel an input carries, and the handle its caller keeps.
//!
//! A call's result travels over a oneshot channel from the container that runs it to whoever
//! waits. Cancelling a call closes the channel: an input still queued then never runs, and a
//! result that arrives later is dropped, so a cancelled call never delivers one.

use crate::Error;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::marker::PhantomData;
use tokio::sync::oneshot;

/// Where a container sends one input's result.
pub(crate) type Reply = oneshot::Sender<Result<Vec<u8>, Error>>;
/// Where its caller waits for it.
pub(crate) type Receiver = oneshot::Receiver<Result<Vec<u8>, Error>>;

/// An untyped call in flight; also the `function-call` resource guests hold.
pub struct PendingCall {
    function: String,
    state: State,
}

enum State {
    Waiting(Receiver),
    /// Failed before it was queued (an unknown function, a shut-down app).
    Failed(Error),
    Cancelled,
    /// Its result was handed out already.
    Taken,
}

impl PendingCall {
    /// A call submitted to `function`, or one that could not be.
    pub(crate) fn waiting(function: &str, submitted: Result<Receiver, Error>) -> Self {
        PendingCall {
            function: function.to_owned(),
            state: match submitted {
                Ok(receiver) => State::Waiting(receiver),
                Err(error) => State::Failed(error),
            },
        }
    }

    /// Takes the call's result out, as a future that owns everything it needs.
    pub(crate) fn take(&mut self) -> impl Future<Output = Result<Vec<u8>, Error>> + Send + use<> {
        let function = self.function.clone();
        let state = match &self.state {
            State::Cancelled => State::Cancelled,
            _ => std::mem::replace(&mut self.state, State::Taken),
        };
        async move {
            match state {
                State::Waiting(receiver) => wait(&function, Ok(receiver)).await,
                State::Failed(error) => Err(error),
                State::Cancelled => Err(Error::Cancelled(format!("`{function}` was cancelled"))),
                State::Taken => Err(Error::Cancelled(format!(
                    "`{function}`: the result was taken already"
                ))),
            }
        }
    }

    /// Cancels the call, unless its result was taken already.
    pub(crate) fn cancel(&mut self) {
        if let State::Waiting(_) | State::Failed(_) = self.state {
            self.state = State::Cancelled;
        }
    }
}

/// Waits for a submitted call's result.
pub(crate) async fn wait(
    function: &str,
    receiver: Result<Receiver, Error>,
) -> Result<Vec<u8>, Error> {
    receiver?.await.unwrap_or_else(|_| {
        Err(Error::Cancelled(format!(
            "`{function}`: the app shut down before the call finished"
        )))
    })
}

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
        crate::function::decode(&self.call.take().await?)
    }

    /// Cancels the call: it will not deliver a result, and [`FunctionCall::get`] fails with
    /// [`Error::Cancelled`].
    pub fn cancel(&mut self) {
        self.call.cancel();
    }
}
