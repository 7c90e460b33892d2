//! Per-message latency and CPU cost of chan, crossbeam-channel, flume, kanal
//! and `std::sync::mpsc`, with T producers and one consumer.
//!
//! Run: `cargo bench -p chan-benches --bench latency` (full: G = 50 us,
//! T in {1, 4}, N = 20,000 messages per producer paced and 100,000 at full
//! speed, 5 repetitions) or `CHAN_BENCH_QUICK=1 cargo bench -p chan-benches
//! --bench latency` / `... --bench latency -- quick` (N = 2,000 and 20,000,
//! 3 repetitions). Environment overrides:
//!
//! - `CHAN_LAT_T`: producer counts, comma-separated (`1,4`);
//! - `CHAN_LAT_GAP_US`: the paced gap G in microseconds (50);
//! - `CHAN_LAT_N`: messages per producer, for both workloads;
//! - `CHAN_LAT_R`: repetitions.
//!
//! The workloads are in `benches/src/latency.rs`. Every cell runs in a child
//! process (this binary re-executed with `--cell ...`), for two reasons: the
//! process CPU clock then covers that cell alone, and a cell that hangs is
//! killed at its time limit and reported as "hang" while the harness goes on.
//! The repetitions are the outer loop, so a noisy moment of the shared machine
//! spoils one repetition of many rows rather than every repetition of one row;
//! within a row the contenders run one after the other, the first of them
//! rotating from one repetition to the next. Each column of the table is the
//! median of that metric over the repetitions. Each repetition also runs the
//! paced schedule alone, without a channel (`--pacing T N GAP_US`), because
//! the producers' timer wake-ups are part of every paced cell's CPU time.
//! The tables are printed and written to `LATENCY.md` beside this file.

use chan_benches::cell::{self, median, Failure};
use chan_benches::latency::{self, LatParams, Measurement, Shape, CONTENDERS};
use chan_benches::machine::{utc_now, Machine};
use chan_benches::report::{failures_section, fmt_num, markdown_table};
use chan_benches::workloads::Flavor;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(pos) = args.iter().position(|a| a == "--cell") {
        // Child mode: `--cell SHAPE FLAVOR CONTENDER T N GAP_US`.
        cell::latency_child(&args[pos + 1..]);
    } else if let Some(pos) = args.iter().position(|a| a == "--pacing") {
        pacing_child(&args[pos + 1..]);
    } else {
        parent(&args);
    }
}

/// Child mode: `--pacing T N GAP_US`, the paced schedule without a channel
/// ([`latency::pacing_only`]). Prints a [`Measurement`] line.
fn pacing_child(args: &[String]) {
    let [t, n, gap_us, ..] = args else {
        panic!("usage: --pacing T N GAP_US");
    };
    let gap_us: u64 = gap_us.parse().expect("GAP_US");
    println!(
        "{}",
        latency::pacing_only(LatParams {
            producers: t.parse::<usize>().expect("T").max(1),
            per_producer: n.parse::<usize>().expect("N").max(1),
            gap_ns: gap_us * 1_000,
        })
    );
}

/// The word shown in a table cell for a cell that failed. Failures are
/// final: the cell is not run again.
fn failure_word(f: &Failure) -> &'static str {
    match f {
        Failure::Hang => "hang",
        Failure::Error(_) => "error",
    }
}

/// Runs this binary as a child with `args` (`--cell ...` or `--pacing ...`),
/// killed after `limit`; `None` if the contender cannot run the cell.
fn run_child(args: &[String], limit: Duration) -> Result<Option<Measurement>, Failure> {
    let line = cell::run_child(args, latency::MARK, limit)?;
    Measurement::parse_cell(&line).map_err(Failure::Error)
}

/// Parameters of a whole run.
struct Settings {
    gap_us: u64,
    producers: Vec<usize>,
    n_paced: usize,
    n_fullspeed: usize,
    reps: usize,
    quick: bool,
}

impl Settings {
    fn from_env(args: &[String]) -> Settings {
        let quick = cell::quick_mode(args);
        let n = env_list("CHAN_LAT_N").map(|v| v[0].max(1));
        Settings {
            gap_us: env_list("CHAN_LAT_GAP_US").map_or(50, |v| v[0] as u64),
            producers: env_list("CHAN_LAT_T").unwrap_or_else(|| vec![1, 4]),
            n_paced: n.unwrap_or(if quick { 2_000 } else { 20_000 }),
            n_fullspeed: n.unwrap_or(if quick { 20_000 } else { 100_000 }),
            reps: env_list("CHAN_LAT_R").map_or(if quick { 3 } else { 5 }, |v| v[0].max(1)),
            quick,
        }
    }

