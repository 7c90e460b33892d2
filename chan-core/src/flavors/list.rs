//! The list flavor: an unbounded lock-free queue made of a linked list of
//! fixed-size blocks.
//!
//! Positions: `head` and `tail` are 64-bit positions (`AtomicU64`, as in the
//! array flavor; 64 bits do not wrap in practice, so a stale thread's
//! compare-and-swap on a position can never succeed by accident). A
//! position is `(lap * LAP + offset) << SHIFT | mark`. Each lap of `LAP`
//! positions (256; 32 under loom) maps to one block of `BLOCK_CAP = LAP - 1`
//! slots; offset `BLOCK_CAP` is not a slot but means "this block is full,
//! the next block is being installed".
//! Each position sits on its own cache line (`CachePadded`) together with
//! the pointer to the block it is in.
//!
//! Mark bits: in `tail`, the low bit (`MARK_BIT`) means "disconnected"; in
//! `head`, it means "head's block is not the last one", so a receiver may
//! claim a slot without looking at `tail`.
//!
//! Sending: a sender claims the slot at `tail` with a compare-and-swap of
//! `tail`, writes the message, then sets the slot's `written` flag. The very
//! first send installs the first block. The sender that is about to claim
//! the last slot of a block obtains the next block *before* its
//! compare-and-swap (taking the spare block, else allocating), so that the
//! window in which other senders wait for the new block is only a few
//! stores long; after its claim it publishes the block in `tail`, moves
//! `tail` past offset `BLOCK_CAP`, and links the block from the old one's
//! `next`.
//! The claim is made in `write`, not in `start_send`: an unbounded send is
//! always ready, so a select that selects a send and then never completes
//! it leaves no hole in the queue.
//!
//! Receiving: a receiver claims the slot at `head` with a compare-and-swap
//! of `head` (when `head` equals `tail` the channel is empty, or
//! disconnected if `tail` is marked), waits for the slot's `written` flag
//! (the sender that claimed it is at most a few instructions away from
//! setting it), and reads the message. The receiver that claims the last slot of a
//! block moves `head` to the next block.
//!
//! Freeing: a block is released once every one of its slots has been read.
//! A receiver that has moved its message out sets the slot's `read` flag
//! (a release store, its last access to the block). The receiver that
//! claimed the block's last slot owns the release: after its own read it
//! checks every `read` flag (acquire), so every other reader's accesses,
//! and through the `written` flags they acquired every sender's, happen
//! before; if a receiver is still reading (it claimed earlier but was
//! slower), the block goes onto the `deferred` stack instead, and the next
//! releasing receiver retries it first. This costs each message one plain
//! store instead of a locked read-modify-write on a shared counter. A
//! released block is reset (its flags zeroed by plain writes, the
//! releaser owning it) and kept as one of the channel's `SPARES` (4)
//! spare blocks (`spare`, one atomic pointer each), which a sender that
//! needs a block takes before allocating; if every spare place is taken,
//! the block is freed. Steady traffic therefore does not allocate, a
//! producer running a few blocks ahead of its consumer gets their blocks
//! back rather than the allocator's (whose per-thread caches keep a block
//! freed by one thread from the other), and after a burst the memory of
//! all but five blocks returns to the allocator as soon as it is read (a
//! block whose release was deferred waits for the next release, the last
//! receiver's going, or the channel's drop).
//!
//! Invariants: a slot's message is accessed by the sender that claimed the
//! slot (until its `written` flag) and then by the receiver that claimed it
//! (until its `read` flag); never by two threads at once. A slot's
//! `written` flag is set only by its sender and its `read` flag only by its
//! receiver (both cleared by the reset of a released block), so each is a
//! plain release store. Positions only grow. A block is
//! reset and reused, or freed, only by the one thread that claimed its last
//! slot or took it off `deferred`, after seeing every `read` flag set; no
//! thread dereferences a block pointer it loaded unless its claim on the
//! corresponding position succeeded (which proves the block is still live),
//! or, in a batch receive, it holds unread claimed slots of that block
//! (which keep it live while it reads the newest slot's `written` flag).
//! Every message between `head` and `tail` is owned by the channel until a
//! receiver takes it. The channel drops those left, oldest first and each
//! at most once (the drain moves past a position before dropping its
//! message), in `disconnect_receivers` (which discards the queue at once so
//! messages are not kept until the last sender goes) or in `Drop`. If one
//! of these drops panics, the panic propagates and the messages after it
//! are leaked, never dropped: `disconnect_receivers` moves `head` to `tail`
//! before its drain starts, `Drop` runs once, and the drain's guard goes on
//! during unwinding only to free the blocks (after waiting for senders
//! still writing into them). So no message is dropped while unwinding (a
//! second panic would abort the process), and the blocks are still freed.

use super::{Queue, QueueReceiver, RecvRun};
use crate::batch::Staged;
use crate::context::{Context, Operation, Selected};
use crate::err::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use crate::handle::{Readiness, SelectHandle, Token, TokenWords};
use crate::policy::{spin_until, Backoff};
use crate::probes::{self, Event};
use crate::sync::{AtomicBool, AtomicPtr, AtomicU64, AtomicU8, Ordering, UnsafeCell};
use crate::waiters::SyncWaiters;
use crossbeam_utils::CachePadded;
use std::marker::PhantomData;
use std::mem::{self, MaybeUninit};
use std::ptr;
use std::time::Instant;

/// Positions per block: `BLOCK_CAP` slots plus the "next block" position.
///
/// A block change is the one point where senders (waiting for the next
/// block to be installed) and receivers (moving `head` on, releasing the
/// block) serialise, so fewer changes per message pay under contention
/// (255 slots measured faster than 63, 127 and 511 in the comparison
/// harness's contended cells). The price is memory: a block holds 255 messages plus two
/// flags each, and a drained channel keeps up to five blocks (the current
/// one and the spares). Loom models use small blocks, so that a model crosses a
/// block boundary in few steps.
#[cfg(not(loom))]
const LAP: u64 = 256;
#[cfg(loom)]
const LAP: u64 = 32;
/// Released blocks kept for reuse (`spare`): enough that a producer and
/// a consumer on two threads pass blocks to each other instead of through
/// the allocator (whose per-thread caches would not give the consumer's
/// freed block back to the producer), few enough that a drained channel
/// keeps little memory.
const SPARES: usize = 4;
/// Slots per block.
const BLOCK_CAP: usize = LAP as usize - 1;
/// Low bits of a position that carry a mark rather than the position.
const SHIFT: u32 = 1;
/// One position step.
const STEP: u64 = 1 << SHIFT;
/// In `tail`: disconnected. In `head`: head's block is not the last one.
const MARK_BIT: u64 = 1;

/// The offset of `index` inside its block (`BLOCK_CAP` = end of block).
#[inline]
fn offset_of(index: u64) -> usize {
    ((index >> SHIFT) % LAP) as usize
}

/// The lap (block number) of `index`.
#[inline]
fn lap_of(index: u64) -> u64 {
    (index >> SHIFT) / LAP
}

/// The position of `index`, moved off a block's end position onto the
/// first position of the next block (they stand for the same place in the
/// queue).
#[inline]
fn normalized(index: u64) -> u64 {
    let position = index >> SHIFT;
    if position % LAP == LAP - 1 {
        position + 1
    } else {
        position
    }
}

