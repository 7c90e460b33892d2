//! Weak handles (`Sender::downgrade`, `Receiver::downgrade`, `upgrade`)
//! and the handle counts, tested against their promises on every flavor
//! (`bounded(0)`, `bounded(1)`, `bounded(4)`, `unbounded`, and the timer
//! channels and `never` for receivers):
//!
//! - A weak handle does not keep its side connected: the channel
//!   disconnects when the last strong handle of a side goes, whatever weak
//!   handles remain, and buffered messages are dropped then (once), not
//!   when the last weak handle goes.
//! - `upgrade` gives a real handle (it keeps the side connected) while a
//!   strong handle of that side exists; once it returned `None` it never
//!   returns `Some` again, also when upgrades race the last drop.
//! - A weak handle keeps the channel's memory valid, and the last handle
//!   of any kind frees it: nothing leaks (a counting allocator checks).
//! - The counts of strong and weak handles on every handle.
//!
//! Leaks are measured with a counting global allocator: each thread counts
//! the blocks it allocated minus those it freed, and the leak checks run on
//! one thread only.

mod common;

use chan::{after, at, bounded, never, tick, unbounded, Receiver, Sender};
use chan::{RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, WeakReceiver};
use chan::{TrySendError, WeakSender};
use common::{
    assert_recvs_disconnected, assert_sends_disconnected, flavors, live_blocks, ms, within,
    CountingAlloc, DropTracker, Flavor, Tracked,
};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Every flavor of a channel that carries messages.
const ALL: [Flavor; 4] = flavors(4);

/// The flavors with a buffer.
const QUEUES: [Flavor; 3] = [Flavor::Bounded(1), Flavor::Bounded(4), Flavor::Unbounded];

/// A wait that must end by a wake-up; reaching it fails the test.
const LONG: Duration = Duration::from_secs(30);

/// Hang detector for a whole test.
const HANG: Duration = Duration::from_secs(120);

/// Rounds of each race.
const ROUNDS: usize = if cfg!(miri) { 2 } else { 60 };

