//! Cancel safety of the async API (`send_async`, `recv_async`, the stream
//! and the sink, `select_async`), tested against the promise it makes, on
//! every flavor:
//!
//! - **Cancel safety**: a dropped receive loses nothing; a dropped send
//!   either sent its message or drops it with the future, never both; a
//!   wake-up given to a future that is then dropped goes to another waiter
//!   (`dropped_*`, `cancelled_*`, `woken_then_dropped_*`,
//!   `cancel_at_random_points_*`, `select_async_with_a_short_after_arm_*`).
//!
//! Messages that must be counted exactly once are [`Item`]s, which record
//! in a [`Ledger`] whether they were received or dropped unreceived.
//!
//! The shared helpers are in `async_common/mod.rs`.
//!
//! Not for Miri: runtimes, timers and races over many rounds.
#![cfg(not(miri))]

mod async_common;
mod common;

use async_common::{
    assert_pending, await_all, fill, let_it_block, multi_thread, ready, Probe,
    BLOCKING_SEND_FLAVORS, FLAVORS, HANG, LONG, QUEUE_FLAVORS,
};
use chan::{
    after, bounded, unbounded, Receiver, RecvError, Select, SendError, Sender, TryRecvError,
};
use common::{ms, within, DropTracker, Flavor, Rng, Tracked};
use futures::{SinkExt, StreamExt};
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::thread;
use std::time::Instant;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Where the messages of a counting test end up.
#[derive(Default)]
struct Ledger {
    next_id: AtomicU64,
    received: Mutex<Vec<u64>>,
    /// Messages dropped without being received: by a cancelled send
    /// future, or left in a channel.
    dropped: Mutex<Vec<u64>>,
}

/// A message counted by a [`Ledger`].
struct Item {
    id: u64,
    received: bool,
    ledger: Arc<Ledger>,
}

impl std::fmt::Debug for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Item({})", self.id)
    }
}

impl Item {
    fn new(ledger: &Arc<Ledger>) -> Item {
        Item {
            id: ledger.next_id.fetch_add(1, Ordering::SeqCst),
            received: false,
            ledger: ledger.clone(),
        }
    }

    /// Records the message as received.
    fn receive(mut self) -> u64 {
        self.received = true;
        self.ledger.received.lock().unwrap().push(self.id);
        self.id
    }
}

impl Drop for Item {
    fn drop(&mut self) {
        if !self.received {
            self.ledger.dropped.lock().unwrap().push(self.id);
        }
    }
}

/// What the senders of a counting test report.
#[derive(Default)]
struct SendLog {
    /// Sends that completed with `Ok`.
    sent: Vec<u64>,
    /// Send futures dropped before they completed: sent or dropped.
    cancelled: Vec<u64>,
    /// Attempts that gave their message back (a select arm that did not
    /// fire, `SendFuture::cancel`): the sender drops it unreceived.
    given_back: Vec<u64>,
}

impl SendLog {
    fn merge(&mut self, other: SendLog) {
        self.sent.extend(other.sent);
        self.cancelled.extend(other.cancelled);
        self.given_back.extend(other.given_back);
    }
}

impl Ledger {
    /// Every message made was received once or dropped once, never both;
    /// every completed send was received (the receivers drained the channel
    /// to its disconnection); a cancelled send on a channel with a buffer
    /// sent nothing (a send moves its message only in the poll that returns
    /// `Ok`), on a zero channel it sent its message or dropped it.
    fn check(&self, log: &SendLog, flavor: Flavor, what: &str) {
        let received = self.received.lock().unwrap().clone();
        let dropped = self.dropped.lock().unwrap().clone();
        let made = self.next_id.load(Ordering::SeqCst);
        let mut seen = HashSet::new();
        for &id in &received {
            assert!(seen.insert(id), "{what}: message {id} received twice");
        }
        let received: HashSet<u64> = seen;
        let mut dropped_set = HashSet::new();
        for &id in &dropped {
            assert!(dropped_set.insert(id), "{what}: message {id} dropped twice");
            assert!(
                !received.contains(&id),
                "{what}: message {id} both received and dropped"
            );
        }
        assert_eq!(
            received.len() + dropped_set.len(),
            made as usize,
            "{what}: {made} messages made, {} received, {} dropped: some are missing",
            received.len(),
            dropped_set.len()
        );
        for id in &log.sent {
            assert!(
                received.contains(id),
                "{what}: message {id} was sent (Ok) but never received"
            );
        }
        for id in &log.given_back {
            assert!(
                dropped_set.contains(id),
                "{what}: message {id} was given back by its send but received"
            );
        }
        if flavor != Flavor::Bounded(0) {
            for id in &log.cancelled {
                assert!(
                    dropped_set.contains(id),
                    "{what}: message {id} of a cancelled send was received"
                );
            }
        }
        let accounted = log.sent.len() + log.cancelled.len() + log.given_back.len();
        assert_eq!(
            accounted, made as usize,
            "{what}: every message made must have been given to one send"
        );
    }
}

