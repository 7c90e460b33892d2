//! The zero flavor: a rendezvous channel (`bounded(0)`).
//!
//! Algorithm: there is no buffer. One mutex guards two wait queues
//! (`senders`, `receivers`) and the `is_disconnected` flag. A message goes
//! straight from one thread to the other through a *packet*: a `state` word
//! (`PENDING`, then `READY` or `CANCELLED`) plus a message cell.
//!
//! - An operation that finds a partner waiting in the opposite queue selects
//!   it (`Waiters::try_select`: one compare-and-swap on the partner's
//!   context, entry removed from the queue) and takes the partner's packet
//!   pointer. A sender then writes its message into the packet and sets
//!   `READY`; a receiver takes the message out of a blocked sender's packet
//!   and sets `READY`.
//! - An operation that finds nobody registers itself with a packet and
//!   blocks. A blocked sender's packet lives on its own stack and holds its
//!   message; a blocked receiver's packet lives on its stack and is empty.
//!   When woken with `Selected::Operation`, the blocked thread waits for the
//!   state to leave `PENDING` and only then lets its stack frame go.
//!   Blocking first yields the processor, re-checking the selection, up to
//!   `PRE_YIELDS` times, and only then waits in `Context::wait_until` (spin,
//!   yield, park): a rendezvous partner is usually due within microseconds,
//!   and with more runnable threads than cores it often needs this very core.
//! - A select registration (`SelectHandle::register`) does not know whether
//!   its operation will be the one completed, and completion happens after
//!   the registering frame returns, so its packet is allocated on the heap
//!   (`on_stack == false`), always empty at first. The selecting partner
//!   publishes it to the waiter through the context (`store_packet`); the
//!   waiter's `accept` picks it up. A select sender then `write`s into its
//!   own packet and the partner that selected it reads it.
//!
//! Ownership of a packet (the invariants):
//! - Exactly one party ever changes a packet's state, once: the *writer* of
//!   a receiver packet or of a select sender's heap packet, or the *reader*
//!   of a blocked sender's stack packet. Its store (release) is its last
//!   access to the packet.
//! - A stack packet belongs to its blocked owner, which does not return
//!   before the state has left `PENDING` (or, when its wait ended without
//!   being selected, before it unregistered the entry under the lock, after
//!   which nobody can select it).
//! - A heap packet that was never selected is freed by `unregister`, which
//!   finds the entry still queued. A selected heap packet is out of the queue
//!   and is freed by its *reader* (the select receiver that registered it,
//!   or the receiver that selected a registered select sender), after the
//!   state left `PENDING`. So each heap packet is freed exactly once.
//! - `CANCELLED` means a reservation was given up (`cancel_send` /
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
use crate::select::{Readiness, SelectHandle, Token};
use crate::sync::{park_timeout, AtomicUsize, Backoff, Mutex, MutexGuard, Ordering, UnsafeCell};
use crate::waiters::{Entry, Waiters};
use std::marker::PhantomData;
use std::ptr;
use std::time::{Duration, Instant};

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

/// The packet's partner has not finished yet.
const PENDING: usize = 0;
/// The message changed hands (written into, or taken out of, the packet).
const READY: usize = 1;
/// The reservation was given up; the message did not change hands.
const CANCELLED: usize = 2;

/// The place where one message changes hands.
struct Packet<T> {
    /// True if the packet lives in a blocked thread's stack frame (its owner
    /// frees it); false if it is a heap allocation of a select registration.
    on_stack: bool,
    /// `PENDING`, then `READY` or `CANCELLED` (see the module invariants).
    state: AtomicUsize,
    /// The message, when there is one.
    msg: UnsafeCell<Option<T>>,
}

impl<T> Packet<T> {
    fn on_stack(msg: Option<T>) -> Packet<T> {
        Packet {
            on_stack: true,
            state: AtomicUsize::new(PENDING),
            msg: UnsafeCell::new(msg),
        }
    }

    fn empty_on_heap() -> *mut Packet<T> {
        Box::into_raw(Box::new(Packet {
            on_stack: false,
            state: AtomicUsize::new(PENDING),
            msg: UnsafeCell::new(None),
        }))
    }

    /// Waits until the partner has finished with the packet; true if the
    /// message changed hands, false if the partner cancelled.
    ///
    /// The partner is normally running and finishes within a few hundred
    /// nanoseconds; it can be delayed (preempted, or a `SelectedOperation`
    /// kept a while before completion), so after spinning and yielding the
    /// wait turns into short sleeps instead of burning a core.
    fn wait(&self) -> bool {
        let mut backoff = Backoff::new();
        let mut rounds = 0u32;
        loop {
            match self.state.load(Ordering::Acquire) {
                PENDING => {}
                state => return state == READY,
            }
            if rounds < 64 {
                backoff.snooze();
                rounds += 1;
            } else {
                park_timeout(Duration::from_micros(100));
            }
        }
    }

    /// Takes the message out.
    ///
    /// # Safety
    /// The caller must have exclusive access to `msg`: it is the owner and
    /// the partner is done (or was never given the packet), or it is the
    /// partner before it sets the state.
    unsafe fn take(&self) -> Option<T> {
        // SAFETY: exclusive access, by the caller's contract.
        self.msg.with_mut(|msg| unsafe { (*msg).take() })
    }

    /// Puts a message into an empty packet and publishes it.
    ///
    /// Takes a raw pointer, not `&self`: the packet may be freed as soon as
    /// the state is stored, while a `&self` argument would still be live.
    ///
    /// # Safety
    /// `packet` must be alive, empty, and the caller the party that sets its
    /// state (module invariants).
    unsafe fn fill(packet: *mut Packet<T>, msg: T) {
        // SAFETY: exclusive access to the message, by the caller's contract;
        // the slot is empty, so nothing is overwritten without being dropped.
        unsafe { (*packet).msg.with_mut(|slot| ptr::write(slot, Some(msg))) };
        // SAFETY: as for `finish`.
        unsafe { Self::finish(packet, READY) };
    }

