//! The functions the benchmark suite (`tests/benches/suite/`) measures.

use fnhost_guest::{
    Dict, Error, Function, Parameters, Queue, QueueOptions, app, class, function, sleep_aio,
};
use futures::future::join_all;
use futures::{Stream, StreamExt, stream};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The trivial async function: host → guest calls and fan-out target.
#[function(max_inputs = 1000, max_containers = 4)]
async fn noop() {}

/// The trivial blocking function; also the one containers are started for.
#[function(max_containers = 2000)]
fn noop_blocking() {}

/// `n` sequential blocking calls of `noop_blocking`. Timed by the caller: raw wasmtime's
/// baseline runs it too, without the clock imports.
#[function]
fn ping_blocking(n: u32) -> Result<(), Error> {
    for _ in 0..n {
        noop_blocking.remote(())?;
    }
    Ok(())
}

/// `n` sequential async calls of `noop`; timed by the caller, as `ping_blocking` is.
#[function]
async fn ping_async(n: u32) -> Result<(), Error> {
    for _ in 0..n {
        noop.remote_aio(()).await?;
    }
    Ok(())
}

/// `n` sequential blocking calls of the Python bench app's `py_noop` (tests/guests-py/bench,
/// loaded beside this one); timed by the caller.
#[function]
fn ping_py(n: u32) -> Result<(), Error> {
    let py_noop = Function::<(), ()>::from_name("py_noop");
    for _ in 0..n {
        py_noop.remote(())?;
    }
    Ok(())
}

/// `n` async calls of `noop` from one task, all in flight, gathered; timed by the caller.
#[function]
async fn fan_out(n: u32) -> Result<(), Error> {
    for result in join_all((0..n).map(|_| noop.remote_aio(()))).await {
        result?;
    }
    Ok(())
}

/// `n` async calls of `noop` through `map_aio` (at most 1000 in flight); timed by the caller.
#[function]
async fn map_out(n: u32) -> Result<(), Error> {
    noop.map_aio((0..n).map(|_| ())).await?;
    Ok(())
}

/// Sleeps `ms` without holding its instance: 10 000 of these share one container.
#[function(max_inputs = 10000, max_containers = 1)]
async fn sleeper(ms: u64) {
    sleep_aio(Duration::from_millis(ms)).await;
}

/// Computes forever (until cancelled or past its timeout): the busy neighbour of the
/// benchmark's `busy` rows.
#[function(max_containers = 4, timeout = 3600)]
fn spin() -> u64 {
    let mut turns = 0u64;
    loop {
        turns = std::hint::black_box(turns.wrapping_add(1));
    }
}

/// The trivial body of the batching rows, one input per run.
#[function(max_containers = 4)]
fn add_one(x: u64) -> u64 {
    x + 1
}

/// The same body, batched: up to 1000 inputs per run.
#[function(batched(max_batch_size = 1000, wait_ms = 1), max_containers = 4)]
fn add_one_batched(xs: Vec<u64>) -> Vec<u64> {
    xs.into_iter().map(|x| x + 1).collect()
}

/// `size` numbers from a xorshift generator, 80 rounds each: ~170 ms for a million.
fn table(size: u64) -> Vec<u64> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..size)
        .map(|_| {
            for _ in 0..80 {
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
            }
            state
        })
        .collect()
}

/// A class whose table is built by a snap hook: its containers start from the snapshot.
#[derive(Default, Serialize, Deserialize, Parameters)]
pub struct Snapped {
    pub size: u64,
    #[serde(skip)]
    rows: Vec<u64>,
}

#[class(max_containers = 2000)]
impl Snapped {
    #[enter(snap = true)]
    fn load(&mut self) {
        self.rows = table(self.size);
    }

    #[method]
    fn row(&self, index: u64) -> u64 {
        self.rows[index as usize % self.rows.len()]
    }
}

/// The same class with the same hook, run in every container.
#[derive(Default, Serialize, Deserialize, Parameters)]
pub struct Entered {
    pub size: u64,
    #[serde(skip)]
    rows: Vec<u64>,
}

#[class(max_containers = 2000)]
impl Entered {
    #[enter]
    fn load(&mut self) {
        self.rows = table(self.size);
    }

    #[method]
    fn row(&self, index: u64) -> u64 {
        self.rows[index as usize % self.rows.len()]
    }
}

/// `n` numbers, as a blocking generator.
#[function]
fn numbers(n: u64) -> impl Iterator<Item = u64> {
    0..n
}

/// `n` numbers, as an async generator.
#[function]
fn numbers_aio(n: u64) -> impl Stream<Item = u64> {
    stream::iter(0..n).map(|number| number)
}

/// `n` sequential gets of the dict `bench` (keys 0 to 99); timed by the caller.
#[function(max_containers = 64)]
fn dict_gets(n: u32) -> Result<(), Error> {
    let dict = Dict::<u32, u32>::from_name("bench", true)?;
    for key in 0..n {
        dict.get(&(key % 100))?;
    }
    Ok(())
}

/// Durable puts of keys `from..from + n` to the dict `bench`, all in flight at once from this
/// container's tasks; timed by the caller.
#[function(max_containers = 64)]
async fn dict_puts_aio(from: u32, n: u32) -> Result<(), Error> {
    let dict = Dict::<u32, u32>::from_name("bench", true)?;
    let puts = (from..from + n).map(|key| {
        let dict = &dict;
        async move { dict.put_aio(&key, &key).await }
    });
    join_all(puts)
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    Ok(())
}

/// `n` sequential put → get round trips through the queue `bench`; timed by the caller.
#[function(max_containers = 64)]
fn queue_round_trips(n: u32) -> Result<(), Error> {
    let queue = Queue::<u32>::from_name("bench", true)?;
    let options = QueueOptions::default();
    for item in 0..n {
        queue.put(&item)?;
        queue.get(&options)?;
    }
    Ok(())
}

app!(
    dict_gets,
    dict_puts_aio,
    queue_round_trips,
    numbers,
    numbers_aio,
    add_one,
    add_one_batched,
    spin,
    noop,
    noop_blocking,
    ping_blocking,
    ping_async,
    ping_py,
    fan_out,
    map_out,
    sleeper;
    classes: Snapped, Entered
);