// ---------------------------------------------------------------------------
// Cancel safety
// ---------------------------------------------------------------------------

/// A `recv_async` woken by a send and dropped without being polled again
/// took nothing: the message is still there for the next receive.
#[test]
fn dropped_recv_future_loses_nothing() {
    for flavor in FLAVORS {
        let (s, r) = flavor.make::<u64>();
        let probe = Probe::new();
        let mut recv = r.recv_async();
        assert_pending(probe.poll(&mut recv), "recv_async");
        let t = thread::spawn(move || s.send_timeout(6, LONG));
        probe.assert_woken(1, &format!("{flavor}: recv_async"));
        drop(recv);
        assert_eq!(r.recv_timeout(LONG), Ok(6), "{flavor}");
        t.join().unwrap().unwrap();

        // A stream's pending `next` likewise.
        let (s, r) = flavor.make::<u64>();
        let probe = Probe::new();
        let mut stream = r.stream();
        assert_pending(probe.poll_next(&mut stream), "stream");
        let t = thread::spawn(move || s.send_timeout(7, LONG));
        probe.assert_woken(1, &format!("{flavor}: stream"));
        drop(stream);
        assert_eq!(r.recv_timeout(LONG), Ok(7), "{flavor}");
        t.join().unwrap().unwrap();
    }
}

/// The lost wake-up on cancel: a thread blocks (in `recv_timeout`, or in
/// a blocking `Select` over the channel) after a task's `recv_async`
/// registered; a send wakes the task (the first waiter) and its future is
/// dropped without being polled again. The thread must still get the
/// message: the wake-up is passed on. (A plain `recv` may instead be handed
/// the message directly by the send; the blocking select is woken in
/// registration order, so there the task is woken first.)
#[test]
fn woken_then_dropped_recv_passes_the_wake_up_to_a_blocked_thread() {
    const ROUNDS: u64 = 20;
    within(HANG, "lost wake-up on cancel", || {
        for flavor in FLAVORS {
            for waiter in ["recv_timeout", "Select::select_timeout"] {
                let what = format!("{flavor}, thread in {waiter}");
                let (s, r) = flavor.make::<u64>();
                let mut task_woken = 0;
                for round in 0..ROUNDS {
                    let probe = Probe::new();
                    let mut recv = r.recv_async();
                    assert_pending(probe.poll(&mut recv), "recv_async");
                    let r2 = r.clone();
                    let blocked = thread::spawn(move || {
                        if waiter == "recv_timeout" {
                            return r2.recv_timeout(LONG).ok();
                        }
                        let mut sel = Select::new();
                        sel.recv(&r2);
                        let oper = sel.select_timeout(LONG).ok()?;
                        oper.recv(&r2).ok()
                    });
                    let_it_block();
                    let sender = if flavor == Flavor::Bounded(0) {
                        // A rendezvous needs the sender to wait: a thread.
                        let s = s.clone();
                        Some(thread::spawn(move || s.send_timeout(round, LONG)))
                    } else {
                        s.send(round).unwrap();
                        None
                    };
                    // Let a wake-up arrive (for the zero flavor, the sender
                    // may pair with the blocked thread first, or wake the
                    // task when it registers).
                    thread::sleep(ms(5));
                    if probe.wakes() > 0 {
                        task_woken += 1;
                    }
                    drop(recv);
                    assert_eq!(
                        blocked.join().unwrap(),
                        Some(round),
                        "{what}, round {round}: the blocked thread missed the message \
                         (task woken {} times)",
                        probe.wakes()
                    );
                    if let Some(sender) = sender {
                        sender.join().unwrap().unwrap();
                    }
                }
                if std::env::var_os("CHAN_ASYNC_VERBOSE").is_some() {
                    eprintln!(
                        "{what}: the task was woken first in {task_woken} of {ROUNDS} rounds"
                    );
                }
                if flavor != Flavor::Bounded(0) && waiter != "recv_timeout" {
                    assert!(
                        task_woken > 0,
                        "{what}: the send never woke the task first, the case went untested"
                    );
                }
            }
        }
    });
}

