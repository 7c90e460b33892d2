//! Closing a channel: `Sender::close`, `Receiver::close`, `is_closed`,
//! `Receiver::close_and_drain` and `Receiver::drain`, each tested against
//! the promise it makes, on every flavor (`bounded(0)`, `bounded(1)`,
//! `bounded(4)`, `unbounded`) and from either side:
//!
//! - `close` returns true exactly once; afterwards every send fails and
//!   hands its message back, and the receivers still get every message
//!   accepted before the close, in order, then `Disconnected`.
//! - Blocked senders and receivers (threads, selects, async tasks) wake.
//! - Exactly once: a message is received (by `recv` or `close_and_drain`),
//!   or handed back to its sender, or dropped with the channel; never lost,
//!   never twice, also when sends race the close (many rounds).
//! - After a close, the last receiver's drop still drops the buffered
//!   messages at once, exactly once (list flavor included).
//! - `drain` takes at most `len()` of its creation and is fused.
//! - Timer channels and `never` cannot be closed.
//!
//! No assertion depends on timing: a sleep only makes the intended
//! interleaving (a thread already blocked) likely, and long waits end in
//! `Timeout` errors that fail the test instead of hanging it.

mod common;

#[cfg(feature = "async")]
mod async_common;

use chan::{after, at, bounded, never, select, tick, unbounded, Receiver, Select, Sender};
use chan::{RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError};
use common::{
    assert_recvs_disconnected, assert_sends_disconnected, flavors, ms, within, DropTracker, Flavor,
    Tracked,
};
use std::collections::HashSet;
use std::iter::FusedIterator;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Every flavor of a channel that carries messages.
const ALL: [Flavor; 4] = flavors(4);

/// The flavors on which a send can block.
const BLOCKING: [Flavor; 3] = [Flavor::Bounded(0), Flavor::Bounded(1), Flavor::Bounded(4)];

/// The flavors with a buffer.
const QUEUES: [Flavor; 3] = [Flavor::Bounded(1), Flavor::Bounded(4), Flavor::Unbounded];

/// A wait that must end by a wake-up: far above any normal time, so that
/// only a lost wake-up reaches it (and then the operation reports a
/// timeout, which fails the test).
const LONG: Duration = Duration::from_secs(30);

/// Hang detector for a whole test.
const HANG: Duration = Duration::from_secs(120);

/// Rounds of each race.
const ROUNDS: usize = if cfg!(miri) { 2 } else { 60 };

/// Which handle closes the channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Sender,
    Receiver,
}

const SIDES: [Side; 2] = [Side::Sender, Side::Receiver];

/// Closes the channel through the handle of `side`.
fn close<T>(side: Side, s: &Sender<T>, r: &Receiver<T>) -> bool {
    match side {
        Side::Sender => s.close(),
        Side::Receiver => r.close(),
    }
}

/// Closes the channel through a clone of the handle of `side`, from
/// another thread; returns what `close` returned.
fn close_from_thread<T: Send + 'static>(side: Side, s: &Sender<T>, r: &Receiver<T>) -> bool {
    match side {
        Side::Sender => {
            let s = s.clone();
            thread::spawn(move || s.close()).join().unwrap()
        }
        Side::Receiver => {
            let r = r.clone();
            thread::spawn(move || r.close()).join().unwrap()
        }
    }
}

/// The number of messages to put in a channel of `flavor` without blocking
/// (at most `max`).
fn room(flavor: Flavor, max: usize) -> usize {
    flavor.cap().map_or(max, |cap| cap.min(max))
}

/// Asserts that `ids`, as taken by one receiver, hold the messages of each
/// producer (`id / per`) in the order they were sent.
fn assert_in_order_per_producer(ids: &[usize], per: usize, what: &str) {
    let mut last = std::collections::HashMap::new();
    for &id in ids {
        if let Some(prev) = last.insert(id / per, id) {
            assert!(prev < id, "{what}: {prev} received before {id}");
        }
    }
}

/// Makes it likely (not certain) that threads just released by a barrier
/// have blocked in their channel operation. No assertion relies on it.
fn let_them_block() {
    thread::sleep(ms(50));
}

// ---------------------------------------------------------------------------
// close and is_closed
// ---------------------------------------------------------------------------

/// `close` from either side returns true the first time and false after,
/// from any handle; `is_closed` turns true on every handle and clone.
#[test]
fn close_returns_true_exactly_once() {
    for flavor in ALL {
        for side in SIDES {
            let what = format!("{flavor}, closed by the {side:?}");
            let (s, r) = flavor.make::<i32>();
            let (s2, r2) = (s.clone(), r.clone());
            assert!(!s.is_closed() && !r.is_closed(), "{what}: closed at birth");
            assert!(close(side, &s, &r), "{what}: first close");
            for h in [&s, &s2] {
                assert!(h.is_closed(), "{what}: sender not closed");
                assert!(!h.close(), "{what}: second close from a sender");
            }
            for h in [&r, &r2] {
                assert!(h.is_closed(), "{what}: receiver not closed");
                assert!(!h.close(), "{what}: second close from a receiver");
            }
            // A clone made after the close is closed too.
            assert!(s.clone().is_closed() && r.clone().is_closed(), "{what}");
            // Dropping handles after the close changes nothing.
            drop(s2);
            drop(r2);
            assert!(s.is_closed() && r.is_closed(), "{what}");
            assert!(!s.close() && !r.close(), "{what}");
        }
    }
}

/// `is_closed` is also true once either side is fully gone, and `close`
/// then reports that it did not close anything.
#[test]
fn is_closed_after_a_side_is_dropped() {
    for flavor in ALL {
        let (s, r) = flavor.make::<i32>();
        let r2 = r.clone();
        drop(r);
        assert!(!s.is_closed(), "{flavor}: one receiver left");
        drop(r2);
        assert!(s.is_closed(), "{flavor}: every receiver gone");
        assert!(!s.close(), "{flavor}: close after the receivers went");
        assert_sends_disconnected(&s);

        let (s, r) = flavor.make::<i32>();
        let s2 = s.clone();
        drop(s);
        assert!(!r.is_closed(), "{flavor}: one sender left");
        drop(s2);
        assert!(r.is_closed(), "{flavor}: every sender gone");
        assert!(!r.close(), "{flavor}: close after the senders went");
        assert_recvs_disconnected(&r);
    }
}

