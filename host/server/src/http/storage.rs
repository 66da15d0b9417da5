//! Dicts and queues over HTTP: `/v1/dicts/...` and `/v1/queues/...` (docs/server.md), on the
//! host's store, the same objects guests reach.
//!
//! Keys are JSON, so operations on a key take it in a JSON body (`POST .../get {"key": K}`)
//! rather than in the path. An object is named in the path by its name or by its id (no name
//! has an id's shape); an ephemeral one, made by a `POST` to the collection, by its id only. Invariant: a store error keeps its kind (`not-found` 404, `invalid`
//! 400, `too-large` 413, `full` 429, `unavailable` 503), and a value is answered as the JSON it
//! was stored as.

use crate::context::Context;
use crate::ephemeral::{LEASE, MAX_LEASES, TooMany};
use crate::http::ApiError;
use crate::http::extract::{Params, QueryParams, read_json};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use fnhost::{Dict, MAX_VALUE_BYTES, ObjectKind, Queue, Storage, StorageError};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// A body: one value at its cap, and room for what is around it.
const BODY_CAP: u64 = MAX_VALUE_BYTES as u64 + (64 << 10);
/// The longest a queue get or put waits over HTTP.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// How a JSON answer of stored bytes is made: they are JSON already.
pub(crate) type Answer = Result<Response, ApiError>;

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        let message = error.to_string();
        match error {
            StorageError::NotFound(_) => ApiError::not_found(message),
            StorageError::Invalid(_) => ApiError::bad_request(message),
            StorageError::TooLarge(_) => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload", message)
            }
            StorageError::Full(_) => ApiError::new(StatusCode::TOO_MANY_REQUESTS, "full", message),
            StorageError::Unavailable(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            }
        }
    }
}

/// The host's store, opened now if it was not.
pub(crate) fn store(context: &Context) -> Result<Storage, ApiError> {
    Ok(context.host.storage()?)
}

/// The body as a `T`, refused as `bad-arguments` when it does not fit.
async fn body<T: DeserializeOwned>(headers: &HeaderMap, body: Body) -> Result<T, ApiError> {
    let value = read_json(headers, body, BODY_CAP)
        .await?
        .unwrap_or(Value::Null);
    serde_json::from_value(value)
        .map_err(|error| ApiError::bad_arguments(format!("bad body: {error}")))
}

/// Encodes a JSON value given in a body for the store.
fn bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("a JSON value encodes")
}

/// Stored JSON bytes as a value of an answer.
fn stored(bytes: &[u8]) -> Result<Box<RawValue>, ApiError> {
    let text = String::from_utf8(bytes.to_vec())
        .map_err(|_| ApiError::internal("a stored value is not UTF-8"))?;
    RawValue::from_string(text).map_err(|_| ApiError::internal("a stored value is not JSON"))
}

/// `value` as a JSON answer (200).
pub(crate) fn answer(value: impl serde::Serialize) -> Answer {
    Ok(axum::Json(value).into_response())
}

// --- dicts -----------------------------------------------------------------------------------

/// `GET /v1/dicts`: the named dicts.
pub(crate) async fn list_dicts(State(context): State<Arc<Context>>) -> Answer {
    answer(json!({"dicts": store(&context)?.names(ObjectKind::Dict).await?}))
}

/// The dict `reference` names: its name, or its id (made when a missing name and `create`).
async fn dict(context: &Context, reference: &str, create: bool) -> Result<Dict, ApiError> {
    let store = store(context)?;
    Ok(if ObjectKind::Dict.is_id(reference) {
        store.dict_from_id(reference).await?
    } else {
        store.dict(reference, create).await?
    })
}

/// `POST /v1/dicts`: a new ephemeral dict, held for the client while it sends heartbeats:
/// `201 {"id", "lease_secs"}`.
pub(crate) async fn ephemeral_dict(State(context): State<Arc<Context>>) -> Answer {
    let dict = store(&context)?.ephemeral_dict().await?;
    let id = dict.id().to_string();
    hold(&context, id, dict)
}

/// `GET /v1/dicts/{name}`: its name (`null` for an ephemeral one), id and length.
pub(crate) async fn describe_dict(
    State(context): State<Arc<Context>>,
    Params(reference): Params<String>,
) -> Answer {
    let dict = dict(&context, &reference, false).await?;
    answer(json!({"name": dict.name(), "id": dict.id(), "len": dict.len().await?}))
}

/// `DELETE /v1/dicts/{name}`.
pub(crate) async fn delete_dict(
    State(context): State<Arc<Context>>,
    Params(reference): Params<String>,
) -> Answer {
    delete(&context, ObjectKind::Dict, &reference).await
}

