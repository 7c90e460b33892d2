//! Scaling benchmark: chan against crossbeam-channel, flume, kanal and
//! `std::sync::mpsc` as the thread count T grows, in one command meant for a
//! machine with many cores.
//!
//! Run: `cargo bench -p chan-benches --bench scaling` (full) or
//! `CHAN_BENCH_QUICK=1 cargo bench -p chan-benches --bench scaling` /
//! `... --bench scaling -- quick` (a check of about a minute on two cores,
//! plus the build: T at most 4, one repetition, throughput N = 120,000
//! (spsc 200,000), latency N as the `latency` bench's quick mode: 2,000
//! messages per producer paced and 20,000 at full speed).
//!
//! T runs over 1, 2, 4, 8, ... up to twice `available_parallelism()`, that
//! value included even when it is not a power of two: past the core count
//! the threads compete for CPUs, which is where a channel's waiting strategy
//! (spin, yield, park) decides its throughput. Every flavor (bounded(0),
//! bounded(1), bounded(1024), unbounded) runs
//!
//! - the throughput workloads of `benches/src/workloads.rs`: `spsc` (at T = 1
//!   only: it has no T), `mpsc` (T producers) and `mpmc` (T producers and T
//!   consumers), N `usize` messages in all (600,000; spsc 1,000,000);
//! - the latency workloads of `benches/src/latency.rs` with T producers:
//!   `paced` and `fullspeed` (the latter on the flavors it is defined for),
//!   with the `latency` bench's defaults (G = 50 us; N = 20,000 messages per
//!   producer paced and 100,000 at full speed).
//!
//! Environment: `CHAN_BENCH_R` repetitions (3; quick 1), `CHAN_BENCH_N` the
//! throughput N (spsc included), `CHAN_SCALING_TMAX` the largest T,
//! `CHAN_LAT_N` and `CHAN_LAT_GAP_US` the latency N per producer and gap.
//!
//! Method, shared with the `compare` and `latency` benches (`src/cell.rs`):
//! every cell runs in a child process (this binary re-executed with `--cell`
//! and the cell arguments of `compare` or `latency`), so each starts cold,
//! the process CPU clock covers it alone, and one that exceeds its time limit
//! is killed and reported as "hang" while the run goes on. Repetitions are
//! the outer loop, so a noisy moment of a shared machine spoils one
//! repetition of many cells rather than every repetition of one; within a
//! cell the contenders run one after the other, the first rotating from cell
//! to cell and from repetition to repetition. Every figure is the median of
//! that metric over the repetitions.
//!
//! Output: tables and a summary on stdout, and beside this file
//! `SCALING.md`, `scaling.csv` (one line per cell and contender) and
//! `scaling.svg` (time per message against T). They are rewritten after
//! every repetition, so an interrupted run leaves the repetitions it finished.

use chan_benches::cell::{self, env_usize, median, Failure, THROUGHPUT_MARK};
use chan_benches::latency::{self, Measurement, Shape};
use chan_benches::machine::{utc_now, Machine};
use chan_benches::report::{failures_section, fmt_num, markdown_table};
use chan_benches::workloads::{Flavor, Message, Workload};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Contenders in table order. chan comes first: every ratio is chan's time
/// over a peer's.
const CONTENDERS: [&str; 5] = ["chan", "crossbeam", "flume", "kanal", "std"];
/// Index of chan in [`CONTENDERS`].
const CHAN: usize = 0;
/// Index of crossbeam-channel, the API chan replaces.
const CROSSBEAM: usize = 1;
/// Index of kanal, the fastest of the peers in RESULTS.md (the `compare` bench).
const KANAL: usize = 3;
/// The peers chan's time is divided by in the ratio columns.
const RATIO_PEERS: [usize; 2] = [CROSSBEAM, KANAL];
/// The thread counts the summary looks at, when they were run: a few threads,
/// and enough to oversubscribe most machines.
const SUMMARY_TS: [usize; 2] = [4, 16];
/// A peer is "clearly" faster when chan takes this much longer.
const CLEAR_MARGIN: f64 = 1.10;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(pos) = args.iter().position(|a| a == "--cell") {
        // Child mode, with the cell arguments of `compare` (throughput) or
        // `latency` (latency); the workload names tell them apart.
        let cell_args = &args[pos + 1..];
        match cell_args.first() {
            Some(first) if Shape::from_id(first).is_some() => cell::latency_child(cell_args),
            _ => cell::throughput_child(cell_args),
        }
    } else {
        parent(&args);
    }
}

/// What a row measures: a throughput workload or a latency shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Throughput(Workload),
    Latency(Shape),
}

impl Kind {
    /// Every kind, in table order.
    const ALL: [Kind; 6] = [
        Kind::Throughput(Workload::Spsc),
        Kind::Throughput(Workload::Mpsc),
        Kind::Throughput(Workload::Mpmc),
        Kind::Latency(Shape::Paced),
        Kind::Latency(Shape::FullSpeed),
        Kind::Latency(Shape::Shared),
    ];

