//! Calls in flight: the reply channel a request carries.
//!
//! A call's result travels over a oneshot channel from the container that runs it to whoever
//! waits. Cancelling a call closes the channel: an input still queued then never runs, and a
//! result that arrives later is dropped, so a cancelled call never delivers one (the container
//! running it notices through `watch`).
//!
//! Waits on a result opt out of tokio's cooperative budget: a guest task with thousands of
//! calls in flight has all their waits in one host task, and with the budget every wake past
//! the 128th would be deferred and retried, which made a fan-out quadratic in its width.

use crate::Error;
use tokio::sync::oneshot;
use tokio::task::unconstrained;

/// Where a container sends one input's result.
pub(crate) type Reply = oneshot::Sender<Result<Vec<u8>, Error>>;
/// Where its caller waits for it.
pub(crate) type Receiver = oneshot::Receiver<Result<Vec<u8>, Error>>;

/// Waits for a submitted call's result.
pub(crate) async fn wait(
    function: &str,
    receiver: Result<Receiver, Error>,
) -> Result<Vec<u8>, Error> {
    unconstrained(receiver?)
        .await
        .unwrap_or_else(|_| Err(app_shut_down(function)))
}

/// The error of a call whose reply channel closed without a result: its app shut down.
pub(crate) fn app_shut_down(function: &str) -> Error {
    Error::Cancelled(format!(
        "`{function}`: the app shut down before the call finished"
    ))
}
