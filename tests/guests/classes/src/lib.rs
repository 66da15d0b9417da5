//! The test app for classes and generators: a blocking class with parameters, hooks, a
//! batched method and a hook that can be made to fail; an async class whose methods
//! interleave on one instance; generators (blocking, async, failing, and an endless one in a
//! class that counts what it produced); and functions that call them through the SDK's
//! handles.

use fnhost_guest::{Error, Parameters, app, class, function, local_entrypoint, sleep_aio};
use futures::{Stream, StreamExt, stream};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

thread_local! {
    /// How many times this container ran `Table`'s `enter` hooks.
    static ENTERS: Cell<u32> = const { Cell::new(0) };
}

/// A table of `size` numbers, built once per container.
#[derive(Default, Serialize, Deserialize, Parameters)]
pub struct Table {
    /// How many numbers the table holds.
    pub size: u64,
    /// Set to make `enter` fail.
    #[serde(default)]
    pub broken: bool,
    #[serde(skip)]
    numbers: Vec<u64>,
    /// This instance's random id: tells containers apart.
    #[serde(skip)]
    id: u64,
}

#[class(max_containers = 4, scaledown_window = 2)]
impl Table {
    #[enter]
    fn build(&mut self) -> Result<(), String> {
        if self.broken {
            println!("entering a broken table");
            return Err("the table is broken".into());
        }
        ENTERS.set(ENTERS.get() + 1);
        self.numbers = (0..self.size).map(|n| n * 10).collect();
        self.id = RandomState::new().hash_one(self.size);
        Ok(())
    }

    #[exit]
    fn close(&mut self) {
        println!("exit Table(size={}) {}", self.size, self.id);
    }

    /// The `index`th number of the table.
    #[method]
    fn lookup(&self, index: u64) -> Result<u64, String> {
        let found = usize::try_from(index)
            .ok()
            .and_then(|i| self.numbers.get(i));
        found
            .copied()
            .ok_or_else(|| format!("no number at {index}"))
    }

    /// This instance's id and how many times its container entered.
    #[method]
    fn who(&self) -> (u64, u32) {
        (self.id, ENTERS.get())
    }

    /// Each number plus the table's size, gathered in batches of up to 4.
    #[method(batched(max_batch_size = 4, wait_ms = 60000))]
    fn shifted(&self, numbers: Vec<u64>) -> Vec<u64> {
        numbers.iter().map(|n| n + self.size).collect()
    }
}

/// An async class: its methods' inputs interleave on one instance.
#[derive(Default, Serialize, Deserialize, Parameters)]
pub struct Meeting {
    #[serde(skip)]
    arrived: Cell<u32>,
    #[serde(skip)]
    opened: bool,
}

#[class(max_inputs = 8, max_containers = 1)]
impl Meeting {
    #[enter]
    async fn open(&mut self) {
        sleep_aio(Duration::from_millis(1)).await;
        self.opened = true;
    }

    /// Waits until `count` inputs, of either method, are in this instance; returns how many
    /// arrived by then.
    #[method]
    async fn join(&self, count: u32) -> Result<u32, String> {
        self.wait_for(count).await
    }

    /// `join` by another name.
    #[method]
    async fn join_late(&self, count: u32) -> Result<u32, String> {
        self.wait_for(count).await
    }
}

impl Meeting {
    async fn wait_for(&self, count: u32) -> Result<u32, String> {
        if !self.opened {
            return Err("not opened".into());
        }
        self.arrived.set(self.arrived.get() + 1);
        while self.arrived.get() < count {
            sleep_aio(Duration::from_millis(1)).await;
        }
        Ok(self.arrived.get())
    }
}

/// Looks `index` up in `Table(size)` through the SDK's handle, and reports how many containers
/// the instance's pool started.
#[function]
fn lookup_in(size: u64, index: u64) -> Result<(u64, u64), Error> {
    let table = Table {
        size,
        ..Default::default()
    }
    .handle();
    let found = table.lookup.remote(index)?;
    Ok((found, table.lookup.stats()?.containers_started))
}

/// `lookup_in`, awaited.
#[function]
async fn lookup_in_aio(size: u64, index: u64) -> Result<u64, Error> {
    let table = Table {
        size,
        ..Default::default()
    }
    .handle();
    table.lookup.remote_aio(index).await
}

/// Calls `Table(size=3).lookup` 100 times and prints `containers: C, enters: E`.
#[local_entrypoint]
fn main() -> Result<(), Error> {
    let table = Table {
        size: 3,
        ..Default::default()
    }
    .handle();
    let mut enters = std::collections::HashMap::new();
    for index in 0..100 {
        table.lookup.remote(index % 3)?;
        let (id, entered) = table.who.remote(())?;
        enters.insert(id, entered);
    }
    let containers = table.lookup.stats()?.containers_started;
    println!(
        "containers: {containers}, enters: {}",
        enters.values().sum::<u32>()
    );
    Ok(())
}

/// The numbers from 0 to `n` (excluded), as a blocking generator.
#[function]
fn count_to(n: u64) -> impl Iterator<Item = u64> {
    0..n
}

/// The numbers from 0 to `n` (excluded), as an async generator.
#[function(max_inputs = 4)]
fn count_to_aio(n: u64) -> impl Stream<Item = u64> {
    stream::iter(0..n).then(|i| async move {
        sleep_aio(Duration::ZERO).await;
        i
    })
}