/// Slots per group: a group holds its messages and then their `written`
/// flags, so that a word-sized message's group fills exactly one cache line
/// (7 x 8 bytes of messages, 7 flags, one byte of padding). A receiver
/// right behind a sender on another core then moves one line per message,
/// not two (message and flag), and a word costs 9 bytes plus its `read`
/// flag, not the 16 of a slot that pads a flag to the message's alignment.
const GROUP: usize = 7;
/// Groups per block (the last one has slots to spare).
const GROUPS: usize = BLOCK_CAP.div_ceil(GROUP);

/// Bits of a `SLOT_PLACES` entry that hold the slot's index in its group;
/// the group is in the bits above.
const INDEX_BITS: u32 = 3;

/// Where each offset's slot is: its group, shifted up by `INDEX_BITS`,
/// plus its index in the group. Every send and receive looks its slot up here, which replaces a
/// division by `GROUP` (a multiplication and a chain of shifts and
/// subtractions) with one load from a table that stays in the cache.
static SLOT_PLACES: [u16; LAP as usize] = slot_places();

/// Builds `SLOT_PLACES`, checking at compile time that every place is in
/// bounds (a group below `GROUPS`, an index below `GROUP`, which `slot`
/// relies on), for every offset up to `LAP` (`BLOCK_CAP` included).
const fn slot_places() -> [u16; LAP as usize] {
    let mut places = [0; LAP as usize];
    let mut offset = 0;
    while offset < LAP as usize {
        let (group, index) = (offset / GROUP, offset % GROUP);
        assert!(group < GROUPS && index < GROUP && GROUP <= 1 << INDEX_BITS);
        places[offset] = (group << INDEX_BITS | index) as u16;
        offset += 1;
    }
    places
}

/// `GROUP` slots: their messages, then the flags their senders set once
/// they are written.
#[repr(C)]
struct SlotGroup<T> {
    msgs: [UnsafeCell<MaybeUninit<T>>; GROUP],
    /// Slot `i` holds a message (set by its sender only).
    written: [AtomicBool; GROUP],
}

/// A block of slots, linked to the next block once that one exists.
///
/// Aligned to a cache line so that every group of word-sized messages is
/// one line. The `read` flags sit in an array of their own after the
/// groups: receivers set them, and a receiver's store next to a slot a
/// sender is about to write would take that line away from the sender.
#[repr(C, align(64))]
struct Block<T> {
    groups: [SlotGroup<T>; GROUPS],
    next: AtomicPtr<Block<T>>,
    /// 1 once slot `i`'s receiver has finished with the block (set by that
    /// receiver only, as its last access), else 0. Bytes rather than
    /// `AtomicBool`s so that `all_read` can fold them with `&` as they are.
    read: [AtomicU8; BLOCK_CAP],
    /// The next block in the channel's `deferred` stack.
    next_deferred: AtomicPtr<Block<T>>,
}

impl<T> Block<T> {
    /// Allocates an empty block directly on the heap (a block of large
    /// messages would not fit on the stack). Only the flags and links are
    /// initialised: the message cells are `MaybeUninit` and stay as they
    /// come.
    #[cfg(not(loom))]
    fn alloc() -> *mut Block<T> {
        use std::alloc::{alloc, handle_alloc_error, Layout};
        let layout = Layout::new::<Block<T>>();
        // SAFETY: the layout is not zero-sized (a block holds atomics).
        let block = unsafe { alloc(layout) }.cast::<Block<T>>();
        if block.is_null() {
            handle_alloc_error(layout);
        }
        // SAFETY: `block` is a fresh allocation of `Block<T>`'s layout, so
        // this thread alone can reach it. After `clear` every field but the
        // `MaybeUninit` messages is initialised.
        unsafe { Block::clear(block) };
        block
    }

    /// Writes every flag and link of `block` empty (all-zero bytes: `false`
    /// and null), with plain writes through raw field pointers, which make
    /// no reference to a block that may be uninitialised and compile to a
    /// few wide stores instead of one store per flag.
    ///
    /// # Safety
    /// `block` points to memory of `Block<T>`'s layout that no other thread
    /// accesses until the caller publishes the block again (with release
    /// ordering), and every earlier access by another thread happens before
    /// this call.
    #[cfg(not(loom))]
    unsafe fn clear(block: *mut Block<T>) {
        // SAFETY: by the contract above, nothing reads or writes the block
        // concurrently; each write stays inside one field of the block.
        unsafe {
            let groups = ptr::addr_of_mut!((*block).groups).cast::<SlotGroup<T>>();
            for group in 0..GROUPS {
                ptr::addr_of_mut!((*groups.add(group)).written).write_bytes(0, 1);
            }
            ptr::addr_of_mut!((*block).read).write_bytes(0, 1);
            ptr::addr_of_mut!((*block).next).write(AtomicPtr::new(ptr::null_mut()));
            ptr::addr_of_mut!((*block).next_deferred).write(AtomicPtr::new(ptr::null_mut()));
        }
    }

    /// Allocates an empty block (loom atomics cannot be zero-initialised).
    #[cfg(loom)]
    fn alloc() -> *mut Block<T> {
        Box::into_raw(Box::new(Block {
            groups: core::array::from_fn(|_| SlotGroup {
                msgs: core::array::from_fn(|_| UnsafeCell::new(MaybeUninit::uninit())),
                written: core::array::from_fn(|_| AtomicBool::new(false)),
            }),
            next: AtomicPtr::new(ptr::null_mut()),
            read: core::array::from_fn(|_| AtomicU8::new(0)),
            next_deferred: AtomicPtr::new(ptr::null_mut()),
        }))
    }

    /// Frees a block; its messages must have been moved out or dropped.
    ///
    /// # Safety
    /// `block` came from `alloc`, is owned by the caller and is not used
    /// again.
    unsafe fn free(block: *mut Block<T>) {
        #[cfg(loom)]
        // SAFETY: the caller owns the block, by the contract above.
        unsafe { &*block }.check_owned();
        // SAFETY: `alloc` allocated it with `Block<T>`'s layout through the
        // global allocator, exactly as a `Box<Block<T>>` would; dropping the
        // box drops no message (`MaybeUninit`).
        drop(unsafe { Box::from_raw(block) });
    }

    /// Slot `offset`'s message cell and `written` flag.
    #[inline]
    fn slot(&self, offset: usize) -> (&UnsafeCell<MaybeUninit<T>>, &AtomicBool) {
        // Offsets are below `LAP`: saying so drops the table's bounds check.
        let place = usize::from(SLOT_PLACES[offset % LAP as usize]);
        let (group, index) = (place >> INDEX_BITS, place & ((1 << INDEX_BITS) - 1));
        // SAFETY: every entry of `SLOT_PLACES` has a group below `GROUPS`
        // and an index below `GROUP`, which `slot_places` asserts while the
        // table is built at compile time.
        unsafe {
            let group = self.groups.get_unchecked(group);
            (
                group.msgs.get_unchecked(index),
                group.written.get_unchecked(index),
            )
        }
    }

    /// The message cells and `written` flags of `count` slots from
    /// `offset`, in order, without the division `slot` makes for each.
    #[inline]
    fn slots(
        &self,
        offset: usize,
        count: usize,
    ) -> impl Iterator<Item = (&UnsafeCell<MaybeUninit<T>>, &AtomicBool)> {
        self.groups[offset / GROUP..]
            .iter()
            .flat_map(|group| group.msgs.iter().zip(&group.written))
            .skip(offset % GROUP)
            .take(count)
    }

