//! How many web requests each app serves at once: a share of the host's container slots, so
//! that one app's clients (slow, stalled or many) never hold the slots every app needs.
//!
//! Invariant: an app has at most `per_app` web requests admitted at any moment, each holding a
//! permit until its answer is whole (a streamed body: its end). A request past the share waits
//! for a permit, first come first served, for at most the server's request timeout, then is
//! refused (`overloaded`): a burst is served, and a flood's requests wait only as long as a
//! stalled request may. Without it a hundred stalled uploads to one wasi:http app would take
//! a hundred containers from everyone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The web requests each app may have admitted at once.
pub(crate) struct WebLimits {
    per_app: usize,
    /// How long a request waits for a permit.
    wait: Duration,
    apps: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl WebLimits {
    /// At most `per_app` (at least 1) web requests per app at once; one past it waits `wait`.
    pub(crate) fn new(per_app: usize, wait: Duration) -> WebLimits {
        WebLimits {
            per_app: per_app.max(1),
            wait,
            apps: Mutex::default(),
        }
    }

    /// A permit for one web request of `app`, or `None` when the app had as many as it may
    /// for as long as a request waits.
    pub(crate) async fn admit(&self, app: &str) -> Option<OwnedSemaphorePermit> {
        let semaphore = {
            let mut apps = self.apps.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(
                apps.entry(app.to_owned())
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_app))),
            )
        };
        let permit = tokio::time::timeout(self.wait, semaphore.acquire_owned()).await;
        // The semaphore is never closed: the only error is the wait's end.
        permit.ok()?.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn each_app_has_its_own_share_and_waits_for_it() {
        let limits = Arc::new(WebLimits::new(2, Duration::from_secs(30)));
        let first = limits.admit("a").await.unwrap();
        let _second = limits.admit("a").await.unwrap();
        assert!(limits.admit("a").await.is_none(), "a third request of `a`");
        assert!(
            limits.admit("b").await.is_some(),
            "another app is unaffected"
        );
        let waiting = tokio::spawn({
            let limits = Arc::clone(&limits);
            async move { limits.admit("a").await.is_some() }
        });
        tokio::task::yield_now().await;
        drop(first);
        assert!(
            waiting.await.unwrap(),
            "a waiting request gets the permit that comes back"
        );
    }
}
