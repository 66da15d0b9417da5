//! Host-side bindings to the `fnhost:runtime` contract, generated from `wit/`.
//!
//! The blocking imports (`call`, `function-call.get`, `wait-finished`, `sleep`) are plain WIT functions the host
//! implements as Rust `async fn`s: to the guest they block, and to wasmtime they suspend the
//! calling store's fiber, so the instance waits while every other container goes on. The
//! `async func` imports are concurrent: only the calling guest task waits.
//!
//! The contract's `call-error` converts to and from [`Error`] one to one here.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "fnhost:runtime/app",
    imports: {
        "fnhost:runtime/host.call": async | trappable,
        "fnhost:runtime/host.[method]function-call.get": async | trappable,
        "fnhost:runtime/host.sleep": async | trappable,
        "fnhost:runtime/host.wait-finished": async | trappable,
        "fnhost:runtime/host.[method]item-sink.send": async | trappable,
        "fnhost:runtime/host.[method]item-stream.next": async | trappable,
        default: trappable,
    },
    with: {
        "fnhost:runtime/host.function-call": crate::dispatch::retained::CallHandle,
        "fnhost:runtime/host.item-sink": crate::dispatch::items::ItemSink,
        "fnhost:runtime/host.item-stream": crate::dispatch::items::ItemStream,
    },
});

pub(crate) use self::fnhost::runtime::types::{
    AppInfo, Batching, BodyKind, CallError, ClassInfo, EnterPhase, FunctionConfig, FunctionInfo,
};

use crate::Error;

impl From<CallError> for Error {
    fn from(error: CallError) -> Self {
        match error {
            CallError::NotFound(message) => Error::NotFound(message),
            CallError::BadArguments(message) => Error::BadArguments(message),
            CallError::User(message) => Error::User(message),
            CallError::Trapped(message) => Error::Trapped(message),
            CallError::Timeout(message) => Error::Timeout(message),
            CallError::Cancelled(message) => Error::Cancelled(message),
            CallError::Overloaded(message) => Error::Overloaded(message),
            CallError::TooDeep(message) => Error::TooDeep(message),
        }
    }
}

impl From<Error> for CallError {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound(message) => CallError::NotFound(message),
            Error::BadArguments(message) | Error::Payload(message) => {
                CallError::BadArguments(message)
            }
            Error::User(message) => CallError::User(message),
            Error::Trapped(message) => CallError::Trapped(message),
            Error::Timeout(message) => CallError::Timeout(message),
            Error::Cancelled(message) => CallError::Cancelled(message),
            Error::Overloaded(message) => CallError::Overloaded(message),
            Error::TooDeep(message) => CallError::TooDeep(message),
        }
    }
}