/// The numbers from 0, until `fail_at`: that item is an error.
#[function]
fn count_then_fail(fail_at: u64) -> impl Iterator<Item = Result<u64, String>> {
    (0..).map(move |i| match i < fail_at {
        true => Ok(i),
        false => Err(format!("failed at {i}")),
    })
}

/// The sums of `count_to(n)`'s and `count_to_aio(n)`'s items, read as they come.
#[function]
fn sum_of_counts(n: u64) -> Result<(u64, u64), Error> {
    let blocking = count_to.remote_gen(n).sum::<Result<u64, Error>>()?;
    let streamed = count_to_aio.remote_gen(n).sum::<Result<u64, Error>>()?;
    Ok((blocking, streamed))
}

/// The same sums, awaited.
#[function]
async fn sum_of_counts_aio(n: u64) -> Result<(u64, u64), Error> {
    let add = |sum: Result<u64, Error>, item: Result<u64, Error>| async move { Ok(sum? + item?) };
    let blocking = count_to.remote_gen_aio(n).fold(Ok(0), add).await?;
    let streamed = count_to_aio.remote_gen_aio(n).fold(Ok(0), add).await?;
    Ok((blocking, streamed))
}

/// The items of `count_then_fail(fail_at)` as a caller sees them: the numbers, then the error.
#[function]
async fn items_until_failure(fail_at: u64) -> (Vec<u64>, String) {
    let mut items = std::pin::pin!(count_then_fail.remote_gen_aio(fail_at));
    let mut numbers = Vec::new();
    while let Some(item) = items.next().await {
        match item {
            Ok(number) => numbers.push(number),
            Err(error) => return (numbers, error.to_string()),
        }
    }
    (numbers, "no error".into())
}

/// What spawning a generator (at the spawned call's `get`: a spawn itself cannot fail) and
/// calling it with `remote` say.
#[function]
fn misuse_a_generator() -> (String, String) {
    let spawned = count_to
        .spawn(3)
        .and_then(|call| call.get())
        .err()
        .map(|error| error.to_string());
    let called = count_to.remote(3).err().map(|error| error.to_string());
    (spawned.unwrap_or_default(), called.unwrap_or_default())
}

/// An endless producer, with a count of the items it made.
#[derive(Default, Serialize, Deserialize, Parameters)]
pub struct Producer {
    #[serde(skip)]
    produced: Cell<u64>,
}

#[class(max_inputs = 4, max_containers = 1)]
impl Producer {
    /// 0, 1, 2, ... for ever.
    #[method]
    fn numbers(&self) -> impl Stream<Item = u64> + '_ {
        stream::iter(0..).map(|i| {
            self.produced.set(self.produced.get() + 1);
            i
        })
    }

    /// How many items `numbers` made.
    #[method]
    async fn produced(&self) -> u64 {
        self.produced.get()
    }
}

thread_local! {
    /// How many times this container's memory ran `Snapped`'s snap hook (before its snapshot:
    /// a container started from it counts the one run it inherited).
    static SNAP_ENTERS: Cell<u32> = const { Cell::new(0) };
    /// How many times this container ran `Snapped`'s other `enter` hook.
    static LIVE_ENTERS: Cell<u32> = const { Cell::new(0) };
}

/// A class whose table is built by a snap hook: its containers start from a snapshot.
#[derive(Default, Serialize, Deserialize, Parameters)]
pub struct Snapped {
    pub size: u64,
    /// Set to make the snap hook call another function (which it may not).
    #[serde(default)]
    pub call_out: bool,
    /// Set to make the snap hook keep a spawned call's handle (which cannot be captured).
    #[serde(default)]
    pub spawn_out: bool,
    /// Set to make the snap hook call another function and ignore the refusal.
    #[serde(default)]
    pub call_quietly: bool,
    #[serde(skip)]
    table: Vec<u64>,
    #[serde(skip)]
    pending: Option<fnhost_guest::FunctionCall<u64>>,
}

#[class(max_containers = 4)]
impl Snapped {
    #[enter(snap = true)]
    fn build(&mut self) -> Result<(), Error> {
        SNAP_ENTERS.set(SNAP_ENTERS.get() + 1);
        if self.call_out {
            lookup_in_aio.remote((1, 0))?;
        }
        if self.spawn_out {
            self.pending = Some(lookup_in_aio.spawn((1, 0))?);
        }
        if self.call_quietly {
            let _ = lookup_in_aio.remote((1, 0));
        }
        self.table = (0..self.size).collect();
        Ok(())
    }

    #[enter]
    fn warm(&mut self) {
        LIVE_ENTERS.set(LIVE_ENTERS.get() + 1);
    }

    /// The snap and other `enter` runs this container's memory saw, and the table's sum.
    #[method]
    fn enters(&self) -> (u32, u32, u64) {
        (
            SNAP_ENTERS.get(),
            LIVE_ENTERS.get(),
            self.table.iter().sum(),
        )
    }
}

app!(
    lookup_in,
    lookup_in_aio,
    main,
    count_to,
    count_to_aio,
    count_then_fail,
    sum_of_counts,
    sum_of_counts_aio,
    items_until_failure,
    misuse_a_generator;
    classes: Table, Meeting, Producer, Snapped
);
