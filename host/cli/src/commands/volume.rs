//! `fnhost volume ...`: the host's volumes (Modal's `modal volume`), made, listed, filled and
//! read from the command line, in the state directory (`FNHOST_STATE_DIR`, else the server's
//! default one).
//!
//! Invariant: every path inside a volume goes through the host library's volume operations,
//! which refuse `..`, absolute escapes and symlinks that leave the volume; a local directory
//! is uploaded without following its symlinks.

use crate::commands::storage::open;
use crate::settings::Settings;
use anyhow::Context;
use clap::Subcommand;
use fnhost::{EntryKind, ObjectKind, Volume};
use std::io::Write;
use std::path::{Path, PathBuf};

/// `fnhost volume`: what to do with a volume.
#[derive(Subcommand)]
pub(crate) enum VolumeCommand {
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

impl VolumeCommand {
    /// Carries the command out on the state directory's store.
    pub(crate) async fn execute(self, settings: Settings) -> anyhow::Result<()> {
        let store = open(&settings)?;
        match self {
            VolumeCommand::Create { name } => {
                if store.names(ObjectKind::Volume).await?.contains(&name) {
                    anyhow::bail!("a volume named `{name}` exists already");
                }
                store.volume(&name, true).await?;
            }
            VolumeCommand::List => store
                .names(ObjectKind::Volume)
                .await?
                .iter()
                .for_each(|name| println!("{name}")),
            VolumeCommand::Ls { name, path } => {
                for entry in store.volume(&name, false).await?.list(&path).await? {
                    let kind = match entry.kind {
                        EntryKind::File => "file",
                        EntryKind::Dir => "dir",
                        EntryKind::Symlink => "symlink",
                    };
                    println!("{kind:<7} {:>12} {}", entry.size, entry.path);
                }
            }
            VolumeCommand::Put {
                name,
                local,
                remote,
            } => {
                let volume = store.volume(&name, false).await?;
                let remote = remote_path(&local, remote.as_deref())?;
                put(&volume, &local, &remote).await?;
            }
            VolumeCommand::Get {
                name,
                remote,
                local,
            } => {
                let bytes = store.volume(&name, false).await?.read(&remote).await?;
                write_local(&remote, local.as_deref(), &bytes)?;
            }
            VolumeCommand::Rm {
                name,
                path,
                recursive,
            } => {
                store
                    .volume(&name, false)
                    .await?
                    .remove(&path, recursive)
                    .await?
            }
            VolumeCommand::Delete { name } => {
                if !store.delete(ObjectKind::Volume, &name).await? {
                    anyhow::bail!("no volume named `{name}`");
                }
            }
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
async fn put(volume: &Volume, local: &Path, remote: &str) -> anyhow::Result<()> {
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
