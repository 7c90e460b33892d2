//! The slow-path proxies of the performance work, on this machine: per
//! message, how often a receive waits for a claimed but unwritten slot, how
//! often an operation registers in a wait queue, how often one is
//! completed on its behalf, how often a thread parks; with wall time and
//! the process's CPU time per message.
//!
//! `cargo run --release -p chan-benches --features probes --bin probes [N] [REPS]`
//!
//! Workloads: one producer and one consumer through `unbounded()` and
//! `bounded(1)`, four producers into one consumer through `bounded(1)`, and
//! four producers each into a channel of its own, one consumer selecting
//! over the four (the comparison harness's `select_rx`), through
//! `bounded(1)`, `bounded(1024)` and `unbounded()`.
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
    select_waits: f64,
    yields: f64,
}

/// How the consumer receives.
#[derive(Clone, Copy)]
enum Receive {
    /// `recv` on the one channel all producers share.
    Shared,
    /// A `Select` over one channel per producer.
    Select,
}

fn run(capacity: Option<usize>, producers: usize, receive: Receive, n: usize) -> Figures {
    let channels = match receive {
        Receive::Shared => 1,
        Receive::Select => producers,
    };
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..channels)
        .map(|_| match capacity {
            Some(cap) => chan::bounded(cap),
            None => chan::unbounded(),
        })
        .unzip();
    probes::reset();
    let cpu = process_cpu_ns();
    let start = Instant::now();
    let handles: Vec<_> = (0..producers)
        .map(|producer| {
            let s = senders[producer % channels].clone();
            thread::spawn(move || {
                for i in 0..n / producers {
                    s.send(i).unwrap();
                }
            })
        })
        .collect();
    // The originals in `senders` live until every message is received, so
    // no channel disconnects (a select would take a disconnected channel
    // for a ready one).
    let total = n / producers * producers;
    match receive {
        Receive::Shared => {
            for _ in 0..total {
                receivers[0].recv().unwrap();
            }
        }
        Receive::Select => {
            let mut sel = chan::Select::new();
            for r in &receivers {
                sel.recv(r);
            }
            for _ in 0..total {
                let oper = sel.select();
                let index = oper.index();
                oper.recv(&receivers[index]).unwrap();
            }
        }
    }
    drop(senders);
    for handle in handles {
        handle.join().unwrap();
    }
    let wall = start.elapsed();
    let cpu_ns = process_cpu_ns() - cpu;
    let Counts {
        unwritten_slot_waits,
        registrations,
        completed_on_behalf,
        parks,
        select_waits,
        yields,
    } = probes::counts();
    let per = |count: u64| count as f64 / total as f64;
    Figures {
        wall_ns: wall.as_nanos() as f64 / total as f64,
        cpu_ns: cpu_ns as f64 / total as f64,
        unwritten: per(unwritten_slot_waits),
        registrations: per(registrations),
        on_behalf: per(completed_on_behalf),
        parks: per(parks),
        select_waits: per(select_waits),
        yields: per(yields),
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
    println!("| workload | wall ns | CPU ns | unwritten-slot waits | registrations | completed on behalf | parks | select waits | yields |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, capacity, producers, receive) in [
        ("spsc unbounded", None, 1, Receive::Shared),
        ("spsc bounded(1)", Some(1), 1, Receive::Shared),
        ("mpsc bounded(1), 4 producers", Some(1), 4, Receive::Shared),
        (
            "select over 4 bounded(1), 4 producers",
            Some(1),
            4,
            Receive::Select,
        ),
        (
            "select over 4 bounded(1024), 4 producers",
            Some(1024),
            4,
            Receive::Select,
        ),
        (
            "select over 4 unbounded, 4 producers",
            None,
            4,
            Receive::Select,
        ),
    ] {
        let runs: Vec<Figures> = (0..reps)
            .map(|_| run(capacity, producers, receive, n))
            .collect();
        let cell = |get: fn(&Figures) -> f64, digits: usize| {
            let values: Vec<f64> = runs.iter().map(get).collect();
            let worst = values.iter().copied().fold(0.0, f64::max);
            format!("{:.*} ({:.*})", digits, median(values), digits, worst)
        };
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(|f| f.wall_ns, 1),
            cell(|f| f.cpu_ns, 1),
            cell(|f| f.unwritten, 4),
            cell(|f| f.registrations, 4),
            cell(|f| f.on_behalf, 4),
            cell(|f| f.parks, 4),
            cell(|f| f.select_waits, 4),
            cell(|f| f.yields, 4),
        );
    }
}
