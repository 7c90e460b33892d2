//! Batching against the loops it replaces: `send_all` of 64 messages and
//! `recv_many(&mut v, 64)` next to 64 calls of `send` and `recv`, per
//! message, on the array flavor (`bounded(1024)`, and `bounded(64)` for
//! spsc) and the list flavor (`unbounded()`). Messages are `[usize; 1]`.
//!
//! Run: `cargo bench -p chan-benches --bench batch` (full: N = 1,000,000
//! messages per run, 21 repetitions, instruction counts if valgrind is
//! installed) or `CHAN_BENCH_QUICK=1 cargo bench -p chan-benches --bench
//! batch` / `... --bench batch -- quick` (N = 20,000, 3 repetitions, no
//! instruction counts), a smoke run of a few seconds. `CHAN_BENCH_N` and
//! `CHAN_BENCH_R` override N and the repetitions; `CHAN_BENCH_CALLGRIND=1`
//! (or `0`) turns the instruction counts on (or off) in either mode.
//!
//! Workloads:
//!
//! - `st`: one thread sends N messages and receives them in rounds of 64:
//!   64 sends (`send` ×64, or one `send_all` of an iterator of 64), then 64
//!   receives (`recv` ×64, or `recv_many(&mut v, 64)` with `v` reused and
//!   cleared). The whole run is timed.
//! - `st-phases`: the same with each send phase and each receive phase timed
//!   apart (`Instant` around each), summed over the rounds: the cost of
//!   each side.
//! - `spsc`: one producer thread sends N messages (`send` ×N, or `send_all`
//!   of chunks of 64) while one consumer thread receives them (`recv` until
//!   disconnected, or `recv_many(&mut v, 64)`); all four pairings, so that
//!   the mixed ones show which side pays.
//!
//! Every run checks the count and the sum of the values received. Each run
//! is a child process (this binary re-executed with `--cell SHAPE FLAVOR
//! SEND RECV N`) with a fresh channel, so the process CPU clock covers that
//! run alone and a run that hangs is killed at its time limit. Repetitions
//! are the outer loop; within a row (shape and flavor) the variants run one
//! after the other, the first rotating per repetition (loop, batch, loop,
//! batch, ...). Every figure is a median over the repetitions.
//!
//! The instruction counts come from `benches/src/bin/batch_cost.rs` under
//! callgrind (one thread, rounds of 64; each side's phase function counted
//! inclusively). The tables are printed and written to `BATCH.md` beside
//! this file.

use chan::{Receiver, Sender};
use chan_benches::cell::{self, env_usize, median, Failure};
use chan_benches::latency::{process_cpu_ns, thread_cpu_ns};
use chan_benches::machine::{utc_now, Machine};
use chan_benches::report::{failures_section, fmt_num, markdown_table};
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The message type.
type Msg = [usize; 1];

/// Messages per round, per `send_all` and per `recv_many`.
const BATCH: usize = 64;

/// Prefix of the one line a cell prints.
const MARK: &str = "chan-batch-cell:";

/// The goal of the batch operations: at most this fraction of the loop.
const GOAL: f64 = 0.5;

/// Channel flavor of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavor {
    /// `bounded(1024)`: the array flavor.
    Array,
    /// `unbounded()`: the list flavor.
    List,
    /// `bounded(64)`: the array flavor, one batch deep.
    Small,
}

impl Flavor {
    const ALL: [Flavor; 3] = [Flavor::Array, Flavor::List, Flavor::Small];

    fn id(self) -> &'static str {
        match self {
            Flavor::Array => "b1024",
            Flavor::List => "unb",
            Flavor::Small => "b64",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Flavor::Array => "bounded(1024) array",
            Flavor::List => "unbounded list",
            Flavor::Small => "bounded(64) array",
        }
    }

    fn from_id(id: &str) -> Option<Flavor> {
        Flavor::ALL.into_iter().find(|f| f.id() == id)
    }

    fn make(self) -> (Sender<Msg>, Receiver<Msg>) {
        match self {
            Flavor::Array => chan::bounded(1024),
            Flavor::List => chan::unbounded(),
            Flavor::Small => chan::bounded(64),
        }
    }
}

/// Workload of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// One thread, rounds of 64 sends then 64 receives, timed as a whole.
    Single,
    /// The same, each phase timed apart.
    Phases,
    /// One producer thread, one consumer thread.
    Spsc,
}

impl Shape {
    fn id(self) -> &'static str {
        match self {
            Shape::Single => "st",
            Shape::Phases => "st-phases",
            Shape::Spsc => "spsc",
        }
    }

    fn from_id(id: &str) -> Option<Shape> {
        [Shape::Single, Shape::Phases, Shape::Spsc]
            .into_iter()
            .find(|s| s.id() == id)
    }
}

/// Which operation each side uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Variant {
    send_all: bool,
    recv_many: bool,
}

impl Variant {
    const LOOP: Variant = Variant {
        send_all: false,
        recv_many: false,
    };
    const BATCH: Variant = Variant {
        send_all: true,
        recv_many: true,
    };
    const SEND_ALL: Variant = Variant {
        send_all: true,
        recv_many: false,
    };
    const RECV_MANY: Variant = Variant {
        send_all: false,
        recv_many: true,
    };

