//! The blocking twin of the async API, like `reqwest::blocking`.
//!
//! A [`blocking::App`](App) owns a multi-threaded tokio runtime that its containers run on;
//! every method blocks the calling thread until its result is back. Do not call these from
//! inside an async runtime (tokio panics when a runtime blocks inside another): use the async
//! API there.

mod state;

pub use state::{Dict, Queue};

use crate::api::app::AppBuilder;
use crate::dispatch::CallId;
use crate::info::FunctionInfo;
use crate::load::CompileCache;
use crate::options::FunctionOptions;
use crate::pool::PoolStats;
use crate::{Error, LoadError};
use futures::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Runtime;

/// A loaded app, for blocking callers. See [`crate::App`].
pub struct App {
    app: crate::api::app::App,
    runtime: Arc<Runtime>,
}

impl App {
    /// Loads the components at `paths` as one app on the process's default host.
    pub fn load(paths: impl IntoIterator<Item = impl AsRef<Path>>) -> Result<App, LoadError> {
        Self::load_from(crate::api::app::App::builder(), paths)
    }

    /// Loads the components at `paths` as one app, compiled through `cache`.
    pub fn load_with(
        paths: impl IntoIterator<Item = impl AsRef<Path>>,
        cache: &CompileCache,
    ) -> Result<App, LoadError> {
        Self::load_from(crate::api::app::App::builder().cache(cache.clone()), paths)
    }

    /// Loads the components at `paths` as one app as `builder` says (on its host, with its
    /// overrides and grants).
    pub fn load_from(
        builder: AppBuilder,
        paths: impl IntoIterator<Item = impl AsRef<Path>>,
    ) -> Result<App, LoadError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("fnhost")
            .build()
            .map_err(|error| LoadError::Engine(error.into()))?;
        let app = runtime.block_on(builder.load(paths))?;
        Ok(App {
            app,
            runtime: Arc::new(runtime),
        })
    }

    /// The app's functions, by name.
    pub fn functions(&self) -> &[FunctionInfo] {
        self.app.functions()
    }

    /// The app's local entrypoints, by name.
    pub fn entrypoints(&self) -> impl Iterator<Item = &FunctionInfo> {
        self.app.entrypoints()
    }

    /// A handle to the function `name`.
    pub fn function(&self, name: &str) -> Result<Function, Error> {
        Ok(Function {
            function: self.app.function(name)?,
            runtime: Arc::clone(&self.runtime),
        })
    }

    /// Runs the local entrypoint `name` (the only one, when `None`) until it ends; returns its
    /// exit status (0 when it returned). See [`crate::App::run_entrypoint`].
    pub fn run_entrypoint(&self, name: Option<&str>) -> Result<i32, Error> {
        self.runtime.block_on(self.app.run_entrypoint(name))
    }
}

/// A handle to one function, for blocking callers. See [`crate::Function`].
#[derive(Clone)]
pub struct Function {
    function: crate::api::function::Function,
    runtime: Arc<Runtime>,
}

impl Function {
    /// What the function's component says of it.
    pub fn info(&self) -> &FunctionInfo {
        self.function.info()
    }

    /// The counters of the function's pool of containers.
    pub fn stats(&self) -> PoolStats {
        self.function.stats()
    }

    /// This function with `options` overriding its own; see [`crate::Function::with_options`].
    pub fn with_options(&self, options: FunctionOptions) -> Result<Function, Error> {
        // A pool of its own starts its minimum containers on the runtime.
        let _runtime = self.runtime.enter();
        Ok(Function {
            function: self.function.with_options(options)?,
            runtime: Arc::clone(&self.runtime),
        })
    }

    /// Starts containers until `count` serve and blocks until they do; see
    /// [`crate::Function::warm_up`].
    pub fn warm_up(&self, count: usize) -> Result<usize, Error> {
        self.runtime.block_on(self.function.warm_up(count))
    }

    /// Calls the function with `args` (`()`, one value, or a tuple of several) and blocks until its result is back.
    pub fn remote<R: DeserializeOwned>(&self, args: impl Serialize) -> Result<R, Error> {
        self.runtime.block_on(self.function.remote(args))
    }

    /// Starts the function in the background and returns a handle to its result at once.
    pub fn spawn<R: DeserializeOwned>(
        &self,
        args: impl Serialize,
    ) -> Result<FunctionCall<R>, Error> {
        let _runtime = self.runtime.enter();
        Ok(FunctionCall {
            call: self.function.spawn(args)?,
            runtime: Arc::clone(&self.runtime),
        })
    }

