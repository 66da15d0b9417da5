//! `fnhost dict ...` and `fnhost queue ...`: the host's dicts and queues, read and changed from
//! the command line, in the store of the state directory (`FNHOST_STATE_DIR`, else the
//! server's default one).
//!
//! Keys, values and items are JSON; an argument that is not JSON is taken as a string, so
//! `fnhost dict get scores alice` reads the key `"alice"`. Output is JSON, one value per line.
//!
//! Invariant: these commands open the store themselves, so they fail (naming the store) while
//! a server or another `fnhost` process holds it, rather than reading a copy.

use crate::settings::Settings;
use anyhow::Context;
use clap::{Args, Subcommand};
use fnhost::{ObjectKind, Storage};
use std::time::Duration;

/// `fnhost dict`: what to do with a dict.
#[derive(Subcommand)]
pub(crate) enum DictCommand {
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
pub(crate) enum QueueCommand {
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

/// `text` as JSON: itself when it is JSON, else the JSON string of it.
fn json(text: &str) -> Vec<u8> {
    match serde_json::from_str::<serde::de::IgnoredAny>(text) {
        Ok(_) => text.as_bytes().to_vec(),
        Err(_) => serde_json::to_vec(text).expect("a string serializes"),
    }
}

fn print(payload: &[u8]) {
    println!("{}", String::from_utf8_lossy(payload));
}

impl DictCommand {
    /// Carries the command out on the store.
    pub(crate) async fn execute(self, settings: Settings) -> anyhow::Result<()> {
        let store = open(&settings)?;
        match self {
            DictCommand::List => store
                .names(ObjectKind::Dict)?
                .iter()
                .for_each(|name| println!("{name}")),
            DictCommand::Get { name, key, strict } => {
                match store.dict(&name, false).await?.get(&json(&key)).await? {
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
                let dict = store.dict(&name, true).await?;
                let wrote = dict.put(&json(&key), json(&value), skip_if_exists).await?;
                if skip_if_exists {
                    println!("{wrote}");
                }
            }
            DictCommand::Items { name } => {
                let dict = store.dict(&name, false).await?;
                let mut after: Option<Vec<u8>> = None;
                loop {
                    let page = dict.entries(after.as_deref(), 1000).await?;
                    for (key, value) in &page {
                        println!(
                            "[{},{}]",
                            String::from_utf8_lossy(key),
                            String::from_utf8_lossy(value)
                        );
                    }
                    match page.into_iter().last() {
                        Some((key, _)) => after = Some(key),
                        None => break,
                    }
                }
            }
            DictCommand::Clear { name } => store.dict(&name, false).await?.clear().await?,
            DictCommand::Delete { name } => {
                if !store.delete(ObjectKind::Dict, &name).await? {
                    anyhow::bail!("no dict named `{name}`");
                }
            }
        }
        Ok(())
    }
}

impl QueueCommand {
    /// Carries the command out on the store.
    pub(crate) async fn execute(self, settings: Settings) -> anyhow::Result<()> {
        let store = open(&settings)?;
        let ttl = u32::try_from(fnhost::MAX_PARTITION_TTL.as_secs()).unwrap_or(u32::MAX);
        match self {
            QueueCommand::List => store
                .names(ObjectKind::Queue)?
                .iter()
                .for_each(|name| println!("{name}")),
            QueueCommand::Put {
                name,
                items,
                partition,
            } => {
                let items = items.iter().map(|item| json(item)).collect();
                let queue = store.queue(&name, true).await?;
                queue
                    .put(
                        items,
                        partition.partition.as_deref(),
                        ttl,
                        Some(Duration::ZERO),
                    )
                    .await?;
            }
            QueueCommand::Get {
                name,
                n,
                timeout,
                partition,
            } => {
                let queue = store.queue(&name, false).await?;
                let timeout = Some(timeout.unwrap_or_default());
                for item in queue
                    .get(n, partition.partition.as_deref(), timeout)
                    .await?
                {
                    print(&item);
                }
            }
            QueueCommand::Len {
                name,
                total,
                partition,
            } => {
                let queue = store.queue(&name, false).await?;
                println!(
                    "{}",
                    queue.len(partition.partition.as_deref(), total).await?
                );
            }
            QueueCommand::Clear {
                name,
                all,
                partition,
            } => {
                let queue = store.queue(&name, false).await?;
                queue.clear(partition.partition.as_deref(), all).await?;
            }
            QueueCommand::Delete { name } => {
                if !store.delete(ObjectKind::Queue, &name).await? {
                    anyhow::bail!("no queue named `{name}`");
                }
            }
        }
        Ok(())
    }
}
