//! The workloads of the `async` bench: chan's async API next to
//! async-channel, flume, kanal and `tokio::sync::mpsc`, on a tokio
//! multi-thread runtime with two worker threads.
//!
//! Each workload is written once, generic over the contender
//! ([`AsyncChannel`]); the message is a `usize` counter value. Every run
//! checks that each of the N values was received exactly once (count, sum
//! and sum of squares of the received values) and panics otherwise: a lost
//! or duplicated message makes the cell fail instead of producing a
//! flattering time.
//!
//! The child side of a cell ([`child`]) lives here too, so that the cell
//! arguments and what they run are defined in one place.

use crate::latency::{monotonic_ns, process_cpu_ns};
use std::fmt;
use std::future::Future;
use std::thread;

/// Prefix of the one line a cell prints: `chan-async-cell: wall_ns=W cpu_ns=C`
/// on success, `chan-async-cell: NA` when the workload does not apply to the
/// contender.
pub const MARK: &str = "chan-async-cell:";

/// Capacity of the bounded channels.
pub const CAPACITY: usize = 128;

/// Worker threads of the tokio runtime every cell runs on.
pub const WORKERS: usize = 2;

/// How the producers and consumers are arranged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One producer task, one consumer task.
    Spsc,
    /// T producer tasks, one consumer task.
    Mpsc,
    /// T producer tasks, T consumer tasks.
    Mpmc,
    /// T blocking producer threads (`send` from `std::thread`), one consumer task.
    Mixed,
    /// T blocking producer threads, T consumer tasks.
    MixedMpmc,
}

impl Shape {
    /// Every shape, in table order.
    pub const ALL: [Shape; 5] = [
        Shape::Spsc,
        Shape::Mpsc,
        Shape::Mpmc,
        Shape::Mixed,
        Shape::MixedMpmc,
    ];

    /// Short identifier, used on the command line of a cell and in the tables.
    pub fn id(self) -> &'static str {
        match self {
            Shape::Spsc => "spsc",
            Shape::Mpsc => "mpsc",
            Shape::Mpmc => "mpmc",
            Shape::Mixed => "mixed",
            Shape::MixedMpmc => "mixed-mc",
        }
    }

    /// The shape with identifier `id`.
    pub fn from_id(id: &str) -> Option<Shape> {
        Shape::ALL.into_iter().find(|s| s.id() == id)
    }

    /// The flavors the shape runs on.
    pub fn flavors(self) -> &'static [Flavor] {
        match self {
            Shape::Spsc | Shape::Mpsc => &[Flavor::Bounded, Flavor::Unbounded],
            Shape::Mpmc | Shape::Mixed | Shape::MixedMpmc => &[Flavor::Bounded],
        }
    }

    /// One line saying what the shape does, for the report.
    pub fn describe(self) -> &'static str {
        match self {
            Shape::Spsc => "one producer task, one consumer task",
            Shape::Mpsc => "T producer tasks, one consumer task",
            Shape::Mpmc => "T producer tasks, T consumer tasks",
            Shape::Mixed => {
                "T producer threads (`std::thread`, blocking send), one consumer task (async receive)"
            }
            Shape::MixedMpmc => {
                "T producer threads (`std::thread`, blocking send), T consumer tasks (async receive)"
            }
        }
    }

    /// Producer and consumer counts with `t` as T.
    fn sides(self, t: usize) -> (usize, usize) {
        match self {
            Shape::Spsc => (1, 1),
            Shape::Mpsc | Shape::Mixed => (t, 1),
            Shape::Mpmc | Shape::MixedMpmc => (t, t),
        }
    }

    /// Whether the producers are threads rather than tasks.
    fn threads(self) -> bool {
        matches!(self, Shape::Mixed | Shape::MixedMpmc)
    }
}

/// Channel capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// Bounded, [`CAPACITY`] messages.
    Bounded,
    /// Unbounded.
    Unbounded,
}

impl Flavor {
    /// Short identifier, used on the command line of a cell.
    pub fn id(self) -> &'static str {
        match self {
            Flavor::Bounded => "b128",
            Flavor::Unbounded => "unb",
        }
    }

    /// Label in the tables.
    pub fn label(self) -> &'static str {
        match self {
            Flavor::Bounded => "bounded(128)",
            Flavor::Unbounded => "unbounded",
        }
    }

    /// The flavor with identifier `id`.
    pub fn from_id(id: &str) -> Option<Flavor> {
        [Flavor::Bounded, Flavor::Unbounded]
            .into_iter()
            .find(|f| f.id() == id)
    }
}

