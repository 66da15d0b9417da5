//! A generator call's items: the container sends each item its generator yields through a
//! bounded channel ([`GENERATOR_BUFFER`] items), and the caller reads them as they come, then
//! the call's outcome (how the generator ended).
//!
//! Invariant: the caller sees every item the generator sent, in order, and then exactly one
//! end: nothing (it returned) or its error. Items sent before an error are delivered before
//! it. Without the bound a generator faster than its caller would fill the host's memory;
//! the full buffer makes `item-sink.send` wait instead (back-pressure). Dropping the
//! [`Items`] drops the call's reply, then the channel: the container sees the caller gone
//! (the input counts as cancelled) before the producer's next `send` returns false and its
//! generator ends.

use crate::Error;
use crate::dispatch::{Receiver, wait};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::unconstrained;

/// How many items a generator may run ahead of its caller.
pub const GENERATOR_BUFFER: usize = 16;

/// Where a generator input's items go.
pub(crate) type ItemSender = mpsc::Sender<Vec<u8>>;

/// The guest's `item-sink`: where the generator input it was handed sends its items.
pub struct ItemSink(pub(crate) ItemSender);

/// The guest's `item-stream`: the items of a generator call it made.
pub struct ItemStream(pub(crate) Arc<tokio::sync::Mutex<Items>>);

/// A new channel for a generator call's items.
pub(crate) fn channel() -> (ItemSender, mpsc::Receiver<Vec<u8>>) {
    mpsc::channel(GENERATOR_BUFFER)
}

/// The items of one generator call, then its end.
pub(crate) struct Items {
    function: Arc<str>,
    items: mpsc::Receiver<Vec<u8>>,
    /// The call's outcome, until it has arrived.
    outcome: Option<Receiver>,
    /// How the call ended, once known: the items still buffered come first.
    ended: Option<Result<(), Error>>,
}

/// What woke a wait for the next item.
enum Woken {
    Item(Option<Vec<u8>>),
    Ended(Result<(), Error>),
}

impl Items {
    /// The items of the call of `function` submitted as `outcome`, arriving on `items`.
    pub(crate) fn new(
        function: &str,
        items: mpsc::Receiver<Vec<u8>>,
        outcome: Result<Receiver, Error>,
    ) -> Self {
        let (outcome, ended) = match outcome {
            Ok(outcome) => (Some(outcome), None),
            Err(error) => (None, Some(Err(error))),
        };
        Items {
            function: Arc::from(function),
            items,
            outcome,
            ended,
        }
    }

    /// The next item, its error, or `None` once the generator has ended (and after an
    /// error).
    pub(crate) async fn next(&mut self) -> Option<Result<Vec<u8>, Error>> {
        loop {
            if let Some(ended) = &mut self.ended {
                // The outcome is known: what is still buffered, then the end, once.
                return match self.items.try_recv() {
                    Ok(item) => Some(Ok(item)),
                    Err(_) => std::mem::replace(ended, Ok(())).err().map(Err),
                };
            }
            let outcome = self.outcome.as_mut()?;
            let woken = tokio::select! {
                biased;
                item = self.items.recv() => Woken::Item(item),
                ended = unconstrained(outcome) => Woken::Ended(
                    ended.unwrap_or_else(|_| Err(shut_down(&self.function))).map(drop),
                ),
            };
            match woken {
                Woken::Item(Some(item)) => return Some(Ok(item)),
                // Every sender is gone (the input ended): its outcome is on its way.
                Woken::Item(None) => {
                    let outcome = self.outcome.take().map(Ok);
                    let ended = match outcome {
                        Some(outcome) => wait(&self.function, outcome).await.map(drop),
                        None => Ok(()),
                    };
                    self.ended = Some(ended);
                }
                Woken::Ended(ended) => {
                    self.outcome = None;
                    self.ended = Some(ended);
                }
            }
        }
    }
}

impl Drop for Items {
    fn drop(&mut self) {
        // The call's reply goes before the items: the container must see the caller gone
        // before the producer's next `send` fails and its generator returns, or it would count
        // the input as finished for a caller rather than cancelled.
        self.outcome = None;
    }
}

fn shut_down(function: &str) -> Error {
    Error::Cancelled(format!(
        "`{function}`: the app shut down before the generator ended"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::{Context, Wake, Waker};
    use tokio::sync::oneshot;

    /// Wakes the producer's wait for the caller to go, and records whether the call's reply
    /// was closed by then.
    struct Witness {
        reply: oneshot::Sender<Result<Vec<u8>, Error>>,
        reply_closed_first: AtomicBool,
    }

    impl Wake for Witness {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            let closed = self.reply.is_closed();
            self.reply_closed_first.store(closed, Ordering::SeqCst);
        }
    }

    #[test]
    fn dropped_items_close_the_reply_before_the_producer_sees_them_go() {
        let (sender, receiver) = channel();
        let (reply, outcome) = oneshot::channel();
        let items = Items::new("numbers", receiver, Ok(outcome));
        let witness = Arc::new(Witness {
            reply,
            reply_closed_first: AtomicBool::new(false),
        });
        let waker = Waker::from(Arc::clone(&witness));
        let mut gone = std::pin::pin!(sender.closed());
        assert!(
            gone.as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        drop(items);
        assert!(sender.is_closed());
        assert!(witness.reply_closed_first.load(Ordering::SeqCst));
    }
}
