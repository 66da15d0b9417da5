//! `fnhost spawn APP FUNCTION [JSON]`: start a call on a server and print its id, for
//! `fnhost get` and `fnhost cancel` (from any process, for as long as the server retains it).
//!
//! Invariant: the arguments follow `fnhost call`'s convention and are checked to be JSON
//! before anything is sent; the id is the only thing printed on stdout.

use crate::commands::call::parse;
use crate::remote_args::RemoteArgs;
use crate::settings::Settings;
use clap::Args;

/// The arguments of `fnhost spawn`.
#[derive(Args)]
pub(crate) struct SpawnCommand {
    /// The deployed app's name.
    app: String,
    /// The function's name.
    function: String,
    /// The arguments: the value itself for a one-parameter function, a JSON array for
    /// several, nothing (or `[]`) for none.
    #[arg(value_name = "JSON")]
    args: Option<String>,
    #[command(flatten)]
    remote: RemoteArgs,
}

impl SpawnCommand {
    /// Spawns the call and prints its id.
    pub(crate) async fn execute(self, settings: Settings) -> anyhow::Result<()> {
        let client = self.remote.client(&settings)?;
        let given = match &self.args {
            Some(text) => {
                parse(&self.function, text.as_bytes())?;
                text.clone().into_bytes()
            }
            None => Vec::new(),
        };
        let call = client
            .function_in(&self.app, &self.function)
            .spawn_json::<serde::de::IgnoredAny>(given)
            .await?;
        println!("{}", call.id());
        Ok(())
    }
}
