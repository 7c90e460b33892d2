//! The zero flavor: a rendezvous channel (`bounded(0)`).
//!
//! Algorithm: there is no buffer. One mutex guards two wait queues
//! (`senders`, `receivers`) and the `is_disconnected` flag. A message goes
//! straight from one thread to the other through a `Packet` (see
//! `crate::packet`): a state word (`PENDING`, then `DONE` or `RETRY`) plus
//! a message cell.
//!
//! - An operation that finds a partner waiting in the opposite queue selects
//!   it (`Waiters::try_select`: one compare-and-swap on the partner's
//!   context, entry removed from the queue) and takes the partner's packet
//!   pointer. A sender then writes its message into the packet and sets
//!   `DONE`; a receiver takes the message out of a blocked sender's packet
//!   and sets `DONE`.
//! - An operation that finds nobody registers itself with a packet and
//!   blocks. A blocked sender's packet lives on its own stack and holds its
//!   message; a blocked receiver's packet lives on its stack and is empty.
//!   When woken with `Selected::Operation`, the blocked thread waits for the
//!   state to leave `PENDING` and only then lets its stack frame go.
//!   It waits in `Context::wait_until` (spin, yield, park) as a blocked
//!   operation of every flavor does, so its yields through an idle gap are
//!   rationed the same way.
//! - A select registration (`SelectHandle::register`) does not know whether
//!   its operation will be the one completed, and completion happens after
//!   the registering frame returns, so its packet is allocated on the heap
//!   (`on_stack == false`), always empty at first. The selecting partner
//!   publishes it to the waiter through the context (`store_packet`); the
//!   waiter's `accept` picks it up. A select sender then `write`s into its
//!   own packet and the partner that selected it reads it.
//!
//! - Async tasks (`crate::task`) never leave a packet for a partner to
//!   fill: a message may move only in the poll that returns it. A task
//!   waiting to receive, or an awaited select's send arm, *observes* the
//!   opposite queue and is woken whenever a partner registers there; it
//!   then pairs up in its next poll like any non-blocking operation. An
//!   async send (`poll_send`) instead waits like a blocked thread, with
//!   its message in a packet of its own (`Packet::owned_on_heap`, which
//!   follows the stack-packet rules), so that a task receiver has a
//!   partner to take from. Two observers cannot pair: an awaited select's
//!   send arm meets only receivers that wait with a packet.
//!
//! Ownership of a packet (the invariants):
//! - Exactly one party ever changes a packet's state, once: the *writer* of
//!   a receiver packet or of a select sender's heap packet, or the *reader*
//!   of a blocked sender's stack packet. Its store (release) is its last
//!   access to the packet.
//! - A stack packet (or an async send's own packet) belongs to its blocked
//!   owner, which does not return (or free it) before the state has left
//!   `PENDING` (or, when its wait ended without being selected, before it
//!   unregistered the entry under the lock, after which nobody can select
//!   it).
//! - A heap packet that was never selected is freed by `unregister`, which
//!   finds the entry still queued. A selected heap packet is out of the queue
//!   and is freed by its *reader* (the select receiver that registered it,
//!   or the receiver that selected a registered select sender), after the
//!   state left `PENDING`. So each heap packet is freed exactly once.
//! - `RETRY` means a reservation was given up (`cancel_send` /
//!   `cancel_recv`, for a select operation that was never completed): the
//!   message did not change hands. A blocked thread then simply retries; a
//!   select operation already committed to this channel blocks on a plain
//!   send/receive instead. A reservation that is neither completed nor
//!   cancelled leaves its partner waiting.
//!
//! Other rules: the queues are only touched under the lock; threads are
//! unparked and user values dropped after the lock is released (except
//! inside `Waiters::disconnect`/`notify_observers`, which only unpark). A
//! waiter is never selected by its own thread (`Waiters::try_select` and
//! `can_select` skip entries whose owner is the current thread), so one
//! select with a send and a receive on the same zero channel cannot pair
//! with itself. The plain blocking `send`/`recv` do not allocate.
//!
//! Readiness stamps (`observe`): an operation is ready while the opposite
//! queue holds a waiter of another thread that is still `Waiting`, or the
//! channel is disconnected. Such a waiter appears only by registering (a
//! context never returns to `Waiting` while its entry is queued), so the
//! stamp of a blocked operation is the opposite queue's count of
//! registrations.
//!
//! Drops: the channel itself never owns a message (a message in a packet
//! belongs to the thread that sends or takes it). When the last receiver
//! goes, blocked senders are woken and get their own messages back, so
//! neither disconnecting nor freeing the channel drops a message, and a
//! message whose `Drop` panics panics in its owner's thread only.

