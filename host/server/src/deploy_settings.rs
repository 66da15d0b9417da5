//! What an operator sets for a deployed app beside its components: the hosts its outgoing
//! HTTP requests may reach, and overrides of its functions' options (its wasi:http handler's
//! under `incoming-handler`).
//!
//! Invariant: these are part of a deployment, kept in the manifest with its components, so a
//! restart loads the app exactly as it was deployed; a setting that does not apply (a bad
//! host, an unknown option or function, a value out of range) fails the deploy, never a
//! later restore alone.

use crate::ServerError;
use fnhost::{AppBuilder, FunctionOptions};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Settings of one deployed app.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploySettings {
    /// The hosts its containers' outgoing HTTP requests may reach (`HOST` or `HOST:PORT`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_http: Vec<String>,
    /// Option overrides by function, then by option, as `--option FUNCTION.OPTION=VALUE`
    /// gives them (`{"incoming-handler": {"timeout": "5s"}}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, BTreeMap<String, String>>,
}

impl DeploySettings {
    /// `builder` with these settings applied, for the app `app`.
    pub(crate) fn apply(
        &self,
        app: &str,
        mut builder: AppBuilder,
    ) -> Result<AppBuilder, ServerError> {
        for grant in &self.allow_http {
            builder = builder
                .allow_http(grant)
                .map_err(|source| ServerError::Load {
                    app: app.to_owned(),
                    source,
                })?;
        }
        for (function, options) in &self.options {
            let mut overrides = FunctionOptions::default();
            for (option, value) in options {
                overrides
                    .set(option, value)
                    .map_err(|reason| ServerError::BadOption {
                        app: app.to_owned(),
                        option: format!("{function}.{option}"),
                        reason,
                    })?;
            }
            builder = builder.options(function, overrides);
        }
        Ok(builder)
    }
}
