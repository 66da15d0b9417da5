//! Durable spawned calls: stored in a JetStream stream before `spawn` returns, taken by any
//! host, acked only once their outcome is stored.
//!
//! The stream has work-queue retention and one durable pull consumer per app, which every host
//! that has the app deployed pulls from, so each stored call goes to one host at a time, and
//! only to a host that can run it: a host without the app never takes (and puts back) its
//! calls, which would count as deliveries, as hosts lost. A host holds at most
//! `max_spawned_in_flight` calls; while one runs it tells the server it is making progress
//! every third of the ack wait, so a call runs as long as its function allows, and a host
//! that dies stops telling: its calls go to another host after one ack wait. Redelivery counts
//! against the function's retries (every call survives one lost host, even with no retries):
//! a call whose hosts keep dying ends with an error stored, never loops. The call id is the message id, so a resubmission within the duplicate window
//! is stored once.
//!
//! Invariants: a call is acked only after its outcome is stored (or it was cancelled, whose
//! outcome the canceller stored); execution is at-least-once, outcomes exactly-once per id
//! (see `results`).

use crate::Shared;
use crate::names::{SPAWN_STREAM, SPAWN_SUBJECTS, spawn_subject, spawns_of, workers};
use crate::wire::CallHeaders;
use async_nats::connection::State;
use async_nats::jetstream::consumer::{AckPolicy, pull};
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::{AckKind, Message};
use async_nats::jetstream::stream::{self, StorageType};
use fnhost::{ArrivedCall, CallId, Error};
use futures::StreamExt;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::{AbortHandle, JoinSet};
use tracing::Instrument;

/// How long a function not deployed here (yet) is given before its call fails: the call is
/// put back this long, this many times.
const UNKNOWN_DELAY: Duration = Duration::from_secs(1);
const UNKNOWN_TRIES: i64 = 5;

/// How long the worker waits before pulling again after its pull ended.
const REPULL_DELAY: Duration = Duration::from_millis(500);

/// The stream's configuration: calls kept until acked, for at most `retention`, at most
/// `max_waiting` of them (past it a spawn is refused: a flood costs bounded disk); duplicates
/// within two minutes dropped.
pub(crate) fn stream_config(retention: Duration, max_waiting: usize) -> stream::Config {
    stream::Config {
        name: SPAWN_STREAM.into(),
        description: Some("fnhost: spawned calls waiting for a host".into()),
        subjects: vec![SPAWN_SUBJECTS.into()],
        retention: stream::RetentionPolicy::WorkQueue,
        storage: StorageType::File,
        max_age: retention,
        max_messages: i64::try_from(max_waiting).unwrap_or(i64::MAX),
        discard: stream::DiscardPolicy::New,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    }
}

/// The consumer of `app`'s calls, which every host that has the app pulls from. JetStream
/// removes it after a day without a pull (the app undeployed everywhere); its calls stay in
/// the stream for the next.
pub(crate) fn consumer_config(app: &str, ack_wait: Duration) -> pull::Config {
    pull::Config {
        durable_name: Some(workers(app)),
        description: Some(format!("fnhost: the hosts taking spawned calls of `{app}`")),
        filter_subject: spawns_of(app),
        ack_policy: AckPolicy::Explicit,
        ack_wait,
        // Unbounded: a host counts deliveries against the function's retries itself.
        max_deliver: -1,
        max_ack_pending: 100_000,
        inactive_threshold: CONSUMER_IDLE,
        ..Default::default()
    }
}

/// How long an app's consumer lives with nobody pulling.
const CONSUMER_IDLE: Duration = Duration::from_secs(24 * 60 * 60);

/// Stores a call of `app/function` with `args` in the stream; returns once the server has it.
pub(crate) async fn spawn(
    shared: &Shared,
    app: &str,
    function: &str,
    args: Vec<u8>,
) -> Result<CallId, Error> {
    let id = CallId::mint();
    store(shared, app, function, args, id).await.map(|_| id)
}

