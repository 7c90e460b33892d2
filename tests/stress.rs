//! Stress tests: many producers and consumers mixing every kind of send and
//! receive (blocking, `try_`, timed, `Select`, `select!`), with random early
//! disconnects, over every flavor and over several channels at once. The
//! `stress_async_*` tests mix threads with tasks on a multi-thread tokio
//! runtime that use the async API (`send_async`, `recv_async`, `Sink`,
//! `Stream`, `select_async`, `ready_async`), cancelling futures at random
//! points. The `stress_close_*` tests close the channel in the middle of
//! the traffic (`Sender::close`, `Receiver::close`, `close_and_drain`, by a
//! producer, a consumer or a thread of its own), with `send_all`,
//! `try_send_all`, `recv_many`, `try_recv_many`, `recv_many_timeout` and
//! `drain` mixed in, and producers and consumers that hold weak handles.
//!
//! Every message counts its construction and its drop, and remembers whether
//! it was *settled* (received by a consumer, or given up by its producer
//! after a failed send). A message dropped unsettled was still inside a
//! channel when the channel went. At the end each test checks:
//! - constructions == drops (no leak, no double drop);
//! - received + dropped-inside-the-channel == successfully sent, with no
//!   duplicates (nothing lost, nothing delivered twice);
//! - every consumer saw each producer's messages (per channel) in increasing
//!   order;
//! - every failed send gave back the very message it was given;
//! - a cancelled async send either sent its message or dropped it with the
//!   future (never both: the drop is then counted as the producer's);
//! - disconnection is only reported once the other side is really gone
//!   (or, in the close runs, someone closed the channel);
//! - in the close runs, also: a message left in the channel is dropped only
//!   once it has no receiver; a failed `send_all`/`try_send_all` gives back
//!   exactly the unsent messages, in order; no send succeeds once its
//!   thread has seen the channel closed (a close returned, `is_closed()`,
//!   or a refused send); no receive gets a message once a
//!   `close_and_drain` has returned, nor leaves one behind.
//!
//! `CHAN_STRESS_SCALE=<n>` multiplies the message counts (a soak run);
//! `CHAN_STRESS_SEED=<n>` varies the seeds of the close runs;
//! `CHAN_STRESS_VERBOSE=1` prints per-run figures (run with `--nocapture`).
//! Under miri the counts and thread numbers are tiny.

mod common;

use chan::{
    after, never, select, tick, Receiver, RecvTimeoutError, Select, SendAllError, SendError,
    SendTimeoutError, Sender, TryRecvError, TrySendError, WeakReceiver, WeakSender,
};
use common::{within, Flavor, Rng};
use futures::{SinkExt, StreamExt};
use std::borrow::Cow;
use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/// Identifies a message: (producer, sequence number). A producer numbers its
/// messages 0, 1, 2, ... in the order it creates them.
type Key = (usize, u64);

/// Per-run bookkeeping shared by every message of that run.
struct Counters {
    created: AtomicUsize,
    dropped: AtomicUsize,
    /// Keys of messages dropped without being settled: they were still in a
    /// channel when its last receiver went.
    unsettled_drops: Mutex<Vec<Key>>,
    /// Messages dropped without being settled while a consumer was still
    /// there: lost by a channel (always a bug).
    premature_drops: AtomicUsize,
    /// Number of consumer threads.
    consumers: usize,
    /// Consumers that finished; each counts itself before dropping its
    /// receivers.
    consumers_done: AtomicUsize,
    /// If set, a weak handle to the run's one channel: an unsettled drop is
    /// premature if that channel still has a receiver (instead of a
    /// consumer thread still being there). Taken out at the end of the run.
    watch: Option<Mutex<Option<WeakReceiver<Msg>>>>,
}

impl Counters {
    fn new(consumers: usize) -> Arc<Counters> {
        Arc::new(Counters {
            created: AtomicUsize::new(0),
            dropped: AtomicUsize::new(0),
            unsettled_drops: Mutex::new(Vec::new()),
            premature_drops: AtomicUsize::new(0),
            consumers,
            consumers_done: AtomicUsize::new(0),
            watch: None,
        })
    }

    /// Counters whose messages may be dropped unsettled only once
    /// `channel` has no receiver left (see [`Counters::watch`]).
    fn watching(channel: WeakReceiver<Msg>) -> Arc<Counters> {
        Arc::new(Counters {
            created: AtomicUsize::new(0),
            dropped: AtomicUsize::new(0),
            unsettled_drops: Mutex::new(Vec::new()),
            premature_drops: AtomicUsize::new(0),
            consumers: 0,
            consumers_done: AtomicUsize::new(0),
            watch: Some(Mutex::new(Some(channel))),
        })
    }

    /// True if an unsettled message dropped now was lost by the channel.
    fn drop_is_premature(&self) -> bool {
        match &self.watch {
            // The last receiver's drop counts the receivers down to zero
            // before it discards the messages, and the count never rises
            // from zero again.
            Some(watch) => watch
                .lock()
                .unwrap()
                .as_ref()
                .is_some_and(|channel| channel.receiver_count() != 0),
            None => self.consumers_done.load(Ordering::SeqCst) < self.consumers,
        }
    }
}

/// The stressed message. Not `common::Tracked`: it also records whether it
/// was settled and who was still alive when it was dropped.
struct Msg {
    key: Key,
    settled: bool,
    counters: Arc<Counters>,
}

impl Msg {
    fn new(key: Key, counters: &Arc<Counters>) -> Msg {
        counters.created.fetch_add(1, Ordering::SeqCst);
        Msg {
            key,
            settled: false,
            counters: counters.clone(),
        }
    }

    /// Marks the message as accounted for by its holder, then drops it.
    fn settle(mut self) {
        self.settled = true;
    }
}

impl Drop for Msg {
    fn drop(&mut self) {
        self.counters.dropped.fetch_add(1, Ordering::SeqCst);
        if !self.settled && CANCELLING.with(Cell::get) {
            // Dropped with a cancelled send future or sink, by its
            // producer: given up, like a message it settled.
            DROPPED_BY_CANCEL.with(|keys| keys.set(Some(self.key)));
            return;
        }
        if !self.settled {
            // Only a channel whose receivers are all gone may drop a
            // message nobody received.
            if self.counters.drop_is_premature() {
                self.counters.premature_drops.fetch_add(1, Ordering::SeqCst);
            }
            self.counters.unsettled_drops.lock().unwrap().push(self.key);
        }
    }
}

thread_local! {
    /// Set while a producer drops a cancelled async send (see
    /// [`drop_cancelled`]).
    static CANCELLING: Cell<bool> = const { Cell::new(false) };
    /// The key of the message such a drop dropped, if it held one.
    static DROPPED_BY_CANCEL: Cell<Option<Key>> = const { Cell::new(None) };
}

/// Drops `cancelled`, a send future (or sink) that did not complete, in
/// one synchronous step, and tells whether it dropped its message:
/// `Failed::Dropped` if it did (the send did not happen), `Ok` if it held
/// none (a zero channel's receiver took it: the send happened).
fn drop_cancelled<F>(cancelled: F, key: Key) -> Result<(), Failed> {
    CANCELLING.with(|c| c.set(true));
    drop(cancelled);
    CANCELLING.with(|c| c.set(false));
    match DROPPED_BY_CANCEL.with(Cell::take) {
        Some(dropped) => {
            assert_eq!(dropped, key, "a cancelled send dropped another message");
            Err(Failed::Dropped)
        }
        None => Ok(()),
    }
}

/// The multiplier from `CHAN_STRESS_SCALE` (default 1).
fn scale() -> u64 {
    std::env::var("CHAN_STRESS_SCALE")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1)
}

/// (producers, consumers) combinations; more threads than the machine's
/// cores in the larger ones.
fn thread_combos() -> &'static [(usize, usize)] {
    if cfg!(miri) {
        &[(1, 1), (2, 2)]
    } else {
        &[(1, 1), (4, 1), (1, 4), (4, 4), (8, 8)]
    }
}

/// Messages each producer attempts in one run, before scaling.
fn per_producer_base() -> u64 {
    if cfg!(miri) {
        20
    } else {
        2000
    }
}

/// A hang detector's limit for [`within`], far above the normal run time.
fn hang_limit() -> Duration {
    Duration::from_secs(120 * scale())
}

/// The outcome of one send attempt that did not deliver the message.
enum Failed {
    /// Full, timed out, or the timer arm won: the message came back and may
    /// be retried.
    Retry(Msg),
    /// The channel is disconnected; the message came back.
    Disconnected(Msg),
    /// An async send was cancelled and its message dropped with it (see
    /// [`drop_cancelled`]): given up.
    Dropped,
}

/// What a producer thread reports.
#[derive(Default)]
struct ProducerReport {
    /// Sequence numbers sent successfully, in order.
    sent: Vec<u64>,
    /// Messages created but never delivered (given up after failed sends).
    abandoned: u64,
    /// Failed sends (each gave the message back).
    given_back: u64,
    /// Cancelled async sends that dropped their message (also counted in
    /// `abandoned`).
    dropped_by_cancel: u64,
}

/// What a consumer thread reports.
#[derive(Default)]
struct ConsumerReport {
    received: Vec<Key>,
}

/// Checks a received message against the order seen so far on `stream`
/// (a producer, or a producer on one channel), records and settles it.
fn accept(msg: Msg, stream: usize, last: &mut HashMap<usize, u64>, report: &mut ConsumerReport) {
    let seq = msg.key.1;
    if let Some(&prev) = last.get(&stream) {
        assert!(
            seq > prev,
            "stream {stream}: received {seq} after {prev} (order broken or duplicate)"
        );
    }
    last.insert(stream, seq);
    report.received.push(msg.key);
    msg.settle();
}

/// Final accounting shared by every test.
fn check_totals(
    counters: &Counters,
    producers: &[ProducerReport],
    consumers: &[ConsumerReport],
    label: &str,
) {
    assert_eq!(
        counters.premature_drops.load(Ordering::SeqCst),
        0,
        "{label}: a channel dropped messages while a receiver was still alive"
    );
    let created = counters.created.load(Ordering::SeqCst);
    let dropped = counters.dropped.load(Ordering::SeqCst);
    assert_eq!(created, dropped, "{label}: constructions != drops");

    let mut sent: Vec<Key> = Vec::new();
    let mut abandoned = 0;
    for (p, report) in producers.iter().enumerate() {
        sent.extend(report.sent.iter().map(|&seq| (p, seq)));
        abandoned += report.abandoned;
    }
    assert_eq!(
        created as u64,
        sent.len() as u64 + abandoned,
        "{label}: created != sent + abandoned"
    );

    let mut delivered: Vec<Key> = counters.unsettled_drops.lock().unwrap().clone();
    let leftovers = delivered.len();
    for report in consumers {
        delivered.extend_from_slice(&report.received);
    }
    sent.sort_unstable();
    delivered.sort_unstable();
    for pair in delivered.windows(2) {
        assert_ne!(pair[0], pair[1], "{label}: message delivered twice");
    }
    if sent != delivered {
        let missing: Vec<_> = sent
            .iter()
            .filter(|k| delivered.binary_search(k).is_err())
            .take(10)
            .collect();
        let extra: Vec<_> = delivered
            .iter()
            .filter(|k| sent.binary_search(k).is_err())
            .take(10)
            .collect();
        panic!(
            "{label}: received + leftovers != sent ({} vs {}; {leftovers} leftovers); \
             missing {missing:?}, unexpected {extra:?}",
            delivered.len(),
            sent.len()
        );
    }
}

