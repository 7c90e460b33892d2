//! CPU time used by threads blocked on a channel, and wake-up latency of a
//! parked receiver.
//!
//! Usage: `idle_cpu [SECONDS]` (default 2).
//!
//! For each contender: two threads block for SECONDS (one receiver on an
//! empty `bounded(1)` channel, one sender on a full `bounded(1)` channel)
//! while the main thread sleeps; the process's CPU time over that interval
//! (from `/proc/self/stat`, 10 ms resolution) is what the blocked threads
//! burned. Then 200 times: the main thread sleeps 2 ms (so the echo thread
//! has parked), sends, and times the round trip through the echo thread;
//! the median is the wake-up latency of a parked thread (round trip).

use chan_benches::contenders::{Chan, Channel, Crossbeam, Flume, Kanal, Std};
use std::thread;
use std::time::{Duration, Instant};

/// User + system CPU time of this process, in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // The command name is in parentheses and may contain spaces: split after it.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the file (utime, stime) are 11 and 12 after the name.
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
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

fn wake_latency<C: Channel>() -> f64 {
    let (ping_tx, ping_rx) = C::bounded::<usize>(1);
    let (pong_tx, pong_rx) = C::bounded::<usize>(1);
    let mut times = Vec::new();
    thread::scope(|s| {
        s.spawn(move || {
            while let Some(m) = C::recv(&ping_rx) {
                C::send(&pong_tx, m);
            }
        });
        for i in 0..200 {
            thread::sleep(Duration::from_millis(2));
            let start = Instant::now();
            C::send(&ping_tx, i);
            let m = C::recv(&pong_rx).expect("echo thread gone");
            times.push(start.elapsed());
            assert_eq!(m, i);
        }
        drop(ping_tx);
    });
    times.sort_unstable();
    times[times.len() / 2].as_secs_f64() * 1e6
}

fn row<C: Channel>(seconds: f64) {
    let cpu = blocked_cpu::<C>(seconds);
    let wake = wake_latency::<C>();
    println!(
        "| {} | {:.1} | {:.1} |",
        C::NAME,
        cpu / seconds * 100.0,
        wake
    );
}

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("SECONDS must be a number"))
        .unwrap_or(2.0);
    println!("| contender | CPU of 2 blocked threads (% of one core) | round trip to a parked thread, median (µs) |");
    println!("| --- | ---: | ---: |");
    row::<Chan>(seconds);
    row::<Crossbeam>(seconds);
    row::<Flume>(seconds);
    row::<Kanal>(seconds);
    row::<Std>(seconds);
}
