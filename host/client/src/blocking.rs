//! The blocking twin of the client, as `fnhost::blocking` is of the library.
//!
//! Invariant: a [`blocking::Client`](Client) owns a tokio runtime (one thread: the caller's,
//! while it blocks) that every request of it and of its handles runs on; every method blocks
//! the calling thread until its answer is back. Do not call these from inside an async
//! runtime (tokio panics when a runtime blocks inside another): use the async client there.

use crate::{AppSummary, ClientError, DeploySettings, LogEvent, LogStream, VolumeEntry};
use futures::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Runtime;

/// A connection to an `fnhost serve`, for blocking callers. See [`crate::Client`].
#[derive(Clone, Debug)]
pub struct Client {
    client: crate::Client,
    runtime: Arc<Runtime>,
}

impl Client {
    /// A client of the server at `url`; see [`crate::Client::connect`].
    pub fn connect(url: &str) -> Result<Client, ClientError> {
        let client = crate::Client::connect(url)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| ClientError::Io {
                what: "cannot start the async runtime".to_owned(),
                source,
            })?;
        Ok(Client {
            client,
            runtime: Arc::new(runtime),
        })
    }

    /// This client, sending `token` with every request; see [`crate::Client::with_token`].
    pub fn with_token(self, token: impl Into<String>) -> Client {
        Client {
            client: self.client.with_token(token),
            runtime: self.runtime,
        }
    }

    /// The server's base URL.
    pub fn url(&self) -> &reqwest::Url {
        self.client.url()
    }

    /// A handle to the function `app/function`; see [`crate::Client::function`].
    pub fn function(&self, qualified: &str) -> Result<Function, ClientError> {
        Ok(self.wrap(self.client.function(qualified)?))
    }

    /// A handle to the function `function` of the app `app`; nothing is sent.
    pub fn function_in(&self, app: &str, function: &str) -> Function {
        self.wrap(self.client.function_in(app, function))
    }

    /// The apps deployed on the server.
    pub fn apps(&self) -> Result<Vec<AppSummary>, ClientError> {
        self.runtime.block_on(self.client.apps())
    }

    /// The deployed app `name`, with live counters.
    pub fn app(&self, name: &str) -> Result<AppSummary, ClientError> {
        self.runtime.block_on(self.client.app(name))
    }

    /// Deploys `components` as the app `name`; see [`crate::Client::deploy`].
    pub fn deploy(
        &self,
        name: &str,
        components: &[PathBuf],
        settings: &DeploySettings,
    ) -> Result<AppSummary, ClientError> {
        self.runtime
            .block_on(self.client.deploy(name, components, settings))
    }

    /// Undeploys the app `name`.
    pub fn undeploy(&self, name: &str) -> Result<(), ClientError> {
        self.runtime.block_on(self.client.undeploy(name))
    }

    /// The events of the app's log, each read as the iterator is advanced; with `follow`, it
    /// goes on with new events. See [`crate::Client::logs`].
    pub fn logs(&self, app: &str, follow: bool) -> Result<Logs, ClientError> {
        Ok(Logs {
            events: self.runtime.block_on(self.client.logs(app, follow))?,
            runtime: Arc::clone(&self.runtime),
        })
    }

    /// The names of the server's dicts.
    pub fn dicts(&self) -> Result<Vec<String>, ClientError> {
        self.runtime.block_on(self.client.dicts())
    }

    /// The names of the server's queues.
    pub fn queues(&self) -> Result<Vec<String>, ClientError> {
        self.runtime.block_on(self.client.queues())
    }

    /// The dict `name` of the server; see [`crate::Client::dict`].
    pub fn dict<K: Serialize + DeserializeOwned, V: Serialize + DeserializeOwned>(
        &self,
        name: &str,
    ) -> Dict<K, V> {
        Dict {
            dict: self.client.dict(name),
            runtime: Arc::clone(&self.runtime),
        }
    }

    /// The queue `name` of the server; see [`crate::Client::queue`].
    pub fn queue<T: Serialize + DeserializeOwned>(&self, name: &str) -> Queue<T> {
        Queue {
            queue: self.client.queue(name),
            runtime: Arc::clone(&self.runtime),
        }
    }

    /// The names of the server's volumes.
    pub fn volumes(&self) -> Result<Vec<String>, ClientError> {
        self.runtime.block_on(self.client.volumes())
    }

    /// The volume `name` of the server; see [`crate::Client::volume`].
    pub fn volume(&self, name: &str) -> Volume {
        Volume {
            volume: self.client.volume(name),
            runtime: Arc::clone(&self.runtime),
        }
    }

    fn wrap(&self, function: crate::Function) -> Function {
        Function {
            function,
            runtime: Arc::clone(&self.runtime),
        }
    }
}

