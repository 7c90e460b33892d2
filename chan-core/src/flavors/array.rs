//! The array flavor: a bounded lock-free ring buffer (capacity >= 1).
//!
//! Algorithm: `head` and `tail` are 64-bit positions, each `lap * one_lap +
//! index`, on separate cache lines; the tail's `disconnect_bit` (above every
//! index) marks disconnection. Every slot carries a stamp: `position` when
//! the slot is empty and may be written at `position`, `position + 1` when
//! it holds the message written at `position`. A sender claims the slot at
//! `tail` by a compare-and-swap of `tail` when the slot's stamp equals
//! `tail`, writes the message, then publishes stamp `tail + 1`. A receiver
//! claims the slot at `head` when its stamp equals `head + 1`, reads, then
//! publishes stamp `head + one_lap` (empty for the next lap).
//!
//! A blocked plain `send` or `recv` (not a select) lets the thread that
//! selects it complete the operation on its behalf: the waiter registers a
//! stack `Packet` (`crate::packet`), and the partner that wins the selection
//! claims a slot for it and moves the message (from the packet into the
//! buffer for a sender, from the buffer into the packet for a receiver),
//! then stores `Done`. The partner never blocks in doing so; if it cannot
//! (the slot it was woken for was taken meanwhile, or the channel is
//! disconnected), it stores `Retry` and the waiter tries again. So a freed
//! slot or a new message does not wait for the woken thread to be
//! scheduled: with more threads than cores, senders and receivers keep
//! going while the woken threads sleep. The partner does so only for a
//! waiter that is asleep (`Context::is_asleep`): one still spinning or
//! yielding is told `Retry` at once and does its own operation, on its own
//! core, so the busiest thread does not do everyone's work and the
//! waiters' lines do not move to it. A send that finds a receiver blocked
//! and asleep while the buffer is empty skips the ring and writes its
//! message straight into that receiver's packet.
//!
//! A select send that is reserved and then abandoned (`cancel_send`) moves
//! `tail` back if no later send has claimed a slot yet; otherwise it
//! publishes `position + 1` with the `SKIPPED_SEND` bit instead of a
//! message, and receivers step over that slot. An abandoned receive
//! (`cancel_recv`) takes its message and drops it.
//!
//! Readiness stamps (`observe`): a receive is blocked while `head == tail`
//! and its stamp is `head`; a send is blocked while the channel is full and
//! its stamp is `tail` with the count of roll-backs. `head` only grows, a
//! message once written keeps `tail` past it until it is received, and a
//! full channel gets room only by a receive (which moves `head`) or a
//! roll-back (counted), so equal stamps mean the state did not change.
//!
//! Invariants: a slot is owned by exactly one thread between a successful
//! claim and its stamp store; a stale thread's compare-and-swap fails because
//! positions only grow (64 bits do not wrap in practice). The channel is full
//! when `head + one_lap == tail`, empty when `head == tail` (ignoring the
//! disconnect bit). A slot between head and tail holds a message exactly
//! when its stamp is `position + 1`; such messages are owned by the channel
//! until a receiver takes one. The channel drops those left when the last
//! receiver goes (`disconnect_receivers`) or when it is freed (`Drop`),
//! oldest first, each at most once. If one of these drops panics, the panic
//! propagates and the messages after it are leaked, never dropped: the
//! discard moved `head` to `tail` before dropping any, and `Drop` stops at
//! the panic. So no message is dropped while unwinding (a second panic
//! would abort the process), and the buffer is still freed.

use super::{Queue, QueueReceiver, RecvRun};
use crate::batch::Staged;
use crate::context::{Context, Operation, Selected};
use crate::err::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use crate::handle::{Readiness, SelectHandle, Token, TokenWords};
use crate::packet::{Outcome, Packet, UNSENT};
use crate::policy::{spin_briefly_until, spin_until, Backoff};
use crate::probes::{self, Event};
use crate::sync::{fence, AtomicU64, Ordering, UnsafeCell};
use crate::waiters::SyncWaiters;
use crossbeam_utils::CachePadded;
use std::mem::{self, MaybeUninit};
use std::time::Instant;

/// Marks the stamp of a slot whose send was reserved and then given up:
/// there is no message, and receivers step over it. Positions never reach
/// this bit.
const SKIPPED_SEND: u64 = 1 << 63;

/// How many times `discard_all_messages` yields to a sender half-way
/// through writing before it leaves the rest to `Drop`.
const DISCARD_WAIT_ROUNDS: u32 = if cfg!(loom) { 1 } else { 1000 };

/// The array flavor's reservation: the claimed slot and the stamp to
/// publish when the operation completes. A null slot means "disconnected".
#[derive(Debug, Default)]
pub struct ArrayToken(TokenWords);

impl ArrayToken {
    /// Records a claim of `slot`, in one store (see `TokenWords`).
    #[inline(always)]
    fn claim<T>(&mut self, slot: &Slot<T>, stamp: u64) {
        self.0.store(TokenWords::new(slot, stamp));
    }

    /// Records no slot: the channel is disconnected, or the reservation
    /// was given up.
    #[inline]
    fn clear(&mut self) {
        self.0 = TokenWords::default();
    }

    /// The claimed slot, or null.
    #[inline]
    fn slot<T>(&self) -> *const Slot<T> {
        self.0.pointer()
    }

    /// The stamp to publish when the operation completes.
    #[inline]
    fn stamp(&self) -> u64 {
        self.0.number()
    }
}

struct Slot<T> {
    stamp: AtomicU64,
    msg: UnsafeCell<MaybeUninit<T>>,
}

/// `Channel::room_run` for slots of `slot_size` bytes in a ring of `cap`:
/// the slots of two cache lines, at most a quarter of the ring; 0 when a
/// line holds fewer than two slots (slots over half a line) or the run
/// would be under two slots (a ring under 8).
fn room_run(slot_size: usize, cap: u64) -> u64 {
    let per_line = (CACHE_LINE / slot_size.max(1)) as u64;
    let run = (2 * per_line).min(cap / 4);
    if per_line < 2 || run < 2 {
        0
    } else {
        run
    }
}

/// The cache line size `room_run` assumes (x86-64 and most others).
const CACHE_LINE: usize = 64;

