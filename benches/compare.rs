//! Side-by-side comparison of chan with crossbeam-channel, flume, kanal and
//! `std::sync::mpsc` on a grid of workloads, flavors and message sizes.
//!
//! Run: `cargo bench -p chan-benches --bench compare` (full: N = 1,000,000,
//! T = 4, 5 repetitions) or `CHAN_BENCH_QUICK=1 cargo bench -p chan-benches
//! --bench compare` / `... --bench compare -- quick` (N = 20,000, 3 repetitions).
//! `CHAN_BENCH_N`, `CHAN_BENCH_T` and `CHAN_BENCH_R` override N, T and the
//! repetitions.
//!
//! Every cell runs in a child process (this binary re-executed with
//! `--cell ...`), so a cell that hangs is killed when it exceeds its time limit
//! (10 times the crossbeam time of the same row, and at least 20 s, 5 s in quick
//! mode) and reported as "hang" while the harness goes on. The tables are
//! printed and written to `RESULTS.md` and `results.svg` beside this file.

use chan_benches::async_workloads::with_async_section;
use chan_benches::cell::{self, env_usize, median, Failure, THROUGHPUT_MARK};
use chan_benches::machine::{utc_now, Machine};
use chan_benches::report::{Outcome, Report, Row};
use chan_benches::workloads::{pingpong_rounds, Big, Flavor, Message, Workload};
use std::path::Path;
use std::time::{Duration, Instant};

/// Contenders in table order; the first is the baseline of the ratios and runs
/// first in each row so that its time sets the others' limits.
const CONTENDERS: [&str; 5] = ["crossbeam", "chan", "flume", "kanal", "std"];
/// Message types in table order.
const MESSAGES: [&str; 2] = [<usize as Message>::NAME, <Big as Message>::NAME];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(pos) = args.iter().position(|a| a == "--cell") {
        // Child mode: `--cell WORKLOAD FLAVOR MSG CONTENDER N T`.
        cell::throughput_child(&args[pos + 1..]);
    } else {
        parent(&args);
    }
}

/// Result of running one cell once.
enum Run {
    Value(f64),
    NotAvailable,
    Hang,
    Error(String),
}

/// Runs one cell in a child process, killed after `limit`.
fn run_cell(cell: &[String], limit: Duration) -> Run {
    let mut args = vec!["--cell".to_string()];
    args.extend_from_slice(cell);
    match cell::run_child(&args, THROUGHPUT_MARK, limit) {
        Ok(line) => match line[THROUGHPUT_MARK.len()..].trim() {
            "NA" => Run::NotAvailable,
            v => match v.parse() {
                Ok(v) => Run::Value(v),
                Err(_) => Run::Error(format!("bad output {v:?}")),
            },
        },
        Err(Failure::Hang) => Run::Hang,
        Err(Failure::Error(e)) => Run::Error(e),
    }
}

/// How long one run of a cell may take before it is killed as hung: 10 times
/// the baseline's first time on the same row and at least 20 s (5 s in quick
/// mode); 60 s (10 s) for the baseline itself.
fn time_limit(w: Workload, n: usize, baseline: Option<f64>, quick: bool) -> Duration {
    let floor = Duration::from_secs(if quick { 5 } else { 20 });
    match baseline {
        Some(metric) => {
            let seconds = match w {
                Workload::PingPong => metric * 1e-9 * pingpong_rounds(n) as f64,
                _ => metric * 1e-3,
            };
            floor.max(Duration::from_secs_f64(10.0 * seconds))
        }
        None => Duration::from_secs(if quick { 10 } else { 60 }),
    }
}

/// Size and repetition settings of a run.
struct Settings {
    n: usize,
    t: usize,
    reps: usize,
    quick: bool,
}