/// A channel with an async sending and receiving side, as the workloads
/// use it. `None` from a constructor means the contender lacks what the
/// workload needs; the cell is then reported as not applicable.
pub trait AsyncChannel {
    /// The async sending half.
    type Tx: Send + Sync + 'static;
    /// The async receiving half.
    type Rx: Send + Sync + 'static;
    /// A sending half that blocks the calling thread, for the mixed shapes.
    type BlockingTx: Send + 'static;

    /// A channel of `flavor`.
    fn new(flavor: Flavor) -> (Self::Tx, Self::Rx);
    /// Another handle on the sending side.
    fn clone_tx(tx: &Self::Tx) -> Self::Tx;
    /// Another handle on the receiving side, if the channel has several consumers.
    fn clone_rx(rx: &Self::Rx) -> Option<Self::Rx>;
    /// A blocking handle on the sending side.
    fn blocking_tx(tx: &Self::Tx) -> Self::BlockingTx;

    /// Sends `v`, waiting while the channel is full; panics if every receiver is gone.
    fn send(tx: &Self::Tx, v: usize) -> impl Future<Output = ()> + Send + '_;
    /// Receives a value; `None` once the channel is empty and every sender is gone.
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<usize>> + Send + '_;
    /// Sends `v` from a thread, blocking it while the channel is full.
    fn send_blocking(tx: &Self::BlockingTx, v: usize);
}

/// chan: `send_async` / `recv_async`; the same `Sender` blocks with `send`.
pub struct Chan;

impl AsyncChannel for Chan {
    type Tx = chan::Sender<usize>;
    type Rx = chan::Receiver<usize>;
    type BlockingTx = chan::Sender<usize>;

    fn new(flavor: Flavor) -> (Self::Tx, Self::Rx) {
        match flavor {
            Flavor::Bounded => chan::bounded(CAPACITY),
            Flavor::Unbounded => chan::unbounded(),
        }
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(rx: &Self::Rx) -> Option<Self::Rx> {
        Some(rx.clone())
    }
    fn blocking_tx(tx: &Self::Tx) -> Self::BlockingTx {
        tx.clone()
    }
    async fn send(tx: &Self::Tx, v: usize) {
        tx.send_async(v).await.expect("chan: receivers gone");
    }
    async fn recv(rx: &mut Self::Rx) -> Option<usize> {
        rx.recv_async().await.ok()
    }
    fn send_blocking(tx: &Self::BlockingTx, v: usize) {
        tx.send(v).expect("chan: receivers gone");
    }
}

/// async-channel 2: `send` / `recv` futures, `send_blocking` from threads.
pub struct AsyncChan;

impl AsyncChannel for AsyncChan {
    type Tx = async_channel::Sender<usize>;
    type Rx = async_channel::Receiver<usize>;
    type BlockingTx = async_channel::Sender<usize>;

    fn new(flavor: Flavor) -> (Self::Tx, Self::Rx) {
        match flavor {
            Flavor::Bounded => async_channel::bounded(CAPACITY),
            Flavor::Unbounded => async_channel::unbounded(),
        }
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(rx: &Self::Rx) -> Option<Self::Rx> {
        Some(rx.clone())
    }
    fn blocking_tx(tx: &Self::Tx) -> Self::BlockingTx {
        tx.clone()
    }
    async fn send(tx: &Self::Tx, v: usize) {
        tx.send(v).await.expect("async-channel: receivers gone");
    }
    async fn recv(rx: &mut Self::Rx) -> Option<usize> {
        rx.recv().await.ok()
    }
    fn send_blocking(tx: &Self::BlockingTx, v: usize) {
        tx.send_blocking(v).expect("async-channel: receivers gone");
    }
}

/// flume 0.12: `send_async` / `recv_async`; the same `Sender` blocks with `send`.
pub struct Flume;

impl AsyncChannel for Flume {
    type Tx = flume::Sender<usize>;
    type Rx = flume::Receiver<usize>;
    type BlockingTx = flume::Sender<usize>;