/// Messages sent before the close are all received, in order, by every
/// kind of receive; then each reports the disconnection. Every kind of
/// send fails after the close and hands its message back.
#[test]
fn messages_before_close_are_received_then_disconnected() {
    for flavor in ALL {
        for side in SIDES {
            let what = format!("{flavor}, closed by the {side:?}");
            let (s, r) = flavor.make::<i32>();
            let n = room(flavor, 10) as i32;
            for i in 0..n {
                s.send(i).unwrap();
            }
            assert!(close(side, &s, &r), "{what}");
            assert_sends_disconnected(&s);
            let err = s.send_all(vec![20, 21, 22]).unwrap_err();
            assert!(err.is_disconnected(), "{what}: send_all");
            assert_eq!(err.sent(), 0, "{what}: send_all");
            assert_eq!(err.into_iter().collect::<Vec<_>>(), [20, 21, 22], "{what}");
            let err = s.try_send_all(30..33).unwrap_err();
            assert!(err.is_disconnected(), "{what}: try_send_all");
            assert_eq!(err.into_iter().collect::<Vec<_>>(), [30, 31, 32], "{what}");
            assert_eq!(r.len(), n as usize, "{what}: len after the close");

            // Received in order, by a mix of receives.
            let mut got = Vec::new();
            let mut i = 0;
            while got.len() < n as usize {
                match i % 4 {
                    0 => got.push(r.recv().unwrap()),
                    1 => got.push(r.try_recv().unwrap()),
                    2 => got.push(r.recv_timeout(LONG).unwrap()),
                    _ => {
                        r.recv_many(&mut got, 2).unwrap();
                    }
                }
                i += 1;
            }
            assert_eq!(got, (0..n).collect::<Vec<_>>(), "{what}");
            assert_recvs_disconnected(&r);
            let mut batch = Vec::new();
            assert_eq!(r.recv_many(&mut batch, 4), Err(RecvError), "{what}");
            assert_eq!(
                r.try_recv_many(&mut batch, 4),
                Err(TryRecvError::Disconnected),
                "{what}"
            );
            assert!(r.iter().next().is_none(), "{what}: iter");
            assert!(r.try_iter().next().is_none(), "{what}: try_iter");
        }
    }
}

/// The iterators end after the messages sent before the close.
#[test]
fn iterators_end_after_close() {
    for flavor in QUEUES {
        let (s, r) = flavor.make::<i32>();
        let n = room(flavor, 5) as i32;
        for i in 0..n {
            s.send(i).unwrap();
        }
        s.close();
        assert_eq!(r.iter().collect::<Vec<_>>(), (0..n).collect::<Vec<_>>());
        let (s, r) = flavor.make::<i32>();
        for i in 0..n {
            s.send(i).unwrap();
        }
        r.close();
        assert_eq!(
            r.into_iter().collect::<Vec<_>>(),
            (0..n).collect::<Vec<_>>()
        );
    }
}

// ---------------------------------------------------------------------------
// Blocked threads
// ---------------------------------------------------------------------------

/// Senders blocked on a full channel (or a rendezvous with no receiver)
/// wake when the channel is closed, from either side, with their messages
/// back; messages buffered before the close are still received.
#[test]
fn close_wakes_blocked_senders_with_their_messages() {
    within(HANG, "blocked senders", || {
        for flavor in BLOCKING {
            for side in SIDES {
                let what = format!("{flavor}, closed by the {side:?}");
                let (s, r) = flavor.make::<i32>();
                let cap = flavor.cap().unwrap() as i32;
                for i in 0..cap {
                    s.send(100 + i).unwrap();
                }
                let start = Arc::new(Barrier::new(4));
                let spawn = |f: fn(&Sender<i32>) -> Result<(), SendTimeoutError<i32>>| {
                    let (s, start) = (s.clone(), start.clone());
                    thread::spawn(move || {
                        start.wait();
                        f(&s)
                    })
                };
                let t1 = spawn(|s| {
                    s.send(1)
                        .map_err(|SendError(m)| SendTimeoutError::Disconnected(m))
                });
                let t2 = spawn(|s| s.send_timeout(2, LONG));
                let t3 = spawn(|s| s.send_deadline(3, Instant::now() + LONG));
                start.wait();
                let_them_block();
                assert!(close(side, &s, &r), "{what}");
                assert_eq!(t1.join().unwrap(), Err(SendTimeoutError::Disconnected(1)));
                assert_eq!(t2.join().unwrap(), Err(SendTimeoutError::Disconnected(2)));
                assert_eq!(t3.join().unwrap(), Err(SendTimeoutError::Disconnected(3)));
                for i in 0..cap {
                    assert_eq!(r.recv(), Ok(100 + i), "{what}");
                }
                assert_recvs_disconnected(&r);
            }
        }
    });
}

/// A sender blocked in `send_all` wakes at the close and gets back every
/// message it did not send, in order.
#[test]
fn close_wakes_a_blocked_send_all_with_the_rest() {
    within(HANG, "blocked send_all", || {
        for flavor in BLOCKING {
            for side in SIDES {
                let what = format!("{flavor}, closed by the {side:?}");
                let (s, r) = flavor.make::<i32>();
                let cap = flavor.cap().unwrap();
                let s2 = s.clone();
                let t = thread::spawn(move || match s2.send_all(0..20) {
                    Ok(()) => panic!("send_all of 20 into {cap} slots succeeded"),
                    Err(err) => (err.sent(), err.into_iter().collect::<Vec<_>>()),
                });
                let_them_block();
                assert!(close(side, &s, &r), "{what}");
                let (sent, back) = t.join().unwrap();
                let got: Vec<i32> = r.try_iter().collect();
                assert_eq!(sent, got.len(), "{what}: sent count");
                assert!(sent <= cap, "{what}: sent {sent} into {cap} slots");
                let all: Vec<i32> = got.iter().chain(&back).copied().collect();
                assert_eq!(all, (0..20).collect::<Vec<_>>(), "{what}");
                assert_eq!(r.try_recv(), Err(TryRecvError::Disconnected), "{what}");
            }
        }
    });
}

/// Receivers blocked on an empty channel wake when it is closed (with the
/// other handles still alive) and report the disconnection; a message sent
/// just before the close goes to exactly one of them.
#[test]
fn close_wakes_blocked_receivers() {
    within(HANG, "blocked receivers", || {
        for flavor in ALL {
            for side in SIDES {
                for with_message in [false, true] {
                    let what = format!("{flavor}, closed by the {side:?}, message {with_message}");
                    let (s, r) = flavor.make::<i32>();
                    let start = Arc::new(Barrier::new(4));
                    let spawn = |f: fn(&Receiver<i32>) -> Result<i32, RecvTimeoutError>| {
                        let (r, start) = (r.clone(), start.clone());
                        thread::spawn(move || {
                            start.wait();
                            f(&r)
                        })
                    };
                    let threads = [
                        spawn(|r| r.recv().map_err(|RecvError| RecvTimeoutError::Disconnected)),
                        spawn(|r| r.recv_timeout(LONG)),
                        spawn(|r| {
                            let mut batch = Vec::new();
                            match r.recv_many_timeout(&mut batch, 8, LONG) {
                                Ok(n) => {
                                    assert_eq!(n, 1);
                                    Ok(batch[0])
                                }
                                Err(e) => Err(e),
                            }
                        }),
                    ];
                    start.wait();
                    let_them_block();
                    if with_message {
                        // On a rendezvous this waits for one of them.
                        s.send(7).unwrap();
                    }
                    assert!(close(side, &s, &r), "{what}");
                    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
                    let got = results.iter().filter(|res| **res == Ok(7)).count();
                    let woken = results
                        .iter()
                        .filter(|res| **res == Err(RecvTimeoutError::Disconnected))
                        .count();
                    assert_eq!(got, usize::from(with_message), "{what}: {results:?}");
                    assert_eq!(got + woken, 3, "{what}: {results:?}");
                    assert_recvs_disconnected(&r);
                }
            }
        }
    });
}

