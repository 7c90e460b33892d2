//! Async channels side by side: chan's `send_async` / `recv_async` next to
//! async-channel, flume, kanal and `tokio::sync::mpsc`, on a tokio
//! multi-thread runtime with two worker threads.
//!
//! Run: `cargo bench -p chan-benches --bench async` (full: N = 200,000
//! `usize` messages, T = 4, 5 repetitions) or `CHAN_BENCH_QUICK=1 cargo bench
//! -p chan-benches --bench async` / `... --bench async -- quick` (N = 20,000,
//! 3 repetitions). `CHAN_BENCH_N`, `CHAN_BENCH_T` and `CHAN_BENCH_R` override
//! N, T and the repetitions.
//!
//! The workloads are in `benches/src/async_workloads.rs`. Every cell runs in
//! a child process (this binary re-executed with `--cell SHAPE FLAVOR
//! CONTENDER N T`): the process CPU clock then covers that cell alone, and a
//! cell that hangs is killed at its time limit and reported as "hang" while
//! the harness goes on. The repetitions are the outer loop, so a noisy moment
//! of the shared machine spoils one repetition of many rows rather than every
//! repetition of one row; within a row the contenders run one after the
//! other, the first of them rotating from one repetition to the next. The
//! tables (median wall and CPU time, chan's ratio to each peer, geometric
//! means) are printed and written to `ASYNC.md` beside this file.

use chan_benches::async_workloads::{
    self, with_async_section, Flavor, Measurement, Shape, CAPACITY, CONTENDERS, WORKERS,
};
use chan_benches::cell::{self, env_usize, median, Failure};
use chan_benches::machine::{utc_now, Machine};
use chan_benches::report::{failures_section, fmt_num, markdown_table};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(pos) = args.iter().position(|a| a == "--cell") {
        // Child mode: `--cell SHAPE FLAVOR CONTENDER N T`.
        async_workloads::child(&args[pos + 1..]);
    } else {
        parent(&args);
    }
}

/// Size and repetition settings of a run.
struct Settings {
    n: usize,
    t: usize,
    reps: usize,
    quick: bool,
}

impl Settings {
    fn from_env(args: &[String]) -> Settings {
        let quick = cell::quick_mode(args);
        Settings {
            n: env_usize("CHAN_BENCH_N")
                .unwrap_or(if quick { 20_000 } else { 200_000 })
                .max(1),
            t: env_usize("CHAN_BENCH_T").unwrap_or(4).max(1),
            reps: env_usize("CHAN_BENCH_R")
                .unwrap_or(if quick { 3 } else { 5 })
                .max(1),
            quick,
        }
    }

    /// How long one run of a cell may take before it is killed as hung:
    /// 10 us per message and at least 30 s (10 s in quick mode). A working
    /// cell takes well under a second at the default sizes.
    fn time_limit(&self) -> Duration {
        let floor = Duration::from_secs(if self.quick { 10 } else { 30 });
        floor.max(Duration::from_micros(10 * self.n as u64))
    }

    fn describe(&self) -> String {
        format!(
            "N = {} messages (usize), T = {}, {} repetition(s), tokio multi-thread runtime with {} workers, bounded = capacity {}{}",
            self.n,
            self.t,
            self.reps,
            WORKERS,
            CAPACITY,
            if self.quick { ", quick mode" } else { "" }
        )
    }
}

/// Why a cell has no measurement; final once set.
#[derive(Clone, Debug)]
enum Missing {
    /// The workload does not apply to the contender.
    NotAvailable,
    /// Killed after its time limit, or failed (lost messages, panic).
    Failed(Failure),
}

impl Missing {
    fn word(&self) -> &'static str {
        match self {
            Missing::NotAvailable => "n/a",
            Missing::Failed(Failure::Hang) => "hang",
            Missing::Failed(Failure::Error(_)) => "error",
        }
    }
}

/// One row: a shape on a flavor, and what each contender measured so far.
struct Row {
    shape: Shape,
    flavor: Flavor,
    runs: Vec<Vec<Measurement>>,
    missing: Vec<Option<Missing>>,
}

