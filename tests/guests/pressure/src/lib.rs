//! A test app that presses on the host's limits: a recursive fan-out whose waiting parents hold
//! every container slot, and a function that holds memory.

use fnhost_guest::{Error, app, function};
use futures::future::join_all;

/// Spawns two calls of itself one level shallower and waits for both. A blocking body: its
/// container is held while it waits, so `depth` needs 2^(depth + 1) - 1 containers at once.
/// Returns the number of leaves, 2^depth.
#[function(max_containers = 1000)]
fn fork(depth: u32) -> Result<u64, Error> {
    if depth == 0 {
        return Ok(1);
    }
    let left = fork.spawn(depth - 1)?;
    let right = fork.spawn(depth - 1)?;
    Ok(left.get()? + right.get()?)
}

/// Grows the heap by `mb` MiB, touching every page, and returns how many bytes it holds.
#[function(memory = 1024)]
fn hold(mb: u32) -> usize {
    let held: Vec<Vec<u8>> = (0..mb).map(|_| vec![1u8; 1 << 20]).collect();
    held.iter().map(Vec::len).sum()
}

/// Does nothing: what `gather` calls.
#[function(max_inputs = 1000)]
async fn nothing() {}

/// Keeps `n` calls of `nothing` in flight at once from one task, and returns how many came
/// back: each holds component-model handles in this container until it does.
#[function]
async fn gather(n: u32) -> Result<u32, Error> {
    let results = join_all((0..n).map(|_| nothing.remote_aio(()))).await;
    results.into_iter().collect::<Result<Vec<()>, Error>>()?;
    Ok(n)
}

/// Spawns `n` calls of `nothing` and keeps every handle: each is a resource of this container
/// and a call its host keeps. Returns how many it holds.
#[function]
fn hoard(n: u32) -> Result<u32, Error> {
    let calls = (0..n)
        .map(|_| nothing.spawn(()))
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(calls.len() as u32)
}

/// Panics every time; retried twice, each time on a new container, 10 ms then 20 ms later.
#[function(retries(max_retries = 2, initial_delay = 10))]
fn always_panics() -> u32 {
    panic!("again")
}

/// Calls `always_panics` and answers with its error: one container, which waits while the
/// callee's retries run (each on a container of its own, none live between them).
#[function(max_containers = 1)]
fn waits_on_retries() -> Result<String, Error> {
    match always_panics.remote(()) {
        Ok(never) => Err(Error::User(format!("`always_panics` returned {never}"))),
        Err(error) => Ok(error.to_string()),
    }
}

/// Calls `waits_on_retries`: several at once queue for its one container.
#[function]
fn queues_for_retries() -> Result<String, Error> {
    waits_on_retries.remote(())
}

app!(
    fork,
    hold,
    nothing,
    gather,
    hoard,
    always_panics,
    waits_on_retries,
    queues_for_retries
);
