//! `fnhost list APP [--json]`: the app's functions and entrypoints, with their kind and
//! effective options, its web endpoints, and whether it has a wasi:http handler.
//!
//! With `--url` (or `FNHOST_URL`), APP is the name of an app deployed on that server: the
//! table shows its functions as the server describes them (options as JSON values), and
//! `--json` prints the server's description, live counters included. A deployed app has no
//! entrypoints.

use crate::app_args::{AppArgs, app_name};
use crate::commands::call::deployed_name;
use crate::remote_args::RemoteArgs;
use crate::settings::Settings;
use clap::Args;
use fnhost::{BodyKind, FunctionInfo, HANDLER_NAME, option_names};
use fnhost_client::{AppSummary, Client};
use std::path::PathBuf;

/// The arguments of `fnhost list`.
#[derive(Args)]
pub(crate) struct ListCommand {
    /// The app (with `--url`: the deployed app's name).
    app_path: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    app: AppArgs,
    #[command(flatten)]
    remote: RemoteArgs,
}

impl ListCommand {
    /// Loads the app (or asks the server) and prints what it holds, as a table or as JSON.
    pub(crate) async fn execute(self, settings: Settings) -> anyhow::Result<()> {
        if let Some(client) = self.remote.remote(&settings)? {
            return self.list_remote(&client).await;
        }
        let app = self.app.load(&self.app_path, settings.host).await?;
        let entrypoints: Vec<&FunctionInfo> = app.entrypoints().collect();
        if self.json {
            let listing = serde_json::json!({
                "functions": app.functions(),
                "entrypoints": entrypoints,
                "http_handler": app.http_config(),
            });
            println!("{listing:#}");
        } else {
            print_table(app.functions(), &entrypoints);
            let name = app_name(&self.app_path)?;
            let endpoints = app.functions().iter().filter_map(|info| {
                let web = info.web.as_ref()?;
                Some((
                    info.name.as_str(),
                    web.method.as_str(),
                    web.label.as_str(),
                    web.requires_auth,
                ))
            });
            print_web(&name, endpoints, app.has_http_handler());
        }
        Ok(())
    }

    /// Prints the deployed app's functions, as a table or as the server's JSON.
    async fn list_remote(&self, client: &Client) -> anyhow::Result<()> {
        self.app.refuse("fnhost list --url")?;
        let app = client.app(deployed_name(&self.app_path)?).await?;
        if self.json {
            println!("{:#}", serde_json::to_value(&app)?);
        } else {
            print_deployed(&app);
            let endpoints = app.functions.iter().filter_map(|function| {
                let web = function.web.as_ref()?;
                Some((
                    function.name.as_str(),
                    web.method.as_str(),
                    web.label.as_str(),
                    web.requires_auth,
                ))
            });
            print_web(&app.name, endpoints, app.http_handler.is_some());
        }
        Ok(())
    }
}

/// Prints a deployed app's functions, one row each with their kind, every option of the
/// option table (as the server gave it) and their parameters.
fn print_deployed(app: &AppSummary) {
    let options: Vec<&str> = option_names().collect();
    println!("FUNCTION\tKIND\t{}\tPARAMS", options.join("\t"));
    for function in &app.functions {
        let values: Vec<String> = options
            .iter()
            .map(|option| match function.options.get(option) {
                Some(serde_json::Value::String(text)) => text.clone(),
                Some(value) => value.to_string(),
                None => String::new(),
            })
            .collect();
        let batch = function.batch.as_ref().map(|batch| {
            let field = |name: &str| batch.get(name).and_then(serde_json::Value::as_u64);
            (field("max_batch_size"), field("wait_ms"))
        });
        let kind = match batch {
            Some((Some(max_batch_size), Some(wait_ms))) => {
                kind_label(&function.kind, Some((max_batch_size, u128::from(wait_ms))))
            }
            _ => function.kind.clone(),
        };
        println!(
            "{}\t{}\t{}\t({})",
            function.name,
            kind,
            values.join("\t"),
            function.params.join(", ")
        );
    }
}

/// A function's kind as the tables show it: its body, and its batching when it is batched
/// (the largest batch, the wait in milliseconds).
fn kind_label(body: &str, batch: Option<(u64, u128)>) -> String {
    match batch {
        Some((max_batch_size, wait_ms)) => {
            format!("{body} batched(max_batch_size={max_batch_size}, wait_ms={wait_ms})")
        }
        None => body.to_owned(),
    }
}

/// Prints the app's web endpoints (function, method, label, whether a token is needed) and
/// where its wasi:http handler is served, when it has either.
fn print_web<'a>(
    app: &str,
    endpoints: impl Iterator<Item = (&'a str, &'a str, &'a str, bool)>,
    has_handler: bool,
) {
    let mut endpoints = endpoints.peekable();
    if endpoints.peek().is_some() {
        println!("\nWEB ENDPOINT\tFUNCTION\tACCESS");
        for (function, method, label, requires_auth) in endpoints {
            let access = if requires_auth { "token" } else { "public" };
            println!("{method} /web/{app}/{label}\t{function}\t{access}");
        }
    }
    if has_handler {
        println!(
            "\nwasi:http handler: any method, /web/{app}/... (the guest sees the path after /web/{app}); \
             its options: --option {HANDLER_NAME}.OPTION=VALUE"
        );
    }
}

/// Prints the functions, one row each with their kind, every option of the option table and
/// their parameters, then the entrypoints.
fn print_table(functions: &[FunctionInfo], entrypoints: &[&FunctionInfo]) {
    let kind = |info: &FunctionInfo| {
        let body = match info.kind {
            BodyKind::Blocking => "blocking",
            BodyKind::Async => "async",
        };
        let batch = info
            .batch
            .map(|batch| (u64::from(batch.max_batch_size), batch.wait.as_millis()));
        kind_label(body, batch)
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