    /// Calls `visit` with the message cell, `written` flag and `read` flag
    /// of each of `count` slots from `offset`, in order: the walk of
    /// `slots` with the `read` flags beside, written as a loop (which a
    /// batch receive, doing more per slot, compiles to fewer instructions
    /// than the iterator).
    #[inline(always)]
    fn for_slots(
        &self,
        offset: usize,
        count: usize,
        mut visit: impl FnMut(&UnsafeCell<MaybeUninit<T>>, &AtomicBool, &AtomicU8),
    ) {
        let (mut group, mut index) = (offset / GROUP, offset % GROUP);
        for read in &self.read[offset..offset + count] {
            let slots = &self.groups[group];
            visit(&slots.msgs[index], &slots.written[index], read);
            index += 1;
            if index == GROUP {
                index = 0;
                group += 1;
            }
        }
    }

    /// Under loom, writes every message cell (a write that changes
    /// nothing), so that a model fails with a causality violation unless
    /// every sender's and receiver's access to the block happened before
    /// the caller's reset or free: the ownership `all_read`'s acquires
    /// give a releasing receiver, checked on every slot and not only on
    /// the slots a model's later sends happen to reuse.
    #[cfg(loom)]
    fn check_owned(&self) {
        for group in &self.groups {
            for msg in &group.msgs {
                msg.with_mut(|_| ());
            }
        }
    }

    /// Makes a fully released block empty again, for reuse.
    ///
    /// # Safety
    /// The caller owns `block` exclusively, as `Channel::recycle` requires.
    #[cfg(not(loom))]
    unsafe fn reset(block: *mut Block<T>) {
        // SAFETY: an owned block is one no other thread accesses any more,
        // and every earlier access happened before (`all_read`'s acquire);
        // it is published again only by `recycle`'s release.
        unsafe { Block::clear(block) }
    }

    /// Makes a fully released block empty again, for reuse: one store per
    /// flag, each of which loom checks against the receivers' and senders'
    /// earlier accesses.
    ///
    /// # Safety
    /// As the non-loom `reset`.
    #[cfg(loom)]
    unsafe fn reset(block: *mut Block<T>) {
        // SAFETY: owned by the caller, so live.
        let block = unsafe { &*block };
        block.check_owned();
        block.next.store(ptr::null_mut(), Ordering::Relaxed);
        block
            .next_deferred
            .store(ptr::null_mut(), Ordering::Relaxed);
        for group in &block.groups {
            for written in &group.written {
                written.store(false, Ordering::Relaxed);
            }
        }
        for read in &block.read {
            read.store(0, Ordering::Relaxed);
        }
    }

    /// True once every slot's receiver has finished with the block; then
    /// all their accesses (and, through the `written` flags they acquired,
    /// the senders') happen before the caller's next ones.
    ///
    /// The flags are read eight at a time and folded with `&`, a load and
    /// an `and` each instead of a branch each. Each load is an acquire
    /// (relaxed loads and one acquire fence would do as well, but
    /// ThreadSanitizer does not see a fence's synchronisation).
    fn all_read(&self) -> bool {
        let mut chunks = self.read.chunks_exact(8);
        chunks.by_ref().all(|flags| {
            flags
                .iter()
                .fold(1, |all, read| all & read.load(Ordering::Acquire))
                == 1
        }) && chunks
            .remainder()
            .iter()
            .all(|read| read.load(Ordering::Acquire) == 1)
    }

    /// Waits until the next block is linked, and returns it.
    #[inline]
    fn wait_next(&self) -> *mut Block<T> {
        let mut backoff = Backoff::new();
        loop {
            let next = self.next.load(Ordering::Acquire);
            if !next.is_null() {
                return next;
            }
            backoff.snooze();
        }
    }
}

/// Waits until a claimed slot's sender has set its `written` flag.
#[inline]
fn wait_written(written: &AtomicBool) {
    if !written.load(Ordering::Acquire) {
        wait_written_slow(written);
    }
}

#[cold]
fn wait_written_slow(written: &AtomicBool) {
    probes::count(Event::UnwrittenSlotWait);
    let mut backoff = Backoff::new();
    while !written.load(Ordering::Acquire) {
        backoff.snooze();
    }
}

/// One end of the queue.
struct Position<T> {
    index: AtomicU64,
    block: AtomicPtr<Block<T>>,
}

impl<T> Position<T> {
    fn new() -> Self {
        Position {
            index: AtomicU64::new(0),
            block: AtomicPtr::new(ptr::null_mut()),
        }
    }
}

/// The list flavor's reservation of a receive: the block and offset of the
/// claimed slot. A null block means "disconnected" (the read then fails).
/// Sends reserve nothing (see the module header).
#[derive(Debug, Clone, Copy, Default)]
pub struct ListToken(TokenWords);

impl ListToken {
    #[inline]
    fn new<T>(claim: HeadClaim<T>) -> ListToken {
        ListToken(TokenWords::new(claim.block, claim.offset as u64))
    }

    /// The claim this token records.
    #[inline]
    fn claim<T>(&self) -> HeadClaim<T> {
        HeadClaim {
            block: self.0.pointer(),
            offset: self.0.number() as usize,
        }
    }

    /// Overwrites `self` with `claim` in one store (see `TokenWords`).
    #[inline(always)]
    fn store(&mut self, claim: ListToken) {
        self.0.store(claim.0);
    }
}

/// A claimed slot at the head as `claim_head` returns it: a pointer, not
/// the token's integer address, so that on the inlined paths the compiler
/// still knows what it checked of the block. A null block means
/// "disconnected".
struct HeadClaim<T> {
    block: *mut Block<T>,
    offset: usize,
}

impl<T> Clone for HeadClaim<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for HeadClaim<T> {}

/// Counts of block allocations, for the unit tests.
#[cfg(all(test, not(loom)))]
#[derive(Default)]
struct BlockStats {
    allocated: std::sync::atomic::AtomicUsize,
    freed: std::sync::atomic::AtomicUsize,
}

/// An unbounded channel.
pub struct Channel<T> {
    head: CachePadded<Position<T>>,
    tail: CachePadded<Position<T>>,
    /// A released block kept for the next sender that needs one, or null.
    spare: [AtomicPtr<Block<T>>; SPARES],
    /// Blocks whose slots were all claimed while some receiver was still
    /// reading from them, linked through `next_deferred` (see
    /// `release_block`).
    deferred: AtomicPtr<Block<T>>,
    /// Receivers blocked while the channel is empty, on cache lines of
    /// their own (a register writes the lock and `is_empty`).
    receivers: CachePadded<SyncWaiters>,
    #[cfg(all(test, not(loom)))]
    stats: std::sync::Arc<BlockStats>,
    /// The channel owns messages of type `T`.
    _marker: PhantomData<T>,
}

// SAFETY: a slot's message is accessed by one thread at a time (see the
// header), so sharing the channel moves messages between threads but never
// shares one: `T: Send` is enough.
unsafe impl<T: Send> Send for Channel<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Channel<T> {}

impl<T> Default for Channel<T> {
    fn default() -> Self {
        Channel::new()
    }
}

