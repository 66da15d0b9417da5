//! `fnhost deploy APP [--with OTHER] [--name NAME] [--allow-http HOST] [--env K=V] [--dir D]
//! [--option F.O=V]`:
//! deploy an app to a server, as a new app or the next version of one (which takes new calls
//! at once).
//!
//! Invariant: crate directories are built here, and only component files are sent; the app
//! is named after its Python source's `App("name")`, else its crate directory or file stem,
//! unless `--name` says otherwise.

use crate::app_args::{DeployArgs, app_name, components};
use crate::remote_args::RemoteArgs;
use crate::settings::Settings;
use clap::Args;
use std::path::PathBuf;

/// The arguments of `fnhost deploy`.
#[derive(Args)]
pub(crate) struct DeployCommand {
    /// The app: a component or a guest crate directory.
    app_path: PathBuf,
    /// The name to deploy it under (default: the name its Python source gives `App(...)`, else
    /// its crate directory's name or file stem).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Another component (or guest crate) of the app; repeatable.
    #[arg(long = "with", value_name = "OTHER")]
    with: Vec<PathBuf>,
    #[command(flatten)]
    settings: DeployArgs,
    /// Print the deployed app as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    remote: RemoteArgs,
}

impl DeployCommand {
    /// Builds the app's components, deploys them and prints what the server made of them.
    pub(crate) async fn execute(self, settings: Settings) -> anyhow::Result<()> {
        let client = self.remote.client(&settings)?;
        let name = match self.name {
            Some(name) => name,
            None => app_name(&self.app_path)?,
        };
        let components = components(&self.app_path, &self.with).await?;
        let app = client
            .deploy(&name, &components, &self.settings.settings()?)
            .await?;
        if self.json {
            println!("{:#}", serde_json::to_value(&app)?);
        } else {
            let functions: Vec<&str> = app.functions.iter().map(|f| f.name.as_str()).collect();
            println!(
                "deployed `{}` version {}: {}",
                app.name,
                app.version,
                functions.join(", ")
            );
        }
        Ok(())
    }
}
