//! Fan-out to several workers, fan-in with `select!`.
//!
//! ```text
//!                      +--> worker 0 --[results 0]--+
//! producer --[tasks]---+--> worker 1 --[results 1]--+--> collector (select!)
//!                      +--> worker 2 --[results 2]--+
//! ```
//!
//! * **Fan-out**: one producer sends tasks into one channel whose receiver is
//!   cloned into three workers; each task goes to exactly one worker.
//! * **Fan-in**: every worker has its own result channel, and the collector
//!   waits on all three at once with `select!`. When a worker finishes and
//!   drops its sender, that arm yields `Err(RecvError)`; the collector then
//!   replaces the receiver with `never()`, a channel that is never ready, so
//!   the arm stops firing. The loop ends when all three have finished.
//!
//! Each task computes the number of Collatz steps of one integer. The
//! collector checks that every task came back exactly once and that the sum of
//! the steps matches a single-threaded computation (panics otherwise).
//!
//! Run it with:
//!
//! ```text
//! cargo run --release --example fan_in_out
//! ```

use std::thread;

use chan::{bounded, never, select, Receiver, Sender};

/// Number of tasks the producer emits.
const TASKS: u64 = 300_000;

/// Number of steps the Collatz iteration takes to reach 1 from `n`.
fn collatz_steps(mut n: u64) -> u64 {
    let mut steps = 0;
    while n != 1 {
        n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
        steps += 1;
    }
    steps
}

/// A worker: take tasks until the task channel disconnects, send
/// `(task, steps)` pairs to its own result channel.
fn spawn_worker(tasks: Receiver<u64>, results: Sender<(u64, u64)>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for n in tasks {
            results
                .send((n, collatz_steps(n)))
                .expect("collector hung up early");
        }
    })
}

fn main() {
    let (task_tx, task_rx) = bounded::<u64>(256);
    let (tx0, mut rx0) = bounded::<(u64, u64)>(64);
    let (tx1, mut rx1) = bounded::<(u64, u64)>(64);
    let (tx2, mut rx2) = bounded::<(u64, u64)>(64);

    let producer = thread::spawn(move || {
        for n in 1..=TASKS {
            task_tx.send(n).expect("all workers hung up early");
        }
    });
    let workers = [
        spawn_worker(task_rx.clone(), tx0),
        spawn_worker(task_rx.clone(), tx1),
        spawn_worker(task_rx, tx2),
    ];

    let mut seen = vec![false; TASKS as usize + 1];
    let mut per_worker = [0u64; 3];
    let mut total_steps = 0u64;
    let mut open = 3;

    let mut record = |worker: usize, (n, steps): (u64, u64)| {
        assert!(!seen[n as usize], "task {n} was delivered twice");
        seen[n as usize] = true;
        per_worker[worker] += 1;
        total_steps += steps;
    };

    while open > 0 {
        select! {
            recv(rx0) -> msg => match msg {
                Ok(result) => record(0, result),
                Err(_) => { rx0 = never(); open -= 1; }
            },
            recv(rx1) -> msg => match msg {
                Ok(result) => record(1, result),
                Err(_) => { rx1 = never(); open -= 1; }
            },
            recv(rx2) -> msg => match msg {
                Ok(result) => record(2, result),
                Err(_) => { rx2 = never(); open -= 1; }
            },
        }
    }

    producer.join().expect("producer panicked");
    for worker in workers {
        worker.join().expect("worker panicked");
    }

    let expected: u64 = (1..=TASKS).map(collatz_steps).sum();
    println!("fan_in_out: {TASKS} tasks, 3 workers, 1 collector");
    for (worker, count) in per_worker.iter().enumerate() {
        println!("  worker {worker}: {count} tasks");
    }
    println!("  total Collatz steps: {total_steps} (single-threaded: {expected})");

    assert_eq!(
        per_worker.iter().sum::<u64>(),
        TASKS,
        "some tasks were lost"
    );
    assert!(seen[1..].iter().all(|&s| s), "some tasks were lost");
    assert_eq!(total_steps, expected, "wrong total");
    println!("OK");
}
