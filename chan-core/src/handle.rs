//! The internal interface between the channel flavors and the select engine.
//!
//! Every operation is done in two phases. `try_select` (or `accept`, after a
//! partner selected a blocked waiter) *reserves* the operation: a slot in a
//! buffer or a blocked partner, recorded in the per-operation [`Token`]. The
//! engine then *completes* it with `Sender::write` / `Receiver::read` on the
//! handle whose token it is. The plain `send`/`recv` paths use the same
//! flavor functions, so select and non-select code share one protocol.

use crate::context::{Context, Operation};
use std::time::Instant;

/// The reservation made by a successful `try_select`/`accept`; one field per
/// flavor, only the one of the reserving flavor is meaningful.
///
/// `repr(C)` keeps the two-word tokens at multiples of 16 bytes from the
/// start, where a move of the whole `Token` loads each in one piece (see
/// `TokenWords`).
#[derive(Debug, Default)]
#[repr(C)]
pub struct Token {
    /// Array flavor: the reserved slot and its stamp.
    pub array: crate::flavors::array::ArrayToken,
    /// List flavor: the reserved block and offset.
    pub list: crate::flavors::list::ListToken,
    /// Zero flavor: the packet of the partner.
    pub zero: crate::flavors::zero::ZeroToken,
    /// Timer flavors (`at`, `tick`): the instant delivered.
    pub timer: Option<Instant>,
}

/// The two words of the array and list flavors' reservations (an address
/// and a number), written by `TokenWords::store` in one 16-byte store
/// where the processor has one.
///
/// The select engine moves the whole `Token` right after a flavor writes
/// its reservation, in 16-byte loads, and a load that spans two smaller
/// stores still in flight cannot take its data from them: it waits until
/// they reach the cache. Addresses are kept as integers with their
/// provenance exposed, so that both words are plain numbers.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C)]
pub struct TokenWords {
    address: u64,
    number: u64,
}

impl TokenWords {
    /// Words holding `pointer` and `number`.
    #[inline]
    pub(crate) fn new<P>(pointer: *const P, number: u64) -> TokenWords {
        TokenWords {
            // A pointer-to-integer cast, which exposes the provenance.
            address: pointer as usize as u64,
            number,
        }
    }

    /// The pointer these words hold (null for `default()`).
    #[inline]
    pub(crate) fn pointer<P>(&self) -> *mut P {
        // An integer-to-pointer cast, which takes the exposed provenance.
        self.address as usize as *mut P
    }

    /// The number these words hold.
    #[inline]
    pub(crate) fn number(&self) -> u64 {
        self.number
    }

    /// Overwrites `self` with `words` in one store (see the type).
    #[inline(always)]
    pub(crate) fn store(&mut self, words: TokenWords) {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        // SAFETY: SSE2 is enabled (the `cfg`). `self` is valid for writes
        // of its 16 bytes, two `u64`s in this order (`repr(C)`), any value
        // of which is valid; the store needs no alignment.
        unsafe {
            use std::arch::x86_64::{__m128i, _mm_set_epi64x, _mm_storeu_si128};
            let both = _mm_set_epi64x(words.number as i64, words.address as i64);
            _mm_storeu_si128((self as *mut TokenWords).cast::<__m128i>(), both);
        }
        #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
        {
            *self = words;
        }
    }
}

/// What one look at an operation's channel found: see
/// [`SelectHandle::observe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// The operation would not block now (or may not: a partner is midway
    /// through a change), so the caller should try it.
    Ready,
    /// The operation would block. The stamp identifies the state of the
    /// channel that blocks it: two observations made at `t1 < t2` that both
    /// return `Blocked` with equal stamps prove that the operation would
    /// have blocked at every moment between `t1` and `t2`. A flavor builds
    /// the stamp from counters that only grow (a position, a count of
    /// registrations), so a state that changed and changed back still
    /// shows a new stamp.
    Blocked(u128),
}

/// One side of a channel, as the select engine sees it.
pub trait SelectHandle {
    /// Tries to reserve the operation without blocking. On success the
    /// reservation is recorded in `token` and must then be completed.
    fn try_select(&self, token: &mut Token) -> bool;

