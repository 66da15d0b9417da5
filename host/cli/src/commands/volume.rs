//! `fnhost volume ...`: the host's volumes (Modal's `modal volume`), made, listed, filled and
//! read from the command line, in the state directory (`FNHOST_STATE_DIR`, else the server's
//! default one), or, with `--url` (or `FNHOST_URL`), on that server (a cluster's, through any
//! host).
//!
//! Invariant: every path inside a volume goes through the host library's volume operations
//! (here, or the server's), which refuse `..`, absolute escapes and symlinks that leave the
//! volume; a local directory is uploaded without following its symlinks.

use crate::commands::storage::open;
use crate::remote_args::RemoteArgs;
use crate::settings::Settings;
use anyhow::Context;
use clap::{Args, Subcommand};
use fnhost::{EntryKind, ObjectKind, Storage};
use std::io::Write;
use std::path::{Path, PathBuf};

/// `fnhost volume [--url URL] ...`.
#[derive(Args)]
pub(crate) struct VolumeArgs {
    #[command(subcommand)]
    command: VolumeCommand,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// `fnhost volume`: what to do with a volume.
#[derive(Subcommand)]
enum VolumeCommand {
    /// Make an empty volume.
    Create { name: String },
    /// List the volumes.
    List,
    /// List the directory PATH of a volume (its root by default): kind, size and path.
    Ls {
        name: String,
        #[arg(default_value = "/")]
        path: String,
    },
    /// Copy the local file or directory LOCAL into the volume, as REMOTE (by default, its
    /// name at the volume's root; a REMOTE ending in `/` takes LOCAL's name inside it).
    Put {
        name: String,
        local: PathBuf,
        remote: Option<String>,
    },
    /// Copy the volume's file REMOTE to LOCAL (by default, its name in the current
    /// directory; `-` prints it).
    Get {
        name: String,
        remote: String,
        local: Option<PathBuf>,
    },
    /// Remove the file PATH of a volume (`-r`: a directory and all it holds).
    Rm {
        name: String,
        path: String,
        #[arg(short, long)]
        recursive: bool,
    },
    /// Remove a volume and all its files.
    Delete { name: String },
}

impl VolumeArgs {
    /// Carries the command out, on the state directory's store or the server.
    pub(crate) async fn execute(self, settings: Settings) -> anyhow::Result<()> {
        let target = match self.remote.remote(&settings)? {
            Some(client) => Target::Remote(client),
            None => Target::Local(open(&settings)?),
        };
        match self.command {
            VolumeCommand::Create { name } => target.create(&name).await?,
            VolumeCommand::List => target
                .names()
                .await?
                .iter()
                .for_each(|name| println!("{name}")),
            VolumeCommand::Ls { name, path } => {
                for (kind, size, path) in target.volume(&name).await?.list(&path).await? {
                    println!("{kind:<7} {size:>12} {path}");
                }
            }
            VolumeCommand::Put {
                name,
                local,
                remote,
            } => {
                let volume = target.volume(&name).await?;
                let remote = remote_path(&local, remote.as_deref())?;
                put(&volume, &local, &remote).await?;
            }
            VolumeCommand::Get {
                name,
                remote,
                local,
            } => {
                let bytes = target.volume(&name).await?.read(&remote).await?;
                write_local(&remote, local.as_deref(), &bytes)?;
            }
            VolumeCommand::Rm {
                name,
                path,
                recursive,
            } => target.volume(&name).await?.remove(&path, recursive).await?,
            VolumeCommand::Delete { name } => target.delete(&name).await?,
        }
        Ok(())
    }
}

/// Where a volume command acts: the state directory's store, or a server's.
enum Target {
    Local(Storage),
    Remote(fnhost_client::Client),
}

impl Target {
    async fn create(&self, name: &str) -> anyhow::Result<()> {
        let made = match self {
            Target::Local(store) => {
                let existed = store
                    .names(ObjectKind::Volume)
                    .await?
                    .contains(&name.to_owned());
                store.volume(name, true).await?;
                !existed
            }
            Target::Remote(client) => client.volume(name).create().await?,
        };
        anyhow::ensure!(made, "a volume named `{name}` exists already");
        Ok(())
    }

    async fn names(&self) -> anyhow::Result<Vec<String>> {
        Ok(match self {
            Target::Local(store) => store.names(ObjectKind::Volume).await?,
            Target::Remote(client) => client.volumes().await?,
        })
    }

