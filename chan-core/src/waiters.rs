//! Wait queues: the operations blocked on one side of a channel.
//!
//! `Waiters` is the queue itself and is always used under a lock.
//! `SyncWaiters` wraps it in a mutex plus an `is_empty` flag, so that the
//! common notify with nobody waiting is one atomic load and takes no lock.
//!
//! Selectors are operations that want to be completed (a blocked send or
//! receive); observers only want to know when the channel becomes ready
//! (`Select::ready`). A selected waiter is unparked after the lock is
//! released; observers, which only learn that the channel changed, are
//! unparked under it (`select_one`, `disconnect`).

use crate::context::{Context, Operation, Selected};
#[cfg(not(loom))]
use crate::sync::fence;
use crate::sync::{AtomicBool, Mutex, Ordering};
use std::ptr;

/// One registered operation.
pub struct Entry {
    /// The operation's identifier.
    pub oper: Operation,
    /// A type-erased `*mut Packet<T>` (`crate::packet`), or null: the
    /// packet of a blocked operation that its partner completes (a
    /// zero-flavor rendezvous, or an array send or receive completed on the
    /// blocked thread's behalf).
    pub packet: *mut (),
    /// The waiter.
    pub cx: Context,
}

// SAFETY: the packet pointer is only dereferenced by the flavor that
// registered it, under that flavor's handoff protocol (a packet is shared
// between exactly the waiter and the one partner that selected it); the
// context is thread-safe.
unsafe impl Send for Entry {}

/// A queue of waiting operations; used under a lock.
#[derive(Default)]
pub struct Waiters {
    selectors: Vec<Entry>,
    observers: Vec<Entry>,
    /// Selectors registered so far. A partner can become selectable only by
    /// registering (a context never returns to `Waiting` while its entry is
    /// queued), so an unchanged count proves that no selectable partner
    /// appeared in between: the zero flavor's `observe` stamp.
    registrations: u64,
    /// Selectors registered with a packet (blocked threads of the array
    /// and zero flavors; never async tasks).
    with_packet: usize,
}

impl Waiters {
    /// Creates an empty queue.
    pub fn new() -> Self {
        Waiters::default()
    }

    /// Registers an operation without a packet.
    #[inline]
    pub fn register(&mut self, oper: Operation, cx: &Context) {
        self.register_with_packet(oper, ptr::null_mut(), cx);
    }

    /// Registers an operation with a packet.
    #[inline]
    pub fn register_with_packet(&mut self, oper: Operation, packet: *mut (), cx: &Context) {
        self.registrations += 1;
        self.with_packet += usize::from(!packet.is_null());
        self.selectors.push(Entry {
            oper,
            packet,
            cx: cx.clone(),
        });
    }

    /// Removes a registered operation, returning its entry if still present.
    #[inline]
    pub fn unregister(&mut self, oper: Operation) -> Option<Entry> {
        let index = self.selectors.iter().position(|entry| entry.oper == oper)?;
        Some(self.take_selector(index))
    }

    /// Selects the first waiting operation that belongs to another thread,
    /// removing it from the queue. The caller must unpark `entry.cx`.
    #[inline]
    pub fn try_select(&mut self) -> Option<Entry> {
        self.try_select_where(|_| true)
    }

    /// Like [`Waiters::try_select`], but only considers entries for which
    /// `eligible` holds.
    ///
    /// On the way it drops entries without a packet whose waiter is no
    /// longer waiting (selected through another channel, timed out or
    /// disconnected): they can never be selected again, and a select that
    /// was woken elsewhere may take a while to be scheduled and unregister
    /// them itself, while every notify on this queue would keep taking the
    /// lock for them. Their owners' `unregister` then finds nothing, which
    /// is fine without a packet; entries with a packet stay, because their
    /// flavor may need `unregister` to hand the packet back.
    #[inline]
    fn try_select_where(&mut self, eligible: impl Fn(&Entry) -> bool) -> Option<Entry> {
        if self.selectors.is_empty() {
            return None;
        }
        let me = crate::sync::current_thread_id();
        let mut index = 0;
        while index < self.selectors.len() {
            let entry = &self.selectors[index];
            if entry.cx.owner_id() == me || !eligible(entry) {
                index += 1;
                continue;
            }
            match entry.cx.try_select(Selected::Operation(entry.oper)) {
                Ok(()) => {
                    entry.cx.store_packet(entry.packet);
                    return Some(self.take_selector(index));
                }
                Err(_) if entry.packet.is_null() => drop(self.take_selector(index)),
                Err(_) => index += 1,
            }
        }
        None
    }

