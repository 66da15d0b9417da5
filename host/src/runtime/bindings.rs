//! Host-side bindings to the `fnhost:runtime` contract, generated from `wit/`.
//!
//! The blocking imports (`call`, `function-call.get`, `sleep`) are plain WIT functions the host
//! implements as Rust `async fn`s: to the guest they block, and to wasmtime they suspend the
//! calling store's fiber, so the instance waits while every other container goes on. The
//! `async func` imports are concurrent: only the calling guest task waits.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "fnhost:runtime/app",
    imports: {
        "fnhost:runtime/host.call": async | trappable,
        "fnhost:runtime/host.[method]function-call.get": async | trappable,
        "fnhost:runtime/host.sleep": async | trappable,
        default: trappable,
    },
    with: {
        "fnhost:runtime/host.function-call": crate::call::PendingCall,
    },
});

pub use self::fnhost::runtime::types::CallError;
pub use self::fnhost::runtime::types::{AppInfo, BodyKind, FunctionInfo};
