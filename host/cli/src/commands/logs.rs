//! `fnhost logs APP [--follow] [--json]`: an app's log on a server: its containers' output
//! and the server's notes about it.
//!
//! Invariant: one line per event, in the server's order, printed as it arrives:
//! `TIME [SOURCE] MESSAGE`, the source being the container (`function#N`), else the
//! function, else the stream (`host`); `--json` prints each event as a JSON line instead.
//! With `--follow`, waits for new events until the server ends the stream or the command is
//! interrupted.

use crate::remote_args::RemoteArgs;
use crate::settings::Settings;
use clap::Args;
use fnhost_client::LogEvent;
use futures::StreamExt;
use std::io::Write;

/// The arguments of `fnhost logs`.
#[derive(Args)]
pub(crate) struct LogsCommand {
    /// The deployed app's name.
    app: String,
    /// Keeps printing new events as they happen.
    #[arg(long, short)]
    follow: bool,
    /// Prints each event as a JSON line.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    remote: RemoteArgs,
}

impl LogsCommand {
    /// Prints the app's log events as they arrive.
    pub(crate) async fn execute(self, settings: Settings) -> anyhow::Result<()> {
        let client = self.remote.client(&settings)?;
        let mut events = client.logs(&self.app, self.follow).await?;
        while let Some(event) = events.next().await {
            let event = event?;
            let line = if self.json {
                serde_json::to_string(&event)?
            } else {
                text(&event)
            };
            // One event at a time, so that a followed log shows each as it comes.
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{line}")?;
            stdout.flush()?;
        }
        Ok(())
    }
}

/// `event` as one line of text: `TIME [SOURCE] MESSAGE`.
fn text(event: &LogEvent) -> String {
    let source = event
        .container
        .as_deref()
        .or(event.function.as_deref())
        .or(event.stream.as_deref())
        .unwrap_or("host");
    format!(
        "{} [{source}] {}",
        event.time.as_deref().unwrap_or("-"),
        event.message.as_deref().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::{LogEvent, text};

    #[test]
    fn events_name_their_source() {
        let event = LogEvent {
            time: Some("2025-01-01T00:00:00Z".to_owned()),
            container: Some("boom#0".to_owned()),
            function: Some("boom".to_owned()),
            message: Some("panicked".to_owned()),
            ..LogEvent::default()
        };
        assert_eq!(text(&event), "2025-01-01T00:00:00Z [boom#0] panicked");
        let host = LogEvent {
            stream: Some("host".to_owned()),
            message: Some("deployed".to_owned()),
            ..LogEvent::default()
        };
        assert_eq!(text(&host), "- [host] deployed");
    }
}
