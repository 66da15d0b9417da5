//! A second component, loaded beside examples/hello: it calls hello's functions by name.

use fnhost_guest::{Error, Function, app, function, local_entrypoint};

const ASYNC_FUNCTION: Function<(), u32> = Function::from_name("async_function");

/// hello's `async_function`, which calls hello's `blocking_function`: 42 * 10.
#[function]
async fn answer_from_hello() -> Result<u32, Error> {
    ASYNC_FUNCTION.remote_aio(()).await
}

#[local_entrypoint]
fn linked_main() -> Result<(), Error> {
    println!("hello says {}", ASYNC_FUNCTION.remote(())?);
    Ok(())
}

app!(answer_from_hello, linked_main);
