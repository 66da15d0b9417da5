//! A generator call's items: the container sends each item its generator yields through a
//! bounded channel ([`GENERATOR_BUFFER`] items), and the caller reads them as they come, then
//! the call's outcome (how the generator ended).
//!
//! Invariant: the caller sees every item the generator sent, in order, and then exactly one
//! end: nothing (it returned) or its error. Items sent before an error are delivered before
//! it. Without the bound a generator faster than its caller would fill the host's memory;
//! the full buffer makes `item-sink.send` wait instead (back-pressure). Dropping the
//! [`Items`] drops the channel and the call's reply: the producer's next `send` returns
//! false, and the container stops the input as for any cancelled call.

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

fn shut_down(function: &str) -> Error {
    Error::Cancelled(format!(
        "`{function}`: the app shut down before the generator ended"
    ))
}
