//! A queue on JetStream: one work-queue stream per queue (`fnhost-queue-<hex>`), one subject per
//! partition, one durable pull consumer per partition that every host's getters share.
//!
//! Invariants: an item leaves the stream only when a getter's ack of it is confirmed by the
//! server (a double ack), and a getter returns only items so acked — so each item goes to
//! exactly one getter; items a get received but did not hand over (it was cancelled or timed
//! out) are given back at once (a nak), or, if the host died, after the consumer's ack wait.
//! A getter waits inside the server's pull request (no polling); a putter waiting for room
//! waits for a getter's ack, which it hears on the ack's subject, and looks again each second
//! for room made otherwise (an item's expiry, a clear).
//!
//! Differences from the host's store (docs/storage.md): an item lives `partition_ttl` after its
//! own put (JetStream's per-message TTL), not after the partition's last put; `put_many` onto a
//! partition filling at the same moment may keep the items before the one refused; the number
//! of partitions is not limited; items a getter gave back go to the end of the line.

use crate::names;
use crate::state::{StateInner, described_stream, unavailable};
use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::message::{Acker, PublishMessage};
use async_nats::jetstream::stream::{self, DiscardPolicy, RetentionPolicy};
use async_nats::jetstream::{self, AckKind};
use fnhost::remote::{RemoteFuture, RemoteQueue};
use fnhost::{MAX_PARTITION_ITEMS, StorageError};
use futures::{StreamExt, TryStreamExt};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// What the description of a queue's stream starts with; its name follows.
const DESCRIBED: &str = "fnhost queue: ";
/// How long an item sent to a getter stays invisible to others before it is given again, when
/// the getter neither acked nor gave it back (its host died, or its pull request was cancelled
/// while the item was on its way). A getter acks as soon as it receives.
const ACK_WAIT: Duration = Duration::from_secs(5);
/// A partition's consumer unused this long is removed by the server (made again on use).
const CONSUMER_IDLE: Duration = Duration::from_secs(60 * 60);
/// How many times one get makes a partition's consumer again after the server lost it.
const REOPENS: u32 = 3;
/// The longest one pull request waits; a longer wait asks again.
const LONGEST_PULL: Duration = Duration::from_secs(30);
/// How often a putter waiting for room looks again without hearing an ack.
const ROOM_RECHECK: Duration = Duration::from_secs(1);

/// A queue kept in a stream.
pub(crate) struct StreamQueue {
    id: String,
    name: Option<String>,
    /// Whether this handle made it as an ephemeral queue: its drop removes the stream.
    owned: bool,
    stream: stream::Stream,
    jetstream: jetstream::Context,
    client: async_nats::Client,
    /// The partitions' consumers this handle has opened. Held while one is opened, so this
    /// handle's getters never race to make the same consumer (on a standalone server before
    /// 2.15, a second make of a consumer that exists could evict the live one).
    consumers: tokio::sync::Mutex<HashMap<String, PullConsumer>>,
}

impl StreamQueue {
    /// Makes the stream of a new queue `id`.
    pub(crate) async fn make(
        state: &StateInner,
        id: String,
        name: Option<&str>,
        owned: bool,
    ) -> Result<StreamQueue, StorageError> {
        let stream = state
            .jetstream
            .create_stream(stream::Config {
                name: names::queue_stream(&id),
                description: Some(format!("{DESCRIBED}{}", name.unwrap_or(""))),
                subjects: vec![names::queue_subjects(&id)],
                retention: RetentionPolicy::WorkQueue,
                max_messages_per_subject: i64::try_from(MAX_PARTITION_ITEMS).unwrap_or(i64::MAX),
                discard: DiscardPolicy::New,
                discard_new_per_subject: true,
                allow_direct: true,
                allow_message_ttl: true,
                ..Default::default()
            })
            .await
            .map_err(unavailable("making a queue's stream"))?;
        Ok(StreamQueue::new(
            state,
            stream,
            id,
            name.map(str::to_owned),
            owned,
        ))
    }

    /// The queue `id`, if its stream exists.
    pub(crate) async fn open(
        state: &StateInner,
        id: &str,
    ) -> Result<Option<StreamQueue>, StorageError> {
        let stream = names::queue_stream(id);
        let found = described_stream(&state.jetstream, stream, DESCRIBED).await?;
        let Some((stream, name)) = found else {
            return Ok(None);
        };
        Ok(Some(StreamQueue::new(
            state,
            stream,
            id.to_owned(),
            name,
            false,
        )))
    }