/// How a reserve attempt that neither claimed a slot nor found the channel
/// full (or empty) tries again.
enum Retry<'a> {
    /// At once, from this position.
    Now(u64),
    /// After a short spin (lost a race to another claim), from this
    /// position.
    Spin(u64),
    /// After a short spin (the other side is about to move), from the
    /// position this counter holds then.
    SpinThenReload(&'a AtomicU64),
    /// After backing off (another thread is midway through its slot), from
    /// the position this counter holds then.
    Snooze(&'a AtomicU64),
}

impl Retry<'_> {
    /// Waits as the attempt asked; returns the position to try next.
    #[inline]
    fn back_off(self, backoff: &mut Backoff) -> u64 {
        match self {
            Retry::Now(position) => position,
            Retry::Spin(position) => {
                backoff.spin();
                position
            }
            Retry::SpinThenReload(counter) => {
                backoff.spin();
                counter.load(Ordering::Relaxed)
            }
            Retry::Snooze(counter) => {
                backoff.snooze();
                counter.load(Ordering::Relaxed)
            }
        }
    }
}

/// Goes on with a reservation whose first attempt asked to retry: backs off
/// as each attempt asks, until one claims a slot or finds the channel full
/// (or empty). Out of line, so that the inlined first attempt stays small.
#[cold]
#[inline(never)]
fn reserve_contended<'a>(
    first: Retry<'a>,
    mut attempt: impl FnMut(u64) -> Result<bool, Retry<'a>>,
) -> bool {
    let mut backoff = Backoff::new();
    let mut position = first.back_off(&mut backoff);
    loop {
        match attempt(position) {
            Ok(reserved) => return reserved,
            Err(retry) => position = retry.back_off(&mut backoff),
        }
    }
}

/// How many times a blocking `send`/`recv` retries (after a short spin)
/// before it registers and waits. Registering early pays: a registered
/// waiter has its operation completed by the partner (see the header), and
/// `Context::wait_until` still spins and yields before it parks.
const RETRIES_BEFORE_BLOCKING: u32 = 1;

/// A blocking operation's last tries before it registers: `reserve`, and
/// again after a short spin, up to `RETRIES_BEFORE_BLOCKING` retries; true
/// once `reserve` held.
#[inline]
fn retry_before_blocking(mut reserve: impl FnMut() -> bool) -> bool {
    let mut backoff = Backoff::new();
    for _ in 0..RETRIES_BEFORE_BLOCKING {
        if reserve() {
            return true;
        }
        backoff.spin();
    }
    reserve()
}

/// Blocks a plain `send` or `recv` in `queue` with its stack `packet` until
/// a partner selects it, `ready()` holds right after registering (the
/// channel changed before the partner could see the registration), or
/// `deadline`. Returns the partner's outcome if it was selected; `None` if
/// not, and then the entry is unregistered and the caller tries again.
fn block_with_packet<T>(
    queue: &SyncWaiters,
    token: &mut ArrayToken,
    packet: &Packet<T>,
    ready: impl FnOnce() -> bool,
    deadline: Option<Instant>,
) -> Option<Outcome> {
    let selected = Context::with(|cx| {
        let oper = Operation::hook(token);
        let address = packet as *const Packet<T> as *mut ();
        queue.register_with_packet(oper, address, cx);
        probes::count(Event::Registration);
        if ready() {
            let _ = cx.try_select(Selected::Aborted);
        }
        let selected = cx.wait_until(deadline);
        match selected {
            Selected::Waiting => unreachable!("wait_until returned while waiting"),
            Selected::Aborted | Selected::Disconnected => {
                queue.unregister(oper);
            }
            Selected::Operation(_) => {}
        }
        selected
    });
    match selected {
        Selected::Operation(_) => Some(packet.wait()),
        _ => None,
    }
}

/// A bounded channel.
pub struct Channel<T> {
    head: CachePadded<AtomicU64>,
    tail: CachePadded<AtomicU64>,
    buffer: Box<[Slot<T>]>,
    cap: u64,
    one_lap: u64,
    disconnect_bit: u64,
    /// `disconnect_bit - 1`: the bits of a position that index the buffer.
    index_mask: u64,
    /// `cap - 1`: the index of the last slot, after which a lap ends.
    last_index: u64,
    /// `one_lap - last_index`: added to a position at the last index to
    /// reach index 0 of the next lap.
    wrap_step: u64,
    /// Counts the sends given up with `tail` moved back, twice each: odd
    /// while one may be moving `tail` back. The one way a full channel gets
    /// room without a receive, so the sender's `observe` stamp includes it.
    send_rollbacks: AtomicU64,
    /// The wait queues, each on cache lines of its own: a register or a
    /// locked notify writes its lock and `is_empty`, which must not
    /// invalidate the constants every send and receive reads.
    senders: CachePadded<SyncWaiters>,
    receivers: CachePadded<SyncWaiters>,
}

// SAFETY: a slot's message is accessed only by the one thread that claimed
// the slot (see the header), so sharing the channel moves messages between
// threads but never shares one: `T: Send` is enough.
unsafe impl<T: Send> Send for Channel<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Channel<T> {}

