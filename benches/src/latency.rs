//! Latency workloads: how long a message takes from the sender's `send` call to
//! the consumer's hand, and what the whole process burns in CPU meanwhile.
//!
//! The throughput workloads of [`crate::workloads`] keep every thread busy, so a
//! channel that spins instead of parking, or parks too eagerly, looks no
//! different there. Here producers are paced ([`Shape::Paced`]) so the
//! consumer waits between messages, which exposes both the wake-up latency and
//! the CPU a waiting receiver spends; [`Shape::FullSpeed`] is the saturated
//! counterpart on the small-capacity flavors, where every send may block, and
//! [`Shape::Shared`] the same with as many consumers as producers, where a
//! channel that lets most waiters sleep while two threads pair up shows its
//! stalled messages in the tail.
//!
//! Each workload runs once per call of [`run`], generic over the contender
//! ([`Channel`]) and on a [`Flavor`] of the throughput harness, so no
//! contender adapter exists twice. The harness (`benches/latency.rs`) calls
//! it in a child process per cell so that the process CPU clock covers that
//! cell alone.

use crate::contenders::{Chan, Channel, Crossbeam, Flume, Kanal, MultiConsumer, Std};
use crate::workloads::Flavor;
use std::fmt;
use std::thread;

/// Prefix of the one line a latency cell prints on success (parsed by the
/// harnesses and by `scripts/perf_latency.sh`).
pub const MARK: &str = "chan-lat-cell:";

/// Runs one latency cell of one contender; `None` when the contender lacks
/// what the shape needs (a receiver that can be cloned, for
/// [`Shape::Shared`]).
pub type Runner = fn(Shape, Flavor, LatParams) -> Option<Measurement>;

/// Contenders in table order, each with its instance of the generic workload:
/// the one place that maps a name to a type for the latency cells.
pub const CONTENDERS: [(&str, Runner); 5] = [
    (Chan::NAME, run_any::<Chan>),
    (Crossbeam::NAME, run_any::<Crossbeam>),
    (Flume::NAME, run_any::<Flume>),
    (Kanal::NAME, run_any::<Kanal>),
    (Std::NAME, run_single_consumer::<Std>),
];

/// What a cell prints after [`MARK`] instead of a [`Measurement`] when its
/// [`Runner`] returns `None`.
pub const NOT_AVAILABLE: &str = "NA";

/// A [`Runner`] for a contender whose receiver can be cloned: every shape.
fn run_any<C: MultiConsumer>(shape: Shape, flavor: Flavor, p: LatParams) -> Option<Measurement> {
    Some(match shape {
        Shape::Shared => run_shared::<C>(flavor, p),
        _ => run::<C>(shape, flavor, p),
    })
}

/// A [`Runner`] for a contender with one receiver: not [`Shape::Shared`].
fn run_single_consumer<C: Channel>(
    shape: Shape,
    flavor: Flavor,
    p: LatParams,
) -> Option<Measurement> {
    (shape != Shape::Shared).then(|| run::<C>(shape, flavor, p))
}

/// Delay between the start of a paced run and the first deadline, so that
/// every producer thread has been spawned before the schedule begins.
const LEAD_IN_NS: u64 = 200_000;

/// A latency workload shape. The first two have T producers and one
/// consumer (the thread that calls [`run`]), so they need only [`Channel`]
/// and every contender, `std` included, runs them; [`Shape::Shared`] has T
/// consumers and needs [`MultiConsumer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Every producer sends one message per gap G on an absolute-deadline
    /// schedule; the consumer is idle most of the time.
    Paced,
    /// Producers send as fast as the channel lets them.
    FullSpeed,
    /// As [`Shape::FullSpeed`], with T consumers sharing the channel.
    Shared,
}

impl Shape {
    /// Every shape, in table order.
    pub const ALL: [Shape; 3] = [Shape::Paced, Shape::FullSpeed, Shape::Shared];

