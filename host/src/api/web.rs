//! The app's web face: its wasi:http handler, served through the handler's pool, and its
//! functions that are web endpoints (`#[function(web)]`).
//!
//! A request given to [`App::handle_http`] runs in a container of the handler's pool; its
//! response body streams from the guest as it is read ([`HttpBody`]), and dropping that body
//! (or the future) before its end cancels the request. An HTTP server in front only converts
//! paths and statuses: the pool's rules and the cancellation are here.

use crate::Error;
use crate::api::app::App;
use crate::api::function::Function;
use crate::info::FunctionInfo;
use crate::options::FunctionConfig;
use crate::pool::PoolStats;
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::Value;

pub use crate::pool::http::{HANDLER_NAME, HttpBody};

impl App {
    /// Whether a component of the app exports `wasi:http/incoming-handler@0.2`.
    pub fn has_http_handler(&self) -> bool {
        self.shared.http.is_some()
    }

    /// The options of the app's wasi:http handler (set with [`AppBuilder::options`] under
    /// [`HANDLER_NAME`]), when it has one.
    ///
    /// [`AppBuilder::options`]: crate::AppBuilder::options
    pub fn http_config(&self) -> Option<&FunctionConfig> {
        self.shared.http.as_ref().map(|pool| pool.config())
    }

    /// What the pool of the app's wasi:http handler is doing, when it has one.
    pub fn http_stats(&self) -> Option<PoolStats> {
        self.shared.http.as_ref().map(|pool| pool.stats())
    }

    /// The function (or class method) whose web endpoint serves `rest`, the path under
    /// `/web/{app}/` without its leading `/` (see [`WebEndpoint::serves`](crate::WebEndpoint::serves)).
    pub fn web_endpoint(&self, rest: &str) -> Option<&FunctionInfo> {
        self.web_endpoints()
            .find(|info| info.web.as_ref().is_some_and(|web| web.serves(rest)))
    }

    /// The app's functions and class methods that are web endpoints.
    pub fn web_endpoints(&self) -> impl Iterator<Item = &FunctionInfo> {
        let methods = self.classes().flat_map(|class| class.methods.iter());
        self.functions()
            .iter()
            .chain(methods)
            .filter(|info| info.web.is_some())
    }

    /// A handle to call the web endpoint `info` (one [`App::web_endpoint`] gave): the function,
    /// or the method of the instance built from its class's defaults.
    pub fn web_function(&self, info: &FunctionInfo) -> Result<Function, Error> {
        match info.name.split_once('.') {
            Some((class, method)) => self.class(class)?.instance(Value::Null)?.method(method),
            None => self.function(&info.name),
        }
    }

    /// Serves `request` with the app's wasi:http handler. The request's URI is what the guest
    /// sees (a server mounting the app under a prefix strips it first); it needs an authority
    /// or a `Host` header. Fails with `not-found` when the app has no handler, `overloaded`
    /// when its queue is full, `timeout` when the guest did not answer in time, `trapped` when
    /// its instance trapped (the next request gets a new one).
    pub async fn handle_http<B>(
        &self,
        request: http::Request<B>,
    ) -> Result<http::Response<HttpBody>, Error>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: std::fmt::Display,
    {
        let pool = self
            .shared
            .http
            .as_ref()
            .ok_or_else(|| Error::NotFound("the app has no wasi:http handler".into()))?;
        let request = request.map(|body| {
            body.map_err(|error| {
                wasmtime_wasi_http::Error::InternalError(Some(format!(
                    "the request body failed: {error}"
                )))
            })
            .boxed_unsync()
        });
        pool.handle(request).await
    }
}
