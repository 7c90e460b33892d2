//! Shared ownership of one channel by its senders and receivers, strong and
//! weak.
//!
//! One allocation holds the channel, the strong handle count of each side,
//! the weak handle count of each side, and `holders`: one for each side
//! that still has a strong handle, plus one per weak handle. When the last
//! strong handle of a side goes, that side disconnects the channel and gives
//! up its hold; whoever gives up the last hold frees the allocation. A weak
//! handle upgrades only while its side's strong count is above zero, and a
//! count that reached zero never rises again (the upgrade is a
//! compare-and-swap from a non-zero count), so a side disconnects once.

#[cfg(feature = "stats")]
use crate::sync::AtomicU64;
use crate::sync::{AtomicUsize, Ordering};
#[cfg(feature = "stats")]
use crossbeam_utils::CachePadded;
use std::ops;
use std::process;
use std::ptr::NonNull;

struct Counter<C> {
    senders: AtomicUsize,
    receivers: AtomicUsize,
    weak_senders: AtomicUsize,
    weak_receivers: AtomicUsize,
    /// One per side with a strong handle left, plus one per weak handle.
    holders: AtomicUsize,
    /// Messages sent and received (the `stats` feature), each on a line of
    /// its own so that producers and consumers do not share one.
    #[cfg(feature = "stats")]
    traffic: [CachePadded<AtomicU64>; 2],
    chan: C,
}

/// Creates the shared allocation with one sender and one receiver.
pub fn new<C>(chan: C) -> (Sender<C>, Receiver<C>) {
    let counter = NonNull::from(Box::leak(Box::new(Counter {
        senders: AtomicUsize::new(1),
        receivers: AtomicUsize::new(1),
        weak_senders: AtomicUsize::new(0),
        weak_receivers: AtomicUsize::new(0),
        holders: AtomicUsize::new(2),
        #[cfg(feature = "stats")]
        traffic: Default::default(),
        chan,
    })));
    (Sender { counter }, Receiver { counter })
}

/// Gives up one hold on the allocation when dropped, freeing it if that was
/// the last; dropping it also on unwind keeps a panic in `disconnect` from
/// leaking the channel.
struct ReleaseHold<C>(NonNull<Counter<C>>);

impl<C> Drop for ReleaseHold<C> {
    fn drop(&mut self) {
        // SAFETY: whoever makes this guard owns one of the holds, so the
        // allocation is alive until the decrement below.
        let counter = unsafe { self.0.as_ref() };
        if counter.holders.fetch_sub(1, Ordering::AcqRel) == 1 {
            // SAFETY: that was the last hold: no handle, strong or weak,
            // can reach the allocation any more.
            drop(unsafe { Box::from_raw(self.0.as_ptr()) });
        }
    }
}

/// A handle count that has grown absurdly large means handles are being
/// leaked in a loop; stop before the count can wrap.
const MAX_HANDLES: usize = isize::MAX as usize;

/// Adds one to a handle count, aborting before it can wrap.
fn increment(count: &AtomicUsize) {
    if count.fetch_add(1, Ordering::Relaxed) > MAX_HANDLES {
        process::abort();
    }
}

