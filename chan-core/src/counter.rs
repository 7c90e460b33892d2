//! Shared ownership of one channel by its senders and receivers.
//!
//! One allocation holds the channel and two handle counts. When the last
//! sender (or receiver) goes, that side disconnects the channel; the side
//! that goes second frees the allocation (the `destroy` flag decides which).

use crate::sync::{AtomicBool, AtomicUsize, Ordering};
use std::ops;
use std::process;
use std::ptr::NonNull;

struct Counter<C> {
    senders: AtomicUsize,
    receivers: AtomicUsize,
    destroy: AtomicBool,
    chan: C,
}

/// Creates the shared allocation with one sender and one receiver.
pub fn new<C>(chan: C) -> (Sender<C>, Receiver<C>) {
    let counter = NonNull::from(Box::leak(Box::new(Counter {
        senders: AtomicUsize::new(1),
        receivers: AtomicUsize::new(1),
        destroy: AtomicBool::new(false),
        chan,
    })));
    (Sender { counter }, Receiver { counter })
}

/// Frees the allocation when dropped by the second side to finish
/// releasing; dropping it also on unwind keeps a panic in `disconnect` from
/// leaking the channel.
struct DestroyIfLast<C>(NonNull<Counter<C>>);

impl<C> Drop for DestroyIfLast<C> {
    fn drop(&mut self) {
        // SAFETY: the side releasing its last handle keeps the allocation
        // alive until it has set `destroy`; the other side frees it only
        // after finding `destroy` already set.
        let counter = unsafe { self.0.as_ref() };
        if counter.destroy.swap(true, Ordering::AcqRel) {
            // SAFETY: both sides have released their last handle, so nobody
            // else can reach the allocation.
            drop(unsafe { Box::from_raw(self.0.as_ptr()) });
        }
    }
}

/// A handle count that has grown absurdly large means handles are being
/// leaked in a loop; stop before the count can wrap.
const MAX_HANDLES: usize = isize::MAX as usize;

macro_rules! counted_handle {
    ($name:ident, $count:ident, $doc:literal) => {
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
                let count = self.counter().$count.fetch_add(1, Ordering::Relaxed);
                if count > MAX_HANDLES {
                    process::abort();
                }
                $name {
                    counter: self.counter,
                }
            }

            /// Drops this handle. If it was the last of its side, calls
            /// `disconnect`; if the other side is gone too, frees the channel.
            ///
            /// # Safety
            /// The handle must not be used again.
            ///
            /// If `disconnect` panics (a message's `Drop` panicked while the
            /// last receiver discarded the messages), the destroy step still
            /// runs while unwinding, so the channel is not leaked.
            pub unsafe fn release<F: FnOnce(&C) -> bool>(&self, disconnect: F) {
                if self.counter().$count.fetch_sub(1, Ordering::AcqRel) == 1 {
                    let destroy_if_last = DestroyIfLast(self.counter);
                    disconnect(&self.counter().chan);
                    drop(destroy_if_last);
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
    };
}

counted_handle!(
    Sender,
    senders,
    "The sending side's reference to a counted channel."
);
counted_handle!(
    Receiver,
    receivers,
    "The receiving side's reference to a counted channel."
);