impl<T> Channel<T> {
    /// Creates a channel of capacity `cap >= 1`.
    ///
    /// Panics with "bounded channel capacity is too large" if `cap + 1`
    /// cannot be rounded up to a power of two.
    pub fn with_capacity(cap: usize) -> Self {
        assert!(cap > 0, "capacity must be positive");
        let disconnect_bit = cap
            .checked_add(1)
            .and_then(usize::checked_next_power_of_two)
            .and_then(|bit| u64::try_from(bit).ok())
            .filter(|bit| bit.checked_mul(4).is_some())
            .expect("bounded channel capacity is too large");
        let one_lap = disconnect_bit * 2;
        let buffer = (0..cap as u64)
            .map(|index| Slot {
                stamp: AtomicU64::new(index),
                msg: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Channel {
            head: CachePadded::new(AtomicU64::new(0)),
            tail: CachePadded::new(AtomicU64::new(0)),
            buffer,
            cap: cap as u64,
            one_lap,
            disconnect_bit,
            index_mask: disconnect_bit - 1,
            last_index: cap as u64 - 1,
            wrap_step: one_lap - (cap as u64 - 1),
            send_rollbacks: AtomicU64::new(0),
            senders: CachePadded::new(SyncWaiters::new()),
            receivers: CachePadded::new(SyncWaiters::new()),
        }
    }

    /// The position after `position`, skipping to the next lap at the end.
    /// `position` must not carry the disconnect bit.
    #[inline]
    fn next_position(&self, position: u64) -> u64 {
        self.next_position_at(position, position & self.index_mask)
    }

    /// `next_position` for a caller that already has the position's
    /// `index`: one comparison and one addition, the same in the middle of
    /// a lap and at its end (where a one-slot ring always is).
    #[inline]
    fn next_position_at(&self, position: u64, index: u64) -> u64 {
        debug_assert!(position & self.disconnect_bit == 0);
        debug_assert!(index == position & self.index_mask && index <= self.last_index);
        if index < self.last_index {
            position + 1
        } else {
            position.wrapping_add(self.wrap_step)
        }
    }

    /// How many slots past `tail` a sender that found the channel full
    /// would like free before it writes (`spin_while_full`): two cache
    /// lines' worth, so that it writes lines the receiver has left; 0 where
    /// a line holds fewer than two slots or the ring is too small to keep
    /// a run free.
    #[inline]
    fn room_run(&self) -> u64 {
        room_run(mem::size_of::<Slot<T>>(), self.cap)
    }

    /// The position `steps` slots after `position` (`steps < cap`), in
    /// the next lap if that passes the end. `position` must not carry the
    /// disconnect bit.
    #[inline]
    fn position_after(&self, position: u64, steps: u64) -> u64 {
        debug_assert!(position & self.disconnect_bit == 0 && steps < self.cap);
        let index = position & self.index_mask;
        if index + steps <= self.last_index {
            position + steps
        } else {
            (position - index)
                .wrapping_add(self.one_lap)
                .wrapping_add(index + steps - self.cap)
        }
    }

    #[inline]
    fn slot(&self, position: u64) -> &Slot<T> {
        self.slot_at(position & self.index_mask)
    }

    /// The slot at `index`, a position's index (`position & index_mask`).
    #[inline]
    fn slot_at(&self, index: u64) -> &Slot<T> {
        debug_assert!(index <= self.last_index);
        // SAFETY: every position's index is below `cap`, the buffer length.
        unsafe { self.buffer.get_unchecked(index as usize) }
    }

    /// Moves `counter` (`head` or `tail`) from `position` to the next
    /// position: `Ok(next)` if this thread's compare-and-swap won, else
    /// `Err(current)`.
    #[inline(always)]
    fn advance(&self, counter: &AtomicU64, position: u64) -> Result<u64, u64> {
        let next = self.next_position(position);
        counter
            .compare_exchange_weak(position, next, Ordering::SeqCst, Ordering::Relaxed)
            .map(|_| next)
    }

    /// Claims a slot to write into; false if the channel is full.
    ///
    /// The first attempt is inlined into the caller; only contention (a
    /// lost claim, a slot another sender is still writing, a receiver about
    /// to free the slot) goes on in `reserve_contended`.
    #[inline]
    fn reserve_send(&self, token: &mut ArrayToken) -> bool {
        match self.try_reserve_send_at(self.tail.load(Ordering::Relaxed), token) {
            Ok(reserved) => reserved,
            Err(retry) => reserve_contended(retry, |tail| self.try_reserve_send_at(tail, token)),
        }
    }

    /// One attempt to claim the slot at `tail`: `Ok` with the answer of
    /// `reserve_send`, or how to try again.
    #[inline(always)]
    fn try_reserve_send_at(&self, tail: u64, token: &mut ArrayToken) -> Result<bool, Retry<'_>> {
        if tail & self.disconnect_bit != 0 {
            token.clear();
            return Ok(true);
        }
        let slot = self.slot(tail);
        let stamp = slot.stamp.load(Ordering::Acquire);
        if stamp == tail {
            match self.advance(&self.tail, tail) {
                Ok(_) => {
                    token.claim(slot, tail + 1);
                    Ok(true)
                }
                Err(current) => Err(Retry::Spin(current)),
            }
        } else if (stamp & !SKIPPED_SEND).wrapping_add(self.one_lap) == tail + 1 {
            // The slot still holds last lap's message (or a skipped
            // send): full, unless a receiver is about to free it.
            fence(Ordering::SeqCst);
            let head = self.head.load(Ordering::Relaxed);
            if head.wrapping_add(self.one_lap) == tail {
                return Ok(false);
            }
            Err(Retry::SpinThenReload(&self.tail))
        } else {
            // Another sender claimed this slot and has not finished.
            Err(Retry::Snooze(&self.tail))
        }
    }

    /// Before a blocking send reserves again: spins, within the thread's
    /// spin budget, while the slot at the tail still holds last lap's
    /// message. `reserve_send` on a full channel also reads `head` (and
    /// fences), so retrying it in a loop takes the receivers' line away from
    /// them on every try; this watches only the slot a receiver must free.
    /// With one producer and one consumer on separate cores this is several
    /// times faster (`pinned_spsc chan b1 split`).
    ///
    /// It first waits, briefly, for `room_run` more slots to be free: a
    /// sender that takes each slot the moment the receiver frees it writes
    /// the cache line the receiver is reading, and the line moves between
    /// their cores at every message; one that lets the receiver get two
    /// lines ahead writes lines the receiver has left. The wait gives up
    /// after the longest spin budget (the receiver may have stopped) and
    /// takes whatever room there is.
    fn spin_while_full(&self) {
        let tail = self.tail.load(Ordering::Relaxed);
        if tail & self.disconnect_bit != 0 {
            return;
        }
        let last_laps_at = |position: u64| position.wrapping_sub(self.one_lap).wrapping_add(1);
        let room_run = self.room_run();
        if room_run > 0 {
            let ahead = self.position_after(tail, room_run);
            let (slot, last_laps) = (self.slot(ahead), last_laps_at(ahead));
            if spin_briefly_until(|| {
                slot.stamp.load(Ordering::Relaxed) & !SKIPPED_SEND != last_laps
            }) {
                return;
            }
        }
        let slot = self.slot(tail);
        let last_laps = last_laps_at(tail);
        spin_until(|| slot.stamp.load(Ordering::Relaxed) & !SKIPPED_SEND != last_laps);
    }

    /// Before a blocking receive reserves again: spins, within the thread's
    /// spin budget, while the slot at the head is still empty (as
    /// `spin_while_full`, watching the slot instead of `tail`).
    fn spin_while_empty(&self) {
        let head = self.head.load(Ordering::Relaxed);
        let slot = self.slot(head);
        spin_until(|| slot.stamp.load(Ordering::Relaxed) != head);
    }

    /// Writes into a claimed slot.
    ///
    /// # Safety
    /// `token` must come from a successful `reserve_send` on this channel.
    #[inline]
    unsafe fn write_reserved(&self, token: &mut ArrayToken, msg: T) -> Result<(), T> {
        if token.slot::<T>().is_null() {
            return Err(msg);
        }
        // SAFETY: the token's slot belongs to this channel's buffer and was
        // claimed by us, so nobody else touches it until the stamp store.
        let slot = unsafe { &*token.slot::<T>() };
        slot.msg.with_mut(|cell| {
            // SAFETY: claimed slot, see above; it is empty in this lap.
            unsafe { cell.write(MaybeUninit::new(msg)) }
        });
        slot.stamp.store(token.stamp(), Ordering::Release);
        self.wake_receiver();
        Ok(())
    }

    /// Claims a slot to read from; false if the channel is empty.
    ///
    /// As `reserve_send`: the first attempt is inlined, contention goes on
    /// in `reserve_contended`.
    #[inline]
    fn reserve_recv(&self, token: &mut ArrayToken) -> bool {
        match self.try_reserve_recv_at(self.head.load(Ordering::Relaxed), token) {
            Ok(reserved) => reserved,
            Err(retry) => reserve_contended(retry, |head| self.try_reserve_recv_at(head, token)),
        }
    }

    /// One attempt to claim the slot at `head`: `Ok` with the answer of
    /// `reserve_recv`, or how to try again.
    #[inline(always)]
    fn try_reserve_recv_at(&self, head: u64, token: &mut ArrayToken) -> Result<bool, Retry<'_>> {
        let slot = self.slot(head);
        let stamp = slot.stamp.load(Ordering::Acquire);
        if stamp == head + 1 {
            match self.advance(&self.head, head) {
                Ok(_) => {
                    token.claim(slot, head.wrapping_add(self.one_lap));
                    Ok(true)
                }
                Err(current) => Err(Retry::Spin(current)),
            }
        } else if stamp == head {
            // The slot is empty: the channel is empty unless a sender is
            // about to fill it.
            fence(Ordering::SeqCst);
            let tail = self.tail.load(Ordering::Relaxed);
            if tail & !self.disconnect_bit == head {
                if tail & self.disconnect_bit != 0 {
                    token.clear();
                    return Ok(true);
                }
                return Ok(false);
            }
            Err(Retry::SpinThenReload(&self.head))
        } else if stamp == (head + 1) | SKIPPED_SEND {
            // A select gave up the send it reserved here: step over it.
            match self.advance(&self.head, head) {
                Ok(new_head) => {
                    slot.stamp
                        .store(head.wrapping_add(self.one_lap), Ordering::Release);
                    self.wake_sender();
                    Err(Retry::Now(new_head))
                }
                Err(current) => Err(Retry::Now(current)),
            }
        } else {
            // A sender claimed the slot but has not finished writing.
            Err(Retry::Snooze(&self.head))
        }
    }

