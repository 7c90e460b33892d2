//! How long a parked thread takes to wake, depending on what it did
//! between finding nothing to do and parking: no channel, only the wait.
//!
//! `cargo run --release -p chan-benches --bin wake_probe [N] [WAITS]`
//!
//! A producer thread sleeps until an absolute deadline every 50 µs
//! (`clock_nanosleep`, as the latency harness's paced producers do),
//! publishes the time, and unparks the receiver if it announced that it
//! parks. The receiver, finding no new time, first does what one of WAITS
//! says and then parks: `park` (nothing first), `yieldK` (K `sched_yield`
//! calls, re-checking between them) or `spinU` (U µs of spinning). N
//! (default 4,000) gaps per wait, every wait twice, interleaved. Per wait:
//! p50, p90 and p99 of the time from publishing to the receiver seeing it,
//! the share of wake-ups that ran on the producer's CPU, and the
//! receiver's CPU time over wall time.
//!
//! This separates the cost of the operating system's wake-up path from a
//! channel's: in the paced rows of `benches/LATENCY.md`, channels that
//! yield or spin before they park have a higher p50 than one that parks at
//! once, and this probe shows how much of that the machine alone adds.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

/// Gap between two publications.
const GAP_NS: u64 = 50_000;

/// What the receiver does before it parks.
#[derive(Clone, Copy)]
enum Wait {
    Park,
    Yield(u32),
    Spin(u64),
}

impl Wait {
    fn parse(word: &str) -> Wait {
        let number = |prefix: &str| {
            word[prefix.len()..]
                .parse()
                .expect("WAITS: park, yieldK or spinU")
        };
        if word == "park" {
            Wait::Park
        } else if word.starts_with("yield") {
            Wait::Yield(number("yield") as u32)
        } else if word.starts_with("spin") {
            Wait::Spin(number("spin"))
        } else {
            panic!("unknown wait {word}: park, yieldK or spinU");
        }
    }

    fn name(self) -> String {
        match self {
            Wait::Park => "park".into(),
            Wait::Yield(k) => format!("yield{k}"),
            Wait::Spin(us) => format!("spin{us}"),
        }
    }
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn now_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

fn sleep_until(deadline_ns: u64) {
    let ts = libc::timespec {
        tv_sec: (deadline_ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (deadline_ns % 1_000_000_000) as libc::c_long,
    };
    // SAFETY: `ts` is a valid timespec; no remainder is asked for.
    unsafe {
        libc::clock_nanosleep(
            libc::CLOCK_MONOTONIC,
            libc::TIMER_ABSTIME,
            &ts,
            std::ptr::null_mut(),
        )
    };
}

fn current_cpu() -> u64 {
    // SAFETY: no arguments; returns the CPU or -1.
    unsafe { libc::sched_getcpu() as u64 }
}

/// The producer's last publication: the time, or `u64::MAX` for "done".
struct Shared {
    published: AtomicU64,
    producer_cpu: AtomicU64,
    parked: AtomicBool,
}

/// Runs `gaps` gaps with `wait`; returns (sorted latencies in ns, wakes on
/// the producer's CPU, receiver CPU / wall).
fn run(wait: Wait, gaps: u64) -> (Vec<u64>, usize, f64) {
    let shared = Arc::new(Shared {
        published: AtomicU64::new(0),
        producer_cpu: AtomicU64::new(u64::MAX),
        parked: AtomicBool::new(false),
    });
    let theirs = shared.clone();
    let receiver = thread::spawn(move || {
        let shared = theirs;
        let (cpu0, wall0) = (clock_ns(libc::CLOCK_THREAD_CPUTIME_ID), now_ns());
        let (mut latencies, mut same_cpu, mut last) = (Vec::new(), 0, 0);
        loop {
            let fresh = |seen: &mut u64| {
                *seen = shared.published.load(Ordering::Acquire);
                *seen != last
            };
            let mut seen = 0;
            if !fresh(&mut seen) {
                match wait {
                    Wait::Park => {}
                    Wait::Yield(k) => {
                        for _ in 0..k {
                            // SAFETY: no arguments.
                            unsafe { libc::sched_yield() };
                            if fresh(&mut seen) {
                                break;
                            }
                        }
                    }
                    Wait::Spin(us) => {
                        let until = now_ns() + us * 1000;
                        while !fresh(&mut seen) && now_ns() < until {
                            std::hint::spin_loop();
                        }
                    }
                }
            }
            // Park until a new publication: announce, re-check (the
            // producer reads `parked` after publishing, both SeqCst).
            while !fresh(&mut seen) {
                shared.parked.store(true, Ordering::SeqCst);
                if shared.published.load(Ordering::SeqCst) == last {
                    thread::park();
                }
                shared.parked.store(false, Ordering::Relaxed);
            }
            if seen == u64::MAX {
                break;
            }
            latencies.push(now_ns().saturating_sub(seen));
            same_cpu += usize::from(current_cpu() == shared.producer_cpu.load(Ordering::Relaxed));
            last = seen;
        }
        let cpu = (clock_ns(libc::CLOCK_THREAD_CPUTIME_ID) - cpu0) as f64;
        (latencies, same_cpu, cpu / (now_ns() - wall0) as f64)
    });
    let receiver_thread = receiver.thread().clone();
    let publish = |value: u64| {
        shared.published.store(value, Ordering::SeqCst);
        if shared.parked.load(Ordering::SeqCst) {
            receiver_thread.unpark();
        }
    };
    let start = now_ns() + 1_000_000;
    for gap in 0..gaps {
        sleep_until(start + gap * GAP_NS);
        shared.producer_cpu.store(current_cpu(), Ordering::Relaxed);
        publish(now_ns());
    }
    sleep_until(now_ns() + GAP_NS);
    publish(u64::MAX);
    let (mut latencies, same_cpu, rx_cpu) = receiver.join().expect("receiver panicked");
    latencies.sort_unstable();
    (latencies, same_cpu, rx_cpu)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let gaps: u64 = args
        .next()
        .map_or(4000, |n| n.parse().expect("N must be a number"));
    let waits: Vec<Wait> = args
        .next()
        .unwrap_or_else(|| "park,yield1,yield8,spin1,spin2,spin8".into())
        .split(',')
        .map(Wait::parse)
        .collect();
    println!(
        "wake_probe: {gaps} gaps of {} us per wait, each wait twice",
        GAP_NS / 1000
    );
    println!("| wait | p50 us | p90 us | p99 us | woken on producer's CPU | receiver CPU/wall |");
    println!("|---|---:|---:|---:|---:|---:|");
    for _ in 0..2 {
        for &wait in &waits {
            let (latencies, same_cpu, rx_cpu) = run(wait, gaps);
            let at = |q: f64| {
                let index = ((latencies.len() as f64 * q) as usize).min(latencies.len() - 1);
                latencies[index] as f64 / 1000.0
            };
            println!(
                "| {} | {:.2} | {:.2} | {:.2} | {:.0}% | {:.2} |",
                wait.name(),
                at(0.5),
                at(0.9),
                at(0.99),
                100.0 * same_cpu as f64 / latencies.len() as f64,
                rx_cpu
            );
        }
    }
}