/// The events of an app's log, for blocking callers: each `next` blocks until one arrives.
pub struct Logs {
    events: LogStream,
    runtime: Arc<Runtime>,
}

impl Iterator for Logs {
    type Item = Result<LogEvent, ClientError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.runtime.block_on(self.events.next())
    }
}

/// A handle to one function on the server, for blocking callers. See [`crate::Function`].
#[derive(Clone, Debug)]
pub struct Function {
    function: crate::Function,
    runtime: Arc<Runtime>,
}

impl Function {
    /// The app's name.
    pub fn app(&self) -> &str {
        self.function.app()
    }

    /// The function's name.
    pub fn name(&self) -> &str {
        self.function.name()
    }

    /// Calls the function with `args` (`()`, one value, or a tuple of several) and blocks
    /// until its result is back.
    pub fn remote<R: DeserializeOwned>(&self, args: impl Serialize) -> Result<R, ClientError> {
        self.runtime.block_on(self.function.remote(args))
    }

    /// Calls the function with an encoded JSON array of arguments; returns the encoded result.
    pub fn remote_raw(&self, args: Vec<u8>) -> Result<Vec<u8>, ClientError> {
        self.runtime.block_on(self.function.remote_raw(args))
    }

    /// Calls the function with arguments in `fnhost call`'s convention; see
    /// [`crate::Function::remote_json`].
    pub fn remote_json(&self, given: Vec<u8>) -> Result<Vec<u8>, ClientError> {
        self.runtime.block_on(self.function.remote_json(given))
    }

    /// Starts the function in the background and returns a handle to its result.
    pub fn spawn<R: DeserializeOwned>(
        &self,
        args: impl Serialize,
    ) -> Result<FunctionCall<R>, ClientError> {
        Ok(FunctionCall {
            call: self.runtime.block_on(self.function.spawn(args))?,
            runtime: Arc::clone(&self.runtime),
        })
    }

    /// Calls the function once per input, in parallel; results in input order, or the first
    /// error.
    pub fn map<A: Serialize, R: DeserializeOwned>(
        &self,
        inputs: impl IntoIterator<Item = A>,
    ) -> Result<Vec<R>, ClientError> {
        self.runtime.block_on(self.function.map(inputs))
    }

    /// Like [`Function::map`], but gives every input its own result; see
    /// [`crate::Function::map_results`].
    pub fn map_results<A: Serialize, R: DeserializeOwned>(
        &self,
        inputs: impl IntoIterator<Item = A>,
    ) -> Result<Vec<Result<R, ClientError>>, ClientError> {
        self.runtime.block_on(self.function.map_results(inputs))
    }

    /// Each input's result as soon as its call has finished; each next item blocks until one
    /// has. See [`crate::Function::map_unordered`].
    pub fn map_unordered<A: Serialize, R: DeserializeOwned>(
        &self,
        inputs: impl IntoIterator<Item = A>,
    ) -> Result<impl Iterator<Item = Result<R, ClientError>>, ClientError> {
        let mut results = Box::pin(self.runtime.block_on(self.function.map_unordered(inputs))?);
        let runtime = Arc::clone(&self.runtime);
        Ok(std::iter::from_fn(move || runtime.block_on(results.next())))
    }