impl Row {
    /// The arguments after `--cell` of one contender's cell.
    fn cell_args(&self, contender: &str, s: &Settings) -> [String; 5] {
        [
            self.shape.id().to_string(),
            self.flavor.id().to_string(),
            contender.to_string(),
            s.n.to_string(),
            s.t.to_string(),
        ]
    }

    fn label(&self) -> String {
        format!("{} {}", self.shape.id(), self.flavor.label())
    }

    /// Median wall and CPU time of contender `i` in ms, if it ran.
    fn medians(&self, i: usize) -> Option<(f64, f64)> {
        if self.missing[i].is_some() || self.runs[i].is_empty() {
            return None;
        }
        let runs = &self.runs[i];
        Some((
            median(runs.iter().map(|m| m.wall_ns as f64 / 1e6).collect()),
            median(runs.iter().map(|m| m.cpu_ns as f64 / 1e6).collect()),
        ))
    }

    /// chan's ratio to contender `i` (wall, CPU), when both ran.
    fn ratios(&self, i: usize) -> Option<(f64, f64)> {
        let (cw, cc) = self.medians(0)?;
        let (pw, pc) = self.medians(i)?;
        Some((cw / pw, cc / pc))
    }

    /// The table cell of contender `i`: its median by `pick`, or why not.
    fn show(&self, i: usize, pick: fn((f64, f64)) -> f64) -> String {
        match (&self.missing[i], self.medians(i)) {
            (Some(m), _) => m.word().to_string(),
            (None, Some(v)) => fmt_num(pick(v)),
            (None, None) => "-".to_string(),
        }
    }
}

/// Geometric mean of chan's ratios to contender `i` over the rows both ran:
/// `(wall, CPU, rows)`.
fn geomean(rows: &[Row], i: usize) -> Option<(f64, f64, usize)> {
    let ratios: Vec<(f64, f64)> = rows.iter().filter_map(|r| r.ratios(i)).collect();
    if ratios.is_empty() {
        return None;
    }
    let k = ratios.len() as f64;
    let wall = (ratios.iter().map(|r| r.0.ln()).sum::<f64>() / k).exp();
    let cpu = (ratios.iter().map(|r| r.1.ln()).sum::<f64>() / k).exp();
    Some((wall, cpu, ratios.len()))
}

/// The wall (`pick` = .0) or CPU (.1) table: medians in ms, then chan/peer.
fn table(rows: &[Row], pick: fn((f64, f64)) -> f64) -> Vec<Vec<String>> {
    let mut head = vec!["workload".to_string(), "flavor".to_string()];
    head.extend(CONTENDERS.iter().map(|c| format!("{c} ms")));
    head.extend(CONTENDERS[1..].iter().map(|c| format!("chan/{c}")));
    let mut table = vec![head];
    for row in rows {
        let mut line = vec![row.shape.id().to_string(), row.flavor.label().to_string()];
        line.extend((0..CONTENDERS.len()).map(|i| row.show(i, pick)));
        for i in 1..CONTENDERS.len() {
            line.push(match row.ratios(i) {
                Some(r) => format!("{:.2}", pick(r)),
                None => match (&row.missing[0], &row.missing[i]) {
                    (_, Some(m)) | (Some(m), None) => m.word().to_string(),
                    (None, None) => "-".to_string(),
                },
            });
        }
        table.push(line);
    }
    table
}

fn geomean_table(rows: &[Row]) -> Vec<Vec<String>> {
    let mut table = vec![["peer", "cells", "wall chan/peer", "CPU chan/peer"]
        .map(String::from)
        .to_vec()];
    for (i, name) in CONTENDERS.iter().enumerate().skip(1) {
        table.push(match geomean(rows, i) {
            Some((wall, cpu, k)) => vec![
                name.to_string(),
                k.to_string(),
                format!("{wall:.2}"),
                format!("{cpu:.2}"),
            ],
            None => vec![name.to_string(), "0".into(), "-".into(), "-".into()],
        });
    }
    table
}

