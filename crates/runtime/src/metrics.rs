//! Prometheus metrics: each node's own recorder, the handles the hot paths
//! keep, and the text `GET /metrics` answers.
//!
//! The recorder is never installed globally: several nodes run in one test
//! process and each must count only its own requests. Handles the hot path
//! uses are registered once at start, so counting a request is an atomic add
//! and a histogram push. Handles whose labels come from data (a provider's
//! name) are looked up when used, which is never on the phone-facing path.
//! No label ever carries a MAC, a user name or anything a phone sent.

use std::sync::Arc;
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};

use crate::tasks::Task;

static META: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// Seconds, from 50 µs (a cached body) to 10 s (a provider that hangs).
const SECONDS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0,
];

/// What a phone asked for, as the provisioning metrics label it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// `/ztprov/…`: first contact.
    Ztprov = 0,
    /// `/prov/…-{MAC}…`: one phone's configuration.
    Device = 1,
    /// `/prov/…` without a MAC: a model-wide file.
    Model = 2,
    /// Anything else (`/healthz`, unknown paths).
    Other = 3,
}

const FILE_LABELS: [&str; 4] = ["ztprov", "device", "model", "other"];
/// The statuses the provisioning handler answers; anything else is "other".
const STATUSES: [u16; 9] = [200, 400, 401, 404, 405, 414, 429, 500, 503];
const STATUS_LABELS: [&str; 10] = [
    "200", "400", "401", "404", "405", "414", "429", "500", "503", "other",
];

/// The provisioning listener's counters, registered once.
pub struct ProvMetrics {
    enabled: bool,
    requests: [[Counter; STATUS_LABELS.len()]; FILE_LABELS.len()],
    duration: [Histogram; FILE_LABELS.len()],
    auth_failures: Counter,
}

impl ProvMetrics {
    /// Whether timing a request is worth the clock reads.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn record(&self, file: FileKind, status: u16, took: Duration) {
        let s = STATUSES
            .iter()
            .position(|&c| c == status)
            .unwrap_or(STATUSES.len());
        self.requests[file as usize][s].increment(1);
        self.duration[file as usize].record(took.as_secs_f64());
    }

    /// Credentials were presented and did not open the file.
    pub fn auth_failed(&self) {
        self.auth_failures.increment(1);
    }
}

/// The provisioning view's reloads.
#[derive(Clone)]
pub struct ViewMetrics {
    reloads: Counter,
    reload_seconds: Histogram,
}

impl ViewMetrics {
    pub fn reloaded(&self, took: Duration) {
        self.reloads.increment(1);
        self.reload_seconds.record(took.as_secs_f64());
    }
}

/// What the gauges show, read when Prometheus scrapes.
#[derive(Default)]
pub struct Snapshot {
    pub devices: u64,
    pub cache: touchless_api::status::RenderCache,
    pub events: Vec<(&'static str, u64)>,
    pub contact_backlog: u64,
    /// [`touchless_store::sqlite_memory_bytes`].
    pub sqlite_memory: u64,
    /// The allocator's own counts, where the binary registered them
    /// ([`set_heap_stats`]).
    pub heap: Option<HeapStats>,
}

/// What the process's allocator holds, in bytes. Beside RSS they tell live
/// data from allocator overhead: growth in `allocated` is the program keeping
/// more, growth in `active` alone is fragmentation (pages held by a few live
/// objects each).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeapStats {
    /// In live allocations.
    pub allocated: u64,
    /// In pages that hold live allocations.
    pub active: u64,
    /// In memory the allocator has resident (active pages, freed pages not
    /// yet returned, its metadata).
    pub resident: u64,
}

static HEAP_STATS: std::sync::OnceLock<fn() -> Option<HeapStats>> = std::sync::OnceLock::new();

/// Registers how to read the allocator's counts: the binary knows its
/// allocator, the libraries (and their tests) do not.
pub fn set_heap_stats(read: fn() -> Option<HeapStats>) {
    let _ = HEAP_STATS.set(read);
}

/// The allocator's counts now; `None` when none was registered.
pub fn heap_stats() -> Option<HeapStats> {
    HEAP_STATS.get().and_then(|read| read())
}

/// One node's metrics.
pub struct Metrics {
    rec: Option<PrometheusRecorder>,
    pub prov: ProvMetrics,
    pub view: ViewMetrics,
}

