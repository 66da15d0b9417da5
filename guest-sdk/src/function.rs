//! Typed handles to the app's functions: call, spawn, and the maps (ordered or not, results
//! kept, dropped or left running).
//!
//! A [`Function`] names a function of the app; where it lives (this component or another one
//! loaded beside it) is the host's business. Arguments are encoded as a JSON array and the
//! result as a JSON value, the encoding every fnhost guest, whatever its language, agrees on.
//!
//! Every handle turns its argument value into that array by one rule, [`encode_args`]: a tuple
//! (or `()`) is the list of arguments, any other value the single argument (the crate's
//! documentation, "Arguments", says it for users).

use crate::Error;
use crate::bindings::fnhost::runtime::host;
use crate::time::nanos;
#[doc(hidden)]
pub use fnhost_wire::encode_args;
use futures::{Stream, StreamExt, TryStreamExt, stream};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

/// How many calls one `map` keeps in flight at once; later inputs start as earlier ones finish.
const MAP_WINDOW: usize = 1000;

/// A function of the app, called by name through the host.
///
/// `A` is the argument value (`()`, one value, or a tuple of several; see
/// [Arguments](crate#arguments)) and `R` the result. You get one by dereferencing the
/// value that [`#[function]`](crate::function) makes of a `fn`, or from
/// [`Function::from_name`].
pub struct Function<A, R> {
    name: &'static str,
    encode: fn(&A) -> serde_json::Result<Vec<u8>>,
    options: CallOptions,
    /// Set for a method of a class: the instance's parameter values (a JSON object) it is
    /// called on.
    params: Option<Arc<[u8]>>,
    types: PhantomData<fn(A) -> R>,
}

/// The items of a generator call ([`Function::remote_gen`]), as they come. Dropping it
/// cancels the call.
pub struct Generated<R> {
    /// The call's items, or the error that kept it from starting (taken once read).
    items: Result<host::ItemStream, Option<Error>>,
    result: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned> Iterator for Generated<R> {
    type Item = Result<R, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.items {
            Err(error) => error.take().map(Err),
            Ok(items) => items.next().map(decode_result),
        }
    }
}

/// The counters of a function's pool of containers (Modal's `get_current_stats`), as the host
/// keeps them; [`Function::stats`] gives them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct Stats {
    /// Containers serving now.
    pub containers: u64,
    /// Containers ever started.
    pub containers_started: u64,
    /// Inputs running now.
    pub in_flight: u64,
    /// Inputs waiting for a container now.
    pub queued: u64,
    /// Batches a batched function ran.
    pub batches: u64,
    /// Inputs those batches held.
    pub batched_inputs: u64,
}

/// Options of one call site that override the callee's own, like Modal's `with_options`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallOptions {
    /// How long each attempt may run (1 s to 24 h).
    pub timeout: Option<Duration>,
    /// How many times a failed call runs again (0 to 10).
    pub retries: Option<u32>,
}

impl CallOptions {
    fn to_wit(self) -> host::CallOptions {
        host::CallOptions {
            timeout_nanos: self.timeout.map(nanos),
            retries: self.retries,
            // Options that shape containers, secrets and volumes: the host library's
            // `with_options` and the Python SDK's have them.
            containers: None,
            secrets: None,
            volumes: None,
        }
    }
}

impl<A, R: DeserializeOwned> Function<A, R> {
    #[doc(hidden)]
    pub const fn new(name: &'static str, encode: fn(&A) -> serde_json::Result<Vec<u8>>) -> Self {
        Function {
            name,
            encode,
            options: CallOptions {
                timeout: None,
                retries: None,
            },
            params: None,
            types: PhantomData,
        }
    }

    #[doc(hidden)]
    /// The method `name` (`CLASS.METHOD`) of the class instance built from `params`.
    pub fn method(
        name: &'static str,
        encode: fn(&A) -> serde_json::Result<Vec<u8>>,
        params: Arc<[u8]>,
    ) -> Self {
        Function {
            params: Some(params),
            ..Function::new(name, encode)
        }
    }