// ---------------------------------------------------------------------------
// Races: exactly once
// ---------------------------------------------------------------------------

/// How a race round ends the channel.
#[derive(Clone, Copy, Debug)]
enum How {
    Close(Side),
    CloseAndDrain,
}

/// One round of `PRODUCERS` threads sending `PER` tracked messages each
/// (each with another kind of send: `send`, `send_timeout`, `try_send`,
/// `select!`, `send_async`, `send_all`) while the channel is closed as
/// `how` once about `target` sends have been accepted. With `consumer`, a
/// thread receives until the disconnection meanwhile (with `recv`,
/// `select!`, `recv_many` or `recv_async`, chosen by `target`).
///
/// Checks, for every producer: its accepted sends are a prefix of its
/// messages (once a send failed, every later one fails: the close is
/// final); every failed send handed back its own message; the messages
/// received (by the consumer, `close_and_drain`, or receives after the
/// close) are exactly its accepted ones, each once, in order for each
/// receiver. Every message is dropped exactly once.
fn race_sends_against_close(flavor: Flavor, how: How, consumer: bool, target: usize) {
    const PRODUCERS: usize = 6;
    const PER: usize = if cfg!(miri) { 10 } else { 60 };
    let what = format!("{flavor}, {how:?}, consumer {consumer}, target {target}");
    let tracker = DropTracker::new();
    let (s, r) = flavor.make::<Tracked>();
    let accepted = Arc::new(AtomicUsize::new(0));
    let parties = PRODUCERS + 1 + usize::from(consumer);
    let start = Arc::new(Barrier::new(parties));

    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let (s, start, accepted, tracker) =
                (s.clone(), start.clone(), accepted.clone(), tracker.clone());
            let what = what.clone();
            thread::spawn(move || {
                start.wait();
                let mut ok = 0;
                let mut back = 0;
                let mut note = |result: Result<(), Tracked>, id: usize| match result {
                    Ok(()) => {
                        assert_eq!(
                            back, 0,
                            "{what}: producer {p}: a send succeeded after one failed"
                        );
                        ok += 1;
                        accepted.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(msg) => {
                        assert_eq!(
                            msg.id, id,
                            "{what}: producer {p}: handed back another message"
                        );
                        back += 1;
                    }
                };
                let mut i = 0;
                while i < PER {
                    let id = p * PER + i;
                    match p {
                        0 => note(s.send(tracker.make(id)).map_err(|SendError(m)| m), id),
                        1 => {
                            let result = s.send_timeout(tracker.make(id), LONG);
                            note(
                                result.map_err(|e| match e {
                                    SendTimeoutError::Disconnected(m) => m,
                                    SendTimeoutError::Timeout(_) => {
                                        panic!("{what}: send_timeout timed out")
                                    }
                                }),
                                id,
                            )
                        }
                        2 => {
                            let mut msg = tracker.make(id);
                            loop {
                                match s.try_send(msg) {
                                    Ok(()) => break note(Ok(()), id),
                                    Err(TrySendError::Full(m)) => {
                                        msg = m;
                                        thread::yield_now();
                                    }
                                    Err(TrySendError::Disconnected(m)) => break note(Err(m), id),
                                }
                            }
                        }
                        3 => {
                            let msg = tracker.make(id);
                            let result = select! {
                                send(s, msg) -> res => res.map_err(|SendError(m)| m),
                                default(LONG) => panic!("{what}: select send not woken"),
                            };
                            note(result, id)
                        }
                        #[cfg(feature = "async")]
                        4 => {
                            let result =
                                futures::executor::block_on(s.send_async(tracker.make(id)));
                            note(result.map_err(|SendError(m)| m), id)
                        }
                        _ => {
                            // A batch of up to 5 with send_all.
                            let end = (i + 5).min(PER);
                            let batch: Vec<Tracked> =
                                (i..end).map(|j| tracker.make(p * PER + j)).collect();
                            match s.send_all(batch) {
                                Ok(()) => {
                                    for j in i..end {
                                        note(Ok(()), p * PER + j);
                                    }
                                }
                                Err(err) => {
                                    assert!(err.is_disconnected());
                                    let sent = err.sent();
                                    for j in i..i + sent {
                                        note(Ok(()), p * PER + j);
                                    }
                                    let back: Vec<Tracked> = err.into_iter().collect();
                                    assert_eq!(back.len(), end - i - sent, "send_all: unsent");
                                    for (j, m) in (i + sent..end).zip(back) {
                                        note(Err(m), p * PER + j);
                                    }
                                }
                            }
                            i = end;
                            continue;
                        }
                    }
                    i += 1;
                }
                assert_eq!(ok + back, PER);
                ok
            })
        })
        .collect();

    let consumer = consumer.then(|| {
        let (r, start) = (r.clone(), start.clone());
        thread::spawn(move || {
            start.wait();
            let mut got = Vec::new();
            let mut batch = Vec::new();
            loop {
                let result = match target % 4 {
                    0 => r.recv(),
                    1 => select! {
                        recv(r) -> msg => msg,
                        default(LONG) => panic!("select recv not woken"),
                    },
                    2 => match r.recv_many(&mut batch, 3) {
                        Ok(_) => {
                            got.extend(batch.drain(..).map(|m: Tracked| m.id));
                            continue;
                        }
                        Err(e) => Err(e),
                    },
                    #[cfg(feature = "async")]
                    _ => futures::executor::block_on(r.recv_async()),
                    #[cfg(not(feature = "async"))]
                    _ => r.recv(),
                };
                match result {
                    Ok(msg) => got.push(msg.id),
                    Err(RecvError) => break got,
                }
            }
        })
    });

    start.wait();
    // Close once about `target` messages are in (a blocked `send_all` may
    // have some in the channel before it reports them), or after a while.
    for _ in 0..100_000 {
        if accepted.load(Ordering::SeqCst).max(s.len()) >= target {
            break;
        }
        thread::yield_now();
    }
    let mut receivers_lists = Vec::new();
    match how {
        How::Close(side) => assert!(close(side, &s, &r), "{what}: close"),
        How::CloseAndDrain => {
            receivers_lists.push(r.close_and_drain().iter().map(|m| m.id).collect::<Vec<_>>());
            if flavor == Flavor::Bounded(0) {
                assert!(
                    receivers_lists[0].is_empty(),
                    "{what}: drained a rendezvous"
                );
            }
        }
    }
    let oks: Vec<usize> = producers.into_iter().map(|t| t.join().unwrap()).collect();
    if let Some(consumer) = consumer {
        receivers_lists.push(consumer.join().unwrap());
    }
    // Whatever is left is still delivered after the close.
    receivers_lists.push(r.try_iter().map(|m| m.id).collect());
    assert_eq!(
        r.try_recv().map(|m| m.id),
        Err(TryRecvError::Disconnected),
        "{what}"
    );

    let mut seen = HashSet::new();
    for list in &receivers_lists {
        assert_in_order_per_producer(list, PER, &what);
        for &id in list {
            assert!(seen.insert(id), "{what}: message {id} received twice");
        }
    }
    for (p, &ok) in oks.iter().enumerate() {
        for i in 0..PER {
            let received = seen.contains(&(p * PER + i));
            assert_eq!(
                received,
                i < ok,
                "{what}: producer {p} had {ok} sends accepted; message {i} received: {received}"
            );
        }
    }
    assert_eq!(seen.len(), oks.iter().sum::<usize>(), "{what}");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        seen.len(),
        "{what}: accepted vs received"
    );
    drop((s, r));
    tracker.assert_all_dropped_once(&what);
}