impl<T> Channel<T> {
    /// Creates an empty channel. No memory is allocated until the first
    /// send.
    pub fn new() -> Self {
        Channel {
            head: CachePadded::new(Position::new()),
            tail: CachePadded::new(Position::new()),
            spare: core::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            deferred: AtomicPtr::new(ptr::null_mut()),
            receivers: CachePadded::new(SyncWaiters::new()),
            #[cfg(all(test, not(loom)))]
            stats: Default::default(),
            _marker: PhantomData,
        }
    }

    /// Allocates a fresh block.
    fn new_block(&self) -> *mut Block<T> {
        #[cfg(all(test, not(loom)))]
        self.stats
            .allocated
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Block::alloc()
    }

    /// Frees a block.
    ///
    /// # Safety
    /// As [`Block::free`].
    unsafe fn free_block(&self, block: *mut Block<T>) {
        #[cfg(all(test, not(loom)))]
        self.stats
            .freed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // SAFETY: forwarded caller contract.
        unsafe { Block::free(block) }
    }

    /// An empty block owned by the caller: the spare if there is one, else
    /// a new allocation.
    fn obtain_block(&self) -> *mut Block<T> {
        for spare in &self.spare {
            if !spare.load(Ordering::Relaxed).is_null() {
                // The acquire pairs with the release in `recycle`: the reset
                // of the block happens before our use.
                let block = spare.swap(ptr::null_mut(), Ordering::Acquire);
                if !block.is_null() {
                    return block;
                }
            }
        }
        self.new_block()
    }

    /// Keeps `block` as a spare if a spare place is free, else frees it.
    ///
    /// # Safety
    /// The caller owns `block` exclusively: no message is left in it and no
    /// other thread will access it through a pointer loaded earlier.
    #[inline(never)]
    unsafe fn recycle(&self, block: *mut Block<T>) {
        let mut reset = false;
        for spare in &self.spare {
            if spare.load(Ordering::Relaxed).is_null() {
                if !reset {
                    // SAFETY: the caller owns the block.
                    unsafe { Block::reset(block) };
                    reset = true;
                }
                if spare
                    .compare_exchange(ptr::null_mut(), block, Ordering::Release, Ordering::Relaxed)
                    .is_ok()
                {
                    return;
                }
            }
        }
        // SAFETY: the caller owns the block.
        unsafe { self.free_block(block) }
    }

    /// Frees every spare block.
    fn free_spares(&self) {
        for spare in &self.spare {
            let block = spare.swap(ptr::null_mut(), Ordering::Acquire);
            if !block.is_null() {
                // SAFETY: taken out of its spare place, so ours alone.
                unsafe { self.free_block(block) };
            }
        }
    }

    /// Releases a block all of whose slots were claimed by receivers, on
    /// behalf of the receiver that claimed the last one: at once if every
    /// receiver has finished with it, else onto the `deferred` stack, to be
    /// released by a later call once they have. Earlier deferred blocks are
    /// retried first.
    ///
    /// # Safety
    /// The caller claimed and read `block`'s last slot, and makes no other
    /// access to `block`.
    ///
    /// Runs once per block, so it is kept out of line: `read_reserved`,
    /// which calls it, then stays small enough to inline into every receive.
    #[inline(never)]
    unsafe fn release_block(&self, block: *mut Block<T>) {
        self.retry_deferred();
        // SAFETY: forwarded caller contract.
        unsafe { self.release_or_defer(block) };
    }

    /// Releases the deferred blocks whose receivers have all finished;
    /// pushes the others back.
    fn retry_deferred(&self) {
        if self.deferred.load(Ordering::Relaxed).is_null() {
            return;
        }
        let mut deferred = self.deferred.swap(ptr::null_mut(), Ordering::Acquire);
        while !deferred.is_null() {
            // SAFETY: taken off the stack, so this thread alone releases it;
            // it stays live until then.
            let next = unsafe { (*deferred).next_deferred.load(Ordering::Relaxed) };
            // SAFETY: as above; every slot of a deferred block was claimed.
            unsafe { self.release_or_defer(deferred) };
            deferred = next;
        }
    }

    /// Recycles `block` if every receiver has finished with it, else pushes
    /// it onto the `deferred` stack.
    ///
    /// # Safety
    /// All of `block`'s slots were claimed by receivers, and the caller
    /// alone may release it (it claimed the last slot, or took the block off
    /// the `deferred` stack).
    unsafe fn release_or_defer(&self, block: *mut Block<T>) {
        // SAFETY: live until released, by the caller's contract.
        let block_ref = unsafe { &*block };
        if block_ref.all_read() {
            // SAFETY: every receiver has finished with the block (seen with
            // acquire), and every sender before the flag its receiver read.
            unsafe { self.recycle(block) };
            return;
        }
        let mut top = self.deferred.load(Ordering::Relaxed);
        loop {
            block_ref.next_deferred.store(top, Ordering::Relaxed);
            match self.deferred.compare_exchange_weak(
                top,
                block,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(current) => top = current,
            }
        }
    }

    /// Claims a slot at the tail and writes `msg` into it; gives `msg` back
    /// if the channel is disconnected.
    ///
    /// The message is moved as few times as possible (no closure captures
    /// it), so that large messages do not need a large stack.
    #[inline]
    fn push(&self, msg: T) -> Result<(), T> {
        let Some((block, offset)) = self.claim_slot() else {
            return Err(msg);
        };
        // SAFETY: `claim_slot` gives a slot that is ours until we set its
        // `written` flag, in a block that stays live until the slot is read.
        unsafe {
            let block = &*block;
            // `MaybeUninit<T>` has the layout of `T`.
            let (cell, written) = block.slot(offset);
            cell.with_mut(|cell| cell).cast::<T>().write(msg);
            // Only the sender writes a slot's flag (see the header).
            written.store(true, Ordering::Release);
        }
        self.receivers.notify();
        Ok(())
    }

    /// Claims the slot at the tail for a send; `None` if the channel is
    /// disconnected.
    ///
    /// The common case is inlined: the tail is in an installed block, not
    /// at its last slot, and the claim wins at the first try. Everything
    /// else (first block, block ends, lost races, disconnection) is
    /// `claim_slot_slow`.
    #[inline]
    fn claim_slot(&self) -> Option<(*mut Block<T>, usize)> {
        let tail = self.tail.index.load(Ordering::Acquire);
        let block = self.tail.block.load(Ordering::Acquire);
        let offset = offset_of(tail);
        if tail & MARK_BIT == 0
            && offset + 1 < BLOCK_CAP
            && !block.is_null()
            && self
                .tail
                .index
                .compare_exchange_weak(
                    tail,
                    tail.wrapping_add(STEP),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            // As in `claim_slot_slow`: the claim succeeded with the index
            // loaded before `block`, so `block` is the block of our slot.
            // `offset < BLOCK_CAP` and `block` is live (our slot in it is not
            // even written yet).
            return Some((block, offset));
        }
        self.claim_slot_slow()
    }

