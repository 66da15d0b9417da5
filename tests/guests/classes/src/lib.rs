//! The test app for classes: a blocking class with parameters, hooks, a batched method and a
//! hook that can be made to fail; an async class whose methods interleave on one instance;
//! and functions that call them through the SDK's handles.

use fnhost_guest::{Error, Parameters, app, class, function, local_entrypoint, sleep_aio};
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

app!(lookup_in, lookup_in_aio, main; classes: Table, Meeting);