/// One line per failed cell, with the arguments that rerun it.
fn failures(rows: &[Row], s: &Settings) -> Vec<String> {
    let mut out = Vec::new();
    for row in rows {
        for (i, name) in CONTENDERS.iter().enumerate() {
            let what = match &row.missing[i] {
                Some(Missing::Failed(Failure::Hang)) => "hang".to_string(),
                Some(Missing::Failed(Failure::Error(e))) => format!("error: {e}"),
                _ => continue,
            };
            out.push(format!(
                "{name} on {}: {what} (ARGS: `{}`)",
                row.label(),
                row.cell_args(name, s).join(" ")
            ));
        }
    }
    out
}

/// The markdown document written to ASYNC.md.
fn markdown(rows: &[Row], s: &Settings, machine: &Machine, date: &str) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Async results: chan versus other async channels\n");
    let _ = writeln!(
        md,
        "Run it with `cargo bench -p chan-benches --bench async` (N = 200,000, 5 repetitions), \
         or `CHAN_BENCH_QUICK=1 cargo bench -p chan-benches --bench async` for a quick check \
         (N = 20,000, 3 repetitions); `CHAN_BENCH_N`, `CHAN_BENCH_T` and `CHAN_BENCH_R` \
         override N, T and the repetitions. One cell alone: `cargo bench -p chan-benches \
         --bench async -- --cell SHAPE FLAVOR CONTENDER N T` (e.g. `--cell mpsc b128 chan \
         200000 4`). Source: `benches/async.rs`, workloads in `benches/src/async_workloads.rs`.\n"
    );
    let _ = writeln!(
        md,
        "Written by `cargo bench -p chan-benches --bench async`{} on {date}.\n",
        if s.quick {
            " in quick mode (`CHAN_BENCH_QUICK=1`)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        md,
        "- Machine: {} CPUs (available_parallelism), {}, {}",
        machine.cpus, machine.model, machine.os
    );
    let _ = writeln!(
        md,
        "- Load average when the run started: {} (a shared machine: other processes compete for the CPUs)",
        machine.load
    );
    let _ = writeln!(md, "- Parameters: {}", s.describe());
    let _ = writeln!(
        md,
        "- Contenders: chan (`send_async` / `recv_async`; threads use the same `Sender::send`), \
         async-channel 2 (`send` / `recv` futures; threads `send_blocking`), flume 0.12 \
         (`send_async` / `recv_async`; threads `send`), kanal 0.1 (`AsyncSender` / \
         `AsyncReceiver`; threads the `Sender` of `clone_sync`), tokio::sync::mpsc (`channel` \
         with `send().await` and threads `blocking_send`, or `unbounded_channel`; one receiver, \
         so n/a where there are several consumers)."
    );
    let _ = writeln!(
        md,
        "- Each cell runs in a fresh process on a fresh runtime; the repetitions are the outer \
         loop and, within a row, the contenders run one after the other, the first rotating per \
         repetition. Every figure is a median over the repetitions.\n"
    );
    let _ = writeln!(md, "Workloads (see `benches/src/async_workloads.rs`):\n");
    for shape in Shape::ALL {
        let flavors: Vec<&str> = shape.flavors().iter().map(|f| f.label()).collect();
        let _ = writeln!(
            md,
            "- `{}`: {}; on {}.",
            shape.id(),
            shape.describe(),
            flavors.join(", ")
        );
    }
    let _ = writeln!(
        md,
        "\nThe N values `0..N` are split into contiguous shares, one per producer. Every run \
         checks that the consumers received each value exactly once (count, sum and sum of \
         squares) and fails otherwise.\n"
    );
    let _ = writeln!(md, "Columns:\n");
    let _ = writeln!(
        md,
        "- wall ms: from spawning the first task or thread to joining the last one (the runtime \
         is built before and dropped after)."
    );
    let _ = writeln!(
        md,
        "- CPU ms: user + system CPU time of the whole child process (`CLOCK_PROCESS_CPUTIME_ID`, \
         every thread: runtime workers, producer threads) over the same span."
    );
    let _ = writeln!(
        md,
        "- chan/peer: chan's median over the peer's; below 1 chan is faster (or cheaper)."
    );
    let _ = writeln!(
        md,
        "- n/a: the workload does not apply to that contender; hang: killed after its time \
         limit; error: the run panicked or lost messages.\n"
    );
    if s.quick {
        let _ = writeln!(
            md,
            "Quick mode: short runs and few repetitions; read the figures as indications only.\n"
        );
    }
    let _ = writeln!(md, "## Wall time\n");
    md.push_str(&markdown_table(&table(rows, |v| v.0), 2));
    let _ = writeln!(md, "\n## CPU time\n");
    md.push_str(&markdown_table(&table(rows, |v| v.1), 2));
    let _ = writeln!(md, "\n## Geometric means\n");
    let _ = writeln!(
        md,
        "chan's ratio to each peer, geometric mean over the cells both ran (below 1: chan faster).\n"
    );
    md.push_str(&markdown_table(&geomean_table(rows), 1));
    md.push_str(&failures_section("async", &failures(rows, s)));
    md
}