    /// `claim_slot`, every case.
    #[inline(never)]
    fn claim_slot_slow(&self) -> Option<(*mut Block<T>, usize)> {
        let mut backoff = Backoff::new();
        let mut tail = self.tail.index.load(Ordering::Acquire);
        let mut block = self.tail.block.load(Ordering::Acquire);
        // The block this send installs if it claims a block's last slot.
        let mut next_block: *mut Block<T> = ptr::null_mut();

        let result = loop {
            if tail & MARK_BIT != 0 {
                break None;
            }
            let offset = offset_of(tail);

            // Another sender is installing the next block: wait for it.
            if offset == BLOCK_CAP {
                backoff.snooze();
                tail = self.tail.index.load(Ordering::Acquire);
                block = self.tail.block.load(Ordering::Acquire);
                continue;
            }

            // Obtain the next block before claiming the last slot, so that
            // others wait for a few stores, not for an allocation.
            if offset + 1 == BLOCK_CAP && next_block.is_null() {
                next_block = self.obtain_block();
            }

            // The first send installs the first block.
            if block.is_null() {
                let first = self.obtain_block();
                if self
                    .tail
                    .block
                    .compare_exchange(ptr::null_mut(), first, Ordering::Release, Ordering::Relaxed)
                    .is_ok()
                {
                    self.head.block.store(first, Ordering::Release);
                    block = first;
                } else {
                    // SAFETY: `first` was never published.
                    unsafe { self.recycle(first) };
                    tail = self.tail.index.load(Ordering::Acquire);
                    block = self.tail.block.load(Ordering::Acquire);
                    continue;
                }
            }

            match self.tail.index.compare_exchange_weak(
                tail,
                tail.wrapping_add(STEP),
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if offset + 1 == BLOCK_CAP {
                        let next = mem::replace(&mut next_block, ptr::null_mut());
                        self.tail.block.store(next, Ordering::Release);
                        self.tail.index.fetch_add(STEP, Ordering::Release);
                        // SAFETY: `block` is live: our claimed slot in it
                        // is not even written yet.
                        unsafe { (*block).next.store(next, Ordering::Release) };
                    }
                    // The claim succeeded with the index loaded before
                    // `block`, so `block` is the block of our slot
                    // (positions never repeat).
                    // `offset < BLOCK_CAP` and `block` is live.
                    break Some((block, offset));
                }
                Err(current) => {
                    tail = current;
                    block = self.tail.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        };

        if !next_block.is_null() {
            // SAFETY: the block was never published.
            unsafe { self.recycle(next_block) };
        }
        result
    }

    /// Claims the slot at the head, recording it in `token`. Returns false
    /// if the channel is empty; true with a null block if it is empty and
    /// disconnected.
    #[inline]
    fn reserve_recv(&self, token: &mut ListToken) -> bool {
        match self.claim_head() {
            Some(claim) => {
                token.store(ListToken::new(claim));
                true
            }
            None => false,
        }
    }

    /// `reserve_recv` returning the claim by value (so that the inlined
    /// fast path keeps it in registers): `None` if the channel is empty, a
    /// claim with a null block if it is empty and disconnected.
    ///
    /// The common case is inlined: the head is in an installed block, not
    /// at its last slot, and the claim wins at the first try (or the
    /// channel is found empty). Everything else is `reserve_recv_slow`,
    /// whose loop makes the same decisions.
    #[inline]
    fn claim_head(&self) -> Option<HeadClaim<T>> {
        let head = self.head.index.load(Ordering::Acquire);
        let block = self.head.block.load(Ordering::Acquire);
        let offset = offset_of(head);
        if offset + 1 < BLOCK_CAP {
            let mut new_head = head.wrapping_add(STEP);
            if head & MARK_BIT == 0 {
                let tail = self.tail.index.load(Ordering::SeqCst);
                if head >> SHIFT == tail >> SHIFT {
                    if tail & MARK_BIT != 0 {
                        return Some(HeadClaim {
                            block: ptr::null_mut(),
                            offset: 0,
                        });
                    }
                    return None;
                }
                if lap_of(head) != lap_of(tail) {
                    new_head |= MARK_BIT;
                }
            }
            if !block.is_null()
                && self
                    .head
                    .index
                    .compare_exchange_weak(head, new_head, Ordering::SeqCst, Ordering::Relaxed)
                    .is_ok()
            {
                return Some(HeadClaim { block, offset });
            }
        }
        let mut token = ListToken::default();
        if self.reserve_recv_slow(&mut token) {
            Some(token.claim())
        } else {
            None
        }
    }

    /// `reserve_recv`, every case.
    #[inline(never)]
    fn reserve_recv_slow(&self, token: &mut ListToken) -> bool {
        let mut backoff = Backoff::new();
        let mut head = self.head.index.load(Ordering::Acquire);
        let mut block = self.head.block.load(Ordering::Acquire);

        loop {
            let offset = offset_of(head);

            // Another receiver is moving head to the next block.
            if offset == BLOCK_CAP {
                backoff.snooze();
                head = self.head.index.load(Ordering::Acquire);
                block = self.head.block.load(Ordering::Acquire);
                continue;
            }

            let mut new_head = head.wrapping_add(STEP);
            if head & MARK_BIT == 0 {
                // Head may be in the tail's block: compare with the tail.
                let tail = self.tail.index.load(Ordering::SeqCst);
                if head >> SHIFT == tail >> SHIFT {
                    if tail & MARK_BIT != 0 {
                        *token = ListToken::default();
                        return true;
                    }
                    return false;
                }
                if lap_of(head) != lap_of(tail) {
                    new_head |= MARK_BIT;
                }
            }

            // The first block is being installed by the first sender.
            if block.is_null() {
                backoff.snooze();
                head = self.head.index.load(Ordering::Acquire);
                block = self.head.block.load(Ordering::Acquire);
                continue;
            }

            match self.head.index.compare_exchange_weak(
                head,
                new_head,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if offset + 1 == BLOCK_CAP {
                        // SAFETY: `block` is live (our slot in it is not
                        // read yet), and so is its successor (head has not
                        // entered it, so none of its slots has been read).
                        let (next, next_has_next) = unsafe {
                            let next = (*block).wait_next();
                            (next, !(*next).next.load(Ordering::Relaxed).is_null())
                        };
                        let mut next_index = (new_head & !MARK_BIT).wrapping_add(STEP);
                        if next_has_next {
                            next_index |= MARK_BIT;
                        }
                        self.head.block.store(next, Ordering::Release);
                        self.head.index.store(next_index, Ordering::Release);
                    }
                    token.store(ListToken::new(HeadClaim { block, offset }));
                    return true;
                }
                Err(current) => {
                    head = current;
                    block = self.head.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        }
    }

    /// Reads the slot claimed in `token`.
    ///
    /// # Safety
    /// `token` holds a claim made by `reserve_recv` on this channel, not yet
    /// completed.
    #[inline]
    unsafe fn read_reserved(&self, token: &mut ListToken) -> Result<T, ()> {
        // SAFETY: forwarded caller contract.
        unsafe { self.read_claimed(token.claim()) }
    }

    /// Reads the slot of `claim`.
    ///
    /// # Safety
    /// `claim` was made by `claim_head` (or recorded by `reserve_recv`) on
    /// this channel, and not yet completed.
    #[inline]
    unsafe fn read_claimed(&self, claim: HeadClaim<T>) -> Result<T, ()> {
        let HeadClaim { block, offset } = claim;
        if block.is_null() {
            return Err(());
        }
        // SAFETY: the claimed slot keeps its block live until we finish.
        let block_ref = unsafe { &*block };
        let (cell, written) = block_ref.slot(offset);
        wait_written(written);
        // SAFETY: the slot is ours and written (its flag seen with
        // acquire). `MaybeUninit<T>` has the layout of `T`.
        let msg = unsafe { cell.with(|cell| cell).cast::<T>().read() };

        // Unless we hold the block's last slot, this store is our last
        // access to the block.
        block_ref.read[offset].store(1, Ordering::Release);
        if offset + 1 == BLOCK_CAP {
            // SAFETY: we claimed the block's last slot, and so, after every
            // other slot was claimed, the duty to release it.
            unsafe { self.release_block(block) };
        }
        Ok(msg)
    }

    /// Reserves a send for the select engine. An unbounded channel is
    /// always ready to send: the slot is claimed by `write`, which fails if
    /// the channel is disconnected by then.
    #[inline]
    pub fn start_send(&self, token: &mut Token) -> bool {
        token.list = ListToken::default();
        true
    }

    /// Completes a send: claims a slot and writes `msg` into it, or gives
    /// `msg` back if the channel is disconnected.
    ///
    /// # Safety
    /// `token` comes from `start_send` on this channel (the list flavor
    /// does not actually rely on it; the function is `unsafe` for
    /// uniformity with the other flavors).
    #[inline]
    pub unsafe fn write(&self, _token: &mut Token, msg: T) -> Result<(), T> {
        self.push(msg)
    }

    /// Reserves a receive for the select engine.
    #[inline]
    pub fn start_recv(&self, token: &mut Token) -> bool {
        self.reserve_recv(&mut token.list)
    }

    /// Completes a reserved receive.
    ///
    /// # Safety
    /// `token` must hold a reservation made by `start_recv` on this channel
    /// and not yet completed.
    #[inline]
    pub unsafe fn read(&self, token: &mut Token) -> Result<T, ()> {
        // SAFETY: forwarded caller contract.
        unsafe { self.read_reserved(&mut token.list) }
    }

    /// Gives up a send reserved by `start_send` or `accept` without sending
    /// (for a select operation dropped uncompleted). Nothing to release:
    /// list sends claim their slot in `write`.
    ///
    /// # Safety
    /// As for `write` (the list flavor does not rely on it).
    #[inline]
    pub unsafe fn cancel_send(&self, token: &mut Token) {
        token.list = ListToken::default();
    }

    /// Gives up a receive reserved by `start_recv` or `accept` (for a select
    /// operation dropped uncompleted): the claimed message is taken and
    /// dropped, as if received and discarded, so its slot and block are
    /// released and nothing waits for it.
    ///
    /// # Safety
    /// As for `read`.
    pub unsafe fn cancel_recv(&self, token: &mut Token) {
        // SAFETY: forwarded caller contract.
        let msg = unsafe { self.read_reserved(&mut token.list) };
        token.list = ListToken::default();
        drop(msg);
    }

    /// Sends from the front of `batch` as many messages as fit in the tail
    /// block before its last slot, claiming them with one compare-and-swap
    /// of `tail`: `Ok(count)` (0 if the tail is at a block's last slot or
    /// end, or the claim lost a race; the caller then sends one message the
    /// usual way, which installs the next block), `Err(())` if the channel
    /// is disconnected. As in `claim_slot`, a claim that holds with the
    /// index loaded before `block` proves `block` is the claimed slots'
    /// block; leaving its last slot to `push` keeps block installation in
    /// one place.
    pub fn send_batch(&self, batch: &mut Staged<T>) -> Result<usize, ()> {
        let tail = self.tail.index.load(Ordering::Acquire);
        let block = self.tail.block.load(Ordering::Acquire);
        if tail & MARK_BIT != 0 {
            return Err(());
        }
        let offset = offset_of(tail);
        if block.is_null() || offset + 1 >= BLOCK_CAP {
            return Ok(0);
        }
        let count = batch.len().min(BLOCK_CAP - 1 - offset);
        if count == 0
            || self
                .tail
                .index
                .compare_exchange(
                    tail,
                    tail.wrapping_add(count as u64 * STEP),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                )
                .is_err()
        {
            return Ok(0);
        }
        // SAFETY: the claimed slots are ours until their `written` flags,
        // in a block that stays live until they are read.
        let block = unsafe { &*block };
        for (cell, written) in block.slots(offset, count) {
            let msg = batch.pop_front().expect("the batch holds `count` messages");
            // SAFETY: a claimed, unwritten slot (see above); `MaybeUninit<T>`
            // has the layout of `T`.
            unsafe { cell.with_mut(|cell| cell).cast::<T>().write(msg) };
            written.store(true, Ordering::Release);
        }
        self.receivers
            .notify_batch(count, || self.receivers.notify());
        Ok(count)
    }

    /// Receives into `batch` up to `limit` messages of the head block
    /// before its last slot, claiming them with one compare-and-swap of
    /// `head`; says how many (0 if the channel is empty, the head is at a
    /// block's last slot, or the claim lost a race: the caller then
    /// receives one message the usual way), and whether the run ended at
    /// `tail`. The block's last slot, whose receiver moves `head` on and
    /// owns the block's release, is left to the single receive.
    ///
    /// The range is bounded by `tail` as in `reserve_recv_slow`, but its
    /// newest slot is claimed only once it is written: a sender may still
    /// be writing it, and a receiver that waited for it would poll the very
    /// line the sender is writing, which slows both (a receiver that keeps
    /// up with its sender would do so at every call). So the claim stops
    /// before it; then, while the claimed slots keep the block alive, the
    /// newest slot's `written` flag is read, and if it is set a second
    /// compare-and-swap takes that slot too. A channel whose sends are done
    /// is thus emptied by one batch; a lone newest slot is left to the
    /// single receive (which waits for its sender), and the run is then
    /// not at the end.
    pub fn recv_batch(&self, batch: &mut Vec<T>, limit: usize) -> RecvRun {
        let head = self.head.index.load(Ordering::Acquire);
        let block = self.head.block.load(Ordering::Acquire);
        let offset = offset_of(head);
        if block.is_null() || offset + 1 >= BLOCK_CAP {
            return RecvRun::LOST;
        }
        let mut count = limit.min(BLOCK_CAP - 1 - offset);
        let mut at_end = false;
        let mut mark = head & MARK_BIT;
        if mark == 0 {
            let tail = self.tail.index.load(Ordering::SeqCst);
            if lap_of(head) == lap_of(tail) {
                let to_tail = offset_of(tail) - offset;
                if to_tail <= count {
                    // Every slot up to the tail but the newest. A lone
                    // newest slot is the single receive's (not at the end:
                    // the caller goes on to it).
                    count = to_tail.saturating_sub(1);
                    at_end = to_tail != 1;
                }
            } else {
                mark = MARK_BIT;
            }
        }
        if count == 0 {
            return RecvRun { taken: 0, at_end };
        }
        // Before the claim: once it holds, nothing may panic until every
        // claimed message is out of its slot (room for the newest too).
        batch.reserve(count + usize::from(at_end));
        let new_head = (head & !MARK_BIT).wrapping_add(count as u64 * STEP) | mark;
        if self
            .head
            .index
            .compare_exchange(head, new_head, Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return RecvRun::LOST;
        }
        // SAFETY: the claim succeeded with the index loaded before `block`,
        // so `block` holds the claimed slots, and it stays live while any
        // of them is unread (the last slot's receiver waits for every
        // `read` flag).
        let block = unsafe { &*block };
        if at_end {
            // The newest slot, in this block (the run stopped before the
            // tail, which is in it, and before the block's last slot): its
            // flag may be read while the claimed slots keep the block
            // alive. Taken only if written and still at the head.
            let newest = offset + count;
            if block.slot(newest).1.load(Ordering::Acquire)
                && self
                    .head
                    .index
                    .compare_exchange(
                        new_head,
                        new_head + STEP,
                        Ordering::SeqCst,
                        Ordering::Relaxed,
                    )
                    .is_ok()
            {
                count += 1;
            }
        }
        let len = batch.len();
        let out = batch.spare_capacity_mut().as_mut_ptr();
        let mut taken = 0;
        block.for_slots(offset, count, |cell, written, read| {
            wait_written(written);
            // SAFETY: the slot is ours and written (its flag seen with
            // acquire). `MaybeUninit<T>` has the layout of `T`. `out` has
            // room for `count` messages (reserved above).
            unsafe {
                let msg = cell.with(|cell| cell).cast::<T>().read();
                (*out.add(taken)).write(msg);
            }
            taken += 1;
            read.store(1, Ordering::Release);
        });
        // SAFETY: the walk wrote `count` messages after the `Vec`'s length,
        // into the capacity reserved above.
        unsafe { batch.set_len(len + count) };
        RecvRun {
            taken: count,
            at_end,
        }
    }

    /// Sends without blocking (an unbounded channel is never full).
    #[inline]
    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        match self.push(msg) {
            Ok(()) => Ok(()),
            Err(msg) => Err(TrySendError::Disconnected(msg)),
        }
    }

    /// Sends; never blocks, so the deadline is irrelevant.
    #[inline]
    pub fn send(&self, msg: T, _deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        match self.push(msg) {
            Ok(()) => Ok(()),
            Err(msg) => Err(SendTimeoutError::Disconnected(msg)),
        }
    }

    /// Receives without blocking.
    #[inline]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.claim_head() {
            // SAFETY: the slot was just claimed on this channel.
            Some(claim) => match unsafe { self.read_claimed(claim) } {
                Ok(msg) => Ok(msg),
                Err(()) => Err(TryRecvError::Disconnected),
            },
            None => Err(TryRecvError::Empty),
        }
    }

    /// The common case of a receive, for the handle's inlined dispatch: a
    /// message is there and the claim wins. `None` (empty, a lost race,
    /// disconnected) sends the caller to `recv_blocking`, which decides
    /// again.
    #[inline]
    pub(crate) fn recv_fast(&self) -> Option<T> {
        let claim = self.claim_head()?;
        // SAFETY: the slot was just claimed on this channel.
        unsafe { self.read_claimed(claim) }.ok()
    }

    /// Receives, blocking while the channel is empty, until `deadline` if
    /// any: the whole receive, for the unit tests. A `Receiver` takes its
    /// two halves itself (`Receiver::recv_until`).
    #[cfg(test)]
    pub fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        match self.recv_fast() {
            Some(msg) => Ok(msg),
            None => self.recv_blocking(deadline),
        }
    }

    /// A receive once `recv_fast` found no message: spin within the
    /// thread's spin budget, then block. It does not yield before it
    /// registers: the yields of a wait are `Context::wait_until`'s, which
    /// ration those that find nothing else to run, so a receiver in an
    /// idle gap (a paced producer asleep) does not burn its core.
    #[inline(never)]
    pub(crate) fn recv_blocking(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let mut token = ListToken::default();
        loop {
            self.spin_while_empty();
            if self.reserve_recv(&mut token) {
                // SAFETY: the token was just reserved on this channel.
                return match unsafe { self.read_reserved(&mut token) } {
                    Ok(msg) => Ok(msg),
                    Err(()) => Err(RecvTimeoutError::Disconnected),
                };
            }
            if let Some(deadline) = deadline {
                if Instant::now() >= deadline {
                    return Err(RecvTimeoutError::Timeout);
                }
            }
            Context::with(|cx| {
                let oper = Operation::hook(&mut token);
                self.receivers.register(oper, cx);
                probes::count(Event::Registration);
                if !self.is_empty() || self.is_disconnected() {
                    let _ = cx.try_select(Selected::Aborted);
                }
                match cx.wait_until(deadline) {
                    Selected::Waiting => unreachable!("wait_until returned while waiting"),
                    Selected::Aborted | Selected::Disconnected => {
                        self.receivers.unregister(oper);
                    }
                    Selected::Operation(_) => {}
                }
            });
        }
    }

    /// Before a blocking receive claims again: spins, within the thread's
    /// spin budget, while `tail` says the channel is empty and connected.
    /// It watches `tail` rather than the slot at `head`, whose block only
    /// a claim keeps live (see the header).
    fn spin_while_empty(&self) {
        let head = normalized(self.head.index.load(Ordering::Relaxed));
        spin_until(|| {
            let tail = self.tail.index.load(Ordering::Relaxed);
            normalized(tail) != head || tail & MARK_BIT != 0
        });
    }

    /// The number of messages in the channel.
    pub fn len(&self) -> usize {
        loop {
            let tail = self.tail.index.load(Ordering::SeqCst);
            let head = self.head.index.load(Ordering::SeqCst);
            // Retry until the tail did not move while head was read, so
            // that the two are a consistent snapshot (head <= tail).
            if self.tail.index.load(Ordering::SeqCst) == tail {
                let head = head >> SHIFT;
                let tail = tail >> SHIFT;
                // Count from the start of head's block: every full lap
                // holds BLOCK_CAP slots; a block's end position is no slot.
                let base = head - head % LAP;
                let slots_before = |position: u64| {
                    (position / LAP) * BLOCK_CAP as u64 + (position % LAP).min(BLOCK_CAP as u64)
                };
                return (slots_before(tail - base) - slots_before(head - base)) as usize;
            }
        }
    }

    /// An unbounded channel has no capacity.
    #[inline]
    pub fn capacity(&self) -> Option<usize> {
        None
    }

    /// True if the channel holds no message.
    #[inline]
    pub fn is_empty(&self) -> bool {
        let head = self.head.index.load(Ordering::SeqCst);
        let tail = self.tail.index.load(Ordering::SeqCst);
        normalized(head) == normalized(tail)
    }

    /// An unbounded channel is never full.
    #[inline]
    pub fn is_full(&self) -> bool {
        false
    }

    /// True once either side has disconnected.
    #[inline]
    pub fn is_disconnected(&self) -> bool {
        self.tail.index.load(Ordering::SeqCst) & MARK_BIT != 0
    }

    /// How many operations wait: `(senders, receivers)`; sends never do.
    #[cfg(feature = "stats")]
    pub fn blocked(&self) -> (usize, usize) {
        (0, self.receivers.len())
    }

    /// Called when the last sender goes: wakes every blocked receiver.
    /// Returns true if this call disconnected the channel.
    pub fn disconnect_senders(&self) -> bool {
        let tail = self.tail.index.fetch_or(MARK_BIT, Ordering::SeqCst);
        if tail & MARK_BIT == 0 {
            self.receivers.disconnect();
            true
        } else {
            false
        }
    }

    /// Called when the last receiver goes: drops every message still in
    /// the channel and frees its blocks, also when the channel was already
    /// closed (`close` keeps the messages for the receivers, and once none
    /// is left they must not wait for the last sender). Returns true if
    /// this call disconnected the channel.
    pub fn disconnect_receivers(&self) -> bool {
        let tail = self.tail.index.fetch_or(MARK_BIT, Ordering::SeqCst);
        self.discard_all_messages();
        tail & MARK_BIT == 0
    }

    /// Closes the channel for sending (`Sender::close`/`Receiver::close`):
    /// the receivers still get every message sent before. True if this
    /// call closed it.
    pub fn close(&self) -> bool {
        self.disconnect_senders()
    }

    /// Drops every message and frees every block, once the last receiver is
    /// gone (so nothing else touches the head side). Senders that claimed a
    /// slot before the disconnection may still be writing: their slots are
    /// waited for.
    fn discard_all_messages(&self) {
        let mut backoff = Backoff::new();
        // No new slot can be claimed, but a sender may still be moving the
        // tail past a block's end: wait for the final tail.
        let tail = loop {
            let tail = self.tail.index.load(Ordering::Acquire);
            if offset_of(tail) != BLOCK_CAP {
                break tail;
            }
            backoff.snooze();
        };
        let head = self.head.index.load(Ordering::Acquire);
        // Swap rather than load: the first sender may be installing the
        // first block right now; if it stores it after this swap, `Drop`
        // frees it.
        let mut block = self.head.block.swap(ptr::null_mut(), Ordering::AcqRel);
        if head >> SHIFT != tail >> SHIFT {
            // Messages exist, so the first block is installed or about to be.
            while block.is_null() {
                backoff.snooze();
                block = self.head.block.swap(ptr::null_mut(), Ordering::AcqRel);
            }
        }
        // From here the range [head, tail) belongs to the drain.
        self.head.index.store(tail & !MARK_BIT, Ordering::Release);
        let mut drain = Drain {
            chan: self,
            head,
            tail,
            block,
            wait_for_writers: true,
            drop_messages: true,
        };
        drain.run();
        // Every receiver is gone, so every read has finished, except that
        // of a receive reserved and never completed: its block stays
        // deferred until `Drop`.
        self.retry_deferred();

        self.free_spares();
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

/// Drops the messages in positions `[head, tail)` starting in `block`, and
/// frees the blocks. If a message's drop panics, the drain's own `Drop`
/// goes on while unwinding without dropping messages: the rest are leaked,
/// their blocks still freed.
struct Drain<'a, T> {
    chan: &'a Channel<T>,
    head: u64,
    tail: u64,
    block: *mut Block<T>,
    /// Wait for slots whose sender is still writing (false in `Drop`,
    /// where every sender is gone).
    wait_for_writers: bool,
    /// Drop the messages (false once one of their drops has panicked).
    drop_messages: bool,
}

