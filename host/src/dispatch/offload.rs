//! Offloading: a call that finds its function's pool full (every container it may have busy,
//! the input about to queue) may be offered to another host, through the [`Offload`] the host
//! was given (a cluster's router, see [`Host::set_offload`]). Without one nothing changes: the
//! call queues, as it always did. Only apps deployed by name are offloaded, since another host
//! knows an app by its name.
//!
//! Invariants:
//! - An offered call is answered exactly once: by the offload (the other host's result, or an
//!   error), or by its own pool after [`OfferedCall::run_here`]. Dropping an [`OfferedCall`]
//!   unanswered drops its reply channel, which its caller sees as `cancelled`.
//! - A call is offered at most once: a call that came from another host, or was given back
//!   with `run_here`, never travels again. Without it two full hosts would pass a call back
//!   and forth.
//!
//! [`Host::set_offload`]: crate::Host::set_offload

use crate::Error;
use crate::dispatch::owner::CallOwner;
use crate::dispatch::{CallId, Input};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

/// What takes the calls a full pool offers: a cluster's router.
pub trait Offload: Send + Sync {
    /// Takes `call`, which found the pool of its function full on this host. Called outside
    /// every lock of the pool; must not block. The offload answers the call itself or gives it
    /// back with [`OfferedCall::run_here`].
    fn offer(&self, call: OfferedCall);
}

/// Where an offered call goes back to when no other host takes it: its pool.
pub(crate) trait Home: Send + Sync {
    /// The function the pool runs.
    fn function(&self) -> &str;
    /// Queues `input` in the pool, never to be offered again.
    fn place_here(self: Arc<Self>, input: Input);
}

/// A call offered to another host: what it calls, with what, and the reply its caller waits
/// on.
pub struct OfferedCall {
    app: Arc<str>,
    home: Arc<dyn Home>,
    input: Input,
}

impl OfferedCall {
    pub(crate) fn new(app: Arc<str>, home: Arc<dyn Home>, input: Input) -> Self {
        OfferedCall { app, home, input }
    }

    /// The name the app is deployed under.
    pub fn app(&self) -> &str {
        &self.app
    }

    /// The function called.
    pub fn function(&self) -> &str {
        self.home.function()
    }

    /// The call's id.
    pub fn id(&self) -> CallId {
        self.input.id
    }

    /// The arguments, a JSON array.
    pub fn args(&self) -> &[u8] {
        &self.input.args
    }

    /// How many calls led to this one (0 for a call from the host API): the depth limit holds
    /// across hosts.
    pub fn depth(&self) -> usize {
        self.input
            .caller
            .as_ref()
            .map_or(0, |caller| caller.depth())
    }

    /// How long each attempt may run.
    pub fn timeout(&self) -> Duration {
        self.input.policy.timeout
    }

    /// How many retries the call has.
    pub fn retries(&self) -> u32 {
        self.input.policy.retries
    }

    /// Resolves when the caller no longer waits (it cancelled the call, or went away): the
    /// other host's input should then be cancelled.
    pub async fn abandoned(&mut self) {
        self.input.reply.closed().await;
    }

    /// Answers the caller.
    pub fn answer(self, result: Result<Vec<u8>, Error>) {
        let _ = self.input.reply.send(result);
    }

    /// Gives the call back to its pool on this host, where it queues; it is never offered
    /// again.
    pub fn run_here(self) {
        self.home.place_here(self.input);
    }
}

/// A call that came from another host (offered there, or taken from a cluster's queue of
/// spawned calls), to run on a function of this one: [`Function::accept`].
///
/// [`Function::accept`]: crate::Function::accept
#[derive(Debug, Clone)]
pub struct ArrivedCall {
    /// The call's id, as its caller's host minted it.
    pub id: CallId,
    /// The arguments, a JSON array.
    pub args: Vec<u8>,
    /// How many calls led to it on the other host (0: none).
    pub depth: usize,
    /// The caller's override of the function's timeout.
    pub timeout: Option<Duration>,
    /// The caller's override of the function's retries.
    pub retries: Option<u32>,
}

/// The host's offload, shared by all its apps.
pub(crate) type HostOffload = Arc<RwLock<Option<Arc<dyn Offload>>>>;

/// Where an app's full pools offer their calls: the host's offload, under the name the app
/// was first deployed as (its [`CallOwner`]'s; an app never deployed is never offloaded).
#[derive(Default)]
pub(crate) struct OffloadRoute {
    offload: HostOffload,
}

impl OffloadRoute {
    /// The route of an app loaded on a host with `offload`.
    pub(crate) fn new(offload: HostOffload) -> Self {
        OffloadRoute { offload }
    }

    /// The offload and the name of the app `owner` names, when both are there.
    pub(crate) fn target(&self, owner: &CallOwner) -> Option<(Arc<dyn Offload>, Arc<str>)> {
        let app = owner.deployed()?;
        let offload = self
            .offload
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()?;
        Some((offload, Arc::clone(app)))
    }
}
