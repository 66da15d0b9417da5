//! The handle callers use to call one function: `remote`, `spawn`, the maps, `with_options`.
//!
//! Arguments travel as a JSON array (see `wire`: `()`, `x`, `(x, y)`); results as the JSON
//! value of what the body returned. Every call is a request submitted through the dispatch
//! seam (the function's pool, reached without a name lookup).

use crate::Error;
use crate::api::call::FunctionCall;
use crate::api::wire::{decode, encode_args};
use crate::dispatch::chain::Frame;
use crate::dispatch::items::{self, Items};
use crate::dispatch::offload::ArrivedCall;
use crate::dispatch::{CallId, Dispatch, Receiver, Request, wait};
use crate::info::FunctionInfo;
use crate::options::{CallOptions, FunctionOptions, InvalidOption};
use crate::pool::variants::Variant;
use crate::pool::{Pool, PoolStats};
use crate::retained::CallStore;
use futures::{Stream, StreamExt, TryStreamExt, stream};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// How many calls one `map` keeps in flight at once; later inputs start as earlier ones finish.
const MAP_WINDOW: usize = 1000;

/// A handle to one function of an [`App`](crate::App). Cheap to clone.
#[derive(Clone)]
pub struct Function {
    /// The app's router, kept alive while the handle is (its containers hold it weakly).
    app: Arc<dyn Dispatch>,
    pool: Arc<Pool>,
    /// This handle's overrides of the function's timeout and retries.
    options: CallOptions,
    /// Set when `pool` is this handle's own (from `with_options`): closes it with the handle's
    /// last clone.
    _own_pool: Option<Arc<OwnPool>>,
    /// The host's spawned calls, where `spawn` keeps its calls.
    calls: Arc<CallStore>,
    /// Set for a method of a class's instance (`pool` is the instance's): what its component
    /// says of the method.
    method: Option<Arc<FunctionInfo>>,
}

/// The items of a generator call ([`Function::remote_gen`]), as they are produced. Dropping it
/// cancels the call.
pub struct Generated<R> {
    items: Pin<Box<dyn Stream<Item = Result<Vec<u8>, Error>> + Send>>,
    item: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned> Stream for Generated<R> {
    type Item = Result<R, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.items
            .as_mut()
            .poll_next(cx)
            .map(|item| item.map(|item| item.and_then(|item| decode(&item))))
    }
}

/// A pool made for one `with_options` handle; closed when the last clone of the handle goes
/// (its running inputs finish, its queued ones fail).
struct OwnPool(Arc<Pool>);

impl Drop for OwnPool {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl Function {
    pub(crate) fn new(app: Arc<dyn Dispatch>, pool: Arc<Pool>, calls: Arc<CallStore>) -> Self {
        Function {
            app,
            pool,
            options: CallOptions::default(),
            _own_pool: None,
            calls,
            method: None,
        }
    }

    /// This handle as one to `method`, a method of the class instance whose pool it holds.
    pub(crate) fn for_method(self, method: FunctionInfo) -> Self {
        Function {
            method: Some(Arc::new(method)),
            ..self
        }
    }

    /// This function with `options` overriding its own for the calls made through the handle
    /// returned, like Modal's `with_options`. `timeout` and `retries` apply to each call; any
    /// other option shapes containers, so the handle gets a pool of its own, configured so,
    /// beside the function's (guest callers reach the function's). Options out of range fail
    /// with [`Error::BadArguments`] naming the option.
    pub fn with_options(&self, options: FunctionOptions) -> Result<Function, Error> {
        let invalid = |invalid: InvalidOption| {
            Error::BadArguments(format!("option `{}` {}", invalid.option, invalid.reason))
        };
        let call_options = CallOptions {
            timeout: options.timeout.or(self.options.timeout),
            retries: options.retries.or(self.options.retries),
        };
        // Checked now, so that a bad override fails here rather than at every call.
        call_options
            .apply(self.info().config.policy())
            .map_err(invalid)?;
        if !options.shapes_pool() {
            return Ok(Function {
                options: call_options,
                ..self.clone()
            });
        }
        let config = self.info().config.overridden(&options).map_err(invalid)?;
        let info = self.info();
        let variant = Variant {
            config,
            secrets: info.secrets.clone(),
            volumes: info.volumes.clone(),
        };
        let pool = Arc::new(self.pool.reconfigured(variant));
        pool.keep_minimum();
        Ok(Function {
            app: Arc::clone(&self.app),
            pool: Arc::clone(&pool),
            options: call_options,
            _own_pool: Some(Arc::new(OwnPool(pool))),
            calls: Arc::clone(&self.calls),
            method: self.method.clone(),
        })
    }