// ---------------------------------------------------------------------------
// One channel, many threads
// ---------------------------------------------------------------------------

/// Which threads stop before the end of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Early {
    /// Nobody: every message sent is received, no send sees a disconnect.
    Never,
    /// Some producers and some consumers, at random points.
    Some,
    /// Some producers, and every consumer: the channel is disconnected with
    /// messages still inside, and producers see the disconnection.
    AllConsumers,
}

const EARLY: [Early; 3] = [Early::Never, Early::Some, Early::AllConsumers];

/// Shared state of one single-channel run.
struct Run {
    counters: Arc<Counters>,
    producers: usize,
    producers_done: AtomicUsize,
    /// Which threads may stop early.
    early: Early,
}

/// One send attempt of `msg` on `s`, by a randomly chosen method.
fn send_once(
    s: &Sender<Msg>,
    msg: Msg,
    rng: &mut Rng,
    ticker: &Receiver<std::time::Instant>,
) -> Result<(), Failed> {
    match rng.below(8) {
        0 | 1 => s.send(msg).map_err(|SendError(m)| Failed::Disconnected(m)),
        2 => s.try_send(msg).map_err(|e| match e {
            TrySendError::Full(m) => Failed::Retry(m),
            TrySendError::Disconnected(m) => Failed::Disconnected(m),
        }),
        3 => s.send_timeout(msg, rng.micros(300)).map_err(|e| match e {
            SendTimeoutError::Timeout(m) => Failed::Retry(m),
            SendTimeoutError::Disconnected(m) => Failed::Disconnected(m),
        }),
        4 => {
            // Select builder: the send against a one-shot timer.
            let timer = after(rng.micros(300));
            let mut sel = Select::new();
            let si = sel.send(s);
            let ti = sel.recv(&timer);
            let oper = sel.select();
            if oper.index() == si {
                oper.send(s, msg)
                    .map_err(|SendError(m)| Failed::Disconnected(m))
            } else {
                assert_eq!(oper.index(), ti);
                assert!(oper.recv(&timer).is_ok(), "timer channel disconnected");
                Err(Failed::Retry(msg))
            }
        }
        5 => {
            // Select builder: try_select or select_timeout, or ready + try_send.
            let mut sel = Select::new();
            let si = sel.send(s);
            match rng.below(3) {
                0 => match sel.try_select() {
                    Ok(oper) => {
                        assert_eq!(oper.index(), si);
                        oper.send(s, msg)
                            .map_err(|SendError(m)| Failed::Disconnected(m))
                    }
                    Err(_) => Err(Failed::Retry(msg)),
                },
                1 => match sel.select_timeout(rng.micros(300)) {
                    Ok(oper) => {
                        assert_eq!(oper.index(), si);
                        oper.send(s, msg)
                            .map_err(|SendError(m)| Failed::Disconnected(m))
                    }
                    Err(_) => Err(Failed::Retry(msg)),
                },
                _ => match sel.ready_timeout(rng.micros(300)) {
                    Ok(i) => {
                        assert_eq!(i, si);
                        // Readiness is only a hint: another thread may take
                        // the room first.
                        s.try_send(msg).map_err(|e| match e {
                            TrySendError::Full(m) => Failed::Retry(m),
                            TrySendError::Disconnected(m) => Failed::Disconnected(m),
                        })
                    }
                    Err(_) => Err(Failed::Retry(msg)),
                },
            }
        }
        6 => {
            // select! with a default timeout. The message expression runs
            // only if the send arm wins.
            let mut slot = Some(msg);
            select! {
                send(s, slot.take().unwrap()) -> res => {
                    res.map_err(|SendError(m)| Failed::Disconnected(m))
                }
                default(rng.micros(300)) => Err(Failed::Retry(slot.take().unwrap())),
            }
        }
        _ => {
            // select! against a periodic timer.
            let mut slot = Some(msg);
            select! {
                send(s, slot.take().unwrap()) -> res => {
                    res.map_err(|SendError(m)| Failed::Disconnected(m))
                }
                recv(ticker) -> t => {
                    assert!(t.is_ok(), "tick channel disconnected");
                    Err(Failed::Retry(slot.take().unwrap()))
                }
            }
        }
    }
}

/// What one receive attempt produced.
enum Got {
    Msg(Msg),
    Nothing,
    Disconnected,
}

/// One receive attempt on `r`, by a randomly chosen method.
fn recv_once(r: &Receiver<Msg>, rng: &mut Rng, ticker: &Receiver<std::time::Instant>) -> Got {
    match rng.below(8) {
        0 | 1 => match r.recv() {
            Ok(m) => Got::Msg(m),
            Err(_) => Got::Disconnected,
        },
        2 => match r.try_recv() {
            Ok(m) => Got::Msg(m),
            Err(TryRecvError::Empty) => {
                thread::yield_now();
                Got::Nothing
            }
            Err(TryRecvError::Disconnected) => Got::Disconnected,
        },
        3 => match r.recv_timeout(rng.micros(300)) {
            Ok(m) => Got::Msg(m),
            Err(RecvTimeoutError::Timeout) => Got::Nothing,
            Err(RecvTimeoutError::Disconnected) => Got::Disconnected,
        },
        4 => {
            // Select builder against a periodic timer.
            let mut sel = Select::new();
            let ti = sel.recv(ticker);
            let ri = sel.recv(r);
            let oper = sel.select();
            if oper.index() == ri {
                match oper.recv(r) {
                    Ok(m) => Got::Msg(m),
                    Err(_) => Got::Disconnected,
                }
            } else {
                assert_eq!(oper.index(), ti);
                assert!(oper.recv(ticker).is_ok(), "tick channel disconnected");
                Got::Nothing
            }
        }
        5 => {
            // Select builder: try_select, select_timeout, or ready + try_recv.
            let mut sel = Select::new();
            let ri = sel.recv(r);
            let oper = match rng.below(3) {
                0 => sel.try_select().ok(),
                1 => sel.select_timeout(rng.micros(300)).ok(),
                _ => {
                    return match sel.ready_timeout(rng.micros(300)) {
                        Ok(i) => {
                            assert_eq!(i, ri);
                            match r.try_recv() {
                                Ok(m) => Got::Msg(m),
                                Err(TryRecvError::Empty) => Got::Nothing,
                                Err(TryRecvError::Disconnected) => Got::Disconnected,
                            }
                        }
                        Err(_) => Got::Nothing,
                    }
                }
            };
            match oper {
                Some(oper) => {
                    assert_eq!(oper.index(), ri);
                    match oper.recv(r) {
                        Ok(m) => Got::Msg(m),
                        Err(_) => Got::Disconnected,
                    }
                }
                None => Got::Nothing,
            }
        }
        6 => select! {
            recv(r) -> m => match m {
                Ok(m) => Got::Msg(m),
                Err(_) => Got::Disconnected,
            },
            default(rng.micros(300)) => Got::Nothing,
        },
        _ => {
            // select! against a one-shot timer.
            let timer = after(rng.micros(300));
            select! {
                recv(r) -> m => match m {
                    Ok(m) => Got::Msg(m),
                    Err(_) => Got::Disconnected,
                },
                recv(timer) -> t => {
                    assert!(t.is_ok(), "after channel disconnected");
                    Got::Nothing
                }
            }
        }
    }
}

fn producer(run: &Run, id: usize, s: Sender<Msg>, count: u64, seed: u64) -> ProducerReport {
    let mut rng = Rng::new(seed);
    let ticker = tick(Duration::from_micros(200));
    let report = produce(run, id, count, &mut rng, |msg, rng| {
        send_once(&s, msg, rng, &ticker)
    });
    // Count ourselves out before the sender goes, so that a consumer that
    // sees the disconnection can check everybody left.
    run.producers_done.fetch_add(1, Ordering::SeqCst);
    drop(s);
    report
}

/// The work of a producer: makes `count` messages (fewer if it stops
/// early) and delivers each with `send` (one attempt per call), retrying,
/// giving up, or stopping at a disconnection.
fn produce(
    run: &Run,
    id: usize,
    count: u64,
    rng: &mut Rng,
    mut send: impl FnMut(Msg, &mut Rng) -> Result<(), Failed>,
) -> ProducerReport {
    let mut report = ProducerReport::default();
    'messages: for seq in 0..producer_count(run, count, rng) {
        let key = (id, seq);
        let mut msg = Msg::new(key, &run.counters);
        loop {
            let outcome = send(msg, rng);
            match settle_attempt(run, key, outcome, rng, &mut report) {
                Attempt::Retry(m) => msg = m,
                Attempt::Next => break,
                Attempt::Stop => break 'messages,
            }
        }
    }
    report
}

/// How many messages a producer makes: `count`, or fewer if it stops
/// early (and drops its sender while others go on).
fn producer_count(run: &Run, count: u64, rng: &mut Rng) -> u64 {
    if run.early != Early::Never && rng.chance(40) {
        rng.below(count + 1)
    } else {
        count
    }
}

/// What a producer does after one send attempt.
enum Attempt {
    /// Try this message again.
    Retry(Msg),
    /// On to the next message.
    Next,
    /// The channel is disconnected: stop.
    Stop,
}

/// Records the `outcome` of one attempt to send message `key` in `report`,
/// checking it, and decides what comes next.
fn settle_attempt(
    run: &Run,
    key: Key,
    outcome: Result<(), Failed>,
    rng: &mut Rng,
    report: &mut ProducerReport,
) -> Attempt {
    match outcome {
        Ok(()) => {
            report.sent.push(key.1);
            Attempt::Next
        }
        Err(Failed::Retry(m)) => {
            assert_eq!(m.key, key, "a failed send gave back another message");
            report.given_back += 1;
            if rng.chance(20) {
                report.abandoned += 1;
                m.settle();
                Attempt::Next
            } else {
                Attempt::Retry(m)
            }
        }
        Err(Failed::Dropped) => {
            report.abandoned += 1;
            report.dropped_by_cancel += 1;
            Attempt::Next
        }
        Err(Failed::Disconnected(m)) => {
            assert_eq!(m.key, key, "a failed send gave back another message");
            assert_ne!(
                run.early,
                Early::Never,
                "send reported disconnection with consumers alive"
            );
            assert_eq!(
                run.counters.consumers_done.load(Ordering::SeqCst),
                run.counters.consumers,
                "send reported disconnection before every consumer left"
            );
            report.given_back += 1;
            report.abandoned += 1;
            m.settle();
            Attempt::Stop
        }
    }
}

fn consumer(run: &Run, r: Receiver<Msg>, expected: u64, seed: u64) -> ConsumerReport {
    let mut rng = Rng::new(seed);
    let ticker = tick(Duration::from_micros(300));
    let mut report = ConsumerReport::default();
    let mut last = HashMap::new();
    // Some consumers stop early and drop their receiver.
    let stop_after = match run.early {
        Early::Never => None,
        Early::Some if rng.chance(60) => None,
        _ => Some(rng.below(expected + 1) as usize),
    };
    loop {
        if Some(report.received.len()) == stop_after {
            break;
        }
        match recv_once(&r, &mut rng, &ticker) {
            Got::Msg(m) => {
                let stream = m.key.0;
                accept(m, stream, &mut last, &mut report);
            }
            Got::Nothing => {}
            Got::Disconnected => {
                assert_eq!(
                    run.producers_done.load(Ordering::SeqCst),
                    run.producers,
                    "recv reported disconnection with producers alive"
                );
                assert!(r.is_empty(), "disconnected but not empty");
                assert!(matches!(r.try_recv(), Err(TryRecvError::Disconnected)));
                break;
            }
        }
    }
    run.counters.consumers_done.fetch_add(1, Ordering::SeqCst);
    drop(r);
    report
}

