//! `fnhost list APP [--json]`: the app's functions and entrypoints, with their kind and
//! effective options, its classes (parameters, methods, options), its web endpoints, whether
//! it has a wasi:http handler, and its schedules with their next run.
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
use fnhost::{BodyKind, FunctionInfo, HANDLER_NAME, Schedule, option_names};
use fnhost_client::{AppSummary, Client};
use std::path::PathBuf;
use std::time::SystemTime;

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
            let classes: Vec<&fnhost::ClassInfo> = app.classes().collect();
            let listing = serde_json::json!({
                "functions": app.functions(),
                "classes": classes,
                "entrypoints": entrypoints,
                "http_handler": app.http_config(),
            });
            println!("{listing:#}");
        } else {
            print_table(app.functions(), &entrypoints);
            print_classes(app.classes().map(|class| {
                let params = class
                    .params
                    .iter()
                    .zip(&class.param_types)
                    .zip(&class.param_defaults);
                ClassRow {
                    name: class.name.clone(),
                    kind: body_name(class.kind).to_owned(),
                    params: params
                        .map(|((name, ty), default)| param_label(name, ty, default.as_ref()))
                        .collect(),
                    methods: class
                        .methods
                        .iter()
                        .map(|method| {
                            method_label(
                                &method.name,
                                &method.params,
                                method.batch.map(|batch| {
                                    (u64::from(batch.max_batch_size), batch.wait.as_millis())
                                }),
                            )
                        })
                        .collect(),
                    options: options_of(|option| class.config.text(option).unwrap_or_default()),
                    snap: class.snap,
                }
            }));
            let name = app_name(&self.app_path)?;
            let endpoints = app.web_endpoints().filter_map(|info| {
                let web = info.web.as_ref()?;
                let path = web_path(&web.label, web.form == fnhost::WebForm::Request);
                Some((
                    info.name.as_str(),
                    web.method.as_str(),
                    path,
                    web.requires_auth,
                ))
            });
            print_web(&name, endpoints, app.has_http_handler());
            print_schedules(app.functions().iter().filter_map(|info| {
                let schedule = info.schedule.as_ref()?;
                Some((
                    info.name.clone(),
                    schedule.to_string(),
                    local_next_run(schedule),
                ))
            }));
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
            print_classes(app.classes.iter().map(|class| {
                ClassRow {
                    name: class.name.clone(),
                    kind: class.kind.clone(),
                    params: class
                        .params
                        .iter()
                        .zip(&class.param_defaults)
                        .map(|(name, default)| param_label(name, "", default.as_ref()))
                        .collect(),
                    methods: class
                        .methods
                        .iter()
                        .map(|method| {
                            method_label(
                                &method.name,
                                &method.params,
                                batch_of(method.batch.as_ref()),
                            )
                        })
                        .collect(),
                    options: options_of(|option| match class.options.get(option) {
                        Some(serde_json::Value::String(text)) => text.clone(),
                        Some(value) => value.to_string(),
                        None => String::new(),
                    }),
                    snap: class.snap,
                }
            }));
            let methods = app.classes.iter().flat_map(|class| class.methods.iter());
            let endpoints = app.functions.iter().chain(methods).filter_map(|function| {
                let web = function.web.as_ref()?;
                let path = web_path(&web.label, web.form == "request");
                Some((
                    function.name.as_str(),
                    web.method.as_str(),
                    path,
                    web.requires_auth,
                ))
            });
            print_web(&app.name, endpoints, app.http_handler.is_some());
            print_schedules(app.functions.iter().filter_map(|function| {
                Some((
                    function.name.clone(),
                    function.schedule.clone()?,
                    function.next_run.clone().unwrap_or_else(|| "never".into()),
                ))
            }));
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
        let kind = kind_label(&function.kind, batch_of(function.batch.as_ref()));
        println!(
            "{}\t{}\t{}\t({})",
            function.name,
            kind,
            values.join("\t"),
            function.params.join(", ")
        );
    }
}

/// When a schedule of an app not deployed would fire next: a cron's next time; a period
/// counts from the deploy.
fn local_next_run(schedule: &Schedule) -> String {
    match schedule {
        Schedule::Period(_) => "one period after the deploy".into(),
        Schedule::Cron(_) => schedule
            .next_after(SystemTime::now(), SystemTime::now())
            .map_or_else(
                || "never".into(),
                |at| humantime::format_rfc3339_seconds(at).to_string(),
            ),
    }
}

