//! The `Select` builder API.

mod common;

use chan::{
    after, bounded, never, tick, unbounded, ReadyTimeoutError, Receiver, RecvError, Select,
    SelectTimeoutError, SendError, Sender, TryReadyError, TrySelectError,
};
use common::{
    assert_elapsed, channel, far_future, flavors, ms, panic_payload, received_once, within,
    DropTracker, SLACK,
};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn recv_on_every_flavor() {
    for flavor in flavors(4) {
        let (s, r) = flavor.make::<i32>();
        let (_s0, r0) = bounded::<i32>(1);
        let t = thread::spawn(move || {
            thread::sleep(ms(20));
            s.send(7).unwrap();
        });
        let mut sel = Select::new();
        let i0 = sel.recv(&r0);
        let i1 = sel.recv(&r);
        assert_eq!((i0, i1), (0, 1));
        let op = sel.select();
        assert_eq!(op.index(), i1, "{flavor}");
        assert_eq!(op.recv(&r), Ok(7), "{flavor}");
        t.join().unwrap();
    }
}

#[test]
fn send_on_every_flavor() {
    for flavor in flavors(4) {
        let (s, r) = flavor.make::<i32>();
        let t = thread::spawn(move || r.recv());
        let (s0, _r0) = bounded::<i32>(0);
        let mut sel = Select::new();
        let i0 = sel.send(&s0);
        let i1 = sel.send(&s);
        let op = sel.select();
        assert_eq!(op.index(), i1, "{flavor}");
        assert_ne!(op.index(), i0);
        op.send(&s, 5).unwrap();
        assert_eq!(t.join().unwrap(), Ok(5), "{flavor}");
    }
}

#[test]
fn send_waits_for_room_on_full_channel() {
    let (s, r) = bounded(1);
    s.send(1).unwrap();
    let mut sel = Select::new();
    sel.send(&s);
    assert!(sel.try_select().is_err());
    let start = Instant::now();
    let t = thread::spawn(move || {
        thread::sleep(ms(50));
        r.recv().unwrap();
        r
    });
    let op = sel.select();
    assert!(start.elapsed() >= ms(30));
    op.send(&s, 2).unwrap();
    let r = t.join().unwrap();
    assert_eq!(r.recv(), Ok(2));
}

#[test]
fn indices_are_sequential_and_never_reused() {
    let (s, r) = unbounded::<i32>();
    let mut sel = Select::new();
    assert_eq!(sel.recv(&r), 0);
    assert_eq!(sel.send(&s), 1);
    assert_eq!(sel.recv(&r), 2);
    sel.remove(1);
    assert_eq!(sel.send(&s), 3);
    sel.remove(3);
    assert_eq!(sel.recv(&r), 4);
}

#[test]
fn removed_operations_are_not_selected() {
    let (s1, r1) = unbounded();
    let (s2, r2) = unbounded();
    s1.send(1).unwrap();
    s2.send(2).unwrap();
    let mut sel = Select::new();
    let i1 = sel.recv(&r1);
    let i2 = sel.recv(&r2);
    sel.remove(i1);
    for _ in 0..10 {
        let idx = sel.ready();
        assert_eq!(idx, i2);
    }
    let op = sel.select();
    assert_eq!(op.index(), i2);
    assert_eq!(op.recv(&r2), Ok(2));
    sel.remove(i2);
    assert!(sel.try_select().is_err());
    assert_eq!(r1.try_recv(), Ok(1));
}

#[test]
#[should_panic(expected = "index out of bounds; 5 >= 2")]
fn remove_out_of_bounds_panics() {
    let (_s, r) = unbounded::<i32>();
    let mut sel = Select::new();
    sel.recv(&r);
    sel.recv(&r);
    sel.remove(5);
}

#[test]
#[should_panic(expected = "no operation with this index")]
fn remove_twice_panics() {
    let (_s, r) = unbounded::<i32>();
    let mut sel = Select::new();
    sel.recv(&r);
    let i = sel.recv(&r);
    sel.remove(i);
    sel.remove(i);
}

#[test]
fn try_select_only_completes_ready_operations() {
    let (s, r) = bounded::<i32>(1);
    let mut sel = Select::new();
    sel.recv(&r);
    assert_eq!(sel.try_select().unwrap_err(), TrySelectError);
    s.send(3).unwrap();
    let op = sel.try_select().unwrap();
    assert_eq!(op.index(), 0);
    assert_eq!(op.recv(&r), Ok(3));
    assert!(sel.try_select().is_err());
}

