//! How chan waits and chooses: the policies, kept apart from the
//! primitives they use (`sync`) and the protocols that use them.
//!
//! - [`Backoff`]: the short spin-then-yield of a thread that waits for
//!   another to finish a step it has started (a half-written slot, a lost
//!   compare-and-swap).
//! - [`SpinBudget`] and [`spin_until`]: how long a thread about to block
//!   spins first, learned per thread from what spinning achieved.
//! - [`yield_until`]: how long it then yields before it parks: while the
//!   yields run other threads, and only briefly while they find nothing
//!   else to run.
//! - [`sleep_until`]: how a wait that nothing can end but time (a timer
//!   channel, `never`, an empty select) passes.
//! - [`random_below`]: the per-thread random numbers behind fair selection.

use crate::sync::{spin_loop, yield_now};
use std::time::{Duration, Instant};

/// Backoff for waits inside channel operations: first a few rounds of
/// exponentially growing busy-spinning (a partner that is running on
/// another core finishes within a few hundred nanoseconds), then yielding
/// the processor (a partner that is runnable but not running, as when
/// there are more threads than cores, gets the core), and then the caller
/// should block.
///
/// Spinning is kept short on purpose: on a machine with more runnable
/// threads than cores, every spin burns the time slice the partner needs.
pub struct Backoff {
    step: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new()
    }
}

// Under loom both limits are 0, which makes some comparisons below
// trivially true there; they are meaningful in real builds.
#[cfg_attr(
    loom,
    allow(clippy::absurd_extreme_comparisons, clippy::unnecessary_min_or_max)
)]
impl Backoff {
    /// Rounds of spinning (round `k` spins `2^k` times). Under loom every
    /// spin is a scheduling point, so there it gives way at once.
    const SPIN_LIMIT: u32 = if cfg!(loom) { 0 } else { 3 };
    /// Rounds (spinning, then yielding) before `is_completed`.
    const YIELD_LIMIT: u32 = if cfg!(loom) { 0 } else { 16 };

    /// Starts a new backoff sequence.
    #[inline]
    pub fn new() -> Self {
        Backoff { step: 0 }
    }

    /// Spins for a growing number of iterations, then yields the thread.
    #[inline]
    pub fn snooze(&mut self) {
        if self.step <= Self::SPIN_LIMIT {
            for _ in 0..1u32 << self.step {
                spin_loop();
            }
        } else {
            crate::probes::count(crate::probes::Event::Yield);
            yield_now();
        }
        if self.step <= Self::YIELD_LIMIT {
            self.step += 1;
        }
    }

    /// Spins a growing number of iterations without yielding (for retrying
    /// a compare-and-swap that lost a race: the winner is running).
    ///
    /// Round `k` spins between half of `2^k` and all of it, at random, so
    /// that threads that lost the same race do not all retry at the same
    /// moment and collide again. The rounds grow further on bigger machines
    /// (`cas_spin_limit`): there more threads contend for one line, and
    /// each retry moves the line away from the thread that holds it.
    #[inline]
    pub fn spin(&mut self) {
        let limit = cas_spin_limit();
        let full = 1u32 << self.step.min(limit);
        let spins = full.div_ceil(2) + random_below(full as usize / 2 + 1) as u32;
        for _ in 0..spins {
            spin_loop();
        }
        if self.step <= limit {
            self.step += 1;
        }
    }

    /// True once spinning and yielding have run their course (after
    /// `YIELD_LIMIT + 1` calls of `snooze`) and the caller should block.
    #[inline]
    pub fn is_completed(&self) -> bool {
        self.step > Self::YIELD_LIMIT
    }
}

/// The last round of [`Backoff::spin`]: `2^3` spins up to 4 cores, one
/// round more per doubling of the cores beyond, up to `2^6` (crossbeam's
/// limit) at 32 cores or more. Read once: `available_parallelism` is a
/// system call.
fn cas_spin_limit() -> u32 {
    if cfg!(loom) {
        return 0;
    }
    // A cache of a fact about the machine, not synchronisation: std's
    // `OnceLock`, outside the loom shim.
    static LIMIT: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        match std::thread::available_parallelism().map_or(1, |cores| cores.get()) {
            0..=4 => 3,
            5..=8 => 4,
            9..=16 => 5,
            _ => 6,
        }
    })
}

