//! The store's one writer: a thread that commits every change, batch by batch.
//!
//! Changes are jobs sent to the thread. It takes every job waiting (up to [`MAX_BATCH`]),
//! applies them in order in one write transaction, commits it with redb's immediate durability
//! (one disk sync for the batch), and only then answers each job and wakes the waiters of what
//! changed. So every acknowledged change is on disk, concurrent writers share a sync, and no
//! async task ever waits on the disk. Invariant: a job is answered `Ok` only after the
//! transaction that holds it committed; a failure of the store (a full disk, a damaged file)
//! fails every job of its batch, and none of them changed anything; after a disk error the next
//! batch opens the database again first (`database.rs`).

use crate::storage::error::Applied;
use crate::storage::error::StorageError;
use crate::storage::store::database::Db;
use crate::storage::store::wake::{Change, Wakers};
use redb::{Database, WriteTransaction};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// The most jobs one transaction holds.
const MAX_BATCH: usize = 4096;

/// One change to apply: in a write transaction, then told whether it committed.
trait Job: Send {
    /// Applies the change in `txn`, noting in `changes` what waiters must hear of. An `Err` is
    /// a failure of the store: the whole batch is aborted.
    fn apply(
        &mut self,
        txn: &WriteTransaction,
        changes: &mut Vec<Change>,
    ) -> Result<(), redb::Error>;
    /// Answers the job: `committed` is the batch's fate.
    fn finish(self: Box<Self>, committed: Result<(), StorageError>);
}

/// A job whose answer is `deliver`ed from what `apply` made, once it committed.
struct Pending<T, A, D, U> {
    apply: Option<A>,
    outcome: Option<Result<T, StorageError>>,
    deliver: D,
    reply: Option<oneshot::Sender<Result<U, StorageError>>>,
}

impl<T, A, D, U> Job for Pending<T, A, D, U>
where
    T: Send,
    U: Send,
    A: FnOnce(&WriteTransaction, &mut Vec<Change>) -> Applied<T> + Send,
    D: FnOnce(T) -> U + Send,
{
    fn apply(
        &mut self,
        txn: &WriteTransaction,
        changes: &mut Vec<Change>,
    ) -> Result<(), redb::Error> {
        let apply = self.apply.take().expect("a job is applied once");
        self.outcome = Some(apply(txn, changes)?);
        Ok(())
    }

    fn finish(self: Box<Self>, committed: Result<(), StorageError>) {
        let answer = match (committed, self.outcome) {
            (Ok(()), Some(Ok(made))) => Ok((self.deliver)(made)),
            (Ok(()), Some(Err(refused))) => Err(refused),
            (Err(failed), _) => Err(failed),
            (Ok(()), None) => Err(StorageError::Unavailable("a change was not applied".into())),
        };
        if let Some(reply) = self.reply {
            // A caller that went away drops the answer here (a queue's taken items go back).
            let _ = reply.send(answer);
        }
    }
}

/// The way to the writer thread. Dropping it (with every clone) ends the thread once it has
/// answered what it holds.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

/// The writer thread: dropping this waits for it to end, so that the store's file is closed
/// once the store is dropped (drop every [`Writer`] first).
pub(crate) struct WriterThread(Option<JoinHandle<()>>);

impl Drop for WriterThread {
    fn drop(&mut self) {
        // The last handle may go inside a job (a taken item put back): the thread cannot wait
        // for itself, and ends on its own once its channel closes.
        let Some(thread) = self.0.take() else { return };
        if thread.thread().id() != std::thread::current().id() && thread.join().is_err() {
            tracing::error!("the store's writer panicked");
        }
    }
}

