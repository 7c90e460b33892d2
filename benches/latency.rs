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

use chan_benches::contenders::{Chan, Channel, Crossbeam, Flume, Kanal, Std};
use chan_benches::latency::{self, LatParams, Measurement, Shape};
use chan_benches::workloads::Flavor;
use std::ffi::CStr;
use std::fmt::Write as _;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs one latency cell of one contender.
type Runner = fn(Shape, Flavor, LatParams) -> Measurement;

/// Contenders in table order, each with its instance of the generic workload:
/// the one place that maps a name to a type.
const CONTENDERS: [(&str, Runner); 5] = [
    (Chan::NAME, latency::run::<Chan>),
    (Crossbeam::NAME, latency::run::<Crossbeam>),
    (Flume::NAME, latency::run::<Flume>),
    (Kanal::NAME, latency::run::<Kanal>),
    (Std::NAME, latency::run::<Std>),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(pos) = args.iter().position(|a| a == "--cell") {
        child(&args[pos + 1..]);
    } else if let Some(pos) = args.iter().position(|a| a == "--pacing") {
        pacing_child(&args[pos + 1..]);
    } else {
        parent(&args);
    }
}

/// Child mode: `--cell SHAPE FLAVOR CONTENDER T N GAP_US`. Prints the
/// [`Measurement`] line (`chan-lat-cell: messages=... ...`).
fn child(args: &[String]) {
    // Anything after the six values (such as the `--bench` cargo appends) is ignored.
    let [shape, flavor, contender, t, n, gap_us, ..] = args else {
        panic!("usage: --cell SHAPE FLAVOR CONTENDER T N GAP_US");
    };
    let shape = Shape::from_id(shape).expect("unknown workload (paced, fullspeed)");
    let flavor = Flavor::from_id(flavor).expect("unknown flavor (b0, b1, b1024, unb)");
    let (_, run) = CONTENDERS
        .iter()
        .find(|(name, _)| name == contender)
        .unwrap_or_else(|| panic!("unknown contender {contender}"));
    let gap_us: u64 = gap_us.parse().expect("GAP_US");
    let p = LatParams {
        producers: t.parse::<usize>().expect("T").max(1),
        per_producer: n.parse::<usize>().expect("N").max(1),
        gap_ns: gap_us * 1_000,
    };
    println!("{}", run(shape, flavor, p));
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

/// Why a cell has no measurement. Final: the cell is not run again.
#[derive(Clone, Debug)]
enum Failure {
    Hang,
    Error(String),
}

impl Failure {
    /// The word shown in a table cell.
    fn word(&self) -> &'static str {
        match self {
            Failure::Hang => "hang",
            Failure::Error(_) => "error",
        }
    }
}

/// Runs this binary as a child with `args` (`--cell ...` or `--pacing ...`),
/// killed after `limit`.
fn run_child(args: &[String], limit: Duration) -> Result<Measurement, Failure> {
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
    let line = out.lines().rev().find(|l| l.starts_with(latency::MARK));
    match (status.success(), line) {
        (true, Some(line)) => Measurement::parse(line).map_err(Failure::Error),
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
        let quick = std::env::var("CHAN_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
            || args.iter().any(|a| a == "quick" || a == "--quick");
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
            Shape::FullSpeed => self.n_fullspeed,
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
            Shape::FullSpeed => floor,
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Three significant digits, no exponent.
fn sig3(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
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
                sig3(v)
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
                Some(f) => line.extend((LABELS..HEAD.len()).map(|_| f.word().to_string())),
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
                f.word().to_string(),
                f.word().to_string(),
                f.word().to_string(),
            ],
            None => vec![
                p.producers.to_string(),
                sig3(med(|m| m.throughput() / 1e3)),
                sig3(med(|m| m.cpu_per_msg_ns() / 1e3)),
                format!("{:.2}", med(Measurement::cpu_per_wall)),
            ],
        };
        table.push(line);
    }
    table
}

