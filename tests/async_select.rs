//! The awaited select, `Select::select_async`/`ready_async`, tested
//! against the promises it makes:
//!
//! - **select_async** is fair like the blocking select (biased, it keeps
//!   the written order), unregisters when dropped, and works fed by
//!   threads (`select_async_*`, `ready_async_*`).
//!
//! Its pairing on zero channels is in `async_flavors.rs`
//! (`zero_select_async_*`), its wake-ups in `async_wakers.rs`, its cancel
//! safety in `async_cancel.rs`; the shared helpers in
//! `async_common/mod.rs`.
//!
//! Not for Miri: runtimes, timers and races over many rounds.
#![cfg(not(miri))]

mod async_common;
mod common;

use async_common::{
    assert_pending, fill, let_it_block, multi_thread, ready, task, Probe, EXECS, FLAVORS, HANG,
    LONG, QUEUE_FLAVORS,
};
use chan::{bounded, never, unbounded, RecvError, Select};
use common::{ms, within, Flavor};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread;

// ---------------------------------------------------------------------------
// select_async and ready_async
// ---------------------------------------------------------------------------

/// Asserts that each count is within `points` percentage points of an
/// equal share of `total`.
fn assert_uniform(what: &str, counts: &[usize], total: usize, points: f64) {
    let fair = 100.0 / counts.len() as f64;
    for (arm, &count) in counts.iter().enumerate() {
        let share = count as f64 * 100.0 / total as f64;
        assert!(
            (share - fair).abs() <= points,
            "{what}: arm {arm} won {share:.2}% ({count} of {total}), expected {fair:.2}% ± {points}: {counts:?}"
        );
    }
}

/// With three ready arms (and an empty fourth), `select_async` picks each
/// ready one uniformly: 30,000 rounds, each share within 5 points of 1/3
/// (a uniform share's standard deviation is 0.27 points, so the bound is
/// 18 deviations wide); `ready_async` likewise. The empty arm never wins.
#[test]
fn select_async_is_fair_among_ready_arms() {
    const ROUNDS: usize = 30_000;
    let (s0, r0) = unbounded::<u8>();
    let (s1, r1) = bounded::<u8>(1);
    let (s2, r2) = bounded::<u8>(4);
    let (_s3, r3) = unbounded::<u8>();
    s0.send(0).unwrap();
    s1.send(1).unwrap();
    s2.send(2).unwrap();
    let senders = [&s0, &s1, &s2];
    let receivers = [&r0, &r1, &r2, &r3];
    futures::executor::block_on(async {
        let mut wins = [0usize; 3];
        for _ in 0..ROUNDS {
            let mut sel = Select::new();
            for r in receivers {
                sel.recv(r);
            }
            let oper = sel.select_async().await;
            let i = oper.index();
            assert!(i < 3, "select_async chose the empty arm");
            assert_eq!(oper.recv(receivers[i]), Ok(i as u8));
            wins[i] += 1;
            senders[i].send(i as u8).unwrap();
        }
        assert_uniform("select_async", &wins, ROUNDS, 5.0);

        let mut wins = [0usize; 3];
        for _ in 0..ROUNDS {
            let mut sel = Select::new();
            for r in receivers {
                sel.recv(r);
            }
            let i = sel.ready_async().await;
            assert!(i < 3, "ready_async chose the empty arm");
            wins[i] += 1;
        }
        assert_uniform("ready_async", &wins, ROUNDS, 5.0);
    });
}

/// Biased `select_async` takes the first ready arm in the order added.
#[test]
fn biased_select_async_keeps_the_written_order() {
    let (s1, r1) = unbounded::<u8>();
    let (s2, r2) = unbounded::<u8>();
    futures::executor::block_on(async {
        for _ in 0..200 {
            s1.send(1).unwrap();
            s2.send(2).unwrap();
            let mut sel = Select::new_biased();
            sel.recv(&r2);
            sel.recv(&r1);
            let oper = sel.select_async().await;
            assert_eq!(oper.index(), 0);
            assert_eq!(oper.recv(&r2), Ok(2));
            assert_eq!(r1.try_recv(), Ok(1));
        }
    });
}

