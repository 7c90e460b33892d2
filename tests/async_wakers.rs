//! Wake-ups of the async API's pending futures (`send_async`,
//! `recv_async`, the stream and the sink, `select_async`/`ready_async`),
//! each tested against the promise it makes, on every flavor:
//!
//! - **Disconnection** wakes every pending future (`disconnect_wakes_*`).
//! - **No busy polling**: a pending future is woken only when its
//!   operation can proceed or its channel disconnects
//!   (`pending_*_is_woken_only_*`); one send wakes one of two waiting
//!   receivers.
//! - **Wakers**: a future polled with one waker and then another is woken
//!   through the last one (`moved_*`).
//!
//! The timers' wake-ups are in `async_flavors.rs`, cancel safety (a
//! wake-up given to a dropped future) in `async_cancel.rs`; the shared
//! helpers in `async_common/mod.rs`.
//!
//! Not for Miri: runtimes, timers and races over many rounds.
#![cfg(not(miri))]

mod async_common;
mod common;

use async_common::{
    assert_pending, fill, let_it_block, multi_thread, ready, Probe, BLOCKING_SEND_FLAVORS, FLAVORS,
    LONG, QUEUE_FLAVORS,
};
use chan::{after, unbounded, RecvError, Select, SendError, TryRecvError};
use common::{ms, DropTracker, Flavor, Tracked};
use futures::stream::FusedStream;
use futures::SinkExt;
use std::thread;
use std::time::Instant;

// ---------------------------------------------------------------------------
// Disconnection
// ---------------------------------------------------------------------------

/// A pending `recv_async` (and stream) on every flavor is woken when the
/// last sender is dropped (from another thread), and completes with
/// `RecvError`; messages still queued come first.
#[test]
fn disconnect_wakes_pending_recv_async() {
    for flavor in FLAVORS {
        let (s, r) = flavor.make::<u64>();
        let probe = Probe::new();
        let mut recv = r.recv_async();
        assert_pending(probe.poll(&mut recv), "recv_async");
        let stream_probe = Probe::new();
        let mut stream = r.stream();
        assert_pending(stream_probe.poll_next(&mut stream), "stream");
        thread::spawn(move || drop(s)).join().unwrap();
        probe.assert_woken(1, &format!("{flavor}: recv_async at disconnect"));
        stream_probe.assert_woken(1, &format!("{flavor}: stream at disconnect"));
        assert_eq!(ready(probe.poll(&mut recv), "recv_async"), Err(RecvError));
        assert_eq!(ready(stream_probe.poll_next(&mut stream), "stream"), None);
        assert!(stream.is_terminated());
    }
    for flavor in QUEUE_FLAVORS {
        let (s, r) = flavor.make::<u64>();
        s.send(1).unwrap();
        drop(s);
        futures::executor::block_on(async {
            assert_eq!(r.recv_async().await, Ok(1));
            assert_eq!(r.recv_async().await, Err(RecvError));
        });
    }
    // And with a runtime: a task waiting on each flavor.
    let rt = multi_thread();
    for flavor in FLAVORS {
        let (s, r) = flavor.make::<u64>();
        let waiting = rt.spawn(async move { r.recv_async().await });
        thread::sleep(ms(20));
        drop(s);
        let got = rt.block_on(async { tokio::time::timeout(LONG, waiting).await });
        assert_eq!(got.expect("not woken").unwrap(), Err(RecvError), "{flavor}");
    }
}