fn parent(args: &[String]) {
    let s = Settings::from_env(args);
    let machine = Machine::here();
    let date = utc_now();
    eprintln!("async: {}", s.describe());

    let mut rows = Vec::new();
    for shape in Shape::ALL {
        for &flavor in shape.flavors() {
            rows.push(Row {
                shape,
                flavor,
                runs: vec![Vec::new(); CONTENDERS.len()],
                missing: vec![None; CONTENDERS.len()],
            });
        }
    }

    let started = Instant::now();
    let limit = s.time_limit();
    for rep in 0..s.reps {
        for row in &mut rows {
            let mut shown = Vec::new();
            for turn in 0..CONTENDERS.len() {
                let i = (turn + rep) % CONTENDERS.len();
                if row.missing[i].is_some() {
                    continue; // n/a, hang and error are final
                }
                let name = CONTENDERS[i];
                let mut args = vec!["--cell".to_string()];
                args.extend(row.cell_args(name, &s));
                let outcome = cell::run_child(&args, async_workloads::MARK, limit)
                    .and_then(|line| Measurement::parse(&line).map_err(Failure::Error));
                match outcome {
                    Ok(Some(m)) => {
                        shown.push(format!(
                            "{name} {}/{}",
                            fmt_num(m.wall_ns as f64 / 1e6),
                            fmt_num(m.cpu_ns as f64 / 1e6)
                        ));
                        row.runs[i].push(m);
                    }
                    Ok(None) => row.missing[i] = Some(Missing::NotAvailable),
                    Err(f) => {
                        shown.push(format!("{name} {f:?}"));
                        row.missing[i] = Some(Missing::Failed(f));
                    }
                }
            }
            eprintln!(
                "[{:6.1}s] rep {}/{} {:<22} wall/CPU ms: {}",
                started.elapsed().as_secs_f64(),
                rep + 1,
                s.reps,
                row.label(),
                shown.join("  ")
            );
        }
    }

    println!("\nAsync, {}:\n", s.describe());
    println!("Wall time (median ms; chan/peer below 1: chan faster):\n");
    print!("{}", markdown_table(&table(&rows, |v| v.0), 2));
    println!("\nCPU time of the process (median ms):\n");
    print!("{}", markdown_table(&table(&rows, |v| v.1), 2));
    println!("\nGeometric means of chan/peer:\n");
    print!("{}", markdown_table(&geomean_table(&rows), 1));
    for line in failures(&rows, &s) {
        println!("FAILED: {line}");
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ASYNC.md");
    let async_md = markdown(&rows, &s, &machine, &date);
    std::fs::write(&path, &async_md).expect("write ASYNC.md");
    let results = path.with_file_name("RESULTS.md");
    let before = std::fs::read_to_string(&results).unwrap_or_default();
    std::fs::write(&results, with_async_section(&before, &async_md)).expect("write RESULTS.md");
    println!(
        "\nwrote {} in {:.0} s",
        path.display(),
        started.elapsed().as_secs_f64()
    );
}