/// `ready_async` reports a ready operation without performing it.
#[test]
fn ready_async_does_not_perform_the_operation() {
    for flavor in QUEUE_FLAVORS {
        let (s, r) = flavor.make::<u64>();
        let (_s2, r2) = unbounded::<u64>();
        let probe = Probe::new();
        let mut sel = Select::new();
        sel.recv(&r2);
        let ri = sel.recv(&r);
        let mut fut = sel.ready_async();
        assert_pending(probe.poll(&mut fut), "ready_async");
        s.send(3).unwrap();
        probe.assert_woken(1, "ready_async");
        assert_eq!(ready(probe.poll(&mut fut), "ready_async"), ri);
        assert_eq!(r.try_recv(), Ok(3));
    }
}

/// A dropped `select_async` unregisters every operation: a later waiter is
/// the one a send (or a receive, for a send arm) wakes. On every flavor.
#[test]
fn dropped_select_async_unregisters() {
    for flavor in FLAVORS {
        let what = format!("{flavor}: recv arm");
        let (s, r) = flavor.make::<u64>();
        let (_s2, r2) = unbounded::<u64>();
        {
            let probe = Probe::new();
            let mut sel = Select::new();
            sel.recv(&r);
            sel.recv(&r2);
            let mut fut = sel.select_async();
            assert_pending(probe.poll(&mut fut), &what);
            drop(fut);
            drop(sel);
            assert_eq!(probe.wakes(), 0);
        }
        let probe = Probe::new();
        let mut recv = r.recv_async();
        assert_pending(probe.poll(&mut recv), &what);
        let t = thread::spawn(move || s.send_timeout(1, LONG));
        probe.assert_woken(1, &what);
        assert_eq!(ready(probe.poll(&mut recv), &what), Ok(1));
        t.join().unwrap().unwrap();
    }
    for flavor in [Flavor::Bounded(1), Flavor::Bounded(4)] {
        let what = format!("{flavor}: send arm");
        let (s, r) = flavor.make::<u64>();
        fill(&s, flavor);
        {
            let probe = Probe::new();
            let mut sel = Select::new();
            sel.send(&s);
            let mut fut = sel.select_async();
            assert_pending(probe.poll(&mut fut), &what);
        }
        let probe = Probe::new();
        let mut send = s.send_async(100);
        assert_pending(probe.poll(&mut send), &what);
        assert_eq!(r.recv(), Ok(0));
        probe.assert_woken(1, &what);
        assert_eq!(ready(probe.poll(&mut send), &what), Ok(()));
    }
}

/// `select_async` fed by threads: three channels (zero, one-slot, list),
/// each fed by its own thread; a task selects until all are disconnected,
/// replacing a disconnected receiver with `never()`. Every message arrives
/// once, in order per channel. On every executor.
#[test]
fn select_async_fed_by_threads() {
    const PER_CHANNEL: u64 = 300;
    within(HANG, "select_async fed by threads", || {
        for exec in EXECS {
            let chans = [Flavor::Bounded(0), Flavor::Bounded(1), Flavor::Unbounded];
            let mut receivers = Vec::new();
            let mut feeders = Vec::new();
            for flavor in chans {
                let (s, r) = flavor.make::<u64>();
                receivers.push(r);
                feeders.push(thread::spawn(move || {
                    for i in 0..PER_CHANNEL {
                        s.send(i).unwrap();
                    }
                }));
            }
            exec.run(vec![task(async move {
                let mut receivers = receivers;
                let mut next = [0u64; 3];
                let mut live = 3;
                while live > 0 {
                    let mut sel = Select::new();
                    for r in &receivers {
                        sel.recv(r);
                    }
                    let oper = sel.select_async().await;
                    let k = oper.index();
                    match oper.recv(&receivers[k]) {
                        Ok(i) => {
                            assert_eq!(i, next[k], "{exec:?}: channel {k} out of order");
                            next[k] += 1;
                        }
                        Err(RecvError) => {
                            assert_eq!(next[k], PER_CHANNEL, "{exec:?}: channel {k}");
                            receivers[k] = never();
                            live -= 1;
                        }
                    }
                }
            })]);
            for f in feeders {
                f.join().unwrap();
            }
        }
    });
}

