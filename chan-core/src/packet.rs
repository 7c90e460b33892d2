//! The packet: where one blocked operation's message changes hands.
//!
//! A thread that blocks in a plain `send` or `recv` (array and zero flavors)
//! registers a packet on its own stack; a zero-flavor select registration,
//! which does not know whether it will be the operation completed, registers
//! one on the heap. The partner that selects the waiter completes the
//! handoff through the packet, so a message never waits for the woken
//! thread to be scheduled.
//!
//! A packet is a `state` word and a message cell. The state starts
//! `PENDING` and is stored exactly once, by the one party the flavor names
//! (the partner that selected a stack packet, or the writer of a heap
//! packet), as that party's last access: `DONE` if the message changed
//! hands (written into the packet, or taken out of it), `RETRY` if it did
//! not (the partner could not complete it, or gave up its reservation), and
//! the cell then holds what it held before. The owner of a selected stack
//! packet waits for the state to leave `PENDING` before it reads the cell
//! or lets its frame go; a heap packet is freed exactly once, by the party
//! the flavor names (see the zero flavor's header).
//!
//! The message cell is an `Option`: the party with access to it says what
//! it holds with `Some`/`None`, so no path needs to know whether a message
//! was moved out of it to drop the packet correctly.

use crate::policy::Backoff;
use crate::sync::{park_timeout, AtomicUsize, Ordering, UnsafeCell};
use std::ptr;
use std::time::Duration;

/// The partner has not finished with the packet.
const PENDING: usize = 0;
/// The message changed hands.
const DONE: usize = 1;
/// The message did not change hands; the waiter tries again.
const RETRY: usize = 2;

/// Why a sender's packet still holds its message: the message leaves it
/// only with `Done`.
pub const UNSENT: &str = "an unsent message stays in the sender's packet";

/// How the partner finished with a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The message changed hands: written into an empty packet, or taken
    /// out of a full one.
    Done,
    /// The message did not change hands; the packet holds what it held.
    Retry,
}

/// The place where one message changes hands (see the module header).
pub struct Packet<T> {
    /// True if the packet belongs to its waiter, which lets it go: a
    /// blocked thread's stack frame, or an async send's own allocation
    /// (`owned_on_heap`); false if it is a heap allocation of a select
    /// registration, freed by its reader (see `free_heap`).
    on_stack: bool,
    /// `PENDING`, then `DONE` or `RETRY`, stored once.
    state: AtomicUsize,
    /// The message, when there is one.
    msg: UnsafeCell<Option<T>>,
}

impl<T> Packet<T> {
    /// A packet for a blocked thread's stack, holding `msg` (a sender's
    /// message, or `None` for a receiver).
    pub fn on_stack(msg: Option<T>) -> Packet<T> {
        Packet {
            on_stack: true,
            state: AtomicUsize::new(PENDING),
            msg: UnsafeCell::new(msg),
        }
    }

    /// An empty packet on the heap, for a select registration; freed with
    /// `free_heap`.
    pub fn empty_on_heap() -> *mut Packet<T> {
        Box::into_raw(Box::new(Packet {
            on_stack: false,
            state: AtomicUsize::new(PENDING),
            msg: UnsafeCell::new(None),
        }))
    }

    /// A packet for an async sender waiting in a zero channel, holding its
    /// message: it behaves as a blocked thread's stack packet (the waiter
    /// owns it and frees it with `free_owned`), but lives on the heap so
    /// the waiting future may move.
    #[cfg(feature = "async")]
    pub fn owned_on_heap(msg: T) -> *mut Packet<T> {
        Box::into_raw(Box::new(Packet::on_stack(Some(msg))))
    }

    /// Frees a packet made by `owned_on_heap`, returning the message it
    /// still holds, if any.
    ///
    /// # Safety
    /// `packet` must come from `owned_on_heap`, and no partner may reach
    /// it any more (unregistered, or the selecting partner stored the
    /// state).
    #[cfg(feature = "async")]
    pub unsafe fn free_owned(packet: *mut Packet<T>) -> Option<T> {
        // SAFETY: by the caller's contract we are its only user; it came
        // from `Box::into_raw`.
        let packet = unsafe { Box::from_raw(packet) };
        debug_assert!(packet.on_stack);
        packet.msg.with_mut(|msg| {
            // SAFETY: we own the packet.
            unsafe { (*msg).take() }
        })
    }

    /// True for a packet its waiter owns (see `on_stack`), false for a
    /// select registration's heap packet.
    pub fn is_on_stack(&self) -> bool {
        self.on_stack
    }

    /// Waits until the partner has published how it finished.
    ///
    /// The partner is normally running and finishes within a few hundred
    /// nanoseconds; it can be delayed (preempted, or a `SelectedOperation`
    /// kept a while before completion), so after spinning and yielding the
    /// wait turns into short sleeps instead of burning a core.
    pub fn wait(&self) -> Outcome {
        let mut backoff = Backoff::new();
        let mut rounds = 0u32;
        loop {
            match self.state.load(Ordering::Acquire) {
                PENDING => {}
                DONE => return Outcome::Done,
                _ => return Outcome::Retry,
            }
            if rounds < 64 {
                backoff.snooze();
                rounds += 1;
            } else {
                park_timeout(Duration::from_micros(100));
            }
        }
    }

    /// Takes the message out, leaving `None`.
    ///
    /// # Safety
    /// The caller must have exclusive access to the cell: it is the owner
    /// and the partner is done (or was never given the packet), or it is
    /// the partner before it stores the state.
    pub unsafe fn take(&self) -> Option<T> {
        // SAFETY: exclusive access, by the caller's contract.
        self.msg.with_mut(|msg| unsafe { (*msg).take() })
    }

    /// Puts a message into an empty packet and stores `DONE`.
    ///
    /// Takes a raw pointer, not `&self`: the packet may be freed as soon as
    /// the state is stored, while a `&self` argument would still be live.
    ///
    /// # Safety
    /// `packet` must be alive and empty, and the caller the party that
    /// stores its state.
    pub unsafe fn fill(packet: *const Packet<T>, msg: T) {
        // SAFETY: exclusive access to the cell, by the caller's contract; it
        // is empty, so nothing is overwritten without being dropped.
        unsafe { (*packet).msg.with_mut(|cell| ptr::write(cell, Some(msg))) };
        // SAFETY: as for `finish`.
        unsafe { Self::finish(packet, Outcome::Done) };
    }

    /// Stores the outcome. Only the `state` field is borrowed, for the store
    /// itself: the packet may be freed as soon as it lands.
    ///
    /// # Safety
    /// `packet` must be alive and the caller the party that stores its state.
    pub unsafe fn finish(packet: *const Packet<T>, outcome: Outcome) {
        let state = match outcome {
            Outcome::Done => DONE,
            Outcome::Retry => RETRY,
        };
        // SAFETY: alive by the caller's contract; `state` is an atomic, so
        // the owner's concurrent loads are fine.
        unsafe { (*packet).state.store(state, Ordering::Release) };
    }

    /// Frees a heap packet, returning its message if it holds one.
    ///
    /// # Safety
    /// `packet` must come from `empty_on_heap`, and the caller be the one
    /// party that may free it, after which nobody touches it.
    pub unsafe fn free_heap(packet: *mut Packet<T>) -> Option<T> {
        // SAFETY: by the caller's contract nobody else can reach the packet,
        // which came from `Box::into_raw`.
        let packet = unsafe { Box::from_raw(packet) };
        debug_assert!(!packet.on_stack);
        packet.msg.with_mut(|msg| {
            // SAFETY: we own the packet.
            unsafe { (*msg).take() }
        })
    }
}
