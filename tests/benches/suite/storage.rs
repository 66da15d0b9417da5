//! Dicts and queues: gets, durable puts and queue round trips made by guests, against the same
//! work done on the host's store directly (fnhost's `Storage`, no guest) and against redb alone
//! (the embedded store: a read transaction per get, a durable write transaction per put).
//! The store is a file in a scratch directory, so puts pay real disk syncs. Then the same
//! guests on a host whose state is on a cluster's JetStream, against async-nats alone.

use crate::Report;
use async_nats::jetstream::{self, kv};
use fnhost::{App, CompileCache, Host, HostSettings, Storage, StorageSettings};
use fnhost_cluster::{Cluster, ClusterSettings};
use fnhost_tests::nats::NatsServer;
use futures::StreamExt;
use futures::future::join_all;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;
use std::time::Instant;

/// How many guests (or host tasks) read at once: one per core and some to spare.
const READERS: u32 = 4;
/// How many containers put at once, each with `n / WRITERS` puts in flight.
const WRITERS: u32 = 4;

pub(crate) async fn storage(report: &mut Report, bench: &Path, cache: &CompileCache, ops: u32) {
    let dir = std::env::temp_dir().join(format!("fnhost-bench-store-{}", std::process::id()));
    let settings = HostSettings {
        state_dir: Some(dir.join("guest")),
        ..HostSettings::default()
    };
    let host = Host::new(settings).expect("a host");
    let app = host
        .app()
        .cache(cache.clone())
        .load([bench])
        .await
        .expect("bench loads");
    let alone = Storage::open(&dir.join("alone"), StorageSettings::default()).expect("a store");

    let guest_gets = guest_rate(&app, "dict_gets", READERS, ops, |_, share| (share,)).await;
    let alone_gets = alone_gets(&alone, ops).await;
    let redb_gets = redb_gets(&dir.join("redb.redb"), ops);
    report.row(
        "dict_get_guest_per_s",
        "dict gets from guests",
        guest_gets,
        "ops/s",
        "4 containers, goal >= 200 000",
    );
    report.row(
        "dict_get_alone_per_s",
        "dict gets on the store alone",
        alone_gets,
        "ops/s",
        "fnhost's Storage from 4 tasks",
    );
    report.row(
        "dict_get_redb_per_s",
        "gets on redb alone",
        redb_gets,
        "ops/s",
        "a read transaction each, 4 threads",
    );
    report.row(
        "dict_get_ratio",
        "guest gets / store alone",
        guest_gets / alone_gets,
        "x",
        "goal >= 0.7",
    );

    let puts = ops / 2;
    let guest_puts = guest_rate(&app, "dict_puts_aio", WRITERS, puts, |writer, share| {
        (writer * share, share)
    })
    .await;
    let alone_puts = alone_puts(&alone, puts).await;
    let redb_puts = redb_puts(&dir.join("redb-puts.redb"), puts.min(500));
    report.row(
        "dict_put_guest_per_s",
        "durable dict puts from guests",
        guest_puts,
        "ops/s",
        "4 containers, all in flight; goal >= 20 000",
    );
    report.row(
        "dict_put_alone_per_s",
        "durable puts on the store alone",
        alone_puts,
        "ops/s",
        "fnhost's Storage, all in flight",
    );
    report.row(
        "dict_put_redb_per_s",
        "durable puts on redb alone",
        redb_puts,
        "ops/s",
        "one transaction (one sync) each",
    );
    report.row(
        "dict_put_ratio",
        "guest puts / store alone",
        guest_puts / alone_puts,
        "x",
        "goal >= 0.7",
    );

    let trips = ops / 10;
    let guest_trips = guest_rate(&app, "queue_round_trips", READERS, trips, |_, share| {
        (share,)
    })
    .await;
    report.row(
        "queue_round_trips_per_s",
        "queue put -> get round trips from guests",
        guest_trips,
        "trips/s",
        "4 containers, sequential in each",
    );
    drop((app, host, alone));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Operations per second of `total` operations of `function` split over `callers` calls at
/// once (each on a container of its own), with arguments `args(caller, share)`.
async fn guest_rate<A: serde::Serialize>(
    app: &App,
    function: &str,
    callers: u32,
    total: u32,
    args: impl Fn(u32, u32) -> A,
) -> f64 {
    let function = app.function(function).unwrap();
    let share = total / callers;
    // Warm: containers started, the dict made.
    function.warm_up(callers as usize).await.unwrap();
    function.remote::<()>(args(callers, 1)).await.unwrap();
    let start = Instant::now();
    let calls = (0..callers).map(|caller| function.remote::<()>(args(caller, share)));
    for done in join_all(calls).await {
        done.unwrap();
    }
    f64::from(share * callers) / start.elapsed().as_secs_f64()
}

async fn alone_gets(store: &Storage, ops: u32) -> f64 {
    let dict = store.dict("bench", true).await.unwrap();
    for key in 0..100 {
        dict.put(key.to_string().as_bytes(), b"1".to_vec(), false)
            .await
            .unwrap();
    }
    let share = ops / READERS;
    let start = Instant::now();
    let readers = (0..READERS).map(|_| {
        let dict = dict.clone();
        tokio::spawn(async move {
            for key in 0..share {
                dict.get((key % 100).to_string().as_bytes()).await.unwrap();
            }
        })
    });
    join_all(readers).await;
    f64::from(share * READERS) / start.elapsed().as_secs_f64()
}

async fn alone_puts(store: &Storage, ops: u32) -> f64 {
    let dict = store.dict("bench", true).await.unwrap();
    let start = Instant::now();
    let puts = (0..ops).map(|key| {
        let dict = dict.clone();
        tokio::spawn(async move {
            dict.put(key.to_string().as_bytes(), b"1".to_vec(), false)
                .await
                .unwrap()
        })
    });
    join_all(puts).await;
    f64::from(ops) / start.elapsed().as_secs_f64()
}

const TABLE: TableDefinition<u32, u32> = TableDefinition::new("bench");

fn redb_gets(path: &Path, ops: u32) -> f64 {
    let db = redb::Database::create(path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut table = txn.open_table(TABLE).unwrap();
        for key in 0..100 {
            table.insert(key, key).unwrap();
        }
    }
    txn.commit().unwrap();
    let share = ops / READERS;
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..READERS {
            scope.spawn(|| {
                for key in 0..share {
                    let txn = db.begin_read().unwrap();
                    let table = txn.open_table(TABLE).unwrap();
                    table.get(key % 100).unwrap();
                }
            });
        }
    });
    f64::from(share * READERS) / start.elapsed().as_secs_f64()
}