/// The same with two tasks: two `recv_async` futures wait, a send wakes
/// one, which is dropped unpolled: the other is woken and gets the message.
#[test]
fn woken_then_dropped_recv_passes_the_wake_up_to_another_task() {
    for flavor in FLAVORS {
        let (s, r) = flavor.make::<u64>();
        let (p1, p2) = (Probe::new(), Probe::new());
        let mut f1 = r.recv_async();
        let mut f2 = r.recv_async();
        assert_pending(p1.poll(&mut f1), "first recv_async");
        assert_pending(p2.poll(&mut f2), "second recv_async");
        let t = thread::spawn(move || s.send_timeout(11, LONG));
        assert!(
            p1.wait_for_wakes(1) || p2.wakes() > 0,
            "{flavor}: no receiver woken"
        );
        // Drop whichever was woken (the first, when both were).
        let (survivor, mut fut) = if p1.wakes() > 0 {
            drop(f1);
            (&p2, f2)
        } else {
            drop(f2);
            (&p1, f1)
        };
        survivor.assert_woken(1, &format!("{flavor}: the other receiver"));
        assert_eq!(ready(survivor.poll(&mut fut), "the other receiver"), Ok(11));
        t.join().unwrap().unwrap();
    }
}

/// The send side: on a full channel a `send_async` and then a blocked
/// thread (or a second future) wait; a receive wakes the future, which is
/// dropped unpolled: the other sender proceeds. The dropped future's
/// message is dropped once and never received.
#[test]
fn woken_then_dropped_send_passes_the_wake_up() {
    for flavor in [Flavor::Bounded(1), Flavor::Bounded(4)] {
        for other in ["thread", "task"] {
            let what = format!("{flavor}, other sender a {other}");
            let tracker = DropTracker::new();
            let (s, r) = flavor.make::<Tracked>();
            let cap = flavor.cap().unwrap();
            for i in 0..cap {
                s.try_send(tracker.make(i)).unwrap();
            }
            let p1 = Probe::new();
            let mut f1 = s.send_async(tracker.make(100));
            assert_pending(p1.poll(&mut f1), &what);
            let p2 = Probe::new();
            let mut f2 = None;
            let mut blocked = None;
            if other == "thread" {
                let (s, msg) = (s.clone(), tracker.make(200));
                blocked = Some(thread::spawn(move || s.send_timeout(msg, LONG).is_ok()));
                let_it_block();
            } else {
                let fut = f2.insert(s.send_async(tracker.make(200)));
                assert_pending(p2.poll(fut), &what);
            }
            let first = r.recv().unwrap();
            assert_eq!(first.id, 0);
            p1.assert_woken(1, &what);
            drop(f1);
            assert_eq!(tracker.drops_of(100), 1, "{what}: dropped future's message");
            match (blocked, f2) {
                (Some(t), _) => {
                    assert!(t.join().unwrap(), "{what}: the blocked thread never sent");
                }
                (None, Some(mut fut)) => {
                    p2.assert_woken(1, &format!("{what}: the other future"));
                    assert!(ready(p2.poll(&mut fut), &what).is_ok());
                }
                (None, None) => unreachable!(),
            }
            let rest: Vec<usize> = r.try_iter().map(|m| m.id).collect();
            let expected: Vec<usize> = (1..cap).chain([200]).collect();
            assert_eq!(rest, expected, "{what}");
            drop((first, s, r));
            tracker.assert_all_dropped_once(&what);
        }
    }
}

/// A `select_async` woken by a send and dropped unpolled passes the
/// wake-up on, to a blocked thread or another waiting future.
#[test]
fn woken_then_dropped_select_passes_the_wake_up() {
    for flavor in QUEUE_FLAVORS {
        for other in ["thread", "task"] {
            let what = format!("{flavor}, other receiver a {other}");
            let (s, r) = flavor.make::<u64>();
            let (_s2, r2) = unbounded::<u64>();
            let p1 = Probe::new();
            let mut sel = Select::new();
            sel.recv(&r2);
            sel.recv(&r);
            let mut fut = sel.select_async();
            assert_pending(p1.poll(&mut fut), &what);
            let p2 = Probe::new();
            let mut f2 = r.recv_async();
            let mut blocked = None;
            if other == "thread" {
                let r = r.clone();
                blocked = Some(thread::spawn(move || r.recv_timeout(LONG)));
                let_it_block();
            } else {
                assert_pending(p2.poll(&mut f2), &what);
            }
            s.send(21).unwrap();
            let select_woken = p1.wakes() > 0;
            drop(fut);
            match blocked {
                Some(t) => assert_eq!(
                    t.join().unwrap(),
                    Ok(21),
                    "{what} (select woken: {select_woken})"
                ),
                None => {
                    p2.assert_woken(1, &what);
                    assert_eq!(ready(p2.poll(&mut f2), &what), Ok(21));
                }
            }
            drop(f2);
        }
    }
}