/// A markdown table whose first `labels` columns are left-aligned text and
/// the others right-aligned numbers.
fn render_markdown(table: &[Vec<String>], labels: usize) -> String {
    let mut out = String::new();
    for (n, line) in table.iter().enumerate() {
        let _ = writeln!(out, "| {} |", line.join(" | "));
        if n == 0 {
            let seps: Vec<&str> = (0..line.len())
                .map(|i| if i < labels { "---" } else { "---:" })
                .collect();
            let _ = writeln!(out, "| {} |", seps.join(" | "));
        }
    }
    out
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
         rx CPU/wall: the consumer thread's alone (`CLOCK_THREAD_CPUTIME_ID`). A receiver \
         that spins through the gaps instead of parking shows rx CPU/wall near 1."
    );
    let _ = writeln!(
        md,
        "- hang: killed after its time limit; error: the run panicked or lost messages.\n"
    );
    if s.quick {
        let _ = writeln!(
            md,
            "Quick mode: few samples per run (p99.9 and max are among the last few samples) \
             and few repetitions; read the tails as indications only.\n"
        );
    }
    let _ = writeln!(md, "## Results\n");
    md.push_str(&render_markdown(&table(rows), LABELS));
    let _ = writeln!(md, "\n## Pacing alone\n");
    let _ = writeln!(
        md,
        "The paced producers' schedule run without a channel (each message dropped where it \
         would be sent), in its own process per repetition: the part of a paced row's CPU \
         columns that is the pacing itself, the same for every contender. Subtract it from \
         CPU us/msg and CPU/wall to compare what the channels cost.\n"
    );
    md.push_str(&render_markdown(&pacing_table(pacing), 1));
    let failures = failures(rows, s);
    if !failures.is_empty() {
        let _ = writeln!(md, "\n## Hangs and errors\n");
        let _ = writeln!(
            md,
            "Rerun one alone with `cargo bench -p chan-benches --bench latency -- --cell ARGS`.\n"
        );
        for line in failures {
            let _ = writeln!(md, "- {line}");
        }
    }
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
            match run_child(&args, s.time_limit(Shape::Paced)) {
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
                if row.failures[i].is_some() {
                    continue; // hang and error are final
                }
                let name = CONTENDERS[i].0;
                let mut args = vec!["--cell".to_string()];
                args.extend(row.cell_args(name, &s));
                match run_child(&args, limit) {
                    Ok(m) => {
                        shown.push(format!(
                            "{name} {}/{}",
                            sig3(m.p50_ns as f64 / 1e3),
                            sig3(m.p99_ns as f64 / 1e3)
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
    print!("{}", render_markdown(&table(&rows), LABELS));
    println!("\nPacing alone (no channel):\n");
    print!("{}", render_markdown(&pacing_table(&pacing), 1));
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

/// What the report says about the machine it ran on.
struct Machine {
    cpus: usize,
    model: String,
    os: String,
    load: String,
}

impl Machine {
    fn here() -> Machine {
        let model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let load = std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|_| "unknown".into());
        Machine {
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            model,
            os: uname(),
            load,
        }
    }
}

/// `sysname release machine` from uname(2).
fn uname() -> String {
    // SAFETY: `utsname` is plain data (char arrays), valid when zeroed.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return "unknown OS".into();
    }
    let field = |f: &[libc::c_char]| {
        // SAFETY: uname NUL-terminates every field within its array.
        unsafe { CStr::from_ptr(f.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    };
    format!(
        "{} {} {}",
        field(&u.sysname),
        field(&u.release),
        field(&u.machine)
    )
}

/// Current UTC date and time as `YYYY-MM-DD HH:MM UTC`.
fn utc_now() -> String {
    // SAFETY: time(NULL) only returns the time; `tm` is plain data, valid when
    // zeroed, and gmtime_r writes only into it.
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::gmtime_r(&now, &mut tm).is_null() {
            return "an unknown date".into();
        }
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            tm.tm_year + 1900,
            tm.tm_mon + 1,
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min
        )
    }
}
