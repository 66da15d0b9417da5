//! `fnhost call APP FUNCTION [JSON | --input FILE]`: call one function and print its JSON
//! result.
//!
//! The arguments are the JSON given on the command line or, for those too large for it (Linux
//! refuses a command-line argument past 128 KiB), read from `--input FILE` (`-`: stdin; a
//! pipe or FIFO works). They are checked before the app loads: the JSON, and the input's
//! size (at most the payload limit, [`fnhost::MAX_PAYLOAD`], and a little room for
//! whitespace; a larger or endless input fails once that much is read). Once the app is
//! loaded, their number is checked against the function's parameters
//! ([`fnhost::FunctionInfo::arguments`]).
//!
//! With `--url` (or `FNHOST_URL`), APP is the name of an app deployed on that server, and the
//! call goes there with the arguments as given (the server fits them to the parameters the
//! same way); options that shape a local load or call (`--with`, `--timeout`, ...) are
//! refused.
//!
//! The result is printed as the function encoded it (see [`check_json`]); a generator's items
//! are printed as they come, one JSON line each (an app loaded here only).

use crate::app_args::AppArgs;
use crate::remote_args::RemoteArgs;
use crate::settings::Settings;
use anyhow::{Context, bail};
use clap::Args;
use fnhost::{FunctionOptions, MAX_PAYLOAD};
use fnhost_client::Client;
use futures::StreamExt;
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The arguments of `fnhost call`.
#[derive(Args)]
pub(crate) struct CallCommand {
    /// The app (with `--url`: the deployed app's name).
    app_path: PathBuf,
    /// The function's name.
    function: String,
    /// The arguments: the value itself for a one-parameter function, a JSON array for
    /// several, nothing (or `[]`) for none.
    #[arg(value_name = "JSON")]
    args: Option<String>,
    /// Reads the arguments (JSON, as the positional argument would give them) from FILE, `-`
    /// for stdin: for arguments too large for a command line. At most 16 MiB, the payload
    /// limit.
    #[arg(long, value_name = "FILE", conflicts_with = "args")]
    input: Option<PathBuf>,
    /// Overrides the function's timeout for this call (e.g. `2s`, `500ms`, `1m`).
    #[arg(long, value_parser = humantime::parse_duration)]
    timeout: Option<Duration>,
    /// Overrides the function's retries for this call.
    #[arg(long)]
    retries: Option<u32>,
    #[command(flatten)]
    app: AppArgs,
    #[command(flatten)]
    remote: RemoteArgs,
}

impl CallCommand {
    /// Reads and parses the arguments, loads the app (or finds the server), calls the function
    /// with the call's options and prints the result.
    pub(crate) async fn execute(self, settings: Settings) -> anyhow::Result<()> {
        let name = &self.function;
        let remote = self.remote.remote(&settings)?;
        if remote.is_some() {
            self.refuse_local_options()?;
        }
        let given = match (&self.input, &self.args) {
            (Some(path), _) => {
                let path = path.clone();
                let bytes = tokio::task::spawn_blocking(move || read_input(&path)).await??;
                Some(parse(name, &bytes)?)
            }
            (None, Some(text)) => Some(parse(name, text.as_bytes())?),
            (None, None) => None,
        };
        let result = match remote {
            Some(client) => self.call_remote(&client, given).await?,
            None => {
                let app = self.app.load(&self.app_path, settings.host).await?;
                let function = app.function(name)?.with_options(FunctionOptions {
                    timeout: self.timeout,
                    retries: self.retries,
                    ..FunctionOptions::default()
                })?;
                let args = function.info().arguments(given)?;
                if function.info().generator {
                    return print_items(function.remote_gen_raw(args)).await;
                }
                function.remote_raw(args).await?
            }
        };
        print_result(name, &result)
    }

    /// Calls the function of the app deployed on `client`'s server with the arguments
    /// `given`: its result.
    async fn call_remote(&self, client: &Client, given: Option<Value>) -> anyhow::Result<Vec<u8>> {
        let app = deployed_name(&self.app_path)?;
        let body = match given {
            Some(value) => serde_json::to_vec(&value)?,
            None => Vec::new(),
        };
        let function = client.function_in(app, &self.function);
        Ok(function.remote_json(body).await?)
    }

    /// Fails when an option only a local call has was given.
    fn refuse_local_options(&self) -> anyhow::Result<()> {
        if self.timeout.is_some() {
            bail!("--timeout is for an app loaded here; with --url the server's options hold");
        }
        if self.retries.is_some() {
            bail!("--retries is for an app loaded here; with --url the server's options hold");
        }
        self.app.refuse("fnhost call --url")
    }
}