    /// Calls the function once per input and drops the results; see
    /// [`crate::Function::for_each`].
    pub fn for_each<A: Serialize>(
        &self,
        inputs: impl IntoIterator<Item = A>,
        ignore_errors: bool,
    ) -> Result<(), ClientError> {
        self.runtime
            .block_on(self.function.for_each(inputs, ignore_errors))
    }

    /// Starts a call per input in the background; see [`crate::Function::spawn_map`].
    pub fn spawn_map<A: Serialize, R: DeserializeOwned>(
        &self,
        inputs: impl IntoIterator<Item = A>,
    ) -> Result<Vec<FunctionCall<R>>, ClientError> {
        let calls = self.runtime.block_on(self.function.spawn_map(inputs))?;
        Ok(calls
            .into_iter()
            .map(|call| FunctionCall {
                call,
                runtime: Arc::clone(&self.runtime),
            })
            .collect())
    }
}

/// A call running on the server, for blocking callers. See [`crate::FunctionCall`].
pub struct FunctionCall<R> {
    call: crate::FunctionCall<R>,
    runtime: Arc<Runtime>,
}

impl<R: DeserializeOwned> FunctionCall<R> {
    /// The call `id` on `client`'s server; see [`crate::FunctionCall::from_id`].
    pub fn from_id(client: &Client, id: &str) -> Result<FunctionCall<R>, ClientError> {
        Ok(FunctionCall {
            call: crate::FunctionCall::from_id(&client.client, id)?,
            runtime: Arc::clone(&client.runtime),
        })
    }

    /// The call's id.
    pub fn id(&self) -> &str {
        self.call.id()
    }

    /// Blocks until the call's result is back.
    pub fn get(self) -> Result<R, ClientError> {
        self.runtime.block_on(self.call.get())
    }

    /// Blocks until the call's result is back, for at most `timeout`; when it runs out, fails
    /// with kind `timeout` and the call goes on: ask again.
    pub fn get_timeout(&mut self, timeout: Duration) -> Result<R, ClientError> {
        self.runtime.block_on(self.call.get_timeout(timeout))
    }

    /// Cancels the call; [`FunctionCall::get`] then fails with kind `cancelled`.
    pub fn cancel(&self) -> Result<(), ClientError> {
        self.runtime.block_on(self.call.cancel())
    }
}

/// A dict of the server, for blocking callers; see [`crate::Dict`].
pub struct Dict<K, V> {
    dict: crate::Dict<K, V>,
    runtime: Arc<Runtime>,
}

impl<K: Serialize + DeserializeOwned, V: Serialize + DeserializeOwned> Dict<K, V> {
    /// The value of `key`, if present.
    pub fn get(&self, key: &K) -> Result<Option<V>, ClientError> {
        self.runtime.block_on(self.dict.get(key))
    }

    /// Sets `key` to `value`.
    pub fn put(&self, key: &K, value: &V) -> Result<bool, ClientError> {
        self.runtime.block_on(self.dict.put(key, value))
    }

    /// Sets `key` to `value` only when absent, atomically; whether it wrote.
    pub fn put_if_absent(&self, key: &K, value: &V) -> Result<bool, ClientError> {
        self.runtime.block_on(self.dict.put_if_absent(key, value))
    }

    /// Removes `key` and returns its value, if it was present.
    pub fn pop(&self, key: &K) -> Result<Option<V>, ClientError> {
        self.runtime.block_on(self.dict.pop(key))
    }

