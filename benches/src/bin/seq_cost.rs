//! Single-thread cost of a send+receive pair, for instruction counting.
//!
//! Usage: `seq_cost CONTENDER FLAVOR K [pair|seq|select|select_macro]`
//!
//! - CONTENDER: chan, crossbeam, flume, kanal or std (the select modes:
//!   chan or crossbeam)
//! - FLAVOR: b1, b1024 or unb (as in the compare harness)
//! - K: number of send+receive pairs
//! - mode `seq` (default): the harness's `seq` workload shape, a batch of
//!   sends (the capacity; all K when unbounded) then as many receives;
//!   mode `pair`: a send then a receive, K times (one message in flight);
//!   mode `select`: four channels each holding one message, and K times a
//!   receive by a 4-arm `Select` built once, then a send of the message
//!   back into the channel it came from. Every arm is ready at every
//!   select, so the count does not depend on the random order the select
//!   visits its arms in; mode `select_macro`: the same with `select!`,
//!   which builds its selector at every call, as user code does.
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
use chan_benches::workloads::Flavor;
use std::hint::black_box;
use std::time::Instant;

fn run<C: Channel>(flavor: Flavor, k: usize, seq: bool) -> usize {
    let (tx, rx) = flavor.make::<C, usize>();
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
            C::send(&tx, black_box(i));
        }
        for _ in done..end {
            sum = sum.wrapping_add(C::recv(&rx).expect("seq_cost: channel closed"));
        }
        done = end;
    }
    black_box(sum)
}

/// The `select` and `select_macro` modes for a crate with
/// crossbeam-channel's API; evaluates to the number of messages received.
macro_rules! select_ready {
    ($krate:ident, $flavor:expr, $k:expr, $use_macro:expr) => {{
        let chans: Vec<_> = (0..4)
            .map(|_| match $flavor.capacity() {
                Some(cap) => $krate::bounded::<usize>(cap),
                None => $krate::unbounded::<usize>(),
            })
            .collect();
        for (index, (tx, _)) in chans.iter().enumerate() {
            tx.send(index).unwrap();
        }
        let (r0, r1, r2, r3) = (&chans[0].1, &chans[1].1, &chans[2].1, &chans[3].1);
        let mut sel = $krate::Select::new();
        for (_, rx) in &chans {
            sel.recv(rx);
        }
        let mut received = 0usize;
        for _ in 0..$k {
            let (index, msg) = if $use_macro {
                $krate::select! {
                    recv(r0) -> msg => (0, msg),
                    recv(r1) -> msg => (1, msg),
                    recv(r2) -> msg => (2, msg),
                    recv(r3) -> msg => (3, msg),
                }
            } else {
                let op = sel.select();
                let index = op.index();
                (index, op.recv(&chans[index].1))
            };
            let msg = msg.expect("seq_cost: channel closed");
            assert_eq!(msg, index, "a message came out of another channel");
            chans[index].0.send(black_box(msg)).unwrap();
            received += 1;
        }
        received
    }};
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: seq_cost CONTENDER FLAVOR K [pair|seq]";
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
    let mode = args.get(3).map(String::as_str).unwrap_or("seq");
    if mode == "select" || mode == "select_macro" {
        let use_macro = mode == "select_macro";
        let start = Instant::now();
        let received = match contender {
            "chan" => select_ready!(chan, flavor, k, use_macro),
            "crossbeam" => select_ready!(crossbeam_channel, flavor, k, use_macro),
            other => panic!("{other} has no select"),
        };
        let elapsed = start.elapsed();
        assert_eq!(received, k, "lost messages");
        println!(
            "{contender} {} {k} {mode}s: {:.1} ns/select",
            flavor.id(),
            elapsed.as_secs_f64() * 1e9 / k.max(1) as f64
        );
        return;
    }
    let seq = match mode {
        "seq" => true,
        "pair" => false,
        other => panic!("unknown mode {other}; {usage}"),
    };
    let start = Instant::now();
    let sum = match contender {
        "chan" => run::<Chan>(flavor, k, seq),
        "crossbeam" => run::<Crossbeam>(flavor, k, seq),
        "flume" => run::<Flume>(flavor, k, seq),
        "kanal" => run::<Kanal>(flavor, k, seq),
        "std" => run::<Std>(flavor, k, seq),
        other => panic!("unknown contender {other}"),
    };
    let elapsed = start.elapsed();
    assert_eq!(sum, k.wrapping_mul(k.wrapping_sub(1)) / 2, "lost messages");
    println!(
        "{contender} {} {k} pairs: {:.1} ns/pair",
        flavor.id(),
        elapsed.as_secs_f64() * 1e9 / k.max(1) as f64
    );
}