#[test]
fn select_timeout_and_deadline() {
    let (s, r) = bounded::<i32>(0);
    let mut sel = Select::new();
    sel.recv(&r);
    let start = Instant::now();
    assert_eq!(sel.select_timeout(ms(100)).unwrap_err(), SelectTimeoutError);
    assert_elapsed(start, ms(100));
    let start = Instant::now();
    assert!(sel.select_deadline(start + ms(100)).is_err());
    assert_elapsed(start, ms(100));

    let t = thread::spawn(move || {
        thread::sleep(ms(50));
        s.send(1).unwrap();
        thread::sleep(ms(50));
        s.send(2).unwrap();
    });
    let op = sel.select_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(op.recv(&r), Ok(1));
    let op = sel
        .select_deadline(Instant::now() + Duration::from_secs(10))
        .unwrap();
    assert_eq!(op.recv(&r), Ok(2));
    t.join().unwrap();
}

#[test]
fn huge_timeouts_do_not_panic() {
    let (s, r) = unbounded::<i32>();
    let mut sel = Select::new();
    sel.recv(&r);
    let t = thread::spawn(move || {
        for i in 0..4 {
            thread::sleep(ms(30));
            s.send(i).unwrap();
        }
    });
    let op = sel.select_timeout(Duration::MAX).unwrap();
    assert_eq!(op.recv(&r), Ok(0));
    let op = sel.select_deadline(far_future()).unwrap();
    assert_eq!(op.recv(&r), Ok(1));
    assert_eq!(sel.ready_timeout(Duration::MAX), Ok(0));
    assert_eq!(r.recv(), Ok(2));
    assert_eq!(sel.ready_deadline(far_future()), Ok(0));
    assert_eq!(r.recv(), Ok(3));
    t.join().unwrap();
}

#[test]
fn timeouts_zero_still_complete_ready_operations() {
    let (s, r) = unbounded();
    s.send(1).unwrap();
    s.send(2).unwrap();
    let mut sel = Select::new();
    sel.recv(&r);
    let op = sel.select_timeout(Duration::ZERO).unwrap();
    assert_eq!(op.recv(&r), Ok(1));
    let op = sel.select_deadline(Instant::now() - ms(10)).unwrap();
    assert_eq!(op.recv(&r), Ok(2));
    assert!(sel.select_timeout(Duration::ZERO).is_err());
}

#[test]
fn ready_does_not_complete_the_operation() {
    let (s, r) = bounded(2);
    let (_s2, r2) = bounded::<i32>(2);
    let mut sel = Select::new();
    let _i0 = sel.recv(&r2);
    let i1 = sel.recv(&r);
    assert_eq!(sel.try_ready(), Err(TryReadyError));
    s.send(1).unwrap();
    assert_eq!(sel.try_ready(), Ok(i1));
    assert_eq!(sel.ready(), i1);
    assert_eq!(sel.ready_timeout(ms(10)), Ok(i1));
    assert_eq!(sel.ready_deadline(Instant::now()), Ok(i1));
    // The message is still there.
    assert_eq!(r.len(), 1);
    assert_eq!(r.recv(), Ok(1));

    let start = Instant::now();
    assert_eq!(sel.ready_timeout(ms(100)), Err(ReadyTimeoutError));
    assert_elapsed(start, ms(100));
    let start = Instant::now();
    assert_eq!(sel.ready_deadline(start + ms(100)), Err(ReadyTimeoutError));
    assert_elapsed(start, ms(100));
}

#[test]
fn ready_wakes_up_on_send_from_other_thread() {
    for flavor in flavors(4) {
        let (s, r) = flavor.make::<i32>();
        let mut sel = Select::new();
        let i = sel.recv(&r);
        let t = thread::spawn(move || {
            thread::sleep(ms(30));
            s.send(9).unwrap();
        });
        assert_eq!(sel.ready(), i, "{flavor}");
        assert_eq!(r.recv(), Ok(9), "{flavor}");
        t.join().unwrap();
    }
}