/// The number of messages that fit in a channel of `flavor` (at most `max`).
fn room(flavor: Flavor, max: usize) -> usize {
    flavor.cap().map_or(max, |cap| cap.min(max))
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// The four handle counts as seen from a sender.
fn sender_counts<T>(s: &Sender<T>) -> [usize; 4] {
    [
        s.sender_count(),
        s.receiver_count(),
        s.weak_sender_count(),
        s.weak_receiver_count(),
    ]
}

/// The four handle counts as seen from a receiver.
fn receiver_counts<T>(r: &Receiver<T>) -> [usize; 4] {
    [
        r.sender_count(),
        r.receiver_count(),
        r.weak_sender_count(),
        r.weak_receiver_count(),
    ]
}

// ---------------------------------------------------------------------------
// Downgrade and upgrade
// ---------------------------------------------------------------------------

/// A weak handle upgrades, while its side has a strong handle, to a real
/// handle of the same channel: messages go through it both ways, clones of
/// the weak handle upgrade too, and an upgraded handle can be downgraded
/// again.
#[test]
fn upgrade_gives_a_handle_of_the_same_channel() {
    for flavor in ALL {
        let (s, r) = flavor.make::<i32>();
        let ws = s.downgrade();
        let wr = r.downgrade();
        let s2 = ws.upgrade().expect("a sender is alive");
        let r2 = wr.clone().upgrade().expect("a receiver is alive");
        assert!(s2.same_channel(&s), "{flavor}");
        assert!(r2.same_channel(&r), "{flavor}");
        assert!(ws.clone().upgrade().unwrap().same_channel(&s), "{flavor}");
        assert!(
            s2.downgrade().upgrade().unwrap().same_channel(&s),
            "{flavor}"
        );

        // Messages go from the upgraded sender to the upgraded receiver.
        if flavor == Flavor::Bounded(0) {
            let t = thread::spawn(move || r2.recv());
            s2.send(5).unwrap();
            assert_eq!(t.join().unwrap(), Ok(5));
        } else {
            s2.send(5).unwrap();
            assert_eq!(r2.try_recv(), Ok(5), "{flavor}");
            assert_eq!(r.try_recv(), Err(TryRecvError::Empty), "{flavor}");
        }
        // The originals still work after the upgraded handles went.
        drop(s2);
        if flavor != Flavor::Bounded(0) {
            s.send(6).unwrap();
            assert_eq!(wr.upgrade().unwrap().try_recv(), Ok(6), "{flavor}");
        }
        assert!(!r.is_closed() && !s.is_closed(), "{flavor}");
    }
}

/// Once the last sender is gone the channel is disconnected, although weak
/// senders remain: receivers get the messages sent before, then
/// `Disconnected`; `upgrade` fails from then on, for every weak sender and
/// clone, forever.
#[test]
fn weak_senders_do_not_keep_the_channel_connected() {
    for flavor in ALL {
        let (s, r) = flavor.make::<i32>();
        let ws = s.downgrade();
        let n = room(flavor, 3) as i32;
        for i in 0..n {
            s.send(i).unwrap();
        }
        let s2 = ws.upgrade().unwrap();
        drop(s);
        // The upgraded sender is a real one: the channel is connected.
        assert!(!r.is_closed(), "{flavor}: upgraded sender ignored");
        assert!(ws.upgrade().is_some(), "{flavor}");
        drop(s2);
        assert!(r.is_closed(), "{flavor}: weak sender kept it connected");
        assert_eq!(ws.sender_count(), 0, "{flavor}");
        assert!(ws.upgrade().is_none(), "{flavor}: upgraded a dead side");
        assert!(ws.clone().upgrade().is_none(), "{flavor}: clone upgraded");
        for i in 0..n {
            assert_eq!(r.recv(), Ok(i), "{flavor}");
        }
        assert_recvs_disconnected(&r);
        assert!(ws.upgrade().is_none(), "{flavor}: upgraded later");
    }
}

/// Once the last receiver is gone the channel is disconnected, although
/// weak receivers remain: sends fail and hand their messages back;
/// `upgrade` fails from then on.
#[test]
fn weak_receivers_do_not_keep_the_channel_connected() {
    for flavor in ALL {
        let (s, r) = flavor.make::<i32>();
        let wr = r.downgrade();
        let wr2 = wr.clone();
        drop(r);
        assert!(s.is_closed(), "{flavor}: weak receiver kept it connected");
        assert_sends_disconnected(&s);
        assert_eq!(wr.receiver_count(), 0, "{flavor}");
        assert!(wr.upgrade().is_none(), "{flavor}");
        assert!(wr2.upgrade().is_none(), "{flavor}");
        assert!(!s.close(), "{flavor}: already disconnected");
    }
}

/// A thread blocked in `recv` wakes when the last sender is dropped, with
/// a weak sender still alive; a thread blocked in `send` wakes with its
/// message when the last receiver is dropped, with a weak receiver alive.
#[test]
fn last_strong_drop_wakes_blocked_threads_despite_weak_handles() {
    within(HANG, "wake with weak handles alive", || {
        for flavor in ALL {
            let (s, r) = flavor.make::<i32>();
            let _ws = s.downgrade();
            let t = thread::spawn(move || r.recv_timeout(LONG));
            thread::sleep(ms(30));
            drop(s);
            assert_eq!(
                t.join().unwrap(),
                Err(RecvTimeoutError::Disconnected),
                "{flavor}"
            );
        }
        for flavor in [Flavor::Bounded(0), Flavor::Bounded(1), Flavor::Bounded(4)] {
            let (s, r) = flavor.make::<i32>();
            for i in 0..flavor.cap().unwrap() as i32 {
                s.send(i).unwrap();
            }
            let _wr = r.downgrade();
            let t = thread::spawn(move || s.send_timeout(99, LONG));
            thread::sleep(ms(30));
            drop(r);
            assert_eq!(
                t.join().unwrap(),
                Err(SendTimeoutError::Disconnected(99)),
                "{flavor}"
            );
        }
    });
}

/// `close` does not kill the weak handles: they still upgrade while their
/// side has strong handles, to handles of the closed channel.
#[test]
fn weak_handles_of_a_closed_channel_upgrade_to_closed_handles() {
    for flavor in ALL {
        let (s, r) = flavor.make::<i32>();
        let n = room(flavor, 2) as i32;
        for i in 0..n {
            s.send(i).unwrap();
        }
        let (ws, wr) = (s.downgrade(), r.downgrade());
        assert!(s.close(), "{flavor}");
        let s2 = ws.upgrade().expect("senders are alive");
        let r2 = wr.upgrade().expect("receivers are alive");
        assert!(s2.is_closed() && r2.is_closed(), "{flavor}");
        assert_eq!(s2.send(9), Err(SendError(9)), "{flavor}");
        for i in 0..n {
            assert_eq!(r2.recv(), Ok(i), "{flavor}");
        }
        assert_recvs_disconnected(&r2);
    }
}

/// Timer receivers: a weak one upgrades to a receiver of the same timer
/// while a strong one lives, and fails once every strong one is gone. A
/// weak `never` receiver always upgrades.
#[test]
#[cfg_attr(miri, ignore)]
fn weak_timer_and_never_receivers() {
    let timers = [
        ("after", after(ms(1))),
        ("at", at(Instant::now())),
        ("tick", tick(ms(1))),
    ];
    for (name, r) in timers {
        let w = r.downgrade();
        let w2 = w.clone();
        assert_eq!(w.receiver_count(), 1, "{name}");
        let r2 = w.upgrade().expect("the timer is alive");
        assert!(r2.same_channel(&r), "{name}");
        assert_eq!(r.receiver_count(), 2, "{name}");
        assert!(r2.recv_timeout(LONG).is_ok(), "{name}: upgraded receiver");
        drop(r2);
        drop(r);
        assert!(w.upgrade().is_none(), "{name}: upgraded a dropped timer");
        assert!(w2.upgrade().is_none(), "{name}: clone upgraded");
        assert_eq!(w.receiver_count(), 0, "{name}");
        assert_eq!(format!("{w:?}"), "WeakReceiver { .. }");
    }
    // `after` fires once for all its handles: the upgraded one shares it.
    let r = after(ms(0));
    let w = r.downgrade();
    assert!(w.upgrade().unwrap().recv_timeout(LONG).is_ok());
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty), "after fired twice");

    let r = never::<i32>();
    let w = r.downgrade();
    drop(r);
    let r = w.upgrade().expect("never always upgrades");
    assert!(r.same_channel(&never()));
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(w.receiver_count(), 1);
    assert!(w.clone().upgrade().is_some());
}

