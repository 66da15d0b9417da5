//! Calls: `POST .../call` (wait, or `303` to the call's id), `POST .../spawn`, and
//! `GET` / `DELETE /v1/calls/{id}`.
//!
//! Invariants: a result is the guest's JSON, answered as is; a call is found by id only by
//! the operator and by a token of the app that spawned it (to any other it is unknown); a `/call` whose client goes
//! away before its answer is cancelled (the handler's drop guard); a call answered with its
//! id goes on, watched by the server (counted, waited for and then cancelled at shutdown).

use crate::access::Principal;
use crate::context::Context;
use crate::http::ApiError;
use crate::http::extract::{Params, QueryParams, read_json};
use axum::body::Body;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fnhost::{CallId, Error, ErrorKind, FunctionCall, FunctionInfo, MAX_PAYLOAD, RetainedCall};
use fnhost_cluster::Cluster;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tracing::Instrument;

/// A call's body: its arguments, up to the payload cap, with room for the array around them.
pub(crate) const CALL_BODY_CAP: u64 = MAX_PAYLOAD as u64 + (64 << 10);

/// The longest wait `GET /v1/calls/{id}?timeout=` asks for.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// `{app}` and `{function}` of a call's route.
pub(crate) type FunctionPath = Params<(String, String)>;

/// The query of `/call` and `/spawn` (and `/map`'s `args`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArgsQuery {
    /// `list`: the body is the array of every argument.
    pub(crate) args: Option<ArgsMode>,
}

/// How a body gives a call's arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ArgsMode {
    /// The array of every argument.
    List,
}

impl ArgsQuery {
    /// The encoded arguments for `info` from what the client gave.
    pub(crate) fn arguments(
        &self,
        info: &FunctionInfo,
        given: Option<Value>,
    ) -> Result<Vec<u8>, Error> {
        if self.args != Some(ArgsMode::List) {
            return info.arguments(given);
        }
        match given {
            None => info.arguments(None),
            // One parameter: the list's only element is the argument.
            Some(Value::Array(mut list)) if info.params.len() == 1 => match list.pop() {
                Some(only) if list.is_empty() => info.arguments(Some(only)),
                popped => Err(Error::BadArguments(format!(
                    "`{}` takes 1 argument ({}), {} given",
                    info.name,
                    info.params.join(", "),
                    list.len() + usize::from(popped.is_some())
                ))),
            },
            Some(list @ Value::Array(_)) => info.arguments(Some(list)),
            Some(_) => Err(Error::BadArguments(
                "with ?args=list the body is the JSON array of every argument".into(),
            )),
        }
    }
}

/// A `200` with a result's JSON.
pub(crate) fn json_response(status: StatusCode, json: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json,
    )
        .into_response()
}

/// `{"call_id": ...}` with `status`.
fn call_id_response(status: StatusCode, id: fnhost::CallId, location: bool) -> Response {
    let body = serde_json::to_vec(&json!({ "call_id": id.to_string() })).unwrap_or_default();
    let mut response = json_response(status, body);
    if location && let Ok(location) = HeaderValue::from_str(&format!("/v1/calls/{id}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Starts a call of `app/function` with the request's arguments, watched by the server.
async fn start(
    context: &Arc<Context>,
    (app, name): &(String, String),
    query: &ArgsQuery,
    headers: &HeaderMap,
    body: Body,
) -> Result<FunctionCall<Value>, ApiError> {
    let function = context.function(app, name)?;
    let given = read_json(headers, body, CALL_BODY_CAP).await?;
    let args = query.arguments(function.info(), given)?;
    let started = Instant::now();
    let call = function.spawn_raw::<Value>(args).inspect_err(|error| {
        context.finished(app, name, None, Err(error), started.elapsed());
    })?;
    tracing::Span::current().record("call_id", tracing::field::display(call.id()));
    context.watch(call.clone(), function, (app, name), started);
    Ok(call)
}

/// Cancels the call unless disarmed: the client went away before its answer.
struct CancelOnDrop<'a>(Option<&'a FunctionCall<Value>>);

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(call) = self.0.take() {
            tracing::debug!(call_id = %call.id(), "the client went away: cancelling");
            call.cancel();
        }
    }
}