    fn id(self) -> &'static str {
        match self {
            Kind::Throughput(w) => w.id(),
            Kind::Latency(s) => s.id(),
        }
    }

    fn flavors(self) -> &'static [Flavor] {
        match self {
            Kind::Throughput(w) => w.flavors(),
            Kind::Latency(s) => s.flavors(),
        }
    }

    /// Whether the row has a T: spsc has one producer and one consumer
    /// whatever T is, so it runs once, at T = 1.
    fn scales(self) -> bool {
        self != Kind::Throughput(Workload::Spsc)
    }

    /// Whether time per message measures the channel. A paced row's time per
    /// message is the schedule's G / T whenever the channel keeps up, so paced
    /// rows are judged by their latency instead.
    fn timed(self) -> bool {
        self != Kind::Latency(Shape::Paced)
    }

    fn describe(self) -> &'static str {
        match self {
            Kind::Throughput(Workload::Spsc) => {
                "one producer thread, the main thread receives; N messages; run at T = 1 only"
            }
            Kind::Throughput(Workload::Mpsc) => {
                "T producers send N/T each, the main thread receives all"
            }
            // mpmc, the last of the throughput kinds in `ALL`.
            Kind::Throughput(_) => {
                "T producers send N/T each, T consumers (cloned receivers) share the channel; \
                 std has no receiver clone (N/A)"
            }
            Kind::Latency(Shape::Paced) => {
                "T producers each send one message per gap G (absolute deadlines, spread \
                 over the gap), one consumer; time per message is the schedule's G/T while \
                 the channel keeps up, so read the latency and CPU columns. At a large T \
                 the offered rate T/G can exceed what a channel carries, and the cell \
                 turns into a saturated one"
            }
            Kind::Latency(Shape::FullSpeed) => {
                "T producers send back to back, one consumer; on the flavors where a send blocks"
            }
            Kind::Latency(Shape::Shared) => {
                "T producers send back to back, T consumers (cloned receivers) share the \
                 channel; on the flavors where a send blocks; std has no receiver clone (N/A)"
            }
        }
    }
}

/// One repetition's measurement of one cell for one contender.
#[derive(Clone, Copy, Debug)]
struct Sample {
    /// Wall time per message, ns.
    ns_per_msg: f64,
    /// Wall time of the whole cell, s: what the time limits scale with.
    wall_s: f64,
    /// The latency cell's measurement; `None` for throughput cells.
    lat: Option<Measurement>,
}

/// The metrics of a cell, as the CSV names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Metric {
    NsPerMsg,
    P50,
    P99,
    P999,
    Max,
    CpuPerMsg,
    CpuPerWall,
    RxCpuPerWall,
}

impl Metric {
    const ALL: [Metric; 8] = [
        Metric::NsPerMsg,
        Metric::P50,
        Metric::P99,
        Metric::P999,
        Metric::Max,
        Metric::CpuPerMsg,
        Metric::CpuPerWall,
        Metric::RxCpuPerWall,
    ];

    fn csv_name(self) -> &'static str {
        match self {
            Metric::NsPerMsg => "ns_per_msg",
            Metric::P50 => "p50_ns",
            Metric::P99 => "p99_ns",
            Metric::P999 => "p999_ns",
            Metric::Max => "max_ns",
            Metric::CpuPerMsg => "cpu_ns_per_msg",
            Metric::CpuPerWall => "cpu_per_wall",
            Metric::RxCpuPerWall => "rx_cpu_per_wall",
        }
    }

    /// The metric of one sample; only time per message exists for throughput.
    fn of(self, s: &Sample) -> Option<f64> {
        if self == Metric::NsPerMsg {
            return Some(s.ns_per_msg);
        }
        let m = s.lat?;
        Some(match self {
            Metric::NsPerMsg => unreachable!(),
            Metric::P50 => m.p50_ns as f64,
            Metric::P99 => m.p99_ns as f64,
            Metric::P999 => m.p999_ns as f64,
            Metric::Max => m.max_ns as f64,
            Metric::CpuPerMsg => m.cpu_per_msg_ns(),
            Metric::CpuPerWall => m.cpu_per_wall(),
            Metric::RxCpuPerWall => m.rx_cpu_per_wall(),
        })
    }
}

/// Why a contender has no figure in a cell. Final: the cell is not run again.
#[derive(Clone, Debug, PartialEq)]
enum End {
    /// The contender lacks a capability the workload needs.
    NotAvailable,
    Failed(Failure),
}

impl End {
    fn word(&self) -> &'static str {
        match self {
            End::NotAvailable => "N/A",
            End::Failed(Failure::Hang) => "hang",
            End::Failed(Failure::Error(_)) => "error",
        }
    }
}

/// One contender in one cell.
#[derive(Clone, Debug, Default)]
struct Slot {
    runs: Vec<Sample>,
    end: Option<End>,
}

impl Slot {
    /// Median of `metric` over the repetitions, when the contender ran.
    fn metric(&self, metric: Metric) -> Option<f64> {
        if self.end.is_some() || self.runs.is_empty() {
            return None;
        }
        let values: Option<Vec<f64>> = self.runs.iter().map(|r| metric.of(r)).collect();
        Some(median(values?))
    }