// ---------------------------------------------------------------------------
// Drops and memory
// ---------------------------------------------------------------------------

/// The messages still inside are dropped, exactly once, when the last
/// receiver goes, although weak receivers remain (and the senders are still
/// alive); not again when the weak handles go. Likewise after a close.
#[test]
fn buffered_messages_are_dropped_with_the_last_receiver_not_the_last_weak() {
    for flavor in QUEUES {
        for close_first in [false, true] {
            let what = format!("{flavor}, closed first: {close_first}");
            let tracker = DropTracker::new();
            let (s, r) = flavor.make::<Tracked>();
            let n = room(flavor, 600);
            for i in 0..n {
                s.send(tracker.make(i)).unwrap();
            }
            let wr = r.downgrade();
            let ws = s.downgrade();
            if close_first {
                assert!(r.close(), "{what}");
            }
            drop(r);
            assert_eq!(tracker.alive(), 0, "{what}: kept for a weak receiver");
            assert!(wr.upgrade().is_none(), "{what}");
            match s.try_send(tracker.make(n)) {
                Err(TrySendError::Disconnected(m)) => assert_eq!(m.id, n, "{what}"),
                other => panic!("{what}: {other:?}"),
            }
            drop(s);
            assert!(ws.upgrade().is_none(), "{what}");
            drop(wr);
            drop(ws);
            tracker.assert_all_dropped_once(&what);
        }
    }
}

/// When the senders go first, the messages stay for the receivers (weak
/// senders do not matter); a weak receiver alone does not keep them, and
/// the last handle of any kind frees the channel.
#[test]
fn messages_outlive_the_senders_but_not_the_receivers() {
    for flavor in QUEUES {
        let tracker = DropTracker::new();
        let (s, r) = flavor.make::<Tracked>();
        let n = room(flavor, 300);
        for i in 0..n {
            s.send(tracker.make(i)).unwrap();
        }
        let ws = s.downgrade();
        let wr = r.downgrade();
        drop(s);
        assert_eq!(tracker.alive(), n, "{flavor}: dropped with the senders");
        assert_eq!(r.recv().map(|m| m.id), Ok(0), "{flavor}");
        let r2 = wr.upgrade().unwrap();
        drop(r);
        if n > 1 {
            assert_eq!(
                r2.recv().map(|m| m.id),
                Ok(1),
                "{flavor}: upgraded receiver"
            );
        }
        drop(r2);
        assert_eq!(tracker.alive(), 0, "{flavor}");
        drop(ws);
        drop(wr);
        tracker.assert_all_dropped_once(flavor);
    }
}

