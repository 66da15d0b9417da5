//! The cluster's shared state: the dicts, queues, volumes and secrets of every host, on
//! JetStream (fnhost's `RemoteState`). A dict is a key-value bucket (`dicts`), a queue a
//! work-queue stream with a subject per partition (`queues`), a volume an object store
//! (`volumes`), secrets one bucket every host watches (`secrets`); names map to ids in one
//! more bucket ([`names::STATE_NAMES`]).
//!
//! Invariants: two hosts opening one name at once get one object (the name's key is made with
//! KV's `create`; the loser removes what it made and takes the winner's); every operation
//! either has the server's acknowledgement or fails with `unavailable` — a host keeps nothing
//! of its own, so a host that dies loses nothing acknowledged. The state uses a connection of
//! its own, with echo on, so a host hears the puts and acks of its own getters and putters.

mod dicts;
mod queues;
mod secrets;
mod volumes;

use crate::connection::NatsConnection;
use crate::error::ClusterError;
use crate::names::{self, STATE_NAMES};
use async_nats::jetstream::{self, kv};
use dicts::KvDict;
use fnhost::remote::{RemoteFuture, RemoteObject, RemoteState};
use fnhost::{ObjectKind, SecretListing, SecretValues, StorageError};
use futures::TryStreamExt;
use queues::StreamQueue;
use secrets::Secrets;
use std::sync::Arc;
use std::time::Duration;
use volumes::ObjectVolume;

/// The state the hosts of one cluster share. Cheap to clone.
#[derive(Clone)]
pub(crate) struct SharedState {
    inner: Arc<StateInner>,
}

pub(crate) struct StateInner {
    pub(crate) client: async_nats::Client,
    pub(crate) jetstream: jetstream::Context,
    names: kv::Store,
    secrets: Secrets,
    /// A dict entry lives this long after its last write.
    entry_ttl: Duration,
}