#[test]
fn ready_for_send() {
    let (s, r) = bounded(1);
    let mut sel = Select::new();
    let i = sel.send(&s);
    assert_eq!(sel.ready(), i);
    s.send(1).unwrap();
    assert_eq!(sel.try_ready(), Err(TryReadyError));
    r.recv().unwrap();
    assert_eq!(sel.try_ready(), Ok(i));
}

#[test]
fn empty_select() {
    let mut sel = Select::new();
    assert_eq!(sel.try_select().unwrap_err(), TrySelectError);
    assert_eq!(sel.try_ready(), Err(TryReadyError));
    let start = Instant::now();
    assert!(sel.select_timeout(ms(100)).is_err());
    assert_elapsed(start, ms(100));
    let start = Instant::now();
    assert!(sel.select_deadline(start + ms(50)).is_err());
    assert_elapsed(start, ms(50));
    let start = Instant::now();
    assert_eq!(sel.ready_timeout(ms(100)), Err(ReadyTimeoutError));
    assert_elapsed(start, ms(100));
    let start = Instant::now();
    assert_eq!(sel.ready_deadline(start + ms(50)), Err(ReadyTimeoutError));
    assert_elapsed(start, ms(50));
}

#[test]
fn empty_select_after_remove_sleeps() {
    let (_s, r) = unbounded::<i32>();
    let mut sel = Select::new();
    let i = sel.recv(&r);
    sel.remove(i);
    let start = Instant::now();
    assert!(sel.select_timeout(ms(50)).is_err());
    assert_elapsed(start, ms(50));
}

#[test]
#[should_panic(expected = "no operations have been added to `Select`")]
fn empty_select_blocking_panics() {
    let mut sel = Select::new();
    let _ = sel.select();
}

#[test]
#[should_panic(expected = "no operations have been added to `Select`")]
fn empty_ready_blocking_panics() {
    let mut sel = Select::new();
    let _ = sel.ready();
}

#[test]
fn same_channel_in_several_operations() {
    let (s, r) = unbounded();
    let mut sel = Select::new();
    let a = sel.recv(&r);
    let b = sel.recv(&r);
    let c = sel.send(&s);
    let d = sel.send(&s);
    // Only the sends are ready at first.
    let op = sel.select();
    let i = op.index();
    assert!(i == c || i == d);
    op.send(&s, 1).unwrap();
    // Now both kinds are ready; drain with recv operations only.
    let mut sel2 = Select::new();
    let a2 = sel2.recv(&r);
    let b2 = sel2.recv(&r);
    let op = sel2.select();
    assert!(op.index() == a2 || op.index() == b2);
    assert_eq!(op.recv(&r), Ok(1));
    assert!(sel2.try_select().is_err());
    let _ = (a, b);
}

#[test]
fn zero_send_and_recv_in_one_select_do_not_pair() {
    let (s, r) = bounded::<i32>(0);
    let mut sel = Select::new();
    sel.send(&s);
    sel.recv(&r);
    assert!(sel.try_select().is_err());
    assert!(sel.try_ready().is_err());
    let start = Instant::now();
    assert!(sel.select_timeout(ms(100)).is_err());
    assert_elapsed(start, ms(100));
    let start = Instant::now();
    assert!(sel.ready_timeout(ms(50)).is_err());
    assert_elapsed(start, ms(50));
}

#[test]
fn zero_selects_in_two_threads_pair_up() {
    // Each thread offers to send on one channel and receive on the other.
    let (s1, r1) = bounded::<i32>(0);
    let (s2, r2) = bounded::<i32>(0);
    let rounds = if cfg!(miri) { 10 } else { 1000 };
    let t = {
        let (s1, r2) = (s1.clone(), r2.clone());
        thread::spawn(move || {
            let mut got = 0;
            for i in 0..rounds {
                let mut sel = Select::new();
                let si = sel.send(&s1);
                let ri = sel.recv(&r2);
                let op = sel.select();
                if op.index() == si {
                    op.send(&s1, i).unwrap();
                } else {
                    assert_eq!(op.index(), ri);
                    op.recv(&r2).unwrap();
                    got += 1;
                }
            }
            got
        })
    };
    let mut got = 0;
    for i in 0..rounds {
        let mut sel = Select::new();
        let si = sel.send(&s2);
        let ri = sel.recv(&r1);
        let op = sel
            .select_timeout(Duration::from_secs(10))
            .expect("deadlock");
        if op.index() == si {
            op.send(&s2, i).unwrap();
        } else {
            assert_eq!(op.index(), ri);
            op.recv(&r1).unwrap();
            got += 1;
        }
    }
    let other = t.join().unwrap();
    // Every round moved exactly one message in one direction.
    assert_eq!(got + other, rounds);
}

