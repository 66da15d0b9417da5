//! Spawned calls on a cluster whose hosts do not all have the app: only the hosts that have it
//! take its calls, so no call fails as "went away" (or as an unknown function) because hosts
//! without the app were handed it first.

use fnhost::{Host, HostSettings};
use fnhost_cluster::{Cluster, ClusterSettings};
use fnhost_tests::guest;
use fnhost_tests::nats::NatsServer;
use serde_json::json;
use std::time::Duration;

/// A host of the cluster at `url`, named `name`.
async fn member(url: &str, name: &str) -> (Host, Cluster) {
    let host = Host::new(HostSettings {
        max_instances: 16,
        ..HostSettings::default()
    })
    .unwrap();
    let mut settings = ClusterSettings::new(url, &host);
    settings.host_name = name.into();
    let cluster = Cluster::join(host.clone(), settings).await.unwrap();
    (host, cluster)
}

#[tokio::test(flavor = "multi_thread")]
async fn hosts_without_the_app_leave_its_spawned_calls_to_the_hosts_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(dir.path());
    let (with_app, cluster) = member(&nats.url(), "with-app").await;
    let app = with_app
        .app()
        .load([guest("tests/guests/calls")])
        .await
        .unwrap();
    with_app.deploy("calls", app).unwrap();
    // Three hosts that pull spawned calls too, but have no app deployed.
    let mut others = Vec::new();
    for name in ["without-1", "without-2", "without-3"] {
        others.push(member(&nats.url(), name).await);
    }
    let mut ids = Vec::new();
    for x in 0..40_u32 {
        let args = serde_json::to_vec(&json!([x])).unwrap();
        let id = cluster
            .spawn("calls", "blocking_callee", args)
            .await
            .unwrap();
        ids.push((x, id));
    }
    for (x, id) in ids {
        let outcome = loop {
            match cluster.result(id, None, Duration::from_secs(20)).await {
                Ok(Some(outcome)) => break outcome,
                Ok(None) => {}
                Err(error) => panic!("call {id}: {error}"),
            }
        };
        let value: u32 = match outcome {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap(),
            Err(error) => panic!("call {x} ({id}): {error}"),
        };
        assert_eq!(value, x + 1);
    }
    let taken: u64 = others
        .iter()
        .map(|(_, cluster)| cluster.stats().taken)
        .sum();
    assert_eq!(taken, 0, "hosts without the app took none of its calls");
    assert_eq!(cluster.stats().taken, 40);
}