    fn per_producer(&self, shape: Shape) -> usize {
        match shape {
            Shape::Paced => self.n_paced,
            Shape::FullSpeed | Shape::Shared => self.n_fullspeed,
        }
    }

    /// How long one run of a cell may take before it is killed as hung: ten
    /// times its paced schedule (N * G), and at least 30 s (10 s in quick
    /// mode). Full-speed cells take well under a second when they work.
    fn time_limit(&self, shape: Shape) -> Duration {
        let floor = Duration::from_secs(if self.quick { 10 } else { 30 });
        match shape {
            Shape::Paced => floor.max(Duration::from_micros(
                10 * self.n_paced as u64 * self.gap_us,
            )),
            Shape::FullSpeed | Shape::Shared => floor,
        }
    }

    fn describe(&self) -> String {
        let ts: Vec<String> = self.producers.iter().map(usize::to_string).collect();
        format!(
            "G = {} us, T in {{{}}}, N = {} messages per producer paced and {} at full speed, {} repetition(s){}",
            self.gap_us,
            ts.join(", "),
            self.n_paced,
            self.n_fullspeed,
            self.reps,
            if self.quick { ", quick mode" } else { "" }
        )
    }
}

/// A comma-separated list of numbers from the environment, if set.
fn env_list(name: &str) -> Option<Vec<usize>> {
    let v = std::env::var(name).ok()?;
    let list: Result<Vec<usize>, _> = v.split(',').map(|x| x.trim().parse()).collect();
    match list {
        Ok(list) if !list.is_empty() => Some(list),
        _ => panic!("{name} must be a number or a comma-separated list of numbers, got {v:?}"),
    }
}

/// One row of the table: a workload on a flavor with T producers, and what
/// each contender measured in it so far.
struct Row {
    shape: Shape,
    flavor: Flavor,
    producers: usize,
    runs: Vec<Vec<Measurement>>,
    failures: Vec<Option<Failure>>,
    /// Per contender: it cannot run this row (`std` has no receiver to
    /// share).
    unavailable: Vec<bool>,
}

impl Row {
    /// The arguments after `--cell` of one contender's cell.
    fn cell_args(&self, contender: &str, s: &Settings) -> [String; 6] {
        [
            self.shape.id().to_string(),
            self.flavor.id().to_string(),
            contender.to_string(),
            self.producers.to_string(),
            s.per_producer(self.shape).to_string(),
            s.gap_us.to_string(),
        ]
    }

    fn label(&self) -> String {
        format!(
            "{} {} T={}",
            self.shape.id(),
            self.flavor.label(),
            self.producers
        )
    }
}

/// The paced schedule alone for one producer count, see [`pacing_child`].
struct Pacing {
    producers: usize,
    runs: Vec<Measurement>,
    failure: Option<Failure>,
}

/// Table header; the metric columns follow the four label columns.
const HEAD: [&str; 12] = [
    "workload",
    "flavor",
    "T",
    "contender",
    "p50 us",
    "p99 us",
    "p99.9 us",
    "max us",
    "kmsg/s",
    "CPU us/msg",
    "CPU/wall",
    "rx CPU/wall",
];
const LABELS: usize = 4;

/// The metric columns of one cell: per-repetition values reduced to their median.
fn metric_cells(runs: &[Measurement]) -> Vec<String> {
    type Metric = fn(&Measurement) -> f64;
    const METRICS: [Metric; 8] = [
        |m| m.p50_ns as f64 / 1e3,
        |m| m.p99_ns as f64 / 1e3,
        |m| m.p999_ns as f64 / 1e3,
        |m| m.max_ns as f64 / 1e3,
        |m| m.throughput() / 1e3,
        |m| m.cpu_per_msg_ns() / 1e3,
        Measurement::cpu_per_wall,
        Measurement::rx_cpu_per_wall,
    ];
    METRICS
        .iter()
        .enumerate()
        .map(|(i, metric)| {
            let v = median(runs.iter().map(metric).collect());
            // Ratios to wall time read best with two decimals.
            if i >= 6 {
                format!("{v:.2}")
            } else {
                fmt_num(v)
            }
        })
        .collect()
}