impl Metrics {
    /// A recorder with every metric described; `enabled = false` gives
    /// handles that count nothing and an endpoint that is not there.
    pub fn new(enabled: bool) -> Arc<Metrics> {
        let rec = enabled.then(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
                .expect("the buckets are not empty")
                .build_recorder()
        });
        if let Some(r) = &rec {
            for (name, unit, help) in DESCRIPTIONS {
                let (key, help) = (KeyName::from(*name), (*help).into());
                match name {
                    n if n.ends_with("_total") => r.describe_counter(key, *unit, help),
                    n if n.ends_with("_seconds") => r.describe_histogram(key, *unit, help),
                    _ => r.describe_gauge(key, *unit, help),
                }
            }
        }
        let counter = |name: &'static str, labels: Vec<Label>| match &rec {
            Some(r) => r.register_counter(&Key::from_parts(name, labels), &META),
            None => Counter::noop(),
        };
        let histogram = |name: &'static str, labels: Vec<Label>| match &rec {
            Some(r) => r.register_histogram(&Key::from_parts(name, labels), &META),
            None => Histogram::noop(),
        };
        let prov = ProvMetrics {
            enabled,
            requests: std::array::from_fn(|f| {
                std::array::from_fn(|s| {
                    counter(
                        "touchless_provisioning_requests_total",
                        vec![
                            Label::from_static_parts("file", FILE_LABELS[f]),
                            Label::from_static_parts("status", STATUS_LABELS[s]),
                        ],
                    )
                })
            }),
            duration: std::array::from_fn(|f| {
                histogram(
                    "touchless_provisioning_request_duration_seconds",
                    vec![Label::from_static_parts("file", FILE_LABELS[f])],
                )
            }),
            auth_failures: counter(
                "touchless_auth_failures_total",
                vec![Label::from_static_parts("listener", "provisioning")],
            ),
        };
        let view = ViewMetrics {
            reloads: counter("touchless_view_reloads_total", vec![]),
            reload_seconds: histogram("touchless_view_reload_duration_seconds", vec![]),
        };
        Arc::new(Metrics { rec, prov, view })
    }

    pub fn enabled(&self) -> bool {
        self.rec.is_some()
    }

    /// A wrong bearer token on the admin listener.
    pub fn admin_auth_failed(&self) {
        self.counter("touchless_auth_failures_total", &[("listener", "admin")])
            .increment(1);
    }

    /// A counter whose labels are only known when it is used.
    pub fn counter(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Counter {
        match &self.rec {
            Some(r) => r.register_counter(&key(name, labels), &META),
            None => Counter::noop(),
        }
    }

    /// A histogram whose labels are only known when it is used.
    pub fn histogram(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Histogram {
        match &self.rec {
            Some(r) => r.register_histogram(&key(name, labels), &META),
            None => Histogram::noop(),
        }
    }

    fn gauge(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Gauge {
        match &self.rec {
            Some(r) => r.register_gauge(&key(name, labels), &META),
            None => Gauge::noop(),
        }
    }

    /// The exposition text, with the gauges set from `now`; `None` when
    /// metrics are off.
    pub fn render(&self, now: &Snapshot) -> Option<String> {
        let r = self.rec.as_ref()?;
        self.gauge("touchless_view_devices", &[])
            .set(now.devices as f64);
        let c = &now.cache;
        self.counter("touchless_render_cache_hits_total", &[])
            .absolute(c.hits);
        self.counter("touchless_render_cache_misses_total", &[])
            .absolute(c.misses);
        self.counter("touchless_render_cache_evictions_total", &[])
            .absolute(c.evictions);
        self.gauge("touchless_render_cache_bytes", &[])
            .set(c.bytes as f64);
        self.gauge("touchless_render_cache_entries", &[])
            .set(c.entries as f64);
        for (state, n) in &now.events {
            self.gauge("touchless_queue_events", &[("state", state)])
                .set(*n as f64);
        }
        self.gauge("touchless_contact_log_backlog", &[])
            .set(now.contact_backlog as f64);
        self.gauge("touchless_sqlite_memory_bytes", &[])
            .set(now.sqlite_memory as f64);
        if let Some(h) = now.heap {
            for (kind, bytes) in [
                ("allocated", h.allocated),
                ("active", h.active),
                ("resident", h.resident),
            ] {
                self.gauge("touchless_heap_bytes", &[("kind", kind)])
                    .set(bytes as f64);
            }
        }
        Some(r.handle().render())
    }

    /// Drains the histograms' samples into their buckets (a [`Task`] calls
    /// this, so an unscraped node does not pile samples up).
    fn upkeep(&self) {
        if let Some(r) = &self.rec {
            r.handle().run_upkeep();
        }
    }
}

fn key(name: &'static str, labels: &[(&'static str, &str)]) -> Key {
    Key::from_parts(
        name,
        labels
            .iter()
            .map(|(k, v)| Label::new(*k, v.to_string()))
            .collect::<Vec<_>>(),
    )
}