fn run_single(flavor: Flavor, producers: usize, consumers: usize, early: Early, seed: u64) {
    let per_producer = per_producer_base() * scale();
    let label = format!("{flavor:?} {producers}x{consumers} early={early:?}");
    let run = Arc::new(Run {
        counters: Counters::new(consumers),
        producers,
        producers_done: AtomicUsize::new(0),
        early,
    });
    let (s, r) = flavor.make();
    let expected = per_producer * producers as u64 / consumers as u64;
    let producer_threads: Vec<_> = (0..producers)
        .map(|id| {
            let (run, s) = (run.clone(), s.clone());
            let seed = seed ^ ((id as u64 + 1) << 8);
            thread::spawn(move || producer(&run, id, s, per_producer, seed))
        })
        .collect();
    let consumer_threads: Vec<_> = (0..consumers)
        .map(|id| {
            let (run, r) = (run.clone(), r.clone());
            let seed = seed ^ ((id as u64 + 1) << 24);
            thread::spawn(move || consumer(&run, r, expected, seed))
        })
        .collect();
    drop((s, r));
    finish(&run, producer_threads, consumer_threads, &label);
}

/// Joins a run's threads and checks its totals.
fn finish(
    run: &Run,
    producer_threads: Vec<thread::JoinHandle<ProducerReport>>,
    consumer_threads: Vec<thread::JoinHandle<ConsumerReport>>,
    label: &str,
) {
    let producer_reports: Vec<_> = producer_threads
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    let consumer_reports: Vec<_> = consumer_threads
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    finish_reports(run, &producer_reports, &consumer_reports, label);
}

/// Checks a run's totals from the reports of all its producers (in the
/// order of their ids) and consumers.
fn finish_reports(
    run: &Run,
    producer_reports: &[ProducerReport],
    consumer_reports: &[ConsumerReport],
    label: &str,
) {
    check_totals(&run.counters, producer_reports, consumer_reports, label);
    if std::env::var_os("CHAN_STRESS_VERBOSE").is_some() {
        let sent: usize = producer_reports.iter().map(|r| r.sent.len()).sum();
        let given_back: u64 = producer_reports.iter().map(|r| r.given_back).sum();
        let dropped_by_cancel: u64 = producer_reports.iter().map(|r| r.dropped_by_cancel).sum();
        let received: usize = consumer_reports.iter().map(|r| r.received.len()).sum();
        let leftovers = run.counters.unsettled_drops.lock().unwrap().len();
        eprintln!(
            "{label}: sent {sent}, received {received}, left in channel {leftovers}, \
             failed sends {given_back}, cancelled sends that dropped their message \
             {dropped_by_cancel}"
        );
    }
    if run.early == Early::Never {
        // Nobody stopped early: everything sent was received.
        assert!(
            run.counters.unsettled_drops.lock().unwrap().is_empty(),
            "{label}: messages left in a channel although every consumer drained it"
        );
    }
}

fn stress_flavor(flavor: Flavor, seed: u64) {
    within(hang_limit(), "stress run", move || {
        for (i, &(p, c)) in thread_combos().iter().enumerate() {
            for (j, &early) in EARLY.iter().enumerate() {
                run_single(flavor, p, c, early, seed + (i * EARLY.len() + j) as u64);
            }
        }
    });
}

#[test]
fn stress_zero() {
    stress_flavor(Flavor::Bounded(0), 0x1000);
}

#[test]
fn stress_bounded_one() {
    stress_flavor(Flavor::Bounded(1), 0x2000);
}

#[test]
fn stress_bounded_small() {
    stress_flavor(Flavor::Bounded(4), 0x3000);
}

#[test]
fn stress_unbounded() {
    stress_flavor(Flavor::Unbounded, 0x4000);
}

// ---------------------------------------------------------------------------
// Several channels, select on both sides
// ---------------------------------------------------------------------------

/// The channels of a select run: one of each flavor.
const FLAVORS: [Flavor; 4] = common::flavors(4);
const NCH: usize = FLAVORS.len();

/// A send attempt of a select producer: which channel took it.
fn select_send_once(
    senders: &[Sender<Msg>; NCH],
    msg: Msg,
    rng: &mut Rng,
    ticker: &Receiver<std::time::Instant>,
) -> Result<usize, Failed> {
    let [s0, s1, s2, s3] = senders;
    let disconnected = |SendError(m)| Failed::Disconnected(m);
    match rng.below(5) {
        0 => {
            // Plain blocking send on one channel: the consumers select over
            // all channels, so it cannot block forever.
            let k = rng.below(NCH as u64) as usize;
            senders[k].send(msg).map(|()| k).map_err(disconnected)
        }
        1 => {
            let k = rng.below(NCH as u64) as usize;
            senders[k].try_send(msg).map(|()| k).map_err(|e| match e {
                TrySendError::Full(m) => Failed::Retry(m),
                TrySendError::Disconnected(m) => Failed::Disconnected(m),
            })
        }
        2 => {
            // Select builder over all senders and a one-shot timer, in a
            // random order of registration.
            let timer = after(rng.micros(300));
            let mut sel = if rng.chance(50) {
                Select::new()
            } else {
                Select::new_biased()
            };
            let mut index = [usize::MAX; NCH];
            let first = rng.below(NCH as u64) as usize;
            for j in 0..NCH {
                let k = (first + j) % NCH;
                index[k] = sel.send(&senders[k]);
            }
            let ti = sel.recv(&timer);
            let oper = if rng.chance(50) {
                sel.select()
            } else {
                match sel.select_timeout(rng.micros(300)) {
                    Ok(oper) => oper,
                    Err(_) => return Err(Failed::Retry(msg)),
                }
            };
            let i = oper.index();
            if i == ti {
                assert!(oper.recv(&timer).is_ok(), "timer channel disconnected");
                return Err(Failed::Retry(msg));
            }
            let k = index.iter().position(|&x| x == i).expect("unknown index");
            oper.send(&senders[k], msg)
                .map(|()| k)
                .map_err(disconnected)
        }
        3 => {
            let mut slot = Some(msg);
            select! {
                send(s0, slot.take().unwrap()) -> res => res.map(|()| 0).map_err(disconnected),
                send(s1, slot.take().unwrap()) -> res => res.map(|()| 1).map_err(disconnected),
                send(s2, slot.take().unwrap()) -> res => res.map(|()| 2).map_err(disconnected),
                send(s3, slot.take().unwrap()) -> res => res.map(|()| 3).map_err(disconnected),
                recv(ticker) -> t => {
                    assert!(t.is_ok(), "tick channel disconnected");
                    Err(Failed::Retry(slot.take().unwrap()))
                }
            }
        }
        _ => {
            let mut slot = Some(msg);
            select! {
                send(s0, slot.take().unwrap()) -> res => res.map(|()| 0).map_err(disconnected),
                send(s1, slot.take().unwrap()) -> res => res.map(|()| 1).map_err(disconnected),
                send(s2, slot.take().unwrap()) -> res => res.map(|()| 2).map_err(disconnected),
                send(s3, slot.take().unwrap()) -> res => res.map(|()| 3).map_err(disconnected),
                default(rng.micros(300)) => Err(Failed::Retry(slot.take().unwrap())),
            }
        }
    }
}

fn select_producer(
    run: &Run,
    id: usize,
    senders: [Sender<Msg>; NCH],
    count: u64,
    seed: u64,
) -> ProducerReport {
    let mut rng = Rng::new(seed);
    let ticker = tick(Duration::from_micros(250));
    let report = produce(run, id, count, &mut rng, |msg, rng| {
        select_send_once(&senders, msg, rng, &ticker).map(|_channel| ())
    });
    run.producers_done.fetch_add(1, Ordering::SeqCst);
    drop(senders);
    report
}

fn select_consumer(
    run: &Run,
    receivers: [Receiver<Msg>; NCH],
    expected: u64,
    seed: u64,
) -> ConsumerReport {
    let mut rng = Rng::new(seed);
    let ticker = tick(Duration::from_micros(300));
    let mut report = ConsumerReport::default();
    let mut last = HashMap::new();
    let stop_after = match run.early {
        Early::Never => None,
        Early::Some if rng.chance(60) => None,
        _ => Some(rng.below(expected + 1) as usize),
    };
    // A disconnected channel is replaced by `never()`, so the select!
    // arms stay the same and never fire again.
    let [mut r0, mut r1, mut r2, mut r3] = receivers;
    let mut live = [true; NCH];

    let on_disconnect = |k: usize, live: &mut [bool; NCH]| {
        assert!(live[k], "channel {k} reported disconnection twice");
        assert_eq!(
            run.producers_done.load(Ordering::SeqCst),
            run.producers,
            "recv reported disconnection with producers alive"
        );
        live[k] = false;
    };

    while live.iter().any(|&l| l) {
        if Some(report.received.len()) == stop_after {
            break;
        }
        // (channel, result) of this attempt, if any.
        let got: Option<(usize, Result<Msg, ()>)> = match rng.below(4) {
            0 => {
                // A timed receive on one live channel.
                let k = rng.below(NCH as u64) as usize;
                let r = [&r0, &r1, &r2, &r3][k];
                match r.recv_timeout(rng.micros(300)) {
                    Ok(m) => Some((k, Ok(m))),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => Some((k, Err(()))),
                }
            }
            1 => {
                // Select builder over the live channels and the ticker.
                let rs = [&r0, &r1, &r2, &r3];
                let mut sel = if rng.chance(50) {
                    Select::new()
                } else {
                    Select::new_biased()
                };
                let ti = sel.recv(&ticker);
                let mut index = [usize::MAX; NCH];
                for k in 0..NCH {
                    if live[k] {
                        index[k] = sel.recv(rs[k]);
                    }
                }
                let oper = if rng.chance(50) {
                    Some(sel.select())
                } else {
                    sel.try_select().ok()
                };
                match oper {
                    None => {
                        thread::yield_now();
                        None
                    }
                    Some(oper) if oper.index() == ti => {
                        assert!(oper.recv(&ticker).is_ok(), "tick channel disconnected");
                        None
                    }
                    Some(oper) => {
                        let k = index
                            .iter()
                            .position(|&x| x == oper.index())
                            .expect("unknown index");
                        Some((k, oper.recv(rs[k]).map_err(drop)))
                    }
                }
            }
            2 => select! {
                recv(r0) -> m => Some((0, m.map_err(drop))),
                recv(r1) -> m => Some((1, m.map_err(drop))),
                recv(r2) -> m => Some((2, m.map_err(drop))),
                recv(r3) -> m => Some((3, m.map_err(drop))),
                recv(ticker) -> t => {
                    assert!(t.is_ok(), "tick channel disconnected");
                    None
                }
            },
            _ => select! {
                recv(r0) -> m => Some((0, m.map_err(drop))),
                recv(r1) -> m => Some((1, m.map_err(drop))),
                recv(r2) -> m => Some((2, m.map_err(drop))),
                recv(r3) -> m => Some((3, m.map_err(drop))),
                default(rng.micros(300)) => None,
            },
        };
        match got {
            None => {}
            Some((k, Ok(m))) => {
                assert!(live[k], "message from a channel replaced by never()");
                let stream = m.key.0 * NCH + k;
                accept(m, stream, &mut last, &mut report);
            }
            Some((k, Err(()))) => {
                on_disconnect(k, &mut live);
                match k {
                    0 => r0 = never(),
                    1 => r1 = never(),
                    2 => r2 = never(),
                    _ => r3 = never(),
                }
            }
        }
    }
    run.counters.consumers_done.fetch_add(1, Ordering::SeqCst);
    drop((r0, r1, r2, r3));
    report
}

