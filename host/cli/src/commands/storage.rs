//! `fnhost dict ...` and `fnhost queue ...`: the host's dicts and queues, read and changed from
//! the command line, in the store of the state directory (`FNHOST_STATE_DIR`, else the
//! server's default one), or, with `--url` (or `FNHOST_URL`), on that server.
//!
//! Keys, values and items are JSON; an argument that is not JSON is taken as a string, so
//! `fnhost dict get scores alice` reads the key `"alice"`. Output is JSON, one value per line.
//!
//! Invariant: locally these commands open the store themselves, so they fail (naming the
//! store) while a server or another `fnhost` process holds it, rather than reading a copy:
//! give that server's `--url` instead.

use crate::remote_args::RemoteArgs;
use crate::settings::Settings;
use anyhow::Context;
use clap::{Args, Subcommand};
use fnhost::{ObjectKind, Storage};
use serde_json::Value;
use std::time::Duration;

/// `fnhost dict [--url URL] ...`.
#[derive(Args)]
pub(crate) struct DictArgs {
    #[command(subcommand)]
    command: DictCommand,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// `fnhost queue [--url URL] ...`.
#[derive(Args)]
pub(crate) struct QueueArgs {
    #[command(subcommand)]
    command: QueueCommand,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// `fnhost dict`: what to do with a dict.
#[derive(Subcommand)]
enum DictCommand {
    /// List the named dicts.
    List,
    /// Print the value of KEY (`null` when absent; exit status 1 with `--strict`).
    Get {
        name: String,
        key: String,
        /// Fail when the key is absent.
        #[arg(long)]
        strict: bool,
    },
    /// Set KEY to VALUE (making the dict when missing); `--skip-if-exists` writes only when
    /// the key is absent, and prints whether it wrote.
    Put {
        name: String,
        key: String,
        value: String,
        #[arg(long)]
        skip_if_exists: bool,
    },
    /// Print every entry as a line `[KEY, VALUE]`, in key order.
    Items { name: String },
    /// Remove every entry.
    Clear { name: String },
    /// Remove the dict.
    Delete { name: String },
}

/// `fnhost queue`: what to do with a queue.
#[derive(Subcommand)]
enum QueueCommand {
    /// List the named queues.
    List,
    /// Append each ITEM (making the queue when missing).
    Put {
        name: String,
        #[arg(required = true)]
        items: Vec<String>,
        #[command(flatten)]
        partition: PartitionArg,
    },
    /// Remove and print up to N items, one per line, waiting up to `--timeout` for the first
    /// (not at all by default).
    Get {
        name: String,
        #[arg(short, default_value_t = 1)]
        n: u32,
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        timeout: Option<Duration>,
        #[command(flatten)]
        partition: PartitionArg,
    },
    /// Print how many items the partition holds (`--total`: every partition).
    Len {
        name: String,
        #[arg(long, conflicts_with = "partition")]
        total: bool,
        #[command(flatten)]
        partition: PartitionArg,
    },
    /// Remove the partition's items (`--all`: every partition's).
    Clear {
        name: String,
        #[arg(long, conflicts_with = "partition")]
        all: bool,
        #[command(flatten)]
        partition: PartitionArg,
    },
    /// Remove the queue.
    Delete { name: String },
}

/// The queue partition a command reads or changes.
#[derive(Args)]
pub(crate) struct PartitionArg {
    /// The partition (the default one when left out).
    #[arg(long)]
    partition: Option<String>,
}

/// The store of the state directory the settings name.
pub(crate) fn open(settings: &Settings) -> anyhow::Result<Storage> {
    let dir = settings
        .host
        .state_dir
        .as_deref()
        .context("no state directory")?;
    Ok(Storage::open(dir, settings.host.storage.clone())?)
}

/// Where a command acts: the state directory's store, or a server's.
enum Target {
    Local(Storage),
    Remote(fnhost_client::Client),
}

impl Target {
    /// The server `remote` names (by flag or `FNHOST_URL`), else the local store.
    fn of(remote: &RemoteArgs, settings: &Settings) -> anyhow::Result<Target> {
        Ok(match remote.remote(settings)? {
            Some(client) => Target::Remote(client),
            None => Target::Local(open(settings)?),
        })
    }