    fn new(
        state: &StateInner,
        stream: stream::Stream,
        id: String,
        name: Option<String>,
        owned: bool,
    ) -> StreamQueue {
        StreamQueue {
            id,
            name,
            owned,
            stream,
            jetstream: state.jetstream.clone(),
            client: state.client.clone(),
            consumers: tokio::sync::Mutex::default(),
        }
    }

    async fn put(
        &self,
        items: Vec<Vec<u8>>,
        partition: String,
        ttl: Duration,
        timeout: Option<Duration>,
    ) -> Result<(), StorageError> {
        let subject = names::partition_subject(&self.id, &partition);
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        let mut waiting = RoomWait::default();
        let mut rest = items;
        loop {
            // A put of several items waits for room for all of them first (a single item goes
            // straight to the server, which refuses it when the partition is full).
            if rest.len() > 1 {
                let held = self.partition_len(&subject).await?;
                let count = rest.len() as u64;
                if held + count > MAX_PARTITION_ITEMS {
                    let full = StorageError::Full(format!(
                        "the partition holds {held} items and {count} more were put; it holds \
                         at most {MAX_PARTITION_ITEMS}"
                    ));
                    waiting.wait(self, deadline, full).await?;
                    continue;
                }
            }
            // Others may fill it meanwhile: what the server refused waits for room again.
            rest = self.publish(&subject, rest, ttl).await?;
            if rest.is_empty() {
                return Ok(());
            }
            let full = StorageError::Full(format!(
                "the partition holds {MAX_PARTITION_ITEMS} items, the most it holds; {} more \
                 were put",
                rest.len()
            ));
            waiting.wait(self, deadline, full).await?;
        }
    }

    /// Stores `items` under `subject`, each living `ttl`, waiting for every acknowledgement;
    /// returns those refused because the partition was full, in their order.
    ///
    /// Items are sent one after the other (so they keep their order) while their
    /// acknowledgements are awaited alongside. The NATS client lets at most 5 000 sent items of
    /// the whole host wait for theirs, and a sent item holds its place until its
    /// acknowledgement is awaited: a put that sent all before awaiting any would, beside other
    /// puts doing the same, hold every place while waiting for one more, and no put of the
    /// host would move again.
    async fn publish(
        &self,
        subject: &str,
        items: Vec<Vec<u8>>,
        ttl: Duration,
    ) -> Result<Vec<Vec<u8>>, StorageError> {
        let (sent, mut awaiting) = futures::channel::mpsc::unbounded();
        let sending = async move {
            for item in items {
                let message = PublishMessage::build()
                    .payload(item.clone().into())
                    .ttl(ttl);
                let ack = self
                    .jetstream
                    .send_publish(subject.to_owned(), message)
                    .await
                    .map_err(refused_put)?;
                if sent.unbounded_send((item, ack)).is_err() {
                    break;
                }
            }
            Ok(())
        };
        let acknowledged = async {
            let mut refused = Vec::new();
            while let Some((item, ack)) = awaiting.next().await {
                match ack.await.map_err(refused_put) {
                    Ok(_) => {}
                    Err(StorageError::Full(_)) => refused.push(item),
                    Err(error) => return Err(error),
                }
            }
            Ok(refused)
        };
        let ((), refused) = futures::try_join!(sending, acknowledged)?;
        Ok(refused)
    }

    /// The items the partition whose subject is `subject` holds.
    async fn partition_len(&self, subject: &str) -> Result<u64, StorageError> {
        let counts = self.stream.info_with_subjects(subject).await;
        let counts: Vec<(String, usize)> = counts
            .map_err(unavailable("counting a queue's items"))?
            .try_collect()
            .await
            .map_err(unavailable("counting a queue's items"))?;
        Ok(counts.iter().map(|(_, count)| *count as u64).sum())
    }

    /// The consumer of `partition`, made if missing.
    async fn consumer(&self, partition: &str) -> Result<PullConsumer, StorageError> {
        let name = names::partition_consumer(partition);
        let mut consumers = self.consumers.lock().await;
        if let Some(consumer) = consumers.get(&name) {
            return Ok(consumer.clone());
        }
        let consumer = self
            .stream
            .get_or_create_consumer(
                &name,
                pull::Config {
                    durable_name: Some(name.clone()),
                    filter_subject: names::partition_subject(&self.id, partition),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: ACK_WAIT,
                    max_ack_pending: -1,
                    inactive_threshold: CONSUMER_IDLE,
                    ..Default::default()
                },
            )
            .await
            .map_err(unavailable("opening a queue partition's consumer"))?;
        consumers.insert(name, consumer.clone());
        Ok(consumer)
    }

