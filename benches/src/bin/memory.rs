//! Heap memory held by channels, measured with a counting global allocator.
//!
//! Usage: `memory [BURST]` (BURST defaults to 10,000,000 messages).
//!
//! For each contender it prints:
//! - the live heap bytes of an empty `bounded(1024)` channel of `usize`
//!   (sender and receiver alive), and of an empty `unbounded()` one;
//! - for an unbounded channel of `usize`: the live bytes after a burst of
//!   BURST sends (peak), and after the burst has been received again while
//!   both ends are still alive (what the drained channel keeps).

use chan_benches::contenders::{Chan, Channel, Crossbeam, Flume, Kanal, Std};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts live heap bytes on top of the system allocator.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counter is only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE.fetch_add(new_size, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Live bytes of one freshly made, empty channel.
fn empty<C: Channel>(cap: Option<usize>) -> usize {
    let before = live();
    let pair = match cap {
        Some(cap) => C::bounded::<usize>(cap),
        None => C::unbounded::<usize>(),
    };
    let bytes = live() - before;
    drop(pair);
    bytes
}

/// (peak, after drain) live bytes of an unbounded channel through a burst.
fn burst<C: Channel>(n: usize) -> (usize, usize) {
    let before = live();
    let (tx, rx) = C::unbounded::<usize>();
    for i in 0..n {
        C::send(&tx, i);
    }
    let peak = live() - before;
    let mut sum = 0usize;
    for _ in 0..n {
        sum = sum.wrapping_add(C::recv(&rx).expect("memory: channel closed"));
    }
    assert_eq!(sum, n.wrapping_mul(n.wrapping_sub(1)) / 2, "lost messages");
    let drained = live() - before;
    drop((tx, rx));
    (peak, drained)
}

fn row<C: Channel>(n: usize) {
    let b1024 = empty::<C>(Some(1024));
    let unb = empty::<C>(None);
    let (peak, drained) = burst::<C>(n);
    println!(
        "| {} | {} | {} | {} | {} |",
        C::NAME,
        b1024,
        unb,
        peak,
        drained
    );
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("BURST must be a number"))
        .unwrap_or(10_000_000);
    println!(
        "| contender | bounded(1024) usize, empty (B) | unbounded, empty (B) | \
         unbounded after {n} sends (B) | after draining them (B) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: |");
    row::<Chan>(n);
    row::<Crossbeam>(n);
    row::<Flume>(n);
    row::<Kanal>(n);
    row::<Std>(n);
}