    /// The word a table shows instead of a figure: why there is none, `-`
    /// before the first run, `ok` when there is one.
    fn word(&self) -> &'static str {
        match &self.end {
            Some(end) => end.word(),
            None if self.runs.is_empty() => "-",
            None => "ok",
        }
    }

    /// The metric formatted for a table, or the word saying why there is none.
    fn show(&self, metric: Metric, scale: f64) -> String {
        match self.metric(metric) {
            Some(v) => fmt_num(v * scale),
            None => self.word().to_string(),
        }
    }
}

/// One cell: a workload on a flavor with T threads, all contenders.
#[derive(Clone, Debug)]
struct Row {
    kind: Kind,
    flavor: Flavor,
    t: usize,
    slots: Vec<Slot>,
}

impl Row {
    fn label(&self) -> String {
        format!("{} {} T={}", self.kind.id(), self.flavor.label(), self.t)
    }

    /// chan's median time per message over peer `i`'s, when both ran.
    fn ratio(&self, i: usize) -> Option<f64> {
        Some(self.slots[CHAN].metric(Metric::NsPerMsg)? / self.slots[i].metric(Metric::NsPerMsg)?)
    }

    /// The longest wall time any contender took in this cell so far, s.
    fn longest_wall(&self) -> Option<f64> {
        self.slots
            .iter()
            .flat_map(|s| &s.runs)
            .map(|r| r.wall_s)
            .max_by(f64::total_cmp)
    }
}

/// Parameters of the whole run.
struct Settings {
    quick: bool,
    /// The thread counts, ascending.
    ts: Vec<usize>,
    /// Throughput N (messages in all) of mpsc and mpmc.
    n: usize,
    /// Throughput N of spsc.
    n_spsc: usize,
    /// Latency messages per producer, paced.
    n_paced: usize,
    /// Latency messages per producer, full speed.
    n_fullspeed: usize,
    gap_us: u64,
    reps: usize,
}

impl Settings {
    fn from_env(args: &[String], cpus: usize) -> Settings {
        let quick = cell::quick_mode(args);
        let mut top = 2 * cpus.max(1);
        if quick {
            top = top.min(4);
        }
        if let Some(cap) = env_usize("CHAN_SCALING_TMAX") {
            top = top.min(cap.max(1));
        }
        let n = env_usize("CHAN_BENCH_N").map(|n| n.max(1));
        let lat_n = env_usize("CHAN_LAT_N").map(|n| n.max(1));
        Settings {
            quick,
            ts: ladder(top),
            n: n.unwrap_or(if quick { 120_000 } else { 600_000 }),
            n_spsc: n.unwrap_or(if quick { 200_000 } else { 1_000_000 }),
            n_paced: lat_n.unwrap_or(if quick { 2_000 } else { 20_000 }),
            n_fullspeed: lat_n.unwrap_or(if quick { 20_000 } else { 100_000 }),
            gap_us: env_usize("CHAN_LAT_GAP_US").map_or(50, |g| g as u64),
            reps: env_usize("CHAN_BENCH_R")
                .unwrap_or(if quick { 1 } else { 3 })
                .max(1),
        }
    }

    /// The arguments after `--cell` of one contender's run of `row`: those of
    /// the `compare` bench for throughput, of the `latency` bench for latency.
    fn cell_args(&self, row: &Row, contender: &str) -> Vec<String> {
        let t = row.t.to_string();
        match row.kind {
            Kind::Throughput(w) => {
                let n = if w == Workload::Spsc {
                    self.n_spsc
                } else {
                    self.n
                };
                let msg = <usize as Message>::NAME;
                [w.id(), row.flavor.id(), msg, contender, &n.to_string(), &t]
                    .map(String::from)
                    .to_vec()
            }
            Kind::Latency(s) => {
                let n = self.per_producer(s).to_string();
                let gap = self.gap_us.to_string();
                [s.id(), row.flavor.id(), contender, &t, &n, &gap]
                    .map(String::from)
                    .to_vec()
            }
        }
    }

    fn per_producer(&self, shape: Shape) -> usize {
        match shape {
            Shape::Paced => self.n_paced,
            Shape::FullSpeed | Shape::Shared => self.n_fullspeed,
        }
    }

    /// Messages a throughput cell moves: mpsc and mpmc send N/T per producer.
    fn throughput_messages(&self, w: Workload, t: usize) -> usize {
        match w {
            Workload::Spsc => self.n_spsc,
            _ => (self.n / t * t).max(1),
        }
    }

    /// How long one run may take before it is killed as hung: ten times the
    /// longest run of any contender in the same cell so far, and at least
    /// 20 s (5 s in quick mode). Before any contender has finished, a bound
    /// from the cell's size instead: 60 s (10 s), more for paced cells (ten
    /// times their schedule) and large full-speed cells (20 us per message).
    fn time_limit(&self, row: &Row) -> Duration {
        let floor = Duration::from_secs(if self.quick { 5 } else { 20 });
        if let Some(wall) = row.longest_wall() {
            return floor.max(Duration::from_secs_f64(10.0 * wall));
        }
        let first = Duration::from_secs(if self.quick { 10 } else { 60 });
        match row.kind {
            Kind::Throughput(_) => first,
            Kind::Latency(Shape::Paced) => first.max(Duration::from_micros(
                10 * self.n_paced as u64 * self.gap_us,
            )),
            Kind::Latency(Shape::FullSpeed | Shape::Shared) => {
                let messages = (row.t * self.n_fullspeed) as u64;
                first.max(Duration::from_micros(20 * messages))
            }
        }
    }