    /// Removes the selector at `index`, keeping the others in order. The
    /// last one (usually the only one) is popped: `Vec::remove` would call
    /// `memmove` even to move nothing.
    #[inline]
    fn take_selector(&mut self, index: usize) -> Entry {
        let entry = if index + 1 == self.selectors.len() {
            self.selectors.pop().expect("index is in bounds")
        } else {
            self.selectors.remove(index)
        };
        self.with_packet -= usize::from(!entry.packet.is_null());
        entry
    }

    /// True if some selector was registered with a packet.
    #[inline]
    pub fn has_packets(&self) -> bool {
        self.with_packet > 0
    }

    /// True if some waiting operation of another thread could be selected.
    #[inline]
    pub fn can_select(&self) -> bool {
        let me = crate::sync::current_thread_id();
        self.selectors
            .iter()
            .any(|entry| entry.cx.owner_id() != me && entry.cx.selected() == Selected::Waiting)
    }

    /// How many selectors were ever registered here.
    #[inline]
    pub fn registrations(&self) -> u64 {
        self.registrations
    }

    /// Registers an observer.
    #[inline]
    pub fn watch(&mut self, oper: Operation, cx: &Context) {
        self.observers.push(Entry {
            oper,
            packet: ptr::null_mut(),
            cx: cx.clone(),
        });
    }

    /// Removes an observer.
    #[inline]
    pub fn unwatch(&mut self, oper: Operation) {
        self.observers.retain(|entry| entry.oper != oper);
    }

    /// Tells every observer the channel is ready, and forgets them.
    #[inline]
    pub fn notify_observers(&mut self) {
        if self.observers.is_empty() {
            return;
        }
        for entry in self.observers.drain(..) {
            if entry.cx.try_select(Selected::Operation(entry.oper)).is_ok() {
                entry.cx.unpark();
            }
        }
    }

    /// Tells every waiter the channel is disconnected.
    ///
    /// Selectors stay registered: each removes itself when it wakes.
    pub fn disconnect(&mut self) {
        for entry in &self.selectors {
            if entry.cx.try_select(Selected::Disconnected).is_ok() {
                entry.cx.unpark();
            }
        }
        self.notify_observers();
    }

    /// True if nothing is registered.
    #[inline]
    /// How many operations are registered (blocked threads, waiting
    /// tasks and select registrations alike).
    #[cfg(feature = "stats")]
    pub fn len(&self) -> usize {
        self.selectors.len() + self.observers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.selectors.is_empty() && self.observers.is_empty()
    }
}

impl Drop for Waiters {
    fn drop(&mut self) {
        debug_assert!(self.selectors.is_empty(), "a waiter outlived its channel");
        debug_assert!(
            self.observers.is_empty(),
            "an observer outlived its channel"
        );
    }
}

/// A `Waiters` queue behind a lock, with a lock-free "nobody waits" check.
pub struct SyncWaiters {
    queue: Mutex<Waiters>,
    /// True when nothing is registered. Registering stores `false` with
    /// `SeqCst`: that store and a notifier's `SeqCst` load are the
    /// lost-wake-up guard (see `notify`). Removals store the queue's new
    /// state with `Release` (a plain store, not a locked one, on x86): a
    /// notifier that reads such a `true` reads it after the removal of every
    /// entry registered before it, under the lock, so no waiter it should
    /// wake is left; one that reads a stale `false` only takes the lock.
    is_empty: AtomicBool,
    /// True while a selector with a packet may be registered: a hint,
    /// written under the lock when it changes and read relaxed, that lets
    /// `handoff` skip the lock when only packet-less waiters (async tasks,
    /// selects) wait. A stale value only costs a handoff that the
    /// caller's ordinary path then makes up for (`notify_with`).
    has_packets: AtomicBool,
    /// Under loom, the location of the lost-wake-up guard's ordering (see
    /// `store_load_barrier`).
    #[cfg(loom)]
    guard: crate::sync::AtomicUsize,
}

