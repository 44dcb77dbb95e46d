//! What loadgen reads of a process from /proc: resident memory and CPU
//! time by thread.

use std::collections::BTreeMap;

/// Peak and current resident memory of `pid`, in KiB, from /proc.
pub(crate) fn server_memory(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// CPU time (user + system) of `pid` ("self" for loadgen) and of its live
/// threads by name, in clock ticks: 1/100 s (USER_HZ on Linux).
pub(crate) fn cpu_ticks(pid: &str) -> (u64, BTreeMap<String, u64>) {
    // "id (comm) state …": comm may hold spaces, so split at the last ')';
    // utime and stime are the 12th and 13th fields after it.
    let parse = |stat: &str| -> Option<(String, u64)> {
        let (open, close) = (stat.find('(')?, stat.rfind(')')?);
        let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        Some((
            stat.get(open + 1..close)?.to_owned(),
            ticks(11)? + ticks(12)?,
        ))
    };
    let read = |path: std::path::PathBuf| std::fs::read_to_string(path).ok();
    let total = read(format!("/proc/{pid}/stat").into())
        .and_then(|s| parse(&s))
        .map_or(0, |(_, t)| t);
    let mut threads = BTreeMap::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            if let Some((name, t)) = read(task.path().join("stat")).and_then(|s| parse(&s)) {
                *threads.entry(name).or_default() += t;
            }
        }
    }
    (total, threads)
}

/// Average CPU use between two `cpu_ticks` readings, as "% of one core",
/// with the busiest thread names.
pub(crate) fn cpu_line(
    before: &(u64, BTreeMap<String, u64>),
    after: &(u64, BTreeMap<String, u64>),
    secs: f64,
) -> String {
    let pct = |ticks: u64| ticks as f64 / secs; // ticks/100 s ÷ secs × 100 %
    let mut threads: Vec<(&String, u64)> = after
        .1
        .iter()
        .map(|(name, t)| (name, t.saturating_sub(*before.1.get(name).unwrap_or(&0))))
        .filter(|(_, t)| *t > 0)
        .collect();
    threads.sort_by_key(|t| std::cmp::Reverse(t.1));
    let top: Vec<String> = threads
        .iter()
        .take(4)
        .map(|(name, t)| format!("{name} {:.0}%", pct(*t)))
        .collect();
    format!(
        "{:.0}% of one core (threads: {})",
        pct(after.0.saturating_sub(before.0)),
        top.join(", ")
    )
}
