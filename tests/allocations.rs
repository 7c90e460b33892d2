//! Operations that allocate nothing once warmed up.
//!
//! The promise (README, "Performance"): a select call makes no heap
//! allocation, whatever the number of arms and whether its first visit
//! wins, gives up or blocks; `select!`, `ready` and the plain operations
//! neither; and steady traffic through an unbounded channel reuses its
//! blocks. Warm-up may allocate (a wait queue's first entry, a thread's
//! first blocking context, an unbounded channel's first blocks), so each
//! check runs its operation first and then counts the allocations the
//! same operation makes on this thread over many more calls, which must be
//! zero. The partner threads of the blocking checks allocate on their own
//! counters, which are not looked at.

mod common;

use chan::{bounded, select, unbounded, Receiver, Select, Sender};
use common::{allocations, CountingAlloc};
use std::thread;
use std::time::Duration;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Calls of the operation before counting: enough to pass every warm-up
/// (an unbounded channel's blocks hold 255 messages; see `steady_traffic`).
const WARM_UP: usize = 1_000;

/// Allocations that `operation` makes on this thread over `rounds` calls
/// (`operation` gets the round's number), after `WARM_UP` calls.
fn allocations_over(rounds: usize, operation: impl FnMut(usize)) -> usize {
    allocations_after(WARM_UP, rounds, operation)
}

/// `allocations_over` with `warm_up` calls first.
fn allocations_after(warm_up: usize, rounds: usize, mut operation: impl FnMut(usize)) -> usize {
    for round in 0..warm_up {
        operation(round);
    }
    let before = allocations();
    for round in 0..rounds {
        operation(warm_up + round);
    }
    allocations() - before
}

/// `n` channels of capacity 1, as separate sender and receiver lists.
fn channels(n: usize) -> (Vec<Sender<usize>>, Vec<Receiver<usize>>) {
    (0..n).map(|_| bounded(1)).unzip()
}

/// Allocations over 200 waits of 100 µs that must time out
/// (`times_out(timeout)` waits and says whether it timed out). A wait
/// queue's first entry allocates, so the warm-up first waits long enough
/// (20 ms) to be sure to register.
fn timed_out_wait_allocations(mut times_out: impl FnMut(Duration) -> bool) -> usize {
    for _ in 0..3 {
        assert!(times_out(Duration::from_millis(20)));
    }
    allocations_after(20, 200, |_| assert!(times_out(Duration::from_micros(100))))
}

/// A `Select` receiving from each of `receivers`.
fn select_over(receivers: &[Receiver<usize>]) -> Select<'_> {
    let mut sel = Select::new();
    for r in receivers {
        sel.recv(r);
    }
    sel
}

/// The sizes of select tried: small ones, the largest whose visiting order
/// lives on the stack, and larger ones.
const ARMS: [usize; 5] = [1, 2, 4, 32, 40];

#[test]
fn a_select_whose_arm_is_ready_allocates_nothing() {
    for n in ARMS {
        let (senders, receivers) = channels(n);
        let mut sel = select_over(&receivers);
        // One arm is ready, a different one each round, so that the first
        // visit (a random arm) mostly misses on the larger selects and the
        // whole visiting order gets drawn.
        let made = allocations_over(2_000, |round| {
            senders[round % n].send(round).unwrap();
            let oper = sel.select();
            let index = oper.index();
            assert_eq!(oper.recv(&receivers[index]), Ok(round));
        });
        assert_eq!(made, 0, "a select over {n} arms allocated {made} times");
    }
}

#[test]
fn a_select_that_gives_up_allocates_nothing() {
    for n in ARMS {
        let (_senders, receivers) = channels(n);
        let mut sel = select_over(&receivers);
        let made = allocations_over(2_000, |_| assert!(sel.try_select().is_err()));
        assert_eq!(
            made, 0,
            "try_select over {n} empty arms: {made} allocations"
        );
        // A timed select also registers with every arm and waits.
        let made = timed_out_wait_allocations(|timeout| sel.select_timeout(timeout).is_err());
        assert_eq!(made, 0, "select_timeout over {n} empty arms: {made}");
    }
}

#[test]
fn a_select_woken_by_a_partner_allocates_nothing() {
    park_once_on_a_lock();
    for n in [2, 40] {
        let (senders, receivers) = channels(n);
        let rounds = 300;
        let partner = {
            let senders = senders.clone();
            thread::spawn(move || {
                for round in 0..WARM_UP + rounds {
                    // Now and then, let the selecting thread block first.
                    if round % 4 == 0 {
                        thread::sleep(Duration::from_micros(50));
                    }
                    senders[round % senders.len()].send(round).unwrap();
                }
            })
        };
        let mut sel = select_over(&receivers);
        // Up to one message per channel is in flight, and the select picks
        // any ready one, so messages arrive out of order: check the total.
        let mut sum = 0;
        let made = allocations_over(rounds, |_| {
            let oper = sel.select();
            let index = oper.index();
            sum += oper.recv(&receivers[index]).unwrap();
        });
        partner.join().unwrap();
        assert_eq!(sum, (0..WARM_UP + rounds).sum::<usize>());
        assert_eq!(made, 0, "a blocking select over {n} arms: {made}");
    }
}

