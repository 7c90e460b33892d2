//! Helpers shared by the integration tests (each test file has `mod common;`).
//!
//! Every test creates its own [`DropTracker`], so counters are never shared
//! between tests running in parallel.
#![allow(dead_code)]

use chan::{bounded, unbounded, Receiver, RecvError, RecvTimeoutError, Sender};
use chan::{SendError, SendTimeoutError, TryRecvError, TrySendError};
use std::alloc::{GlobalAlloc, Layout, System};
use std::any::Any;
use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;
use std::hash::Hash;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------

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

/// Runs `f` on its own thread and fails (instead of hanging the test binary)
/// if it has not finished within `limit`; a hung thread is left behind. A
/// hang detector, not a timing assertion: `limit` is far above the normal run
/// time. Under miri time is virtual, so `f` just runs.
pub fn within<F: FnOnce() + Send + 'static>(limit: Duration, what: &str, f: F) {
    if cfg!(miri) {
        f();
        return;
    }
    let (done_s, done_r) = mpsc::channel();
    let h = thread::spawn(move || {
        f();
        let _ = done_s.send(());
    });
    match done_r.recv_timeout(limit) {
        Ok(()) => h.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(h.join().unwrap_err())
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: hung for more than {limit:?} (lost wake-up or deadlock)")
        }
    }
}

// ---------------------------------------------------------------------------
// Leak counting
// ---------------------------------------------------------------------------

/// The system allocator, counting live blocks per thread. A test binary
/// that checks for leaks installs it:
/// `#[global_allocator] static ALLOC: CountingAlloc = CountingAlloc;`.
pub struct CountingAlloc;

thread_local! {
    /// Blocks allocated minus blocks freed by this thread.
    static LIVE_BLOCKS: Cell<isize> = const { Cell::new(0) };
    /// Allocations and reallocations made by this thread.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_block(delta: isize) {
    // During thread teardown the counters may be gone; those blocks do not
    // matter to any check.
    let _ = LIVE_BLOCKS.try_with(|c| c.set(c.get() + delta));
    if delta > 0 {
        count_allocation();
    }
}

fn count_allocation() {
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees hold; the counting touches only a
// const-initialized thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count_block(1);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds the contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count_block(1);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is; `ptr` came from this allocator, which
        // got it from `System`.
        unsafe { System.dealloc(ptr, layout) };
        count_block(-1);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_allocation();
        // SAFETY: forwarded as is; a reallocation keeps the block count.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Blocks allocated minus blocks freed by this thread (with
/// [`CountingAlloc`] installed).
pub fn live_blocks() -> isize {
    LIVE_BLOCKS.with(|c| c.get())
}

/// Allocations and reallocations this thread has made (with
/// [`CountingAlloc`] installed).
pub fn allocations() -> usize {
    ALLOCATIONS.with(|c| c.get())
}

// ---------------------------------------------------------------------------
// Randomness
// ---------------------------------------------------------------------------

/// xorshift64*: a small deterministic generator, so that a failing run can
/// be replayed from its seed (one per thread).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // Spread consecutive seeds apart; the state must not be zero.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        (self.next() >> 16) % n
    }

    /// Uniform-ish in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }

    /// True with probability `percent`%.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A short wait below `max` microseconds, sometimes zero.
    pub fn micros(&mut self, max: u64) -> Duration {
        Duration::from_micros(self.below(max))
    }
}

// ---------------------------------------------------------------------------
// Panics
// ---------------------------------------------------------------------------

/// Extracts the text of a panic payload.
pub fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("<non-string panic payload>")
    }
}

/// Runs `f`, which must panic; returns the payload's text.
pub fn panic_payload<R>(f: impl FnOnce() -> R) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic"),
        Err(payload) => panic_text(&*payload),
    }
}

// ---------------------------------------------------------------------------
// Flavors
// ---------------------------------------------------------------------------

/// A channel flavor under test; `Bounded(0)` is the rendezvous (zero)
/// flavor. Printed as the call that makes it: `bounded(4)`, `unbounded`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Bounded(usize),
    Unbounded,
}

impl Flavor {
    /// The capacity: `None` for unbounded.
    pub fn cap(self) -> Option<usize> {
        match self {
            Flavor::Bounded(cap) => Some(cap),
            Flavor::Unbounded => None,
        }
    }

    /// A new channel of this flavor.
    pub fn make<T>(self) -> (Sender<T>, Receiver<T>) {
        channel(self.cap())
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flavor::Bounded(cap) => write!(f, "bounded({cap})"),
            Flavor::Unbounded => f.write_str("unbounded"),
        }
    }
}

