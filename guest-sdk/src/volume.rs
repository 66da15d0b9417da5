//! Volumes the host keeps: Modal's `Volume`, a directory tree a function mounts with
//! `#[function(volumes = [("/data", "name")])]` and reads and writes with `std::fs`.
//!
//! The handle here is for what file calls cannot say: [`Volume::commit`] makes what was
//! written durable, and fails when the volume holds more than its quota; [`Volume::reload`]
//! brings in what others committed (on one host every container mounts the same directory,
//! so a write is seen at once and there is nothing to fetch).
//!
//! ```ignore
//! use fnhost_guest::{Error, Volume, function};
//!
//! #[function(volumes = [("/data", "results")])]
//! fn save(name: String, text: String) -> Result<(), Error> {
//!     std::fs::write(format!("/data/{name}"), text).map_err(|error| Error::User(error.to_string()))?;
//!     Volume::from_name("results", true)?.commit()
//! }
//! ```

use crate::Error;
use crate::bindings::fnhost::runtime::storage;

/// A volume of the host.
pub struct Volume {
    handle: storage::Volume,
}

impl Volume {
    /// The volume named `name`, made empty when missing if `create_if_missing`.
    pub fn from_name(name: &str, create_if_missing: bool) -> Result<Self, Error> {
        Ok(Volume {
            handle: storage::Volume::open(name, create_if_missing)?,
        })
    }

    /// Its id (`vo-` and 32 hexadecimal digits): Modal's `object_id`.
    pub fn id(&self) -> String {
        self.handle.id()
    }

    /// Its name.
    pub fn name(&self) -> String {
        self.handle.name()
    }

    /// Makes what was written in it durable; fails (`full`) when its files hold more than its
    /// quota.
    pub fn commit(&self) -> Result<(), Error> {
        Ok(self.handle.commit()?)
    }

    /// [`Volume::commit`], holding only the calling task.
    pub async fn commit_aio(&self) -> Result<(), Error> {
        Ok(self.handle.commit_async().await?)
    }

    /// Brings in what other containers committed.
    pub fn reload(&self) -> Result<(), Error> {
        Ok(self.handle.reload()?)
    }

    /// [`Volume::reload`], holding only the calling task.
    pub async fn reload_aio(&self) -> Result<(), Error> {
        Ok(self.handle.reload_async().await?)
    }
}
