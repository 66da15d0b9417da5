//! Input timeouts: every input a container runs has a deadline, and the container stops when
//! one passes.
//!
//! A guest can be past its deadline in three ways, and each has its watchman:
//! - computing: the epoch callback, which runs every tick while wasm runs, traps the store;
//! - blocked in a blocking import (`call`, `get`, `sleep`): the import waits no longer than
//!   the earliest deadline, then traps the store;
//! - waiting in async imports: the container's serving loop, which is polled while its guest
//!   tasks wait, wakes at the earliest deadline and stops the store.
//!
//! Stopping the store is the only way to take an input back from a guest (component-model
//! cancellation of one task is the next step), so an input past its deadline takes its
//! container down: it fails with `timeout`, the container's other inputs fail with `trapped`
//! naming the cause, and the pool starts a replacement.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;
use tokio::time::Sleep;

/// The deadlines of the inputs a container is running.
#[derive(Default)]
pub(crate) struct Deadlines {
    running: HashMap<u64, Instant>,
    /// Set once an input ran past its deadline: the store is being stopped.
    expired: bool,
    /// The timer that bounds blocking waits, kept from one wait to the next: the many calls
    /// of one input share its deadline, so the timer is set once per input, not per call.
    /// Between waits it may fire unobserved, which costs one spurious wake.
    timer: Option<Pin<Box<Sleep>>>,
}

impl Deadlines {
    /// Input `tag` starts and must be done by `deadline`.
    pub(crate) fn start(&mut self, tag: u64, deadline: Instant) {
        self.running.insert(tag, deadline);
    }

    /// Input `tag` finished.
    pub(crate) fn finish(&mut self, tag: u64) {
        self.running.remove(&tag);
    }

    /// The earliest deadline of the running inputs.
    pub(crate) fn earliest(&self) -> Option<Instant> {
        self.running.values().min().copied()
    }

    /// Whether input `tag` is past its deadline.
    pub(crate) fn is_past(&self, tag: u64) -> bool {
        self.running
            .get(&tag)
            .is_some_and(|deadline| *deadline <= Instant::now())
    }

    /// Whether the container is being stopped because an input ran past its deadline.
    pub(crate) fn expired(&self) -> bool {
        self.expired
    }

    /// Fails (and marks the container expired) when an input is past its deadline.
    pub(crate) fn check(&mut self) -> wasmtime::Result<()> {
        match self.earliest() {
            Some(deadline) if deadline <= Instant::now() => Err(self.expire()),
            _ => Ok(()),
        }
    }

    /// Runs `wait` (a blocking import's wait) until the earliest deadline at most.
    pub(crate) async fn bound<T>(&mut self, wait: impl Future<Output = T>) -> wasmtime::Result<T> {
        let Some(deadline) = self.earliest() else {
            return Ok(wait.await);
        };
        let deadline = deadline.into();
        let timer = match &mut self.timer {
            Some(timer) => {
                if timer.deadline() != deadline {
                    timer.as_mut().reset(deadline);
                }
                timer
            }
            None => self
                .timer
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        tokio::select! {
            biased;
            done = wait => return Ok(done),
            () = timer.as_mut() => {}
        }
        Err(self.expire())
    }

    /// Marks the container expired; the error stops its store.
    pub(crate) fn expire(&mut self) -> wasmtime::Error {
        self.expired = true;
        wasmtime::format_err!("an input ran past its timeout")
    }
}
