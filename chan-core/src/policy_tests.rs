//! Unit tests of the waiting and choosing policies (`policy.rs`).

use super::*;

/// `spins` as the budget holds it: capped by this machine's bound (at
/// least 4 spins, about 15 where a spin hint takes 26 ns, and whatever
/// miri's virtual clock makes of it).
fn capped(spins: u32) -> u32 {
    spins.min(SpinBudget::max())
}

#[test]
fn spin_budget_follows_what_spinning_achieves() {
    // A fresh thread starts with an empty budget.
    std::thread::spawn(|| {
        let budget = || SPIN_STATE.with(|state| state.get().0);
        assert_eq!(budget(), 0);
        SpinBudget::current().caught(5);
        assert_eq!(budget(), capped(10));
        SpinBudget::current().caught(3);
        assert_eq!(budget(), capped(10));
        SpinBudget::current().caught(1000);
        assert_eq!(budget(), SpinBudget::max());
        for _ in 0..20 {
            SpinBudget::current().missed();
        }
        assert_eq!(budget(), 0);
        let probes = (0..SpinBudget::PROBE_EVERY)
            .filter(|_| SpinBudget::current().spins() == SpinBudget::max())
            .count();
        assert_eq!(probes, 1);
    })
    .join()
    .unwrap();
}

#[test]
fn spin_budget_bound_is_a_time() {
    // 400 ns of spins: 15 spin hints of 26 ns, 133 of 3 ns; never below 4
    // or above 256.
    assert_eq!(SpinBudget::spins_for(26.0), 15);
    assert_eq!(SpinBudget::spins_for(3.0), 133);
    assert_eq!(SpinBudget::spins_for(140.0), 4);
    assert_eq!(SpinBudget::spins_for(0.0), 256);
    assert!(SpinBudget::MAX_SPINS.contains(&SpinBudget::max()));
}

#[test]
fn spin_briefly_until_spins_only_with_a_budget_and_teaches_nothing() {
    std::thread::spawn(|| {
        let state = || SPIN_STATE.with(|state| state.get());
        // A spent budget: no spin, not even a look.
        let mut checks = 0;
        assert!(!spin_briefly_until(|| {
            checks += 1;
            true
        }));
        assert_eq!(checks, 0);
        // With a budget it spins up to the longest budget, whatever this
        // thread's is, and leaves the budget and the count of waits alone.
        SpinBudget::current().caught(1);
        let before = state();
        assert_eq!(before.0, capped(2));
        let mut checks = 0;
        assert!(!spin_briefly_until(|| {
            checks += 1;
            false
        }));
        assert_eq!(checks, SpinBudget::max());
        let mut checks = 0;
        assert!(spin_briefly_until(|| {
            checks += 1;
            checks == 3
        }));
        assert_eq!(checks, 3);
        assert_eq!(state(), before);
    })
    .join()
    .unwrap();
}

#[test]
fn spin_until_spins_within_the_budget_and_teaches_it() {
    std::thread::spawn(|| {
        let budget = || SPIN_STATE.with(|state| state.get().0);
        // An empty budget spins only on the periodic probe: one call in
        // `PROBE_EVERY` sees a condition that is already true.
        let caught = (0..SpinBudget::PROBE_EVERY)
            .filter(|_| spin_until(|| true))
            .count();
        assert_eq!(caught, 1);
        // That catch (after one spin) gave the budget room for the next
        // calls, which catch too.
        assert_eq!(budget(), 2);
        assert!(spin_until(|| true));
        // A condition that turns true at the fourth check, within a
        // budget of four spins, is caught and doubles the budget.
        SpinBudget::current().caught(2);
        assert_eq!(budget(), capped(4));
        let mut checks = 0;
        assert!(spin_until(|| {
            checks += 1;
            checks == 4
        }));
        assert_eq!(budget(), capped(8));
        // A condition that never holds wears the budget down to nothing.
        for _ in 0..12 {
            assert!(!spin_until(|| false));
        }
        assert_eq!(budget(), 0);
    })
    .join()
    .unwrap();
}

