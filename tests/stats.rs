//! Per-channel counters (`Sender::stats`, `Receiver::stats`, the `stats`
//! feature): run with `cargo test --features stats --test stats`; without
//! the feature this file compiles to nothing.
//!
//! The promises, on every flavor (`bounded(0)`, `bounded(1)`, `bounded(4)`,
//! `unbounded`):
//!
//! - `sent` and `received` count every successful operation once, of every
//!   kind (plain, `try_`, timed, `select!`/`Select`, async, batches), and
//!   no failed one; both handles report the same figures.
//! - `blocked_senders`/`blocked_receivers` count the operations waiting
//!   now (threads, tasks, select registrations) and fall back to 0 when
//!   they are done.
//! - Under concurrency the totals are exact once the traffic is over.
//! - Timer channels and `never` count nothing.
//!
//! Blocked counts are awaited with a poll loop bounded by a long limit,
//! never asserted after a fixed sleep.
#![cfg(feature = "stats")]

mod common;

#[cfg(feature = "async")]
mod async_common;

use chan::{after, never, select, tick, ChannelStats, Receiver, Select, Sender};
use chan::{RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError};
use common::{flavors, ms, within, Flavor};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Every flavor of a channel that carries messages.
const ALL: [Flavor; 4] = flavors(4);

/// The flavors on which a send can wait.
const BLOCKING: [Flavor; 3] = [Flavor::Bounded(0), Flavor::Bounded(1), Flavor::Bounded(4)];

/// A wait that must end; reaching it fails the test.
const LONG: Duration = Duration::from_secs(30);

/// Hang detector for a whole test.
const HANG: Duration = Duration::from_secs(120);

/// The expected message totals of a channel.
#[derive(Clone, Copy, Debug, Default)]
struct Traffic {
    sent: u64,
    received: u64,
}

impl Traffic {
    /// Asserts that both handles report these totals.
    #[track_caller]
    fn check<T>(&self, s: &Sender<T>, r: &Receiver<T>, what: &str) {
        for (side, stats) in [("sender", s.stats()), ("receiver", r.stats())] {
            assert_eq!(
                (stats.sent, stats.received),
                (self.sent, self.received),
                "{what}: (sent, received) seen by the {side}"
            );
        }
    }
}

/// Waits until `cond` holds; fails if that takes longer than [`LONG`].
#[track_caller]
fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < LONG,
            "{what}: not reached within {LONG:?}"
        );
        thread::sleep(Duration::from_micros(200));
    }
}

/// The waiting operations a handle reports: `(senders, receivers)`.
fn blocked(stats: ChannelStats) -> (usize, usize) {
    (stats.blocked_senders, stats.blocked_receivers)
}

