//! CPU time per component, read from `/proc`: this process's threads grouped by name (each
//! component runs on its own named runtime), plus nginx's master and workers when that row
//! runs. Linux only; zeros elsewhere.

use std::time::Duration;

/// CPU time used so far, by component.
#[derive(Clone, Copy, Default)]
pub struct Cpu {
    pub loadgen: Duration,
    pub emulator: Duration,
    pub patchbay: Duration,
    pub forwarder: Duration,
    pub nginx: Duration,
}

/// `(comm, utime + stime, ppid)` of a `stat` file's text.
fn stat_fields(stat: &str) -> Option<(&str, Duration, u32)> {
    // `pid (comm) state ppid …`: comm may hold spaces, so split after its last ')'.
    let (head, rest) = stat.rsplit_once(')')?;
    let comm = head.split_once('(').map_or("", |(_, c)| c);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of stat(5), in USER_HZ (100 on Linux).
    let used = Duration::from_millis((num(11) + num(12)) * 10);
    Some((comm, used, u32::try_from(num(1)).unwrap_or(0)))
}

/// CPU of process `pid` and its direct children (nginx's workers).
fn process_tree(pid: u32) -> Duration {
    let mut total = Duration::ZERO;
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return total;
    };
    for p in procs.flatten() {
        let name = p.file_name();
        let Some(this) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(p.path().join("stat")) else {
            continue;
        };
        if let Some((_, used, ppid)) = stat_fields(&stat)
            && (this == pid || ppid == pid)
        {
            total += used;
        }
    }
    total
}

impl Cpu {
    pub fn now(nginx: Option<u32>) -> Cpu {
        let mut cpu = Cpu {
            nginx: nginx.map(process_tree).unwrap_or_default(),
            ..Cpu::default()
        };
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return cpu;
        };
        for task in tasks.flatten() {
            let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
                continue;
            };
            let Some((comm, used, _)) = stat_fields(&stat) else {
                continue;
            };
            let slot = if comm.starts_with("emulator") {
                &mut cpu.emulator
            } else if comm.starts_with("patchbay") && comm != "patchbay-bench"
                || comm.starts_with("sqlx-sqlite")
            {
                &mut cpu.patchbay
            } else if comm.starts_with("forwarder") {
                &mut cpu.forwarder
            } else {
                &mut cpu.loadgen
            };
            *slot += used;
        }
        cpu
    }

    /// Microseconds per request of each component between `self` (earlier) and `later`:
    /// load generator, emulator, Patchbay, bare forwarder, nginx.
    pub fn per_request(&self, later: &Cpu, requests: u64) -> [f64; 5] {
        let us = |a: Duration, b: Duration| {
            b.saturating_sub(a).as_secs_f64() * 1e6 / requests.max(1) as f64
        };
        [
            us(self.loadgen, later.loadgen),
            us(self.emulator, later.emulator),
            us(self.patchbay, later.patchbay),
            us(self.forwarder, later.forwarder),
            us(self.nginx, later.nginx),
        ]
    }
}
