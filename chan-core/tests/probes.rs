//! The slow-path counters (`--features probes`): each event is counted
//! where it happens. Run with `cargo test -p chan-core --features probes
//! --test probes`; without the feature the file is empty.
#![cfg(all(feature = "probes", not(loom), not(miri)))]

use chan_core::internal::probes::{self, Counts};
use std::thread;
use std::time::{Duration, Instant};

/// Waits until `probe` holds of the counts (a thread registering takes a
/// few microseconds of spinning and yielding first).
fn until(probe: impl Fn(Counts) -> bool) {
    let start = Instant::now();
    while !probe(probes::counts()) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the event was never counted: {:?}",
            probes::counts()
        );
        thread::sleep(Duration::from_millis(1));
    }
}

/// One test, so that no other test's events land in the counts.
#[test]
fn slow_path_events_are_counted() {
    // A receive blocked on an empty bounded(1) channel registers and parks;
    // the send completes it on its behalf.
    let before = probes::counts();
    let (s, r) = chan_core::bounded(1);
    let receiver = thread::spawn(move || r.recv());
    until(|now| now.registrations > before.registrations && now.parks > before.parks);
    let registered = probes::counts();
    s.send(7).unwrap();
    assert_eq!(receiver.join().unwrap(), Ok(7));
    let after = probes::counts();
    assert_eq!(
        after.completed_on_behalf,
        registered.completed_on_behalf + 1
    );
    assert_eq!(after.registrations, registered.registrations);

    // The same on an unbounded channel: a registration, no completion on
    // behalf (the list flavor's receivers take their own messages).
    let (s, r) = chan_core::unbounded();
    let receiver = thread::spawn(move || r.recv());
    until(|now| now.registrations > after.registrations);
    s.send(8).unwrap();
    assert_eq!(receiver.join().unwrap(), Ok(8));
    assert_eq!(
        probes::counts().completed_on_behalf,
        after.completed_on_behalf
    );

    // A receive or send whose deadline has passed when it finds it must
    // wait returns at once: its only waiting before the deadline check is
    // the spin, and yields (which `wait_until` rations) come only after a
    // registration. A flavor that yields first makes every timed-out
    // `recv_timeout(ZERO)` poll a row of `sched_yield` calls.
    let quiet = probes::counts();
    let zero = Duration::ZERO;
    for capacity in [None, Some(0), Some(1), Some(4)] {
        let (s, r) = match capacity {
            None => chan_core::unbounded(),
            Some(cap) => chan_core::bounded(cap),
        };
        for _ in 0..100 {
            assert!(r.recv_timeout(zero).is_err(), "{capacity:?}");
        }
        if let Some(cap) = capacity {
            for i in 0..cap {
                s.send(i).unwrap();
            }
            for _ in 0..100 {
                assert!(s.send_timeout(9, zero).is_err(), "{capacity:?}");
            }
        }
        let now = probes::counts();
        assert_eq!(
            (now.yields, now.registrations),
            (quiet.yields, quiet.registrations),
            "timed-out operations on {capacity:?} yielded or registered"
        );
    }

    probes::reset();
    assert_eq!(probes::counts(), Counts::default());
}
