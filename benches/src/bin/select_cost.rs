//! Single-thread cost of a select, for instruction counting.
//!
//! Usage: `select_cost CONTENDER FLAVOR K [select|select_macro]`
//!
//! - CONTENDER: chan or crossbeam
//! - FLAVOR: b1, b1024 or unb (as in the compare harness), for all four
//!   channels
//! - K: number of selects
//! - mode `select` (default): four channels each holding one message, and K
//!   times a receive by a 4-arm `Select` built once, then a send of the
//!   message back into the channel it came from; mode `select_macro`: the
//!   same with `select!`, which builds its selector at every call, as user
//!   code does.
//!
//! Every arm is ready at every select, so the count does not depend on the
//! random order in which the select visits its arms. Count instructions per
//! select as for `seq_cost` (two runs that differ only in K). A binary of
//! its own, so that its code does not change how the compiler inlines the
//! pair workloads of `seq_cost`.

use chan_benches::workloads::Flavor;
use std::hint::black_box;
use std::time::Instant;

/// The workload for a crate with crossbeam-channel's API; evaluates to the
/// number of messages received.
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
    let usage = "usage: select_cost CONTENDER FLAVOR K [select|select_macro]";
    let (contender, flavor, k) = match args.as_slice() {
        [c, f, k, ..] => (c.as_str(), f, k),
        _ => panic!("{usage}"),
    };
    let flavor = Flavor::from_id(flavor).expect("flavor: b1, b1024 or unb");
    assert!(
        flavor.capacity() != Some(0),
        "bounded(0) cannot run on one thread"
    );
    let k: usize = k.parse().expect("K must be a number");
    let use_macro = match args.get(3).map(String::as_str) {
        None | Some("select") => false,
        Some("select_macro") => true,
        Some(other) => panic!("unknown mode {other}; {usage}"),
    };
    let start = Instant::now();
    let received = match contender {
        "chan" => select_ready!(chan, flavor, k, use_macro),
        "crossbeam" => select_ready!(crossbeam_channel, flavor, k, use_macro),
        other => panic!("{other} has no select"),
    };
    let elapsed = start.elapsed();
    assert_eq!(received, k, "lost messages");
    println!(
        "{contender} {} {k} selects: {:.1} ns/select",
        flavor.id(),
        elapsed.as_secs_f64() * 1e9 / k.max(1) as f64
    );
}