    /// Reads from a claimed slot.
    ///
    /// # Safety
    /// `token` must come from a successful `reserve_recv` on this channel.
    #[inline]
    unsafe fn read_reserved(&self, token: &mut ArrayToken) -> Result<T, ()> {
        if token.slot::<T>().is_null() {
            return Err(());
        }
        // SAFETY: the token's slot belongs to this channel's buffer and was
        // claimed by us, so nobody else touches it until the stamp store.
        let slot = unsafe { &*token.slot::<T>() };
        // SAFETY: claimed slot whose stamp said it holds a message.
        let msg = slot.msg.with(|cell| unsafe { cell.read().assume_init() });
        slot.stamp.store(token.stamp(), Ordering::Release);
        self.wake_sender();
        Ok(msg)
    }

    /// Reserves a send for the select engine.
    #[inline]
    pub fn start_send(&self, token: &mut Token) -> bool {
        self.reserve_send(&mut token.array)
    }

    /// Completes a reserved send.
    ///
    /// # Safety
    /// `token` must hold a reservation made by `start_send` on this channel.
    #[inline]
    pub unsafe fn write(&self, token: &mut Token, msg: T) -> Result<(), T> {
        // SAFETY: forwarded caller contract.
        unsafe { self.write_reserved(&mut token.array, msg) }
    }

    /// Gives up a send reserved by `start_send` without writing (for a
    /// select operation dropped uncompleted). If no later send claimed a
    /// slot, `tail` moves back and the slot is simply free again; otherwise
    /// the slot is marked skipped and the next receiver steps over it.
    ///
    /// # Safety
    /// `token` must hold a reservation made by `start_send` on this channel,
    /// not yet completed or cancelled.
    pub unsafe fn cancel_send(&self, token: &mut Token) {
        let token = &mut token.array;
        if token.slot::<T>().is_null() {
            return;
        }
        // SAFETY: the token's slot belongs to this channel's buffer and was
        // claimed by us; nobody else touches it until this stamp store.
        let slot = unsafe { &*token.slot::<T>() };
        let stamp = token.stamp();
        token.clear();
        let position = stamp - 1;
        // Odd around the attempt, so that `observe` cannot take a full
        // channel seen before and after a roll-back for one that stayed
        // full.
        self.send_rollbacks.fetch_add(1, Ordering::SeqCst);
        let rolled_back = self
            .tail
            .compare_exchange(
                self.next_position(position),
                position,
                Ordering::SeqCst,
                Ordering::Relaxed,
            )
            .is_ok();
        self.send_rollbacks.fetch_add(1, Ordering::SeqCst);
        if rolled_back {
            // The slot's stamp still says "empty at `position`"; a sender
            // that found the channel full because of us may now proceed.
            self.wake_sender();
        } else {
            slot.stamp.store(stamp | SKIPPED_SEND, Ordering::Release);
        }
    }