    /// The names of the dicts (or queues) here.
    async fn names(&self, kind: ObjectKind) -> anyhow::Result<Vec<String>> {
        Ok(match (self, kind) {
            (Target::Local(store), kind) => store.names(kind).await?,
            (Target::Remote(client), ObjectKind::Dict) => client.dicts().await?,
            (Target::Remote(client), _) => client.queues().await?,
        })
    }
}

/// `text` as JSON: itself when it is JSON, else the JSON string of it.
fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

fn bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("a JSON value encodes")
}

/// A stored payload as a JSON value.
fn value(payload: &[u8]) -> anyhow::Result<Value> {
    serde_json::from_slice(payload).context("a stored value is not JSON")
}

fn print(value: &Value) {
    println!("{value}");
}

impl DictArgs {
    /// Carries the command out, on the store or the server.
    pub(crate) async fn execute(self, settings: Settings) -> anyhow::Result<()> {
        let target = Target::of(&self.remote, &settings)?;
        match self.command {
            DictCommand::List => target
                .names(ObjectKind::Dict)
                .await?
                .iter()
                .for_each(|name| println!("{name}")),
            DictCommand::Get { name, key, strict } => {
                match dict_get(&target, &name, &json(&key)).await? {
                    Some(value) => print(&value),
                    None if strict => anyhow::bail!("no key {key} in the dict `{name}`"),
                    None => println!("null"),
                }
            }
            DictCommand::Put {
                name,
                key,
                value,
                skip_if_exists,
            } => {
                let wrote =
                    dict_put(&target, &name, &json(&key), &json(&value), skip_if_exists).await?;
                if skip_if_exists {
                    println!("{wrote}");
                }
            }
            DictCommand::Items { name } => {
                for (key, value) in dict_items(&target, &name).await? {
                    println!("[{key},{value}]");
                }
            }
            DictCommand::Clear { name } => match &target {
                Target::Local(store) => store.dict(&name, false).await?.clear().await?,
                Target::Remote(client) => client.dict::<Value, Value>(&name).clear().await?,
            },
            DictCommand::Delete { name } => match &target {
                Target::Local(store) => {
                    if !store.delete(ObjectKind::Dict, &name).await? {
                        anyhow::bail!("no dict named `{name}`");
                    }
                }
                Target::Remote(client) => client.dict::<Value, Value>(&name).delete().await?,
            },
        }
        Ok(())
    }
}

async fn dict_get(target: &Target, name: &str, key: &Value) -> anyhow::Result<Option<Value>> {
    Ok(match target {
        Target::Local(store) => match store.dict(name, false).await?.get(&bytes(key)).await? {
            Some(payload) => Some(value(&payload)?),
            None => None,
        },
        Target::Remote(client) => client.dict::<Value, Value>(name).get(key).await?,
    })
}

async fn dict_put(
    target: &Target,
    name: &str,
    key: &Value,
    value: &Value,
    skip_if_exists: bool,
) -> anyhow::Result<bool> {
    Ok(match target {
        Target::Local(store) => {
            let dict = store.dict(name, true).await?;
            dict.put(&bytes(key), bytes(value), skip_if_exists).await?
        }
        Target::Remote(client) => {
            let dict = client.dict::<Value, Value>(name);
            match skip_if_exists {
                true => dict.put_if_absent(key, value).await?,
                false => dict.put(key, value).await?,
            }
        }
    })
}

async fn dict_items(target: &Target, name: &str) -> anyhow::Result<Vec<(Value, Value)>> {
    let store = match target {
        Target::Local(store) => store,
        Target::Remote(client) => return Ok(client.dict::<Value, Value>(name).items().await?),
    };
    let dict = store.dict(name, false).await?;
    let mut items = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = dict.entries(after.as_deref(), 1000).await?;
        for (key, payload) in &page {
            items.push((value(key)?, value(payload)?));
        }
        match page.into_iter().last() {
            Some((key, _)) => after = Some(key),
            None => return Ok(items),
        }
    }
}