/// Stores the call `id` of `app/function` with `args` in the stream, unless a call of that
/// id was stored within the duplicate window: true when this call stored it.
pub(crate) async fn store(
    shared: &Shared,
    app: &str,
    function: &str,
    args: Vec<u8>,
    id: CallId,
) -> Result<bool, Error> {
    if shared.client.connection_state() != State::Connected {
        return Err(unavailable("the NATS server is not connected"));
    }
    // Checked here, where the caller hears it: the app and function exist, the arguments fit.
    shared.host.function(&format!("{app}/{function}"))?;
    let headers = CallHeaders {
        app: app.to_owned(),
        function: function.to_owned(),
        id,
        depth: 0,
        timeout: None,
        retries: None,
        from: shared.name.clone(),
    }
    .encode(true);
    let publish = async {
        let ack = shared
            .jetstream
            .publish_with_headers(spawn_subject(app, id), headers, args.into())
            .await
            .map_err(|error| match error.kind() {
                PublishErrorKind::MaxPayloadExceeded => Error::Payload(format!(
                    "the arguments are larger than the NATS server's max_payload: {error}"
                )),
                _ => unavailable(&error.to_string()),
            })?;
        ack.await.map_err(|error| unavailable(&error.to_string()))
    };
    match tokio::time::timeout(shared.settings.request_timeout, publish).await {
        Ok(Ok(ack)) if ack.duplicate => Ok(false),
        Ok(Ok(_)) => {
            shared.counters.spawned.fetch_add(1, Ordering::Relaxed);
            Ok(true)
        }
        Ok(Err(error)) => Err(error),
        Err(_) => Err(unavailable(&format!(
            "the NATS server did not store the call within {:?}",
            shared.settings.request_timeout
        ))),
    }
}

/// The error of a spawn the cluster cannot take now.
fn unavailable(why: &str) -> Error {
    Error::Overloaded(format!("the cluster cannot take spawned calls now: {why}"))
}

/// Takes the spawned calls of the apps deployed here and runs them, for as long as the host is
/// in the cluster: one pull per app, started when the app is deployed here and stopped when it
/// is undeployed. The host's `max_spawned_in_flight` is shared by all of them.
pub(crate) async fn work(shared: Arc<Shared>) {
    let room = Arc::new(Semaphore::new(shared.settings.max_spawned_in_flight));
    let mut deployed = shared.host.deployed_names();
    // Dropped with this task (the cluster left): every pull stops.
    let mut pulls = JoinSet::new();
    let mut pulling: HashMap<String, AbortHandle> = HashMap::new();
    loop {
        let apps = deployed.borrow_and_update().clone();
        pulling.retain(|app, pull| {
            let kept = apps.contains(app);
            if !kept {
                pull.abort();
            }
            kept
        });
        for app in apps {
            if let Entry::Vacant(vacant) = pulling.entry(app) {
                let app = vacant.key().clone();
                vacant.insert(pulls.spawn(pull(Arc::clone(&shared), app, Arc::clone(&room))));
            }
        }
        while pulls.try_join_next().is_some() {}
        if deployed.changed().await.is_err() {
            return;
        }
    }
}

/// Takes `app`'s spawned calls from its consumer and runs them; the pull is made again
/// whenever it ends (NATS restarted, the connection dropped, the consumer deleted).
async fn pull(shared: Arc<Shared>, app: String, room: Arc<Semaphore>) {
    loop {
        let consumer = shared
            .spawns
            .get_or_create_consumer(
                &workers(&app),
                consumer_config(&app, shared.settings.ack_wait),
            )
            .await;
        match consumer {
            Ok(consumer) => match consumer
                .stream()
                .max_messages_per_batch(64.min(shared.settings.max_spawned_in_flight))
                .messages()
                .await
            {
                Ok(mut messages) => loop {
                    let Ok(permit) = Arc::clone(&room).acquire_owned().await else {
                        return;
                    };
                    match messages.next().await {
                        Some(Ok(message)) => {
                            tokio::spawn(run(Arc::clone(&shared), message, permit));
                        }
                        Some(Err(error)) => {
                            tracing::debug!(%error, %app, "pulling spawned calls");
                            if matches!(
                                error.kind(),
                                pull::MessagesErrorKind::ConsumerDeleted
                                    | pull::MessagesErrorKind::NoResponders
                            ) {
                                break;
                            }
                        }
                        None => break,
                    }
                },
                Err(error) => tracing::debug!(%error, %app, "cannot pull spawned calls"),
            },
            Err(error) => tracing::debug!(%error, %app, "cannot open the app's workers' consumer"),
        }
        tokio::time::sleep(REPULL_DELAY).await;
    }
}

