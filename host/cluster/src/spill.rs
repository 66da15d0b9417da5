//! Spilled calls: a call that finds its local pool full (every container it may have busy) is
//! offered to the other hosts over NATS, and a host with room runs it.
//!
//! Every host serves `fnhost.call.<app>` in one queue group, so NATS hands each offer to one
//! host, never to the offering host itself (the connection does not echo: see `lib`). The
//! offer names a reply subject of the caller's (`fnhost.reply.<host>.<call id>`), where the
//! other host answers, in order (`wire::Reply`):
//! - `busy` at once when it has no room for the function: the caller offers the call again, at
//!   most [`ATTEMPTS`] times, then keeps it in its own queue. So `max_containers` keeps its
//!   meaning on every host: a host takes a spilled call only into a free place, never into its
//!   queue.
//! - `done` with the outcome, when the call ends within [`ACCEPT_WAIT`]'s first quarter (one
//!   message each way, as a request and its reply); else `accepted` then, `running` every
//!   [`HEARTBEAT`] while the call runs, and `done`. A caller that hears nothing for
//!   [`LOST_AFTER`] takes the other host for dead and runs the call itself (so a spilled call
//!   may run twice: at-least-once, like every call that survives a lost host).
//!
//! No answer to an offer within [`ACCEPT_WAIT`] means no other host serves the cluster: the
//! call queues at home, as it does when NATS is not connected. A caller that stops waiting
//! (cancelled, gone) has the call cancelled on the host running it, by id.
//!
//! Invariant: a spilled call is answered once — by the other host's outcome, or by its own
//! pool after `run_here` — and never travels twice (`Function::accept`).

use crate::Shared;
use crate::names::{CALL_SUBJECTS, QUEUE_GROUP, call_subject, cancel_subject, reply_subject};
use crate::wire::{CallHeaders, Reply, decode_outcome, encode_outcome};
use async_nats::connection::State;
use async_nats::{Client, HeaderMap, Message, Subject};
use bytes::Bytes;
use fnhost::{ArrivedCall, CallId, Error, OfferedCall, Offload};
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::Instrument;

/// How many hosts a spilled call is offered to before it queues at home.
pub(crate) const ATTEMPTS: usize = 3;
/// How long an offer waits for `busy` or `accepted`.
pub(crate) const ACCEPT_WAIT: Duration = Duration::from_secs(1);
/// How often a host running a spilled call says so.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(1);
/// How long a caller hears nothing before it takes the other host for dead.
pub(crate) const LOST_AFTER: Duration = Duration::from_secs(3);

/// The replies to this host's spilled calls, by call id: where each goes.
#[derive(Default)]
pub(crate) struct Replies {
    waiting: Mutex<HashMap<CallId, mpsc::UnboundedSender<Message>>>,
}

impl Replies {
    fn lock(&self) -> MutexGuard<'_, HashMap<CallId, mpsc::UnboundedSender<Message>>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands a reply to the call it answers.
    pub(crate) fn heard(&self, message: Message) {
        let id = message
            .subject
            .rsplit('.')
            .next()
            .and_then(|id| id.parse().ok());
        if let Some(sender) = id.and_then(|id: CallId| self.lock().get(&id).cloned()) {
            let _ = sender.send(message);
        }
    }
}

/// A call's place among the replies: removed when dropped.
struct Waiting<'a> {
    replies: &'a Replies,
    id: CallId,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.replies.lock().remove(&self.id);
    }
}

/// The host's offload: sends full pools' calls to the cluster.
pub(crate) struct Spill {
    pub(crate) shared: Weak<Shared>,
}

impl Offload for Spill {
    fn offer(&self, call: OfferedCall) {
        match self.shared.upgrade() {
            Some(shared) if shared.client.connection_state() == State::Connected => {
                let span = tracing::debug_span!("spill", call_id = %call.id(), app = %call.app(), function = %call.function());
                tokio::spawn(forward(shared, call).instrument(span));
            }
            _ => call.run_here(),
        }
    }
}

/// What became of an offer.
enum Offered {
    /// A host answered it already.
    Done(Message),
    /// A host took it.
    Taken,
    /// The host asked had no room.
    Busy,
    /// Nobody answered: no other host serves the cluster now.
    Unanswered,
}