/// A dropped `send_async` that did not complete drops its message exactly
/// once and sends nothing; also one never polled, and, on a zero channel,
/// one that waited with its message (taken back when dropped).
#[test]
fn dropped_send_future_drops_its_message_once() {
    for flavor in FLAVORS {
        let tracker = DropTracker::new();
        let (s, r) = flavor.make::<Tracked>();
        // Never polled.
        drop(s.send_async(tracker.make(0)));
        assert_eq!(tracker.drops_of(0), 1, "{flavor}");
        if let Some(cap) = flavor.cap() {
            for i in 0..cap {
                s.try_send(tracker.make(10 + i)).unwrap();
            }
            // Pending, then dropped.
            let probe = Probe::new();
            let mut send = s.send_async(tracker.make(1));
            assert_pending(probe.poll(&mut send), "send_async on a full channel");
            drop(send);
            assert_eq!(tracker.drops_of(1), 1, "{flavor}");
            let got: Vec<usize> = r.try_iter().map(|m| m.id).collect();
            assert_eq!(got, (10..10 + cap).collect::<Vec<_>>(), "{flavor}");
        }
        assert!(matches!(r.try_recv(), Err(TryRecvError::Empty)));
        drop((s, r));
        tracker.assert_all_dropped_once(flavor);
    }
}

/// `SendFuture::cancel` turns a send that did not complete back into its
/// message: never polled, or waiting on a full channel, it gives the
/// message back and sends nothing; on a zero channel, a waiting send whose
/// message a receiver took gives back nothing (it was sent), one whose
/// message nobody took gives it back.
#[test]
fn cancelled_send_future_gives_its_message_back() {
    for flavor in FLAVORS {
        let (s, r) = flavor.make::<u64>();
        assert_eq!(s.send_async(1).cancel(), Some(1), "{flavor}: never polled");
        if let Some(cap) = flavor.cap() {
            if cap > 0 {
                fill(&s, flavor);
            }
            let probe = Probe::new();
            let mut send = s.send_async(2);
            assert_pending(probe.poll(&mut send), "send_async");
            assert_eq!(send.cancel(), Some(2), "{flavor}: waiting");
            let got: Vec<u64> = r.try_iter().collect();
            assert_eq!(got, (0..cap as u64).collect::<Vec<_>>(), "{flavor}");
        }
        assert_eq!(r.try_recv(), Err(TryRecvError::Empty), "{flavor}");
    }
    let (s, r) = bounded::<u64>(0);
    let probe = Probe::new();
    let mut send = s.send_async(3);
    assert_pending(probe.poll(&mut send), "send_async");
    assert_eq!(r.try_recv(), Ok(3));
    assert_eq!(send.cancel(), None, "zero: the message was taken");
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
}

/// On a zero channel, a waiting `send_async` whose message a receiver took
/// has sent it: dropped unpolled afterwards, it drops nothing and sends
/// nothing again.
#[test]
fn zero_send_future_dropped_after_its_message_was_taken() {
    let tracker = DropTracker::new();
    let (s, r) = bounded::<Tracked>(0);
    let probe = Probe::new();
    let mut send = s.send_async(tracker.make(0));
    assert_pending(probe.poll(&mut send), "send_async");
    let got = r.try_recv().unwrap();
    assert_eq!(got.id, 0);
    drop(send);
    assert_eq!(
        tracker.drops_of(0),
        0,
        "the sent message was dropped by its future"
    );
    assert!(matches!(r.try_recv(), Err(TryRecvError::Empty)));
    drop(got);
    drop((s, r));
    tracker.assert_all_dropped_once("zero");
}

/// A sink holding a message it could not send yet drops it once when the
/// sink is dropped; the message is never received.
#[test]
fn dropped_sink_drops_its_held_message_once() {
    for flavor in BLOCKING_SEND_FLAVORS {
        let tracker = DropTracker::new();
        let (s, r) = flavor.make::<Tracked>();
        let cap = flavor.cap().unwrap();
        for i in 0..cap {
            s.try_send(tracker.make(i)).unwrap();
        }
        let mut sink = s.sink();
        let probe = Probe::new();
        let fed = ready(probe.poll(&mut sink.feed(tracker.make(100))), "feed");
        assert!(fed.is_ok(), "{flavor}: feed");
        assert_pending(probe.poll(&mut sink.flush()), "flush");
        drop(sink);
        assert_eq!(tracker.drops_of(100), 1, "{flavor}");
        let got: Vec<usize> = r.try_iter().map(|m| m.id).collect();
        assert_eq!(got, (0..cap).collect::<Vec<_>>(), "{flavor}");
        drop((s, r));
        tracker.assert_all_dropped_once(flavor);
    }
}

