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

use chan_benches::contenders::{Chan, Crossbeam, Flume, Kanal, Std};
use chan_benches::report::{Outcome, Report, Row};
use chan_benches::workloads::{
    pingpong_rounds, run_basic, run_multi, run_select, Big, Flavor, Message, Params, Workload,
};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Contenders in table order; the first is the baseline of the ratios and runs
/// first in each row so that its time sets the others' limits.
const CONTENDERS: [&str; 5] = ["crossbeam", "chan", "flume", "kanal", "std"];
/// Message types in table order.
const MESSAGES: [&str; 2] = [<usize as Message>::NAME, <Big as Message>::NAME];
/// Prefix of the one line a cell process prints on success.
const MARK: &str = "chan-bench-cell:";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(pos) = args.iter().position(|a| a == "--cell") {
        child(&args[pos + 1..]);
    } else {
        parent(&args);
    }
}

/// Child mode: `--cell WORKLOAD FLAVOR MSG CONTENDER N T`. Prints
/// `chan-bench-cell: VALUE` or `chan-bench-cell: NA`.
fn child(args: &[String]) {
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
        Some(v) => println!("{MARK} {v}"),
        None => println!("{MARK} NA"),
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

fn env_usize(name: &str) -> Option<usize> {
    let v = std::env::var(name).ok()?;
    Some(
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, got {v:?}")),
    )
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
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = match Command::new(exe)
        .arg("--cell")
        .args(cell)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return Run::Error(format!("spawn failed: {e}")),
    };
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Run::Hang;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Run::Error(format!("wait failed: {e}")),
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
    let line = out
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(MARK))
        .map(str::trim);
    match (status.success(), line) {
        (true, Some("NA")) => Run::NotAvailable,
        (true, Some(v)) => match v.parse() {
            Ok(v) => Run::Value(v),
            Err(_) => Run::Error(format!("bad output {v:?}")),
        },
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
            Run::Error(format!("{status}: {what}"))
        }
    }
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
    let quick = std::env::var("CHAN_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
        || args.iter().any(|a| a == "quick" || a == "--quick");
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
    std::fs::write(&md, report.markdown()).expect("write RESULTS.md");
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
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} CPUs, {model}")
}

/// Current UTC date and time as `YYYY-MM-DD HH:MM UTC`.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}