    /// This function with `options` overriding its own for the calls made through the handle
    /// returned; the host checks them (out of range, a call fails with `bad-arguments`).
    ///
    /// ```ignore
    /// let quick = slow_function.with_options(CallOptions { timeout: Some(Duration::from_secs(2)), ..Default::default() });
    /// quick.remote(())?;
    /// ```
    pub fn with_options(&self, options: CallOptions) -> Function<A, R> {
        Function {
            name: self.name,
            encode: self.encode,
            options,
            params: self.params.clone(),
            types: PhantomData,
        }
    }

    /// The app's function `name`, which may live in another component (written in any
    /// language), or, as `APP/FUNCTION`, a function of another app deployed on the host (as
    /// Modal's `Function.from_name(app, name)`): `A` is its argument value, as for every
    /// handle — `()` for none, the value itself for one parameter, a tuple for several — and
    /// `R` its result.
    ///
    /// ```ignore
    /// const ASYNC_FUNCTION: Function<(), u32> = Function::from_name("async_function");
    /// let x = ASYNC_FUNCTION.remote(())?;
    /// let price = Function::<String, u64>::from_name("pricing/price").remote("pear".to_string())?;
    /// let sum = Function::<(u32, u32), u32>::from_name("add").remote((2, 3))?;
    /// ```
    ///
    /// The handle cannot know the callee's parameters, so a tuple is always the list of
    /// arguments: for a function whose one parameter is a tuple, pass a one-element tuple of
    /// it, `Function::<((u32, u32),), u32>::from_name("pair_sum").remote(((1, 2),))` (see
    /// [Arguments](crate#arguments)).
    pub const fn from_name(name: &'static str) -> Self
    where
        A: Serialize,
    {
        Function::new(name, encode_args::<A>)
    }

    /// The function's name in the app.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Calls the function and blocks the calling instance until its result is back.
    pub fn remote(&self, args: A) -> Result<R, Error> {
        let payload = self.payload(&args)?;
        decode_result(host::call(self.name, &payload, &self.options.to_wit()))
    }

    /// Calls the function; only the awaiting task waits, the instance's other inputs go on.
    pub async fn remote_aio(&self, args: A) -> Result<R, Error> {
        let payload = self.payload(&args)?;
        decode_result(host::call_async(self.name.to_owned(), payload, self.options.to_wit()).await)
    }

    /// Starts the function in the background and returns a handle to its result at once. The
    /// host keeps the call by its id ([`FunctionCall::id`]) until its result has been kept
    /// for the retention window, whether or not the handle is.
    pub fn spawn(&self, args: A) -> Result<FunctionCall<R>, Error> {
        let payload = self.payload(&args)?;
        Ok(FunctionCall {
            call: host::spawn(self.name, &payload, &self.options.to_wit()),
            result: PhantomData,
        })
    }

    /// Calls the function once per input, in parallel, blocking the calling instance until all
    /// are back. Results come in input order; the first error (in that order) is returned instead
    /// and the calls still running are cancelled.
    ///
    /// Each input is the function's argument value, so for a function of several parameters
    /// each is a tuple of them: `add.map([(1, 2), (3, 4)])` is Modal's `starmap`.
    pub fn map(&self, inputs: impl IntoIterator<Item = A>) -> Result<Vec<R>, Error> {
        self.map_iter(inputs, Order::Inputs).collect()
    }

    /// Like [`Function::map`], but gives every input its own result, errors included (Modal's
    /// `return_exceptions=True`).
    pub fn map_results(&self, inputs: impl IntoIterator<Item = A>) -> Vec<Result<R, Error>> {
        self.map_iter(inputs, Order::Inputs).collect()
    }

    /// Calls the function once per input, in parallel, and yields each input's result as soon
    /// as its call has finished (Modal's `order_outputs=False`): read it while slower calls
    /// still run. Each next item blocks the calling instance until a call finishes; dropping
    /// the iterator cancels the calls still running.
    pub fn map_unordered<'a, I>(&'a self, inputs: I) -> impl Iterator<Item = Result<R, Error>> + 'a
    where
        I: IntoIterator<Item = A>,
        I::IntoIter: 'a,
    {
        self.map_iter(inputs, Order::Finished)
    }