fn table(rows: &[Row]) -> Vec<Vec<String>> {
    let mut table = vec![HEAD.map(String::from).to_vec()];
    for row in rows {
        for (i, (name, _)) in CONTENDERS.iter().enumerate() {
            let mut line = vec![
                row.shape.id().to_string(),
                row.flavor.label().to_string(),
                row.producers.to_string(),
                name.to_string(),
            ];
            match &row.failures[i] {
                Some(f) => line.extend((LABELS..HEAD.len()).map(|_| failure_word(f).to_string())),
                None if row.unavailable[i] => {
                    line.extend((LABELS..HEAD.len()).map(|_| "N/A".to_string()))
                }
                None => line.extend(metric_cells(&row.runs[i])),
            }
            table.push(line);
        }
    }
    table
}

fn pacing_table(pacing: &[Pacing]) -> Vec<Vec<String>> {
    let mut table = vec![["T", "kmsg/s", "CPU us/msg", "CPU/wall"]
        .map(String::from)
        .to_vec()];
    for p in pacing {
        let med = |metric: fn(&Measurement) -> f64| median(p.runs.iter().map(metric).collect());
        let line = match &p.failure {
            Some(f) => vec![
                p.producers.to_string(),
                failure_word(f).to_string(),
                failure_word(f).to_string(),
                failure_word(f).to_string(),
            ],
            None => vec![
                p.producers.to_string(),
                fmt_num(med(|m| m.throughput() / 1e3)),
                fmt_num(med(|m| m.cpu_per_msg_ns() / 1e3)),
                format!("{:.2}", med(Measurement::cpu_per_wall)),
            ],
        };
        table.push(line);
    }
    table
}

/// The markdown document written to LATENCY.md.
fn markdown(
    rows: &[Row],
    pacing: &[Pacing],
    s: &Settings,
    machine: &Machine,
    date: &str,
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Latency results: chan versus other channels\n");
    let _ = writeln!(
        md,
        "Written by `cargo bench -p chan-benches --bench latency`{} on {date}.\n",
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
        "- Each cell runs in a fresh process; the repetitions are the outer loop and, within a row, \
         the contenders run one after the other, the first rotating per repetition. Every column \
         is the median of that metric over the repetitions, so one line's figures may come from \
         different repetitions.\n"
    );
    let _ = writeln!(md, "Workloads (see `benches/src/latency.rs`):\n");
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
        "\nPaced producers sleep with `clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)` until \
         each message's deadline (no spinning, which would take the CPUs from the consumer), \
         with their timer slack cut to 1 ns; a late wake-up shortens the next sleep, so \
         pacing errors do not accumulate.\n"
    );
    let _ = writeln!(md, "Columns:\n");
    let _ = writeln!(
        md,
        "- p50, p99, p99.9, max: latency of a message, from just before the producer's `send` \
         call (so time blocked in `send` counts) to just after the consumer's `recv` returned, \
         `CLOCK_MONOTONIC`; exact nearest-rank percentiles of all T * N samples of a run."
    );
    let _ = writeln!(
        md,
        "- kmsg/s: messages received per second of wall time (paced: about T / G when the pacing keeps up)."
    );
    let _ = writeln!(
        md,
        "- CPU us/msg: user + system CPU time of the whole process (`CLOCK_PROCESS_CPUTIME_ID`) \
         per message. Paced rows include the producers' own sleeps and wake-ups, the same for \
         every contender: see \"Pacing alone\" below."
    );
    let _ = writeln!(
        md,
        "- CPU/wall: that CPU time over the wall time, the average number of busy CPUs; \
         rx CPU/wall: the consumer thread's alone (`CLOCK_THREAD_CPUTIME_ID`; in `shared` \
         rows, the T consumers' together). A receiver that spins through the gaps instead of \
         parking shows rx CPU/wall near 1."
    );
    let _ = writeln!(
        md,
        "- N/A: the contender cannot run the row (`std` has no receiver to share); hang: killed \
         after its time limit; error: the run panicked or lost messages.\n"
    );
    if s.quick {
        let _ = writeln!(
            md,
            "Quick mode: few samples per run (p99.9 and max are among the last few samples) \
             and few repetitions; read the tails as indications only.\n"
        );
    }
    let _ = writeln!(md, "## Results\n");
    md.push_str(&markdown_table(&table(rows), LABELS));
    let _ = writeln!(md, "\n## Pacing alone\n");
    let _ = writeln!(
        md,
        "The paced producers' schedule run without a channel (each message dropped where it \
         would be sent), in its own process per repetition: the part of a paced row's CPU \
         columns that is the pacing itself, the same for every contender. Subtract it from \
         CPU us/msg and CPU/wall to compare what the channels cost.\n"
    );
    md.push_str(&markdown_table(&pacing_table(pacing), 1));
    md.push_str(&failures_section("latency", &failures(rows, s)));
    md
}

