//! A three-stage pipeline connected by bounded channels.
//!
//! ```text
//! generate --[bounded(CAP)]--> square --[bounded(CAP)]--> sum
//! ```
//!
//! * `generate` produces the numbers `1..=N`.
//! * `square` turns each number into its square.
//! * `sum` adds the squares up and checks that they arrive in order.
//!
//! The channels are bounded, so a fast stage cannot run ahead of a slow one:
//! when a queue holds `CAP` items the upstream stage blocks in `send` until
//! the downstream stage catches up (back-pressure). Memory use therefore stays
//! at `2 * CAP` items however large `N` is. The generator uses `try_send` first
//! only to count how often it hit a full queue, then falls back to a blocking
//! `send`. The final sum is checked against the closed formula
//! `N (N + 1) (2N + 1) / 6`; the example panics (non-zero exit) on a mismatch.
//!
//! Each stage learns that its input has ended when the channel disconnects,
//! i.e. when the upstream stage drops its `Sender`; no sentinel value needed.
//!
//! Run it with:
//!
//! ```text
//! cargo run --release --example pipeline
//! ```

use std::thread;
use std::time::Instant;

use chan::{bounded, Receiver, Sender, TrySendError};

/// How many numbers flow through the pipeline.
const N: u64 = 1_000_000;
/// Capacity of each of the two queues.
const CAP: usize = 64;

/// Stage 1: emit `1..=N`; returns how many times the queue was found full.
fn generate(out: Sender<u64>) -> u64 {
    let mut full_hits = 0;
    for n in 1..=N {
        match out.try_send(n) {
            Ok(()) => {}
            Err(TrySendError::Full(n)) => {
                full_hits += 1;
                // Back-pressure: wait until `square` has made room.
                out.send(n).expect("square stage hung up early");
            }
            Err(TrySendError::Disconnected(_)) => panic!("square stage hung up early"),
        }
    }
    full_hits
    // `out` is dropped here, which tells `square` the input has ended.
}

/// Stage 2: square every number; returns the largest backlog seen upstream.
fn square(input: Receiver<u64>, out: Sender<u64>) -> usize {
    let mut max_backlog = 0;
    for n in input.iter() {
        max_backlog = max_backlog.max(input.len());
        out.send(n * n).expect("sum stage hung up early");
    }
    max_backlog
}

/// Stage 3: add everything up, checking the order on the way.
fn sum(input: Receiver<u64>) -> (u64, u64) {
    let mut total = 0u64;
    let mut count = 0u64;
    let mut previous = 0u64;
    for sq in input.iter() {
        assert!(sq > previous, "items arrived out of order");
        previous = sq;
        total += sq;
        count += 1;
    }
    (count, total)
}

fn main() {
    let started = Instant::now();

    let (numbers_tx, numbers_rx) = bounded(CAP);
    let (squares_tx, squares_rx) = bounded(CAP);

    let stage1 = thread::spawn(move || generate(numbers_tx));
    let stage2 = thread::spawn(move || square(numbers_rx, squares_tx));
    let stage3 = thread::spawn(move || sum(squares_rx));

    let full_hits = stage1.join().expect("generate panicked");
    let max_backlog = stage2.join().expect("square panicked");
    let (count, total) = stage3.join().expect("sum panicked");
    let elapsed = started.elapsed();

    let expected = N * (N + 1) * (2 * N + 1) / 6;
    println!("pipeline: {N} items through 2 bounded({CAP}) queues");
    println!(
        "  {:.3} s, {:.0} items/s",
        elapsed.as_secs_f64(),
        N as f64 / elapsed.as_secs_f64().max(1e-9)
    );
    println!("  generator found its queue full {full_hits} times (back-pressure)");
    println!("  largest backlog seen by the square stage: {max_backlog} (capacity {CAP})");
    println!("  sum of squares: {total} (expected {expected})");

    assert_eq!(count, N, "wrong number of items reached the end");
    assert_eq!(total, expected, "wrong sum of squares");
    assert!(
        max_backlog <= CAP,
        "a bounded queue held more than its capacity"
    );
    println!("OK");
}
