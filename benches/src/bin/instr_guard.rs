//! The fixed single-thread workloads whose instruction counts CI guards
//! (`scripts/instructions.sh`, baseline `benches/instructions.txt`).
//!
//! Usage: `instr_guard CRATE FLAVOR K MODE`
//!
//! - CRATE: chan, or crossbeam for the same workloads on crossbeam-channel
//! - FLAVOR: b1, b1024 or unb (`bounded(1)`, `bounded(1024)`, `unbounded()`)
//! - K: number of operations
//! - MODE: `seq`, a batch of sends (the capacity; all K when unbounded) then
//!   as many receives; `pair`, a send then a receive, K times; `select`,
//!   four channels each holding one message, and K times a receive by a
//!   4-arm `Select` built once, then a send of the message back into the
//!   channel it came from; `select_macro`, the same with `select!`, which
//!   builds its selector at every call, as user code does; `ready`, the
//!   same with `Select::ready` and then a `try_recv` on the channel it
//!   names. Every arm is ready at every select, so the count does not
//!   depend on the random order in which the select visits its arms.
//!
//! Count instructions per operation with two runs that differ only in K,
//! so that start-up and channel construction cancel out.
//!
//! This binary uses nothing but the channel crates, on purpose: the
//! compiler inlines a generic function more readily when it has a single
//! caller, so any other code of the program that used the same channel
//! functions (the benchmark library's harnesses, say) would move these
//! counts without any change to chan. `seq_cost` is the multi-contender
//! tool for comparisons; this one is the yardstick.

use std::hint::black_box;

/// Runs MODE on the crate `$krate` (crossbeam-channel's API); evaluates to
/// the sum of the messages received, which the caller checks.
macro_rules! workload {
    ($krate:ident, $capacity:expr, $k:expr, $mode:expr) => {{
        let make = || match $capacity {
            Some(cap) => $krate::bounded::<usize>(cap),
            None => $krate::unbounded::<usize>(),
        };
        let k: usize = $k;
        let mut sum = 0usize;
        match $mode {
            "seq" | "pair" => {
                let (tx, rx) = make();
                let batch = if $mode == "seq" {
                    $capacity.unwrap_or(k).max(1)
                } else {
                    1
                };
                let mut done = 0;
                while done < k {
                    let end = (done + batch).min(k);
                    for i in done..end {
                        tx.send(black_box(i)).unwrap();
                    }
                    for _ in done..end {
                        sum = sum.wrapping_add(rx.recv().unwrap());
                    }
                    done = end;
                }
            }
            "select" | "select_macro" | "ready" => {
                let chans: Vec<_> = (0..4).map(|_| make()).collect();
                for (index, (tx, _)) in chans.iter().enumerate() {
                    tx.send(index).unwrap();
                }
                let (r0, r1, r2, r3) = (&chans[0].1, &chans[1].1, &chans[2].1, &chans[3].1);
                let mut sel = $krate::Select::new();
                for (_, rx) in &chans {
                    sel.recv(rx);
                }
                for i in 0..k {
                    let (index, msg) = if $mode == "select_macro" {
                        $krate::select! {
                            recv(r0) -> msg => (0, msg),
                            recv(r1) -> msg => (1, msg),
                            recv(r2) -> msg => (2, msg),
                            recv(r3) -> msg => (3, msg),
                        }
                    } else if $mode == "ready" {
                        let index = sel.ready();
                        (
                            index,
                            chans[index].1.try_recv().map_err(|_| $krate::RecvError),
                        )
                    } else {
                        let op = sel.select();
                        let index = op.index();
                        (index, op.recv(&chans[index].1))
                    };
                    assert_eq!(msg, Ok(index), "a message came out of another channel");
                    chans[index].0.send(black_box(index)).unwrap();
                    // Every select counts once, whichever channel it took.
                    sum = sum.wrapping_add(i);
                }
            }
            other => panic!("unknown mode {other}"),
        }
        sum
    }};
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: instr_guard CRATE FLAVOR K seq|pair|select|select_macro|ready";
    let [krate, flavor, k, mode] = args.as_slice() else {
        panic!("{usage}");
    };
    let capacity = match flavor.as_str() {
        "b1" => Some(1),
        "b1024" => Some(1024),
        "unb" => None,
        other => panic!("unknown flavor {other}: b1, b1024 or unb"),
    };
    let k: usize = k.parse().expect("K must be a number");
    let sum = match krate.as_str() {
        "chan" => workload!(chan, capacity, k, mode.as_str()),
        "crossbeam" => workload!(crossbeam_channel, capacity, k, mode.as_str()),
        other => panic!("unknown crate {other}; {usage}"),
    };
    assert_eq!(sum, k.wrapping_mul(k.wrapping_sub(1)) / 2, "lost messages");
    println!("{krate} {flavor} {mode}: {k} operations");
}
