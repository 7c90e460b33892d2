//! The blocking context: what a waiting thread or async task leaves behind
//! in a channel's wait queue.
//!
//! Protocol: a waiter owns one state word, `selection`, that starts as
//! `Waiting`. Whoever wants to complete the waiter's operation (a partner
//! thread, a disconnect, or the waiter itself on timeout) must first win a
//! single compare-and-swap from `Waiting` to its own value; exactly one side
//! wins. The waiter registers in the queues, re-checks readiness, and only
//! then blocks, so a wake-up cannot be lost: either the re-check sees the
//! partner's work, or the partner sees the registration.
//!
//! Waking goes through [`Context::unpark`], the one place that knows whether
//! the waiter is a parked thread or a task `Waker` (`crate::task`), so the
//! flavors and the select engine treat both alike.

use crate::sync::{
    current_thread_id, park, park_timeout, Arc, AtomicBool, AtomicPtr, AtomicUsize, Ordering,
};
use std::ptr;
use std::task::Waker;
use std::time::Instant;

/// Identifies one operation of one waiter (one arm of a select).
///
/// It is the address of a value the waiter keeps alive on its stack while it
/// is registered, so two live operations never share an identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation(usize);

impl Operation {
    /// Creates an identifier from the address of a value the caller keeps
    /// alive (and does not move) for as long as the operation is registered.
    #[inline]
    pub fn hook<T>(value: &mut T) -> Operation {
        Operation::of(value)
    }

    /// Like [`Operation::hook`], from a shared reference: for a value that
    /// cannot move while borrowed (the entries of a `Select` that an
    /// awaited select borrows mutably).
    #[inline]
    pub fn of<T>(value: &T) -> Operation {
        let address = value as *const T as usize;
        // The three smallest values encode the other `Selected` states; no
        // real object lives at those addresses.
        assert!(address > 2, "operation hook at an impossible address");
        Operation(address)
    }
}

/// What a waiter's state word says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selected {
    /// Still waiting.
    Waiting,
    /// The wait was abandoned (timeout) by the waiter itself.
    Aborted,
    /// A channel the waiter was registered with got disconnected.
    Disconnected,
    /// This operation was completed (or made ready) by a partner.
    Operation(Operation),
}

impl From<usize> for Selected {
    #[inline]
    fn from(value: usize) -> Selected {
        match value {
            0 => Selected::Waiting,
            1 => Selected::Aborted,
            2 => Selected::Disconnected,
            address => Selected::Operation(Operation(address)),
        }
    }
}

impl From<Selected> for usize {
    #[inline]
    fn from(selected: Selected) -> usize {
        match selected {
            Selected::Waiting => 0,
            Selected::Aborted => 1,
            Selected::Disconnected => 2,
            Selected::Operation(Operation(address)) => address,
        }
    }
}

/// How a waiter is woken.
#[derive(Debug)]
enum WakeTarget {
    /// A parked thread.
    Thread(crate::sync::Thread),
    /// An async task.
    Task(Waker),
}

#[derive(Debug)]
struct ContextInner {
    /// The `Selected` state word, as a `usize`.
    selection: AtomicUsize,
    /// A pointer handed from the selecting partner to the waiter: the
    /// selected entry's packet (`crate::packet`), which a zero-flavor
    /// select reads in `accept`.
    packet: AtomicPtr<()>,
    /// The waiting thread has stopped spinning: it yields its core or
    /// parks. A hint for the partner that selects it (see
    /// [`Context::is_asleep`]).
    asleep: AtomicBool,
    /// Who to wake.
    target: WakeTarget,
    /// The thread (or task) that owns this context, to stop one select from
    /// pairing a send with its own receive.
    owner_id: usize,
}

/// A waiter's shared state; cloning shares it.
#[derive(Debug, Clone)]
pub struct Context {
    inner: Arc<ContextInner>,
}