    fn new(flavor: Flavor) -> (Self::Tx, Self::Rx) {
        match flavor {
            Flavor::Bounded => flume::bounded(CAPACITY),
            Flavor::Unbounded => flume::unbounded(),
        }
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(rx: &Self::Rx) -> Option<Self::Rx> {
        Some(rx.clone())
    }
    fn blocking_tx(tx: &Self::Tx) -> Self::BlockingTx {
        tx.clone()
    }
    async fn send(tx: &Self::Tx, v: usize) {
        tx.send_async(v).await.expect("flume: receivers gone");
    }
    async fn recv(rx: &mut Self::Rx) -> Option<usize> {
        rx.recv_async().await.ok()
    }
    fn send_blocking(tx: &Self::BlockingTx, v: usize) {
        tx.send(v).expect("flume: receivers gone");
    }
}

/// kanal 0.1: `AsyncSender` / `AsyncReceiver`; threads send through
/// `AsyncSender::clone_sync`.
pub struct Kanal;

impl AsyncChannel for Kanal {
    type Tx = kanal::AsyncSender<usize>;
    type Rx = kanal::AsyncReceiver<usize>;
    type BlockingTx = kanal::Sender<usize>;

    fn new(flavor: Flavor) -> (Self::Tx, Self::Rx) {
        match flavor {
            Flavor::Bounded => kanal::bounded_async(CAPACITY),
            Flavor::Unbounded => kanal::unbounded_async(),
        }
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(rx: &Self::Rx) -> Option<Self::Rx> {
        Some(rx.clone())
    }
    fn blocking_tx(tx: &Self::Tx) -> Self::BlockingTx {
        tx.clone_sync()
    }
    async fn send(tx: &Self::Tx, v: usize) {
        tx.send(v).await.expect("kanal: receivers gone");
    }
    async fn recv(rx: &mut Self::Rx) -> Option<usize> {
        rx.recv().await.ok()
    }
    fn send_blocking(tx: &Self::BlockingTx, v: usize) {
        tx.send(v).expect("kanal: receivers gone");
    }
}

/// `tokio::sync::mpsc`: `channel` (awaited `send`, `blocking_send` from
/// threads) or `unbounded_channel` (its `send` never waits). One receiver
/// only, so the multi-consumer shapes do not apply.
pub struct Tokio;

/// The sending half of either tokio channel.
pub enum TokioTx {
    /// `tokio::sync::mpsc::channel`.
    Bounded(tokio::sync::mpsc::Sender<usize>),
    /// `tokio::sync::mpsc::unbounded_channel`.
    Unbounded(tokio::sync::mpsc::UnboundedSender<usize>),
}

/// The receiving half of either tokio channel.
pub enum TokioRx {
    /// `tokio::sync::mpsc::channel`.
    Bounded(tokio::sync::mpsc::Receiver<usize>),
    /// `tokio::sync::mpsc::unbounded_channel`.
    Unbounded(tokio::sync::mpsc::UnboundedReceiver<usize>),
}

impl Clone for TokioTx {
    fn clone(&self) -> Self {
        match self {
            TokioTx::Bounded(tx) => TokioTx::Bounded(tx.clone()),
            TokioTx::Unbounded(tx) => TokioTx::Unbounded(tx.clone()),
        }
    }
}

impl AsyncChannel for Tokio {
    type Tx = TokioTx;
    type Rx = TokioRx;
    type BlockingTx = TokioTx;