/// A pending `send_async` (and sink) on every flavor that can be full is
/// woken when the last receiver is dropped, and hands its message back.
#[test]
fn disconnect_wakes_pending_send_async() {
    for flavor in BLOCKING_SEND_FLAVORS {
        let tracker = DropTracker::new();
        let (s, r) = flavor.make::<Tracked>();
        for i in 0..flavor.cap().unwrap() {
            s.try_send(tracker.make(i)).unwrap();
        }
        let probe = Probe::new();
        let mut send = s.send_async(tracker.make(100));
        assert_pending(probe.poll(&mut send), "send_async on a full channel");
        let sink_probe = Probe::new();
        let mut sink = s.sink();
        // `feed` hands the message over (the sink keeps it: no room)...
        let fed = ready(sink_probe.poll(&mut sink.feed(tracker.make(200))), "feed");
        assert!(fed.is_ok(), "{flavor}: feed");
        // ...and a flush waits for it to be sent.
        assert_pending(sink_probe.poll(&mut sink.flush()), "sink flush");
        thread::spawn(move || drop(r)).join().unwrap();
        probe.assert_woken(1, &format!("{flavor}: send_async at disconnect"));
        sink_probe.assert_woken(1, &format!("{flavor}: sink flush at disconnect"));
        match ready(probe.poll(&mut send), "send_async") {
            Err(SendError(msg)) => assert_eq!(msg.id, 100, "{flavor}"),
            Ok(()) => panic!("{flavor}: sent to a disconnected channel"),
        }
        // The sink's held message comes back from a flush.
        match ready(sink_probe.poll(&mut sink.flush()), "sink flush") {
            Err(SendError(msg)) => assert_eq!(msg.id, 200, "{flavor}"),
            Ok(()) => panic!("{flavor}: sink sent to a disconnected channel"),
        }
        drop(send);
        drop(sink);
        drop(s);
        tracker.assert_all_dropped_once(flavor);
    }
}

/// A pending `select_async` is woken by the disconnection of a receive
/// arm's channel (the arm completes with `RecvError`) and of a send arm's
/// (the send fails, handing its message back); `ready_async` likewise.
#[test]
fn disconnect_wakes_select_async() {
    for flavor in FLAVORS {
        let (s, r) = flavor.make::<u64>();
        let (_s2, r2) = unbounded::<u64>();
        let probe = Probe::new();
        let mut sel = Select::new();
        sel.recv(&r2);
        let ri = sel.recv(&r);
        let mut fut = sel.select_async();
        assert_pending(probe.poll(&mut fut), "select_async");
        thread::spawn(move || drop(s)).join().unwrap();
        probe.assert_woken(1, &format!("{flavor}: select_async recv arm at disconnect"));
        let oper = ready(probe.poll(&mut fut), "select_async");
        assert_eq!(oper.index(), ri);
        assert_eq!(oper.recv(&r), Err(RecvError));
        drop(fut);

        let (s, r) = flavor.make::<u64>();
        let probe = Probe::new();
        let mut sel = Select::new();
        let ri = sel.recv(&r);
        let mut fut = sel.ready_async();
        assert_pending(probe.poll(&mut fut), "ready_async");
        thread::spawn(move || drop(s)).join().unwrap();
        probe.assert_woken(1, &format!("{flavor}: ready_async at disconnect"));
        assert_eq!(ready(probe.poll(&mut fut), "ready_async"), ri);
    }
    for flavor in BLOCKING_SEND_FLAVORS {
        let (s, r) = flavor.make::<u64>();
        if flavor.cap() != Some(0) {
            fill(&s, flavor);
        }
        let (_s2, r2) = unbounded::<u64>();
        let probe = Probe::new();
        let mut sel = Select::new();
        sel.recv(&r2);
        let si = sel.send(&s);
        let mut fut = sel.select_async();
        assert_pending(probe.poll(&mut fut), "select_async send arm");
        thread::spawn(move || drop(r)).join().unwrap();
        probe.assert_woken(1, &format!("{flavor}: select_async send arm at disconnect"));
        let oper = ready(probe.poll(&mut fut), "select_async");
        assert_eq!(oper.index(), si);
        assert_eq!(oper.send(&s, 9), Err(SendError(9)));
    }
}

// ---------------------------------------------------------------------------
// No busy polling
// ---------------------------------------------------------------------------