#[test]
fn disconnected_channels_are_ready() {
    let (s, r) = unbounded::<i32>();
    let (s_full, r_full) = bounded::<i32>(1);
    s_full.send(0).unwrap();
    drop(s);
    drop(r_full);
    let (_keep, r_idle) = bounded::<i32>(0);

    let mut sel = Select::new();
    sel.recv(&r_idle);
    let ir = sel.recv(&r);
    let op = sel.select_timeout(SLACK).unwrap();
    assert_eq!(op.index(), ir);
    assert_eq!(op.recv(&r), Err(RecvError));

    let mut sel = Select::new();
    sel.recv(&r_idle);
    let is = sel.send(&s_full);
    assert_eq!(sel.try_ready(), Ok(is));
    let op = sel.try_select().unwrap();
    assert_eq!(op.index(), is);
    assert_eq!(op.send(&s_full, 5), Err(SendError(5)));
}

#[test]
fn disconnect_wakes_blocked_select() {
    for flavor in flavors(4) {
        let (s, r) = flavor.make::<i32>();
        let t = thread::spawn(move || {
            let mut sel = Select::new();
            sel.recv(&r);
            let op = sel.select();
            op.recv(&r)
        });
        thread::sleep(ms(50));
        drop(s);
        assert_eq!(t.join().unwrap(), Err(RecvError), "{flavor}");
    }
    for flavor in flavors(4) {
        let (s, r) = flavor.make::<i32>();
        if let Some(cap) = s.capacity() {
            for i in 0..cap {
                s.send(i as i32).unwrap();
            }
        } else {
            continue;
        }
        let t = thread::spawn(move || {
            let mut sel = Select::new();
            sel.send(&s);
            let op = sel.select();
            op.send(&s, 99)
        });
        thread::sleep(ms(50));
        drop(r);
        assert_eq!(t.join().unwrap(), Err(SendError(99)), "{flavor}");
    }
}

#[test]
fn many_operations() {
    const N: usize = 300;
    let chans: Vec<(Sender<usize>, Receiver<usize>)> = (0..N).map(|_| bounded(1)).collect();
    for target in [0, 1, 217, 255, 256, N - 1] {
        let mut sel = Select::new();
        for (i, (_, r)) in chans.iter().enumerate() {
            assert_eq!(sel.recv(r), i);
        }
        chans[target].0.send(target).unwrap();
        let op = sel.select_timeout(SLACK).unwrap();
        assert_eq!(op.index(), target);
        assert_eq!(op.recv(&chans[target].1), Ok(target));
    }
    // Many send operations, only one with room.
    for (i, (s, _)) in chans.iter().enumerate() {
        if i != 260 {
            s.send(0).unwrap();
        }
    }
    let mut sel = Select::new();
    for (s, _) in &chans {
        sel.send(s);
    }
    let op = sel.try_select().unwrap();
    assert_eq!(op.index(), 260);
    op.send(&chans[260].0, 1).unwrap();
}

#[test]
fn timer_channels_in_select() {
    let start = Instant::now();
    let a = after(ms(100));
    let n = never::<Instant>();
    let mut sel = Select::new();
    let ni = sel.recv(&n);
    let ai = sel.recv(&a);
    let op = sel.select();
    assert_eq!(op.index(), ai);
    assert_ne!(op.index(), ni);
    let when = op.recv(&a).unwrap();
    assert!(when >= start + ms(100));
    assert_elapsed(start, ms(100));
    // The after channel has delivered; only never remains, which times out.
    assert!(sel.select_timeout(ms(50)).is_err());

    let mut prev = Instant::now();
    let t = tick(ms(30));
    let mut sel = Select::new();
    sel.recv(&n);
    let ti = sel.recv(&t);
    for _ in 0..3 {
        let op = sel.select_timeout(SLACK).unwrap();
        assert_eq!(op.index(), ti);
        let got = op.recv(&t).unwrap();
        assert!(got >= prev + ms(30), "tick delivered too early");
        assert!(got <= Instant::now());
        prev = got;
    }
    assert_eq!(sel.ready_timeout(SLACK), Ok(ti));
}