    /// Reserves a receive for the select engine.
    #[inline]
    pub fn start_recv(&self, token: &mut Token) -> bool {
        self.reserve_recv(&mut token.array)
    }

    /// Completes a reserved receive.
    ///
    /// # Safety
    /// `token` must hold a reservation made by `start_recv` on this channel.
    #[inline]
    pub unsafe fn read(&self, token: &mut Token) -> Result<T, ()> {
        // SAFETY: forwarded caller contract.
        unsafe { self.read_reserved(&mut token.array) }
    }

    /// Gives up a receive reserved by `start_recv` (for a select operation
    /// dropped uncompleted): the claimed message is taken and dropped, as if
    /// received and discarded, so the slot is free again.
    ///
    /// # Safety
    /// `token` must hold a reservation made by `start_recv` on this channel,
    /// not yet completed or cancelled.
    pub unsafe fn cancel_recv(&self, token: &mut Token) {
        // SAFETY: forwarded caller contract.
        let msg = unsafe { self.read_reserved(&mut token.array) };
        token.array = ArrayToken::default();
        drop(msg);
    }

    /// The common case of a send, inlined into the caller: the slot at the
    /// tail is free in this lap and the claim wins at the first try; the
    /// message is written and `Ok` returned. Otherwise (full, disconnected,
    /// a lost race, a skipped slot) the message is given back untouched for
    /// the general path, which makes every decision again.
    ///
    /// A blocked receiver sends the message to the general path too, which
    /// hands it straight over (`hand_off_if_waiting`). No call here takes
    /// the message, so the inlined send copies it once, into the slot: a
    /// call taking it would pin it to the caller's stack.
    #[inline]
    fn send_fast(&self, msg: T) -> Result<(), T> {
        if self.receivers.may_have_waiters() {
            return Err(msg);
        }
        self.claim_and_write(msg)
    }

    /// `send_fast` without its look at the receivers' queue: claims the
    /// tail slot if it is free in this lap and the claim wins at the first
    /// try, writes `msg` and wakes a receiver; else gives `msg` back.
    #[inline]
    fn claim_and_write(&self, msg: T) -> Result<(), T> {
        let tail = self.tail.load(Ordering::Relaxed);
        // The index ignores the disconnect bit; a disconnected tail fails
        // the stamp comparison below (stamps never carry that bit).
        let index = tail & self.index_mask;
        let slot = self.slot_at(index);
        if slot.stamp.load(Ordering::Acquire) == tail
            && self
                .tail
                .compare_exchange_weak(
                    tail,
                    self.next_position_at(tail, index),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            slot.msg.with_mut(|cell| {
                // SAFETY: we claimed the slot (its stamp said empty at
                // `tail` and our CAS moved the tail past it), so nobody else
                // touches it until our stamp store.
                unsafe { cell.write(MaybeUninit::new(msg)) }
            });
            slot.stamp.store(tail + 1, Ordering::Release);
            self.wake_receiver();
            return Ok(());
        }
        Err(msg)
    }

    /// The common case of a receive, inlined into the caller: the slot at
    /// the head holds this lap's message and the claim wins at the first
    /// try. `None` sends the caller to the general path.
    #[inline]
    pub(crate) fn recv_fast(&self) -> Option<T> {
        let head = self.head.load(Ordering::Relaxed);
        let index = head & self.index_mask;
        let slot = self.slot_at(index);
        if slot.stamp.load(Ordering::Acquire) == head + 1
            && self
                .head
                .compare_exchange_weak(
                    head,
                    self.next_position_at(head, index),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            // SAFETY: we claimed the slot, whose stamp said it holds a
            // message; nobody else touches it until our stamp store.
            let msg = slot.msg.with(|cell| unsafe { cell.read().assume_init() });
            slot.stamp
                .store(head.wrapping_add(self.one_lap), Ordering::Release);
            self.wake_sender();
            return Some(msg);
        }
        None
    }

    /// Hands `msg` straight to a blocked `recv` if the buffer is empty,
    /// without going through a slot: `Ok` if it did, `Err(msg)` if there was
    /// no such receiver (or the buffer held messages, or the channel is
    /// disconnected), and the caller sends the usual way.
    ///
    /// Order holds: the buffer is empty at the check, so every message this
    /// thread sent before has been received already; a message of another
    /// sender that lands in the buffer meanwhile was sent concurrently.
    #[inline(never)]
    fn send_to_blocked_receiver(&self, msg: T) -> Result<(), T> {
        let mut msg = Some(msg);
        let handed = self.receivers.handoff(
            || {
                let tail = self.tail.load(Ordering::SeqCst);
                tail & self.disconnect_bit == 0 && self.head.load(Ordering::SeqCst) == tail
            },
            |packet| {
                let msg = msg.take().expect("the message is handed over once");
                // SAFETY: on `receivers`, only `recv_slow` registers packets,
                // each a live, empty `Packet<T>` kept in place by its owner
                // until we store an outcome (we selected it, so it waits).
                unsafe { Packet::fill(packet.cast::<Packet<T>>(), msg) };
                probes::count(Event::CompletedOnBehalf);
            },
        );
        match msg {
            Some(msg) => {
                debug_assert!(!handed);
                Err(msg)
            }
            None => {
                // The buffer was empty, so a sender that waits has room. It
                // may be waiting for a wake-up that went to this very send
                // (an async sender woken for a free slot, which then handed
                // its message over instead of taking the slot): pass one on,
                // so that the free slot is not left with its senders asleep.
                if self.senders.may_have_waiters() {
                    self.wake_sender();
                }
                Ok(())
            }
        }
    }

    /// `send_to_blocked_receiver` if the receivers' queue may hold a
    /// waiter, else `msg` back: the first step of both general sends, since
    /// `send_fast` leaves a blocked receiver to them.
    #[inline]
    fn hand_off_if_waiting(&self, msg: T) -> Result<(), T> {
        if self.receivers.may_have_waiters() {
            self.send_to_blocked_receiver(msg)
        } else {
            Err(msg)
        }
    }

