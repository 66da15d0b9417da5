//! `GET /metrics`: Prometheus counters of the calls the server answered, and gauges read from
//! the host at each scrape. Every name starts with `fnhost_`.
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `fnhost_calls_total` | app, function, outcome | calls finished: `ok` or the error's kind |
//! | `fnhost_call_duration_seconds` | app, function | how long they took (histogram) |
//! | `fnhost_containers` | app, function | containers serving now |
//! | `fnhost_queued_inputs` | app, function | inputs waiting for a container |
//! | `fnhost_running_inputs` | app, function | inputs running |
//! | `fnhost_container_starts_total` | app, function | containers started |
//! | `fnhost_cpu_pauses_total` | app, function | pauses for using more than the CPU budget |
//! | `fnhost_cancelled_total` | app, function | inputs cancelled before they finished |
//! | `fnhost_retained_calls` | | finished spawned calls whose result is kept |
//! | `fnhost_retained_bytes` | | bytes of those results |
//! | `fnhost_apps` | | apps deployed |
//! | `fnhost_sandboxes` | | sandboxes alive |
//! | `fnhost_sandboxes_created_total` | | sandboxes made |
//! | `fnhost_sandbox_processes` | | sandbox processes running |
//! | `fnhost_sandbox_processes_started_total` | | sandbox processes started |
//! | `fnhost_cluster_connected` | | in a cluster: 1 while connected to NATS, else 0 |
//! | `fnhost_cluster_spawned_total` | | in a cluster: spawned calls this host stored |
//! | `fnhost_cluster_spilled_total` | | in a cluster: calls this host sent to another, answered |
//! | `fnhost_cluster_taken_total` | | in a cluster: calls this host took from the cluster |
//!
//! Invariant: labels only ever name deployed apps and functions (a call is counted once its
//! function is found, and an undeployed app's series are removed at the next scrape), so what
//! a client sends cannot grow the label space, nor can apps come and go.

use fnhost::{ErrorKind, HANDLER_NAME, Host};
use fnhost_cluster::Cluster;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The labels of a counted call.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    app: String,
    function: String,
    outcome: String,
}

/// The labels of a function.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FunctionLabels {
    app: String,
    function: String,
}

/// Call durations from 1 ms to about 9 minutes, doubling.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 20))
}

/// The server's metrics.
pub(crate) struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    durations: Family<FunctionLabels, Histogram, fn() -> Histogram>,
    /// The series made, app → function → outcomes: what to remove once an app is gone.
    series: Mutex<HashMap<String, HashMap<String, HashSet<&'static str>>>>,
    host: Host,
}

impl Metrics {
    /// Metrics of calls, of `host`'s deployed apps and of its `cluster`, if any, read at each
    /// scrape.
    pub(crate) fn new(host: Host, cluster: Option<Arc<Cluster>>) -> Metrics {
        let mut registry = Registry::with_prefix("fnhost");
        let calls = Family::<CallLabels, Counter>::default();
        let durations: Family<FunctionLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(duration_histogram);
        registry.register(
            "calls",
            "Calls finished, by outcome (ok, or the error's kind)",
            calls.clone(),
        );
        registry.register_with_unit(
            "call_duration",
            "How long calls took, from their start to their result",
            Unit::Seconds,
            durations.clone(),
        );
        registry.register_collector(Box::new(HostCollector { host: host.clone() }));
        if let Some(cluster) = cluster {
            registry.register_collector(Box::new(ClusterCollector(cluster)));
        }
        Metrics {
            registry,
            calls,
            durations,
            series: Mutex::default(),
            host,
        }
    }

