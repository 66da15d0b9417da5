//! A plain `wasm32-wasip2` library component with no fnhost exports.

/// An export that is not part of the fnhost contract.
#[unsafe(no_mangle)]
pub extern "C" fn add(a: i32, b: i32) -> i32 {
    a + b
}
