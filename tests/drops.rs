//! Every message is dropped exactly once: no leaks, no double drops, also on
//! disconnection, failed sends and concurrent teardown. Large messages do not
//! overflow the stack.

mod common;

use chan::{bounded, unbounded, Receiver, SendTimeoutError, Sender, TrySendError};
use common::{channel, ms, DropTracker, Flavor, Tracked};
use std::thread;
use std::time::Duration;

/// The flavors of the tests that fill a channel: no rendezvous channel, two
/// array capacities.
const FLAVORS: [Flavor; 4] = [
    Flavor::Bounded(1),
    Flavor::Bounded(7),
    Flavor::Bounded(100),
    Flavor::Unbounded,
];

#[test]
fn queued_messages_dropped_with_channel() {
    for flavor in FLAVORS {
        let (s, r) = flavor.make::<Tracked>();
        let t = DropTracker::new();
        let cap = s.capacity().unwrap_or(500);
        for i in 0..cap {
            s.send(t.make(i)).unwrap();
        }
        assert_eq!(t.alive(), cap, "{flavor}");
        // Receive a few, leaving the rest queued (full for bounded).
        for _ in 0..cap / 2 {
            drop(r.recv().unwrap());
        }
        assert_eq!(t.alive(), cap - cap / 2, "{flavor}");
        drop(s);
        drop(r);
        assert_eq!(t.alive(), 0, "{flavor}: leaked messages");
        t.assert_all_dropped_once(flavor);
    }
}

#[test]
fn dropped_full_with_receiver_first() {
    for flavor in FLAVORS {
        let (s, r) = flavor.make::<Tracked>();
        let t = DropTracker::new();
        let cap = s.capacity().unwrap_or(100);
        for i in 0..cap {
            s.try_send(t.make(i)).unwrap();
        }
        let r2 = r.clone();
        drop(r);
        drop(r2);
        // Sending now fails and hands the message back.
        match s.try_send(t.make(cap)) {
            Err(TrySendError::Disconnected(m)) => assert_eq!(m.id, cap),
            other => panic!("{flavor}: unexpected {other:?}"),
        }
        drop(s);
        assert_eq!(t.alive(), 0, "{flavor}");
        t.assert_all_dropped_once(flavor);
    }
}

#[test]
fn unbounded_drops_queued_messages_when_last_receiver_goes() {
    let t = DropTracker::new();
    let (s, r) = unbounded();
    for i in 0..100 {
        s.send(t.make(i)).unwrap();
    }
    drop(r);
    assert_eq!(
        t.alive(),
        0,
        "queued messages kept after last receiver dropped"
    );
    drop(s);
    t.assert_all_dropped_once("unbounded");
}

#[test]
fn list_partially_consumed_across_blocks() {
    // More than one list block (255 messages each) under miri too; the
    // consumed counts stop at, before and after a block's end.
    const N: usize = if cfg!(miri) { 300 } else { 1000 };
    let counts: &[usize] = if cfg!(miri) {
        &[0, 254, 255, 256, N]
    } else {
        &[0, 1, 254, 255, 256, N / 2, N - 1, N]
    };
    for &consumed in counts {
        let t = DropTracker::new();
        let (s, r) = unbounded();
        for i in 0..N {
            s.send(t.make(i)).unwrap();
        }
        for i in 0..consumed {
            assert_eq!(r.recv().unwrap().id, i);
        }
        assert_eq!(t.alive(), N - consumed);
        drop((s, r));
        assert_eq!(t.alive(), 0, "consumed {consumed}");
        t.assert_all_dropped_once(format_args!("consumed {consumed}"));
    }
}

#[test]
fn failed_sends_return_the_message() {
    let t = DropTracker::new();
    let (s, r) = bounded(1);
    s.send(t.make(0)).unwrap();
    let m = s.try_send(t.make(1)).unwrap_err().into_inner();
    assert_eq!(m.id, 1);
    match s.send_timeout(t.make(2), ms(10)) {
        Err(SendTimeoutError::Timeout(m)) => assert_eq!(m.id, 2),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        t.alive(),
        2,
        "only the queued and the returned message live"
    );
    drop(m);
    drop(r);
    let e = s.send(t.make(3)).unwrap_err();
    assert_eq!(e.0.id, 3);
    drop(e);
    drop(s);
    assert_eq!(t.alive(), 0);
    t.assert_all_dropped_once("bounded(1)");
}