use crate::context::{Context, Operation, Selected};
use crate::err::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use crate::handle::{Readiness, SelectHandle, Token};
use crate::packet::{Outcome, Packet, UNSENT};
use crate::probes::{self, Event};
use crate::sync::{Mutex, MutexGuard};
use crate::waiters::{Entry, Waiters};
use std::marker::PhantomData;
#[cfg(feature = "async")]
use std::task::{Poll, Waker};
use std::time::Instant;
use std::{mem, ptr};

/// The zero flavor's reservation: the partner's packet (a `*mut Packet<T>`),
/// or null when the channel is disconnected.
#[derive(Debug)]
pub struct ZeroToken(pub *mut ());

impl Default for ZeroToken {
    #[inline]
    fn default() -> Self {
        ZeroToken(ptr::null_mut())
    }
}

/// What a receive found in a selected sender's packet.
enum Taken<T> {
    Message(T),
    /// The select sender gave up its reservation: try again.
    Cancelled,
}

struct Inner {
    /// Blocked or registered senders; their packets hold or will hold a message.
    senders: Waiters,
    /// Blocked or registered receivers; their packets are empty.
    receivers: Waiters,
    is_disconnected: bool,
}

/// A rendezvous channel: every send waits for a receive and vice versa.
pub struct Channel<T> {
    inner: Mutex<Inner>,
    _marker: PhantomData<T>,
}

// SAFETY: the channel hands `T` values from one thread to another, which
// needs `T: Send`. The raw packet pointers in the queues are only used
// under the protocol above (each access synchronised by the lock, the
// selection compare-and-swap or the packet state).
unsafe impl<T: Send> Send for Channel<T> {}
// SAFETY: as above; all shared state is behind the mutex or atomic.
unsafe impl<T: Send> Sync for Channel<T> {}

impl<T> Default for Channel<T> {
    fn default() -> Self {
        Channel::new()
    }
}

impl<T> Channel<T> {
    /// Creates a rendezvous channel.
    pub fn new() -> Self {
        Channel {
            inner: Mutex::new(Inner {
                senders: Waiters::new(),
                receivers: Waiters::new(),
                is_disconnected: false,
            }),
            _marker: PhantomData,
        }
    }

