//! Several `fnhost serve --cluster` hosts on one real `nats-server -js`, each a process of its
//! own on an ephemeral loopback port, as a user runs them: deploys shared by every host (and a
//! host joining late), spawned calls that survive a host killed with SIGKILL, calls that spill
//! to a host with room (checked on the pools' counters), guest → guest calls across hosts, and
//! NATS restarting mid-run; a cluster behind TLS and credentials (`trust`).

#[path = "support/serve.rs"]
mod support;
#[path = "cluster/trust.rs"]
mod trust;

use fnhost_client::{Client, ClientError, FunctionCall};
use fnhost_tests::nats::NatsServer;
use futures::{StreamExt, TryStreamExt, stream};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::{Server, command, scratch_dir, stderr, stdout};

/// The test app (`tests/guests/cluster`) as deployed by these tests.
const APP: &str = "cluster";

/// How long a condition that must come true is waited for (NATS delivers within
/// milliseconds; the bound only turns a hang into a failure).
const PATIENCE: Duration = Duration::from_secs(60);

/// A cluster for one test: its NATS server and its hosts' state directories.
struct Cluster {
    nats: NatsServer,
    dir: PathBuf,
}

impl Cluster {
    fn start(test: &str) -> Cluster {
        let dir = scratch_dir(&format!("cluster-{test}"));
        let nats = NatsServer::start(&dir.join("nats"));
        Cluster { nats, dir }
    }

    /// Starts two hosts and deploys the test app on the first; returns them, and a client of
    /// each, once the second serves the app.
    async fn two_hosts_with_the_app(&self) -> (Server, Server, Client, Client) {
        let (one, two) = (self.host("one"), self.host("two"));
        deploy(&one);
        let (first, second) = (client(&one), client(&two));
        eventually("the deploy reaches the second host", async || {
            version(&second).await
        })
        .await;
        (one, two, first, second)
    }

    /// Starts three hosts and deploys the test app on the first; returns them, and a client of
    /// each, once every one serves the app.
    async fn three_hosts_with_the_app(&self) -> (Server, Server, Server, [Client; 3]) {
        let (one, two, three) = (self.host("one"), self.host("two"), self.host("three"));
        deploy(&one);
        let clients = [client(&one), client(&two), client(&three)];
        for client in &clients {
            eventually("every host has the app", async || version(client).await).await;
        }
        (one, two, three, clients)
    }

    /// Starts `fnhost serve --cluster` as the host `name`.
    fn host(&self, name: &str) -> Server {
        let state = self.dir.join(name);
        Server::start(
            &state,
            &["--cluster", &self.nats.url(), "--host-name", name],
        )
    }
}

/// Deploys the test app on `host`, `hold` and `double` limited to one container per host
/// (`double` runs 100 inputs at once in it).
fn deploy(host: &Server) {
    let output = host.run(&[
        "deploy",
        "tests/guests/cluster",
        "--option",
        "hold.max_containers=1",
        "--option",
        "double.max_containers=1",
    ]);
    assert!(
        output.status.success(),
        "{}\n{}",
        stderr(&output),
        host.log()
    );
    assert!(
        stdout(&output).starts_with("deployed `cluster` version"),
        "{}",
        stdout(&output)
    );
}

fn client(host: &Server) -> Client {
    Client::connect(&host.url).unwrap()
}

/// Waits until `check` gives a value (at most [`PATIENCE`]), then returns it.
async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "never came true: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The version of the app deployed on the host `client` talks to, if it is deployed.
async fn version(client: &Client) -> Option<u64> {
    client.app(APP).await.ok().map(|app| app.version)
}

/// The counters of `function`'s pool on the host `client` talks to.
async fn stats(client: &Client, function: &str) -> Value {
    let app = client.app(APP).await.unwrap();
    let summary = app
        .functions
        .into_iter()
        .find(|summary| summary.name == function)
        .unwrap();
    summary.stats.expect("the server gives pool counters")
}

fn count(stats: &Value, counter: &str) -> u64 {
    stats[counter]
        .as_u64()
        .unwrap_or_else(|| panic!("no counter `{counter}` in {stats}"))
}

