//! The slow-path proxies of the performance work, on this machine: per
//! message, how often a receive waits for a claimed but unwritten slot, how
//! often an operation registers in a wait queue, how often one is
//! completed on its behalf, how often a thread parks; with wall time and
//! the process's CPU time per message.
//!
//! `cargo run --release -p chan-benches --features probes --bin probes [N] [REPS]`
//!
//! Workloads: one producer and one consumer through `unbounded()` and
//! `bounded(1)`, and four producers into one consumer through `bounded(1)`.
//! Each runs REPS times (default 20); the table gives the median and the
//! worst repetition of each figure, since the slow states come and go from
//! run to run.

use chan_benches::latency::process_cpu_ns;
use chan_core::internal::probes::{self, Counts};
use std::thread;
use std::time::Instant;

/// One repetition's figures, per message.
struct Figures {
    wall_ns: f64,
    cpu_ns: f64,
    unwritten: f64,
    registrations: f64,
    on_behalf: f64,
    parks: f64,
}

fn run(capacity: Option<usize>, producers: usize, n: usize) -> Figures {
    let (s, r) = match capacity {
        Some(cap) => chan_core::bounded(cap),
        None => chan_core::unbounded(),
    };
    probes::reset();
    let cpu = process_cpu_ns();
    let start = Instant::now();
    let handles: Vec<_> = (0..producers)
        .map(|_| {
            let s = s.clone();
            thread::spawn(move || {
                for i in 0..n / producers {
                    s.send(i).unwrap();
                }
            })
        })
        .collect();
    drop(s);
    let mut received = 0;
    while r.recv().is_ok() {
        received += 1;
    }
    for handle in handles {
        handle.join().unwrap();
    }
    let wall = start.elapsed();
    let cpu_ns = process_cpu_ns() - cpu;
    assert_eq!(received, n / producers * producers, "lost messages");
    let Counts {
        unwritten_slot_waits,
        registrations,
        completed_on_behalf,
        parks,
    } = probes::counts();
    let per = |count: u64| count as f64 / received as f64;
    Figures {
        wall_ns: wall.as_nanos() as f64 / received as f64,
        cpu_ns: cpu_ns as f64 / received as f64,
        unwritten: per(unwritten_slot_waits),
        registrations: per(registrations),
        on_behalf: per(completed_on_behalf),
        parks: per(parks),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(1_000_000, |a| a.parse().expect("N"));
    let reps: usize = args.next().map_or(20, |a| a.parse().expect("REPS"));
    if probes::counts() == Counts::default() && !cfg!(feature = "probes") {
        eprintln!("build with --features probes: without it every count is 0");
    }
    println!(
        "N = {n}, {reps} repetitions, {} CPUs; per message: median (worst)",
        thread::available_parallelism().map_or(1, |c| c.get())
    );
    println!("| workload | wall ns | CPU ns | unwritten-slot waits | registrations | completed on behalf | parks |");
    println!("|---|---|---|---|---|---|---|");
    for (name, capacity, producers) in [
        ("spsc unbounded", None, 1),
        ("spsc bounded(1)", Some(1), 1),
        ("mpsc bounded(1), 4 producers", Some(1), 4),
    ] {
        let runs: Vec<Figures> = (0..reps).map(|_| run(capacity, producers, n)).collect();
        let cell = |get: fn(&Figures) -> f64, digits: usize| {
            let values: Vec<f64> = runs.iter().map(get).collect();
            let worst = values.iter().copied().fold(0.0, f64::max);
            format!("{:.*} ({:.*})", digits, median(values), digits, worst)
        };
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} |",
            cell(|f| f.wall_ns, 1),
            cell(|f| f.cpu_ns, 1),
            cell(|f| f.unwritten, 4),
            cell(|f| f.registrations, 4),
            cell(|f| f.on_behalf, 4),
            cell(|f| f.parks, 4),
        );
    }
}