/// Runs `f` on the current thread and checks it freed every block it
/// allocated.
fn assert_no_leak(what: &str, f: impl FnOnce()) {
    let before = live_blocks();
    f();
    let after = live_blocks();
    assert_eq!(after - before, 0, "{what}: memory blocks leaked");
}

/// Which handle of a channel is the last to go.
#[derive(Clone, Copy, Debug)]
enum Last {
    Sender,
    Receiver,
    WeakSender,
    WeakReceiver,
}

/// A channel with messages inside, strong and weak handles of both sides,
/// dropped in an order whose last handle is `last`: the weak handles work
/// (upgrade fails, counts read) after every strong handle is gone, the
/// messages are dropped exactly once, and the channel's memory is freed
/// (nothing leaks, whatever goes last).
fn drop_with_last(flavor: Flavor, last: Last, tracker: &DropTracker) {
    let (s, r) = flavor.make::<Tracked>();
    for i in 0..room(flavor, 300) {
        s.try_send(tracker.make(i)).unwrap();
    }
    let (ws, wr) = (s.downgrade(), r.downgrade());
    let (ws2, wr2) = (ws.clone(), wr.clone());
    match last {
        Last::Sender => {
            drop((ws, wr, ws2, wr2, r));
            assert!(s.is_closed());
            drop(s);
        }
        Last::Receiver => {
            drop((ws, wr, ws2, wr2, s));
            assert!(r.try_recv().is_ok() || flavor == Flavor::Bounded(0));
            drop(r);
        }
        Last::WeakSender => {
            drop((s, r, wr, wr2, ws2));
            // The memory is still there: the weak handle reads the counts.
            assert_eq!(ws.sender_count(), 0);
            assert!(ws.upgrade().is_none());
            assert!(ws.clone().upgrade().is_none());
            drop(ws);
        }
        Last::WeakReceiver => {
            drop((s, r, ws, ws2, wr2));
            assert_eq!(wr.receiver_count(), 0);
            assert!(wr.upgrade().is_none());
            drop(wr);
        }
    }
}

/// Whatever handle goes last (strong or weak, either side), the channel's
/// memory is freed and every message dropped once: nothing leaks, and weak
/// handles that outlive every strong one are still safe to use.
#[test]
fn the_last_handle_of_any_kind_frees_the_channel() {
    // Warm up whatever the first use allocates once per thread or process.
    drop_with_last(Flavor::Unbounded, Last::WeakSender, &DropTracker::new());
    for flavor in ALL {
        for last in [
            Last::Sender,
            Last::Receiver,
            Last::WeakSender,
            Last::WeakReceiver,
        ] {
            let what = format!("{flavor}, last {last:?}");
            let tracker = DropTracker::new();
            // The tracker's table grows (a reallocation keeps the count).
            tracker.make(room(flavor, 300));
            assert_no_leak(&what, || drop_with_last(flavor, last, &tracker));
            tracker.assert_all_dropped_once(&what);
        }
    }
}

// ---------------------------------------------------------------------------
// Races
// ---------------------------------------------------------------------------

