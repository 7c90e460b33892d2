//! Blocking threads and async tasks on the same two channels.
//!
//! An async "service" (a tokio multi-thread runtime with 2 threads) has
//! `CLIENTS` tasks that submit jobs with `send_async` into a bounded job
//! channel: while the pool is busy they wait without blocking a runtime
//! thread. A pool of plain `std::thread` workers takes the jobs with the
//! blocking `iter()`, counts the primes in each job's range (CPU-bound work
//! that belongs on threads, not on the runtime) and sends the counts back on
//! an unbounded result channel with the blocking `send`.
//!
//! An async collector task reads the results in two phases. While the
//! clients are submitting, it waits with `Select::select_async` on the
//! result channel *or* a shutdown channel (never sent on: dropping its
//! `Sender` is the signal, as in the `shutdown` example). Once the signal
//! comes, it drains the jobs still in flight as a `Stream`, which ends when
//! the last worker thread has exited. The service awaits the collector under
//! `tokio::time::timeout`: timeouts come from the runtime, not from chan.
//!
//! The program checks that every job was answered exactly once with the
//! count a sieve gives for its range, and panics (non-zero exit) otherwise.
//!
//! Run it with:
//!
//! ```text
//! cargo run --release --example async_bridge
//! ```

use std::thread;
use std::time::{Duration, Instant};

use chan::{bounded, unbounded, Receiver, Select, Sender};
use futures::StreamExt;

/// Jobs submitted in total, spread over the clients.
const JOBS: usize = 1_000;
/// Async tasks submitting jobs.
const CLIENTS: usize = 4;
/// Blocking worker threads.
const WORKERS: usize = 2;
/// How many consecutive integers one job examines.
const RANGE_PER_JOB: u64 = 1_000;

/// Count the primes in `id * RANGE_PER_JOB..(id + 1) * RANGE_PER_JOB`.
struct Job {
    id: usize,
}

/// A worker's answer to one job.
struct Outcome {
    job_id: usize,
    worker: usize,
    primes: u64,
}

/// What the collector saw.
struct Report {
    /// Per job: how many answers, and the last count received.
    answers: Vec<(u32, u64)>,
    per_worker: [usize; WORKERS],
    /// Results received before the shutdown signal, and drained after it.
    live: usize,
    drained: usize,
}

impl Report {
    fn record(&mut self, outcome: Outcome) {
        let answer = &mut self.answers[outcome.job_id];
        *answer = (answer.0 + 1, outcome.primes);
        self.per_worker[outcome.worker] += 1;
    }
}

/// Trial division: slow on purpose, so that each job is real CPU work.
fn is_prime(n: u64) -> bool {
    n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
}

/// The blocking side: an ordinary thread loop, unaware of any runtime.
fn worker(worker: usize, jobs: Receiver<Job>, results: Sender<Outcome>) {
    for job in jobs.iter() {
        let start = job.id as u64 * RANGE_PER_JOB;
        let range = start..start + RANGE_PER_JOB;
        let primes = range.filter(|&n| is_prime(n)).count() as u64;
        let outcome = Outcome {
            job_id: job.id,
            worker,
            primes,
        };
        results.send(outcome).expect("collector gone");
    }
}

/// The async side's reader: select until shutdown, then drain as a stream.
async fn collect(results: Receiver<Outcome>, shutdown: Receiver<()>) -> Report {
    let mut report = Report {
        answers: vec![(0, 0); JOBS],
        per_worker: [0; WORKERS],
        live: 0,
        drained: 0,
    };
    let mut sel = Select::new();
    let on_result = sel.recv(&results);
    let on_shutdown = sel.recv(&shutdown);
    loop {
        // The operation comes back reserved: complete it before any `.await`.
        let oper = sel.select_async().await;
        if oper.index() == on_result {
            match oper.recv(&results) {
                Ok(outcome) => {
                    report.record(outcome);
                    report.live += 1;
                }
                Err(_) => return report, // every worker exited already
            }
        } else {
            assert_eq!(oper.index(), on_shutdown);
            oper.recv(&shutdown).unwrap_err(); // disconnected: the signal
            break;
        }
    }
    // Drain what is still queued or being worked on; the stream ends once
    // the channel is empty and the last worker has dropped its sender.
    let mut rest = results.stream();
    while let Some(outcome) = rest.next().await {
        report.record(outcome);
        report.drained += 1;
    }
    report
}

/// The async service: clients submit every job, then shut the collector down.
async fn service(jobs: Sender<Job>, results: Receiver<Outcome>) -> Report {
    let (shutdown_tx, shutdown_rx) = bounded::<()>(0);
    let collector = tokio::spawn(collect(results, shutdown_rx));

    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let jobs = jobs.clone();
            tokio::spawn(async move {
                for id in (client..JOBS).step_by(CLIENTS) {
                    // Waits, without blocking a runtime thread, while the
                    // bounded channel is full.
                    jobs.send_async(Job { id }).await.expect("worker pool gone");
                }
            })
        })
        .collect();
    drop(jobs);
    for client in clients {
        client.await.expect("client task panicked");
    }
    // Every job is queued or taken; the workers exit once the queue drains.
    drop(shutdown_tx);

    tokio::time::timeout(Duration::from_secs(30), collector)
        .await
        .expect("collector stalled for 30 s")
        .expect("collector task panicked")
}

fn main() {
    let (job_tx, job_rx) = bounded::<Job>(WORKERS * 4);
    let (result_tx, result_rx) = unbounded::<Outcome>();
    let started = Instant::now();

    let pool: Vec<_> = (0..WORKERS)
        .map(|id| {
            let (jobs, results) = (job_rx.clone(), result_tx.clone());
            thread::spawn(move || worker(id, jobs, results))
        })
        .collect();
    drop((job_rx, result_tx));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("cannot build the tokio runtime");
    let report = runtime.block_on(service(job_tx, result_rx));
    for handle in pool {
        handle.join().expect("worker thread panicked");
    }
    let elapsed = started.elapsed();

    // Reference counts from a sieve of Eratosthenes over the whole range.
    let limit = (JOBS as u64 * RANGE_PER_JOB) as usize;
    let mut prime = vec![true; limit];
    prime[..2].fill(false);
    for p in (2..).take_while(|p| p * p < limit) {
        if prime[p] {
            (p * p..limit).step_by(p).for_each(|m| prime[m] = false);
        }
    }
    let per_job = prime.chunks(RANGE_PER_JOB as usize);
    for (id, (&(times, primes), chunk)) in report.answers.iter().zip(per_job).enumerate() {
        assert_eq!(times, 1, "job {id} answered {times} times");
        let expected = chunk.iter().filter(|&&p| p).count() as u64;
        assert_eq!(primes, expected, "job {id}: wrong prime count");
    }
    let total: u64 = report.answers.iter().map(|&(_, primes)| primes).sum();
    assert_eq!(report.live + report.drained, JOBS);
    assert_eq!(report.per_worker.iter().sum::<usize>(), JOBS);

    println!(
        "async_bridge: {JOBS} jobs from {CLIENTS} tasks, {WORKERS} worker threads, in {elapsed:.2?}"
    );
    println!(
        "  collector: {} results before the shutdown signal, {} drained after",
        report.live, report.drained
    );
    println!("  jobs per worker thread: {:?}", report.per_worker);
    println!("  primes below {limit}: {total}, every job answered once and correct");
    println!("OK");
}