macro_rules! counted_handle {
    ($name:ident, $weak:ident, $count:ident, $weak_count:ident, $doc:literal, $weak_doc:literal) => {
        #[doc = $doc]
        pub struct $name<C> {
            counter: NonNull<Counter<C>>,
        }

        impl<C> $name<C> {
            #[inline]
            fn counter(&self) -> &Counter<C> {
                // SAFETY: the allocation lives while any handle does, and
                // this handle is alive.
                unsafe { self.counter.as_ref() }
            }

            /// Creates another handle of this side.
            pub fn acquire(&self) -> Self {
                increment(&self.counter().$count);
                $name {
                    counter: self.counter,
                }
            }

            /// Creates a weak handle of this side.
            pub fn downgrade(&self) -> $weak<C> {
                increment(&self.counter().$weak_count);
                increment(&self.counter().holders);
                $weak {
                    counter: self.counter,
                }
            }

            /// Drops this handle. If it was the last strong one of its
            /// side, calls `disconnect` and gives up the side's hold on the
            /// allocation, freeing it if nothing else holds it.
            ///
            /// # Safety
            /// The handle must not be used again.
            ///
            /// If `disconnect` panics (a message's `Drop` panicked while the
            /// last receiver discarded the messages), the hold is still
            /// given up while unwinding, so the channel is not leaked.
            pub unsafe fn release<F: FnOnce(&C) -> bool>(&self, disconnect: F) {
                if self.counter().$count.fetch_sub(1, Ordering::AcqRel) == 1 {
                    let release_hold = ReleaseHold(self.counter);
                    disconnect(&self.counter().chan);
                    drop(release_hold);
                }
            }
        }

        impl<C> ops::Deref for $name<C> {
            type Target = C;
            #[inline]
            fn deref(&self) -> &C {
                &self.counter().chan
            }
        }

        impl<C> PartialEq for $name<C> {
            fn eq(&self, other: &Self) -> bool {
                self.counter == other.counter
            }
        }

        #[doc = $weak_doc]
        pub struct $weak<C> {
            counter: NonNull<Counter<C>>,
        }

        impl<C> $weak<C> {
            #[inline]
            fn counter(&self) -> &Counter<C> {
                // SAFETY: a weak handle holds the allocation alive.
                unsafe { self.counter.as_ref() }
            }

            /// A strong handle of this side, if one is still alive.
            pub fn upgrade(&self) -> Option<$name<C>> {
                let count = &self.counter().$count;
                let mut current = count.load(Ordering::Relaxed);
                loop {
                    if current == 0 {
                        return None;
                    }
                    if current > MAX_HANDLES {
                        process::abort();
                    }
                    match count.compare_exchange_weak(
                        current,
                        current + 1,
                        Ordering::Acquire,
                        Ordering::Relaxed,
                    ) {
                        Ok(_) => {
                            return Some($name {
                                counter: self.counter,
                            })
                        }
                        Err(actual) => current = actual,
                    }
                }
            }

            /// Creates another weak handle of this side.
            pub fn acquire(&self) -> Self {
                increment(&self.counter().$weak_count);
                increment(&self.counter().holders);
                $weak {
                    counter: self.counter,
                }
            }

            /// The strong and weak handle counts of this channel.
            pub fn counts(&self) -> Counts {
                self.counter().counts()
            }
        }

        impl<C> Drop for $weak<C> {
            fn drop(&mut self) {
                self.counter().$weak_count.fetch_sub(1, Ordering::Relaxed);
                drop(ReleaseHold(self.counter));
            }
        }

        impl<C> PartialEq for $weak<C> {
            fn eq(&self, other: &Self) -> bool {
                self.counter == other.counter
            }
        }
    };
}

/// The handle counts of a channel at one moment (each read separately, so
/// concurrent clones and drops may make them inconsistent by one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Strong senders.
    pub senders: usize,
    /// Strong receivers.
    pub receivers: usize,
    /// Weak senders.
    pub weak_senders: usize,
    /// Weak receivers.
    pub weak_receivers: usize,
}

impl<C> Counter<C> {
    fn counts(&self) -> Counts {
        Counts {
            senders: self.senders.load(Ordering::Relaxed),
            receivers: self.receivers.load(Ordering::Relaxed),
            weak_senders: self.weak_senders.load(Ordering::Relaxed),
            weak_receivers: self.weak_receivers.load(Ordering::Relaxed),
        }
    }
}

counted_handle!(
    Sender,
    WeakSender,
    senders,
    weak_senders,
    "The sending side's reference to a counted channel.",
    "A sending side's reference that does not keep the side connected."
);
counted_handle!(
    Receiver,
    WeakReceiver,
    receivers,
    weak_receivers,
    "The receiving side's reference to a counted channel.",
    "A receiving side's reference that does not keep the side connected."
);

/// Which message count: `Counter::traffic[SENT]` or `[RECEIVED]`.
#[cfg(feature = "stats")]
pub const SENT: usize = 0;
/// See [`SENT`].
#[cfg(feature = "stats")]
pub const RECEIVED: usize = 1;

#[cfg(feature = "stats")]
macro_rules! traffic_methods {
    ($name:ident) => {
        impl<C> $name<C> {
            /// Adds `count` messages to the `which` total.
            #[inline]
            pub fn count_traffic(&self, which: usize, count: usize) {
                self.counter().traffic[which].fetch_add(count as u64, Ordering::Relaxed);
            }

            /// The totals of messages sent and received so far.
            pub fn traffic(&self) -> (u64, u64) {
                let traffic = &self.counter().traffic;
                (
                    traffic[SENT].load(Ordering::Relaxed),
                    traffic[RECEIVED].load(Ordering::Relaxed),
                )
            }
        }
    };
}
#[cfg(feature = "stats")]
traffic_methods!(Sender);
#[cfg(feature = "stats")]
traffic_methods!(Receiver);

impl<C> Sender<C> {
    /// The strong and weak handle counts of this channel.
    pub fn counts(&self) -> Counts {
        self.counter().counts()
    }
}

impl<C> Receiver<C> {
    /// The strong and weak handle counts of this channel.
    pub fn counts(&self) -> Counts {
        self.counter().counts()
    }
}

#[cfg(all(test, not(loom)))]
#[path = "counter_tests.rs"]
mod tests;