    #[inline]
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock()
    }

    /// Reserves a waiting partner's packet (`token.zero`) for a send if
    /// `sending`, else for a receive; a null packet with `true` means the
    /// channel is disconnected.
    fn start(&self, sending: bool, token: &mut Token) -> bool {
        let mut inner = self.lock();
        if let Some(entry) = inner.queues(sending).1.try_select() {
            token.zero.0 = entry.packet;
            drop(inner);
            entry.cx.unpark();
            true
        } else if inner.is_disconnected {
            token.zero.0 = ptr::null_mut();
            true
        } else {
            false
        }
    }

    /// Takes the reserved packet out of `token`: `None` if the reservation
    /// found the channel disconnected.
    fn reserved_packet(token: &mut Token) -> Option<*mut Packet<T>> {
        let packet = mem::replace(&mut token.zero.0, ptr::null_mut()).cast::<Packet<T>>();
        (!packet.is_null()).then_some(packet)
    }

    /// Reserves a waiting receiver's packet for a send (see `start`).
    pub fn start_send(&self, token: &mut Token) -> bool {
        self.start(true, token)
    }

    /// Completes a send reserved by `start_send` (or by `accept` on a select
    /// sender): writes the message into the packet and releases it.
    ///
    /// # Safety
    /// `token` must hold a reservation made on this channel for a send, not
    /// yet completed or cancelled.
    pub unsafe fn write(&self, token: &mut Token, msg: T) -> Result<(), T> {
        let Some(packet) = Self::reserved_packet(token) else {
            return Err(msg);
        };
        // SAFETY: a reserved send packet is alive, empty, and this thread is
        // the one that sets its state (module invariants).
        unsafe { Packet::fill(packet, msg) };
        Ok(())
    }

    /// Gives up a send reserved by `start_send` or `accept` without sending
    /// (for a select operation that is dropped uncompleted). The partner
    /// receiver goes back to waiting for another sender.
    ///
    /// # Safety
    /// As for `write`.
    pub unsafe fn cancel_send(&self, token: &mut Token) {
        let Some(packet) = Self::reserved_packet(token) else {
            return;
        };
        // SAFETY: as in `write`: alive, and we set its state.
        unsafe { Packet::finish(packet, Outcome::Retry) };
    }

    /// Reserves a waiting sender's packet for a receive (see `start`).
    pub fn start_recv(&self, token: &mut Token) -> bool {
        self.start(false, token)
    }

    /// Completes a receive reserved by `start_recv` (or by `accept` on a
    /// select receiver): takes the message and releases (or frees) the packet.
    ///
    /// If the partner cancelled its reservation, this blocks on a plain
    /// receive instead: the select operation has committed to this channel.
    ///
    /// # Safety
    /// `token` must hold a reservation made on this channel for a receive,
    /// not yet completed or cancelled.
    pub unsafe fn read(&self, token: &mut Token) -> Result<T, ()> {
        let Some(packet) = Self::reserved_packet(token) else {
            return Err(());
        };
        // SAFETY: a reserved receive packet is alive until we let it go; its
        // writer (if any) was woken when it was selected or is the partner
        // that selected us.
        match unsafe { Self::take_packet(packet) } {
            Taken::Message(msg) => Ok(msg),
            Taken::Cancelled => self.recv(None).map_err(|_| ()),
        }
    }

    /// Gives up a receive reserved by `start_recv` or `accept` (for a select
    /// operation that is dropped uncompleted). A blocked sender keeps its
    /// message and goes back to waiting; a message already written into a
    /// select packet is dropped, as if received and discarded.
    ///
    /// # Safety
    /// As for `read`.
    pub unsafe fn cancel_recv(&self, token: &mut Token) {
        let Some(packet) = Self::reserved_packet(token) else {
            return;
        };
        // SAFETY: a reserved receive packet is alive until we let it go.
        if unsafe { (*packet).is_on_stack() } {
            // A blocked sender's packet: we set its state.
            // SAFETY: alive until this store, our last access.
            unsafe { Packet::finish(packet, Outcome::Retry) };
        } else {
            // A heap packet: its writer sets the state; we are its reader and
            // free it. The writer is the partner that selected us or a select
            // sender that was woken when we selected it.
            // SAFETY: alive; only we free it.
            unsafe { (*packet).wait() };
            // SAFETY: the writer is done; the packet is ours to free.
            drop(unsafe { Packet::free_heap(packet) });
        }
    }

    /// Takes the message of a selected sender's packet: a blocked sender's
    /// stack packet (then releases it), or a heap packet (waits for the
    /// writer, then frees it).
    ///
    /// # Safety
    /// `packet` must be a packet selected for a receive by (or for) this
    /// thread, not yet read; if it is a heap packet its writer must be awake.
    unsafe fn take_packet(packet: *mut Packet<T>) -> Taken<T> {
        // SAFETY: the packet is alive: its owner waits for the state (stack)
        // or only the reader frees it (heap).
        if unsafe { (*packet).is_on_stack() } {
            // SAFETY: a blocked sender's packet holds its message from the
            // start and the sender does not touch it before the state changes.
            let msg = unsafe { (*packet).take() };
            // SAFETY: still alive; after this store the owner may free it.
            unsafe { Packet::finish(packet, Outcome::Done) };
            Taken::Message(msg.expect("a blocked sender's packet holds its message"))
        } else {
            // SAFETY: alive until freed below, by us only.
            let outcome = unsafe { (*packet).wait() };
            // SAFETY: the writer is done with it; the reader of a heap packet
            // frees it (module invariants). The message is dropped by the
            // caller, outside any lock.
            let msg = unsafe { Packet::free_heap(packet) };
            match (outcome, msg) {
                (Outcome::Done, Some(msg)) => Taken::Message(msg),
                (Outcome::Retry, None) => Taken::Cancelled,
                _ => unreachable!("a ready packet holds a message, a cancelled one none"),
            }
        }
    }

    /// Sends only if a receiver is already waiting.
    #[inline(never)]
    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        let mut inner = self.lock();
        if let Some(entry) = inner.receivers.try_select() {
            drop(inner);
            // SAFETY: we selected the receiver, whose packet waits for us.
            unsafe { Self::write_packet(entry, msg) };
            Ok(())
        } else if inner.is_disconnected {
            drop(inner);
            Err(TrySendError::Disconnected(msg))
        } else {
            drop(inner);
            Err(TrySendError::Full(msg))
        }
    }

    /// Wakes a selected receiver and fills its packet.
    ///
    /// # Safety
    /// `entry` must have just been selected from `receivers` by this thread.
    unsafe fn write_packet(entry: Entry, msg: T) {
        let Entry { packet, cx, .. } = entry;
        // Wake first and let go of the context before the state changes:
        // the waiter cannot return before that, so when it does, its cached
        // context is no longer shared and is reused without allocating.
        cx.unpark();
        drop(cx);
        // SAFETY: a selected receiver's packet is empty and alive until we
        // set its state, which `fill` does last.
        unsafe { Packet::fill(packet.cast::<Packet<T>>(), msg) };
    }

    /// Sends, blocking until a receiver takes the message or `deadline`.
    #[inline(never)]
    pub fn send(&self, msg: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        let mut msg = msg;
        loop {
            let mut inner = self.lock();
            if let Some(entry) = inner.receivers.try_select() {
                drop(inner);
                // SAFETY: we selected the receiver, whose packet waits for us.
                unsafe { Self::write_packet(entry, msg) };
                return Ok(());
            }
            if inner.is_disconnected {
                drop(inner);
                return Err(SendTimeoutError::Disconnected(msg));
            }
            if let Some(deadline) = deadline {
                if Instant::now() >= deadline {
                    drop(inner);
                    return Err(SendTimeoutError::Timeout(msg));
                }
            }

            match self.wait_in_queue(inner, true, Some(msg), deadline) {
                Waited::Done(_) => return Ok(()),
                Waited::Retry(back) => msg = back.expect(UNSENT),
                Waited::Unselected(selected, back) => {
                    let msg = back.expect(UNSENT);
                    return Err(match selected {
                        Selected::Disconnected => SendTimeoutError::Disconnected(msg),
                        _ => SendTimeoutError::Timeout(msg),
                    });
                }
            }
        }
    }

    /// Receives only if a sender is already waiting.
    #[inline(never)]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.recv_from_waiting_sender() {
            Ok(msg) => Ok(msg),
            Err(inner) if inner.is_disconnected => Err(TryRecvError::Disconnected),
            Err(_) => Err(TryRecvError::Empty),
        }
    }

    /// Takes the message of a waiting sender, if one waits; `Err` with the
    /// lock still held if none does. A select sender that gives up its
    /// reservation meanwhile is passed over.
    fn recv_from_waiting_sender(&self) -> Result<T, MutexGuard<'_, Inner>> {
        loop {
            let mut inner = self.lock();
            let Some(entry) = inner.senders.try_select() else {
                return Err(inner);
            };
            drop(inner);
            // SAFETY: we selected the sender.
            if let Taken::Message(msg) = unsafe { Self::take_from(entry) } {
                return Ok(msg);
            }
        }
    }

    /// Takes the message of a selected sender and wakes it.
    ///
    /// # Safety
    /// `entry` must have just been selected from `senders` by this thread.
    unsafe fn take_from(entry: Entry) -> Taken<T> {
        let Entry { packet, cx, .. } = entry;
        let packet = packet.cast::<Packet<T>>();
        // SAFETY: the packet is alive until we set its state (stack) or free
        // it (heap).
        if unsafe { (*packet).is_on_stack() } {
            // SAFETY: a blocked sender's packet holds its message and the
            // sender does not touch it before the state changes.
            let msg = unsafe { (*packet).take() };
            // As in `write_packet`: wake and drop the context first.
            cx.unpark();
            drop(cx);
            // SAFETY: still alive; after this store the owner may free it.
            unsafe { Packet::finish(packet, Outcome::Done) };
            Taken::Message(msg.expect("a blocked sender's packet holds its message"))
        } else {
            // A select sender writes its message only once awake.
            cx.unpark();
            drop(cx);
            // SAFETY: selected by us, not read yet; the writer is woken.
            unsafe { Self::take_packet(packet) }
        }
    }

    /// Receives, blocking until a sender hands over a message or `deadline`.
    #[inline(never)]
    pub fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        loop {
            let inner = match self.recv_from_waiting_sender() {
                Ok(msg) => return Ok(msg),
                Err(inner) => inner,
            };
            if inner.is_disconnected {
                return Err(RecvTimeoutError::Disconnected);
            }
            if let Some(deadline) = deadline {
                if Instant::now() >= deadline {
                    return Err(RecvTimeoutError::Timeout);
                }
            }

            match self.wait_in_queue(inner, false, None, deadline) {
                Waited::Done(msg) => {
                    return Ok(msg.expect("a done receiver's packet holds a message"))
                }
                // The sender cancelled: wait again.
                Waited::Retry(_) => {}
                Waited::Unselected(Selected::Disconnected, _) => {
                    return Err(RecvTimeoutError::Disconnected)
                }
                Waited::Unselected(..) => return Err(RecvTimeoutError::Timeout),
            }
        }
    }

    /// Registers a plain blocking operation with a stack packet holding
    /// `msg` (a sender's message, or `None` for a receiver) in its own queue,
    /// releases the lock and waits until a partner selects it or `deadline`.
    /// Returns what the packet holds then.
    fn wait_in_queue(
        &self,
        mut inner: MutexGuard<'_, Inner>,
        sending: bool,
        msg: Option<T>,
        deadline: Option<Instant>,
    ) -> Waited<T> {
        Context::with(|cx| {
            let mut packet = Packet::on_stack(msg);
            let oper = Operation::hook(&mut packet);
            let packet: *mut Packet<T> = &mut packet;
            let (mine, partners) = inner.queues(sending);
            mine.register_with_packet(oper, packet.cast::<()>(), cx);
            probes::count(Event::Registration);
            if !partners.is_empty() {
                partners.notify_observers();
            }
            drop(inner);

            let selected = cx.wait_until(deadline);
            if let Selected::Operation(_) = selected {
                // SAFETY: the packet is alive (this frame); the partner that
                // selected us stores the state as its last access.
                let outcome = unsafe { (*packet).wait() };
                // SAFETY: the partner is done: the packet is ours again.
                let msg = unsafe { (*packet).take() };
                return match outcome {
                    Outcome::Done => Waited::Done(msg),
                    Outcome::Retry => Waited::Retry(msg),
                };
            }
            // Nobody selected us: remove the entry (still there, since only
            // a successful selection removes it); after that no partner can
            // reach the packet.
            let entry = self.lock().queues(sending).0.unregister(oper);
            debug_assert!(entry.is_some(), "an unselected waiter stays registered");
            drop(entry);
            // SAFETY: unregistered, so the packet is ours alone.
            Waited::Unselected(selected, unsafe { (*packet).take() })
        })
    }

    /// One poll of an async send (`Sender::send_async`). Unlike other task
    /// waits, the sender waits with its message, as a blocked thread does:
    /// a task receiver only observes (`SelectHandle::register_task`), so
    /// one of the two sides must leave something to pair with, and it is
    /// the one that already has the message. Its packet is its own
    /// (`Packet::owned_on_heap`); whoever selects it takes the message
    /// and stores `DONE`, exactly as with a blocked thread's stack packet.
    ///
    /// `msg` holds the message while the send is not parked; `parked` the
    /// registration while it is. `Ready(Err(msg))` if disconnected.
    #[cfg(feature = "async")]
    pub fn poll_send(
        &self,
        msg: &mut Option<T>,
        parked: &mut Option<ParkedSend<T>>,
        waker: &Waker,
    ) -> Poll<Result<(), T>> {
        if let Some(mine) = parked {
            if mine.cx.selected() == Selected::Waiting && mine.cx.wakes(waker) {
                return Poll::Pending;
            }
            let mine = parked.take().expect("checked above");
            match self.unpark_send(mine) {
                None => return Poll::Ready(Ok(())),
                Some(back) => *msg = Some(back),
            }
        }
        let value = msg.take().expect("a send future polled after it completed");
        let mut inner = self.lock();
        if let Some(entry) = inner.receivers.try_select() {
            drop(inner);
            // SAFETY: we selected the receiver, whose packet waits for us.
            unsafe { Self::write_packet(entry, value) };
            return Poll::Ready(Ok(()));
        }
        if inner.is_disconnected {
            drop(inner);
            return Poll::Ready(Err(value));
        }
        let packet = Packet::owned_on_heap(value);
        let cx = Context::for_task(waker.clone());
        inner
            .senders
            .register_with_packet(cx.operation(), packet.cast::<()>(), &cx);
        probes::count(Event::Registration);
        inner.receivers.notify_observers();
        drop(inner);
        *parked = Some(ParkedSend { packet, cx });
        Poll::Pending
    }

    /// Ends a parked async send: `None` if a receiver took the message,
    /// else the message back (nobody selected it, the receiver gave its
    /// reservation up, or the channel got disconnected).
    #[cfg(feature = "async")]
    pub fn unpark_send(&self, mine: ParkedSend<T>) -> Option<T> {
        let ParkedSend { packet, cx } = mine;
        let entry = self.lock().senders.unregister(cx.operation());
        // Still queued: nobody selected it, and now nobody can. Otherwise
        // the partner that selected it is finishing with the packet.
        // SAFETY: the packet is alive until we free it below.
        let outcome = entry.is_none().then(|| unsafe { (*packet).wait() });
        drop(entry);
        // SAFETY: unregistered, or the selecting partner stored the state,
        // its last access: the packet is ours alone.
        let back = unsafe { Packet::free_owned(packet) };
        match outcome {
            Some(Outcome::Done) => None,
            Some(Outcome::Retry) | None => Some(back.expect(UNSENT)),
        }
    }

    /// Always 0: a rendezvous channel holds no messages.
    pub fn len(&self) -> usize {
        0
    }

    /// Always `Some(0)`.
    pub fn capacity(&self) -> Option<usize> {
        Some(0)
    }

    /// Always true.
    pub fn is_empty(&self) -> bool {
        true
    }

    /// Always true.
    pub fn is_full(&self) -> bool {
        true
    }

    /// True once `disconnect` was called.
    pub fn is_disconnected(&self) -> bool {
        self.lock().is_disconnected
    }

    /// How many operations wait: `(senders, receivers)`.
    #[cfg(feature = "stats")]
    pub fn blocked(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.senders.len(), inner.receivers.len())
    }

    /// Disconnects the channel and wakes every waiter; true if this call
    /// did it (false if it was already disconnected).
    pub fn disconnect(&self) -> bool {
        let mut inner = self.lock();
        if inner.is_disconnected {
            return false;
        }
        inner.is_disconnected = true;
        inner.senders.disconnect();
        inner.receivers.disconnect();
        true
    }

    /// A select handle for the receiving side.
    pub fn receiver(&self) -> Receiver<'_, T> {
        Side {
            chan: self,
            sending: false,
        }
    }

    /// A select handle for the sending side.
    pub fn sender(&self) -> Sender<'_, T> {
        Side {
            chan: self,
            sending: true,
        }
    }

    /// Frees the heap packet of a select registration that was never
    /// selected.
    fn free_unselected(entry: Option<Entry>) {
        if let Some(entry) = entry {
            // SAFETY: registrations made through `SelectHandle::register`
            // carry a heap packet; the entry was still queued, so nobody
            // selected it and nobody else holds the pointer. It is empty.
            let msg = unsafe { Packet::free_heap(entry.packet.cast::<Packet<T>>()) };
            debug_assert!(msg.is_none());
        }
    }
}