    /// Forgets the consumer of `partition`, which the server no longer has: the next use
    /// makes it again.
    async fn forget_consumer(&self, partition: &str) {
        let name = names::partition_consumer(partition);
        self.consumers.lock().await.remove(&name);
    }

    async fn get(
        &self,
        n: u32,
        partition: String,
        timeout: Option<Duration>,
    ) -> Result<Vec<Vec<u8>>, StorageError> {
        let n = usize::try_from(n.min(fnhost::MAX_PAGE)).unwrap_or(usize::MAX);
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        let mut received = Received::default();
        let mut reopened = 0;
        loop {
            let consumer = self.consumer(&partition).await?;
            match received.take(&consumer, n, deadline).await {
                Ok(()) => break,
                Err(Pull::ConsumerGone) if reopened < REOPENS => {
                    tracing::debug!(partition, "a queue partition's consumer went away");
                    self.forget_consumer(&partition).await;
                    reopened += 1;
                }
                Err(Pull::ConsumerGone) => {
                    return Err(StorageError::Unavailable(format!(
                        "taking a queue's items: the NATS server lost the partition's \
                         consumer {REOPENS} times in a row"
                    )));
                }
                Err(Pull::Failed(error)) => return Err(error),
            }
        }
        if received.is_empty() {
            return Ok(Vec::new());
        }
        // Acked items are the getter's alone: the acks run on a task of their own, which puts
        // the items back (publishes them again) if the get went away before they reached it.
        let (answer, answered) = tokio::sync::oneshot::channel();
        let (jetstream, client) = (self.jetstream.clone(), self.client.clone());
        let subject = names::partition_subject(&self.id, &partition);
        let acks = names::queue_acks(&self.id);
        tokio::spawn(async move {
            let handed = received.hand_over().await;
            if let Err(Ok(items)) = answer.send(handed) {
                tracing::debug!(items = items.len(), "a get went away: its items go back");
                let acks = client.subscribe(acks).await;
                put_back(&jetstream, acks, &subject, items).await;
            }
        });
        answered
            .await
            .map_err(|_| StorageError::Unavailable("a queue get ended without an answer".into()))?
    }

    async fn len(&self, partition: String, total: bool) -> Result<u64, StorageError> {
        if total {
            let info = self.stream.get_info().await;
            return Ok(info
                .map_err(unavailable("counting a queue's items"))?
                .state
                .messages);
        }
        let subject = names::partition_subject(&self.id, &partition);
        self.partition_len(&subject).await
    }

    async fn clear(&self, partition: String, all: bool) -> Result<(), StorageError> {
        let purged = match all {
            true => self.stream.purge().await,
            false => {
                let subject = names::partition_subject(&self.id, &partition);
                self.stream.purge().filter(subject).await
            }
        };
        purged.map_err(unavailable("clearing a queue"))?;
        Ok(())
    }

    async fn items(
        &self,
        partition: String,
        after: Option<u64>,
        limit: u32,
        wait_for: Duration,
    ) -> Result<Vec<(u64, Vec<u8>)>, StorageError> {
        let subject = names::partition_subject(&self.id, &partition);
        let limit = usize::try_from(limit.min(fnhost::MAX_PAGE)).unwrap_or(usize::MAX);
        let start = after.map_or(1, |after| after.saturating_add(1));
        if wait_for.is_zero() {
            return self.read_items(&subject, start, limit).await;
        }
        // Subscribed before reading, so a put between the two is heard.
        let puts = self.client.subscribe(subject.clone()).await;
        let mut puts = puts.map_err(unavailable("waiting for a queue's items"))?;
        let page = self.read_items(&subject, start, limit).await?;
        if !page.is_empty() {
            return Ok(page);
        }
        let _ = tokio::time::timeout(wait_for, puts.next()).await;
        self.read_items(&subject, start, limit).await
    }

