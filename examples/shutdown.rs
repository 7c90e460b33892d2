//! Two ways to shut a group of worker threads down cleanly.
//!
//! All workers run the same loop: `select!` over the job channel and a *quit*
//! channel. Nobody ever sends a message on the quit channel; dropping its only
//! `Sender` disconnects it, which makes `recv` on every clone of its receiver
//! return at once. That turns a drop into a broadcast to any number of threads.
//!
//! 1. **Drain**: the producer sends a fixed batch of jobs and drops its
//!    `Sender`. Workers keep receiving what is still queued; once the queue is
//!    empty *and* disconnected, `recv` yields `Err` and they exit. No job is
//!    lost: the example checks that every job was processed.
//! 2. **Quit**: the producer streams jobs without end into a bounded channel.
//!    After a short while the main thread drops the quit `Sender`; the producer
//!    and the workers all see it in their `select!` and stop. The example
//!    checks that every job sent was either processed or is still in the
//!    queue, and that the stop took well under a second.
//!
//! 3. **Close and drain** (beyond crossbeam-channel): producers stream jobs
//!    into a bounded channel and workers take them in batches
//!    (`recv_many`). The supervisor calls `close_and_drain` on its receiver:
//!    in one step the channel refuses every later send (each producer gets
//!    its job back and stops) and the supervisor gets every job still
//!    queued, to keep for the next run. The workers finish the batch in
//!    hand and exit when `recv_many` reports the channel closed and empty.
//!    The example checks that every job is accounted for exactly once:
//!    processed, drained, or handed back to its producer.
//!
//! Any failed check panics (non-zero exit).
//!
//! Run it with:
//!
//! ```text
//! cargo run --release --example shutdown
//! ```

use std::thread;
use std::time::{Duration, Instant};

use chan::{bounded, select, unbounded, Receiver};

/// Number of workers in each scenario.
const WORKERS: usize = 3;
/// Jobs in the drain scenario.
const BATCH: u64 = 20_000;

/// Why a worker left its loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    /// The job channel was disconnected and empty.
    Drained,
    /// The quit channel was disconnected.
    Quit,
}

/// A little CPU work per job so the queue actually builds up.
fn process(job: u64) -> u64 {
    let mut x = job;
    for _ in 0..200 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
    }
    x
}

/// The worker loop used by both scenarios; returns why it stopped and how
/// many jobs it processed.
fn worker(jobs: Receiver<u64>, quit: Receiver<()>) -> (Exit, u64) {
    let mut done = 0;
    let mut checksum = 0u64;
    let exit = loop {
        select! {
            recv(jobs) -> job => match job {
                Ok(job) => {
                    checksum ^= process(job);
                    done += 1;
                }
                // Empty and no senders left: all work is finished.
                Err(_) => break Exit::Drained,
            },
            // Never carries a message: this arm fires only on disconnect.
            recv(quit) -> _ => break Exit::Quit,
        }
    };
    // Keeps the optimiser from discarding the work done in `process`.
    std::hint::black_box(checksum);
    (exit, done)
}

fn spawn_workers(
    jobs: &Receiver<u64>,
    quit: &Receiver<()>,
) -> Vec<thread::JoinHandle<(Exit, u64)>> {
    (0..WORKERS)
        .map(|_| {
            let (jobs, quit) = (jobs.clone(), quit.clone());
            thread::spawn(move || worker(jobs, quit))
        })
        .collect()
}

/// Scenario 1: the producer finishes, drops its sender, workers drain the queue.
fn drain() {
    let (job_tx, job_rx) = unbounded();
    // Kept alive for the whole scenario, so the quit arm never fires.
    let (_quit_tx, quit_rx) = bounded::<()>(0);
    let workers = spawn_workers(&job_rx, &quit_rx);
    drop(job_rx);

    for job in 0..BATCH {
        job_tx.send(job).expect("workers hung up early");
    }
    let queued = job_tx.len();
    drop(job_tx); // the only shutdown signal in this scenario

    let mut processed = 0;
    for handle in workers {
        let (exit, done) = handle.join().expect("worker panicked");
        assert_eq!(exit, Exit::Drained, "worker stopped for the wrong reason");
        processed += done;
    }
    println!("drain: sent {BATCH} jobs, dropped the sender with {queued} still queued");
    println!("       workers processed {processed} jobs, then exited on disconnect");
    assert_eq!(processed, BATCH, "jobs were lost during the drain");
}