/// Prints a generator's items as they come, one JSON line each; its error ends them.
async fn print_items(mut items: fnhost::Generated<Value>) -> anyhow::Result<()> {
    while let Some(item) = items.next().await {
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer(&mut stdout, &item?)?;
        stdout.write_all(b"\n")?;
        stdout.flush()?;
    }
    Ok(())
}

/// The name of the deployed app `app` (given where a path goes locally).
pub(crate) fn deployed_name(app: &Path) -> anyhow::Result<&str> {
    app.to_str()
        .with_context(|| format!("`{}` is not an app name", app.display()))
}

/// Checks that `result`, the result of `function` (or of a call id), is JSON and prints it on
/// stdout, with a newline.
pub(crate) fn print_result(function: &str, result: &[u8]) -> anyhow::Result<()> {
    check_json(result).with_context(|| format!("`{function}` returned invalid JSON"))?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(result)?;
    stdout.write_all(b"\n")?;
    stdout.flush()?;
    Ok(())
}

/// The most `--input` may hold: the payload limit, and room for whitespace around the value
/// (a trailing newline, an indented file) that encoding the arguments again drops. What is
/// larger than the limit once encoded fails the call (`bad arguments`).
const INPUT_LIMIT: usize = MAX_PAYLOAD + (64 << 10);

/// The bytes of `path` (stdin for `-`), up to [`INPUT_LIMIT`]: a larger input fails as soon
/// as one byte more than that has been read, so an endless one (`/dev/zero`) fails too.
fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    let stdin = path == Path::new("-");
    let name = if stdin {
        "stdin".to_owned()
    } else {
        path.display().to_string()
    };
    let reader: Box<dyn Read> = if stdin {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path).with_context(|| format!("--input {name}"))?)
    };
    let mut bytes = Vec::new();
    reader
        .take(INPUT_LIMIT as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("--input {name}"))?;
    if bytes.len() > INPUT_LIMIT {
        bail!(
            "--input {name}: more than {INPUT_LIMIT} bytes; arguments may take at most {} MiB",
            MAX_PAYLOAD >> 20
        );
    }
    Ok(bytes)
}

/// The arguments given for `function`, parsed.
pub(crate) fn parse(function: &str, json: &[u8]) -> anyhow::Result<Value> {
    serde_json::from_slice(json)
        .with_context(|| format!("the arguments for `{function}` are not valid JSON"))
}

/// Checks that `result` is one JSON value, in UTF-8, whatever its depth.
///
/// The library hands a result on as the guest encoded it, unparsed, so a guest (in another
/// language, or with `unsafe`) could return anything; the command checks it and prints the
/// bytes as they are. It does not parse them into a `serde_json::Value`: that stops at 128
/// levels (a valid result nested 200 deep would be refused) and, without the limit, recurses
/// once per level, which a 16 MiB `[[[[...` would overflow the stack with. serde_json's
/// `IgnoredAny` checks the syntax without building anything, with a loop and a stack of one
/// byte per open array or object on the heap (its `ignore_value`), no recursion and no depth
/// limit; UTF-8 is checked first, since skipping a string does not check it. The tests below
/// hold serde_json to this on the test thread's stack: 8 million levels pass, and a 16 MiB
/// unterminated `[[[[...` fails.
pub(crate) fn check_json(result: &[u8]) -> anyhow::Result<()> {
    let text = std::str::from_utf8(result)?;
    serde_json::from_str::<serde::de::IgnoredAny>(text)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_json;

    #[test]
    fn any_depth_of_json_passes_without_recursion() {
        let depth = 8 << 20;
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        check_json(nested.as_bytes()).unwrap();
        let objects = format!("{}1{}", "{\"a\":[".repeat(100_000), "]}".repeat(100_000));
        check_json(objects.as_bytes()).unwrap();
        check_json(br#" {"a": [1, 2.5e3, "\u00e9", true, null]} "#).unwrap();
    }

    #[test]
    fn what_is_not_json_fails() {
        assert!(check_json("[".repeat(16 << 20).as_bytes()).is_err());
        assert!(check_json(b"[1] [2]").is_err());
        assert!(check_json(b"").is_err());
        assert!(check_json(b"\"\xff\"").is_err());
        assert!(check_json(b"[1,]").is_err());
        assert!(check_json(b"{1: 2}").is_err());
    }
}