#[test]
fn never_alone_times_out() {
    let n = never::<i32>();
    let mut sel = Select::new();
    sel.recv(&n);
    assert!(sel.try_select().is_err());
    let start = Instant::now();
    assert!(sel.select_timeout(ms(100)).is_err());
    assert_elapsed(start, ms(100));
}

#[test]
fn dropping_uncompleted_selected_operation_panics() {
    let (s, r) = unbounded();
    s.send(1).unwrap();
    let mut sel = Select::new();
    sel.recv(&r);
    let text = panic_payload(|| {
        let op = sel.select();
        drop(op);
    });
    assert_eq!(
        text,
        "dropped `SelectedOperation` without completing the operation"
    );
}

#[test]
fn biased_select_prefers_first_ready() {
    let (s1, r1) = unbounded();
    let (s2, r2) = unbounded();
    for i in 0..100 {
        s1.send(i).unwrap();
        s2.send(i).unwrap();
    }
    let mut sel = Select::new_biased();
    let i2 = sel.recv(&r2);
    let _i1 = sel.recv(&r1);
    for i in 0..100 {
        let op = sel.select();
        assert_eq!(op.index(), i2);
        assert_eq!(op.recv(&r2), Ok(i));
    }
    let op = sel.select();
    assert_eq!(op.recv(&r1), Ok(0));
}

#[test]
fn unbiased_select_is_fair() {
    const N: usize = 10_000;
    let (s1, r1) = unbounded();
    let (s2, r2) = unbounded();
    for _ in 0..N {
        s1.send(()).unwrap();
        s2.send(()).unwrap();
    }
    let mut sel = Select::new();
    let i1 = sel.recv(&r1);
    let i2 = sel.recv(&r2);
    let mut hits = [0usize; 2];
    for _ in 0..N {
        let op = sel.select();
        if op.index() == i1 {
            op.recv(&r1).unwrap();
            hits[0] += 1;
        } else {
            assert_eq!(op.index(), i2);
            op.recv(&r2).unwrap();
            hits[1] += 1;
        }
    }
    for h in hits {
        assert!(h > N * 4 / 10 && h < N * 6 / 10, "unfair: {hits:?}");
    }
}

#[test]
fn cloned_select_is_independent() {
    let (s, r) = unbounded();
    let (_s2, r2) = unbounded::<i32>();
    let mut sel = Select::new();
    sel.recv(&r);
    let mut sel2 = sel.clone();
    let extra = sel2.recv(&r2);
    assert_eq!(extra, 1);
    s.send(1).unwrap();
    s.send(2).unwrap();
    assert_eq!(sel.select().recv(&r), Ok(1));
    let op = sel2.select();
    assert_eq!(op.index(), 0);
    assert_eq!(op.recv(&r), Ok(2));
    let mut d = Select::default();
    assert!(d.try_select().is_err());
}

#[test]
fn selects_racing_across_threads_deliver_each_message_once() {
    let total: usize = if cfg!(miri) { 100 } else { 20_000 };
    let (s1, r1) = bounded::<usize>(0);
    let (s2, r2) = bounded::<usize>(3);
    let (s3, r3) = unbounded::<usize>();
    let producers: Vec<_> = (0..2)
        .map(|p| {
            let (s1, s2, s3) = (s1.clone(), s2.clone(), s3.clone());
            thread::spawn(move || {
                for i in (p..total).step_by(2) {
                    let mut sel = Select::new();
                    let a = sel.send(&s1);
                    let b = sel.send(&s2);
                    let op = sel.select();
                    if op.index() == a {
                        op.send(&s1, i).unwrap();
                    } else if op.index() == b {
                        op.send(&s2, i).unwrap();
                    } else {
                        unreachable!();
                    }
                    if i % 7 == 0 {
                        s3.send(usize::MAX - i).unwrap();
                    }
                }
            })
        })
        .collect();
    drop((s1, s2, s3));
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let (r1, r2, r3) = (r1.clone(), r2.clone(), r3.clone());
            thread::spawn(move || {
                let mut got = Vec::new();
                let mut open = [true; 3];
                while open.iter().any(|&o| o) {
                    let mut sel = Select::new();
                    let rs = [&r1, &r2, &r3];
                    let mut idx = [usize::MAX; 3];
                    for k in 0..3 {
                        if open[k] {
                            idx[k] = sel.recv(rs[k]);
                        }
                    }
                    let op = sel.select();
                    let k = idx.iter().position(|&i| i == op.index()).unwrap();
                    match op.recv(rs[k]) {
                        Ok(v) => got.push(v),
                        Err(RecvError) => open[k] = false,
                    }
                }
                got
            })
        })
        .collect();
    drop((r1, r2, r3));
    let seen = received_once(producers, consumers);
    let extra = (0..total).filter(|i| i % 7 == 0).count();
    assert_eq!(seen.len(), total + extra);
    assert!((0..total).all(|i| seen.contains(&i)));
}