fn redb_puts(path: &Path, ops: u32) -> f64 {
    let db = redb::Database::create(path).unwrap();
    let start = Instant::now();
    for key in 0..ops {
        let txn = db.begin_write().unwrap();
        txn.open_table(TABLE).unwrap().insert(key, key).unwrap();
        txn.commit().unwrap();
    }
    f64::from(ops) / start.elapsed().as_secs_f64()
}

/// The same guest gets, durable puts and queue round trips on a host whose state is on a
/// cluster's JetStream, against async-nats alone doing the same work on a bucket and a
/// work-queue stream of its own (the floor: what any client of that server pays).
pub(crate) async fn on_jetstream(
    report: &mut Report,
    bench: &Path,
    cache: &CompileCache,
    ops: u32,
) {
    let dir = std::env::temp_dir().join(format!("fnhost-bench-js-{}", std::process::id()));
    let nats = NatsServer::start(&dir);
    let host = Host::new(HostSettings {
        cache: cache.clone(),
        ..HostSettings::default()
    })
    .expect("a host");
    let cluster = Cluster::join(host.clone(), ClusterSettings::new(nats.url(), &host))
        .await
        .expect("joins");
    let app = host.app().load([bench]).await.expect("bench loads");
    let client = async_nats::connect(nats.url()).await.unwrap();
    let jetstream = async_nats::jetstream::new(client);

    let guest_gets = guest_rate(&app, "dict_gets", READERS, ops, |_, share| (share,)).await;
    let bare_gets = bare_gets(&jetstream, ops).await;
    report.row(
        "dict_get_jetstream_per_s",
        "dict gets from guests, state on JetStream",
        guest_gets,
        "ops/s",
        "4 containers",
    );
    report.row(
        "dict_get_jetstream_ratio",
        "guest gets / async-nats KV gets alone",
        guest_gets / bare_gets,
        "x",
        &format!("alone: {bare_gets:.0}/s from 4 tasks"),
    );
    let guest_puts = guest_rate(&app, "dict_puts_aio", WRITERS, ops, |writer, share| {
        (writer * share, share)
    })
    .await;
    let bare_puts = bare_puts(&jetstream, ops).await;
    report.row(
        "dict_put_jetstream_per_s",
        "acknowledged dict puts from guests, on JetStream",
        guest_puts,
        "ops/s",
        "4 containers, all in flight",
    );
    report.row(
        "dict_put_jetstream_ratio",
        "guest puts / async-nats KV puts alone",
        guest_puts / bare_puts,
        "x",
        &format!("alone: {bare_puts:.0}/s, all in flight"),
    );
    let trips = ops / 10;
    let guest_trips = guest_rate(&app, "queue_round_trips", READERS, trips, |_, share| {
        (share,)
    })
    .await;
    let bare_trips = bare_round_trips(&jetstream, trips).await;
    report.row(
        "queue_round_trips_jetstream_per_s",
        "queue put -> get round trips from guests, on JetStream",
        guest_trips,
        "trips/s",
        "4 containers, sequential in each",
    );
    report.row(
        "queue_round_trips_jetstream_ratio",
        "guest round trips / async-nats alone",
        guest_trips / bare_trips,
        "x",
        &format!("alone: {bare_trips:.0}/s (publish, pull one, double ack)"),
    );
    drop((app, cluster, host, nats));
    let _ = std::fs::remove_dir_all(&dir);
}

