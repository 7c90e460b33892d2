//! Helpers shared by the async integration tests (`async_flavors.rs`,
//! `async_wakers.rs`, `async_cancel.rs`, `async_select.rs`; each has
//! `mod common;` and `mod async_common;`): the flavor sets, the time limits,
//! a counting waker ([`Probe`]) and the executors ([`Exec`]).
#![allow(dead_code)]

use crate::common::{flavors, ms, Flavor};
use chan::Sender;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Every flavor of a channel that carries messages: `bounded(0)`,
/// `bounded(1)`, `bounded(4)` and `unbounded`.
pub const FLAVORS: [Flavor; 4] = flavors(4);

/// The flavors on which a send can wait: every one but `unbounded`.
pub const BLOCKING_SEND_FLAVORS: [Flavor; 3] =
    [Flavor::Bounded(0), Flavor::Bounded(1), Flavor::Bounded(4)];

/// The flavors with a buffer: every one but `bounded(0)`.
pub const QUEUE_FLAVORS: [Flavor; 3] = [Flavor::Bounded(1), Flavor::Bounded(4), Flavor::Unbounded];

/// A wait that must end: far above any normal time, so that only a lost
/// wake-up or a deadlock reaches it.
pub const LONG: Duration = Duration::from_secs(10);

/// Hang detector limit for a whole test.
pub const HANG: Duration = Duration::from_secs(120);

/// Fills a channel of `flavor` (which must have a buffer) with 0, 1, ...:
/// afterwards a send has to wait.
pub fn fill(s: &Sender<u64>, flavor: Flavor) {
    for i in 0..flavor.cap().expect("a bounded flavor") as u64 {
        s.try_send(i).unwrap();
    }
    assert!(s.is_full());
}

/// A waker that counts its wake-ups.
#[derive(Default)]
pub struct WakeCount(AtomicUsize);

impl Wake for WakeCount {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A counting waker, and polls with it.
pub struct Probe {
    count: Arc<WakeCount>,
    waker: Waker,
}

impl Probe {
    pub fn new() -> Probe {
        let count = Arc::new(WakeCount::default());
        let waker = Waker::from(count.clone());
        Probe { count, waker }
    }

    /// Wake-ups so far.
    pub fn wakes(&self) -> usize {
        self.count.0.load(Ordering::SeqCst)
    }

    /// Polls `f` once with this waker.
    pub fn poll<F: Future + Unpin>(&self, f: &mut F) -> Poll<F::Output> {
        Pin::new(f).poll(&mut Context::from_waker(&self.waker))
    }

    /// Polls a stream once with this waker.
    pub fn poll_next<S: futures::Stream + Unpin>(&self, s: &mut S) -> Poll<Option<S::Item>> {
        Pin::new(s).poll_next(&mut Context::from_waker(&self.waker))
    }

    /// Waits until the waker was woken at least `n` times in all; false if
    /// that takes longer than [`LONG`].
    pub fn wait_for_wakes(&self, n: usize) -> bool {
        let start = Instant::now();
        while self.wakes() < n {
            if start.elapsed() > LONG {
                return false;
            }
            thread::sleep(Duration::from_micros(200));
        }
        true
    }

    /// Asserts `wait_for_wakes(n)`.
    #[track_caller]
    pub fn assert_woken(&self, n: usize, what: &str) {
        assert!(
            self.wait_for_wakes(n),
            "{what}: not woken within {LONG:?} (woken {} times, expected {n})",
            self.wakes()
        );
    }
}

/// Unwraps a `Poll` that must be ready.
#[track_caller]
pub fn ready<T>(poll: Poll<T>, what: &str) -> T {
    match poll {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("{what}: pending, expected ready"),
    }
}

/// Asserts that a poll is pending.
#[track_caller]
pub fn assert_pending<T>(poll: Poll<T>, what: &str) {
    assert!(poll.is_pending(), "{what}: ready, expected pending");
}

/// Waits (a blocked thread's state is not observable) until a thread just
/// started has most likely blocked in its channel operation. Only makes
/// the intended interleaving likely; no test relies on it for correctness.
pub fn let_it_block() {
    thread::sleep(ms(30));
}

pub fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap()
}

pub fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

/// A task for [`Exec::run`].
pub type Task = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

pub fn task(f: impl Future<Output = ()> + Send + 'static) -> Task {
    Box::pin(f)
}

/// Waits for every spawned tokio task, in order; a task's panic is
/// resumed here.
pub async fn await_all(handles: Vec<tokio::task::JoinHandle<()>>) {
    for handle in handles {
        if let Err(e) = handle.await {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

/// An executor.
#[derive(Clone, Copy, Debug)]
pub enum Exec {
    TokioMultiThread,
    TokioCurrentThread,
    Smol,
    BlockOn,
}

pub const EXECS: [Exec; 4] = [
    Exec::TokioMultiThread,
    Exec::TokioCurrentThread,
    Exec::Smol,
    Exec::BlockOn,
];

impl Exec {
    /// Runs `tasks` concurrently (spawned, but for `BlockOn`, which joins
    /// them in one future) until every one has finished; a task's panic
    /// is resumed here.
    pub fn run(self, tasks: Vec<Task>) {
        async fn join_tokio(tasks: Vec<Task>) {
            await_all(tasks.into_iter().map(tokio::spawn).collect()).await;
        }
        match self {
            Exec::TokioMultiThread => multi_thread().block_on(join_tokio(tasks)),
            Exec::TokioCurrentThread => current_thread().block_on(join_tokio(tasks)),
            Exec::Smol => smol::block_on(async {
                let spawned: Vec<_> = tasks.into_iter().map(smol::spawn).collect();
                for t in spawned {
                    t.await;
                }
            }),
            Exec::BlockOn => {
                futures::executor::block_on(futures::future::join_all(tasks));
            }
        }
    }
}