    fn send(self) -> &'static str {
        if self.send_all {
            "send_all"
        } else {
            "send"
        }
    }

    fn recv(self) -> &'static str {
        if self.recv_many {
            "recv_many"
        } else {
            "recv"
        }
    }

    fn parse(send: &str, recv: &str) -> Option<Variant> {
        let send_all = match send {
            "send" => false,
            "send_all" => true,
            _ => return None,
        };
        let recv_many = match recv {
            "recv" => false,
            "recv_many" => true,
            _ => return None,
        };
        Some(Variant {
            send_all,
            recv_many,
        })
    }
}

/// What one run measured (totals over its N messages; fields that do not
/// apply to the shape are 0).
#[derive(Clone, Copy, Debug, Default)]
struct Measurement {
    messages: u64,
    /// Wall-clock time of the run.
    wall_ns: u64,
    /// `CLOCK_PROCESS_CPUTIME_ID` over the run: every thread.
    cpu_ns: u64,
    /// `st-phases`: wall time in the send phases, summed.
    send_ns: u64,
    /// `st-phases`: wall time in the receive phases, summed.
    recv_ns: u64,
    /// `spsc`: CPU time of the producer thread.
    tx_cpu_ns: u64,
    /// `spsc`: CPU time of the consumer thread.
    rx_cpu_ns: u64,
    /// Calls of `recv` or `recv_many` that returned messages.
    recv_calls: u64,
}

impl Measurement {
    fn line(&self) -> String {
        format!(
            "{MARK} messages={} wall_ns={} cpu_ns={} send_ns={} recv_ns={} tx_cpu_ns={} rx_cpu_ns={} recv_calls={}",
            self.messages,
            self.wall_ns,
            self.cpu_ns,
            self.send_ns,
            self.recv_ns,
            self.tx_cpu_ns,
            self.rx_cpu_ns,
            self.recv_calls
        )
    }

    fn parse(line: &str) -> Result<Measurement, String> {
        let mut m = Measurement::default();
        let body = line.strip_prefix(MARK).ok_or("no mark")?;
        for pair in body.split_whitespace() {
            let (key, value) = pair.split_once('=').ok_or(format!("bad field {pair:?}"))?;
            let value: u64 = value.parse().map_err(|_| format!("bad value {pair:?}"))?;
            let field = match key {
                "messages" => &mut m.messages,
                "wall_ns" => &mut m.wall_ns,
                "cpu_ns" => &mut m.cpu_ns,
                "send_ns" => &mut m.send_ns,
                "recv_ns" => &mut m.recv_ns,
                "tx_cpu_ns" => &mut m.tx_cpu_ns,
                "rx_cpu_ns" => &mut m.rx_cpu_ns,
                "recv_calls" => &mut m.recv_calls,
                _ => return Err(format!("unknown field {key:?}")),
            };
            *field = value;
        }
        if m.messages == 0 {
            return Err("no messages".into());
        }
        Ok(m)
    }
}

// ---------------------------------------------------------------------------
// The workloads (child side).

/// Sends `from..from + k`: one `send_all`, or one `send` each.
#[inline]
fn send_round(tx: &Sender<Msg>, send_all: bool, from: usize, k: usize) {
    if send_all {
        tx.send_all((from..from + k).map(|v| [v]))
            .expect("batch: disconnected");
    } else {
        for v in from..from + k {
            tx.send([v]).expect("batch: disconnected");
        }
    }
}

/// Receives `k` messages that are in the channel: `recv_many` into `buf`
/// (then summed and cleared), or one `recv` each. Returns their sum; counts
/// the calls in `calls`.
#[inline]
fn recv_round(
    rx: &Receiver<Msg>,
    recv_many: bool,
    buf: &mut Vec<Msg>,
    k: usize,
    calls: &mut u64,
) -> usize {
    let mut sum = 0usize;
    if recv_many {
        let mut got = 0;
        while got < k {
            got += rx.recv_many(buf, k - got).expect("batch: disconnected");
            *calls += 1;
        }
        sum = buf.iter().fold(sum, |s, m| s.wrapping_add(m[0]));
        buf.clear();
    } else {
        for _ in 0..k {
            sum = sum.wrapping_add(rx.recv().expect("batch: disconnected")[0]);
        }
        *calls += k as u64;
    }
    sum
}

/// Panics unless the values received are exactly `0..n`, by count and sum.
fn check(n: usize, count: usize, sum: usize) {
    assert_eq!(count, n, "batch: {count} messages received of {n}");
    assert_eq!(
        sum,
        n.wrapping_mul(n.wrapping_sub(1)) / 2,
        "batch: wrong sum of the messages received"
    );
}

