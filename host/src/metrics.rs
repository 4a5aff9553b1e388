//! Prometheus metrics (`GET /metrics` in both modes): invocations by actor, action and
//! outcome with their latency, active actors, module loads and rejections, warm instances.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The labels of an invocation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InvocationLabels {
    /// The actor definition invoked.
    pub actor: String,
    /// The action.
    pub action: String,
    /// `ok`, `guest_error`, `deadline`, `memory_limit`, `trap` or `reply_too_large`.
    pub outcome: &'static str,
}

/// The labels of a latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    /// The actor definition invoked.
    pub actor: String,
    /// The action.
    pub action: String,
}

/// The labels of a module event.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModuleLabels {
    /// `loaded`, `swapped`, `rejected` or `removed`.
    pub event: &'static str,
}

/// The outcomes of an invocation, in the order of [`ActionMetrics::outcomes`].
pub const OUTCOMES: [&str; 6] = ["ok", "guest_error", "deadline", "memory_limit", "trap", "reply_too_large"];

/// The series of one actor's action, looked up once and then reused: recording an
/// invocation allocates nothing.
#[derive(Clone)]
struct ActionMetrics {
    outcomes: [Counter; OUTCOMES.len()],
    latency: Histogram,
}

/// Every metric of the process.
pub struct Metrics {
    /// actor → action → its series.
    actions: std::sync::RwLock<std::collections::HashMap<String, std::collections::HashMap<String, ActionMetrics>>>,
    registry: Mutex<Registry>,
    invocations: Family<InvocationLabels, Counter>,
    latency: Family<ActionLabels, Histogram>,
    active_actors: Gauge,
    module_events: Family<ModuleLabels, Counter>,
    warm_instances: Gauge,
    warm_memory: Gauge,
    timer_instances: Gauge,
    clock_records: Gauge,
    tasks: Gauge,
    spans_dropped: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let invocations = Family::<InvocationLabels, Counter>::default();
        let latency = Family::<ActionLabels, Histogram>::new_with_constructor(|| {
            // 10 µs to ~20 s.
            Histogram::new(exponential_buckets(0.000_01, 4.0, 12))
        });
        let active_actors = Gauge::default();
        let module_events = Family::<ModuleLabels, Counter>::default();
        let warm_instances = Gauge::default();
        let warm_memory = Gauge::default();
        let (timer_instances, clock_records, tasks) = (Gauge::default(), Gauge::default(), Gauge::default());
        let mut registry = Registry::with_prefix("spawn_wasm");
        registry.register("invocations", "Actor invocations run, by outcome", invocations.clone());
        registry.register("invocation_duration_seconds", "Time to run one invocation", latency.clone());
        registry.register("active_actors", "Actors active in the standalone runtime", active_actors.clone());
        registry.register("module_events", "Component loads, swaps, rejections and removals", module_events.clone());
        registry.register("warm_instances", "Instances kept warm between their actor's turns", warm_instances.clone());
        registry.register("warm_memory_bytes", "Linear memory the warm instances hold", warm_memory.clone());
        registry.register(
            "timer_instances",
            "Instances whose timers the standalone clock runs",
            timer_instances.clone(),
        );
        registry.register(
            "clock_records",
            "Records in the standalone clock's schedule: timer ticks and calls scheduled for later",
            clock_records.clone(),
        );
        registry.register("tasks", "Tokio tasks alive in the process, read when scraped", tasks.clone());
        let spans_dropped = Counter::default();
        registry.register(
            "trace_spans_dropped",
            "Trace spans not exported: the export queue was full or the collector failed",
            spans_dropped.clone(),
        );
        Metrics {
            actions: Default::default(),
            registry: Mutex::new(registry),
            invocations,
            latency,
            active_actors,
            module_events,
            warm_instances,
            warm_memory,
            timer_instances,
            clock_records,
            tasks,
            spans_dropped,
        }
    }
}

impl Metrics {
    /// The count of trace spans dropped instead of exported, for the exporter to add to.
    pub fn spans_dropped(&self) -> Counter {
        self.spans_dropped.clone()
    }

    /// Records one invocation; `outcome` is one of [`OUTCOMES`].
    pub fn invocation(&self, actor: &str, action: &str, outcome: &'static str, elapsed: Duration) {
        let index = OUTCOMES.iter().position(|known| *known == outcome).expect("a known outcome");
        let record = |series: &ActionMetrics| {
            series.outcomes[index].inc();
            series.latency.observe(elapsed.as_secs_f64());
        };
        // Recorded under the read lock: cloning the series would bounce their reference
        // counts between cores on every call.
        if let Some(series) = self.actions.read().unwrap().get(actor).and_then(|actions| actions.get(action)) {
            return record(series);
        }
        record(&self.series(actor, action));
    }

    fn series(&self, actor: &str, action: &str) -> ActionMetrics {
        let series = ActionMetrics {
            outcomes: OUTCOMES.map(|outcome| {
                let labels = InvocationLabels { actor: actor.to_owned(), action: action.to_owned(), outcome };
                self.invocations.get_or_create(&labels).clone()
            }),
            latency: self
                .latency
                .get_or_create(&ActionLabels { actor: actor.to_owned(), action: action.to_owned() })
                .clone(),
        };
        let mut actions = self.actions.write().unwrap();
        actions.entry(actor.to_owned()).or_default().insert(action.to_owned(), series.clone());
        series
    }

    /// Records a module event.
    pub fn module_event(&self, event: &'static str) {
        self.module_events.get_or_create(&ModuleLabels { event }).inc();
    }

    /// Sets the number of active actors.
    pub fn set_active_actors(&self, count: usize) {
        self.active_actors.set(count as i64);
    }

    /// Sets the number of warm instances and the linear memory they hold.
    pub fn set_warm_instances(&self, count: usize, memory_bytes: usize) {
        self.warm_instances.set(count as i64);
        self.warm_memory.set(memory_bytes as i64);
    }

    /// Sets what the standalone clock holds: instances with timers, records scheduled.
    pub fn set_clock(&self, timer_instances: usize, records: usize) {
        self.timer_instances.set(timer_instances as i64);
        self.clock_records.set(records as i64);
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            self.tasks.set(runtime.metrics().num_alive_tasks() as i64);
        }
        let mut text = String::new();
        let registry = self.registry.lock().unwrap();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("writing to a String cannot fail");
        text
    }
}