impl SharedState {
    /// Connects through `connection` and opens (or makes) the names and secrets buckets; `entry_ttl` is
    /// how long a dict entry lives after its last write.
    pub(crate) async fn open(
        connection: &NatsConnection,
        host_name: &str,
        request_timeout: Duration,
        entry_ttl: Duration,
    ) -> Result<SharedState, ClusterError> {
        let options = async_nats::ConnectOptions::new()
            .name(format!("fnhost {host_name} state"))
            .max_reconnects(None);
        let client = connection.connect(options, request_timeout).await?;
        let mut jetstream = jetstream::new(client.clone());
        jetstream.set_timeout(request_timeout);
        let setup = |what: &'static str| {
            move |error: &dyn std::fmt::Display| ClusterError::Setup {
                what,
                reason: error.to_string(),
            }
        };
        let names = jetstream
            .create_or_update_key_value(kv::Config {
                bucket: STATE_NAMES.into(),
                description: "fnhost: the names of the cluster's dicts and queues".into(),
                history: 1,
                ..Default::default()
            })
            .await
            .map_err(|error| setup(STATE_NAMES)(&error))?;
        let secrets = Secrets::open(&jetstream)
            .await
            .map_err(|error| setup(names::SECRETS)(&error))?;
        Ok(SharedState {
            inner: Arc::new(StateInner {
                client,
                jetstream,
                names,
                secrets,
                entry_ttl,
            }),
        })
    }

    /// Makes a new object of `kind` (`name`, or none for an ephemeral one; a volume has a
    /// name).
    async fn make(
        &self,
        kind: ObjectKind,
        name: Option<&str>,
    ) -> Result<RemoteObject, StorageError> {
        let id = format!("{}{:032x}", kind.prefix(), rand::random::<u128>());
        let owned = name.is_none();
        match kind {
            ObjectKind::Dict => {
                let dict = KvDict::make(&self.inner, id, name, owned).await?;
                Ok(RemoteObject::Dict(Arc::new(dict)))
            }
            ObjectKind::Queue => {
                let queue = StreamQueue::make(&self.inner, id, name, owned).await?;
                Ok(RemoteObject::Queue(Arc::new(queue)))
            }
            ObjectKind::Volume => {
                let name =
                    name.ok_or_else(|| StorageError::Invalid("a volume has a name".into()))?;
                let volume = ObjectVolume::make(&self.inner, id, name).await?;
                Ok(RemoteObject::Volume(Arc::new(volume)))
            }
        }
    }

    /// Opens the existing object of `kind` whose id is `id`.
    async fn open_id(&self, kind: ObjectKind, id: &str) -> Result<RemoteObject, StorageError> {
        let not_found = || {
            let shown: String = id.chars().take(64).collect();
            StorageError::NotFound(format!("no {} has the id `{shown}`", kind.word()))
        };
        let hex = id.strip_prefix(kind.prefix()).ok_or_else(not_found)?;
        if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_found());
        }
        let opened = match kind {
            ObjectKind::Dict => KvDict::open(&self.inner, id)
                .await?
                .map(|dict| RemoteObject::Dict(Arc::new(dict))),
            ObjectKind::Queue => StreamQueue::open(&self.inner, id)
                .await?
                .map(|queue| RemoteObject::Queue(Arc::new(queue))),
            ObjectKind::Volume => ObjectVolume::open(&self.inner, id)
                .await?
                .map(|volume| RemoteObject::Volume(Arc::new(volume))),
        };
        opened.ok_or_else(not_found)
    }

    /// The id the name `key` maps to, if any.
    async fn id_of(&self, key: &str) -> Result<Option<String>, StorageError> {
        let found = self.inner.names.get(key).await;
        let found = found.map_err(unavailable("reading the cluster's names"))?;
        Ok(found.map(|id| String::from_utf8_lossy(&id).into_owned()))
    }

    async fn named(
        &self,
        kind: ObjectKind,
        name: &str,
        create: bool,
    ) -> Result<RemoteObject, StorageError> {
        let key = names::state_name_key(kind.word(), name);
        loop {
            if let Some(id) = self.id_of(&key).await? {
                match self.open_id(kind, &id).await {
                    Err(StorageError::NotFound(_)) => {
                        // Its object went (a delete half done): the name is free again.
                        let freed = self.inner.names.delete(&key).await;
                        freed.map_err(unavailable("freeing a name"))?;
                        continue;
                    }
                    opened => return opened,
                }
            }
            if !create {
                return Err(StorageError::NotFound(format!(
                    "no {} named `{name}` (create it with create_if_missing)",
                    kind.word()
                )));
            }
            let made = self.make(kind, Some(name)).await?;
            let id = object_id(&made).to_owned();
            match self.inner.names.create(&key, id.into_bytes().into()).await {
                Ok(_) => return Ok(made),
                Err(error) if error.kind() == kv::CreateErrorKind::AlreadyExists => {
                    // Another host made it first: drop ours, take theirs.
                    remove_object(&self.inner.jetstream, &made).await;
                }
                Err(error) => {
                    remove_object(&self.inner.jetstream, &made).await;
                    return Err(unavailable("naming an object")(error));
                }
            }
        }
    }

    async fn names(&self, kind: ObjectKind) -> Result<Vec<String>, StorageError> {
        let prefix = format!("{}.", kind.word());
        let keys = self.inner.names.keys().await;
        let keys: Vec<String> = keys
            .map_err(unavailable("listing the cluster's names"))?
            .try_collect()
            .await
            .map_err(unavailable("listing the cluster's names"))?;
        let mut found: Vec<String> = keys
            .iter()
            .filter_map(|key| key.strip_prefix(&prefix))
            .filter_map(names::untoken)
            .filter_map(|name| String::from_utf8(name).ok())
            .collect();
        found.sort();
        Ok(found)
    }

    async fn delete(&self, kind: ObjectKind, name: &str) -> Result<bool, StorageError> {
        let key = names::state_name_key(kind.word(), name);
        let Some(id) = self.id_of(&key).await? else {
            return Ok(false);
        };
        self.inner
            .names
            .delete(&key)
            .await
            .map_err(unavailable("removing a name"))?;
        let removed = remove_stored(&self.inner.jetstream, kind, &id).await;
        if let Err(error) = removed {
            tracing::warn!(%id, %error, "a removed name's object stays on the NATS server");
        }
        Ok(true)
    }
}

