//! The outcomes of spawned calls, in a JetStream key-value bucket keyed by call id, readable
//! from every host; and the callers on this host waiting for some of them.
//!
//! A host stores an outcome with `create`, which succeeds only for the first outcome of an id:
//! a call run twice (its first host died after running it, before its ack) keeps its first
//! outcome, so results are exactly-once per id though execution is at-least-once. The bucket
//! keeps outcomes for the retention window (its `max_age`).
//!
//! Waiting: one watch of the whole bucket per host (new entries only) hands each new outcome to
//! the callers waiting on its id. A watch can miss entries while NATS is away: every time it
//! is made again, its generation changes, and each waiter reads its key once more.
//!
//! Invariant: a waiter registers before it reads the bucket, so an outcome stored between the
//! read and the wait is heard, not lost.

use crate::error::ClusterError;
use crate::names::RESULTS;
use crate::wire::{decode_stored, encode_stored};
use async_nats::jetstream::kv::{self, CreateErrorKind, Operation};
use async_nats::jetstream::stream;
use fnhost::{CallId, Error};
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// A stored outcome and the app whose call it is (`None`: stored by an older host).
pub(crate) type Stored = (Option<String>, Result<Vec<u8>, Error>);

/// How long the watch waits before it is made again after it ended.
const REWATCH_DELAY: Duration = Duration::from_millis(500);

/// The bucket of outcomes, and who waits here for which.
pub(crate) struct Results {
    store: kv::Store,
    waiters: Mutex<HashMap<CallId, Vec<oneshot::Sender<Vec<u8>>>>>,
    /// Counts the watches made: a waiter reads the bucket again when it changes.
    generation: watch::Sender<u64>,
}

impl Results {
    pub(crate) fn new(store: kv::Store) -> Self {
        Results {
            store,
            waiters: Mutex::default(),
            generation: watch::Sender::new(0),
        }
    }

    fn waiters(&self) -> MutexGuard<'_, HashMap<CallId, Vec<oneshot::Sender<Vec<u8>>>>> {
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores the outcome of `id`, a call of `app`, unless one is stored: true when this one
    /// was.
    pub(crate) async fn store(
        &self,
        id: CallId,
        app: &str,
        outcome: &Result<Vec<u8>, Error>,
    ) -> Result<bool, ClusterError> {
        match self
            .store
            .create(id.to_string(), encode_stored(app, outcome).into())
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if error.kind() == CreateErrorKind::AlreadyExists => Ok(false),
            Err(error) => Err(ClusterError::jetstream(format!(
                "store the outcome of {id}"
            ))(error.to_string())),
        }
    }

    /// The outcome of `id`, if one is stored.
    pub(crate) async fn get(&self, id: CallId) -> Result<Option<Stored>, ClusterError> {
        let value = self.store.get(id.to_string()).await.map_err(|error| {
            ClusterError::jetstream(format!("read the outcome of {id}"))(error.to_string())
        })?;
        Ok(value.map(|bytes| decode_stored(&bytes)))
    }

    /// Waits at most `wait` for the outcome of `id`: `None` when none came.
    pub(crate) async fn wait(
        &self,
        id: CallId,
        wait: Duration,
    ) -> Result<Option<Stored>, ClusterError> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut generation = self.generation.subscribe();
        loop {
            let (sender, receiver) = oneshot::channel();
            self.waiters().entry(id).or_default().push(sender);
            if let Some(outcome) = self.get(id).await? {
                self.forget_closed(id);
                return Ok(Some(outcome));
            }
            tokio::select! {
                heard = receiver => {
                    if let Ok(bytes) = heard {
                        return Ok(Some(decode_stored(&bytes)));
                    }
                }
                // The watch was made again: it may have missed this outcome; read again.
                _ = generation.changed() => {}
                () = tokio::time::sleep_until(deadline) => {
                    self.forget_closed(id);
                    return Ok(None);
                }
            }
        }
    }

    /// Drops the waiters of `id` that no longer wait.
    fn forget_closed(&self, id: CallId) {
        let mut waiters = self.waiters();
        if let Some(list) = waiters.get_mut(&id) {
            list.retain(|sender| !sender.is_closed());
            if list.is_empty() {
                waiters.remove(&id);
            }
        }
    }

    /// Hands new outcomes to their waiters, for as long as the host is in the cluster; the
    /// watch is made again whenever it ends.
    pub(crate) async fn watch(&self) {
        loop {
            match self.store.watch_all().await {
                Ok(mut entries) => {
                    self.generation.send_modify(|generation| *generation += 1);
                    while let Some(entry) = entries.next().await {
                        match entry {
                            Ok(entry) if entry.operation == Operation::Put => {
                                self.heard(&entry.key, entry.value.to_vec());
                            }
                            Ok(_) => {}
                            Err(error) => {
                                tracing::debug!(%error, "the watch of results failed");
                                break;
                            }
                        }
                    }
                }
                Err(error) => tracing::debug!(%error, "cannot watch results"),
            }
            tokio::time::sleep(REWATCH_DELAY).await;
        }
    }

    fn heard(&self, key: &str, bytes: Vec<u8>) {
        let Ok(id) = key.parse::<CallId>() else {
            return;
        };
        let Some(waiting) = self.waiters().remove(&id) else {
            return;
        };
        for waiter in waiting {
            let _ = waiter.send(bytes.clone());
        }
    }
}

/// The stream behind the bucket, made by hand rather than by `create_key_value` for one
/// difference: past its budget (`max_outcomes`, `max_bytes`) the oldest outcomes are forgotten,
/// as a host forgets its oldest retained calls. A key-value bucket refuses new values instead,
/// and an outcome that cannot be stored leaves its call unacked: it would run again and again.
/// Everything else is what JetStream's key-value layer expects: one value per key, rollups,
/// direct reads.
pub(crate) fn stream_config(
    retention: Duration,
    max_outcomes: usize,
    max_bytes: u64,
) -> stream::Config {
    stream::Config {
        name: format!("KV_{RESULTS}"),
        description: Some("fnhost: outcomes of spawned calls, by call id".into()),
        subjects: vec![format!("$KV.{RESULTS}.>")],
        max_messages_per_subject: 1,
        max_messages: i64::try_from(max_outcomes).unwrap_or(i64::MAX),
        max_bytes: i64::try_from(max_bytes).unwrap_or(i64::MAX),
        max_age: retention,
        discard: stream::DiscardPolicy::Old,
        storage: stream::StorageType::File,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        ..Default::default()
    }
}
