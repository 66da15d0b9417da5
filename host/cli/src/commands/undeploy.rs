//! `fnhost undeploy NAME`: remove a deployed app from a server; it takes no more calls.
//!
//! Invariant: prints nothing on success; an unknown app is an error (`not found`).

use crate::remote_args::RemoteArgs;
use crate::settings::Settings;
use clap::Args;

/// The arguments of `fnhost undeploy`.
#[derive(Args)]
pub(crate) struct UndeployCommand {
    /// The deployed app's name.
    name: String,
    #[command(flatten)]
    remote: RemoteArgs,
}

impl UndeployCommand {
    /// Undeploys the app.
    pub(crate) async fn execute(self, settings: Settings) -> anyhow::Result<()> {
        Ok(self.remote.client(&settings)?.undeploy(&self.name).await?)
    }
}
