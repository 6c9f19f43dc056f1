//! CPU time by process group, read from `/proc` before and after a load run: where the machine's cores went, so a
//! throughput ratio between two configurations can be explained by what each request costs and who pays it.

/// Processes whose CPU time is read together (e.g. NGINX's master and workers, the replicas).
pub(super) struct Group {
    pub name: &'static str,
    pub pids: Vec<u32>,
}

/// CPU seconds per group over one interval, plus the load tool and the whole machine.
#[derive(Debug, Clone, Default)]
pub(super) struct Usage {
    /// In the order of the groups given to [`Meter::new`].
    pub groups: Vec<f64>,
    /// The load tool (wrk): reaped children of this process.
    pub load: f64,
    /// This process: the in-process OTLP sink and the memory sampler.
    pub own: f64,
    /// Every core's busy time (from `/proc/stat`), and the cores' total time.
    pub machine_busy: f64,
    pub machine_total: f64,
}

impl Usage {
    pub(super) fn add(&mut self, other: &Usage) {
        self.groups.resize(other.groups.len().max(self.groups.len()), 0.0);
        self.groups.iter_mut().zip(&other.groups).for_each(|(a, b)| *a += b);
        self.load += other.load;
        self.own += other.own;
        self.machine_busy += other.machine_busy;
        self.machine_total += other.machine_total;
    }

    /// Busy CPU not accounted to any group, the load tool or this process (the kernel's softirq work on other
    /// tasks' behalf, other programs).
    pub(super) fn rest(&self) -> f64 {
        (self.machine_busy - self.groups.iter().sum::<f64>() - self.load - self.own).max(0.0)
    }
}

/// Reads the groups' CPU time; [`Meter::measure`] wraps one run.
pub(super) struct Meter {
    groups: Vec<Group>,
    tick: f64,
}

struct Snapshot {
    groups: Vec<f64>,
    load: f64,
    own: f64,
    busy: f64,
    total: f64,
}

impl Meter {
    pub(super) fn new(groups: Vec<Group>) -> Self {
        Self { groups, tick: 1.0 / procfs::ticks_per_second() as f64 }
    }

    pub(super) fn names(&self) -> Vec<&'static str> {
        self.groups.iter().map(|g| g.name).collect()
    }

    /// Run `f` and return its result with the CPU time spent meanwhile.
    pub(super) fn measure<T>(&self, f: impl FnOnce() -> Result<T, String>) -> Result<(T, Usage), String> {
        let before = self.snapshot();
        let value = f()?;
        let after = self.snapshot();
        let usage = Usage {
            groups: after.groups.iter().zip(&before.groups).map(|(a, b)| a - b).collect(),
            load: after.load - before.load,
            own: after.own - before.own,
            machine_busy: after.busy - before.busy,
            machine_total: after.total - before.total,
        };
        Ok((value, usage))
    }

    fn snapshot(&self) -> Snapshot {
        let groups =
            self.groups.iter().map(|g| g.pids.iter().map(|pid| self.seconds(&stat_fields(*pid), 0)).sum()).collect();
        let own = stat_fields(std::process::id());
        let (busy, total) = machine();
        Snapshot {
            groups,
            load: self.seconds(&own, 2),
            own: self.seconds(&own, 0),
            busy: busy as f64 * self.tick,
            total: total as f64 * self.tick,
        }
    }

    /// utime + stime (offset 0) or cutime + cstime (offset 2) of a `/proc/<pid>/stat`, in seconds.
    fn seconds(&self, fields: &[u64], offset: usize) -> f64 {
        (fields.get(offset).copied().unwrap_or(0) + fields.get(offset + 1).copied().unwrap_or(0)) as f64 * self.tick
    }
}

/// utime, stime, cutime and cstime of `/proc/<pid>/stat` in clock ticks; empty if the process is gone.
fn stat_fields(pid: u32) -> Vec<u64> {
    let Ok(stat) = procfs::process::Process::new(pid as i32).and_then(|p| p.stat()) else { return Vec::new() };
    // The children's times are signed in the kernel's struct, never negative in practice.
    let children = |t: i64| u64::try_from(t).unwrap_or(0);
    vec![stat.utime, stat.stime, children(stat.cutime), children(stat.cstime)]
}

/// Busy and total clock ticks of all cores, from the `cpu` line of `/proc/stat`: user, nice, system, idle, iowait,
/// irq, softirq (idle and iowait count as idle); steal (time the hypervisor gave to others) is left out of both.
fn machine() -> (u64, u64) {
    use procfs::CurrentSI as _;
    let Ok(cpu) = procfs::KernelStats::current().map(|s| s.total) else { return (0, 0) };
    let idle = cpu.idle + cpu.iowait.unwrap_or(0);
    let busy = cpu.user + cpu.nice + cpu.system + cpu.irq.unwrap_or(0) + cpu.softirq.unwrap_or(0);
    (busy, busy + idle)
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_and_the_machine_are_read() {
        assert_eq!(super::stat_fields(std::process::id()).len(), 4);
        let (busy, total) = super::machine();
        assert!(total > 0 && busy <= total, "busy {busy} of {total}");
        assert!(super::stat_fields(u32::MAX).is_empty());
    }

    #[test]
    fn work_done_here_and_by_a_reaped_child_is_charged_to_the_right_column() {
        let meter = super::Meter::new(Vec::new());
        let ((), usage) = meter
            .measure(|| {
                // A fixed amount of work (hundreds of milliseconds of CPU) here, then in a child this process reaps.
                let mut x = 0u64;
                for i in 0..200_000_000u64 {
                    x = std::hint::black_box(x.wrapping_add(i));
                }
                let child = std::process::Command::new("sh")
                    .args(["-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"])
                    .status()
                    .map_err(|e| e.to_string())?;
                assert!(child.success());
                Ok(())
            })
            .unwrap();
        assert!(usage.own > 0.0, "no CPU time charged to this process: {usage:?}");
        assert!(usage.load > 0.0, "the reaped child's CPU time is not the load tool's: {usage:?}");
        assert!(usage.machine_busy > 0.0 && usage.machine_total >= usage.machine_busy, "{usage:?}");
    }

    #[test]
    fn this_process_reads_as_the_kernel_accounts_it() {
        let mut x = 0u64;
        for i in 0..100_000_000u64 {
            x = std::hint::black_box(x.wrapping_add(i));
        }
        let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF).unwrap();
        let seconds = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
        let rusage = seconds(usage.user_time()) + seconds(usage.system_time());
        let meter = super::Meter::new(Vec::new());
        let stat = meter.seconds(&super::stat_fields(std::process::id()), 0);
        // Both count this process's threads; /proc in clock ticks, so up to a few ticks apart.
        assert!((stat - rusage).abs() < 0.1, "/proc says {stat} s, getrusage {rusage} s");
        assert!(stat > 0.0);
    }
}
