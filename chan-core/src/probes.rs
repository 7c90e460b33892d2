//! Counters of slow-path events, for performance work: how often receives
//! wait for a claimed slot to be written, how often operations register in
//! a wait queue, how often a partner completes a blocked operation on its
//! behalf, how often a waiter yields or parks, how often a select waits.
//! Per process, read with [`counts`].
//!
//! Only with the `probes` cargo feature: without it [`count`] compiles to
//! nothing and [`counts`] reads zeros, so a normal build pays nothing.
//! The counters are plain statistics, not synchronisation, so they are std
//! atomics (not the `sync` shim's) updated with `Relaxed`.

#[cfg(feature = "probes")]
use std::sync::atomic::{AtomicU64, Ordering};

/// A slow-path event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A list receive claimed a slot whose message was not written yet, and
    /// waited for the sender to finish it.
    UnwrittenSlotWait,
    /// A plain blocking send or receive registered in a wait queue.
    Registration,
    /// A partner completed a blocked array send or receive on its behalf.
    CompletedOnBehalf,
    /// A waiter parked its thread (after spinning and yielding).
    Park,
    /// A select found no operation ready and registered with its channels.
    SelectWait,
    /// A waiting thread yielded the processor.
    Yield,
}

/// How many times each event happened since the start (or [`reset`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// [`Event::UnwrittenSlotWait`].
    pub unwritten_slot_waits: u64,
    /// [`Event::Registration`].
    pub registrations: u64,
    /// [`Event::CompletedOnBehalf`].
    pub completed_on_behalf: u64,
    /// [`Event::Park`].
    pub parks: u64,
    /// [`Event::SelectWait`].
    pub select_waits: u64,
    /// [`Event::Yield`].
    pub yields: u64,
}

#[cfg(feature = "probes")]
static COUNTS: [AtomicU64; 6] = [const { AtomicU64::new(0) }; 6];

/// Counts one `event` (nothing without the `probes` feature).
#[inline(always)]
pub fn count(event: Event) {
    #[cfg(feature = "probes")]
    COUNTS[event as usize].fetch_add(1, Ordering::Relaxed);
    #[cfg(not(feature = "probes"))]
    let _ = event;
}

/// The counts so far (all zero without the `probes` feature).
///
/// ```
/// use chan_core::internal::probes;
/// let before = probes::counts();
/// let (s, r) = chan_core::bounded(1);
/// s.send(1).unwrap();
/// r.recv().unwrap();
/// // One thread never blocks, so nothing registered.
/// assert_eq!(probes::counts().registrations, before.registrations);
/// ```
pub fn counts() -> Counts {
    #[cfg(feature = "probes")]
    {
        let read = |event: Event| COUNTS[event as usize].load(Ordering::Relaxed);
        Counts {
            unwritten_slot_waits: read(Event::UnwrittenSlotWait),
            registrations: read(Event::Registration),
            completed_on_behalf: read(Event::CompletedOnBehalf),
            parks: read(Event::Park),
            select_waits: read(Event::SelectWait),
            yields: read(Event::Yield),
        }
    }
    #[cfg(not(feature = "probes"))]
    Counts::default()
}

/// Sets every count back to zero.
pub fn reset() {
    #[cfg(feature = "probes")]
    for counter in &COUNTS {
        counter.store(0, Ordering::Relaxed);
    }
}
