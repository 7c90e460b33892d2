//! Async waiting: a task waits in the same wait queues where threads park.
//!
//! A task's wait is a [`Context`] whose wake target is the task's `Waker`
//! (`Context::for_task`), registered through `SelectHandle::register_task`
//! with every operation it waits for (one for `recv_async`/`send_async`,
//! every arm for an awaited select). There is no second notification
//! mechanism: a partner selects the task's context with the same
//! compare-and-swap that selects a parked thread, and wakes the waker where
//! it would unpark the thread.
//!
//! One poll of a waiting future:
//! 1. [`TaskWait::resume`]: if the wait is registered, still `Waiting`, no
//!    deadline has passed, and the waker wakes this same task, the poll is
//!    spurious: stay pending. Otherwise unsubscribe every operation. A
//!    partner's selection, read after that (no partner can make one any
//!    more), names the operation it made ready, to be tried first.
//! 2. The caller tries its operations without blocking.
//! 3. [`TaskWait::subscribe`], if none succeeded: a fresh context (for the
//!    waker of this poll) is registered with every operation in the
//!    caller's order, re-checking readiness as it goes, as a blocking
//!    select does; if one may already be ready, or a partner selected the
//!    context meanwhile, it unsubscribes and the caller tries again. The
//!    earliest deadline of the operations (timer channels) goes to the
//!    timer thread at the end of this file.
//!
//! Invariants. No partner completes a task's operation for it:
//! `register_task` leaves no packet (the zero flavor observes instead), so
//! a message moves only in the poll that returns it, and dropping a future
//! loses none. A selection is the one wake-up that a change gives one
//! waiter; a wait dropped after it was selected and before it acted passes
//! it on ([`TaskWait::cancel`], `SelectHandle::pass_on`), so no other
//! waiter sleeps through the change. A registration holds its context,
//! whose address makes the operation ids unique while it is registered.

use crate::context::{Context, Operation, Selected};
use crate::handle::SelectHandle;
use std::task::Waker;
use std::time::Instant;

/// What a wait subscribes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// The operations themselves, which the waiting future then performs
    /// (`register_task`).
    Operation,
    /// Readiness only (`Select::ready_async`, through `watch`).
    Readiness,
}

/// The operations one task wait covers, numbered `0..count()`.
pub trait Arms {
    /// How many operations there are.
    fn count(&self) -> usize;
    /// The handle of operation `arm`.
    fn handle(&self, arm: usize) -> &dyn SelectHandle;
    /// The id of operation `arm` in a registration made with `cx`; unique
    /// among live registrations.
    fn oper(&self, arm: usize, cx: &Context) -> Operation;
}

/// A wait for a single operation, whose id is its context's address.
pub struct OneArm<'a>(pub &'a dyn SelectHandle);

impl Arms for OneArm<'_> {
    #[inline]
    fn count(&self) -> usize {
        1
    }
    #[inline]
    fn handle(&self, _arm: usize) -> &dyn SelectHandle {
        self.0
    }
    #[inline]
    fn oper(&self, _arm: usize, cx: &Context) -> Operation {
        cx.operation()
    }
}

/// What the polling future does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Return `Poll::Pending`: the task is registered and will be woken.
    Wait,
    /// Try the operations now, this one first if there is one (a partner
    /// made it ready, or it looked ready while subscribing).
    Try(Option<usize>),
}

/// The registration of one task wait, kept between polls.
#[derive(Debug)]
pub struct TaskWait {
    interest: Interest,
    registered: Option<Registered>,
}

#[derive(Debug)]
struct Registered {
    cx: Context,
    /// The earliest deadline of the operations, with its timer.
    deadline: Option<(Instant, timer::TimerKey)>,
}

impl TaskWait {
    /// A wait that is not registered anywhere yet.
    pub const fn new(interest: Interest) -> TaskWait {
        TaskWait {
            interest,
            registered: None,
        }
    }

    /// Step 1 of a poll (see the module header).
    pub fn resume(&mut self, waker: &Waker, arms: &dyn Arms) -> Next {
        let Some(registered) = &self.registered else {
            return Next::Try(None);
        };
        let due = registered
            .deadline
            .as_ref()
            .is_some_and(|(when, _)| Instant::now() >= *when);
        if registered.cx.selected() == Selected::Waiting && registered.cx.wakes(waker) && !due {
            return Next::Wait;
        }
        let registered = self.registered.take().expect("checked above");
        Next::Try(self.unsubscribe(registered, arms, true))
    }