    fn describe(&self) -> String {
        let ts: Vec<String> = self.ts.iter().map(usize::to_string).collect();
        format!(
            "T in {{{}}}; throughput N = {} messages (spsc {}); latency G = {} us, N = {} \
             messages per producer paced and {} at full speed; usize messages; \
             median of {} repetition(s){}",
            ts.join(", "),
            self.n,
            self.n_spsc,
            self.gap_us,
            self.n_paced,
            self.n_fullspeed,
            self.reps,
            if self.quick { "; quick mode" } else { "" }
        )
    }
}

/// 1, 2, 4, ... below `top`, then `top` itself, power of two or not.
fn ladder(top: usize) -> Vec<usize> {
    let mut ts: Vec<usize> = std::iter::successors(Some(1usize), |t| Some(t * 2))
        .take_while(|&t| t < top)
        .collect();
    ts.push(top);
    ts
}

/// Runs one contender's cell once.
fn run_once(row: &Row, i: usize, s: &Settings) -> Result<Sample, End> {
    let mut args = vec!["--cell".to_string()];
    args.extend(s.cell_args(row, CONTENDERS[i]));
    let limit = s.time_limit(row);
    match row.kind {
        Kind::Throughput(w) => {
            let line = cell::run_child(&args, THROUGHPUT_MARK, limit).map_err(End::Failed)?;
            let value = line[THROUGHPUT_MARK.len()..].trim();
            if value == "NA" {
                return Err(End::NotAvailable);
            }
            let ms: f64 = value
                .parse()
                .map_err(|_| End::Failed(Failure::Error(format!("bad output {value:?}"))))?;
            Ok(Sample {
                ns_per_msg: ms * 1e6 / s.throughput_messages(w, row.t) as f64,
                wall_s: ms * 1e-3,
                lat: None,
            })
        }
        Kind::Latency(_) => {
            let line = cell::run_child(&args, latency::MARK, limit).map_err(End::Failed)?;
            let m = Measurement::parse_cell(&line)
                .map_err(|e| End::Failed(Failure::Error(e)))?
                .ok_or(End::NotAvailable)?;
            Ok(Sample {
                ns_per_msg: m.wall_ns as f64 / m.messages as f64,
                wall_s: m.wall_ns as f64 * 1e-9,
                lat: Some(m),
            })
        }
    }
}

