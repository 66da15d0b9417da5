//! Apps deployed on a host by name: `Host::deploy`, `Host::function("APP/FUNCTION")`.
//!
//! Deploying a new version under a name switches new calls to it at once; the version it
//! replaces is only dropped from the table, so the calls in flight on it (which hold it
//! through their handles and spawned-call tasks) finish there, and it closes with the last of
//! them. Names are checked here, once, because they become paths and URLs elsewhere (a
//! server's state directory, its routes): without the check a name could reach outside them.

use crate::Error;
use crate::api::app::{App, deployed_app};
use crate::api::function::Function;
use crate::api::host::{Deployed, Host, read, split_qualified, write};
use std::sync::Arc;

impl Host {
    /// Deploys `app` under `name` (see [`check_app_name`]): from now on `name/FUNCTION` calls
    /// (from the host API, a server's clients, and every guest of the host) reach it. Returns
    /// the version it replaces, if any: calls in flight on that one finish there, and it
    /// closes once the last of them (and the last handle to it) is gone.
    pub fn deploy(&self, name: &str, app: App) -> Result<Option<App>, Error> {
        check_app_name(name)?;
        app.shared.deployed_as(name);
        let mut table = write(self.deployed_table());
        let replaced = table.insert(name.to_owned(), Arc::new(app));
        self.tell_deployed(&table);
        Ok(replaced.and_then(downcast))
    }

    /// Removes the app deployed as `name`, which closes once its calls in flight are done.
    pub fn undeploy(&self, name: &str) -> Option<App> {
        let mut table = write(self.deployed_table());
        let removed = table.remove(name);
        self.tell_deployed(&table);
        removed.and_then(downcast)
    }

    /// The app deployed as `name`.
    pub fn deployed(&self, name: &str) -> Option<App> {
        read(self.deployed_table())
            .get(name)
            .cloned()
            .and_then(downcast)
    }

    /// The deployed apps, by name.
    pub fn deployed_apps(&self) -> Vec<(String, App)> {
        let mut apps: Vec<(String, App)> = read(self.deployed_table())
            .iter()
            .filter_map(|(name, app)| Some((name.clone(), downcast(Arc::clone(app))?)))
            .collect();
        apps.sort_by(|a, b| a.0.cmp(&b.0));
        apps
    }

    /// The function `APP/FUNCTION` of an app deployed on the host, like Modal's
    /// `Function.from_name(app, name)`.
    pub fn function(&self, qualified: &str) -> Result<Function, Error> {
        let (app, function) = split_qualified(qualified)?;
        deployed_app(self, app)?.function(function)
    }
}

/// The app a table entry holds (every entry is one: only [`Host::deploy`] inserts).
fn downcast(entry: Deployed) -> Option<App> {
    entry.downcast_ref::<App>().cloned()
}

/// The longest app name.
pub const MAX_APP_NAME: usize = 64;

/// Checks an app's name: 1 to 64 ASCII letters, digits, `_` and `-`, not starting with `-`.
/// Names become paths of a server's state and parts of URLs: nothing else is let in.
pub fn check_app_name(name: &str) -> Result<(), Error> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    if !name.is_empty()
        && name.len() <= MAX_APP_NAME
        && !name.starts_with('-')
        && name.bytes().all(allowed)
    {
        return Ok(());
    }
    let shown: String = name.chars().take(MAX_APP_NAME).collect();
    Err(Error::BadArguments(format!(
        "`{}` is not an app name: 1 to {MAX_APP_NAME} of A-Z a-z 0-9 _ -, not starting with -",
        shown.escape_debug()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_names_cannot_be_paths() {
        for good in ["hello", "a", "pricing-v2", "A_1", &"x".repeat(64)] {
            check_app_name(good).unwrap();
        }
        for bad in [
            "",
            "..",
            "a/b",
            "-x",
            "a.b",
            "a b",
            "é",
            "a\0",
            &"x".repeat(65),
        ] {
            assert!(check_app_name(bad).is_err(), "{bad}");
        }
    }
}
