//! Batched functions (`#[function(batched(...))]`, Modal's `@batched`): each caller submits one
//! input; the pool's gatherer collects admitted inputs, up to `max_batch_size` of them and for
//! at most `wait` after a batch's first, and places them as one input whose arguments are lists
//! (for each parameter, the inputs' values in order). The list the body returns is split back:
//! each caller gets its own element.
//!
//! Invariant: every gathered input is answered exactly once, with its element or with its
//! batch's error (the body's error, a trap, a timeout, a result that is not a list of the
//! batch's length). Without it a caller of a batched function could wait for ever. A batch
//! whose callers have all gone away is cancelled like any input nobody waits for.
//!
//! A batch runs with the timeout, retries and call chain of its first input: one run cannot
//! have several.

use crate::Error;
use crate::dispatch::payload::MAX_PAYLOAD;
use crate::dispatch::{CallId, Input, Reply, wait};
use crate::info::Batching;
use crate::pool::Pool;
use crate::runtime::occupancy::Underway;
use futures::future::join_all;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// Where a batched pool's admitted inputs go to be gathered, each counted as underway until
/// its batch is placed.
pub(crate) type Gathering = mpsc::UnboundedSender<(Input, Underway)>;

/// An input gathered: its arguments read as a list, and its count as underway.
type Gathered = (Input, Vec<Value>, Underway);

/// How many batches a pool ran, and how many inputs they held.
#[derive(Default)]
pub(crate) struct BatchCounters {
    pub(crate) batches: AtomicUsize,
    pub(crate) inputs: AtomicUsize,
}

/// What a gatherer gathers for: the function (or class method) the guest runs, how many
/// parameters it takes, and its batching.
struct Batched {
    function: Arc<str>,
    params: usize,
    batching: Batching,
}

/// Starts the gatherer of `pool`'s inputs of `function` (its own, or one of its class's
/// methods), which takes `params` parameters; it ends when the pool is gone.
pub(crate) fn start(
    pool: &Arc<Pool>,
    function: Arc<str>,
    params: usize,
    batching: Batching,
) -> Gathering {
    let (sender, receiver) = mpsc::unbounded_channel();
    let batched = Batched {
        function,
        params,
        batching,
    };
    tokio::spawn(gather(Arc::downgrade(pool), receiver, batched));
    sender
}

/// Gathers batches from `inputs` and places each on `pool` as one input.
async fn gather(
    pool: Weak<Pool>,
    mut inputs: mpsc::UnboundedReceiver<(Input, Underway)>,
    batched: Batched,
) {
    let batching = batched.batching;
    let max = batching.max_batch_size as usize;
    // An input that did not fit in the previous batch's payload: the next one's first.
    let mut carried: Option<Gathered> = None;
    loop {
        let first = match carried.take() {
            Some(first) => first,
            None => match next(&pool, &mut inputs, batched.params).await {
                Some(first) => first,
                None => return,
            },
        };
        let deadline = Instant::now() + batching.wait;
        let mut bytes = first.0.args.len();
        let mut batch = vec![first];
        while batch.len() < max {
            let Ok(Some(input)) =
                tokio::time::timeout_at(deadline, next(&pool, &mut inputs, batched.params)).await
            else {
                break;
            };
            // The lists of a batch travel as one payload: past its cap, the batch is full.
            if bytes + input.0.args.len() + max > MAX_PAYLOAD {
                carried = Some(input);
                break;
            }
            bytes += input.0.args.len();
            batch.push(input);
        }
        let Some(pool) = pool.upgrade() else {
            return;
        };
        run(&pool, &batched, batch);
    }
}

