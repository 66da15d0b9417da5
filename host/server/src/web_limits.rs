//! How many web requests each app serves at once: a share of the host's container slots, so
//! that one app's clients (slow, stalled or many) never hold the slots every app needs.
//!
//! Invariant: an app has at most `per_app` web requests admitted at any moment, each holding a
//! permit until its answer is whole (a streamed body: its end); past it a request is refused
//! at once (`overloaded`), never queued, so a flood waits nowhere in the server. Without it a
//! hundred stalled uploads to one wasi:http app would take a hundred containers from everyone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The web requests each app may have admitted at once.
pub(crate) struct WebLimits {
    per_app: usize,
    apps: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl WebLimits {
    /// At most `per_app` (at least 1) web requests per app at once.
    pub(crate) fn new(per_app: usize) -> WebLimits {
        WebLimits {
            per_app: per_app.max(1),
            apps: Mutex::default(),
        }
    }

    /// A permit for one web request of `app`, or `None` when the app has as many as it may.
    pub(crate) fn admit(&self, app: &str) -> Option<OwnedSemaphorePermit> {
        let semaphore = {
            let mut apps = self.apps.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(
                apps.entry(app.to_owned())
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_app))),
            )
        };
        semaphore.try_acquire_owned().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_app_has_its_own_share() {
        let limits = WebLimits::new(2);
        let first = limits.admit("a").unwrap();
        let _second = limits.admit("a").unwrap();
        assert!(limits.admit("a").is_none(), "a third request of `a`");
        assert!(limits.admit("b").is_some(), "another app is unaffected");
        drop(first);
        assert!(
            limits.admit("a").is_some(),
            "a permit comes back with its answer"
        );
    }
}