/// One thread, rounds of 64 sends then 64 receives; with `phases`, each
/// phase timed apart.
fn single(flavor: Flavor, v: Variant, n: usize, phases: bool) -> Measurement {
    let (tx, rx) = flavor.make();
    let mut buf: Vec<Msg> = Vec::new();
    let mut m = Measurement::default();
    let mut sum = 0usize;
    let cpu = process_cpu_ns();
    let start = Instant::now();
    let mut mark = start;
    let mut base = 0;
    while base < n {
        let k = BATCH.min(n - base);
        // The values are opaque to the optimizer, as a user's data is.
        send_round(&tx, v.send_all, black_box(base), k);
        if phases {
            let sent = Instant::now();
            sum = sum.wrapping_add(recv_round(&rx, v.recv_many, &mut buf, k, &mut m.recv_calls));
            let received = Instant::now();
            m.send_ns += (sent - mark).as_nanos() as u64;
            m.recv_ns += (received - sent).as_nanos() as u64;
            mark = received;
        } else {
            sum = sum.wrapping_add(recv_round(&rx, v.recv_many, &mut buf, k, &mut m.recv_calls));
        }
        base += k;
    }
    m.wall_ns = start.elapsed().as_nanos() as u64;
    m.cpu_ns = process_cpu_ns() - cpu;
    m.messages = n as u64;
    check(n, n, sum);
    m
}

/// One producer thread, one consumer thread.
fn spsc(flavor: Flavor, v: Variant, n: usize) -> Measurement {
    let (tx, rx) = flavor.make();
    let cpu = process_cpu_ns();
    let start = Instant::now();
    let (tx_cpu_ns, (rx_cpu_ns, count, sum, recv_calls)) = thread::scope(|s| {
        let producer = s.spawn(move || {
            let cpu = thread_cpu_ns();
            if v.send_all {
                let mut base = 0;
                while base < n {
                    let k = BATCH.min(n - base);
                    send_round(&tx, true, black_box(base), k);
                    base += k;
                }
            } else {
                send_round(&tx, false, black_box(0), n);
            }
            drop(tx);
            thread_cpu_ns() - cpu
        });
        let consumer = s.spawn(move || {
            let cpu = thread_cpu_ns();
            let (mut count, mut sum, mut calls) = (0usize, 0usize, 0u64);
            if v.recv_many {
                let mut buf: Vec<Msg> = Vec::new();
                while let Ok(k) = rx.recv_many(&mut buf, BATCH) {
                    count += k;
                    calls += 1;
                    sum = buf.iter().fold(sum, |s, m| s.wrapping_add(m[0]));
                    buf.clear();
                }
            } else {
                while let Ok(m) = rx.recv() {
                    count += 1;
                    calls += 1;
                    sum = sum.wrapping_add(m[0]);
                }
            }
            (thread_cpu_ns() - cpu, count, sum, calls)
        });
        (
            producer.join().expect("batch: producer panicked"),
            consumer.join().expect("batch: consumer panicked"),
        )
    });
    let wall_ns = start.elapsed().as_nanos() as u64;
    let cpu_ns = process_cpu_ns() - cpu;
    check(n, count, sum);
    Measurement {
        messages: n as u64,
        wall_ns,
        cpu_ns,
        tx_cpu_ns,
        rx_cpu_ns,
        recv_calls,
        ..Measurement::default()
    }
}

/// Child side: `SHAPE FLAVOR SEND RECV N` (the arguments after `--cell`).
fn child(args: &[String]) {
    // Anything after the five values (such as the `--bench` cargo appends) is ignored.
    let [shape, flavor, send, recv, n, ..] = args else {
        panic!("usage: --cell st|st-phases|spsc b1024|unb|b64 send|send_all recv|recv_many N");
    };
    let shape = Shape::from_id(shape).expect("shape: st, st-phases or spsc");
    let flavor = Flavor::from_id(flavor).expect("flavor: b1024, unb or b64");
    let v = Variant::parse(send, recv).expect("send|send_all recv|recv_many");
    let n: usize = n.parse().expect("N");
    assert!(n > 0, "N must be positive");
    let m = match shape {
        Shape::Single => single(flavor, v, n, false),
        Shape::Phases => single(flavor, v, n, true),
        Shape::Spsc => spsc(flavor, v, n),
    };
    println!("{}", m.line());
}

// ---------------------------------------------------------------------------
// The harness (parent side).

/// Size and repetition settings of a run.
struct Settings {
    n: usize,
    reps: usize,
    quick: bool,
    /// Messages of each callgrind run, if the instruction counts are taken.
    callgrind_n: Option<usize>,
}

impl Settings {
    fn from_env(args: &[String]) -> Settings {
        let quick = cell::quick_mode(args);
        let callgrind = match std::env::var("CHAN_BENCH_CALLGRIND") {
            Ok(v) if !v.is_empty() => v != "0",
            _ => !quick,
        };
        Settings {
            n: env_usize("CHAN_BENCH_N")
                .unwrap_or(if quick { 20_000 } else { 1_000_000 })
                .max(1),
            reps: env_usize("CHAN_BENCH_R")
                .unwrap_or(if quick { 3 } else { 21 })
                .max(1),
            quick,
            callgrind_n: callgrind.then_some(if quick { 64_000 } else { 256_000 }),
        }
    }

    /// How long one run may take before it is killed as hung: 20 us per
    /// message and at least 60 s (10 s in quick mode).
    fn time_limit(&self) -> Duration {
        let floor = Duration::from_secs(if self.quick { 10 } else { 60 });
        floor.max(Duration::from_micros(20 * self.n as u64))
    }

    fn describe(&self) -> String {
        format!(
            "N = {} messages ([usize; 1]) per run, batches of {BATCH}, {} repetition(s){}",
            self.n,
            self.reps,
            if self.quick { ", quick mode" } else { "" }
        )
    }