    /// What the function's component says of it.
    pub fn info(&self) -> &FunctionInfo {
        self.method.as_deref().unwrap_or_else(|| self.pool.info())
    }

    /// The counters of the function's pool of containers.
    pub fn stats(&self) -> PoolStats {
        self.pool.stats()
    }

    /// Starts containers until `count` serve (within `max_containers`) and waits until they do,
    /// so that the next inputs start without waiting for an instance; returns how many serve.
    pub async fn warm_up(&self, count: usize) -> Result<usize, Error> {
        self.pool.warm_up(count).await
    }

    /// Calls the function with `args` (`()`, one value, or a tuple of several) and waits for its result.
    pub async fn remote<R: DeserializeOwned>(&self, args: impl Serialize) -> Result<R, Error> {
        decode(&self.remote_raw(encode_args(&args)?).await?)
    }

    /// Calls the function with an encoded JSON array of arguments; returns the encoded result.
    pub async fn remote_raw(&self, args: Vec<u8>) -> Result<Vec<u8>, Error> {
        wait(&self.info().name, self.request(args)).await
    }

    /// Whether a call arriving now would start at once (a container has room, or one more may
    /// start) rather than queue: what a host checks before it takes a call another host
    /// offers.
    pub fn has_room(&self) -> bool {
        self.pool.has_room()
    }

    /// Runs a call that came from another host (see [`ArrivedCall`]) here and waits for its
    /// result. It is never offered to another host again: when the pool is full, it queues.
    pub async fn accept(&self, call: ArrivedCall) -> Result<Vec<u8>, Error> {
        let ArrivedCall {
            id,
            args,
            depth,
            timeout,
            retries,
        } = call;
        let request = Request {
            args,
            options: CallOptions { timeout, retries },
            caller: Frame::elsewhere(depth),
            id,
            may_offer: false,
            items: None,
            containers: None,
        };
        wait(
            &self.info().name,
            self.pool.submit(&self.info().name, request),
        )
        .await
    }

    /// Calls the generator with `args` and yields its items as they are produced (Modal's
    /// `remote_gen`): at most [`GENERATOR_BUFFER`](crate::GENERATOR_BUFFER) items run ahead
    /// of the stream's reader (the generator waits meanwhile); an error ends the items with
    /// it; dropping the stream cancels the call. Calling a function that is not a generator
    /// yields its error.
    pub fn remote_gen<R: DeserializeOwned>(&self, args: impl Serialize) -> Generated<R> {
        self.generate(encode_args(&args))
    }

    /// Like [`Function::remote_gen`], with an encoded JSON array of arguments.
    pub fn remote_gen_raw<R: DeserializeOwned>(&self, args: Vec<u8>) -> Generated<R> {
        self.generate(Ok(args))
    }

    /// Calls the generator with `args` (encoded, or why they could not be).
    fn generate<R: DeserializeOwned>(&self, args: Result<Vec<u8>, Error>) -> Generated<R> {
        let (sender, receiver) = items::channel();
        let submitted = args.and_then(|args| {
            let mut request = Request::new(args, self.options, None);
            request.items = Some(sender);
            self.pool.submit(&self.info().name, request)
        });
        let items = Items::new(&self.info().name, receiver, submitted);
        let items = stream::unfold(items, |mut items| async move {
            let item = items.next().await?;
            Some((item, items))
        });
        Generated {
            items: Box::pin(items),
            item: PhantomData,
        }
    }

    /// Submits a call with `args` (encoded) through the dispatch seam, as from the host API.
    fn request(&self, args: Vec<u8>) -> Result<Receiver, Error> {
        let request = Request::new(args, self.options, None);
        self.pool.submit(&self.info().name, request)
    }