    fn new(flavor: Flavor) -> (Self::Tx, Self::Rx) {
        match flavor {
            Flavor::Bounded => {
                let (tx, rx) = tokio::sync::mpsc::channel(CAPACITY);
                (TokioTx::Bounded(tx), TokioRx::Bounded(rx))
            }
            Flavor::Unbounded => {
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                (TokioTx::Unbounded(tx), TokioRx::Unbounded(rx))
            }
        }
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(_: &Self::Rx) -> Option<Self::Rx> {
        None
    }
    fn blocking_tx(tx: &Self::Tx) -> Self::BlockingTx {
        tx.clone()
    }
    async fn send(tx: &Self::Tx, v: usize) {
        match tx {
            TokioTx::Bounded(tx) => tx.send(v).await.expect("tokio: receiver gone"),
            TokioTx::Unbounded(tx) => tx.send(v).expect("tokio: receiver gone"),
        }
    }
    async fn recv(rx: &mut Self::Rx) -> Option<usize> {
        match rx {
            TokioRx::Bounded(rx) => rx.recv().await,
            TokioRx::Unbounded(rx) => rx.recv().await,
        }
    }
    fn send_blocking(tx: &Self::BlockingTx, v: usize) {
        match tx {
            TokioTx::Bounded(tx) => tx.blocking_send(v).expect("tokio: receiver gone"),
            TokioTx::Unbounded(tx) => tx.send(v).expect("tokio: receiver gone"),
        }
    }
}

/// Contender names in table order; the first is chan, the numerator of
/// every ratio.
pub const CONTENDERS: [&str; 5] = ["chan", "async-channel", "flume", "kanal", "tokio"];

/// What one run of a cell measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measurement {
    /// Wall time from the first spawn to the last join, ns.
    pub wall_ns: u64,
    /// User + system CPU time of the whole process over the same span
    /// (`CLOCK_PROCESS_CPUTIME_ID`), ns.
    pub cpu_ns: u64,
}

impl fmt::Display for Measurement {
    /// The line a cell prints: `chan-async-cell: wall_ns=W cpu_ns=C`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{MARK} wall_ns={} cpu_ns={}", self.wall_ns, self.cpu_ns)
    }
}

impl Measurement {
    /// Parses a cell's line: `Ok(Some(_))` for a measurement, `Ok(None)`
    /// for `NA`.
    pub fn parse(line: &str) -> Result<Option<Measurement>, String> {
        let rest = line
            .strip_prefix(MARK)
            .ok_or_else(|| format!("not a cell line: {line:?}"))?
            .trim();
        if rest == "NA" {
            return Ok(None);
        }
        let mut wall = None;
        let mut cpu = None;
        for field in rest.split_whitespace() {
            let (key, value) = field
                .split_once('=')
                .ok_or_else(|| format!("bad field {field:?}"))?;
            let value: u64 = value.parse().map_err(|_| format!("bad value {field:?}"))?;
            match key {
                "wall_ns" => wall = Some(value),
                "cpu_ns" => cpu = Some(value),
                _ => return Err(format!("unknown field {field:?}")),
            }
        }
        match (wall, cpu) {
            (Some(wall_ns), Some(cpu_ns)) => Ok(Some(Measurement { wall_ns, cpu_ns })),
            _ => Err(format!("incomplete cell line: {line:?}")),
        }
    }
}

/// What the consumers received: count, sum and sum of squares (wrapping).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tally {
    count: usize,
    sum: usize,
    squares: usize,
}

impl Tally {
    #[inline]
    fn add(&mut self, v: usize) {
        self.count += 1;
        self.sum = self.sum.wrapping_add(v);
        self.squares = self.squares.wrapping_add(v.wrapping_mul(v));
    }

    fn merge(&mut self, other: Tally) {
        self.count += other.count;
        self.sum = self.sum.wrapping_add(other.sum);
        self.squares = self.squares.wrapping_add(other.squares);
    }