/// Holds an ephemeral object made for a client: `201 {"id", "lease_secs"}`.
fn hold(context: &Context, id: String, handle: impl Send + 'static) -> Answer {
    context
        .ephemeral
        .hold(id.clone(), handle)
        .map_err(|TooMany| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "full",
                format!("the server holds {MAX_LEASES} ephemeral objects already: remove some"),
            )
        })?;
    let lease = json!({"id": id, "lease_secs": LEASE.as_secs()});
    Ok((StatusCode::CREATED, axum::Json(lease)).into_response())
}

/// `POST /v1/{dicts,queues}/{id}/heartbeat`: renews the lease of an ephemeral object the
/// server holds: `204`, or `not-found` once it ended.
pub(crate) async fn heartbeat(
    State(context): State<Arc<Context>>,
    Params(id): Params<String>,
) -> Answer {
    if !context.ephemeral.renew(&id) {
        return Err(no_lease(&id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn no_lease(id: &str) -> ApiError {
    ApiError::not_found(format!(
        "the server holds no ephemeral object `{id}`: it was removed, or its lease ended \
         without a heartbeat"
    ))
}

/// Removes the object of `kind` that `reference` names: a name, or the id of an ephemeral
/// object the server holds. `204`, or `not-found`.
pub(crate) async fn delete(context: &Context, kind: ObjectKind, reference: &str) -> Answer {
    if kind.is_id(reference) {
        if !context.ephemeral.release(reference) {
            return Err(no_lease(reference));
        }
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let name = reference;
    if !store(context)?.delete(kind, name).await? {
        return Err(ApiError::not_found(format!(
            "no {} named `{name}`",
            kind.word()
        )));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyBody {
    key: Value,
}

/// `POST /v1/dicts/{name}/get {"key": K}`: `{"found": bool, "value": V}`.
pub(crate) async fn dict_get(
    State(context): State<Arc<Context>>,
    Params(name): Params<String>,
    headers: HeaderMap,
    request: Body,
) -> Answer {
    let KeyBody { key } = body(&headers, request).await?;
    let found = dict(&context, &name, false)
        .await?
        .get(&bytes(&key))
        .await?;
    found_answer(found)
}

/// `POST /v1/dicts/{name}/pop {"key": K}`: `{"found": bool, "value": V}`, the entry removed.
pub(crate) async fn dict_pop(
    State(context): State<Arc<Context>>,
    Params(name): Params<String>,
    headers: HeaderMap,
    request: Body,
) -> Answer {
    let KeyBody { key } = body(&headers, request).await?;
    let popped = dict(&context, &name, false)
        .await?
        .pop(&bytes(&key))
        .await?;
    found_answer(popped)
}

fn found_answer(found: Option<Vec<u8>>) -> Answer {
    match found {
        Some(value) => answer(json!({"found": true, "value": stored(&value)?})),
        None => answer(json!({"found": false, "value": null})),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PutBody {
    key: Value,
    value: Value,
    #[serde(default)]
    skip_if_exists: bool,
}

/// `POST /v1/dicts/{name}/put {"key", "value", "skip_if_exists"}`: `{"written": bool}`; the
/// dict is made when missing.
pub(crate) async fn dict_put(
    State(context): State<Arc<Context>>,
    Params(name): Params<String>,
    headers: HeaderMap,
    request: Body,
) -> Answer {
    let put: PutBody = body(&headers, request).await?;
    let dict = dict(&context, &name, true).await?;
    let written = dict
        .put(&bytes(&put.key), bytes(&put.value), put.skip_if_exists)
        .await?;
    answer(json!({"written": written}))
}

/// `POST /v1/dicts/{name}/clear`.
pub(crate) async fn dict_clear(
    State(context): State<Arc<Context>>,
    Params(name): Params<String>,
) -> Answer {
    dict(&context, &name, false).await?.clear().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    /// The JSON of the last key of the previous page.
    after: Option<String>,
    limit: Option<u32>,
}

/// `GET /v1/dicts/{name}/items[?after=KEY&limit=N]`: `{"items": [[K, V], ...], "next": K}`
/// (`next` null on the last page), in key order.
pub(crate) async fn dict_items(
    State(context): State<Arc<Context>>,
    Params(name): Params<String>,
    QueryParams(page): QueryParams<PageQuery>,
) -> Answer {
    let dict = dict(&context, &name, false).await?;
    let limit = page.limit.unwrap_or(1000).clamp(1, 10_000);
    let entries = dict
        .entries(page.after.as_deref().map(str::as_bytes), limit)
        .await?;
    let next = match entries.last() {
        Some((key, _)) if entries.len() == limit as usize => Some(stored(key)?),
        _ => None,
    };
    let items = entries
        .iter()
        .map(|(key, value)| Ok((stored(key)?, stored(value)?)))
        .collect::<Result<Vec<_>, ApiError>>()?;
    answer(json!({"items": items, "next": next}))
}

// --- queues ----------------------------------------------------------------------------------

/// `GET /v1/queues`: the named queues.
pub(crate) async fn list_queues(State(context): State<Arc<Context>>) -> Answer {
    answer(json!({"queues": store(&context)?.names(ObjectKind::Queue).await?}))
}

/// The queue `reference` names: its name, or its id (made when a missing name and `create`).
async fn queue(context: &Context, reference: &str, create: bool) -> Result<Queue, ApiError> {
    let store = store(context)?;
    Ok(if ObjectKind::Queue.is_id(reference) {
        store.queue_from_id(reference).await?
    } else {
        store.queue(reference, create).await?
    })
}

/// `POST /v1/queues`: a new ephemeral queue, held for the client while it sends heartbeats:
/// `201 {"id", "lease_secs"}`.
pub(crate) async fn ephemeral_queue(State(context): State<Arc<Context>>) -> Answer {
    let queue = store(&context)?.ephemeral_queue().await?;
    let id = queue.id().to_string();
    hold(&context, id, queue)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LenQuery {
    partition: Option<String>,
    #[serde(default)]
    total: bool,
}

/// `GET /v1/queues/{name}[?partition=P|total=true]`: `{"name", "id", "len": N}`.
pub(crate) async fn queue_len(
    State(context): State<Arc<Context>>,
    Params(name): Params<String>,
    QueryParams(query): QueryParams<LenQuery>,
) -> Answer {
    let queue = queue(&context, &name, false).await?;
    let len = queue.len(query.partition.as_deref(), query.total).await?;
    answer(json!({"name": queue.name(), "id": queue.id(), "len": len}))
}

/// `DELETE /v1/queues/{name}`.
pub(crate) async fn delete_queue(
    State(context): State<Arc<Context>>,
    Params(name): Params<String>,
) -> Answer {
    delete(&context, ObjectKind::Queue, &name).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueuePutBody {
    items: Vec<Value>,
    partition: Option<String>,
    /// Seconds the partition lives after this put (24 h by default).
    partition_ttl: Option<u32>,
    /// Seconds to wait for room (0 by default, at most 60).
    timeout: Option<f64>,
}

/// `POST /v1/queues/{name}/put {"items": [...], "partition", "partition_ttl", "timeout"}`;
/// the queue is made when missing.
pub(crate) async fn queue_put(
    State(context): State<Arc<Context>>,
    Params(name): Params<String>,
    headers: HeaderMap,
    request: Body,
) -> Answer {
    let put: QueuePutBody = body(&headers, request).await?;
    let queue = queue(&context, &name, true).await?;
    let ttl = put.partition_ttl.unwrap_or(24 * 60 * 60);
    let items = put.items.iter().map(bytes).collect();
    queue
        .put(
            items,
            put.partition.as_deref(),
            ttl,
            Some(wait_of(put.timeout)?),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueueGetBody {
    n: Option<u32>,
    partition: Option<String>,
    /// Seconds to wait for an item (0 by default, at most 60).
    timeout: Option<f64>,
}

/// `POST /v1/queues/{name}/get {"n", "partition", "timeout"}`: `{"items": [...]}`, empty when
/// none came in time. A client that goes away while it waits takes no item.
pub(crate) async fn queue_get(
    State(context): State<Arc<Context>>,
    Params(name): Params<String>,
    headers: HeaderMap,
    request: Body,
) -> Answer {
    let get: QueueGetBody = body(&headers, request).await?;
    let queue = queue(&context, &name, false).await?;
    let wait = Some(wait_of(get.timeout)?);
    let items = queue
        .get(get.n.unwrap_or(1), get.partition.as_deref(), wait)
        .await?;
    let items = items
        .iter()
        .map(|item| stored(item))
        .collect::<Result<Vec<_>, _>>()?;
    answer(json!({"items": items}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClearBody {
    partition: Option<String>,
    #[serde(default)]
    all: bool,
}

/// `POST /v1/queues/{name}/clear {"partition"} | {"all": true}`.
pub(crate) async fn queue_clear(
    State(context): State<Arc<Context>>,
    Params(name): Params<String>,
    headers: HeaderMap,
    request: Body,
) -> Answer {
    let clear: Option<ClearBody> = body(&headers, request).await?;
    let clear = clear.unwrap_or(ClearBody {
        partition: None,
        all: false,
    });
    let queue = queue(&context, &name, false).await?;
    queue.clear(clear.partition.as_deref(), clear.all).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A wait in seconds as given (0 when left out), at most [`MAX_WAIT`].
fn wait_of(seconds: Option<f64>) -> Result<Duration, ApiError> {
    let seconds = seconds.unwrap_or(0.0);
    if !(0.0..=MAX_WAIT.as_secs_f64()).contains(&seconds) {
        return Err(ApiError::bad_request(format!(
            "`timeout` must be 0 to {} seconds",
            MAX_WAIT.as_secs()
        )));
    }
    Ok(Duration::from_secs_f64(seconds))
}
