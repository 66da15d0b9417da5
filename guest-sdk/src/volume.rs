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

pub use crate::bindings::fnhost::runtime::storage::{VolumeEntry, VolumeEntryKind};

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

    /// The entries of its directory `path` (`/` its root), every one below it when
    /// `recursive`, whether or not this function mounts it.
    pub fn listdir(&self, path: &str, recursive: bool) -> Result<Vec<VolumeEntry>, Error> {
        Ok(self.handle.listdir(path, recursive)?)
    }

    /// [`Volume::listdir`], holding only the calling task.
    pub async fn listdir_aio(
        &self,
        path: &str,
        recursive: bool,
    ) -> Result<Vec<VolumeEntry>, Error> {
        Ok(self
            .handle
            .listdir_async(path.to_owned(), recursive)
            .await?)
    }

    /// The bytes of its file `path` (at most 16 MiB: read larger ones through a mount).
    pub fn read_file(&self, path: &str) -> Result<Vec<u8>, Error> {
        Ok(self.handle.read_file(path)?)
    }

    /// [`Volume::read_file`], holding only the calling task.
    pub async fn read_file_aio(&self, path: &str) -> Result<Vec<u8>, Error> {
        Ok(self.handle.read_file_async(path.to_owned()).await?)
    }

    /// Removes its file `path`, or its directory `path` and all it holds when `recursive`.
    pub fn remove_file(&self, path: &str, recursive: bool) -> Result<(), Error> {
        Ok(self.handle.remove_file(path, recursive)?)
    }

    /// [`Volume::remove_file`], holding only the calling task.
    pub async fn remove_file_aio(&self, path: &str, recursive: bool) -> Result<(), Error> {
        Ok(self
            .handle
            .remove_file_async(path.to_owned(), recursive)
            .await?)
    }
}