impl Context {
    /// Runs `f` with a fresh context for the current thread.
    ///
    /// Threads keep two cached contexts and reuse whichever nobody else
    /// holds, so that blocking does not allocate.
    #[inline]
    pub fn with<F, R>(f: F) -> R
    where
        F: FnOnce(&Context) -> R,
    {
        #[cfg(not(loom))]
        {
            use std::cell::Cell;
            std::thread_local! {
                /// Two places, because the partner that woke the last wait
                /// may still hold that wait's context (it lets go right
                /// after its `unpark`) when the next wait begins: the next
                /// wait then takes the other context, and no wait of a
                /// thread with one partner allocates.
                static CACHED: [Cell<Option<Context>>; 2] =
                    const { [Cell::new(None), Cell::new(None)] };
            }
            // A context taken out stays out while `f` runs, so a nested
            // call gets another. If thread-local storage is being torn
            // down, the context is a one-off.
            let cached = CACHED.try_with(|places| {
                places.iter().find_map(|place| {
                    let cx = place.take()?;
                    // Nobody else holds it: reuse it. Else leave it there.
                    if Arc::strong_count(&cx.inner) == 1 {
                        return Some(cx);
                    }
                    place.set(Some(cx));
                    None
                })
            });
            let cx = match cached {
                Ok(Some(cx)) => cx,
                _ => Context::for_current_thread(),
            };
            cx.reset();
            let result = f(&cx);
            let _ = CACHED.try_with(|[last, other]| {
                // A context left in the first place moves to the second,
                // in place of whatever was there (a context that partners
                // still hold, dropped here and freed by the last of them).
                // The first wait also makes the second context, so that
                // the first wait a partner outlasts, whenever it comes,
                // finds one.
                match last.replace(Some(cx)) {
                    Some(displaced) => other.set(Some(displaced)),
                    None => {
                        let spare = other.take();
                        other.set(Some(spare.unwrap_or_else(Context::for_current_thread)));
                    }
                }
            });
            result
        }
        #[cfg(loom)]
        {
            f(&Context::for_current_thread())
        }
    }

    /// Creates a context that parks and unparks the current thread.
    pub fn for_current_thread() -> Context {
        Context::new(
            WakeTarget::Thread(crate::sync::current()),
            current_thread_id(),
        )
    }

    /// Creates a context for an async task (`crate::task`): a successful
    /// selection wakes `waker` instead of unparking a thread. Its owner id
    /// is the context's own address, which no thread's id ever equals.
    pub fn for_task(waker: Waker) -> Context {
        Context::new(WakeTarget::Task(waker), 0)
    }

    /// The one operation of a single-operation task wait: the context's own
    /// address, which stays put while anyone holds the context.
    #[inline]
    pub fn operation(&self) -> Operation {
        Operation::of(&*self.inner)
    }

    /// True if this is a task context whose waker wakes the same task as
    /// `waker`, so a registration made with it still reaches the task.
    #[inline]
    pub fn wakes(&self, waker: &Waker) -> bool {
        match &self.inner.target {
            WakeTarget::Task(mine) => mine.will_wake(waker),
            WakeTarget::Thread(_) => false,
        }
    }

    fn new(target: WakeTarget, owner_id: usize) -> Context {
        #[cfg(all(test, not(loom)))]
        tests::CREATED.with(|created| created.set(created.get() + 1));
        Context {
            inner: Arc::new(ContextInner {
                selection: AtomicUsize::new(0),
                packet: AtomicPtr::new(ptr::null_mut()),
                asleep: AtomicBool::new(false),
                target,
                owner_id,
            }),
        }
    }

    /// A context nobody else holds, back to `Waiting`, for reuse; `None`
    /// if a partner may still hold a clone (it drops that clone after its
    /// last use, `unpark`). Loom's `Arc` counts no strong references, so
    /// there nothing is reused.
    #[inline]
    pub fn into_reusable(self) -> Option<Context> {
        #[cfg(not(loom))]
        if Arc::strong_count(&self.inner) == 1 {
            self.reset();
            return Some(self);
        }
        None
    }

