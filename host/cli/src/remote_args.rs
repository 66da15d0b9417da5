//! The arguments every command that talks to an `fnhost serve` takes (`--url`, `--token`,
//! `--token-file`), and the client they make.
//!
//! Invariant: the flag wins over the environment (`FNHOST_URL`, `FNHOST_TOKEN`, read by
//! `settings`), and the environment over the default, `http://127.0.0.1:7420`; a command that
//! may also run locally (`call`, `list`, `map`) goes to a server only when a URL was given,
//! by flag or environment.

use crate::settings::Settings;
use anyhow::{Context, bail};
use clap::Args;
use fnhost_client::Client;
use std::path::{Path, PathBuf};

/// The server's address when neither `--url` nor `FNHOST_URL` gives one.
const DEFAULT_URL: &str = "http://127.0.0.1:7420";

/// Where the server is, and its token.
#[derive(Args)]
pub(crate) struct RemoteArgs {
    /// The server's URL (default: `FNHOST_URL`, else http://127.0.0.1:7420).
    #[arg(long, value_name = "URL", global = true)]
    url: Option<String>,
    /// The server's token (default: `FNHOST_TOKEN`); every local user sees a flag's value in
    /// the process list: prefer `--token-file` or the environment.
    #[arg(
        long,
        value_name = "TOKEN",
        global = true,
        conflicts_with = "token_file"
    )]
    token: Option<String>,
    /// A file holding the server's token.
    #[arg(long, value_name = "FILE", global = true)]
    token_file: Option<PathBuf>,
}

/// The token given by `flag` (warned about: the process list shows it), else by the file
/// `file` (its surrounding whitespace removed), else by the environment (`FNHOST_TOKEN`).
pub(crate) fn token(
    flag: Option<&String>,
    file: Option<&Path>,
    settings: &Settings,
) -> anyhow::Result<Option<String>> {
    if let Some(token) = flag {
        eprintln!(
            "warning: a token given with --token is seen by every local user (the process \
             list); use --token-file or FNHOST_TOKEN"
        );
        return Ok(Some(token.clone()));
    }
    if let Some(file) = file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the token file {}", file.display()))?;
        let token = text.trim();
        if token.is_empty() {
            bail!("the token file {} is empty", file.display());
        }
        return Ok(Some(token.to_owned()));
    }
    Ok(settings.token.clone())
}

impl RemoteArgs {
    /// A client of the server given, or of the default one.
    pub(crate) fn client(&self, settings: &Settings) -> anyhow::Result<Client> {
        let url = self
            .url
            .as_deref()
            .or(settings.url.as_deref())
            .unwrap_or(DEFAULT_URL);
        self.client_of(url, settings)
    }

    /// A client of the server given by `--url` or `FNHOST_URL`; `None` when neither is set,
    /// for a command that then runs locally (`--token` alone is then refused).
    pub(crate) fn remote(&self, settings: &Settings) -> anyhow::Result<Option<Client>> {
        match self.url.as_deref().or(settings.url.as_deref()) {
            Some(url) => Ok(Some(self.client_of(url, settings)?)),
            None if self.token.is_some() || self.token_file.is_some() => {
                bail!("--token is for a server: give its URL with --url or FNHOST_URL")
            }
            None => Ok(None),
        }
    }

    /// Whether `--url` or `--token` was given.
    pub(crate) fn given(&self) -> bool {
        self.url.is_some() || self.token.is_some() || self.token_file.is_some()
    }

    /// A client of `url`, with the token given.
    fn client_of(&self, url: &str, settings: &Settings) -> anyhow::Result<Client> {
        let client = Client::connect(url)?;
        Ok(
            match token(self.token.as_ref(), self.token_file.as_deref(), settings)? {
                Some(token) => client.with_token(token),
                None => client,
            },
        )
    }
}
