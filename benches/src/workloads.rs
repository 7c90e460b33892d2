//! The benchmark workloads, each written once, generic over the contender
//! ([`Channel`] and its sub-traits) and the message type ([`Message`]).
//!
//! Every workload checks that the values it received add up to the values that
//! were sent, and panics otherwise: a lost or duplicated message makes the cell
//! fail instead of producing a flattering time.

use crate::contenders::{Channel, MultiConsumer, Selecting};
use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

/// A message type: built from a counter value, which it gives back.
pub trait Message: Copy + Send + 'static {
    /// Name shown in the result tables.
    const NAME: &'static str;
    /// The message carrying `value`.
    fn new(value: usize) -> Self;
    /// The value the message carries.
    fn value(&self) -> usize;
}

impl Message for usize {
    const NAME: &'static str = "usize";
    #[inline]
    fn new(value: usize) -> Self {
        value
    }
    #[inline]
    fn value(&self) -> usize {
        *self
    }
}

/// A 64-byte message: the value and seven words of padding.
#[derive(Clone, Copy, Debug)]
pub struct Big([u64; 8]);

impl Message for Big {
    const NAME: &'static str = "64B";
    #[inline]
    fn new(value: usize) -> Self {
        Big([value as u64; 8])
    }
    #[inline]
    fn value(&self) -> usize {
        self.0[7] as usize
    }
}

/// Channel flavor (capacity) a workload runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `bounded(0)`: rendezvous, every send waits for a receive.
    Zero,
    /// `bounded(1)`.
    One,
    /// `bounded(1024)`.
    Large,
    /// `unbounded()`.
    Unbounded,
}

impl Flavor {
    /// Every flavor, in table order.
    pub const ALL: [Flavor; 4] = [Flavor::Zero, Flavor::One, Flavor::Large, Flavor::Unbounded];

    /// Capacity of the flavor; `None` when unbounded.
    pub fn capacity(self) -> Option<usize> {
        match self {
            Flavor::Zero => Some(0),
            Flavor::One => Some(1),
            Flavor::Large => Some(1024),
            Flavor::Unbounded => None,
        }
    }

    /// Short identifier used on the command line of a cell.
    pub fn id(self) -> &'static str {
        match self {
            Flavor::Zero => "b0",
            Flavor::One => "b1",
            Flavor::Large => "b1024",
            Flavor::Unbounded => "unb",
        }
    }

    /// Parses [`Flavor::id`].
    pub fn from_id(id: &str) -> Option<Flavor> {
        Flavor::ALL.into_iter().find(|f| f.id() == id)
    }

    /// Name shown in the result tables.
    pub fn label(self) -> &'static str {
        match self {
            Flavor::Zero => "bounded(0)",
            Flavor::One => "bounded(1)",
            Flavor::Large => "bounded(1024)",
            Flavor::Unbounded => "unbounded",
        }
    }

    /// A channel of this flavor from contender `C`.
    pub fn make<C: Channel, T: Send + 'static>(self) -> (C::Tx<T>, C::Rx<T>) {
        match self.capacity() {
            Some(cap) => C::bounded(cap),
            None => C::unbounded(),
        }
    }
}

/// A workload shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// One thread alternates: sends a batch (capacity messages, or all N when
    /// unbounded), then receives that batch. Not run on `bounded(0)`.
    Seq,
    /// One producer thread sends N, the main thread receives them.
    Spsc,
    /// T producers send N/T each, the main thread receives all.
    Mpsc,
    /// T producers send N/T each, T consumers (cloned receivers) drain the channel.
    Mpmc,
    /// T producers, each on its own channel, send N/T each; one consumer selects
    /// a receive over the T channels.
    SelectRx,
    /// T producers select a send over T channels, T consumers select a receive
    /// over the same T channels; N/T messages per producer and per consumer.
    SelectBoth,
    /// Round trip over two `bounded(1)` channels to an echo thread; the metric is
    /// the median round trip in nanoseconds over max(N/100, 1000) round trips.
    PingPong,
    /// T workers share one job channel, compute a small fixed job per message
    /// (64 multiply-rotate rounds) and send results on a second channel of the
    /// same flavor; a feeder thread sends N/4 jobs, the main thread collects.
    Pool,
}