/// Threads upgrade a weak sender and send through the upgraded sender,
/// again and again, while the last original sender is dropped: every
/// upgraded sender is real (its send succeeds: the channel cannot be
/// disconnected while it lives), no upgrade succeeds after one failed (in
/// the same thread) or after the receiver saw the disconnection, and the
/// receiver gets every message sent, exactly once.
#[test]
fn upgrading_senders_racing_the_last_drop() {
    const UPGRADERS: usize = 3;
    const TRIES: usize = if cfg!(miri) { 5 } else { 200 };
    within(HANG, "upgrades racing the last sender", || {
        for flavor in ALL {
            for round in 0..ROUNDS {
                let what = format!("{flavor}, round {round}");
                let (s, r) = flavor.make::<(usize, usize)>();
                let weak = s.downgrade();
                let gone = Arc::new(AtomicBool::new(false));
                let start = Arc::new(Barrier::new(UPGRADERS + 1));
                let consumer = {
                    let gone = gone.clone();
                    thread::spawn(move || {
                        let mut got = Vec::new();
                        while let Ok(msg) = r.recv() {
                            got.push(msg);
                        }
                        gone.store(true, Ordering::SeqCst);
                        got
                    })
                };
                let upgraders: Vec<_> = (0..UPGRADERS)
                    .map(|u| {
                        let (weak, gone, start) = (weak.clone(), gone.clone(), start.clone());
                        let what = what.clone();
                        thread::spawn(move || {
                            start.wait();
                            let mut sent = 0;
                            let mut failed = false;
                            for i in 0..TRIES {
                                let was_gone = gone.load(Ordering::SeqCst);
                                match weak.upgrade() {
                                    Some(s) => {
                                        assert!(!failed, "{what}: upgraded after a failure");
                                        assert!(!was_gone, "{what}: upgraded after disconnection");
                                        assert!(!s.is_closed(), "{what}: closed while upgraded");
                                        s.send((u, i)).unwrap_or_else(|e| {
                                            panic!("{what}: upgraded sender failed: {e:?}")
                                        });
                                        sent += 1;
                                    }
                                    None => failed = true,
                                }
                                if i % 4 == u {
                                    thread::yield_now();
                                }
                            }
                            sent
                        })
                    })
                    .collect();
                start.wait();
                for _ in 0..round % 10 {
                    thread::yield_now();
                }
                drop(s);
                let sent: Vec<usize> = upgraders.into_iter().map(|t| t.join().unwrap()).collect();
                let got = consumer.join().unwrap();
                assert!(gone.load(Ordering::SeqCst), "{what}");
                assert!(weak.upgrade().is_none(), "{what}: upgraded at the end");
                assert_eq!(weak.sender_count(), 0, "{what}");
                for (u, &n) in sent.iter().enumerate() {
                    let mine: Vec<usize> = got.iter().filter(|m| m.0 == u).map(|m| m.1).collect();
                    assert_eq!(mine.len(), n, "{what}: upgrader {u} sent {n}");
                    assert!(mine.windows(2).all(|w| w[0] < w[1]), "{what}: order");
                }
            }
        }
    });
}

/// Threads upgrade a weak receiver and receive through it while the last
/// original receiver is dropped and a producer sends: no upgrade succeeds
/// after one failed or after a send saw the disconnection, no send fails
/// while an upgraded receiver lives, and every
/// message is received, handed back to the producer, or dropped with the
/// channel, exactly once.
#[test]
fn upgrading_receivers_racing_the_last_drop() {
    const UPGRADERS: usize = 3;
    const TRIES: usize = if cfg!(miri) { 5 } else { 100 };
    const MESSAGES: usize = if cfg!(miri) { 10 } else { 300 };
    within(HANG, "upgrades racing the last receiver", || {
        for flavor in ALL {
            for round in 0..ROUNDS {
                let what = format!("{flavor}, round {round}");
                let tracker = DropTracker::new();
                let (s, r) = flavor.make::<Tracked>();
                let weak = r.downgrade();
                let gone = Arc::new(AtomicBool::new(false));
                let done = Arc::new(AtomicBool::new(false));
                let start = Arc::new(Barrier::new(UPGRADERS + 2));
                let producer = {
                    let (gone, start, tracker) = (gone.clone(), start.clone(), tracker.clone());
                    let (done, what) = (done.clone(), what.clone());
                    thread::spawn(move || {
                        start.wait();
                        let (mut ok, mut back) = (0, 0);
                        for i in 0..MESSAGES {
                            match s.send_timeout(tracker.make(i), LONG) {
                                Ok(()) => {
                                    assert_eq!(back, 0, "{what}: sent after a failure");
                                    ok += 1;
                                }
                                Err(SendTimeoutError::Disconnected(m)) => {
                                    gone.store(true, Ordering::SeqCst);
                                    assert_eq!(m.id, i, "{what}");
                                    back += 1;
                                }
                                Err(SendTimeoutError::Timeout(_)) => {
                                    panic!("{what}: send not woken")
                                }
                            }
                        }
                        done.store(true, Ordering::SeqCst);
                        ok
                    })
                };
                let upgraders: Vec<_> = (0..UPGRADERS)
                    .map(|_| {
                        let (weak, gone, start) = (weak.clone(), gone.clone(), start.clone());
                        let (done, what) = (done.clone(), what.clone());
                        thread::spawn(move || {
                            start.wait();
                            let mut got = 0;
                            let mut failed = false;
                            for _ in 0..TRIES {
                                let was_gone = gone.load(Ordering::SeqCst);
                                match weak.upgrade() {
                                    Some(r) => {
                                        assert!(!failed, "{what}: upgraded after a failure");
                                        assert!(!was_gone, "{what}: upgraded after disconnection");
                                        // Wait a little for a message only
                                        // while the producer is at work.
                                        let received = if done.load(Ordering::SeqCst) {
                                            r.try_recv().is_ok()
                                        } else {
                                            r.recv_timeout(ms(1)).is_ok()
                                        };
                                        got += usize::from(received);
                                        // A real receiver: while it lives,
                                        // no send can fail.
                                        assert!(
                                            !gone.load(Ordering::SeqCst),
                                            "{what}: disconnected while upgraded"
                                        );
                                    }
                                    None => failed = true,
                                }
                            }
                            got
                        })
                    })
                    .collect();
                start.wait();
                for _ in 0..round % 10 {
                    thread::yield_now();
                }
                drop(r);
                let got: usize = upgraders.into_iter().map(|t| t.join().unwrap()).sum();
                // Every upgrader is done: no receiver is left, so the
                // producer's sends fail from now on, and it finishes.
                let ok = producer.join().unwrap();
                assert!(got <= ok, "{what}: received {got} of {ok} sent");
                assert!(weak.upgrade().is_none(), "{what}: upgraded at the end");
                // The messages sent but not received were dropped with the
                // last receiver (not checked here while `weak` lives: the
                // array flavor may leave a message whose sender was still
                // writing it to the channel's final drop; the
                // single-threaded case is checked above), and none twice.
                drop(weak);
                tracker.assert_all_dropped_once(&what);
            }
        }
    });
}

