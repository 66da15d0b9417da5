//! `fnhost run APP[::ENTRYPOINT]`: run a local entrypoint of the app.

use crate::app_args::AppArgs;
use clap::Args;
use fnhost::HostSettings;
use std::path::PathBuf;

/// The arguments of `fnhost run`.
#[derive(Args)]
pub(crate) struct RunCommand {
    /// The app, optionally followed by `::ENTRYPOINT`.
    target: String,
    #[command(flatten)]
    app: AppArgs,
}

impl RunCommand {
    /// Loads the app and runs the entrypoint named, or its only one.
    pub(crate) async fn execute(self, settings: HostSettings) -> anyhow::Result<()> {
        let (path, entrypoint) = match self.target.rsplit_once("::") {
            Some((path, name)) => (PathBuf::from(path), Some(name.to_owned())),
            None => (PathBuf::from(self.target), None),
        };
        let app = self.app.load(&path, settings).await?;
        app.run_entrypoint(entrypoint.as_deref()).await?;
        Ok(())
    }
}