/// One line per failed cell, with the arguments that rerun it.
fn failures(rows: &[Row], s: &Settings) -> Vec<String> {
    let mut out = Vec::new();
    for row in rows {
        for (i, (name, _)) in CONTENDERS.iter().enumerate() {
            if let Some(f) = &row.failures[i] {
                let what = match f {
                    Failure::Hang => "hang".to_string(),
                    Failure::Error(e) => format!("error: {e}"),
                };
                out.push(format!(
                    "{name} on {}: {what} (ARGS: `{}`)",
                    row.label(),
                    row.cell_args(name, s).join(" ")
                ));
            }
        }
    }
    out
}

fn parent(args: &[String]) {
    let s = Settings::from_env(args);
    let machine = Machine::here();
    let date = utc_now();
    eprintln!("latency: {}", s.describe());

    let mut rows = Vec::new();
    for shape in Shape::ALL {
        for &flavor in shape.flavors() {
            for &producers in &s.producers {
                rows.push(Row {
                    shape,
                    flavor,
                    producers,
                    runs: vec![Vec::new(); CONTENDERS.len()],
                    failures: vec![None; CONTENDERS.len()],
                    unavailable: vec![false; CONTENDERS.len()],
                });
            }
        }
    }

    let mut pacing: Vec<Pacing> = s
        .producers
        .iter()
        .map(|&producers| Pacing {
            producers,
            runs: Vec::new(),
            failure: None,
        })
        .collect();

    let started = Instant::now();
    for rep in 0..s.reps {
        for p in pacing.iter_mut().filter(|p| p.failure.is_none()) {
            let args = [
                "--pacing".to_string(),
                p.producers.to_string(),
                s.n_paced.to_string(),
                s.gap_us.to_string(),
            ];
            let run = run_child(&args, s.time_limit(Shape::Paced))
                .and_then(|m| m.ok_or(Failure::Error("the pacing child printed NA".into())));
            match run {
                Ok(m) => {
                    eprintln!(
                        "[{:6.1}s] rep {}/{} pacing alone T={}: CPU/wall {:.2}",
                        started.elapsed().as_secs_f64(),
                        rep + 1,
                        s.reps,
                        p.producers,
                        m.cpu_per_wall()
                    );
                    p.runs.push(m);
                }
                Err(f) => {
                    eprintln!("pacing alone T={}: {f:?}", p.producers);
                    p.failure = Some(f);
                }
            }
        }
        for row in &mut rows {
            let limit = s.time_limit(row.shape);
            let mut shown = Vec::new();
            for turn in 0..CONTENDERS.len() {
                let i = (turn + rep) % CONTENDERS.len();
                if row.failures[i].is_some() || row.unavailable[i] {
                    continue; // N/A, hang and error are final
                }
                let name = CONTENDERS[i].0;
                let mut args = vec!["--cell".to_string()];
                args.extend(row.cell_args(name, &s));
                match run_child(&args, limit) {
                    Ok(None) => {
                        shown.push(format!("{name} N/A"));
                        row.unavailable[i] = true;
                    }
                    Ok(Some(m)) => {
                        shown.push(format!(
                            "{name} {}/{}",
                            fmt_num(m.p50_ns as f64 / 1e3),
                            fmt_num(m.p99_ns as f64 / 1e3)
                        ));
                        row.runs[i].push(m);
                    }
                    Err(f) => {
                        shown.push(format!("{name} {f:?}"));
                        row.failures[i] = Some(f);
                    }
                }
            }
            eprintln!(
                "[{:6.1}s] rep {}/{} {:<34} p50/p99 us: {}",
                started.elapsed().as_secs_f64(),
                rep + 1,
                s.reps,
                row.label(),
                shown.join("  ")
            );
        }
    }

    println!("\nLatency, {}:\n", s.describe());
    print!("{}", markdown_table(&table(&rows), LABELS));
    println!("\nPacing alone (no channel):\n");
    print!("{}", markdown_table(&pacing_table(&pacing), 1));
    for line in failures(&rows, &s) {
        println!("FAILED: {line}");
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("LATENCY.md");
    std::fs::write(&path, markdown(&rows, &pacing, &s, &machine, &date)).expect("write LATENCY.md");
    println!(
        "\nwrote {} in {:.0} s",
        path.display(),
        started.elapsed().as_secs_f64()
    );
}