/// Spins until `ready()` holds, for as long as the current thread's
/// [`SpinBudget`] allows (the budget that [`Context::wait_until`](crate::context::Context::wait_until) spins
/// on, and that learns from this spin the same way); true if `ready()`
/// held in time.
///
/// For a waiter that can watch the one location its partner will change:
/// spinning there catches a partner running on another core without
/// touching the partner's own cache lines, and costs nothing once the
/// budget has learned that the partner shares this thread's core.
pub fn spin_until(mut ready: impl FnMut() -> bool) -> bool {
    let budget = SpinBudget::current();
    for spin in 0..budget.spins() {
        spin_loop();
        if ready() {
            budget.caught(spin + 1);
            return true;
        }
    }
    budget.missed();
    false
}

/// Spins until `ready()` holds, for at most the longest spin budget
/// (`SpinBudget::max`), and not at all while the current thread's budget
/// is spent (its partners lately did not run while it spun); true if
/// `ready()` held in time. It neither counts as a wait nor teaches the
/// budget: it is for a thread that could go on now but would rather let
/// a running partner get further ahead first, and whose real wait (a
/// [`spin_until`]) follows if it does not.
pub fn spin_briefly_until(mut ready: impl FnMut() -> bool) -> bool {
    #[cfg(not(loom))]
    let spins = match SPIN_STATE.try_with(|state| state.get().0) {
        Ok(0) | Err(_) => 0,
        Ok(_) => SpinBudget::max(),
    };
    #[cfg(loom)]
    let spins = 1;
    for _ in 0..spins {
        spin_loop();
        if ready() {
            return true;
        }
    }
    false
}

/// The time one wait-loop spin (a spin hint) takes on this processor, in
/// nanoseconds: the fastest of a few timed runs, so that a preemption
/// during one does not count.
#[cfg_attr(loom, allow(dead_code))]
fn ns_per_spin() -> f64 {
    const SPINS: u32 = 128;
    (0..8)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..SPINS {
                spin_loop();
            }
            start.elapsed().as_secs_f64() * 1e9 / f64::from(SPINS)
        })
        .fold(f64::INFINITY, f64::min)
}

#[cfg(not(loom))]
std::thread_local! {
    /// The thread's spin budget, and a count of its waits (for probing).
    static SPIN_STATE: std::cell::Cell<(u32, u32)> = const { std::cell::Cell::new((0, 0)) };
}

/// How long a thread spins in [`Context::wait_until`](crate::context::Context::wait_until) before it yields, and
/// in [`spin_until`] before it gives up: a per-thread budget of spin
/// iterations (one check and one spin hint each) that adapts
/// to what the spinning achieves. Both kinds of spin teach the one budget:
/// either way it measures whether this thread's partners run on another
/// core.
///
/// A wait whose selection arrives after `k` spins raises the budget to at
/// least `2k` (so it keeps catching partners that take as long); a wait that
/// spins in vain lowers it by a quarter, so a budget that stops paying (the
/// partner needs this thread's core) decays to nothing within twenty waits
/// (a dozen at this machine's usual count), while one miss among catches
/// costs little. A small budget never learns that a longer spin would have
/// paid, so every `PROBE_EVERY`-th wait spins the full `max()` (`MAX_NS`):
/// if the partner is running on another core, that probe succeeds and the
/// budget follows it up; if it is not, the probe costs `MAX_NS` once in
/// `PROBE_EVERY` waits.
///
/// Under loom every spin is a scheduling point: there the budget is one
/// check and never changes.
#[derive(Clone, Copy)]
pub struct SpinBudget {
    /// Spins for this wait.
    spins: u32,
}