    /// Calls the function once per input, in parallel, and drops the results (Modal's
    /// `for_each`); returns once every call has finished, or at the first error (in input
    /// order, the calls still running cancelled) unless `ignore_errors`.
    pub fn for_each(
        &self,
        inputs: impl IntoIterator<Item = A>,
        ignore_errors: bool,
    ) -> Result<(), Error> {
        self.map_iter(inputs, Order::Inputs)
            .filter(|result| !ignore_errors || result.is_ok())
            .try_for_each(|result| result.map(drop))
    }

    /// Starts the function once per input in the background and returns at once (Modal's
    /// `spawn_map`): each handle carries its call's id ([`FunctionCall::id`]); dropping them
    /// leaves the calls running.
    pub fn spawn_map(
        &self,
        inputs: impl IntoIterator<Item = A>,
    ) -> Result<Vec<FunctionCall<R>>, Error> {
        inputs.into_iter().map(|args| self.spawn(args)).collect()
    }

    /// The async twin of [`Function::map`].
    pub async fn map_aio(&self, inputs: impl IntoIterator<Item = A>) -> Result<Vec<R>, Error> {
        stream::iter(inputs)
            .map(|args| self.remote_aio(args))
            .buffered(MAP_WINDOW)
            .try_collect()
            .await
    }

    /// The async twin of [`Function::map_results`].
    pub async fn map_results_aio(
        &self,
        inputs: impl IntoIterator<Item = A>,
    ) -> Vec<Result<R, Error>> {
        stream::iter(inputs)
            .map(|args| self.remote_aio(args))
            .buffered(MAP_WINDOW)
            .collect()
            .await
    }

    /// The async twin of [`Function::map_unordered`]: a stream of the results in the order the
    /// calls finish; only the awaiting task waits for each.
    pub fn map_unordered_aio<'a, I>(
        &'a self,
        inputs: I,
    ) -> impl Stream<Item = Result<R, Error>> + 'a
    where
        I: IntoIterator<Item = A>,
        I::IntoIter: 'a,
    {
        stream::iter(inputs)
            .map(|args| self.remote_aio(args))
            .buffer_unordered(MAP_WINDOW)
    }

    /// The async twin of [`Function::for_each`]; an error ends it as soon as it comes (the
    /// first to finish, not the first in input order).
    pub async fn for_each_aio(
        &self,
        inputs: impl IntoIterator<Item = A>,
        ignore_errors: bool,
    ) -> Result<(), Error> {
        self.map_unordered_aio(inputs)
            .filter(|result| std::future::ready(!ignore_errors || result.is_ok()))
            .try_for_each(|_| std::future::ready(Ok(())))
            .await
    }

    /// Results of a blocking map, in `order`, with at most [`MAP_WINDOW`] calls in flight.
    fn map_iter<I: IntoIterator<Item = A>>(
        &self,
        inputs: I,
        order: Order,
    ) -> MapIter<'_, A, R, I::IntoIter> {
        MapIter {
            function: self,
            inputs: inputs.into_iter(),
            in_flight: VecDeque::new(),
            finished: VecDeque::new(),
            order,
        }
    }

    /// Calls the generator and returns its items as they come (Modal's `remote_gen`): reading
    /// blocks the calling instance until the next item is there; the generator runs at most a
    /// small buffer ahead; an error ends the items; dropping the iterator cancels the call.
    pub fn remote_gen(&self, args: A) -> Generated<R> {
        let items = self
            .payload(&args)
            .map(|payload| host::call_gen(self.name, &payload, &self.options.to_wit()));
        Generated {
            items: items.map_err(Some),
            result: PhantomData,
        }
    }

    /// Calls the generator and yields its items as they come; only the awaiting task waits
    /// for each. Dropping the stream cancels the call.
    pub fn remote_gen_aio(&self, args: A) -> impl Stream<Item = Result<R, Error>> + use<A, R> {
        let items = self
            .payload(&args)
            .map(|payload| host::call_gen(self.name, &payload, &self.options.to_wit()));
        stream::unfold(items.map_err(Some), |items| async move {
            match items {
                Err(error) => error.map(|error| (Err(error), Err(None))),
                Ok(stream) => {
                    let item = stream.next_async().await?;
                    Some((decode_result(item), Ok(stream)))
                }
            }
        })
    }

    /// The counters of the pool that runs this function (for a method, the pool of its
    /// instance's containers).
    pub fn stats(&self) -> Result<Stats, Error> {
        let params = self.params.as_deref().unwrap_or_default();
        let stats = host::stats(self.name, params)?;
        serde_json::from_slice(&stats)
            .map_err(|error| Error::Payload(format!("cannot decode the pool's counters: {error}")))
    }

    /// The call's payload: the encoded arguments; for a method, with its instance's
    /// parameter values (`{"params": {...}, "args": [...]}`).
    fn payload(&self, args: &A) -> Result<Vec<u8>, Error> {
        let args = (self.encode)(args).map_err(|error| {
            Error::Payload(format!(
                "cannot encode arguments of `{}`: {error}",
                self.name
            ))
        })?;
        Ok(match &self.params {
            None => args,
            Some(params) => [&b"{\"params\":"[..], params, b",\"args\":", &args, b"}"].concat(),
        })
    }
}