    /// Name shown in tables and used on the command line of a cell.
    pub fn id(self) -> &'static str {
        match self {
            Shape::Paced => "paced",
            Shape::FullSpeed => "fullspeed",
            Shape::Shared => "shared",
        }
    }

    /// Parses [`Shape::id`].
    pub fn from_id(id: &str) -> Option<Shape> {
        Shape::ALL.into_iter().find(|s| s.id() == id)
    }

    /// The flavors this shape is measured on. Full speed runs only where a
    /// send blocks: with a large or unbounded buffer the "latency" would be
    /// the queueing delay of a backlog that grows with N, not a channel cost.
    pub fn flavors(self) -> &'static [Flavor] {
        match self {
            Shape::Paced => &Flavor::ALL,
            Shape::FullSpeed | Shape::Shared => &[Flavor::Zero, Flavor::One],
        }
    }

    /// One sentence for the report.
    pub fn describe(self) -> &'static str {
        match self {
            Shape::Paced => {
                "T producers each send one message per gap G (absolute deadlines, \
                 producer i offset by i*G/T), one consumer"
            }
            Shape::FullSpeed => "T producers send back to back, one consumer",
            Shape::Shared => "T producers send back to back, T consumers share the channel",
        }
    }
}

/// Size parameters of one latency cell.
#[derive(Clone, Copy, Debug)]
pub struct LatParams {
    /// Producer threads (T).
    pub producers: usize,
    /// Messages each producer sends (N).
    pub per_producer: usize,
    /// Gap between two messages of one producer, in nanoseconds (paced only).
    pub gap_ns: u64,
}

/// What one run of a cell measured. Latencies are exact order statistics of
/// all `messages` samples (nearest rank on the sorted samples).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measurement {
    /// Messages received (T * N).
    pub messages: u64,
    /// Median latency, ns.
    pub p50_ns: u64,
    /// 99th percentile latency, ns.
    pub p99_ns: u64,
    /// 99.9th percentile latency, ns.
    pub p999_ns: u64,
    /// Largest latency, ns.
    pub max_ns: u64,
    /// Wall time from before the producers were spawned until all were joined, ns.
    pub wall_ns: u64,
    /// User + system CPU time of the whole process over `wall_ns`, ns.
    pub cpu_ns: u64,
    /// CPU time of the consumer thread alone over `wall_ns` (of all the
    /// consumers together in [`Shape::Shared`]), ns.
    pub rx_cpu_ns: u64,
}

impl Measurement {
    /// Messages per second over the wall time.
    pub fn throughput(&self) -> f64 {
        self.messages as f64 / (self.wall_ns as f64 * 1e-9)
    }

    /// Process CPU time per message, ns.
    pub fn cpu_per_msg_ns(&self) -> f64 {
        self.cpu_ns as f64 / self.messages as f64
    }

    /// Process CPU time / wall time: the average number of busy CPUs.
    pub fn cpu_per_wall(&self) -> f64 {
        self.cpu_ns as f64 / self.wall_ns as f64
    }

    /// Consumer thread CPU time / wall time: near 1 when the receiver spins
    /// through the gaps instead of parking (in [`Shape::Shared`], the
    /// consumers' time together: up to T).
    pub fn rx_cpu_per_wall(&self) -> f64 {
        self.rx_cpu_ns as f64 / self.wall_ns as f64
    }

    /// Parses a cell's line: a [`Measurement`], or `None` for
    /// [`NOT_AVAILABLE`].
    pub fn parse_cell(line: &str) -> Result<Option<Measurement>, String> {
        match line.trim().strip_prefix(MARK).map(str::trim) {
            Some(NOT_AVAILABLE) => Ok(None),
            _ => Measurement::parse(line).map(Some),
        }
    }

    /// Parses the line [`Measurement`]'s `Display` prints (`MARK` and
    /// `key=value` pairs).
    pub fn parse(line: &str) -> Result<Measurement, String> {
        let rest = line
            .trim()
            .strip_prefix(MARK)
            .ok_or_else(|| format!("not a cell line: {line:?}"))?;
        let mut m = Measurement {
            messages: 0,
            p50_ns: 0,
            p99_ns: 0,
            p999_ns: 0,
            max_ns: 0,
            wall_ns: 0,
            cpu_ns: 0,
            rx_cpu_ns: 0,
        };
        let mut seen = 0;
        for pair in rest.split_whitespace() {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("bad pair {pair:?}"))?;
            let value: u64 = value.parse().map_err(|_| format!("bad value {pair:?}"))?;
            let field = match key {
                "messages" => &mut m.messages,
                "p50_ns" => &mut m.p50_ns,
                "p99_ns" => &mut m.p99_ns,
                "p999_ns" => &mut m.p999_ns,
                "max_ns" => &mut m.max_ns,
                "wall_ns" => &mut m.wall_ns,
                "cpu_ns" => &mut m.cpu_ns,
                "rx_cpu_ns" => &mut m.rx_cpu_ns,
                _ => return Err(format!("unknown key {key:?}")),
            };
            *field = value;
            seen += 1;
        }
        if seen != 8 || m.messages == 0 || m.wall_ns == 0 {
            return Err(format!("incomplete cell line: {line:?}"));
        }
        Ok(m)
    }
}