// Under loom the budget is fixed at one spin and the constants go unused.
#[cfg_attr(loom, allow(dead_code))]
impl SpinBudget {
    /// Upper bound of the budget, and the length of a probe, in time: on a
    /// shared 2-core machine 16 spins measured faster than 64 over the
    /// blocking cells of the comparison harness, except where a round trip
    /// fits in the longer spin (pingpong on an idle machine), and this is
    /// about what 16 spins take there. How long a spin hint takes varies
    /// more than tenfold between processors, so the count is derived from
    /// this time once per process (`max`).
    const MAX_NS: f64 = 400.0;
    /// Bounds of the derived count.
    const MAX_SPINS: std::ops::RangeInclusive<u32> = 4..=256;
    /// One wait in this many spins `max()` whatever the budget.
    const PROBE_EVERY: u32 = 32;

    /// Upper bound of the budget in spins, and the length of a probe:
    /// `MAX_NS` at this processor's speed of spinning, measured once.
    fn max() -> u32 {
        // A cache of a fact about the machine, not synchronisation: std's
        // `OnceLock`, outside the loom shim.
        static MAX: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
        *MAX.get_or_init(|| Self::spins_for(ns_per_spin()))
    }

    /// The spins that last about `MAX_NS` when one takes `ns_per_spin`.
    fn spins_for(ns_per_spin: f64) -> u32 {
        let spins = (Self::MAX_NS / ns_per_spin.max(0.1)).round();
        (spins as u32).clamp(*Self::MAX_SPINS.start(), *Self::MAX_SPINS.end())
    }

    /// The budget for the current thread's next wait.
    #[inline]
    fn current() -> SpinBudget {
        #[cfg(not(loom))]
        {
            let (budget, waits) = SPIN_STATE.try_with(|state| state.get()).unwrap_or((0, 1));
            let waits = waits.wrapping_add(1);
            let _ = SPIN_STATE.try_with(|state| state.set((budget, waits)));
            let spins = if waits % Self::PROBE_EVERY == 0 {
                Self::max()
            } else {
                budget
            };
            SpinBudget { spins }
        }
        #[cfg(loom)]
        SpinBudget { spins: 1 }
    }

    /// Spins for this wait.
    #[inline]
    fn spins(self) -> u32 {
        self.spins
    }

    /// The selection arrived after `spin` spins.
    #[inline]
    fn caught(self, spin: u32) {
        #[cfg(not(loom))]
        {
            let _ = SPIN_STATE.try_with(|state| {
                let (budget, waits) = state.get();
                let budget = budget.max(spin.saturating_mul(2)).min(Self::max());
                state.set((budget, waits));
            });
        }
        #[cfg(loom)]
        let _ = spin;
    }

    /// Spinning did not catch the selection.
    #[inline]
    fn missed(self) {
        #[cfg(not(loom))]
        {
            let _ = SPIN_STATE.try_with(|state| {
                let (budget, waits) = state.get();
                state.set(((budget - budget / 4).saturating_sub(1), waits));
            });
        }
    }
}

/// A yield that returns sooner than this found nothing else to run on
/// this core.
const IDLE_YIELD: Duration = Duration::from_micros(2);

/// The bounds of a thread's idle-yield budget, in microseconds: at least
/// about what a park and its wake-up cost, at most what a rendezvous
/// partner on a busy 2-core machine has been seen to take.
const IDLE_YIELD_MIN_US: u32 = 4;
const IDLE_YIELD_MAX_US: u32 = 64;