    /// Wakes a blocked receiver, if any; if it is a blocked `recv`, first
    /// receives a message for it.
    #[inline]
    fn wake_receiver(&self) {
        self.receivers.notify_with(|packet, asleep| {
            let packet = packet.cast::<Packet<T>>();
            let mut token = ArrayToken::default();
            if asleep && self.reserve_recv(&mut token) {
                // SAFETY: the token was just reserved on this channel.
                if let Ok(msg) = unsafe { self.read_reserved(&mut token) } {
                    // SAFETY: on `receivers`, only `recv_slow` registers
                    // packets, each a live, empty `Packet<T>` that its owner
                    // keeps in place until we store an outcome (it was
                    // selected by us, so it waits).
                    unsafe { Packet::fill(packet, msg) };
                    probes::count(Event::CompletedOnBehalf);
                    return;
                }
            }
            // SAFETY: as above; the message did not change hands.
            unsafe { Packet::finish(packet, Outcome::Retry) };
        });
    }

    /// Wakes a blocked sender, if any; if it is a blocked `send`, first
    /// sends its message for it.
    #[inline]
    fn wake_sender(&self) {
        self.senders.notify_with(|packet, asleep| {
            // On `senders`, only `send_slow` registers packets, each a live
            // `Packet<T>` holding the sender's message, kept in place until
            // we store an outcome (as in `wake_receiver`).
            let packet = packet.cast::<Packet<T>>();
            let mut token = ArrayToken::default();
            let mut outcome = Outcome::Retry;
            if asleep && self.reserve_send(&mut token) && !token.slot::<T>().is_null() {
                // SAFETY: the packet is alive and its message ours to move
                // until the state store; with `Done` the sender never reads
                // it again.
                let msg = unsafe { (*packet).take() }.expect(UNSENT);
                // SAFETY: the token was just reserved on this channel, with
                // a slot, so the write cannot fail.
                let _ = unsafe { self.write_reserved(&mut token, msg) };
                outcome = Outcome::Done;
                probes::count(Event::CompletedOnBehalf);
            }
            // SAFETY: alive until this store, our last access.
            unsafe { Packet::finish(packet, outcome) };
        });
    }

    /// Sends from the front of `batch` as many messages as there are free
    /// slots in a row from the tail to the end of the lap, claiming them
    /// all with one compare-and-swap of `tail`: `Ok(count)` (0 if the
    /// channel is full or the claim lost a race; the caller then sends one
    /// message the usual way), `Err(())` if the channel is disconnected.
    ///
    /// A slot whose stamp equals its position is empty in that position's
    /// lap and can only be claimed by moving `tail` past it, so the slots
    /// found free stay free until the claim, which covers them all. Within
    /// one lap the positions and the slots both run in a row, so the scan
    /// and the writes walk a slice.
    pub fn send_batch(&self, batch: &mut Staged<T>) -> Result<usize, ()> {
        let tail = self.tail.load(Ordering::Relaxed);
        if tail & self.disconnect_bit != 0 {
            return Err(());
        }
        let index = (tail & self.index_mask) as usize;
        let lap_rest = &self.buffer[index..];
        let wanted = batch.len().min(lap_rest.len());
        let count = lap_rest[..wanted]
            .iter()
            .zip(tail..)
            .take_while(|(slot, position)| slot.stamp.load(Ordering::Acquire) == *position)
            .count();
        if count == 0 {
            return Ok(0);
        }
        let last = tail + count as u64 - 1;
        let end = self.next_position_at(last, last & self.index_mask);
        if self
            .tail
            .compare_exchange(tail, end, Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return Ok(0);
        }
        for (slot, position) in lap_rest[..count].iter().zip(tail..) {
            let msg = batch.pop_front().expect("the batch holds `count` messages");
            slot.msg.with_mut(|cell| {
                // SAFETY: the claim moved `tail` past this slot while its
                // stamp said empty at `position`: ours until the store.
                unsafe { cell.write(MaybeUninit::new(msg)) }
            });
            slot.stamp.store(position + 1, Ordering::Release);
        }
        self.receivers.notify_batch(count, || self.wake_receiver());
        Ok(count)
    }

    /// Receives into `batch` up to `limit` messages written in a row from
    /// the head to the end of the lap, claiming them all with one
    /// compare-and-swap of `head`; says how many (0 if the channel is
    /// empty, the slot at the head is not written yet or skipped, or the
    /// claim lost a race: the caller then receives one message the usual
    /// way), and whether the run ended at a slot not written yet.
    ///
    /// A slot whose stamp says it holds the message of its position keeps
    /// it until a receiver moves `head` past it, so the messages found stay
    /// until the claim, which covers them all.
    pub fn recv_batch(&self, batch: &mut Vec<T>, limit: usize) -> RecvRun {
        let head = self.head.load(Ordering::Relaxed);
        let index = (head & self.index_mask) as usize;
        let lap_rest = &self.buffer[index..];
        let wanted = limit.min(lap_rest.len());
        let count = lap_rest[..wanted]
            .iter()
            .zip(head..)
            .take_while(|(slot, position)| slot.stamp.load(Ordering::Acquire) == *position + 1)
            .count();
        let at_end = count < wanted;
        if count == 0 {
            return RecvRun { taken: 0, at_end };
        }
        // Before the claim: once it holds, nothing may panic until every
        // claimed message is out of its slot.
        batch.reserve(count);
        let last = head + count as u64 - 1;
        let end = self.next_position_at(last, last & self.index_mask);
        if self
            .head
            .compare_exchange(head, end, Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return RecvRun::LOST;
        }
        let claimed = lap_rest[..count].iter().zip(head..);
        for ((slot, position), out) in claimed.zip(batch.spare_capacity_mut()) {
            // SAFETY: claimed by moving `head` past it while its stamp said
            // it holds a message; nobody else touches it until our store.
            out.write(slot.msg.with(|cell| unsafe { cell.read().assume_init() }));
            slot.stamp
                .store(position.wrapping_add(self.one_lap), Ordering::Release);
        }
        // SAFETY: the loop wrote `count` messages after the `Vec`'s length,
        // into the capacity reserved above.
        unsafe { batch.set_len(batch.len() + count) };
        self.senders.notify_batch(count, || self.wake_sender());
        RecvRun {
            taken: count,
            at_end,
        }
    }

