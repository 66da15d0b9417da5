//! The arguments every command that talks to an `fnhost serve` takes (`--url`, `--token`),
//! and the client they make.
//!
//! Invariant: the flag wins over the environment (`FNHOST_URL`, `FNHOST_TOKEN`, read by
//! `settings`), and the environment over the default, `http://127.0.0.1:7420`; a command that
//! may also run locally (`call`, `list`, `map`) goes to a server only when a URL was given,
//! by flag or environment.

use crate::settings::Settings;
use anyhow::bail;
use clap::Args;
use fnhost_client::Client;

/// The server's address when neither `--url` nor `FNHOST_URL` gives one.
const DEFAULT_URL: &str = "http://127.0.0.1:7420";

/// Where the server is, and its token.
#[derive(Args)]
pub(crate) struct RemoteArgs {
    /// The server's URL (default: `FNHOST_URL`, else http://127.0.0.1:7420).
    #[arg(long, value_name = "URL", global = true)]
    url: Option<String>,
    /// The server's token (default: `FNHOST_TOKEN`).
    #[arg(long, value_name = "TOKEN", global = true)]
    token: Option<String>,
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
            None if self.token.is_some() => {
                bail!("--token is for a server: give its URL with --url or FNHOST_URL")
            }
            None => Ok(None),
        }
    }

    /// Whether `--url` or `--token` was given.
    pub(crate) fn given(&self) -> bool {
        self.url.is_some() || self.token.is_some()
    }

    /// A client of `url`, with the token given.
    fn client_of(&self, url: &str, settings: &Settings) -> anyhow::Result<Client> {
        let client = Client::connect(url)?;
        Ok(match self.token.as_ref().or(settings.token.as_ref()) {
            Some(token) => client.with_token(token.clone()),
            None => client,
        })
    }
}