/// Sends (of every kind) from several threads racing a `close` from either
/// side, with a consumer receiving meanwhile: every message is received or
/// handed back, exactly once, over many rounds.
#[test]
fn sends_racing_close_lose_nothing() {
    within(HANG, "sends racing close", || {
        for flavor in ALL {
            for round in 0..ROUNDS {
                let side = SIDES[round % 2];
                race_sends_against_close(flavor, How::Close(side), true, round * 7 % 120);
            }
            // Without a consumer: a bounded channel fills up and the
            // senders block until the close.
            for round in 0..ROUNDS / 2 {
                let side = SIDES[round % 2];
                let target = round % (room(flavor, 100) + 1);
                race_sends_against_close(flavor, How::Close(side), false, target);
            }
        }
    });
}

/// `close_and_drain` racing senders of every kind, with and without another
/// receiver: every accepted message is in the drain or was received, every
/// refused one was handed back; nothing is left in the channel after.
#[test]
fn close_and_drain_racing_senders_loses_nothing() {
    within(HANG, "close_and_drain racing senders", || {
        for flavor in ALL {
            for round in 0..ROUNDS {
                let consumer = round % 2 == 0;
                let target = if consumer {
                    round * 7 % 120
                } else {
                    round % (room(flavor, 100) + 1)
                };
                race_sends_against_close(flavor, How::CloseAndDrain, consumer, target);
            }
        }
    });
}

/// Two receivers calling `close_and_drain` at once while senders run:
/// between them (and a receive after) they get every accepted message
/// exactly once.
#[test]
fn concurrent_close_and_drain_calls_split_the_messages() {
    within(HANG, "concurrent close_and_drain", || {
        for flavor in QUEUES {
            for round in 0..ROUNDS {
                let (s, r) = flavor.make::<usize>();
                let start = Arc::new(Barrier::new(4));
                let producers: Vec<_> = (0..2)
                    .map(|p| {
                        let (s, start) = (s.clone(), start.clone());
                        thread::spawn(move || {
                            start.wait();
                            let mut ok = Vec::new();
                            for i in 0..200 {
                                if s.send(p * 1000 + i).is_ok() {
                                    ok.push(p * 1000 + i);
                                }
                            }
                            ok
                        })
                    })
                    .collect();
                let drainers: Vec<_> = (0..2)
                    .map(|d| {
                        let (r, start) = (r.clone(), start.clone());
                        thread::spawn(move || {
                            start.wait();
                            for _ in 0..(round + d) % 10 {
                                thread::yield_now();
                            }
                            r.close_and_drain()
                        })
                    })
                    .collect();
                drop(s);
                let accepted: Vec<usize> = producers
                    .into_iter()
                    .flat_map(|t| t.join().unwrap())
                    .collect();
                let mut got: Vec<usize> = drainers
                    .into_iter()
                    .flat_map(|t| {
                        let drained = t.join().unwrap();
                        assert_in_order_per_producer(&drained, 1000, &flavor.to_string());
                        drained
                    })
                    .collect();
                got.extend(r.try_iter());
                got.sort_unstable();
                let mut accepted = accepted;
                accepted.sort_unstable();
                assert_eq!(got, accepted, "{flavor}, round {round}");
            }
        }
    });
}

/// A rendezvous sender blocked while a receiver arrives and the channel is
/// closed: the message is either received (and the send succeeds) or
/// handed back (and the receive fails), never both, never neither.
#[test]
fn rendezvous_racing_close_is_received_or_returned() {
    within(HANG, "rendezvous racing close", || {
        for round in 0..ROUNDS * 5 {
            let tracker = DropTracker::new();
            let (s, r) = bounded::<Tracked>(0);
            let start = Arc::new(Barrier::new(3));
            let sender = {
                let (s, start, tracker) = (s.clone(), start.clone(), tracker.clone());
                thread::spawn(move || {
                    start.wait();
                    s.send(tracker.make(round)).map_err(|SendError(m)| m.id)
                })
            };
            let receiver = {
                let (r, start) = (r.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    for _ in 0..round % 7 {
                        thread::yield_now();
                    }
                    r.recv().map(|m| m.id)
                })
            };
            start.wait();
            for _ in 0..round % 5 {
                thread::yield_now();
            }
            match round % 3 {
                0 => assert!(s.close()),
                1 => assert!(r.close()),
                _ => assert!(r.close_and_drain().is_empty(), "drained a rendezvous"),
            }
            let sent = sender.join().unwrap();
            let received = receiver.join().unwrap();
            match (sent, received) {
                (Ok(()), Ok(id)) => assert_eq!(id, round),
                (Err(id), Err(RecvError)) => assert_eq!(id, round),
                other => panic!("round {round}: send and receive disagree: {other:?}"),
            }
            drop((s, r));
            tracker.assert_all_dropped_once(format!("round {round}"));
        }
    });
}

// ---------------------------------------------------------------------------
// close_and_drain and drain
// ---------------------------------------------------------------------------

