//! Benchmark cells in child processes: both sides of the protocol the
//! harnesses share.
//!
//! A harness measures each cell (one contender on one workload, flavor and
//! size) by re-executing its own binary with `--cell ARGS`. The child runs
//! the cell once and prints one marked line; the parent kills it when it
//! exceeds a time limit. A fresh process per cell gives every cell the same
//! cold start, makes the process CPU clock cover that cell alone, and lets a
//! cell that hangs be reported as "hang" while the harness goes on.
//!
//! The child side ([`throughput_child`], [`latency_child`]) lives here rather
//! than in each harness so that `compare`, `latency` and `scaling` accept the
//! very same cell arguments and run the very same code for them.

use crate::contenders::{Chan, Crossbeam, Flume, Kanal, Std};
use crate::latency::{self, LatParams, Shape};
use crate::workloads::{run_basic, run_multi, run_select, Big, Flavor, Message, Params, Workload};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Prefix of the one line a throughput cell prints on success, followed by
/// the metric or `NA`.
pub const THROUGHPUT_MARK: &str = "chan-bench-cell:";

/// Child side of a throughput cell: `WORKLOAD FLAVOR MSG CONTENDER N T`
/// (the arguments after `--cell`). Prints `chan-bench-cell: VALUE` (the
/// workload's metric, see [`Workload::unit`]) or `chan-bench-cell: NA` when
/// the contender lacks a capability the workload needs.
///
/// # Panics
/// On malformed arguments, and when the workload fails (lost messages).
pub fn throughput_child(args: &[String]) {
    // Anything after the six values (such as the `--bench` cargo appends) is ignored.
    let [w, f, m, c, n, t, ..] = args else {
        panic!("usage: --cell WORKLOAD FLAVOR MSG CONTENDER N T");
    };
    let w = Workload::from_id(w).expect("unknown workload");
    let f = Flavor::from_id(f).expect("unknown flavor");
    let p = Params {
        n: n.parse().expect("N"),
        t: t.parse().expect("T"),
    };
    let value = if m == <usize as Message>::NAME {
        dispatch::<usize>(c, w, f, p)
    } else if m == <Big as Message>::NAME {
        dispatch::<Big>(c, w, f, p)
    } else {
        panic!("unknown message type {m}");
    };
    match value {
        Some(v) => println!("{THROUGHPUT_MARK} {v}"),
        None => println!("{THROUGHPUT_MARK} NA"),
    }
}

/// Runs a workload on the named contender through the strongest trait it has.
fn dispatch<M: Message>(contender: &str, w: Workload, f: Flavor, p: Params) -> Option<f64> {
    match contender {
        "chan" => run_select::<Chan, M>(w, f, p),
        "crossbeam" => run_select::<Crossbeam, M>(w, f, p),
        "flume" => run_select::<Flume, M>(w, f, p),
        "kanal" => run_multi::<Kanal, M>(w, f, p),
        "std" => run_basic::<Std, M>(w, f, p),
        other => panic!("unknown contender {other}"),
    }
}

/// Child side of a latency cell: `SHAPE FLAVOR CONTENDER T N GAP_US` (the
/// arguments after `--cell`). Prints the [`latency::Measurement`] line
/// (`chan-lat-cell: messages=... ...`), or `chan-lat-cell: NA` when the
/// contender cannot run the shape.
///
/// # Panics
/// On malformed arguments, and when the workload fails (lost messages).
pub fn latency_child(args: &[String]) {
    // Anything after the six values (such as the `--bench` cargo appends) is ignored.
    let [shape, flavor, contender, t, n, gap_us, ..] = args else {
        panic!("usage: --cell SHAPE FLAVOR CONTENDER T N GAP_US");
    };
    let shape = Shape::from_id(shape).expect("unknown workload (paced, fullspeed, shared)");
    let flavor = Flavor::from_id(flavor).expect("unknown flavor (b0, b1, b1024, unb)");
    let (_, run) = latency::CONTENDERS
        .iter()
        .find(|(name, _)| name == contender)
        .unwrap_or_else(|| panic!("unknown contender {contender}"));
    let gap_us: u64 = gap_us.parse().expect("GAP_US");
    let p = LatParams {
        producers: t.parse::<usize>().expect("T").max(1),
        per_producer: n.parse::<usize>().expect("N").max(1),
        gap_ns: gap_us * 1_000,
    };
    match run(shape, flavor, p) {
        Some(m) => println!("{m}"),
        None => println!("{} {}", latency::MARK, latency::NOT_AVAILABLE),
    }
}

/// Why a child produced no measurement.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// Killed after its time limit.
    Hang,
    /// Could not be started, crashed, panicked (the first two lines of its
    /// error output: a panic's location and message) or printed no marked line.
    Error(String),
}

/// Runs this binary again with `args` (`--cell ...` or any other child mode),
/// kills it after `limit`, and returns the last line of its output that
/// starts with `mark`, mark included.
pub fn run_child(args: &[String], mark: &str, limit: Duration) -> Result<String, Failure> {
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Failure::Error(format!("spawn failed: {e}")))?;
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Failure::Hang);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(Failure::Error(format!("wait failed: {e}"))),
        }
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut err);
    }
    let line = out.lines().rev().find(|l| l.starts_with(mark));
    match (status.success(), line) {
        (true, Some(line)) => Ok(line.to_string()),
        _ => {
            // A panic prints "thread ... panicked at FILE:LINE:COL:" and then
            // the message on the next line: keep both.
            let lines: Vec<&str> = err
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with("note:"))
                .take(2)
                .collect();
            let what = if lines.is_empty() {
                "no output".to_string()
            } else {
                lines.join(" ")
            };
            Err(Failure::Error(format!("{status}: {what}")))
        }
    }
}

/// Median of `v`, which is not empty (the mean of the two middle values when
/// their number is even).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Whether the harness runs in quick mode: `CHAN_BENCH_QUICK` set to anything
/// but empty or `0`, or an argument `quick` / `--quick`.
pub fn quick_mode(args: &[String]) -> bool {
    std::env::var("CHAN_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
        || args.iter().any(|a| a == "quick" || a == "--quick")
}

/// A number from the environment variable `name`, if set.
///
/// # Panics
/// If the variable is set to something that is not a number: a typo in a
/// setting should stop the run, not silently fall back to the default.
pub fn env_usize(name: &str) -> Option<usize> {
    let v = std::env::var(name).ok()?;
    Some(
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, got {v:?}")),
    )
}