impl<T> Drain<'_, T> {
    fn run(&mut self) {
        while self.head >> SHIFT != self.tail >> SHIFT {
            let offset = offset_of(self.head);
            self.head = self.head.wrapping_add(STEP);
            if offset < BLOCK_CAP {
                // SAFETY: the drain owns the blocks from `block` on, and
                // `block` holds position `head`.
                let block = unsafe { &*self.block };
                let (cell, written) = block.slot(offset);
                let written = if self.wait_for_writers {
                    wait_written(written);
                    true
                } else {
                    written.load(Ordering::Acquire)
                };
                if written && self.drop_messages {
                    // SAFETY: the message is written and owned by the
                    // drain; `head` already moved past it, so a panic in
                    // its drop cannot make it dropped twice.
                    cell.with_mut(|cell| unsafe { (*cell).assume_init_drop() });
                }
            } else {
                // SAFETY: as above; the end of a block means the next block
                // exists (or is about to be linked by its installer).
                let next = unsafe {
                    if self.wait_for_writers {
                        (*self.block).wait_next()
                    } else {
                        (*self.block).next.load(Ordering::Acquire)
                    }
                };
                let done = mem::replace(&mut self.block, next);
                // SAFETY: every message of `done` is gone; the drain owns it.
                unsafe { self.chan.free_block(done) };
            }
        }
        let last = mem::replace(&mut self.block, ptr::null_mut());
        if !last.is_null() {
            // SAFETY: as above.
            unsafe { self.chan.free_block(last) };
        }
    }
}