    /// The command that reproduces this run.
    fn command(&self) -> String {
        let mut env = String::new();
        for name in [
            "CHAN_BENCH_QUICK",
            "CHAN_BENCH_N",
            "CHAN_BENCH_R",
            "CHAN_BENCH_CALLGRIND",
        ] {
            if let Ok(v) = std::env::var(name) {
                let _ = write!(env, "{name}={v} ");
            }
        }
        let quick_arg = if self.quick && std::env::var("CHAN_BENCH_QUICK").is_err() {
            " -- quick"
        } else {
            ""
        };
        format!("{env}cargo bench -p chan-benches --bench batch{quick_arg}")
    }
}

/// One row: a shape on a flavor, its variants and what each measured.
struct Row {
    shape: Shape,
    flavor: Flavor,
    variants: Vec<Variant>,
    runs: Vec<Vec<Measurement>>,
    failed: Vec<Option<Failure>>,
}

impl Row {
    fn new(shape: Shape, flavor: Flavor, variants: &[Variant]) -> Row {
        Row {
            shape,
            flavor,
            variants: variants.to_vec(),
            runs: vec![Vec::new(); variants.len()],
            failed: vec![None; variants.len()],
        }
    }

    fn cell_args(&self, i: usize, s: &Settings) -> [String; 5] {
        let v = self.variants[i];
        [
            self.shape.id().to_string(),
            self.flavor.id().to_string(),
            v.send().to_string(),
            v.recv().to_string(),
            s.n.to_string(),
        ]
    }

    fn index(&self, v: Variant) -> Option<usize> {
        self.variants.iter().position(|&x| x == v)
    }

    /// Median over the runs of variant `v` of `per_msg(run)`, a figure per
    /// message; `Err` says why there is none.
    fn median(&self, v: Variant, per_msg: fn(&Measurement) -> f64) -> Result<f64, &'static str> {
        let i = self.index(v).ok_or("-")?;
        match &self.failed[i] {
            Some(Failure::Hang) => return Err("hang"),
            Some(Failure::Error(_)) => return Err("error"),
            None => {}
        }
        if self.runs[i].is_empty() {
            return Err("-");
        }
        Ok(median(self.runs[i].iter().map(per_msg).collect()))
    }

    /// First and third quartiles over the runs of variant `v` of
    /// `per_msg(run)` (nearest rank): how much the repetitions spread.
    fn quartiles(
        &self,
        v: Variant,
        per_msg: fn(&Measurement) -> f64,
    ) -> Result<(f64, f64), &'static str> {
        self.median(v, per_msg)?;
        let mut values: Vec<f64> = self.runs[self.index(v).ok_or("-")?]
            .iter()
            .map(per_msg)
            .collect();
        values.sort_by(f64::total_cmp);
        let rank =
            |q: f64| values[((q * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1];
        Ok((rank(0.25), rank(0.75)))
    }

    /// `median(b) / median(a)`.
    fn ratio(
        &self,
        a: Variant,
        b: Variant,
        per_msg: fn(&Measurement) -> f64,
    ) -> Result<f64, &'static str> {
        Ok(self.median(b, per_msg)? / self.median(a, per_msg)?)
    }
}

fn wall(m: &Measurement) -> f64 {
    m.wall_ns as f64 / m.messages as f64
}
fn cpu(m: &Measurement) -> f64 {
    m.cpu_ns as f64 / m.messages as f64
}
fn send_side(m: &Measurement) -> f64 {
    m.send_ns as f64 / m.messages as f64
}
fn recv_side(m: &Measurement) -> f64 {
    m.recv_ns as f64 / m.messages as f64
}
fn tx_cpu(m: &Measurement) -> f64 {
    m.tx_cpu_ns as f64 / m.messages as f64
}
fn rx_cpu(m: &Measurement) -> f64 {
    m.rx_cpu_ns as f64 / m.messages as f64
}
fn per_call(m: &Measurement) -> f64 {
    m.messages as f64 / m.recv_calls.max(1) as f64
}

fn show(v: Result<f64, &'static str>) -> String {
    match v {
        Ok(v) => fmt_num(v),
        Err(why) => why.to_string(),
    }
}

fn show_quartiles(v: Result<(f64, f64), &'static str>) -> String {
    match v {
        Ok((q1, q3)) => format!("{}-{}", fmt_num(q1), fmt_num(q3)),
        Err(why) => why.to_string(),
    }
}

fn show_ratio(v: Result<f64, &'static str>) -> String {
    match v {
        Ok(v) => format!("{v:.2}"),
        Err(why) => why.to_string(),
    }
}

fn find(rows: &[Row], shape: Shape, flavor: Flavor) -> Option<&Row> {
    rows.iter().find(|r| r.shape == shape && r.flavor == flavor)
}