    /// Starts the function with `args` (`()`, one value, or a tuple of several) in the
    /// background and returns a handle to its result at once. The host keeps the call by its
    /// id until it has finished and its retention has passed; a call the function's pool
    /// refuses at once (bad arguments, a full queue) fails here.
    pub fn spawn<R: DeserializeOwned>(
        &self,
        args: impl Serialize,
    ) -> Result<FunctionCall<R>, Error> {
        self.spawn_raw(encode_args(&args)?)
    }

    /// Like [`Function::spawn`], with an encoded JSON array of arguments.
    pub fn spawn_raw<R: DeserializeOwned>(&self, args: Vec<u8>) -> Result<FunctionCall<R>, Error> {
        let request = Request::new(args, self.options, None);
        let id = request.id;
        let receiver = self.pool.submit(&self.info().name, request)?;
        Ok(self.keep(id, receiver))
    }

    /// Keeps the call `id`, submitted, by its id. The handle (its app and pool) lives until the
    /// call ends: a replaced app version drains its spawned calls before it closes.
    fn keep<R: DeserializeOwned>(&self, id: CallId, receiver: Receiver) -> FunctionCall<R> {
        let owner = self.pool.owner().now();
        let call = self
            .calls
            .start(id, owner, &self.info().name, Ok(receiver), self.clone());
        FunctionCall::new(call)
    }

    /// Calls the function once per input, in parallel, and returns the results in input order;
    /// the first error (in that order) is returned instead.
    pub async fn map<A: Serialize, R: DeserializeOwned>(
        &self,
        inputs: impl IntoIterator<Item = A>,
    ) -> Result<Vec<R>, Error> {
        stream::iter(inputs)
            .map(|args| self.remote(args))
            .buffered(MAP_WINDOW)
            .try_collect()
            .await
    }

    /// Like [`Function::map`], but gives every input its own result, errors included.
    pub async fn map_results<A: Serialize, R: DeserializeOwned>(
        &self,
        inputs: impl IntoIterator<Item = A>,
    ) -> Vec<Result<R, Error>> {
        stream::iter(inputs)
            .map(|args| self.remote(args))
            .buffered(MAP_WINDOW)
            .collect()
            .await
    }

    /// Calls the function once per input, in parallel, and yields each input's result as soon
    /// as its call has finished (Modal's `order_outputs=False`). Dropping the stream cancels
    /// the calls still running.
    pub fn map_unordered<'a, A, R, I>(
        &'a self,
        inputs: I,
    ) -> impl Stream<Item = Result<R, Error>> + 'a
    where
        A: Serialize + 'a,
        R: DeserializeOwned + 'a,
        I: IntoIterator<Item = A>,
        I::IntoIter: 'a,
    {
        stream::iter(inputs)
            .map(|args| self.remote(args))
            .buffer_unordered(MAP_WINDOW)
    }

    /// Calls the function once per input, in parallel, and drops the results (Modal's
    /// `for_each`): returns once every call has finished, or at the first error to come (the
    /// calls still running cancelled) unless `ignore_errors`.
    pub async fn for_each<A: Serialize>(
        &self,
        inputs: impl IntoIterator<Item = A>,
        ignore_errors: bool,
    ) -> Result<(), Error> {
        stream::iter(inputs)
            .map(|args| async move { self.remote_raw(encode_args(&args)?).await })
            .buffer_unordered(MAP_WINDOW)
            .filter(|result| std::future::ready(!ignore_errors || result.is_ok()))
            .try_for_each(|_| std::future::ready(Ok(())))
            .await
    }

    /// Starts the function once per input in the background and returns at once (Modal's
    /// `spawn_map`): each handle carries its call's id; dropping them leaves the calls
    /// running. An input its pool refuses at once (bad arguments, a full queue) fails here,
    /// after the inputs before it have started.
    pub fn spawn_map<A: Serialize, R: DeserializeOwned>(
        &self,
        inputs: impl IntoIterator<Item = A>,
    ) -> Result<Vec<FunctionCall<R>>, Error> {
        inputs.into_iter().map(|args| self.spawn(args)).collect()
    }
}