    /// How many entries it holds.
    pub fn len(&self) -> Result<u64, ClientError> {
        self.runtime.block_on(self.dict.len())
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> Result<bool, ClientError> {
        self.runtime.block_on(self.dict.is_empty())
    }

    /// Removes every entry.
    pub fn clear(&self) -> Result<(), ClientError> {
        self.runtime.block_on(self.dict.clear())
    }

    /// Every entry, in the server's key order.
    pub fn items(&self) -> Result<Vec<(K, V)>, ClientError> {
        self.runtime.block_on(self.dict.items())
    }

    /// Removes the dict and every entry.
    pub fn delete(&self) -> Result<(), ClientError> {
        self.runtime.block_on(self.dict.delete())
    }
}

/// A queue of the server, for blocking callers; see [`crate::Queue`].
pub struct Queue<T> {
    queue: crate::Queue<T>,
    runtime: Arc<Runtime>,
}

impl<T: Serialize + DeserializeOwned> Queue<T> {
    /// Appends `item` to the default partition.
    pub fn put(&self, item: &T) -> Result<(), ClientError> {
        self.runtime.block_on(self.queue.put(item))
    }

    /// Appends `items` to `partition`, waiting up to `wait` for room.
    pub fn put_many(
        &self,
        items: &[T],
        partition: Option<&str>,
        wait: Option<Duration>,
    ) -> Result<(), ClientError> {
        self.runtime
            .block_on(self.queue.put_many(items, partition, wait))
    }

    /// The oldest item of the default partition, waiting up to `wait` for one.
    pub fn get(&self, wait: Option<Duration>) -> Result<Option<T>, ClientError> {
        self.runtime.block_on(self.queue.get(wait))
    }

    /// Up to `n` items of `partition`, waiting up to `wait` for the first.
    pub fn get_many(
        &self,
        n: u32,
        partition: Option<&str>,
        wait: Option<Duration>,
    ) -> Result<Vec<T>, ClientError> {
        self.runtime
            .block_on(self.queue.get_many(n, partition, wait))
    }

    /// How many items `partition` holds.
    pub fn len(&self, partition: Option<&str>) -> Result<u64, ClientError> {
        self.runtime.block_on(self.queue.len(partition))
    }

    /// How many items every partition holds.
    pub fn len_total(&self) -> Result<u64, ClientError> {
        self.runtime.block_on(self.queue.len_total())
    }

    /// Removes the items of `partition`.
    pub fn clear(&self, partition: Option<&str>) -> Result<(), ClientError> {
        self.runtime.block_on(self.queue.clear(partition))
    }

    /// Removes the items of every partition.
    pub fn clear_all(&self) -> Result<(), ClientError> {
        self.runtime.block_on(self.queue.clear_all())
    }

    /// Removes the queue and every item.
    pub fn delete(&self) -> Result<(), ClientError> {
        self.runtime.block_on(self.queue.delete())
    }
}

/// A volume of the server, for blocking callers; see [`crate::Volume`].
pub struct Volume {
    volume: crate::Volume,
    runtime: Arc<Runtime>,
}

impl Volume {
    /// Makes it when missing: whether it was made now.
    pub fn create(&self) -> Result<bool, ClientError> {
        self.runtime.block_on(self.volume.create())
    }

    /// Removes it and all its files.
    pub fn delete(&self) -> Result<(), ClientError> {
        self.runtime.block_on(self.volume.delete())
    }

    /// The entries of its directory `path`.
    pub fn list(&self, path: &str) -> Result<Vec<VolumeEntry>, ClientError> {
        self.runtime.block_on(self.volume.list(path))
    }

    /// The bytes of its file `path`.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, ClientError> {
        self.runtime.block_on(self.volume.read(path))
    }

    /// Writes `bytes` as its file `path`.
    pub fn write(&self, path: &str, bytes: Vec<u8>) -> Result<(), ClientError> {
        self.runtime.block_on(self.volume.write(path, bytes))
    }

    /// Removes its file `path`, or its directory `path` and all it holds when `recursive`.
    pub fn remove(&self, path: &str, recursive: bool) -> Result<(), ClientError> {
        self.runtime.block_on(self.volume.remove(path, recursive))
    }
}