/// A `recv_async` on an empty channel, polled (twice, the second a
/// spurious poll), is not woken while other threads touch the channel
/// without sending (`try_recv`, timed receives that register and give up,
/// `is_empty`), nor by traffic on another channel; one send wakes it once,
/// and it is then ready with the message.
#[test]
fn pending_recv_async_is_woken_only_by_a_send() {
    for flavor in FLAVORS {
        let (s, r) = flavor.make::<u64>();
        let probe = Probe::new();
        let mut recv = r.recv_async();
        assert_pending(probe.poll(&mut recv), "recv_async");
        assert_pending(probe.poll(&mut recv), "recv_async, spurious poll");
        let noise = {
            let r = r.clone();
            thread::spawn(move || {
                let (other_s, other_r) = flavor.make::<u64>();
                let end = Instant::now() + ms(100);
                while Instant::now() < end {
                    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
                    assert!(r.recv_timeout(ms(1)).is_err());
                    assert!(r.is_empty());
                    let _ = other_s.try_send(1);
                    let _ = other_r.try_recv();
                }
            })
        };
        noise.join().unwrap();
        assert_eq!(probe.wakes(), 0, "{flavor}: woken without a send");
        let sender = thread::spawn(move || s.send_timeout(5, LONG));
        probe.assert_woken(1, &format!("{flavor}: recv_async after a send"));
        assert_eq!(ready(probe.poll(&mut recv), "recv_async"), Ok(5));
        sender.join().unwrap().unwrap();
        if flavor != Flavor::Bounded(0) {
            assert_eq!(probe.wakes(), 1, "{flavor}: one send, several wake-ups");
        }
    }
}

/// A `send_async` on a full channel, polled, is not woken while other
/// threads touch it without receiving (failed `try_send`s, timed sends
/// that give up); one receive wakes it, and it is then ready.
#[test]
fn pending_send_async_is_woken_only_by_a_receive() {
    for flavor in BLOCKING_SEND_FLAVORS {
        let (s, r) = flavor.make::<u64>();
        if flavor.cap() != Some(0) {
            fill(&s, flavor);
        }
        let probe = Probe::new();
        let mut send = s.send_async(100);
        assert_pending(probe.poll(&mut send), "send_async");
        assert_pending(probe.poll(&mut send), "send_async, spurious poll");
        let noise = {
            let s = s.clone();
            thread::spawn(move || {
                let end = Instant::now() + ms(100);
                while Instant::now() < end {
                    assert!(s.try_send(1).is_err());
                    if flavor != Flavor::Bounded(0) {
                        // On a zero channel a timed send would pair with
                        // the receiver below; there, failed tries only.
                        assert!(s.send_timeout(2, ms(1)).is_err());
                    }
                    assert!(s.is_full());
                }
            })
        };
        noise.join().unwrap();
        assert_eq!(probe.wakes(), 0, "{flavor}: woken without a receive");
        let first = if flavor == Flavor::Bounded(0) {
            // Takes the waiting future's message.
            r.try_recv().unwrap()
        } else {
            r.recv().unwrap()
        };
        probe.assert_woken(1, &format!("{flavor}: send_async after a receive"));
        assert_eq!(ready(probe.poll(&mut send), "send_async"), Ok(()));
        assert_eq!(probe.wakes(), 1, "{flavor}: one receive, several wake-ups");
        drop(send);
        let mut got = vec![first];
        got.extend(r.try_iter());
        let expected: Vec<u64> = (0..flavor.cap().unwrap() as u64).chain([100]).collect();
        assert_eq!(got, expected, "{flavor}");
    }
}

/// A `select_async` over two empty channels is not woken by traffic on a
/// third; a send on one of its channels wakes it once.
#[test]
fn pending_select_async_is_woken_only_by_its_channels() {
    for flavor in FLAVORS {
        let (s1, r1) = flavor.make::<u64>();
        let (s2, r2) = flavor.make::<u64>();
        let (s3, r3) = flavor.make::<u64>();
        let probe = Probe::new();
        let mut sel = Select::new();
        let i1 = sel.recv(&r1);
        let i2 = sel.recv(&r2);
        let mut fut = sel.select_async();
        assert_pending(probe.poll(&mut fut), "select_async");
        let noise = thread::spawn(move || {
            let receiver = thread::spawn(move || r3.iter().count());
            for i in 0..200 {
                s3.send(i).unwrap();
            }
            drop(s3);
            receiver.join().unwrap()
        });
        assert_eq!(noise.join().unwrap(), 200);
        assert!(r1.is_empty() && r2.is_empty());
        assert_eq!(probe.wakes(), 0, "{flavor}: woken by another channel");
        let sender = thread::spawn(move || s2.send_timeout(8, LONG));
        probe.assert_woken(1, &format!("{flavor}: select_async after a send"));
        let oper = ready(probe.poll(&mut fut), "select_async");
        assert_eq!(oper.index(), i2);
        assert_ne!(oper.index(), i1);
        assert_eq!(oper.recv(&r2), Ok(8));
        drop(fut);
        sender.join().unwrap().unwrap();
        drop(s1);
    }
}