/// The next input with its arguments read as a list, answering those whose arguments are not
/// a list of the function's `params` parameters; `None` once the pool is gone.
async fn next(
    pool: &Weak<Pool>,
    inputs: &mut mpsc::UnboundedReceiver<(Input, Underway)>,
    params: usize,
) -> Option<Gathered> {
    loop {
        let (input, underway) = inputs.recv().await?;
        if pool.strong_count() == 0 {
            return None;
        }
        match serde_json::from_slice::<Vec<Value>>(&input.args) {
            Ok(args) if args.len() == params => return Some((input, args, underway)),
            _ => {
                let _ = input.reply.send(Err(Error::BadArguments(format!(
                    "a batched function takes one value for each of its {params} parameters"
                ))));
            }
        }
    }
}

/// Places `batch` on `pool` as one input, and answers its inputs when it is back.
fn run(pool: &Arc<Pool>, batched: &Batched, batch: Vec<Gathered>) {
    let count = batch.len();
    let params = batched.params;
    let mut columns = vec![Vec::with_capacity(count); params];
    let mut replies = Vec::with_capacity(count);
    let mut first = None;
    let mut underway = Vec::with_capacity(count);
    for (input, args, gathered) in batch {
        underway.push(gathered);
        for (column, value) in columns.iter_mut().zip(args) {
            column.push(value);
        }
        first.get_or_insert((input.policy, input.caller));
        replies.push(input.reply);
    }
    let Some((policy, caller)) = first else {
        return;
    };
    let args = serde_json::to_vec(&columns).expect("JSON values serialize");
    let (reply, receiver) = oneshot::channel();
    pool.batch_counters.batches.fetch_add(1, Ordering::Relaxed);
    pool.batch_counters
        .inputs
        .fetch_add(count, Ordering::Relaxed);
    pool.place(Input {
        function: Arc::clone(&batched.function),
        args,
        reply,
        policy,
        attempt: 0,
        caller,
        id: CallId::mint(),
        items: None,
    });
    // Placed: the batch's input counts from here.
    drop(underway);
    let function = Arc::clone(&batched.function);
    tokio::spawn(async move {
        let result = {
            let all_gone = join_all(replies.iter_mut().map(|reply| reply.closed()));
            tokio::select! {
                result = wait(&function, Ok(receiver)) => Some(result),
                // The batch's receiver is dropped with the wait: that cancels it.
                _ = all_gone => None,
            }
        };
        if let Some(result) = result {
            answer(&function, result, replies);
        }
    });
}

/// Answers each input of a batch with its element of the batch's `result`, or with its error.
fn answer(function: &str, result: Result<Vec<u8>, Error>, replies: Vec<Reply>) {
    let count = replies.len();
    let split = result.and_then(|result| split(function, &result, count));
    match split {
        Ok(results) => {
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(Ok(result));
            }
        }
        Err(error) => {
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}

/// The elements of a batch's result, one per input: it must be a list of `count`.
fn split(function: &str, result: &[u8], count: usize) -> Result<Vec<Vec<u8>>, Error> {
    let results: Vec<Value> = serde_json::from_slice(result).map_err(|_| {
        Error::User(format!(
            "`{function}` is batched: its body must return a list, one result per input"
        ))
    })?;
    if results.len() != count {
        return Err(Error::User(format!(
            "`{function}` is batched: its body returned {} results for a batch of {count} inputs",
            results.len()
        )));
    }
    // Each element is smaller than the whole, whose size the container checked.
    Ok(results
        .iter()
        .map(|result| serde_json::to_vec(result).expect("JSON values serialize"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_result_splits_into_one_element_per_input() {
        assert_eq!(
            split("f", br#"[1, "two", [3]]"#, 3).unwrap(),
            [b"1".to_vec(), br#""two""#.to_vec(), b"[3]".to_vec()]
        );
        let short = split("f", b"[1, 2]", 3).unwrap_err();
        assert!(
            short
                .message()
                .contains("returned 2 results for a batch of 3")
        );
        let not_a_list = split("f", b"{}", 1).unwrap_err();
        assert!(not_a_list.message().contains("must return a list"));
    }
}