/// `close_and_drain` returns every message still inside, in order (after a
/// wrap-around of the ring, across the list's blocks), closes the channel,
/// and returns nothing more the second time.
#[test]
fn close_and_drain_returns_everything_in_order() {
    // bounded(4), wrapped around.
    let (s, r) = bounded(4);
    for i in 0..4 {
        s.send(i).unwrap();
    }
    assert_eq!(r.recv(), Ok(0));
    assert_eq!(r.recv(), Ok(1));
    s.send(4).unwrap();
    s.send(5).unwrap();
    assert_eq!(r.close_and_drain(), [2, 3, 4, 5]);
    assert!(r.is_closed() && s.is_closed());
    assert_eq!(s.send(6), Err(SendError(6)));
    assert!(r.close_and_drain().is_empty());
    assert_recvs_disconnected(&r);

    // bounded(1).
    let (s, r) = bounded(1);
    s.send(9).unwrap();
    assert_eq!(r.close_and_drain(), [9]);
    assert_sends_disconnected(&s);

    // unbounded, across several blocks, partly received first.
    let (s, r) = unbounded();
    for i in 0..1000 {
        s.send(i).unwrap();
    }
    for i in 0..300 {
        assert_eq!(r.recv(), Ok(i));
    }
    assert_eq!(r.close_and_drain(), (300..1000).collect::<Vec<_>>());
    assert_sends_disconnected(&s);
    assert_recvs_disconnected(&r);

    // Closed by a sender first: the drain still gets the messages.
    for flavor in QUEUES {
        let (s, r) = flavor.make::<i32>();
        let n = room(flavor, 3) as i32;
        for i in 0..n {
            s.send(i).unwrap();
        }
        assert!(s.close());
        assert_eq!(r.close_and_drain(), (0..n).collect::<Vec<_>>(), "{flavor}");
        // And after the last sender is gone, with an empty channel.
        drop(s);
        assert!(r.close_and_drain().is_empty(), "{flavor}");
    }

    // Empty channels.
    for flavor in ALL {
        let (s, r) = flavor.make::<i32>();
        assert!(r.close_and_drain().is_empty(), "{flavor}");
        assert!(s.is_closed(), "{flavor}");
        assert_sends_disconnected(&s);
    }
}

/// On a rendezvous channel `close_and_drain` returns nothing: a sender
/// blocked in it gets its own message back.
#[test]
fn close_and_drain_on_a_rendezvous_hands_back_blocked_messages() {
    within(HANG, "rendezvous close_and_drain", || {
        let (s, r) = bounded::<i32>(0);
        let s2 = s.clone();
        let t = thread::spawn(move || s2.send(5));
        let_them_block();
        assert!(r.close_and_drain().is_empty());
        assert_eq!(t.join().unwrap(), Err(SendError(5)));
        assert_sends_disconnected(&s);
    });
}

/// `drain` takes at most the `len()` of its creation, in order, without
/// blocking; messages sent after its creation stay; once it returned
/// `None` it keeps returning `None` (fused).
#[test]
fn drain_takes_at_most_the_messages_at_its_creation() {
    fn fused<I: FusedIterator>(_: &I) {}
    for flavor in QUEUES {
        let (s, r) = flavor.make::<i32>();
        let n = room(flavor, 3) as i32;
        for i in 0..n {
            s.send(i).unwrap();
        }
        let mut drain = r.drain();
        fused(&drain);
        assert_eq!(drain.size_hint(), (0, Some(n as usize)), "{flavor}");
        assert_eq!(format!("{drain:?}"), "Drain { .. }");
        assert_eq!(drain.next(), Some(0), "{flavor}");
        // Room again: a message sent now is not part of this drain.
        s.send(100).unwrap();
        assert_eq!(
            drain.by_ref().collect::<Vec<_>>(),
            (1..n).collect::<Vec<_>>(),
            "{flavor}"
        );
        assert_eq!(drain.next(), None, "{flavor}");
        assert_eq!(drain.size_hint(), (0, Some(0)), "{flavor}");
        assert_eq!(drain.next(), None, "{flavor}: fused");
        assert_eq!(r.try_recv(), Ok(100), "{flavor}");

        // Another receiver takes messages meanwhile: the drain ends early.
        let (s, r) = flavor.make::<i32>();
        for i in 0..n {
            s.send(i).unwrap();
        }
        let mut drain = r.drain();
        let r2 = r.clone();
        let taken: Vec<i32> = r2.try_iter().collect();
        assert_eq!(taken.len(), n as usize);
        assert_eq!(drain.next(), None, "{flavor}: the messages were taken");
        s.send(1).unwrap();
        assert_eq!(drain.next(), None, "{flavor}: fused after ending early");

        // After a close, the drain still takes the messages.
        let (s, r) = flavor.make::<i32>();
        for i in 0..n {
            s.send(i).unwrap();
        }
        s.close();
        assert_eq!(r.drain().collect::<Vec<_>>(), (0..n).collect::<Vec<_>>());
        assert_eq!(r.drain().next(), None);
    }
    // A rendezvous channel holds nothing: the drain is empty even with a
    // sender waiting.
    within(HANG, "rendezvous drain", || {
        let (s, r) = bounded::<i32>(0);
        let t = thread::spawn(move || s.send(3));
        let_them_block();
        assert_eq!(r.drain().next(), None);
        assert_eq!(r.recv(), Ok(3));
        assert_eq!(t.join().unwrap(), Ok(()));
    });
}

/// With a producer sending as fast as it can, each `drain` still ends,
/// after at most the `len()` of its creation (its `size_hint` bound), and
/// the drains together take every message once, in order. The producer
/// stops after `TOTAL` messages: a producer faster than the drains would
/// otherwise make each drain longer than the one before, without end.
#[test]
fn drain_ends_despite_a_concurrent_producer() {
    const TOTAL: u64 = if cfg!(miri) { 200 } else { 50_000 };
    within(HANG, "drain with a producer", || {
        for flavor in [Flavor::Bounded(64), Flavor::Unbounded] {
            let (s, r) = flavor.make::<u64>();
            let stop = Arc::new(AtomicBool::new(false));
            let producer = {
                let stop = stop.clone();
                thread::spawn(move || {
                    let mut next = 0u64;
                    while next < TOTAL && !stop.load(Ordering::Relaxed) {
                        match s.send_timeout(next, ms(1)) {
                            Ok(()) => next += 1,
                            Err(SendTimeoutError::Timeout(_)) => {}
                            Err(SendTimeoutError::Disconnected(_)) => unreachable!(),
                        }
                    }
                    next
                })
            };
            let mut expected = 0u64;
            for _ in 0..if cfg!(miri) { 5 } else { 300 } {
                let drain = r.drain();
                let bound = drain.size_hint().1.unwrap();
                let mut taken = 0;
                for msg in drain {
                    assert_eq!(msg, expected, "{flavor}: out of order");
                    expected += 1;
                    taken += 1;
                }
                assert!(taken <= bound, "{flavor}: took {taken} > {bound}");
            }
            stop.store(true, Ordering::Relaxed);
            let sent = producer.join().unwrap();
            for msg in r.iter() {
                assert_eq!(msg, expected, "{flavor}");
                expected += 1;
            }
            assert_eq!(expected, sent, "{flavor}");
        }
    });
}

// ---------------------------------------------------------------------------
// Drops
// ---------------------------------------------------------------------------

