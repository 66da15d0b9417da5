//! `wasmtime run`'s side of the benchmark's `fnhost run` row: prints 420, as
//! `fnhost run examples/hello::blocking_main` does.

fn main() {
    println!("{}", 42 * 10);
}
