//! The call a body runs for: Modal's `current_function_call_id()` and `current_input_id()`.
//!
//! The host hands each input's call id to the export that runs it. A blocking body holds its
//! instance until it returns, so the id is set around it. Async bodies interleave on one
//! thread, so the id is set around each *poll* of the body's future ([`WithCallId`]) and put
//! back after: whichever task runs sees its own id. Without that, a body that awaited would
//! read the id of whichever input ran last.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

thread_local! {
    /// The call id of the body running now; `None` outside one (and in a local entrypoint).
    static CURRENT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The id of the call this function body serves (`fc-` and 32 hex digits), as `fnhost get`
/// and `FunctionCall::from_id` take it; `None` outside a function's container (in a local
/// entrypoint). A batched body sees its batch's own id.
pub fn current_function_call_id() -> Option<String> {
    CURRENT.with(|current| current.borrow().clone())
}

/// The id of the input this body runs (`in-` and the call's 32 hex digits): each fnhost
/// call carries one input, so it names the same input as [`current_function_call_id`];
/// `None` outside a function's container.
pub fn current_input_id() -> Option<String> {
    current_function_call_id().map(|call| input_id(&call))
}

/// The input id of the call `call`.
fn input_id(call: &str) -> String {
    format!("in-{}", call.strip_prefix("fc-").unwrap_or(call))
}

/// Runs `body` with `call_id` as the current call (none when empty), then puts back what was
/// current before.
pub(crate) fn with_call_id<R>(call_id: &str, body: impl FnOnce() -> R) -> R {
    let previous = swap(given(call_id));
    let result = body();
    swap(previous);
    result
}

fn given(call_id: &str) -> Option<String> {
    (!call_id.is_empty()).then(|| call_id.to_owned())
}

fn swap(id: Option<String>) -> Option<String> {
    CURRENT.with(|current| current.replace(id))
}

/// A future that runs with a call id current at each poll.
pub(crate) struct WithCallId<F> {
    id: Option<String>,
    inner: Pin<Box<F>>,
}

impl<F: Future> WithCallId<F> {
    /// `inner`, run with `call_id` current (none when empty).
    pub(crate) fn new(call_id: &str, inner: F) -> Self {
        WithCallId {
            id: given(call_id),
            inner: Box::pin(inner),
        }
    }
}

impl<F: Future> Future for WithCallId<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let previous = swap(this.id.take());
        let polled = this.inner.as_mut().poll(cx);
        this.id = swap(previous);
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn each_interleaved_body_sees_its_own_id() {
        let mut cx = Context::from_waker(Waker::noop());
        let seen = RefCell::new(Vec::new());
        let seen = &seen;
        let body = |yields: bool| async move {
            seen.borrow_mut().push(current_function_call_id());
            if yields {
                YieldOnce(false).await;
            }
            seen.borrow_mut().push(current_function_call_id());
        };
        let mut a = std::pin::pin!(WithCallId::new("fc-a", body(true)));
        let mut b = std::pin::pin!(WithCallId::new("fc-b", body(false)));
        assert!(a.as_mut().poll(&mut cx).is_pending());
        assert!(b.as_mut().poll(&mut cx).is_ready());
        assert_eq!(current_function_call_id(), None);
        assert!(a.as_mut().poll(&mut cx).is_ready());
        let a = Some("fc-a".to_owned());
        let b = Some("fc-b".to_owned());
        assert_eq!(*seen.borrow(), [a.clone(), b.clone(), b, a]);
        assert_eq!(
            with_call_id("fc-00ff", current_input_id),
            Some("in-00ff".into())
        );
        assert_eq!(with_call_id("", current_input_id), None);
    }

    struct YieldOnce(bool);

    impl Future for YieldOnce {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            Poll::Pending
        }
    }
}