    /// Up to `limit` items of `subject` from the stream's sequence `start` on.
    async fn read_items(
        &self,
        subject: &str,
        mut start: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StorageError> {
        let mut page = Vec::new();
        while page.len() < limit {
            let next = self
                .stream
                .direct_get_next_for_subject(subject, Some(start))
                .await;
            match next {
                Ok(message) => {
                    start = message.sequence + 1;
                    page.push((message.sequence, message.payload.to_vec()));
                }
                Err(error) if error.kind() == stream::DirectGetErrorKind::NotFound => break,
                Err(error) => return Err(unavailable("reading a queue's items")(error)),
            }
        }
        Ok(page)
    }
}

/// A putter's wait for room: subscribed to the queue's acks on the first wait (and the room
/// looked at again after), woken by the next ack or, at the latest, after [`ROOM_RECHECK`].
#[derive(Default)]
struct RoomWait {
    acks: Option<async_nats::Subscriber>,
}

impl RoomWait {
    /// Waits for a chance of room; `full` once `deadline` passed.
    async fn wait(
        &mut self,
        queue: &StreamQueue,
        deadline: Option<Instant>,
        full: StorageError,
    ) -> Result<(), StorageError> {
        let now = Instant::now();
        if deadline.is_some_and(|deadline| deadline <= now) {
            return Err(full);
        }
        let Some(acks) = self.acks.as_mut() else {
            let heard = queue.client.subscribe(names::queue_acks(&queue.id)).await;
            self.acks = Some(heard.map_err(unavailable("waiting for room in a queue"))?);
            return Ok(());
        };
        let until = deadline.map_or(now + ROOM_RECHECK, |d| d.min(now + ROOM_RECHECK));
        let _ = tokio::time::timeout_at(until, acks.next()).await;
        Ok(())
    }
}

/// Why a pull request brought nothing.
enum Pull {
    /// Nothing on the server answered it: the partition's consumer is gone (removed, or
    /// evicted by a racing make), and making it again lets the get go on.
    ConsumerGone,
    /// Any other failure.
    Failed(StorageError),
}

impl From<StorageError> for Pull {
    fn from(error: StorageError) -> Pull {
        Pull::Failed(error)
    }
}

/// Whether a pull's answer was NATS's "no responders" status (503). async-nats hands a
/// batch's status over only as the text of an error, `...: 503, ...`.
fn is_no_responders(error: &(dyn std::error::Error + 'static)) -> bool {
    error.to_string().contains(": 503,")
}

/// Items a get received and has not acked yet: dropped before [`Received::hand_over`], they
/// are given back (nak) so another getter takes them now.
#[derive(Default)]
struct Received {
    items: Vec<(Vec<u8>, Acker)>,
}

impl Received {
    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Takes up to `n` items, waiting until `deadline` (or without end) for the first.
    async fn take(
        &mut self,
        consumer: &PullConsumer,
        n: usize,
        deadline: Option<Instant>,
    ) -> Result<(), Pull> {
        self.take_available(consumer, n).await?;
        while self.is_empty() {
            let left = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
            let wait = left.unwrap_or(LONGEST_PULL).min(LONGEST_PULL);
            if wait < Duration::from_millis(1) {
                return Ok(());
            }
            self.wait_for_one(consumer, wait).await?;
            if !self.is_empty() && n > 1 {
                self.take_available(consumer, n - 1).await?;
            }
        }
        Ok(())
    }

    /// Takes up to `n` items waiting now, without waiting for more.
    async fn take_available(&mut self, consumer: &PullConsumer, n: usize) -> Result<(), Pull> {
        let batch = consumer.fetch().max_messages(n).messages().await;
        let batch = batch.map_err(unavailable("taking a queue's items"))?;
        self.keep(batch).await
    }

    /// Waits up to `wait` for one item.
    async fn wait_for_one(&mut self, consumer: &PullConsumer, wait: Duration) -> Result<(), Pull> {
        let batch = consumer
            .batch()
            .max_messages(1)
            .expires(wait)
            .messages()
            .await;
        let batch = batch.map_err(unavailable("taking a queue's items"))?;
        self.keep(batch).await
    }

    async fn keep(&mut self, mut batch: pull::Batch) -> Result<(), Pull> {
        while let Some(message) = batch.next().await {
            match message {
                Ok(message) => {
                    let (message, acker) = message.split();
                    self.items.push((message.payload.to_vec(), acker));
                }
                Err(_) if !self.items.is_empty() => break,
                Err(error) if is_no_responders(&*error) => return Err(Pull::ConsumerGone),
                Err(error) => return Err(unavailable("taking a queue's items")(error).into()),
            }
        }
        Ok(())
    }

    /// Acks every item and returns those acked: each is the caller's alone. Items whose ack
    /// failed are given back as `self` drops; when none was acked, the error is returned.
    async fn hand_over(mut self) -> Result<Vec<Vec<u8>>, StorageError> {
        let acks = self.items.iter().map(|(_, acker)| acker.double_ack());
        let acked = futures::future::join_all(acks).await;
        let items = std::mem::take(&mut self.items);
        let mut handed = Vec::with_capacity(items.len());
        let mut failed = None;
        for ((item, acker), ack) in items.into_iter().zip(acked) {
            match ack {
                Ok(()) => handed.push(item),
                Err(error) => {
                    failed = Some(error);
                    self.items.push((item, acker));
                }
            }
        }
        match failed {
            Some(error) if handed.is_empty() => Err(unavailable("taking a queue's items")(error)),
            _ => Ok(handed),
        }
    }
}

impl Drop for Received {
    fn drop(&mut self) {
        if self.items.is_empty() {
            return;
        }
        let items = std::mem::take(&mut self.items);
        tracing::debug!(items = items.len(), "a get went away: its items go back");
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                for (_, acker) in items {
                    let _ = acker.ack_with(AckKind::Nak(None)).await;
                }
            });
        }
    }
}