fn run_select(producers: usize, consumers: usize, early: Early, seed: u64) {
    let per_producer = per_producer_base() * scale();
    let label = format!("select {producers}x{consumers} early={early:?}");
    let run = Arc::new(Run {
        counters: Counters::new(consumers),
        producers,
        producers_done: AtomicUsize::new(0),
        early,
    });
    let channels: Vec<_> = FLAVORS.iter().map(|f| f.make()).collect();
    let senders = || -> [Sender<Msg>; NCH] { std::array::from_fn(|k| channels[k].0.clone()) };
    let receivers = || -> [Receiver<Msg>; NCH] { std::array::from_fn(|k| channels[k].1.clone()) };
    let expected = per_producer * producers as u64 / consumers as u64;
    let producer_threads: Vec<_> = (0..producers)
        .map(|id| {
            let (run, s) = (run.clone(), senders());
            let seed = seed ^ ((id as u64 + 1) << 8);
            thread::spawn(move || select_producer(&run, id, s, per_producer, seed))
        })
        .collect();
    let consumer_threads: Vec<_> = (0..consumers)
        .map(|id| {
            let (run, r) = (run.clone(), receivers());
            let seed = seed ^ ((id as u64 + 1) << 24);
            thread::spawn(move || select_consumer(&run, r, expected, seed))
        })
        .collect();
    drop(channels);
    finish(&run, producer_threads, consumer_threads, &label);
}

#[test]
fn stress_select() {
    within(hang_limit(), "stress run", || {
        for (i, &(p, c)) in thread_combos().iter().enumerate() {
            for (j, &early) in EARLY.iter().enumerate() {
                run_select(p, c, early, 0x5000 + (i * EARLY.len() + j) as u64);
            }
        }
    });
}

// ---------------------------------------------------------------------------
// Async tasks and threads on one channel
// ---------------------------------------------------------------------------

/// Messages each producer attempts in one async run, before scaling.
fn per_producer_async() -> u64 {
    1000
}

/// (producer threads, producer tasks, consumer threads, consumer tasks):
/// tasks alone on either side, tasks against threads, and mixed.
const ASYNC_COMBOS: [(usize, usize, usize, usize); 6] = [
    (0, 1, 0, 1),
    (1, 0, 0, 1),
    (0, 1, 1, 0),
    (1, 1, 1, 1),
    (2, 2, 2, 2),
    (0, 4, 0, 4),
];

/// One async send attempt of `msg` on `s`, by a randomly chosen method,
/// some of which cancel the send at a random point.
async fn send_once_async(s: &Sender<Msg>, msg: Msg, rng: &mut Rng) -> Result<(), Failed> {
    let key = msg.key;
    let disconnected = |SendError(m)| Failed::Disconnected(m);
    match rng.below(8) {
        0 | 1 => s.send_async(msg).await.map_err(disconnected),
        2 => match s.try_send(msg) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(m)) => {
                tokio::task::yield_now().await;
                Err(Failed::Retry(m))
            }
            Err(TrySendError::Disconnected(m)) => Err(Failed::Disconnected(m)),
        },
        3 => {
            // Raced with a timeout. Cancelled by a drop, it sent its
            // message or dropped it; by `SendFuture::cancel`, it sent its
            // message or gives it back.
            let mut fut = s.send_async(msg);
            match tokio::time::timeout(rng.micros(300), &mut fut).await {
                Ok(res) => res.map_err(disconnected),
                Err(_) if rng.chance(50) => drop_cancelled(fut, key),
                Err(_) => match fut.cancel() {
                    Some(m) => Err(Failed::Retry(m)),
                    None => Ok(()),
                },
            }
        }
        4 => {
            // The timer is checked first, so a future woken by a receive
            // may be dropped without being polled again.
            let mut fut = s.send_async(msg);
            let sleep = tokio::time::sleep(rng.micros(300));
            let res = tokio::select! {
                biased;
                _ = sleep => None,
                res = &mut fut => Some(res),
            };
            match res {
                Some(res) => res.map_err(disconnected),
                None => drop_cancelled(fut, key),
            }
        }
        5 => {
            // A sink: `feed` hands the message over at once (the sink
            // keeps it if there is no room), `flush` waits until it is
            // sent; raced with a timeout, the sink is dropped holding it.
            let mut sink = s.sink();
            if let Err(SendError(m)) = sink.feed(msg).await {
                return Err(Failed::Disconnected(m));
            }
            let flushed = tokio::time::timeout(rng.micros(300), sink.flush()).await;
            match flushed {
                Ok(res) => res.map_err(disconnected),
                Err(_) => drop_cancelled(sink, key),
            }
        }
        6 => {
            // select_async: the send against a one-shot timer.
            let timer = after(rng.micros(300));
            let mut sel = Select::new();
            let si = sel.send(s);
            let ti = sel.recv(&timer);
            let oper = sel.select_async().await;
            if oper.index() == si {
                oper.send(s, msg).map_err(disconnected)
            } else {
                assert_eq!(oper.index(), ti);
                assert!(oper.recv(&timer).is_ok(), "timer channel disconnected");
                Err(Failed::Retry(msg))
            }
        }
        _ => {
            // select_async or ready_async raced with a timeout (a
            // cancelled select holds nothing; readiness is only a hint).
            let mut sel = Select::new();
            let si = sel.send(s);
            if rng.chance(50) {
                match tokio::time::timeout(rng.micros(300), sel.select_async()).await {
                    Ok(oper) => {
                        assert_eq!(oper.index(), si);
                        oper.send(s, msg).map_err(disconnected)
                    }
                    Err(_) => Err(Failed::Retry(msg)),
                }
            } else {
                match tokio::time::timeout(rng.micros(300), sel.ready_async()).await {
                    Ok(i) => {
                        assert_eq!(i, si);
                        s.try_send(msg).map_err(|e| match e {
                            TrySendError::Full(m) => Failed::Retry(m),
                            TrySendError::Disconnected(m) => Failed::Disconnected(m),
                        })
                    }
                    Err(_) => Err(Failed::Retry(msg)),
                }
            }
        }
    }
}

/// One async receive attempt on `r`, by a randomly chosen method, some of
/// which cancel the receive at a random point.
async fn recv_once_async(r: &Receiver<Msg>, rng: &mut Rng) -> Got {
    let got = |res: Result<Msg, chan::RecvError>| match res {
        Ok(m) => Got::Msg(m),
        Err(_) => Got::Disconnected,
    };
    match rng.below(8) {
        0 | 1 => got(r.recv_async().await),
        2 => match r.try_recv() {
            Ok(m) => Got::Msg(m),
            Err(TryRecvError::Empty) => {
                tokio::task::yield_now().await;
                Got::Nothing
            }
            Err(TryRecvError::Disconnected) => Got::Disconnected,
        },
        3 => match tokio::time::timeout(rng.micros(300), r.recv_async()).await {
            Ok(res) => got(res),
            Err(_) => Got::Nothing,
        },
        4 => {
            // The timer first: a woken future may be dropped unpolled.
            let sleep = tokio::time::sleep(rng.micros(300));
            let mut fut = r.recv_async();
            tokio::select! {
                biased;
                _ = sleep => Got::Nothing,
                res = &mut fut => got(res),
            }
        }
        5 => {
            let mut stream = r.stream();
            match tokio::time::timeout(rng.micros(300), stream.next()).await {
                Ok(Some(m)) => Got::Msg(m),
                Ok(None) => Got::Disconnected,
                Err(_) => Got::Nothing,
            }
        }
        6 => {
            // select_async: the receive against a one-shot timer.
            let timer = after(rng.micros(300));
            let mut sel = Select::new();
            let ti = sel.recv(&timer);
            let ri = sel.recv(r);
            let oper = sel.select_async().await;
            if oper.index() == ri {
                got(oper.recv(r))
            } else {
                assert_eq!(oper.index(), ti);
                assert!(oper.recv(&timer).is_ok(), "timer channel disconnected");
                Got::Nothing
            }
        }
        _ => {
            // ready_async raced with a timeout, then try_recv.
            let mut sel = Select::new();
            let ri = sel.recv(r);
            match tokio::time::timeout(rng.micros(300), sel.ready_async()).await {
                Ok(i) => {
                    assert_eq!(i, ri);
                    match r.try_recv() {
                        Ok(m) => Got::Msg(m),
                        Err(TryRecvError::Empty) => Got::Nothing,
                        Err(TryRecvError::Disconnected) => Got::Disconnected,
                    }
                }
                Err(_) => Got::Nothing,
            }
        }
    }
}

/// A producer task: [`produce`] with async sends.
async fn async_producer(
    run: Arc<Run>,
    id: usize,
    s: Sender<Msg>,
    count: u64,
    seed: u64,
) -> ProducerReport {
    let mut rng = Rng::new(seed);
    let mut report = ProducerReport::default();
    'messages: for seq in 0..producer_count(&run, count, &mut rng) {
        let key = (id, seq);
        let mut msg = Msg::new(key, &run.counters);
        loop {
            let outcome = send_once_async(&s, msg, &mut rng).await;
            match settle_attempt(&run, key, outcome, &mut rng, &mut report) {
                Attempt::Retry(m) => msg = m,
                Attempt::Next => break,
                Attempt::Stop => break 'messages,
            }
        }
    }
    run.producers_done.fetch_add(1, Ordering::SeqCst);
    drop(s);
    report
}

/// A consumer task: [`consumer`] with async receives.
async fn async_consumer(
    run: Arc<Run>,
    r: Receiver<Msg>,
    expected: u64,
    seed: u64,
) -> ConsumerReport {
    let mut rng = Rng::new(seed);
    let mut report = ConsumerReport::default();
    let mut last = HashMap::new();
    let stop_after = match run.early {
        Early::Never => None,
        Early::Some if rng.chance(60) => None,
        _ => Some(rng.below(expected + 1) as usize),
    };
    loop {
        if Some(report.received.len()) == stop_after {
            break;
        }
        match recv_once_async(&r, &mut rng).await {
            Got::Msg(m) => {
                let stream = m.key.0;
                accept(m, stream, &mut last, &mut report);
            }
            Got::Nothing => {}
            Got::Disconnected => {
                assert_eq!(
                    run.producers_done.load(Ordering::SeqCst),
                    run.producers,
                    "recv_async reported disconnection with producers alive"
                );
                assert!(r.is_empty(), "disconnected but not empty");
                assert!(matches!(r.try_recv(), Err(TryRecvError::Disconnected)));
                break;
            }
        }
    }
    run.counters.consumers_done.fetch_add(1, Ordering::SeqCst);
    drop(r);
    report
}

/// Awaits spawned tasks in order, resuming a task's panic here.
async fn join_tasks<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok(value) => out.push(value),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    out
}