    /// The tally of the values `0..n`, each once.
    fn expected(n: usize) -> Tally {
        let mut t = Tally::default();
        (0..n).for_each(|v| t.add(v));
        t
    }
}

/// The values producer `i` of `t` sends: a contiguous share of `0..n`.
fn share(i: usize, t: usize, n: usize) -> std::ops::Range<usize> {
    i * n / t..(i + 1) * n / t
}

/// Runs `shape` on `flavor` with `n` messages and T = `t` on contender `C`,
/// on a fresh tokio runtime with [`WORKERS`] worker threads. `None` when
/// the shape needs several consumers and `C` has one.
///
/// # Panics
/// If the values received are not `0..n`, each exactly once.
pub fn run<C: AsyncChannel>(
    shape: Shape,
    flavor: Flavor,
    n: usize,
    t: usize,
) -> Option<Measurement> {
    let (producers, consumers) = shape.sides(t.max(1));
    let (tx, rx) = C::new(flavor);
    let mut rxs = Vec::with_capacity(consumers);
    for _ in 1..consumers {
        rxs.push(C::clone_rx(&rx)?);
    }
    rxs.push(rx);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .build()
        .expect("tokio runtime");

    let (wall0, cpu0) = (monotonic_ns(), process_cpu_ns());
    let got = rt.block_on(async move {
        let receivers: Vec<_> = rxs
            .into_iter()
            .map(|mut rx| {
                tokio::spawn(async move {
                    let mut tally = Tally::default();
                    while let Some(v) = C::recv(&mut rx).await {
                        tally.add(v);
                    }
                    tally
                })
            })
            .collect();
        let mut threads = Vec::new();
        let mut tasks = Vec::new();
        for i in 0..producers {
            let values = share(i, producers, n);
            if shape.threads() {
                let tx = C::blocking_tx(&tx);
                threads.push(thread::spawn(move || {
                    for v in values {
                        C::send_blocking(&tx, v);
                    }
                }));
            } else {
                let tx = C::clone_tx(&tx);
                tasks.push(tokio::spawn(async move {
                    for v in values {
                        C::send(&tx, v).await;
                    }
                }));
            }
        }
        // The producers hold the only senders now: the receivers see the
        // channel close when the last of them finishes.
        drop(tx);
        for task in tasks {
            task.await.expect("producer task panicked");
        }
        let mut got = Tally::default();
        for r in receivers {
            got.merge(r.await.expect("consumer task panicked"));
        }
        for th in threads {
            th.join().expect("producer thread panicked");
        }
        got
    });
    let m = Measurement {
        wall_ns: monotonic_ns() - wall0,
        cpu_ns: process_cpu_ns() - cpu0,
    };
    drop(rt);

    let want = Tally::expected(n);
    assert!(
        got == want,
        "{} {} n={n} t={t}: received {} messages (sum {}, sum of squares {}), \
         want {} (sum {}, sum of squares {}): lost or duplicated messages",
        shape.id(),
        flavor.id(),
        got.count,
        got.sum,
        got.squares,
        want.count,
        want.sum,
        want.squares
    );
    Some(m)
}

/// Child side of a cell: `SHAPE FLAVOR CONTENDER N T` (the arguments after
/// `--cell`). Prints the [`Measurement`] line, or `chan-async-cell: NA`.
///
/// # Panics
/// On malformed arguments, and when the workload fails (lost messages).
pub fn child(args: &[String]) {
    // Anything after the five values (such as the `--bench` cargo appends) is ignored.
    let [shape, flavor, contender, n, t, ..] = args else {
        panic!("usage: --cell SHAPE FLAVOR CONTENDER N T");
    };
    let shape = Shape::from_id(shape).expect("unknown shape");
    let flavor = Flavor::from_id(flavor).expect("unknown flavor (b128, unb)");
    let n: usize = n.parse().expect("N");
    let t: usize = t.parse().expect("T");
    let m = match contender.as_str() {
        "chan" => run::<Chan>(shape, flavor, n, t),
        "async-channel" => run::<AsyncChan>(shape, flavor, n, t),
        "flume" => run::<Flume>(shape, flavor, n, t),
        "kanal" => run::<Kanal>(shape, flavor, n, t),
        "tokio" => run::<Tokio>(shape, flavor, n, t),
        other => panic!("unknown contender {other}"),
    };
    match m {
        Some(m) => println!("{m}"),
        None => println!("{MARK} NA"),
    }
}

/// The heading under which `RESULTS.md` carries the async results.
const ASYNC_HEADING: &str = "## Async channels (from ASYNC.md)";

/// `results` (the text of `RESULTS.md`) with its async section replaced by
/// (or, the first time, extended with) a summary of `async_md` (the text of
/// `ASYNC.md`): its run line, machine line, wall-time table and geometric
/// means. `compare` and `async` both call it, so neither harness drops the
/// other's figures when it rewrites its file.
pub fn with_async_section(results: &str, async_md: &str) -> String {
    let kept = match results.find(ASYNC_HEADING) {
        Some(start) => &results[..start],
        None => results,
    };
    let mut out = kept.trim_end().to_string();
    out.push_str("\n\n");
    out.push_str(ASYNC_HEADING);
    out.push_str("\n\n");
    out.push_str(
        "Tasks on a 2-worker tokio runtime (and, in `mixed`, producer threads); \
         the whole report, with CPU times and the workloads, is in `ASYNC.md` \
         (`cargo bench -p chan-benches --bench async`).\n\n",
    );
    for line in async_md.lines() {
        if line.starts_with("Written by") || line.starts_with("- Machine") {
            out.push_str(line);
            out.push('\n');
        }
    }
    for heading in ["## Wall time", "## Geometric means"] {
        if let Some(start) = async_md.find(heading) {
            let body = &async_md[start + heading.len()..];
            let table: Vec<&str> = body
                .lines()
                .skip_while(|line| !line.starts_with('|'))
                .take_while(|line| line.starts_with('|'))
                .collect();
            out.push_str(&format!("\n{}:\n\n", &heading[3..]));
            out.push_str(&table.join("\n"));
            out.push('\n');
        }
    }
    out
}
