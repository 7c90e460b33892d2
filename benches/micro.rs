//! Criterion micro-benchmarks of single operations, chan and crossbeam-channel
//! side by side in the same groups so that their ratio can be read directly.
//!
//! Run: `cargo bench -p chan-benches --bench micro` (criterion options after
//! `--`, e.g. `-- select` to run only the select groups).
//!
//! Groups:
//! - `try_pair/<flavor>`: uncontended `try_send` then `try_recv` on one thread.
//! - `send_recv/<flavor>`: uncontended blocking `send` then `recv` (never blocks).
//! - `select/<k>`: a `Select` built over k `bounded(1)` receivers, the last of
//!   which was just made ready by a `send` (the send is part of the iteration).
//! - `select2/*`: the `select!` macro against the `Select` builder, both over two
//!   receivers with one ready.

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;

/// Defines, for a crate with crossbeam-channel's API, one function per benchmark.
macro_rules! suite {
    ($module:ident, $krate:ident) => {
        mod $module {
            use criterion::Bencher;
            use std::hint::black_box;
            use $krate::{bounded, unbounded, Receiver, Select, Sender};

            fn make(cap: Option<usize>) -> (Sender<usize>, Receiver<usize>) {
                match cap {
                    Some(cap) => bounded(cap),
                    None => unbounded(),
                }
            }

            /// `try_send` + `try_recv` on an otherwise idle channel.
            pub fn try_pair(b: &mut Bencher, cap: Option<usize>) {
                let (tx, rx) = make(cap);
                b.iter(|| {
                    tx.try_send(black_box(7)).unwrap();
                    black_box(rx.try_recv().unwrap())
                });
            }

            /// `send` + `recv` on an otherwise idle channel.
            pub fn send_recv(b: &mut Bencher, cap: Option<usize>) {
                let (tx, rx) = make(cap);
                b.iter(|| {
                    tx.send(black_box(7)).unwrap();
                    black_box(rx.recv().unwrap())
                });
            }

            /// A `Select` over `k` receivers; the last one is ready.
            pub fn select(b: &mut Bencher, k: usize) {
                let (txs, rxs): (Vec<_>, Vec<_>) = (0..k).map(|_| bounded::<usize>(1)).unzip();
                b.iter(|| {
                    txs[k - 1].send(black_box(7)).unwrap();
                    let mut sel = Select::new();
                    for rx in &rxs {
                        sel.recv(rx);
                    }
                    let op = sel.select();
                    let index = op.index();
                    black_box(op.recv(&rxs[index]).unwrap())
                });
            }

            /// The `select!` macro over two receivers, the first one ready.
            pub fn select_macro(b: &mut Bencher) {
                let (tx0, rx0) = bounded::<usize>(1);
                let (_tx1, rx1) = bounded::<usize>(1);
                b.iter(|| {
                    tx0.send(black_box(7)).unwrap();
                    $krate::select! {
                        recv(rx0) -> m => black_box(m.unwrap()),
                        recv(rx1) -> m => black_box(m.unwrap()),
                    }
                });
            }

            /// The `Select` builder over two receivers, the first one ready.
            pub fn select_builder(b: &mut Bencher) {
                let (tx0, rx0) = bounded::<usize>(1);
                let (_tx1, rx1) = bounded::<usize>(1);
                b.iter(|| {
                    tx0.send(black_box(7)).unwrap();
                    let mut sel = Select::new();
                    let i0 = sel.recv(&rx0);
                    sel.recv(&rx1);
                    let op = sel.select();
                    let m = if op.index() == i0 {
                        op.recv(&rx0)
                    } else {
                        op.recv(&rx1)
                    };
                    black_box(m.unwrap())
                });
            }
        }
    };
}

suite!(with_chan, chan);
suite!(with_crossbeam, crossbeam_channel);

const FLAVORS: [(&str, Option<usize>); 3] = [
    ("bounded(1)", Some(1)),
    ("bounded(1024)", Some(1024)),
    ("unbounded", None),
];

fn single_ops(c: &mut Criterion) {
    for (name, cap) in FLAVORS {
        let mut g = c.benchmark_group(format!("try_pair/{name}"));
        g.bench_function("chan", |b| with_chan::try_pair(b, cap));
        g.bench_function("crossbeam", |b| with_crossbeam::try_pair(b, cap));
        g.finish();
    }
    for (name, cap) in FLAVORS {
        let mut g = c.benchmark_group(format!("send_recv/{name}"));
        g.bench_function("chan", |b| with_chan::send_recv(b, cap));
        g.bench_function("crossbeam", |b| with_crossbeam::send_recv(b, cap));
        g.finish();
    }
}

fn select(c: &mut Criterion) {
    for k in [1, 4, 16] {
        let mut g = c.benchmark_group(format!("select/{k}"));
        g.bench_function("chan", |b| with_chan::select(b, k));
        g.bench_function("crossbeam", |b| with_crossbeam::select(b, k));
        g.finish();
    }
    let mut g = c.benchmark_group("select2");
    g.bench_function("chan select!", with_chan::select_macro);
    g.bench_function("chan Select", with_chan::select_builder);
    g.bench_function("crossbeam select!", with_crossbeam::select_macro);
    g.bench_function("crossbeam Select", with_crossbeam::select_builder);
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = single_ops, select
}
criterion_main!(benches);