/// `POST /v1/apps/{app}/functions/{function}/call`.
pub(crate) async fn call(
    State(context): State<Arc<Context>>,
    Params(path): FunctionPath,
    QueryParams(query): QueryParams<ArgsQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let span = tracing::info_span!("call", app = %path.0, function = %path.1, call_id = tracing::field::Empty);
    async move {
        let call = start(&context, &path, &query, &headers, body).await?;
        let mut guard = CancelOnDrop(Some(&call));
        let result = call.result_within(context.sync_timeout).await;
        guard.0 = None;
        match result {
            Some(Ok(json)) => Ok(json_response(StatusCode::OK, json)),
            Some(Err(error)) => Err(error.into()),
            None => Ok(call_id_response(StatusCode::SEE_OTHER, call.id(), true)),
        }
    }
    .instrument(span)
    .await
}

/// `POST /v1/apps/{app}/functions/{function}/spawn`.
pub(crate) async fn spawn(
    State(context): State<Arc<Context>>,
    Params(path): FunctionPath,
    QueryParams(query): QueryParams<ArgsQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let span = tracing::info_span!("spawn", app = %path.0, function = %path.1, call_id = tracing::field::Empty);
    async move {
        if let Some(cluster) = context.apps.cluster() {
            // Stored in the cluster before the answer: any host runs it, any host finds it.
            let (app, name) = &path;
            let function = context.function(app, name)?;
            let given = read_json(&headers, body, CALL_BODY_CAP).await?;
            let args = query.arguments(function.info(), given)?;
            let id = cluster.spawn(app, name, args).await?;
            tracing::Span::current().record("call_id", tracing::field::display(id));
            return Ok(call_id_response(StatusCode::ACCEPTED, id, false));
        }
        let call = start(&context, &path, &query, &headers, body).await?;
        Ok(call_id_response(StatusCode::ACCEPTED, call.id(), false))
    }
    .instrument(span)
    .await
}

/// The query of `GET /v1/calls/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WaitQuery {
    /// How long to wait for the result (`5s`, `250ms`); at most a minute.
    timeout: Option<String>,
}

/// `GET /v1/calls/{id}`.
pub(crate) async fn get(
    State(context): State<Arc<Context>>,
    Extension(principal): Extension<Principal>,
    Params(id): Params<String>,
    QueryParams(query): QueryParams<WaitQuery>,
) -> Result<Response, ApiError> {
    let wait = match &query.timeout {
        None => Duration::ZERO,
        Some(text) => humantime::parse_duration(text)
            .map_err(|error| ApiError::bad_request(format!("bad timeout `{text}`: {error}")))?
            .min(MAX_WAIT),
    };
    let id: CallId = id.parse()?;
    let span = tracing::info_span!("get", call_id = %id);
    let outcome = match find(&context, id, &principal)? {
        Found::Here(call) => {
            let outcome = call.result_within(wait).instrument(span).await;
            if let Some(result) = &outcome {
                journal(&context, &call, result).await?;
            }
            outcome
        }
        Found::InCluster(cluster) => {
            cluster
                .result(id, principal.app(), wait)
                .instrument(span)
                .await?
        }
    };
    match outcome {
        Some(Ok(json)) => Ok(json_response(StatusCode::OK, json)),
        Some(Err(error)) => Err(error.into()),
        None => {
            let body = json!({ "call_id": id.to_string(), "status": "running" });
            Ok(json_response(
                StatusCode::ACCEPTED,
                serde_json::to_vec(&body).unwrap_or_default(),
            ))
        }
    }
}