/// Scenario 2: an endless producer and the workers all stop on the quit signal.
fn quit() {
    let (job_tx, job_rx) = bounded::<u64>(16);
    let (quit_tx, quit_rx) = bounded::<()>(0);
    let workers = spawn_workers(&job_rx, &quit_rx);
    // Keep the job channel connected even after the producer is gone, so that
    // in this scenario only the quit signal can stop the workers.
    let _keep_connected = job_tx.clone();

    let producer = {
        let quit_rx = quit_rx.clone();
        thread::spawn(move || {
            let mut sent = 0u64;
            loop {
                select! {
                    send(job_tx, sent) -> res => {
                        res.expect("workers hung up before the quit signal");
                        sent += 1;
                    }
                    recv(quit_rx) -> _ => break sent,
                }
            }
        })
    };
    drop(quit_rx);

    thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    drop(quit_tx); // broadcast: every select! on the quit channel wakes up

    let sent = producer.join().expect("producer panicked");
    let mut processed = 0;
    for handle in workers {
        let (exit, done) = handle.join().expect("worker panicked");
        assert_eq!(exit, Exit::Quit, "worker stopped for the wrong reason");
        processed += done;
    }
    let stop_time = signalled.elapsed();
    // The main thread still holds a receiver, so whatever was queued is
    // still there to be inspected (or handed to someone else).
    let left_over = job_rx.try_iter().count() as u64;

    println!("quit:  producer sent {sent} jobs in ~300 ms before the quit signal");
    println!("       workers processed {processed}, {left_over} were left in the queue");
    println!("       all threads stopped {stop_time:.2?} after the signal");
    assert_eq!(sent, processed + left_over, "jobs went missing");
    assert!(stop_time < Duration::from_secs(1), "shutdown took too long");
}

/// Scenario 3: close the job channel and take what is queued, in one step.
fn close_and_drain() {
    const PRODUCERS: u64 = 2;
    let (job_tx, job_rx) = bounded::<u64>(64);

    let producers: Vec<_> = (0..PRODUCERS)
        .map(|id| {
            let job_tx = job_tx.clone();
            thread::spawn(move || {
                let mut accepted = 0u64;
                for seq in 0.. {
                    // Job numbers are unique across producers.
                    let job = seq * PRODUCERS + id;
                    match job_tx.send(job) {
                        Ok(()) => accepted += 1,
                        // Closed: the job comes back; nothing was lost.
                        Err(refused) => return (accepted, refused.into_inner()),
                    }
                }
                unreachable!("the channel is closed before the jobs run out")
            })
        })
        .collect();
    drop(job_tx);

    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let job_rx = job_rx.clone();
            thread::spawn(move || {
                let mut batch = Vec::with_capacity(32);
                let mut done = Vec::new();
                // Blocks for the first job, then takes up to 31 more that
                // are already queued; fails once closed and empty.
                while job_rx.recv_many(&mut batch, 32).is_ok() {
                    // Each batch ends with a write to slow storage, so the
                    // workers are slower than the producers and the queue
                    // is full when the supervisor closes it.
                    thread::sleep(Duration::from_micros(200));
                    for job in batch.drain(..) {
                        std::hint::black_box(process(job));
                        done.push(job);
                    }
                }
                done
            })
        })
        .collect();

    thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    let drained = job_rx.close_and_drain();

    let mut accepted = 0;
    let mut refused = Vec::new();
    for handle in producers {
        let (count, job) = handle.join().expect("producer panicked");
        accepted += count;
        refused.push(job);
    }
    let mut processed = Vec::new();
    for handle in workers {
        processed.extend(handle.join().expect("worker panicked"));
    }
    let stop_time = signalled.elapsed();

    println!(
        "close: producers had {accepted} jobs accepted in ~300 ms, then {} refused",
        refused.len()
    );
    println!(
        "       workers processed {}, close_and_drain took {} queued jobs back",
        processed.len(),
        drained.len()
    );
    println!("       all threads stopped {stop_time:.2?} after the close");
    assert_eq!(
        accepted as usize,
        processed.len() + drained.len(),
        "accepted jobs went missing"
    );
    let mut every_job: Vec<u64> = processed
        .into_iter()
        .chain(drained)
        .chain(refused)
        .collect();
    let total = every_job.len();
    every_job.sort_unstable();
    every_job.dedup();
    assert_eq!(every_job.len(), total, "a job was handled twice");
    assert!(stop_time < Duration::from_secs(1), "shutdown took too long");
}

fn main() {
    drain();
    quit();
    close_and_drain();
    println!("OK");
}
