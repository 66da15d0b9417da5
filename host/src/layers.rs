//! The library's layering, checked (by `fnhost-layering`, from the sources): each top-level
//! module uses only those before it in [`LAYERS`], and no two source files use each other,
//! directly or around a circle.
//!
//! Without it, the modules drift back into the circle they were taken out of (app, call,
//! container, function and pool each importing the others), and nothing can be built or
//! tested apart.

use fnhost_layering::Sources;
use std::path::Path;

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

fn sources() -> Sources {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    Sources::read(&src, &["layers"], ROOT_NAMES)
}

#[test]
fn each_layer_uses_only_the_layers_below_it() {
    sources().assert_layers(&LAYERS);
}

#[test]
fn no_file_uses_one_that_uses_it_back() {
    sources().assert_no_circle();
}