    /// Counts a finished call of `app/function`.
    pub(crate) fn record(
        &self,
        app: &str,
        function: &str,
        outcome: Result<(), ErrorKind>,
        took: Duration,
    ) {
        let outcome = match outcome {
            Ok(()) => "ok",
            Err(kind) => kind.as_str(),
        };
        self.remember(app, function, outcome);
        self.calls
            .get_or_create(&CallLabels {
                app: app.to_owned(),
                function: function.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
        self.durations
            .get_or_create(&FunctionLabels {
                app: app.to_owned(),
                function: function.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// Notes the series of `app/function` with `outcome`, if it is new.
    fn remember(&self, app: &str, function: &str, outcome: &'static str) {
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        let known = series
            .get(app)
            .and_then(|functions| functions.get(function))
            .is_some_and(|outcomes| outcomes.contains(outcome));
        if !known {
            series
                .entry(app.to_owned())
                .or_default()
                .entry(function.to_owned())
                .or_default()
                .insert(outcome);
        }
    }

    /// Removes the series of apps no longer deployed, so that an undeployed app leaves no
    /// series behind (and a server that deploys many apps over time does not grow its scrape).
    fn forget_undeployed(&self) {
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        series.retain(|app, functions| {
            if self.host.deployed(app).is_some() {
                return true;
            }
            for (function, outcomes) in functions.iter() {
                for outcome in outcomes {
                    self.calls.remove(&CallLabels {
                        app: app.clone(),
                        function: function.clone(),
                        outcome: (*outcome).to_owned(),
                    });
                }
                self.durations.remove(&FunctionLabels {
                    app: app.clone(),
                    function: function.clone(),
                });
            }
            false
        });
    }

    /// Every metric, in the text format (an undeployed app's series removed first).
    pub(crate) fn render(&self) -> Result<String, std::fmt::Error> {
        self.forget_undeployed();
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// Reads the host's apps and pools at each scrape.
struct HostCollector {
    host: Host,
}

impl std::fmt::Debug for HostCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostCollector")
    }
}

/// A per-function metric read from its pool's counters.
struct PoolMetric {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    read: fn(&fnhost::PoolStats) -> usize,
}

const POOL_METRICS: &[PoolMetric] = &[
    PoolMetric {
        name: "containers",
        help: "Containers serving now",
        kind: MetricType::Gauge,
        read: |stats| stats.containers,
    },
    PoolMetric {
        name: "queued_inputs",
        help: "Inputs waiting for a container",
        kind: MetricType::Gauge,
        read: |stats| stats.queued,
    },
    PoolMetric {
        name: "running_inputs",
        help: "Inputs running",
        kind: MetricType::Gauge,
        read: |stats| stats.in_flight,
    },
    PoolMetric {
        name: "container_starts",
        help: "Containers started",
        kind: MetricType::Counter,
        read: |stats| stats.containers_started,
    },
    PoolMetric {
        name: "cpu_pauses",
        help: "Times a container was paused for using more than its CPU budget",
        kind: MetricType::Counter,
        read: |stats| stats.cpu_throttles,
    },
    PoolMetric {
        name: "cancelled",
        help: "Inputs cancelled before they finished",
        kind: MetricType::Counter,
        read: |stats| stats.cancelled,
    },
];

impl Collector for HostCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let apps = self.host.deployed_apps();
        let mut pools = Vec::new();
        for (name, app) in &apps {
            for info in app.functions() {
                if let Ok(function) = app.function(&info.name) {
                    let labels = FunctionLabels {
                        app: name.clone(),
                        function: info.name.clone(),
                    };
                    pools.push((labels, function.stats()));
                }
            }
            // The wasi:http handler's pool, under the name its calls are counted with.
            if let Some(stats) = app.http_stats() {
                let labels = FunctionLabels {
                    app: name.clone(),
                    function: HANDLER_NAME.to_owned(),
                };
                pools.push((labels, stats));
            }
        }
        for metric in POOL_METRICS {
            let mut family =
                encoder.encode_descriptor(metric.name, metric.help, None, metric.kind)?;
            for (labels, stats) in &pools {
                let value = (metric.read)(stats) as u64;
                let sample = family.encode_family(labels)?;
                match metric.kind {
                    MetricType::Counter => ConstCounter::new(value).encode(sample)?,
                    _ => ConstGauge::new(value).encode(sample)?,
                }
            }
        }
        let retained = self.host.retained_stats();
        let totals = [
            (
                "retained_calls",
                "Finished spawned calls whose result is kept",
                retained.finished as u64,
            ),
            (
                "retained_bytes",
                "Bytes of the kept results",
                retained.bytes,
            ),
            ("apps", "Apps deployed", apps.len() as u64),
        ];
        let sandboxes = self.host.sandboxes().stats();
        let totals = totals.into_iter().chain([
            ("sandboxes", "Sandboxes alive", sandboxes.live as u64),
            (
                "sandbox_processes",
                "Sandbox processes running",
                sandboxes.running as u64,
            ),
        ]);
        encode_gauges(&mut encoder, totals)?;
        let counters = [
            ("sandboxes_created", "Sandboxes made", sandboxes.created),
            (
                "sandbox_processes_started",
                "Sandbox processes started",
                sandboxes.processes,
            ),
        ];
        encode_counters(&mut encoder, counters)
    }
}

/// One gauge without labels per `(name, help, value)`.
fn encode_gauges<'a>(
    encoder: &mut DescriptorEncoder,
    gauges: impl IntoIterator<Item = (&'a str, &'a str, u64)>,
) -> Result<(), std::fmt::Error> {
    for (name, help, value) in gauges {
        let gauge = ConstGauge::new(value);
        gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
    }
    Ok(())
}

/// One counter without labels per `(name, help, value)`.
fn encode_counters<'a>(
    encoder: &mut DescriptorEncoder,
    counters: impl IntoIterator<Item = (&'a str, &'a str, u64)>,
) -> Result<(), std::fmt::Error> {
    for (name, help, value) in counters {
        let counter = ConstCounter::new(value);
        counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)?;
    }
    Ok(())
}

/// Reads what the host did for its cluster at each scrape.
struct ClusterCollector(Arc<Cluster>);

impl std::fmt::Debug for ClusterCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterCollector")
    }
}

impl Collector for ClusterCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let connected = ConstGauge::new(u64::from(self.0.is_connected()));
        connected.encode(encoder.encode_descriptor(
            "cluster_connected",
            "1 while the host is connected to the cluster's NATS server, else 0",
            None,
            connected.metric_type(),
        )?)?;
        let stats = self.0.stats();
        let counters = [
            (
                "cluster_spawned",
                "Spawned calls this host stored in the cluster",
                stats.spawned,
            ),
            (
                "cluster_spilled",
                "Calls this host sent to another host, which answered them",
                stats.spilled,
            ),
            (
                "cluster_taken",
                "Calls this host took from the cluster: spawned calls it ran, calls spilled to it",
                stats.taken,
            ),
        ];
        encode_counters(&mut encoder, counters)
    }
}