impl<T> Drop for Drain<'_, T> {
    fn drop(&mut self) {
        // A no-op unless a message's drop panicked during `run`: then the
        // messages left are leaked (a second panic while unwinding would
        // abort), but the drain still waits for their senders and frees
        // their blocks.
        self.drop_messages = false;
        self.run();
    }
}

impl<T> Drop for Channel<T> {
    fn drop(&mut self) {
        let mut drain = Drain {
            chan: self,
            head: self.head.index.load(Ordering::Relaxed),
            tail: self.tail.index.load(Ordering::Relaxed),
            block: self.head.block.load(Ordering::Relaxed),
            wait_for_writers: false,
            drop_messages: true,
        };
        // Take the spare and the deferred blocks first, so they are freed
        // even if a drop panics. A deferred block still unread here had a
        // receive reserved and never completed (a leaked
        // `SelectedOperation`): its message is leaked, as it would be in the
        // queue.
        drain.chan.free_spares();
        let mut deferred = self.deferred.swap(ptr::null_mut(), Ordering::Relaxed);
        while !deferred.is_null() {
            // SAFETY: we own the channel and so its deferred blocks; no
            // receiver is left to read from them.
            unsafe {
                let next = (*deferred).next_deferred.load(Ordering::Relaxed);
                drain.chan.free_block(deferred);
                deferred = next;
            }
        }
        drain.run();
    }
}