    /// The volume `name`, which must exist.
    async fn volume(&self, name: &str) -> anyhow::Result<Files> {
        Ok(match self {
            Target::Local(store) => Files::Local(store.volume(name, false).await?),
            Target::Remote(client) => Files::Remote(client.volume(name)),
        })
    }

    async fn delete(&self, name: &str) -> anyhow::Result<()> {
        match self {
            Target::Local(store) => {
                anyhow::ensure!(
                    store.delete(ObjectKind::Volume, name).await?,
                    "no volume named `{name}`"
                );
            }
            Target::Remote(client) => client.volume(name).delete().await?,
        }
        Ok(())
    }
}

/// A volume's files, here or on a server.
enum Files {
    Local(fnhost::Volume),
    Remote(fnhost_client::Volume),
}

impl Files {
    /// The entries of directory `path`: kind, size and path each.
    async fn list(&self, path: &str) -> anyhow::Result<Vec<(String, u64, String)>> {
        Ok(match self {
            Files::Local(volume) => volume
                .list(path)
                .await?
                .into_iter()
                .map(|entry| {
                    let kind = match entry.kind {
                        EntryKind::File => "file",
                        EntryKind::Dir => "dir",
                        EntryKind::Symlink => "symlink",
                    };
                    (kind.to_owned(), entry.size, entry.path)
                })
                .collect(),
            Files::Remote(volume) => volume
                .list(path)
                .await?
                .into_iter()
                .map(|entry| (entry.kind, entry.size, entry.path))
                .collect(),
        })
    }

    async fn read(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        Ok(match self {
            Files::Local(volume) => volume.read(path).await?,
            Files::Remote(volume) => volume.read(path).await?,
        })
    }

    async fn write(&self, path: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        match self {
            Files::Local(volume) => volume.write(path, bytes).await?,
            Files::Remote(volume) => volume.write(path, bytes).await?,
        }
        Ok(())
    }

    async fn remove(&self, path: &str, recursive: bool) -> anyhow::Result<()> {
        match self {
            Files::Local(volume) => volume.remove(path, recursive).await?,
            Files::Remote(volume) => volume.remove(path, recursive).await?,
        }
        Ok(())
    }
}

/// Where LOCAL goes in the volume: REMOTE, REMOTE/NAME when REMOTE ends in `/`, else /NAME.
fn remote_path(local: &Path, remote: Option<&str>) -> anyhow::Result<String> {
    let file_name = || {
        local
            .file_name()
            .and_then(|name| name.to_str())
            .with_context(|| format!("{} has no name to use in the volume", local.display()))
    };
    Ok(match remote {
        Some(remote) if !remote.ends_with('/') => remote.to_owned(),
        Some(dir) => format!("{dir}{}", file_name()?),
        None => format!("/{}", file_name()?),
    })
}

/// Copies the file or directory `local` to `remote`, a directory file by file; symlinks in it
/// are skipped, not followed.
async fn put(volume: &Files, local: &Path, remote: &str) -> anyhow::Result<()> {
    let mut pending = vec![(local.to_owned(), remote.to_owned())];
    while let Some((local, remote)) = pending.pop() {
        let kind = std::fs::symlink_metadata(&local)
            .with_context(|| format!("cannot read {}", local.display()))?
            .file_type();
        if kind.is_dir() {
            for entry in std::fs::read_dir(&local)? {
                let entry = entry?;
                let name = entry.file_name();
                let name = name
                    .to_str()
                    .with_context(|| format!("{:?} is not UTF-8", entry.path()))?;
                pending.push((
                    entry.path(),
                    format!("{}/{name}", remote.trim_end_matches('/')),
                ));
            }
        } else if kind.is_file() {
            let bytes = std::fs::read(&local)
                .with_context(|| format!("cannot read {}", local.display()))?;
            volume.write(&remote, bytes).await?;
        } else {
            eprintln!("skipped {} (not a file or directory)", local.display());
        }
    }
    Ok(())
}

/// Writes what was read of `remote` to `local` (its name here by default; `-` is stdout).
fn write_local(remote: &str, local: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    if local == Some(Path::new("-")) {
        std::io::stdout().write_all(bytes)?;
        return Ok(());
    }
    let local = match local {
        Some(path) => path.to_owned(),
        None => PathBuf::from(
            Path::new(remote)
                .file_name()
                .with_context(|| format!("`{remote}` has no file name: give LOCAL"))?,
        ),
    };
    std::fs::write(&local, bytes).with_context(|| format!("cannot write {}", local.display()))
}