    /// The instant at which the operation becomes ready by itself, if any
    /// (timer channels).
    fn deadline(&self) -> Option<Instant>;

    /// Registers a blocked operation; returns true if the operation may
    /// already be ready (the caller then aborts its wait and retries).
    fn register(&self, oper: Operation, cx: &Context) -> bool;

    /// Removes a blocked operation's registration.
    fn unregister(&self, oper: Operation);

    /// After a partner selected this waiter's operation, takes over the
    /// reservation into `token`; returns false if it cannot be completed.
    fn accept(&self, token: &mut Token, cx: &Context) -> bool;

    /// True if the operation would not block right now.
    fn is_ready(&self) -> bool;

    /// Whether the operation would block, with a stamp of the blocking
    /// state; the select engine gives up (`try_select`, a timeout) only
    /// after two rounds of observations with equal stamps, which proves
    /// that at one moment between them no operation could proceed.
    fn observe(&self) -> Readiness;

    /// Registers interest in readiness without an operation; returns true
    /// if the operation may already be ready.
    fn watch(&self, oper: Operation, cx: &Context) -> bool;

    /// Removes a readiness registration.
    fn unwatch(&self, oper: Operation);

    /// Gives up a reservation made by `try_select`/`accept` that will never
    /// be completed (a `SelectedOperation` dropped uncompleted), so that the
    /// channel does not wait for it: a reserved send releases its slot or
    /// partner, a reserved receive takes its message and drops it.
    ///
    /// The default does nothing: timer and never channels hold nothing for
    /// a reservation.
    ///
    /// # Safety
    /// `token` must hold a reservation made by this handle and not yet
    /// completed or cancelled.
    unsafe fn cancel(&self, token: &mut Token) {
        let _ = token;
    }

    /// Registers an async task's wait (`crate::task`). Unlike a thread's,
    /// a task's registration must never be completed for it by a partner,
    /// so that a message moves only in the poll that returns it (cancel
    /// safety): queue flavors register it like a select operation (no
    /// packet: the partner only wakes it), the zero flavor as an observer.
    fn register_task(&self, oper: Operation, cx: &Context) -> bool {
        self.register(oper, cx)
    }

    /// Removes a registration made by `register_task`.
    fn unregister_task(&self, oper: Operation) {
        self.unregister(oper)
    }

    /// A task's registration here was selected, and so given the one
    /// wake-up of a change, but the task gave its wait up without acting on
    /// it (its future was dropped): wake another waiter in its place, so
    /// that no waiter sleeps through a message or a free slot.
    fn pass_on(&self) {}
}

impl<T: SelectHandle + ?Sized> SelectHandle for &T {
    fn try_select(&self, token: &mut Token) -> bool {
        (**self).try_select(token)
    }
    fn deadline(&self) -> Option<Instant> {
        (**self).deadline()
    }
    fn register(&self, oper: Operation, cx: &Context) -> bool {
        (**self).register(oper, cx)
    }
    fn unregister(&self, oper: Operation) {
        (**self).unregister(oper)
    }
    fn accept(&self, token: &mut Token, cx: &Context) -> bool {
        (**self).accept(token, cx)
    }
    fn is_ready(&self) -> bool {
        (**self).is_ready()
    }
    fn observe(&self) -> Readiness {
        (**self).observe()
    }
    fn watch(&self, oper: Operation, cx: &Context) -> bool {
        (**self).watch(oper, cx)
    }
    fn unwatch(&self, oper: Operation) {
        (**self).unwatch(oper)
    }
    unsafe fn cancel(&self, token: &mut Token) {
        // SAFETY: forwarded caller contract.
        unsafe { (**self).cancel(token) }
    }
    fn register_task(&self, oper: Operation, cx: &Context) -> bool {
        (**self).register_task(oper, cx)
    }
    fn unregister_task(&self, oper: Operation) {
        (**self).unregister_task(oper)
    }
    fn pass_on(&self) {
        (**self).pass_on()
    }
}
