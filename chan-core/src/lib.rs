//! The channels of [chan](https://docs.rs/chan): every flavor, the `Sender`
//! and `Receiver` handles, and the error types. Use the `chan` facade crate,
//! which adds `Select` and the `select!` macros.
//!
//! ```
//! let (s, r) = chan_core::bounded(2);
//! s.send("hello").unwrap();
//! assert_eq!(r.recv(), Ok("hello"));
//! ```
#![deny(missing_docs)]
#![warn(unsafe_op_in_unsafe_fn)]

mod batch;
mod channel;
mod close;
mod context;
mod counter;
mod err;
mod flavors;
#[cfg(feature = "async")]
mod future;
mod handle;
mod packet;
mod policy;
mod probes;
#[cfg(feature = "stats")]
mod stats;
#[doc(hidden)]
pub mod sync;
#[cfg(feature = "async")]
mod task;
mod waiters;
mod weak;

pub use batch::SendAllError;
pub use channel::{after, at, bounded, never, tick, unbounded};
pub use channel::{IntoIter, Iter, Receiver, Sender, TryIter};
pub use close::Drain;
pub use err::{
    ReadyTimeoutError, RecvError, RecvTimeoutError, SelectTimeoutError, SendError,
    SendTimeoutError, TryReadyError, TryRecvError, TrySelectError, TrySendError,
};
#[cfg(feature = "async")]
pub use future::{RecvFuture, RecvStream, SendFuture, SendSink};
#[cfg(feature = "stats")]
pub use stats::ChannelStats;
pub use weak::{WeakReceiver, WeakSender};

/// The interface between the channels and the select engine (`chan-select`).
/// Not part of the public API: it may change in any release.
#[doc(hidden)]
pub mod internal {
    pub use crate::channel::{read, receiver_channel_id, sender_channel_id, write};
    pub use crate::context::{Context, Operation, Selected};
    pub use crate::handle::{Readiness, SelectHandle, Token};
    pub use crate::policy::{random_below, sleep_until};
    #[cfg(feature = "async")]
    pub use crate::task::{Arms, Interest, Next, TaskWait};

    /// Slow-path event counters (the `probes` feature).
    pub mod probes {
        pub use crate::probes::{count, counts, reset, Counts, Event};
    }

    /// Checks a loom model with `preemption_bound` (unless
    /// `LOOM_MAX_PREEMPTIONS` sets one for every model) and prints how many
    /// executions loom explored. The one model helper of every loom test in
    /// the workspace.
    #[cfg(loom)]
    pub fn model<F: Fn() + Sync + Send + 'static>(preemption_bound: usize, f: F) {
        let mut builder = loom::model::Builder::new();
        if builder.preemption_bound.is_none() {
            builder.preemption_bound = Some(preemption_bound);
        }
        // A thread that waits for another to finish a half-done operation
        // spins (yielding under loom); each round is a few branches.
        builder.max_branches = 100_000;
        check_model(builder, f);
    }

    /// Checks a loom model with `builder`, then prints how many executions
    /// loom explored as `loom: explored N iterations` (`scripts/loom.sh`
    /// reads that line; loom's own count goes to a tracing subscriber that
    /// `Builder::check` does not install).
    #[cfg(loom)]
    pub fn check_model<F: Fn() + Sync + Send + 'static>(builder: loom::model::Builder, f: F) {
        let iterations = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = iterations.clone();
        builder.check(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            f();
        });
        println!(
            "loom: explored {} iterations",
            iterations.load(std::sync::atomic::Ordering::Relaxed)
        );
    }
}