/// The order a blocking map gives its results in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    /// The inputs' order.
    Inputs,
    /// The order the calls finish.
    Finished,
}

/// The results of a blocking map. Invariant: every call it started and has not yielded is in
/// `in_flight` (running, or finished and not yet seen) or in `finished` (seen finished, in the
/// order they finished), so that dropping it (the caller stopped reading, or an error ended
/// the map) cancels exactly the calls nobody will collect.
struct MapIter<'a, A, R, I> {
    function: &'a Function<A, R>,
    inputs: I,
    in_flight: VecDeque<Result<FunctionCall<R>, Error>>,
    finished: VecDeque<Result<FunctionCall<R>, Error>>,
    order: Order,
}

impl<A, R, I> MapIter<'_, A, R, I> {
    /// Moves the calls that have finished from `in_flight` to `finished`, in the order they
    /// finished, blocking the instance until one has (a call that could not start has finished
    /// at once).
    fn collect_finished(&mut self) {
        let mut order: Vec<usize> = self
            .in_flight
            .iter()
            .enumerate()
            .filter_map(|(index, call)| call.is_err().then_some(index))
            .collect();
        if order.is_empty() && !self.in_flight.is_empty() {
            // Every call in flight started: the host's indices are theirs.
            let calls: Vec<&host::FunctionCall> = self
                .in_flight
                .iter()
                .flatten()
                .map(|call| &call.call)
                .collect();
            order = host::wait_finished(&calls, None)
                .into_iter()
                .map(|index| index as usize)
                .collect();
            // Empty only when the host shut down: the first call then answers with why.
            if order.is_empty() {
                order.push(0);
            }
        }
        let mut slots: Vec<_> = self.in_flight.drain(..).map(Some).collect();
        for index in order {
            if let Some(call) = slots.get_mut(index).and_then(Option::take) {
                self.finished.push_back(call);
            }
        }
        self.in_flight = slots.into_iter().flatten().collect();
    }
}