impl QueueArgs {
    /// Carries the command out, on the store or the server.
    pub(crate) async fn execute(self, settings: Settings) -> anyhow::Result<()> {
        let target = Target::of(&self.remote, &settings)?;
        let ttl = u32::try_from(fnhost::MAX_PARTITION_TTL.as_secs()).unwrap_or(u32::MAX);
        match (self.command, &target) {
            (QueueCommand::List, target) => target
                .names(ObjectKind::Queue)
                .await?
                .iter()
                .for_each(|name| println!("{name}")),
            (
                QueueCommand::Put {
                    name,
                    items,
                    partition,
                },
                Target::Local(store),
            ) => {
                let items = items.iter().map(|item| bytes(&json(item))).collect();
                let queue = store.queue(&name, true).await?;
                let partition = partition.partition.as_deref();
                queue
                    .put(items, partition, ttl, Some(Duration::ZERO))
                    .await?;
            }
            (
                QueueCommand::Put {
                    name,
                    items,
                    partition,
                },
                Target::Remote(client),
            ) => {
                let items: Vec<Value> = items.iter().map(|item| json(item)).collect();
                let queue = client.queue::<Value>(&name);
                queue
                    .put_many(&items, partition.partition.as_deref(), None)
                    .await?;
            }
            (
                QueueCommand::Get {
                    name,
                    n,
                    timeout,
                    partition,
                },
                Target::Local(store),
            ) => {
                let queue = store.queue(&name, false).await?;
                let wait = Some(timeout.unwrap_or_default());
                for item in queue.get(n, partition.partition.as_deref(), wait).await? {
                    print(&value(&item)?);
                }
            }
            (
                QueueCommand::Get {
                    name,
                    n,
                    timeout,
                    partition,
                },
                Target::Remote(client),
            ) => {
                let queue = client.queue::<Value>(&name);
                for item in queue
                    .get_many(n, partition.partition.as_deref(), timeout)
                    .await?
                {
                    print(&item);
                }
            }
            (
                QueueCommand::Len {
                    name,
                    total,
                    partition,
                },
                Target::Local(store),
            ) => {
                let queue = store.queue(&name, false).await?;
                println!(
                    "{}",
                    queue.len(partition.partition.as_deref(), total).await?
                );
            }
            (
                QueueCommand::Len {
                    name,
                    total,
                    partition,
                },
                Target::Remote(client),
            ) => {
                let queue = client.queue::<Value>(&name);
                let len = match total {
                    true => queue.len_total().await?,
                    false => queue.len(partition.partition.as_deref()).await?,
                };
                println!("{len}");
            }
            (
                QueueCommand::Clear {
                    name,
                    all,
                    partition,
                },
                Target::Local(store),
            ) => {
                let queue = store.queue(&name, false).await?;
                queue.clear(partition.partition.as_deref(), all).await?;
            }
            (
                QueueCommand::Clear {
                    name,
                    all,
                    partition,
                },
                Target::Remote(client),
            ) => {
                let queue = client.queue::<Value>(&name);
                match all {
                    true => queue.clear_all().await?,
                    false => queue.clear(partition.partition.as_deref()).await?,
                }
            }
            (QueueCommand::Delete { name }, Target::Local(store)) => {
                if !store.delete(ObjectKind::Queue, &name).await? {
                    anyhow::bail!("no queue named `{name}`");
                }
            }
            (QueueCommand::Delete { name }, Target::Remote(client)) => {
                client.queue::<Value>(&name).delete().await?;
            }
        }
        Ok(())
    }
}