/// Puts the finished `call` with `result` in the results journal before its answer leaves:
/// a result a client was given survives any crash of the server.
async fn journal(
    context: &Arc<Context>,
    call: &FunctionCall<Value>,
    result: &Result<Vec<u8>, Error>,
) -> Result<(), ApiError> {
    let record = RetainedCall {
        id: call.id(),
        app: call.app().map(str::to_owned),
        function: call.function().to_owned(),
        finished: SystemTime::now(),
        result: result.clone(),
    };
    let journal = Arc::clone(&context.journal);
    tokio::task::spawn_blocking(move || journal.record(&record))
        .await
        .map_err(|_| ApiError::internal("the results journal failed"))?
        .map_err(|error| {
            tracing::error!(error = %error.chain(), "cannot journal a result");
            ApiError::internal("the server cannot keep this result on disk")
        })
}

/// Where the call `id` is answered for.
enum Found<'a> {
    /// This host spawned it.
    Here(FunctionCall<Value>),
    /// This host does not know it: spawned through the cluster, by any host.
    InCluster(&'a Cluster),
}

/// The call `id`: this host's, else the cluster's (when in one); `not-found` otherwise, and
/// for another app's call when `principal` is limited to one app.
fn find<'a>(context: &'a Context, id: CallId, principal: &Principal) -> Result<Found<'a>, Error> {
    let here = match principal.app() {
        None => FunctionCall::<Value>::from_id(&context.host, &id.to_string()),
        Some(app) => FunctionCall::<Value>::from_id_in(&context.host, app, &id.to_string()),
    };
    match (here, context.apps.cluster()) {
        (Ok(call), _) => Ok(Found::Here(call)),
        (Err(error), Some(cluster)) if error.kind() == ErrorKind::NotFound => {
            Ok(Found::InCluster(cluster))
        }
        (Err(error), _) => Err(error),
    }
}

/// `DELETE /v1/calls/{id}`.
pub(crate) async fn cancel(
    State(context): State<Arc<Context>>,
    Extension(principal): Extension<Principal>,
    Params(id): Params<String>,
) -> Result<StatusCode, ApiError> {
    let id: CallId = id.parse()?;
    match find(&context, id, &principal)? {
        Found::Here(call) => call.cancel(),
        Found::InCluster(cluster) => cluster.cancel(id, principal.app()).await?,
    }
    tracing::info!(call_id = %id, "cancelled by the client");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(params: &[&str]) -> FunctionInfo {
        FunctionInfo {
            name: "f".into(),
            kind: fnhost::BodyKind::Blocking,
            params: params.iter().map(|p| (*p).to_owned()).collect(),
            param_types: Vec::new(),
            web: None,
            batch: None,
            generator: false,
            config: fnhost::FunctionConfig::resolve(&fnhost::FunctionOptions::default()).unwrap(),
            secrets: Vec::new(),
            volumes: Vec::new(),
            schedule: None,
            component: Default::default(),
        }
    }

    fn list(params: &[&str], given: Value) -> Result<String, String> {
        let query = ArgsQuery {
            args: Some(ArgsMode::List),
        };
        query
            .arguments(&info(params), Some(given))
            .map(|bytes| String::from_utf8(bytes).unwrap())
            .map_err(|error| error.message().to_owned())
    }

    #[test]
    fn a_list_is_every_argument_whatever_their_number() {
        assert_eq!(list(&["x"], json!([[1, 2]])).unwrap(), "[[1,2]]");
        assert_eq!(list(&["a", "b"], json!([1, 2])).unwrap(), "[1,2]");
        assert_eq!(list(&[], json!([])).unwrap(), "[]");
        assert_eq!(
            list(&["x"], json!([1, 2])).unwrap_err(),
            "`f` takes 1 argument (x), 2 given"
        );
        assert_eq!(
            list(&["x"], json!([])).unwrap_err(),
            "`f` takes 1 argument (x), 0 given"
        );
        assert!(list(&["x"], json!(1)).is_err());
    }
}