impl Default for SyncWaiters {
    fn default() -> Self {
        SyncWaiters::new()
    }
}

impl SyncWaiters {
    /// Creates an empty queue.
    pub fn new() -> Self {
        SyncWaiters {
            queue: Mutex::new(Waiters::new()),
            is_empty: AtomicBool::new(true),
            has_packets: AtomicBool::new(false),
            #[cfg(loom)]
            guard: crate::sync::AtomicUsize::new(0),
        }
    }

    /// Orders the caller's preceding `SeqCst` store or read-modify-write
    /// before its following `SeqCst` load, in the lost-wake-up guard.
    ///
    /// The guard is a store-buffering pair: a registrant stores "someone
    /// waits" then looks at the channel; a notifier changes the channel
    /// then loads "someone waits". Real builds rely on the single total
    /// order of `SeqCst` operations, which forbids both loads missing the
    /// other's store, and need nothing here. Loom models `SeqCst` accesses
    /// only as acquire/release, so under loom both parties make an
    /// acquire-release read-modify-write of this queue's `guard`: the later
    /// of the two reads the earlier's value and so sees what the earlier
    /// stored before it. A `SeqCst` fence would restore the guarantee too,
    /// but loom makes every `SeqCst` fence synchronise with every earlier
    /// one in any thread, which gives the models orderings real builds
    /// lack and hid a missing acquire elsewhere (the list flavor's spare
    /// block handoff) from them.
    #[inline(always)]
    fn store_load_barrier(&self) {
        #[cfg(loom)]
        self.guard.fetch_add(1, Ordering::AcqRel);
    }

    /// Registers a blocked operation.
    #[inline]
    pub fn register(&self, oper: Operation, cx: &Context) {
        self.add(|queue| queue.register(oper, cx));
    }

    /// How many operations are registered now (takes the lock).
    #[cfg(feature = "stats")]
    pub fn len(&self) -> usize {
        self.queue.lock().len()
    }

    /// Registers a blocked operation with a packet: whoever selects it is
    /// handed the packet by [`SyncWaiters::notify_with`] and must complete
    /// the flavor's protocol on it before the waiter may go on.
    #[inline]
    pub fn register_with_packet(&self, oper: Operation, packet: *mut (), cx: &Context) {
        self.add(|queue| queue.register_with_packet(oper, packet, cx));
    }

    /// Adds a waiter or observer under the lock with `add`, then clears
    /// `is_empty`: the waiter's half of the lost-wake-up guard (see
    /// `store_load_barrier`). This `SeqCst` store comes before the caller's
    /// next look at the channel, and a notifier changes the channel before
    /// it loads `is_empty`, so one of the two sees the other.
    ///
    /// If `is_empty` is already false, it is not stored again: a store of
    /// an unchanged value would still take the flag's line from every
    /// notifier that reads it. A `SeqCst` fence takes the store's place in
    /// the guard. Every write of the flag is made under the lock, so the
    /// `false` read here is its latest value, stored by an earlier
    /// registrant whose registration happens before ours. A notifier that
    /// still reads `true` therefore read it before that store, hence before
    /// this fence, in the single order of `SeqCst` operations, and its
    /// change of the channel (a `SeqCst` read-modify-write before its load)
    /// is then visible to the caller's look after the fence.
    #[inline]
    fn add(&self, add: impl FnOnce(&mut Waiters)) {
        let mut queue = self.queue.lock();
        add(&mut queue);
        if self.is_empty.load(Ordering::Relaxed) {
            self.is_empty.store(false, Ordering::SeqCst);
        } else {
            // Under loom the barrier below plays this fence's part (and a
            // loom fence would synchronise more than a real one).
            #[cfg(not(loom))]
            fence(Ordering::SeqCst);
        }
        self.publish_packets(&queue);
        drop(queue);
        self.store_load_barrier();
    }

    /// Under the lock, after a removal: publishes the queue's new state
    /// (see the fields), writing `is_empty` only when it changes.
    #[inline]
    fn publish(&self, queue: &Waiters) {
        let is_empty = queue.is_empty();
        if self.is_empty.load(Ordering::Relaxed) != is_empty {
            self.is_empty.store(is_empty, Ordering::Release);
        }
        self.publish_packets(queue);
    }