/// The value of the metric `name` (unlabelled) that the host at `url` serves on `/metrics`.
fn metric(url: &str, name: &str) -> u64 {
    use std::io::{Read, Write};
    let address = url.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} "))?.parse().ok())
        .unwrap_or_else(|| panic!("no metric `{name}`: {text}"))
}

/// The messages JetStream holds in `stream` now.
async fn messages(nats: &NatsServer, stream: &str) -> u64 {
    let client = async_nats::connect(nats.url()).await.unwrap();
    let jetstream = async_nats::jetstream::new(client);
    let mut stream = jetstream.get_stream(stream).await.unwrap();
    stream.info().await.unwrap().state.messages
}

/// Spawns `double(ms, x)` for every `x` of `inputs` through `client`, 64 requests at a time;
/// returns the call ids in input order.
async fn spawn_doubles(client: &Client, ms: u64, inputs: std::ops::Range<u64>) -> Vec<String> {
    let double = client.function_in(APP, "double");
    stream::iter(inputs)
        .map(|x| {
            let double = double.clone();
            async move {
                double
                    .spawn::<u64>((ms, x))
                    .await
                    .map(|call| call.id().to_owned())
            }
        })
        .buffered(64)
        .try_collect()
        .await
        .unwrap()
}

/// Checks that call `ids[i]` gave `2 * (first + i)`, asking `client` for each, 256 at a time.
async fn check_doubles(client: &Client, first: u64, ids: &[String]) {
    let results: Vec<u64> = stream::iter(ids)
        .map(|id| async move { FunctionCall::<u64>::from_id(client, id)?.get().await })
        .buffered(256)
        .try_collect()
        .await
        .unwrap();
    for (i, result) in results.into_iter().enumerate() {
        assert_eq!(result, 2 * (first + i as u64), "call {}", ids[i]);
    }
}

