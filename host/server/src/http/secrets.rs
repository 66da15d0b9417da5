//! Secrets over HTTP: `/v1/secrets/...` (docs/server.md), the secrets the host's functions name.
//!
//! Invariant: values go in (a `PUT`) and never come out: a listing answers names and keys,
//! errors name keys, and nothing here logs a body.

use crate::context::Context;
use crate::http::ApiError;
use crate::http::extract::{Params, read_json};
use crate::http::storage::{Answer, answer, store};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use fnhost::{MAX_SECRET_BYTES, SecretValues};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

/// `GET /v1/secrets`: each secret's name and keys.
pub(crate) async fn list_secrets(State(context): State<Arc<Context>>) -> Answer {
    let listed = store(&context)?.secrets().await?;
    let secrets: Vec<_> = listed
        .into_iter()
        .map(|secret| json!({"name": secret.name, "keys": secret.keys}))
        .collect();
    answer(json!({"secrets": secrets}))
}

/// The body of `PUT /v1/secrets/{name}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSecret {
    values: BTreeMap<String, String>,
    #[serde(default)]
    overwrite: bool,
}

/// `PUT /v1/secrets/{name}` `{"values": {KEY: VALUE, ...}, "overwrite": false}`: keeps the
/// secret (`204`); one of that name is replaced only with `overwrite` (else `400`).
pub(crate) async fn create_secret(
    State(context): State<Arc<Context>>,
    Params(name): Params<String>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let cap = MAX_SECRET_BYTES as u64 + (64 << 10);
    let value = read_json(&headers, body, cap).await?;
    // serde's own message may quote a value: this one says what is expected and nothing else.
    let secret: NewSecret = serde_json::from_value(value.unwrap_or_default()).map_err(|_| {
        ApiError::bad_arguments(
            r#"bad body: expected {"values": {"KEY": "VALUE", ...}, "overwrite": false}"#,
        )
    })?;
    let values = SecretValues::new(secret.values)?;
    store(&context)?
        .create_secret(&name, values, secret.overwrite)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /v1/secrets/{name}`: `204`, or `404` when there is none.
pub(crate) async fn delete_secret(
    State(context): State<Arc<Context>>,
    Params(name): Params<String>,
) -> Answer {
    if !store(&context)?.delete_secret(&name).await? {
        return Err(ApiError::not_found(format!("no secret named `{name}`")));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