impl fmt::Debug for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Every flavor: `bounded(0)`, `bounded(1)`, `bounded(cap)` and `unbounded`.
pub const fn flavors(cap: usize) -> [Flavor; 4] {
    [
        Flavor::Bounded(0),
        Flavor::Bounded(1),
        Flavor::Bounded(cap),
        Flavor::Unbounded,
    ]
}

/// `bounded(cap)` for `Some(cap)`, `unbounded()` for `None`.
pub fn channel<T>(cap: Option<usize>) -> (Sender<T>, Receiver<T>) {
    match cap {
        Some(cap) => bounded(cap),
        None => unbounded(),
    }
}

// ---------------------------------------------------------------------------
// Drop tracking
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct Counts {
    created: AtomicUsize,
    /// Number of drops seen for each id.
    per_id: Mutex<Vec<u32>>,
}

/// Counts constructions and drops, per id, of the [`Tracked`] messages it
/// makes (and of special-purpose messages that report to it through
/// [`count_created`](Self::count_created) and [`count_drop`](Self::count_drop)).
#[derive(Clone, Debug)]
pub struct DropTracker(Arc<Counts>);

impl Default for DropTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl DropTracker {
    /// A tracker with all counters at zero. Its per-id table is allocated
    /// now, so that the first messages made inside a leak check (see
    /// `tests/panic_safety.rs`) allocate nothing; growing it later
    /// reallocates, which keeps the number of live blocks.
    pub fn new() -> Self {
        DropTracker(Arc::new(Counts {
            created: AtomicUsize::new(0),
            per_id: Mutex::new(Vec::with_capacity(8)),
        }))
    }

    /// Makes a tracked message carrying `id`.
    pub fn make(&self, id: usize) -> Tracked {
        self.make_with(id, false)
    }

    /// Makes a tracked message carrying `id` whose drop panics with
    /// "bomb {id} went off" (unless the thread is already unwinding, where
    /// a panic would abort the process).
    pub fn armed(&self, id: usize) -> Tracked {
        self.make_with(id, true)
    }

    fn make_with(&self, id: usize, armed: bool) -> Tracked {
        self.count_created(id);
        Tracked {
            id,
            armed,
            tracker: self.clone(),
        }
    }

    /// Counts the construction of a message carrying `id`.
    pub fn count_created(&self, id: usize) {
        self.0.created.fetch_add(1, Ordering::SeqCst);
        let mut per_id = self.0.per_id.lock().unwrap();
        if per_id.len() <= id {
            per_id.resize(id + 1, 0);
        }
    }

    /// Counts one drop of the message carrying `id` (made by this tracker).
    pub fn count_drop(&self, id: usize) {
        self.0.per_id.lock().unwrap()[id] += 1;
    }

    /// Number of messages made so far.
    pub fn created(&self) -> usize {
        self.0.created.load(Ordering::SeqCst)
    }

    /// Number of drops seen so far.
    pub fn dropped(&self) -> usize {
        let per_id = self.0.per_id.lock().unwrap();
        per_id.iter().map(|&n| n as usize).sum()
    }

    /// Number of drops seen so far of the message carrying `id`.
    pub fn drops_of(&self, id: usize) -> u32 {
        let per_id = self.0.per_id.lock().unwrap();
        per_id.get(id).copied().unwrap_or(0)
    }

    /// Messages made but not dropped yet.
    pub fn alive(&self) -> usize {
        self.created() - self.dropped()
    }

    /// Asserts that every message made was dropped exactly once (no double
    /// drop, no leak); `what` names the case in the failure message.
    pub fn assert_all_dropped_once(&self, what: impl fmt::Display) {
        {
            let per_id = self.0.per_id.lock().unwrap();
            for (id, &n) in per_id.iter().enumerate() {
                assert!(n <= 1, "{what}: message {id} dropped {n} times");
            }
        }
        let (created, dropped) = (self.created(), self.dropped());
        assert_eq!(
            created, dropped,
            "{what}: made {created} messages but dropped {dropped}"
        );
    }
}

/// A message that reports its drop to the [`DropTracker`] that made it; an
/// *armed* one (see [`DropTracker::armed`]) panics when dropped.
pub struct Tracked {
    /// The id given at construction.
    pub id: usize,
    armed: bool,
    tracker: DropTracker,
}

impl fmt::Debug for Tracked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tracked({})", self.id)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.tracker.count_drop(self.id);
        if self.armed && !thread::panicking() {
            panic!("bomb {} went off", self.id);
        }
    }
}