/// Single thread, whole rounds: loop and batch, wall and CPU.
fn single_table(rows: &[Row]) -> Vec<Vec<String>> {
    let mut table = vec![[
        "flavor",
        "send + recv ns/msg",
        "q1-q3",
        "send_all + recv_many ns/msg",
        "q1-q3",
        "batch/loop",
        "CPU send + recv",
        "CPU send_all + recv_many",
        "CPU batch/loop",
    ]
    .map(String::from)
    .to_vec()];
    for row in rows.iter().filter(|r| r.shape == Shape::Single) {
        let (a, b) = (Variant::LOOP, Variant::BATCH);
        table.push(vec![
            row.flavor.label().to_string(),
            show(row.median(a, wall)),
            show_quartiles(row.quartiles(a, wall)),
            show(row.median(b, wall)),
            show_quartiles(row.quartiles(b, wall)),
            show_ratio(row.ratio(a, b, wall)),
            show(row.median(a, cpu)),
            show(row.median(b, cpu)),
            show_ratio(row.ratio(a, b, cpu)),
        ]);
    }
    table
}

/// Single thread, each side timed apart.
fn phases_table(rows: &[Row]) -> Vec<Vec<String>> {
    let mut table = vec![[
        "flavor",
        "send ns/msg",
        "send_all ns/msg",
        "send_all/send",
        "recv ns/msg",
        "recv_many ns/msg",
        "recv_many/recv",
    ]
    .map(String::from)
    .to_vec()];
    for row in rows.iter().filter(|r| r.shape == Shape::Phases) {
        let (a, b) = (Variant::LOOP, Variant::BATCH);
        table.push(vec![
            row.flavor.label().to_string(),
            show(row.median(a, send_side)),
            show(row.median(b, send_side)),
            show_ratio(row.ratio(a, b, send_side)),
            show(row.median(a, recv_side)),
            show(row.median(b, recv_side)),
            show_ratio(row.ratio(a, b, recv_side)),
        ]);
    }
    table
}

/// spsc: every pairing, relative to the loop on both sides.
fn spsc_table(rows: &[Row]) -> Vec<Vec<String>> {
    let mut table = vec![[
        "flavor",
        "sender",
        "receiver",
        "wall ns/msg",
        "wall q1-q3",
        "wall /loop",
        "CPU ns/msg",
        "CPU /loop",
        "producer CPU ns/msg",
        "consumer CPU ns/msg",
        "msgs per receive call",
    ]
    .map(String::from)
    .to_vec()];
    for row in rows.iter().filter(|r| r.shape == Shape::Spsc) {
        for &v in &row.variants {
            table.push(vec![
                row.flavor.label().to_string(),
                v.send().to_string(),
                v.recv().to_string(),
                show(row.median(v, wall)),
                show_quartiles(row.quartiles(v, wall)),
                show_ratio(row.ratio(Variant::LOOP, v, wall)),
                show(row.median(v, cpu)),
                show_ratio(row.ratio(Variant::LOOP, v, cpu)),
                show(row.median(v, tx_cpu)),
                show(row.median(v, rx_cpu)),
                show(row.median(v, per_call)),
            ]);
        }
    }
    table
}

// ---------------------------------------------------------------------------
// Instruction counts (callgrind on `batch_cost`).

/// Instructions per message of each side of one flavor.
#[derive(Clone, Copy, Debug)]
struct Instructions {
    send: f64,
    send_all: f64,
    recv: f64,
    recv_many: f64,
}

/// Runs `batch_cost FLAVOR SEND RECV N` under callgrind; returns the
/// inclusive instructions per message of its send and receive phase
/// functions.
fn callgrind(flavor: Flavor, v: Variant, n: usize) -> Result<(f64, f64), String> {
    let exe = env!("CARGO_BIN_EXE_batch_cost");
    let out = std::env::temp_dir().join(format!(
        "chan-batch-{}-{}-{}-{}.callgrind",
        std::process::id(),
        flavor.id(),
        v.send(),
        v.recv()
    ));
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(exe)
        .args([flavor.id(), v.send(), v.recv(), &n.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("valgrind: {e}"))?;
    if !status.success() {
        let _ = std::fs::remove_file(&out);
        return Err(format!("valgrind {exe}: {status}"));
    }
    let annotated = Command::new("callgrind_annotate")
        .args(["--inclusive=yes", "--threshold=100"])
        .arg(&out)
        .output()
        .map_err(|e| format!("callgrind_annotate: {e}"));
    let _ = std::fs::remove_file(&out);
    let text = String::from_utf8_lossy(&annotated?.stdout).into_owned();
    let send_fn = if v.send_all {
        "::phase_send_all"
    } else {
        "::phase_send_loop"
    };
    let recv_fn = if v.recv_many {
        "::phase_recv_many"
    } else {
        "::phase_recv_loop"
    };
    // Lines such as `12,372,250 (46.80%)  ???:batch_cost::phase_send_loop [...]`;
    // a build with line tables has one per source file, summed.
    let total = |name: &str| -> Result<f64, String> {
        let mut sum = 0u64;
        let mut found = false;
        for line in text.lines().filter(|l| l.contains(name)) {
            let count = line
                .split_whitespace()
                .next()
                .unwrap_or("")
                .replace(',', "");
            if let Ok(c) = count.parse::<u64>() {
                sum += c;
                found = true;
            }
        }
        if found {
            Ok(sum as f64 / n as f64)
        } else {
            Err(format!("no {name} in callgrind_annotate's output"))
        }
    };
    Ok((total(send_fn)?, total(recv_fn)?))
}

/// The instruction counts of the single-thread flavors, or why not.
fn instruction_counts(n: usize) -> Result<Vec<(Flavor, Instructions)>, String> {
    let found = Command::new("valgrind")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        return Err("valgrind is not installed".into());
    }
    let mut out = Vec::new();
    for flavor in [Flavor::Array, Flavor::List] {
        let (send, recv) = callgrind(flavor, Variant::LOOP, n)?;
        let (send_all, recv_many) = callgrind(flavor, Variant::BATCH, n)?;
        eprintln!(
            "callgrind {}: send {send:.1}, send_all {send_all:.1}, recv {recv:.1}, recv_many {recv_many:.1} instructions/msg",
            flavor.label()
        );
        out.push((
            flavor,
            Instructions {
                send,
                send_all,
                recv,
                recv_many,
            },
        ));
    }
    Ok(out)
}