impl Workload {
    /// Every workload, in table order.
    pub const ALL: [Workload; 8] = [
        Workload::Seq,
        Workload::Spsc,
        Workload::Mpsc,
        Workload::Mpmc,
        Workload::SelectRx,
        Workload::SelectBoth,
        Workload::PingPong,
        Workload::Pool,
    ];

    /// Name shown in tables and used on the command line of a cell.
    pub fn id(self) -> &'static str {
        match self {
            Workload::Seq => "seq",
            Workload::Spsc => "spsc",
            Workload::Mpsc => "mpsc",
            Workload::Mpmc => "mpmc",
            Workload::SelectRx => "select_rx",
            Workload::SelectBoth => "select_both",
            Workload::PingPong => "pingpong",
            Workload::Pool => "pool",
        }
    }

    /// Parses [`Workload::id`].
    pub fn from_id(id: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.id() == id)
    }

    /// The flavors this workload is measured on.
    pub fn flavors(self) -> &'static [Flavor] {
        match self {
            Workload::Seq => &[Flavor::One, Flavor::Large, Flavor::Unbounded],
            Workload::PingPong => &[Flavor::One],
            _ => &Flavor::ALL,
        }
    }

    /// Unit of the metric the workload reports.
    pub fn unit(self) -> &'static str {
        match self {
            Workload::PingPong => "ns/rt",
            _ => "ms",
        }
    }
}

/// Size parameters of a run.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// Number of messages (N).
    pub n: usize,
    /// Number of threads on each side (T).
    pub t: usize,
}

/// Runs one workload for contender `C` with message `M` and returns its metric
/// (milliseconds, or nanoseconds per round trip for ping-pong), or `None` when
/// `C` lacks a capability the workload needs.
pub fn run_basic<C: Channel, M: Message>(w: Workload, f: Flavor, p: Params) -> Option<f64> {
    Some(match w {
        Workload::Seq => millis(seq::<C, M>(f, p)),
        Workload::Spsc => millis(spsc::<C, M>(f, p)),
        Workload::Mpsc => millis(mpsc::<C, M>(f, p)),
        Workload::PingPong => pingpong::<C, M>(f, p),
        Workload::Mpmc | Workload::SelectRx | Workload::SelectBoth | Workload::Pool => return None,
    })
}

/// [`run_basic`] for multi-consumer contenders: adds MPMC and the worker pool.
pub fn run_multi<C: MultiConsumer, M: Message>(w: Workload, f: Flavor, p: Params) -> Option<f64> {
    match w {
        Workload::Mpmc => Some(millis(mpmc::<C, M>(f, p))),
        Workload::Pool => Some(millis(pool::<C, M>(f, p))),
        _ => run_basic::<C, M>(w, f, p),
    }
}

