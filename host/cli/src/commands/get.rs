//! `fnhost get ID [--timeout DURATION]`: wait for a spawned call's result and print it.
//!
//! Invariant: prints the result's JSON as the function encoded it (checked as `fnhost call`
//! checks it) and exits 0; the call's error, or a call still running when `--timeout` runs
//! out, exits 1 with the error on stderr. Without `--timeout`, waits as long as the call runs.

use crate::commands::call::print_result;
use crate::remote_args::RemoteArgs;
use crate::settings::Settings;
use clap::Args;
use fnhost_client::FunctionCall;
use std::time::Duration;

/// The arguments of `fnhost get`.
#[derive(Args)]
pub(crate) struct GetCommand {
    /// The call's id (`fc-...`, as `fnhost spawn` printed it).
    id: String,
    /// Waits at most this long (e.g. `5s`, `500ms`); the call goes on after it.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    timeout: Option<Duration>,
    #[command(flatten)]
    remote: RemoteArgs,
}

impl GetCommand {
    /// Waits for the result and prints it.
    pub(crate) async fn execute(self, settings: Settings) -> anyhow::Result<()> {
        let client = self.remote.client(&settings)?;
        let call = FunctionCall::<serde::de::IgnoredAny>::from_id(&client, &self.id)?;
        let result = match self.timeout {
            Some(timeout) => call.get_raw_timeout(timeout).await?,
            None => call.get_raw().await?,
        };
        print_result(&self.id, &result)
    }
}
