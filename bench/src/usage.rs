//! What a server process spent while a load ran: CPU time and context switches, read from
//! `/proc` before and after, so that each request's cost can be compared with the native
//! baseline's in the same run (throughput alone hides CPU spent on the same 2 cores the load
//! generator needs).

use std::time::Duration;

use anyhow::Context;

/// A process's cumulative CPU time and context switches, summed over its threads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Time on a CPU (user and system), from each thread's `schedstat`.
    pub cpu: Duration,
    /// Voluntary and involuntary context switches.
    pub context_switches: u64,
}

impl Usage {
    /// Reads process `pid`'s usage now (Linux only). Threads that ended before a reading
    /// are not counted; the servers measured here keep theirs for their whole life.
    pub fn of(pid: u32) -> anyhow::Result<Usage> {
        let tasks = format!("/proc/{pid}/task");
        let mut usage = Usage::default();
        for task in std::fs::read_dir(&tasks).with_context(|| format!("reading {tasks}"))? {
            let task = task?.path();
            // A thread may end between the listing and the reads: skip it.
            let (Ok(schedstat), Ok(status)) =
                (std::fs::read_to_string(task.join("schedstat")), std::fs::read_to_string(task.join("status")))
            else {
                continue;
            };
            let on_cpu: u64 = schedstat.split_whitespace().next().context("empty schedstat")?.parse()?;
            usage.cpu += Duration::from_nanos(on_cpu);
            usage.context_switches += status
                .lines()
                .filter(|line| {
                    line.starts_with("voluntary_ctxt_switches:") || line.starts_with("nonvoluntary_ctxt_switches:")
                })
                .filter_map(|line| line.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>();
        }
        Ok(usage)
    }

    /// What was spent between `earlier` and this reading.
    pub fn since(self, earlier: Usage) -> Usage {
        Usage {
            cpu: self.cpu.saturating_sub(earlier.cpu),
            context_switches: self.context_switches.saturating_sub(earlier.context_switches),
        }
    }

    /// The cost of each of `requests` requests: CPU microseconds and context switches.
    pub fn per_request(self, requests: u64) -> PerRequest {
        let requests = requests.max(1) as f64;
        PerRequest {
            cpu_us: self.cpu.as_secs_f64() * 1e6 / requests,
            context_switches: self.context_switches as f64 / requests,
        }
    }
}

/// A process's cost of one request, averaged over a run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PerRequest {
    /// CPU time, in microseconds.
    pub cpu_us: f64,
    /// Context switches.
    pub context_switches: f64,
}

impl std::fmt::Display for PerRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:>6.1} µs CPU/req  {:>5.2} ctx sw/req", self.cpu_us, self.context_switches)
    }
}
