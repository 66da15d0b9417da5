//! Faults end only their own container: memory past the limit, a smashed stack, panics in the
//! middle of a map. Runs examples/faults.

use fnhost::{App, Error};
use fnhost_tests::guest;

async fn faults() -> App {
    App::load([guest("examples/faults")])
        .await
        .expect("examples/faults loads")
}

fn trapped_with(result: &Result<impl std::fmt::Debug, Error>, cause: &str) -> bool {
    matches!(result, Err(Error::Trapped(message)) if message.contains(cause))
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_past_the_limit_traps_and_the_pool_recovers() {
    let app = faults().await;
    let grow = app.function("grow").unwrap();
    assert_eq!(grow.info().config.memory, 64);
    assert_eq!(grow.remote::<usize>((8,)).await, Ok(2048));
    let result = grow.remote::<usize>((100,)).await;
    assert!(
        trapped_with(&result, "forcing trap when growing memory"),
        "{result:?}"
    );
    assert_eq!(
        grow.remote::<usize>((8,)).await,
        Ok(2048),
        "a new container serves"
    );
    // 8192 MiB does not fit a 32-bit shift: it must still grow, and trap at the limit.
    let result = grow.remote::<usize>(8192).await;
    assert!(
        trapped_with(&result, "forcing trap when growing memory"),
        "{result:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_smashed_stack_traps_only_its_container() {
    let app = faults().await;
    let result = app
        .function("overflow")
        .unwrap()
        .remote::<u64>((1_000_000,))
        .await;
    assert!(trapped_with(&result, "overflow#0"), "{result:?}");
    // The trap says what it may be: the guest's stack lives in its linear memory.
    assert!(trapped_with(&result, "stack"), "{result:?}");
    let recurse = app.function("recurse").unwrap();
    assert_eq!(recurse.remote::<u32>((20,)).await, Ok(20));
}

/// Fault injection in a large map: 10 of 1 000 inputs panic; the other 990 deliver, in order.
#[tokio::test(flavor = "multi_thread")]
async fn a_map_with_panicking_inputs_returns_every_other_result_in_order() {
    let app = faults().await;
    let fragile = app.function("fragile").unwrap();
    let results: Vec<Result<u32, Error>> = fragile.map_results((0..1000u32).map(|i| (i,))).await;
    assert_eq!(results.len(), 1000);
    let mut failed = 0;
    for (i, result) in results.iter().enumerate() {
        if i % 100 == 7 {
            assert!(
                trapped_with(result, &format!("input {i} is fragile")),
                "{i}: {result:?}"
            );
            failed += 1;
        } else {
            assert_eq!(result, &Ok(i as u32));
        }
    }
    assert_eq!(failed, 10);
}

/// Fault injection at random: maps over random inputs, of which those ending in 07 panic, in
/// random places; every result is its own input's, in order, and the pool keeps serving.
#[test]
fn maps_with_panics_at_random_places_deliver_every_other_result_in_order() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(faults());
    let fragile = app.function("fragile").unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 8,
        failure_persistence: None,
        ..Config::default()
    });
    // Mostly well-behaved inputs, about one in ten made fragile.
    let input = prop_oneof![9 => any::<u32>(), 1 => any::<u32>().prop_map(|i| i / 100 * 100 + 7)];
    runner
        .run(&prop::collection::vec(input, 200..400), |inputs| {
            let results: Vec<Result<u32, Error>> =
                runtime.block_on(fragile.map_results(inputs.iter().map(|i| (*i,))));
            prop_assert_eq!(results.len(), inputs.len());
            for (input, result) in inputs.iter().zip(&results) {
                if input % 100 == 7 {
                    let panic = format!("input {input} is fragile");
                    prop_assert!(trapped_with(result, &panic), "{}: {:?}", input, result);
                } else {
                    prop_assert_eq!(result, &Ok(*input));
                }
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(runtime.block_on(fragile.remote::<u32>((1,))), Ok(1));
}
