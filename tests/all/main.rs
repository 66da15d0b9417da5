//! The component tests, in one binary: each module is one area of the host, run against real
//! guest components (built once per process by `fnhost_tests::guest`).
//!
//! One binary links wasmtime once instead of once per area. Run one area by its module name:
//!
//! ```text
//! cargo test --release -p fnhost-tests --test all -- scaling::
//! ```
//!
//! The tests share this process, so none of them may change process-wide state (environment
//! variables, the working directory): a test that needs other host settings makes a
//! [`fnhost::Host`] of its own with them.

/// Runs each test (an `async fn(component: PathBuf)` of the module) on the Rust test app for
/// classes and generators and on its Python twin (same names, same behaviour).
macro_rules! in_both_sdks {
    ($($test:ident),* $(,)?) => {
        in_both_sdks!(
            rust: "tests/guests/classes", python: "tests/guests-py/classes/app.py"; $($test),*
        );
    };
    (rust: $rust:literal, python: $python:literal; $($test:ident),* $(,)?) => {
        mod rust {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $test() {
                    super::$test(fnhost_tests::guest($rust)).await;
                }
            )*
        }
        mod python {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $test() {
                    super::$test(fnhost_tests::python_guest($python)).await;
                }
            )*
        }
    };
}

/// Runs the tests again, in a module `on_a_cluster`, each on hosts that keep their state on a
/// cluster's JetStream (a `nats-server` of the test's own; `storage::on_nats`).
macro_rules! on_a_cluster_too {
    (rust: $rust:literal, python: $python:literal; $($test:ident),* $(,)?) => {
        mod on_a_cluster {
            use std::path::PathBuf;

            in_both_sdks!(rust: $rust, python: $python; $($test),*);

            $(
                async fn $test(component: PathBuf) {
                    crate::storage::on_nats(super::$test(component)).await;
                }
            )*
        }
    };
}

mod batching;
mod cache;
mod call_graphs;
mod call_ids;
mod cancellation;
mod capacity;
mod classes;
mod concurrency;
mod cpu;
mod errors;
mod faults;
mod files;
mod fuzz;
mod generators;
mod grants;
mod maps;
mod output;
mod overload;
mod pressure;
mod programming_model;
mod python;
mod retries;
mod sandboxes;
mod scaling;
mod server;
mod settings;
mod snapshots;
mod spawned_on_a_cluster;
mod storage;
mod timeouts;
mod volumes;
