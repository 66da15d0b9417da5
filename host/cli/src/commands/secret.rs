//! `fnhost secret ...`: the host's secrets (Modal's `modal secret`), in the state directory's
//! store, or, with `--url` (or `FNHOST_URL`), on that server (a cluster's, through any host).
//!
//! Invariant: no value is ever printed: `list` shows names and keys, errors name keys.

use crate::commands::storage::open;
use crate::remote_args::RemoteArgs;
use crate::settings::Settings;
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use fnhost::{SecretListing, SecretValues};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `fnhost secret [--url URL] ...`.
#[derive(Args)]
pub(crate) struct SecretArgs {
    #[command(subcommand)]
    command: SecretCommand,
    #[command(flatten)]
    remote: RemoteArgs,
}

/// `fnhost secret`: what to do with a secret.
#[derive(Subcommand)]
enum SecretCommand {
    /// Keep KEY=VALUE pairs (and those of `--from-dotenv`) as the secret NAME.
    Create {
        name: String,
        /// The variables, `KEY=VALUE` each.
        pairs: Vec<String>,
        /// Read `KEY=VALUE` lines from FILE too (`#` comments, blank lines and `export `
        /// prefixes are skipped; a value may be quoted).
        #[arg(long, value_name = "FILE")]
        from_dotenv: Option<PathBuf>,
        /// Replace a secret of that name.
        #[arg(long)]
        force: bool,
    },
    /// List the secrets: each name with its keys (never a value).
    List,
    /// Remove the secret NAME.
    Delete { name: String },
}

impl SecretArgs {
    /// Carries the command out, on the store or the server.
    pub(crate) async fn execute(self, settings: Settings) -> anyhow::Result<()> {
        let target = match self.remote.remote(&settings)? {
            Some(client) => Target::Remote(client),
            None => Target::Local(open(&settings)?),
        };
        match self.command {
            SecretCommand::Create {
                name,
                pairs,
                from_dotenv,
                force,
            } => {
                let mut entries = Vec::new();
                if let Some(file) = &from_dotenv {
                    let text = std::fs::read_to_string(file)
                        .with_context(|| format!("cannot read {}", file.display()))?;
                    entries.extend(dotenv(&text)?);
                }
                for pair in &pairs {
                    entries.push(pair_of(pair)?);
                }
                if entries.is_empty() {
                    bail!("a secret needs at least one KEY=VALUE");
                }
                target.create(&name, entries, force).await?;
            }
            SecretCommand::List => {
                for secret in target.list().await? {
                    println!("{}\t{}", secret.name, secret.keys.join(", "));
                }
            }
            SecretCommand::Delete { name } => target.delete(&name).await?,
        }
        Ok(())
    }
}

/// Where a secret command acts: the state directory's store, or a server's.
enum Target {
    Local(fnhost::Storage),
    Remote(fnhost_client::Client),
}

impl Target {
    async fn create(
        &self,
        name: &str,
        entries: Vec<(String, String)>,
        force: bool,
    ) -> anyhow::Result<()> {
        match self {
            Target::Local(store) => {
                store
                    .create_secret(name, SecretValues::new(entries)?, force)
                    .await?
            }
            Target::Remote(client) => {
                let values: BTreeMap<String, String> = entries.into_iter().collect();
                client.create_secret(name, &values, force).await?
            }
        }
        Ok(())
    }

    async fn list(&self) -> anyhow::Result<Vec<SecretListing>> {
        Ok(match self {
            Target::Local(store) => store.secrets().await?,
            Target::Remote(client) => client
                .secrets()
                .await?
                .into_iter()
                .map(|secret| SecretListing {
                    name: secret.name,
                    keys: secret.keys,
                })
                .collect(),
        })
    }

    async fn delete(&self, name: &str) -> anyhow::Result<()> {
        match self {
            Target::Local(store) => {
                if !store.delete_secret(name).await? {
                    bail!("no secret named `{name}`");
                }
            }
            Target::Remote(client) => client.delete_secret(name).await?,
        }
        Ok(())
    }
}

/// `KEY=VALUE` split in two; an error names the key only.
fn pair_of(pair: &str) -> anyhow::Result<(String, String)> {
    match pair.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => bail!(
            "a variable must be KEY=VALUE (a pair without `=` or with an empty key was given)"
        ),
    }
}

/// The `KEY=VALUE` lines of a dotenv file.
fn dotenv(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut entries = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let (key, value) = pair_of(line).with_context(|| format!("line {}", number + 1))?;
        let value = value.trim();
        let unquoted = [('"', '"'), ('\'', '\'')]
            .iter()
            .find_map(|(open, close)| value.strip_prefix(*open)?.strip_suffix(*close))
            .unwrap_or(value);
        entries.push((key.trim().to_owned(), unquoted.to_owned()));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_lines_are_read_as_users_write_them() {
        let text = "# comment\n\nA=1\nexport B = \"two words\"\nC='x=y'\n";
        let read = dotenv(text).unwrap();
        let expected = [("A", "1"), ("B", "two words"), ("C", "x=y")];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(read, expected);
        let error = dotenv("A=1\nnot a pair\n").unwrap_err();
        assert!(format!("{error:#}").contains("line 2"), "{error:#}");
    }
}