/// An async send parked in a zero channel (see `Channel::poll_send`).
#[cfg(feature = "async")]
pub struct ParkedSend<T> {
    /// Its own packet, holding the message until a receiver takes it.
    packet: *mut Packet<T>,
    /// The task's context, which the packet is registered under.
    cx: Context,
}

// SAFETY: the packet pointer is the parked sender's own allocation; it
// crosses threads only with its `T`, under the packet protocol.
#[cfg(feature = "async")]
unsafe impl<T: Send> Send for ParkedSend<T> {}
// SAFETY: `&ParkedSend` gives no access to the packet.
#[cfg(feature = "async")]
unsafe impl<T: Send> Sync for ParkedSend<T> {}

/// How a plain blocking operation's wait ended, with what its packet held.
enum Waited<T> {
    /// A partner completed the operation: a receiver's packet holds the
    /// message.
    Done(Option<T>),
    /// A partner selected it but gave up its reservation: a sender's packet
    /// still holds the message; try again.
    Retry(Option<T>),
    /// Nobody selected it: timed out or disconnected.
    Unselected(Selected, Option<T>),
}

/// One side of a zero channel, for the select engine. The two sides are
/// mirror images: each registers in its own queue and waits for a partner
/// in the other.
pub struct Side<'a, T> {
    chan: &'a Channel<T>,
    sending: bool,
}