fn parent(args: &[String]) {
    let machine = Machine::here();
    let date = utc_now();
    let s = Settings::from_env(args, machine.cpus);
    eprintln!("scaling: {}", s.describe());

    let mut rows = Vec::new();
    for kind in Kind::ALL {
        for &flavor in kind.flavors() {
            let ts: &[usize] = if kind.scales() { &s.ts } else { &[1] };
            for &t in ts {
                rows.push(Row {
                    kind,
                    flavor,
                    t,
                    slots: vec![Slot::default(); CONTENDERS.len()],
                });
            }
        }
    }

    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let started = Instant::now();
    for rep in 0..s.reps {
        for (r, row) in rows.iter_mut().enumerate() {
            let mut shown = Vec::new();
            for turn in 0..CONTENDERS.len() {
                // The first contender moves on from cell to cell and from
                // repetition to repetition, so that whatever running first
                // costs on a shared machine does not always fall on one.
                let i = (turn + r + rep) % CONTENDERS.len();
                if row.slots[i].end.is_some() {
                    continue; // N/A, hang and error are final.
                }
                match run_once(row, i, &s) {
                    Ok(sample) => {
                        let p999 = sample
                            .lat
                            .map(|m| format!("/{}", fmt_num(m.p999_ns as f64 / 1e3)))
                            .unwrap_or_default();
                        shown.push(format!(
                            "{} {}{p999}",
                            CONTENDERS[i],
                            fmt_num(sample.ns_per_msg)
                        ));
                        row.slots[i].runs.push(sample);
                    }
                    Err(end) => {
                        shown.push(format!("{} {}", CONTENDERS[i], end.word()));
                        row.slots[i].end = Some(end);
                    }
                }
            }
            let unit = match row.kind {
                Kind::Throughput(_) => "ns/msg",
                Kind::Latency(_) => "ns/msg/p99.9 us",
            };
            eprintln!(
                "[{:6.1}s] rep {}/{} {:<30} {unit}: {}",
                started.elapsed().as_secs_f64(),
                rep + 1,
                s.reps,
                row.label(),
                shown.join("  ")
            );
        }
        let written = write_outputs(dir, &rows, &s, &machine, &date, rep + 1);
        eprintln!(
            "[{:6.1}s] repetition {}/{} done; wrote {}",
            started.elapsed().as_secs_f64(),
            rep + 1,
            s.reps,
            written
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    println!("\nScaling, {}:\n", s.describe());
    println!(
        "Machine: {} cores (available_parallelism), {}, {}; {}\n",
        machine.cpus, machine.model, machine.os, date
    );
    print!("{}", tables(&rows));
    println!("\nSummary:\n");
    print!("{}", summary(&rows, &s));
    for line in failures(&rows, &s) {
        println!("FAILED: {line}");
    }
    println!("\nfinished in {:.0} s", started.elapsed().as_secs_f64());
}

/// Writes SCALING.md, scaling.csv and scaling.svg into `dir`; returns the
/// paths written. A failure to write is reported and the run goes on: the
/// measurements are still printed at the end.
fn write_outputs(
    dir: &Path,
    rows: &[Row],
    s: &Settings,
    machine: &Machine,
    date: &str,
    reps_done: usize,
) -> Vec<PathBuf> {
    let mut written = Vec::new();
    let md = dir.join("SCALING.md");
    match std::fs::write(&md, markdown(rows, s, machine, date, reps_done)) {
        Ok(()) => written.push(md),
        Err(e) => eprintln!("scaling: could not write {}: {e}", md.display()),
    }
    let csv_path = dir.join("scaling.csv");
    match std::fs::write(&csv_path, csv(rows)) {
        Ok(()) => written.push(csv_path),
        Err(e) => eprintln!("scaling: could not write {}: {e}", csv_path.display()),
    }
    let svg = dir.join("scaling.svg");
    match chart::draw(&svg, rows, &s.ts, machine) {
        Ok(()) => written.push(svg),
        Err(e) => eprintln!("scaling: could not draw {}: {e}", svg.display()),
    }
    written
}

/// The time-per-message table of one kind: a line per flavor and T.
fn time_table(rows: &[Row], kind: Kind) -> Vec<Vec<String>> {
    let mut head = vec!["flavor".to_string(), "T".to_string()];
    head.extend(CONTENDERS.iter().map(|c| c.to_string()));
    head.extend(
        RATIO_PEERS
            .iter()
            .map(|&i| format!("chan/{}", CONTENDERS[i])),
    );
    let mut table = vec![head];
    for row in rows.iter().filter(|r| r.kind == kind) {
        let mut line = vec![row.flavor.label().to_string(), row.t.to_string()];
        line.extend(row.slots.iter().map(|s| s.show(Metric::NsPerMsg, 1.0)));
        line.extend(RATIO_PEERS.iter().map(|&i| match row.ratio(i) {
            Some(r) => format!("{r:.2}"),
            None => "-".to_string(),
        }));
        table.push(line);
    }
    table
}

/// The latency table: a line per latency cell and contender.
fn latency_table(rows: &[Row]) -> Vec<Vec<String>> {
    const COLUMNS: [(&str, Metric, f64); 7] = [
        ("p50 us", Metric::P50, 1e-3),
        ("p99 us", Metric::P99, 1e-3),
        ("p99.9 us", Metric::P999, 1e-3),
        ("max us", Metric::Max, 1e-3),
        ("CPU us/msg", Metric::CpuPerMsg, 1e-3),
        ("CPU/wall", Metric::CpuPerWall, 1.0),
        ("rx CPU/wall", Metric::RxCpuPerWall, 1.0),
    ];
    let mut head: Vec<String> = ["workload", "flavor", "T", "contender"]
        .map(String::from)
        .to_vec();
    head.extend(COLUMNS.iter().map(|(name, _, _)| name.to_string()));
    let mut table = vec![head];
    for row in rows.iter().filter(|r| matches!(r.kind, Kind::Latency(_))) {
        for (slot, name) in row.slots.iter().zip(CONTENDERS) {
            let mut line = vec![
                row.kind.id().to_string(),
                row.flavor.label().to_string(),
                row.t.to_string(),
                name.to_string(),
            ];
            line.extend(COLUMNS.iter().map(|&(_, m, scale)| match slot.metric(m) {
                Some(v) if scale == 1.0 => format!("{v:.2}"),
                _ => slot.show(m, scale),
            }));
            table.push(line);
        }
    }
    table
}

/// Every table, as markdown, with a heading per workload.
fn tables(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## Time per message (ns, lower is better)\n\n\
         chan/PEER is chan's time over the peer's: below 1, chan is faster.\n"
    );
    for kind in Kind::ALL {
        let _ = writeln!(out, "### {}\n\n{}.\n", kind.id(), kind.describe());
        out.push_str(&markdown_table(&time_table(rows, kind), 2));
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "## Latency and CPU of the latency workloads\n\n\
         Latency from just before `send` to just after `recv` returned; CPU of the whole \
         process per message (paced rows include the producers' own timer wake-ups, the \
         same for every contender); CPU/wall: busy CPUs on average; rx CPU/wall: the \
         consumer thread's share, near 1 when it spins through the gaps.\n"
    );
    out.push_str(&markdown_table(&latency_table(rows), 4));
    out
}

/// The summary: for each of [`SUMMARY_TS`] that ran, how chan compares with
/// crossbeam-channel and kanal.
fn summary(rows: &[Row], s: &Settings) -> String {
    let mut out = String::new();
    for t in SUMMARY_TS {
        if !s.ts.contains(&t) {
            let _ = writeln!(
                out,
                "- T = {t}: not run (T stops at {}).",
                s.ts[s.ts.len() - 1]
            );
            continue;
        }
        let at_t: Vec<&Row> = rows.iter().filter(|r| r.t == t).collect();
        // Time per message is compared where it measures the channel.
        let timed: Vec<&Row> = at_t.iter().copied().filter(|r| r.kind.timed()).collect();
        let vs_crossbeam: Vec<(&Row, f64)> = timed
            .iter()
            .filter_map(|r| Some((*r, r.ratio(CROSSBEAM)?)))
            .collect();
        let slower: Vec<&(&Row, f64)> = vs_crossbeam.iter().filter(|(_, x)| *x > 1.0).collect();
        let clearly: Vec<String> = slower
            .iter()
            .filter(|(_, x)| *x > CLEAR_MARGIN)
            .map(|(r, x)| format!("{} {} {x:.2}", r.kind.id(), r.flavor.label()))
            .collect();
        let _ = writeln!(
            out,
            "- T = {t}: chan is slower than crossbeam in {} of {} cells; by more than {:.0}% in {}{}.",
            slower.len(),
            vs_crossbeam.len(),
            (CLEAR_MARGIN - 1.0) * 100.0,
            clearly.len(),
            if clearly.is_empty() {
                String::new()
            } else {
                format!(" ({})", clearly.join(", "))
            }
        );
        let logs: Vec<f64> = timed
            .iter()
            .filter_map(|r| r.ratio(KANAL))
            .map(f64::ln)
            .collect();
        if logs.is_empty() {
            let _ = writeln!(out, "  - chan/kanal: no cell where both ran.");
        } else {
            let geomean = (logs.iter().sum::<f64>() / logs.len() as f64).exp();
            let _ = writeln!(
                out,
                "  - chan/kanal time per message, geometric mean over kanal's {} cells: {geomean:.2}.",
                logs.len()
            );
        }
        let mut beats = 0;
        let mut compared = 0;
        let mut verdicts = Vec::new();
        for r in at_t.iter().filter(|r| matches!(r.kind, Kind::Latency(_))) {
            let chan = r.slots[CHAN].metric(Metric::P999);
            let kanal = r.slots[KANAL].metric(Metric::P999);
            let verdict = match (chan, kanal) {
                (Some(c), Some(k)) => {
                    compared += 1;
                    let win = c < k;
                    beats += usize::from(win);
                    format!(
                        "{} vs {} us, {}",
                        fmt_num(c / 1e3),
                        fmt_num(k / 1e3),
                        if win { "yes" } else { "no" }
                    )
                }
                _ => format!(
                    "chan {}, kanal {}",
                    r.slots[CHAN].word(),
                    r.slots[KANAL].word()
                ),
            };
            verdicts.push(format!("{} {}: {verdict}", r.kind.id(), r.flavor.label()));
        }
        let _ = writeln!(
            out,
            "  - chan's p99.9 beats kanal's in {beats} of {compared} latency cells: {}.",
            verdicts.join("; ")
        );
    }
    let _ = writeln!(
        out,
        "\nCells compared on time per message: spsc (T = 1 only), mpsc, mpmc, fullspeed and shared; \
         paced cells, whose rate is set by their schedule, are compared on p99.9 only."
    );
    out
}

/// One line per failed cell, with the arguments that rerun it.
fn failures(rows: &[Row], s: &Settings) -> Vec<String> {
    let mut out = Vec::new();
    for row in rows {
        for (slot, name) in row.slots.iter().zip(CONTENDERS) {
            let what = match &slot.end {
                Some(End::Failed(Failure::Hang)) => "hang".to_string(),
                Some(End::Failed(Failure::Error(e))) => format!("error: {e}"),
                _ => continue,
            };
            out.push(format!(
                "{name} on {}: {what} (ARGS: `{}`)",
                row.label(),
                s.cell_args(row, name).join(" ")
            ));
        }
    }
    out
}

/// The markdown document written to SCALING.md.
fn markdown(rows: &[Row], s: &Settings, machine: &Machine, date: &str, reps_done: usize) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Scaling: chan versus other channels as T grows\n");
    let _ = writeln!(
        md,
        "Written by `{}cargo bench -p chan-benches --bench scaling`.\n",
        if s.quick { "CHAN_BENCH_QUICK=1 " } else { "" }
    );
    let _ = writeln!(
        md,
        "- Machine: {} cores (`available_parallelism`), {}",
        machine.cpus, machine.model
    );
    let _ = writeln!(md, "- OS: {}", machine.os);
    let _ = writeln!(md, "- Date: {date}");
    let _ = writeln!(
        md,
        "- Load average when the run started: {} (on a shared machine other processes \
         compete for the cores)",
        machine.load
    );
    let _ = writeln!(md, "- Parameters: {}", s.describe());
    if reps_done < s.reps {
        let _ = writeln!(
            md,
            "- **Partial**: {reps_done} of {} repetitions done when this file was written.",
            s.reps
        );
    }
    let _ = writeln!(
        md,
        "- Each cell runs in a fresh process; repetitions are the outer loop; within a cell \
         the contenders run one after the other, the first rotating per cell and per \
         repetition. Every figure is the median of that metric over the repetitions. \
         N/A: the contender lacks the capability; hang: killed at its time limit; \
         error: the run panicked or lost messages.\n"
    );
    if s.quick {
        let _ = writeln!(
            md,
            "Quick mode: small N and one repetition, a check that everything runs rather \
             than a measurement; single cells are noisy, tails especially.\n"
        );
    }
    let _ = writeln!(md, "## Summary\n");
    md.push_str(&summary(rows, s));
    let _ = writeln!(
        md,
        "\n![time per message against T, one plot per workload and flavor](scaling.svg)\n"
    );
    md.push_str(&tables(rows));
    md.push_str(&failures_section("scaling", &failures(rows, s)));
    md
}