impl RemoteState for SharedState {
    fn named(&self, kind: ObjectKind, name: &str, create: bool) -> RemoteFuture<'_, RemoteObject> {
        let name = name.to_owned();
        Box::pin(async move { SharedState::named(self, kind, &name, create).await })
    }

    fn ephemeral(&self, kind: ObjectKind) -> RemoteFuture<'_, RemoteObject> {
        Box::pin(self.make(kind, None))
    }

    fn by_id(&self, kind: ObjectKind, id: &str) -> RemoteFuture<'_, RemoteObject> {
        let id = id.to_owned();
        Box::pin(async move { self.open_id(kind, &id).await })
    }

    fn names(&self, kind: ObjectKind) -> RemoteFuture<'_, Vec<String>> {
        Box::pin(SharedState::names(self, kind))
    }

    fn delete(&self, kind: ObjectKind, name: &str) -> RemoteFuture<'_, bool> {
        let name = name.to_owned();
        Box::pin(async move { SharedState::delete(self, kind, &name).await })
    }

    fn create_secret(
        &self,
        name: &str,
        values: SecretValues,
        overwrite: bool,
    ) -> RemoteFuture<'_, ()> {
        let name = name.to_owned();
        Box::pin(async move { self.inner.secrets.create(&name, values, overwrite).await })
    }

    fn secret(&self, name: &str) -> Result<SecretValues, StorageError> {
        self.inner.secrets.get(name)
    }

    fn secrets(&self) -> RemoteFuture<'_, Vec<SecretListing>> {
        Box::pin(self.inner.secrets.list())
    }

    fn delete_secret(&self, name: &str) -> RemoteFuture<'_, bool> {
        let name = name.to_owned();
        Box::pin(async move { self.inner.secrets.delete(&name).await })
    }
}

fn object_id(object: &RemoteObject) -> &str {
    match object {
        RemoteObject::Dict(dict) => dict.id(),
        RemoteObject::Queue(queue) => queue.id(),
        RemoteObject::Volume(volume) => volume.id(),
    }
}

/// Removes what `object` keeps on the server (an object made for a name another host took).
async fn remove_object(jetstream: &jetstream::Context, object: &RemoteObject) {
    let kind = match object {
        RemoteObject::Dict(_) => ObjectKind::Dict,
        RemoteObject::Queue(_) => ObjectKind::Queue,
        RemoteObject::Volume(_) => ObjectKind::Volume,
    };
    if let Err(error) = remove_stored(jetstream, kind, object_id(object)).await {
        tracing::warn!(id = object_id(object), %error, "an unused object stays on the NATS server");
    }
}

/// Removes the bucket, stream or object store of the object `id` of `kind`.
async fn remove_stored(
    jetstream: &jetstream::Context,
    kind: ObjectKind,
    id: &str,
) -> Result<(), String> {
    match kind {
        ObjectKind::Dict => jetstream
            .delete_key_value(names::dict_bucket(id))
            .await
            .map(drop)
            .map_err(|error| error.to_string()),
        ObjectKind::Queue => jetstream
            .delete_stream(names::queue_stream(id))
            .await
            .map(drop)
            .map_err(|error| error.to_string()),
        ObjectKind::Volume => jetstream
            .delete_object_store(names::volume_bucket(id))
            .await
            .map(drop)
            .map_err(|error| error.to_string()),
    }
}

/// The stream `stream` of one of the cluster's objects, and the name its description gives
/// after `described` (`None` for an ephemeral object); `None` when there is no such stream, or
/// it is not one of ours.
pub(crate) async fn described_stream(
    jetstream: &jetstream::Context,
    stream: String,
    described: &str,
) -> Result<Option<(jetstream::stream::Stream, Option<String>)>, StorageError> {
    let stream = match jetstream.get_stream(stream).await {
        Ok(stream) => stream,
        Err(error) if is_not_found(&error) => return Ok(None),
        Err(error) => return Err(unavailable("opening an object")(error)),
    };
    let description = stream.cached_info().config.description.clone();
    let Some(name) = description
        .as_deref()
        .and_then(|d| d.strip_prefix(described))
    else {
        return Ok(None);
    };
    let name = (!name.is_empty()).then(|| name.to_owned());
    Ok(Some((stream, name)))
}

/// Whether `error` says the stream does not exist.
fn is_not_found(error: &jetstream::context::GetStreamError) -> bool {
    matches!(
        error.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(ref error)
            if error.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}

/// An `unavailable` error for a failed `what`, naming NATS.
pub(crate) fn unavailable<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> StorageError {
    move |error| StorageError::Unavailable(format!("{what} on the NATS server: {error}"))
}

impl StateInner {
    /// How long a dict entry lives after its last write.
    pub(crate) fn entry_ttl(&self) -> Duration {
        self.entry_ttl
    }
}