/// The receiving side of a list channel, for the select engine.
pub type Receiver<'a, T> = QueueReceiver<'a, Channel<T>>;

/// The sending side of a list channel, for the select engine.
pub struct Sender<'a, T>(&'a Channel<T>);

impl<T> Queue for Channel<T> {
    fn receivers(&self) -> &SyncWaiters {
        &self.receivers
    }
    fn start_recv(&self, token: &mut Token) -> bool {
        Channel::start_recv(self, token)
    }
    fn wake_a_receiver(&self) {
        self.receivers.notify();
    }
    fn observe_recv(&self) -> Readiness {
        // Both positions only grow, and a claimed slot keeps `tail` past it:
        // the same `head` seen twice with `tail` equal to it at the second
        // look was empty in between.
        let head = normalized(self.head.index.load(Ordering::SeqCst));
        let tail = self.tail.index.load(Ordering::SeqCst);
        if tail & MARK_BIT == 0 && normalized(tail) == head {
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
    fn register(&self, _oper: Operation, _cx: &Context) -> bool {
        // Never blocks: nothing to register.
        self.is_ready()
    }
    fn unregister(&self, _oper: Operation) {}
    fn accept(&self, token: &mut Token, _cx: &Context) -> bool {
        self.try_select(token)
    }
    fn is_ready(&self) -> bool {
        true
    }
    fn observe(&self) -> Readiness {
        Readiness::Ready
    }
    fn watch(&self, _oper: Operation, _cx: &Context) -> bool {
        self.is_ready()
    }
    fn unwatch(&self, _oper: Operation) {}
}

#[cfg(all(test, not(loom)))]
#[path = "list_tests.rs"]
mod tests;

#[cfg(all(test, loom))]
#[path = "list_loom.rs"]
mod loom_tests;
