//! A component built against `fnhost:runtime@0.1.0`, the previous version of the contract
//! (every `function-config` field a plain value, not an option), as a component of the last
//! release is: this host implements a newer version, so loading it must say which one it was
//! built against and ask for a rebuild. Its WIT keeps only what it uses of 0.1.0.

wit_bindgen::generate!({ path: "wit", world: "fnhost:runtime/app" });

use exports::fnhost::runtime::guest::Guest;
use fnhost::runtime::types::{AppInfo, BodyKind, FunctionConfig, FunctionInfo};

struct Stale;

impl Guest for Stale {
    fn describe() -> AppInfo {
        AppInfo {
            functions: vec![FunctionInfo {
                name: "hello".to_owned(),
                kind: BodyKind::Blocking,
                params: Vec::new(),
                // 0.1.0's defaults, which its guests declared in full.
                config: FunctionConfig {
                    max_inputs: 1,
                    max_containers: 100,
                    min_containers: 0,
                    scaledown_window_secs: 60,
                    timeout_secs: 300,
                    memory_mib: 512,
                    retries: 0,
                    retry_delay_ms: 1000,
                    backoff_coefficient: 2.0,
                    max_retry_delay_ms: 60_000,
                    target_inputs: 1,
                    buffer_containers: 0,
                    cpu_millicores: 0,
                },
            }],
            entrypoints: Vec::new(),
        }
    }
}

export!(Stale);
