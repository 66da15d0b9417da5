//! The dispatch seam: every call of a function — from the host API, from a guest's import, and
//! later from an HTTP front or another host of a cluster — is a [`Request`] submitted through
//! [`Dispatch`], and its result comes back on the [`Receiver`] that returns.
//!
//! Containers hold a `Weak<dyn Dispatch>` to route the calls their guests make, never the app
//! itself: whatever routes calls (one app's registry today, a router spanning apps or hosts
//! tomorrow) plugs in here without the container, the pool or the imports knowing. The
//! request and reply types live here, beside what travels with them: the call chain
//! ([`chain`]), the size limit ([`payload`]), the caller watch ([`watch`]), the reply channel
//! ([`pending`]), whose a spawned call is ([`owner`]) and the calls a full pool offers to other
//! hosts ([`offload`]); the spawned calls kept by id are a store above this layer
//! (`crate::retained`).
//!
//! Invariant: a submitted request is answered exactly once on its reply channel (a result, or
//! an error), or its channel is dropped because the app shut down; callers map a dropped
//! channel to `cancelled`.

pub(crate) mod chain;
pub(crate) mod items;
pub(crate) mod offload;
pub(crate) mod owner;
pub(crate) mod payload;
pub(crate) mod pending;
pub(crate) mod watch;

use crate::Error;
use crate::info::{SecretSource, VolumeMount};
use crate::options::{CallOptions, FunctionOptions, Policy};
use chain::Chain;
use std::fmt;
use std::sync::Arc;

pub(crate) use pending::{Receiver, Reply, wait};

/// One call of a function: its arguments, the call site's overrides, the chain of calls that
/// led to it, and the id the host gave it.
pub(crate) struct Request {
    /// The arguments, a JSON array.
    pub(crate) args: Vec<u8>,
    /// The call site's timeout and retries, overriding the function's own.
    pub(crate) options: CallOptions,
    /// The calls that led to this one; `None` for a call from the host API.
    pub(crate) caller: Option<Chain>,
    /// The call's id, minted by the host when the call was made.
    pub(crate) id: CallId,
    /// Whether a full pool may offer the call to another host (see [`offload`]): false for a
    /// call that came from one, so that a call never travels twice.
    pub(crate) may_offer: bool,
    /// Set for a call of a generator: where its items go.
    pub(crate) items: Option<items::ItemSender>,
    /// What a guest's `with_options` sets for the callee's containers (options over its own,
    /// secrets and volumes in place of its own): the call runs in a pool made so.
    pub(crate) containers: Option<Overrides>,
}

/// What a guest's `with_options` sets for a callee's containers: options over its own, and
/// the secrets and volumes that replace its own, as Modal's replace them (of its secrets, the
/// ones read from the host by name: the variables written in the app, `env` and
/// `Secret.from_dict`, stay).
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides {
    pub(crate) options: FunctionOptions,
    pub(crate) secrets: Option<Vec<SecretSource>>,
    pub(crate) volumes: Option<Vec<VolumeMount>>,
}

impl Request {
    /// A request with `args`, made through `caller` with the call site's `options`, with a new
    /// id.
    pub(crate) fn new(args: Vec<u8>, options: CallOptions, caller: Option<Chain>) -> Self {
        Request {
            args,
            options,
            caller,
            id: CallId::mint(),
            may_offer: true,
            items: None,
            containers: None,
        }
    }
}

/// A request admitted by a pool: what the guest runs (the function's name, or a class's
/// `CLASS.METHOD`), the encoded arguments, where the result goes, its timeout and retries,
/// which attempt this is (0 for the first run, 1 for the first retry, ...), the chain of
/// calls that led to it (`None` for a call from the host API), and its call's id.
pub(crate) struct Input {
    pub(crate) function: Arc<str>,
    pub(crate) args: Vec<u8>,
    pub(crate) reply: Reply,
    pub(crate) policy: Policy,
    pub(crate) attempt: u32,
    pub(crate) caller: Option<Chain>,
    pub(crate) id: CallId,
    /// Set for an input of a generator: where its items go.
    pub(crate) items: Option<items::ItemSender>,
}