impl<A, R: DeserializeOwned, I: Iterator<Item = A>> Iterator for MapIter<'_, A, R, I> {
    type Item = Result<R, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.in_flight.len() + self.finished.len() < MAP_WINDOW {
            let Some(args) = self.inputs.next() else {
                break;
            };
            self.in_flight.push_back(self.function.spawn(args));
        }
        let call = match self.order {
            Order::Inputs => self.in_flight.pop_front()?,
            Order::Finished => {
                if self.finished.is_empty() {
                    self.collect_finished();
                }
                self.finished.pop_front()?
            }
        };
        Some(call.and_then(FunctionCall::get))
    }
}

impl<A, R, I> Drop for MapIter<'_, A, R, I> {
    fn drop(&mut self) {
        for call in self.in_flight.iter().flatten() {
            call.call.cancel();
        }
    }
}

/// A call running in the background, started with [`Function::spawn`] or found by its id with
/// [`FunctionCall::from_id`].
///
/// The host keeps the call by its id, as Modal does: dropping the handle leaves it running,
/// and its result stays readable by id (from this function, another one, or a client of the
/// server) for the host's retention window. [`FunctionCall::cancel`] stops it.
pub struct FunctionCall<R> {
    call: host::FunctionCall,
    result: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned> FunctionCall<R> {
    /// The spawned call whose id is `id` (as [`FunctionCall::id`] gave it), wherever it was
    /// spawned; [`Error::NotFound`] when the id is unknown or its result has expired.
    ///
    /// ```ignore
    /// let call = FunctionCall::<u64>::from_id(&id)?;
    /// let result = call.get()?;
    /// ```
    pub fn from_id(id: &str) -> Result<Self, Error> {
        Ok(FunctionCall {
            call: host::call_from_id(id)?,
            result: PhantomData,
        })
    }

    /// The call's id (`fc-` and 32 hexadecimal digits), to hand to whoever collects it.
    pub fn id(&self) -> String {
        self.call.id()
    }

    /// Blocks the calling instance until the call's result is back.
    pub fn get(self) -> Result<R, Error> {
        decode_result(self.call.get(None))
    }

    /// Waits for the call's result; the instance's other inputs go on.
    pub async fn get_aio(self) -> Result<R, Error> {
        decode_result(self.call.get_async(None).await)
    }

    /// Like [`FunctionCall::get`], for at most `timeout`: when it runs out, fails with
    /// [`Error::Timeout`] and the call goes on (ask again).
    pub fn get_timeout(&mut self, timeout: Duration) -> Result<R, Error> {
        decode_result(self.call.get(Some(nanos(timeout))))
    }

    /// Like [`FunctionCall::get_aio`], for at most `timeout`: when it runs out, fails with
    /// [`Error::Timeout`] and the call goes on (ask again).
    pub async fn get_timeout_aio(&mut self, timeout: Duration) -> Result<R, Error> {
        decode_result(self.call.get_async(Some(nanos(timeout))).await)
    }

    /// Cancels the call: it will not deliver a result, and `get` fails with
    /// [`Error::Cancelled`].
    pub fn cancel(&self) {
        self.call.cancel();
    }

    /// The results of `calls`, in their order, once all are in (Modal's
    /// `FunctionCall.gather`); the first failure, in their order, is the error. Every call
    /// runs in the background already, so waiting on each in turn takes as long as the slowest.
    pub fn gather(calls: impl IntoIterator<Item = Self>) -> Result<Vec<R>, Error> {
        calls.into_iter().map(FunctionCall::get).collect()
    }

    /// [`FunctionCall::gather`], waiting on all at once while the instance's other inputs go on.
    pub async fn gather_aio(calls: impl IntoIterator<Item = Self>) -> Result<Vec<R>, Error> {
        futures::future::join_all(calls.into_iter().map(FunctionCall::get_aio))
            .await
            .into_iter()
            .collect()
    }
}

fn decode_result<R: DeserializeOwned>(
    result: Result<Vec<u8>, crate::bindings::fnhost::runtime::types::CallError>,
) -> Result<R, Error> {
    crate::decode::decode("the result", &result?)
}