/// Two `recv_async` futures wait on a channel with a buffer: one send wakes
/// one of them, not both (the other could not proceed).
#[test]
fn one_send_wakes_one_of_two_waiting_receivers() {
    for flavor in QUEUE_FLAVORS {
        let (s, r) = flavor.make::<u64>();
        let (p1, p2) = (Probe::new(), Probe::new());
        let mut f1 = r.recv_async();
        let mut f2 = r.recv_async();
        assert_pending(p1.poll(&mut f1), "first recv_async");
        assert_pending(p2.poll(&mut f2), "second recv_async");
        s.send(1).unwrap();
        thread::sleep(ms(20));
        assert_eq!(
            p1.wakes() + p2.wakes(),
            1,
            "{flavor}: one send woke {} and {} times",
            p1.wakes(),
            p2.wakes()
        );
        let (winner, mut fut, other) = if p1.wakes() == 1 {
            (&p1, f1, f2)
        } else {
            (&p2, f2, f1)
        };
        assert_eq!(ready(winner.poll(&mut fut), "woken receiver"), Ok(1));
        drop((fut, other));
    }
}

// ---------------------------------------------------------------------------
// A future moved to another waker
// ---------------------------------------------------------------------------

/// A future polled with one waker and then with another (moved to another
/// task) is woken through the second: `recv_async`, `send_async`, the
/// stream, `select_async`, on every flavor.
#[test]
fn moved_future_is_woken_through_its_new_waker() {
    for flavor in FLAVORS {
        let what = format!("{flavor}: recv_async");
        let (s, r) = flavor.make::<u64>();
        let (a, b) = (Probe::new(), Probe::new());
        let mut recv = r.recv_async();
        assert_pending(a.poll(&mut recv), &what);
        assert_pending(b.poll(&mut recv), &what);
        let t = thread::spawn(move || s.send_timeout(1, LONG));
        b.assert_woken(1, &what);
        assert_eq!(ready(b.poll(&mut recv), &what), Ok(1));
        t.join().unwrap().unwrap();

        let what = format!("{flavor}: stream");
        let (s, r) = flavor.make::<u64>();
        let (a, b) = (Probe::new(), Probe::new());
        let mut stream = r.stream();
        assert_pending(a.poll_next(&mut stream), &what);
        assert_pending(b.poll_next(&mut stream), &what);
        let t = thread::spawn(move || s.send_timeout(2, LONG));
        b.assert_woken(1, &what);
        assert_eq!(ready(b.poll_next(&mut stream), &what), Some(2));
        t.join().unwrap().unwrap();

        let what = format!("{flavor}: select_async");
        let (s, r) = flavor.make::<u64>();
        let (a, b) = (Probe::new(), Probe::new());
        let mut sel = Select::new();
        sel.recv(&r);
        let mut fut = sel.select_async();
        assert_pending(a.poll(&mut fut), &what);
        assert_pending(b.poll(&mut fut), &what);
        let t = thread::spawn(move || s.send_timeout(3, LONG));
        b.assert_woken(1, &what);
        assert_eq!(ready(b.poll(&mut fut), &what).recv(&r), Ok(3));
        t.join().unwrap().unwrap();
    }
    for flavor in BLOCKING_SEND_FLAVORS {
        let what = format!("{flavor}: send_async");
        let (s, r) = flavor.make::<u64>();
        if flavor.cap() != Some(0) {
            fill(&s, flavor);
        }
        let (a, b) = (Probe::new(), Probe::new());
        let mut send = s.send_async(100);
        assert_pending(a.poll(&mut send), &what);
        assert_pending(b.poll(&mut send), &what);
        let t = thread::spawn(move || {
            let got: Vec<u64> = (0..=flavor.cap().unwrap())
                .map(|_| r.recv_timeout(LONG).unwrap())
                .collect();
            got
        });
        b.assert_woken(1, &what);
        assert_eq!(ready(b.poll(&mut send), &what), Ok(()));
        let expected: Vec<u64> = (0..flavor.cap().unwrap() as u64).chain([100]).collect();
        assert_eq!(t.join().unwrap(), expected, "{what}");
    }
}