/// Publishes `items` taken from `subject` again, to live the longest a partition may: what a
/// get acked but could not hand over (their own time to live is not known any more). A full
/// partition is waited on, as a blocking put waits: the items were the queue's, and stay.
async fn put_back(
    jetstream: &jetstream::Context,
    acks: Result<async_nats::Subscriber, async_nats::SubscribeError>,
    subject: &str,
    items: Vec<Vec<u8>>,
) {
    let mut acks = acks.ok();
    for item in items {
        loop {
            let message = PublishMessage::build()
                .payload(item.clone().into())
                .ttl(fnhost::MAX_PARTITION_TTL);
            let sent = jetstream.send_publish(subject.to_owned(), message).await;
            let stored = match sent {
                Ok(ack) => ack.await.map_err(refused_put),
                Err(error) => Err(refused_put(error)),
            };
            match (stored, acks.as_mut()) {
                (Ok(_), _) => break,
                (Err(StorageError::Full(_)), Some(acks)) => {
                    let _ = tokio::time::timeout(ROOM_RECHECK, acks.next()).await;
                }
                (Err(error), _) => {
                    tracing::warn!(%subject, %error, "an item taken by a get that went away is lost");
                    break;
                }
            }
        }
    }
}

/// A put the server refused: `full` when the partition has no room, else `unavailable`.
fn refused_put(error: jetstream::context::PublishError) -> StorageError {
    let message = error.to_string();
    if message.contains("maximum messages per subject") {
        return StorageError::Full(format!(
            "the partition holds {MAX_PARTITION_ITEMS} items, the most it holds"
        ));
    }
    if error.kind() == jetstream::context::PublishErrorKind::MaxPayloadExceeded {
        return StorageError::TooLarge(format!("an item: {message}"));
    }
    unavailable("putting a queue's items")(message)
}

impl RemoteQueue for StreamQueue {
    fn id(&self) -> &str {
        &self.id
    }

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn put(
        &self,
        items: Vec<Vec<u8>>,
        partition: String,
        ttl: Duration,
        timeout: Option<Duration>,
    ) -> RemoteFuture<'_, ()> {
        Box::pin(StreamQueue::put(self, items, partition, ttl, timeout))
    }

    fn get(
        &self,
        n: u32,
        partition: String,
        timeout: Option<Duration>,
    ) -> RemoteFuture<'_, Vec<Vec<u8>>> {
        Box::pin(StreamQueue::get(self, n, partition, timeout))
    }

    fn len(&self, partition: String, total: bool) -> RemoteFuture<'_, u64> {
        Box::pin(StreamQueue::len(self, partition, total))
    }

    fn clear(&self, partition: String, all: bool) -> RemoteFuture<'_, ()> {
        Box::pin(StreamQueue::clear(self, partition, all))
    }

    fn items(
        &self,
        partition: String,
        after: Option<u64>,
        limit: u32,
        wait_for: Duration,
    ) -> RemoteFuture<'_, Vec<(u64, Vec<u8>)>> {
        Box::pin(StreamQueue::items(self, partition, after, limit, wait_for))
    }
}

impl Drop for StreamQueue {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let (jetstream, stream) = (self.jetstream.clone(), names::queue_stream(&self.id));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = jetstream.delete_stream(&stream).await {
                    tracing::warn!(%stream, %error, "an ephemeral queue stays on the NATS server");
                }
            });
        }
    }
}
