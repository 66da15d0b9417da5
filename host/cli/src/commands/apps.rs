//! `fnhost apps [--json]`: the apps deployed on a server.
//!
//! Invariant: one row per app, in the server's order, with its version, when that version
//! was deployed and its functions; `--json` prints the server's listing as it is.

use crate::remote_args::RemoteArgs;
use crate::settings::Settings;
use clap::Args;

/// The arguments of `fnhost apps`.
#[derive(Args)]
pub(crate) struct AppsCommand {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    remote: RemoteArgs,
}

impl AppsCommand {
    /// Lists the deployed apps, as a table or as JSON.
    pub(crate) async fn execute(self, settings: Settings) -> anyhow::Result<()> {
        let apps = self.remote.client(&settings)?.apps().await?;
        if self.json {
            println!("{:#}", serde_json::json!({ "apps": apps }));
            return Ok(());
        }
        println!("APP\tVERSION\tDEPLOYED AT\tFUNCTIONS");
        for app in apps {
            let functions: Vec<&str> = app.functions.iter().map(|f| f.name.as_str()).collect();
            println!(
                "{}\t{}\t{}\t{}",
                app.name,
                app.version,
                app.deployed_at,
                functions.join(", ")
            );
        }
        Ok(())
    }
}