fn instructions_table(counts: &[(Flavor, Instructions)]) -> Vec<Vec<String>> {
    let mut table = vec![[
        "flavor",
        "send",
        "send_all",
        "send_all/send",
        "recv",
        "recv_many",
        "recv_many/recv",
        "send + recv",
        "send_all + recv_many",
        "batch/loop",
    ]
    .map(String::from)
    .to_vec()];
    for (flavor, c) in counts {
        let (a, b) = (c.send + c.recv, c.send_all + c.recv_many);
        table.push(vec![
            flavor.label().to_string(),
            format!("{:.1}", c.send),
            format!("{:.1}", c.send_all),
            format!("{:.2}", c.send_all / c.send),
            format!("{:.1}", c.recv),
            format!("{:.1}", c.recv_many),
            format!("{:.2}", c.recv_many / c.recv),
            format!("{a:.1}"),
            format!("{b:.1}"),
            format!("{:.2}", b / a),
        ]);
    }
    table
}

// ---------------------------------------------------------------------------
// The goal check and the report.

/// `0.431 yes` / `0.612 no` against the goal (three decimals, so that a
/// ratio just above it does not print as 0.50), or why there is no ratio.
fn verdict(r: Result<f64, &'static str>) -> String {
    match r {
        Ok(r) => format!("{r:.3} {}", if r <= GOAL { "yes" } else { "no" }),
        Err(why) => why.to_string(),
    }
}

/// Every batch/loop ratio the goal names, per flavor.
fn goal_table(rows: &[Row], counts: Option<&[(Flavor, Instructions)]>) -> Vec<Vec<String>> {
    let mut head = vec!["batch/loop (goal: at most 0.50)".to_string()];
    head.extend(Flavor::ALL.iter().map(|f| f.label().to_string()));
    let mut table = vec![head];
    type Pick = fn(&Row) -> Result<f64, &'static str>;
    let timed: [(&str, Shape, Pick); 6] = [
        ("single thread, wall, whole round", Shape::Single, |r| {
            r.ratio(Variant::LOOP, Variant::BATCH, wall)
        }),
        ("single thread, CPU, whole round", Shape::Single, |r| {
            r.ratio(Variant::LOOP, Variant::BATCH, cpu)
        }),
        (
            "single thread, send side: send_all/send",
            Shape::Phases,
            |r| r.ratio(Variant::LOOP, Variant::BATCH, send_side),
        ),
        (
            "single thread, receive side: recv_many/recv",
            Shape::Phases,
            |r| r.ratio(Variant::LOOP, Variant::BATCH, recv_side),
        ),
        ("spsc, wall", Shape::Spsc, |r| {
            r.ratio(Variant::LOOP, Variant::BATCH, wall)
        }),
        ("spsc, CPU", Shape::Spsc, |r| {
            r.ratio(Variant::LOOP, Variant::BATCH, cpu)
        }),
    ];
    for (label, shape, pick) in timed {
        let mut line = vec![label.to_string()];
        for f in Flavor::ALL {
            line.push(match find(rows, shape, f) {
                Some(row) => verdict(pick(row)),
                None => "-".to_string(),
            });
        }
        table.push(line);
    }
    if let Some(counts) = counts {
        type Count = fn(&Instructions) -> f64;
        let counted: [(&str, Count); 3] = [
            ("instructions, send side", |c| c.send_all / c.send),
            ("instructions, receive side", |c| c.recv_many / c.recv),
            ("instructions, whole round", |c| {
                (c.send_all + c.recv_many) / (c.send + c.recv)
            }),
        ];
        for (label, ratio) in counted {
            let mut line = vec![label.to_string()];
            for f in Flavor::ALL {
                line.push(match counts.iter().find(|(g, _)| *g == f) {
                    Some((_, c)) => verdict(Ok(ratio(c))),
                    None => "-".to_string(),
                });
            }
            table.push(line);
        }
    }
    table
}

/// ns per `Instant::now()`: the least of five averages over 100,000 calls.
fn clock_cost_ns() -> f64 {
    (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..100_000 {
                black_box(Instant::now());
            }
            start.elapsed().as_nanos() as f64 / 100_000.0
        })
        .fold(f64::INFINITY, f64::min)
}