/// Runs one spawned call, telling progress while it runs; stores its outcome, then acks.
async fn run(shared: Arc<Shared>, message: Message, _permit: OwnedSemaphorePermit) {
    let call = match CallHeaders::decode(message.headers.as_ref()) {
        Ok(call) => call,
        Err(reason) => {
            tracing::warn!(%reason, subject = %message.subject, "dropping a malformed spawned call");
            let _ = message.ack_with(AckKind::Term).await;
            return;
        }
    };
    let delivered = message.info().map_or(1, |info| info.delivered);
    let span = tracing::info_span!("spawned", call_id = %call.id, app = %call.app, function = %call.function, delivered);
    run_call(&shared, &message, call, delivered)
        .instrument(span)
        .await;
}

/// Runs the spawned call `call`, delivered for the `delivered`th time.
async fn run_call(shared: &Shared, message: &Message, call: CallHeaders, delivered: i64) {
    let Some((_entry, mut cancelled)) = shared.running.start(call.id) else {
        // Cancelled before it started: the canceller stored its outcome.
        let _ = message.ack().await;
        return;
    };
    let function = match shared
        .host
        .function(&format!("{}/{}", call.app, call.function))
    {
        Ok(function) => function,
        Err(error) if delivered < UNKNOWN_TRIES => {
            // The app may not be deployed here yet: put the call back for a while.
            tracing::debug!(%error, "not here yet: putting the call back");
            let _ = message.ack_with(AckKind::Nak(Some(UNKNOWN_DELAY))).await;
            return;
        }
        Err(error) => return finish(shared, message, &call, Err(error)).await,
    };
    let retries = call.retries.unwrap_or(function.info().config.retries);
    // Each delivery after the first is a host lost while running the call: a retry spent,
    // though every call survives one lost host whatever its retries.
    let lost = u32::try_from(delivered - 1).unwrap_or(u32::MAX);
    if lost > retries.max(1) {
        let error = Error::Trapped(format!(
            "`{}`: the hosts running the call went away {lost} times (retries: {retries})",
            call.function
        ));
        return finish(shared, message, &call, Err(error)).await;
    }
    shared.counters.taken.fetch_add(1, Ordering::Relaxed);
    let arrived = ArrivedCall {
        id: call.id,
        args: message.payload.to_vec(),
        depth: 0,
        timeout: call.timeout,
        retries: Some(retries.saturating_sub(lost)),
    };
    let running = function.accept(arrived);
    tokio::pin!(running);
    let every = shared.settings.ack_wait / 3;
    let mut progress = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let mut leaving = shared.leaving.subscribe();
    let outcome = loop {
        tokio::select! {
            outcome = &mut running => break outcome,
            _ = progress.tick() => {
                let _ = message.ack_with(AckKind::Progress).await;
            }
            _ = &mut cancelled => {
                // The canceller stored the outcome; the input stops as `running` drops.
                let _ = message.ack().await;
                return;
            }
            () = async { let _ = leaving.wait_for(|leaving| *leaving).await; } => {
                // This host leaves: the call goes to another host at once.
                let _ = message.ack_with(AckKind::Nak(None)).await;
                return;
            }
        }
    };
    finish(shared, message, &call, outcome).await;
}

/// Stores the outcome of `call` (unless one is stored), then acks its message. When the
/// outcome cannot be stored the message is not acked: it comes back after the ack wait.
async fn finish(
    shared: &Shared,
    message: &Message,
    call: &CallHeaders,
    outcome: Result<Vec<u8>, Error>,
) {
    match shared.results.store(call.id, &call.app, &outcome).await {
        Ok(_) => {
            if let Err(error) = message.ack().await {
                tracing::debug!(%error, "cannot ack a finished call");
            }
        }
        Err(error) => tracing::warn!(%error, "cannot store an outcome; the call will run again"),
    }
}
