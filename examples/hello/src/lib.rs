//! The seed's program ("Asynchronous API usage"), in fnhost's Rust form.
//!
//! ```text
//! fnhost run examples/hello::blocking_main   # => 420
//! fnhost run examples/hello::main            # 100 calls to myfunc, in parallel
//! ```

use fnhost_guest::{Error, app, function, local_entrypoint};
use futures::future::join_all;

#[function]
async fn myfunc() {}

/// Executes 100 remote calls to `myfunc` in parallel.
#[local_entrypoint]
async fn main() -> Result<(), Error> {
    let results = join_all((0..100).map(|_| myfunc.remote_aio(()))).await;
    let done = results
        .into_iter()
        .collect::<Result<Vec<()>, Error>>()?
        .len();
    println!("{done} calls to myfunc done");
    Ok(())
}

#[function]
fn blocking_function() -> u32 {
    42
}

#[function]
async fn async_function() -> Result<u32, Error> {
    let x = blocking_function.remote_aio(()).await?;
    Ok(x * 10)
}

#[local_entrypoint]
fn blocking_main() -> Result<(), Error> {
    println!("{}", async_function.remote(())?); // => 420
    Ok(())
}

app!(
    myfunc,
    main,
    blocking_function,
    async_function,
    blocking_main
);