#[test]
fn yield_until_stops_when_ready_or_at_the_deadline() {
    let mut calls = 0;
    assert!(yield_until(100, None, || {
        calls += 1;
        calls == 3
    }));
    assert_eq!(calls, 3, "ready is checked before every yield");

    let mut calls = 0;
    let past = Instant::now();
    assert!(!yield_until(100, Some(past), || {
        calls += 1;
        false
    }));
    assert_eq!(calls, 1, "a passed deadline ends the yielding at once");

    assert!(!yield_until(0, None, || false));
}

/// A waiter with nothing to wait for and nothing else to run stops
/// yielding after its idle budget, long before its rounds run out: with
/// `u32::MAX` rounds an unrationed loop would run for an hour or more.
#[test]
#[cfg_attr(miri, ignore = "timing, no unsafe code: miri's clock is virtual")]
fn idle_yields_are_rationed() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut calls = 0u64;
        let ready = yield_until(u32::MAX, None, || {
            calls += 1;
            false
        });
        done.send((ready, calls)).unwrap();
    });
    let (ready, calls) = finished
        .recv_timeout(Duration::from_secs(120))
        .expect("idle yields were not rationed");
    assert!(!ready);
    assert!(calls < u64::from(u32::MAX));
}

/// The idle budget of the calling thread, in microseconds (0 before use).
fn idle_budget_us() -> u32 {
    IDLE_YIELD_US.with(std::cell::Cell::get)
}

/// A stand-in yield that found nothing else to run.
fn idle_yield(_before: Instant) -> Duration {
    Duration::from_nanos(500)
}

/// The idle budget learns from every wait that yielded idly: doubled when
/// the wait ended during its yields, halved when they did not catch the
/// partner, whether the budget or the rounds (mostly idle) ran out first.
/// A budget that
/// only a budget run-out could shrink would stay at its maximum once the
/// rounds last less than it (64 yields of half a microsecond against
/// 64 us), and every idle gap would pay the rounds' yields and a park.
#[test]
fn the_idle_budget_follows_what_idle_yields_achieve() {
    std::thread::spawn(|| {
        // Caught after two idle yields: doubled, up to the maximum.
        let caught_after = |yields: u32| {
            let mut calls = 0;
            yield_rationed(
                100,
                None,
                || {
                    calls += 1;
                    calls > yields
                },
                idle_yield,
            )
        };
        assert!(caught_after(2));
        assert_eq!(idle_budget_us(), IDLE_YIELD_MIN_US * 8);
        for _ in 0..8 {
            assert!(caught_after(2));
        }
        assert_eq!(idle_budget_us(), IDLE_YIELD_MAX_US);

        // The rounds run out first (64 half-microsecond yields against a
        // 64 us budget): halved.
        assert!(!yield_rationed(64, None, || false, idle_yield));
        assert_eq!(idle_budget_us(), IDLE_YIELD_MAX_US / 2);

        // The budget runs out first: halved, down to the minimum.
        for _ in 0..8 {
            assert!(!yield_rationed(u32::MAX, None, || false, idle_yield));
        }
        assert_eq!(idle_budget_us(), IDLE_YIELD_MIN_US);

        // Rounds that mostly ran other threads teach nothing: the partner
        // may be one of them.
        let busy = |_before: Instant| Duration::from_millis(1);
        assert!(!yield_rationed(64, None, || false, busy));
        assert_eq!(idle_budget_us(), IDLE_YIELD_MIN_US);
        for _ in 0..8 {
            assert!(caught_after(2));
        }
        let budget = idle_budget_us();
        assert_eq!(budget, IDLE_YIELD_MAX_US);
        let mut turn = 0;
        let mostly_busy = |before: Instant| {
            turn += 1;
            if turn % 3 == 0 {
                idle_yield(before)
            } else {
                busy(before)
            }
        };
        assert!(!yield_rationed(64, None, || false, mostly_busy));
        assert_eq!(idle_budget_us(), budget);
    })
    .join()
    .unwrap();
}