// ---------------------------------------------------------------------------
// The actor pattern
// ---------------------------------------------------------------------------

/// An actor holds a weak sender to its own mailbox, through which it sends
/// itself follow-up work: it can do so while anyone else holds a sender,
/// and its receive loop ends once every external sender is gone, although
/// its weak sender remains.
#[test]
fn an_actor_with_a_weak_sender_to_itself_stops_with_its_clients() {
    within(HANG, "actor", || {
        for flavor in [Flavor::Bounded(1), Flavor::Bounded(4), Flavor::Unbounded] {
            let (mailbox, inbox) = flavor.make::<u32>();
            let (report, reports) = unbounded::<u32>();
            let me = mailbox.downgrade();
            let actor = thread::spawn(move || {
                let mut handled = Vec::new();
                for n in inbox.iter() {
                    handled.push(n);
                    if n > 0 {
                        // Count down by sending the rest to itself.
                        let me = me.upgrade().expect("clients still hold senders");
                        me.send(n - 1).unwrap();
                    } else {
                        report.send(handled.len() as u32).unwrap();
                    }
                }
                (handled, me.upgrade().is_none())
            });
            mailbox.send(3).unwrap();
            assert_eq!(reports.recv_timeout(LONG), Ok(4), "{flavor}");
            let client = mailbox.clone();
            drop(mailbox);
            client.send(1).unwrap();
            assert_eq!(reports.recv_timeout(LONG), Ok(6), "{flavor}");
            // The last client goes: the actor's loop ends.
            drop(client);
            let (handled, dead) = actor.join().unwrap();
            assert_eq!(handled, [3, 2, 1, 0, 1, 0], "{flavor}");
            assert!(dead, "{flavor}: the actor's weak sender still upgrades");
            assert_eq!(reports.recv(), Err(RecvError), "{flavor}");
        }
    });
}

/// The actor is told to stop by the drop of its clients while it is busy
/// sending itself work: it may or may not get one more self-send in, but
/// its loop always ends, and every message it sent itself is handled or
/// dropped with the channel.
#[test]
fn an_actor_stops_even_when_its_clients_go_mid_work() {
    within(HANG, "actor mid work", || {
        for round in 0..ROUNDS {
            let (mailbox, inbox) = unbounded::<u64>();
            let me = mailbox.downgrade();
            let actor = thread::spawn(move || {
                let mut handled = 0u64;
                let mut self_sent = 0u64;
                for n in inbox.iter() {
                    handled += 1;
                    if let Some(me) = me.upgrade() {
                        if me.send(n + 1).is_ok() {
                            self_sent += 1;
                        }
                    }
                }
                (handled, self_sent)
            });
            mailbox.send(0).unwrap();
            for _ in 0..round % 20 {
                thread::yield_now();
            }
            drop(mailbox);
            let (handled, self_sent) = actor.join().unwrap();
            // Every message is received: one from the client, the rest
            // from itself (the last self-send, if any, arrives before the
            // disconnection, which waits for its sender to be dropped).
            assert_eq!(handled, self_sent + 1, "round {round}");
        }
    });
}

