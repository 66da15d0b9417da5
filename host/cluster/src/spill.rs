//! Spilled calls: a call that finds its local pool full (every container it may have busy) is
//! offered to the other hosts over NATS request/reply, and a host with room runs it.
//!
//! Every host serves `fnhost.call.<app>` in one queue group, so NATS hands each request to
//! one host. A host answers at once that it is busy when it has no room for the function
//! (or the request is its own): the caller then asks again, at most [`ATTEMPTS`] times, and
//! keeps the call in its own queue when no host took it, when no host serves the cluster, or
//! when NATS is not connected. So `max_containers` keeps its meaning on every host: a host
//! takes a spilled call only into a free place, never into its queue.
//!
//! A caller that stops waiting (cancelled, gone) has the call cancelled on the host running
//! it, by id. The reply carries the outcome's bytes (see `wire`).
//!
//! Invariant: a spilled call is answered once — by the other host's reply, by a timeout, or
//! by its own pool after `run_here` — and never travels twice (`Function::accept`).

use crate::Shared;
use crate::names::{CALL_SUBJECTS, QUEUE_GROUP, call_subject, cancel_subject};
use crate::wire::{CallHeaders, busy, decode_outcome, encode_outcome, is_busy};
use async_nats::RequestErrorKind;
use async_nats::connection::State;
use bytes::Bytes;
use fnhost::{ArrivedCall, Error, OfferedCall, Offload};
use futures::StreamExt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tracing::Instrument;

/// How many hosts a spilled call is offered to before it queues at home.
pub(crate) const ATTEMPTS: usize = 3;

/// How much longer than the call's own time (its attempts' timeouts) a caller waits for the
/// other host's reply before giving up on it.
const REPLY_MARGIN: Duration = Duration::from_secs(10);

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

/// Offers `call` to the other hosts until one takes it; else runs it here.
async fn forward(shared: Arc<Shared>, mut call: OfferedCall) {
    let headers = CallHeaders {
        app: call.app().to_owned(),
        function: call.function().to_owned(),
        id: call.id(),
        depth: call.depth(),
        timeout: Some(call.timeout()),
        retries: Some(call.retries()),
        from: shared.name.clone(),
    }
    .encode(false);
    let wait = call
        .timeout()
        .saturating_mul(call.retries().saturating_add(1))
        .saturating_add(REPLY_MARGIN);
    let args = Bytes::copy_from_slice(call.args());
    let subject = call_subject(call.app());
    for _ in 0..ATTEMPTS {
        let request = async_nats::Request::new()
            .headers(headers.clone())
            .payload(args.clone())
            .timeout(Some(wait));
        let reply = tokio::select! {
            reply = shared.client.send_request(subject.clone(), request) => reply,
            () = call.abandoned() => {
                cancel_elsewhere(&shared, &call).await;
                return;
            }
        };
        match reply {
            Ok(reply) if is_busy(reply.headers.as_ref()) => continue,
            Ok(reply) => {
                shared.counters.spilled.fetch_add(1, Ordering::Relaxed);
                call.answer(decode_outcome(&reply.payload));
                return;
            }
            Err(error) if error.kind() == RequestErrorKind::TimedOut => {
                cancel_elsewhere(&shared, &call).await;
                let error = Error::Timeout(format!(
                    "`{}`: the host it spilled to did not answer within {wait:?}",
                    call.function()
                ));
                call.answer(Err(error));
                return;
            }
            Err(error) => {
                tracing::debug!(%error, "no host took the call");
                break;
            }
        }
    }
    call.run_here();
}

/// Tells the cluster that the call is cancelled (the host running it stops it).
async fn cancel_elsewhere(shared: &Shared, call: &OfferedCall) {
    let _ = shared
        .client
        .publish(cancel_subject(call.id()), Bytes::new())
        .await;
}

/// Serves the calls other hosts spill, for as long as the host is in the cluster (the
/// subscription survives reconnections: the client makes it again).
pub(crate) async fn serve(shared: Arc<Shared>) {
    let mut requests = match shared
        .client
        .queue_subscribe(CALL_SUBJECTS, QUEUE_GROUP.into())
        .await
    {
        Ok(requests) => requests,
        Err(error) => {
            tracing::error!(%error, "cannot take spilled calls");
            return;
        }
    };
    while let Some(request) = requests.next().await {
        let Some(reply) = request.reply.clone() else {
            continue;
        };
        let call = match CallHeaders::decode(request.headers.as_ref()) {
            Ok(call) => call,
            Err(reason) => {
                answer(
                    &shared.client,
                    reply,
                    None,
                    Err(Error::BadArguments(reason)),
                )
                .await;
                continue;
            }
        };
        let function = match shared
            .host
            .function(&format!("{}/{}", call.app, call.function))
        {
            Ok(function) => function,
            Err(error) => {
                answer(&shared.client, reply, None, Err(error)).await;
                continue;
            }
        };
        if call.from == shared.name || !function.has_room() {
            answer(&shared.client, reply, Some(busy()), Ok(Vec::new())).await;
            continue;
        }
        let shared = Arc::clone(&shared);
        let span = tracing::debug_span!("spilled", call_id = %call.id, app = %call.app, function = %call.function, from = %call.from);
        let run = async move {
            let Some((_entry, cancelled)) = shared.running.start(call.id) else {
                return;
            };
            shared.counters.taken.fetch_add(1, Ordering::Relaxed);
            let arrived = ArrivedCall {
                id: call.id,
                args: request.payload.to_vec(),
                depth: call.depth,
                timeout: call.timeout,
                retries: call.retries,
            };
            let outcome = tokio::select! {
                outcome = function.accept(arrived) => outcome,
                // The caller stopped waiting: nobody reads the reply.
                _ = cancelled => return,
            };
            answer(&shared.client, reply, None, outcome).await;
        };
        tokio::spawn(run.instrument(span));
    }
}

/// Sends a spilled call's reply.
async fn answer(
    client: &async_nats::Client,
    reply: async_nats::Subject,
    headers: Option<async_nats::HeaderMap>,
    outcome: Result<Vec<u8>, Error>,
) {
    let bytes = encode_outcome(&outcome).into();
    let sent = match headers {
        Some(headers) => client.publish_with_headers(reply, headers, bytes).await,
        None => client.publish(reply, bytes).await,
    };
    if let Err(error) = sent {
        tracing::debug!(%error, "cannot answer a spilled call");
    }
}
