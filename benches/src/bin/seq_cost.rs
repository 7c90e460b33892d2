//! Single-thread cost of a send+receive pair, for instruction counting.
//!
//! Usage: `seq_cost CONTENDER FLAVOR K [pair|seq] [usize|64B]`
//!
//! - CONTENDER: chan, crossbeam, flume, kanal or std
//! - FLAVOR: b1, b1024 or unb (as in the compare harness)
//! - K: number of send+receive pairs
//! - mode `seq` (default): the harness's `seq` workload shape, a batch of
//!   sends (the capacity; all K when unbounded) then as many receives;
//!   mode `pair`: a send then a receive, K times (one message in flight).
//! - message (default `usize`): `64B` sends the harness's 64-byte message,
//!   which shows the copies a send and a receive make.
//!
//! Count instructions per pair with two runs that differ only in K, so the
//! start-up and channel construction cancel out:
//!
//! ```text
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null seq_cost chan b1024 100000
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null seq_cost chan b1024 200000
//! (Ir of the second - Ir of the first) / 100000
//! ```
//!
//! Without valgrind it prints wall-clock nanoseconds per pair, which is a
//! rough check only.

use chan_benches::contenders::{Chan, Channel, Crossbeam, Flume, Kanal, Std};
use chan_benches::workloads::{Big, Flavor, Message};
use std::hint::black_box;
use std::time::Instant;

fn run<C: Channel, M: Message>(flavor: Flavor, k: usize, seq: bool) -> usize {
    let (tx, rx) = flavor.make::<C, M>();
    let batch = if seq {
        flavor.capacity().unwrap_or(k).max(1)
    } else {
        1
    };
    let mut sum = 0usize;
    let mut done = 0;
    while done < k {
        let end = (done + batch).min(k);
        for i in done..end {
            C::send(&tx, black_box(M::new(i)));
        }
        for _ in done..end {
            let msg = C::recv(&rx).expect("seq_cost: channel closed");
            sum = sum.wrapping_add(msg.value());
        }
        done = end;
    }
    black_box(sum)
}

fn run_contender<M: Message>(contender: &str, flavor: Flavor, k: usize, seq: bool) -> usize {
    match contender {
        "chan" => run::<Chan, M>(flavor, k, seq),
        "crossbeam" => run::<Crossbeam, M>(flavor, k, seq),
        "flume" => run::<Flume, M>(flavor, k, seq),
        "kanal" => run::<Kanal, M>(flavor, k, seq),
        "std" => run::<Std, M>(flavor, k, seq),
        other => panic!("unknown contender {other}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: seq_cost CONTENDER FLAVOR K [pair|seq] [usize|64B]";
    let (contender, flavor, k) = match args.as_slice() {
        [c, f, k, ..] => (c.as_str(), f, k),
        _ => panic!("{usage}"),
    };
    let flavor = Flavor::from_id(flavor).expect("flavor: b1, b1024 or unb");
    assert!(
        flavor != Flavor::Zero,
        "bounded(0) cannot run on one thread"
    );
    let k: usize = k.parse().expect("K must be a number");
    let seq = match args.get(3).map(String::as_str) {
        None | Some("seq") => true,
        Some("pair") => false,
        Some(other) => panic!("unknown mode {other}; {usage}"),
    };
    let big = match args.get(4).map(String::as_str) {
        None | Some("usize") => false,
        Some("64B") => true,
        Some(other) => panic!("unknown message {other}; {usage}"),
    };
    let start = Instant::now();
    let sum = if big {
        run_contender::<Big>(contender, flavor, k, seq)
    } else {
        run_contender::<usize>(contender, flavor, k, seq)
    };
    let elapsed = start.elapsed();
    assert_eq!(sum, k.wrapping_mul(k.wrapping_sub(1)) / 2, "lost messages");
    println!(
        "{contender} {} {k} pairs: {:.1} ns/pair",
        flavor.id(),
        elapsed.as_secs_f64() * 1e9 / k.max(1) as f64
    );
}