// ---------------------------------------------------------------------------
// Counts
// ---------------------------------------------------------------------------

/// The four counts, read on every sender, receiver and weak handle, follow
/// clones, drops, downgrades and upgrades; a failed upgrade changes none.
#[test]
fn handle_counts_follow_clones_drops_and_downgrades() {
    for flavor in ALL {
        let (s, r) = flavor.make::<Tracked>();
        let check =
            |s: Option<&Sender<Tracked>>, r: Option<&Receiver<Tracked>>, want: [usize; 4]| {
                if let Some(s) = s {
                    assert_eq!(sender_counts(s), want, "{flavor}: counts seen by a sender");
                }
                if let Some(r) = r {
                    assert_eq!(
                        receiver_counts(r),
                        want,
                        "{flavor}: counts seen by a receiver"
                    );
                }
            };
        check(Some(&s), Some(&r), [1, 1, 0, 0]);
        let s2 = s.clone();
        let (r2, r3) = (r.clone(), r.clone());
        check(Some(&s2), Some(&r3), [2, 3, 0, 0]);
        let ws = s.downgrade();
        let ws2 = ws.clone();
        let wr = r2.downgrade();
        check(Some(&s), Some(&r), [2, 3, 2, 1]);
        assert_eq!(ws.sender_count(), 2, "{flavor}");
        assert_eq!(wr.receiver_count(), 3, "{flavor}");
        drop(r3);
        drop(s2);
        check(Some(&s), Some(&r), [1, 2, 2, 1]);
        let s3 = ws.upgrade().unwrap();
        let r4 = wr.upgrade().unwrap();
        check(Some(&s3), Some(&r4), [2, 3, 2, 1]);
        drop(ws2);
        check(Some(&s), Some(&r), [2, 3, 1, 1]);
        drop(s3);
        drop(s);
        check(None, Some(&r), [0, 3, 1, 1]);
        assert_eq!(ws.sender_count(), 0, "{flavor}");
        assert!(ws.upgrade().is_none(), "{flavor}");
        check(None, Some(&r), [0, 3, 1, 1]);
        drop(ws);
        check(None, Some(&r4), [0, 3, 0, 1]);
        drop(r2);
        drop(r4);
        check(None, Some(&r), [0, 1, 0, 1]);
        assert_eq!(wr.receiver_count(), 1, "{flavor}");
        drop(r);
        assert_eq!(wr.receiver_count(), 0, "{flavor}");
        assert!(wr.upgrade().is_none(), "{flavor}");
    }
    // From the sender's side, with the receivers going first.
    for flavor in ALL {
        let (s, r) = flavor.make::<i32>();
        let wr = r.downgrade();
        let wr2 = r.downgrade();
        assert_eq!(sender_counts(&s), [1, 1, 0, 2], "{flavor}");
        drop(r);
        assert_eq!(sender_counts(&s), [1, 0, 0, 2], "{flavor}");
        assert!(wr.upgrade().is_none());
        assert_eq!(
            sender_counts(&s),
            [1, 0, 0, 2],
            "{flavor}: failed upgrade counted"
        );
        drop(wr2);
        assert_eq!(sender_counts(&s), [1, 0, 0, 1], "{flavor}");
        let ws = s.downgrade();
        assert_eq!(sender_counts(&s), [1, 0, 1, 1], "{flavor}");
        drop((ws, wr));
        assert_eq!(sender_counts(&s), [1, 0, 0, 0], "{flavor}");
    }
}

