//! `fnhost call APP FUNCTION [JSON]`: call one function and print its JSON result.

use crate::app_args::AppArgs;
use anyhow::{Context, bail};
use clap::Args;
use fnhost::{FunctionInfo, FunctionOptions, HostSettings};
use std::path::PathBuf;
use std::time::Duration;

/// The arguments of `fnhost call`.
#[derive(Args)]
pub(crate) struct CallCommand {
    /// The app.
    app_path: PathBuf,
    /// The function's name.
    function: String,
    /// The arguments: the value itself for a one-parameter function, a JSON array for
    /// several, nothing (or `[]`) for none.
    args: Option<String>,
    /// Overrides the function's timeout for this call (e.g. `2s`, `500ms`, `1m`).
    #[arg(long, value_parser = humantime::parse_duration)]
    timeout: Option<Duration>,
    /// Overrides the function's retries for this call.
    #[arg(long)]
    retries: Option<u32>,
    #[command(flatten)]
    app: AppArgs,
}

impl CallCommand {
    /// Loads the app, calls the function with the call's options and prints the result.
    pub(crate) async fn execute(self, settings: HostSettings) -> anyhow::Result<()> {
        let app = self.app.load(&self.app_path, settings).await?;
        let function = app
            .function(&self.function)?
            .with_options(FunctionOptions {
                timeout: self.timeout,
                retries: self.retries,
                ..FunctionOptions::default()
            })?;
        let args = arguments(function.info(), self.args.as_deref())?;
        let result = function.remote_raw(args).await?;
        let result: serde_json::Value =
            serde_json::from_slice(&result).context("the function returned invalid JSON")?;
        println!("{result}");
        Ok(())
    }
}

/// The JSON array of arguments for `function`, from what was given on the command line.
fn arguments(function: &FunctionInfo, given: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let name = &function.name;
    let value: serde_json::Value = match given {
        Some(text) => serde_json::from_str(text)
            .with_context(|| format!("the arguments for `{name}` are not valid JSON"))?,
        None => serde_json::Value::Array(Vec::new()),
    };
    let args = match (function.params.len(), value) {
        (1, value) => serde_json::Value::Array(vec![value]),
        (0, serde_json::Value::Null) => serde_json::Value::Array(Vec::new()),
        (_, serde_json::Value::Array(values)) => serde_json::Value::Array(values),
        (count, _) => bail!(
            "`{name}` takes {count} arguments ({}): pass them as a JSON array",
            function.params.join(", ")
        ),
    };
    Ok(serde_json::to_vec(&args)?)
}