    /// Step 3 of a poll, after every operation failed: registers with each
    /// operation in the order `order(0)`, `order(1)`, ...
    pub fn subscribe(
        &mut self,
        waker: &Waker,
        arms: &dyn Arms,
        mut order: impl FnMut(usize) -> usize,
    ) -> Next {
        debug_assert!(self.registered.is_none(), "subscribed twice");
        let cx = spare::take(waker);
        for place in 0..arms.count() {
            let arm = order(place);
            let handle = arms.handle(arm);
            let oper = arms.oper(arm, &cx);
            let may_be_ready = match self.interest {
                Interest::Operation => handle.register_task(oper, &cx),
                Interest::Readiness => handle.watch(oper, &cx),
            };
            if may_be_ready {
                let claim = match self.interest {
                    Interest::Operation => Selected::Aborted,
                    Interest::Readiness => Selected::Operation(oper),
                };
                // If a partner chose us first, its choice wins. Our own
                // claim leaves every entry queued.
                if cx.try_select(claim).is_ok() {
                    self.unsubscribe(Registered { cx, deadline: None }, arms, false);
                    return Next::Try(Some(arm));
                }
                let chosen = self.unsubscribe(Registered { cx, deadline: None }, arms, true);
                return Next::Try(chosen);
            }
            if cx.selected() != Selected::Waiting {
                let chosen = self.unsubscribe(Registered { cx, deadline: None }, arms, true);
                return Next::Try(chosen);
            }
        }
        let deadline = (0..arms.count())
            .filter_map(|arm| arms.handle(arm).deadline())
            .min()
            .map(|when| (when, timer::wake_at(when, waker.clone())));
        self.registered = Some(Registered { cx, deadline });
        Next::Wait
    }

    /// Gives the wait up (the future is dropped): unsubscribes, and passes
    /// on a wake-up that a partner gave it and that it did not act on.
    pub fn cancel(&mut self, arms: &dyn Arms) {
        if let Some(registered) = self.registered.take() {
            if let Some(arm) = self.unsubscribe(registered, arms, true) {
                if self.interest == Interest::Operation {
                    arms.handle(arm).pass_on();
                }
            }
        }
    }

    /// Removes every registration and the timer; returns the operation a
    /// partner selected, if one did.
    ///
    /// A partner that selects an operation takes its entry out of the
    /// queue as it does (`Waiters::try_select`, `notify_observers`), so
    /// with `partner_may_have_chosen` an operation already selected is not
    /// looked for again: one lock less per wake-up. Only the task's own
    /// claim (`subscribe`) selects an operation whose entry stays.
    fn unsubscribe(
        &mut self,
        registered: Registered,
        arms: &dyn Arms,
        partner_may_have_chosen: bool,
    ) -> Option<usize> {
        let Registered { cx, deadline } = registered;
        let taken_out = match cx.selected() {
            Selected::Operation(oper) if partner_may_have_chosen => Some(oper),
            _ => None,
        };
        for arm in 0..arms.count() {
            let handle = arms.handle(arm);
            let oper = arms.oper(arm, &cx);
            if Some(oper) == taken_out {
                continue;
            }
            match self.interest {
                Interest::Operation => handle.unregister_task(oper),
                Interest::Readiness => handle.unwatch(oper),
            }
        }
        if let Some((_, key)) = deadline {
            timer::cancel(key);
        }
        // Every entry is gone, so the selection can no longer change, but
        // for a disconnect (which needs no answer).
        let chosen = match cx.selected() {
            Selected::Operation(oper) => (0..arms.count()).find(|&arm| arms.oper(arm, &cx) == oper),
            _ => None,
        };
        spare::keep(cx);
        chosen
    }
}

impl Drop for TaskWait {
    fn drop(&mut self) {
        debug_assert!(
            self.registered.is_none() || std::thread::panicking(),
            "a task wait was dropped while registered: its future must cancel it"
        );
    }
}

/// One task context per thread, kept for reuse: a task that waits again
/// and again (a receive per message) would otherwise allocate a context
/// and clone its waker at every wait. A context is kept only once nobody
/// else holds it (`Context::into_reusable`) and reused only for a waker
/// that wakes the same task; the one kept holds a clone of its task's
/// waker until the thread's next wait replaces it.
mod spare {
    use crate::context::Context;
    use std::task::Waker;

    #[cfg(not(loom))]
    std::thread_local! {
        static SPARE: std::cell::Cell<Option<Context>> = const { std::cell::Cell::new(None) };
    }

