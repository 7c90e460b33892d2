//! Single-thread cost of the batch operations next to the loops they
//! replace, for instruction counting (the `batch` bench runs it under
//! callgrind; see `benches/BATCH.md`).
//!
//! Usage: `batch_cost FLAVOR SEND RECV N`
//!
//! - FLAVOR: `b1024` (`bounded(1024)`, the array flavor), `b64`
//!   (`bounded(64)`) or `unb` (`unbounded()`, the list flavor)
//! - SEND: `send` (64 calls of `send`) or `send_all` (one `send_all` of an
//!   iterator of 64 messages)
//! - RECV: `recv` (64 calls of `recv`) or `recv_many` (`recv_many(&mut v,
//!   64)`, `v` reused and cleared)
//! - N: messages, sent and received in rounds of 64 (the last round
//!   shorter when 64 does not divide N)
//!
//! Messages are `[usize; 1]`. Each round's send phase and receive phase is
//! a function of its own that is never inlined (`phase_send_loop`,
//! `phase_send_all`, `phase_recv_loop`, `phase_recv_many`), so that
//! `callgrind_annotate --inclusive=yes` gives the instructions of each side
//! apart, channel construction and start-up excluded:
//!
//! ```text
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/x.out batch_cost b1024 send_all recv_many 256000
//! callgrind_annotate --inclusive=yes /tmp/x.out | grep phase_
//! (inclusive Ir of a phase function) / N
//! ```
//!
//! As `instr_guard`, this binary uses nothing but chan, so that no other
//! code of the program calls the channel functions and moves the
//! compiler's inlining decisions. Without valgrind it prints wall-clock
//! nanoseconds per message, a rough check only (the `batch` bench measures
//! the times).

use chan::{Receiver, Sender};
use std::hint::black_box;
use std::time::Instant;

/// The message type of every batch benchmark.
type Msg = [usize; 1];

/// Messages per round, and the batch size of `send_all` and `recv_many`.
const ROUND: usize = 64;

/// Sends `base..base + k` with one `send` each.
#[inline(never)]
fn phase_send_loop(tx: &Sender<Msg>, base: usize, k: usize) {
    for v in base..base + k {
        tx.send([v]).expect("batch_cost: disconnected");
    }
}

/// Sends `base..base + k` with one `send_all`.
#[inline(never)]
fn phase_send_all(tx: &Sender<Msg>, base: usize, k: usize) {
    tx.send_all((base..base + k).map(|v| [v]))
        .expect("batch_cost: disconnected");
}

/// Receives `k` messages with one `recv` each; returns their sum.
#[inline(never)]
fn phase_recv_loop(rx: &Receiver<Msg>, k: usize) -> usize {
    let mut sum = 0usize;
    for _ in 0..k {
        sum = sum.wrapping_add(rx.recv().expect("batch_cost: disconnected")[0]);
    }
    sum
}

/// Receives `k` messages with `recv_many` into `v` (one call when the `k`
/// are there, as they are on one thread), then sums and clears `v`.
#[inline(never)]
fn phase_recv_many(rx: &Receiver<Msg>, v: &mut Vec<Msg>, k: usize) -> usize {
    let mut got = 0;
    while got < k {
        got += rx.recv_many(v, k - got).expect("batch_cost: disconnected");
    }
    let sum = v.iter().fold(0usize, |sum, m| sum.wrapping_add(m[0]));
    v.clear();
    sum
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: batch_cost b1024|b64|unb send|send_all recv|recv_many N";
    let [flavor, send, recv, n] = args.as_slice() else {
        panic!("{usage}");
    };
    let (tx, rx) = match flavor.as_str() {
        "b1024" => chan::bounded::<Msg>(1024),
        "b64" => chan::bounded::<Msg>(64),
        "unb" => chan::unbounded::<Msg>(),
        other => panic!("unknown flavor {other}; {usage}"),
    };
    let batch_send = match send.as_str() {
        "send" => false,
        "send_all" => true,
        other => panic!("unknown send side {other}; {usage}"),
    };
    let batch_recv = match recv.as_str() {
        "recv" => false,
        "recv_many" => true,
        other => panic!("unknown receive side {other}; {usage}"),
    };
    let n: usize = n.parse().expect("N must be a number");

    let mut v: Vec<Msg> = Vec::new();
    let mut sum = 0usize;
    let start = Instant::now();
    let mut base = 0;
    while base < n {
        let k = ROUND.min(n - base);
        // The start value is opaque to the optimizer, as a user's data.
        let from = black_box(base);
        if batch_send {
            phase_send_all(&tx, from, k);
        } else {
            phase_send_loop(&tx, from, k);
        }
        let got = if batch_recv {
            phase_recv_many(&rx, &mut v, k)
        } else {
            phase_recv_loop(&rx, k)
        };
        sum = sum.wrapping_add(got);
        base += k;
    }
    let elapsed = start.elapsed();
    assert_eq!(sum, n.wrapping_mul(n.wrapping_sub(1)) / 2, "lost messages");
    assert!(rx.is_empty(), "messages left over");
    println!(
        "batch_cost {flavor} {send} {recv} {n} messages: {:.2} ns/message",
        elapsed.as_secs_f64() * 1e9 / n.max(1) as f64
    );
}