/// [`run_multi`] for contenders with select: adds the select workloads.
pub fn run_select<C: Selecting, M: Message>(w: Workload, f: Flavor, p: Params) -> Option<f64> {
    match w {
        Workload::SelectRx => Some(millis(select_rx::<C, M>(f, p))),
        Workload::SelectBoth => Some(millis(select_both::<C, M>(f, p))),
        _ => run_multi::<C, M>(w, f, p),
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Sum of `0..count`, the checksum of one producer's messages.
fn triangle(count: usize) -> usize {
    count.wrapping_mul(count.wrapping_sub(1)) / 2
}

fn check(what: &str, got: usize, expected: usize) {
    assert_eq!(got, expected, "{what}: received values do not add up");
}

fn seq<C: Channel, M: Message>(f: Flavor, p: Params) -> Duration {
    let batch = match f.capacity() {
        Some(0) => panic!("seq cannot run on bounded(0)"),
        Some(cap) => cap,
        None => p.n,
    };
    let (tx, rx) = f.make::<C, M>();
    let start = Instant::now();
    let mut sum = 0usize;
    let mut sent = 0;
    while sent < p.n {
        let end = (sent + batch).min(p.n);
        for i in sent..end {
            C::send(&tx, M::new(i));
        }
        for _ in sent..end {
            sum = sum.wrapping_add(C::recv(&rx).expect("seq: channel closed").value());
        }
        sent = end;
    }
    let elapsed = start.elapsed();
    check("seq", sum, triangle(p.n));
    elapsed
}

fn spsc<C: Channel, M: Message>(f: Flavor, p: Params) -> Duration {
    let (tx, rx) = f.make::<C, M>();
    let start = Instant::now();
    let sum = thread::scope(|s| {
        s.spawn(move || {
            for i in 0..p.n {
                C::send(&tx, M::new(i));
            }
        });
        let mut sum = 0usize;
        while let Some(m) = C::recv(&rx) {
            sum = sum.wrapping_add(m.value());
        }
        sum
    });
    let elapsed = start.elapsed();
    check("spsc", sum, triangle(p.n));
    elapsed
}

fn mpsc<C: Channel, M: Message>(f: Flavor, p: Params) -> Duration {
    let per = p.n / p.t;
    let (tx, rx) = f.make::<C, M>();
    let start = Instant::now();
    let sum = thread::scope(|s| {
        for _ in 0..p.t {
            let tx = tx.clone();
            s.spawn(move || {
                for i in 0..per {
                    C::send(&tx, M::new(i));
                }
            });
        }
        drop(tx);
        let mut sum = 0usize;
        while let Some(m) = C::recv(&rx) {
            sum = sum.wrapping_add(m.value());
        }
        sum
    });
    let elapsed = start.elapsed();
    check("mpsc", sum, triangle(per).wrapping_mul(p.t));
    elapsed
}

fn mpmc<C: MultiConsumer, M: Message>(f: Flavor, p: Params) -> Duration {
    let per = p.n / p.t;
    let (tx, rx) = f.make::<C, M>();
    let start = Instant::now();
    let sum = thread::scope(|s| {
        for _ in 0..p.t {
            let tx = tx.clone();
            s.spawn(move || {
                for i in 0..per {
                    C::send(&tx, M::new(i));
                }
            });
        }
        drop(tx);
        let consumers: Vec<_> = (0..p.t)
            .map(|_| {
                let rx = C::clone_rx(&rx);
                s.spawn(move || {
                    let mut sum = 0usize;
                    while let Some(m) = C::recv(&rx) {
                        sum = sum.wrapping_add(m.value());
                    }
                    sum
                })
            })
            .collect();
        drop(rx);
        consumers
            .into_iter()
            .map(|h| h.join().expect("mpmc consumer panicked"))
            .fold(0usize, usize::wrapping_add)
    });
    let elapsed = start.elapsed();
    check("mpmc", sum, triangle(per).wrapping_mul(p.t));
    elapsed
}

fn select_rx<C: Selecting, M: Message>(f: Flavor, p: Params) -> Duration {
    let per = p.n / p.t;
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..p.t).map(|_| f.make::<C, M>()).unzip();
    let start = Instant::now();
    let sum = thread::scope(|s| {
        for tx in &txs {
            // The originals in `txs` outlive the consumer, so no selected
            // channel is ever disconnected.
            let tx = tx.clone();
            s.spawn(move || {
                for i in 0..per {
                    C::send(&tx, M::new(i));
                }
            });
        }
        let mut sum = 0usize;
        C::select_recv(&rxs, per * p.t, |m| sum = sum.wrapping_add(m.value()));
        sum
    });
    let elapsed = start.elapsed();
    drop(txs);
    check("select_rx", sum, triangle(per).wrapping_mul(p.t));
    elapsed
}

fn select_both<C: Selecting, M: Message>(f: Flavor, p: Params) -> Duration {
    let per = p.n / p.t;
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..p.t).map(|_| f.make::<C, M>()).unzip();
    let start = Instant::now();
    let sum = thread::scope(|s| {
        for _ in 0..p.t {
            let txs = txs.clone();
            s.spawn(move || C::select_send(&txs, (0..per).map(M::new)));
        }
        // Each consumer takes exactly `per` messages: as many as one producer
        // sends, so all consumers together drain exactly what was sent.
        let consumers: Vec<_> = (0..p.t)
            .map(|_| {
                let rxs: Vec<_> = rxs.iter().map(C::clone_rx).collect();
                s.spawn(move || {
                    let mut sum = 0usize;
                    C::select_recv(&rxs, per, |m: M| sum = sum.wrapping_add(m.value()));
                    sum
                })
            })
            .collect();
        consumers
            .into_iter()
            .map(|h| h.join().expect("select_both consumer panicked"))
            .fold(0usize, usize::wrapping_add)
    });
    let elapsed = start.elapsed();
    drop((txs, rxs));
    check("select_both", sum, triangle(per).wrapping_mul(p.t));
    elapsed
}