/// Measures one row: every contender on workload `w`, flavor `f`, message `m`,
/// contenders interleaved within each repetition, the median of the runs.
///
/// The contender that goes first moves on by one each repetition, so that
/// over five repetitions each contender runs once in each position (first
/// of the row, right after a previous row, last): with a fixed order the
/// same contender would always go first, and whatever the position costs on
/// a shared machine would fall on it every time.
fn measure_row(w: Workload, f: Flavor, m: &str, s: &Settings) -> Vec<Outcome> {
    let cell =
        |c: &str| [w.id(), f.id(), m, c, &s.n.to_string(), &s.t.to_string()].map(String::from);
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); CONTENDERS.len()];
    let mut outcomes: Vec<Option<Outcome>> = vec![None; CONTENDERS.len()];
    for rep in 0..s.reps {
        for turn in 0..CONTENDERS.len() {
            // Repetition 0 starts with the baseline, whose first time sets
            // the others' time limits.
            let i = (turn + rep) % CONTENDERS.len();
            let c = CONTENDERS[i];
            if outcomes[i].is_some() {
                continue; // N/A, hang and error are final.
            }
            let baseline = values[0].first().copied().filter(|_| i > 0);
            let limit = time_limit(w, s.n, baseline, s.quick);
            match run_cell(&cell(c), limit) {
                Run::Value(v) => values[i].push(v),
                Run::NotAvailable => outcomes[i] = Some(Outcome::NotAvailable),
                Run::Hang => outcomes[i] = Some(Outcome::Hang),
                Run::Error(e) => outcomes[i] = Some(Outcome::Error(e)),
            }
        }
    }
    outcomes
        .into_iter()
        .zip(values)
        .map(|(o, v)| o.unwrap_or_else(|| Outcome::Value(median(v))))
        .collect()
}

fn parent(args: &[String]) {
    let quick = cell::quick_mode(args);
    let n = env_usize("CHAN_BENCH_N").unwrap_or(if quick { 20_000 } else { 1_000_000 });
    let t = env_usize("CHAN_BENCH_T").unwrap_or(4).max(1);
    let reps = env_usize("CHAN_BENCH_R")
        .unwrap_or(if quick { 3 } else { 5 })
        .max(1);
    eprintln!(
        "compare: N = {n}, T = {t}, {reps} repetition(s){}",
        if quick { ", quick mode" } else { "" }
    );

    let settings = Settings { n, t, reps, quick };
    let started = Instant::now();
    let mut rows = Vec::new();
    for w in Workload::ALL {
        for &f in w.flavors() {
            for m in MESSAGES {
                let cells = measure_row(w, f, m, &settings);
                let shown: Vec<String> = cells
                    .iter()
                    .map(|c| match c {
                        Outcome::Value(v) => format!("{v:.3}"),
                        other => format!("{other:?}"),
                    })
                    .collect();
                eprintln!(
                    "[{:6.1}s] {:<11} {:<13} {:<5} {}: {}",
                    started.elapsed().as_secs_f64(),
                    w.id(),
                    f.label(),
                    m,
                    w.unit(),
                    shown.join("  ")
                );
                rows.push(Row {
                    workload: w,
                    flavor: f,
                    msg: m,
                    cells,
                });
            }
        }
    }

    let report = Report {
        machine: machine(),
        date: utc_now(),
        n,
        t,
        reps,
        quick,
        contenders: CONTENDERS.to_vec(),
        rows,
    };
    print!("{}", report.console());
    for (row, contender, outcome, args) in report.failures() {
        println!("FAILED: {contender} on {row}: {outcome:?} (rerun: --cell {args})");
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let md = dir.join("RESULTS.md");
    // Keep the async harness's section (`benches/async.rs`).
    let async_md = std::fs::read_to_string(dir.join("ASYNC.md")).unwrap_or_default();
    let results = if async_md.is_empty() {
        report.markdown()
    } else {
        with_async_section(&report.markdown(), &async_md)
    };
    std::fs::write(&md, results).expect("write RESULTS.md");
    let svg = dir.join("results.svg");
    if let Err(e) = report.svg(&svg) {
        eprintln!("compare: could not draw {}: {e}", svg.display());
    }
    println!(
        "\nwrote {} and {} in {:.0} s",
        md.display(),
        svg.display(),
        started.elapsed().as_secs_f64()
    );
}

/// `N CPUs, model name` from the standard library and /proc/cpuinfo.
fn machine() -> String {
    let m = Machine::here();
    format!("{} CPUs, {}", m.cpus, m.model)
}