fn run_async(flavor: Flavor, combo: (usize, usize, usize, usize), early: Early, seed: u64) {
    let (thread_producers, task_producers, thread_consumers, task_consumers) = combo;
    let producers = thread_producers + task_producers;
    let consumers = thread_consumers + task_consumers;
    let per_producer = per_producer_async() * scale();
    let label = format!(
        "{flavor:?} async, producers {thread_producers} threads + {task_producers} tasks, \
         consumers {thread_consumers} threads + {task_consumers} tasks, early={early:?}"
    );
    let run = Arc::new(Run {
        counters: Counters::new(consumers),
        producers,
        producers_done: AtomicUsize::new(0),
        early,
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let (s, r) = flavor.make();
    let expected = per_producer * producers as u64 / consumers as u64;
    let producer_seed = |id: usize| seed ^ ((id as u64 + 1) << 8);
    let consumer_seed = |id: usize| seed ^ ((id as u64 + 1) << 24);
    // Producer ids: the threads first, then the tasks.
    let producer_threads: Vec<_> = (0..thread_producers)
        .map(|id| {
            let (run, s, seed) = (run.clone(), s.clone(), producer_seed(id));
            thread::spawn(move || producer(&run, id, s, per_producer, seed))
        })
        .collect();
    let producer_tasks: Vec<_> = (thread_producers..producers)
        .map(|id| {
            let (run, s, seed) = (run.clone(), s.clone(), producer_seed(id));
            rt.spawn(async_producer(run, id, s, per_producer, seed))
        })
        .collect();
    let consumer_threads: Vec<_> = (0..thread_consumers)
        .map(|id| {
            let (run, r, seed) = (run.clone(), r.clone(), consumer_seed(id));
            thread::spawn(move || consumer(&run, r, expected, seed))
        })
        .collect();
    let consumer_tasks: Vec<_> = (thread_consumers..consumers)
        .map(|id| {
            let (run, r, seed) = (run.clone(), r.clone(), consumer_seed(id));
            rt.spawn(async_consumer(run, r, expected, seed))
        })
        .collect();
    drop((s, r));
    let (task_producer_reports, task_consumer_reports) = rt.block_on(async {
        (
            join_tasks(producer_tasks).await,
            join_tasks(consumer_tasks).await,
        )
    });
    let mut producer_reports: Vec<_> = producer_threads
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    producer_reports.extend(task_producer_reports);
    let mut consumer_reports: Vec<_> = consumer_threads
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    consumer_reports.extend(task_consumer_reports);
    finish_reports(&run, &producer_reports, &consumer_reports, &label);
}

fn stress_async_flavor(flavor: Flavor, seed: u64) {
    within(hang_limit(), "async stress run", move || {
        for (i, &combo) in ASYNC_COMBOS.iter().enumerate() {
            for (j, &early) in EARLY.iter().enumerate() {
                run_async(flavor, combo, early, seed + (i * EARLY.len() + j) as u64);
            }
        }
    });
}

#[test]
#[cfg_attr(miri, ignore = "tokio runtimes and timers: too slow under miri")]
fn stress_async_zero() {
    stress_async_flavor(Flavor::Bounded(0), 0x6000);
}

#[test]
#[cfg_attr(miri, ignore = "tokio runtimes and timers: too slow under miri")]
fn stress_async_bounded_one() {
    stress_async_flavor(Flavor::Bounded(1), 0x7000);
}

#[test]
#[cfg_attr(miri, ignore = "tokio runtimes and timers: too slow under miri")]
fn stress_async_bounded_small() {
    stress_async_flavor(Flavor::Bounded(4), 0x8000);
}

#[test]
#[cfg_attr(miri, ignore = "tokio runtimes and timers: too slow under miri")]
fn stress_async_unbounded() {
    stress_async_flavor(Flavor::Unbounded, 0x9000);
}

// ---------------------------------------------------------------------------
// Async tasks and threads on several channels, select on both sides
// ---------------------------------------------------------------------------

/// An async send attempt of a select producer: which channel took it.
async fn async_select_send_once(
    senders: &[Sender<Msg>; NCH],
    msg: Msg,
    rng: &mut Rng,
) -> Result<usize, Failed> {
    let key = msg.key;
    let disconnected = |SendError(m)| Failed::Disconnected(m);
    match rng.below(4) {
        0 | 1 => {
            // select_async over all senders, in a random order, and (or,
            // raced with a timeout, instead of) a one-shot timer.
            let timer = after(rng.micros(300));
            let mut sel = if rng.chance(50) {
                Select::new()
            } else {
                Select::new_biased()
            };
            let mut index = [usize::MAX; NCH];
            let first = rng.below(NCH as u64) as usize;
            for j in 0..NCH {
                let k = (first + j) % NCH;
                index[k] = sel.send(&senders[k]);
            }
            let oper = if rng.chance(50) {
                let ti = sel.recv(&timer);
                let oper = sel.select_async().await;
                if oper.index() == ti {
                    assert!(oper.recv(&timer).is_ok(), "timer channel disconnected");
                    return Err(Failed::Retry(msg));
                }
                oper
            } else {
                match tokio::time::timeout(rng.micros(300), sel.select_async()).await {
                    Ok(oper) => oper,
                    Err(_) => return Err(Failed::Retry(msg)),
                }
            };
            let k = index
                .iter()
                .position(|&x| x == oper.index())
                .expect("unknown index");
            oper.send(&senders[k], msg)
                .map(|()| k)
                .map_err(disconnected)
        }
        2 => {
            // send_async on one channel: the consumers select over all of
            // them, so it cannot wait forever.
            let k = rng.below(NCH as u64) as usize;
            senders[k]
                .send_async(msg)
                .await
                .map(|()| k)
                .map_err(disconnected)
        }
        _ => {
            // send_async on one channel raced with a timeout.
            let k = rng.below(NCH as u64) as usize;
            let mut fut = senders[k].send_async(msg);
            match tokio::time::timeout(rng.micros(300), &mut fut).await {
                Ok(res) => res.map(|()| k).map_err(disconnected),
                Err(_) => drop_cancelled(fut, key).map(|()| k),
            }
        }
    }
}

async fn async_select_producer(
    run: Arc<Run>,
    id: usize,
    senders: [Sender<Msg>; NCH],
    count: u64,
    seed: u64,
) -> ProducerReport {
    let mut rng = Rng::new(seed);
    let mut report = ProducerReport::default();
    'messages: for seq in 0..producer_count(&run, count, &mut rng) {
        let key = (id, seq);
        let mut msg = Msg::new(key, &run.counters);
        loop {
            let outcome = async_select_send_once(&senders, msg, &mut rng).await;
            match settle_attempt(&run, key, outcome.map(drop), &mut rng, &mut report) {
                Attempt::Retry(m) => msg = m,
                Attempt::Next => break,
                Attempt::Stop => break 'messages,
            }
        }
    }
    run.producers_done.fetch_add(1, Ordering::SeqCst);
    drop(senders);
    report
}

/// One async receive attempt of a select consumer over `receivers` (a
/// disconnected one replaced by `never()`): the channel and its result.
async fn async_select_recv_once(
    receivers: &[Receiver<Msg>; NCH],
    rng: &mut Rng,
) -> Option<(usize, Result<Msg, ()>)> {
    match rng.below(4) {
        0 | 1 => {
            // select_async over every channel, and (or, raced with a
            // timeout, instead of) a one-shot timer.
            let timer = after(rng.micros(300));
            let mut sel = if rng.chance(50) {
                Select::new()
            } else {
                Select::new_biased()
            };
            for r in receivers {
                sel.recv(r);
            }
            let oper = if rng.chance(50) {
                let ti = sel.recv(&timer);
                let oper = sel.select_async().await;
                if oper.index() == ti {
                    assert!(oper.recv(&timer).is_ok(), "timer channel disconnected");
                    return None;
                }
                oper
            } else {
                tokio::time::timeout(rng.micros(300), sel.select_async())
                    .await
                    .ok()?
            };
            let k = oper.index();
            Some((k, oper.recv(&receivers[k]).map_err(drop)))
        }
        2 => {
            // recv_async on one channel, raced with a timeout.
            let k = rng.below(NCH as u64) as usize;
            let res = tokio::time::timeout(rng.micros(300), receivers[k].recv_async())
                .await
                .ok()?;
            Some((k, res.map_err(drop)))
        }
        _ => {
            // ready_async, then try_recv on the ready channel.
            let mut sel = Select::new();
            for r in receivers {
                sel.recv(r);
            }
            let k = tokio::time::timeout(rng.micros(300), sel.ready_async())
                .await
                .ok()?;
            match receivers[k].try_recv() {
                Ok(m) => Some((k, Ok(m))),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => Some((k, Err(()))),
            }
        }
    }
}

async fn async_select_consumer(
    run: Arc<Run>,
    receivers: [Receiver<Msg>; NCH],
    expected: u64,
    seed: u64,
) -> ConsumerReport {
    let mut rng = Rng::new(seed);
    let mut report = ConsumerReport::default();
    let mut last = HashMap::new();
    let stop_after = match run.early {
        Early::Never => None,
        Early::Some if rng.chance(60) => None,
        _ => Some(rng.below(expected + 1) as usize),
    };
    let mut receivers = receivers;
    let mut live = [true; NCH];
    while live.iter().any(|&l| l) {
        if Some(report.received.len()) == stop_after {
            break;
        }
        match async_select_recv_once(&receivers, &mut rng).await {
            None => {}
            Some((k, Ok(m))) => {
                assert!(live[k], "message from a channel replaced by never()");
                let stream = m.key.0 * NCH + k;
                accept(m, stream, &mut last, &mut report);
            }
            Some((k, Err(()))) => {
                assert!(live[k], "channel {k} reported disconnection twice");
                assert_eq!(
                    run.producers_done.load(Ordering::SeqCst),
                    run.producers,
                    "recv reported disconnection with producers alive"
                );
                live[k] = false;
                receivers[k] = never();
            }
        }
    }
    run.counters.consumers_done.fetch_add(1, Ordering::SeqCst);
    drop(receivers);
    report
}

fn run_select_async(combo: (usize, usize, usize, usize), early: Early, seed: u64) {
    let (thread_producers, task_producers, thread_consumers, task_consumers) = combo;
    let producers = thread_producers + task_producers;
    let consumers = thread_consumers + task_consumers;
    let per_producer = per_producer_async() * scale();
    let label = format!(
        "select async, producers {thread_producers} threads + {task_producers} tasks, \
         consumers {thread_consumers} threads + {task_consumers} tasks, early={early:?}"
    );
    let run = Arc::new(Run {
        counters: Counters::new(consumers),
        producers,
        producers_done: AtomicUsize::new(0),
        early,
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let channels: Vec<_> = FLAVORS.iter().map(|f| f.make()).collect();
    let senders = || -> [Sender<Msg>; NCH] { std::array::from_fn(|k| channels[k].0.clone()) };
    let receivers = || -> [Receiver<Msg>; NCH] { std::array::from_fn(|k| channels[k].1.clone()) };
    let expected = per_producer * producers as u64 / consumers as u64;
    let producer_seed = |id: usize| seed ^ ((id as u64 + 1) << 8);
    let consumer_seed = |id: usize| seed ^ ((id as u64 + 1) << 24);
    let producer_threads: Vec<_> = (0..thread_producers)
        .map(|id| {
            let (run, s, seed) = (run.clone(), senders(), producer_seed(id));
            thread::spawn(move || select_producer(&run, id, s, per_producer, seed))
        })
        .collect();
    let producer_tasks: Vec<_> = (thread_producers..producers)
        .map(|id| {
            let (run, s, seed) = (run.clone(), senders(), producer_seed(id));
            rt.spawn(async_select_producer(run, id, s, per_producer, seed))
        })
        .collect();
    let consumer_threads: Vec<_> = (0..thread_consumers)
        .map(|id| {
            let (run, r, seed) = (run.clone(), receivers(), consumer_seed(id));
            thread::spawn(move || select_consumer(&run, r, expected, seed))
        })
        .collect();
    let consumer_tasks: Vec<_> = (thread_consumers..consumers)
        .map(|id| {
            let (run, r, seed) = (run.clone(), receivers(), consumer_seed(id));
            rt.spawn(async_select_consumer(run, r, expected, seed))
        })
        .collect();
    drop(channels);
    let (task_producer_reports, task_consumer_reports) = rt.block_on(async {
        (
            join_tasks(producer_tasks).await,
            join_tasks(consumer_tasks).await,
        )
    });
    let mut producer_reports: Vec<_> = producer_threads
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    producer_reports.extend(task_producer_reports);
    let mut consumer_reports: Vec<_> = consumer_threads
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    consumer_reports.extend(task_consumer_reports);
    finish_reports(&run, &producer_reports, &consumer_reports, &label);
}

/// `select_async` and `ready_async` over the four flavors at once, on both
/// sides, mixed with the blocking selects of `stress_select`.
#[test]
#[cfg_attr(miri, ignore = "tokio runtimes and timers: too slow under miri")]
fn stress_select_async() {
    within(hang_limit(), "async select stress run", || {
        for (i, &combo) in ASYNC_COMBOS.iter().enumerate() {
            for (j, &early) in EARLY.iter().enumerate() {
                run_select_async(combo, early, 0xA000 + (i * EARLY.len() + j) as u64);
            }
        }
    });
}

// ---------------------------------------------------------------------------
// Closes from either side in the middle of traffic, with batches and weak
// handles
// ---------------------------------------------------------------------------

/// `CHAN_STRESS_SEED=<n>` varies the seeds of the close runs (0, the
/// default, keeps the fixed ones).
fn seed_variant() -> u64 {
    std::env::var("CHAN_STRESS_SEED")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
}

/// Messages each producer of a close run makes, before scaling.
fn close_per_producer() -> u64 {
    if cfg!(miri) {
        30
    } else {
        2000
    }
}

/// (producers, consumers) of the close runs.
fn close_combos() -> &'static [(usize, usize)] {
    if cfg!(miri) {
        &[(1, 1), (2, 2)]
    } else {
        &[(1, 1), (4, 1), (1, 4), (3, 3), (6, 6)]
    }
}

/// Runs of each combination per test, each with its own seed and plan.
fn close_seeds_per_combo() -> u64 {
    if cfg!(miri) {
        1
    } else {
        8
    }
}

/// Who calls a close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Party {
    Producer(usize),
    Consumer(usize),
    /// A thread of its own that holds only weak handles and upgrades one
    /// to close.
    Closer,
}

/// Which close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CloseKind {
    /// `Sender::close`.
    Sender,
    /// `Receiver::close`.
    Receiver,
    /// `Receiver::close` by a consumer, which then leaves at once: with
    /// no other consumer, the messages still inside are dropped with the
    /// channel.
    ReceiverThenLeave,
    /// `Receiver::close_and_drain`; the messages it returns are received.
    Drain,
}

