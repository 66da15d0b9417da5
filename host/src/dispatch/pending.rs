//! Calls in flight: the reply channel a request carries, and the untyped call its caller keeps.
//!
//! A call's result travels over a oneshot channel from the container that runs it to whoever
//! waits. Cancelling a call closes the channel: an input still queued then never runs, and a
//! result that arrives later is dropped, so a cancelled call never delivers one (the container
//! running it notices through `watch`). A wait with a timeout that runs out leaves the call as
//! it was (it goes on; ask again), like Modal's `FunctionCall.get(timeout=...)`.
//!
//! Waits on a result opt out of tokio's cooperative budget: a guest task with thousands of
//! calls in flight has all their waits in one host task, and with the budget every wake past
//! the 128th would be deferred and retried, which made a fan-out quadratic in its width.

use crate::Error;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::unconstrained;

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
    /// Its result was handed out already (or is being waited for elsewhere).
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

    /// Moves the call out (to wait on it without borrowing where it is kept); what stays
    /// behind reads as taken, or as cancelled if it was.
    pub(crate) fn take(&mut self) -> PendingCall {
        let state = match self.state {
            State::Cancelled => State::Cancelled,
            _ => std::mem::replace(&mut self.state, State::Taken),
        };
        PendingCall {
            function: self.function.clone(),
            state,
        }
    }

    /// Puts back a call taken out whose wait timed out, unless it was cancelled meanwhile.
    pub(crate) fn put_back(&mut self, call: PendingCall) {
        if matches!(self.state, State::Taken) && matches!(call.state, State::Waiting(_)) {
            self.state = call.state;
        }
    }

    /// Waits for the result, for at most `timeout`. When the time runs out the call stays as
    /// it was and the wait fails with [`Error::Timeout`]; otherwise the result is taken.
    pub(crate) async fn wait(&mut self, timeout: Option<Duration>) -> Result<Vec<u8>, Error> {
        let function = &self.function;
        let result = match &mut self.state {
            State::Waiting(receiver) => {
                let received = match timeout {
                    None => unconstrained(receiver).await,
                    Some(timeout) => {
                        match tokio::time::timeout(timeout, unconstrained(receiver)).await {
                            Ok(received) => received,
                            Err(_) => {
                                return Err(Error::Timeout(format!(
                                    "`{function}` did not finish within {timeout:?}"
                                )));
                            }
                        }
                    }
                };
                received.unwrap_or_else(|_| Err(shut_down(function)))
            }
            State::Failed(error) => Err(error.clone()),
            State::Cancelled => {
                return Err(Error::Cancelled(format!("`{function}` was cancelled")));
            }
            State::Taken => {
                return Err(Error::Cancelled(format!(
                    "`{function}`: the result was taken already"
                )));
            }
        };
        self.state = State::Taken;
        result
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
    unconstrained(receiver?)
        .await
        .unwrap_or_else(|_| Err(shut_down(function)))
}

fn shut_down(function: &str) -> Error {
    Error::Cancelled(format!(
        "`{function}`: the app shut down before the call finished"
    ))
}