/// After a close, the last receiver's drop drops the buffered messages at
/// once (the senders are still alive), exactly once; sends after it fail
/// and hand their messages back, for the caller to drop.
#[test]
fn last_receiver_drop_after_close_drops_buffered_messages() {
    for flavor in QUEUES {
        for side in SIDES {
            let what = format!("{flavor}, closed by the {side:?}");
            let tracker = DropTracker::new();
            let (s, r) = flavor.make::<Tracked>();
            let n = room(flavor, 300);
            for i in 0..n {
                s.send(tracker.make(i)).unwrap();
            }
            // Take one, so the list's head is not at the start.
            drop(r.recv().unwrap());
            assert!(close(side, &s, &r), "{what}");
            let r2 = r.clone();
            drop(r);
            assert_eq!(
                tracker.alive(),
                n - 1,
                "{what}: dropped with a receiver left"
            );
            drop(r2);
            assert_eq!(tracker.alive(), 0, "{what}: kept after the last receiver");
            match s.send(tracker.make(n)) {
                Err(SendError(m)) => {
                    assert_eq!(tracker.alive(), 1, "{what}: handed back");
                    drop(m);
                }
                Ok(()) => panic!("{what}: sent after close"),
            }
            drop(s);
            tracker.assert_all_dropped_once(&what);
        }
    }
}

/// After a close, dropping the last sender keeps the messages for the
/// receivers; then the last receiver's drop drops what is left, once.
#[test]
fn messages_survive_the_last_sender_after_close() {
    for flavor in QUEUES {
        let tracker = DropTracker::new();
        let (s, r) = flavor.make::<Tracked>();
        let n = room(flavor, 300);
        for i in 0..n {
            s.send(tracker.make(i)).unwrap();
        }
        assert!(r.close());
        drop(s);
        assert_eq!(tracker.alive(), n, "{flavor}");
        assert_eq!(r.recv().unwrap().id, 0, "{flavor}");
        drop(r);
        tracker.assert_all_dropped_once(flavor);
    }
}

/// Messages that `close_and_drain` returns are the caller's: dropping the
/// channel afterwards drops nothing more, and nothing twice.
#[test]
fn close_and_drain_hands_messages_over_once() {
    for flavor in QUEUES {
        let tracker = DropTracker::new();
        let (s, r) = flavor.make::<Tracked>();
        let n = room(flavor, 300);
        for i in 0..n {
            s.send(tracker.make(i)).unwrap();
        }
        let drained = r.close_and_drain();
        assert_eq!(drained.len(), n, "{flavor}");
        drop((s, r));
        assert_eq!(tracker.alive(), n, "{flavor}: dropped a drained message");
        drop(drained);
        tracker.assert_all_dropped_once(flavor);
    }
}

/// A close racing the last receiver's drop and a sender, on every flavor:
/// every message is received, handed back, or dropped with the channel,
/// exactly once, and the sender never stays blocked.
#[test]
fn close_racing_the_last_receiver_drop_drops_everything_once() {
    within(HANG, "close racing drop", || {
        for flavor in ALL {
            for round in 0..ROUNDS {
                let tracker = DropTracker::new();
                let (s, r) = flavor.make::<Tracked>();
                let start = Arc::new(Barrier::new(4));
                let sender = {
                    let (s, start, tracker) = (s.clone(), start.clone(), tracker.clone());
                    thread::spawn(move || {
                        start.wait();
                        let mut ok = 0;
                        for i in 0..50 {
                            match s.send_timeout(tracker.make(i), LONG) {
                                Ok(()) => ok += 1,
                                Err(SendTimeoutError::Disconnected(m)) => drop(m),
                                Err(SendTimeoutError::Timeout(_)) => panic!("not woken"),
                            }
                        }
                        ok
                    })
                };
                let receiver = {
                    let (r, start) = (r.clone(), start.clone());
                    thread::spawn(move || {
                        start.wait();
                        let mut got = 0;
                        for _ in 0..round % 8 {
                            if r.recv_timeout(ms(1)).is_ok() {
                                got += 1;
                            }
                        }
                        got
                    })
                };
                let closer = {
                    let (s, start) = (s.clone(), start.clone());
                    thread::spawn(move || {
                        start.wait();
                        for _ in 0..round % 3 {
                            thread::yield_now();
                        }
                        s.close()
                    })
                };
                drop(s);
                start.wait();
                drop(r);
                let got = receiver.join().unwrap();
                closer.join().unwrap();
                let ok = sender.join().unwrap();
                assert!(got <= ok, "{flavor}: received {got} of {ok}");
                // Every handle is gone now: everything was dropped once.
                tracker.assert_all_dropped_once(format!("{flavor}, round {round}"));
            }
        }
    });
}

// ---------------------------------------------------------------------------
// Select
// ---------------------------------------------------------------------------

/// On a closed channel, `select!` and `Select` receive arms first get the
/// buffered messages, then complete with `RecvError`; send arms complete
/// at once with the message back.
#[test]
fn select_on_a_closed_channel() {
    for flavor in ALL {
        for side in SIDES {
            let what = format!("{flavor}, closed by the {side:?}");
            let (s, r) = flavor.make::<i32>();
            let (_keep, idle) = unbounded::<i32>();
            let n = room(flavor, 3) as i32;
            for i in 0..n {
                s.send(i).unwrap();
            }
            assert!(close(side, &s, &r), "{what}");
            for i in 0..n {
                select! {
                    recv(idle) -> _ => panic!("{what}: idle arm"),
                    recv(r) -> msg => assert_eq!(msg, Ok(i), "{what}"),
                    default(LONG) => panic!("{what}: recv arm not ready"),
                }
            }
            select! {
                recv(idle) -> _ => panic!("{what}: idle arm"),
                recv(r) -> msg => assert_eq!(msg, Err(RecvError), "{what}"),
                default(LONG) => panic!("{what}: recv arm not ready"),
            }
            select! {
                send(s, 9) -> res => assert_eq!(res, Err(SendError(9)), "{what}"),
                recv(idle) -> _ => panic!("{what}: idle arm"),
                default(LONG) => panic!("{what}: send arm not ready"),
            }

            // The Select API, blocking, timed and non-blocking.
            let mut sel = Select::new();
            let ri = sel.recv(&r);
            sel.recv(&idle);
            let si = sel.send(&s);
            for _ in 0..4 {
                let oper = sel.select();
                match oper.index() {
                    i if i == ri => assert_eq!(oper.recv(&r), Err(RecvError), "{what}"),
                    i if i == si => assert_eq!(oper.send(&s, 5), Err(SendError(5)), "{what}"),
                    _ => panic!("{what}: idle arm selected"),
                }
            }
            let oper = sel.select_timeout(LONG).expect("an arm is ready");
            match oper.index() {
                i if i == ri => assert_eq!(oper.recv(&r), Err(RecvError), "{what}"),
                i if i == si => assert_eq!(oper.send(&s, 5), Err(SendError(5)), "{what}"),
                _ => panic!("{what}: idle arm selected"),
            }
            let oper = sel.try_select().expect("an arm is ready");
            match oper.index() {
                i if i == ri => assert_eq!(oper.recv(&r), Err(RecvError), "{what}"),
                i if i == si => assert_eq!(oper.send(&s, 5), Err(SendError(5)), "{what}"),
                _ => panic!("{what}: idle arm selected"),
            }
            let ready = sel.ready_timeout(LONG).expect("an arm is ready");
            assert!(ready == ri || ready == si, "{what}: ready {ready}");
        }
    }
}

