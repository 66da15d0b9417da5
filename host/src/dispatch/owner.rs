//! Whose a spawned call is: the app that spawned it, by the name it was deployed as, or an
//! app never deployed.
//!
//! Invariant: every version of an app deployed under one name owns the calls of every other
//! (a redeploy finds its predecessor's calls by id), and an app never deployed owns only its
//! own. Without it a guest could read another app's results by id, or lose its own across a
//! redeploy; the full pools of an app offer calls under the same first name.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Whose a spawned call is: the app deployed under a name (every version of it), or one app
/// never deployed (itself only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Owner {
    /// The app deployed as this name.
    App(Arc<str>),
    /// An app not deployed (when it spawned), by a number unique in the process.
    Unnamed(u64),
}

impl Owner {
    /// The app's name, when it was deployed.
    pub(crate) fn app(&self) -> Option<&str> {
        match self {
            Owner::App(name) => Some(name),
            Owner::Unnamed(_) => None,
        }
    }
}

/// The owner of the calls an app spawns: unnamed from its load, its name from its first
/// deploy on.
#[derive(Debug)]
pub(crate) struct CallOwner {
    unnamed: u64,
    deployed: OnceLock<Arc<str>>,
}

impl Default for CallOwner {
    fn default() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        CallOwner {
            unnamed: NEXT.fetch_add(1, Ordering::Relaxed),
            deployed: OnceLock::new(),
        }
    }
}

impl CallOwner {
    /// The app is deployed as `name` (its first name is kept: its calls' owner, and the name
    /// its full pools offer calls under).
    pub(crate) fn deployed_as(&self, name: &str) {
        let _ = self.deployed.set(Arc::from(name));
    }

    /// The name the app was first deployed as, if it was.
    pub(crate) fn deployed(&self) -> Option<&Arc<str>> {
        self.deployed.get()
    }

    /// The owner of a call spawned now.
    pub(crate) fn now(&self) -> Owner {
        match self.deployed.get() {
            Some(name) => Owner::App(Arc::clone(name)),
            None => Owner::Unnamed(self.unnamed),
        }
    }
}
