//! `fnhost token create --app NAME | list | revoke ID`: a server's app tokens, which reach one
//! app's functions and calls only (docs/security.md). The operator's token is needed for all
//! three.
//!
//! Invariant: the token is printed once, by `create`, alone on stdout (so that
//! `fnhost token create --app shop > shop.token` keeps it); `list` never shows one.

use crate::remote_args::RemoteArgs;
use crate::settings::Settings;
use clap::{Args, Subcommand};

/// The arguments of `fnhost token`.
#[derive(Args)]
pub(crate) struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
    #[command(flatten)]
    remote: RemoteArgs,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make a token for one app, and print it (the only time it is shown).
    Create {
        /// The app it reaches.
        #[arg(long, value_name = "NAME")]
        app: String,
    },
    /// List the app tokens: id, app, when made.
    List,
    /// Revoke a token by its id (`tk-...`).
    Revoke {
        /// The token's id, as `list` shows it.
        id: String,
    },
}

impl TokenArgs {
    /// Carries the subcommand out against the server.
    pub(crate) async fn execute(self, settings: Settings) -> anyhow::Result<()> {
        let client = self.remote.client(&settings)?;
        match self.command {
            TokenCommand::Create { app } => {
                let made = client.create_token(&app).await?;
                eprintln!("made {} for `{}`", made.summary.id, made.summary.app);
                println!("{}", made.token);
            }
            TokenCommand::List => {
                for token in client.tokens().await? {
                    let made = humantime::format_rfc3339_seconds(
                        std::time::UNIX_EPOCH + std::time::Duration::from_millis(token.created_ms),
                    );
                    println!("{}\t{}\t{made}", token.id, token.app);
                }
            }
            TokenCommand::Revoke { id } => client.revoke_token(&id).await?,
        }
        Ok(())
    }
}
