//! The HTTP API of docs/server.md: its routes, and the layers every request passes.
//!
//! Invariant: every answer that is not a success is the API's JSON error — the router's own
//! (unknown path: `not-found`; known path, other method: `method-not-allowed`) included — and
//! a request passes, outermost first: the panic net, the `Host` check, the token check (who it is, and whether
//! that reaches its path), the cut of stalled bodies, the refusal while stopping, then its
//! route.

mod api_error;
mod apps;
mod calls;
mod extract;
mod guard;
mod logs;
mod map;
mod ops;
mod run;
mod sandboxes;
mod secrets;
mod stall;
mod storage;
mod tokens;
mod volumes;
mod web;

use crate::context::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{any, delete, get, post, put};
use std::sync::Arc;

pub(crate) use api_error::ApiError;

/// The API's router over `context`.
pub(crate) fn router(context: Arc<Context>) -> Router {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/v1/apps", get(apps::list))
        .route(
            "/v1/apps/{app}",
            get(apps::get).put(apps::deploy).delete(apps::undeploy),
        )
        .route("/v1/apps/{app}/logs", get(logs::logs))
        .route("/v1/apps/{app}/run", post(run::run))
        .route(
            "/v1/apps/{app}/functions/{function}/call",
            post(calls::call),
        )
        .route(
            "/v1/apps/{app}/functions/{function}/spawn",
            post(calls::spawn),
        )
        .route("/v1/apps/{app}/functions/{function}/map", post(map::map))
        .route("/v1/calls/{id}", get(calls::get).delete(calls::cancel))
        .route("/v1/components/{sha256}", put(apps::upload))
        .route(
            "/v1/dicts",
            get(storage::list_dicts).post(storage::ephemeral_dict),
        )
        .route(
            "/v1/dicts/{name}",
            get(storage::describe_dict).delete(storage::delete_dict),
        )
        .route("/v1/dicts/{name}/get", post(storage::dict_get))
        .route("/v1/dicts/{name}/put", post(storage::dict_put))
        .route("/v1/dicts/{name}/pop", post(storage::dict_pop))
        .route("/v1/dicts/{name}/clear", post(storage::dict_clear))
        .route("/v1/dicts/{name}/items", get(storage::dict_items))
        .route("/v1/dicts/{name}/heartbeat", post(storage::heartbeat))
        .route(
            "/v1/queues",
            get(storage::list_queues).post(storage::ephemeral_queue),
        )
        .route(
            "/v1/queues/{name}",
            get(storage::queue_len).delete(storage::delete_queue),
        )
        .route("/v1/queues/{name}/put", post(storage::queue_put))
        .route("/v1/queues/{name}/get", post(storage::queue_get))
        .route("/v1/queues/{name}/clear", post(storage::queue_clear))
        .route("/v1/queues/{name}/heartbeat", post(storage::heartbeat))
        .route(
            "/v1/sandboxes",
            get(sandboxes::list).post(sandboxes::create),
        )
        .route(
            "/v1/sandboxes/{id}",
            get(sandboxes::get).delete(sandboxes::terminate),
        )
        .route("/v1/sandboxes/{id}/wait", post(sandboxes::wait))
        .route("/v1/sandboxes/{id}/exec", post(sandboxes::exec))
        .route(
            "/v1/sandboxes/{id}/processes/{pid}",
            get(sandboxes::get_process),
        )
        .route(
            "/v1/sandboxes/{id}/processes/{pid}/wait",
            post(sandboxes::wait_process),
        )
        .route(
            "/v1/sandboxes/{id}/processes/{pid}/stdin",
            post(sandboxes::stdin),
        )
        .route(
            "/v1/sandboxes/{id}/processes/{pid}/stdout",
            get(sandboxes::stdout),
        )
        .route(
            "/v1/sandboxes/{id}/processes/{pid}/stderr",
            get(sandboxes::stderr),
        )
        .route("/v1/secrets", get(secrets::list_secrets))
        .route(
            "/v1/secrets/{name}",
            put(secrets::create_secret).delete(secrets::delete_secret),
        )
        .route("/v1/tokens", get(tokens::list).post(tokens::create))
        .route("/v1/tokens/{id}", delete(tokens::revoke))
        .route("/v1/volumes", get(volumes::list_volumes))
        .route(
            "/v1/volumes/{name}",
            get(volumes::describe_volume)
                .put(volumes::create_volume)
                .delete(volumes::delete_volume),
        )
        .route("/v1/volumes/{name}/list", get(volumes::list_files))
        .route(
            "/v1/volumes/{name}/file",
            get(volumes::read_file)
                .put(volumes::write_file)
                .delete(volumes::remove_file),
        )
        .route("/web/{*path}", any(web::web))
        .fallback(ops::no_route)
        .method_not_allowed_fallback(ops::wrong_method)
        // Bodies are read (and capped) by the handlers themselves.
        .layer(DefaultBodyLimit::disable())
        .layer(from_fn_with_state(
            Arc::clone(&context),
            guard::refuse_when_stopping,
        ))
        .layer(from_fn_with_state(
            Arc::clone(&context),
            stall::cut_stalled_bodies,
        ))
        .layer(from_fn_with_state(Arc::clone(&context), guard::authorize))
        .layer(from_fn(guard::require_host))
        .layer(from_fn(guard::catch_panics))
        .with_state(context)
}