/// scaling.csv: a header and one line per cell and contender. Metrics a cell
/// does not have (latency of a throughput cell) and those of contenders that
/// did not run are empty; `status` says why.
fn csv(rows: &[Row]) -> String {
    let mut out = String::from("workload,flavor,t,contender,status,runs");
    for m in Metric::ALL {
        out.push(',');
        out.push_str(m.csv_name());
    }
    out.push('\n');
    for row in rows {
        for (slot, name) in row.slots.iter().zip(CONTENDERS) {
            let status = match slot.word() {
                "N/A" => "na",
                word => word,
            };
            let _ = write!(
                out,
                "{},{},{},{name},{status},{}",
                row.kind.id(),
                row.flavor.id(),
                row.t,
                slot.runs.len()
            );
            for m in Metric::ALL {
                match slot.metric(m) {
                    Some(v) => {
                        let _ = write!(out, ",{v:.3}");
                    }
                    None => out.push(','),
                }
            }
            out.push('\n');
        }
    }
    out
}

mod chart {
    //! scaling.svg: a grid of small plots, a row per workload (and metric) and
    //! a column per flavor, each with a line per contender against T.

    use super::{Kind, Metric, Row, CONTENDERS};
    use chan_benches::latency::Shape;
    use chan_benches::machine::Machine;
    use chan_benches::report::fmt_num;
    use chan_benches::workloads::{Flavor, Workload};
    use plotters::coord::Shift;
    use plotters::prelude::*;
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    use std::path::Path;