    /// Publishes the final state. Only the `state` field is borrowed, for the
    /// store itself: the packet may be freed as soon as it lands.
    ///
    /// # Safety
    /// `packet` must be alive and the caller the party that sets its state.
    unsafe fn finish(packet: *const Packet<T>, state: usize) {
        // SAFETY: alive by the caller's contract; `state` is an atomic, so
        // a concurrent reader is fine.
        unsafe { (*packet).state.store(state, Ordering::Release) };
    }
}

/// Frees a heap packet, returning its message if it holds one.
///
/// # Safety
/// `packet` must be a heap packet that the caller alone may free: never
/// selected and unregistered, or selected and read by the caller after its
/// state left `PENDING`.
unsafe fn free_heap<T>(packet: *mut Packet<T>) -> Option<T> {
    // SAFETY: by the caller's contract nobody else can reach the packet; it
    // came from `Box::into_raw` in `empty_on_heap`.
    let packet = unsafe { Box::from_raw(packet) };
    debug_assert!(!packet.on_stack);
    // SAFETY: we own the packet.
    unsafe { packet.take() }
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

    /// Reserves a waiting receiver's packet for a send (`token.zero`); a null
    /// packet with `true` means the channel is disconnected.
    pub fn start_send(&self, token: &mut Token) -> bool {
        let mut inner = self.lock();
        if let Some(entry) = inner.receivers.try_select() {
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

    /// Completes a send reserved by `start_send` (or by `accept` on a select
    /// sender): writes the message into the packet and releases it.
    ///
    /// # Safety
    /// `token` must hold a reservation made on this channel for a send, not
    /// yet completed or cancelled.
    pub unsafe fn write(&self, token: &mut Token, msg: T) -> Result<(), T> {
        let packet = token.zero.0.cast::<Packet<T>>();
        if packet.is_null() {
            return Err(msg);
        }
        token.zero.0 = ptr::null_mut();
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
        let packet = token.zero.0.cast::<Packet<T>>();
        if packet.is_null() {
            return;
        }
        token.zero.0 = ptr::null_mut();
        // SAFETY: as in `write`: alive, and we set its state.
        unsafe { Packet::finish(packet, CANCELLED) };
    }

    /// Reserves a waiting sender's packet for a receive (`token.zero`); a
    /// null packet with `true` means the channel is disconnected.
    pub fn start_recv(&self, token: &mut Token) -> bool {
        let mut inner = self.lock();
        if let Some(entry) = inner.senders.try_select() {
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
        let packet = token.zero.0.cast::<Packet<T>>();
        if packet.is_null() {
            return Err(());
        }
        token.zero.0 = ptr::null_mut();
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
        let packet = token.zero.0.cast::<Packet<T>>();
        if packet.is_null() {
            return;
        }
        token.zero.0 = ptr::null_mut();
        // SAFETY: a reserved receive packet is alive until we let it go.
        if unsafe { (*packet).on_stack } {
            // A blocked sender's packet: we set its state.
            // SAFETY: alive until this store, our last access.
            unsafe { Packet::finish(packet, CANCELLED) };
        } else {
            // A heap packet: its writer sets the state; we are its reader and
            // free it. The writer is the partner that selected us or a select
            // sender that was woken when we selected it.
            // SAFETY: alive; only we free it.
            unsafe { (*packet).wait() };
            // SAFETY: the writer is done; the packet is ours to free.
            drop(unsafe { free_heap(packet) });
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
        if unsafe { (*packet).on_stack } {
            // SAFETY: a blocked sender's packet holds its message from the
            // start and the sender does not touch it before the state changes.
            let msg = unsafe { (*packet).take() };
            // SAFETY: still alive; after this store the owner may free it.
            unsafe { Packet::finish(packet, READY) };
            Taken::Message(msg.expect("a blocked sender's packet holds its message"))
        } else {
            // SAFETY: alive until freed below, by us only.
            let ready = unsafe { (*packet).wait() };
            // SAFETY: the writer is done with it; the reader of a heap packet
            // frees it (module invariants). The message is dropped by the
            // caller, outside any lock.
            let msg = unsafe { free_heap(packet) };
            match (ready, msg) {
                (true, Some(msg)) => Taken::Message(msg),
                (false, None) => Taken::Cancelled,
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

            let result = Context::with(|cx| {
                let mut packet = Packet::on_stack(Some(msg));
                let oper = Operation::hook(&mut packet);
                let packet: *mut Packet<T> = &mut packet;
                inner
                    .senders
                    .register_with_packet(oper, packet.cast::<()>(), cx);
                if !inner.receivers.is_empty() {
                    inner.receivers.notify_observers();
                }
                drop(inner);

                let selected = block(cx, deadline);
                if let Selected::Operation(_) = selected {
                    // SAFETY: the packet is alive (this frame); the receiver
                    // that selected us sets the state as its last access.
                    if unsafe { (*packet).wait() } {
                        return Ok(());
                    }
                    // SAFETY: the receiver cancelled and is gone: the
                    // packet and its message are ours again.
                    let msg = unsafe { (*packet).take() };
                    return Err(SendRetry::Again(msg.expect(UNSENT)));
                }
                // Nobody selected us: remove the entry (still there, since
                // only a successful selection removes it); after that no
                // partner can reach the packet.
                let entry = self.lock().senders.unregister(oper);
                debug_assert!(entry.is_some(), "an unselected sender stays registered");
                drop(entry);
                // SAFETY: unregistered, so the packet is ours alone.
                let msg = unsafe { (*packet).take() }.expect(UNSENT);
                Err(SendRetry::Fail(match selected {
                    Selected::Disconnected => SendTimeoutError::Disconnected(msg),
                    _ => SendTimeoutError::Timeout(msg),
                }))
            });
            match result {
                Ok(()) => return Ok(()),
                Err(SendRetry::Again(again)) => msg = again,
                Err(SendRetry::Fail(error)) => return Err(error),
            }
        }
    }

    /// Receives only if a sender is already waiting.
    #[inline(never)]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        loop {
            let mut inner = self.lock();
            if let Some(entry) = inner.senders.try_select() {
                drop(inner);
                // SAFETY: we selected the sender.
                match unsafe { Self::take_from(entry) } {
                    Taken::Message(msg) => return Ok(msg),
                    Taken::Cancelled => continue,
                }
            } else if inner.is_disconnected {
                return Err(TryRecvError::Disconnected);
            } else {
                return Err(TryRecvError::Empty);
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
        if unsafe { (*packet).on_stack } {
            // SAFETY: a blocked sender's packet holds its message and the
            // sender does not touch it before the state changes.
            let msg = unsafe { (*packet).take() };
            // As in `write_packet`: wake and drop the context first.
            cx.unpark();
            drop(cx);
            // SAFETY: still alive; after this store the owner may free it.
            unsafe { Packet::finish(packet, READY) };
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
            let mut inner = self.lock();
            if let Some(entry) = inner.senders.try_select() {
                drop(inner);
                // SAFETY: we selected the sender.
                match unsafe { Self::take_from(entry) } {
                    Taken::Message(msg) => return Ok(msg),
                    Taken::Cancelled => continue,
                }
            }
            if inner.is_disconnected {
                return Err(RecvTimeoutError::Disconnected);
            }
            if let Some(deadline) = deadline {
                if Instant::now() >= deadline {
                    return Err(RecvTimeoutError::Timeout);
                }
            }

            let result = Context::with(|cx| {
                let mut packet = Packet::<T>::on_stack(None);
                let oper = Operation::hook(&mut packet);
                let packet: *mut Packet<T> = &mut packet;
                inner
                    .receivers
                    .register_with_packet(oper, packet.cast::<()>(), cx);
                if !inner.senders.is_empty() {
                    inner.senders.notify_observers();
                }
                drop(inner);

                let selected = block(cx, deadline);
                if let Selected::Operation(_) = selected {
                    // SAFETY: the packet is alive (this frame); the sender
                    // that selected us sets the state as its last access.
                    if unsafe { (*packet).wait() } {
                        // SAFETY: the writer is done: the packet is ours.
                        let msg = unsafe { (*packet).take() };
                        return Ok(Some(msg.expect("a ready packet holds a message")));
                    }
                    // The sender cancelled: wait again.
                    return Ok(None);
                }
                let entry = self.lock().receivers.unregister(oper);
                debug_assert!(entry.is_some(), "an unselected receiver stays registered");
                drop(entry);
                match selected {
                    Selected::Disconnected => Err(RecvTimeoutError::Disconnected),
                    _ => Err(RecvTimeoutError::Timeout),
                }
            });
            match result {
                Ok(Some(msg)) => return Ok(msg),
                Ok(None) => {}
                Err(error) => return Err(error),
            }
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
    #[allow(dead_code)] // part of the flavor interface; the handles do not need it
    pub fn is_disconnected(&self) -> bool {
        self.lock().is_disconnected
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
        Receiver(self)
    }

    /// A select handle for the sending side.
    pub fn sender(&self) -> Sender<'_, T> {
        Sender(self)
    }

    /// Frees the heap packet of a select registration that was never
    /// selected.
    fn free_unselected(entry: Option<Entry>) {
        if let Some(entry) = entry {
            // SAFETY: registrations made through `SelectHandle::register`
            // carry a heap packet; the entry was still queued, so nobody
            // selected it and nobody else holds the pointer. It is empty.
            let msg = unsafe { free_heap(entry.packet.cast::<Packet<T>>()) };
            debug_assert!(msg.is_none());
        }
    }
}

/// How a blocking send attempt that did not hand over its message ended.
enum SendRetry<T> {
    /// The receiver cancelled: the message is back, try again.
    Again(T),
    /// Timed out or disconnected.
    Fail(SendTimeoutError<T>),
}

/// Times a blocked plain send or receive yields the processor (re-checking
/// its selection in between) before it falls back to `Context::wait_until`.
const PRE_YIELDS: u32 = if cfg!(loom) { 0 } else { 128 };

/// Waits until a partner selects the blocked operation (or `deadline`).
///
/// A rendezvous partner usually arrives within microseconds, and with more
/// runnable threads than cores it is often waiting for this very core: so
/// the waiter yields at once, without spinning first, and only then goes
/// through `wait_until` (brief spinning, more yields, then parking).
fn block(cx: &Context, deadline: Option<Instant>) -> Selected {
    cx.yield_while_waiting(PRE_YIELDS, deadline)
        .unwrap_or_else(|| cx.wait_until(deadline))
}

/// Why a blocked sender's packet still holds a message.
const UNSENT: &str = "an unsent message stays in the sender's packet";

/// The receiving side of a zero channel, for the select engine.
pub struct Receiver<'a, T>(&'a Channel<T>);

/// The sending side of a zero channel, for the select engine.
pub struct Sender<'a, T>(&'a Channel<T>);

impl<T> SelectHandle for Receiver<'_, T> {
    fn try_select(&self, token: &mut Token) -> bool {
        self.0.start_recv(token)
    }

    fn deadline(&self) -> Option<Instant> {
        None
    }

    fn register(&self, oper: Operation, cx: &Context) -> bool {
        let packet = Packet::<T>::empty_on_heap();
        let mut inner = self.0.lock();
        inner
            .receivers
            .register_with_packet(oper, packet.cast::<()>(), cx);
        inner.senders.notify_observers();
        inner.senders.can_select() || inner.is_disconnected
    }

    fn unregister(&self, oper: Operation) {
        let entry = self.0.lock().receivers.unregister(oper);
        Channel::<T>::free_unselected(entry);
    }

    fn accept(&self, token: &mut Token, cx: &Context) -> bool {
        // The sender that selected us published our packet.
        token.zero.0 = cx.wait_packet();
        true
    }

    fn is_ready(&self) -> bool {
        let inner = self.0.lock();
        inner.senders.can_select() || inner.is_disconnected
    }

    fn observe(&self) -> Readiness {
        let inner = self.0.lock();
        if inner.senders.can_select() || inner.is_disconnected {
            Readiness::Ready
        } else {
            Readiness::Blocked(u128::from(inner.senders.registrations()))
        }
    }

    fn watch(&self, oper: Operation, cx: &Context) -> bool {
        let mut inner = self.0.lock();
        inner.receivers.watch(oper, cx);
        inner.senders.can_select() || inner.is_disconnected
    }

    fn unwatch(&self, oper: Operation) {
        self.0.lock().receivers.unwatch(oper);
    }
}

impl<T> SelectHandle for Sender<'_, T> {
    fn try_select(&self, token: &mut Token) -> bool {
        self.0.start_send(token)
    }

    fn deadline(&self) -> Option<Instant> {
        None
    }

    fn register(&self, oper: Operation, cx: &Context) -> bool {
        let packet = Packet::<T>::empty_on_heap();
        let mut inner = self.0.lock();
        inner
            .senders
            .register_with_packet(oper, packet.cast::<()>(), cx);
        inner.receivers.notify_observers();
        inner.receivers.can_select() || inner.is_disconnected
    }

    fn unregister(&self, oper: Operation) {
        let entry = self.0.lock().senders.unregister(oper);
        Channel::<T>::free_unselected(entry);
    }

    fn accept(&self, token: &mut Token, cx: &Context) -> bool {
        // The receiver that selected us published our own packet: we write
        // into it and the receiver frees it.
        token.zero.0 = cx.wait_packet();
        true
    }

    fn is_ready(&self) -> bool {
        let inner = self.0.lock();
        inner.receivers.can_select() || inner.is_disconnected
    }

    fn observe(&self) -> Readiness {
        let inner = self.0.lock();
        if inner.receivers.can_select() || inner.is_disconnected {
            Readiness::Ready
        } else {
            Readiness::Blocked(u128::from(inner.receivers.registrations()))
        }
    }

    fn watch(&self, oper: Operation, cx: &Context) -> bool {
        let mut inner = self.0.lock();
        inner.senders.watch(oper, cx);
        inner.receivers.can_select() || inner.is_disconnected
    }

    fn unwatch(&self, oper: Operation) {
        self.0.lock().senders.unwatch(oper);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;
    use std::sync::Arc as StdArc;
    use std::thread;

    const N: usize = if cfg!(miri) { 40 } else { 20_000 };

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn after(n: u64) -> Option<Instant> {
        Some(Instant::now() + ms(n))
    }

    struct DropCounter(StdArc<StdAtomicUsize>);
    impl Drop for DropCounter {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Waits until some thread is registered on the given side.
    fn until(mut condition: impl FnMut() -> bool) {
        while !condition() {
            thread::sleep(ms(1));
        }
    }

    fn sender_waiting<T>(chan: &Channel<T>) -> bool {
        chan.receiver().is_ready()
    }

    fn receiver_waiting<T>(chan: &Channel<T>) -> bool {
        chan.sender().is_ready()
    }

    #[test]
    fn shape() {
        let chan = Channel::<i32>::new();
        assert_eq!(chan.len(), 0);
        assert_eq!(chan.capacity(), Some(0));
        assert!(chan.is_empty());
        assert!(chan.is_full());
        assert!(!chan.is_disconnected());
        assert!(!chan.sender().is_ready());
        assert!(!chan.receiver().is_ready());
        assert_eq!(chan.sender().deadline(), None);
        assert!(ZeroToken::default().0.is_null());
        assert!(format!("{:?}", ZeroToken::default()).starts_with("ZeroToken("));
    }

    #[test]
    fn try_ops_need_a_partner() {
        let chan = Channel::new();
        assert_eq!(chan.try_send(1), Err(TrySendError::Full(1)));
        assert_eq!(chan.try_recv(), Err(TryRecvError::Empty));
        let mut token = Token::default();
        assert!(!chan.start_send(&mut token));
        assert!(!chan.start_recv(&mut token));
    }

    #[test]
    fn disconnect_is_reported_once() {
        let chan = Channel::new();
        assert!(chan.disconnect());
        assert!(!chan.disconnect());
        assert!(chan.is_disconnected());
        assert_eq!(chan.try_send(1), Err(TrySendError::Disconnected(1)));
        assert_eq!(chan.send(2, None), Err(SendTimeoutError::Disconnected(2)));
        assert_eq!(chan.try_recv(), Err(TryRecvError::Disconnected));
        assert_eq!(chan.recv(None), Err(RecvTimeoutError::Disconnected));
        assert!(chan.sender().is_ready());
        assert!(chan.receiver().is_ready());
        let mut token = Token::default();
        assert!(chan.start_send(&mut token));
        // SAFETY: reserved above on this channel.
        assert_eq!(unsafe { chan.write(&mut token, 3) }, Err(3));
        assert!(chan.start_recv(&mut token));
        // SAFETY: reserved above on this channel.
        assert_eq!(unsafe { chan.read(&mut token) }, Err(()));
    }

    #[test]
    fn timeouts_give_the_message_back() {
        let chan = Channel::new();
        let start = Instant::now();
        assert_eq!(chan.send(7, after(20)), Err(SendTimeoutError::Timeout(7)));
        assert!(start.elapsed() >= ms(20));
        let start = Instant::now();
        assert_eq!(chan.recv(after(20)), Err(RecvTimeoutError::Timeout));
        assert!(start.elapsed() >= ms(20));
        // A deadline in the past fails at once.
        let past = Some(Instant::now());
        assert_eq!(chan.send(8, past), Err(SendTimeoutError::Timeout(8)));
        assert_eq!(chan.recv(past), Err(RecvTimeoutError::Timeout));
        // Nothing is left registered.
        assert!(!sender_waiting(&chan));
        assert!(!receiver_waiting(&chan));
    }

    #[test]
    fn blocked_receiver_meets_sender() {
        let chan = Channel::new();
        thread::scope(|s| {
            let receiver = s.spawn(|| chan.recv(None));
            until(|| receiver_waiting(&chan));
            assert_eq!(chan.send(5, None), Ok(()));
            assert_eq!(receiver.join().unwrap(), Ok(5));

            let receiver = s.spawn(|| chan.recv(after(10_000)));
            until(|| receiver_waiting(&chan));
            assert_eq!(chan.try_send(6), Ok(()));
            assert_eq!(receiver.join().unwrap(), Ok(6));
        });
    }

    #[test]
    fn blocked_sender_meets_receiver() {
        let chan = Channel::new();
        thread::scope(|s| {
            let sender = s.spawn(|| chan.send(String::from("a"), None));
            until(|| sender_waiting(&chan));
            assert_eq!(chan.recv(None).as_deref(), Ok("a"));
            assert_eq!(sender.join().unwrap(), Ok(()));

            let sender = s.spawn(|| chan.send(String::from("b"), after(10_000)));
            until(|| sender_waiting(&chan));
            assert_eq!(chan.try_recv().as_deref(), Ok("b"));
            assert_eq!(sender.join().unwrap(), Ok(()));
        });
    }

    #[test]
    fn disconnect_wakes_blocked_threads() {
        let chan = Channel::new();
        let receiver_chan = Channel::<i32>::new();
        thread::scope(|s| {
            let sender = s.spawn(|| chan.send(1, None));
            until(|| sender_waiting(&chan));
            let receiver = s.spawn(|| receiver_chan.recv(None));
            until(|| receiver_waiting(&receiver_chan));
            assert!(chan.disconnect());
            assert!(receiver_chan.disconnect());
            assert_eq!(
                sender.join().unwrap(),
                Err(SendTimeoutError::Disconnected(1))
            );
            assert_eq!(
                receiver.join().unwrap(),
                Err(RecvTimeoutError::Disconnected)
            );
        });
    }

    #[test]
    fn many_threads_lose_nothing() {
        let chan = Channel::new();
        let threads = 3;
        let per_thread = N / threads;
        let received = StdAtomicUsize::new(0);
        let sum = StdAtomicUsize::new(0);
        thread::scope(|s| {
            for t in 0..threads {
                let chan = &chan;
                s.spawn(move || {
                    for i in 0..per_thread {
                        chan.send(t * per_thread + i, None).unwrap();
                    }
                });
            }
            for _ in 0..threads {
                s.spawn(|| {
                    for _ in 0..per_thread {
                        let value = chan.recv(None).unwrap();
                        sum.fetch_add(value, Ordering::Relaxed);
                        received.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        let total = threads * per_thread;
        assert_eq!(received.load(Ordering::Relaxed), total);
        assert_eq!(sum.load(Ordering::Relaxed), total * (total - 1) / 2);
        assert!(!sender_waiting(&chan) && !receiver_waiting(&chan));
    }

    #[test]
    fn racing_timeouts_and_try_ops_drop_everything_once() {
        let drops = StdArc::new(StdAtomicUsize::new(0));
        let created = StdAtomicUsize::new(0);
        let delivered = StdAtomicUsize::new(0);
        let chan = Channel::new();
        let rounds = N / 4;
        thread::scope(|s| {
            for id in 0..2 {
                let (chan, drops, created) = (&chan, &drops, &created);
                s.spawn(move || {
                    for i in 0..rounds {
                        created.fetch_add(1, Ordering::Relaxed);
                        let msg = DropCounter(drops.clone());
                        let result = match (i + id) % 3 {
                            0 => chan.send(msg, None).map_err(|e| e.into_inner()),
                            1 => chan.send(msg, after(1)).map_err(|e| e.into_inner()),
                            _ => chan.try_send(msg).map_err(|e| e.into_inner()),
                        };
                        // A failed send gives the message back; drop it here.
                        drop(result);
                    }
                });
            }
            for id in 0..2 {
                let (chan, delivered) = (&chan, &delivered);
                s.spawn(move || loop {
                    let result = match id {
                        0 => chan.recv(after(1)).map_err(|e| e.is_disconnected()),
                        _ => chan.try_recv().map_err(|e| e.is_disconnected()),
                    };
                    match result {
                        Ok(msg) => {
                            delivered.fetch_add(1, Ordering::Relaxed);
                            drop(msg);
                        }
                        Err(true) => break,
                        Err(false) => thread::yield_now(),
                    }
                });
            }
            // Blocking senders end only when a receiver took their message.
            // Disconnect once every sender is done.
            s.spawn(|| {
                until(|| created.load(Ordering::SeqCst) == 2 * rounds && !sender_waiting(&chan));
                thread::sleep(ms(20));
                chan.disconnect();
            });
        });
        assert_eq!(drops.load(Ordering::SeqCst), 2 * rounds);
        assert!(delivered.load(Ordering::SeqCst) >= rounds / 3);
    }

    /// The select protocol with a registered receiver (heap packet) that a
    /// plain sender selects.
    #[test]
    fn select_receiver_is_fed_by_sender() {
        let drops = StdArc::new(StdAtomicUsize::new(0));
        let chan = Channel::new();
        thread::scope(|s| {
            Context::with(|cx| {
                let mut hook = 0u8;
                let oper = Operation::hook(&mut hook);
                let r = chan.receiver();
                assert!(!r.register(oper, cx));
                let counter = DropCounter(drops.clone());
                let chan = &chan;
                let sender = s.spawn(move || chan.send(counter, None).is_ok());
                assert_eq!(cx.wait_until(None), Selected::Operation(oper));
                r.unregister(oper); // already removed by the sender: no-op
                let mut token = Token::default();
                assert!(r.accept(&mut token, cx));
                // SAFETY: accepted on this channel.
                let msg = unsafe { chan.read(&mut token) }.ok().unwrap();
                assert!(sender.join().unwrap());
                assert_eq!(drops.load(Ordering::SeqCst), 0);
                drop(msg);
            });
        });
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    /// The select protocol with a registered sender (heap packet) that a
    /// plain receiver selects; the sender writes after accepting.
    #[test]
    fn select_sender_feeds_receiver() {
        let chan = Channel::new();
        thread::scope(|s| {
            Context::with(|cx| {
                let mut hooks = [0u8; 2];
                let send_oper = Operation::hook(&mut hooks[0]);
                let recv_oper = Operation::hook(&mut hooks[1]);
                let (tx, rx) = (chan.sender(), chan.receiver());
                // Send and receive on the same channel in one select: they
                // must not pair with each other.
                assert!(!tx.register(send_oper, cx));
                assert!(!rx.register(recv_oper, cx));
                assert!(!tx.is_ready() && !rx.is_ready());
                assert_eq!(chan.try_send(vec![0]), Err(TrySendError::Full(vec![0])));
                assert_eq!(chan.try_recv(), Err(TryRecvError::Empty));

                let chan = &chan;
                let receiver = s.spawn(move || chan.recv(None));
                assert_eq!(cx.wait_until(None), Selected::Operation(send_oper));
                rx.unregister(recv_oper); // frees the unselected heap packet
                tx.unregister(send_oper);
                let mut token = Token::default();
                assert!(tx.accept(&mut token, cx));
                // SAFETY: accepted on this channel.
                assert_eq!(unsafe { chan.write(&mut token, vec![1, 2, 3]) }, Ok(()));
                assert_eq!(receiver.join().unwrap(), Ok(vec![1, 2, 3]));
            });
        });
    }

    /// An active select operation (`start_send`/`start_recv`) pairing with
    /// blocked threads and with registered select operations.
    #[test]
    fn start_and_complete_against_waiters() {
        let chan = Channel::new();
        thread::scope(|s| {
            // Blocked receiver (stack packet).
            let receiver = s.spawn(|| chan.recv(None));
            until(|| receiver_waiting(&chan));
            let mut token = Token::default();
            assert!(chan.start_send(&mut token));
            // SAFETY: reserved on this channel.
            assert_eq!(unsafe { chan.write(&mut token, 10) }, Ok(()));
            assert_eq!(receiver.join().unwrap(), Ok(10));

            // Blocked sender (stack packet).
            let sender = s.spawn(|| chan.send(11, None));
            until(|| sender_waiting(&chan));
            assert!(chan.start_recv(&mut token));
            // SAFETY: reserved on this channel.
            assert_eq!(unsafe { chan.read(&mut token) }, Ok(11));
            assert_eq!(sender.join().unwrap(), Ok(()));

            // Registered select receiver (heap packet).
            let select_receiver = s.spawn(|| {
                Context::with(|cx| {
                    let mut hook = 0u8;
                    let oper = Operation::hook(&mut hook);
                    let r = chan.receiver();
                    if r.register(oper, cx) {
                        let _ = cx.try_select(Selected::Aborted);
                    }
                    assert_eq!(cx.wait_until(None), Selected::Operation(oper));
                    let mut token = Token::default();
                    assert!(r.accept(&mut token, cx));
                    // SAFETY: accepted on this channel.
                    unsafe { chan.read(&mut token) }
                })
            });
            until(|| receiver_waiting(&chan));
            assert!(chan.start_send(&mut token));
            // SAFETY: reserved on this channel.
            assert_eq!(unsafe { chan.write(&mut token, 12) }, Ok(()));
            assert_eq!(select_receiver.join().unwrap(), Ok(12));

            // Registered select sender (heap packet), read by `start_recv`.
            let select_sender = s.spawn(|| {
                Context::with(|cx| {
                    let mut hook = 0u8;
                    let oper = Operation::hook(&mut hook);
                    let tx = chan.sender();
                    if tx.register(oper, cx) {
                        let _ = cx.try_select(Selected::Aborted);
                    }
                    assert_eq!(cx.wait_until(None), Selected::Operation(oper));
                    let mut token = Token::default();
                    assert!(tx.accept(&mut token, cx));
                    // SAFETY: accepted on this channel.
                    unsafe { chan.write(&mut token, 13) }
                })
            });
            until(|| sender_waiting(&chan));
            assert!(chan.start_recv(&mut token));
            // SAFETY: reserved on this channel.
            assert_eq!(unsafe { chan.read(&mut token) }, Ok(13));
            assert_eq!(select_sender.join().unwrap(), Ok(()));
        });
    }

    /// Registrations that are never selected free their packets, including
    /// after a disconnect.
    #[test]
    fn unselected_registrations_are_freed() {
        let chan = Channel::<String>::new();
        Context::with(|cx| {
            let mut hooks = [0u8; 2];
            let a = Operation::hook(&mut hooks[0]);
            let b = Operation::hook(&mut hooks[1]);
            assert!(!chan.sender().register(a, cx));
            assert!(!chan.receiver().register(b, cx));
            assert!(chan.disconnect());
            assert_eq!(cx.selected(), Selected::Disconnected);
            chan.sender().unregister(a);
            chan.receiver().unregister(b);
            // Registering on a disconnected channel reports readiness.
            assert!(chan.receiver().register(b, cx));
            chan.receiver().unregister(b);
        });
    }

    #[test]
    fn observers_see_a_waiting_partner() {
        let chan = Channel::new();
        thread::scope(|s| {
            Context::with(|cx| {
                let mut hook = 0u8;
                let oper = Operation::hook(&mut hook);
                let r = chan.receiver();
                assert!(!r.watch(oper, cx));
                let chan = &chan;
                let sender = s.spawn(move || chan.send(3, None));
                assert_eq!(cx.wait_until(None), Selected::Operation(oper));
                r.unwatch(oper);
                assert!(r.is_ready());
                assert_eq!(chan.try_recv(), Ok(3));
                assert_eq!(sender.join().unwrap(), Ok(()));
            });
        });
    }

    /// Runs `f` as a select operation registered on `handle` in another
    /// thread: register, wait to be selected, accept, then `f` completes
    /// (or cancels) the reservation.
    fn spawn_select<'scope, H, R>(
        s: &'scope thread::Scope<'scope, '_>,
        handle: H,
        f: impl FnOnce(&mut Token) -> R + Send + 'scope,
    ) -> thread::ScopedJoinHandle<'scope, R>
    where
        H: SelectHandle + Send + 'scope,
        R: Send + 'scope,
    {
        s.spawn(move || {
            Context::with(|cx| {
                let mut hook = 0u8;
                let oper = Operation::hook(&mut hook);
                assert!(!handle.register(oper, cx));
                assert_eq!(cx.wait_until(None), Selected::Operation(oper));
                let mut token = Token::default();
                assert!(handle.accept(&mut token, cx));
                f(&mut token)
            })
        })
    }

    #[test]
    fn cancelled_reservations_let_blocked_threads_retry() {
        let drops = StdArc::new(StdAtomicUsize::new(0));
        let chan = Channel::new();
        thread::scope(|s| {
            // A blocked receiver whose sender gives up waits for the next.
            let receiver = s.spawn(|| chan.recv(None).map(|msg: DropCounter| drop(msg)));
            until(|| receiver_waiting(&chan));
            let mut token = Token::default();
            assert!(chan.start_send(&mut token));
            // SAFETY: reserved on this channel.
            unsafe { chan.cancel_send(&mut token) };
            until(|| receiver_waiting(&chan));
            assert!(chan.send(DropCounter(drops.clone()), None).is_ok());
            assert_eq!(receiver.join().unwrap(), Ok(()));
            assert_eq!(drops.load(Ordering::SeqCst), 1);

            // A blocked sender whose receiver gives up keeps its message.
            let counter = DropCounter(drops.clone());
            let sender = s.spawn(|| chan.send(counter, None).is_ok());
            until(|| sender_waiting(&chan));
            assert!(chan.start_recv(&mut token));
            // SAFETY: reserved on this channel.
            unsafe { chan.cancel_recv(&mut token) };
            assert_eq!(drops.load(Ordering::SeqCst), 1);
            until(|| sender_waiting(&chan));
            drop(chan.recv(None).ok().unwrap());
            assert!(sender.join().unwrap());
            assert_eq!(drops.load(Ordering::SeqCst), 2);
        });
    }

    #[test]
    fn cancelled_select_senders_and_receivers() {
        let drops = StdArc::new(StdAtomicUsize::new(0));
        let chan = Channel::<DropCounter>::new();
        thread::scope(|s| {
            let chan = &chan;
            // A select sender selected by a blocking receive cancels: the
            // receiver takes the next message instead.
            // SAFETY: accepted on this channel.
            let select_sender = spawn_select(s, chan.sender(), move |token| unsafe {
                chan.cancel_send(token)
            });
            until(|| sender_waiting(chan));
            let receiver = s.spawn(move || chan.recv(None).is_ok());
            select_sender.join().unwrap();
            until(|| receiver_waiting(chan));
            chan.send(DropCounter(drops.clone()), None).ok().unwrap();
            assert!(receiver.join().unwrap());
            assert_eq!(drops.load(Ordering::SeqCst), 1);

            // A select receiver fed by a sender then cancelled drops the
            // message (the send had already succeeded).
            // SAFETY: accepted on this channel.
            let select_receiver = spawn_select(s, chan.receiver(), move |token| unsafe {
                chan.cancel_recv(token)
            });
            until(|| receiver_waiting(chan));
            chan.send(DropCounter(drops.clone()), None).ok().unwrap();
            select_receiver.join().unwrap();
            assert_eq!(drops.load(Ordering::SeqCst), 2);

            // A select receiver whose (active) sender cancels falls back to
            // a plain receive.
            // SAFETY: accepted on this channel.
            let select_receiver = spawn_select(s, chan.receiver(), move |token| unsafe {
                chan.read(token).is_ok()
            });
            until(|| receiver_waiting(chan));
            let mut token = Token::default();
            assert!(chan.start_send(&mut token));
            // SAFETY: reserved on this channel.
            unsafe { chan.cancel_send(&mut token) };
            until(|| receiver_waiting(chan));
            chan.send(DropCounter(drops.clone()), None).ok().unwrap();
            assert!(select_receiver.join().unwrap());
            assert_eq!(drops.load(Ordering::SeqCst), 3);

            // Both sides of a select-to-select pairing give up: the packet
            // is freed once.
            // SAFETY: accepted on this channel.
            let select_sender = spawn_select(s, chan.sender(), move |token| unsafe {
                chan.cancel_send(token)
            });
            until(|| sender_waiting(chan));
            assert!(chan.start_recv(&mut token));
            // SAFETY: reserved on this channel.
            unsafe { chan.cancel_recv(&mut token) };
            select_sender.join().unwrap();

            // The active receiver gives up after the select sender wrote:
            // the message is dropped once.
            let counter = DropCounter(drops.clone());
            // SAFETY: accepted on this channel.
            let select_sender = spawn_select(s, chan.sender(), move |token| unsafe {
                chan.write(token, counter).is_ok()
            });
            until(|| sender_waiting(chan));
            assert!(chan.start_recv(&mut token));
            assert!(select_sender.join().unwrap());
            assert_eq!(drops.load(Ordering::SeqCst), 3);
            // SAFETY: reserved on this channel.
            unsafe { chan.cancel_recv(&mut token) };
            assert_eq!(drops.load(Ordering::SeqCst), 4);
        });
        assert!(!sender_waiting(&chan) && !receiver_waiting(&chan));
    }
}

/// Loom models of the packet protocol, from the flavor's own interface:
/// `RUSTFLAGS="--cfg loom" cargo test -p chan-core --release --lib zero`.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::thread;

    /// A select-like receive: try, else register a heap packet and block.
    fn select_recv(chan: &Channel<u32>) -> Result<u32, ()> {
        let r = chan.receiver();
        loop {
            let mut token = Token::default();
            if r.try_select(&mut token) {
                // SAFETY: reserved on this channel.
                return unsafe { chan.read(&mut token) };
            }
            let done = Context::with(|cx| {
                let mut hook = 0u8;
                let oper = Operation::hook(&mut hook);
                if r.register(oper, cx) {
                    let _ = cx.try_select(Selected::Aborted);
                }
                match cx.wait_until(None) {
                    Selected::Operation(_) => {
                        let mut token = Token::default();
                        assert!(r.accept(&mut token, cx));
                        // SAFETY: accepted on this channel.
                        Some(unsafe { chan.read(&mut token) })
                    }
                    _ => {
                        r.unregister(oper);
                        None
                    }
                }
            });
            if let Some(result) = done {
                return result;
            }
        }
    }

    /// A select-like send, the mirror image of `select_recv`.
    fn select_send(chan: &Channel<u32>, msg: u32) -> Result<(), u32> {
        let s = chan.sender();
        loop {
            let mut token = Token::default();
            if s.try_select(&mut token) {
                // SAFETY: reserved on this channel.
                return unsafe { chan.write(&mut token, msg) };
            }
            let done = Context::with(|cx| {
                let mut hook = 0u8;
                let oper = Operation::hook(&mut hook);
                if s.register(oper, cx) {
                    let _ = cx.try_select(Selected::Aborted);
                }
                match cx.wait_until(None) {
                    Selected::Operation(_) => {
                        let mut token = Token::default();
                        assert!(s.accept(&mut token, cx));
                        // SAFETY: accepted on this channel.
                        Some(unsafe { chan.write(&mut token, msg) })
                    }
                    _ => {
                        s.unregister(oper);
                        None
                    }
                }
            });
            if let Some(result) = done {
                return result;
            }
        }
    }

    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        if builder.preemption_bound.is_none() {
            builder.preemption_bound = Some(2);
        }
        builder.check(f);
    }

    #[test]
    fn plain_send_meets_select_recv() {
        model(|| {
            let chan = loom::sync::Arc::new(Channel::new());
            let sender = {
                let chan = chan.clone();
                thread::spawn(move || chan.send(7, None).is_ok())
            };
            assert_eq!(select_recv(&chan), Ok(7));
            assert!(sender.join().unwrap());
        });
    }

    #[test]
    fn select_send_meets_plain_recv() {
        model(|| {
            let chan = loom::sync::Arc::new(Channel::new());
            let sender = {
                let chan = chan.clone();
                thread::spawn(move || select_send(&chan, 8))
            };
            assert_eq!(chan.recv(None), Ok(8));
            assert_eq!(sender.join().unwrap(), Ok(()));
        });
    }

    #[test]
    fn select_send_meets_select_recv() {
        model(|| {
            let chan = loom::sync::Arc::new(Channel::new());
            let sender = {
                let chan = chan.clone();
                thread::spawn(move || select_send(&chan, 9))
            };
            assert_eq!(select_recv(&chan), Ok(9));
            assert_eq!(sender.join().unwrap(), Ok(()));
        });
    }

    #[test]
    fn disconnect_races_select_recv() {
        model(|| {
            let chan = loom::sync::Arc::new(Channel::<u32>::new());
            let closer = {
                let chan = chan.clone();
                thread::spawn(move || assert!(chan.disconnect()))
            };
            assert_eq!(select_recv(&chan), Err(()));
            closer.join().unwrap();
        });
    }

    #[test]
    fn cancelled_send_lets_receiver_retry() {
        model(|| {
            let chan = loom::sync::Arc::new(Channel::new());
            let receiver = {
                let chan = chan.clone();
                thread::spawn(move || chan.recv(None))
            };
            let mut token = Token::default();
            // Cancel one reservation if the receiver is already waiting,
            // then hand over a message for real.
            if chan.start_send(&mut token) {
                // SAFETY: reserved on this channel.
                unsafe { chan.cancel_send(&mut token) };
            }
            assert!(chan.send(5, None).is_ok());
            assert_eq!(receiver.join().unwrap(), Ok(5));
        });
    }
}