/// `select_async` with send arms on a one-slot channel and a list, and a
/// receive arm, against receiving threads: every message arrives once.
#[test]
fn select_async_send_arms_with_receiving_threads() {
    const MESSAGES: u64 = 500;
    let (s1, r1) = bounded::<u64>(1);
    let (s2, r2) = bounded::<u64>(2);
    let (done_s, done_r) = unbounded::<()>();
    let t1 = thread::spawn(move || r1.iter().collect::<Vec<_>>());
    let t2 = thread::spawn(move || r2.iter().collect::<Vec<_>>());
    multi_thread().block_on(async move {
        for i in 0..MESSAGES {
            let mut sel = Select::new();
            let a = sel.send(&s1);
            let b = sel.send(&s2);
            sel.recv(&done_r);
            let oper = sel.select_async().await;
            if oper.index() == a {
                oper.send(&s1, i).unwrap();
            } else {
                assert_eq!(oper.index(), b);
                oper.send(&s2, i).unwrap();
            }
        }
        drop(done_s);
    });
    let mut all = t1.join().unwrap();
    all.extend(t2.join().unwrap());
    all.sort_unstable();
    assert_eq!(all, (0..MESSAGES).collect::<Vec<_>>());
}

/// One channel in several arms of a `select_async`: a send wakes it and
/// one of the arms gets the message; woken and dropped unpolled, its
/// wake-up goes to a thread blocked in a select on the channel. On a zero
/// channel a send arm and a receive arm on the same channel pair with a
/// thread partner, never with each other.
#[test]
fn select_async_with_one_channel_in_several_arms() {
    for flavor in FLAVORS {
        let (s, r) = flavor.make::<u64>();
        let probe = Probe::new();
        let mut sel = Select::new();
        for _ in 0..3 {
            sel.recv(&r);
        }
        let mut fut = sel.select_async();
        assert_pending(probe.poll(&mut fut), "select_async");
        let sender = {
            let s = s.clone();
            thread::spawn(move || s.send_timeout(1, LONG))
        };
        probe.assert_woken(1, &format!("{flavor}: three arms"));
        let oper = ready(probe.poll(&mut fut), "select_async");
        assert!(oper.index() < 3);
        assert_eq!(oper.recv(&r), Ok(1), "{flavor}");
        drop(fut);
        sender.join().unwrap().unwrap();

        // Woken, dropped: a blocked select thread gets the message.
        let probe = Probe::new();
        let mut fut = sel.select_async();
        assert_pending(probe.poll(&mut fut), "select_async");
        let blocked = {
            let r = r.clone();
            thread::spawn(move || {
                let mut sel = Select::new();
                sel.recv(&r);
                sel.recv(&r);
                let oper = sel.select_timeout(LONG).ok()?;
                oper.recv(&r).ok()
            })
        };
        let_it_block();
        let sender = {
            let s = s.clone();
            thread::spawn(move || s.send_timeout(2, LONG))
        };
        thread::sleep(ms(5));
        drop(fut);
        assert_eq!(blocked.join().unwrap(), Some(2), "{flavor}");
        sender.join().unwrap().unwrap();
    }
    let (s, r) = bounded::<u64>(0);
    for (partner, value) in [("sender", 5u64), ("receiver", 6)] {
        let t = {
            let (s, r) = (s.clone(), r.clone());
            thread::spawn(move || {
                if partner == "sender" {
                    s.send_timeout(value, LONG).unwrap();
                    None
                } else {
                    Some(r.recv_timeout(LONG).unwrap())
                }
            })
        };
        let got = multi_thread().block_on(async {
            let mut sel = Select::new();
            let si = sel.send(&s);
            let ri = sel.recv(&r);
            let oper = tokio::time::timeout(LONG, sel.select_async())
                .await
                .expect("zero: no partner for a select with both arms");
            if partner == "sender" {
                assert_eq!(oper.index(), ri);
                oper.recv(&r).unwrap()
            } else {
                assert_eq!(oper.index(), si);
                oper.send(&s, value).unwrap();
                value
            }
        });
        assert_eq!(got, value);
        let thread_got = t.join().unwrap();
        if partner == "receiver" {
            assert_eq!(thread_got, Some(value));
        }
    }
}

/// Polling a `select_async` or `ready_async` with no operations panics.
#[test]
fn select_async_with_no_operations_panics() {
    let payload = catch_unwind(AssertUnwindSafe(|| {
        futures::executor::block_on(async {
            let mut sel = Select::new();
            drop(sel.select_async().await);
        });
    }))
    .expect_err("select_async with no operations must panic");
    let text = common::panic_text(&*payload);
    assert!(text.contains("no operations"), "{text}");
    let payload = catch_unwind(AssertUnwindSafe(|| {
        futures::executor::block_on(async {
            let mut sel = Select::new();
            sel.ready_async().await;
        });
    }))
    .expect_err("ready_async with no operations must panic");
    let text = common::panic_text(&*payload);
    assert!(text.contains("no operations"), "{text}");
}