    /// Calls the function once per input, in parallel; results in input order, or the first
    /// error.
    pub fn map<A: Serialize, R: DeserializeOwned>(
        &self,
        inputs: impl IntoIterator<Item = A>,
    ) -> Result<Vec<R>, Error> {
        self.runtime.block_on(self.function.map(inputs))
    }

    /// Like [`Function::map`], but gives every input its own result, errors included.
    pub fn map_results<A: Serialize, R: DeserializeOwned>(
        &self,
        inputs: impl IntoIterator<Item = A>,
    ) -> Vec<Result<R, Error>> {
        self.runtime.block_on(self.function.map_results(inputs))
    }

    /// Each input's result as soon as its call has finished; each next item blocks until one
    /// has. See [`crate::Function::map_unordered`].
    pub fn map_unordered<'a, A, R, I>(
        &'a self,
        inputs: I,
    ) -> impl Iterator<Item = Result<R, Error>> + 'a
    where
        A: Serialize + 'a,
        R: DeserializeOwned + 'a,
        I: IntoIterator<Item = A>,
        I::IntoIter: 'a,
    {
        let mut results = Box::pin(self.function.map_unordered(inputs));
        std::iter::from_fn(move || self.runtime.block_on(results.next()))
    }

    /// Calls the generator with `args` and yields its items as they come; see
    /// [`crate::Function::remote_gen`].
    pub fn remote_gen<'a, R: DeserializeOwned + 'a>(
        &'a self,
        args: impl Serialize,
    ) -> impl Iterator<Item = Result<R, Error>> + 'a {
        let mut items = self.function.remote_gen(args);
        std::iter::from_fn(move || self.runtime.block_on(items.next()))
    }

    /// Calls the function once per input and drops the results; see
    /// [`crate::Function::for_each`].
    pub fn for_each<A: Serialize>(
        &self,
        inputs: impl IntoIterator<Item = A>,
        ignore_errors: bool,
    ) -> Result<(), Error> {
        self.runtime
            .block_on(self.function.for_each(inputs, ignore_errors))
    }

    /// Starts a call per input in the background; see [`crate::Function::spawn_map`].
    pub fn spawn_map<A: Serialize, R: DeserializeOwned>(
        &self,
        inputs: impl IntoIterator<Item = A>,
    ) -> Result<Vec<FunctionCall<R>>, Error> {
        let _runtime = self.runtime.enter();
        let calls = self.function.spawn_map(inputs)?;
        Ok(calls
            .into_iter()
            .map(|call| FunctionCall {
                call,
                runtime: Arc::clone(&self.runtime),
            })
            .collect())
    }
}

/// A call running in the background, for blocking callers. See [`crate::FunctionCall`].
pub struct FunctionCall<R> {
    call: crate::api::call::FunctionCall<R>,
    runtime: Arc<Runtime>,
}

impl<R: DeserializeOwned> FunctionCall<R> {
    /// Blocks until the call's result is back.
    pub fn get(self) -> Result<R, Error> {
        self.runtime.block_on(self.call.get())
    }

    /// Blocks until the call's result is back, for at most `timeout`; when it runs out, fails
    /// with [`Error::Timeout`] and the call goes on: ask again.
    pub fn get_timeout(&mut self, timeout: Duration) -> Result<R, Error> {
        self.runtime.block_on(self.call.get_timeout(timeout))
    }

    /// The call's id; see [`crate::FunctionCall::id`].
    pub fn id(&self) -> CallId {
        self.call.id()
    }

    /// Cancels the call; [`FunctionCall::get`] then fails with [`Error::Cancelled`].
    pub fn cancel(&self) {
        self.call.cancel();
    }

    /// The results of `calls`, in their order, once all are in; see
    /// [`crate::FunctionCall::gather`].
    pub fn gather(calls: impl IntoIterator<Item = Self>) -> Result<Vec<R>, Error> {
        calls.into_iter().map(FunctionCall::get).collect()
    }
}

impl App {
    /// The spawned call of the app's host whose id is `id`; see
    /// [`crate::FunctionCall::from_id`].
    pub fn call_from_id<R: DeserializeOwned>(&self, id: &str) -> Result<FunctionCall<R>, Error> {
        Ok(FunctionCall {
            call: crate::api::call::FunctionCall::from_id(self.app.host(), id)?,
            runtime: Arc::clone(&self.runtime),
        })
    }
}