    /// One color per contender, in [`CONTENDERS`] order.
    const COLORS: [RGBColor; 5] = [
        RGBColor(0xd6, 0x27, 0x28),
        RGBColor(0x1f, 0x77, 0xb4),
        RGBColor(0x2c, 0xa0, 0x2c),
        RGBColor(0x94, 0x67, 0xbd),
        RGBColor(0xff, 0x7f, 0x0e),
    ];
    const PANEL: (u32, u32) = (300, 220);
    const HEADER: u32 = 64;

    /// The plot rows: time per message for every kind, and for the latency
    /// kinds p99.9 too, since a paced row's time per message is its schedule.
    const PLOTS: [(Kind, Metric); 9] = [
        (Kind::Throughput(Workload::Spsc), Metric::NsPerMsg),
        (Kind::Throughput(Workload::Mpsc), Metric::NsPerMsg),
        (Kind::Throughput(Workload::Mpmc), Metric::NsPerMsg),
        (Kind::Latency(Shape::Paced), Metric::NsPerMsg),
        (Kind::Latency(Shape::Paced), Metric::P999),
        (Kind::Latency(Shape::FullSpeed), Metric::NsPerMsg),
        (Kind::Latency(Shape::FullSpeed), Metric::P999),
        (Kind::Latency(Shape::Shared), Metric::NsPerMsg),
        (Kind::Latency(Shape::Shared), Metric::P999),
    ];

    type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

    pub(super) fn draw(
        path: &Path,
        rows: &[Row],
        ts: &[usize],
        machine: &Machine,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let cols = Flavor::ALL.len() as u32;
        let size = (PANEL.0 * cols, HEADER + PANEL.1 * PLOTS.len() as u32);
        let root = SVGBackend::new(path, size).into_drawing_area();
        root.fill(&WHITE)?;
        let (header, body) = root.split_vertically(HEADER);
        header.draw(&Text::new(
            format!(
                "Time per message against T (log-log; lower is better) on {} cores, {}",
                machine.cpus, machine.model
            ),
            (10, 8),
            ("sans-serif", 16),
        ))?;
        for (i, name) in CONTENDERS.iter().enumerate() {
            let x = 10 + 120 * i as i32;
            let y = 44;
            header.draw(&PathElement::new(
                vec![(x, y), (x + 28, y)],
                COLORS[i].stroke_width(3),
            ))?;
            header.draw(&Text::new(*name, (x + 34, y - 8), ("sans-serif", 14)))?;
        }
        let panels = body.split_evenly((PLOTS.len(), Flavor::ALL.len()));
        for (p, (kind, metric)) in PLOTS.iter().enumerate() {
            for (c, flavor) in Flavor::ALL.iter().enumerate() {
                if kind.flavors().contains(flavor) {
                    let area = &panels[p * Flavor::ALL.len() + c];
                    panel(area, rows, *kind, *flavor, *metric, ts)?;
                }
            }
        }
        root.present()?;
        Ok(())
    }