/// One planned close: `party` calls it once `at` messages were sent in
/// all (at the party's next step after that).
#[derive(Clone, Copy, Debug)]
struct CloseAt {
    party: Party,
    kind: CloseKind,
    at: u64,
}

/// The random choices of one close run, made up front from its seed.
struct ClosePlan {
    /// Zero, one or two closes.
    closes: Vec<CloseAt>,
    /// Producers (never the first) holding a `WeakSender`, upgraded per
    /// chunk.
    weak_producers: Vec<bool>,
    /// Consumers (never the first) holding a `WeakReceiver`, upgraded for
    /// a few operations at a time.
    weak_consumers: Vec<bool>,
    /// How many messages each producer makes (unless refused earlier).
    counts: Vec<u64>,
    /// Consumers that stop (dropping their receiver) after that many.
    stop_after: Vec<Option<usize>>,
}

impl ClosePlan {
    fn new(rng: &mut Rng, producers: usize, consumers: usize, per_producer: u64) -> ClosePlan {
        let total = per_producer * producers as u64;
        let closes = match rng.below(20) {
            0 | 1 => 0,
            2..=14 => 1,
            _ => 2,
        };
        let closes = (0..closes)
            .map(|_| {
                let party = match rng.below(3) {
                    0 => Party::Producer(rng.below(producers as u64) as usize),
                    1 => Party::Consumer(rng.below(consumers as u64) as usize),
                    _ => Party::Closer,
                };
                let kind = match party {
                    Party::Producer(_) => CloseKind::Sender,
                    Party::Consumer(_) => [
                        CloseKind::Receiver,
                        CloseKind::ReceiverThenLeave,
                        CloseKind::Drain,
                    ][rng.below(3) as usize],
                    Party::Closer => [CloseKind::Sender, CloseKind::Receiver, CloseKind::Drain]
                        [rng.below(3) as usize],
                };
                // Sometimes before any traffic; else while it goes on (most
                // runs send less than `total`: refusals, weak producers
                // cut off, messages given up).
                let at = if rng.chance(10) {
                    0
                } else {
                    rng.below(total * 3 / 4 + 1)
                };
                CloseAt { party, kind, at }
            })
            .collect();
        let expected = total / consumers as u64;
        // Sometimes every consumer leaves early (within the first half of
        // its share), so that the last one's drop finds messages to
        // discard, also in a closed channel.
        let (leave, within) = if rng.chance(20) {
            (100, expected / 2)
        } else {
            (15, expected)
        };
        ClosePlan {
            closes,
            weak_producers: (0..producers).map(|i| i > 0 && rng.chance(50)).collect(),
            weak_consumers: (0..consumers).map(|i| i > 0 && rng.chance(50)).collect(),
            counts: (0..producers)
                .map(|_| {
                    if rng.chance(25) {
                        rng.below(per_producer + 1)
                    } else {
                        per_producer
                    }
                })
                .collect(),
            stop_after: (0..consumers)
                .map(|_| rng.chance(leave).then(|| rng.below(within + 1) as usize))
                .collect(),
        }
    }

    /// The closes `party` makes, in the order it makes them.
    fn closes_of(&self, party: Party) -> VecDeque<CloseAt> {
        let mut closes: Vec<_> = self
            .closes
            .iter()
            .filter(|c| c.party == party)
            .copied()
            .collect();
        closes.sort_by_key(|c| c.at);
        closes.into()
    }
}

impl std::fmt::Display for ClosePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let flags = |v: &[bool]| {
            v.iter()
                .map(|&w| if w { 'w' } else { 's' })
                .collect::<String>()
        };
        write!(
            f,
            "closes {:?}, producers {} counts {:?}, consumers {} stops {:?}",
            self.closes,
            flags(&self.weak_producers),
            self.counts,
            flags(&self.weak_consumers),
            self.stop_after,
        )
    }
}

/// Shared state of one close run.
struct CloseRun {
    counters: Arc<Counters>,
    flavor: Flavor,
    producers: usize,
    consumers: usize,
    /// Messages sent successfully so far, by all producers: the clock of
    /// the planned closes.
    progress: AtomicU64,
    /// Messages received so far, by all consumers (for the producers'
    /// pacing).
    consumed: AtomicU64,
    /// Close calls begun (`close`, `close_and_drain`), by anyone. Counted
    /// before the call, so a disconnection caused by a close always finds
    /// it non-zero.
    closing: AtomicUsize,
    /// Set once a close call has returned: every send begun after it must
    /// fail.
    closed: AtomicBool,
    /// Set once a `close_and_drain` has returned: no receive begun after it
    /// may get a message.
    drained: AtomicBool,
    /// `close` calls that returned true (at most one may).
    closes_won: AtomicUsize,
    /// Producers that saw a send fail with the disconnection.
    refused: AtomicUsize,
    /// Messages returned by `close_and_drain` (for the verbose report).
    drained_msgs: AtomicUsize,
    producers_done: AtomicUsize,
    consumers_done: AtomicUsize,
}

impl CloseRun {
    /// Lets the consumers catch up a little if far behind, so that an
    /// unbounded channel's producers do not finish before the first
    /// receive and the closes fall in the middle of the traffic. Bounded:
    /// never waits for long.
    fn pace(&self) {
        for _ in 0..50 {
            let sent = self.progress.load(Ordering::Relaxed);
            if sent < self.consumed.load(Ordering::Relaxed) + 1000 || self.over() {
                break;
            }
            thread::yield_now();
        }
    }

    /// True once every producer or every consumer has finished.
    fn over(&self) -> bool {
        self.producers_done.load(Ordering::SeqCst) == self.producers
            || self.consumers_done.load(Ordering::SeqCst) == self.consumers
    }

    /// The time of the next planned close of a party, if it has come.
    fn due(&self, closes: &mut VecDeque<CloseAt>) -> Option<CloseKind> {
        let next = closes.front()?;
        if self.progress.load(Ordering::SeqCst) < next.at {
            return None;
        }
        closes.pop_front().map(|c| c.kind)
    }

    /// Closes the channel with `close` (of a sender or a receiver).
    fn close(&self, close: impl FnOnce() -> bool, is_closed: impl FnOnce() -> bool) {
        self.closing.fetch_add(1, Ordering::SeqCst);
        if close() {
            self.closes_won.fetch_add(1, Ordering::SeqCst);
        }
        assert!(is_closed(), "is_closed() is false right after close()");
        self.closed.store(true, Ordering::SeqCst);
    }

    fn close_sender(&self, s: &Sender<Msg>) {
        self.close(|| s.close(), || s.is_closed());
    }

    fn close_receiver(&self, r: &Receiver<Msg>) {
        self.close(|| r.close(), || r.is_closed());
    }

    /// `close_and_drain` on `r`: the messages it took, in order.
    fn close_and_drain(&self, r: &Receiver<Msg>) -> Vec<Msg> {
        self.closing.fetch_add(1, Ordering::SeqCst);
        let drained = r.close_and_drain();
        assert!(
            r.is_closed(),
            "is_closed() is false after close_and_drain()"
        );
        match r.try_recv() {
            Err(TryRecvError::Disconnected) => {}
            Ok(m) => panic!(
                "close_and_drain() left message {:?} in the channel ({} drained)",
                m.key,
                drained.len()
            ),
            Err(TryRecvError::Empty) => {
                panic!("try_recv() on a closed, drained channel reported Empty")
            }
        }
        if self.flavor == Flavor::Bounded(0) {
            assert!(
                drained.is_empty(),
                "close_and_drain() on a rendezvous channel returned messages"
            );
        }
        self.closed.store(true, Ordering::SeqCst);
        self.drained.store(true, Ordering::SeqCst);
        self.drained_msgs.fetch_add(drained.len(), Ordering::SeqCst);
        drained
    }

    /// Checks a send that failed with the disconnection.
    fn check_refusal(&self, s: &Sender<Msg>) {
        // is_closed() loads the mark with SeqCst: what happened before the
        // close (the `closing` count) is visible after it.
        assert!(
            s.is_closed(),
            "a send failed with the disconnection but is_closed() is false"
        );
        assert!(
            self.closing.load(Ordering::SeqCst) > 0 || s.receiver_count() == 0,
            "a send failed with the disconnection while nobody closed the channel \
             and receivers are alive"
        );
    }

