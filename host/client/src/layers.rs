//! The client's layering, checked (by `fnhost-layering`, from the sources): each top-level
//! module uses only those before it in [`LAYERS`], and no two source files use each other,
//! directly or around a circle.
//!
//! Without it the client drifts into circles as the library once did (`client.rs` made
//! `Function`s, which send through `Client`): handles made from a client live with the handles.

/// The modules, lowest first: the error and the connection, then what is sent through it.
const LAYERS: [&str; 14] = [
    "error",
    "client",
    "lines",
    "call",
    "function",
    "logs",
    "run",
    "apps",
    "storage",
    "volumes",
    "secrets",
    "tokens",
    "sandboxes",
    "blocking",
];

/// What the crate root re-exports, usable as `crate::Name`, with the module of each.
const ROOT_NAMES: &[(&str, &str)] = &[
    ("AppSummary", "apps"),
    ("ClassSummary", "apps"),
    ("DeploySettings", "apps"),
    ("DirSetting", "apps"),
    ("FunctionSummary", "apps"),
    ("WebEndpoint", "apps"),
    ("FunctionCall", "call"),
    ("Client", "client"),
    ("ClientError", "error"),
    ("Function", "function"),
    ("MapLines", "function"),
    ("LogEvent", "logs"),
    ("LogStream", "logs"),
    ("RunEvent", "run"),
    ("RunStream", "run"),
    ("ByteStream", "sandboxes"),
    ("ExecRequest", "sandboxes"),
    ("Sandbox", "sandboxes"),
    ("SandboxExit", "sandboxes"),
    ("SandboxProcess", "sandboxes"),
    ("SandboxRequest", "sandboxes"),
    ("SandboxSummary", "sandboxes"),
    ("SecretSummary", "secrets"),
    ("Dict", "storage"),
    ("Queue", "storage"),
    ("NewToken", "tokens"),
    ("TokenSummary", "tokens"),
    ("Volume", "volumes"),
    ("VolumeEntry", "volumes"),
];

#[test]
fn the_modules_are_layered_without_a_circle() {
    fnhost_layering::assert_layered(env!("CARGO_MANIFEST_DIR"), &LAYERS, ROOT_NAMES);
}