    /// One plot: `metric` of every contender on `kind` and `flavor` against T.
    fn panel(
        area: &Area<'_>,
        rows: &[Row],
        kind: Kind,
        flavor: Flavor,
        metric: Metric,
        ts: &[usize],
    ) -> Result<(), Box<dyn std::error::Error>> {
        let (unit, scale) = match metric {
            Metric::P999 => ("p99.9 us", 1e-3),
            _ => ("ns/msg", 1.0),
        };
        let cells: Vec<&Row> = rows
            .iter()
            .filter(|r| r.kind == kind && r.flavor == flavor)
            .collect();
        // Per contender, its value at each T of the ladder, if it has one.
        let series: Vec<Vec<Option<f64>>> = (0..CONTENDERS.len())
            .map(|i| {
                ts.iter()
                    .map(|&t| {
                        let row = cells.iter().find(|r| r.t == t)?;
                        Some(row.slots[i].metric(metric)? * scale).filter(|&v| v > 0.0)
                    })
                    .collect()
            })
            .collect();
        let caption = format!("{} {}, {unit}", kind.id(), flavor.label());
        let values = series.iter().flatten().flatten();
        let (lo, hi) = values.fold((f64::INFINITY, 0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        if hi <= 0.0 {
            area.draw(&Text::new(caption, (10, 6), ("sans-serif", 13)))?;
            area.draw(&Text::new("no data", (120, 100), ("sans-serif", 12)))?;
            return Ok(());
        }
        // T on a log2 axis, so the ladder is evenly spaced and a top T that
        // is not a power of two sits where it belongs.
        let xs: Vec<f64> = ts.iter().map(|&t| (t as f64).log2()).collect();
        let (y_lo, y_hi) = (lo / 1.5, hi * 1.5);
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 13))
            .margin(6)
            .x_label_area_size(24)
            .y_label_area_size(44)
            .build_cartesian_2d(
                (xs[0] - 0.3)..(xs[xs.len() - 1] + 0.3),
                (y_lo..y_hi)
                    .log_scale()
                    .with_key_points(ticks_125(y_lo, y_hi)),
            )?;
        // The mesh's own x ticks would fall between the Ts: the T ticks and
        // their grid lines are drawn below instead.
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .label_style(("sans-serif", 10))
            .y_label_formatter(&|y| {
                let label = fmt_num(*y);
                match label.contains('.') {
                    true => label
                        .trim_end_matches('0')
                        .trim_end_matches('.')
                        .to_string(),
                    false => label,
                }
            })
            .draw()?;
        let grid = RGBColor(0xdd, 0xdd, 0xdd);
        chart.draw_series(
            xs.iter()
                .map(|&x| PathElement::new(vec![(x, y_lo), (x, y_hi)], grid)),
        )?;
        let (base_x, base_y) = area.get_base_pixel();
        let tick = TextStyle::from(("sans-serif", 10)).pos(Pos::new(HPos::Center, VPos::Top));
        for (&x, t) in xs.iter().zip(ts) {
            let (px, py) = chart.backend_coord(&(x, y_lo));
            let at = (px - base_x, py - base_y + 4);
            area.draw(&Text::new(format!("T={t}"), at, tick.clone()))?;
        }
        // chan last, so that its line is drawn over the others.
        for i in (1..CONTENDERS.len()).chain([0]) {
            let style = COLORS[i].stroke_width(if i == 0 { 3 } else { 2 });
            let points: Vec<Option<(f64, f64)>> = xs
                .iter()
                .zip(&series[i])
                .map(|(&x, v)| v.map(|v| (x, v)))
                .collect();
            // A T without a value (hang, error) breaks the line rather than
            // being bridged.
            let lines = points
                .split(Option::is_none)
                .map(|run| run.iter().flatten().copied().collect::<Vec<_>>())
                .filter(|run| run.len() > 1)
                .map(|run| PathElement::new(run, style));
            chart.draw_series(lines)?;
            let dots = points.iter().flatten();
            chart.draw_series(dots.map(|&p| Circle::new(p, 3, COLORS[i].filled())))?;
        }
        Ok(())
    }

    /// The 1, 2, 5 times a power of ten between `lo` and `hi`: a log axis
    /// labelled at powers of ten only shows a single label, or none, when
    /// the values span less than a decade, as they often do here.
    fn ticks_125(lo: f64, hi: f64) -> Vec<f64> {
        let mut decade = 10f64.powf(lo.log10().floor());
        let mut ticks = Vec::new();
        while decade <= hi {
            ticks.extend(
                [1.0, 2.0, 5.0]
                    .map(|m| m * decade)
                    .iter()
                    .filter(|&&v| v >= lo && v <= hi),
            );
            decade *= 10.0;
        }
        ticks
    }
}