#[test]
fn zero_try_send_failure_returns_message() {
    let t = DropTracker::new();
    let (s, r) = bounded(0);
    let m = s.try_send(t.make(0)).unwrap_err().into_inner();
    assert_eq!(m.id, 0);
    drop(r);
    let m2 = s.send(t.make(1)).unwrap_err().into_inner();
    assert_eq!(m2.id, 1);
    assert_eq!(t.alive(), 2);
    drop((m, m2, s));
    t.assert_all_dropped_once("bounded(0)");
}

#[test]
fn blocked_senders_get_messages_back_on_disconnect() {
    for cap in [0usize, 1, 3] {
        let t = DropTracker::new();
        let (s, r) = bounded(cap);
        for i in 0..cap {
            s.send(t.make(i)).unwrap();
        }
        let handles: Vec<_> = (0..4)
            .map(|k| {
                let s = s.clone();
                let m = t.make(100 + k);
                thread::spawn(move || match s.send(m) {
                    Err(e) => e.into_inner().id,
                    Ok(()) => panic!("send on a full channel succeeded"),
                })
            })
            .collect();
        thread::sleep(ms(50));
        drop(r);
        let mut ids: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        ids.sort();
        assert_eq!(ids, vec![100, 101, 102, 103], "cap {cap}");
        drop(s);
        assert_eq!(t.alive(), 0, "cap {cap}");
        t.assert_all_dropped_once(format_args!("cap {cap}"));
    }
}