/// A select blocked on a receive (nothing buffered) or on a send (no room)
/// wakes when the channel is closed by another thread with every handle
/// still alive: the receive fails, the send hands its message back.
#[test]
fn close_wakes_blocked_selects() {
    within(HANG, "blocked selects", || {
        for flavor in ALL {
            for side in SIDES {
                let what = format!("{flavor}, closed by the {side:?}");
                let (s, r) = flavor.make::<i32>();
                let (_keep, idle) = unbounded::<i32>();
                let macro_select = {
                    let (r, idle, what) = (r.clone(), idle.clone(), what.clone());
                    thread::spawn(move || {
                        select! {
                            recv(idle) -> _ => panic!("{what}: idle arm"),
                            recv(r) -> msg => msg,
                            default(LONG) => panic!("{what}: select! not woken"),
                        }
                    })
                };
                let api_select = {
                    let (r, idle) = (r.clone(), idle.clone());
                    thread::spawn(move || {
                        let mut sel = Select::new();
                        sel.recv(&idle);
                        let ri = sel.recv(&r);
                        let oper = sel.select();
                        assert_eq!(oper.index(), ri);
                        oper.recv(&r)
                    })
                };
                let_them_block();
                assert!(close_from_thread(side, &s, &r), "{what}");
                assert_eq!(macro_select.join().unwrap(), Err(RecvError), "{what}");
                assert_eq!(api_select.join().unwrap(), Err(RecvError), "{what}");
            }
        }
        for flavor in BLOCKING {
            for side in SIDES {
                let what = format!("{flavor}, closed by the {side:?}");
                let (s, r) = flavor.make::<i32>();
                let cap = flavor.cap().unwrap() as i32;
                for i in 0..cap {
                    s.send(i).unwrap();
                }
                let (_keep, idle) = unbounded::<i32>();
                let macro_select = {
                    let (s, idle, what) = (s.clone(), idle.clone(), what.clone());
                    thread::spawn(move || {
                        select! {
                            recv(idle) -> _ => panic!("{what}: idle arm"),
                            send(s, 77) -> res => res,
                            default(LONG) => panic!("{what}: select! not woken"),
                        }
                    })
                };
                let api_select = {
                    let (s, idle) = (s.clone(), idle.clone());
                    thread::spawn(move || {
                        let mut sel = Select::new();
                        sel.recv(&idle);
                        let si = sel.send(&s);
                        let oper = sel.select();
                        assert_eq!(oper.index(), si);
                        oper.send(&s, 88)
                    })
                };
                let_them_block();
                assert!(close_from_thread(side, &s, &r), "{what}");
                assert_eq!(macro_select.join().unwrap(), Err(SendError(77)), "{what}");
                assert_eq!(api_select.join().unwrap(), Err(SendError(88)), "{what}");
                for i in 0..cap {
                    assert_eq!(r.recv(), Ok(i), "{what}: buffered message");
                }
                assert_recvs_disconnected(&r);
            }
        }
    });
}

// ---------------------------------------------------------------------------
// Async
// ---------------------------------------------------------------------------

/// A pending `recv_async` and stream on an empty channel, a pending
/// `send_async` and sink flush on a full one (bounded(0) included), and a
/// pending `select_async` complete when another thread closes the channel:
/// receives with `RecvError`, sends with their messages back. Buffered
/// messages are still received after.
#[cfg(feature = "async")]
#[test]
#[cfg_attr(miri, ignore)]
fn close_completes_pending_async_operations() {
    use async_common::{assert_pending, fill, ready, Probe};
    use futures::stream::FusedStream;
    use futures::SinkExt;

    for flavor in ALL {
        for side in SIDES {
            let what = format!("{flavor}, closed by the {side:?}");
            let (s, r) = flavor.make::<u64>();
            let probe = Probe::new();
            let mut recv = r.recv_async();
            assert_pending(probe.poll(&mut recv), "recv_async");
            let stream_probe = Probe::new();
            let mut stream = r.stream();
            assert_pending(stream_probe.poll_next(&mut stream), "stream");
            let select_probe = Probe::new();
            let mut sel = Select::new();
            let ri = sel.recv(&r);
            let mut select = sel.select_async();
            assert_pending(select_probe.poll(&mut select), "select_async");

            assert!(close_from_thread(side, &s, &r), "{what}");
            probe.assert_woken(1, &format!("{what}: recv_async"));
            stream_probe.assert_woken(1, &format!("{what}: stream"));
            select_probe.assert_woken(1, &format!("{what}: select_async"));
            assert_eq!(ready(probe.poll(&mut recv), "recv_async"), Err(RecvError));
            assert_eq!(ready(stream_probe.poll_next(&mut stream), "stream"), None);
            assert!(stream.is_terminated(), "{what}");
            let oper = ready(select_probe.poll(&mut select), "select_async");
            assert_eq!(oper.index(), ri);
            assert_eq!(oper.recv(&r), Err(RecvError), "{what}");
        }
    }
    for flavor in BLOCKING {
        for side in SIDES {
            let what = format!("{flavor}, closed by the {side:?}");
            let tracker = DropTracker::new();
            let (s, r) = flavor.make::<Tracked>();
            let cap = flavor.cap().unwrap();
            for i in 0..cap {
                s.try_send(tracker.make(i)).unwrap();
            }
            let probe = Probe::new();
            let mut send = s.send_async(tracker.make(100));
            assert_pending(probe.poll(&mut send), "send_async");
            let sink_probe = Probe::new();
            let mut sink = s.sink();
            let fed = ready(sink_probe.poll(&mut sink.feed(tracker.make(200))), "feed");
            assert!(fed.is_ok(), "{what}: feed");
            assert_pending(sink_probe.poll(&mut sink.flush()), "sink flush");

            assert!(close_from_thread(side, &s, &r), "{what}");
            probe.assert_woken(1, &format!("{what}: send_async"));
            sink_probe.assert_woken(1, &format!("{what}: sink"));
            match ready(probe.poll(&mut send), "send_async") {
                Err(SendError(msg)) => assert_eq!(msg.id, 100, "{what}"),
                Ok(()) => panic!("{what}: send_async succeeded after close"),
            }
            match ready(sink_probe.poll(&mut sink.flush()), "sink flush") {
                Err(SendError(msg)) => assert_eq!(msg.id, 200, "{what}"),
                Ok(()) => panic!("{what}: sink sent after close"),
            }
            // A new async send fails at once.
            match ready(
                probe.poll(&mut s.send_async(tracker.make(300))),
                "send_async",
            ) {
                Err(SendError(msg)) => assert_eq!(msg.id, 300, "{what}"),
                Ok(()) => panic!("{what}: send_async succeeded after close"),
            }
            for i in 0..cap {
                assert_eq!(r.try_recv().map(|m| m.id), Ok(i), "{what}");
            }
            assert_eq!(
                r.try_recv().map(|m| m.id),
                Err(TryRecvError::Disconnected),
                "{what}"
            );
            drop(send);
            drop(sink);
            drop((s, r));
            tracker.assert_all_dropped_once(&what);
        }
    }
    // A send_async on a channel filled by `fill` (the shared helper).
    let (s, r) = bounded::<u64>(1);
    fill(&s, Flavor::Bounded(1));
    let probe = Probe::new();
    let mut send = s.send_async(5);
    assert_pending(probe.poll(&mut send), "send_async");
    thread::spawn(move || r.close_and_drain()).join().unwrap();
    probe.assert_woken(1, "send_async at close_and_drain");
    assert_eq!(
        ready(probe.poll(&mut send), "send_async"),
        Err(SendError(5))
    );
}

