//! Ephemeral dicts and queues made over HTTP (Modal's `Dict.ephemeral()` from a script): the
//! server holds each one's handle for its client under a lease that the client renews with
//! heartbeats, and lets it go when the client removes it or stops renewing.
//!
//! Invariant: an ephemeral object lives while its lease does, and no longer: the store removes
//! an ephemeral object when its last handle is dropped, and the lease holds the only handle
//! that outlives a request. Without the lease a script's object would go at the end of the
//! request that made it; without its expiry, every script that died inside its `with` block
//! would leave its object behind until the server stops.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// How long an ephemeral object outlives its client's last heartbeat. Clients renew at a
/// third of it.
pub(crate) const LEASE: Duration = Duration::from_secs(180);
/// The most ephemeral objects the server's clients hold at once.
pub(crate) const MAX_LEASES: usize = 10_000;

struct Lease {
    /// The object's handle (a `Dict` or a `Queue`), dropped with the lease, which removes the
    /// object.
    _handle: Box<dyn Send>,
    expires: Instant,
}

/// The ephemeral objects the server holds for its clients, by id.
#[derive(Default, Clone)]
pub(crate) struct Leases {
    held: Arc<Mutex<HashMap<String, Lease>>>,
}

/// Why a lease was not taken.
#[derive(Debug)]
pub(crate) struct TooMany;

impl Leases {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Lease>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds the object `handle` opens (whose id is `id`) for [`LEASE`], and lets it go when
    /// that ends unrenewed.
    pub(crate) fn hold(&self, id: String, handle: impl Send + 'static) -> Result<(), TooMany> {
        let expires = Instant::now() + LEASE;
        {
            let mut held = self.lock();
            if held.len() >= MAX_LEASES {
                return Err(TooMany);
            }
            let lease = Lease {
                _handle: Box::new(handle),
                expires,
            };
            held.insert(id.clone(), lease);
        }
        tokio::spawn(self.clone().expire(id, expires));
        Ok(())
    }

    /// Renews the lease of `id`; false when there is none.
    pub(crate) fn renew(&self, id: &str) -> bool {
        match self.lock().get_mut(id) {
            Some(lease) => {
                lease.expires = Instant::now() + LEASE;
                true
            }
            None => false,
        }
    }

    /// Ends the lease of `id` (its object goes); false when there is none.
    pub(crate) fn release(&self, id: &str) -> bool {
        // The lease is dropped outside the lock: dropping a handle may reach the store.
        let lease = self.lock().remove(id);
        lease.is_some()
    }

    /// Waits until the lease of `id` ends unrenewed, then lets its object go.
    async fn expire(self, id: String, mut expires: Instant) {
        loop {
            tokio::time::sleep_until(expires).await;
            match self.check(&id, Instant::now()) {
                Some(renewed) => expires = renewed,
                None => return,
            }
        }
    }

    /// At `now`, ends the lease of `id` if it expired; when it goes on, the time it expires.
    fn check(&self, id: &str, now: Instant) -> Option<Instant> {
        let ended = {
            let mut held = self.lock();
            match held.get(id) {
                Some(lease) if lease.expires > now => return Some(lease.expires),
                Some(_) => held.remove(id),
                None => None,
            }
        };
        if ended.is_some() {
            tracing::info!(
                id,
                "an ephemeral object's lease ended without a heartbeat: removed"
            );
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fnhost::{Storage, StorageSettings};

    #[tokio::test]
    async fn a_lease_ends_when_unrenewed_or_released_and_its_object_goes_with_it() {
        let storage = Storage::in_memory(StorageSettings::default()).unwrap();
        let leases = Leases::default();
        let dict = storage.ephemeral_dict().await.unwrap();
        let queue = storage.ephemeral_queue().await.unwrap();
        let (dict_id, queue_id) = (dict.id().to_string(), queue.id().to_string());
        // Handles found by id, as requests find them: they do not keep an object alive.
        let found_dict = storage.dict_from_id(&dict_id).await.unwrap();
        let found_queue = storage.queue_from_id(&queue_id).await.unwrap();
        let start = Instant::now();
        leases.hold(dict_id.clone(), dict).unwrap();
        leases.hold(queue_id.clone(), queue).unwrap();
        assert!(leases.check(&queue_id, start + LEASE / 2).is_some());
        assert_eq!(leases.check(&queue_id, start + LEASE * 2), None);
        assert!(!leases.renew(&queue_id), "an ended lease is not renewed");
        // The store removes an object in order with later writes: a put after it fails.
        let put = found_queue.put(vec![b"1".to_vec()], None, 60, None).await;
        assert!(put.is_err(), "its queue went with it");

        assert!(leases.renew(&dict_id));
        found_dict.put(b"1", b"1".to_vec(), false).await.unwrap();
        assert!(leases.release(&dict_id));
        assert!(!leases.release(&dict_id));
        let put = found_dict.put(b"2", b"2".to_vec(), false).await;
        assert!(put.is_err(), "its dict went with it");
    }
}