#[test]
fn select_with_non_send_message_type() {
    let (s, r) = bounded::<std::rc::Rc<i32>>(1);
    let mut sel = Select::new();
    sel.send(&s);
    sel.select().send(&s, std::rc::Rc::new(3)).unwrap();
    let mut sel = Select::new();
    sel.recv(&r);
    assert_eq!(*sel.select().recv(&r).unwrap(), 3);
}

// ---------------------------------------------------------------------------
// Tests whose failure mode may abort the process (a panic while unwinding)
// run in a child process: the child is an ignored test that does nothing
// unless CHAN_SELECT_CHILD is set.

const CHILD_ENV: &str = "CHAN_SELECT_CHILD";

fn run_child(test: &str) -> (bool, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            test,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("running 1 test"),
        "child did not run {test}: {text}"
    );
    (out.status.success(), text)
}

fn in_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

#[test]
#[ignore = "child process of wrong_receiver_panics"]
fn child_wrong_receiver() {
    if !in_child() {
        return;
    }
    let (s, r) = unbounded();
    let (_s2, r2) = unbounded::<i32>();
    s.send(1).unwrap();
    let mut sel = Select::new();
    sel.recv(&r);
    let op = sel.select();
    let _ = op.recv(&r2);
}

#[test]
#[ignore = "child process of wrong_sender_panics"]
fn child_wrong_sender() {
    if !in_child() {
        return;
    }
    let (s, _r) = unbounded::<i32>();
    let (s2, _r2) = unbounded::<i32>();
    let mut sel = Select::new();
    sel.send(&s);
    let op = sel.select();
    let _ = op.send(&s2, 1);
}

#[test]
#[cfg_attr(miri, ignore = "miri cannot spawn processes")]
fn wrong_receiver_panics() {
    let (ok, text) = run_child("child_wrong_receiver");
    assert!(!ok, "passing a wrong receiver must panic: {text}");
    assert!(
        text.contains("passed a receiver that wasn't selected"),
        "{text}"
    );
}

#[test]
#[cfg_attr(miri, ignore = "miri cannot spawn processes")]
fn wrong_sender_panics() {
    let (ok, text) = run_child("child_wrong_sender");
    assert!(!ok, "passing a wrong sender must panic: {text}");
    assert!(
        text.contains("passed a sender that wasn't selected"),
        "{text}"
    );
}

/// A selected operation's channel and direction are one word in chan
/// (`OperationId`): completing the other direction of the very channel
/// that was selected must still be refused, and the reservation given back.
#[test]
fn completing_the_other_direction_of_the_selected_channel_panics() {
    let (s, r) = bounded::<i32>(1);
    let mut sel = Select::new();
    sel.send(&s);
    sel.recv(&r);
    // Empty: only the send is ready. Completing it as a receive is refused.
    let oper = sel.select();
    assert_eq!(
        panic_payload(|| oper.recv(&r)),
        "passed a receiver that wasn't selected"
    );
    // The send's slot was given back: the channel is empty and has room.
    assert!(r.is_empty());
    s.try_send(1).unwrap();

    // Full: only the receive is ready. Completing it as a send is refused.
    let oper = sel.select();
    assert_eq!(
        panic_payload(|| oper.send(&s, 2)),
        "passed a sender that wasn't selected"
    );
    // The cancelled receive took its message and dropped it.
    assert!(r.is_empty());
}

#[test]
#[ignore = "child process of chan_only_completing_with_a_clone_is_accepted"]
fn child_complete_with_clone() {
    if !in_child() {
        return;
    }
    let (s, r) = bounded(1);
    s.send(1).unwrap();
    let mut sel = Select::new();
    sel.recv(&r);
    let op = sel.select();
    let r_clone = r.clone();
    assert_eq!(op.recv(&r_clone), Ok(1));

    let mut sel = Select::new();
    sel.send(&s);
    let op = sel.select();
    let s_clone = s.clone();
    op.send(&s_clone, 2).unwrap();
    assert_eq!(r.try_recv(), Ok(2));
}

