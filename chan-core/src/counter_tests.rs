//! Unit tests of the shared handle counts (`counter.rs`). Under Miri they
//! also prove the allocation is freed exactly once, by whichever handle,
//! strong or weak, goes last (a leak or a use after free is reported).

use super::*;
use std::cell::Cell;

/// A channel stand-in that records its disconnections.
#[derive(Default)]
struct Probe {
    disconnects: Cell<u32>,
}

fn disconnect(probe: &Probe) -> bool {
    probe.disconnects.set(probe.disconnects.get() + 1);
    true
}

#[test]
fn counts_follow_clones_downgrades_and_drops() {
    let (s, r) = new(Probe::default());
    let s2 = s.acquire();
    let weak_s = s.downgrade();
    let weak_r = r.downgrade();
    let weak_r2 = weak_r.acquire();
    assert_eq!(
        s.counts(),
        Counts {
            senders: 2,
            receivers: 1,
            weak_senders: 1,
            weak_receivers: 2
        }
    );
    drop(weak_r2);
    // SAFETY: each handle is released once and not used again.
    unsafe { s2.release(disconnect) };
    assert_eq!(r.counts().senders, 1);
    assert_eq!(r.counts().weak_receivers, 1);
    assert_eq!(s.disconnects.get(), 0);
    drop((weak_s, weak_r));
    // SAFETY: as above; the last release frees the allocation.
    unsafe {
        s.release(disconnect);
        r.release(disconnect);
    }
}

#[test]
fn a_weak_handle_outlives_its_side_and_frees_last() {
    let (s, r) = new(Probe::default());
    let weak = s.downgrade();
    let upgraded = weak.upgrade().expect("a sender is alive");
    assert_eq!(weak.counts().senders, 2);
    // SAFETY: each strong handle is released once and not used again.
    unsafe {
        upgraded.release(disconnect);
        s.release(disconnect);
    }
    assert_eq!(weak.counts().senders, 0);
    assert!(weak.upgrade().is_none(), "a side once gone stays gone");
    let other_weak = weak.acquire();
    // SAFETY: as above.
    unsafe { r.release(disconnect) };
    // Both sides are gone; the weak handles still hold the allocation.
    assert!(other_weak.upgrade().is_none());
    assert_eq!(other_weak.counts().receivers, 0);
    drop(weak);
    drop(other_weak);
}

#[test]
fn each_side_disconnects_once_whatever_the_weak_handles_do() {
    let (s, r) = new(Probe::default());
    let weak_r = r.downgrade();
    // SAFETY: released once, not used again.
    unsafe { s.release(disconnect) };
    let r2 = weak_r.upgrade().expect("a receiver is alive");
    assert_eq!(r2.disconnects.get(), 1);
    // SAFETY: as above.
    unsafe { r2.release(disconnect) };
    assert_eq!(r.disconnects.get(), 1, "not the last receiver");
    // SAFETY: as above.
    unsafe { r.release(disconnect) };
    assert_eq!(weak_r.counts().receivers, 0);
    assert!(weak_r.upgrade().is_none());
}