/// Prints the scheduled functions (name, schedule, next run), when there are any: `fnhost
/// serve` runs them by themselves.
fn print_schedules(rows: impl Iterator<Item = (String, String, String)>) {
    let mut rows = rows.peekable();
    if rows.peek().is_none() {
        return;
    }
    println!("\nSCHEDULED\tSCHEDULE\tNEXT RUN");
    for (name, schedule, next_run) in rows {
        println!("{name}\t{schedule}\t{next_run}");
    }
}

/// A batching as a server describes it (`{"max_batch_size", "wait_ms"}`), as the tables use it.
fn batch_of(batch: Option<&serde_json::Value>) -> Option<(u64, u128)> {
    let batch = batch?;
    let field = |name: &str| batch.get(name).and_then(serde_json::Value::as_u64);
    Some((field("max_batch_size")?, u128::from(field("wait_ms")?)))
}

/// One class, as the classes table shows it.
struct ClassRow {
    name: String,
    kind: String,
    /// `name: type = default`, each.
    params: Vec<String>,
    /// `name(params)`, each, with its batching.
    methods: Vec<String>,
    /// Every option of the option table, in its order.
    options: Vec<String>,
    snap: bool,
}

/// Prints the classes, one row each: kind, parameters, methods, whether an `enter` hook is a
/// snap hook, and every option of the option table.
fn print_classes(classes: impl Iterator<Item = ClassRow>) {
    let mut classes = classes.peekable();
    if classes.peek().is_none() {
        return;
    }
    let options: Vec<&str> = option_names().collect();
    println!(
        "\nCLASS\tKIND\tPARAMETERS\tMETHODS\tSNAP\t{}",
        options.join("\t")
    );
    for class in classes {
        println!(
            "{}\t{}\t({})\t{}\t{}\t{}",
            class.name,
            class.kind,
            class.params.join(", "),
            class.methods.join(", "),
            if class.snap { "yes" } else { "no" },
            class.options.join("\t")
        );
    }
}

/// Every option of the option table, in its order, as `value` gives it.
fn options_of(value: impl Fn(&str) -> String) -> Vec<String> {
    option_names().map(value).collect()
}

/// A parameter as the classes table shows it: `name: type = default` (what is known of it).
fn param_label(name: &str, ty: &str, default: Option<&serde_json::Value>) -> String {
    let typed = match ty {
        "" => name.to_owned(),
        ty => format!("{name}: {ty}"),
    };
    match default {
        Some(default) => format!("{typed} = {default}"),
        None => typed,
    }
}

/// A method as the classes table shows it: `name(params)`, and its batching.
fn method_label(name: &str, params: &[String], batch: Option<(u64, u128)>) -> String {
    kind_label(&format!("{name}({})", params.join(", ")), batch)
}

/// A body's kind as the tables name it.
fn body_name(kind: BodyKind) -> &'static str {
    match kind {
        BodyKind::Blocking => "blocking",
        BodyKind::Async => "async",
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
    endpoints: impl Iterator<Item = (&'a str, &'a str, String, bool)>,
    has_handler: bool,
) {
    let mut endpoints = endpoints.peekable();
    if endpoints.peek().is_some() {
        println!("\nWEB ENDPOINT\tFUNCTION\tACCESS");
        for (function, method, path, requires_auth) in endpoints {
            let access = if requires_auth { "token" } else { "public" };
            println!("{method} /web/{app}/{path}\t{function}\t{access}");
        }
    }
    if has_handler {
        println!(
            "\nwasi:http handler: any method, /web/{app}/... (the guest sees the path after /web/{app}); \
             its options: --option {HANDLER_NAME}.OPTION=VALUE"
        );
    }
}

/// The path under `/web/{app}/` an endpoint answers: its label, and every path under it when
/// it takes whole requests.
fn web_path(label: &str, whole_requests: bool) -> String {
    match whole_requests {
        true => format!("{label}/..."),
        false => label.to_owned(),
    }
}

/// Prints the functions, one row each with their kind, every option of the option table and
/// their parameters, then the entrypoints.
fn print_table(functions: &[FunctionInfo], entrypoints: &[&FunctionInfo]) {
    let kind = |info: &FunctionInfo| {
        let body = body_name(info.kind);
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