/// Number of round trips the ping-pong workload makes for `n` messages.
pub fn pingpong_rounds(n: usize) -> usize {
    (n / 100).max(1000)
}

/// Median round trip in nanoseconds; each round trip is timed on its own.
fn pingpong<C: Channel, M: Message>(f: Flavor, p: Params) -> f64 {
    let rounds = pingpong_rounds(p.n);
    let (ping_tx, ping_rx) = f.make::<C, M>();
    let (pong_tx, pong_rx) = f.make::<C, M>();
    let mut times = Vec::with_capacity(rounds);
    let sum = thread::scope(|s| {
        s.spawn(move || {
            while let Some(m) = C::recv(&ping_rx) {
                C::send(&pong_tx, m);
            }
        });
        let mut sum = 0usize;
        for i in 0..rounds {
            let start = Instant::now();
            C::send(&ping_tx, M::new(i));
            let m = C::recv(&pong_rx).expect("pingpong: echo thread gone");
            times.push(start.elapsed());
            sum = sum.wrapping_add(m.value());
        }
        drop(ping_tx);
        sum
    });
    check("pingpong", sum, triangle(rounds));
    times.sort_unstable();
    times[times.len() / 2].as_secs_f64() * 1e9
}

/// The fixed job of a pool worker: 64 dependent multiply-rotate rounds.
#[inline]
pub fn job(x: usize) -> usize {
    let mut h = x as u64 ^ 0x9E37_79B9_7F4A_7C15;
    for _ in 0..64 {
        h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9).rotate_left(29) ^ 0x94D0_49BB;
    }
    h as usize
}

fn pool<C: MultiConsumer, M: Message>(f: Flavor, p: Params) -> Duration {
    let jobs = (p.n / 4).max(1);
    let expected = (0..jobs).map(job).fold(0usize, usize::wrapping_add);
    let (job_tx, job_rx) = f.make::<C, M>();
    let (res_tx, res_rx) = f.make::<C, M>();
    let start = Instant::now();
    let sum = thread::scope(|s| {
        for _ in 0..p.t {
            let job_rx = C::clone_rx(&job_rx);
            let res_tx = res_tx.clone();
            s.spawn(move || {
                while let Some(m) = C::recv(&job_rx) {
                    C::send(&res_tx, M::new(job(black_box(m.value()))));
                }
            });
        }
        drop((job_rx, res_tx));
        s.spawn(move || {
            for i in 0..jobs {
                C::send(&job_tx, M::new(i));
            }
        });
        let mut sum = 0usize;
        while let Some(m) = C::recv(&res_rx) {
            sum = sum.wrapping_add(m.value());
        }
        sum
    });
    let elapsed = start.elapsed();
    check("pool", sum, expected);
    elapsed
}