    /// A context for a task woken by `waker`: the kept one if it fits.
    #[inline]
    pub fn take(waker: &Waker) -> Context {
        #[cfg(not(loom))]
        if let Ok(Some(cx)) = SPARE.try_with(|spare| spare.take()) {
            if cx.wakes(waker) {
                return cx;
            }
        }
        Context::for_task(waker.clone())
    }

    /// Keeps `cx` for the thread's next wait, if nobody else holds it.
    #[inline]
    pub fn keep(cx: Context) {
        #[cfg(not(loom))]
        if let Some(cx) = cx.into_reusable() {
            // The one replaced is dropped outside the cell: dropping its
            // waker may run executor code.
            let replaced = SPARE.try_with(|spare| spare.replace(Some(cx)));
            drop(replaced);
        }
        #[cfg(loom)]
        drop(cx);
    }
}

/// The timer thread: one thread, started by the first async wait on a
/// timer channel (`after`, `at`, `tick`), wakes tasks at instants. chan has
/// no runtime of its own and borrows none, so a task waiting for a
/// deadline is woken from here; threads keep sleeping by themselves.
///
/// The due wakers sit in an ordered map under a lock; the thread sleeps
/// until the earliest instant and is unparked when an earlier one arrives.
/// A wait that ends first removes its entry, so the map holds only live
/// waits.
#[cfg(not(loom))]
mod timer {
    use crate::sync::{park, park_timeout, AtomicU64, Mutex, Ordering};
    use std::collections::BTreeMap;
    use std::sync::{Arc, OnceLock};
    use std::task::Waker;
    use std::time::Instant;

    /// Identifies one entry: its instant, and a sequence number that keeps
    /// entries for one instant apart.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub struct TimerKey(Instant, u64);

    #[derive(Default)]
    struct Due {
        wakers: Mutex<BTreeMap<TimerKey, Waker>>,
        next_sequence: AtomicU64,
    }

    struct Timers {
        due: Arc<Due>,
        thread: std::thread::Thread,
    }

    static TIMERS: OnceLock<Timers> = OnceLock::new();

    fn timers() -> &'static Timers {
        TIMERS.get_or_init(|| {
            let due = Arc::new(Due::default());
            let thread = {
                let due = due.clone();
                std::thread::Builder::new()
                    .name("chan-timer".into())
                    .spawn(move || run(&due))
                    .expect("chan: cannot start the timer thread of async timer waits")
            };
            Timers {
                due,
                thread: thread.thread().clone(),
            }
        })
    }

    fn run(due: &Due) -> ! {
        let mut woken = Vec::new();
        loop {
            let now = Instant::now();
            let next = {
                let mut wakers = due.wakers.lock();
                while let Some(entry) = wakers.first_entry() {
                    if entry.key().0 > now {
                        break;
                    }
                    woken.push(entry.remove());
                }
                wakers.keys().next().map(|key| key.0)
            };
            // Outside the lock: a waker may run user code.
            for waker in woken.drain(..) {
                waker.wake();
            }
            match next {
                Some(when) => park_timeout(when.saturating_duration_since(Instant::now())),
                None => park(),
            }
        }
    }

    /// Wakes `waker` at `when` (at once if it has passed).
    pub fn wake_at(when: Instant, waker: Waker) -> TimerKey {
        let timers = timers();
        let key = TimerKey(
            when,
            timers.due.next_sequence.fetch_add(1, Ordering::Relaxed),
        );
        let earliest = {
            let mut wakers = timers.due.wakers.lock();
            let earliest = wakers.keys().next().map_or(true, |first| key < *first);
            wakers.insert(key, waker);
            earliest
        };
        if earliest {
            timers.thread.unpark();
        }
        key
    }

    /// Removes an entry that has not fired.
    pub fn cancel(key: TimerKey) {
        let removed = timers().due.wakers.lock().remove(&key);
        drop(removed);
    }
}

/// Loom models no time: a wait with a deadline re-tries at every poll
/// instead (`TaskWait::resume` sees the deadline pass).
#[cfg(loom)]
mod timer {
    use std::task::Waker;
    use std::time::Instant;

    #[derive(Debug)]
    pub struct TimerKey;

    pub fn wake_at(_when: Instant, waker: Waker) -> TimerKey {
        waker.wake();
        TimerKey
    }

    pub fn cancel(_key: TimerKey) {}
}
