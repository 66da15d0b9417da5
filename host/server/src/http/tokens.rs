//! App tokens over HTTP: `POST /v1/tokens` `{"app": NAME}` makes one (shown once),
//! `GET /v1/tokens` lists them (ids and apps, never a token), `DELETE /v1/tokens/{id}` revokes
//! one. The operator's only: an app token reaches none of these (`guard::app_may`).

use crate::context::Context;
use crate::http::ApiError;
use crate::http::extract::{Params, read_json};
use crate::http::storage::{Answer, answer};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// The body of `POST /v1/tokens`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    app: String,
}

/// `POST /v1/tokens` `{"app": NAME}`: `201` with the token's id, app and the token itself.
pub(crate) async fn create(
    State(context): State<Arc<Context>>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let value = read_json(&headers, body, 4096).await?;
    let request: NewToken = serde_json::from_value(value.unwrap_or_default())
        .map_err(|_| ApiError::bad_arguments(r#"bad body: expected {"app": "NAME"}"#))?;
    fnhost::check_app_name(&request.app)?;
    let (record, token) = context.access.create(&request.app)?;
    tracing::info!(token = %record.id, app = %record.app, "app token made");
    let body = json!({
        "id": record.id,
        "app": record.app,
        "created_ms": record.created_ms,
        "token": token,
    });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// `GET /v1/tokens`: `{"tokens": [{"id", "app", "created_ms"}, ...]}`.
pub(crate) async fn list(State(context): State<Arc<Context>>) -> Answer {
    let tokens: Vec<_> = context
        .access
        .list()
        .into_iter()
        .map(|token| json!({"id": token.id, "app": token.app, "created_ms": token.created_ms}))
        .collect();
    answer(json!({ "tokens": tokens }))
}

/// `DELETE /v1/tokens/{id}`: `204`, or `404` when there is none.
pub(crate) async fn revoke(
    State(context): State<Arc<Context>>,
    Params(id): Params<String>,
) -> Answer {
    if !context.access.revoke(&id)? {
        let shown: String = id.chars().take(64).collect();
        return Err(ApiError::not_found(format!("no token `{shown}`")));
    }
    tracing::info!(token = %id, "app token revoked");
    Ok(StatusCode::NO_CONTENT.into_response())
}