async fn bare_bucket(jetstream: &jetstream::Context) -> kv::Store {
    jetstream
        .create_key_value(kv::Config {
            bucket: "bare".into(),
            history: 1,
            ..Default::default()
        })
        .await
        .unwrap()
}

async fn bare_gets(jetstream: &jetstream::Context, ops: u32) -> f64 {
    let bucket = bare_bucket(jetstream).await;
    for key in 0..100 {
        bucket.put(key.to_string(), "1".into()).await.unwrap();
    }
    let share = ops / READERS;
    let start = Instant::now();
    let readers = (0..READERS).map(|_| {
        let bucket = bucket.clone();
        tokio::spawn(async move {
            for key in 0..share {
                bucket.get((key % 100).to_string()).await.unwrap();
            }
        })
    });
    join_all(readers).await;
    f64::from(share * READERS) / start.elapsed().as_secs_f64()
}

async fn bare_puts(jetstream: &jetstream::Context, ops: u32) -> f64 {
    let bucket = bare_bucket(jetstream).await;
    let start = Instant::now();
    let puts = (0..ops).map(|key| bucket.put(key.to_string(), "1".into()));
    for put in join_all(puts).await {
        put.unwrap();
    }
    f64::from(ops) / start.elapsed().as_secs_f64()
}

async fn bare_round_trips(jetstream: &jetstream::Context, trips: u32) -> f64 {
    let stream = jetstream
        .create_stream(jetstream::stream::Config {
            name: "bare-queue".into(),
            subjects: vec!["bare.queue.>".into()],
            retention: jetstream::stream::RetentionPolicy::WorkQueue,
            ..Default::default()
        })
        .await
        .unwrap();
    let share = trips / READERS;
    let start = Instant::now();
    let loops = (0..READERS).map(|reader| {
        let (jetstream, stream) = (jetstream.clone(), stream.clone());
        tokio::spawn(async move {
            let subject = format!("bare.queue.{reader}");
            let consumer: jetstream::consumer::PullConsumer = stream
                .create_consumer(jetstream::consumer::pull::Config {
                    durable_name: Some(format!("take-{reader}")),
                    filter_subject: subject.clone(),
                    ..Default::default()
                })
                .await
                .unwrap();
            for item in 0..share {
                let ack = jetstream.publish(subject.clone(), item.to_string().into());
                ack.await.unwrap().await.unwrap();
                let wait = std::time::Duration::from_secs(5);
                let batch = consumer.batch().max_messages(1).expires(wait);
                let mut batch = batch.messages().await.unwrap();
                let message = batch.next().await.unwrap().unwrap();
                message.double_ack().await.unwrap();
            }
        })
    });
    join_all(loops).await;
    f64::from(share * READERS) / start.elapsed().as_secs_f64()
}