impl fmt::Display for Measurement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{MARK} messages={} p50_ns={} p99_ns={} p999_ns={} max_ns={} wall_ns={} cpu_ns={} rx_cpu_ns={}",
            self.messages,
            self.p50_ns,
            self.p99_ns,
            self.p999_ns,
            self.max_ns,
            self.wall_ns,
            self.cpu_ns,
            self.rx_cpu_ns
        )
    }
}

/// The message: its send time and its index in the producer's sequence. The
/// index sums to a checksum, so a lost or duplicated message fails the cell
/// instead of leaving a flattering hole in the samples.
#[derive(Clone, Copy)]
struct Stamped {
    sent_ns: u64,
    seq: u64,
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime({clock}) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// `CLOCK_MONOTONIC` in ns: the time base of the stamps and of the pacing
/// deadlines. It is the clock `Instant` reads (through the vDSO, no system
/// call), taken directly so that the deadlines can be handed to
/// `clock_nanosleep` as absolute times.
pub fn monotonic_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// User + system CPU time of the whole process (every thread), ns.
pub fn process_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// CPU time of the calling thread, ns.
pub fn thread_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// Sleeps until `CLOCK_MONOTONIC` reaches `deadline_ns`, or returns at once
/// (without a system call) when it already has.
///
/// An absolute deadline rather than `thread::sleep(gap)`: a late wake-up
/// shortens the next sleep instead of pushing every later message back, so
/// pacing errors do not accumulate and the average rate stays T/G.
fn sleep_until(deadline_ns: u64) {
    if monotonic_ns() >= deadline_ns {
        return;
    }
    let ts = libc::timespec {
        tv_sec: (deadline_ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (deadline_ns % 1_000_000_000) as libc::c_long,
    };
    loop {
        // SAFETY: `ts` is a valid timespec; the remaining-time pointer may be
        // null with TIMER_ABSTIME.
        let rc = unsafe {
            libc::clock_nanosleep(
                libc::CLOCK_MONOTONIC,
                libc::TIMER_ABSTIME,
                &ts,
                std::ptr::null_mut(),
            )
        };
        match rc {
            0 => return,
            libc::EINTR => continue,
            e => panic!("clock_nanosleep failed: error {e}"),
        }
    }
}

/// Shrinks the calling thread's timer slack from Linux's default 50 us to
/// 1 ns: with the default, a 50 us sleep ends anywhere up to 50 us late and
/// the pacing would be mostly slack.
fn tight_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes one unsigned long and affects only the
    // calling thread. Failure (not Linux-like) merely leaves the default slack.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
    }
}

/// The loop of paced producer `i` of `p.producers`: one message per gap on
/// absolute deadlines counted from `start_ns`, each stamped right before it
/// is handed to `send`.
fn paced_producer(i: usize, p: LatParams, start_ns: u64, mut send: impl FnMut(Stamped)) {
    tight_timer_slack();
    // Producers are spread evenly over a gap, so the consumer sees one
    // message every G/T rather than T at once: the question is the cost of
    // waking a waiting receiver, which bursts would hide.
    let first = start_ns + LEAD_IN_NS + p.gap_ns * i as u64 / p.producers as u64;
    for seq in 0..p.per_producer as u64 {
        sleep_until(first + seq * p.gap_ns);
        let sent_ns = monotonic_ns();
        send(Stamped { sent_ns, seq });
    }
}