/// Tasks on a runtime waiting in `recv_async`, `send_async` and a stream
/// finish when a plain thread closes their channels; the stream yields the
/// messages sent before the close, then ends.
#[cfg(feature = "async")]
#[test]
#[cfg_attr(miri, ignore)]
fn close_ends_tasks_on_a_runtime() {
    use async_common::{let_it_block, multi_thread};
    use futures::StreamExt;

    within(HANG, "tasks on a runtime", || {
        let rt = multi_thread();
        for flavor in ALL {
            for side in SIDES {
                let what = format!("{flavor}, closed by the {side:?}");
                // An empty channel, for a receiving task and a stream task.
                let (s1, r1) = flavor.make::<u64>();
                let recv_task = {
                    let r1 = r1.clone();
                    rt.spawn(async move { r1.recv_async().await })
                };
                let stream_task = {
                    let r1 = r1.clone();
                    rt.spawn(async move { r1.into_stream().collect::<Vec<u64>>().await })
                };
                // A full channel, for a sending task.
                let (s2, r2) = flavor.make::<u64>();
                let cap = flavor.cap().unwrap_or(2) as u64;
                for i in 0..cap {
                    s2.send(i).unwrap();
                }
                let send_task = match flavor {
                    Flavor::Unbounded => None,
                    _ => {
                        let s2 = s2.clone();
                        Some(rt.spawn(async move { s2.send_async(50).await }))
                    }
                };
                let_it_block();
                assert!(close_from_thread(side, &s1, &r1), "{what}");
                assert!(close_from_thread(side, &s2, &r2), "{what}");
                rt.block_on(async {
                    let got = tokio::time::timeout(LONG, recv_task).await;
                    assert_eq!(got.expect("not woken").unwrap(), Err(RecvError), "{what}");
                    let got = tokio::time::timeout(LONG, stream_task).await;
                    let got = got.expect("stream not ended").unwrap();
                    assert!(got.is_empty(), "{what}: stream got {got:?}");
                    if let Some(send_task) = send_task {
                        let sent = tokio::time::timeout(LONG, send_task).await;
                        assert_eq!(sent.expect("not woken").unwrap(), Err(SendError(50)));
                    }
                });
                assert_eq!(
                    r2.try_iter().collect::<Vec<_>>(),
                    (0..cap).collect::<Vec<_>>()
                );
                assert_eq!(r2.try_recv(), Err(TryRecvError::Disconnected), "{what}");
            }
        }
    });
}

/// A stream ends after a close, once it has yielded every message sent
/// before.
#[cfg(feature = "async")]
#[test]
#[cfg_attr(miri, ignore)]
fn stream_ends_after_close_once_drained() {
    use futures::StreamExt;
    for flavor in QUEUES {
        for side in SIDES {
            let (s, r) = flavor.make::<i32>();
            let n = room(flavor, 4) as i32;
            for i in 0..n {
                s.send(i).unwrap();
            }
            assert!(close(side, &s, &r));
            let got = futures::executor::block_on(r.stream().collect::<Vec<_>>());
            assert_eq!(got, (0..n).collect::<Vec<_>>(), "{flavor}, {side:?}");
            let mut stream = r.stream();
            assert_eq!(futures::executor::block_on(stream.next()), None);
            assert_eq!(futures::executor::block_on(stream.next()), None);
            assert_eq!(
                futures::executor::block_on(r.recv_async()),
                Err(RecvError),
                "{flavor}, {side:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Timers and never
// ---------------------------------------------------------------------------

/// Timer channels and `never` have no senders and cannot be closed:
/// `close` returns false and changes nothing, `is_closed` stays false, and
/// `close_and_drain` only takes the message due now.
#[test]
#[cfg_attr(miri, ignore)]
fn timers_and_never_cannot_be_closed() {
    let timers = [
        ("after", after(ms(0))),
        ("at", at(Instant::now())),
        ("tick", tick(ms(1))),
    ];
    for (name, r) in timers {
        assert!(!r.is_closed(), "{name}");
        assert!(!r.close(), "{name}: close");
        assert!(!r.close(), "{name}: second close");
        assert!(!r.is_closed(), "{name}: closed after close");
        // Still delivers.
        assert!(
            r.recv_timeout(LONG).is_ok(),
            "{name}: no message after close"
        );
        assert!(!r.is_closed(), "{name}");
    }

    // close_and_drain takes the message that is due, and leaves the timer
    // working.
    let r = after(ms(0));
    thread::sleep(ms(1));
    let drained = r.close_and_drain();
    assert_eq!(drained.len(), 1, "after: due message");
    assert!(!r.is_closed());
    assert!(r.close_and_drain().is_empty(), "after: fired once");
    assert_eq!(
        r.try_recv(),
        Err(TryRecvError::Empty),
        "after: not disconnected"
    );

    let r = after(Duration::from_secs(3600));
    assert!(r.close_and_drain().is_empty(), "after: nothing due");
    assert!(!r.close() && !r.is_closed());
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));

    let r = tick(ms(1));
    thread::sleep(ms(5));
    assert!(
        r.close_and_drain().len() <= 1,
        "tick: one message at a time"
    );
    assert!(r.recv_timeout(LONG).is_ok(), "tick: still ticking");

    let r = never::<i32>();
    assert!(!r.close() && !r.is_closed(), "never");
    assert!(r.close_and_drain().is_empty(), "never");
    assert_eq!(r.drain().next(), None, "never");
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty), "never");
}