    /// Checks a receive that reported the disconnection.
    fn check_disconnected(&self, r: &Receiver<Msg>) {
        assert!(
            r.is_closed(),
            "a receive reported the disconnection but is_closed() is false"
        );
        assert!(
            self.closing.load(Ordering::SeqCst) > 0 || r.sender_count() == 0,
            "a receive reported the disconnection while nobody closed the channel \
             and senders are alive"
        );
        assert!(r.is_empty(), "disconnected but not empty");
        let mut batch = Vec::new();
        assert!(matches!(r.try_recv(), Err(TryRecvError::Disconnected)));
        assert_eq!(
            r.try_recv_many(&mut batch, 8),
            Err(TryRecvError::Disconnected)
        );
        assert_eq!(
            r.recv_many_timeout(&mut batch, 8, Duration::ZERO),
            Err(RecvTimeoutError::Disconnected)
        );
        // A zero limit takes nothing and reports nothing, even now.
        assert_eq!(r.try_recv_many(&mut batch, 0), Ok(0));
        assert_eq!(r.recv_many(&mut batch, 0), Ok(0));
        assert!(batch.is_empty());
        assert!(r.drain().next().is_none());
    }
}

/// A producer's handle: a sender, or a weak one upgraded per chunk.
enum SenderHandle {
    Strong(Sender<Msg>),
    Weak(WeakSender<Msg>),
}

impl SenderHandle {
    /// A sender for the next step, unless every sender is gone.
    fn get(&self) -> Option<Cow<'_, Sender<Msg>>> {
        match self {
            SenderHandle::Strong(s) => Some(Cow::Borrowed(s)),
            SenderHandle::Weak(w) => w.upgrade().map(Cow::Owned),
        }
    }
}

/// A consumer's handle: a receiver, or a weak one upgraded now and then.
enum ReceiverHandle {
    Strong(Receiver<Msg>),
    Weak(WeakReceiver<Msg>),
}

impl ReceiverHandle {
    /// A receiver for the next steps, unless every receiver is gone.
    fn get(&self) -> Option<Cow<'_, Receiver<Msg>>> {
        match self {
            ReceiverHandle::Strong(r) => Some(Cow::Borrowed(r)),
            ReceiverHandle::Weak(w) => w.upgrade().map(Cow::Owned),
        }
    }
}

/// A failed `send_all`/`try_send_all`: (messages sent, disconnected, every
/// message not sent, in order).
type BatchFailure = (usize, bool, Vec<Msg>);

fn batch_failure<I: Iterator<Item = Msg>>(e: SendAllError<Msg, I>) -> BatchFailure {
    assert_ne!(e.is_full(), e.is_disconnected());
    let (sent, disconnected) = (e.sent(), e.is_disconnected());
    (sent, disconnected, e.into_iter().collect())
}

/// One single-message send attempt by a random method: the outcome, and
/// whether it went through a select (whose timer may win even on a closed
/// channel).
fn close_send_one(s: &Sender<Msg>, msg: Msg, rng: &mut Rng) -> (Result<(), Failed>, bool) {
    let disconnected = |SendError(m)| Failed::Disconnected(m);
    match rng.below(6) {
        0 | 1 => (s.send(msg).map_err(disconnected), false),
        2 => (
            s.try_send(msg).map_err(|e| match e {
                TrySendError::Full(m) => Failed::Retry(m),
                TrySendError::Disconnected(m) => Failed::Disconnected(m),
            }),
            false,
        ),
        3 => (
            s.send_timeout(msg, rng.micros(300)).map_err(|e| match e {
                SendTimeoutError::Timeout(m) => Failed::Retry(m),
                SendTimeoutError::Disconnected(m) => Failed::Disconnected(m),
            }),
            false,
        ),
        4 => {
            let mut slot = Some(msg);
            let outcome = select! {
                send(s, slot.take().unwrap()) -> res => res.map_err(disconnected),
                default(rng.micros(300)) => Err(Failed::Retry(slot.take().unwrap())),
            };
            (outcome, true)
        }
        _ => {
            let mut sel = Select::new();
            let si = sel.send(s);
            let outcome = match sel.select_timeout(rng.micros(300)) {
                Ok(oper) => {
                    assert_eq!(oper.index(), si);
                    oper.send(s, msg).map_err(disconnected)
                }
                Err(_) => Err(Failed::Retry(msg)),
            };
            (outcome, true)
        }
    }
}

/// A producer of a close run: chunks of 1 to 200 messages (first those
/// given back by earlier attempts, then new ones), each sent message by
/// message or with `send_all`/`try_send_all` (from a `Vec`, or from an
/// iterator that makes the messages as they are taken), until all are
/// made and sent or given up, or a send fails with the disconnection.
/// After that it tries a few more chunks, every send of which must fail.
fn close_producer(
    run: &CloseRun,
    id: usize,
    handle: SenderHandle,
    count: u64,
    mut closes: VecDeque<CloseAt>,
    seed: u64,
) -> ProducerReport {
    let mut rng = Rng::new(seed);
    let mut report = ProducerReport::default();
    let counters = &run.counters;
    // Made, not sent yet, in order (all older than the ones still to make).
    let mut pending: VecDeque<Msg> = VecDeque::new();
    // The sequence number of the next message to make.
    let mut next = 0;
    // After a refusal: chunks still to try, each of which must fail.
    let mut probes: Option<u64> = None;
    let abandon = |m: Msg, report: &mut ProducerReport| {
        report.abandoned += 1;
        m.settle();
    };
    loop {
        match probes {
            Some(0) => break,
            None if next == count && pending.is_empty() => break,
            _ => {}
        }
        let refused = probes.is_some();
        run.pace();
        // Upgraded per chunk: fails once every sender is gone.
        let Some(s) = handle.get() else { break };
        while let Some(kind) = run.due(&mut closes) {
            assert_eq!(kind, CloseKind::Sender);
            run.close_sender(&s);
        }
        // Sends begun after this thread saw the channel closed must fail.
        let must_fail =
            refused || run.closed.load(Ordering::SeqCst) || { rng.chance(10) && s.is_closed() };
        let len = 1 + rng.below(200);
        let fresh = if refused {
            len
        } else {
            len.saturating_sub(pending.len() as u64).min(count - next)
        };
        let mut refused_now = false;
        if rng.chance(35) {
            // Message by message.
            for _ in 0..pending.len() as u64 + fresh {
                let msg = pending.pop_front().unwrap_or_else(|| {
                    next += 1;
                    Msg::new((id, next - 1), counters)
                });
                let key = msg.key;
                let (outcome, via_select) = close_send_one(&s, msg, &mut rng);
                match outcome {
                    Ok(()) => {
                        assert!(
                            !must_fail,
                            "a send succeeded after this sender saw the channel closed"
                        );
                        report.sent.push(key.1);
                        run.progress.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(Failed::Retry(m)) => {
                        assert_eq!(m.key, key, "a failed send gave back another message");
                        assert!(
                            !must_fail || via_select,
                            "a send on a closed channel failed without the disconnection"
                        );
                        report.given_back += 1;
                        if rng.chance(15) {
                            abandon(m, &mut report);
                        } else {
                            pending.push_front(m);
                        }
                        thread::yield_now();
                        break;
                    }
                    Err(Failed::Disconnected(m)) => {
                        assert_eq!(m.key, key, "a failed send gave back another message");
                        run.check_refusal(&s);
                        report.given_back += 1;
                        abandon(m, &mut report);
                        refused_now = true;
                        break;
                    }
                    Err(Failed::Dropped) => unreachable!("no async send here"),
                }
            }
        } else {
            // One batch call.
            let keys: Vec<u64> = pending
                .iter()
                .map(|m| m.key.1)
                .chain(next..next + fresh)
                .collect();
            let (start, end) = (next, next + fresh);
            next = end;
            let old = std::mem::take(&mut pending);
            let make = |seq| Msg::new((id, seq), counters);
            let blocking = rng.chance(50);
            let lazy = rng.chance(50);
            let result = match (blocking, lazy) {
                (true, false) => {
                    let msgs: Vec<Msg> = old.into_iter().chain((start..end).map(make)).collect();
                    s.send_all(msgs).map_err(batch_failure)
                }
                (true, true) => s
                    .send_all(old.into_iter().chain((start..end).map(make)))
                    .map_err(batch_failure),
                (false, false) => {
                    let msgs: Vec<Msg> = old.into_iter().chain((start..end).map(make)).collect();
                    s.try_send_all(msgs).map_err(batch_failure)
                }
                (false, true) => s
                    .try_send_all(old.into_iter().chain((start..end).map(make)))
                    .map_err(batch_failure),
            };
            let sent = match &result {
                Ok(()) => keys.len(),
                Err((sent, _, _)) => *sent,
            };
            assert!(
                !must_fail || sent == 0,
                "{sent} messages sent after this sender saw the channel closed"
            );
            report.sent.extend_from_slice(&keys[..sent]);
            run.progress.fetch_add(sent as u64, Ordering::SeqCst);
            if let Err((sent, disconnected, unsent)) = result {
                assert!(sent < keys.len(), "SendAllError with every message sent");
                let unsent_keys: Vec<Key> = unsent.iter().map(|m| m.key).collect();
                let expected: Vec<Key> = keys[sent..].iter().map(|&seq| (id, seq)).collect();
                assert_eq!(
                    unsent_keys, expected,
                    "SendAllError did not give back exactly the unsent messages, in order"
                );
                report.given_back += unsent.len() as u64;
                if disconnected {
                    run.check_refusal(&s);
                    for m in unsent {
                        abandon(m, &mut report);
                    }
                    refused_now = true;
                } else {
                    assert!(!blocking, "send_all failed without the disconnection");
                    assert!(
                        !must_fail,
                        "try_send_all on a closed channel failed with Full"
                    );
                    if rng.chance(15) {
                        for m in unsent {
                            abandon(m, &mut report);
                        }
                    } else {
                        pending = unsent.into();
                    }
                    thread::yield_now();
                }
            }
        }
        if refused_now {
            // Everything made and not sent is given up.
            for m in pending.drain(..) {
                abandon(m, &mut report);
            }
        }
        match &mut probes {
            // A few more chunks check that no later send gets through.
            None if refused_now => {
                run.refused.fetch_add(1, Ordering::SeqCst);
                probes = Some(rng.below(3));
            }
            None => {}
            Some(n) => *n -= 1,
        }
    }
    // The senders are all gone (a weak handle did not upgrade), or done.
    for m in pending.drain(..) {
        abandon(m, &mut report);
    }
    run.producers_done.fetch_add(1, Ordering::SeqCst);
    drop(handle);
    report
}

/// One receive attempt by a random method, which appends what it gets to
/// `batch`. `Err(())` means the disconnection was reported.
fn close_recv_one(r: &Receiver<Msg>, rng: &mut Rng, batch: &mut Vec<Msg>) -> Result<(), ()> {
    let before = batch.len();
    let limit = 1 + rng.below(200) as usize;
    let check_many = |n: usize, batch: &Vec<Msg>| {
        assert!(
            n >= 1 && n <= limit,
            "a batch receive returned {n} (limit {limit})"
        );
        assert_eq!(batch.len() - before, n, "a batch receive miscounted");
    };
    match rng.below(10) {
        0 | 1 => batch.push(r.recv().map_err(drop)?),
        2 => match r.try_recv() {
            Ok(m) => batch.push(m),
            Err(TryRecvError::Empty) => thread::yield_now(),
            Err(TryRecvError::Disconnected) => return Err(()),
        },
        3 => match r.recv_timeout(rng.micros(300)) {
            Ok(m) => batch.push(m),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Err(()),
        },
        4 => {
            let n = r.recv_many(batch, limit).map_err(drop)?;
            check_many(n, batch);
        }
        5 => match r.try_recv_many(batch, limit) {
            Ok(n) => check_many(n, batch),
            Err(TryRecvError::Empty) => thread::yield_now(),
            Err(TryRecvError::Disconnected) => return Err(()),
        },
        6 => match r.recv_many_timeout(batch, limit, rng.micros(300)) {
            Ok(n) => check_many(n, batch),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Err(()),
        },
        7 => {
            // drain() cannot report the disconnection: the next attempt
            // will.
            let drain = r.drain();
            let (_, most) = drain.size_hint();
            batch.extend(drain);
            assert!(batch.len() - before <= most.unwrap());
            if batch.len() == before {
                thread::yield_now();
            }
        }
        8 => {
            let mut sel = Select::new();
            let ri = sel.recv(r);
            if let Ok(oper) = sel.select_timeout(rng.micros(300)) {
                assert_eq!(oper.index(), ri);
                batch.push(oper.recv(r).map_err(drop)?);
            }
        }
        _ => select! {
            recv(r) -> m => batch.push(m.map_err(drop)?),
            default(rng.micros(300)) => {}
        },
    }
    Ok(())
}

/// Checks and settles the messages a consumer holds, in the order it
/// received them.
fn accept_all(
    run: &CloseRun,
    msgs: impl IntoIterator<Item = Msg>,
    last: &mut HashMap<usize, u64>,
    report: &mut ConsumerReport,
) {
    let mut count = 0;
    for m in msgs {
        let stream = m.key.0;
        accept(m, stream, last, report);
        count += 1;
    }
    run.consumed.fetch_add(count, Ordering::Relaxed);
}

/// A consumer of a close run: random receives, single and batched, until
/// the disconnection (or its early stop); a weak one upgrades its handle
/// for a few receives at a time. Messages received by a batch may be held
/// for a while (the next batch appends to them) before they are checked.
fn close_consumer(
    run: &CloseRun,
    handle: ReceiverHandle,
    stop_after: Option<usize>,
    mut closes: VecDeque<CloseAt>,
    seed: u64,
) -> ConsumerReport {
    let mut rng = Rng::new(seed);
    let mut report = ConsumerReport::default();
    let mut last = HashMap::new();
    let mut batch = Vec::new();
    'run: loop {
        // Fails once every receiver is gone.
        let Some(r) = handle.get() else { break };
        for _ in 0..=rng.below(8) {
            if stop_after.is_some_and(|n| report.received.len() + batch.len() >= n) {
                // Linger a little, so that the channel may fill up again
                // before this receiver goes.
                thread::sleep(Duration::from_micros(rng.below(200)));
                break 'run;
            }
            while let Some(kind) = run.due(&mut closes) {
                match kind {
                    CloseKind::Receiver => run.close_receiver(&r),
                    CloseKind::ReceiverThenLeave => {
                        run.close_receiver(&r);
                        break 'run;
                    }
                    CloseKind::Drain => {
                        accept_all(run, batch.drain(..), &mut last, &mut report);
                        let drained = run.close_and_drain(&r);
                        accept_all(run, drained, &mut last, &mut report);
                    }
                    CloseKind::Sender => unreachable!("a consumer has no sender"),
                }
            }
            let after_drain = run.drained.load(Ordering::SeqCst);
            let before = batch.len();
            let outcome = close_recv_one(&r, &mut rng, &mut batch);
            let got = batch.len() - before;
            assert!(
                !after_drain || got == 0,
                "received {got} messages after close_and_drain() returned"
            );
            if outcome.is_err() {
                assert_eq!(got, 0);
                run.check_disconnected(&r);
                break 'run;
            }
            if rng.chance(50) {
                accept_all(run, batch.drain(..), &mut last, &mut report);
            }
        }
    }
    accept_all(run, batch.drain(..), &mut last, &mut report);
    run.consumers_done.fetch_add(1, Ordering::SeqCst);
    drop(handle);
    report
}