/// Runs the paced producers' schedule without a channel (each message is
/// dropped where it would be sent) and returns the process CPU and wall time
/// (latency fields zero): the share of a paced cell's CPU columns that is
/// the pacing itself, the same for every contender. With a 50 us gap on a
/// virtual machine, the timer wake-ups alone can keep a CPU busy.
pub fn pacing_only(p: LatParams) -> Measurement {
    let wall0 = monotonic_ns();
    let cpu0 = process_cpu_ns();
    let rx_cpu0 = thread_cpu_ns();
    thread::scope(|s| {
        for i in 0..p.producers {
            s.spawn(move || {
                paced_producer(i, p, wall0, |m| {
                    std::hint::black_box(m);
                })
            });
        }
    });
    Measurement {
        messages: (p.producers * p.per_producer) as u64,
        p50_ns: 0,
        p99_ns: 0,
        p999_ns: 0,
        max_ns: 0,
        rx_cpu_ns: thread_cpu_ns() - rx_cpu0,
        cpu_ns: process_cpu_ns() - cpu0,
        wall_ns: monotonic_ns() - wall0,
    }
}

/// Order statistic of rank ceil(n * permille / 1000) (nearest-rank
/// percentile, exact and in integers) of `sorted`, which is not empty.
fn nearest_rank(sorted: &[u64], permille: usize) -> u64 {
    let n = sorted.len();
    let rank = (n * permille).div_ceil(1000).clamp(1, n);
    sorted[rank - 1]
}

/// Runs one latency cell for contender `C` and returns what it measured.
///
/// The calling thread is the consumer. Every message is stamped with
/// [`monotonic_ns`] right before the `send` call and its latency is taken
/// right after `recv` returns, so it includes the time the sender spent
/// blocked in `send` (on `bounded(0)`, waiting for the consumer).
///
/// # Panics
/// If a message is lost or duplicated.
pub fn run<C: Channel>(shape: Shape, flavor: Flavor, p: LatParams) -> Measurement {
    let (tx, rx) = flavor.make::<C, Stamped>();
    let wall0 = monotonic_ns();
    let cpu0 = process_cpu_ns();
    let rx_cpu0 = thread_cpu_ns();
    let (latencies, seq_sum) = thread::scope(|s| {
        for i in 0..p.producers {
            let tx = tx.clone();
            s.spawn(move || match shape {
                Shape::Paced => paced_producer(i, p, wall0, |m| C::send(&tx, m)),
                Shape::FullSpeed | Shape::Shared => full_speed_producer(p, |m| C::send(&tx, m)),
            });
        }
        drop(tx);
        consume(p.producers * p.per_producer, || C::recv(&rx))
    });
    let rx_cpu_ns = thread_cpu_ns() - rx_cpu0;
    let cpu_ns = process_cpu_ns() - cpu0;
    let wall_ns = monotonic_ns() - wall0;
    measurement::<C>(p, latencies, seq_sum, wall_ns, cpu_ns, rx_cpu_ns)
}

/// The loop of a full-speed producer: its messages back to back, each
/// stamped right before it is handed to `send`.
fn full_speed_producer(p: LatParams, mut send: impl FnMut(Stamped)) {
    for seq in 0..p.per_producer as u64 {
        let sent_ns = monotonic_ns();
        send(Stamped { sent_ns, seq });
    }
}

/// A consumer's loop: receives until `recv` says the channel is
/// disconnected and empty; returns each message's latency, taken right
/// after `recv` returned, and the sum of the sequence numbers. Room for
/// `expected` samples is reserved up front, so that growing the vector
/// does not add to a latency.
fn consume(expected: usize, mut recv: impl FnMut() -> Option<Stamped>) -> (Vec<u64>, u64) {
    let mut latencies = Vec::with_capacity(expected);
    let mut seq_sum = 0u64;
    while let Some(m) = recv() {
        let now = monotonic_ns();
        latencies.push(now.saturating_sub(m.sent_ns));
        seq_sum = seq_sum.wrapping_add(m.seq);
    }
    (latencies, seq_sum)
}