/// A timer wait (`after`, and a select over `after`) polled with one waker
/// and then another is woken through the second at the instant.
#[test]
fn moved_timer_wait_is_woken_through_its_new_waker() {
    let r = after(ms(40));
    let (a, b) = (Probe::new(), Probe::new());
    let mut recv = r.recv_async();
    assert_pending(a.poll(&mut recv), "after");
    assert_pending(b.poll(&mut recv), "after");
    b.assert_woken(1, "after, second waker");
    assert!(ready(b.poll(&mut recv), "after").is_ok());

    let timer = after(ms(40));
    let (_s, other) = unbounded::<u64>();
    let mut sel = Select::new();
    sel.recv(&other);
    let ti = sel.recv(&timer);
    let (a, b) = (Probe::new(), Probe::new());
    let mut fut = sel.select_async();
    assert_pending(a.poll(&mut fut), "select over after");
    assert_pending(b.poll(&mut fut), "select over after");
    b.assert_woken(1, "select over after, second waker");
    let oper = ready(b.poll(&mut fut), "select over after");
    assert_eq!(oper.index(), ti);
    assert!(oper.recv(&timer).is_ok());
}

/// A future polled once by hand and then spawned on a multi-thread runtime
/// (a new task, a new waker) completes when a thread sends.
#[test]
fn moved_future_completes_in_a_spawned_task() {
    let rt = multi_thread();
    for flavor in FLAVORS {
        let (s, r) = flavor.make::<u64>();
        let mut fut = Box::pin(async move { r.recv_async().await });
        let probe = Probe::new();
        assert_pending(probe.poll(&mut fut), "first poll by hand");
        let handle = rt.spawn(fut);
        let t = thread::spawn(move || {
            let_it_block();
            s.send_timeout(4, LONG)
        });
        let got = rt.block_on(async { tokio::time::timeout(LONG, handle).await });
        assert_eq!(
            got.expect("moved future never woken").unwrap(),
            Ok(4),
            "{flavor}"
        );
        t.join().unwrap().unwrap();
    }
}

/// A woken sender that hands its message to a blocked receiver passes the
/// slot's wake-up on, on `bounded(1)`: two `send_async`
/// futures wait on a full channel; a thread receives the message (its
/// wake-up goes to the first future) and a second thread then blocks in
/// `recv` on the now empty channel. The first future, polled, hands its
/// message straight to that blocked receiver instead of using the freed
/// slot; the slot is still free, so the second future must be woken (its
/// send can proceed now). The sleep only makes the losing
/// interleaving (the receiver asleep in `recv` when the first future is
/// polled) likely; the assertion holds in every interleaving.
#[test]
#[cfg_attr(miri, ignore)]
fn woken_async_sender_that_hands_off_leaves_the_other_waiting() {
    let (s, r) = chan::bounded::<u64>(1);
    s.send(0).unwrap();
    let (probe1, probe2) = (Probe::new(), Probe::new());
    let mut send1 = s.send_async(1);
    let mut send2 = s.send_async(2);
    assert_pending(probe1.poll(&mut send1), "first send_async");
    assert_pending(probe2.poll(&mut send2), "second send_async");
    // A receive frees the slot and wakes one of the two futures.
    let r2 = r.clone();
    assert_eq!(thread::spawn(move || r2.recv()).join().unwrap(), Ok(0));
    let (first, first_probe, second, second_probe) = if probe1.wakes() > 0 {
        (&mut send1, &probe1, &mut send2, &probe2)
    } else {
        (&mut send2, &probe2, &mut send1, &probe1)
    };
    // A thread blocks in `recv` on the empty channel (and likely falls
    // asleep there).
    let r3 = r.clone();
    let receiver = thread::spawn(move || r3.recv_timeout(LONG));
    thread::sleep(ms(100));
    // The woken future completes: through the free slot, or straight into
    // the blocked receiver's hands.
    assert!(ready(first_probe.poll(first), "woken send_async").is_ok());
    let received = receiver.join().unwrap();
    assert!(received.is_ok(), "the receiver got nothing: {received:?}");
    // Either way there is room now: the other future must have been woken
    // to use it.
    assert!(
        second_probe.wait_for_wakes(1),
        "the second send_async was never woken, though the channel has room (len {})",
        s.len()
    );
    assert!(ready(second_probe.poll(second), "second send_async").is_ok());
}
