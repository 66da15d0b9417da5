//! `fnhost list APP [--json]`: the app's functions and entrypoints, with their kind and
//! effective options.

use crate::app_args::AppArgs;
use clap::Args;
use fnhost::{BodyKind, FunctionInfo, HostSettings, option_names};
use std::path::PathBuf;

/// The arguments of `fnhost list`.
#[derive(Args)]
pub(crate) struct ListCommand {
    /// The app.
    app_path: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    app: AppArgs,
}

impl ListCommand {
    /// Loads the app and prints what it holds, as a table or as JSON.
    pub(crate) async fn execute(self, settings: HostSettings) -> anyhow::Result<()> {
        let app = self.app.load(&self.app_path, settings).await?;
        let entrypoints: Vec<&FunctionInfo> = app.entrypoints().collect();
        if self.json {
            let listing = serde_json::json!({
                "functions": app.functions(),
                "entrypoints": entrypoints,
            });
            println!("{listing:#}");
        } else {
            print_table(app.functions(), &entrypoints);
        }
        Ok(())
    }
}

/// Prints the functions, one row each with their kind, every option of the option table and
/// their parameters, then the entrypoints.
fn print_table(functions: &[FunctionInfo], entrypoints: &[&FunctionInfo]) {
    let kind = |info: &FunctionInfo| match info.kind {
        BodyKind::Blocking => "blocking",
        BodyKind::Async => "async",
    };
    let options: Vec<&str> = option_names().collect();
    println!("FUNCTION\tKIND\t{}\tPARAMS", options.join("\t"));
    for info in functions {
        let values: Vec<String> = options
            .iter()
            .map(|option| info.config.text(option).unwrap_or_default())
            .collect();
        println!(
            "{}\t{}\t{}\t({})",
            info.name,
            kind(info),
            values.join("\t"),
            info.params.join(", ")
        );
    }
    if !entrypoints.is_empty() {
        println!("\nLOCAL ENTRYPOINT\tKIND");
        for info in entrypoints {
            println!("{}\t{}", info.name, kind(info));
        }
    }
}