    /// Under the lock: updates the `has_packets` hint, writing it only
    /// when it changes.
    #[inline]
    fn publish_packets(&self, queue: &Waiters) {
        let has_packets = queue.has_packets();
        if self.has_packets.load(Ordering::Relaxed) != has_packets {
            self.has_packets.store(has_packets, Ordering::Relaxed);
        }
    }

    /// Removes a blocked operation.
    #[inline]
    pub fn unregister(&self, oper: Operation) -> Option<Entry> {
        let mut queue = self.queue.lock();
        let entry = queue.unregister(oper);
        self.publish(&queue);
        entry
    }

    /// Wakes one blocked operation and every observer, if any is registered.
    ///
    /// The caller must have made its change visible before calling (the
    /// `SeqCst` load pairs with the `SeqCst` store in `register`, so either
    /// the waiter's re-check sees the change or this load sees the waiter).
    #[inline]
    pub fn notify(&self) {
        self.store_load_barrier();
        if !self.is_empty.load(Ordering::SeqCst) {
            self.notify_slow();
        }
    }

    #[cold]
    fn notify_slow(&self) {
        if let Some(entry) = self.select_one() {
            entry.cx.unpark();
        }
    }

    /// Like [`SyncWaiters::notify`], but if the selected operation was
    /// registered with a packet, `complete` gets the packet first, with
    /// whether the waiter is asleep ([`Context::is_asleep`]): after the
    /// lock is released (so it may notify other queues) and before the
    /// waiter's thread is unparked. The waiter is committed to this
    /// selection, so `complete` must always finish the flavor's protocol
    /// on the packet (complete the operation, or tell the waiter to retry).
    #[inline]
    pub fn notify_with<F: FnOnce(*mut (), bool)>(&self, complete: F) {
        self.store_load_barrier();
        if !self.is_empty.load(Ordering::SeqCst) {
            self.notify_with_slow(complete);
        }
    }

    #[cold]
    #[inline(never)]
    fn notify_with_slow<F: FnOnce(*mut (), bool)>(&self, complete: F) {
        if let Some(entry) = self.select_one() {
            if !entry.packet.is_null() {
                complete(entry.packet, entry.cx.is_asleep());
            }
            entry.cx.unpark();
        }
    }

    /// True if an operation or observer may be registered (a hint: it can
    /// change at any moment).
    #[inline]
    pub fn may_have_waiters(&self) -> bool {
        !self.is_empty.load(Ordering::Relaxed)
    }

    /// After `count` changes that may each let one waiter proceed (a batch
    /// of sends or receives), calls `wake` (which must notify this queue)
    /// up to `count` times. The first call's `SeqCst` load of `is_empty`
    /// is the lost-wake-up guard for the whole batch: a waiter that
    /// registers after it sees every change. Once a call leaves the queue
    /// empty, no waiter is left to wake, so the rest are skipped.
    #[inline]
    pub fn notify_batch(&self, count: usize, mut wake: impl FnMut()) {
        wake();
        for _ in 1..count {
            if !self.may_have_waiters() {
                break;
            }
            wake();
        }
    }

    /// Hands work straight to a blocked operation that was registered with
    /// a packet and is asleep ([`Context::is_asleep`]; one still spinning
    /// is better off doing its own operation): under the lock, if
    /// `allowed()` holds there, selects the first such operation of
    /// another thread; then, after the lock is
    /// released, gives its packet to `complete` and wakes it. False (and
    /// `complete` not called) if there was none or `allowed()` failed.
    ///
    /// `complete` has the duty described at [`SyncWaiters::notify_with`].
    /// Observers are not told: the work went to the selected operation, so
    /// the channel did not become ready.
    #[inline(never)]
    pub fn handoff(&self, allowed: impl FnOnce() -> bool, complete: impl FnOnce(*mut ())) -> bool {
        if !self.has_packets.load(Ordering::Relaxed) {
            return false;
        }
        let mut queue = self.queue.lock();
        if !allowed() {
            return false;
        }
        let Some(entry) =
            queue.try_select_where(|entry| !entry.packet.is_null() && entry.cx.is_asleep())
        else {
            return false;
        };
        self.publish(&queue);
        drop(queue);
        complete(entry.packet);
        entry.cx.unpark();
        true
    }