#[test]
fn zero_blocked_sender_timeout_returns_message() {
    let t = DropTracker::new();
    let (s, _r) = bounded(0);
    match s.send_timeout(t.make(5), ms(20)) {
        Err(SendTimeoutError::Timeout(m)) => assert_eq!(m.id, 5),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(t.alive(), 0);
    t.assert_all_dropped_once("bounded(0)");
}

#[test]
fn concurrent_teardown_with_messages_in_flight() {
    const ROUNDS: usize = if cfg!(miri) { 5 } else { 200 };
    for round in 0..ROUNDS {
        let t = DropTracker::new();
        let (s, r) = match round % 3 {
            0 => bounded(0),
            1 => bounded(4),
            _ => unbounded(),
        };
        let mut threads = Vec::new();
        for k in 0..2 {
            let s = s.clone();
            let t = t.clone();
            threads.push(thread::spawn(move || {
                for i in 0..20 {
                    if s.send_timeout(t.make(k * 100 + i), ms(5)).is_err() {
                        break;
                    }
                }
            }));
        }
        for _ in 0..2 {
            let r = r.clone();
            threads.push(thread::spawn(move || {
                for _ in 0..5 {
                    if r.recv_timeout(ms(5)).is_err() {
                        break;
                    }
                }
            }));
        }
        drop(s);
        drop(r);
        for h in threads {
            h.join().unwrap();
        }
        assert_eq!(t.alive(), 0, "round {round}");
        t.assert_all_dropped_once(format_args!("round {round}"));
    }
}

#[test]
fn messages_dropped_through_iterators() {
    // Under miri, still past the largest capacity (100) and a list block.
    const N: usize = if cfg!(miri) { 120 } else { 300 };
    for flavor in FLAVORS {
        let (s, r) = flavor.make::<Tracked>();
        let t = DropTracker::new();
        let t2 = t.clone();
        let h = thread::spawn(move || {
            for i in 0..N {
                s.send(t2.make(i)).unwrap();
            }
        });
        let ids: Vec<usize> = r.iter().map(|m| m.id).collect();
        h.join().unwrap();
        assert_eq!(ids, (0..N).collect::<Vec<_>>(), "{flavor}");
        assert_eq!(t.alive(), 0, "{flavor}");
        t.assert_all_dropped_once(flavor);
    }
}

const BIG: usize = 1 << 20;

/// Stack small enough that building a list block of 31 one-MiB messages on it
/// would overflow, but large enough for the copies of one message that a
/// debug build's frames hold on the way through a receive (about twenty: an
/// unoptimised build keeps every temporary).
const STACK: usize = 24 << 20;

/// Debug builds keep a copy of the message in several nested frames on the
/// blocking paths of bounded channels, so those get more room.
const BIG_STACK: usize = 64 << 20;

fn on_stack<F: FnOnce() + Send + 'static>(size: usize, f: F) {
    thread::Builder::new()
        .stack_size(size)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

fn pass_three_big(s: Sender<[u8; BIG]>, r: Receiver<[u8; BIG]>, stack: usize) {
    let h = thread::Builder::new()
        .stack_size(stack)
        .spawn(move || {
            for i in 0..3u8 {
                s.send([i; BIG]).unwrap();
            }
        })
        .unwrap();
    for i in 0..3u8 {
        let m = r.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(m[0] == i && m[BIG - 1] == i);
    }
    h.join().unwrap();
}

#[test]
fn large_unboxed_messages_unbounded() {
    on_stack(STACK, || {
        let (s, r) = unbounded::<[u8; BIG]>();
        pass_three_big(s, r, STACK);
    });
}

#[test]
fn large_unboxed_messages_bounded() {
    for cap in [0usize, 1, 2] {
        on_stack(BIG_STACK, move || {
            let (s, r) = bounded::<[u8; BIG]>(cap);
            pass_three_big(s, r, BIG_STACK);
        });
    }
}

#[test]
fn large_boxed_messages() {
    for cap in [Some(0usize), Some(1), None] {
        on_stack(STACK, move || {
            let (s, r) = channel::<Box<[u8; BIG]>>(cap);
            let h = thread::spawn(move || {
                for i in 0..4u8 {
                    let b: Box<[u8; BIG]> = vec![i; BIG].into_boxed_slice().try_into().unwrap();
                    s.send(b).unwrap();
                }
            });
            for i in 0..4u8 {
                let m = r.recv().unwrap();
                assert!(m[0] == i && m[BIG - 1] == i);
            }
            h.join().unwrap();
        });
    }
}

#[test]
fn large_messages_dropped_in_channel() {
    on_stack(256 << 20, || {
        let (s, r) = unbounded::<[u8; BIG]>();
        s.send([1; BIG]).unwrap();
        s.send([2; BIG]).unwrap();
        drop(r);
        drop(s);
    });
}

#[test]
fn messages_through_select_dropped_once() {
    let t = DropTracker::new();
    for cap in [0usize, 1, 4] {
        let (s, r) = bounded::<Tracked>(cap);
        let r2 = r.clone();
        let h = thread::spawn(move || r2.recv().unwrap().id);
        let mut sel = chan::Select::new();
        sel.send(&s);
        let op = sel.select_timeout(Duration::from_secs(10)).unwrap();
        op.send(&s, t.make(cap)).unwrap();
        assert_eq!(h.join().unwrap(), cap);

        // A receive through `Select` hands over ownership exactly once.
        let h = {
            let s = s.clone();
            let m = t.make(100 + cap);
            thread::spawn(move || s.send(m).unwrap())
        };
        let mut sel = chan::Select::new();
        sel.recv(&r);
        let op = sel.select_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(op.recv(&r).unwrap().id, 100 + cap);
        h.join().unwrap();
    }
    // A losing `select!` send arm never creates its message.
    let (s, _r) = bounded::<Tracked>(0);
    let before = t.created();
    let v = chan::select! {
        send(s, t.make(999)) -> _ => 1,
        default(ms(10)) => 2,
    };
    assert_eq!(v, 2);
    assert_eq!(t.created(), before);
    assert_eq!(t.alive(), 0);
    t.assert_all_dropped_once("select");
}
