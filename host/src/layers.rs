//! The library's layering, checked (by `fnhost-layering`, from the sources): each top-level
//! module uses only those before it in [`LAYERS`], and no two source files use each other,
//! directly or around a circle.
//!
//! Without it, the modules drift back into the circle they were taken out of (app, call,
//! container, function and pool each importing the others), and nothing can be built or
//! tested apart.

/// The top-level modules, lowest first.
const LAYERS: [&str; 12] = [
    "error",
    "storage",
    "options",
    "schedule",
    "info",
    "dispatch",
    "retained",
    "runtime",
    "container",
    "load",
    "pool",
    "api",
];

/// What the crate root re-exports from the lowest layer, usable as `crate::Error`.
const ROOT_NAMES: &[(&str, &str)] = &[
    ("Error", "error"),
    ("ErrorKind", "error"),
    ("LoadError", "error"),
];

#[test]
fn the_modules_are_layered_without_a_circle() {
    fnhost_layering::assert_layered(env!("CARGO_MANIFEST_DIR"), &LAYERS, ROOT_NAMES);
}
