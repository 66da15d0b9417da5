//! Two hosts on one NATS JetStream, in this process (each with its own engine, pools and NATS
//! connection), the NATS server a process beside it: a call that crosses to the other host
//! against a local call, and durable spawned calls end to end (spawn → stored → run → outcome
//! stored → fetched) in calls/s.

use crate::{Report, micros};
use fnhost::{App, CompileCache, FunctionOptions, Host, HostSettings};
use fnhost_cluster::{Cluster, ClusterSettings};
use fnhost_tests::guest;
use fnhost_tests::nats::{NatsServer, cpu_time};
use futures::{StreamExt, stream};
use std::time::{Duration, Instant};

pub(crate) async fn cluster(
    report: &mut Report,
    cache: &CompileCache,
    calls: usize,
    spawns: usize,
) {
    let component = guest("tests/guests/cluster");
    let dir = std::env::temp_dir().join(format!("fnhost-bench-nats-{}", std::process::id()));
    let nats = NatsServer::start(&dir);
    let mut members = Vec::new();
    for name in ["a", "b"] {
        let host = Host::new(HostSettings {
            cache: cache.clone(),
            ..HostSettings::default()
        })
        .unwrap();
        let app: App = host
            .app()
            .options(
                "hold",
                FunctionOptions {
                    max_containers: Some(1),
                    ..FunctionOptions::default()
                },
            )
            .load([&component])
            .await
            .unwrap();
        host.deploy("cluster", app).unwrap();
        let settings = ClusterSettings {
            host_name: name.into(),
            ..ClusterSettings::new(nats.url(), &host)
        };
        let cluster = Cluster::join(host.clone(), settings).await.unwrap();
        members.push((host, cluster));
    }
    let (a, b) = (&members[0].0, &members[1].0);

    // The peer: a bare NATS request/reply round trip, an echo on another connection.
    let bare = bare_round_trips(&nats.url(), calls).await;
    // Local: calls of `hold` on the host that has room.
    let local = latencies(&b.function("cluster/hold").unwrap(), calls).await;
    // Across: the same calls made on a host whose only `hold` container is held.
    let hold = a.function("cluster/hold").unwrap();
    let holder = tokio::spawn({
        let hold = hold.clone();
        async move { hold.remote::<u32>((600_000u64, 0u32)).await }
    });
    while hold.stats().in_flight == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let across = latencies(&hold, calls).await;
    assert_eq!(hold.stats().peak_in_flight, 1, "every call went across");
    holder.abort();
    for (key, label, value, note) in [
        (
            "nats_round_trip_p50_us",
            "cluster: bare NATS request/reply p50",
            bare.0,
            String::new(),
        ),
        (
            "nats_round_trip_p99_us",
            "cluster: bare NATS request/reply p99",
            bare.1,
            String::new(),
        ),
        (
            "local_call_p50_us",
            "cluster: local call p50",
            local.0,
            String::new(),
        ),
        (
            "local_call_p99_us",
            "cluster: local call p99",
            local.1,
            String::new(),
        ),
        (
            "cross_host_call_p50_us",
            "cluster: call to another host p50",
            across.0,
            format!("{:.1}x local (target <= 250 us)", across.0 / local.0),
        ),
        (
            "cross_host_call_p99_us",
            "cluster: call to another host p99",
            across.1,
            format!("{:.1}x local", across.1 / local.1),
        ),
    ] {
        report.row(key, label, value, "us", &note);
    }

    // Durable spawned calls, spawned on one host, run by both, fetched from the other.
    let (spawner, fetcher) = (&members[0].1, &members[1].1);
    let cpu_before = (nats.cpu_time(), cpu_time("/proc/self/stat"));
    let start = Instant::now();
    let ids: Vec<_> = stream::iter(0..spawns)
        .map(|x| spawner.spawn("cluster", "double", format!("[0,{x}]").into_bytes()))
        .buffered(1000)
        .collect()
        .await;
    let spawned = start.elapsed();
    let outcomes: Vec<_> = stream::iter(ids)
        .map(|id| async move {
            let id = id.unwrap();
            fetcher.result(id, None, Duration::from_secs(60)).await
        })
        .buffered(1000)
        .collect()
        .await;
    let elapsed = start.elapsed();
    let cpu = (
        nats.cpu_time() - cpu_before.0,
        cpu_time("/proc/self/stat") - cpu_before.1,
    );
    for (x, outcome) in outcomes.into_iter().enumerate() {
        let json = outcome.unwrap().expect("finished").unwrap();
        assert_eq!(json, (2 * x).to_string().into_bytes());
    }
    report.row(
        "durable_spawns_per_s",
        "cluster: durable spawned calls, end to end",
        spawns as f64 / elapsed.as_secs_f64(),
        "calls/s",
        "target >= 20 000",
    );
    report.row(
        "durable_spawn_store_per_s",
        "cluster: spawns stored by JetStream",
        spawns as f64 / spawned.as_secs_f64(),
        "calls/s",
        "",
    );
    let taken: Vec<u64> = members
        .iter()
        .map(|(_, cluster)| cluster.stats().taken)
        .collect();
    println!(
        "  spawned calls taken by each host: {taken:?}; CPU over the run: nats-server {:.2} s, \
         both hosts {:.2} s, in {:.2} s",
        cpu.0.as_secs_f64(),
        cpu.1.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    for (_, cluster) in &members {
        cluster.leave(Duration::ZERO).await;
    }
    drop(members);
    drop(nats);
    let _ = std::fs::remove_dir_all(&dir);
}

/// p50 and p99, in µs, of `calls` sequential NATS requests answered by an echo on another
/// connection.
async fn bare_round_trips(url: &str, calls: usize) -> (f64, f64) {
    let responder = async_nats::connect(url).await.unwrap();
    let requester = async_nats::connect(url).await.unwrap();
    let mut requests = responder.subscribe("bench.echo").await.unwrap();
    let echo = tokio::spawn(async move {
        while let Some(request) = requests.next().await {
            if let Some(reply) = request.reply {
                responder.publish(reply, request.payload).await.unwrap();
            }
        }
    });
    // Until the server knows of the subscription, there are no responders.
    while requester.request("bench.echo", "[]".into()).await.is_err() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut samples = Vec::with_capacity(calls);
    for i in 0..calls {
        let start = Instant::now();
        let reply = requester
            .request("bench.echo", format!("[0,{i}]").into())
            .await
            .unwrap();
        samples.push(start.elapsed());
        assert_eq!(reply.payload, format!("[0,{i}]"));
    }
    echo.abort();
    percentiles(samples)
}

fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort_unstable();
    let at = |fraction: f64| {
        micros(samples[((samples.len() as f64 * fraction) as usize).min(samples.len() - 1)])
    };
    (at(0.50), at(0.99))
}

/// p50 and p99, in µs, of `calls` sequential calls of `hold(0, i)`.
async fn latencies(hold: &fnhost::Function, calls: usize) -> (f64, f64) {
    let mut samples = Vec::with_capacity(calls);
    for i in 0..calls {
        let start = Instant::now();
        let echoed: u32 = hold.remote((0u64, i as u32)).await.unwrap();
        samples.push(start.elapsed());
        assert_eq!(echoed, i as u32);
    }
    percentiles(samples)
}