/// Receives with cancellation at random points, on a multi-thread runtime:
/// `recv_async` raced with `tokio::time::timeout`, dropped by a biased
/// `select!` whose timer is checked first (so a woken future is dropped
/// unpolled), polled once or twice by hand and dropped, and a stream's
/// `next` with a timeout; sends likewise cancelled, plus blocking sends and
/// receives from threads. Every side pauses now and then, so that both
/// sends and receives wait (and get cancelled while waiting). Every message
/// is received once or dropped once (by a cancelled send), never both, none
/// lost; a cancelled send on a channel with a buffer sent nothing.
#[test]
fn cancel_at_random_points_loses_and_duplicates_nothing() {
    const PER_SENDER: u64 = 1000;
    within(HANG, "random cancellation", || {
        for flavor in FLAVORS {
            let what = format!("{flavor}: random cancellation");
            let ledger = Arc::new(Ledger::default());
            let log = Arc::new(Mutex::new(SendLog::default()));
            let recv_cancelled = Arc::new(AtomicUsize::new(0));
            let (s, r) = flavor.make::<Item>();
            let rt = multi_thread();

            let mut threads = Vec::new();
            for id in 0..2u64 {
                let (s, ledger, log) = (s.clone(), ledger.clone(), log.clone());
                threads.push(thread::spawn(move || {
                    let mut rng = Rng::new(0x33 + id);
                    let mut mine = SendLog::default();
                    for _ in 0..PER_SENDER {
                        if rng.below(6) == 0 {
                            thread::sleep(rng.micros(1500));
                        }
                        let item = Item::new(&ledger);
                        let item_id = item.id;
                        s.send(item).unwrap();
                        mine.sent.push(item_id);
                    }
                    log.lock().unwrap().merge(mine);
                }));
            }
            {
                let r = r.clone();
                threads.push(thread::spawn(move || {
                    let mut rng = Rng::new(0x44);
                    loop {
                        if rng.below(6) == 0 {
                            thread::sleep(rng.micros(1500));
                        }
                        match r.recv_timeout(rng.micros(1500)) {
                            Ok(item) => {
                                item.receive();
                            }
                            Err(e) if e.is_disconnected() => break,
                            Err(_) => {}
                        }
                    }
                }));
            }
            let mut tasks = Vec::new();
            for id in 0..2u64 {
                let (s, ledger, log) = (s.clone(), ledger.clone(), log.clone());
                tasks.push(rt.spawn(async move {
                    let mut rng = Rng::new(0x51 + id);
                    let mut mine = SendLog::default();
                    for _ in 0..PER_SENDER {
                        if rng.below(6) == 0 {
                            tokio::time::sleep(rng.micros(1500)).await;
                        }
                        let item = Item::new(&ledger);
                        let item_id = item.id;
                        match cancellable_send(&s, item, &mut rng).await {
                            SendOutcome::Done(Ok(())) => mine.sent.push(item_id),
                            SendOutcome::Done(Err(e)) => panic!("send failed: {e:?}"),
                            SendOutcome::Dropped => mine.cancelled.push(item_id),
                            SendOutcome::Back(item) => {
                                assert_eq!(item.id, item_id, "cancel gave back another message");
                                mine.given_back.push(item_id);
                            }
                        }
                    }
                    log.lock().unwrap().merge(mine);
                }));
            }
            for id in 0..3u64 {
                let (r, recv_cancelled) = (r.clone(), recv_cancelled.clone());
                tasks.push(rt.spawn(async move {
                    let mut rng = Rng::new(0x77 + id);
                    loop {
                        if rng.below(6) == 0 {
                            tokio::time::sleep(rng.micros(1500)).await;
                        }
                        match cancellable_recv(&r, &mut rng).await {
                            Some(Ok(item)) => {
                                item.receive();
                            }
                            Some(Err(RecvError)) => break,
                            None => {
                                recv_cancelled.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }));
            }
            drop((s, r));
            rt.block_on(await_all(tasks));
            for t in threads {
                t.join().unwrap();
            }
            let log = std::mem::take(&mut *log.lock().unwrap());
            ledger.check(&log, flavor, &what);
            if std::env::var_os("CHAN_ASYNC_VERBOSE").is_some() {
                eprintln!(
                    "{what}: {} sent, {} sends cancelled, {} received, {} receives cancelled",
                    log.sent.len(),
                    log.cancelled.len(),
                    ledger.received.lock().unwrap().len(),
                    recv_cancelled.load(Ordering::Relaxed)
                );
            }
        }
    });
}

/// Polls `fut` once; if that is pending, waits for the wake-up and then
/// drops `fut` without polling it again: `Some(output)` if the first poll
/// was ready, `None` if the future was woken and dropped.
fn drop_when_woken<F: Future + Unpin>(fut: F) -> impl Future<Output = Option<F::Output>> {
    let mut inner = Some(fut);
    let mut waiting = false;
    futures::future::poll_fn(move |cx| {
        if waiting {
            // Woken: give the future up without polling it.
            drop(inner.take());
            return Poll::Ready(None);
        }
        let fut = inner.as_mut().expect("polled after it completed");
        match Pin::new(fut).poll(cx) {
            Poll::Ready(output) => Poll::Ready(Some(output)),
            Poll::Pending => {
                waiting = true;
                Poll::Pending
            }
        }
    })
}

/// Lost wake-ups under load: tasks keep making receive futures
/// (`recv_async`, `select_async`) that are dropped unpolled as soon as they
/// are woken, while threads blocked in `recv` share the channel with them
/// and a thread sends. Once the tasks stop, every message must reach the
/// threads within a generous bound: a wake-up swallowed by a dropped
/// future would leave a message in the channel and a thread asleep.
#[test]
fn woken_then_dropped_receives_under_load_lose_no_wake_up() {
    const MESSAGES: u64 = 2000;
    within(HANG, "woken then dropped receives under load", || {
        for flavor in FLAVORS {
            for kind in ["recv_async", "select_async"] {
                let what = format!("{flavor}: {kind} dropped when woken");
                let (s, r) = flavor.make::<u64>();
                let received = Arc::new(AtomicU64::new(0));
                let dropped_woken = Arc::new(AtomicU64::new(0));
                // Disconnected to stop the tasks.
                let (stop_s, stop_r) = bounded::<()>(0);
                let receivers: Vec<_> = (0..2)
                    .map(|_| {
                        let (r, received) = (r.clone(), received.clone());
                        thread::spawn(move || {
                            while r.recv().is_ok() {
                                received.fetch_add(1, Ordering::SeqCst);
                            }
                        })
                    })
                    .collect();
                let rt = multi_thread();
                let tasks: Vec<_> = (0..2)
                    .map(|_| {
                        let (r, received, dropped_woken, stop_r) = (
                            r.clone(),
                            received.clone(),
                            dropped_woken.clone(),
                            stop_r.clone(),
                        );
                        rt.spawn(async move {
                            let (_other_s, other) = unbounded::<u64>();
                            loop {
                                let attempt = async {
                                    if kind == "recv_async" {
                                        drop_when_woken(r.recv_async()).await.map(|res| res.ok())
                                    } else {
                                        let mut sel = Select::new();
                                        sel.recv(&other);
                                        sel.recv(&r);
                                        match drop_when_woken(sel.select_async()).await {
                                            Some(oper) => {
                                                assert_eq!(oper.index(), 1);
                                                Some(oper.recv(&r).ok())
                                            }
                                            None => None,
                                        }
                                    }
                                };
                                let got = tokio::select! {
                                    biased;
                                    _ = stop_r.recv_async() => break,
                                    got = attempt => got,
                                };
                                match got {
                                    Some(Some(_)) => {
                                        received.fetch_add(1, Ordering::SeqCst);
                                    }
                                    Some(None) => break,
                                    None => {
                                        dropped_woken.fetch_add(1, Ordering::SeqCst);
                                    }
                                }
                            }
                        })
                    })
                    .collect();
                let sender = {
                    let s = s.clone();
                    thread::spawn(move || {
                        let mut rng = Rng::new(0x1234);
                        for i in 0..MESSAGES {
                            if rng.below(8) == 0 {
                                thread::sleep(rng.micros(1500));
                            }
                            s.send(i).unwrap();
                        }
                    })
                };
                sender.join().unwrap();
                drop((stop_s, stop_r));
                rt.block_on(await_all(tasks));
                // The threads, blocked in `recv`, must now empty the
                // channel (a zero channel is always empty: there a lost
                // wake-up leaves the sender blocked instead, caught above
                // by the hang detector).
                let start = Instant::now();
                loop {
                    if r.is_empty() {
                        break;
                    }
                    assert!(
                        start.elapsed() < LONG,
                        "{what}: {} messages left in the channel for {LONG:?} with threads \
                         blocked in recv: a wake-up was lost ({} futures dropped when woken)",
                        r.len(),
                        dropped_woken.load(Ordering::SeqCst)
                    );
                    thread::sleep(ms(1));
                }
                drop((s, r));
                for t in receivers {
                    t.join().unwrap();
                }
                assert!(received.load(Ordering::SeqCst) >= MESSAGES, "{what}");
                if std::env::var_os("CHAN_ASYNC_VERBOSE").is_some() {
                    eprintln!(
                        "{what}: {} futures dropped when woken",
                        dropped_woken.load(Ordering::SeqCst)
                    );
                }
            }
        }
    });
}

/// The send side of the same: tasks keep making `send_async` futures (of a
/// marker message) that are dropped unpolled as soon as they are woken,
/// while threads blocked in `send` share the full channel with them and a
/// thread receives. Every thread's message must arrive: a wake-up
/// swallowed by a dropped future would leave a thread blocked on a channel
/// with room, and the receiver waiting for [`LONG`].
#[test]
fn woken_then_dropped_sends_under_load_lose_no_wake_up() {
    const PER_THREAD: u64 = 1000;
    const MARKER: u64 = u64::MAX;
    within(HANG, "woken then dropped sends under load", || {
        for flavor in BLOCKING_SEND_FLAVORS {
            let what = format!("{flavor}: send_async dropped when woken");
            let (s, r) = flavor.make::<u64>();
            let dropped_woken = Arc::new(AtomicU64::new(0));
            let (stop_s, stop_r) = bounded::<()>(0);
            let rt = multi_thread();
            let tasks: Vec<_> = (0..2)
                .map(|_| {
                    let (s, dropped_woken, stop_r) =
                        (s.clone(), dropped_woken.clone(), stop_r.clone());
                    rt.spawn(async move {
                        loop {
                            let got = tokio::select! {
                                biased;
                                _ = stop_r.recv_async() => break,
                                got = drop_when_woken(s.send_async(MARKER)) => got,
                            };
                            match got {
                                Some(res) => res.unwrap(),
                                None => {
                                    dropped_woken.fetch_add(1, Ordering::SeqCst);
                                }
                            }
                        }
                    })
                })
                .collect();
            let senders: Vec<_> = (0..2u64)
                .map(|k| {
                    let s = s.clone();
                    thread::spawn(move || {
                        for i in 0..PER_THREAD {
                            s.send(k * PER_THREAD + i).unwrap();
                        }
                    })
                })
                .collect();
            let mut rng = Rng::new(0x4321);
            let mut got = Vec::new();
            while got.len() < 2 * PER_THREAD as usize {
                if rng.below(8) == 0 {
                    thread::sleep(rng.micros(1500));
                }
                match r.recv_timeout(LONG) {
                    Ok(MARKER) => {}
                    Ok(v) => got.push(v),
                    Err(e) => panic!(
                        "{what}: {e} after {} of {} messages: a sender thread was left \
                         blocked (a wake-up was lost; {} futures dropped when woken)",
                        got.len(),
                        2 * PER_THREAD,
                        dropped_woken.load(Ordering::SeqCst)
                    ),
                }
            }
            for t in senders {
                t.join().unwrap();
            }
            drop((stop_s, stop_r));
            // The tasks may wait for room: make some until they stop.
            rt.block_on(async {
                for task in tasks {
                    while !task.is_finished() {
                        let _ = r.try_recv();
                        tokio::time::sleep(ms(1)).await;
                    }
                    if let Err(e) = task.await {
                        std::panic::resume_unwind(e.into_panic());
                    }
                }
            });
            got.sort_unstable();
            assert_eq!(got, (0..2 * PER_THREAD).collect::<Vec<_>>(), "{what}");
            if std::env::var_os("CHAN_ASYNC_VERBOSE").is_some() {
                eprintln!(
                    "{what}: {} futures dropped when woken",
                    dropped_woken.load(Ordering::SeqCst)
                );
            }
        }
    });
}

/// How a [`cancellable_send`] ended.
enum SendOutcome {
    /// The send completed (or, cancelled with `SendFuture::cancel`, had
    /// already sent its message).
    Done(Result<(), SendError<Item>>),
    /// The future was dropped before it completed: sent or dropped.
    Dropped,
    /// `SendFuture::cancel` gave the message back: not sent.
    Back(Item),
}

/// One send of `item`, cancelled at a random point: by dropping the future
/// (a timeout, a biased `select!` whose timer is checked first, polled by
/// hand and dropped), or with `SendFuture::cancel` after a timeout.
async fn cancellable_send(s: &Sender<Item>, item: Item, rng: &mut Rng) -> SendOutcome {
    let wait = rng.micros(1500);
    let done_or_dropped = |res: Option<Result<(), SendError<Item>>>| match res {
        Some(res) => SendOutcome::Done(res),
        None => SendOutcome::Dropped,
    };
    match rng.below(5) {
        0 => SendOutcome::Done(s.send_async(item).await),
        1 => done_or_dropped(tokio::time::timeout(wait, s.send_async(item)).await.ok()),
        2 => {
            // The timer first: a woken future may be dropped unpolled.
            let mut fut = s.send_async(item);
            done_or_dropped(tokio::select! {
                biased;
                _ = tokio::time::sleep(wait) => None,
                res = &mut fut => Some(res),
            })
        }
        3 => {
            let mut fut = s.send_async(item);
            match tokio::time::timeout(wait, &mut fut).await {
                Ok(res) => SendOutcome::Done(res),
                Err(_) => match fut.cancel() {
                    Some(item) => SendOutcome::Back(item),
                    None => SendOutcome::Done(Ok(())),
                },
            }
        }
        _ => {
            let mut fut = s.send_async(item);
            if let Poll::Ready(res) = futures::poll!(&mut fut) {
                return SendOutcome::Done(res);
            }
            tokio::task::yield_now().await;
            match futures::poll!(&mut fut) {
                Poll::Ready(res) => SendOutcome::Done(res),
                Poll::Pending => SendOutcome::Dropped,
            }
        }
    }
}

/// One receive, cancelled at a random point: `Some(result)` if it
/// completed, `None` if its future was dropped first.
async fn cancellable_recv(r: &Receiver<Item>, rng: &mut Rng) -> Option<Result<Item, RecvError>> {
    let wait = rng.micros(1500);
    match rng.below(5) {
        0 => Some(r.recv_async().await),
        1 => tokio::time::timeout(wait, r.recv_async()).await.ok(),
        2 => {
            let mut fut = r.recv_async();
            tokio::select! {
                biased;
                _ = tokio::time::sleep(wait) => None,
                res = &mut fut => Some(res),
            }
        }
        3 => {
            let mut fut = r.recv_async();
            if let Poll::Ready(res) = futures::poll!(&mut fut) {
                return Some(res);
            }
            tokio::task::yield_now().await;
            match futures::poll!(&mut fut) {
                Poll::Ready(res) => Some(res),
                Poll::Pending => None,
            }
        }
        _ => {
            let mut stream = r.stream();
            match tokio::time::timeout(wait, stream.next()).await {
                Ok(Some(item)) => Some(Ok(item)),
                Ok(None) => Some(Err(RecvError)),
                Err(_) => None,
            }
        }
    }
}

/// `select_async` with a short `after` arm, on both sides, on a
/// multi-thread runtime, with thread senders and a thread receiver (on a
/// zero channel an async select's send arm pairs with a blocked receiver):
/// every message is received once or given back by a select whose timer
/// fired, never both, none lost.
#[test]
fn select_async_with_a_short_after_arm_counts_every_message() {
    const PER_SENDER: u64 = 300;
    within(HANG, "select_async with after", || {
        for flavor in FLAVORS {
            let what = format!("{flavor}: select_async with after");
            let ledger = Arc::new(Ledger::default());
            let log = Arc::new(Mutex::new(SendLog::default()));
            let (s, r) = flavor.make::<Item>();
            let rt = multi_thread();
            let mut tasks = Vec::new();
            for id in 0..2u64 {
                let (s, ledger, log) = (s.clone(), ledger.clone(), log.clone());
                tasks.push(rt.spawn(async move {
                    let mut rng = Rng::new(0x99 + id);
                    let mut mine = SendLog::default();
                    for _ in 0..PER_SENDER {
                        let item = Item::new(&ledger);
                        let timer = after(rng.micros(1500));
                        let mut sel = Select::new();
                        let ti = sel.recv(&timer);
                        let si = sel.send(&s);
                        let oper = sel.select_async().await;
                        if oper.index() == si {
                            let item_id = item.id;
                            oper.send(&s, item).unwrap();
                            mine.sent.push(item_id);
                        } else {
                            assert_eq!(oper.index(), ti);
                            assert!(oper.recv(&timer).is_ok());
                            mine.given_back.push(item.id);
                            drop(item);
                        }
                    }
                    log.lock().unwrap().merge(mine);
                }));
            }
            let mut threads = Vec::new();
            {
                let (s, ledger, log) = (s.clone(), ledger.clone(), log.clone());
                threads.push(thread::spawn(move || {
                    let mut mine = SendLog::default();
                    for _ in 0..PER_SENDER {
                        let item = Item::new(&ledger);
                        mine.sent.push(item.id);
                        s.send(item).unwrap();
                    }
                    log.lock().unwrap().merge(mine);
                }));
            }
            {
                let r = r.clone();
                threads.push(thread::spawn(move || {
                    while let Ok(item) = r.recv() {
                        item.receive();
                    }
                }));
            }
            for id in 0..2u64 {
                let r = r.clone();
                tasks.push(rt.spawn(async move {
                    let mut rng = Rng::new(0xAB + id);
                    loop {
                        let timer = after(rng.micros(1500));
                        let mut sel = Select::new();
                        let ri = sel.recv(&r);
                        let ti = sel.recv(&timer);
                        let oper = sel.select_async().await;
                        if oper.index() == ri {
                            match oper.recv(&r) {
                                Ok(item) => {
                                    item.receive();
                                }
                                Err(RecvError) => break,
                            }
                        } else {
                            assert_eq!(oper.index(), ti);
                            assert!(oper.recv(&timer).is_ok());
                        }
                    }
                }));
            }
            drop((s, r));
            rt.block_on(await_all(tasks));
            for t in threads {
                t.join().unwrap();
            }
            let log = std::mem::take(&mut *log.lock().unwrap());
            ledger.check(&log, flavor, &what);
        }
    });
}
