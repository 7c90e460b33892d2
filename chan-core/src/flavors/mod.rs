//! The channel flavors, one per file. Each file opens with its algorithm
//! and invariants; `channel.rs` dispatches the public `Sender`/`Receiver`
//! to them, and the select engine drives them through `SelectHandle`
//! (`handle.rs`).
//!
//! | flavor | channel | blocking |
//! |---|---|---|
//! | `array` | `bounded(n)`, n >= 1: a lock-free ring of stamped slots | wait queues; a blocked side's operation may be completed for it |
//! | `list` | `unbounded()`: a lock-free linked list of blocks | receivers only; sends never block |
//! | `zero` | `bounded(0)`: a rendezvous under one lock | a packet handed from thread to thread |
//! | `at` | `after`, `at`: one message at an instant | sleeps; select learns the deadline |
//! | `tick` | `tick`: a message every period | sleeps; select learns the deadline |
//! | `never` | `never()`: nothing, ever | sleeps |
//!
//! What every flavor offers the facade: `try_send`/`send` and
//! `try_recv`/`recv` (with an optional deadline) where the direction
//! exists, `len`, `capacity`, `is_empty`, `is_full`, the two-phase
//! operations the select engine completes (`start_send`/`write`/
//! `cancel_send`, `start_recv`/`read`/`cancel_recv`), and a
//! `SelectHandle` per side. The queue flavors (array, list) also offer
//! `close` and the batch claims `send_batch`/`recv_batch` that
//! `send_all` and `recv_many` use (`crate::batch`); the zero flavor closes
//! with `disconnect`.

pub mod array;
pub mod at;
pub mod list;
pub mod never;
pub mod tick;
pub mod zero;

use crate::context::{Context, Operation};
use crate::err::TryRecvError;
use crate::handle::{Readiness, SelectHandle, Token};
use crate::waiters::SyncWaiters;
use std::time::Instant;

/// What one batch receive claim (`recv_batch` of the array and list
/// flavors) took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvRun {
    /// How many messages it moved into the batch.
    pub taken: usize,
    /// True if it stopped at the newest message the channel held when it
    /// looked (the next slot was empty, or not written yet), rather than at
    /// the limit, a lap's or block's end, a lone slot it leaves to the
    /// single receive, or a lost race. Looking again at once would most
    /// likely find nothing, and would read the line that senders write: a
    /// receiver that keeps up with its senders would pay that miss on every
    /// call.
    pub at_end: bool,
}

impl RecvRun {
    /// A claim that took nothing and says nothing about what follows (a
    /// lost race, a block's last slot, a lone newest slot, a flavor with no
    /// batch claim): the caller goes to the single receive.
    pub const LOST: RecvRun = RecvRun {
        taken: 0,
        at_end: false,
    };
}

/// What a lock-free queue flavor (array, list) gives the select handle of
/// its receiving side: both block receivers the same way, in a wait queue
/// that every send notifies, and differ only in how they read their
/// positions.
pub trait Queue {
    /// The wait queue of blocked receivers.
    fn receivers(&self) -> &SyncWaiters;
    /// Reserves a receive for the select engine (see `handle.rs`).
    fn start_recv(&self, token: &mut Token) -> bool;
    /// The receive's readiness (ready: a message, or disconnected), with
    /// the stamp of a blocked one (see `SelectHandle::observe`).
    fn observe_recv(&self) -> Readiness;
    /// Wakes one blocked receiver, as a send does.
    fn wake_a_receiver(&self);
}

/// The receiving side of a queue flavor, for the select engine.
pub struct QueueReceiver<'a, Q>(pub &'a Q);

impl<Q: Queue> SelectHandle for QueueReceiver<'_, Q> {
    fn try_select(&self, token: &mut Token) -> bool {
        self.0.start_recv(token)
    }
    fn deadline(&self) -> Option<Instant> {
        None
    }
    fn register(&self, oper: Operation, cx: &Context) -> bool {
        self.0.receivers().register(oper, cx);
        self.is_ready()
    }
    fn unregister(&self, oper: Operation) {
        self.0.receivers().unregister(oper);
    }
    fn accept(&self, token: &mut Token, _cx: &Context) -> bool {
        self.try_select(token)
    }
    fn is_ready(&self) -> bool {
        self.0.observe_recv() == Readiness::Ready
    }
    fn observe(&self) -> Readiness {
        self.0.observe_recv()
    }
    fn watch(&self, oper: Operation, cx: &Context) -> bool {
        self.0.receivers().watch(oper, cx);
        self.is_ready()
    }
    fn unwatch(&self, oper: Operation) {
        self.0.receivers().unwatch(oper);
    }
    fn pass_on(&self) {
        self.0.wake_a_receiver();
    }
}

/// What a timer flavor (`at`, `tick`) offers: its message is made from the
/// instant it fell due, and readiness comes from the clock rather than a
/// partner, so nothing registers and the select engine wakes itself at
/// `next_due`.
pub trait Timer {
    /// The type of the messages.
    type Message;
    /// Takes the instant of the due message, if one is due and untaken.
    fn take_due(&self) -> Option<Instant>;
    /// When the next message falls due, if one ever will.
    fn next_due(&self) -> Option<Instant>;
    /// The readiness of a receive, with the stamp of a blocked one (see
    /// `SelectHandle::observe`).
    fn observe_due(&self) -> Readiness;
    /// The message for the instant `when`.
    fn message(&self, when: Instant) -> Self::Message;

    /// Receives without blocking.
    #[inline(never)]
    fn try_recv(&self) -> Result<Self::Message, TryRecvError> {
        self.take_due()
            .map(|when| self.message(when))
            .ok_or(TryRecvError::Empty)
    }
    /// Completes a receive reserved by `TimerReceiver::try_select`.
    fn read(&self, token: &mut Token) -> Result<Self::Message, ()> {
        token.timer.take().map(|when| self.message(when)).ok_or(())
    }
    /// True while no message is due.
    fn is_empty(&self) -> bool {
        self.observe_due() != Readiness::Ready
    }
    /// True while a message is due.
    fn is_full(&self) -> bool {
        !self.is_empty()
    }
    /// 1 while a message is due, else 0.
    fn len(&self) -> usize {
        usize::from(!self.is_empty())
    }
    /// Always `Some(1)`.
    fn capacity(&self) -> Option<usize> {
        Some(1)
    }
}

/// The receiving side of a timer flavor, for the select engine.
pub struct TimerReceiver<'a, C>(pub &'a C);

impl<C: Timer> SelectHandle for TimerReceiver<'_, C> {
    fn try_select(&self, token: &mut Token) -> bool {
        token.timer = self.0.take_due();
        token.timer.is_some()
    }
    fn deadline(&self) -> Option<Instant> {
        self.0.next_due()
    }
    fn register(&self, _oper: Operation, _cx: &Context) -> bool {
        self.is_ready()
    }
    fn unregister(&self, _oper: Operation) {}
    fn accept(&self, token: &mut Token, _cx: &Context) -> bool {
        self.try_select(token)
    }
    fn is_ready(&self) -> bool {
        !self.0.is_empty()
    }
    fn observe(&self) -> Readiness {
        self.0.observe_due()
    }
    fn watch(&self, _oper: Operation, _cx: &Context) -> bool {
        self.is_ready()
    }
    fn unwatch(&self, _oper: Operation) {}
}