    /// Sends without blocking.
    #[inline]
    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        // The hand-off first, then `send_fast`'s claim even with waiters:
        // async receivers wait in the same queue, and their wakers never
        // take a message, so the claim is still the common case there.
        let msg = match self.hand_off_if_waiting(msg) {
            Ok(()) => return Ok(()),
            Err(msg) => msg,
        };
        let msg = match self.claim_and_write(msg) {
            Ok(()) => return Ok(()),
            Err(msg) => msg,
        };
        self.try_send_slow(msg)
    }

    #[inline(never)]
    fn try_send_slow(&self, msg: T) -> Result<(), TrySendError<T>> {
        let mut token = ArrayToken::default();
        if self.reserve_send(&mut token) {
            // SAFETY: the token was just reserved on this channel.
            unsafe { self.write_reserved(&mut token, msg) }.map_err(TrySendError::Disconnected)
        } else {
            Err(TrySendError::Full(msg))
        }
    }

    /// Sends, blocking while the channel is full, until `deadline` if any.
    #[inline]
    pub fn send(&self, msg: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        let msg = match self.send_fast(msg) {
            Ok(()) => return Ok(()),
            Err(msg) => msg,
        };
        self.send_slow(msg, deadline)
    }

    /// `send`, every case: back off, then block.
    #[inline(never)]
    fn send_slow(&self, msg: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        let mut msg = match self.hand_off_if_waiting(msg) {
            Ok(()) => return Ok(()),
            Err(msg) => msg,
        };
        let mut token = ArrayToken::default();
        loop {
            self.spin_while_full();
            if retry_before_blocking(|| self.reserve_send(&mut token)) {
                // SAFETY: the token was just reserved on this channel.
                return unsafe { self.write_reserved(&mut token, msg) }
                    .map_err(SendTimeoutError::Disconnected);
            }
            if let Some(deadline) = deadline {
                if Instant::now() >= deadline {
                    return Err(SendTimeoutError::Timeout(msg));
                }
            }
            // The message waits in a packet, where a receiver that frees
            // a slot may send it for us (see the header).
            let packet = Packet::on_stack(Some(msg));
            let ready = || !self.is_full() || self.is_disconnected();
            let outcome = block_with_packet(&self.senders, &mut token, &packet, ready, deadline);
            if outcome == Some(Outcome::Done) {
                return Ok(());
            }
            // Not sent: nobody else touches the packet any more.
            // SAFETY: the partner is done with the packet, or none was
            // given it; it still holds our message (a partner moves it out
            // only with `Done`).
            msg = unsafe { packet.take() }.expect(UNSENT);
        }
    }

    /// Receives without blocking.
    #[inline]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.recv_fast() {
            Some(msg) => Ok(msg),
            None => self.try_recv_slow(),
        }
    }

    #[inline(never)]
    fn try_recv_slow(&self) -> Result<T, TryRecvError> {
        let mut token = ArrayToken::default();
        if self.reserve_recv(&mut token) {
            // SAFETY: the token was just reserved on this channel.
            unsafe { self.read_reserved(&mut token) }.map_err(|()| TryRecvError::Disconnected)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Receives, blocking while the channel is empty, until `deadline` if
    /// any: the whole receive, for the unit tests. A `Receiver` takes its
    /// two halves itself (`Receiver::recv_until`).
    #[cfg(all(test, not(loom)))]
    pub fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        match self.recv_fast() {
            Some(msg) => Ok(msg),
            None => self.recv_slow(deadline),
        }
    }

    /// `recv`, every case: back off, then block.
    #[inline(never)]
    pub(crate) fn recv_slow(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let mut token = ArrayToken::default();
        loop {
            self.spin_while_empty();
            if retry_before_blocking(|| self.reserve_recv(&mut token)) {
                // SAFETY: the token was just reserved on this channel.
                return unsafe { self.read_reserved(&mut token) }
                    .map_err(|()| RecvTimeoutError::Disconnected);
            }
            if let Some(deadline) = deadline {
                if Instant::now() >= deadline {
                    return Err(RecvTimeoutError::Timeout);
                }
            }
            // A sender that selects us may receive a message for us into
            // the packet (see the header).
            let packet = Packet::<T>::on_stack(None);
            let ready = || !self.is_empty() || self.is_disconnected();
            let outcome = block_with_packet(&self.receivers, &mut token, &packet, ready, deadline);
            if outcome == Some(Outcome::Done) {
                // SAFETY: `Done` (seen with acquire) means the partner wrote
                // a message into the packet and is gone.
                let msg = unsafe { packet.take() };
                return Ok(msg.expect("a done receiver's packet holds a message"));
            }
        }
    }

    /// The number of messages in the channel.
    pub fn len(&self) -> usize {
        loop {
            let tail = self.tail.load(Ordering::SeqCst);
            let head = self.head.load(Ordering::SeqCst);
            if self.tail.load(Ordering::SeqCst) == tail {
                let head_index = head & (self.disconnect_bit - 1);
                let tail_index = tail & (self.disconnect_bit - 1);
                let len = if head_index < tail_index {
                    tail_index - head_index
                } else if head_index > tail_index {
                    self.cap - head_index + tail_index
                } else if tail & !self.disconnect_bit == head {
                    0
                } else {
                    self.cap
                };
                return len as usize;
            }
        }
    }

    /// The capacity.
    pub fn capacity(&self) -> Option<usize> {
        Some(self.cap as usize)
    }

    /// True if there is no message.
    pub fn is_empty(&self) -> bool {
        let head = self.head.load(Ordering::SeqCst);
        let tail = self.tail.load(Ordering::SeqCst);
        tail & !self.disconnect_bit == head
    }

    /// True if there is no room.
    pub fn is_full(&self) -> bool {
        let tail = self.tail.load(Ordering::SeqCst);
        let head = self.head.load(Ordering::SeqCst);
        head.wrapping_add(self.one_lap) == tail & !self.disconnect_bit
    }

    /// True once either side has disconnected.
    pub fn is_disconnected(&self) -> bool {
        self.tail.load(Ordering::SeqCst) & self.disconnect_bit != 0
    }

    /// How many operations wait: `(senders, receivers)`.
    #[cfg(feature = "stats")]
    pub fn blocked(&self) -> (usize, usize) {
        (self.senders.len(), self.receivers.len())
    }

    /// Marks the channel disconnected and wakes every waiter; true if this
    /// call did it.
    fn disconnect(&self) -> bool {
        let tail = self.tail.fetch_or(self.disconnect_bit, Ordering::SeqCst);
        if tail & self.disconnect_bit == 0 {
            self.senders.disconnect();
            self.receivers.disconnect();
            true
        } else {
            false
        }
    }

    /// Called when the last sender is gone.
    pub fn disconnect_senders(&self) -> bool {
        self.disconnect()
    }

    /// Closes the channel for sending (`Sender::close`/`Receiver::close`):
    /// blocked senders wake and fail, and the receivers still get every
    /// message sent before, including one whose slot was claimed before
    /// the close and is written after it. True if this call closed it.
    pub fn close(&self) -> bool {
        self.disconnect()
    }

    /// Called when the last receiver is gone: disconnects and drops every
    /// message still inside, since nobody can receive it any more.
    pub fn disconnect_receivers(&self) -> bool {
        let disconnected = self.disconnect();
        self.discard_all_messages();
        disconnected
    }

    /// Drops every message between head and tail. Runs when no receiver is
    /// left. The discard first takes the whole range by moving `head` to
    /// `tail` (which no longer moves: the channel is disconnected), so if a
    /// message's `Drop` panics, the messages after it are leaked: nothing,
    /// neither this discard nor `Drop`, comes back to them. A sender that
    /// claimed a slot before the disconnect bit was set is waited for
    /// briefly; if it is still not done (or its reservation was leaked),
    /// `head` is moved back to its slot, leaving the rest for `Drop`, which
    /// runs after that sender is gone.
    fn discard_all_messages(&self) {
        let tail = self.tail.load(Ordering::SeqCst) & !self.disconnect_bit;
        let mut head = self.head.swap(tail, Ordering::AcqRel);
        let mut backoff = Backoff::new();
        let mut rounds = 0;
        while head != tail {
            let slot = self.slot(head);
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == head + 1 {
                // SAFETY: the stamp says the slot holds a message, and no
                // receiver is left to claim it; `head` has moved past it,
                // so nobody else will read it.
                drop(slot.msg.with(|cell| unsafe { cell.read().assume_init() }));
            } else if stamp != (head + 1) | SKIPPED_SEND {
                if rounds == DISCARD_WAIT_ROUNDS {
                    self.head.store(head, Ordering::Release);
                    return;
                }
                if backoff.is_completed() {
                    rounds += 1;
                }
                backoff.snooze();
                continue;
            }
            head = self.next_position(head);
        }
    }

    /// A select handle for the receiving side.
    pub fn receiver(&self) -> Receiver<'_, T> {
        QueueReceiver(self)
    }

    /// A select handle for the sending side.
    pub fn sender(&self) -> Sender<'_, T> {
        Sender(self)
    }
}

