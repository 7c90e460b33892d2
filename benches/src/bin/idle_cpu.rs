//! CPU time used by threads blocked on a channel, and wake-up latency of a
//! parked receiver.
//!
//! Usage: `idle_cpu [SECONDS]` (default 2).
//!
//! For each contender: two threads block for SECONDS (one receiver on an
//! empty `bounded(1)` channel, one sender on a full `bounded(1)` channel)
//! while the main thread sleeps; the process's CPU time over that interval
//! (from `/proc/self/stat`, 10 ms resolution) is what the blocked threads
//! burned. Then, in `ROUNDS` rounds that take the contenders in turn (so a
//! noisy moment of the shared machine does not fall on one contender only),
//! `SAMPLES_PER_ROUND` times each: the main thread sleeps 2 ms (so the echo
//! thread has parked), sends, and times the round trip through the echo
//! thread. The median over all rounds is the wake-up latency of a parked
//! thread (round trip).

use chan_benches::contenders::{Chan, Channel, Crossbeam, Flume, Kanal, Std};
use std::thread;
use std::time::{Duration, Instant};

/// User + system CPU time of this process, in seconds.
fn cpu_seconds() -> f64 {
    chan_benches::latency::process_cpu_ns() as f64 / 1e9
}

fn blocked_cpu<C: Channel>(seconds: f64) -> f64 {
    let (rtx, rrx) = C::bounded::<usize>(1);
    let (stx, srx) = C::bounded::<usize>(1);
    C::send(&stx, 0);
    thread::scope(|s| {
        s.spawn(move || C::recv(&rrx));
        let stx2 = stx.clone();
        s.spawn(move || C::send(&stx2, 1));
        // Let both threads reach their blocking wait.
        thread::sleep(Duration::from_millis(100));
        let start = cpu_seconds();
        thread::sleep(Duration::from_secs_f64(seconds));
        let used = cpu_seconds() - start;
        C::send(&rtx, 1);
        C::recv(&srx);
        used
    })
}

/// Rounds of the wake-up measurement; each round runs every contender.
const ROUNDS: usize = 5;
/// Round trips per contender and round.
const SAMPLES_PER_ROUND: usize = 40;

/// `SAMPLES_PER_ROUND` round trips to a parked echo thread.
fn wake_latencies<C: Channel>() -> Vec<Duration> {
    let (ping_tx, ping_rx) = C::bounded::<usize>(1);
    let (pong_tx, pong_rx) = C::bounded::<usize>(1);
    let mut times = Vec::new();
    thread::scope(|s| {
        s.spawn(move || {
            while let Some(m) = C::recv(&ping_rx) {
                C::send(&pong_tx, m);
            }
        });
        for i in 0..SAMPLES_PER_ROUND {
            thread::sleep(Duration::from_millis(2));
            let start = Instant::now();
            C::send(&ping_tx, i);
            let m = C::recv(&pong_rx).expect("echo thread gone");
            times.push(start.elapsed());
            assert_eq!(m, i);
        }
        drop(ping_tx);
    });
    times
}

/// Median in microseconds.
fn median_micros(mut times: Vec<Duration>) -> f64 {
    times.sort_unstable();
    times[times.len() / 2].as_secs_f64() * 1e6
}

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("SECONDS must be a number"))
        .unwrap_or(2.0);
    let cpu = [
        blocked_cpu::<Chan>(seconds),
        blocked_cpu::<Crossbeam>(seconds),
        blocked_cpu::<Flume>(seconds),
        blocked_cpu::<Kanal>(seconds),
        blocked_cpu::<Std>(seconds),
    ];
    let mut wake: [Vec<Duration>; 5] = Default::default();
    for _ in 0..ROUNDS {
        wake[0].extend(wake_latencies::<Chan>());
        wake[1].extend(wake_latencies::<Crossbeam>());
        wake[2].extend(wake_latencies::<Flume>());
        wake[3].extend(wake_latencies::<Kanal>());
        wake[4].extend(wake_latencies::<Std>());
    }
    let names = [
        Chan::NAME,
        Crossbeam::NAME,
        Flume::NAME,
        Kanal::NAME,
        Std::NAME,
    ];
    println!("| contender | CPU of 2 blocked threads (% of one core) | round trip to a parked thread, median (µs) |");
    println!("| --- | ---: | ---: |");
    for ((name, cpu), wake) in names.iter().zip(cpu).zip(wake) {
        println!(
            "| {} | {:.1} | {:.1} |",
            name,
            cpu / seconds * 100.0,
            median_micros(wake)
        );
    }
}