#[test]
fn the_select_macro_allocates_nothing() {
    let (s1, r1) = bounded::<usize>(1);
    let (s2, r2) = unbounded::<usize>();
    let (_s3, r3) = bounded::<usize>(0);
    let made = allocations_over(2_000, |round| {
        if round % 2 == 0 {
            s1.send(round).unwrap();
        } else {
            s2.send(round).unwrap();
        }
        let got = select! {
            recv(r1) -> msg => msg.unwrap(),
            recv(r2) -> msg => msg.unwrap(),
            recv(r3) -> msg => msg.unwrap(),
        };
        assert_eq!(got, round);
    });
    assert_eq!(made, 0, "select! with a ready arm: {made}");
    let made = allocations_over(2_000, |_| {
        select! {
            recv(r1) -> _ => panic!("r1 is empty"),
            recv(r3) -> _ => panic!("r3 has no sender waiting"),
            default => {}
        }
    });
    assert_eq!(made, 0, "select! falling to its default: {made}");
}

#[test]
fn ready_allocates_nothing() {
    for n in ARMS {
        let (senders, receivers) = channels(n);
        let mut sel = select_over(&receivers);
        let made = allocations_over(2_000, |round| {
            senders[round % n].send(round).unwrap();
            let index = sel.ready();
            assert_eq!(receivers[index].try_recv(), Ok(round));
        });
        assert_eq!(made, 0, "ready over {n} arms: {made}");
        // As `select_timeout`, registering as an observer.
        let made = timed_out_wait_allocations(|timeout| sel.ready_timeout(timeout).is_err());
        assert_eq!(made, 0, "ready_timeout over {n} empty arms: {made}");
    }
}

/// Steady traffic, single-threaded for the queue flavors: the array flavor
/// has its ring, and the list flavor recycles released blocks, so neither
/// allocates per message. Batches of 1,000 cross several list blocks.
#[test]
fn steady_traffic_allocates_nothing() {
    for (name, (s, r)) in [
        ("bounded(1000)", bounded::<usize>(1_000)),
        ("unbounded", unbounded::<usize>()),
    ] {
        let made = allocations_over(20, |_| {
            for i in 0..1_000 {
                s.send(i).unwrap();
            }
            for i in 0..1_000 {
                assert_eq!(r.recv(), Ok(i));
            }
        });
        assert_eq!(made, 0, "{name}: {made} allocations in 20,000 messages");
    }
}

/// Makes this thread park once on a `parking_lot` lock, as chan's wait
/// queues and its zero flavor lock with one. `parking_lot` allocates the
/// first time a thread parks (its table of parked threads grows with the
/// number of threads), which may otherwise fall in a counted round: a
/// thread blocks on a lock only when another holds it at that moment.
fn park_once_on_a_lock() {
    let lock = std::sync::Arc::new(parking_lot::Mutex::new(()));
    let (held, is_held) = std::sync::mpsc::channel();
    let holder = {
        let lock = lock.clone();
        thread::spawn(move || {
            let _guard = lock.lock();
            held.send(()).unwrap();
            thread::sleep(Duration::from_millis(20));
        })
    };
    is_held.recv().unwrap();
    drop(lock.lock());
    holder.join().unwrap();
}

/// Steady traffic with a partner on another thread, on every flavor: this
/// thread receives, blocking whenever the channel is empty.
#[test]
fn steady_blocking_receives_allocate_nothing() {
    park_once_on_a_lock();
    for (name, (s, r)) in [
        ("bounded(0)", bounded::<usize>(0)),
        ("bounded(1)", bounded::<usize>(1)),
        ("unbounded", unbounded::<usize>()),
    ] {
        let rounds = 5_000;
        let partner = thread::spawn(move || {
            for i in 0..WARM_UP + rounds {
                if i % 64 == 0 {
                    thread::sleep(Duration::from_micros(20));
                }
                s.send(i).unwrap();
            }
        });
        let made = allocations_over(rounds, |i| assert_eq!(r.recv(), Ok(i)));
        partner.join().unwrap();
        assert_eq!(made, 0, "{name}: {made} allocations in {rounds} receives");
    }
}
