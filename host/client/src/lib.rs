//! A client for `fnhost serve`'s HTTP API (docs/server.md), with the library's `Function`
//! surface: a program elsewhere calls deployed functions as if it had loaded the app.
//!
//! ```no_run
//! # async fn demo() -> Result<(), fnhost_client::ClientError> {
//! let client = fnhost_client::Client::connect("http://127.0.0.1:7420")?;
//! let answer: u32 = client.function("hello/async_function")?.remote(()).await?;
//! assert_eq!(answer, 420);
//! # Ok(())
//! # }
//! ```
//!
//! Invariant: what a call gives back is what the library's call would — the function's
//! result, decoded as the type asked for, or an error of the same kind (`not-found`,
//! `bad-arguments`, `user`, `trapped`, `timeout`, ...) with the same message — plus the
//! kinds only a remote call has (`transport`, `http`, `unauthorized`, ...). Arguments are
//! encoded as the library encodes them. The crate never depends on the `fnhost` library
//! itself, so a remote program does not build wasmtime; [`AppSummary`] mirrors the server's.
//!
//! [`Client::dict`] and [`Client::queue`] reach the server's dicts and queues, typed as the
//! library's are; [`Client::volume`] its volumes' files, [`Client::create_secret`] its
//! secrets, [`Client::create_sandbox`] its sandboxes. [`blocking`] holds the same API for callers without an async runtime.

mod apps;
pub mod blocking;
mod call;
mod client;
mod error;
mod function;
#[cfg(test)]
mod layers;
mod lines;
mod logs;
mod run;
mod sandboxes;
mod secrets;
mod storage;
mod tokens;
mod volumes;

pub use apps::{
    AppSummary, ClassSummary, DeploySettings, DirSetting, FunctionSummary, WebEndpoint,
};
pub use call::FunctionCall;
pub use client::Client;
pub use error::ClientError;
pub use function::{Function, MapLines};
pub use logs::{LogEvent, LogStream};
pub use reqwest::Url;
pub use run::{RunEvent, RunStream};
pub use sandboxes::{
    ByteStream, ExecRequest, Sandbox, SandboxExit, SandboxProcess, SandboxRequest, SandboxSummary,
};
pub use secrets::SecretSummary;
pub use storage::{Dict, Queue};
pub use tokens::{NewToken, TokenSummary};
pub use volumes::{Volume, VolumeEntry};