/// Counts settle exactly after many threads cloned, downgraded, upgraded
/// and dropped handles at once.
#[test]
fn handle_counts_are_exact_after_concurrent_churn() {
    within(HANG, "count churn", || {
        for flavor in ALL {
            let (s, r) = flavor.make::<i32>();
            let start = Arc::new(Barrier::new(4));
            let threads: Vec<_> = (0..4)
                .map(|t| {
                    let (s, r, start) = (s.clone(), r.clone(), start.clone());
                    thread::spawn(move || {
                        start.wait();
                        let mut kept_s = Vec::new();
                        let mut kept_ws = Vec::new();
                        let mut kept_wr = Vec::new();
                        for i in 0..if cfg!(miri) { 10 } else { 2000 } {
                            let ws = s.downgrade();
                            let wr = r.downgrade();
                            let s2 = ws.upgrade().unwrap();
                            let r2 = wr.upgrade().unwrap();
                            if i % 100 == t {
                                kept_s.push(s2.clone());
                                kept_ws.push(ws.clone());
                                kept_wr.push(wr.clone());
                            }
                            drop((s2, r2));
                        }
                        (kept_s, kept_ws, kept_wr)
                    })
                })
                .collect();
            let kept: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
            let (ks, kws, kwr) = kept.iter().fold((0, 0, 0), |acc, k| {
                (acc.0 + k.0.len(), acc.1 + k.1.len(), acc.2 + k.2.len())
            });
            let want = [1 + ks, 1, kws, kwr];
            assert_eq!(sender_counts(&s), want, "{flavor}");
            assert_eq!(receiver_counts(&r), want, "{flavor}");
            drop(kept);
            assert_eq!(sender_counts(&s), [1, 1, 0, 0], "{flavor}");
        }
    });
}

/// Timer receivers count their shared clones and weak handles; they have
/// no senders. A `never` receiver counts itself only.
#[test]
#[cfg_attr(miri, ignore)]
fn timer_and_never_counts() {
    for (name, r) in [("after", after(LONG)), ("tick", tick(LONG))] {
        assert_eq!(receiver_counts(&r), [0, 1, 0, 0], "{name}");
        let r2 = r.clone();
        let w = r.downgrade();
        assert_eq!(receiver_counts(&r), [0, 2, 0, 1], "{name}");
        assert_eq!(w.receiver_count(), 2, "{name}");
        drop(r2);
        assert_eq!(receiver_counts(&r), [0, 1, 0, 1], "{name}");
        drop(w);
        assert_eq!(receiver_counts(&r), [0, 1, 0, 0], "{name}");
    }
    let r = never::<i32>();
    let r2 = r.clone();
    assert_eq!(r.receiver_count(), 1);
    assert_eq!(r.sender_count(), 0);
    assert_eq!(r2.downgrade().receiver_count(), 1);
}

// ---------------------------------------------------------------------------
// Traits
// ---------------------------------------------------------------------------

/// Weak handles are `Send + Sync` for any `T: Send` (also one that is not
/// `Sync`), `Clone` for any `T` (no `T: Clone` needed), and print as
/// `WeakSender { .. }` / `WeakReceiver { .. }` without needing `T: Debug`.
#[test]
fn weak_handles_are_send_sync_clone_and_debug() {
    fn send_sync<T: Send + Sync>() {}
    fn clone_debug<T: Clone + std::fmt::Debug>() {}
    send_sync::<WeakSender<Tracked>>();
    send_sync::<WeakReceiver<Tracked>>();
    send_sync::<WeakSender<Cell<u8>>>();
    send_sync::<WeakReceiver<Cell<u8>>>();
    struct NotDebugNorClone;
    clone_debug::<WeakSender<NotDebugNorClone>>();
    clone_debug::<WeakReceiver<NotDebugNorClone>>();

    let (s, r) = bounded::<NotDebugNorClone>(1);
    let (ws, wr) = (s.downgrade(), r.downgrade());
    assert_eq!(format!("{ws:?}"), "WeakSender { .. }");
    assert_eq!(format!("{wr:?}"), "WeakReceiver { .. }");
    assert_eq!(format!("{:?}", ws.clone()), "WeakSender { .. }");
    assert_eq!(
        format!("{:?}", never::<i32>().downgrade()),
        "WeakReceiver { .. }"
    );

    // Moved to and used on another thread.
    let (s, r) = unbounded::<Cell<u8>>();
    let (ws, wr) = (s.downgrade(), r.downgrade());
    let t = thread::spawn(move || {
        ws.upgrade().unwrap().send(Cell::new(7)).unwrap();
        wr.upgrade().unwrap().recv().unwrap().get()
    });
    assert_eq!(t.join().unwrap(), 7);
    drop((s, r));
}