fn remove(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_on_one_host_is_served_by_all_and_by_a_host_that_joins_later() {
    let cluster = Cluster::start("deploy");
    let (one, two) = (cluster.host("one"), cluster.host("two"));
    deploy(&one);
    let (first, second) = (client(&one), client(&two));
    assert_eq!(version(&first).await, Some(1));
    eventually("the deploy reaches the second host", async || {
        (version(&second).await == Some(1)).then_some(())
    })
    .await;
    let double = second.function_in(APP, "double");
    assert_eq!(double.remote::<u64>((0, 21)).await.unwrap(), 42);
    // A host joining later loads what is deployed, and serves it.
    let three = cluster.host("three");
    let third = client(&three);
    assert_eq!(
        eventually("the late host loads the app", async || version(&third)
            .await)
        .await,
        1
    );
    let output = three.run(&["call", APP, "double", "[0, 4]"]);
    assert_eq!(stdout(&output), "8\n", "{}", stderr(&output));
    // A redeploy on any host is the next version everywhere; an undeploy, everywhere too.
    deploy(&three);
    for client in [&first, &second, &third] {
        eventually("every host has version 2", async || {
            (version(client).await == Some(2)).then_some(())
        })
        .await;
    }
    let output = two.run(&["undeploy", APP]);
    assert!(output.status.success(), "{}", stderr(&output));
    for client in [&first, &second, &third] {
        eventually("every host undeployed it", async || {
            version(client).await.is_none().then_some(())
        })
        .await;
    }
    drop((one, two, three));
    remove(&cluster.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_spawned_calls_survive_a_host_killed_mid_way() {
    const CALLS: u64 = 10_000;
    let cluster = Cluster::start("kill");
    let (one, two, mut three, clients) = cluster.three_hosts_with_the_app().await;
    // Spawned through the first host, then the second, while the third is killed mid-way.
    let spawning = tokio::spawn({
        let (first, second) = (clients[0].clone(), clients[1].clone());
        async move {
            let mut ids = spawn_doubles(&first, 100, 0..CALLS / 2).await;
            ids.extend(spawn_doubles(&second, 100, CALLS / 2..CALLS).await);
            ids
        }
    });
    eventually("the third host runs spawned calls", async || {
        (count(&stats(&clients[2], "double").await, "in_flight") > 0).then_some(())
    })
    .await;
    three.child.kill().unwrap();
    three.child.wait().unwrap();
    let ids = spawning.await.unwrap();
    assert_eq!(ids.len() as u64, CALLS);
    check_doubles(&clients[0], 0, &ids).await;
    // One outcome stored per call id, and every call acked.
    assert_eq!(messages(&cluster.nats, "KV_fnhost-results").await, CALLS);
    eventually("every spawned call is acked", async || {
        (messages(&cluster.nats, "FNHOST_SPAWNS").await == 0).then_some(())
    })
    .await;
    drop((one, two, three));
    remove(&cluster.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_map_of_ten_thousand_inputs_gives_every_result_once_with_a_host_killed() {
    const INPUTS: u64 = 10_000;
    let cluster = Cluster::start("map");
    let (one, two, mut three, clients) = cluster.three_hosts_with_the_app().await;
    // `fnhost map` through the first host, as docs/serving.md shows it: its one container of
    // `double` is full at once, so inputs spill to the other hosts.
    let input: String = (0..INPUTS).map(|x| format!("[20, {x}]\n")).collect();
    let map = std::thread::spawn({
        let url = one.url.clone();
        move || support::fnhost_with_stdin(&["map", APP, "double", "--url", &url], input)
    });
    eventually("the third host runs spilled calls", async || {
        (count(&stats(&clients[2], "double").await, "in_flight") > 0).then_some(())
    })
    .await;
    three.child.kill().unwrap();
    three.child.wait().unwrap();
    let output = map.join().unwrap();
    assert!(
        output.status.success(),
        "{}\n{}",
        stderr(&output),
        one.log()
    );
    let lines: Vec<Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, INPUTS);
    for (x, line) in lines.iter().enumerate() {
        assert_eq!(line["ok"], 2 * x as u64, "input {x}: {line}");
    }
    // Some ran on the second host: the first spilled while it was full.
    assert!(count(&stats(&clients[1], "double").await, "containers_started") >= 1);
    drop((one, two, three));
    remove(&cluster.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_spill_to_a_host_with_room_and_guests_call_across_hosts() {
    let cluster = Cluster::start("spill");
    let (one, two, first, second) = cluster.two_hosts_with_the_app().await;
    // The first host's only `hold` container is held by a long call.
    let hold = first.function_in(APP, "hold");
    let holder = tokio::spawn({
        let hold = hold.clone();
        async move { hold.remote::<u32>((600_000, 1)).await }
    });
    eventually("the first host's `hold` pool is full", async || {
        (count(&stats(&first, "hold").await, "in_flight") == 1).then_some(())
    })
    .await;
    // A call from the API, and guest → guest calls, blocking and async, find it full.
    assert_eq!(hold.remote::<u32>((10, 2)).await.unwrap(), 2);
    let call_hold = first.function_in(APP, "call_hold");
    assert_eq!(call_hold.remote::<u32>((10, 3)).await.unwrap(), 3);
    let call_hold_aio = first.function_in(APP, "call_hold_aio");
    assert_eq!(call_hold_aio.remote::<u32>((10, 4)).await.unwrap(), 4);
    // They ran on the second host: the first never had more than its one input of `hold`,
    // which is still running.
    let here = stats(&first, "hold").await;
    assert_eq!(count(&here, "in_flight"), 1, "{here}");
    assert_eq!(count(&here, "peak_in_flight"), 1, "{here}");
    assert_eq!(count(&here, "containers_started"), 1, "{here}");
    let there = stats(&second, "hold").await;
    assert!(count(&there, "containers_started") >= 1, "{there}");
    // Told in both hosts' metrics.
    assert_eq!(metric(&one.url, "fnhost_cluster_connected"), 1);
    assert!(metric(&one.url, "fnhost_cluster_spilled_total") >= 3);
    assert!(metric(&two.url, "fnhost_cluster_taken_total") >= 3);
    // The callers ran at home: their own pools had room.
    assert_eq!(
        count(&stats(&second, "call_hold").await, "containers_started"),
        0
    );
    // The holder's client goes away: its call is cancelled, the container freed.
    holder.abort();
    eventually("the held container is freed", async || {
        (count(&stats(&first, "hold").await, "in_flight") == 0).then_some(())
    })
    .await;
    // A spawned call cancelled through the other host stops where it runs.
    let call = first
        .function_in(APP, "double")
        .spawn::<u64>((600_000, 1))
        .await
        .unwrap();
    eventually("the spawned call runs", async || {
        let running = count(&stats(&first, "double").await, "in_flight")
            + count(&stats(&second, "double").await, "in_flight");
        (running == 1).then_some(())
    })
    .await;
    FunctionCall::<u64>::from_id(&second, call.id())
        .unwrap()
        .cancel()
        .await
        .unwrap();
    match call.get().await {
        Err(ClientError::Server { kind, .. }) => assert_eq!(kind, "cancelled"),
        other => panic!("a cancelled call: {other:?}"),
    }
    eventually("the cancelled call stops and is acked", async || {
        let running = count(&stats(&first, "double").await, "in_flight")
            + count(&stats(&second, "double").await, "in_flight");
        (running == 0 && messages(&cluster.nats, "FNHOST_SPAWNS").await == 0).then_some(())
    })
    .await;
    drop((one, two));
    remove(&cluster.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_restarting_loses_no_spawned_call_and_local_calls_go_on() {
    let mut cluster = Cluster::start("restart");
    let (one, two, first, second) = cluster.two_hosts_with_the_app().await;
    let ids = spawn_doubles(&first, 50, 0..200).await;
    cluster.nats.stop();
    // Without NATS: calls that find room at home go on; a spawn fails at once, and clearly.
    let double = first.function_in(APP, "double");
    assert_eq!(double.remote::<u64>((0, 5)).await.unwrap(), 10);
    match double.spawn::<u64>((0, 1)).await {
        Err(ClientError::Server { kind, message, .. }) => {
            assert_eq!(kind, "overloaded", "{message}");
            assert!(message.contains("cluster"), "{message}");
        }
        other => panic!("a spawn without NATS: {other:?}"),
    }
    cluster.nats.start_again();
    // The hosts reconnect by themselves; what was stored before runs.
    let late = eventually("spawns work again", async || {
        double.spawn::<u64>((0, 500)).await.ok()
    })
    .await;
    check_doubles(&second, 0, &ids).await;
    assert_eq!(late.get().await.unwrap(), 1000);
    // A call that traps on every host ends after its retries with its error stored.
    let poisoned = second
        .function_in(APP, "poison")
        .spawn::<u32>(7)
        .await
        .unwrap();
    match poisoned.get().await {
        Err(ClientError::Server { kind, message, .. }) => {
            assert_eq!(kind, "trapped", "{message}");
            assert!(message.contains("input 7 is poisoned"), "{message}");
        }
        other => panic!("a poisoned call: {other:?}"),
    }
    eventually("every spawned call is acked", async || {
        (messages(&cluster.nats, "FNHOST_SPAWNS").await == 0).then_some(())
    })
    .await;
    drop((one, two));
    remove(&cluster.dir);
}

/// Deploys the Python storage test app on `host`; its name as deployed.
fn deploy_storage_app(host: &Server) -> String {
    let output = host.run(&["deploy", "tests/guests-py/storage/app.py"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let said = stdout(&output);
    said.split('`')
        .nth(1)
        .unwrap_or_else(|| panic!("no app name in {said}"))
        .to_owned()
}

/// The Python storage app's dicts, queues and secrets on three hosts: 99 racing
/// `put(skip_if_exists=True)` calls spread over the three, exactly one wins; items put through
/// one host are drained through the other two, each exactly once; a secret kept through one
/// host reaches the function's containers on another, and its value is in no host's log; and
/// every put a host acknowledged is read through another host after the first is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hosts_share_dicts_queues_and_secrets_and_a_kill_loses_no_put() {
    const ITEMS: u64 = 2_000;
    let cluster = Cluster::start("state");
    let (one, mut two, three) = (
        cluster.host("one"),
        cluster.host("two"),
        cluster.host("three"),
    );
    let app = deploy_storage_app(&one);
    let clients = [client(&one), client(&two), client(&three)];
    for client in &clients {
        eventually("every host has the app", async || {
            client.app(&app).await.ok().map(drop)
        })
        .await;
    }
    let function = |host: usize, name: &str| clients[host].function_in(&app, name);

    // Racing puts from the three hosts: one key, one winner.
    let racers = (0..99_u32).map(|who| {
        let put = function(who as usize % 3, "dict_put");
        async move {
            put.remote::<bool>(("locks", "lock", who, true))
                .await
                .unwrap()
        }
    });
    let won = futures::future::join_all(racers).await;
    assert_eq!(won.iter().filter(|won| **won).count(), 1, "{won:?}");

    // Items put through the first host, drained through the other two.
    let drains: Vec<_> = (0..6)
        .map(|n| {
            let drain = function(1 + n % 2, "queue_drain");
            tokio::spawn(async move { drain.remote::<Vec<u64>>(("work", 2.0, ())).await.unwrap() })
        })
        .collect();
    let puts = (0..ITEMS / 200).map(|batch| {
        let put = function(0, "queue_put");
        let items: Vec<u64> = (batch * 200..(batch + 1) * 200).collect();
        async move { put.remote::<usize>(("work", items, ())).await.unwrap() }
    });
    futures::future::join_all(puts).await;
    let mut got = Vec::new();
    for drain in drains {
        got.extend(drain.await.unwrap());
    }
    got.extend(
        function(2, "queue_drain")
            .remote::<Vec<u64>>(("work", 0.5, ()))
            .await
            .unwrap(),
    );
    let distinct: BTreeSet<u64> = got.iter().copied().collect();
    assert_eq!(got.len(), distinct.len(), "an item was got twice");
    assert_eq!(distinct, (0..ITEMS).collect::<BTreeSet<_>>());

    // A secret kept through the first host reaches the third host's containers.
    let value = "sk-cluster-0123456789abcdef";
    let pair = format!("API_KEY={value}");
    let kept = one.run(&["secret", "create", "fnhost-test-api", &pair]);
    assert!(kept.status.success(), "{}", stderr(&kept));
    let length = eventually("the secret reaches the third host", async || {
        function(2, "secret_length")
            .remote::<Option<usize>>(("API_KEY",))
            .await
            .ok()
    })
    .await;
    assert_eq!(length, Some(value.len()));
    let listed = three.run(&["secret", "list"]);
    assert_eq!(stdout(&listed), "fnhost-test-api\tAPI_KEY\n");

    // Acknowledged puts through the second host outlive it.
    let scores = clients[1].dict::<u64, u64>("scores");
    for n in 0..100 {
        scores.put(&n, &(n * n)).await.unwrap();
    }
    two.child.kill().unwrap();
    two.child.wait().unwrap();
    let read = clients[2].dict::<u64, u64>("scores");
    assert_eq!(read.len().await.unwrap(), 100);
    for n in 0..100 {
        assert_eq!(read.get(&n).await.unwrap(), Some(n * n));
    }
    for host in [&one, &two, &three] {
        assert!(!host.log().contains(value), "a host's log holds the value");
    }
    drop((one, two, three));
    remove(&cluster.dir);
}

/// `examples/jobs-py` as written (Dict, Queue, Volume, Secret) deployed on three hosts, its
/// entrypoint's steps taken through different hosts: jobs queued through the second, workers
/// spawned through each, the results read and the report written through the third, its lines
/// counted through the first. Then `fnhost run --cluster` runs the program as written from
/// outside the cluster, sharing those objects with its hosts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jobs_example_runs_across_three_hosts() {
    let cluster = Cluster::start("jobs");
    let (one, two, three) = (
        cluster.host("one"),
        cluster.host("two"),
        cluster.host("three"),
    );
    let deployed = one.run(&["deploy", "examples/jobs-py/app.py"]);
    assert!(deployed.status.success(), "{}", stderr(&deployed));
    let app = stdout(&deployed).split('`').nth(1).unwrap().to_owned();
    let clients = [client(&one), client(&two), client(&three)];
    for client in &clients {
        eventually("every host has the app", async || {
            client.app(&app).await.ok().map(drop)
        })
        .await;
    }
    // Queued first: a worker stops once the queue stays empty for half a second.
    let jobs: Vec<u64> = (0..100).collect();
    let queue = clients[1].queue::<u64>("jobs");
    queue.put_many(&jobs, None, None).await.unwrap();
    let mut workers = Vec::new();
    for client in &clients {
        let worker = client.function_in(&app, "worker");
        workers.push(worker.spawn::<u64>(()).await.unwrap());
    }
    let mut done = 0;
    for worker in workers {
        done += worker.get().await.unwrap();
    }
    assert_eq!(done, 100, "each job done once");
    let results = clients[2].dict::<u64, u64>("jobs-results");
    let kept = results.items().await.unwrap();
    assert_eq!(kept.len(), 100);
    assert_eq!(kept.iter().map(|(_, square)| square).sum::<u64>(), 328_350);
    let report = clients[2].function_in(&app, "write_report");
    let name: String = report.remote(()).await.unwrap();
    assert_eq!(name, "squares.txt");
    let count = clients[0].function_in(&app, "count_lines");
    assert_eq!(count.remote::<u64>((name,)).await.unwrap(), 100);

    // Then the program as written, run from this machine with its state on the cluster: its
    // entrypoint clears what the hosts share (a stray result put through the second host) and
    // writes the report again (removed through the third).
    let shared = clients[1].dict::<u64, u64>("jobs-results");
    shared.put(&1_000, &0).await.unwrap();
    let removed = three.run(&["volume", "rm", "jobs-reports", "squares.txt"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    let state = cluster.dir.join("run");
    let ran = command(&[
        "run",
        "--cluster",
        &cluster.nats.url(),
        "examples/jobs-py/app.py",
    ])
    .env("FNHOST_STATE_DIR", &state)
    .output()
    .unwrap();
    assert!(ran.status.success(), "{}", stderr(&ran));
    assert_eq!(
        stdout(&ran),
        "done: 100, kept: 100, sum: 328350\nreport: squares.txt, 100 lines\n"
    );
    assert_eq!(
        shared.items().await.unwrap().len(),
        100,
        "the stray result was cleared"
    );
    let report = two.run(&["volume", "get", "jobs-reports", "squares.txt", "-"]);
    assert!(report.status.success(), "{}", stderr(&report));
    assert!(stdout(&report).ends_with("98 9604\n99 9801\n"));
    assert!(
        !state.join("store.redb").exists(),
        "the run kept its state on the cluster, not in a store of its own"
    );
    drop((one, two, three));
    remove(&cluster.dir);
}

/// A schedule deployed on three hosts runs once per tick, whichever hosts are up: every host
/// fires it, and the tick's call is stored once. Each run puts the id of the call it serves
/// in a queue: no id comes twice (but the one a killed host was running), every one is
/// answered for through any host, and the ticks go on after the host that deployed it is
/// killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_fires_once_per_tick_across_the_cluster() {
    let cluster = Cluster::start("schedules");
    let (one, two, three) = (
        cluster.host("one"),
        cluster.host("two"),
        cluster.host("three"),
    );
    let deployed = one.run(&["deploy", "tests/guests-py/schedules/app.py"]);
    assert!(deployed.status.success(), "{}", stderr(&deployed));
    let clients = [client(&one), client(&two), client(&three)];
    for client in &clients {
        eventually("every host has the app", async || {
            client.app("schedules").await.ok().map(drop)
        })
        .await;
    }
    let ticks = clients[1].queue::<String>("ticks");
    let mut ids = Vec::new();
    take_ticks(&ticks, &mut ids, 5).await;
    let before_the_kill: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(
        before_the_kill.len(),
        ids.len(),
        "a tick ran twice: {ids:?}"
    );
    // The host the app was deployed through goes; the others keep firing.
    drop(one);
    let more = ids.len() + 5;
    take_ticks(&ticks, &mut ids, more).await;
    // Execution is at-least-once: the tick host one ran as it was killed (its outcome stored
    // or its ack lost) may run again on another host. Any other repeat is a tick fired twice.
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert!(distinct.len() + 1 >= ids.len(), "a tick ran twice: {ids:?}");
    for id in &ids {
        let call = FunctionCall::<Value>::from_id(&clients[2], id).unwrap();
        assert_eq!(call.get().await.unwrap(), Value::Null, "{id}");
    }
    drop((two, three));
    remove(&cluster.dir);
}

/// Takes what the queue `ticks` holds into `ids` until there are `at_least`.
async fn take_ticks(ticks: &fnhost_client::Queue<String>, ids: &mut Vec<String>, at_least: usize) {
    eventually("the schedule's runs", async || {
        let got = ticks.get_many(100, None, None).await.unwrap_or_default();
        ids.extend(got);
        (ids.len() >= at_least).then_some(())
    })
    .await;
}