/// The closer thread: waits for each of its planned closes (or for the end
/// of the run), then upgrades a weak handle and closes with it. What a
/// `close_and_drain` returns counts as received.
fn closer(
    run: &CloseRun,
    closes: VecDeque<CloseAt>,
    weak_s: WeakSender<Msg>,
    weak_r: WeakReceiver<Msg>,
) -> ConsumerReport {
    let mut report = ConsumerReport::default();
    let mut last = HashMap::new();
    for close in closes {
        while run.progress.load(Ordering::SeqCst) < close.at && !run.over() {
            thread::sleep(Duration::from_micros(50));
        }
        // An upgrade fails once that side is gone: nothing to close then.
        match close.kind {
            CloseKind::Sender => {
                if let Some(s) = weak_s.upgrade() {
                    run.close_sender(&s);
                }
            }
            CloseKind::Receiver | CloseKind::ReceiverThenLeave => {
                if let Some(r) = weak_r.upgrade() {
                    run.close_receiver(&r);
                }
            }
            CloseKind::Drain => {
                if let Some(r) = weak_r.upgrade() {
                    let drained = run.close_and_drain(&r);
                    accept_all(run, drained, &mut last, &mut report);
                }
            }
        }
    }
    report
}

fn run_close(flavor: Flavor, producers: usize, consumers: usize, seed: u64) {
    let per_producer = close_per_producer() * scale();
    let mut rng = Rng::new(seed);
    let plan = ClosePlan::new(&mut rng, producers, consumers, per_producer);
    let label = format!("{flavor:?} {producers}x{consumers} seed {seed:#x}: {plan}");
    let (s, r) = flavor.make();
    let run = Arc::new(CloseRun {
        counters: Counters::watching(r.downgrade()),
        flavor,
        producers,
        consumers,
        progress: AtomicU64::new(0),
        consumed: AtomicU64::new(0),
        closing: AtomicUsize::new(0),
        closed: AtomicBool::new(false),
        drained: AtomicBool::new(false),
        closes_won: AtomicUsize::new(0),
        refused: AtomicUsize::new(0),
        drained_msgs: AtomicUsize::new(0),
        producers_done: AtomicUsize::new(0),
        consumers_done: AtomicUsize::new(0),
    });
    let spawn = |name: String, f: Box<dyn FnOnce() -> ReportOf + Send>| {
        thread::Builder::new()
            .name(format!("{label}: {name}"))
            .spawn(f)
            .unwrap()
    };
    let producer_threads: Vec<_> = (0..producers)
        .map(|id| {
            let handle = if plan.weak_producers[id] {
                SenderHandle::Weak(s.downgrade())
            } else {
                SenderHandle::Strong(s.clone())
            };
            let (run, count) = (run.clone(), plan.counts[id]);
            let closes = plan.closes_of(Party::Producer(id));
            let seed = seed ^ ((id as u64 + 1) << 8);
            spawn(
                format!("producer {id}"),
                Box::new(move || {
                    ReportOf::Producer(close_producer(&run, id, handle, count, closes, seed))
                }),
            )
        })
        .collect();
    let consumer_threads: Vec<_> = (0..consumers)
        .map(|id| {
            let handle = if plan.weak_consumers[id] {
                ReceiverHandle::Weak(r.downgrade())
            } else {
                ReceiverHandle::Strong(r.clone())
            };
            let (run, stop_after) = (run.clone(), plan.stop_after[id]);
            let closes = plan.closes_of(Party::Consumer(id));
            let seed = seed ^ ((id as u64 + 1) << 24);
            spawn(
                format!("consumer {id}"),
                Box::new(move || {
                    ReportOf::Consumer(close_consumer(&run, handle, stop_after, closes, seed))
                }),
            )
        })
        .collect();
    let closes = plan.closes_of(Party::Closer);
    let closer_thread = (!closes.is_empty()).then(|| {
        let (run, weak_s, weak_r) = (run.clone(), s.downgrade(), r.downgrade());
        spawn(
            "closer".into(),
            Box::new(move || ReportOf::Consumer(closer(&run, closes, weak_s, weak_r))),
        )
    });
    drop((s, r));

    let producer_reports: Vec<ProducerReport> = producer_threads
        .into_iter()
        .map(|h| match h.join().unwrap() {
            ReportOf::Producer(report) => report,
            ReportOf::Consumer(_) => unreachable!(),
        })
        .collect();
    let consumer_reports: Vec<ConsumerReport> = consumer_threads
        .into_iter()
        .chain(closer_thread)
        .map(|h| match h.join().unwrap() {
            ReportOf::Consumer(report) => report,
            ReportOf::Producer(_) => unreachable!(),
        })
        .collect();

    // Every handle is gone: the channel has dropped what it still held
    // (or drops it with this last weak handle).
    let channel = run.counters.watch.as_ref().unwrap().lock().unwrap().take();
    let channel = channel.expect("the watched channel was taken twice");
    assert_eq!(channel.receiver_count(), 0, "{label}: a receiver survived");
    drop(channel);
    check_totals(&run.counters, &producer_reports, &consumer_reports, &label);

    let leftovers = run.counters.unsettled_drops.lock().unwrap().len();
    let closing = run.closing.load(Ordering::SeqCst);
    let refused = run.refused.load(Ordering::SeqCst);
    assert!(
        run.closes_won.load(Ordering::SeqCst) <= 1,
        "{label}: close() returned true more than once"
    );
    if run.drained.load(Ordering::SeqCst) {
        assert_eq!(
            leftovers, 0,
            "{label}: messages left in the channel after close_and_drain()"
        );
    }
    if closing == 0 && plan.stop_after.iter().all(Option::is_none) {
        // Nobody closed and no consumer left early: every consumer went on
        // to the disconnection by the last sender.
        assert_eq!(leftovers, 0, "{label}: messages left in the channel");
        assert_eq!(refused, 0, "{label}: a send was refused");
    }
    if std::env::var_os("CHAN_STRESS_VERBOSE").is_some() {
        let sent: usize = producer_reports.iter().map(|r| r.sent.len()).sum();
        let received: usize = consumer_reports.iter().map(|r| r.received.len()).sum();
        let abandoned: u64 = producer_reports.iter().map(|r| r.abandoned).sum();
        let drained = run.drained_msgs.load(Ordering::SeqCst);
        eprintln!(
            "{label}\n    sent {sent}, received {received} ({drained} by close_and_drain), \
             left in channel {leftovers}, given up {abandoned}, close calls {closing}, \
             producers refused {refused}"
        );
    }
}

/// A close run thread's report.
enum ReportOf {
    Producer(ProducerReport),
    Consumer(ConsumerReport),
}

fn stress_close_flavor(flavor: Flavor, seed: u64) {
    let seed = seed ^ seed_variant().wrapping_mul(0x1_0000_0001);
    within(hang_limit(), "close stress run", move || {
        for (i, &(p, c)) in close_combos().iter().enumerate() {
            for j in 0..close_seeds_per_combo() {
                run_close(flavor, p, c, seed + i as u64 * 16 + j);
            }
        }
    });
}

#[test]
fn stress_close_zero() {
    stress_close_flavor(Flavor::Bounded(0), 0xB000);
}

#[test]
fn stress_close_bounded_one() {
    stress_close_flavor(Flavor::Bounded(1), 0xC000);
}

#[test]
fn stress_close_bounded_small() {
    stress_close_flavor(Flavor::Bounded(4), 0xD000);
}

#[test]
fn stress_close_unbounded() {
    stress_close_flavor(Flavor::Unbounded, 0xE000);
}