/// Offers `call` to the other hosts until one takes it, and waits for its outcome; else runs
/// it here.
async fn forward(shared: Arc<Shared>, mut call: OfferedCall) {
    let id = call.id();
    let (sender, mut replies) = mpsc::unbounded_channel();
    shared.replies.lock().insert(id, sender);
    let _waiting = Waiting {
        replies: &shared.replies,
        id,
    };
    let headers = CallHeaders {
        app: call.app().to_owned(),
        function: call.function().to_owned(),
        id,
        depth: call.depth(),
        timeout: Some(call.timeout()),
        retries: Some(call.retries()),
        from: shared.name.clone(),
    }
    .encode(false);
    let args = Bytes::copy_from_slice(call.args());
    let subject = call_subject(call.app());
    let reply = reply_subject(&shared.name, id);
    let mut taken = false;
    for _ in 0..ATTEMPTS {
        let offer = async {
            shared
                .client
                .publish_with_reply_and_headers(
                    subject.clone(),
                    reply.clone(),
                    headers.clone(),
                    args.clone(),
                )
                .await
                .map_err(|error| error.to_string())?;
            let answer = tokio::time::timeout(ACCEPT_WAIT, replies.recv()).await;
            Ok::<_, String>(match answer {
                Ok(Some(message)) => match Reply::decode(message.headers.as_ref()) {
                    Some(Reply::Busy) => Offered::Busy,
                    Some(Reply::Done) => Offered::Done(message),
                    _ => Offered::Taken,
                },
                _ => Offered::Unanswered,
            })
        };
        match offer.await {
            Ok(Offered::Done(message)) => {
                shared.counters.spilled.fetch_add(1, Ordering::Relaxed);
                return call.answer(decode_outcome(&message.payload));
            }
            Ok(Offered::Taken) => {
                taken = true;
                break;
            }
            Ok(Offered::Busy) => continue,
            Ok(Offered::Unanswered) => break,
            Err(error) => {
                tracing::debug!(%error, "cannot offer the call");
                break;
            }
        }
    }
    if !taken {
        return call.run_here();
    }
    loop {
        let heard = tokio::select! {
            heard = tokio::time::timeout(LOST_AFTER, replies.recv()) => heard,
            () = call.abandoned() => {
                let _ = shared.client.publish(cancel_subject(id), Bytes::new()).await;
                return;
            }
        };
        match heard {
            Ok(Some(message)) => {
                if Reply::decode(message.headers.as_ref()) == Some(Reply::Done) {
                    shared.counters.spilled.fetch_add(1, Ordering::Relaxed);
                    return call.answer(decode_outcome(&message.payload));
                }
            }
            // The other host went silent: it is gone (or NATS is); the call runs here.
            _ => {
                tracing::info!("the host running a spilled call went silent: running it here");
                let _ = shared
                    .client
                    .publish(cancel_subject(id), Bytes::new())
                    .await;
                return call.run_here();
            }
        }
    }
}

/// Serves the calls other hosts spill, for as long as the host is in the cluster (the
/// subscription survives reconnections: the client makes it again).
pub(crate) async fn serve(shared: Arc<Shared>) {
    let mut offers = match shared
        .client
        .queue_subscribe(CALL_SUBJECTS, QUEUE_GROUP.into())
        .await
    {
        Ok(offers) => offers,
        Err(error) => {
            tracing::error!(%error, "cannot take spilled calls");
            return;
        }
    };
    while let Some(offer) = offers.next().await {
        let Some(reply) = offer.reply.clone() else {
            continue;
        };
        let client = &shared.client;
        let call = match CallHeaders::decode(offer.headers.as_ref()) {
            Ok(call) => call,
            Err(reason) => {
                done(client, reply, Err(Error::BadArguments(reason))).await;
                continue;
            }
        };
        let function = match shared
            .host
            .function(&format!("{}/{}", call.app, call.function))
        {
            Ok(function) => function,
            Err(error) => {
                done(client, reply, Err(error)).await;
                continue;
            }
        };
        if call.from == shared.name || !function.has_room() {
            say(client, reply, Reply::Busy).await;
            continue;
        }
        let shared = Arc::clone(&shared);
        let span = tracing::debug_span!("spilled", call_id = %call.id, app = %call.app, function = %call.function, from = %call.from);
        let run = async move {
            let Some((_entry, mut cancelled)) = shared.running.start(call.id) else {
                return;
            };
            shared.counters.taken.fetch_add(1, Ordering::Relaxed);
            let arrived = ArrivedCall {
                id: call.id,
                args: offer.payload.to_vec(),
                depth: call.depth,
                timeout: call.timeout,
                retries: call.retries,
            };
            let running = function.accept(arrived);
            tokio::pin!(running);
            // A quick call is answered with its outcome alone; a longer one is accepted, then
            // told alive every beat. (The first tick is set in the future: an interval's
            // immediate first tick would wait for the timer's next turn, up to a millisecond.)
            let first = ACCEPT_WAIT / 4;
            let mut heartbeat =
                tokio::time::interval_at(tokio::time::Instant::now() + first, HEARTBEAT);
            let mut said = Reply::Accepted;
            let outcome = loop {
                tokio::select! {
                    outcome = &mut running => break outcome,
                    _ = heartbeat.tick() => {
                        say(&shared.client, reply.clone(), said).await;
                        said = Reply::Running;
                    }
                    // The caller stopped waiting: nobody reads the reply.
                    _ = &mut cancelled => return,
                }
            };
            done(&shared.client, reply, outcome).await;
        };
        tokio::spawn(run.instrument(span));
    }
}

/// Sends `reply` (without an outcome).
async fn say(client: &Client, to: Subject, reply: Reply) {
    send(client, to, reply.encode(), Bytes::new()).await;
}

/// Sends a spilled call's outcome.
async fn done(client: &Client, to: Subject, outcome: Result<Vec<u8>, Error>) {
    send(
        client,
        to,
        Reply::Done.encode(),
        encode_outcome(&outcome).into(),
    )
    .await;
}

async fn send(client: &Client, to: Subject, headers: HeaderMap, payload: Bytes) {
    if let Err(error) = client.publish_with_headers(to, headers, payload).await {
        tracing::debug!(%error, "cannot answer a spilled call");
    }
}