/// Every metric's HELP text. The suffix says the kind: `_total` counters,
/// `_seconds` histograms, the rest gauges.
const DESCRIPTIONS: &[(&str, Option<Unit>, &str)] = &[
    (
        "touchless_provisioning_requests_total",
        None,
        "Phone requests on the provisioning listener, by file kind and status.",
    ),
    (
        "touchless_provisioning_request_duration_seconds",
        Some(Unit::Seconds),
        "Time from request to response on the provisioning listener, by file kind.",
    ),
    (
        "touchless_auth_failures_total",
        None,
        "Credentials that were presented and refused, by listener.",
    ),
    (
        "touchless_render_cache_hits_total",
        None,
        "Configuration bodies served from the render cache.",
    ),
    (
        "touchless_render_cache_misses_total",
        None,
        "Configuration bodies rendered because the cache did not hold them.",
    ),
    (
        "touchless_render_cache_evictions_total",
        None,
        "Bodies the render cache dropped to stay within its bound.",
    ),
    (
        "touchless_render_cache_bytes",
        Some(Unit::Bytes),
        "Bytes the render cache holds.",
    ),
    (
        "touchless_render_cache_entries",
        None,
        "Bodies the render cache holds.",
    ),
    (
        "touchless_sqlite_memory_bytes",
        Some(Unit::Bytes),
        "Heap SQLite holds in this process (page caches and statements of every connection).",
    ),
    (
        "touchless_heap_bytes",
        Some(Unit::Bytes),
        "The allocator's bytes: kind=allocated in live allocations, active in pages holding them, resident in memory it holds.",
    ),
    (
        "touchless_view_devices",
        None,
        "Devices in this node's provisioning view.",
    ),
    (
        "touchless_view_reloads_total",
        None,
        "Reloads of the provisioning view that found changes.",
    ),
    (
        "touchless_view_reload_duration_seconds",
        Some(Unit::Seconds),
        "Time a reload of the provisioning view took.",
    ),
    (
        "touchless_queue_events",
        None,
        "Events in the registration queue, by state (all nodes).",
    ),
    (
        "touchless_queue_outcomes_total",
        None,
        "Attempts this node's queue workers finished, by outcome.",
    ),
    (
        "touchless_queue_stage_duration_seconds",
        Some(Unit::Seconds),
        "Time spent in each stage of the queue: claim, prepare (the lookups of a claim), \
         write (of outcomes), wait_for_write (a worker waiting for its last outcomes to be written).",
    ),
    (
        "touchless_provider_calls_total",
        None,
        "Calls to redirection providers, by provider and outcome.",
    ),
    (
        "touchless_provider_call_duration_seconds",
        Some(Unit::Seconds),
        "Time a call to a redirection provider took, by provider.",
    ),
    (
        "touchless_redirect_requests_total",
        None,
        "Requests to the redirection service, by surface (phone, api) and status.",
    ),
    (
        "touchless_contact_log_backlog",
        None,
        "Phone contacts waiting to be written to the contact log.",
    ),
];

/// Runs the recorder's upkeep every few seconds (a [`Task`]).
pub struct Upkeep {
    metrics: Arc<Metrics>,
    tick: tokio::time::Interval,
}

impl Upkeep {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Upkeep { metrics, tick }
    }
}

#[async_trait::async_trait]
impl Task for Upkeep {
    async fn wake(&mut self) {
        self.tick.tick().await;
    }

    async fn work(&mut self) -> anyhow::Result<()> {
        self.metrics.upkeep();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_it_is_told_and_describes_it() {
        let m = Metrics::new(true);
        m.prov
            .record(FileKind::Device, 200, Duration::from_micros(80));
        m.prov
            .record(FileKind::Ztprov, 401, Duration::from_micros(80));
        m.prov
            .record(FileKind::Ztprov, 418, Duration::from_micros(80));
        let text = m.render(&Snapshot::default()).unwrap();
        assert!(text
            .contains("touchless_provisioning_requests_total{file=\"device\",status=\"200\"} 1"));
        assert!(text
            .contains("touchless_provisioning_requests_total{file=\"ztprov\",status=\"other\"} 1"));
        assert!(text.contains("# HELP touchless_view_devices "));
        assert!(text.contains(
            "touchless_provisioning_request_duration_seconds_bucket{file=\"device\",le=\"0.0001\"} 1"
        ));
    }

    #[test]
    fn off_renders_nothing() {
        let m = Metrics::new(false);
        m.prov.record(FileKind::Device, 200, Duration::ZERO);
        assert!(m.render(&Snapshot::default()).is_none());
    }
}