/// CHAN ONLY: crossbeam-channel 0.5.17 compares reference addresses and
/// panics here; chan follows crossbeam's master branch, which accepts any
/// handle of the selected channel. This test fails against crossbeam 0.5.17.
#[test]
#[cfg_attr(miri, ignore = "miri cannot spawn processes")]
fn chan_only_completing_with_a_clone_is_accepted() {
    let (ok, text) = run_child("child_complete_with_clone");
    assert!(
        ok,
        "completing with a clone of the selected handle failed: {text}"
    );
}

/// CHAN ONLY: crossbeam-channel 0.5.17 leaves the slot reserved when a
/// `SelectedOperation` is dropped, so the channel stops working. chan still
/// panics, but releases the reservation: the reserved message is dropped
/// exactly once, a reserved send sends nothing, and the channel keeps
/// working.
#[test]
fn chan_only_abandoned_selected_operation_releases_reservation() {
    for cap in [Some(1usize), Some(3), None] {
        within(Duration::from_secs(10), "abandoned operation", move || {
            abandon_and_reuse(cap)
        });
    }
}

fn abandon_and_reuse(cap: Option<usize>) {
    {
        let t = DropTracker::new();
        let (s, r) = channel(cap);
        s.send(t.make(0)).unwrap();
        // Abandon a receive reservation.
        let text = panic_payload(|| {
            let mut sel = Select::new();
            sel.recv(&r);
            let op = sel.select();
            drop(op);
        });
        assert_eq!(
            text,
            "dropped `SelectedOperation` without completing the operation"
        );
        // Message 0 was taken by the abandoned receive and dropped.
        assert_eq!(t.dropped(), 1, "cap {cap:?}");
        let mut ids: Vec<usize> = r.try_iter().map(|m| m.id).collect();
        assert!(ids.is_empty(), "cap {cap:?}: {ids:?}");
        // The channel still works in both directions.
        s.send_timeout(t.make(1), SLACK)
            .expect("send after abandoned op");
        ids = vec![r.recv_timeout(SLACK).expect("recv after abandoned op").id];
        assert_eq!(ids, [1]);

        // Abandon a send reservation.
        let res = catch_unwind(AssertUnwindSafe(|| {
            let mut sel = Select::new();
            sel.send(&s);
            let op = sel.select();
            drop(op);
        }));
        assert!(res.is_err());
        s.send_timeout(t.make(2), SLACK)
            .expect("send after abandoned op");
        assert_eq!(r.recv_timeout(SLACK).map(|m| m.id).ok(), Some(2));
        assert!(r.try_recv().is_err());
        drop((s, r));
        assert_eq!(t.alive(), 0, "cap {cap:?}");
        t.assert_all_dropped_once(format_args!("cap {cap:?}"));
    }
}

/// CHAN ONLY: on a rendezvous channel, an abandoned receive either hands
/// the blocked sender's message back to it (the sender keeps waiting and a
/// later receive gets the message) or, if the sender had already handed the
/// message over, drops it; either way it is dropped exactly once and the
/// channel keeps working.
#[test]
fn chan_only_abandoned_zero_capacity_receive_keeps_channel_usable() {
    within(Duration::from_secs(10), "abandoned zero receive", || {
        let t = DropTracker::new();
        let (s, r) = bounded(0);
        let sender = {
            let message = t.make(7);
            thread::spawn(move || s.send(message).is_ok())
        };
        let res = catch_unwind(AssertUnwindSafe(|| {
            let mut sel = Select::new();
            sel.recv(&r);
            drop(sel.select());
        }));
        assert!(res.is_err());
        // Either the sender still waits with its message, or the abandoned
        // receive took it and dropped it.
        let received = r.recv_timeout(ms(200)).map(|m| m.id).ok();
        let sent = sender.join().unwrap();
        match received {
            Some(id) => assert_eq!(id, 7),
            None => assert!(sent && t.dropped() == 1),
        }
        drop(r);
        assert_eq!(t.alive(), 0);
        t.assert_all_dropped_once("bounded(0)");
    });
}
