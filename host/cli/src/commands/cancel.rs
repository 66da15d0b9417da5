//! `fnhost cancel ID`: cancel a call running on a server.
//!
//! Invariant: prints nothing on success; the call then ends as `cancelled` (one already
//! finished keeps its result).

use crate::remote_args::RemoteArgs;
use crate::settings::Settings;
use clap::Args;
use fnhost_client::FunctionCall;

/// The arguments of `fnhost cancel`.
#[derive(Args)]
pub(crate) struct CancelCommand {
    /// The call's id (`fc-...`, as `fnhost spawn` printed it).
    id: String,
    #[command(flatten)]
    remote: RemoteArgs,
}

impl CancelCommand {
    /// Cancels the call.
    pub(crate) async fn execute(self, settings: Settings) -> anyhow::Result<()> {
        let client = self.remote.client(&settings)?;
        let call = FunctionCall::<serde::de::IgnoredAny>::from_id(&client, &self.id)?;
        Ok(call.cancel().await?)
    }
}