/// [`Shape::Shared`]: as the full-speed shape of [`run`], with T consumer
/// threads sharing the channel (the calling thread only waits). Each
/// consumer measures its own CPU time; `rx_cpu_ns` is their sum.
///
/// # Panics
/// If a message is lost or duplicated.
pub fn run_shared<C: MultiConsumer>(flavor: Flavor, p: LatParams) -> Measurement {
    let (tx, rx) = flavor.make::<C, Stamped>();
    let wall0 = monotonic_ns();
    let cpu0 = process_cpu_ns();
    let consumers: Vec<(Vec<u64>, u64, u64)> = thread::scope(|s| {
        for _ in 0..p.producers {
            let tx = tx.clone();
            s.spawn(move || full_speed_producer(p, |m| C::send(&tx, m)));
        }
        drop(tx);
        let consumers: Vec<_> = (0..p.producers)
            .map(|_| {
                let rx = C::clone_rx(&rx);
                s.spawn(move || {
                    let rx_cpu0 = thread_cpu_ns();
                    // Twice a fair share: consumers rarely get equal shares.
                    let share = 2 * p.per_producer;
                    let (latencies, seq_sum) = consume(share, || C::recv(&rx));
                    (latencies, seq_sum, thread_cpu_ns() - rx_cpu0)
                })
            })
            .collect();
        drop(rx);
        consumers
            .into_iter()
            .map(|c| c.join().expect("a consumer panicked"))
            .collect()
    });
    let cpu_ns = process_cpu_ns() - cpu0;
    let wall_ns = monotonic_ns() - wall0;
    let mut latencies = Vec::with_capacity(p.producers * p.per_producer);
    let (mut seq_sum, mut rx_cpu_ns) = (0u64, 0u64);
    for (mine, sum, cpu) in consumers {
        latencies.extend(mine);
        seq_sum = seq_sum.wrapping_add(sum);
        rx_cpu_ns += cpu;
    }
    measurement::<C>(p, latencies, seq_sum, wall_ns, cpu_ns, rx_cpu_ns)
}

/// Checks that every message arrived once and reduces the samples to a
/// [`Measurement`].
///
/// # Panics
/// If a message is lost or duplicated.
fn measurement<C: Channel>(
    p: LatParams,
    mut latencies: Vec<u64>,
    seq_sum: u64,
    wall_ns: u64,
    cpu_ns: u64,
    rx_cpu_ns: u64,
) -> Measurement {
    let total = p.producers * p.per_producer;
    let per = p.per_producer as u64;
    let expected = (per * per.saturating_sub(1) / 2).wrapping_mul(p.producers as u64);
    assert_eq!(latencies.len(), total, "{}: message count is off", C::NAME);
    assert_eq!(
        seq_sum,
        expected,
        "{}: received sequence numbers do not add up",
        C::NAME
    );

    latencies.sort_unstable();
    Measurement {
        messages: total as u64,
        p50_ns: nearest_rank(&latencies, 500),
        p99_ns: nearest_rank(&latencies, 990),
        p999_ns: nearest_rank(&latencies, 999),
        max_ns: *latencies.last().expect("no message sent"),
        wall_ns,
        cpu_ns,
        rx_cpu_ns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_is_exact() {
        let v: Vec<u64> = (1..=1000).collect();
        assert_eq!(nearest_rank(&v, 500), 500);
        assert_eq!(nearest_rank(&v, 990), 990);
        assert_eq!(nearest_rank(&v, 999), 999);
        assert_eq!(nearest_rank(&[7], 999), 7);
        assert_eq!(nearest_rank(&[1, 2], 500), 1);
    }

    #[test]
    fn measurement_round_trips() {
        let m = Measurement {
            messages: 10,
            p50_ns: 1,
            p99_ns: 2,
            p999_ns: 3,
            max_ns: 4,
            wall_ns: 5,
            cpu_ns: 6,
            rx_cpu_ns: 7,
        };
        assert_eq!(Measurement::parse(&m.to_string()), Ok(m));
        assert_eq!(Measurement::parse_cell(&m.to_string()), Ok(Some(m)));
        let na = format!("{MARK} {NOT_AVAILABLE}");
        assert_eq!(Measurement::parse_cell(&na), Ok(None));
        assert!(Measurement::parse(&na).is_err());
    }

    #[test]
    fn every_message_is_measured() {
        let p = LatParams {
            producers: 2,
            per_producer: 50,
            gap_ns: 20_000,
        };
        for shape in Shape::ALL {
            for &flavor in shape.flavors() {
                for (name, run) in CONTENDERS {
                    let Some(m) = run(shape, flavor, p) else {
                        assert_eq!((name, shape), (Std::NAME, Shape::Shared));
                        continue;
                    };
                    assert_eq!(m.messages, 100);
                    assert!(m.p50_ns <= m.p99_ns && m.p99_ns <= m.p999_ns && m.p999_ns <= m.max_ns);
                }
            }
        }
        let m = pacing_only(p);
        assert_eq!(m.messages, 100);
        assert!(m.wall_ns >= 49 * p.gap_ns);
    }
}