/// The commit the tree is at, `abc1234` or `abc1234 with uncommitted
/// changes`, if git can tell.
fn commit() -> Option<String> {
    let dir = env!("CARGO_MANIFEST_DIR");
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let head = git(&["rev-parse", "--short", "HEAD"]).filter(|h| !h.is_empty())?;
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(if dirty {
        format!("{head} with uncommitted changes")
    } else {
        head
    })
}

/// Whether /proc/cpuinfo lists the `hypervisor` flag.
fn virtual_machine() -> bool {
    std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|info| {
        info.lines()
            .filter(|l| l.starts_with("flags"))
            .any(|l| l.split_whitespace().any(|w| w == "hypervisor"))
    })
}

/// One line per failed cell, with the arguments that rerun it.
fn failures(rows: &[Row], s: &Settings) -> Vec<String> {
    let mut out = Vec::new();
    for row in rows {
        for (i, failed) in row.failed.iter().enumerate() {
            let what = match failed {
                Some(Failure::Hang) => "hang".to_string(),
                Some(Failure::Error(e)) => format!("error: {e}"),
                None => continue,
            };
            out.push(format!(
                "{what} (ARGS: `{}`)",
                row.cell_args(i, s).join(" ")
            ));
        }
    }
    out
}

/// Everything measured, for the report.
struct Results<'a> {
    rows: &'a [Row],
    counts: Result<Vec<(Flavor, Instructions)>, String>,
    clock_ns: f64,
    commit: Option<String>,
    settings: &'a Settings,
    machine: &'a Machine,
    date: &'a str,
}

impl Results<'_> {
    fn markdown(&self) -> String {
        let s = self.settings;
        let m = self.machine;
        let mut md = String::new();
        let _ = writeln!(md, "# Batching: `send_all` and `recv_many` against loops\n");
        let _ = writeln!(
            md,
            "Machine: {} CPUs (available_parallelism), {}, {}{}; load average {} when the run \
             started (a shared machine: other processes compete for the CPUs).\n",
            m.cpus,
            m.model,
            m.os,
            if virtual_machine() {
                ", a virtual machine (the CPU flags include `hypervisor`)"
            } else {
                ""
            },
            m.load
        );
        let _ = writeln!(
            md,
            "Written by `{}` on {}{}. Parameters: {}. Source: `benches/batch.rs` (timings), \
             `benches/src/bin/batch_cost.rs` (instruction counts).\n",
            s.command(),
            self.date,
            match &self.commit {
                Some(c) => format!(", at commit {c}"),
                None => String::new(),
            },
            s.describe()
        );
        let _ = writeln!(
            md,
            "The goal (issue 17): per message, `recv_many` with batches of 64 and `send_all` of 64 \
             cost at most half of a `recv`/`send` loop on the list and array flavors, on one \
             thread and spsc.\n"
        );
        let _ = writeln!(md, "Workloads:\n");
        let _ = writeln!(
            md,
            "- single thread: N messages in rounds of 64, each round 64 sends then 64 receives; \
             loop: `send` ×64 then `recv` ×64; batch: one `send_all` of an iterator of 64 \
             (`(i..i + 64).map(|v| [v])`) then `recv_many(&mut v, 64)`, `v` reused and cleared."
        );
        let _ = writeln!(
            md,
            "- spsc: one producer thread sends N messages (`send` each, or `send_all` of chunks \
             of 64) while one consumer thread receives them (`recv` until disconnected, or \
             `recv_many(&mut v, 64)`), in all four pairings."
        );
        let _ = writeln!(
            md,
            "- Each run is a fresh process with a fresh channel; the repetitions are the outer \
             loop and within a row the variants alternate, the first rotating per repetition. \
             Figures are medians over the repetitions, ratios are ratios of medians. Every run \
             checks the count and sum of the values received.\n"
        );
        if s.quick {
            let _ = writeln!(
                md,
                "Quick mode: short runs and few repetitions; read the figures as indications only.\n"
            );
        }

        let _ = writeln!(md, "## Goal check\n");
        let _ = writeln!(
            md,
            "Each batch/loop ratio of the tables below, marked `yes` where it is at most 0.50.\n"
        );
        let counts = self.counts.as_ref().ok().map(Vec::as_slice);
        md.push_str(&markdown_table(&goal_table(self.rows, counts), 1));

        let _ = writeln!(md, "\n## Single thread, whole rounds\n");
        let _ = writeln!(
            md,
            "Median wall and process CPU time per message of the whole run, loop against batch, \
             with the quartiles (q1-q3) of the wall time over the repetitions.\n"
        );
        md.push_str(&markdown_table(&single_table(self.rows), 1));

        let _ = writeln!(md, "\n## Single thread, each side\n");
        let _ = writeln!(
            md,
            "Median wall time per message of the send phases and of the receive phases, each \
             timed apart (separate runs from the table above); each phase includes one \
             `Instant::now()`, {} ns here, that is {} ns per message.\n",
            fmt_num(self.clock_ns),
            fmt_num(self.clock_ns / BATCH as f64)
        );
        md.push_str(&markdown_table(&phases_table(self.rows), 1));

        let _ = writeln!(md, "\n## spsc\n");
        let _ = writeln!(
            md,
            "Median wall and process CPU time per message of one producer and one consumer \
             thread, each pairing against `send` + `recv` (`/loop`), with the quartiles of the \
             wall time over the repetitions, each thread's CPU time and the mean number of \
             messages a receive call returned.\n"
        );
        md.push_str(&markdown_table(&spsc_table(self.rows), 3));

        let _ = writeln!(md, "\n## Instructions (callgrind)\n");
        match &self.counts {
            Ok(counts) => {
                let _ = writeln!(
                    md,
                    "Instructions per message on one thread, counted by callgrind (repeatable, \
                     unlike the timings of a shared machine): `batch_cost FLAVOR SEND RECV {}` \
                     (`benches/src/bin/batch_cost.rs`, rounds of 64), each side the inclusive \
                     count of its phase function (`callgrind_annotate --inclusive=yes`) over \
                     the messages.\n",
                    s.callgrind_n.unwrap_or(0)
                );
                md.push_str(&markdown_table(&instructions_table(counts), 1));
            }
            Err(why) => {
                let _ = writeln!(md, "Not counted: {why}.");
            }
        }
        md.push_str(&failures_section("batch", &failures(self.rows, s)));
        md
    }

    fn console(&self) -> String {
        let mut out = String::new();
        let counts = self.counts.as_ref().ok().map(Vec::as_slice);
        let _ = writeln!(out, "\nBatching, {}:\n", self.settings.describe());
        let _ = writeln!(out, "Goal check (batch/loop, yes if at most 0.50):\n");
        out.push_str(&markdown_table(&goal_table(self.rows, counts), 1));
        let _ = writeln!(out, "\nSingle thread, whole rounds (median ns/msg):\n");
        out.push_str(&markdown_table(&single_table(self.rows), 1));
        let _ = writeln!(
            out,
            "\nSingle thread, each side (median ns/msg; Instant::now() = {} ns per phase):\n",
            fmt_num(self.clock_ns)
        );
        out.push_str(&markdown_table(&phases_table(self.rows), 1));
        let _ = writeln!(out, "\nspsc (median ns/msg):\n");
        out.push_str(&markdown_table(&spsc_table(self.rows), 3));
        match &self.counts {
            Ok(counts) => {
                let _ = writeln!(out, "\nInstructions per message (callgrind):\n");
                out.push_str(&markdown_table(&instructions_table(counts), 1));
            }
            Err(why) => {
                let _ = writeln!(out, "\nInstructions not counted: {why}.");
            }
        }
        for line in failures(self.rows, self.settings) {
            let _ = writeln!(out, "FAILED: {line}");
        }
        out
    }
}

