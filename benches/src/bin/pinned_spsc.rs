//! One producer and one consumer, each pinned to a CPU of its own (or both
//! to the same CPU), to reproduce what the comparison harness only catches
//! by chance: how a channel behaves when the two threads really run in
//! parallel on separate cores.
//!
//! Usage: `pinned_spsc CONTENDER FLAVOR [split|same] [N] [RUNS] [usize|64B]`
//!
//! - CONTENDER: chan, crossbeam, flume, kanal or std
//! - FLAVOR: b1, b1024 or unb (as in the compare harness)
//! - `split` (default) pins the producer to CPU 0 and the consumer to
//!   CPU 1; `same` pins both to CPU 0
//! - N messages (default 100,000), RUNS runs (default 5), each a `usize`
//!   (default) or the harness's 64-byte message
//!
//! Prints each run's time in milliseconds. On the 2-CPU benchmark machine,
//! chan's unbounded channel with `split` lands either near its `same` time
//! or several times slower, from run to run (see the README's benchmark
//! section); this tool shows how often.

use chan_benches::contenders::{Chan, Channel, Crossbeam, Flume, Kanal, Std};
use chan_benches::workloads::{Big, Flavor, Message};
use std::time::Instant;

/// Pins the calling thread to `cpu`.
fn pin_to(cpu: usize) {
    // SAFETY: `cpu_set_t` is plain data, valid when zeroed; CPU_SET writes
    // inside it; `sched_setaffinity(0, ...)` affects only the calling
    // thread and reads `size_of::<cpu_set_t>()` bytes of `set`.
    let status = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    assert_eq!(status, 0, "cannot pin a thread to CPU {cpu}");
}

/// One run: milliseconds for `n` messages from the producer to the consumer.
fn run<C: Channel, M: Message>(
    flavor: Flavor,
    n: usize,
    producer_cpu: usize,
    consumer_cpu: usize,
) -> f64 {
    let (tx, rx) = flavor.make::<C, M>();
    let start = Instant::now();
    let producer = std::thread::spawn(move || {
        pin_to(producer_cpu);
        for i in 0..n {
            C::send(&tx, M::new(i));
        }
    });
    let consumer = std::thread::spawn(move || {
        pin_to(consumer_cpu);
        let mut sum = 0usize;
        for _ in 0..n {
            let msg = C::recv(&rx).expect("pinned_spsc: channel closed");
            sum = sum.wrapping_add(msg.value());
        }
        sum
    });
    producer.join().expect("producer panicked");
    let sum = consumer.join().expect("consumer panicked");
    let elapsed = start.elapsed();
    assert_eq!(sum, n.wrapping_mul(n.wrapping_sub(1)) / 2, "lost messages");
    elapsed.as_secs_f64() * 1e3
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: pinned_spsc CONTENDER FLAVOR [split|same] [N] [RUNS] [usize|64B]";
    let (contender, flavor) = match args.as_slice() {
        [c, f, ..] => (c.as_str(), f.as_str()),
        _ => panic!("{usage}"),
    };
    let flavor = Flavor::from_id(flavor).expect("flavor: b1, b1024 or unb");
    assert!(flavor != Flavor::Zero, "bounded(0) is not measured here");
    let (producer_cpu, consumer_cpu) = match args.get(2).map(String::as_str) {
        None | Some("split") => (0, 1),
        Some("same") => (0, 0),
        Some(other) => panic!("unknown placement {other}; {usage}"),
    };
    let n: usize = args
        .get(3)
        .map_or(100_000, |n| n.parse().expect("N must be a number"));
    let runs: usize = args
        .get(4)
        .map_or(5, |r| r.parse().expect("RUNS must be a number"));
    let big = match args.get(5).map(String::as_str) {
        None | Some("usize") => false,
        Some("64B") => true,
        Some(other) => panic!("unknown message {other}; {usage}"),
    };
    let placement = (flavor, n, producer_cpu, consumer_cpu);
    let times: Vec<String> = (0..runs)
        .map(|_| {
            let ms = if big {
                run_contender::<Big>(contender, placement)
            } else {
                run_contender::<usize>(contender, placement)
            };
            format!("{ms:.2}")
        })
        .collect();
    println!(
        "{contender} {} {} {} CPUs, {n} messages, ms per run: {}",
        flavor.id(),
        if big { Big::NAME } else { usize::NAME },
        if producer_cpu == consumer_cpu {
            "same"
        } else {
            "separate"
        },
        times.join(" ")
    );
}

/// One run of `contender` with messages of type `M`.
fn run_contender<M: Message>(
    contender: &str,
    (flavor, n, producer_cpu, consumer_cpu): (Flavor, usize, usize, usize),
) -> f64 {
    match contender {
        "chan" => run::<Chan, M>(flavor, n, producer_cpu, consumer_cpu),
        "crossbeam" => run::<Crossbeam, M>(flavor, n, producer_cpu, consumer_cpu),
        "flume" => run::<Flume, M>(flavor, n, producer_cpu, consumer_cpu),
        "kanal" => run::<Kanal, M>(flavor, n, producer_cpu, consumer_cpu),
        "std" => run::<Std, M>(flavor, n, producer_cpu, consumer_cpu),
        other => panic!("unknown contender {other}"),
    }
}