impl<T> Drop for Channel<T> {
    /// Drops the messages still inside. If one of their drops panics, the
    /// loop ends there and the rest are leaked; the buffer is still freed
    /// with the other fields (its slots are `MaybeUninit`).
    fn drop(&mut self) {
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Relaxed) & !self.disconnect_bit;
        let mut position = head;
        while position != tail {
            let slot = self.slot(position);
            if slot.stamp.load(Ordering::Relaxed) == position + 1 {
                // SAFETY: we own the channel and the stamp says the slot
                // holds a fully written message (skipped sends and leaked
                // reservations have other stamps).
                slot.msg
                    .with_mut(|cell| unsafe { (*cell).assume_init_drop() });
            }
            position = self.next_position(position);
        }
    }
}

/// The receiving side of an array channel, for the select engine.
pub type Receiver<'a, T> = QueueReceiver<'a, Channel<T>>;

/// The sending side of an array channel, for the select engine.
pub struct Sender<'a, T>(&'a Channel<T>);

impl<T> Queue for Channel<T> {
    fn receivers(&self) -> &SyncWaiters {
        &self.receivers
    }
    fn start_recv(&self, token: &mut Token) -> bool {
        Channel::start_recv(self, token)
    }
    fn wake_a_receiver(&self) {
        self.wake_receiver();
    }
    fn observe_recv(&self) -> Readiness {
        let head = self.head.load(Ordering::SeqCst);
        // A marked tail (disconnected) never equals `head`.
        if self.tail.load(Ordering::SeqCst) == head {
            Readiness::Blocked(u128::from(head))
        } else {
            Readiness::Ready
        }
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
        self.0.senders.register(oper, cx);
        self.is_ready()
    }
    fn unregister(&self, oper: Operation) {
        self.0.senders.unregister(oper);
    }
    fn accept(&self, token: &mut Token, _cx: &Context) -> bool {
        self.try_select(token)
    }
    fn is_ready(&self) -> bool {
        !self.0.is_full() || self.0.is_disconnected()
    }
    fn observe(&self) -> Readiness {
        let rollbacks = self.0.send_rollbacks.load(Ordering::SeqCst);
        let tail = self.0.tail.load(Ordering::SeqCst);
        let head = self.0.head.load(Ordering::SeqCst);
        // A marked tail (disconnected) never equals `head + one_lap`.
        if rollbacks % 2 == 0 && head.wrapping_add(self.0.one_lap) == tail {
            Readiness::Blocked(u128::from(rollbacks) << 64 | u128::from(tail))
        } else {
            Readiness::Ready
        }
    }
    fn watch(&self, oper: Operation, cx: &Context) -> bool {
        self.0.senders.watch(oper, cx);
        self.is_ready()
    }
    fn unwatch(&self, oper: Operation) {
        self.0.senders.unwatch(oper);
    }
    fn pass_on(&self) {
        self.0.wake_sender();
    }
}

#[cfg(all(test, not(loom)))]
#[path = "array_tests.rs"]
mod tests;
