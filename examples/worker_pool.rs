//! A pool of worker threads sharing one job queue.
//!
//! A feeder thread pushes `JOBS` jobs into a bounded channel. `WORKERS` threads
//! share clones of the single job receiver: whichever worker is free takes the
//! next job, so the load balances itself. Each job counts the primes in one
//! range of integers by trial division (real CPU work), and the worker sends
//! the result back to the main thread through a second channel. The main
//! thread checks that every job was answered exactly once and that the total
//! number of primes matches a single-threaded sieve; it exits with status 1 if
//! anything is wrong.
//!
//! Run it with:
//!
//! ```text
//! cargo run --release --example worker_pool               # defaults
//! cargo run --release --example worker_pool -- 400 4      # 400 jobs, 4 workers
//! ```
//!
//! Arguments: `[JOBS] [WORKERS]`. `JOBS` defaults to 4000 (each job covers
//! 5000 integers); `WORKERS` defaults to the number of available CPUs.

use std::process::exit;
use std::thread;
use std::time::Instant;

use chan::{bounded, unbounded};

/// How many consecutive integers one job examines.
const RANGE_PER_JOB: u64 = 5_000;

/// One unit of work: count the primes in `start..end`.
struct Job {
    id: usize,
    start: u64,
    end: u64,
}

/// What a worker reports back for one job.
struct Outcome {
    job_id: usize,
    worker: usize,
    primes: u64,
}

/// Trial division with a 6k +/- 1 wheel; deliberately not the fastest method,
/// so that each job does a measurable amount of work.
fn is_prime(n: u64) -> bool {
    if n < 4 {
        return n >= 2;
    }
    if n % 2 == 0 || n % 3 == 0 {
        return false;
    }
    let mut d = 5;
    while d * d <= n {
        if n % d == 0 || n % (d + 2) == 0 {
            return false;
        }
        d += 6;
    }
    true
}

fn count_primes(start: u64, end: u64) -> u64 {
    (start..end).filter(|&n| is_prime(n)).count() as u64
}

/// Independent reference: single-threaded sieve of Eratosthenes over
/// `0..limit`, storing one bit per odd number.
fn sieve_count(limit: u64) -> u64 {
    if limit <= 2 {
        return 0;
    }
    // Bit `i` stands for the odd number `2 * i + 1`; bit 0 (the number 1) is
    // never counted.
    let odds = limit.div_ceil(2) as usize;
    let mut composite = vec![0u64; odds.div_ceil(64)];
    let mut count = 1; // the prime 2
    for i in 1..odds {
        if composite[i / 64] & (1 << (i % 64)) != 0 {
            continue;
        }
        count += 1;
        let p = 2 * i + 1;
        let mut j = (p * p) / 2; // index of p * p, the first multiple to strike
        while j < odds {
            composite[j / 64] |= 1 << (j % 64);
            j += p;
        }
    }
    count
}

fn parse_arg(position: usize, name: &str, default: usize) -> usize {
    match std::env::args().nth(position) {
        None => default,
        Some(text) => match text.parse::<usize>() {
            Ok(value) if value > 0 => value,
            _ => {
                eprintln!("usage: worker_pool [JOBS] [WORKERS]");
                eprintln!("error: {name} must be a positive integer, got {text:?}");
                exit(2);
            }
        },
    }
}

fn main() {
    let default_workers = thread::available_parallelism().map_or(2, |n| n.get());
    let jobs = parse_arg(1, "JOBS", 4000);
    let workers = parse_arg(2, "WORKERS", default_workers);
    let limit = jobs as u64 * RANGE_PER_JOB;

    println!(
        "worker_pool: {jobs} jobs x {RANGE_PER_JOB} integers (primes below {limit}), {workers} workers"
    );

    // Jobs: bounded, so the feeder never runs far ahead of the workers.
    let (job_tx, job_rx) = bounded::<Job>(workers * 4);
    // Results: unbounded, so a worker never waits for the main thread.
    let (result_tx, result_rx) = unbounded::<Outcome>();

    let started = Instant::now();

    let feeder = thread::spawn(move || {
        for id in 0..jobs {
            let start = id as u64 * RANGE_PER_JOB;
            let job = Job {
                id,
                start,
                end: start + RANGE_PER_JOB,
            };
            if job_tx.send(job).is_err() {
                // Every worker is gone; nothing left to feed.
                return;
            }
        }
        // Dropping `job_tx` here disconnects the job channel, which is how the
        // workers learn that there is no more work.
    });

    let pool: Vec<_> = (0..workers)
        .map(|worker| {
            let job_rx = job_rx.clone();
            let result_tx = result_tx.clone();
            thread::spawn(move || {
                // `iter()` blocks for the next job and ends once the channel is
                // disconnected and drained.
                for job in job_rx.iter() {
                    let primes = count_primes(job.start, job.end);
                    let outcome = Outcome {
                        job_id: job.id,
                        worker,
                        primes,
                    };
                    if result_tx.send(outcome).is_err() {
                        return;
                    }
                }
            })
        })
        .collect();

    // Keep only the workers' handles alive: when the last worker drops its
    // result sender, `result_rx.iter()` below ends.
    drop(job_rx);
    drop(result_tx);

    let mut answered = vec![false; jobs];
    let mut per_worker = vec![0usize; workers];
    let mut total_primes = 0u64;
    let mut duplicates = 0usize;
    for outcome in result_rx.iter() {
        if answered[outcome.job_id] {
            duplicates += 1;
        }
        answered[outcome.job_id] = true;
        per_worker[outcome.worker] += 1;
        total_primes += outcome.primes;
    }
    let elapsed = started.elapsed();

    feeder.join().expect("feeder thread panicked");
    for handle in pool {
        handle.join().expect("worker thread panicked");
    }

    let secs = elapsed.as_secs_f64();
    println!(
        "done in {:.3} s: {:.0} jobs/s",
        secs,
        jobs as f64 / secs.max(1e-9)
    );
    for (worker, count) in per_worker.iter().enumerate() {
        println!("  worker {worker:>3}: {count:>6} jobs");
    }

    let missing = answered.iter().filter(|&&done| !done).count();
    let expected = sieve_count(limit);
    println!("primes below {limit}: {total_primes} (single-threaded sieve: {expected})");

    let mut ok = true;
    if missing != 0 {
        eprintln!("FAIL: {missing} jobs got no result");
        ok = false;
    }
    if duplicates != 0 {
        eprintln!("FAIL: {duplicates} jobs were answered more than once");
        ok = false;
    }
    if per_worker.iter().sum::<usize>() != jobs {
        eprintln!("FAIL: per-worker counts do not add up to {jobs}");
        ok = false;
    }
    if total_primes != expected {
        eprintln!("FAIL: prime count {total_primes} != expected {expected}");
        ok = false;
    }
    if !ok {
        exit(1);
    }
    println!("OK");
}