/// What routes calls to the functions that run them.
pub(crate) trait Dispatch: Send + Sync {
    /// Submits a call of `function`. The result arrives on the receiver returned; a call that
    /// cannot be submitted at all (an unknown function, bad arguments, a chain too deep) fails
    /// here.
    fn submit(&self, function: &str, request: Request) -> Result<Receiver, Error>;

    /// The counters of the pool that runs `function` (for a class's method, the pool of the
    /// instances built from `params`, a JSON object; empty for a function), encoded as a JSON
    /// object (the host's `PoolStats`).
    fn pool_stats(&self, function: &str, params: &[u8]) -> Result<Vec<u8>, Error> {
        let _ = params;
        Err(Error::NotFound(format!(
            "no statistics for `{function}` here"
        )))
    }
}

/// Routes nothing: what a container is started with while its component is only described
/// (describing runs no function, so no call is ever made).
pub(crate) struct Unrouted;

impl Dispatch for Unrouted {
    fn submit(&self, function: &str, _: Request) -> Result<Receiver, Error> {
        Err(Error::NotFound(format!(
            "`{function}`: no calls are routed while a component is described"
        )))
    }
}

/// A call's id: 128 random bits from a cryptographically secure generator, so that a guest or
/// a client cannot guess another's. Printed as `fc-` and 32 hexadecimal digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallId(u128);

impl CallId {
    /// A new id. Drawn from the thread's ChaCha generator (seeded from the OS): a few
    /// nanoseconds, no system call per call.
    pub fn mint() -> Self {
        CallId(rand::random())
    }

    /// The id named by `key`: the same key gives the same id on every host (a schedule's
    /// tick), distinct keys distinct ids (the first 128 bits of the key's BLAKE3 hash).
    pub fn derived(key: &str) -> Self {
        let hash = blake3::hash(key.as_bytes());
        let mut first = [0u8; 16];
        first.copy_from_slice(&hash.as_bytes()[..16]);
        CallId(u128::from_be_bytes(first))
    }
}

impl std::str::FromStr for CallId {
    type Err = Error;

    /// Reads an id as printed: `fc-` and 32 hexadecimal digits.
    fn from_str(text: &str) -> Result<Self, Error> {
        text.strip_prefix("fc-")
            .filter(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|hex| u128::from_str_radix(hex, 16).ok())
            .map(CallId)
            .ok_or_else(|| {
                let shown: String = text.chars().take(64).collect();
                Error::NotFound(format!(
                    "`{shown}` is not a call id (`fc-` and 32 hex digits)"
                ))
            })
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fc-{:032x}", self.0)
    }
}

impl fmt::Debug for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_ids_are_printable_and_distinct() {
        let ids: std::collections::HashSet<String> =
            (0..1000).map(|_| CallId::mint().to_string()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert_eq!(id.len(), 35, "{id}");
            assert!(id.starts_with("fc-"));
            assert!(id[3..].chars().all(|c| c.is_ascii_hexdigit()));
            assert_eq!(id.parse::<CallId>().unwrap().to_string(), *id);
        }
        for bad in [
            "",
            "fc-",
            "fc-123",
            "xx-00000000000000000000000000000000",
            "fc-+0000000000000000000000000000000",
        ] {
            assert!(bad.parse::<CallId>().is_err(), "{bad}");
        }
    }

    use proptest::prelude::*;

    proptest! {
        /// Any text given as a call id (a URL path, a NATS header, a guest's `from_id`) is
        /// an id or refused, and an id prints back as it was given.
        #[test]
        fn any_text_parses_as_a_call_id_or_is_refused(text in "(fc-)?[ -~]{0,40}") {
            if let Ok(id) = text.parse::<CallId>() {
                prop_assert_eq!(id.to_string(), text);
            }
        }
    }
}