/// A way to send one message: name and function.
type SendOp = (&'static str, fn(&Sender<u64>, u64));

/// A way to receive one message: name and function.
type RecvOp = (&'static str, fn(&Receiver<u64>) -> u64);

/// Every way to send one message; each must succeed (on a rendezvous a
/// receiver thread waits meanwhile), retrying the non-blocking ones.
fn send_ops() -> Vec<SendOp> {
    #[cfg_attr(not(feature = "async"), allow(unused_mut))]
    let mut ops: Vec<SendOp> = vec![
        ("try_send", |s, v| {
            let mut v = v;
            loop {
                match s.try_send(v) {
                    Ok(()) => break,
                    Err(TrySendError::Full(back)) => {
                        v = back;
                        thread::yield_now();
                    }
                    Err(e) => panic!("try_send: {e:?}"),
                }
            }
        }),
        ("send", |s, v| s.send(v).unwrap()),
        ("send_timeout", |s, v| s.send_timeout(v, LONG).unwrap()),
        ("send_deadline", |s, v| {
            s.send_deadline(v, Instant::now() + LONG).unwrap()
        }),
        ("select! send", |s, v| {
            select! {
                send(s, v) -> res => res.unwrap(),
                default(LONG) => panic!("select! send not ready"),
            }
        }),
        ("Select send", |s, v| {
            let mut sel = Select::new();
            let i = sel.send(s);
            let oper = sel.select_timeout(LONG).expect("Select send not ready");
            assert_eq!(oper.index(), i);
            oper.send(s, v).unwrap();
        }),
        ("send_all of one", |s, v| s.send_all([v]).unwrap()),
        ("try_send_all of one", |s, v| {
            let mut v = v;
            loop {
                match s.try_send_all([v]) {
                    Ok(()) => break,
                    Err(e) if e.is_full() => {
                        v = e.into_iter().next().unwrap();
                        thread::yield_now();
                    }
                    Err(e) => panic!("try_send_all: {e}"),
                }
            }
        }),
    ];
    #[cfg(feature = "async")]
    ops.extend::<[SendOp; 3]>([
        ("select_async send", |s, v| {
            let mut sel = Select::new();
            let i = sel.send(s);
            let oper = futures::executor::block_on(sel.select_async());
            assert_eq!(oper.index(), i);
            oper.send(s, v).unwrap();
        }),
        ("send_async", |s, v| {
            futures::executor::block_on(s.send_async(v)).unwrap()
        }),
        ("sink send", |s, v| {
            use futures::SinkExt;
            futures::executor::block_on(s.sink().send(v)).unwrap()
        }),
    ]);
    ops
}

/// Every way to receive one message; each must succeed (on a rendezvous a
/// sender thread waits meanwhile), retrying the non-blocking ones.
fn recv_ops() -> Vec<RecvOp> {
    #[cfg_attr(not(feature = "async"), allow(unused_mut))]
    let mut ops: Vec<RecvOp> = vec![
        ("try_recv", |r| loop {
            match r.try_recv() {
                Ok(v) => break v,
                Err(TryRecvError::Empty) => thread::yield_now(),
                Err(e) => panic!("try_recv: {e:?}"),
            }
        }),
        ("recv", |r| r.recv().unwrap()),
        ("recv_timeout", |r| r.recv_timeout(LONG).unwrap()),
        ("recv_deadline", |r| {
            r.recv_deadline(Instant::now() + LONG).unwrap()
        }),
        ("select! recv", |r| {
            select! {
                recv(r) -> msg => msg.unwrap(),
                default(LONG) => panic!("select! recv not ready"),
            }
        }),
        ("Select recv", |r| {
            let mut sel = Select::new();
            let i = sel.recv(r);
            let oper = sel.select_timeout(LONG).expect("Select recv not ready");
            assert_eq!(oper.index(), i);
            oper.recv(r).unwrap()
        }),
        ("recv_many of one", |r| {
            let mut batch = Vec::new();
            assert_eq!(r.recv_many(&mut batch, 1), Ok(1));
            batch[0]
        }),
        ("try_recv_many of one", |r| {
            let mut batch = Vec::new();
            loop {
                match r.try_recv_many(&mut batch, 1) {
                    Ok(1) => break batch[0],
                    Err(TryRecvError::Empty) => thread::yield_now(),
                    other => panic!("try_recv_many: {other:?}"),
                }
            }
        }),
        ("iter", |r| r.iter().next().unwrap()),
        ("try_iter", |r| loop {
            if let Some(v) = r.try_iter().next() {
                break v;
            }
            thread::yield_now();
        }),
    ];
    #[cfg(feature = "async")]
    ops.extend::<[RecvOp; 3]>([
        ("select_async recv", |r| {
            let mut sel = Select::new();
            let i = sel.recv(r);
            let oper = futures::executor::block_on(sel.select_async());
            assert_eq!(oper.index(), i);
            oper.recv(r).unwrap()
        }),
        ("recv_async", |r| {
            futures::executor::block_on(r.recv_async()).unwrap()
        }),
        ("stream next", |r| {
            use futures::StreamExt;
            futures::executor::block_on(r.stream().next()).unwrap()
        }),
    ]);
    ops
}

/// The number of kinds of [`recv_some`].
const RECV_KINDS: usize = 8;

/// Receives with the receive of `kind` (0 to `RECV_KINDS - 1`): how many
/// messages it took (0 if a non-blocking one found none), or `None` once
/// the channel is empty and disconnected. `recv_async` is left out on a
/// rendezvous channel, where a waiting task does not pair with a thread's
/// `try_send` (the README's "Rendezvous channels"): producers looping on
/// `try_send` would wait for it forever.
fn recv_some(r: &Receiver<u64>, kind: usize) -> Option<u64> {
    match kind {
        0 => r.recv().ok().map(|_| 1),
        1 => match r.recv_timeout(LONG) {
            Ok(_) => Some(1),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => panic!("recv_timeout not woken"),
        },
        2 => match r.try_recv() {
            Ok(_) => Some(1),
            Err(TryRecvError::Empty) => {
                thread::yield_now();
                Some(0)
            }
            Err(TryRecvError::Disconnected) => None,
        },
        3 => select! {
            recv(r) -> msg => msg.ok().map(|_| 1),
            default(LONG) => panic!("select! not woken"),
        },
        4 => {
            let mut sel = Select::new();
            sel.recv(r);
            let oper = sel.select_timeout(LONG).expect("Select not woken");
            oper.recv(r).ok().map(|_| 1)
        }
        5 => {
            let mut batch = Vec::new();
            r.recv_many(&mut batch, 5).ok().map(|n| n as u64)
        }
        6 => {
            let mut batch = Vec::new();
            match r.try_recv_many(&mut batch, 64) {
                Ok(n) => Some(n as u64),
                Err(TryRecvError::Empty) => {
                    thread::yield_now();
                    Some(0)
                }
                Err(TryRecvError::Disconnected) => None,
            }
        }
        #[cfg(feature = "async")]
        _ if r.capacity() != Some(0) => futures::executor::block_on(r.recv_async()).ok().map(|_| 1),
        _ => r.recv().ok().map(|_| 1),
    }
}

// ---------------------------------------------------------------------------
// Totals
// ---------------------------------------------------------------------------

/// A new channel reports zeros on both handles.
#[test]
fn a_new_channel_reports_zeros() {
    for flavor in ALL {
        let (s, r) = flavor.make::<u64>();
        assert_eq!(s.stats(), ChannelStats::default(), "{flavor}");
        assert_eq!(r.stats(), ChannelStats::default(), "{flavor}");
        let stats = s.stats();
        let copy = stats;
        assert_eq!(copy, stats);
        assert!(format!("{stats:?}").contains("blocked_receivers"));
    }
}

/// Every kind of send and receive adds exactly one to its total, seen by
/// both handles (and by clones); `len` follows the messages inside.
#[test]
fn every_kind_of_operation_counts_once() {
    within(HANG, "operation kinds", || {
        for flavor in ALL {
            let (s, r) = flavor.make::<u64>();
            let mut want = Traffic::default();
            let rendezvous = flavor == Flavor::Bounded(0);
            for (name, send) in send_ops() {
                let what = format!("{flavor}: {name}");
                if rendezvous {
                    let r2 = r.clone();
                    let partner = thread::spawn(move || r2.recv().unwrap());
                    send(&s, 7);
                    assert_eq!(partner.join().unwrap(), 7, "{what}");
                    want.sent += 1;
                    want.received += 1;
                } else {
                    send(&s, 7);
                    want.sent += 1;
                    want.check(&s, &r, &what);
                    assert_eq!(r.stats().len, 1, "{what}: len");
                    assert_eq!(r.recv(), Ok(7), "{what}");
                    want.received += 1;
                }
                want.check(&s, &r, &what);
                want.check(&s.clone(), &r.clone(), &what);
            }
            for (name, recv) in recv_ops() {
                let what = format!("{flavor}: {name}");
                if rendezvous {
                    let s2 = s.clone();
                    let partner = thread::spawn(move || s2.send(8).unwrap());
                    assert_eq!(recv(&r), 8, "{what}");
                    partner.join().unwrap();
                    want.sent += 1;
                } else {
                    s.send(8).unwrap();
                    want.sent += 1;
                    want.check(&s, &r, &what);
                    assert_eq!(recv(&r), 8, "{what}");
                }
                want.received += 1;
                want.check(&s, &r, &what);
            }
            if !rendezvous {
                // drain and close_and_drain.
                let n = flavor.cap().unwrap_or(3).min(3) as u64;
                for i in 0..n {
                    s.send(i).unwrap();
                }
                want.sent += n;
                assert_eq!(r.drain().count() as u64, n, "{flavor}: drain");
                want.received += n;
                want.check(&s, &r, &format!("{flavor}: drain"));
                s.send(3).unwrap();
                assert_eq!(r.close_and_drain(), [3], "{flavor}");
                want.sent += 1;
                want.received += 1;
                want.check(&s, &r, &format!("{flavor}: close_and_drain"));
            }
            assert_eq!(r.stats().len, 0, "{flavor}");
        }
    });
}

/// Batches add their size: `send_all`/`try_send_all` count every message
/// sent, `recv_many`/`try_recv_many` every message received, also when a
/// batch is cut short by a full channel or a close.
#[test]
fn batches_count_every_message() {
    for flavor in [Flavor::Bounded(1), Flavor::Bounded(4), Flavor::Unbounded] {
        let (s, r) = flavor.make::<u64>();
        let mut want = Traffic::default();
        let room = flavor.cap().unwrap_or(600) as u64;
        s.send_all(0..room).unwrap();
        want.sent += room;
        want.check(&s, &r, &format!("{flavor}: send_all"));
        assert_eq!(s.stats().len, room as usize, "{flavor}");
        let mut batch = Vec::new();
        let got = r.recv_many(&mut batch, 3).unwrap() as u64;
        assert_eq!(got, room.min(3), "{flavor}");
        want.received += got;
        want.check(&s, &r, &format!("{flavor}: recv_many"));
        let got = r.try_recv_many(&mut batch, usize::MAX).unwrap_or(0) as u64;
        want.received += got;
        want.check(&s, &r, &format!("{flavor}: try_recv_many"));
        assert_eq!(batch, (0..room).collect::<Vec<_>>(), "{flavor}");

        // try_send_all stops at a full channel: only the sent count.
        if let Some(cap) = flavor.cap() {
            let err = s.try_send_all(0..cap as u64 + 5).unwrap_err();
            assert!(err.is_full(), "{flavor}");
            assert_eq!(err.sent(), cap, "{flavor}");
            want.sent += cap as u64;
            want.check(&s, &r, &format!("{flavor}: try_send_all, full"));
            batch.clear();
            r.try_recv_many(&mut batch, usize::MAX).unwrap();
            want.received += cap as u64;
        }
        // send_all cut short by a close: only the sent count.
        s.close();
        let err = s.send_all(0..10).unwrap_err();
        assert_eq!(err.sent(), 0, "{flavor}");
        want.check(&s, &r, &format!("{flavor}: send_all after close"));
    }
}

/// Failed operations count nothing: a `try_send` on a full channel, a
/// timed-out send or receive, an empty `try_recv`, sends after a close,
/// receives on a disconnected channel.
#[test]
fn failed_operations_count_nothing() {
    for flavor in ALL {
        let (s, r) = flavor.make::<u64>();
        let cap = flavor.cap().unwrap_or(0) as u64;
        for i in 0..cap {
            s.send(i).unwrap();
        }
        let mut want = Traffic {
            sent: cap,
            received: 0,
        };
        if flavor != Flavor::Unbounded {
            assert!(matches!(s.try_send(9), Err(TrySendError::Full(9))));
            assert_eq!(s.send_timeout(9, ms(1)), Err(SendTimeoutError::Timeout(9)));
            assert!(s.try_send_all([9, 9]).unwrap_err().is_full());
        }
        want.check(&s, &r, &format!("{flavor}: failed sends"));
        for _ in 0..cap {
            r.recv().unwrap();
        }
        want.received = cap;
        assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(r.recv_timeout(ms(1)), Err(RecvTimeoutError::Timeout));
        let mut batch = Vec::new();
        assert!(r.recv_many_timeout(&mut batch, 4, ms(1)).is_err());
        assert_eq!(r.drain().count(), 0);
        want.check(&s, &r, &format!("{flavor}: failed receives"));
        r.close();
        assert_eq!(s.send(9), Err(SendError(9)));
        assert!(s.try_send(9).is_err());
        assert!(s.send_timeout(9, ms(1)).is_err());
        assert!(r.recv().is_err());
        assert!(r.try_recv().is_err());
        #[cfg(feature = "async")]
        {
            assert!(futures::executor::block_on(s.send_async(9)).is_err());
            assert!(futures::executor::block_on(r.recv_async()).is_err());
        }
        want.check(&s, &r, &format!("{flavor}: after close"));
    }
}

// ---------------------------------------------------------------------------
// Async
// ---------------------------------------------------------------------------

/// An async send on a rendezvous channel that waits with its message is
/// counted once: whether its future completes, or is dropped (or
/// cancelled) after a receiver took the message.
#[cfg(feature = "async")]
#[test]
fn rendezvous_async_send_counts_once() {
    use async_common::{assert_pending, ready, Probe};
    within(HANG, "rendezvous async send", || {
        for end in ["poll", "drop", "cancel"] {
            let (s, r) = chan::bounded::<u64>(0);
            let probe = Probe::new();
            let mut send = s.send_async(5);
            assert_pending(probe.poll(&mut send), "send_async");
            assert_eq!(s.stats().blocked_senders, 1, "{end}: parked send");
            let r2 = r.clone();
            let receiver = thread::spawn(move || r2.recv());
            assert_eq!(receiver.join().unwrap(), Ok(5), "{end}");
            match end {
                "poll" => assert_eq!(ready(probe.poll(&mut send), "send_async"), Ok(())),
                "drop" => drop(send),
                _ => assert_eq!(send.cancel(), None, "{end}: the message was taken"),
            }
            Traffic {
                sent: 1,
                received: 1,
            }
            .check(&s, &r, end);
            assert_eq!(blocked(s.stats()), (0, 0), "{end}");
        }
        // Given up before a receiver came: nothing counted.
        let (s, r) = chan::bounded::<u64>(0);
        let probe = Probe::new();
        let mut send = s.send_async(5);
        assert_pending(probe.poll(&mut send), "send_async");
        assert_eq!(send.cancel(), Some(5));
        Traffic::default().check(&s, &r, "cancelled");
        assert_eq!(blocked(r.stats()), (0, 0), "cancelled");
    });
}

/// Waiting tasks are counted while their futures are pending, and no
/// longer once the futures are dropped: `recv_async`, a stream, and
/// `send_async` on a full channel (the rendezvous included), and an
/// awaited select on each channel it waits on.
#[cfg(feature = "async")]
#[test]
fn pending_futures_are_counted_as_blocked() {
    use async_common::{assert_pending, Probe};
    for flavor in ALL {
        let (s, r) = flavor.make::<u64>();
        let probe = Probe::new();
        let mut recv = r.recv_async();
        assert_pending(probe.poll(&mut recv), "recv_async");
        assert_eq!(blocked(r.stats()), (0, 1), "{flavor}: recv_async");
        let mut stream = r.stream();
        assert_pending(probe.poll_next(&mut stream), "stream");
        assert_eq!(blocked(s.stats()), (0, 2), "{flavor}: and a stream");
        let (_s2, r2) = flavor.make::<u64>();
        let mut sel = Select::new();
        sel.recv(&r);
        sel.recv(&r2);
        let mut select = sel.select_async();
        assert_pending(probe.poll(&mut select), "select_async");
        assert_eq!(blocked(r.stats()), (0, 3), "{flavor}: and a select");
        assert_eq!(
            blocked(r2.stats()),
            (0, 1),
            "{flavor}: select's other channel"
        );
        drop(select);
        drop(stream);
        drop(recv);
        assert_eq!(blocked(r.stats()), (0, 0), "{flavor}: dropped");
        assert_eq!(blocked(r2.stats()), (0, 0), "{flavor}: dropped");
        Traffic::default().check(&s, &r, &flavor.to_string());
    }
    for flavor in BLOCKING {
        let (s, r) = flavor.make::<u64>();
        let cap = flavor.cap().unwrap() as u64;
        for i in 0..cap {
            s.send(i).unwrap();
        }
        let probe = Probe::new();
        let mut send = s.send_async(99);
        assert_pending(probe.poll(&mut send), "send_async");
        assert_eq!(blocked(r.stats()), (1, 0), "{flavor}: send_async");
        drop(send);
        assert_eq!(blocked(r.stats()), (0, 0), "{flavor}: dropped");
        Traffic {
            sent: cap,
            received: 0,
        }
        .check(&s, &r, &flavor.to_string());
    }
}

// ---------------------------------------------------------------------------
// Blocked threads
// ---------------------------------------------------------------------------

/// Threads blocked in receives (plain, timed, `select!`) are counted while
/// they wait, by both handles; once messages arrive and they return, the
/// count is 0 again and the totals are exact.
#[test]
fn blocked_receivers_are_counted_while_they_wait() {
    within(HANG, "blocked receivers", || {
        for flavor in ALL {
            let (s, r) = flavor.make::<u64>();
            let receivers: Vec<_> = (0..3)
                .map(|k| {
                    let r = r.clone();
                    thread::spawn(move || match k {
                        0 => r.recv().unwrap(),
                        1 => r.recv_timeout(LONG).unwrap(),
                        _ => select! {
                            recv(r) -> msg => msg.unwrap(),
                            default(LONG) => panic!("select! not woken"),
                        },
                    })
                })
                .collect();
            wait_until(&format!("{flavor}: 3 blocked receivers"), || {
                blocked(r.stats()) == (0, 3)
            });
            assert_eq!(blocked(s.stats()), (0, 3), "{flavor}: seen by the sender");
            for i in 0..3 {
                s.send(i).unwrap();
            }
            let mut got: Vec<u64> = receivers.into_iter().map(|t| t.join().unwrap()).collect();
            got.sort_unstable();
            assert_eq!(got, [0, 1, 2], "{flavor}");
            assert_eq!(blocked(r.stats()), (0, 0), "{flavor}: after");
            Traffic {
                sent: 3,
                received: 3,
            }
            .check(&s, &r, &flavor.to_string());
        }
    });
}

/// Threads blocked in sends on a full channel (or a rendezvous without a
/// receiver) are counted while they wait; then 0 again. Their messages,
/// completed by the receiver on their behalf or by themselves, are counted
/// once.
#[test]
fn blocked_senders_are_counted_while_they_wait() {
    within(HANG, "blocked senders", || {
        for flavor in BLOCKING {
            let (s, r) = flavor.make::<u64>();
            let cap = flavor.cap().unwrap() as u64;
            for i in 0..cap {
                s.send(i).unwrap();
            }
            let senders: Vec<_> = (0..3)
                .map(|k| {
                    let s = s.clone();
                    thread::spawn(move || match k {
                        0 => s.send(100).unwrap(),
                        1 => s.send_timeout(101, LONG).unwrap(),
                        _ => select! {
                            send(s, 102) -> res => res.unwrap(),
                            default(LONG) => panic!("select! not woken"),
                        },
                    })
                })
                .collect();
            wait_until(&format!("{flavor}: 3 blocked senders"), || {
                blocked(s.stats()) == (3, 0)
            });
            assert_eq!(blocked(r.stats()), (3, 0), "{flavor}: seen by the receiver");
            let mut got: Vec<u64> = (0..cap + 3).map(|_| r.recv().unwrap()).collect();
            for t in senders {
                t.join().unwrap();
            }
            got.sort_unstable();
            let mut want: Vec<u64> = (0..cap).chain(100..103).collect();
            want.sort_unstable();
            assert_eq!(got, want, "{flavor}");
            assert_eq!(blocked(s.stats()), (0, 0), "{flavor}: after");
            Traffic {
                sent: cap + 3,
                received: cap + 3,
            }
            .check(&s, &r, &flavor.to_string());
        }
        // An unbounded channel never has a blocked sender.
        let (s, r) = chan::unbounded::<u64>();
        for i in 0..1000 {
            s.send(i).unwrap();
        }
        assert_eq!(blocked(r.stats()), (0, 0));
    });
}

/// A thread blocked in a `Select` over two channels is counted on each;
/// when one completes it, neither counts it any more.
#[test]
fn a_blocked_select_is_counted_on_each_channel() {
    within(HANG, "blocked select", || {
        for flavor in ALL {
            let (s1, r1) = flavor.make::<u64>();
            let (_s2, r2) = flavor.make::<u64>();
            let (s3, r3) = flavor.make::<u64>();
            let cap = flavor.cap();
            // A full third channel, for a send arm (not for unbounded).
            if let Some(cap) = cap {
                for i in 0..cap as u64 {
                    s3.send(i).unwrap();
                }
            }
            let t = {
                let (r1, r2, s3) = (r1.clone(), r2.clone(), s3.clone());
                thread::spawn(move || {
                    let mut sel = Select::new();
                    let i1 = sel.recv(&r1);
                    sel.recv(&r2);
                    if cap.is_some() {
                        sel.send(&s3);
                    }
                    let oper = sel.select();
                    assert_eq!(oper.index(), i1);
                    oper.recv(&r1).unwrap()
                })
            };
            wait_until(&format!("{flavor}: select registered"), || {
                blocked(r1.stats()) == (0, 1) && blocked(r2.stats()) == (0, 1)
            });
            if cap.is_some() {
                wait_until(&format!("{flavor}: select send arm registered"), || {
                    blocked(r3.stats()) == (1, 0)
                });
            }
            s1.send(5).unwrap();
            assert_eq!(t.join().unwrap(), 5, "{flavor}");
            for (name, stats) in [("r1", r1.stats()), ("r2", r2.stats()), ("r3", r3.stats())] {
                assert_eq!(blocked(stats), (0, 0), "{flavor}: {name} after the select");
            }
            Traffic {
                sent: 1,
                received: 1,
            }
            .check(&s1, &r1, &flavor.to_string());
        }
    });
}

/// Threads blocked when the channel is closed (or a side dropped) wake,
/// and are no longer counted; nothing is added to the totals.
#[test]
fn closing_clears_the_blocked_counts() {
    within(HANG, "close clears blocked", || {
        for flavor in ALL {
            let (s, r) = flavor.make::<u64>();
            let receivers: Vec<_> = (0..2)
                .map(|_| {
                    let r = r.clone();
                    thread::spawn(move || r.recv())
                })
                .collect();
            wait_until(&format!("{flavor}: blocked receivers"), || {
                blocked(r.stats()).1 == 2
            });
            assert!(s.close());
            for t in receivers {
                assert!(t.join().unwrap().is_err(), "{flavor}");
            }
            assert_eq!(blocked(r.stats()), (0, 0), "{flavor}");
            Traffic::default().check(&s, &r, &flavor.to_string());
        }
        for flavor in BLOCKING {
            let (s, r) = flavor.make::<u64>();
            let cap = flavor.cap().unwrap() as u64;
            for i in 0..cap {
                s.send(i).unwrap();
            }
            let senders: Vec<_> = (0..2)
                .map(|k| {
                    let s = s.clone();
                    thread::spawn(move || s.send(k))
                })
                .collect();
            wait_until(&format!("{flavor}: blocked senders"), || {
                blocked(s.stats()).0 == 2
            });
            let weak = r.downgrade();
            drop(r);
            for t in senders {
                assert!(t.join().unwrap().is_err(), "{flavor}");
            }
            let stats = s.stats();
            assert_eq!(blocked(stats), (0, 0), "{flavor}");
            assert_eq!((stats.sent, stats.received), (cap, 0), "{flavor}");
            drop(weak);
        }
    });
}

// ---------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------

/// Runs 3 producers, each cycling through the send kinds of `sends`
/// (skipping a different number of them first), and 2 consumers, each
/// cycling through every kind of receive, on every flavor; once they are
/// done, `sent` and `received` are exactly the number of messages, and
/// nothing is inside or waiting.
fn concurrent_traffic(sends: &[SendOp]) {
    const PER: u64 = if cfg!(miri) { 20 } else { 2000 };
    for flavor in ALL {
        let (s, r) = flavor.make::<u64>();
        let start = Arc::new(Barrier::new(6));
        let producers: Vec<_> = (0..3)
            .map(|p| {
                let (s, start) = (s.clone(), start.clone());
                let ops: Vec<SendOp> = sends.iter().copied().skip(p).collect();
                thread::spawn(move || {
                    start.wait();
                    for i in 0..PER {
                        let (_, send) = ops[i as usize % ops.len()];
                        send(&s, i);
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..2)
            .map(|c| {
                let (r, start) = (r.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    let mut got = 0u64;
                    // Each kind of receive in turn, until the producers
                    // are gone and the channel is empty.
                    for kind in (c..).map(|k| k % RECV_KINDS) {
                        match recv_some(&r, kind) {
                            Some(n) => got += n,
                            None => break,
                        }
                    }
                    got
                })
            })
            .collect();
        drop(s);
        start.wait();
        for p in producers {
            p.join().unwrap();
        }
        let got: u64 = consumers.into_iter().map(|c| c.join().unwrap()).sum();
        assert_eq!(got, 3 * PER, "{flavor}");
        let stats = r.stats();
        assert_eq!((stats.sent, stats.received), (3 * PER, 3 * PER), "{flavor}");
        assert_eq!(stats.len, 0, "{flavor}");
        assert_eq!(blocked(stats), (0, 0), "{flavor}");
    }
}

/// Producers (every kind of send: plain, `try_`, timed, `select!`,
/// `Select`, batches, and async sends awaited on the producer's thread)
/// and consumers (every kind of receive) at once, on every flavor: the
/// totals are exact once they are done.
#[test]
fn totals_are_exact_after_concurrent_traffic() {
    let sends: Vec<SendOp> = send_ops();
    within(HANG, "concurrent totals", move || {
        concurrent_traffic(&sends)
    });
}

/// Async senders (`send_async` and a sink, each awaited with `block_on` on
/// its producer's thread) and consumers blocked in `recv`, on
/// `bounded(1)`: every message arrives and the totals are exact. (A woken
/// async sender that handed its message straight to a blocked receiver
/// once left the other waiting senders asleep beside a free slot.)
#[cfg(feature = "async")]
#[test]
fn async_senders_and_blocked_receivers_on_bounded_1() {
    use futures::SinkExt;
    const PER: u64 = 2000;
    within(HANG, "async senders, blocked receivers", || {
        for round in 0..if cfg!(miri) { 1 } else { 50 } {
            let (s, r) = chan::bounded::<u64>(1);
            let producers: Vec<_> = (0..3)
                .map(|p| {
                    let s = s.clone();
                    thread::spawn(move || {
                        for i in 0..PER {
                            if p == 0 {
                                futures::executor::block_on(s.sink().send(i)).unwrap();
                            } else {
                                futures::executor::block_on(s.send_async(i)).unwrap();
                            }
                        }
                    })
                })
                .collect();
            let consumers: Vec<_> = (0..2)
                .map(|_| {
                    let r = r.clone();
                    thread::spawn(move || {
                        let mut got = 0u64;
                        loop {
                            match r.recv_timeout(LONG) {
                                Ok(_) => got += 1,
                                Err(RecvTimeoutError::Disconnected) => break got,
                                Err(RecvTimeoutError::Timeout) => {
                                    panic!("round {round}: a receiver waited {LONG:?}")
                                }
                            }
                        }
                    })
                })
                .collect();
            drop(s);
            let mut got = 0;
            for c in consumers {
                match c.join() {
                    Ok(n) => got += n,
                    // Let the producers fail rather than wait forever.
                    Err(panic) => {
                        drop(r);
                        std::panic::resume_unwind(panic);
                    }
                }
            }
            for p in producers {
                p.join().unwrap();
            }
            assert_eq!(got, 3 * PER, "round {round}");
            let stats = r.stats();
            assert_eq!((stats.sent, stats.received), (3 * PER, 3 * PER));
        }
    });
}

/// Sends racing a `close_and_drain` while a consumer receives: `sent` is
/// exactly the number of accepted sends, `received` the messages received
/// plus those drained.
#[test]
fn totals_are_exact_when_a_close_races_the_traffic() {
    within(HANG, "close racing totals", || {
        for flavor in ALL {
            for round in 0..if cfg!(miri) { 2 } else { 30 } {
                let (s, r) = flavor.make::<u64>();
                let start = Arc::new(Barrier::new(4));
                let producers: Vec<_> = (0..2)
                    .map(|_| {
                        let (s, start) = (s.clone(), start.clone());
                        thread::spawn(move || {
                            start.wait();
                            (0..300u64).filter(|&i| s.send(i).is_ok()).count() as u64
                        })
                    })
                    .collect();
                let consumer = {
                    let (r, start) = (r.clone(), start.clone());
                    thread::spawn(move || {
                        start.wait();
                        r.iter().count() as u64
                    })
                };
                start.wait();
                for _ in 0..round * 3 {
                    thread::yield_now();
                }
                let drained = r.close_and_drain().len() as u64;
                let sent: u64 = producers.into_iter().map(|t| t.join().unwrap()).sum();
                let received = consumer.join().unwrap() + drained;
                assert_eq!(received, sent, "{flavor}, round {round}");
                let stats = s.stats();
                assert_eq!(
                    (stats.sent, stats.received),
                    (sent, received),
                    "{flavor}, round {round}"
                );
                assert_eq!(blocked(stats), (0, 0), "{flavor}, round {round}");
            }
        }
    });
}

// ---------------------------------------------------------------------------
// Timers
// ---------------------------------------------------------------------------

/// Timer channels and `never` count nothing, whatever is received from
/// them or waits on them; only `len` is filled in.
#[test]
#[cfg_attr(miri, ignore)]
fn timers_report_zeros() {
    let r = after(ms(0));
    assert!(r.recv_timeout(LONG).is_ok());
    let stats = r.stats();
    assert_eq!((stats.sent, stats.received), (0, 0), "after");
    assert_eq!(blocked(stats), (0, 0), "after");
    assert_eq!(stats.len, 0, "after: fired");

    let r = after(ms(0));
    thread::sleep(ms(1));
    assert_eq!(r.stats().len, 1, "after: due");
    assert_eq!(r.close_and_drain().len(), 1);
    assert_eq!(
        (r.stats().sent, r.stats().received),
        (0, 0),
        "after: drained"
    );

    let r = tick(ms(1));
    for _ in 0..3 {
        assert!(r.recv_timeout(LONG).is_ok());
    }
    select! {
        recv(r) -> msg => assert!(msg.is_ok()),
        default(LONG) => panic!("tick: no tick"),
    }
    let stats = r.stats();
    assert_eq!((stats.sent, stats.received), (0, 0), "tick");

    // A thread waiting on a timer is not counted.
    let r = after(Duration::from_secs(3600));
    let r2 = r.clone();
    let t = thread::spawn(move || r2.recv_timeout(ms(200)));
    thread::sleep(ms(20));
    assert_eq!(blocked(r.stats()), (0, 0), "after: a waiting thread");
    assert_eq!(t.join().unwrap(), Err(RecvTimeoutError::Timeout));

    let r = never::<u64>();
    assert!(r.recv_timeout(ms(1)).is_err());
    assert_eq!(r.stats(), ChannelStats::default(), "never");
}