    #[cfg_attr(loom, allow(dead_code))]
    #[inline]
    fn reset(&self) {
        self.inner.selection.store(0, Ordering::Release);
        self.inner.packet.store(ptr::null_mut(), Ordering::Release);
        self.inner.asleep.store(false, Ordering::Relaxed);
    }

    /// Tries to move the state from `Waiting` to `selected`; on failure,
    /// returns what another party selected first.
    #[inline]
    pub fn try_select(&self, selected: Selected) -> Result<(), Selected> {
        self.inner
            .selection
            .compare_exchange(0, selected.into(), Ordering::AcqRel, Ordering::Acquire)
            .map(|_| ())
            .map_err(Selected::from)
    }

    /// The current state.
    #[inline]
    pub fn selected(&self) -> Selected {
        Selected::from(self.inner.selection.load(Ordering::Acquire))
    }

    /// Publishes a packet pointer to the waiter.
    #[inline]
    pub fn store_packet(&self, packet: *mut ()) {
        if !packet.is_null() {
            self.inner.packet.store(packet, Ordering::Release);
        }
    }

    /// Waits (spinning briefly, then yielding) until a packet is published.
    #[inline]
    pub fn wait_packet(&self) -> *mut () {
        let mut backoff = crate::policy::Backoff::new();
        loop {
            let packet = self.inner.packet.load(Ordering::Acquire);
            if !packet.is_null() {
                return packet;
            }
            backoff.snooze();
        }
    }

    /// The identifier of the thread or task that owns this context.
    #[inline]
    pub fn owner_id(&self) -> usize {
        match &self.inner.target {
            WakeTarget::Thread(_) => self.inner.owner_id,
            WakeTarget::Task(_) => &*self.inner as *const ContextInner as usize,
        }
    }

    /// Times the thread yields (re-checking in between) before it parks.
    const YIELD_ROUNDS: u32 = if cfg!(loom) { 0 } else { 64 };

