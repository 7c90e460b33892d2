//! Helpers shared by the integration tests.
//!
//! Every test creates its own [`DropTracker`], so counters are never shared
//! between tests running in parallel.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Shorthand for a duration in milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Generous upper bound used for every "this should not take long" assertion.
pub const SLACK: Duration = Duration::from_secs(2);

/// An instant very far in the future (100 years), which must not make any
/// deadline-based operation overflow or panic.
pub fn far_future() -> Instant {
    Instant::now()
        .checked_add(Duration::from_secs(100 * 365 * 24 * 60 * 60))
        .expect("the platform can represent an instant 100 years ahead")
}

#[derive(Debug, Default)]
struct Counts {
    created: AtomicUsize,
    dropped: AtomicUsize,
    /// Number of drops seen for each id.
    per_id: Mutex<Vec<u32>>,
}

/// Counts constructions and drops of [`Tracked`] values made by it.
#[derive(Clone, Debug, Default)]
pub struct DropTracker(Arc<Counts>);

impl DropTracker {
    /// A tracker with all counters at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes a tracked value carrying `id`.
    pub fn make(&self, id: usize) -> Tracked {
        self.0.created.fetch_add(1, Ordering::SeqCst);
        Tracked {
            id,
            counts: self.0.clone(),
        }
    }

    /// Number of values made so far.
    pub fn created(&self) -> usize {
        self.0.created.load(Ordering::SeqCst)
    }

    /// Number of drops seen so far.
    pub fn dropped(&self) -> usize {
        self.0.dropped.load(Ordering::SeqCst)
    }

    /// Values made but not dropped yet.
    pub fn alive(&self) -> usize {
        self.created() - self.dropped()
    }

    /// Asserts that every value made was dropped exactly once (no leak, no
    /// double drop).
    pub fn assert_all_dropped_once(&self) {
        assert_eq!(
            self.created(),
            self.dropped(),
            "created {} values but dropped {}",
            self.created(),
            self.dropped()
        );
        let per_id = self.0.per_id.lock().unwrap();
        for (id, &n) in per_id.iter().enumerate() {
            assert!(n <= 1, "value {id} dropped {n} times");
        }
    }
}

/// A message that reports its drop to the [`DropTracker`] that made it.
#[derive(Debug)]
pub struct Tracked {
    /// The id given at construction.
    pub id: usize,
    counts: Arc<Counts>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.counts.dropped.fetch_add(1, Ordering::SeqCst);
        let mut per_id = self.counts.per_id.lock().unwrap();
        if per_id.len() <= self.id {
            per_id.resize(self.id + 1, 0);
        }
        per_id[self.id] += 1;
    }
}

/// Runs `f` on a thread with a 256 MiB stack and propagates its panic.
pub fn with_big_stack<F: FnOnce() + Send + 'static>(f: F) {
    thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

/// Extracts the text of a panic payload.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("<non-string panic payload>")
    }
}

/// Asserts that `start.elapsed()` is at least `lower` and below `lower + SLACK`.
pub fn assert_elapsed(start: Instant, lower: Duration) {
    let e = start.elapsed();
    assert!(
        e >= lower,
        "returned after {e:?}, expected at least {lower:?}"
    );
    assert!(
        e < lower + SLACK,
        "returned after {e:?}, expected about {lower:?}"
    );
}
