//! A component built against `fnhost:runtime@0.0.9`, a version of the contract this host does
//! not implement.

wit_bindgen::generate!({ path: "wit", world: "fnhost:runtime/app" });

struct Stale;

impl exports::fnhost::runtime::guest::Guest for Stale {
    fn describe() -> Vec<String> {
        vec!["hello".to_owned()]
    }
}

export!(Stale);