    /// Blocks the current thread until the state leaves `Waiting` or the
    /// deadline passes; on timeout the wait is aborted (unless a partner won
    /// the race, whose selection is then returned).
    ///
    /// First it spins, re-checking the state, for as long as the thread's
    /// [`SpinBudget`](crate::policy::SpinBudget) says: spinning catches a partner that is running on
    /// another core right now and finishes within a microsecond or so, but
    /// when the partner is waiting for a core (more runnable threads than
    /// cores) every spin is wasted, so the budget adapts to which case this
    /// thread has been seeing. Then it yields up to `YIELD_ROUNDS` times:
    /// with more runnable threads than cores, the partner gets the core, and
    /// a registered waiter's partner selects it (and may complete its
    /// operation) without the cost of a park/unpark pair, several
    /// microseconds on each side. Yields that find nothing else to run are
    /// rationed to about the cost of a park (`yield_until`), so a waiter in
    /// an idle gap parks soon; a parked thread uses no CPU.
    pub fn wait_until(&self, deadline: Option<Instant>) -> Selected {
        // A selection never reverts to `Waiting`, so reading it again after
        // the spin caught it gives the same value.
        let has_selection = || self.selected() != Selected::Waiting;
        if crate::policy::spin_until(has_selection) {
            return self.selected();
        }
        self.inner.asleep.store(true, Ordering::Relaxed);
        if crate::policy::yield_until(Self::YIELD_ROUNDS, deadline, has_selection) {
            return self.selected();
        }
        loop {
            let selected = self.selected();
            if selected != Selected::Waiting {
                return selected;
            }
            crate::probes::count(crate::probes::Event::Park);
            match deadline {
                None => park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return match self.try_select(Selected::Aborted) {
                            Ok(()) => Selected::Aborted,
                            Err(selected) => selected,
                        };
                    }
                    park_timeout(deadline - now);
                }
            }
        }
    }

    /// True once the waiter has stopped spinning and gives its core away,
    /// yielding or parked (or is a task, which always waits for its waker).
    /// A hint, read relaxed: a partner that selected this waiter completes
    /// its operation on its behalf only if it sleeps, since then the
    /// waiter's next turn on a core is far off (with more threads than
    /// cores, the spin budget runs out at once and waiters go straight to
    /// yielding); a waiter still spinning on a core of its own is told to
    /// retry and does its own operation, and its cache lines stay there.
    #[inline]
    pub fn is_asleep(&self) -> bool {
        match &self.inner.target {
            WakeTarget::Thread(_) => self.inner.asleep.load(Ordering::Relaxed),
            WakeTarget::Task(_) => true,
        }
    }

    /// Wakes the waiter: unparks its thread or wakes its task.
    #[inline]
    pub fn unpark(&self) {
        match &self.inner.target {
            WakeTarget::Thread(thread) => thread.unpark(),
            WakeTarget::Task(waker) => waker.wake_by_ref(),
        }
    }

    /// True if both handles share one context.
    #[inline]
    pub fn same_as(&self, other: &Context) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;
    use std::task::Wake;

    std::thread_local! {
        /// Contexts this thread has made (`Context::new`).
        pub(super) static CREATED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    fn created() -> usize {
        CREATED.with(|created| created.get())
    }

    /// A partner that selected a wait may still hold its context when the
    /// thread's next wait begins (it lets go after its `unpark`). That wait
    /// must take the thread's other cached context, not make one.
    #[test]
    fn a_wait_while_a_partner_holds_the_last_context_makes_none() {
        std::thread::spawn(|| {
            // The first wait makes the context and its spare.
            let mut held = Context::with(|cx| cx.clone());
            let made = created();
            // A partner holds each wait's context until the next has begun.
            for _ in 0..100 {
                held = Context::with(|cx| {
                    assert!(!cx.same_as(&held), "reused a context a partner holds");
                    cx.clone()
                });
            }
            // A partner that holds one context for long.
            for _ in 0..100 {
                let next = Context::with(|cx| cx.clone());
                assert!(!next.same_as(&held));
            }
            assert_eq!(created(), made, "waits made contexts");
        })
        .join()
        .unwrap();
    }

    struct CountingWaker(StdAtomicUsize);
    impl Wake for CountingWaker {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn selection_is_won_once() {
        let cx = Context::for_current_thread();
        assert_eq!(cx.selected(), Selected::Waiting);
        assert_eq!(cx.try_select(Selected::Disconnected), Ok(()));
        assert_eq!(
            cx.try_select(Selected::Aborted),
            Err(Selected::Disconnected)
        );
        assert_eq!(cx.selected(), Selected::Disconnected);
    }

    #[test]
    fn task_context_wakes_its_waker() {
        let counter = std::sync::Arc::new(CountingWaker(StdAtomicUsize::new(0)));
        let cx = Context::for_task(Waker::from(counter.clone()));
        assert_ne!(cx.owner_id(), current_thread_id());
        assert_eq!(cx.operation(), Operation::of(&*cx.inner));
        cx.unpark();
        cx.unpark();
        assert_eq!(counter.0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn timed_wait_aborts_after_deadline() {
        Context::with(|cx| {
            let start = Instant::now();
            let deadline = start + std::time::Duration::from_millis(20);
            assert_eq!(cx.wait_until(Some(deadline)), Selected::Aborted);
            assert!(start.elapsed() >= std::time::Duration::from_millis(20));
        });
    }

    #[test]
    fn wait_returns_partner_selection() {
        let mut slot = 0u8;
        let oper = Operation::hook(&mut slot);
        Context::with(|cx| {
            let partner = cx.clone();
            let handle = std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(10));
                partner.try_select(Selected::Operation(oper)).unwrap();
                partner.unpark();
            });
            assert_eq!(cx.wait_until(None), Selected::Operation(oper));
            handle.join().unwrap();
        });
    }

    #[test]
    fn cached_context_is_fresh_each_time() {
        Context::with(|cx| cx.try_select(Selected::Aborted).unwrap());
        Context::with(|cx| assert_eq!(cx.selected(), Selected::Waiting));
    }
}
