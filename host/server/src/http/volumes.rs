//! Volumes over HTTP: `/v1/volumes/...` (docs/server.md), the same volumes the deployed apps'
//! functions mount.
//!
//! A path inside a volume is given as the `path` query parameter; file contents travel as
//! `application/octet-stream`. Invariant: every path goes through the host's volume operations,
//! which refuse `..`, absolute escapes and symlinks that leave the volume (`invalid`, 400), and
//! a write past the volume's quota is `full` (429), nothing written.

use crate::context::Context;
use crate::http::ApiError;
use crate::http::extract::{Params, QueryParams, read_capped};
use crate::http::storage::{Answer, answer, delete, store};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use fnhost::{ObjectKind, Volume};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// The largest file one `PUT` writes.
const FILE_CAP: u64 = 64 << 20;

async fn volume(context: &Context, name: &str, create: bool) -> Result<Volume, ApiError> {
    Ok(store(context)?.volume(name, create).await?)
}

/// `GET /v1/volumes`: the volumes' names.
pub(crate) async fn list_volumes(State(context): State<Arc<Context>>) -> Answer {
    answer(json!({"volumes": store(&context)?.names(ObjectKind::Volume).await?}))
}

/// `PUT /v1/volumes/{name}`: makes it when missing (`201`), else `200`.
pub(crate) async fn create_volume(
    State(context): State<Arc<Context>>,
    Params(name): Params<String>,
) -> Answer {
    let existed = store(&context)?
        .names(ObjectKind::Volume)
        .await?
        .contains(&name);
    let made = volume(&context, &name, true).await?;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, axum::Json(json!({"name": name, "id": made.id()}))).into_response())
}

/// `GET /v1/volumes/{name}`: its id, the bytes its files hold and its quota.
pub(crate) async fn describe_volume(
    State(context): State<Arc<Context>>,
    Params(name): Params<String>,
) -> Answer {
    let volume = volume(&context, &name, false).await?;
    let usage = volume.usage().await?;
    answer(json!({"name": name, "id": volume.id(), "usage": usage, "quota": volume.quota()}))
}

/// `DELETE /v1/volumes/{name}`: the volume and its files.
pub(crate) async fn delete_volume(
    State(context): State<Arc<Context>>,
    Params(name): Params<String>,
) -> Answer {
    delete(&context, ObjectKind::Volume, &name).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PathQuery {
    /// A path inside the volume (`/` its root).
    path: Option<String>,
    /// For a `DELETE` of a directory: with all it holds.
    #[serde(default)]
    recursive: bool,
}

impl PathQuery {
    fn path(&self) -> &str {
        self.path.as_deref().unwrap_or("/")
    }
}

/// `GET /v1/volumes/{name}/list?path=P`: `{"entries": [{"path", "kind", "size"}, ...]}`.
pub(crate) async fn list_files(
    State(context): State<Arc<Context>>,
    Params(name): Params<String>,
    QueryParams(query): QueryParams<PathQuery>,
) -> Answer {
    let entries = volume(&context, &name, false)
        .await?
        .list(query.path())
        .await?;
    answer(json!({"entries": entries}))
}

/// `GET /v1/volumes/{name}/file?path=P`: the file's bytes.
pub(crate) async fn read_file(
    State(context): State<Arc<Context>>,
    Params(name): Params<String>,
    QueryParams(query): QueryParams<PathQuery>,
) -> Answer {
    let bytes = volume(&context, &name, false)
        .await?
        .read(query.path())
        .await?;
    let octets = HeaderValue::from_static("application/octet-stream");
    Ok(([(header::CONTENT_TYPE, octets)], bytes).into_response())
}

/// `PUT /v1/volumes/{name}/file?path=P` with the bytes (at most 64 MiB): writes the file
/// (parents made); `204`.
pub(crate) async fn write_file(
    State(context): State<Arc<Context>>,
    Params(name): Params<String>,
    QueryParams(query): QueryParams<PathQuery>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let volume = volume(&context, &name, false).await?;
    let bytes = read_capped(&headers, body, FILE_CAP).await?;
    volume.write(query.path(), bytes.to_vec()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /v1/volumes/{name}/file?path=P[&recursive=true]`; `204`.
pub(crate) async fn remove_file(
    State(context): State<Arc<Context>>,
    Params(name): Params<String>,
    QueryParams(query): QueryParams<PathQuery>,
) -> Answer {
    let volume = volume(&context, &name, false).await?;
    volume.remove(query.path(), query.recursive).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