// ---------------------------------------------------------------------------
// Shared checks
// ---------------------------------------------------------------------------

/// Asserts that every send method on `s`, whose receivers are all gone,
/// fails with the disconnection and hands its message back.
pub fn assert_sends_disconnected(s: &Sender<i32>) {
    assert_eq!(s.send(1), Err(SendError(1)));
    assert_eq!(s.try_send(2), Err(TrySendError::Disconnected(2)));
    assert_eq!(
        s.send_timeout(3, ms(10)),
        Err(SendTimeoutError::Disconnected(3))
    );
    assert_eq!(
        s.send_deadline(4, Instant::now() + ms(10)),
        Err(SendTimeoutError::Disconnected(4))
    );
}

/// Asserts that every receive method on `r`, empty and with every sender
/// gone, reports the disconnection.
pub fn assert_recvs_disconnected(r: &Receiver<i32>) {
    assert_eq!(r.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(r.recv(), Err(RecvError));
    assert_eq!(r.recv_timeout(ms(10)), Err(RecvTimeoutError::Disconnected));
    assert_eq!(
        r.recv_deadline(Instant::now() + ms(10)),
        Err(RecvTimeoutError::Disconnected)
    );
}

/// Asserts that `send_timeout` and `send_deadline` on `s`, which has no
/// room and no receiver waiting, time out after their 100 ms.
pub fn assert_sends_time_out(s: &Sender<i32>) {
    let start = Instant::now();
    assert_eq!(
        s.send_timeout(1, ms(100)),
        Err(SendTimeoutError::Timeout(1))
    );
    assert_elapsed(start, ms(100));
    let start = Instant::now();
    assert_eq!(
        s.send_deadline(2, start + ms(100)),
        Err(SendTimeoutError::Timeout(2))
    );
    assert_elapsed(start, ms(100));
}

/// Asserts that `recv_timeout` and `recv_deadline` on `r`, which is empty
/// with no sender waiting, time out after their 100 ms.
pub fn assert_recvs_time_out(r: &Receiver<i32>) {
    let start = Instant::now();
    assert_eq!(r.recv_timeout(ms(100)), Err(RecvTimeoutError::Timeout));
    assert_elapsed(start, ms(100));
    let start = Instant::now();
    assert_eq!(
        r.recv_deadline(start + ms(100)),
        Err(RecvTimeoutError::Timeout)
    );
    assert_elapsed(start, ms(100));
}

/// Blocks two receivers of the channel, one in `recv` and one in
/// `recv_timeout`, then drops `s`, the last sender: both wake up promptly
/// with the disconnection.
pub fn assert_disconnect_wakes_receivers(s: Sender<i32>, r: Receiver<i32>) {
    let r2 = r.clone();
    let t1 = thread::spawn(move || r.recv());
    let t2 = thread::spawn(move || r2.recv_timeout(Duration::from_secs(10)));
    thread::sleep(ms(50));
    let start = Instant::now();
    drop(s);
    assert_eq!(t1.join().unwrap(), Err(RecvError));
    assert_eq!(t2.join().unwrap(), Err(RecvTimeoutError::Disconnected));
    assert!(start.elapsed() < SLACK);
}

/// Blocks two senders on the channel (which must have no room), one in
/// `send` (of 1) and one in `send_timeout` (of 2), then drops `r`, the last
/// receiver: both wake up promptly with the disconnection and their message.
pub fn assert_disconnect_wakes_senders(s: Sender<i32>, r: Receiver<i32>) {
    let s2 = s.clone();
    let t1 = thread::spawn(move || s.send(1));
    let t2 = thread::spawn(move || s2.send_timeout(2, Duration::from_secs(10)));
    thread::sleep(ms(50));
    let start = Instant::now();
    drop(r);
    assert_eq!(t1.join().unwrap(), Err(SendError(1)));
    assert_eq!(t2.join().unwrap(), Err(SendTimeoutError::Disconnected(2)));
    assert!(start.elapsed() < SLACK);
}

/// Joins the `producers`, then the `consumers`, and returns every message
/// the consumers received, asserting that none was received twice.
pub fn received_once<T: Eq + Hash + fmt::Debug>(
    producers: Vec<JoinHandle<()>>,
    consumers: Vec<JoinHandle<Vec<T>>>,
) -> HashSet<T> {
    for p in producers {
        p.join().unwrap();
    }
    let mut seen = HashSet::new();
    for c in consumers {
        for v in c.join().unwrap() {
            assert!(!seen.contains(&v), "{v:?} received twice");
            seen.insert(v);
        }
    }
    seen
}