/// The receiving side of a zero channel, for the select engine.
pub type Receiver<'a, T> = Side<'a, T>;

/// The sending side of a zero channel, for the select engine.
pub type Sender<'a, T> = Side<'a, T>;

impl Inner {
    /// The queue a side registers in, and the queue of its partners.
    fn queues(&mut self, sending: bool) -> (&mut Waiters, &mut Waiters) {
        if sending {
            (&mut self.senders, &mut self.receivers)
        } else {
            (&mut self.receivers, &mut self.senders)
        }
    }

    /// The side's readiness: a partner of another thread waits, or the
    /// channel is disconnected; a blocked side's stamp is its partners'
    /// queue's count of registrations (see the header).
    fn readiness(&mut self, sending: bool) -> Readiness {
        let is_disconnected = self.is_disconnected;
        let (_, partners) = self.queues(sending);
        if partners.can_select() || is_disconnected {
            Readiness::Ready
        } else {
            Readiness::Blocked(u128::from(partners.registrations()))
        }
    }
}

impl<T> SelectHandle for Side<'_, T> {
    fn try_select(&self, token: &mut Token) -> bool {
        if self.sending {
            self.chan.start_send(token)
        } else {
            self.chan.start_recv(token)
        }
    }

    fn deadline(&self) -> Option<Instant> {
        None
    }

    fn register(&self, oper: Operation, cx: &Context) -> bool {
        let packet = Packet::<T>::empty_on_heap();
        let mut inner = self.chan.lock();
        let (mine, partners) = inner.queues(self.sending);
        mine.register_with_packet(oper, packet.cast::<()>(), cx);
        partners.notify_observers();
        inner.readiness(self.sending) == Readiness::Ready
    }

    fn unregister(&self, oper: Operation) {
        let entry = self.chan.lock().queues(self.sending).0.unregister(oper);
        Channel::<T>::free_unselected(entry);
    }

    fn accept(&self, token: &mut Token, cx: &Context) -> bool {
        // The partner that selected us published our packet: a receiver
        // reads what its sender writes into it, a sender writes into it
        // and its receiver frees it.
        token.zero.0 = cx.wait_packet();
        true
    }

    fn is_ready(&self) -> bool {
        self.observe() == Readiness::Ready
    }

    fn observe(&self) -> Readiness {
        self.chan.lock().readiness(self.sending)
    }

    fn watch(&self, oper: Operation, cx: &Context) -> bool {
        let mut inner = self.chan.lock();
        inner.queues(self.sending).0.watch(oper, cx);
        inner.readiness(self.sending) == Readiness::Ready
    }

    fn unwatch(&self, oper: Operation) {
        self.chan.lock().queues(self.sending).0.unwatch(oper);
    }

    // A task never leaves a packet for a partner to complete (see
    // `SelectHandle::register_task`): it observes, is woken whenever a
    // partner registers, and pairs up in its own poll. A task's send
    // waits with its message instead (`Channel::poll_send`).
    fn register_task(&self, oper: Operation, cx: &Context) -> bool {
        self.watch(oper, cx)
    }

    fn unregister_task(&self, oper: Operation) {
        self.unwatch(oper)
    }
}

#[cfg(all(test, not(loom)))]
#[path = "zero_tests.rs"]
mod tests;

#[cfg(all(test, loom))]
#[path = "zero_loom.rs"]
mod loom_tests;