    /// Under the lock: selects one blocked operation and tells every
    /// observer; the caller wakes the selected one.
    fn select_one(&self) -> Option<Entry> {
        let mut queue = self.queue.lock();
        if self.is_empty.load(Ordering::SeqCst) {
            return None;
        }
        let selected = queue.try_select();
        queue.notify_observers();
        self.publish(&queue);
        selected
    }

    /// Registers an observer.
    #[inline]
    pub fn watch(&self, oper: Operation, cx: &Context) {
        self.add(|queue| queue.watch(oper, cx));
    }

    /// Removes an observer.
    #[inline]
    pub fn unwatch(&self, oper: Operation) {
        let mut queue = self.queue.lock();
        queue.unwatch(oper);
        self.publish(&queue);
    }

    /// Wakes every waiter with `Disconnected`.
    pub fn disconnect(&self) {
        let mut queue = self.queue.lock();
        queue.disconnect();
        self.publish(&queue);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A context owned by another thread, so `try_select` may pick it.
    fn other_thread_context() -> Context {
        std::thread::spawn(Context::for_current_thread)
            .join()
            .unwrap()
    }

    #[test]
    fn selection_drops_dead_entries_without_packets() {
        let (mut hook_a, mut hook_b, mut hook_c) = (0u8, 0u8, 0u8);
        let (a, b, c) = (
            Operation::hook(&mut hook_a),
            Operation::hook(&mut hook_b),
            Operation::hook(&mut hook_c),
        );
        let (dead, dead_with_packet, live) = (
            other_thread_context(),
            other_thread_context(),
            other_thread_context(),
        );
        let mut packet = 0u32;
        let waiters = SyncWaiters::new();
        waiters.register(a, &dead);
        waiters.register_with_packet(b, (&mut packet as *mut u32).cast(), &dead_with_packet);
        waiters.register(c, &live);
        // Both were woken elsewhere (another channel, a timeout).
        dead.try_select(Selected::Aborted).unwrap();
        dead_with_packet.try_select(Selected::Aborted).unwrap();

        let selected = waiters.select_one().expect("the live waiter is selected");
        assert_eq!(selected.oper, c);
        assert_eq!(live.selected(), Selected::Operation(c));
        // The dead entry without a packet is gone; the one with a packet
        // stays for its owner to unregister.
        assert!(waiters.unregister(a).is_none());
        assert!(waiters.may_have_waiters());
        assert!(waiters.unregister(b).is_some());
        assert!(!waiters.may_have_waiters());
    }

    #[test]
    fn only_a_sleeping_waiter_gets_its_work_done_by_the_partner() {
        // A waiter that has not given up spinning (this context never
        // waits at all) is not handed work, and `notify_with` says it is
        // awake.
        let mut hook = 0u8;
        let oper = Operation::hook(&mut hook);
        let awake = other_thread_context();
        let mut packet = 0u32;
        let waiters = SyncWaiters::new();
        waiters.register_with_packet(oper, (&mut packet as *mut u32).cast(), &awake);
        assert!(!waiters.handoff(|| true, |_| panic!("handed work to an awake waiter")));
        assert!(waiters.may_have_waiters());
        let mut told = None;
        waiters.notify_with(|_, asleep| told = Some(asleep));
        assert_eq!(told, Some(false));
        assert_eq!(awake.selected(), Selected::Operation(oper));

        // A thread that blocks for real falls asleep once its spins and
        // yields run out; from then on `handoff` gives it the work.
        let waiters = std::sync::Arc::new(SyncWaiters::new());
        let sleeper = {
            let waiters = waiters.clone();
            std::thread::spawn(move || {
                let mut packet = 0u32;
                let mut hook = 0u8;
                let oper = Operation::hook(&mut hook);
                Context::with(|cx| {
                    waiters.register_with_packet(oper, (&mut packet as *mut u32).cast(), cx);
                    cx.wait_until(None)
                }) == Selected::Operation(oper)
            })
        };
        while !waiters.handoff(|| true, |packet| assert!(!packet.is_null())) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(sleeper.join().unwrap(), "the sleeper was selected");
    }
}