impl Writer {
    /// Starts the writer of `db`, which wakes `wakers`' waiters after each commit.
    pub(crate) fn start(
        db: Arc<Db>,
        wakers: Arc<Wakers>,
    ) -> Result<(Writer, WriterThread), StorageError> {
        let (jobs, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("fnhost-store".into())
            .spawn(move || serve(&db, &wakers, &receiver))
            .map_err(|error| {
                StorageError::Unavailable(format!("cannot start the store's writer: {error}"))
            })?;
        Ok((Writer { jobs }, WriterThread(Some(thread))))
    }

    /// Applies `apply` in the next batch and returns its outcome once the batch committed.
    pub(crate) async fn write<T, A>(&self, apply: A) -> Result<T, StorageError>
    where
        T: Send + 'static,
        A: FnOnce(&WriteTransaction, &mut Vec<Change>) -> Applied<T> + Send + 'static,
    {
        self.write_then(apply, |made| made).await
    }

    /// Applies `apply` in the next batch; once the batch committed, `deliver` makes the answer
    /// from what it made (a value that must exist only for a committed change: a queue's
    /// taken items).
    pub(crate) async fn write_then<T, U, A, D>(
        &self,
        apply: A,
        deliver: D,
    ) -> Result<U, StorageError>
    where
        T: Send + 'static,
        U: Send + 'static,
        A: FnOnce(&WriteTransaction, &mut Vec<Change>) -> Applied<T> + Send + 'static,
        D: FnOnce(T) -> U + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.submit(Pending {
            apply: Some(apply),
            outcome: None,
            deliver,
            reply: Some(reply),
        })?;
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }

    /// Applies `apply` in the next batch, answering no one: a change nobody waits for (an
    /// ephemeral object's removal, a read's touch).
    pub(crate) fn write_detached<A>(&self, apply: A)
    where
        A: FnOnce(&WriteTransaction, &mut Vec<Change>) -> Applied<()> + Send + 'static,
    {
        let job = Pending {
            apply: Some(apply),
            outcome: None,
            deliver: |()| (),
            reply: None,
        };
        if self.submit(job).is_err() {
            tracing::debug!("the store's writer has stopped; a detached change is dropped");
        }
    }

    fn submit(&self, job: impl Job + 'static) -> Result<(), StorageError> {
        self.jobs.send(Box::new(job)).map_err(|_| stopped())
    }
}

fn stopped() -> StorageError {
    StorageError::Unavailable("the store's writer has stopped".into())
}

/// The writer thread: batch after batch until every sender is gone.
fn serve(db: &Db, wakers: &Wakers, jobs: &mpsc::Receiver<Box<dyn Job>>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit(db, wakers, batch);
    }
}

/// Applies `batch` in one transaction, commits it, and answers every job.
fn commit(db: &Db, wakers: &Wakers, mut batch: Vec<Box<dyn Job>>) {
    let committed = match db.database() {
        Ok(database) => apply(db, &database, wakers, batch.as_mut_slice()),
        Err(unavailable) => Err(unavailable),
    };
    for job in batch {
        job.finish(committed.clone());
    }
}

/// Applies `batch` to `database` in one transaction and commits it; notes a failure in `db`.
fn apply(
    db: &Db,
    database: &Database,
    wakers: &Wakers,
    batch: &mut [Box<dyn Job>],
) -> Result<(), StorageError> {
    let mut changes = Vec::new();
    let applied = catch_unwind(AssertUnwindSafe(|| -> Result<(), redb::Error> {
        let txn = database.begin_write()?;
        for job in batch.iter_mut() {
            // A failure drops the transaction, which aborts it.
            job.apply(&txn, &mut changes)?;
        }
        Ok(txn.commit()?)
    }));
    match applied {
        Ok(Ok(())) => {
            wakers.announce(&changes);
            Ok(())
        }
        Ok(Err(failed)) => {
            tracing::error!(error = %failed, jobs = batch.len(), "a store transaction failed");
            db.note(&failed);
            Err(StorageError::from(failed))
        }
        Err(_) => {
            tracing::error!(jobs = batch.len(), "a store transaction panicked");
            Err(StorageError::Unavailable(
                "the store failed applying a change".into(),
            ))
        }
    }
}
