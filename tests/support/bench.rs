//! What the benchmarks (`tests/benches/*.rs`, `harness = false`) share: the full-run switch,
//! the process's memory from /proc, and the number formats of their tables.

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Map, Value};

static FULL_RUN: OnceLock<bool> = OnceLock::new();

/// `cargo bench` passes `--bench` and gets the full run; under `cargo test --all-targets` the
/// same binary runs a small version through the same path and checks.
pub fn full_run() -> bool {
    *FULL_RUN.get_or_init(|| std::env::args().any(|a| a == "--bench"))
}

/// A `kB` field of /proc/self/status (`VmRSS:`, `VmHWM:`), in KiB.
pub fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The peak resident set of this process (VmHWM), in KiB.
pub fn peak_memory_kib() -> Option<u64> {
    status_kib("VmHWM:")
}

pub fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}

/// `12345` as `12,345`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The nearest-rank `p` (0 to 1) of `sorted` runs.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

pub fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("expected a JSON object, got {other}"),
    }
}
