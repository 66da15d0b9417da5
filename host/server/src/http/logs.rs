//! `GET /v1/apps/{app}/logs[?follow=true][&tail=N]`: an app's events as NDJSON.
//!
//! Invariant: a follower's answer ends when the app is undeployed or the server begins to
//! stop, so a follower never holds a shutdown for its whole grace.

use crate::app_logs::LogStore;
use crate::context::Context;
use crate::http::ApiError;
use crate::http::extract::{Params, QueryParams};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{StreamExt, stream};
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};

/// The query of the logs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogsQuery {
    /// Keep the answer open and send events as they come.
    #[serde(default)]
    follow: bool,
    /// Only the last N events kept.
    tail: Option<usize>,
}

/// What a follower waits on.
struct Follower {
    store: Arc<LogStore>,
    events: broadcast::Receiver<Bytes>,
    stopping: watch::Receiver<bool>,
}

impl Follower {
    /// The next line; `None` when the app or the server goes.
    async fn next(&mut self) -> Option<Bytes> {
        tokio::select! {
            received = self.events.recv() => match received {
                Ok(line) => Some(line),
                Err(RecvError::Lagged(missed)) => Some(self.store.missed(missed)),
                Err(RecvError::Closed) => None,
            },
            _ = self.stopping.wait_for(|stopping| *stopping) => None,
        }
    }
}

/// `GET /v1/apps/{app}/logs`.
pub(crate) async fn logs(
    State(context): State<Arc<Context>>,
    Params(app): Params<String>,
    QueryParams(query): QueryParams<LogsQuery>,
) -> Result<Response, ApiError> {
    fnhost::check_app_name(&app)?;
    let store = context
        .apps
        .logs()
        .get(&app)
        .ok_or_else(|| ApiError::not_found(format!("no app `{app}` is deployed")))?;
    let snapshot = store.read(query.tail, query.follow);
    let kept = stream::iter(snapshot.events);
    let body = match snapshot.follow {
        None => Body::from_stream(kept.map(Ok::<Bytes, Infallible>)),
        Some(events) => {
            let follower = Follower {
                store,
                events,
                stopping: context.stopping(),
            };
            let later = stream::unfold(follower, |mut follower| async move {
                follower.next().await.map(|line| (line, follower))
            });
            Body::from_stream(kept.chain(later).map(Ok::<Bytes, Infallible>))
        }
    };
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        )],
        body,
    )
        .into_response())
}
