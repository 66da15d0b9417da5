//! Generators (Modal's `remote_gen`): items arrive in order as they are produced, through a
//! bounded buffer the producer cannot outrun; an error mid-stream ends the items with it;
//! dropping the stream cancels the producer; `spawn` and `remote` of a generator are errors.
//! Checked on the items, on the producer's own count and on pool counters, never on time.

use fnhost::{App, ErrorKind, GENERATOR_BUFFER};
use fnhost_tests::eventually;
use futures::StreamExt;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

in_both_sdks!(
    items_arrive_in_order_then_the_generator_ends,
    guests_read_generators_blocking_and_async,
    an_error_mid_stream_ends_the_items_with_it,
    spawning_or_calling_a_generator_with_remote_is_an_error,
    the_buffer_bounds_the_producer_and_dropping_the_stream_cancels_it,
);

async fn items_arrive_in_order_then_the_generator_ends(component: PathBuf) {
    let app = App::load([component]).await.unwrap();
    for name in ["count_to", "count_to_aio"] {
        let items: Vec<u64> = app
            .function(name)
            .unwrap()
            .remote_gen::<u64>(100)
            .map(Result::unwrap)
            .collect()
            .await;
        assert_eq!(items, (0..100).collect::<Vec<_>>(), "{name}");
    }
    let none: Vec<_> = app
        .function("count_to")
        .unwrap()
        .remote_gen::<u64>(0)
        .collect()
        .await;
    assert!(none.is_empty());
}

async fn guests_read_generators_blocking_and_async(component: PathBuf) {
    let app = App::load([component]).await.unwrap();
    for caller in ["sum_of_counts", "sum_of_counts_aio"] {
        let sums: (u64, u64) = app.function(caller).unwrap().remote(100).await.unwrap();
        assert_eq!(sums, (4950, 4950), "{caller}");
    }
}

async fn an_error_mid_stream_ends_the_items_with_it(component: PathBuf) {
    let app = App::load([component]).await.unwrap();
    let items: Vec<_> = app
        .function("count_then_fail")
        .unwrap()
        .remote_gen::<u64>(3)
        .collect()
        .await;
    assert_eq!(items.len(), 4, "three numbers, then the error: {items:?}");
    assert_eq!(
        items[..3]
            .iter()
            .map(|item| item.clone().unwrap())
            .collect::<Vec<_>>(),
        [0, 1, 2]
    );
    let error = items[3].clone().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::User);
    assert!(error.message().contains("failed at 3"), "{error}");

    let (numbers, message): (Vec<u64>, String) = app
        .function("items_until_failure")
        .unwrap()
        .remote(3)
        .await
        .unwrap();
    assert_eq!(numbers, [0, 1, 2]);
    assert!(message.contains("failed at 3"), "{message}");
}

async fn spawning_or_calling_a_generator_with_remote_is_an_error(component: PathBuf) {
    let app = App::load([component]).await.unwrap();
    let count_to = app.function("count_to").unwrap();
    for error in [
        count_to.spawn::<u64>(3).err().unwrap(),
        count_to.remote::<u64>(3).await.unwrap_err(),
    ] {
        assert_eq!(error.kind(), ErrorKind::BadArguments);
        assert!(
            error.message().contains("`count_to` is a generator"),
            "{error}"
        );
    }
    let (spawned, called): (String, String) = app
        .function("misuse_a_generator")
        .unwrap()
        .remote(())
        .await
        .unwrap();
    assert!(
        spawned.contains("is a generator") && called.contains("is a generator"),
        "{spawned} / {called}"
    );
    let not_one: Vec<_> = app
        .function("lookup_in_aio")
        .unwrap()
        .remote_gen::<u64>((3, 1))
        .collect()
        .await;
    assert_eq!(not_one.len(), 1);
    assert!(
        not_one[0]
            .as_ref()
            .unwrap_err()
            .message()
            .contains("is not a generator")
    );
}

async fn the_buffer_bounds_the_producer_and_dropping_the_stream_cancels_it(component: PathBuf) {
    let app = App::load([component]).await.unwrap();
    let producer = app
        .class("Producer")
        .unwrap()
        .instance(json!(null))
        .unwrap();
    let produced = producer.method("produced").unwrap();
    let mut items = producer.method("numbers").unwrap().remote_gen::<u64>(());
    let bound = GENERATOR_BUFFER as u64 + 1;
    for read in 1..=3u64 {
        assert_eq!(items.next().await.unwrap().unwrap(), read - 1);
        // The producer runs ahead of the reader by the buffer and the item it waits to send,
        // and stops there.
        let give_up = Instant::now() + Duration::from_secs(20);
        loop {
            let count: u64 = produced.remote(()).await.unwrap();
            assert!(
                count <= read + bound,
                "the producer ran {count} items ahead of {read} read"
            );
            if count == read + bound {
                break;
            }
            assert!(Instant::now() < give_up, "the producer stopped at {count}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    drop(items);
    eventually("the dropped stream's producer is cancelled", || {
        let stats = producer.stats();
        stats.cancelled == 1 && stats.in_flight == 0
    })
    .await;
}