fn parent(args: &[String]) {
    let s = Settings::from_env(args);
    let machine = Machine::here();
    let date = utc_now();
    eprintln!("batch: {}", s.describe());

    let pair = [Variant::LOOP, Variant::BATCH];
    let all = [
        Variant::LOOP,
        Variant::BATCH,
        Variant::SEND_ALL,
        Variant::RECV_MANY,
    ];
    let mut rows = Vec::new();
    for shape in [Shape::Single, Shape::Phases] {
        for flavor in [Flavor::Array, Flavor::List] {
            rows.push(Row::new(shape, flavor, &pair));
        }
    }
    for flavor in Flavor::ALL {
        rows.push(Row::new(Shape::Spsc, flavor, &all));
    }

    let started = Instant::now();
    let limit = s.time_limit();
    for rep in 0..s.reps {
        for row in &mut rows {
            let k = row.variants.len();
            let mut shown = Vec::new();
            for turn in 0..k {
                let i = (turn + rep) % k;
                if row.failed[i].is_some() {
                    continue; // hang and error are final
                }
                let mut args = vec!["--cell".to_string()];
                args.extend(row.cell_args(i, &s));
                let v = row.variants[i];
                match cell::run_child(&args, MARK, limit)
                    .and_then(|line| Measurement::parse(&line).map_err(Failure::Error))
                {
                    Ok(m) => {
                        shown.push(format!("{}+{} {}", v.send(), v.recv(), fmt_num(wall(&m))));
                        row.runs[i].push(m);
                    }
                    Err(f) => {
                        shown.push(format!("{}+{} {f:?}", v.send(), v.recv()));
                        row.failed[i] = Some(f);
                    }
                }
            }
            eprintln!(
                "[{:6.1}s] rep {}/{} {:<9} {:<19} ns/msg: {}",
                started.elapsed().as_secs_f64(),
                rep + 1,
                s.reps,
                row.shape.id(),
                row.flavor.label(),
                shown.join("  ")
            );
        }
    }

    let counts = match s.callgrind_n {
        Some(n) => instruction_counts(n),
        None => Err("turned off (quick mode; `CHAN_BENCH_CALLGRIND=1` turns it on)".into()),
    };
    let results = Results {
        rows: &rows,
        counts,
        clock_ns: clock_cost_ns(),
        commit: commit(),
        settings: &s,
        machine: &machine,
        date: &date,
    };
    print!("{}", results.console());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("BATCH.md");
    std::fs::write(&path, results.markdown()).expect("write BATCH.md");
    println!(
        "\nwrote {} in {:.0} s",
        path.display(),
        started.elapsed().as_secs_f64()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(pos) = args.iter().position(|a| a == "--cell") {
        child(&args[pos + 1..]);
    } else {
        parent(&args);
    }
}