std::thread_local! {
    /// The current thread's idle-yield budget in microseconds (see
    /// `yield_until`); 0 until first used.
    static IDLE_YIELD_US: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Yields the processor up to `rounds` times until `ready()` holds; true if
/// it did, false after the last round, at `deadline`, or once the yields
/// that found nothing else to run have used up the thread's idle budget.
///
/// Yielding pays when there are more runnable threads than cores: the
/// partner gets this core and completes the operation without the cost of
/// a park and a wake-up. When a yield returns at once, nothing else wanted
/// the core, so the partner is either running elsewhere (then it is due
/// soon) or not running at all (an idle gap: a paced producer asleep).
/// Yielding through an idle gap burns a core for nothing, so such yields
/// are rationed; yields that ran other threads are not. The ration adapts
/// per thread, as [`SpinBudget`] does: a wait that ended during its idle
/// yields doubles it (the partner tends to come back within it), one whose
/// idle yields did not catch the partner halves it (the partner tends to
/// stay away: idle gaps), whether the budget or the rounds (mostly idle
/// ones) ran out first, between `IDLE_YIELD_MIN_US` and `IDLE_YIELD_MAX_US`.
pub fn yield_until(rounds: u32, deadline: Option<Instant>, ready: impl FnMut() -> bool) -> bool {
    yield_rationed(rounds, deadline, ready, |before| {
        crate::probes::count(crate::probes::Event::Yield);
        yield_now();
        before.elapsed()
    })
}

/// [`yield_until`] with the yield given: `yield_once(before)` yields and
/// returns how long that took since `before`, the time read for the
/// deadline check (a stand-in in the unit tests).
fn yield_rationed(
    rounds: u32,
    deadline: Option<Instant>,
    mut ready: impl FnMut() -> bool,
    mut yield_once: impl FnMut(Instant) -> Duration,
) -> bool {
    if rounds == 0 {
        return false;
    }
    let budget_us = IDLE_YIELD_US.with(|budget| match budget.get() {
        0 => IDLE_YIELD_MIN_US * 4,
        us => us,
    });
    let budget = Duration::from_micros(u64::from(budget_us));
    let learn = |us: u32| IDLE_YIELD_US.with(|budget| budget.set(us));
    let shrink = || learn((budget_us / 2).max(IDLE_YIELD_MIN_US));
    let mut idle = Duration::ZERO;
    let mut idle_yields = 0u32;
    for _ in 0..rounds {
        if ready() {
            if idle > Duration::ZERO {
                learn((budget_us * 2).min(IDLE_YIELD_MAX_US));
            }
            return true;
        }
        let before = Instant::now();
        if deadline.is_some_and(|deadline| before >= deadline) {
            return false;
        }
        let took = yield_once(before);
        if took < IDLE_YIELD {
            idle += took;
            idle_yields += 1;
            if idle >= budget {
                shrink();
                return ready();
            }
        }
    }
    // The rounds ran out first, mostly on idle yields: an idle gap longer
    // than the rounds. Without this, a budget grown past what the rounds
    // last would never shrink again: every idle gap would get the rounds'
    // worth of yields and then its park anyway. Rounds that mostly ran
    // other threads teach nothing (the partner may be one of them).
    if idle_yields > rounds / 2 {
        shrink();
    }
    false
}

/// A number in `0..n` (`n >= 1`) from a per-thread xorshift generator:
/// a few instructions and no allocation.
pub fn random_below(n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    // Under loom the state lives in a loom thread-local, which starts afresh
    // in every explored execution; a std thread-local would carry over from
    // one execution to the next and loom would reject the model as not
    // deterministic.
    #[cfg(not(loom))]
    std::thread_local! {
        static STATE: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    }
    #[cfg(loom)]
    loom::thread_local! {
        static STATE: std::cell::Cell<u32> = std::cell::Cell::new(0x9e37_79b9);
    }
    STATE.with(|state| {
        let mut x = state.get();
        if x == 0 {
            x = thread_seed();
        }
        // xorshift32: never reaches 0 from a non-zero state.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        state.set(x);
        // The high bits, scaled to 0..n (multiply-shift).
        ((u64::from(x) * n as u64) >> 32) as usize
    })
}

/// A non-zero seed that differs from thread to thread, so that threads do
/// not all draw the same sequence.
#[cfg(not(loom))]
fn thread_seed() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0x9e37_79b9);
    let counter = NEXT.fetch_add(0x9e37_79b9, Ordering::Relaxed);
    let local = 0u8;
    // The address of a stack variable adds per-process variation.
    let address = &local as *const u8 as usize as u64;
    let mixed = (u64::from(counter) ^ address).wrapping_mul(0x2545_f491_4f6c_dd1d);
    ((mixed >> 32) as u32) | 1
}

#[cfg(loom)]
fn thread_seed() -> u32 {
    0x9e37_79b9
}

/// Sleeps until `deadline`, or forever if there is none.
pub fn sleep_until(deadline: Option<Instant>) {
    loop {
        match deadline {
            None => std::thread::sleep(Duration::from_secs(1000)),
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    return;
                }
                std::thread::sleep(deadline - now);
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
#[path = "policy_tests.rs"]
mod tests;
