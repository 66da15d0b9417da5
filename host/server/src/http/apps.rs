//! Apps and components: `GET /v1/apps[/{app}]`, `PUT` / `DELETE /v1/apps/{app}`,
//! `PUT /v1/components/{sha256}`.
//!
//! Invariants: a name or an id from the path is checked before it is used (an app name by
//! `fnhost::check_app_name`, a component id as 64 lowercase hex digits), so no request names
//! a path of its choosing; a component is stored only once its bytes hash to its id.

use crate::context::Context;
use crate::http::ApiError;
use crate::http::calls::json_response;
use crate::http::extract::{Params, check_length, media_type, next_chunk, read_json, too_large};
use crate::state::components::check_id;
use crate::{DeploySettings, DirSetting};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use tracing::Instrument;

/// The largest component: the largest the host loads.
const COMPONENT_CAP: u64 = fnhost::MAX_COMPONENT_BYTES;

/// The largest deploy body.
const DEPLOY_BODY_CAP: u64 = 1 << 20;

fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    json_response(status, serde_json::to_vec(value).unwrap_or_default())
}

/// No app `name`.
fn no_app(name: &str) -> ApiError {
    ApiError::not_found(format!("no app `{name}` is deployed"))
}

/// `GET /v1/apps`.
pub(crate) async fn list(State(context): State<Arc<Context>>) -> Response {
    json(
        StatusCode::OK,
        &serde_json::json!({ "apps": context.apps.summaries() }),
    )
}

/// `GET /v1/apps/{app}`.
pub(crate) async fn get(
    State(context): State<Arc<Context>>,
    Params(app): Params<String>,
) -> Result<Response, ApiError> {
    fnhost::check_app_name(&app)?;
    let summary = context.apps.summary(&app).ok_or_else(|| no_app(&app))?;
    Ok(json(StatusCode::OK, &summary))
}

/// The body of `PUT /v1/apps/{app}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeployBody {
    components: Vec<String>,
    /// See [`DeploySettings`] (fields listed here: unknown fields are refused, which serde's
    /// `flatten` would not do).
    #[serde(default)]
    allow_http: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    dirs: Vec<DirSetting>,
    #[serde(default)]
    options: BTreeMap<String, BTreeMap<String, String>>,
}

/// `PUT /v1/apps/{app}`.
pub(crate) async fn deploy(
    State(context): State<Arc<Context>>,
    Params(app): Params<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    fnhost::check_app_name(&app)?;
    let given = read_json(&headers, body, DEPLOY_BODY_CAP)
        .await?
        .ok_or_else(|| ApiError::bad_request("the body must be {\"components\": [SHA256, ...]}"))?;
    let body: DeployBody = serde_json::from_value(given).map_err(|error| {
        ApiError::bad_request(format!(
            "the body must be {{\"components\": [SHA256, ...]}}: {error}"
        ))
    })?;
    let span = tracing::info_span!("deploy", app = %app);
    let summary = context
        .apps
        .deploy(
            &app,
            body.components,
            DeploySettings {
                allow_http: body.allow_http,
                env: body.env,
                dirs: body.dirs,
                options: body.options,
            },
        )
        .instrument(span)
        .await?;
    Ok(json(StatusCode::OK, &summary))
}

/// `DELETE /v1/apps/{app}`.
pub(crate) async fn undeploy(
    State(context): State<Arc<Context>>,
    Params(app): Params<String>,
) -> Result<StatusCode, ApiError> {
    if context.apps.undeploy(&app).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_app(&app))
    }
}

/// `PUT /v1/components/{sha256}`.
pub(crate) async fn upload(
    State(context): State<Arc<Context>>,
    Params(id): Params<String>,
    headers: HeaderMap,
    mut body: Body,
) -> Result<Response, ApiError> {
    check_id(&id)?;
    match media_type(&headers).as_deref() {
        Some("application/wasm" | "application/octet-stream") => {}
        other => {
            return Err(ApiError::unsupported_media_type(format!(
                "a component must be application/wasm, not `{}`",
                other
                    .unwrap_or("none")
                    .chars()
                    .take(100)
                    .collect::<String>()
            )));
        }
    }
    check_length(&headers, COMPONENT_CAP)?;
    let state = context.apps.state();
    let answer = |status| json(status, &serde_json::json!({ "sha256": id }));
    if state.has_component(&id) {
        // Read (and drop) the body anyway, so the client is not cut off mid-upload.
        let mut read = 0u64;
        while let Some(chunk) = next_chunk(&mut body).await? {
            read += chunk.len() as u64;
            if read > COMPONENT_CAP {
                return Err(too_large(&mut body, COMPONENT_CAP, read).await);
            }
        }
        return Ok(answer(StatusCode::OK));
    }
    let mut upload = state.upload().await?;
    while let Some(chunk) = next_chunk(&mut body).await? {
        let read = upload.len() + chunk.len() as u64;
        if read > COMPONENT_CAP {
            return Err(too_large(&mut body, COMPONENT_CAP, read).await);
        }
        upload.write(&chunk).await?;
    }
    let digest = upload.digest();
    if digest != id {
        return Err(ApiError::bad_request(format!(
            "the body's SHA-256 is {digest}, not {id}"
        )));
    }
    upload.commit(&id).await?;
    tracing::info!(sha256 = %id, "component stored");
    Ok(answer(StatusCode::CREATED))
}
